#!/usr/bin/env bash
# `regcache ca install --bundle-url ... --root DIR` builds a scratch image root whose system
# store (made by update-ca-certificates) verifies the leaves the running proxy presents, and puts
# the bundle where docker, containerd and buildkit read it.
source "$(dirname "$0")/lib.sh"
command -v update-ca-certificates >/dev/null || skip "update-ca-certificates is not installed"

make_pki "$WORK/pki" install.test
start_dns install.test
mkdir -p "$WORK/www"
echo ok >"$WORK/www/index.txt"
start_nginx "$WORK/pki" "$WORK/www"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"

root="$WORK/image-root"
"$REGCACHE" ca install --bundle-url "http://127.0.0.1:$PROXY_PORT/ca.crt" --root "$root" \
  --registry docker.io,install.test >"$WORK/install.log" 2>&1 || fail "ca install failed: $(cat "$WORK/install.log")"

for f in etc/regcache/ca.crt etc/docker/certs.d/install.test/ca.crt \
  etc/containerd/certs.d/docker.io/hosts.toml etc/buildkit/buildkitd.toml \
  etc/ssl/certs/ca-certificates.crt; do
  [ -s "$root/$f" ] || fail "missing $f"
done
cmp -s "$root/etc/regcache/ca.crt" "$PROXY_BUNDLE" || fail "installed bundle differs from GET /ca.crt"

# The store built inside the root verifies what the proxy presents for an intercepted host.
timeout 10 openssl s_client -proxy "127.0.0.1:$PROXY_PORT" -connect "install.test:$NGINX_TLS_PORT" \
  -servername install.test </dev/null 2>/dev/null | openssl x509 >"$WORK/leaf.pem"
openssl verify -CAfile "$root/etc/ssl/certs/ca-certificates.crt" "$WORK/leaf.pem" >/dev/null ||
  fail "the image's system store does not trust the proxy's leaf"
# And curl inside that trust store works through the proxy.
timeout 10 curl -fsS --proxy "http://127.0.0.1:$PROXY_PORT" --cacert "$root/etc/ssl/certs/ca-certificates.crt" \
  "https://install.test:$NGINX_TLS_PORT/index.txt" >/dev/null || fail "curl with the image's store failed"
# Links in the image point inside the image, not at this machine's temp dir.
if find "$root/etc/ssl/certs" -type l -lname "$root*" | grep -q .; then
  fail "store links point outside the image"
fi
log "PASS"
