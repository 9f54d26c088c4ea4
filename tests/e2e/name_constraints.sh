#!/usr/bin/env bash
# A root made with `ca init --permit-dns` vouches only for those names: hosts inside are
# intercepted with leaves that verify, hosts outside are tunnelled untouched.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" allowed.test other.test
start_dns allowed.test other.test
mkdir -p "$WORK/www"
echo ok >"$WORK/www/index.txt"
start_nginx "$WORK/pki" "$WORK/www"
"$REGCACHE" ca init --data-dir "$WORK/proxy-data" --permit-dns allowed.test >"$WORK/init.log" 2>&1 ||
  fail "ca init --permit-dns failed"
"$REGCACHE" ca show --data-dir "$WORK/proxy-data" | grep -q "permits only: allowed.test" ||
  fail "ca show does not list the constraint"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"

issuer() {
  timeout 10 openssl s_client -proxy "127.0.0.1:$PROXY_PORT" -connect "$1:$NGINX_TLS_PORT" \
    -servername "$1" </dev/null 2>/dev/null | openssl x509 -noout -issuer
}
issuer allowed.test | grep -q "regcache root CA" || fail "allowed.test was not intercepted"
timeout 10 curl -fsS --proxy "http://127.0.0.1:$PROXY_PORT" --cacert "$PROXY_BUNDLE" \
  "https://allowed.test:$NGINX_TLS_PORT/index.txt" >/dev/null || fail "allowed.test does not verify"
issuer other.test | grep -q "test upstream CA" || fail "other.test was not tunnelled"
log "PASS"
