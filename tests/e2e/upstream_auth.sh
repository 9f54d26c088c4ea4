#!/usr/bin/env bash
# --upstream-auth: a client without credentials pulls from a registry that requires an account,
# because the proxy answers the registry's challenge with the operator's. The registry's log names
# that account; no log of the proxy holds the password. An accounts file others can read is
# refused at start-up.
source "$(dirname "$0")/lib.sh"

command -v htpasswd >/dev/null || skip "htpasswd (apache2-utils) is not installed"
password="e2e-$RANDOM-s3cret"
htpasswd -Bbn ci "$password" >"$WORK/htpasswd"
make_pki "$WORK/pki" registry.test
start_dns registry.test
REGISTRY_HTPASSWD="$WORK/htpasswd" start_registry "$WORK/pki"
make_image 256
push_image "$WORK/pki" "$REG_PORT" private/app:v1 "ci:$password"

accounts="$WORK/accounts.toml"
printf '["registry.test:%s"]\nusername = "ci"\npassword = "%s"\n' "$REG_PORT" "$password" >"$accounts"
chmod 644 "$accounts"
if timeout 20 "$REGCACHE" serve --listen "127.0.0.1:$(free_port)" --data-dir "$WORK/refused-data" \
  --upstream-auth "$accounts" >"$WORK/refused.log" 2>&1; then
  fail "regcache started with a world-readable accounts file"
fi
grep -q "chmod 600" "$WORK/refused.log" || fail "the refusal does not say how to fix it: $(cat "$WORK/refused.log")"
chmod 600 "$accounts"

start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt" --upstream-auth "$accounts"
log "pulling without credentials through the proxy"
through_proxy timeout 120 skopeo --insecure-policy copy --quiet --src-cert-dir "$PROXY_CERT_DIR" \
  "docker://registry.test:$REG_PORT/private/app:v1" "oci:$WORK/pulled:v1" >"$WORK/skopeo.log" 2>&1 ||
  fail "an anonymous pull with the operator's account failed"
cmp -s "$WORK/pulled/blobs/sha256/${LAYER_DIGEST#sha256:}" "$IMAGE_DIR/blobs/sha256/${LAYER_DIGEST#sha256:}" ||
  fail "layer bytes differ"
grep -q 'auth.user.name="\?ci' "$REG_LOG" || fail "the registry's log does not name the operator's account"
basic=$(printf 'ci:%s' "$password" | base64 -w0)
for f in "$PROXY_LOG" "$ACCESS_LOG"; do
  if grep -qF -e "$password" -e "$basic" "$f"; then fail "$(basename "$f") holds the password"; fi
done

# Without the proxy's account, the same anonymous pull is refused by the registry.
rm -rf "$WORK/direct-certs" && mkdir -p "$WORK/direct-certs" && cp "$WORK/pki/ca.crt" "$WORK/direct-certs/"
if timeout 60 skopeo --insecure-policy inspect --raw --cert-dir "$WORK/direct-certs" \
  "docker://127.0.0.1:$REG_PORT/private/app:v1" >/dev/null 2>&1; then
  fail "the registry serves anonymous clients: the test shows nothing"
fi
log "PASS"
