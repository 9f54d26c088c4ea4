#!/usr/bin/env bash
# A registry that works the way Docker Hub does: nginx in front of a TLS docker-registry answers
# 401 with a Bearer challenge unless a request carries a token, and its realm (/token) hands a
# fresh token to anyone: an anonymous one, or, with Basic credentials, an account's token, which
# alone opens /v2/private/. Every client pulls "with credentials", so only the proxy's own probe
# (a HEAD without credentials, then with an anonymous token) can tell that test/image is public.
# Then the registry goes down: a new anonymous client still pulls test/image from the cache, and
# private/image, cached by the account holder, is refused to it (--offline-auth deny).
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
registry_pid=$LAST_PID
make_image 512
push_image "$WORK/pki" "$REG_PORT" test/image:v1
push_image "$WORK/pki" "$REG_PORT" private/image:v1

challenge() { # SCOPE
  echo "add_header WWW-Authenticate 'Bearer realm=\"https://\$http_host/token\",service=\"registry.test\",scope=\"$1\"' always; return 401;"
}
# shellcheck disable=SC2016 # nginx variables, expanded by nginx
NGINX_HTTP_EXTRA='
  map $http_authorization $token_kind { default anonymous; "~^Basic " account; }
  map $http_authorization $access { default none; "~^Bearer account-" account; "~^Bearer " anonymous; }'
NGINX_LOCATIONS="
  location = /token {
    default_type application/json;
    return 200 '{\"token\": \"\$token_kind-\$request_id\", \"expires_in\": 300}';
  }
  location /v2/private/ {
    if (\$access != account) { $(challenge repository:private/image:pull) }
    proxy_pass https://127.0.0.1:$REG_PORT;
  }
  location /v2/ {
    if (\$access = none) { $(challenge repository:test/image:pull) }
    proxy_pass https://127.0.0.1:$REG_PORT;
  }"
start_nginx_proxy "$WORK/pki" "$REG_PORT"
upstream="registry.test:$NGINX_TLS_PORT"
# The account: nginx gives "account-" tokens to anyone sending Basic credentials.
account=operator:secret

direct_status() { # PATH [CURL ARGS...]
  local path="$1"; shift
  curl -sS -I -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$WORK/pki/ca.crt" \
    --resolve "$upstream:127.0.0.1" "$@" "https://$upstream$path" || true
}
[ "$(direct_status /v2/test/image/manifests/v1)" = 401 ] || fail "upstream serves without a token"
[ "$(direct_status /v2/private/image/manifests/v1 -H 'Authorization: Bearer anonymous-x')" = 401 ] ||
  fail "upstream serves private/image with an anonymous token"

start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"

pull() { # REF NAME [SKOPEO ARGS...]
  log "pull $1 ($2)"
  skopeo_pull "$upstream" "$@"
}

pull test/image:v1 first || fail "the first pull of test/image failed"
pull private/image:v1 account --src-creds "$account" || fail "the account's pull of private/image failed"
grep -q '"GET /token?[^"]*" 200 .*"skopeo/' "$NGINX_PREFIX/logs/access.log" ||
  fail "skopeo never fetched a token: the registry did not behave like Docker Hub"
grep -q 'path="/v2/test/image/blobs/'"$LAYER_DIGEST"'" status=200 .*note="cache MISS, stored"' "$ACCESS_LOG" ||
  fail "the layer was not cached"

# The probes run in the background after the fills.
for _ in $(seq 1 100); do
  grep -q "test/image is public" "$PROXY_LOG" && break
  sleep 0.1
done
grep -q "registry.test:$NGINX_TLS_PORT/test/image is public (readable with an anonymous token)" "$PROXY_LOG" ||
  fail "the proxy did not find test/image public"
grep -q '"GET /token?[^"]*" 200 .*"regcache"$' "$NGINX_PREFIX/logs/access.log" ||
  fail "the probe did not fetch an anonymous token"
grep -q "private/image is public" "$PROXY_LOG" && fail "the proxy took private/image for public"

log "stopping the registry and nginx"
kill "$NGINX_PID" "$registry_pid"
wait "$NGINX_PID" "$registry_pid" 2>/dev/null || true


pull test/image:v1 outage || fail "an anonymous pull of public content failed during the outage"
cmp -s "$WORK/out-outage/blobs/sha256/${LAYER_DIGEST#sha256:}" "$IMAGE_DIR/blobs/sha256/${LAYER_DIGEST#sha256:}" ||
  fail "the layer pulled during the outage differs"
grep -q 'path="/v2/" status=200 .*(ping answered by the proxy)' "$ACCESS_LOG" ||
  fail "the proxy did not answer the ping during the outage"
pull private/image:v1 outage-private && fail "an anonymous client got private/image during the outage"
log "PASS"
