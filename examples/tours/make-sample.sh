#!/usr/bin/env bash
# Builds sample data for this example next to reclaim.yaml: ./storage (the folder store) and ./tours.db
# (SQLite), or, with --postgres URL, the same tables in that PostgreSQL database (psql is used), or, with
# --mysql mysql://user[:pass]@host[:port]/db, in that MySQL or MariaDB database (the mysql/mariadb client is used).
# The mix, and what `reclaim sweep --yes` does with it:
#   live media rows (m1..m5) and their files ........................ kept
#   media rows whose tour/company/driver/user is gone (m6..m9) ...... files quarantined, rows deleted
#     (m8's file is gone already: its row is still deleted)
#   a media row of an entity type the query does not know (m10) ..... kept, file kept
#   files no media row names, two days old .......................... quarantined
#   a file no media row names, uploaded just now .................... kept (younger than min_age 1h)
#   files outside the layout (uploads/readme.txt, nested folders) ... never touched
# Usage: ./make-sample.sh [--postgres URL | --mysql URL]    (rebuilds from scratch each time)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
postgres=""
mysql=""
case "${1:-}" in
  --postgres) postgres="${2:?--postgres needs a URL}" ;;
  --mysql) mysql="${2:?--mysql needs a URL: mysql://user[:pass]@host[:port]/db}" ;;
esac

rm -rf storage .reclaim
mkdir -p storage/uploads/{tours,companies,guides,drivers,users,banners} storage/uploads/tours/nested

put() {  # put KEY AGE: writes a small file and sets its modification time AGE ago
  printf 'sample bytes of %s\n' "$1" > "storage/$1"
  touch -d "$2 ago" "storage/$1"
}
put uploads/tours/t1-cover.jpg "3 days"
put uploads/companies/c1-logo.png "3 days"
put uploads/guides/g1-portrait.jpg "3 days"
put uploads/drivers/d1-licence.jpg "3 days"
put uploads/users/u1-avatar.png "3 days"
put uploads/tours/t9-cover.jpg "3 days"
put uploads/companies/c9-logo.png "3 days"
put uploads/drivers/d9-licence.jpg "3 days"
put uploads/banners/b1-summer.jpg "3 days"
put uploads/tours/stray-old.jpg "2 days"
put uploads/guides/left-behind.jpg "2 days"
put uploads/tours/just-uploaded.jpg "1 minute"
put uploads/readme.txt "30 days"
put uploads/tours/nested/x.jpg "30 days"

sql="
DROP TABLE IF EXISTS media;
DROP TABLE IF EXISTS tours;
DROP TABLE IF EXISTS companies;
DROP TABLE IF EXISTS guides;
DROP TABLE IF EXISTS drivers;
DROP TABLE IF EXISTS users;
CREATE TABLE tours (id VARCHAR(64) PRIMARY KEY, title TEXT);
CREATE TABLE companies (id VARCHAR(64) PRIMARY KEY, name TEXT);
CREATE TABLE guides (id VARCHAR(64) PRIMARY KEY, name TEXT);
CREATE TABLE drivers (id VARCHAR(64) PRIMARY KEY, name TEXT);
CREATE TABLE users (id VARCHAR(64) PRIMARY KEY, email TEXT);
CREATE TABLE media (id VARCHAR(64) PRIMARY KEY, entity_type TEXT NOT NULL, entity_id TEXT NOT NULL, filename TEXT NOT NULL);
INSERT INTO tours VALUES ('t1', 'Kazbegi day trip');
INSERT INTO companies VALUES ('c1', 'Caucasus Tours');
INSERT INTO guides VALUES ('g1', 'Nino');
INSERT INTO drivers VALUES ('d1', 'Giorgi');
INSERT INTO users VALUES ('u1', 'traveller@example.com');
INSERT INTO media VALUES
  ('m1', 'tour', 't1', 't1-cover.jpg'),
  ('m2', 'company', 'c1', 'c1-logo.png'),
  ('m3', 'guide', 'g1', 'g1-portrait.jpg'),
  ('m4', 'driver', 'd1', 'd1-licence.jpg'),
  ('m5', 'user', 'u1', 'u1-avatar.png'),
  ('m6', 'tour', 't9', 't9-cover.jpg'),
  ('m7', 'company', 'c9', 'c9-logo.png'),
  ('m8', 'user', 'u9', 'u9-avatar.png'),
  ('m9', 'driver', 'd9', 'd9-licence.jpg'),
  ('m10', 'banner', 'b1', 'b1-summer.jpg');
"
if [ -n "$postgres" ]; then
  psql -v ON_ERROR_STOP=1 -q "$postgres" <<<"$sql"
  echo "sample built: ./storage and PostgreSQL; run with CATALOG_PROVIDER=postgres DATABASE_URL='$postgres'"
elif [ -n "$mysql" ]; then
  [[ "$mysql" =~ ^(mysql|mariadb)://([^:@/]+)(:([^@/]*))?@([^:/]+)(:([0-9]+))?/([^?]+)$ ]] ||
    { echo "--mysql needs mysql://user[:pass]@host[:port]/db" >&2; exit 2; }
  client="$(command -v mariadb || command -v mysql)" || { echo "no mariadb or mysql client on PATH" >&2; exit 1; }
  MYSQL_PWD="${BASH_REMATCH[4]}" "$client" -u "${BASH_REMATCH[2]}" -h "${BASH_REMATCH[5]}" -P "${BASH_REMATCH[7]:-3306}" \
    "${BASH_REMATCH[8]}" <<<"$sql"
  echo "sample built: ./storage and MySQL; run with CATALOG_PROVIDER=mysql DATABASE_URL='$mysql'"
else
  rm -f tours.db
  sqlite3 tours.db <<<"$sql"
  echo "sample built: ./storage and ./tours.db"
fi
