#!/usr/bin/env bash
# serve --user: started as root, regcache becomes an unprivileged user once listening, owns its
# data dir, and still caches a pull. It opens the index and sweeps tmp/ only as that user, and
# never through a link planted in the data dir. Needs root and the user "nobody".
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "--user needs the test to run as root"
nobody_uid=$(id -u nobody 2>/dev/null) || skip "no user nobody"
make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 256
push_image "$WORK/pki" "$REG_PORT" test/image:v1

stop_proxy() {
  kill -TERM "$PROXY_PID"
  wait "$PROXY_PID" || fail "regcache did not exit cleanly"
  PROXY_PID=""
}

# The data dir belongs to the unprivileged user, who may plant links in it. The index is opened
# and tmp/ swept only once regcache runs as that user, so a link never makes root write or
# delete outside the data dir. Trap 1: cache.db links to a file to create in a root-only dir.
data="$WORK/proxy-data"
mkdir -p "$data" "$WORK/root-only"
chmod 755 "$WORK/root-only"
ln -s "$WORK/root-only/created-by-root.db" "$data/cache.db"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt" --user nobody
[ -e "$WORK/root-only/created-by-root.db" ] &&
  fail "the index was opened as root, through a link planted in the data dir"
grep -q "the cache is unavailable" "$PROXY_LOG" || fail "regcache did not say the cache is off"
stop_proxy
rm "$data/cache.db"
mv "$PROXY_LOG" "$WORK/proxy-trap-index.log"

# Trap 2: tmp/ links to a root-only directory, whose files the start-up sweep must not delete.
mkdir -p "$WORK/root-only/dir"
echo "root's file" >"$WORK/root-only/dir/victim"
rm -rf "$data/tmp"
ln -s "$WORK/root-only/dir" "$data/tmp"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt" --user nobody
[ -f "$WORK/root-only/dir/victim" ] || fail "the tmp/ sweep followed a link and deleted root's file"
grep -q "the cache is unavailable" "$PROXY_LOG" || fail "regcache did not refuse a linked tmp/"
stop_proxy
rm "$data/tmp"
mv "$PROXY_LOG" "$WORK/proxy-trap-tmp.log"

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
for path in cache.db cache.db-wal tmp lock; do
  [ "$(stat -c %u "$data/$path")" = "$nobody_uid" ] || fail "$path belongs to uid $(stat -c %u "$data/$path")"
done
log "PASS"
