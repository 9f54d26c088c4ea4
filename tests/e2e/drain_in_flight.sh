#!/usr/bin/env bash
# SIGTERM drains: a 64 MiB blob fetched through the proxy by a slow client (a cache fill) when
# regcache gets SIGTERM arrives whole and verified; meanwhile the port takes no new connection,
# and regcache exits 0 once the transfer is done. With --drain-timeout 1s the same transfer is
# cut off and regcache exits at once after the timeout.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 65536
push_image "$WORK/pki" "$REG_PORT" test/image:v1
blob_url="https://registry.test:$REG_PORT/v2/test/image/blobs/$LAYER_DIGEST"
want=${LAYER_DIGEST#sha256:}

# Fetches the layer through the proxy at 16 MiB/s (about 4 s) into FILE, in the background.
slow_fetch() {
  timeout 60 curl -sS --proxy "http://127.0.0.1:$PROXY_PORT" --cacert "$PROXY_BUNDLE" \
    --limit-rate 16M -o "$1" "$blob_url" 2>"$1.err" &
  FETCH_PID=$!
  PIDS+=($FETCH_PID)
}

log "phase 1: SIGTERM with a transfer in flight, --drain-timeout 30s"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt" --drain-timeout 30s
slow_fetch "$WORK/drained.bin"
sleep 1
kill -TERM "$PROXY_PID"
terminated=$(date +%s.%N)
sleep 0.5
kill -0 "$PROXY_PID" 2>/dev/null || fail "regcache exited with a transfer in flight"
if timeout 3 curl -sS -o /dev/null "http://127.0.0.1:$PROXY_PORT/healthz" 2>/dev/null; then
  fail "a new connection was accepted while draining"
fi
fetch_status=0
wait "$FETCH_PID" || fetch_status=$?
[ "$fetch_status" = 0 ] || { cat "$WORK/drained.bin.err" >&2; fail "the in-flight transfer failed ($fetch_status)"; }
got=$(sha256sum "$WORK/drained.bin" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "the drained transfer has the wrong bytes"
proxy_status=0
for _ in $(seq 1 100); do kill -0 "$PROXY_PID" 2>/dev/null || break; sleep 0.1; done
wait "$PROXY_PID" || proxy_status=$?
[ "$proxy_status" = 0 ] || fail "regcache exited with $proxy_status after draining"
took=$(echo "$(date +%s.%N) - $terminated" | bc)
grep -q "drained in" "$PROXY_LOG" || fail "no drain logged"
log "the transfer finished after SIGTERM; regcache exited $took s after SIGTERM"
PROXY_PID=
mv "$PROXY_LOG" "$WORK/proxy-phase1.log"

log "phase 2: the same with --drain-timeout 1s cuts the transfer off"
rm -rf "$WORK/proxy-data" # a cold cache again, so the fetch is a fill
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt" --drain-timeout 1s
slow_fetch "$WORK/cut.bin"
sleep 1
kill -TERM "$PROXY_PID"
terminated=$(date +%s)
proxy_status=0
wait "$PROXY_PID" || proxy_status=$?
[ "$proxy_status" = 0 ] || fail "regcache exited with $proxy_status after the drain timeout"
[ $(($(date +%s) - terminated)) -le 4 ] || fail "regcache took more than 4 s with --drain-timeout 1s"
PROXY_PID=
fetch_status=0
wait "$FETCH_PID" || fetch_status=$?
[ "$fetch_status" != 0 ] || fail "the transfer completed although the drain timed out"
grep -q -- "--drain-timeout passed" "$PROXY_LOG" || fail "the cut-off was not logged"
log "PASS"
