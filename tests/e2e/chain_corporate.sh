#!/usr/bin/env bash
# Chaining through a corporate proxy: regcache -> Squid (plain CONNECT tunnels, Basic proxy
# credentials) -> a TLS docker-registry. Squid resolves registry.test (from its hosts file);
# regcache has no --dns-server that knows it, so a pull succeeds only through Squid, with TLS
# verified against the registry's own name end to end. A wrong password gets Squid's 407, which
# the child turns into a failed pull with the parent's status in its log; a host listed in
# --upstream-no-proxy is reached directly.
source "$(dirname "$0")/lib.sh"

command -v squid >/dev/null || skip "squid is not installed"
make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 256
push_image "$WORK/pki" "$REG_PORT" test/image:v1

SQUID_PORT=$(free_port)
squid_dir="$WORK/squid"
mkdir -p "$squid_dir"
echo "127.0.0.1 registry.test" >"$squid_dir/hosts"
make_htpasswd "$squid_dir/passwd" "ci:s3cr%t"
cat >"$squid_dir/squid.conf" <<CONF
http_port 127.0.0.1:$SQUID_PORT
auth_param basic program /usr/lib/squid/basic_ncsa_auth $squid_dir/passwd
auth_param basic realm corporate
acl authed proxy_auth REQUIRED
acl localnet src 127.0.0.0/8
acl CONNECT method CONNECT
http_access deny !authed
http_access allow localnet CONNECT
http_access deny all
hosts_file $squid_dir/hosts
cache deny all
pid_filename $squid_dir/squid.pid
cache_log $squid_dir/cache.log
access_log stdio:$squid_dir/access.log
coredump_dir $squid_dir
shutdown_lifetime 1 seconds
CONF
if [ "$(id -u)" = 0 ]; then chown -R proxy "$squid_dir"; fi
spawn "$WORK/squid.log" squid -N -f "$squid_dir/squid.conf"
wait_port "$SQUID_PORT"

connects() { grep -c "CONNECT registry.test:$REG_PORT" "$squid_dir/access.log" 2>/dev/null || true; }
pull() { skopeo_pull "registry.test:$REG_PORT" "test/image:v1" "$1"; }
stop_proxy() {
  kill -TERM "$PROXY_PID"
  local status=0
  wait "$PROXY_PID" || status=$?
  PROXY_PID=
  [ "$status" = 0 ] || fail "regcache exited with status $status"
  mv "$PROXY_LOG" "$WORK/$1.log"
  rm -rf "$WORK/proxy-data"
}

log "a wrong proxy password"
start_proxy --upstream-proxy "http://ci:wrong@127.0.0.1:$SQUID_PORT" --upstream-ca "$WORK/pki/ca.crt"
pull refused && fail "a pull succeeded with Squid refusing the credentials"
grep -q "parent proxy 127.0.0.1:$SQUID_PORT for CONNECT registry.test:$REG_PORT: answered 407" "$PROXY_LOG" ||
  fail "the log does not name the parent's 407"
grep -q "wrong" "$PROXY_LOG" && fail "the proxy password is in the log"
stop_proxy wrong-password

log "the right one (percent-encoded in the URL)"
start_proxy --upstream-proxy "http://ci:s3cr%25t@127.0.0.1:$SQUID_PORT" --upstream-ca "$WORK/pki/ca.crt"
pull through-squid || fail "the pull through Squid failed"
cmp -s "$WORK/out-through-squid/blobs/sha256/${LAYER_DIGEST#sha256:}" "$IMAGE_DIR/blobs/sha256/${LAYER_DIGEST#sha256:}" ||
  fail "the layer pulled through Squid differs from the pushed one"
grep -q '"GET /v2/test/image/blobs/sha256:' "$REG_LOG" || fail "the registry served no blob"
stop_proxy right-password
# Squid logs a tunnel when it ends: the pooled ones ended with the proxy.
for _ in $(seq 1 50); do
  grep -q "TCP_TUNNEL/200 .* CONNECT registry.test:$REG_PORT ci " "$squid_dir/access.log" && break
  sleep 0.1
done
grep -q "TCP_TUNNEL/200 .* CONNECT registry.test:$REG_PORT ci " "$squid_dir/access.log" ||
  fail "Squid did not tunnel for user ci: $(tail -3 "$squid_dir/access.log")"

log "--upstream-no-proxy: the registry directly (its name from dnsmasq), Squid unused"
start_proxy --upstream-proxy "http://ci:wrong@127.0.0.1:$SQUID_PORT" --upstream-no-proxy ".test" \
  --upstream-ca "$WORK/pki/ca.crt" --dns-server "127.0.0.1:$DNS_PORT"
before=$(connects)
pull direct || fail "the pull of an --upstream-no-proxy host failed"
stop_proxy no-proxy
sleep 0.5
[ "$(connects)" = "$before" ] || fail "an --upstream-no-proxy host went through Squid"
grep -q "is an --upstream-no-proxy exception: connecting directly" "$WORK/no-proxy.log" ||
  fail "the proxy did not connect directly"
log "PASS"
