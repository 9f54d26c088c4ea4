#!/usr/bin/env bash
# The S3 store's throughput beside curl --aws-sigv4 to the same RGW, in one run.
# Usage: bench/s3_store.sh BUILD_DIR [SIZE_MIB=200]. Uses the RGW whose s3.env is in
# $REGCACHE_RGW_ENV, or starts one (tests/ceph/rgw-up.sh) and stops it afterwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "$1") size=${2:-200}
work=$(mktemp -d)
started=""
cleanup() {
  [ -n "$started" ] && RGW_DIR="$started" "$root/tests/ceph/rgw-down.sh"
  rm -rf "$work"
}
trap cleanup EXIT
env_file=${REGCACHE_RGW_ENV:-}
if [ -z "$env_file" ]; then
  eval "$("$root/tests/ceph/rgw-up.sh")"
  started=$RGW_DIR env_file=$RGW_DIR/s3.env
fi
# shellcheck disable=SC1090
. "$env_file"
s3() { curl -sS --fail-with-body --aws-sigv4 "aws:amz:us-east-1:s3" \
  --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: ${sha:-UNSIGNED-PAYLOAD}" "$@"; }
rate() { awk -v t="$1" -v mb="$size" 'BEGIN { printf "%.2f s, %.0f MiB/s", t, mb / t }'; }
head -c "${size}M" /dev/urandom >"$work/blob"
sha=$(sha256sum <"$work/blob" | cut -c1-64)
s3 -X PUT "$S3_ENDPOINT/regcache-bench" -o /dev/null 2>/dev/null || true
t=$(sha=$sha s3 -T "$work/blob" "$S3_ENDPOINT/regcache-bench/curl-$sha" -o /dev/null -w '%{time_total}')
echo "curl PUT $size MiB (single PUT, signed sha256): $(rate "$t")"
t=$(s3 "$S3_ENDPOINT/regcache-bench/curl-$sha" -o /dev/null -w '%{time_total}')
echo "curl GET $size MiB (to /dev/null): $(rate "$t")"
s3 -X DELETE "$S3_ENDPOINT/regcache-bench/curl-$sha" -o /dev/null
"$build/bench/regcache-s3-bench" "$env_file" "$size" "${PART_MIB:-16}"
