#!/usr/bin/env bash
# One data dir, one server. While a first server fills the cache slowly (a throttled upstream), a second `serve` on the
# same data dir refuses to start, naming the first one's PID, and its start-up sweep never runs:
# the live temp file survives and the fill completes. `cache gc` beside the running server
# leaves the live temp file alone; with no server, it sweeps what a crash left in tmp/.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image $((40 * 1024))
push_image "$WORK/pki" "$REG_PORT" test/image:v1
# A slow upstream: nginx in front of the registry sends blobs at 4 MiB/s, so the fill of the
# 40 MiB layer takes about 10 s (a slow client would not do: a fill no longer waits for one).
NGINX_LOCATIONS="location ~ /blobs/ { proxy_buffering on; limit_rate 4m; proxy_pass https://127.0.0.1:$REG_PORT; }"
start_nginx_proxy "$WORK/pki" "$REG_PORT"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"
data="$WORK/proxy-data"
hex=${LAYER_DIGEST#sha256:}

spawn "$WORK/slow-client.log" through_proxy curl -sS --max-time 120 \
  --proxy "http://127.0.0.1:$PROXY_PORT" --cacert "$PROXY_BUNDLE" -o "$WORK/layer.bin" \
  "https://registry.test:$NGINX_TLS_PORT/v2/test/image/blobs/$LAYER_DIGEST"
client_pid=$LAST_PID
temp=""
for _ in $(seq 1 100); do
  temp=$(find "$data/tmp" -type f -size +1024k 2>/dev/null | head -n 1)
  [ -n "$temp" ] && break
  sleep 0.1
done
[ -n "$temp" ] || fail "no fill in $data/tmp grew past 1 MiB within 10 s"

second_port=$(free_port)
status=0
timeout 20 "$REGCACHE" serve --listen "127.0.0.1:$second_port" --data-dir "$data" --workers 1 \
  >"$WORK/second.log" 2>&1 || status=$?
[ "$status" = 124 ] && fail "a second server started on the data dir of a running one"
[ "$status" != 0 ] || fail "the second server exited 0"
grep -q "another regcache server (pid $PROXY_PID) is running on the data dir" "$WORK/second.log" ||
  fail "the second server did not say why it refused: $(cat "$WORK/second.log")"
[ -f "$temp" ] || fail "the second server's start-up removed the first server's live fill $temp"

"$REGCACHE" cache gc --data-dir "$data" >"$WORK/gc.txt" 2>&1 || fail "cache gc: $(cat "$WORK/gc.txt")"
grep -q "a regcache server (pid $PROXY_PID) is running" "$WORK/gc.txt" ||
  fail "cache gc did not see the running server: $(cat "$WORK/gc.txt")"
[ -f "$temp" ] || fail "cache gc beside the server removed its live fill $temp"
"$REGCACHE" cache verify --data-dir "$data" >"$WORK/verify.txt" 2>&1 ||
  fail "cache verify beside the server: $(cat "$WORK/verify.txt")"
[ -f "$temp" ] || fail "cache verify beside the server removed its live fill $temp"

wait "$client_pid" || fail "the slow client's download failed"
[ "$(sha256sum "$WORK/layer.bin" | cut -d' ' -f1)" = "$hex" ] || fail "the client got a wrong layer"
blob="$data/blobs/sha256/${hex:0:2}/$hex"
for _ in $(seq 1 50); do [ -f "$blob" ] && break; sleep 0.1; done
[ -f "$blob" ] || fail "the fill that the second server left alone was not committed"

# With no server running, gc takes the lock and sweeps what a crash left in tmp/.
kill -TERM "$PROXY_PID"
wait "$PROXY_PID" || fail "the proxy did not exit cleanly"
PROXY_PID=""
echo "half a blob" >"$data/tmp/fill-left-by-a-crash"
"$REGCACHE" cache gc --data-dir "$data" >"$WORK/gc2.txt" 2>&1 || fail "cache gc: $(cat "$WORK/gc2.txt")"
grep -q "1 unfinished fill(s) from tmp/" "$WORK/gc2.txt" || fail "cache gc said: $(cat "$WORK/gc2.txt")"
[ -z "$(ls -A "$data/tmp")" ] || fail "cache gc with no server left tmp/ unswept"
log "PASS"
