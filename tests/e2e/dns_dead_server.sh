#!/usr/bin/env bash
# DNS that survives a dead resolver. The first --dns-server is a bound UDP socket that never
# answers, the second dnsmasq (--local-ttl 2). Absolute-form GETs through the proxy show:
# the first lookup pays one timeout at most, lookups of other names after it are fast (the dead
# server was moved behind dnsmasq); an answer is reused within its TTL (no new query reaches
# dnsmasq) and asked again after it; a name that does not exist (NXDOMAIN) is remembered too.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/www" "$WORK/nginx/logs" "$WORK/nginx/tmp"
echo hello >"$WORK/www/hello.txt"
# nginx closes every connection after one response, so the proxy's upstream pool cannot hide a
# lookup: each GET resolves its host again (from the cache or from DNS).
NGINX_PLAIN_PORT=$(free_port)
cat >"$WORK/nginx/nginx.conf" <<CONF
$(nginx_preamble "$WORK/nginx")
  keepalive_timeout 0;
  server { listen 127.0.0.1:$NGINX_PLAIN_PORT; root $WORK/www; }
}
CONF
spawn "$WORK/nginx.log" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" \
  -g "daemon off; pid $WORK/nginx/nginx.pid; error_log $WORK/nginx/logs/error.log;"
wait_port "$NGINX_PLAIN_PORT"

# The dead server: a UDP socket that reads nothing and answers nothing.
DEAD_PORT=$(free_port)
spawn "$WORK/dead-dns.log" python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', $DEAD_PORT))
print('bound', flush=True)
time.sleep(600)
"
for _ in $(seq 1 50); do grep -q bound "$WORK/dead-dns.log" && break; sleep 0.1; done

DNS_PORT=$(free_port)
dns_args=(--keep-in-foreground --conf-file=/dev/null --port="$DNS_PORT" --listen-address=127.0.0.1
  --bind-interfaces --no-resolv --no-hosts --log-queries --log-facility=- --local-ttl=2
  --pid-file="$WORK/dnsmasq.pid" --address=/missing.test/)
for name in web.test one.test two.test three.test; do dns_args+=(--address="/$name/127.0.0.1"); done
if [ "$(id -u)" = 0 ]; then dns_args+=(--user=root); fi
spawn "$WORK/dnsmasq.log" dnsmasq "${dns_args[@]}"
for _ in $(seq 1 50); do grep -q started "$WORK/dnsmasq.log" && break; sleep 0.1; done
grep -q started "$WORK/dnsmasq.log" || fail "dnsmasq did not start"

start_proxy --dns-server "127.0.0.1:$DEAD_PORT" --dns-server "127.0.0.1:$DNS_PORT"

# One absolute-form GET of http://NAME:PORT/hello.txt: its status in LAST_CODE, the seconds it
# took in TOOK.
timed_get() {
  local start end
  start=$(date +%s.%N)
  LAST_CODE=$(timeout 20 curl -s -o /dev/null -w '%{http_code}' --proxy "http://127.0.0.1:$PROXY_PORT" \
    "http://$1:$NGINX_PLAIN_PORT/hello.txt" || true)
  end=$(date +%s.%N)
  TOOK=$(echo "$end - $start" | bc)
}
queries() { grep -c "query\[A\] $1 from" "$WORK/dnsmasq.log" || true; }
# Under one c-ares timeout (2 s), with room for a loaded machine.
fast() { [ "$(echo "$1 < 1.5" | bc)" = 1 ]; }

timed_get one.test
first=$TOOK
log "first lookup (one.test, dead first server): $first s, HTTP $LAST_CODE"
[ "$LAST_CODE" = 200 ] || fail "the first GET failed ($LAST_CODE)"
[ "$(echo "$first < 5.5" | bc)" = 1 ] || fail "the first lookup took $first s: more than one timeout"
sleep 0.3 # the new server order is applied once no query is in flight
for name in two.test three.test web.test; do
  timed_get "$name"
  took=$TOOK
  log "lookup of $name: $took s, HTTP $LAST_CODE"
  [ "$LAST_CODE" = 200 ] || fail "GET of $name failed ($LAST_CODE)"
  fast "$took" || fail "the lookup of $name took $took s: the dead server was asked again"
done

# Within the TTL (2 s) the answer is reused; after it, dnsmasq is asked again. The cache is per
# worker (two here), so each worker may ask once.
for _ in 1 2 3 4 5; do timed_get web.test; done
[ "$(queries web.test)" -le 2 ] || fail "6 GETs of web.test within its TTL made $(queries web.test) queries"
before=$(queries web.test)
sleep 2.5
timed_get web.test
[ "$LAST_CODE" = 200 ] || fail "GET of web.test after its TTL failed"
[ "$(queries web.test)" -gt "$before" ] || fail "web.test was not asked again after its TTL"

# NXDOMAIN is remembered (--dns-negative-ttl, 10 s by default): one query per worker.
for _ in 1 2 3 4 5 6; do
  timed_get missing.test
  [ "$LAST_CODE" = 502 ] || fail "an unknown name got $LAST_CODE, expected 502"
  fast "$TOOK" || fail "the NXDOMAIN lookup took $TOOK s"
done
[ "$(queries missing.test)" -le 2 ] || fail "6 GETs of missing.test made $(queries missing.test) queries"
log "PASS"
