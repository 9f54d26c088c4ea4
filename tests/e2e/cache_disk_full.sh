#!/usr/bin/env bash
# The cache's disk fills up in the middle of a fill: the pull still succeeds (the proxy passes
# the blob through and says so in its log), nothing partial is kept, and the proxy stays up.
# The data dir is a 3 MiB tmpfs, the layer 6 MiB of random bytes. Needs root for the mount.
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "mounting a small tmpfs needs root"
mkdir -p "$WORK/proxy-data"
mount -t tmpfs -o size=3m regcache-e2e "$WORK/proxy-data" || skip "cannot mount a tmpfs here"
EXIT_HOOKS+=("umount '$WORK/proxy-data'")

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 6144
push_image "$WORK/pki" "$REG_PORT" test/image:v1
# A limit above the disk's size: the fill must start and meet the full disk, not be declined up
# front because it does not fit under the limit (the default is half the filesystem).
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt" \
  --cache-max-size 64MiB

pull() { # NAME
  through_proxy timeout 120 skopeo --insecure-policy copy --quiet --src-cert-dir "$PROXY_CERT_DIR" \
    "docker://registry.test:$REG_PORT/test/image:v1" "oci:$WORK/out-$1:v1" >>"$WORK/skopeo.log" 2>&1
}
for attempt in 1 2; do
  pull "$attempt" || fail "pull $attempt failed with the cache disk full"
  cmp -s "$WORK/out-$attempt/blobs/sha256/${LAYER_DIGEST#sha256:}" \
    "$IMAGE_DIR/blobs/sha256/${LAYER_DIGEST#sha256:}" || fail "pull $attempt got a wrong layer"
done
grep -q "fill of $LAYER_DIGEST abandoned" "$PROXY_LOG" || fail "the proxy did not log the failed fill"
[ -z "$(ls -A "$WORK/proxy-data/tmp")" ] || fail "a partial fill was left in tmp/"
[ ! -e "$WORK/proxy-data/blobs/sha256/${LAYER_DIGEST:7:2}/${LAYER_DIGEST#sha256:}" ] ||
  fail "the layer was stored although it never fit"
kill -0 "$PROXY_PID" || fail "the proxy died"
"$REGCACHE" cache verify --data-dir "$WORK/proxy-data" >"$WORK/verify.txt" 2>&1 ||
  fail "cache verify found corruption: $(cat "$WORK/verify.txt")"
log "PASS"
