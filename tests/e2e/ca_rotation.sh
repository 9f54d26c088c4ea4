#!/usr/bin/env bash
# `regcache ca rotate`, run from another process, while skopeo pulls through a running proxy:
# pulls keep working across the switch for a client holding the old bundle (old root only) and
# for one holding the new bundle; a download in flight across the switch completes; the proxy is
# never restarted. Then an emergency rotation (--now) distrusts the old root at once.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 64
push_image "$WORK/pki" "$REG_PORT" test/image:v1
mkdir -p "$WORK/www"
head -c $((40 << 20)) /dev/urandom >"$WORK/www/slow.bin"
start_nginx "$WORK/pki" "$WORK/www"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt" --leaf-validity 1h
cp "$PROXY_BUNDLE" "$WORK/old-bundle.pem"
[ "$(grep -c 'BEGIN CERTIFICATE' "$WORK/old-bundle.pem")" = 1 ] || fail "expected one root at start"

pull_with() { # BUNDLE NAME: pull through the proxy trusting only BUNDLE
  local certs="$WORK/certs-$2"
  mkdir -p "$certs"
  cp "$1" "$certs/ca.crt"
  rm -rf "$WORK/out-$2"
  env HTTPS_PROXY="http://127.0.0.1:$PROXY_PORT" NO_PROXY= SSL_CERT_FILE="$1" SSL_CERT_DIR="$WORK/none" \
    timeout 60 skopeo --insecure-policy copy --quiet --src-cert-dir "$certs" \
    "docker://registry.test:$REG_PORT/test/image:v1" "oci:$WORK/out-$2:v1" >>"$WORK/skopeo.log" 2>&1
}
issuer_now() {
  timeout 10 openssl s_client -proxy "127.0.0.1:$PROXY_PORT" -connect "registry.test:$REG_PORT" \
    -servername registry.test </dev/null 2>/dev/null | openssl x509 -noout -issuer
}

pull_with "$WORK/old-bundle.pem" before || fail "pull before the rotation failed"

# A slow download that spans the switch must not be dropped.
timeout 120 curl -sS --proxy "http://127.0.0.1:$PROXY_PORT" --cacert "$WORK/old-bundle.pem" --limit-rate 4M \
  "https://registry.test:$NGINX_TLS_PORT/slow.bin" -o "$WORK/slow.out" &
slow_pid=$!

log "rotating from another process (overlap 4s)"
"$REGCACHE" ca rotate --data-dir "$WORK/proxy-data" --overlap 4s --leaf-validity 1h >"$WORK/rotate.log" 2>&1 ||
  fail "ca rotate failed: $(cat "$WORK/rotate.log")"

# The new root is published at once: the running proxy serves a two-root bundle.
for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$PROXY_PORT/ca.crt" -o "$WORK/new-bundle.pem"
  [ "$(grep -c 'BEGIN CERTIFICATE' "$WORK/new-bundle.pem")" = 2 ] && break
  sleep 0.2
done
[ "$(grep -c 'BEGIN CERTIFICATE' "$WORK/new-bundle.pem")" = 2 ] || fail "the new root was not published"
issuer_now | grep -q "G1" || fail "leaves switched before the overlap ended"
pull_with "$WORK/old-bundle.pem" overlap-old || fail "old-bundle pull during the overlap failed"
pull_with "$WORK/new-bundle.pem" overlap-new || fail "new-bundle pull during the overlap failed"

# After the overlap the proxy signs with the new root, without a restart.
for _ in $(seq 1 60); do
  issuer_now | grep -q "G2" && break
  sleep 0.25
done
issuer_now | grep -q "G2" || fail "leaves never switched to the new root"
grep -q "CA changed" "$PROXY_LOG" || fail "no log line for the switch"
pull_with "$WORK/old-bundle.pem" after-old || fail "old-root-only pull after the switch failed"
pull_with "$WORK/new-bundle.pem" after-new || fail "new-bundle pull after the switch failed"
openssl x509 -in "$WORK/new-bundle.pem" -out "$WORK/new-root-only.pem" # the first: the newest
pull_with "$WORK/new-root-only.pem" after-newroot || fail "new-root-only pull after the switch failed"

wait "$slow_pid" || fail "the download in flight across the switch failed"
cmp -s "$WORK/slow.out" "$WORK/www/slow.bin" || fail "the download across the switch was corrupted"
kill -0 "$PROXY_PID" || fail "the proxy is gone"

log "emergency rotation"
"$REGCACHE" ca rotate --data-dir "$WORK/proxy-data" --now >>"$WORK/rotate.log" 2>&1 || fail "ca rotate --now failed"
for _ in $(seq 1 60); do
  issuer_now | grep -q "G3" && break
  sleep 0.25
done
issuer_now | grep -q "G3" || fail "the emergency rotation did not take effect"
curl -fsS "http://127.0.0.1:$PROXY_PORT/ca.crt" -o "$WORK/emergency-bundle.pem"
grep -c 'BEGIN CERTIFICATE' "$WORK/emergency-bundle.pem" | grep -qx 1 ||
  fail "after --now the bundle should hold only the new root"
pull_with "$WORK/emergency-bundle.pem" emergency || fail "pull with the post-emergency bundle failed"
pull_with "$WORK/new-bundle.pem" distrusted && fail "a client trusting only the compromised roots still pulled"
log "PASS"
