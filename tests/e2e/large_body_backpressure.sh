#!/usr/bin/env bash
# A 1 GiB body crosses the proxy (TLS on both sides) to a client that reads slowly while the
# upstream is fast. The proxy's peak RSS stays under 100 MiB, and every byte arrives.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" big.test
start_dns big.test
mkdir -p "$WORK/www"
truncate -s 1G "$WORK/www/big.bin"
start_nginx "$WORK/pki" "$WORK/www"
# ASan keeps freed memory in a quarantine; keep it small so RSS reflects live buffers.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=16:malloc_context_size=4"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"
before=$(peak_rss_kib "$PROXY_PID")

# The reader stalls for 5 s after the first 8 MiB (the proxy must hold back the upstream), then
# reads the rest at a limited rate, so the upstream is always faster than the client.
log "fetching 1 GiB through the proxy with a slow reader"
set +e
timeout 180 curl -sS --proxy "http://127.0.0.1:$PROXY_PORT" --cacert "$PROXY_BUNDLE" \
  --limit-rate 150M "https://big.test:$NGINX_TLS_PORT/big.bin" |
  { head -c $((8 << 20)) >"$WORK/part1"; sleep 5; cat >"$WORK/part2"; }
status=("${PIPESTATUS[@]}")
set -e
[ "${status[0]}" = 0 ] || fail "curl exited with ${status[0]}"
received=$(( $(stat -c %s "$WORK/part1") + $(stat -c %s "$WORK/part2") ))
[ "$received" = $((1 << 30)) ] || fail "received $received bytes, expected $((1 << 30))"
# The file is sparse: every byte must be zero.
cmp -s -n $((8 << 20)) "$WORK/part1" /dev/zero || fail "wrong bytes in the first part"
cmp -s -n "$(stat -c %s "$WORK/part2")" "$WORK/part2" /dev/zero || fail "wrong bytes in the second part"

peak=$(peak_rss_kib "$PROXY_PID")
log "proxy peak RSS: $((peak / 1024)) MiB (at start $((before / 1024)) MiB)"
if [ -n "${REGCACHE_SANITIZED:-}" ]; then
  # ASan's shadow memory and allocator already take ~80 MiB at start: bound the growth instead.
  [ $((peak - before)) -lt $((64 * 1024)) ] ||
    fail "proxy RSS grew by $(((peak - before) / 1024)) MiB under ASan"
else
  [ "$peak" -lt $((100 * 1024)) ] || fail "proxy peak RSS $((peak / 1024)) MiB is not under 100 MiB"
fi
log "PASS"
