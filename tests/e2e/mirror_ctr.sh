#!/usr/bin/env bash
# containerd's ctr with --hosts-dir: hosts.toml names the real registry as `server` and regcache's
# port as a [host] with capabilities = ["pull", "resolve"]. ctr fetches through the mirror (ns=
# names the registry), and a second fetch makes no blob GET upstream. An image on a second
# registry, through its own hosts.toml, is cached under that registry (cache ls). Behind a token
# registry (nginx, like Docker Hub), regcache fetches the anonymous token itself. With regcache
# stopped, ctr still fetches, from the registry itself (the fallback).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mirror_lib.sh"

[ "$(id -u)" = 0 ] || skip "containerd needs root"
command -v containerd >/dev/null || skip "containerd is not installed"

make_pki "$WORK/pki" registry.test
start_registry "$WORK/pki" registry-a
port_a=$REG_PORT log_a=$REG_LOG
make_image 256
push_image "$WORK/pki" "$port_a" test/image:v1
start_registry "$WORK/pki" registry-b
port_b=$REG_PORT log_b=$REG_LOG
push_image "$WORK/pki" "$port_b" team/other:v2
start_proxy --upstream-ca "$WORK/pki/ca.crt"

# containerd of the test's own. "isolated": a namespace sees only content it fetched itself, so
# each fetch below (in a namespace of its own) downloads every blob again.
sock="$WORK/containerd.sock"
cat >"$WORK/containerd.toml" <<TOML
version = 2
root = "$WORK/containerd-root"
state = "$WORK/containerd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
[plugins."io.containerd.metadata.v1.bolt"]
  content_sharing_policy = "isolated"
TOML
spawn "$WORK/containerd.log" containerd --config "$WORK/containerd.toml"
for _ in $(seq 1 100); do
  ctr --address "$sock" version >/dev/null 2>&1 && break
  kill -0 "$LAST_PID" 2>/dev/null || fail "containerd exited"
  sleep 0.1
done
ctr --address "$sock" version >/dev/null 2>&1 || fail "containerd did not come up"

# One hosts.toml per registry, as client-config writes them.
hosts="$WORK/hosts.d"
for port in "$port_a" "$port_b"; do
  mkdir -p "$hosts/127.0.0.1:$port"
  cat >"$hosts/127.0.0.1:$port/hosts.toml" <<TOML
server = "https://127.0.0.1:$port"
ca = "$WORK/pki/ca.crt"

[host."http://127.0.0.1:$PROXY_PORT"]
  capabilities = ["pull", "resolve"]
TOML
done

fetch() { # NAMESPACE REF
  timeout 60 ctr --address "$sock" --namespace "$1" content fetch --hosts-dir "$hosts" "$2" \
    >>"$WORK/ctr.log" 2>&1
}
ref_a="127.0.0.1:$port_a/test/image:v1"
ref_b="127.0.0.1:$port_b/team/other:v2"

fetch cold "$ref_a" || fail "the cold fetch through the mirror failed: $(tail -n 3 "$WORK/ctr.log")"
grep -q "host=127.0.0.1:$port_a path=\"/v2/test/image/blobs/$LAYER_DIGEST\" status=200" "$ACCESS_LOG" ||
  fail "the layer did not come through the mirror"
cold=$(registry_blob_gets "$log_a" test/image)
[ "$cold" -ge 2 ] || fail "the cold fetch made $cold blob GETs upstream"
fetch warm "$ref_a" || fail "the warm fetch through the mirror failed: $(tail -n 3 "$WORK/ctr.log")"
warm=$(($(registry_blob_gets "$log_a" test/image) - cold))
log "registry blob GETs: cold $cold, warm $warm"
[ "$warm" = 0 ] || fail "the warm fetch made $warm blob GETs upstream"
grep -q "path=\"/v2/test/image/blobs/$LAYER_DIGEST?ns=127.0.0.1%3A$port_a\" status=200 .*cache=HIT" "$ACCESS_LOG" ||
  fail "no cache hit for the layer"
ctr --address "$sock" --namespace warm content ls | grep "${LAYER_DIGEST}" >/dev/null ||
  fail "containerd does not hold the layer after the warm fetch"

