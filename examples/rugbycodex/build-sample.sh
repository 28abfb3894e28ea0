#!/usr/bin/env bash
# Builds RugbyCodex-shaped sample data: the RugbyCodex cleanup worker's media_cleanup_jobs and a media_assets table in $DATABASE_URL,
# and media folders in $BUCKET_NAME at $WASABI_ENDPOINT (for example s3rver from scripts/test-services.sh):
#   orgs/rc/uploads/live-{1,2,3}/      referenced by media_assets: kept
#   orgs/rc/uploads/deleted-{1,2}/     deleted videos with a cleanup job each (deleted-2's names its thumbnail.jpg):
#                                      the worker removes each folder, and nothing else
#   a cleanup job for live-2           its media_assets row still exists: never executed, fails "still referenced by"
#   orgs/rc/uploads/deleted-10/        shares a name prefix with deleted-1: kept (prefixes end at '/')
#   orgs/rc/uploads/lost-1/            no row and no job: the orphan audit finds it
#   exports/report.csv                 outside orgs/: a malformed job names it and fails; it stays
# Needs psql and python3 with boto3.
set -euo pipefail
: "${DATABASE_URL:?}" "${BUCKET_NAME:?}" "${WASABI_ENDPOINT:?}" "${WASABI_KEY:?}" "${WASABI_SECRET:?}"
psql -v ON_ERROR_STOP=1 -q "$DATABASE_URL" <<'SQL'
CREATE TABLE IF NOT EXISTS media_assets (id text PRIMARY KEY, org_id text NOT NULL);
CREATE TABLE IF NOT EXISTS public.media_cleanup_jobs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  media_asset_id uuid NOT NULL,
  bucket text NOT NULL,
  storage_path text NOT NULL,
  created_at timestamp DEFAULT now(),
  processed_at timestamp,
  error text
);
INSERT INTO media_assets (id, org_id) VALUES ('live-1', 'rc'), ('live-2', 'rc'), ('live-3', 'rc'), ('deleted-10', 'rc');
SQL
psql -v ON_ERROR_STOP=1 -q -v bucket="$BUCKET_NAME" "$DATABASE_URL" <<'SQL'
INSERT INTO media_cleanup_jobs (media_asset_id, bucket, storage_path) VALUES
  (gen_random_uuid(), :'bucket', 'orgs/rc/uploads/deleted-1/raw/match.mp4'),
  (gen_random_uuid(), :'bucket', 'orgs/rc/uploads/deleted-2/thumbnail.jpg'),
  (gen_random_uuid(), :'bucket', 'orgs/rc/uploads/live-2/raw/match.mp4'),
  (gen_random_uuid(), :'bucket', 'exports/report.csv');
SQL
python3 - <<'PY'
import os, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["WASABI_ENDPOINT"], aws_access_key_id=os.environ["WASABI_KEY"],
                  aws_secret_access_key=os.environ["WASABI_SECRET"], region_name=os.environ.get("WASABI_REGION", "us-east-1"),
                  config=Config(s3={"addressing_style": "path"}))
bucket = os.environ["BUCKET_NAME"]
for asset in ["live-1", "live-2", "live-3", "deleted-1", "deleted-2", "deleted-10", "lost-1"]:
    folder = f"orgs/rc/uploads/{asset}/"
    for name in ["raw/match.mp4", "streaming/index.m3u8", "streaming/seg_000.ts", "streaming/seg_001.ts", "thumbnail.jpg"]:
        s3.put_object(Bucket=bucket, Key=folder + name, Body=f"sample {folder}{name}".encode())
s3.put_object(Bucket=bucket, Key="exports/report.csv", Body=b"id,bytes\n")
PY
echo "sample data built: 3 live folders, 2 deletion requests (+1 for a live asset, +1 malformed), 1 orphan folder in $BUCKET_NAME"
