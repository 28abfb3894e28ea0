#!/usr/bin/env bash
# Builds sample data for this example next to reclaim.yaml: ./bucket (a folder laid out like the bucket)
# and ./clips.db (SQLite), or, with --postgres URL, the jobs and clips tables in that PostgreSQL database
# (psql is used; run reclaim.s3.yaml against it, after copying ./bucket into your bucket).
# The mix, and what `reclaim sweep --yes` does with it:
#   jobs j1 completed, j3 failed: uploads/j1/, uploads/j3/, audio/j1/ ..... deleted (job finished)
#   uploads/j6/ (no job row), 2 days old .................................... deleted
#   jobs j2 processing, j5 queued: uploads/j2/, uploads/j5/, audio/j2/ ..... kept by the keep query
#   clips/j1/c1.mp4, completed, created 1 day ago, file 6 days old ......... kept by the keep query
#   clips/j4/c2.mp4, completed, created 10 days ago ......................... quarantined
#   clips/j1/c3.mp4, failed, created 1 day ago, file 6 days old ............ quarantined (only completed clips are kept)
#   clips/j2/c4.mp4, rendered just now ...................................... kept (younger than 5 days)
#   clips/stray.mp4 (outside the layout) .................................... never touched
# Usage: ./make-sample.sh [--postgres URL]    (rebuilds from scratch each time)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
postgres=""
if [ "${1:-}" = "--postgres" ]; then
  postgres="${2:?--postgres needs a URL}"
fi

rm -rf bucket .reclaim
put() {  # put KEY AGE: a small object, modified AGE ago
  mkdir -p "bucket/$(dirname "$1")"
  printf 'sample bytes of %s\n' "$1" > "bucket/$1"
  touch -d "$2 ago" "bucket/$1"
}
for job in j1 j2 j3 j5 j6; do put "uploads/$job/source.mp4" "6 days"; done
put uploads/j1/thumb.jpg "6 days"
put audio/j1/audio.wav "6 days"
put audio/j2/audio.wav "6 days"
put clips/j1/c1.mp4 "6 days"
put clips/j4/c2.mp4 "10 days"
put clips/j1/c3.mp4 "6 days"
put clips/j2/c4.mp4 "1 minute"
put clips/stray.mp4 "30 days"

if [ -n "$postgres" ]; then
  ago() { echo "now() - interval '$1 days'"; }; ts=TIMESTAMPTZ
else
  ago() { echo "datetime('now', '-$1 days')"; }; ts=TEXT
fi
sql="
DROP TABLE IF EXISTS clips;
DROP TABLE IF EXISTS jobs;
CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at $ts NOT NULL);
CREATE TABLE clips (id TEXT PRIMARY KEY, job_id TEXT NOT NULL, filename TEXT NOT NULL, status TEXT NOT NULL, created_at $ts NOT NULL);
INSERT INTO jobs VALUES
  ('j1', 'completed', $(ago 6)),
  ('j2', 'processing', $(ago 6)),
  ('j3', 'failed', $(ago 6)),
  ('j4', 'completed', $(ago 10)),
  ('j5', 'queued', $(ago 6));
INSERT INTO clips VALUES
  ('c1', 'j1', 'c1.mp4', 'completed', $(ago 1)),
  ('c2', 'j4', 'c2.mp4', 'completed', $(ago 10)),
  ('c3', 'j1', 'c3.mp4', 'failed', $(ago 1)),
  ('c4', 'j2', 'c4.mp4', 'rendering', $(ago 0));
"
if [ -n "$postgres" ]; then
  psql -v ON_ERROR_STOP=1 -q "$postgres" <<<"$sql"
  echo "sample built: ./bucket and PostgreSQL"
else
  rm -f clips.db
  sqlite3 clips.db <<<"$sql"
  echo "sample built: ./bucket and ./clips.db"
fi