# The second registry: ns names it, and the cache keeps its tag under it.
fetch other "$ref_b" || fail "the fetch from the second registry failed: $(tail -n 3 "$WORK/ctr.log")"
[ "$(registry_blob_gets "$log_b" team/other)" -ge 2 ] || fail "the second registry served no blob"
"$REGCACHE" cache ls --data-dir "$WORK/proxy-data" >"$WORK/cache-ls.txt" || fail "cache ls failed"
grep -q "^127.0.0.1:$port_b/team/other:v2 " "$WORK/cache-ls.txt" ||
  fail "cache ls does not list the second registry's tag: $(cat "$WORK/cache-ls.txt")"
grep -q "^127.0.0.1:$port_a/test/image:v1 " "$WORK/cache-ls.txt" ||
  fail "cache ls does not list the first registry's tag: $(cat "$WORK/cache-ls.txt")"

# A token registry like Docker Hub (nginx before registry A: a Bearer challenge without a token,
# a token for anyone at /token): regcache fetches the anonymous token itself, and ctr, which was
# answered /v2/ and every pull without a challenge, never asks for one.
# shellcheck disable=SC2016 # nginx variables, expanded by nginx
NGINX_HTTP_EXTRA='map $http_authorization $has_token { default 0; "~^Bearer anonymous-" 1; }'
NGINX_LOCATIONS="
  location = /token {
    default_type application/json;
    return 200 '{\"token\": \"anonymous-\$request_id\", \"expires_in\": 300}';
  }
  location /v2/ {
    if (\$has_token = 0) {
      add_header WWW-Authenticate 'Bearer realm=\"https://\$http_host/token\",service=\"test\",scope=\"repository:test/image:pull\"' always;
      return 401;
    }
    proxy_pass https://127.0.0.1:$port_a;
  }"
start_nginx_proxy "$WORK/pki" "$port_a"
port_t=$NGINX_TLS_PORT
mkdir -p "$hosts/127.0.0.1:$port_t"
sed "s/127.0.0.1:$port_a/127.0.0.1:$port_t/" "$hosts/127.0.0.1:$port_a/hosts.toml" \
  >"$hosts/127.0.0.1:$port_t/hosts.toml"
fetch token "127.0.0.1:$port_t/test/image:v1" ||
  fail "the fetch from the token registry through the mirror failed: $(tail -n 3 "$WORK/ctr.log")"
nginx_log="$NGINX_PREFIX/logs/access.log"
grep -q '"GET /token?[^"]*" 200 ' "$nginx_log" || fail "nobody fetched a token"
grep -q '"GET /token?[^"]*" 200 .*containerd' "$nginx_log" && fail "ctr fetched a token itself"
grep -q "\"GET /v2/test/image/blobs/$LAYER_DIGEST HTTP/1.1\" 200 " "$nginx_log" ||
  fail "the layer did not come from the token registry with the mirror's token"

# Refusals are OCI errors with an access line; the admin endpoints share the port.
status=$(curl -s -o "$WORK/refused.json" -w '%{http_code}' \
  "http://127.0.0.1:$PROXY_PORT/v2/test/image/manifests/v1?ns=a%2Fb")
[ "$status" = 400 ] || fail "a bad ns got $status"
grep -q '"errors":\[{"code":"UNSUPPORTED"' "$WORK/refused.json" || fail "no OCI error: $(cat "$WORK/refused.json")"
grep -q 'path="/v2/test/image/manifests/v1?ns=a%2Fb" status=400 .*note="mirror refused' "$ACCESS_LOG" ||
  fail "no access line for the refusal"
curl -fsS "http://127.0.0.1:$PROXY_PORT/metrics" | grep '^regcache_' >/dev/null || fail "/metrics does not answer"
[ "$(curl -fsS "http://127.0.0.1:$PROXY_PORT/healthz")" = ok ] || fail "/healthz does not answer"

log "stopping regcache"
stop_proxy
before=$(registry_blob_gets "$log_a" test/image)
fetch fallback "$ref_a" || fail "with regcache stopped, ctr did not fetch: $(tail -n 3 "$WORK/ctr.log")"
[ "$(registry_blob_gets "$log_a" test/image)" -gt "$before" ] ||
  fail "the fallback fetch did not come from the registry"
log "PASS"
