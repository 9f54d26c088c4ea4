#!/usr/bin/env bash
# A layer purged with `regcache cache rm` while regcache runs and keeps the layer's descriptor
# open (the blob store keeps the descriptors of blobs it read recently): the running proxy lets
# go of the removed file within seconds, so its disk space is freed, and the next GET fetches
# the layer from upstream again instead of serving the removed bytes. Real skopeo, registry and
# a separate `regcache cache rm` process, as an operator runs it.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 512
push_image "$WORK/pki" "$REG_PORT" test/image:v1
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"

pull() { skopeo_pull "registry.test:$REG_PORT" test/image:v1 "$1"; }
layer_file="$WORK/proxy-data/blobs/sha256/${LAYER_DIGEST:7:2}/${LAYER_DIGEST#sha256:}"
# Descriptors the proxy holds on the layer's file, removed ("(deleted)") or not.
held() {
  local count=0 fd
  for fd in /proc/"$PROXY_PID"/fd/*; do
    case "$(readlink "$fd" 2>/dev/null)" in "$layer_file" | "$layer_file (deleted)") count=$((count + 1)) ;; esac
  done
  echo "$count"
}
layer_gets() { grep -c "\"GET /v2/test/image/blobs/$LAYER_DIGEST" "$REG_LOG" || true; }

pull cold || fail "cold pull failed"
pull warm || fail "warm pull failed"
[ "$(layer_gets)" = 1 ] || fail "the layer was fetched $(layer_gets) times before cache rm"
grep -q "/blobs/$LAYER_DIGEST\" status=200 .*cache=HIT" "$ACCESS_LOG" || fail "the warm pull missed the cache"
[ "$(held)" -ge 1 ] || fail "the proxy keeps no descriptor of the layer it served (nothing to test)"

"$REGCACHE" cache rm --data-dir "$WORK/proxy-data" "$LAYER_DIGEST" >"$WORK/rm.txt" 2>&1 ||
  fail "cache rm failed: $(cat "$WORK/rm.txt")"
[ -e "$layer_file" ] && fail "cache rm left the layer's file"
for _ in $(seq 1 50); do [ "$(held)" = 0 ] && break; sleep 0.1; done # at most 5 s
[ "$(held)" = 0 ] || fail "the proxy still holds the removed layer open: its space is not freed"

pull again || fail "pull after cache rm failed"
[ "$(layer_gets)" = 2 ] || fail "the layer was not fetched again after cache rm ($(layer_gets) GETs)"
cmp -s "$WORK/out-again/blobs/sha256/${LAYER_DIGEST#sha256:}" "$IMAGE_DIR/blobs/sha256/${LAYER_DIGEST#sha256:}" ||
  fail "the layer pulled after cache rm differs from the pushed one"
log "PASS"
