#!/usr/bin/env bash
# Chaining (--upstream-proxy): child regcache -> parent regcache -> a TLS docker-registry.
# The child resolves nothing (no --dns-server: it could not find registry.test) and trusts only
# the parent's bundle (--upstream-ca), so every byte it gets comes through the parent, which
# intercepts the child's CONNECT and caches. The first pull through the child fills both caches;
# a second child with a fresh data dir then gets every blob from the parent, with 0 upstream
# blob GETs in the registry's access log.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 512
push_image "$WORK/pki" "$REG_PORT" test/image:v1
digest="sha256:$(direct_digest "$WORK/pki" "$REG_PORT" test/image:v1)"

# The parent: an ordinary regcache that resolves and verifies the registry.
PARENT_PORT=$(free_port)
spawn "$WORK/parent.log" "$REGCACHE" serve --listen "127.0.0.1:$PARENT_PORT" \
  --data-dir "$WORK/parent-data" --workers 2 --log-level debug --access-log "$WORK/parent-access.log" \
  --allow-target 127.0.0.0/8 --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"
parent_pid=$LAST_PID
wait_port "$PARENT_PORT"
curl -fsS "http://127.0.0.1:$PARENT_PORT/ca.crt" -o "$WORK/parent-roots.pem" ||
  fail "GET /ca.crt from the parent failed"

start_child() {
  start_proxy --upstream-proxy "http://127.0.0.1:$PARENT_PORT" --upstream-ca "$WORK/parent-roots.pem"
}
stop_child() { # NAME: stops the child and keeps its files under that name
  kill -TERM "$PROXY_PID"
  local status=0
  wait "$PROXY_PID" || status=$?
  PROXY_PID=
  [ "$status" = 0 ] || fail "child regcache exited with status $status"
  mv "$WORK/proxy-data" "$WORK/$1-data"
  mv "$PROXY_LOG" "$WORK/$1.log"
  mv "$ACCESS_LOG" "$WORK/$1-access.log"
}
blob_gets() { grep -c '"GET /v2/test/image/blobs/sha256:' "$REG_LOG" || true; }
pull() { skopeo_pull "registry.test:$REG_PORT" "test/image:v1" "$1"; }

start_child
"$REGCACHE" serve --upstream-proxy "http://127.0.0.1:$PARENT_PORT" --print-config |
  grep -qx "upstream-proxy = \"http://127.0.0.1:$PARENT_PORT\"" || fail "print-config lacks upstream-proxy"
pull first || fail "the first pull through child -> parent failed"
first_blobs=$(blob_gets)
[ "$first_blobs" -ge 2 ] || fail "the first pull fetched $first_blobs blobs from upstream"
cmp -s "$WORK/out-first/blobs/sha256/${LAYER_DIGEST#sha256:}" "$IMAGE_DIR/blobs/sha256/${LAYER_DIGEST#sha256:}" ||
  fail "the layer pulled through the chain differs from the pushed one"
grep -q "CONNECT registry.test:$REG_PORT intercepted" "$WORK/parent.log" ||
  fail "the parent intercepted no CONNECT for registry.test:$REG_PORT"
grep -q "dns registry.test" "$PROXY_LOG" && fail "the child looked registry.test up itself"
grep -q "parent proxy 127.0.0.1:$PARENT_PORT opened a tunnel to registry.test:$REG_PORT" "$PROXY_LOG" ||
  fail "the child did not go through the parent"
stop_child child1
for cache in child1 parent; do
  "$REGCACHE" cache ls --data-dir "$WORK/$cache-data" >"$WORK/$cache-ls.txt" || fail "cache ls of $cache failed"
  grep -q "registry.test:$REG_PORT/test/image:v1  $digest" "$WORK/$cache-ls.txt" ||
    fail "the $cache cache does not hold the image: $(cat "$WORK/$cache-ls.txt")"
  [ -e "$WORK/$cache-data/blobs/sha256/${LAYER_DIGEST:7:2}/${LAYER_DIGEST#sha256:}" ] ||
    fail "the $cache cache does not hold the layer"
done

log "a second child with a fresh data dir"
start_child
pull second || fail "the second child's pull failed"
second_blobs=$(( $(blob_gets) - first_blobs ))
log "upstream blob GETs: first pull $first_blobs, second child $second_blobs"
[ "$second_blobs" = 0 ] || fail "the second child's pull made $second_blobs upstream blob GETs"
grep -q "/blobs/$LAYER_DIGEST\" status=200 .*cache=HIT" "$WORK/parent-access.log" ||
  fail "the parent served the layer to the second child from somewhere other than its cache"
grep -q "/blobs/$LAYER_DIGEST\" status=200 .*cache=MISS" "$ACCESS_LOG" ||
  fail "the second child did not fill its own cache"
cmp -s "$WORK/out-second/blobs/sha256/${LAYER_DIGEST#sha256:}" "$IMAGE_DIR/blobs/sha256/${LAYER_DIGEST#sha256:}" ||
  fail "the layer the second child got differs from the pushed one"
log "PASS"
