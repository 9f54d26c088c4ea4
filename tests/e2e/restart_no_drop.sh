#!/usr/bin/env bash
# Restarts that drop nothing: a launcher holds the listening socket and passes it to
# `regcache serve` the way a systemd socket unit does (LISTEN_FDS, LISTEN_PID), restarting it
# whenever it exits. 20 skopeo pulls in a row, while regcache is restarted (SIGTERM, as
# `systemctl restart` sends) three times, all succeed.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 256
push_image "$WORK/pki" "$REG_PORT" test/image:v1

PROXY_PORT=$(free_port)
PROXY_LOG="$WORK/proxy.log"
CHILD_PIDFILE="$WORK/regcache.pid"
# No --listen: with inherited sockets it is ignored, so the default port is never bound.
spawn "$PROXY_LOG" python3 "$REPO/tests/e2e/socket_launcher.py" "$CHILD_PIDFILE" \
  "127.0.0.1:$PROXY_PORT" "$REGCACHE" serve --data-dir "$WORK/proxy-data" --workers 2 \
  --log-level debug --access-log "$WORK/access.log" --allow-target 127.0.0.0/8 \
  --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt" --drain-timeout 20s
PROXY_PID=$LAST_PID
wait_port "$PROXY_PORT"
PROXY_BUNDLE="$WORK/proxy-roots.pem"
timeout 10 curl -fsS "http://127.0.0.1:$PROXY_PORT/ca.crt" -o "$PROXY_BUNDLE" || fail "GET /ca.crt failed"
PROXY_CERT_DIR="$WORK/proxy-certs"
mkdir -p "$PROXY_CERT_DIR"
cp "$PROXY_BUNDLE" "$PROXY_CERT_DIR/ca.crt"
grep -q "accepting on 1 inherited socket" "$PROXY_LOG" || fail "regcache did not take the inherited socket"

# Restarts in the background, while the pulls run: SIGTERM to the running regcache, then wait
# (bounded) until the launcher has started the next one.
restart_loop() {
  local old new
  for _ in 1 2 3; do
    sleep 1.5
    old=$(cat "$CHILD_PIDFILE")
    kill -TERM "$old"
    for _ in $(seq 1 100); do
      new=$(cat "$CHILD_PIDFILE")
      [ "$new" != "$old" ] && break
      sleep 0.1
    done
    echo "restarted: $old -> $new" >>"$WORK/restarts.log"
  done
}
restart_loop &
RESTARTER=$!
PIDS+=($RESTARTER)

failed=0
for i in $(seq 1 20); do
  if ! skopeo_pull "registry.test:$REG_PORT" test/image:v1 "pull$i"; then
    failed=$((failed + 1))
    log "pull $i failed"
  fi
  # Keep the pulls going until the restarts are done, so every restart meets a pull.
  if [ "$i" = 20 ] && kill -0 "$RESTARTER" 2>/dev/null; then wait "$RESTARTER" || true; fi
done
wait "$RESTARTER" 2>/dev/null || true
restarts=$(grep -c "child exited" "$PROXY_LOG" || true)
log "$failed of 20 pulls failed across $restarts restart(s)"
[ "$restarts" -ge 3 ] || fail "regcache was restarted $restarts times, expected 3"
grep -q "drained in" "$PROXY_LOG" || fail "no drain was logged"
[ "$failed" = 0 ] || { tail -n 30 "$WORK/skopeo.log" >&2; fail "$failed pull(s) failed across restarts"; }
for i in 1 20; do
  cmp -s "$WORK/out-pull$i/blobs/sha256/${LAYER_DIGEST#sha256:}" \
    "$IMAGE_DIR/blobs/sha256/${LAYER_DIGEST#sha256:}" || fail "pull $i has the wrong layer"
done
# The last restart's regcache must be serving before the cleanup stops it: a SIGTERM that lands
# while it is still starting (slow under ASan) kills it before its handler is set.
curl -fsS --max-time 30 "http://127.0.0.1:$PROXY_PORT/healthz" >/dev/null ||
  fail "the last restarted regcache does not answer /healthz"
log "PASS"
