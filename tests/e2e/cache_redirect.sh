#!/usr/bin/env bash
# A registry that redirects blob GETs to another host (distribution's redirect middleware, with
# nginx as the CDN serving the registry's storage): the proxy follows the redirect itself, the
# client gets the blob, and the blob is cached by digest: the next pull touches neither host.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test cdn.test
start_dns registry.test cdn.test
mkdir -p "$WORK/registry-data"
start_nginx "$WORK/pki" "$WORK/registry-data" cdn
REDIRECT_BASEURL="https://cdn.test:$NGINX_TLS_PORT" start_registry "$WORK/pki"
make_image 256
push_image "$WORK/pki" "$REG_PORT" test/image:v1
digest="sha256:$(direct_digest "$WORK/pki" "$REG_PORT" test/image:v1)"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"

pull() { skopeo_pull "registry.test:$REG_PORT" "$1" "$2"; } # REF NAME
cdn_gets() { grep -c 'GET /docker/registry/v2/blobs/' "$WORK/cdn/logs/access.log" || true; }

pull "test/image@$digest" cold || fail "cold pull through a redirecting registry failed"
grep -q '"GET /v2/test/image/blobs/.*" 307' "$REG_LOG" || fail "the registry did not redirect"
[ "$(cdn_gets)" -ge 1 ] || fail "the CDN served nothing"
grep -q "followed redirect to https://cdn.test" "$ACCESS_LOG" || fail "the proxy did not follow the redirect"
# The client never talked to the CDN itself: no CONNECT to cdn.test went through the proxy.
grep -q "method=CONNECT host=cdn.test" "$ACCESS_LOG" && fail "the client followed the redirect itself"
grep -q 'host=cdn.test' "$ACCESS_LOG" && fail "the client reached the CDN"

cold_cdn=$(cdn_gets)
cold_registry_blobs=$(grep -c '"GET /v2/test/image/blobs/' "$REG_LOG" || true)
pull "test/image@$digest" warm || fail "warm pull failed"
[ "$(cdn_gets)" = "$cold_cdn" ] || fail "the warm pull went to the CDN again"
[ "$(grep -c '"GET /v2/test/image/blobs/' "$REG_LOG" || true)" = "$cold_registry_blobs" ] ||
  fail "the warm pull asked the registry for blobs again"
cmp -s "$WORK/out-warm/blobs/sha256/${LAYER_DIGEST#sha256:}" "$IMAGE_DIR/blobs/sha256/${LAYER_DIGEST#sha256:}" ||
  fail "the cached layer differs from the pushed one"
log "PASS"
