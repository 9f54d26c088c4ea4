#!/usr/bin/env bash
# A fleet of three regcache processes (own data dirs and indexes) sharing one bucket on a real
# RGW, in front of a real docker-registry over TLS. Host A pulls an image: each blob comes from
# upstream once, and A uploads it to the bucket. Hosts B and C then pull it with 0 upstream blob
# GETs: only HEADs (each host's access check) and the token/ping traffic. With RGW stopped, pulls
# through A, B and C still succeed (from their local tiers).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fleet_lib.sh"
BUCKET=regcache-fleet

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 2048
push_image "$WORK/pki" "$REG_PORT" test/image:v1
start_rgw
for m in a b c; do
  start_member "$m" --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"
done
registry="registry.test:$REG_PORT"

before=$(blob_gets test/image)
member_pull a "$registry" test/image:v1 || fail "pull through A failed: $(tail -n 3 "$WORK/skopeo.log")"
check_layer a
from_a=$(($(blob_gets test/image) - before))
[ "$from_a" = 2 ] || fail "A fetched $from_a blobs upstream (want 2: the config and the layer, once each)"
for _ in $(seq 1 100); do [ "$(bucket_status "$LAYER_DIGEST")" = 200 ] && break; sleep 0.1; done
[ "$(bucket_status "$LAYER_DIGEST")" = 200 ] || fail "the layer never reached the bucket"

for m in b c; do
  member_pull "$m" "$registry" test/image:v1 || fail "pull through $m failed: $(tail -n 3 "$WORK/skopeo.log")"
  check_layer "$m"
  grep -q "path=\"/v2/test/image/blobs/$LAYER_DIGEST\".*cache=BUCKET" "$WORK/access-$m.log" ||
    fail "member $m did not serve the layer from the bucket"
done
after=$(($(blob_gets test/image) - before))
[ "$after" = 2 ] || fail "B and C made $((after - 2)) upstream blob GETs (want 0)"
heads=$(grep -c "\"HEAD /v2/test/image/blobs/$LAYER_DIGEST " "$REG_LOG" || true)
[ "$heads" -ge 2 ] || fail "B and C served the layer without upstream's HEAD ($heads HEADs)"
log "A fetched 2 blobs; B and C: 0 upstream blob GETs, $heads layer HEADs"

log "stopping RGW"
RGW_DIR="$RGW_DIR" "$REPO/tests/ceph/rgw-down.sh" >/dev/null 2>&1 || fail "rgw-down failed"
for m in a b c; do
  member_pull "$m" "$registry" test/image:v1 || fail "pull through $m with RGW down failed: $(tail -n 3 "$WORK/skopeo.log")"
  check_layer "$m"
done
curl -fsS "http://127.0.0.1:${MEMBER_PORT[b]}/metrics" | grep -q '^regcache_bucket_hits_total [1-9]' ||
  fail "B's /metrics counts no bucket hit"
log "OK: a fleet shares one bucket; 0 upstream blob GETs for B and C; pulls go on with RGW down"
