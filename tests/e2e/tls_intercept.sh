#!/usr/bin/env bash
# The intercepting TLS server: ALPN offers only http/1.1 (a client asking for h2 falls back),
# TLS 1.2 and 1.3 work and older versions do not, sessions resume, the leaf is named by SNI, and
# a CONNECT to an IP literal gets a leaf with that IP as SAN.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" tls.test
start_dns tls.test
mkdir -p "$WORK/www"
echo ok >"$WORK/www/index.txt"
start_nginx "$WORK/pki" "$WORK/www"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"

s_client() { # extra s_client args...; prints its output
  timeout 10 openssl s_client -proxy "127.0.0.1:$PROXY_PORT" -CAfile "$PROXY_BUNDLE" "$@" </dev/null 2>&1 || true
}

out=$(s_client -connect "tls.test:$NGINX_TLS_PORT" -servername tls.test -alpn h2,http/1.1 -verify_return_error)
echo "$out" | grep -q "ALPN protocol: http/1.1" || fail "ALPN did not settle on http/1.1: $(echo "$out" | grep -i alpn)"
echo "$out" | grep -q "Verify return code: 0 (ok)" || fail "the leaf does not verify against the bundle"
echo "$out" | grep -q "DNS:tls.test" || s_client -connect "tls.test:$NGINX_TLS_PORT" -servername tls.test -showcerts |
  openssl x509 -noout -ext subjectAltName | grep -q "DNS:tls.test" || fail "no DNS SAN for tls.test"

out=$(s_client -connect "tls.test:$NGINX_TLS_PORT" -servername tls.test -alpn h2)
echo "$out" | grep -q "No ALPN negotiated" || fail "an h2-only client got an ALPN answer"

s_client -connect "tls.test:$NGINX_TLS_PORT" -servername tls.test -tls1_2 | grep -q "New, TLSv1.2" ||
  fail "TLS 1.2 failed"
s_client -connect "tls.test:$NGINX_TLS_PORT" -servername tls.test -tls1_3 | grep -q "New, TLSv1.3" ||
  fail "TLS 1.3 failed"
# SECLEVEL=0 lets this client offer TLS 1.1, so only the proxy can refuse it.
out=$(s_client -connect "tls.test:$NGINX_TLS_PORT" -servername tls.test -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0')
echo "$out" | grep -q "New, TLSv1.1" && fail "TLS 1.1 was accepted"
echo "$out" | grep -q "Cipher is (NONE)" || fail "the TLS 1.1 attempt did not fail cleanly"

# Resumption (TLS 1.2 session ids/tickets): the second handshake reuses the first's session.
s_client -connect "tls.test:$NGINX_TLS_PORT" -servername tls.test -tls1_2 -sess_out "$WORK/session.pem" >/dev/null
s_client -connect "tls.test:$NGINX_TLS_PORT" -servername tls.test -tls1_2 -sess_in "$WORK/session.pem" |
  grep -q "^Reused," || fail "the TLS session was not resumed"

# An IP literal in CONNECT (no SNI) gets an IP SAN.
s_client -connect "127.0.0.1:$NGINX_TLS_PORT" -showcerts | openssl x509 -noout -ext subjectAltName |
  grep -q "IP Address:127.0.0.1" || fail "no IP SAN for a CONNECT to 127.0.0.1"
code=$(timeout 10 curl -s -o /dev/null -w '%{http_code}' --proxy "http://127.0.0.1:$PROXY_PORT" \
  --cacert "$PROXY_BUNDLE" "https://127.0.0.1:$NGINX_TLS_PORT/index.txt")
[ "$code" = 200 ] || fail "request to an IP literal through interception got $code"

# Garbage instead of a ClientHello costs that connection only.
{ printf 'CONNECT tls.test:%s HTTP/1.1\r\nHost: tls.test\r\n\r\n' "$NGINX_TLS_PORT"; head -c 4096 /dev/urandom; } |
  timeout 5 curl -s --max-time 3 telnet://127.0.0.1:"$PROXY_PORT" >/dev/null 2>&1 || true
kill -0 "$PROXY_PID" || fail "the proxy died on a garbage handshake"
curl -fsS "http://127.0.0.1:$PROXY_PORT/healthz" >/dev/null || fail "the proxy stopped answering"
grep -q "TLS handshake with client" "$PROXY_LOG" || fail "no log line for the failed handshake"
log "PASS"
