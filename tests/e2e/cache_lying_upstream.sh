#!/usr/bin/env bash
# An upstream that lies: nginx in front of the registry answers the layer's URL with other bytes
# of the same length. The pull through the proxy fails and nothing is cached; once the upstream
# is honest again, the same pull succeeds and the layer is cached with the right bytes.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 1024
push_image "$WORK/pki" "$REG_PORT" test/image:v1

layer_file="$IMAGE_DIR/blobs/sha256/${LAYER_DIGEST#sha256:}"
mkdir -p "$WORK/lies"
chmod 755 "$WORK/lies"
# Same length, one byte changed in the middle: only the digest check can tell.
cp "$layer_file" "$WORK/lies/layer"
size=$(stat -c %s "$layer_file")
printf 'X' | dd of="$WORK/lies/layer" bs=1 seek=$((size / 2)) conv=notrunc status=none
chmod 644 "$WORK/lies/layer"
cmp -s "$layer_file" "$WORK/lies/layer" && fail "the lie equals the truth"
lie_location() {
  echo "location = /v2/test/image/blobs/$LAYER_DIGEST {
    default_type application/octet-stream;
    alias $WORK/lies/layer;
  }"
}
NGINX_LOCATIONS=$(lie_location)
start_nginx_proxy "$WORK/pki" "$REG_PORT"
upstream="registry.test:$NGINX_TLS_PORT"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"

pull() { skopeo_pull "$upstream" test/image:v1 "$1"; } # NAME
cached_layer="$WORK/proxy-data/blobs/sha256/${LAYER_DIGEST:7:2}/${LAYER_DIGEST#sha256:}"

pull lied && fail "the pull succeeded although upstream sent wrong bytes"
grep -q "upstream sent wrong bytes for $LAYER_DIGEST" "$PROXY_LOG" || fail "the proxy did not log the lie"
[ ! -e "$cached_layer" ] || fail "the lie was cached"
[ -z "$(ls -A "$WORK/proxy-data/tmp")" ] || fail "the lie was left in tmp/"
grep -q "\"GET /v2/test/image/blobs/$LAYER_DIGEST HTTP/1.1\" 200 " "$NGINX_PREFIX/logs/access.log" ||
  fail "nginx never served the lie"

# Honest again by swapping the file nginx serves, not by a reload: during a reload old and new
# workers accept side by side, so a check could meet a new one and the pull an old one.
cp "$layer_file" "$WORK/lies/layer.honest"
chmod 644 "$WORK/lies/layer.honest"
mv -f "$WORK/lies/layer.honest" "$WORK/lies/layer"
got=$(curl -sS --max-time 10 --cacert "$WORK/pki/ca.crt" --resolve "$upstream:127.0.0.1" \
  "https://$upstream/v2/test/image/blobs/$LAYER_DIGEST" | sha256sum | cut -d' ' -f1)
[ "sha256:$got" = "$LAYER_DIGEST" ] || fail "nginx still serves the lie after the swap"
pull honest || fail "the pull from the honest upstream failed"
cmp -s "$WORK/out-honest/blobs/sha256/${LAYER_DIGEST#sha256:}" "$layer_file" || fail "the pulled layer differs"
cmp -s "$cached_layer" "$layer_file" || fail "the cached layer differs from the pushed one"
log "PASS"
