#!/usr/bin/env bash
# --cache-max-size: three images with a 30 MiB layer each are pulled in turn into a 70 MiB cache.
# Eviction removes the least recently used layer (the first image's), keeps the newest, brings
# the blobs on disk under the limit, and the first image still pulls (fetched upstream again).
source "$(dirname "$0")/lib.sh"

limit_mib=70
make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
layers=()
for i in 1 2 3; do
  make_image $((30 * 1024))
  push_image "$WORK/pki" "$REG_PORT" "test/image$i:v1"
  layers+=("$LAYER_DIGEST")
done
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt" \
  --cache-max-size "${limit_mib}MiB"
data="$WORK/proxy-data"

pull() { skopeo_pull "registry.test:$REG_PORT" "test/image$1:v1" "$2"; } # IMAGE_NUMBER NAME
blob_file() { local hex=${1#sha256:}; echo "$data/blobs/sha256/${hex:0:2}/$hex"; }
layer_gets() { grep -c "\"GET /v2/test/image$1/blobs/${layers[$(($1 - 1))]} " "$REG_LOG" || true; }
blob_bytes() { find "$data/blobs" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
evictions() { grep -c 'evicted [1-9][0-9]* blob' "$PROXY_LOG" || true; }

for i in 1 2 3; do
  pull "$i" "first-$i" || fail "pull of image $i failed"
  [ -f "$(blob_file "${layers[$((i - 1))]}")" ] || fail "image $i's layer was not cached"
  # Two layers fit: nothing may be evicted before the third pull passes the limit.
  if [ "$i" = 2 ] && [ "$(evictions)" != 0 ]; then fail "eviction ran before the cache passed its limit"; fi
  # The index keeps last use in whole seconds: a gap of two makes the LRU order unambiguous.
  [ "$i" = 3 ] || sleep 2
done

# Eviction runs every 10 s; give it two rounds.
log "cache at $(($(blob_bytes) >> 20)) MiB on disk, limit $limit_mib MiB: waiting for eviction"
for _ in $(seq 1 250); do
  [ "$(evictions)" -ge 1 ] && break
  sleep 0.1
done
[ "$(evictions)" -ge 1 ] || fail "no eviction within 25 s"
grep 'evicted [1-9][0-9]* blob' "$PROXY_LOG" | head -n 1 >&2

[ -e "$(blob_file "${layers[0]}")" ] && fail "the least recently used layer (image 1's) was not evicted"
[ -f "$(blob_file "${layers[1]}")" ] || fail "image 2's layer was evicted although image 1's sufficed"
[ -f "$(blob_file "${layers[2]}")" ] || fail "the newest layer (image 3's) was evicted"
bytes=$(blob_bytes)
log "blobs on disk after eviction: $bytes bytes ($((bytes >> 20)) MiB)"
[ "$bytes" -le $((limit_mib << 20)) ] || fail "blobs on disk ($bytes bytes) exceed the limit"
"$REGCACHE" cache stats --data-dir "$data" >"$WORK/stats.txt" 2>&1 || fail "cache stats failed"
indexed=$(awk '/^bytes stored:/ {print $3}' "$WORK/stats.txt")
log "the index counts $indexed bytes"
[ "${indexed:-0}" -gt 0 ] || fail "cache stats said: $(cat "$WORK/stats.txt")"
[ "$indexed" -le $((limit_mib << 20)) ] || fail "the index counts $indexed bytes, over the limit"

[ "$(layer_gets 1)" = 1 ] || fail "image 1's layer was fetched $(layer_gets 1) times before the re-pull"
pull 1 again || fail "pull of image 1 after its eviction failed"
cmp -s "$WORK/out-again/blobs/sha256/${layers[0]#sha256:}" "$(blob_file "${layers[0]}")" ||
  fail "image 1's layer was not cached again"
log "upstream GETs of image 1's layer: $(layer_gets 1)"
[ "$(layer_gets 1)" = 2 ] || fail "image 1's layer was fetched $(layer_gets 1) times upstream, expected 2"
log "PASS"
