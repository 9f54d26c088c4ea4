#!/usr/bin/env bash
# dockerd with "registry-mirrors": ["http://127.0.0.1:PORT"] (regcache's own port) pulls a Docker
# Hub image through the mirror. Docker Hub is a stand-in docker-registry on port 443 of a loopback
# address: dockerd runs in a mount namespace whose /etc/hosts names it, and trusts the test CA
# through SSL_CERT_FILE; regcache finds it with --dns-server. After `docker rmi`, a second pull
# fetches no blob from the registry. With regcache stopped, dockerd still pulls, from the
# registry itself (the mirror's fallback).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mirror_lib.sh"

[ "$(id -u)" = 0 ] || skip "dockerd needs root"
command -v dockerd >/dev/null || skip "dockerd is not installed"

start_hub
make_image 256
push_hub_image test/image:v1
start_dns "registry-1.docker.io=$HUB_ADDR"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$HUB_PKI/ca.crt"

sock="$WORK/docker.sock"
mkdir -p "$WORK/docker-data" "$WORK/docker-exec"
printf '{"registry-mirrors": ["http://127.0.0.1:%s"]}\n' "$PROXY_PORT" >"$WORK/daemon.json"
# dockerd starts its own containerd under --exec-root; both stop when dockerd does.
spawn "$WORK/dockerd.log" in_hosts_ns env SSL_CERT_FILE="$HUB_PKI/ca.crt" \
  SSL_CERT_DIR="$WORK/no-such-dir" \
  dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
  --data-root "$WORK/docker-data" --exec-root "$WORK/docker-exec" -H "unix://$sock" \
  --pidfile "$WORK/docker.pid" --config-file "$WORK/daemon.json"
for _ in $(seq 1 150); do
  docker -H "unix://$sock" version >/dev/null 2>&1 && break
  kill -0 "$LAST_PID" 2>/dev/null || fail "dockerd exited"
  sleep 0.2
done
docker -H "unix://$sock" version >/dev/null 2>&1 || fail "dockerd did not come up"

ref="test/image:v1" # docker.io/test/image:v1
pull() { timeout 120 docker -H "unix://$sock" pull "$ref" >>"$WORK/docker-pull.log" 2>&1; }
blob_gets() { registry_blob_gets "$HUB_LOG" test/image; }

log "docker pull $ref through the mirror"
pull || fail "docker pull through the mirror failed: $(tail -n 3 "$WORK/docker-pull.log")"
grep -q "host=registry-1.docker.io path=\"/v2/test/image/blobs/$LAYER_DIGEST\" status=200" "$ACCESS_LOG" ||
  fail "the layer did not come through the mirror"
cold=$(blob_gets)
[ "$cold" -ge 2 ] || fail "the cold pull made $cold blob GETs upstream"
docker -H "unix://$sock" rmi "$ref" >/dev/null || fail "docker rmi failed"
pull || fail "the warm docker pull failed: $(tail -n 3 "$WORK/docker-pull.log")"
warm=$(($(blob_gets) - cold))
log "registry blob GETs: cold $cold, warm $warm"
[ "$warm" = 0 ] || fail "the warm pull made $warm blob GETs upstream"
grep -q "path=\"/v2/test/image/blobs/$LAYER_DIGEST\" status=200 .*cache=HIT" "$ACCESS_LOG" ||
  fail "no cache hit for the layer"

docker -H "unix://$sock" image inspect "$ref" >/dev/null || fail "the pulled image is not in dockerd"
log "stopping regcache"
stop_proxy
docker -H "unix://$sock" rmi "$ref" >/dev/null || fail "docker rmi failed"
before=$(blob_gets)
pull || fail "with regcache stopped, docker did not pull: $(tail -n 3 "$WORK/docker-pull.log")"
[ "$(blob_gets)" -gt "$before" ] || fail "the fallback pull did not come from the registry"
docker -H "unix://$sock" image inspect "$ref" >/dev/null || fail "the image pulled in the fallback is not in dockerd"
log "PASS"
