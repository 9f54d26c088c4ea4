#!/usr/bin/env bash
# The CTest fixture around rgw-up.sh / rgw-down.sh. Usage: rgw-ctest.sh up|down STATE_DIR.
# up: starts RGW with its state in STATE_DIR (the tests read STATE_DIR/s3.env), or reuses the
# one already running there (a developer's loop). down: stops it, only if `up` started it and
# REGCACHE_RGW_KEEP is not 1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
action=$1 dir=$2
case "$action" in
  up)
    if [ -f "$dir/s3.env" ]; then
      endpoint=$(sed -n "s/^export S3_ENDPOINT=//p" "$dir/s3.env")
      if curl -sf --max-time 5 "$endpoint/" >/dev/null; then
        echo "rgw-ctest: reusing RGW at $endpoint"; exit 0
      fi
      RGW_DIR="$dir" "$here/rgw-down.sh" || true
    fi
    command -v radosgw >/dev/null || { echo "rgw-ctest: radosgw is not installed (scripts/install-deps)"; exit 1; }
    RGW_DIR="$dir" "$here/rgw-up.sh" >/dev/null
    touch "$dir/started-by-ctest"
    ;;
  down)
    [ -f "$dir/started-by-ctest" ] || exit 0
    [ "${REGCACHE_RGW_KEEP:-0}" = 1 ] && { echo "rgw-ctest: kept running (REGCACHE_RGW_KEEP=1)"; exit 0; }
    RGW_DIR="$dir" "$here/rgw-down.sh"
    ;;
  *) echo "usage: $0 up|down STATE_DIR" >&2; exit 2 ;;
esac
