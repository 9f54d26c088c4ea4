#!/usr/bin/env bash
# serve --user: started as root, regcache becomes an unprivileged user once listening, owns its
# data dir, and still caches a pull. Needs root and the user "nobody".
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "--user needs the test to run as root"
nobody_uid=$(id -u nobody 2>/dev/null) || skip "no user nobody"
make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 256
push_image "$WORK/pki" "$REG_PORT" test/image:v1
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt" --user nobody

uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$PROXY_PID/status")
[ "$uids" = "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" ] ||
  fail "regcache runs with uids $uids, not nobody's ($nobody_uid)"
grep -q "^CapEff:[[:space:]]*0*$" "/proc/$PROXY_PID/status" || fail "regcache kept capabilities"
through_proxy timeout 120 skopeo --insecure-policy copy --quiet --src-cert-dir "$PROXY_CERT_DIR" \
  "docker://registry.test:$REG_PORT/test/image:v1" "oci:$WORK/pulled:v1" >"$WORK/skopeo.log" 2>&1 ||
  fail "a pull through the unprivileged proxy failed"
owner=$(stat -c %u "$WORK/proxy-data/blobs/sha256/${LAYER_DIGEST:7:2}/${LAYER_DIGEST#sha256:}" 2>/dev/null) ||
  fail "the layer was not cached"
[ "$owner" = "$nobody_uid" ] || fail "the cached layer belongs to uid $owner"
[ "$(stat -c %u "$WORK/proxy-data/ca")" = "$nobody_uid" ] || fail "the CA directory was not handed over"
log "PASS"
