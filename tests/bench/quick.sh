#!/usr/bin/env bash
# A short benchmark that `make test` runs, so that CI logs show a change
# that makes claim many times slower. It prints figures and never fails on
# time: it counts as one passed test when every query succeeds.
# Usage: tests/bench/quick.sh (EXTENSION from $SQLTEST_EXTENSION).
set -euo pipefail
cd "$(dirname "$0")/../.."
extension=${SQLTEST_EXTENSION:-build/claim}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db=$work/quick.db

sqlite3 "$db" ".import --csv fixtures/videos.csv videos"
sqlite3 "$db" "CREATE TABLE big AS
  WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9)
  SELECT v.* FROM n, videos v"

seconds_of() {
  local start end
  start=$(date +%s.%N)
  sqlite3 "$db" ".load $extension" "$1" >/dev/null
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}
cols='video_view_count, video_like_count, video_share_count, video_download_count, video_comment_count, verified_status, author_ban_status, video_transcription_text'
train_nb=$(seconds_of "SELECT claim_train('videos', '{\"model\": \"nb\", \"preset\": \"notebook\", \"verbose\": false}')")
train_default=$(seconds_of "SELECT claim_train('videos', '{\"verbose\": false}')")
base=$(seconds_of "SELECT sum(length(video_view_count) + length(video_transcription_text)) FROM big")
predict=$(seconds_of "SELECT sum(length(claim_predict($cols))) FROM big")
rows=$(sqlite3 "$db" "SELECT count(*) FROM big")
echo "quick benchmark on fixtures/videos.csv ($(nproc) cores)"
echo "  train 'notebook' preset, 6000 rows, 20 epochs: $train_nb s"
echo "  train default model, 6000 rows, 20 epochs:     $train_default s"
awk -v r="$rows" -v b="$base" -v p="$predict" 'BEGIN {
  printf "  claim_predict over %d rows: %.3f s (baseline query %.3f s, ratio %.1f)\n", r, p, b, p / b }'
echo "1 passed, 0 failed"
