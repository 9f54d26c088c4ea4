#!/usr/bin/env bash
# Hostile clients: for 40 s, 200 slow-loris connections send a request head one byte a second and
# 50 connections at a time send 64 KiB of random bytes, over and over. Meanwhile skopeo pulls an
# image with a 32 MiB layer through the proxy: it succeeds with the right layer. The slow clients
# get 408 at --header-timeout (30 s), the random senders 400 or a close, none is left hanging;
# the proxy's peak RSS stays under 200 MiB and it is still serving at the end.
source "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is not installed"

LORIS=200
GARBAGE=50
ATTACK_SECONDS=40

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 32768
push_image "$WORK/pki" "$REG_PORT" test/image:v1
# ASan keeps freed memory in a quarantine; keep it small so RSS reflects live buffers.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=16:malloc_context_size=4"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"
before=$(peak_rss_kib "$PROXY_PID")

# The attackers. Each mode runs COUNT threads until the deadline and writes "key value" lines.
# loris: opens a connection, sends one byte of a never-ending request head per second, reads
#   what comes back; when the proxy answers or closes, it records that and connects again.
# garbage: connects, sends 64 KiB from urandom, waits up to 10 s for an answer or a close.
cat >"$WORK/attack.py" <<'PY'
import os, select, socket, sys, threading, time

mode, port, count, seconds, report = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
deadline = time.monotonic() + seconds
lock = threading.Lock()
stats = {"connections": 0, "connect_errors": 0, "closed_silently": 0, "unanswered": 0, "open_at_end": 0}

def bump(key):
    with lock:
        stats[key] = stats.get(key, 0) + 1

def answer(sock, wait):
    """Reads until EOF or `wait` seconds: (status code or None, whether the peer closed)."""
    data, closed, end = b"", False, time.monotonic() + wait
    sock.setblocking(False)
    while len(data) < 4096 and time.monotonic() < end:
        ready, _, _ = select.select([sock], [], [], max(0.0, end - time.monotonic()))
        if not ready:
            break
        try:
            chunk = sock.recv(4096)
        except BlockingIOError:
            continue
        except OSError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
    parts = data.split(b"\r\n", 1)[0].split()
    status = parts[1].decode() if len(parts) > 1 and parts[0].startswith(b"HTTP/") else None
    return status, closed

def record(status, closed):
    if status:
        bump("status_" + status)
    elif closed:
        bump("closed_silently")
    else:
        bump("unanswered")

def connect():
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        bump("connections")
        return sock
    except OSError:
        bump("connect_errors")
        time.sleep(1)
        return None

def loris():
    head = b"GET http://registry.test/v2/ HTTP/1.1\r\nHost: registry.test\r\nX-Slow: " + b"z" * 100000
    while time.monotonic() < deadline:
        sock = connect()
        if sock is None:
            continue
        try:
            for i in range(len(head)):
                if time.monotonic() >= deadline:
                    bump("open_at_end")
                    break
                ready, _, _ = select.select([sock], [], [], 1.0)
                if ready:
                    record(*answer(sock, 5))
                    break
                sock.sendall(head[i:i + 1])
        except OSError:
            record(*answer(sock, 2))
        finally:
            sock.close()

def garbage():
    while time.monotonic() < deadline:
        sock = connect()
        if sock is None:
            continue
        try:
            try:
                sock.sendall(os.urandom(65536))
            except OSError:
                pass  # the proxy stopped reading: its answer may still be there
            record(*answer(sock, 10))
        finally:
            sock.close()
        time.sleep(0.05)

threads = [threading.Thread(target=loris if mode == "loris" else garbage) for _ in range(count)]
for t in threads:
    t.start()
for t in threads:
    t.join()
with open(report + ".tmp", "w") as out:
    for key, value in sorted(stats.items()):
        out.write("%s %d\n" % (key, value))
os.rename(report + ".tmp", report)
PY

log "attacking the proxy for $ATTACK_SECONDS s: $LORIS slow-loris and $GARBAGE random-bytes connections"
spawn "$WORK/loris.log" timeout $((ATTACK_SECONDS + 30)) python3 "$WORK/attack.py" loris "$PROXY_PORT" \
  "$LORIS" "$ATTACK_SECONDS" "$WORK/loris.report"
spawn "$WORK/garbage.log" timeout $((ATTACK_SECONDS + 30)) python3 "$WORK/attack.py" garbage "$PROXY_PORT" \
  "$GARBAGE" "$ATTACK_SECONDS" "$WORK/garbage.report"
attack_start=$SECONDS
sleep 3

log "pulling through the proxy under attack"
pull_start=$SECONDS
through_proxy timeout 90 skopeo --insecure-policy copy --quiet --src-cert-dir "$PROXY_CERT_DIR" \
  "docker://registry.test:$REG_PORT/test/image:v1" "oci:$WORK/pulled:v1" >"$WORK/skopeo.log" 2>&1 ||
  fail "skopeo copy through the proxy failed under attack"
