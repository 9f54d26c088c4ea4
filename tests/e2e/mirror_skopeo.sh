#!/usr/bin/env bash
# skopeo with a registries.conf mirror on regcache's own port (plain HTTP, insecure = true): a
# pull of docker.io/test/image goes through the mirror to a stand-in Docker Hub (no ns: Docker
# Hub), and a second pull fetches no blob from it. A mirror location with a path
# ("127.0.0.1:PORT/registry.test") reaches another registry, cached under that registry. With
# regcache stopped, skopeo still pulls, from the registry itself (the fallback).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mirror_lib.sh"

[ "$(id -u)" = 0 ] || skip "a mount namespace for /etc/hosts needs root"

start_hub
make_image 256
push_hub_image test/image:v1
start_dns "registry-1.docker.io=$HUB_ADDR" "registry.test=$HUB_ADDR"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$HUB_PKI/ca.crt"

cat >"$WORK/registries.conf" <<CONF
[[registry]]
location = "docker.io"
[[registry.mirror]]
location = "127.0.0.1:$PROXY_PORT"
insecure = true

[[registry]]
location = "registry.test"
[[registry.mirror]]
location = "127.0.0.1:$PROXY_PORT/registry.test"
insecure = true
CONF

# skopeo trusts the test CA only for the registry itself (the fallback); the mirror is plain HTTP.
pull() { # REF NAME
  rm -rf "$WORK/out-$2"
  in_hosts_ns env SSL_CERT_FILE="$HUB_PKI/ca.crt" SSL_CERT_DIR="$WORK/no-such-dir" \
    timeout 60 skopeo --insecure-policy --registries-conf "$WORK/registries.conf" copy --quiet \
    "docker://$1" "oci:$WORK/out-$2:v1" >>"$WORK/skopeo.log" 2>&1
}
blob_gets() { registry_blob_gets "$HUB_LOG" test/image; }

pull docker.io/test/image:v1 cold || fail "the cold pull through the mirror failed: $(tail -n 3 "$WORK/skopeo.log")"
grep -q "host=registry-1.docker.io path=\"/v2/test/image/blobs/$LAYER_DIGEST\" status=200" "$ACCESS_LOG" ||
  fail "the layer did not come through the mirror"
cold=$(blob_gets)
[ "$cold" -ge 2 ] || fail "the cold pull fetched $cold blobs from the registry"
pull docker.io/test/image:v1 warm || fail "the warm pull through the mirror failed"
warm=$(($(blob_gets) - cold))
log "registry blob GETs: cold $cold, warm $warm"
[ "$warm" = 0 ] || fail "the warm pull fetched $warm blobs from the registry"
grep -q "path=\"/v2/test/image/blobs/$LAYER_DIGEST\" status=200 .*cache=HIT" "$ACCESS_LOG" ||
  fail "no cache hit for the layer"
cmp -s "$WORK/out-warm/blobs/sha256/${LAYER_DIGEST#sha256:}" "$IMAGE_DIR/blobs/sha256/${LAYER_DIGEST#sha256:}" ||
  fail "the layer pulled from the cache differs from the pushed one"

# The location's path names the registry: cached under registry.test, not Docker Hub.
pull registry.test/test/image:v1 prefixed || fail "the pull through the mirror with a registry path failed: $(tail -n 3 "$WORK/skopeo.log")"
"$REGCACHE" cache ls --data-dir "$WORK/proxy-data" >"$WORK/cache-ls.txt" || fail "cache ls failed"
grep -q "^registry.test/test/image:v1 " "$WORK/cache-ls.txt" ||
  fail "cache ls does not list registry.test's tag: $(cat "$WORK/cache-ls.txt")"
grep -q "^registry-1.docker.io/test/image:v1 " "$WORK/cache-ls.txt" ||
  fail "cache ls does not list Docker Hub's tag: $(cat "$WORK/cache-ls.txt")"

log "stopping regcache"
stop_proxy
before=$(blob_gets)
pull docker.io/test/image:v1 fallback || fail "with regcache stopped, skopeo did not pull: $(tail -n 3 "$WORK/skopeo.log")"
[ "$(blob_gets)" -gt "$before" ] || fail "the fallback pull did not come from the registry"
cmp -s "$WORK/out-fallback/blobs/sha256/${LAYER_DIGEST#sha256:}" "$IMAGE_DIR/blobs/sha256/${LAYER_DIGEST#sha256:}" ||
  fail "the layer pulled from the registry differs from the pushed one"
log "PASS"
