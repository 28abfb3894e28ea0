#!/usr/bin/env bash
# Builds transcoder-shaped sample data for transcoder.yaml: transcode_jobs and media_assets in $DATABASE_URL, job
# working folders in $TRANSCODE_DIR (default ./transcode, never /tmp/transcode: a sample must not touch a real one),
# and HLS output in $BUCKET_NAME at $WASABI_ENDPOINT (for example s3rver from scripts/test-services.sh):
#   $TRANSCODE_DIR/job-done/           completed 2 days ago: goes (older than max_age)
#   $TRANSCODE_DIR/job-running/        processing, its files 8 hours old (a long match): kept by the keep query
#   $TRANSCODE_DIR/job-failed/         failed an hour ago, files young: goes at once (failed-transcode-scratch)
#   $TRANSCODE_DIR/job-unknown/        no row (the worker died before writing one), 2 days old: goes
#   $TRANSCODE_DIR/job-fresh/          no row yet, written a minute ago: kept (younger than max_age)
#   $TRANSCODE_DIR/ffmpeg-report.log   not in a job folder: never matches, stays
#   orgs/rc/uploads/a-failed/          its only job failed 2 hours ago: streaming/ goes to quarantine, raw/ stays
#   orgs/rc/uploads/a-retried/         a failed job, then a completed retry: kept
#   orgs/rc/uploads/a-done/            completed: kept
# Needs psql, python3 with boto3, and GNU touch.
set -euo pipefail
: "${DATABASE_URL:?}" "${BUCKET_NAME:?}" "${WASABI_ENDPOINT:?}" "${WASABI_KEY:?}" "${WASABI_SECRET:?}"
dir="${TRANSCODE_DIR:-./transcode}"
psql -v ON_ERROR_STOP=1 -q "$DATABASE_URL" <<'SQL'
CREATE TABLE IF NOT EXISTS media_assets (id text PRIMARY KEY, org_id text NOT NULL);
CREATE TABLE IF NOT EXISTS transcode_jobs (
  id text PRIMARY KEY,
  media_asset_id text NOT NULL,
  status text NOT NULL,              -- queued | processing | completed | failed
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now()
);
INSERT INTO media_assets (id, org_id) VALUES ('a-failed', 'rc'), ('a-retried', 'rc'), ('a-done', 'rc'), ('a-running', 'rc');
INSERT INTO transcode_jobs (id, media_asset_id, status, updated_at) VALUES
  ('job-done', 'a-done', 'completed', now() - interval '2 days'),
  ('job-running', 'a-running', 'processing', now()),
  ('job-failed', 'a-failed', 'failed', now() - interval '2 hours'),
  ('job-retry-1', 'a-retried', 'failed', now() - interval '3 hours'),
  ('job-retry-2', 'a-retried', 'completed', now() - interval '2 hours');
SQL
job() { # job NAME AGE: a working folder whose files were last written AGE ago
  mkdir -p "$dir/$1/hls"
  for f in input.mp4 hls/index.m3u8 hls/seg_000.ts hls/seg_001.ts; do
    printf 'sample %s/%s\n' "$1" "$f" >"$dir/$1/$f"
    touch -d "$2 ago" "$dir/$1/$f"
  done
}
job job-done "2 days"; job job-running "8 hours"; job job-failed "1 minute"; job job-unknown "2 days"; job job-fresh "1 minute"
printf 'ffmpeg log\n' >"$dir/ffmpeg-report.log"; touch -d "3 days ago" "$dir/ffmpeg-report.log"
python3 - <<'PY'
import os, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["WASABI_ENDPOINT"], aws_access_key_id=os.environ["WASABI_KEY"],
                  aws_secret_access_key=os.environ["WASABI_SECRET"], region_name=os.environ.get("WASABI_REGION", "us-east-1"),
                  config=Config(s3={"addressing_style": "path"}))
bucket = os.environ["BUCKET_NAME"]
for asset in ["a-failed", "a-retried", "a-done"]:
    for name in ["raw/match.mp4", "streaming/index.m3u8", "streaming/seg_000.ts", "thumbnail.jpg"]:
        key = f"orgs/rc/uploads/{asset}/{name}"
        s3.put_object(Bucket=bucket, Key=key, Body=f"sample {key}".encode())
PY
echo "sample data built: 5 job folders in $dir, 3 assets' HLS output in $BUCKET_NAME"
