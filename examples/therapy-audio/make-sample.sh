#!/usr/bin/env bash
# Builds sample data for this example next to reclaim.yaml: ./storage (the folder store) and ./therapy.db
# (SQLite), or, with --postgres URL, the sessions table in that PostgreSQL database (psql is used; then run
# with -c reclaim.postgres.yaml).
# The mix, and what `reclaim sweep --yes` does with it:
#   s1 completed (recording + processed), s2 processing ............. kept
#   s3 failed 10 days ago (recording + processed) ................... both files deleted, row deleted
#   s4 failed 10 days ago (recording, never processed) .............. file deleted, row deleted
#   s5 failed 2 days ago ............................................ kept (not 7 days yet)
#   s6 failed 10 days ago, its recording already gone ............... row deleted
#   old-orphan.mp3 and old-orphan_processed.mp3, 2 days old ......... quarantined
#   young-orphan.mp3, uploaded just now ............................. kept (younger than 24h)
#   uploads/audio/tmp/part.mp3 (outside the layout) ................. never touched
# Usage: ./make-sample.sh [--postgres URL]    (rebuilds from scratch each time)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
postgres=""
if [ "${1:-}" = "--postgres" ]; then
  postgres="${2:?--postgres needs a URL}"
fi

rm -rf storage .reclaim
mkdir -p storage/uploads/audio/tmp
put() {  # put NAME AGE: a small file under uploads/audio/, modified AGE ago
  printf 'sample audio %s\n' "$1" > "storage/uploads/audio/$1"
  touch -d "$2 ago" "storage/uploads/audio/$1"
}
for name in s1.mp3 s1_processed.mp3 s2.mp3 s3.mp3 s3_processed.mp3 s4.mp3; do put "$name" "10 days"; done
put s5.mp3 "2 days"
put old-orphan.mp3 "2 days"
put old-orphan_processed.mp3 "2 days"
put young-orphan.mp3 "1 minute"
put tmp/part.mp3 "30 days"

if [ -n "$postgres" ]; then
  ago() { echo "now() - interval '$1 days'"; }
else
  ago() { echo "datetime('now', '-$1 days')"; }
fi
sql="
DROP TABLE IF EXISTS sessions;
CREATE TABLE sessions (id TEXT PRIMARY KEY, status TEXT NOT NULL, audio_file TEXT, processed_file TEXT, created_at $( [ -n "$postgres" ] && echo TIMESTAMPTZ || echo TEXT ) NOT NULL);
INSERT INTO sessions VALUES
  ('s1', 'completed', 's1.mp3', 's1_processed.mp3', $(ago 10)),
  ('s2', 'processing', 's2.mp3', NULL, $(ago 10)),
  ('s3', 'failed', 's3.mp3', 's3_processed.mp3', $(ago 10)),
  ('s4', 'failed', 's4.mp3', NULL, $(ago 10)),
  ('s5', 'failed', 's5.mp3', NULL, $(ago 2)),
  ('s6', 'failed', 's6.mp3', NULL, $(ago 10));
"
if [ -n "$postgres" ]; then
  psql -v ON_ERROR_STOP=1 -q "$postgres" <<<"$sql"
  echo "sample built: ./storage and PostgreSQL"
else
  rm -f therapy.db
  sqlite3 therapy.db <<<"$sql"
  echo "sample built: ./storage and ./therapy.db"
fi
