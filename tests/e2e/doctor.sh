#!/usr/bin/env bash
# `regcache doctor` inside a "VM" whose files are the test's own (flags point at them):
# - a client whose system store lacks regcache's CA: exit 1, the trust check and the manifest
#   HEAD fail, and the fix names `regcache ca install --bundle-url .../ca.crt --fingerprint`;
# - the same client after the bundle is added: every check passes, exit 0, and --json says so;
# - NO_PROXY listing the registry: exit 1, naming NO_PROXY;
# - regcache stopped: exit 1, naming the proxy and how to start it.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 64
push_image "$WORK/pki" "$REG_PORT" test/image:v1
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"
proxy_url="http://127.0.0.1:$PROXY_PORT"

# The VM's files: a set-up as client-config prints it, and a system store without regcache.
vm="$WORK/vm"
mkdir -p "$vm/certs.d/docker.io" "$vm/gate"
"$REGCACHE" client-config --proxy "$proxy_url" --client daemon-json >"$vm/daemon.json"
"$REGCACHE" client-config --proxy "$proxy_url" --client containerd-hosts >"$vm/certs.d/docker.io/hosts.toml"
"$REGCACHE" client-config --proxy "$proxy_url" --client buildkitd >"$vm/buildkitd.toml"
cp "$WORK/pki/ca.crt" "$vm/system.pem"
doctor() {
  env -u SSL_CERT_FILE "$REGCACHE" doctor --proxy "$proxy_url" --image "registry.test:$REG_PORT/test/image:v1" \
    --registry docker.io,registry.test --system-bundle "$vm/system.pem" --daemon-json "$vm/daemon.json" \
    --hosts-dir "$vm/certs.d" --buildkitd-toml "$vm/buildkitd.toml" --gate-dir "$vm/gate" \
    --no-systemctl "$@"
}

log "a VM that does not trust the CA"
status=0
doctor >"$WORK/doctor-untrusted.txt" || status=$?
cat "$WORK/doctor-untrusted.txt" >&2
[ "$status" = 1 ] || fail "doctor exited $status for an untrusted CA, expected 1"
grep -q "^FAIL  CA trusted by the system store" "$WORK/doctor-untrusted.txt" || fail "the trust problem is not named"
grep -q "fix: regcache ca install --bundle-url $proxy_url/ca.crt --fingerprint " "$WORK/doctor-untrusted.txt" ||
  fail "the fix is not given"
grep -q "^FAIL  manifest HEAD through the proxy: TLS verification failed" "$WORK/doctor-untrusted.txt" ||
  fail "the manifest HEAD did not fail on TLS"

log "the same VM with the bundle in its store"
cat "$PROXY_BUNDLE" >>"$vm/system.pem"
status=0
doctor >"$WORK/doctor-good.txt" || status=$?
cat "$WORK/doctor-good.txt" >&2
[ "$status" = 0 ] || fail "doctor exited $status for a correct set-up"
! grep -q "^FAIL" "$WORK/doctor-good.txt" || fail "a check failed on a correct set-up"
for name in "proxy healthy" "clock" "CA trusted by the system store" "manifest HEAD through the proxy" \
  "docker uses regcache" "containerd uses regcache" "buildkit uses regcache" "NO_PROXY"; do
  grep -q "^ok    $name" "$WORK/doctor-good.txt" || fail "check '$name' did not pass"
done
doctor --json | python3 -c 'import json, sys; r = json.load(sys.stdin); assert r["ok"] is True, r' ||
  fail "--json does not report ok"

log "NO_PROXY excluding the registry"
status=0
NO_PROXY=localhost,.test doctor >"$WORK/doctor-noproxy.txt" || status=$?
[ "$status" = 1 ] || fail "doctor exited $status with NO_PROXY=.test"
grep -q "^FAIL  NO_PROXY: bypasses the proxy for registry.test" "$WORK/doctor-noproxy.txt" ||
  fail "NO_PROXY is not named: $(cat "$WORK/doctor-noproxy.txt")"

log "regcache stopped"
kill -TERM "$PROXY_PID"
wait "$PROXY_PID" || fail "regcache did not exit cleanly"
PROXY_PID=
status=0
doctor --json >"$WORK/doctor-down.json" || status=$?
[ "$status" = 1 ] || fail "doctor exited $status with regcache stopped"
python3 - "$WORK/doctor-down.json" <<'PY' || fail "--json does not name the dead proxy"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ok"] is False
first = r["checks"][0]
assert first["name"] == "proxy healthy" and first["outcome"] == "fail", first
assert "regcache.socket" in first["fix"], first
PY
log "PASS"
