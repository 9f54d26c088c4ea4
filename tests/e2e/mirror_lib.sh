# Helpers for the mirror endpoint's e2e tests (sourced after lib.sh).
#
# Docker Hub has no ns: dockerd's registry-mirrors and a registries.conf mirror for docker.io send
# regcache plain /v2/<name>/... requests, which go to registry-1.docker.io:443. start_hub stands
# a TLS docker-registry in for it on port 443 of a loopback address of its own, with a
# certificate for registry-1.docker.io (and registry.test) from a test CA. regcache finds it with
# --dns-server (dnsmasq); clients find it with in_hosts_ns, which runs them in a mount namespace
# whose /etc/hosts names it, so the host's /etc/hosts is never touched.

# Waits until ADDR:PORT accepts connections (at most 10 s).
wait_addr_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  fail "nothing listens on $1:$2"
}

# Sets HUB_ADDR, HUB_PKI, HUB_LOG, HUB_PID and HOSTS_FILE.
start_hub() {
  HUB_PKI="$WORK/hub-pki"
  make_pki "$HUB_PKI" registry-1.docker.io registry.test
  local attempt
  for attempt in 1 2 3 4 5; do
    HUB_ADDR="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))"
    ss -Htan "src = $HUB_ADDR" | grep -q . || break
  done
  HUB_LOG="$WORK/hub.log"
  mkdir -p "$WORK/hub-data"
  cat >"$WORK/hub.yml" <<YAML
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $WORK/hub-data
http:
  addr: $HUB_ADDR:443
  tls:
    certificate: $HUB_PKI/server.crt
    key: $HUB_PKI/server.key
YAML
  spawn "$HUB_LOG" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin docker-registry serve "$WORK/hub.yml"
  HUB_PID=$LAST_PID
  wait_addr_port "$HUB_ADDR" 443
  HOSTS_FILE="$WORK/hosts"
  printf '127.0.0.1 localhost\n::1 localhost\n%s registry-1.docker.io registry.test\n' "$HUB_ADDR" \
    >"$HOSTS_FILE"
}

# Runs CMD... in a new mount namespace whose /etc/hosts is HOSTS_FILE (the process keeps this
# shell's PID through the execs, so spawn can record it).
in_hosts_ns() {
  unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$HOSTS_FILE" "$@"
}

# Pushes IMAGE_DIR to the stand-in Docker Hub as REPO:TAG, directly.
push_hub_image() {
  local certs="$WORK/hub-certs"
  mkdir -p "$certs"
  cp "$HUB_PKI/ca.crt" "$certs/ca.crt"
  in_hosts_ns timeout 60 skopeo --insecure-policy copy --quiet --format v2s2 --dest-cert-dir "$certs" \
    "oci:$IMAGE_DIR:v1" "docker://registry-1.docker.io/$1" >"$WORK/push.log" 2>&1 ||
    fail "direct push of $1 to the stand-in Docker Hub failed: $(tail -n 3 "$WORK/push.log")"
}

# Upstream GETs of REPO's blobs in a docker-registry log. Usage: registry_blob_gets LOG REPO
registry_blob_gets() { grep -c "\"GET /v2/$2/blobs/sha256:" "$1" || true; }

# Stops the proxy (SIGTERM) and waits for it; the cleanup then finds nothing left to stop.
stop_proxy() {
  kill -TERM "$PROXY_PID"
  local status=0
  wait "$PROXY_PID" || status=$?
  [ "$status" = 0 ] || fail "regcache exited with status $status"
  ! (exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT") 2>/dev/null || fail "the proxy port still answers"
}
