#!/usr/bin/env bash
# `regcache client-config` output, loaded by the real tools:
# - containerd's ctr with --hosts-dir set to the generated hosts.toml: it asks regcache first
#   (origin-form /v2/...?ns=, in regcache's access log) and fetches the image (from regcache's
#   mirror, or from `server` where regcache has no mirror answer: the fallback);
# - the generated containerd config.toml (version 2) passes `containerd config dump`;
# - dockerd started with the generated daemon.json reports the mirror in `docker info`;
# - skopeo with the generated registries.conf tries the mirror first for docker.io;
# - buildkitd.toml: `buildkitd --config` when installed, else python3's tomllib and the shape;
# - the gate drop-ins pass `systemd-analyze verify` on a unit that uses them.
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "containerd and dockerd need root"
command -v containerd >/dev/null || skip "containerd is not installed"

make_pki "$WORK/pki" registry.test
start_registry "$WORK/pki"
make_image 64
push_image "$WORK/pki" "$REG_PORT" test/image:v1
start_proxy --upstream-ca "$WORK/pki/ca.crt"
proxy_url="http://127.0.0.1:$PROXY_PORT"
cc() { "$REGCACHE" client-config --proxy "$proxy_url" "$@"; }

log "containerd: hosts.toml through ctr --hosts-dir"
registry="127.0.0.1:$REG_PORT"
mkdir -p "$WORK/certs.d/$registry"
cc --registry "$registry" --client containerd-hosts >"$WORK/certs.d/$registry/hosts.toml"
grep -q "^server = \"https://$registry\"" "$WORK/certs.d/$registry/hosts.toml" || fail "hosts.toml lacks server"
sock="$WORK/containerd.sock"
cat >"$WORK/containerd.toml" <<TOML
version = 2
root = "$WORK/containerd-root"
state = "$WORK/containerd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
TOML
# ctr resolves and fetches itself; it trusts the test registry through SSL_CERT_FILE, as a VM trusts a
# real registry through its system store.
spawn "$WORK/containerd.log" containerd --config "$WORK/containerd.toml"
for _ in $(seq 1 100); do
  ctr --address "$sock" version >/dev/null 2>&1 && break
  kill -0 "$LAST_PID" 2>/dev/null || fail "containerd exited"
  sleep 0.1
done
SSL_CERT_FILE="$WORK/pki/ca.crt" timeout 60 ctr --address "$sock" content fetch --hosts-dir "$WORK/certs.d" "$registry/test/image:v1" \
  >"$WORK/ctr.log" 2>&1 || fail "ctr fetch with the generated hosts.toml failed: $(tail -n 3 "$WORK/ctr.log")"
grep -q "ns=127.0.0.1" "$ACCESS_LOG" || grep -q "ns=127.0.0.1" "$PROXY_LOG" ||
  fail "ctr did not ask regcache (the [host]) first"
# Into a file first: grep -q closing the pipe early would fail ctr (and the pipeline) with SIGPIPE.
ctr --address "$sock" content ls >"$WORK/content.txt"
grep -q "$LAYER_DIGEST" "$WORK/content.txt" || fail "containerd does not hold the layer"

log "containerd: config.toml"
cc --client containerd-config >"$WORK/generated-containerd.toml"
containerd --config "$WORK/generated-containerd.toml" config dump >"$WORK/dump.toml" 2>&1 ||
  fail "containerd rejects the generated config: $(tail -n 3 "$WORK/dump.toml")"
grep -q 'config_path = "/etc/containerd/certs.d"' "$WORK/dump.toml" || fail "containerd did not take config_path"

log "dockerd: daemon.json"
if command -v dockerd >/dev/null; then
  cc --client daemon-json >"$WORK/daemon.json"
  spawn "$WORK/dockerd.log" dockerd --config-file "$WORK/daemon.json" --iptables=false \
    --ip6tables=false --bridge=none --storage-driver=vfs --data-root "$WORK/docker-data" \
    --exec-root "$WORK/docker-exec" -H "unix://$WORK/docker.sock" --pidfile "$WORK/docker.pid"
  for _ in $(seq 1 150); do
    docker -H "unix://$WORK/docker.sock" info >/dev/null 2>&1 && break
    kill -0 "$LAST_PID" 2>/dev/null || fail "dockerd rejected the generated daemon.json"
    sleep 0.2
  done
  docker -H "unix://$WORK/docker.sock" info --format '{{json .RegistryConfig.Mirrors}}' >"$WORK/mirrors.json"
  grep -q "$proxy_url" "$WORK/mirrors.json" || fail "dockerd does not list the mirror: $(cat "$WORK/mirrors.json")"
fi

log "skopeo: registries.conf"
cc --registry docker.io,ghcr.io --client registries-conf >"$WORK/registries.conf"
timeout 60 skopeo --registries-conf "$WORK/registries.conf" --debug inspect --raw \
  docker://docker.io/library/alpine:latest >"$WORK/skopeo-conf.log" 2>&1 || true
grep -qi "error loading registries|registries configuration.*: toml|invalid.*registries" "$WORK/skopeo-conf.log" &&
  fail "skopeo cannot load the registries.conf"
grep -qF "Trying to access \\\"127.0.0.1:$PROXY_PORT/library/alpine:latest\\\"" "$WORK/skopeo-conf.log" ||
  fail "skopeo did not try the mirror first: $(grep -i trying "$WORK/skopeo-conf.log" | head -3)"

log "buildkitd: buildkitd.toml"
cc --registry docker.io,ghcr.io --client buildkitd >"$WORK/buildkitd.toml"
if command -v buildkitd >/dev/null; then
  timeout 10 buildkitd --config "$WORK/buildkitd.toml" --help >/dev/null || fail "buildkitd rejects the config"
fi
python3 - "$WORK/buildkitd.toml" "127.0.0.1:$PROXY_PORT" <<'PY' || fail "buildkitd.toml has the wrong shape"
import sys, tomllib
conf = tomllib.load(open(sys.argv[1], "rb"))
mirror = sys.argv[2]
assert conf["registry"]["docker.io"]["mirrors"] == [mirror]
assert conf["registry"]["ghcr.io"]["mirrors"] == [mirror]
assert conf["registry"][mirror]["http"] is True
PY

log "systemd drop-ins"
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$WORK/units/fake-docker.service.d"
  printf '[Unit]\nDescription=stand-in\n[Service]\nExecStart=/bin/true\n' >"$WORK/units/fake-docker.service"
  cc --gate "$REPO/dist/regcache-proxy-gate" --client docker-dropin \
    >"$WORK/units/fake-docker.service.d/regcache-proxy.conf"
  SYSTEMD_UNIT_PATH="$WORK/units:" systemd-analyze verify "$WORK/units/fake-docker.service" \
    >"$WORK/verify.log" 2>&1 || fail "systemd-analyze rejects the drop-in: $(cat "$WORK/verify.log")"
  # The gate itself: healthy regcache sets the proxy; a dead port leaves it out within ~1 s.
  "$REPO/dist/regcache-proxy-gate" "$WORK/gate.env" "$proxy_url" >/dev/null
  grep -qx "HTTPS_PROXY=$proxy_url" "$WORK/gate.env" || fail "the gate did not set the proxy"
  start=$(date +%s)
  "$REPO/dist/regcache-proxy-gate" "$WORK/gate.env" "http://127.0.0.1:$(free_port)" 2>/dev/null
  ! grep -q PROXY= "$WORK/gate.env" || fail "the gate set a dead proxy"
  [ $(($(date +%s) - start)) -le 3 ] || fail "the gate took more than 3 s"
fi
log "PASS"
