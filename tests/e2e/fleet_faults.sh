#!/usr/bin/env bash
# The fleet's bucket (a real RGW) failing under a fleet of two regcache processes:
# - RGW killed (SIGKILL by PID) while A's multipart upload of a 200 MB layer is under way: the
#   pull through A succeeds, the bucket holds no object for that digest, and the next fill (B's,
#   once RGW is back) completes it;
# - the object overwritten with wrong bytes in the bucket: a pull through a host without the
#   layer is cut off, the object is removed, and the next pull is right.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fleet_lib.sh"
BUCKET=regcache-faults
layer_mib=200

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
log "building an image with a $layer_mib MiB layer"
make_image $((layer_mib * 1024))
push_image "$WORK/pki" "$REG_PORT" test/image:v1
start_rgw
registry="registry.test:$REG_PORT"
for m in a b; do
  start_member "$m" --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt" \
    --store-timeout 1s
done

log "pulling through A; RGW is killed once A's upload is under way"
spawn "$WORK/pull-a.log" env HTTPS_PROXY="http://127.0.0.1:${MEMBER_PORT[a]}" NO_PROXY= \
  timeout 150 skopeo --insecure-policy copy --quiet --src-cert-dir "${MEMBER_CERTS[a]}" \
  "docker://$registry/test/image:v1" "oci:$WORK/out-a:v1"
pull=$LAST_PID
rgw_pid=$(cat "$RGW_DIR/run/rgw.pid")
killed=""
for _ in $(seq 1 300); do
  # The upload streams beside the fill: once A's fill holds 48 MiB (three 16 MiB parts), its
  # multipart upload is under way and far from complete.
  filled=$(find "$WORK/data-a/tmp" -name 'fill-*' -size +48M 2>/dev/null | head -n 1)
  if [ -n "$filled" ]; then
    kill -KILL "$rgw_pid" && killed=1
    break
  fi
  sleep 0.02
done
[ -n "$killed" ] || fail "A's fill was never seen under way"
wait "$pull" || fail "the pull through A failed with RGW killed: $(tail -n 3 "$WORK/pull-a.log")"
check_layer a
grep -qE "bucket upload of $LAYER_DIGEST (abandoned|not completed|failed)" "$WORK/proxy-a.log" ||
  fail "A did not log the failed upload"

log "restarting radosgw on the same cluster (the mon and the OSD kept running)"
setsid radosgw -n client.rgw.a -f -c "$RGW_DIR/ceph.conf" >"$RGW_DIR/log/rgw-again.out" 2>&1 </dev/null &
echo $! >"$RGW_DIR/run/rgw.pid" # rgw-down.sh stops this one at exit
for _ in $(seq 1 300); do curl -sf --max-time 2 "$S3_ENDPOINT/" >/dev/null && break; sleep 0.1; done
curl -sf --max-time 5 "$S3_ENDPOINT/" >/dev/null || fail "radosgw did not come back"
status=$(bucket_status "$LAYER_DIGEST")
[ "$status" = 404 ] || fail "the bucket holds an object for the layer whose upload was killed ($status)"

log "B pulls (no local copy, nothing in the bucket): its fill completes the upload"
member_pull b "$registry" test/image:v1 || fail "pull through B failed: $(tail -n 3 "$WORK/skopeo.log")"
check_layer b
for _ in $(seq 1 300); do [ "$(bucket_status "$LAYER_DIGEST")" = 200 ] && break; sleep 0.1; done
[ "$(bucket_status "$LAYER_DIGEST")" = 200 ] || fail "B's fill did not complete the upload"

log "overwriting the bucket's layer with as many wrong bytes"
size=$(stat -c %s "$WORK/out-b/blobs/sha256/${LAYER_DIGEST#sha256:}")
head -c "$size" /dev/zero >"$WORK/wrong.bin"
s3_curl -T "$WORK/wrong.bin" "$S3_ENDPOINT/$BUCKET/fleet/blobs/sha256/${LAYER_DIGEST#sha256:}" -o /dev/null ||
  fail "cannot overwrite the object"
rm -f "$WORK/wrong.bin"
start_member c --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"
before=$(blob_gets test/image)
# skopeo may fail, or retry (then from upstream, the object being gone): either is right, as long
# as no wrong byte ends up in a complete layer.
member_pull c "$registry" test/image:v1 --retry-times 2 || log "the pull through C failed, as it may"
grep -q "BUCKET OBJECT CORRUPT: $LAYER_DIGEST" "$WORK/proxy-c.log" ||
  fail "C did not detect the wrong bytes"
member_pull c "$registry" test/image:v1 || fail "the next pull through C failed: $(tail -n 3 "$WORK/skopeo.log")"
check_layer c
# The object is gone, or holds the right bytes again (C's own fill uploaded it).
status=$(bucket_status "$LAYER_DIGEST")
if [ "$status" = 200 ]; then
  got=$(s3_curl "$S3_ENDPOINT/$BUCKET/fleet/blobs/sha256/${LAYER_DIGEST#sha256:}" | sha256sum | cut -d' ' -f1)
  [ "sha256:$got" = "$LAYER_DIGEST" ] || fail "the bucket still holds wrong bytes"
fi
log "OK: a killed upload leaves nothing and the next fill completes it; wrong bytes are cut off and removed"
