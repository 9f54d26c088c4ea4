#!/usr/bin/env bash
# SIGHUP reloads the config file while a client downloads: --allow-client narrowed to
# 127.0.0.1/32 refuses new connections from 127.0.0.2 with a 403, the download that 127.0.0.2
# had started finishes with every byte, a changed key that cannot change live is logged as
# needing a restart, and a bad file keeps the running configuration whole.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" big.test
start_dns big.test
mkdir -p "$WORK/www"
truncate -s 48M "$WORK/www/big.bin"
start_nginx "$WORK/pki" "$WORK/www"
config="$WORK/regcache.toml"
cat >"$config" <<'TOML'
allow-client = ["127.0.0.0/8"]
leaf-cache-size = 1024
TOML
"$REGCACHE" serve --config "$config" --check-config >/dev/null || fail "the first config does not check"
start_proxy --config "$config" --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"

healthz_from() { # SOURCE_ADDRESS -> HTTP status of GET /healthz
  curl -s -o /dev/null -w '%{http_code}' --interface "$1" "http://127.0.0.1:$PROXY_PORT/healthz"
}
wait_log() { # PATTERN: at most 10 s
  for _ in $(seq 1 100); do grep -q "$1" "$PROXY_LOG" && return 0; sleep 0.1; done
  fail "the proxy never logged '$1'"
}
[ "$(healthz_from 127.0.0.2)" = 200 ] || fail "127.0.0.2 refused before the reload"

log "a client on 127.0.0.2 starts a slow 48 MiB download"
timeout 120 curl -sS --interface 127.0.0.2 --proxy "http://127.0.0.1:$PROXY_PORT" \
  --cacert "$PROXY_BUNDLE" --limit-rate 8M -o "$WORK/download" \
  "https://big.test:$NGINX_TLS_PORT/big.bin" 2>"$WORK/curl.err" &
download=$!
PIDS+=("$download")
for _ in $(seq 1 100); do
  [ "$(stat -c %s "$WORK/download" 2>/dev/null || echo 0)" -gt $((1 << 20)) ] && break
  sleep 0.1
done
[ "$(stat -c %s "$WORK/download" 2>/dev/null || echo 0)" -gt $((1 << 20)) ] ||
  fail "the download did not start"

log "narrowing allow-client to 127.0.0.1/32 and changing leaf-cache-size, then SIGHUP"
cat >"$config" <<'TOML'
allow-client = ["127.0.0.1/32"]
leaf-cache-size = 10
TOML
kill -HUP "$PROXY_PID"
wait_log "configuration reloaded"
grep -q "leaf-cache-size changed but needs a restart" "$PROXY_LOG" ||
  fail "the restart-only change was not logged"
[ "$(healthz_from 127.0.0.2)" = 403 ] || fail "a new connection from 127.0.0.2 was not refused"
[ "$(healthz_from 127.0.0.1)" = 200 ] || fail "127.0.0.1 refused after the reload"
size=$(stat -c %s "$WORK/download")
[ "$size" -lt $((48 << 20)) ] || fail "the download ended before the reload; the test proves nothing"

log "a bad file on SIGHUP keeps the running configuration"
cat >"$config" <<'TOML'
allow-client = ["127.0.0.2/32"]
tag-ttl = "forever"
TOML
if "$REGCACHE" serve --config "$config" --check-config 2>"$WORK/check.err"; then
  fail "--check-config accepted a bad tag-ttl"
fi
grep -q "regcache.toml:2: tag-ttl" "$WORK/check.err" || fail "--check-config: $(cat "$WORK/check.err")"
kill -HUP "$PROXY_PID"
wait_log "reload failed, keeping the running configuration"
[ "$(healthz_from 127.0.0.1)" = 200 ] || fail "the bad file was applied in part (127.0.0.1 refused)"
[ "$(healthz_from 127.0.0.2)" = 403 ] || fail "the bad file was applied in part (127.0.0.2 let in)"

log "waiting for the download that was open during both reloads"
status=0
wait "$download" || status=$?
[ "$status" = 0 ] || fail "the open download failed (curl $status): $(cat "$WORK/curl.err")"
[ "$(stat -c %s "$WORK/download")" = $((48 << 20)) ] || fail "the download is short"
cmp -s -n $((48 << 20)) "$WORK/download" /dev/zero || fail "wrong bytes in the download"
log "PASS"
