#!/usr/bin/env bash
# skopeo pulls an image through the proxy, trusting only the proxy's bundle from GET /ca.crt,
# from a TLS docker-registry reached by name (dnsmasq + --dns-server). The manifest digest equals
# that of a direct pull.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 256
push_image "$WORK/pki" "$REG_PORT" test/image:v1
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"

log "pulling through the proxy"
through_proxy timeout 120 skopeo --insecure-policy copy --quiet --src-cert-dir "$PROXY_CERT_DIR" \
  "docker://registry.test:$REG_PORT/test/image:v1" "oci:$WORK/pulled:v1" >"$WORK/skopeo.log" 2>&1 ||
  fail "skopeo copy through the proxy failed"

proxied=$(through_proxy timeout 60 skopeo --insecure-policy inspect --raw --cert-dir "$PROXY_CERT_DIR" \
  "docker://registry.test:$REG_PORT/test/image:v1" | sha256sum | cut -d' ' -f1)
direct=$(direct_digest "$WORK/pki" "$REG_PORT" test/image:v1)
log "manifest sha256 through the proxy: $proxied, direct: $direct"
[ -n "$direct" ] && [ "$proxied" = "$direct" ] || fail "manifest digests differ"

# The pulled layer is byte-identical to the pushed one.
[ -f "$WORK/pulled/blobs/sha256/${LAYER_DIGEST#sha256:}" ] || fail "pulled layout lacks the layer"
cmp -s "$WORK/pulled/blobs/sha256/${LAYER_DIGEST#sha256:}" "$IMAGE_DIR/blobs/sha256/${LAYER_DIGEST#sha256:}" ||
  fail "layer bytes differ"

# The proxy really intercepted: its access log saw the blob and manifest requests.
grep -q "path=\"/v2/test/image/manifests/v1\"" "$ACCESS_LOG" || fail "no manifest request in the access log"
grep -q "path=\"/v2/test/image/blobs/$LAYER_DIGEST\"" "$ACCESS_LOG" || fail "no blob request in the access log"
log "PASS"
