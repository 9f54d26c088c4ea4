#!/usr/bin/env bash
# Pushes through the proxy: without --read-only a skopeo push lands in the upstream registry
# untouched; with it the proxy answers the push with 405 and the OCI error UNSUPPORTED, and the
# registry never sees a write.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 128

push_through_proxy() { # REPO:TAG
  through_proxy timeout 60 skopeo --insecure-policy copy --quiet --format v2s2 \
    --dest-cert-dir "$PROXY_CERT_DIR" "oci:$IMAGE_DIR:v1" "docker://registry.test:$REG_PORT/$1" \
    >>"$WORK/push.log" 2>&1
}

start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"
push_through_proxy pushed/app:v1 || fail "a push through the proxy failed"
pushed=$(direct_digest "$WORK/pki" "$REG_PORT" pushed/app:v1)
[ -n "$pushed" ] || fail "the pushed image is not in the registry"
kill -TERM "$PROXY_PID"
wait "$PROXY_PID" || fail "regcache did not exit cleanly"
PROXY_PID=

start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt" --read-only
writes_before=$(grep -Ec '"(POST|PUT|PATCH) /v2/' "$REG_LOG" || true)
push_through_proxy refused/app:v1 && fail "a push succeeded through a --read-only proxy"
grep -Eq 'method=(POST|PUT|PATCH) .*status=405 .*note="refused: --read-only"' "$ACCESS_LOG" ||
  fail "the proxy did not answer the push with 405"
grep -qi "unsupported: regcache is read-only" "$WORK/push.log" || fail "skopeo did not see the UNSUPPORTED error: $(tail -3 "$WORK/push.log")"
[ "$(grep -Ec '"(POST|PUT|PATCH) /v2/' "$REG_LOG" || true)" = "$writes_before" ] ||
  fail "the registry saw a write through the --read-only proxy"
# Pulls still work.
through_proxy timeout 60 skopeo --insecure-policy copy --quiet --src-cert-dir "$PROXY_CERT_DIR" \
  "docker://registry.test:$REG_PORT/pushed/app:v1" "oci:$WORK/pulled:v1" >"$WORK/pull.log" 2>&1 ||
  fail "a pull through the --read-only proxy failed"
log "PASS"
