#!/usr/bin/env bash
# The proxy is killed (SIGKILL) while it fills the cache with a large layer. Restarted on the same
# data directory it removes the unfinished fill, cache verify finds nothing corrupt, no blob file
# holds wrong bytes, and a pull then fetches the layer again and succeeds.
source "$(dirname "$0")/lib.sh"

layer_mib=200
kill_after_mib=20

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
log "building an image with a $layer_mib MiB layer"
make_image $((layer_mib * 1024))
push_image "$WORK/pki" "$REG_PORT" test/image:v1
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"
data="$WORK/proxy-data"
hex=${LAYER_DIGEST#sha256:}
layer_gets() { grep -c "\"GET /v2/test/image/blobs/$LAYER_DIGEST " "$REG_LOG" || true; }

# The fill advances at its client's pace: a client reading at a limited rate keeps it in
# progress for seconds, so the kill lands mid-fill whatever the machine's speed.
spawn "$WORK/slow-client.log" through_proxy curl -sS --max-time 120 --limit-rate 20M \
  --proxy "http://127.0.0.1:$PROXY_PORT" --cacert "$PROXY_BUNDLE" -o "$WORK/partial.bin" \
  "https://registry.test:$REG_PORT/v2/test/image/blobs/$LAYER_DIGEST"
client_pid=$LAST_PID
temp=""
for _ in $(seq 1 300); do
  temp=$(find "$data/tmp" -type f -size +"$((kill_after_mib * 1024))"k 2>/dev/null | head -n 1)
  [ -n "$temp" ] && break
  kill -0 "$client_pid" 2>/dev/null || fail "the client ended before the fill passed $kill_after_mib MiB"
  sleep 0.1
done
[ -n "$temp" ] || fail "no fill in $data/tmp grew past $kill_after_mib MiB within 30 s"
[ -e "$data/blobs/sha256/${hex:0:2}/$hex" ] && fail "the layer was committed before the kill"

log "killing the proxy (SIGKILL) with $(($(stat -c %s "$temp") >> 20)) MiB of the layer in $temp"
kill -9 "$PROXY_PID"
{ wait "$PROXY_PID"; } 2>/dev/null || true # braces: also silences bash's "Killed" notice
# Not a clean exit on purpose: cleanup must not ask this proxy for one.
PROXY_PID=""
wait "$client_pid" 2>/dev/null && fail "the client got the whole layer from a proxy killed mid-fill"
[ -n "$(ls -A "$data/tmp")" ] || fail "the kill left no unfinished fill: nothing for the restart to clean"
mv "$PROXY_LOG" "$WORK/proxy-killed.log"

start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"
leftovers=$(ls -A "$data/tmp")
[ -z "$leftovers" ] || fail "tmp/ still holds unfinished fills after the restart: $leftovers"
grep -q "removed 1 unfinished fill(s) from tmp/" "$PROXY_LOG" || fail "the restart did not report the unfinished fill"
# Every blob file must hold exactly the bytes its name promises.
while IFS= read -r file; do
  [ "$(sha256sum "$file" | cut -d' ' -f1)" = "$(basename "$file")" ] || fail "blob $file holds wrong bytes"
done < <(find "$data/blobs" -type f)
"$REGCACHE" cache verify --data-dir "$data" >"$WORK/verify.txt" 2>&1 ||
  fail "cache verify after the crash: $(cat "$WORK/verify.txt")"
grep -q " 0 corrupt" "$WORK/verify.txt" || fail "cache verify said: $(cat "$WORK/verify.txt")"

through_proxy timeout 120 skopeo --insecure-policy copy --quiet --src-cert-dir "$PROXY_CERT_DIR" \
  "docker://registry.test:$REG_PORT/test/image:v1" "oci:$WORK/out:v1" >"$WORK/skopeo.log" 2>&1 ||
  fail "the pull after the restart failed"
[ "$(sha256sum "$WORK/out/blobs/sha256/$hex" | cut -d' ' -f1)" = "$hex" ] ||
  fail "the pull after the restart has a wrong layer"
[ "$(sha256sum "$data/blobs/sha256/${hex:0:2}/$hex" | cut -d' ' -f1)" = "$hex" ] ||
  fail "the layer was not cached correctly after the restart"
gets=$(layer_gets)
log "upstream GETs of the layer: $gets (the killed fill, then the refill)"
[ "$gets" = 2 ] || fail "the registry served the layer $gets times, expected 2"
log "PASS"
