#!/usr/bin/env bash
# The cache: a second pull by tag through the proxy (within --tag-ttl) fetches no blob and no
# manifest from upstream; cache ls, /v2/_catalog and cache verify see what was stored; pulls by
# tag and by digest still succeed with the registry stopped; a blob damaged on disk is caught.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
registry_pid=$LAST_PID
make_image 512
push_image "$WORK/pki" "$REG_PORT" test/image:v1
digest="sha256:$(direct_digest "$WORK/pki" "$REG_PORT" test/image:v1)"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"

pull() { skopeo_pull "registry.test:$REG_PORT" "$1" "$2"; } # REF NAME
blob_gets() { grep -c '"GET /v2/test/image/blobs/sha256:' "$REG_LOG" || true; }
manifest_gets() { grep -c '"GET /v2/test/image/manifests/' "$REG_LOG" || true; }

pull "test/image:v1" cold || fail "cold pull failed"
cold_blobs=$(blob_gets)
cold_manifests=$(manifest_gets)
[ "$cold_blobs" -ge 2 ] || fail "the cold pull fetched $cold_blobs blobs from upstream"
pull "test/image:v1" warm || fail "warm pull failed"
warm_blobs=$(( $(blob_gets) - cold_blobs ))
warm_manifests=$(( $(manifest_gets) - cold_manifests ))
log "upstream GETs: cold $cold_blobs blobs + $cold_manifests manifests, warm $warm_blobs + $warm_manifests"
[ "$warm_blobs" = 0 ] || fail "the warm pull fetched $warm_blobs blobs from upstream"
[ "$warm_manifests" = 0 ] || fail "the warm pull fetched $warm_manifests manifests from upstream"
grep -q 'note="cache HIT"' "$ACCESS_LOG" || fail "no cache hit in the access log"
cmp -s "$WORK/out-warm/blobs/sha256/${LAYER_DIGEST#sha256:}" "$IMAGE_DIR/blobs/sha256/${LAYER_DIGEST#sha256:}" ||
  fail "the cached layer differs from the pushed one"

"$REGCACHE" cache ls --data-dir "$WORK/proxy-data" >"$WORK/cache-ls.txt" || fail "cache ls failed"
grep -q "registry.test:$REG_PORT/test/image:v1  $digest" "$WORK/cache-ls.txt" ||
  fail "cache ls does not list the tag: $(cat "$WORK/cache-ls.txt")"
curl -fsS "http://127.0.0.1:$PROXY_PORT/v2/_catalog" | grep -q "\"registry.test:$REG_PORT/test/image\"" ||
  fail "GET /v2/_catalog does not list the repository"

"$REGCACHE" cache verify --data-dir "$WORK/proxy-data" >"$WORK/verify.txt" 2>&1 ||
  fail "cache verify found corruption: $(cat "$WORK/verify.txt")"
grep -q " 0 corrupt" "$WORK/verify.txt" || fail "cache verify said: $(cat "$WORK/verify.txt")"

log "stopping the upstream registry"
kill "$registry_pid"; wait "$registry_pid" 2>/dev/null || true
pull "test/image@$digest" offline-digest || fail "pull by digest with upstream stopped failed"
pull "test/image:v1" offline-tag || fail "pull by tag with upstream stopped failed"

# A blob damaged on disk is found, named and removed by cache verify.
# The layer, so that the image's manifest survives for cache rm below.
victim="$WORK/proxy-data/blobs/sha256/${LAYER_DIGEST:7:2}/${LAYER_DIGEST#sha256:}"
printf 'garbage' >>"$victim"
"$REGCACHE" cache verify --data-dir "$WORK/proxy-data" >"$WORK/verify2.txt" 2>&1 && fail "cache verify missed a damaged blob"
grep -q "corrupt: sha256:$(basename "$victim")" "$WORK/verify2.txt" || fail "cache verify did not name the damaged blob"
[ -e "$victim" ] && fail "cache verify left the damaged blob"

# The proxy saves its counters when it stops: cache stats then shows the warm pull's hits.
kill -TERM "$PROXY_PID"
proxy_status=0
wait "$PROXY_PID" || proxy_status=$?
PROXY_PID=
[ "$proxy_status" = 0 ] || fail "regcache exited with status $proxy_status"
"$REGCACHE" cache stats --data-dir "$WORK/proxy-data" >"$WORK/stats.txt" || fail "cache stats failed"
log "cache stats: $(tr '\n' ';' <"$WORK/stats.txt")"
grep -Eq "^requests from cache: [1-9][0-9]* of [1-9]" "$WORK/stats.txt" || fail "cache stats shows no hits"
grep -Eq "^bytes from cache: +[1-9]" "$WORK/stats.txt" || fail "cache stats shows no bytes from cache"

# Purging the image takes its manifest, config and layer with it.
"$REGCACHE" cache rm --data-dir "$WORK/proxy-data" "registry.test:$REG_PORT/test/image:v1" \
  >"$WORK/rm.txt" || fail "cache rm failed: $(cat "$WORK/rm.txt")"
log "cache rm: $(cat "$WORK/rm.txt")"
"$REGCACHE" cache ls --data-dir "$WORK/proxy-data" | grep -q "test/image" && fail "cache rm left the tag"
left=$(find "$WORK/proxy-data/blobs/sha256" -type f | wc -l)
[ "$left" = 0 ] || fail "cache rm left $left blob file(s)"
"$REGCACHE" cache rm --data-dir "$WORK/proxy-data" "registry.test:$REG_PORT/test/image:v1" >/dev/null &&
  fail "a second cache rm of the same image claimed to remove something"
"$REGCACHE" cache gc --data-dir "$WORK/proxy-data" >"$WORK/gc.txt" || fail "cache gc failed"
log "PASS"
