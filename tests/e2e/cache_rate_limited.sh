#!/usr/bin/env bash
# An upstream that rate-limits manifest GETs (nginx limit_req answering 429, the way Docker Hub
# limits pulls), then one whose manifest GETs fail with 503: once --tag-ttl has passed the proxy
# asks upstream for the tag again, and on 429 or 503 serves the cached manifest (STALE), so the
# pull by tag succeeds with every blob from the cache.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 512
push_image "$WORK/pki" "$REG_PORT" test/image:v1

# Only manifest GETs are limited, as on Docker Hub; /v2/ and blobs pass. The burst lets the
# first pull through whatever number of manifest GETs it makes; the test spends the rest itself.
# shellcheck disable=SC2016 # nginx variables, expanded by nginx
# No keep-alive: after a reload the proxy must meet the new configuration, not an old worker.
NGINX_HTTP_EXTRA='limit_req_zone $binary_remote_addr zone=manifests:1m rate=1r/m; limit_req_status 429; keepalive_timeout 0;'
manifest_location() { # DIRECTIVES
  echo "location ~ ^/v2/.+/manifests/ { $1 }"
}
NGINX_LOCATIONS=$(manifest_location "limit_req zone=manifests burst=5 nodelay; proxy_pass https://127.0.0.1:$REG_PORT;")
start_nginx_proxy "$WORK/pki" "$REG_PORT"
upstream="registry.test:$NGINX_TLS_PORT"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt" --tag-ttl 1s

pull() { skopeo_pull "$upstream" test/image:v1 "$1"; } # NAME
# A manifest GET straight to nginx, without the proxy: prints the status.
direct_manifest_status() {
  curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$WORK/pki/ca.crt" \
    --resolve "$upstream:127.0.0.1" -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "https://$upstream/v2/test/image/manifests/v1" || true
}
# The proxy checks an expired tag with a HEAD; a GET follows only if the digest changed.
nginx_manifest_lines() { grep -Ec '"(GET|HEAD) /v2/test/image/manifests/v1 ' "$NGINX_PREFIX/logs/access.log" || true; }
blob_gets() { grep -c '"GET /v2/test/image/blobs/' "$REG_LOG" || true; }
check_layer() { # NAME
  cmp -s "$WORK/out-$1/blobs/sha256/${LAYER_DIGEST#sha256:}" "$IMAGE_DIR/blobs/sha256/${LAYER_DIGEST#sha256:}" ||
    fail "the $1 pull's layer differs from the pushed one"
}
# A pull by tag after --tag-ttl has passed, with upstream answering STATUS to manifest GETs.
stale_pull() { # NAME STATUS
  local name="$1" status="$2" asked_before blobs_before asked
  asked_before=$(nginx_manifest_lines)
  blobs_before=$(blob_gets)
  sleep 1.5 # past --tag-ttl: the proxy must ask upstream for the tag again
  pull "$name" || fail "the pull by tag with upstream answering $status failed"
  check_layer "$name"
  asked=$(($(nginx_manifest_lines) - asked_before))
  [ "$asked" -ge 1 ] || fail "the proxy did not ask upstream for the tag after --tag-ttl"
  # The proxy passes the client's User-Agent on: this is nginx refusing the proxy, not curl.
  grep -Eq "\"(GET|HEAD) /v2/test/image/manifests/v1 HTTP/1.1\" $status .*\"skopeo/" "$NGINX_PREFIX/logs/access.log" ||
    fail "nginx never answered $status to the proxy"
  grep -q "path=\"/v2/test/image/manifests/v1\" status=200 .*note=\"cache STALE: upstream answered $status\"" "$ACCESS_LOG" ||
    fail "the proxy did not serve the tag as STALE after a $status"
  [ "$(blob_gets)" = "$blobs_before" ] || fail "the pull with upstream answering $status fetched blobs upstream"
  log "upstream answered $status: $asked manifest GET(s) reached nginx, tag served STALE, no blob fetched"
}

# After a reload, nginx's old workers finish what they hold: wait until three answers in a row
# come from the new configuration.
wait_for_503() {
  local streak=0
  for _ in $(seq 1 100); do
    if [ "$(direct_manifest_status)" = 503 ]; then streak=$((streak + 1)); else streak=0; fi
    [ "$streak" -ge 3 ] && return 0
    sleep 0.1
  done
  fail "nginx did not switch to 503"
}

pull warm || fail "the first pull failed"
check_layer warm
grep -q 'note="cache MISS, stored"' "$ACCESS_LOG" || fail "the first pull stored nothing"

# Spend the rest of the burst so that the next manifest GET is refused.
status=""
for _ in $(seq 1 20); do
  status=$(direct_manifest_status)
  [ "$status" = 429 ] && break
done
[ "$status" = 429 ] || fail "nginx never rate-limited manifest GETs (last status: $status)"
stale_pull limited 429

# Second phase: the manifest route fails outright.
NGINX_LOCATIONS=$(manifest_location "return 503;")
reload_nginx_proxy
wait_for_503
stale_pull failing 503

# Third phase: the registry is down behind its front server, which answers 503 to everything,
# the clients' /v2/ ping included. The proxy answers the ping itself and serves from the cache.
NGINX_LOCATIONS='location ~ ^/ { return 503; }'
reload_nginx_proxy
wait_for_503
sleep 1.5 # past --tag-ttl
pull down || fail "the pull with every upstream path answering 503 failed"
check_layer down
grep -q 'path="/v2/" status=200 .*(ping answered by the proxy)' "$ACCESS_LOG" ||
  fail "the proxy did not answer the /v2/ ping itself"
log "PASS"
