#!/usr/bin/env bash
# The proxy is killed (SIGKILL) right after a pull completed: the index is written behind, by one
# thread, but a fill's response completes only once its row is in cache.db. Restarted on the same
# data directory with the registry stopped, the same pull is served wholly from the cache (the
# manifest by tag, the config and the layer are hits); a crash loses at most hit counts.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
registry_pid=$LAST_PID
make_image 4096
push_image "$WORK/pki" "$REG_PORT" test/image:v1
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"
data="$WORK/proxy-data"

skopeo_pull "registry.test:$REG_PORT" test/image:v1 first || fail "the first pull failed"
grep -q "cache MISS, stored" "$ACCESS_LOG" || fail "the first pull stored nothing"
# At once, before the writer's next batch of hit counts could be written: the hits of this
# second pull may be lost, nothing else.
skopeo_pull "registry.test:$REG_PORT" test/image:v1 second || fail "the second pull failed"
log "killing the proxy (SIGKILL) right after the pulls"
kill -9 "$PROXY_PID"
{ wait "$PROXY_PID"; } 2>/dev/null || true
PROXY_PID="" # killed on purpose: cleanup must not ask this proxy for a clean exit
mv "$PROXY_LOG" "$WORK/proxy-killed.log"
mv "$ACCESS_LOG" "$WORK/access-killed.log"

log "stopping the upstream registry, restarting the proxy"
kill "$registry_pid"; wait "$registry_pid" 2>/dev/null || true
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"
grep -q "removed .* unindexed file" "$PROXY_LOG" &&
  fail "the restart found blob files without rows: a committed blob lost its row"
skopeo_pull "registry.test:$REG_PORT" test/image:v1 after || fail "the pull after the crash failed"
hex=${LAYER_DIGEST#sha256:}
[ "$(sha256sum "$WORK/out-after/blobs/sha256/$hex" | cut -d' ' -f1)" = "$hex" ] ||
  fail "the pull after the crash has a wrong layer"
grep -q "/blobs/$LAYER_DIGEST.*HIT" "$ACCESS_LOG" || fail "the layer was not a cache hit after the crash"
misses=$(grep -c "MISS" "$ACCESS_LOG" || true)
[ "$misses" = 0 ] || fail "$misses request(s) missed the cache after the crash"
"$REGCACHE" cache verify --data-dir "$data" >"$WORK/verify.txt" 2>&1 ||
  fail "cache verify after the crash: $(cat "$WORK/verify.txt")"
log "PASS"
