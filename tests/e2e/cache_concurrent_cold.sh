#!/usr/bin/env bash
# Eight skopeo pulls of one image with a large layer start together against a cold cache: all
# succeed with the right layer, and the upstream registry serves that layer exactly once (the
# first request fills the cache, the others follow the fill in flight).
source "$(dirname "$0")/lib.sh"

clients=8
# Large enough that the fill lasts while every client asks for the layer. The ASan+UBSan build
# runs this in about 30 s, so it needs no smaller size.
layer_mib=200

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
log "building an image with a $layer_mib MiB layer"
make_image $((layer_mib * 1024))
push_image "$WORK/pki" "$REG_PORT" test/image:v1
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"

log "starting $clients pulls at once"
pull_pids=()
for i in $(seq 1 "$clients"); do
  spawn "$WORK/skopeo-$i.log" through_proxy timeout 150 skopeo --insecure-policy copy --quiet \
    --src-cert-dir "$PROXY_CERT_DIR" "docker://registry.test:$REG_PORT/test/image:v1" "oci:$WORK/out-$i:v1"
  pull_pids+=("$LAST_PID")
done
failed=0
for i in $(seq 1 "$clients"); do
  wait "${pull_pids[$((i - 1))]}" || { log "pull $i failed: $(tail -n 3 "$WORK/skopeo-$i.log")"; failed=$((failed + 1)); }
done
[ "$failed" = 0 ] || fail "$failed of $clients concurrent pulls failed"

hex=${LAYER_DIGEST#sha256:}
for i in $(seq 1 "$clients"); do
  got=$(sha256sum "$WORK/out-$i/blobs/sha256/$hex" 2>/dev/null | cut -d' ' -f1 || true)
  [ "$got" = "$hex" ] || fail "pull $i has a wrong or missing layer (sha256 ${got:-none})"
done

layer_gets=$(grep -c "\"GET /v2/test/image/blobs/$LAYER_DIGEST " "$REG_LOG" || true)
followers=$(grep "path=\"/v2/test/image/blobs/$LAYER_DIGEST\"" "$ACCESS_LOG" | grep -c 'joined a fill in flight' || true)
hits=$(grep "path=\"/v2/test/image/blobs/$LAYER_DIGEST\"" "$ACCESS_LOG" | grep -c 'cache HIT' || true)
log "upstream GETs of the layer: $layer_gets; proxy: $followers followed the fill, $hits hit the cache"
[ "$layer_gets" = 1 ] || fail "the registry served the layer $layer_gets times, expected once"
# Without at least one follower the pulls did not overlap and the check above proves nothing.
[ "$followers" -ge 1 ] || fail "no pull joined the fill in flight: the pulls did not overlap"
log "PASS"
