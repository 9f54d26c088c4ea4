#!/usr/bin/env bash
# A plain-HTTP absolute-form request (GET http://host/path) is forwarded to its upstream, with the
# name resolved by the proxy; a name that does not resolve gets a 502 naming DNS.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" plain.test
start_dns plain.test
mkdir -p "$WORK/www"
head -c 200000 /dev/urandom >"$WORK/www/file.bin"
start_nginx "$WORK/pki" "$WORK/www"
start_proxy --dns-server "127.0.0.1:$DNS_PORT"

timeout 30 curl -fsS --proxy "http://127.0.0.1:$PROXY_PORT" "http://plain.test:$NGINX_PLAIN_PORT/file.bin" \
  -o "$WORK/got.bin" || fail "absolute-form GET failed"
cmp -s "$WORK/got.bin" "$WORK/www/file.bin" || fail "bytes differ"
grep -q "GET /file.bin HTTP/1.1" "$WORK/nginx/logs/access.log" || fail "nginx did not see an origin-form request"

code=$(timeout 30 curl -sS -o "$WORK/nx.txt" -w '%{http_code}' --proxy "http://127.0.0.1:$PROXY_PORT" \
  "http://no-such-name.test:$NGINX_PLAIN_PORT/")
[ "$code" = 502 ] || fail "expected 502 for an unresolvable name, got $code"
grep -qi "resolve" "$WORK/nx.txt" || fail "the 502 does not say the name did not resolve"
log "PASS"
