#!/usr/bin/env bash
# skopeo with a registries.conf mirror on regcache's own port (plain HTTP, insecure = true): a
# pull of docker.io/test/image goes through the mirror to a stand-in Docker Hub (no ns: Docker
# Hub), and a second pull fetches no blob from it. A mirror location with a path
# ("127.0.0.1:PORT/registry.test") reaches another registry, cached under that registry. With
# regcache stopped, skopeo still pulls, from the registry itself (the fallback). The TLS listener
# (--mirror-tls-listen) serves the same with a leaf from regcache's CA for the address or name
# the client reached: curl and skopeo verify it against the proxy's bundle.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mirror_lib.sh"

[ "$(id -u)" = 0 ] || skip "a mount namespace for /etc/hosts needs root"

start_hub
make_image 256
push_hub_image test/image:v1
start_dns "registry-1.docker.io=$HUB_ADDR" "registry.test=$HUB_ADDR"
tls_port=$(free_port)
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$HUB_PKI/ca.crt" \
  --mirror-tls-listen "127.0.0.1:$tls_port"

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

# Over TLS: by IP (no SNI: the leaf names 127.0.0.1) and by name (SNI), verified.
wait_port "$tls_port"
[ "$(curl -fsS --cacert "$PROXY_BUNDLE" "https://127.0.0.1:$tls_port/v2/")" = "{}" ] ||
  fail "the TLS listener did not answer the ping"
[ "$(curl -fsS --cacert "$PROXY_BUNDLE" "https://localhost:$tls_port/healthz")" = "ok" ] ||
  fail "the TLS listener did not answer /healthz by name"
# The TLS port is the mirror's alone: no proxying through it.
status=$(curl -s -o /dev/null -w '%{http_code}' --proxy "https://127.0.0.1:$tls_port" \
  --proxy-cacert "$PROXY_BUNDLE" "http://127.0.0.1:$PROXY_PORT/healthz" || true)
[ "$status" = 400 ] || fail "an absolute-form request on the TLS listener got $status"
curl -s -o /dev/null --proxy "https://127.0.0.1:$tls_port" --proxy-cacert "$PROXY_BUNDLE" \
  "https://127.0.0.1:$PROXY_PORT/healthz" && fail "a CONNECT on the TLS listener succeeded"
cat "$PROXY_BUNDLE" "$HUB_PKI/ca.crt" >"$WORK/both-roots.pem"
sed "s/127.0.0.1:$PROXY_PORT/127.0.0.1:$tls_port/; s/insecure = true/insecure = false/" \
  "$WORK/registries.conf" >"$WORK/registries-tls.conf"
before=$(blob_gets)
rm -rf "$WORK/out-tls"
in_hosts_ns env SSL_CERT_FILE="$WORK/both-roots.pem" SSL_CERT_DIR="$WORK/no-such-dir" \
  timeout 60 skopeo --insecure-policy --registries-conf "$WORK/registries-tls.conf" copy --quiet \
  docker://docker.io/test/image:v1 "oci:$WORK/out-tls:v1" >>"$WORK/skopeo.log" 2>&1 ||
  fail "the pull through the TLS mirror failed: $(tail -n 3 "$WORK/skopeo.log")"
[ "$(blob_gets)" = "$before" ] || fail "the pull through the TLS mirror went to the registry"
cmp -s "$WORK/out-tls/blobs/sha256/${LAYER_DIGEST#sha256:}" "$IMAGE_DIR/blobs/sha256/${LAYER_DIGEST#sha256:}" ||
  fail "the layer pulled over TLS differs from the pushed one"

log "stopping regcache"
stop_proxy
before=$(blob_gets)
pull docker.io/test/image:v1 fallback || fail "with regcache stopped, skopeo did not pull: $(tail -n 3 "$WORK/skopeo.log")"
[ "$(blob_gets)" -gt "$before" ] || fail "the fallback pull did not come from the registry"
cmp -s "$WORK/out-fallback/blobs/sha256/${LAYER_DIGEST#sha256:}" "$IMAGE_DIR/blobs/sha256/${LAYER_DIGEST#sha256:}" ||
  fail "the layer pulled from the registry differs from the pushed one"
log "PASS"
