#!/usr/bin/env bash
# An upstream whose certificate chains to a CA the proxy does not trust gets the client a 502
# that names the reason, and a log line; a trusted upstream on the same proxy still works.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/trusted" good.test
make_pki "$WORK/untrusted" evil.test
start_dns good.test evil.test
mkdir -p "$WORK/www"
echo "fine" >"$WORK/www/index.txt"
start_nginx "$WORK/untrusted" "$WORK/www" nginx-evil
evil_port=$NGINX_TLS_PORT
start_nginx "$WORK/trusted" "$WORK/www" nginx-good
good_port=$NGINX_TLS_PORT
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/trusted/ca.crt"

code=$(timeout 30 curl -sS -o "$WORK/evil-body.txt" -w '%{http_code}' --proxy "http://127.0.0.1:$PROXY_PORT" \
  --cacert "$PROXY_BUNDLE" "https://evil.test:$evil_port/index.txt")
[ "$code" = 502 ] || fail "expected 502 for an untrusted upstream, got $code"
grep -qi "certificate verify failed" "$WORK/evil-body.txt" || fail "the 502 body does not name the reason"
grep -qi "certificate verify failed" "$PROXY_LOG" || fail "the proxy log does not name the reason"

body=$(timeout 30 curl -fsS --proxy "http://127.0.0.1:$PROXY_PORT" --cacert "$PROXY_BUNDLE" \
  "https://good.test:$good_port/index.txt") || fail "the trusted upstream failed"
[ "$body" = fine ] || fail "unexpected body '$body'"
log "PASS"
