#!/usr/bin/env bash
# The cache by digest: a second pull through the proxy fetches no blob from upstream, and a pull
# by digest still succeeds with the upstream registry stopped.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
registry_pid=$LAST_PID
make_image 512
push_image "$WORK/pki" "$REG_PORT" test/image:v1
digest="sha256:$(direct_digest "$WORK/pki" "$REG_PORT" test/image:v1)"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"

pull() { # REF NAME
  rm -rf "$WORK/out-$2"
  through_proxy timeout 60 skopeo --insecure-policy copy --quiet --src-cert-dir "$PROXY_CERT_DIR" \
    "docker://registry.test:$REG_PORT/$1" "oci:$WORK/out-$2:v1" >>"$WORK/skopeo.log" 2>&1
}
blob_gets() { grep -c '"GET /v2/test/image/blobs/sha256:' "$REG_LOG" || true; }
manifest_gets_by_digest() { grep -c "\"GET /v2/test/image/manifests/$digest" "$REG_LOG" || true; }

pull "test/image@$digest" cold || fail "cold pull failed"
cold_blobs=$(blob_gets)
[ "$cold_blobs" -ge 2 ] || fail "the cold pull fetched $cold_blobs blobs from upstream"
pull "test/image:v1" warm || fail "warm pull failed"
warm_blobs=$(( $(blob_gets) - cold_blobs ))
log "upstream blob GETs: cold $cold_blobs, warm $warm_blobs"
[ "$warm_blobs" = 0 ] || fail "the warm pull fetched $warm_blobs blobs from upstream"
grep -q 'note="cache HIT"' "$ACCESS_LOG" || fail "no cache hit in the access log"
cmp -s "$WORK/out-warm/blobs/sha256/${LAYER_DIGEST#sha256:}" "$IMAGE_DIR/blobs/sha256/${LAYER_DIGEST#sha256:}" ||
  fail "the cached layer differs from the pushed one"

log "stopping the upstream registry"
kill "$registry_pid"; wait "$registry_pid" 2>/dev/null || true
pull "test/image@$digest" offline || fail "pull by digest with upstream stopped failed"
[ "$(manifest_gets_by_digest)" = 1 ] || fail "the manifest by digest was fetched more than once"
log "PASS"