pull_seconds=$((SECONDS - pull_start))
log "pull took $pull_seconds s"
[ $((SECONDS - attack_start)) -lt "$ATTACK_SECONDS" ] || fail "the pull did not finish while the attack ran"
cmp -s "$WORK/pulled/blobs/sha256/${LAYER_DIGEST#sha256:}" "$IMAGE_DIR/blobs/sha256/${LAYER_DIGEST#sha256:}" ||
  fail "layer bytes differ"
grep -q "path=\"/v2/test/image/blobs/$LAYER_DIGEST\" status=200" "$ACCESS_LOG" || fail "no 200 for the layer in the access log"

# The attackers stop by themselves at the deadline (and write their reports).
for _ in $(seq 1 $(((ATTACK_SECONDS + 30) * 2))); do
  [ -f "$WORK/loris.report" ] && [ -f "$WORK/garbage.report" ] && break
  sleep 0.5
done
[ -f "$WORK/loris.report" ] && [ -f "$WORK/garbage.report" ] || fail "the attackers did not finish"
kill -0 "$PROXY_PID" 2>/dev/null || fail "the proxy died under attack"
log "slow loris: $(tr '\n' ' ' <"$WORK/loris.report")"
log "random bytes: $(tr '\n' ' ' <"$WORK/garbage.report")"
stat_of() { awk -v k="$2" '$1 == k {print $2; found=1} END {if (!found) print 0}' "$WORK/$1.report"; }

# Every slow-loris connection got in, and each one opened in the first 10 s was answered 408 at
# the header timeout; none hung past it (those still open at the end were opened later).
[ "$(stat_of loris connect_errors)" = 0 ] || fail "slow-loris connections were refused"
[ "$(stat_of loris connections)" -ge "$LORIS" ] || fail "only $(stat_of loris connections) slow-loris connections"
[ "$(stat_of loris status_408)" -ge "$LORIS" ] || fail "only $(stat_of loris status_408) of $LORIS slow-loris connections got 408"
[ "$(stat_of loris unanswered)" = 0 ] || fail "$(stat_of loris unanswered) slow-loris connections left hanging"
# Random bytes: answered (4xx) or closed, never left hanging.
garbage_total=$(stat_of garbage connections)
garbage_4xx=$(awk '$1 ~ /^status_4/ {n += $2} END {print n + 0}' "$WORK/garbage.report")
[ "$(stat_of garbage connect_errors)" = 0 ] || fail "random-bytes connections were refused"
[ "$garbage_total" -ge $((GARBAGE * 2)) ] || fail "only $garbage_total random-bytes connections in $ATTACK_SECONDS s"
[ "$(stat_of garbage unanswered)" = 0 ] || fail "$(stat_of garbage unanswered) random-bytes connections left hanging"
[ $((garbage_4xx * 10)) -ge $((garbage_total * 9)) ] ||
  fail "only $garbage_4xx of $garbage_total random-bytes connections got a 4xx answer"
awk '$1 ~ /^status_[^4]/ {bad = 1} END {exit bad}' "$WORK/garbage.report" ||
  fail "random bytes got a non-4xx answer: $(tr '\n' ' ' <"$WORK/garbage.report")"

# The proxy's own log names both kinds of bad client.
timeouts=$(grep -c "request header timeout from 127.0.0.1" "$PROXY_LOG" || true)
bad=$(grep -c "bad request from 127.0.0.1" "$PROXY_LOG" || true)
log "proxy log: $timeouts header timeouts, $bad bad requests"
[ "$timeouts" -ge "$LORIS" ] || fail "the proxy logged $timeouts header timeouts"
[ "$bad" -ge "$garbage_4xx" ] || fail "the proxy logged $bad bad requests, clients saw $garbage_4xx"

# Still serving.
curl -fsS -o /dev/null "http://127.0.0.1:$PROXY_PORT/ca.crt" || fail "the proxy stopped answering after the attack"

peak=$(peak_rss_kib "$PROXY_PID")
log "proxy peak RSS: $((peak / 1024)) MiB (at start $((before / 1024)) MiB)"
if [ -n "${REGCACHE_SANITIZED:-}" ]; then
  # ASan's shadow memory and allocator already take ~80 MiB at start: bound the growth instead.
  [ $((peak - before)) -lt $((200 * 1024)) ] ||
    fail "proxy RSS grew by $(((peak - before) / 1024)) MiB under ASan"
else
  [ "$peak" -lt $((200 * 1024)) ] || fail "proxy peak RSS $((peak / 1024)) MiB is not under 200 MiB"
fi
log "PASS"
