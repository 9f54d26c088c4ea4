#!/usr/bin/env bash
# A plain-HTTP absolute-form request (GET http://host/path) is forwarded to its upstream, with the
# name resolved by the proxy (the first --dns-server is dead, the second answers); a name that
# does not resolve gets a 502 naming DNS. A name with an
# AAAA record where nothing listens falls back to its A record, and an IPv6-only name works.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" plain.test dual.test six.test
start_dns plain.test dual.test=::1 dual.test=127.0.0.1 six.test=::1
mkdir -p "$WORK/www"
head -c 200000 /dev/urandom >"$WORK/www/file.bin"
NGINX_IPV6=1 start_nginx "$WORK/pki" "$WORK/www"
tls_only_v4=$NGINX_TLS_PORT
# The first DNS server is dead (nothing listens there): every configured resolver is used, so the
# second answers.
dead_dns=$(free_port)
start_proxy --dns-server "127.0.0.1:$dead_dns" --dns-server "127.0.0.1:$DNS_PORT" \
  --upstream-ca "$WORK/pki/ca.crt"

timeout 30 curl -fsS --proxy "http://127.0.0.1:$PROXY_PORT" "http://plain.test:$NGINX_PLAIN_PORT/file.bin" \
  -o "$WORK/got.bin" || fail "absolute-form GET failed"
cmp -s "$WORK/got.bin" "$WORK/www/file.bin" || fail "bytes differ"
grep -q "GET /file.bin HTTP/1.1" "$WORK/nginx/logs/access.log" || fail "nginx did not see an origin-form request"

# dual.test: [::1] is tried first and refused on the TLS port (nginx listens there on IPv4 only).
timeout 30 curl -fsS --proxy "http://127.0.0.1:$PROXY_PORT" --cacert "$PROXY_BUNDLE" \
  "https://dual.test:$tls_only_v4/file.bin" -o "$WORK/dual.bin" || fail "IPv6-to-IPv4 fallback failed"
cmp -s "$WORK/dual.bin" "$WORK/www/file.bin" || fail "bytes differ (dual.test)"
grep -q "connect \[::1\]:$tls_only_v4 failed" "$PROXY_LOG" || fail "IPv6 was not tried first"
# six.test has only an AAAA record.
timeout 30 curl -fsS --proxy "http://127.0.0.1:$PROXY_PORT" "http://six.test:$NGINX_PLAIN_PORT/file.bin" \
  -o "$WORK/six.bin" || fail "IPv6-only upstream failed"
cmp -s "$WORK/six.bin" "$WORK/www/file.bin" || fail "bytes differ (six.test)"

code=$(timeout 30 curl -sS -o "$WORK/nx.txt" -w '%{http_code}' --proxy "http://127.0.0.1:$PROXY_PORT" \
  "http://no-such-name.test:$NGINX_PLAIN_PORT/")
[ "$code" = 502 ] || fail "expected 502 for an unresolvable name, got $code"
grep -qi "resolve" "$WORK/nx.txt" || fail "the 502 does not say the name did not resolve"
log "PASS"
