#!/usr/bin/env bash
# dockerd pulls an image through the proxy (HTTPS_PROXY in its environment, the proxy's bundle
# as SSL_CERT_FILE), and the pulled image's digest equals the registry's.
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "dockerd needs root"
command -v dockerd >/dev/null || skip "dockerd is not installed"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 256
push_image "$WORK/pki" "$REG_PORT" test/image:v1
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"

sock="$WORK/docker.sock"
mkdir -p "$WORK/docker-data" "$WORK/docker-exec"
echo "{}" >"$WORK/daemon.json"
# dockerd starts its own containerd under --exec-root; both stop when dockerd does.
spawn "$WORK/dockerd.log" env HTTPS_PROXY="http://127.0.0.1:$PROXY_PORT" NO_PROXY= \
  SSL_CERT_FILE="$PROXY_BUNDLE" SSL_CERT_DIR="$WORK/no-such-dir" \
  dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
  --data-root "$WORK/docker-data" --exec-root "$WORK/docker-exec" -H "unix://$sock" \
  --pidfile "$WORK/docker.pid" --config-file "$WORK/daemon.json"
for _ in $(seq 1 150); do
  docker -H "unix://$sock" version >/dev/null 2>&1 && break
  kill -0 "$LAST_PID" 2>/dev/null || fail "dockerd exited"
  sleep 0.2
done
docker -H "unix://$sock" version >/dev/null 2>&1 || fail "dockerd did not come up"

ref="registry.test:$REG_PORT/test/image:v1"
log "docker pull $ref through the proxy"
timeout 120 docker -H "unix://$sock" pull "$ref" >"$WORK/docker-pull.log" 2>&1 || fail "docker pull failed"

pulled=$(docker -H "unix://$sock" image inspect --format '{{index .RepoDigests 0}}' "$ref")
direct="sha256:$(direct_digest "$WORK/pki" "$REG_PORT" test/image:v1)"
log "pulled $pulled, registry has $direct"
[ "${pulled#*@}" = "$direct" ] || fail "digests differ"
grep -q "path=\"/v2/test/image/blobs/$LAYER_DIGEST\"" "$ACCESS_LOG" || fail "the layer did not go through the proxy"
log "PASS"
