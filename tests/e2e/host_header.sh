#!/usr/bin/env bash
# Host names the target, never what the client wrote: nginx serves two sites on one port and
# picks one by Host. Inside an intercepted CONNECT to a.test a client sending "Host: b.test"
# still gets a.test's site (the proxy sends the CONNECT target as Host), and an absolute-form
# request for a.test with "Host: b.test" is refused with 400 before anything is sent upstream.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" a.test b.test
start_dns a.test b.test
NGINX_TLS_PORT=$(free_port)
NGINX_PLAIN_PORT=$(free_port)
prefix="$WORK/nginx"
mkdir -p "$prefix/logs" "$prefix/tmp"
site() { # NAME
  cat <<CONF
  server {
    listen 127.0.0.1:$NGINX_TLS_PORT ssl;
    listen 127.0.0.1:$NGINX_PLAIN_PORT;
    server_name $1;
    ssl_certificate $WORK/pki/server.crt;
    ssl_certificate_key $WORK/pki/server.key;
    location / { return 200 "site $1 host=\$http_host\n"; }
  }
CONF
}
{
  nginx_preamble "$prefix"
  site a.test
  site b.test
  echo "}"
} >"$prefix/nginx.conf"
spawn "$WORK/nginx.log" nginx -p "$prefix" -c "$prefix/nginx.conf" \
  -g "daemon off; pid $prefix/nginx.pid; error_log $prefix/logs/error.log;"
wait_port "$NGINX_TLS_PORT"
wait_port "$NGINX_PLAIN_PORT"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"
proxy=(--proxy "http://127.0.0.1:$PROXY_PORT" --cacert "$PROXY_BUNDLE")

# The sites answer by Host when asked directly.
direct=$(timeout 10 curl -sS --cacert "$WORK/pki/ca.crt" --resolve "a.test:$NGINX_TLS_PORT:127.0.0.1" \
  -H "Host: b.test" "https://a.test:$NGINX_TLS_PORT/")
case "$direct" in "site b.test"*) ;; *) fail "nginx does not route by Host: $direct" ;; esac

out=$(timeout 10 curl -sS "${proxy[@]}" "https://a.test:$NGINX_TLS_PORT/x")
case "$out" in "site a.test host=a.test:$NGINX_TLS_PORT"*) ;; *) fail "intercepted a.test: $out" ;; esac
out=$(timeout 10 curl -sS "${proxy[@]}" -H "Host: b.test" "https://a.test:$NGINX_TLS_PORT/x")
case "$out" in
"site a.test host=a.test:$NGINX_TLS_PORT"*) ;;
*) fail "inside a CONNECT to a.test, Host: b.test reached $out" ;;
esac

code=$(timeout 10 curl -sS -o "$WORK/abs.txt" -w '%{http_code}' "${proxy[@]}" -H "Host: b.test" \
  "http://a.test:$NGINX_PLAIN_PORT/y")
[ "$code" = 400 ] || fail "absolute-form with a disagreeing Host got $code: $(cat "$WORK/abs.txt")"
grep -q "does not match" "$WORK/abs.txt" || fail "the 400 does not say why: $(cat "$WORK/abs.txt")"
grep -q "GET /y" "$prefix/logs/access.log" && fail "the refused request reached upstream"
out=$(timeout 10 curl -sS "${proxy[@]}" "http://a.test:$NGINX_PLAIN_PORT/y")
case "$out" in "site a.test host=a.test:$NGINX_PLAIN_PORT"*) ;; *) fail "absolute-form a.test: $out" ;; esac
log "PASS"
