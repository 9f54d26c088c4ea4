#!/usr/bin/env bash
# `regcache ca install --bundle-url ... --root DIR` builds a scratch image root whose system
# store (made by update-ca-certificates) verifies the leaves the running proxy presents, and puts
# the bundle where docker, containerd and buildkit read it. With --fingerprint a bundle without
# the pinned root is refused and nothing is installed; an https:// URL is verified.
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
# Pinning the root. `ca show` and `client-config` print the fingerprint in the same form.
fingerprint=$("$REGCACHE" ca show --data-dir "$WORK/proxy-data" | awk '/sha256:/ {print $2; exit}')
[ -n "$fingerprint" ] || fail "ca show printed no fingerprint"
"$REGCACHE" client-config --proxy "http://127.0.0.1:$PROXY_PORT" --data-dir "$WORK/proxy-data" |
  grep -qF -- "--fingerprint $fingerprint" || fail "client-config does not print the root's fingerprint"
# A wrong pin (the upstream test CA's root) is refused, and nothing is installed.
wrong=$(openssl x509 -in "$WORK/pki/ca.crt" -noout -fingerprint -sha256 | cut -d= -f2)
"$REGCACHE" ca install --bundle-url "http://127.0.0.1:$PROXY_PORT/ca.crt" --root "$WORK/root-wrong" \
  --target docker --registry install.test --fingerprint "$wrong" >"$WORK/wrong.log" 2>&1 &&
  fail "ca install accepted a bundle without the pinned root"
grep -q "no CA certificate with the pinned SHA-256" "$WORK/wrong.log" || fail "ca install said: $(cat "$WORK/wrong.log")"
[ -z "$(find "$WORK/root-wrong" -type f 2>/dev/null)" ] || fail "a refused bundle was installed"
# The right pin, lower case without colons, installs.
pin=$(echo "$fingerprint" | tr -d : | tr 'A-F' 'a-f')
"$REGCACHE" ca install --bundle-url "http://127.0.0.1:$PROXY_PORT/ca.crt" --root "$WORK/root-pinned" \
  --target docker --registry install.test --fingerprint "$pin" >"$WORK/pinned.log" 2>&1 ||
  fail "ca install with the right fingerprint failed: $(cat "$WORK/pinned.log")"
cmp -s "$WORK/root-pinned/etc/docker/certs.d/install.test/ca.crt" "$PROXY_BUNDLE" ||
  fail "the pinned install differs from GET /ca.crt"

# https://: the bundle served by nginx over TLS, verified with --ca-file (the test PKI's root),
# and refused without it.
cp "$PROXY_BUNDLE" "$WORK/www/ca.crt"
https_url="https://127.0.0.1:$NGINX_TLS_PORT/ca.crt"
"$REGCACHE" ca install --bundle-url "$https_url" --root "$WORK/root-untrusted" --target docker \
  --registry install.test >"$WORK/untrusted.log" 2>&1 && fail "an unverified https server was trusted"
grep -q "TLS handshake" "$WORK/untrusted.log" || fail "ca install said: $(cat "$WORK/untrusted.log")"
[ -z "$(find "$WORK/root-untrusted" -type f 2>/dev/null)" ] || fail "an unverified bundle was installed"
"$REGCACHE" ca install --bundle-url "$https_url" --ca-file "$WORK/pki/ca.crt" --root "$WORK/root-https" \
  --target docker --registry install.test --fingerprint "$fingerprint" >"$WORK/https.log" 2>&1 ||
  fail "ca install over https failed: $(cat "$WORK/https.log")"
cmp -s "$WORK/root-https/etc/docker/certs.d/install.test/ca.crt" "$PROXY_BUNDLE" ||
  fail "the https install differs from GET /ca.crt"
log "PASS"
