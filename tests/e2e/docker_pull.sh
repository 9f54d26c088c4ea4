#!/usr/bin/env bash
# dockerd pulls an image through the proxy (HTTPS_PROXY in its environment, the proxy's bundle
# as SSL_CERT_FILE), and the pulled image's digest equals the registry's. Pulled again after
# `docker rmi`, the image comes from the cache: no blob or manifest GET reaches the registry, and
# neither does containerd's ctr fetching the same image. With the registry stopped and the tag
# past --tag-ttl, dockerd still pulls (the tag is served STALE).
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "dockerd needs root"
command -v dockerd >/dev/null || skip "dockerd is not installed"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
registry_pid=$LAST_PID
make_image 256
push_image "$WORK/pki" "$REG_PORT" test/image:v1
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt" --tag-ttl 1s

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

blob_gets() { grep -c '"GET /v2/test/image/blobs/sha256:' "$REG_LOG" || true; }
manifest_gets() { grep -c '"GET /v2/test/image/manifests/' "$REG_LOG" || true; }
cold_blobs=$(blob_gets)
cold_manifests=$(manifest_gets)
[ "$cold_blobs" -ge 2 ] || fail "the cold pull fetched $cold_blobs blobs from upstream"
expect_no_upstream_gets() { # WHAT
  local blobs=$(($(blob_gets) - cold_blobs)) manifests=$(($(manifest_gets) - cold_manifests))
  log "$1: $blobs blob and $manifests manifest GETs reached the registry"
  if [ "$blobs" != 0 ] || [ "$manifests" != 0 ]; then fail "$1 fetched from upstream"; fi
}

docker -H "unix://$sock" rmi "$ref" >/dev/null || fail "docker rmi failed"
timeout 120 docker -H "unix://$sock" pull "$ref" >>"$WORK/docker-pull.log" 2>&1 || fail "the warm docker pull failed"
expect_no_upstream_gets "the warm docker pull"

# ctr talks to the containerd that dockerd started, and fetches in its own process.
layer_hits() { grep -c "path=\"/v2/test/image/blobs/$LAYER_DIGEST\" status=200 .*cache=HIT" "$ACCESS_LOG" || true; }
hits_before=$(layer_hits)
containerd_sock=$(find "$WORK/docker-exec" -name containerd.sock -type s | head -n 1)
[ -n "$containerd_sock" ] || fail "no containerd socket under dockerd's exec root"
HTTPS_PROXY="http://127.0.0.1:$PROXY_PORT" NO_PROXY='' timeout 120 \
  ctr --address "$containerd_sock" --namespace regcache-test content fetch \
  --tlscacert "$PROXY_BUNDLE" "$ref" >"$WORK/ctr.log" 2>&1 || fail "ctr content fetch failed: $(tail -n 5 "$WORK/ctr.log")"
[ "$(layer_hits)" -gt "$hits_before" ] || fail "ctr did not get the layer from the cache"
expect_no_upstream_gets "ctr content fetch"

log "stopping the registry"
kill "$registry_pid"
wait "$registry_pid" 2>/dev/null || true
sleep 1.5 # past --tag-ttl: the proxy asks upstream for the tag, which is gone
docker -H "unix://$sock" rmi "$ref" >/dev/null || fail "docker rmi failed"
timeout 120 docker -H "unix://$sock" pull "$ref" >>"$WORK/docker-pull.log" 2>&1 ||
  fail "docker pull with the registry stopped failed"
grep -q 'path="/v2/test/image/manifests/v1" status=200 .*cache=STALE' "$ACCESS_LOG" ||
  fail "the tag was not served STALE with the registry stopped"
log "PASS"
