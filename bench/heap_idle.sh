#!/usr/bin/env bash
# Where the memory of idle intercepted keep-alive connections goes (workload 7): regcache runs
# under heaptrack (Debian's heaptrack), N clients each open CONNECT + TLS, fetch one cached
# manifest and stay idle; then regcache is stopped and heaptrack's peak consumers are printed,
# with RSS per connection measured in a second run without heaptrack (which adds its own).
#
# Usage: bench/heap_idle.sh [CONNECTIONS] [--build DIR] [--rss-only] [-- SERVE FLAGS...]
#   CONNECTIONS default 10000 (the fd limit is raised); --rss-only skips the heaptrack run.
#   Flags after `--` go to `regcache serve`, e.g. `-- --max-idle-connections 0` to measure
#   without the idle bound (the default bound, 4096, closes the longest-idle connections).
# Writes the report to bench/results/heap-idle-<date>-<commit>.txt.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
conns=10000
build="$root/build/release"
rss_only=0
serve_flags=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$(realpath "$2")"; shift ;;
    --rss-only) rss_only=1 ;;
    --) shift; serve_flags=("$@"); break ;;
    [0-9]*) conns="$1" ;;
    *) echo "usage: bench/heap_idle.sh [CONNECTIONS] [--build DIR] [--rss-only] [-- SERVE FLAGS...]" >&2; exit 2 ;;
  esac
  shift
done
if [ $rss_only = 0 ]; then
  command -v heaptrack >/dev/null || { echo "bench/heap_idle.sh needs heaptrack" >&2; exit 2; }
fi
LOADGEN="$build/bench/regcache-loadgen"
source "$root/tests/e2e/lib.sh" "$build/app/regcache"
source "$here/lib.sh"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
report="$here/results/heap-idle-$(date -u +%Y-%m-%dT%H%M)-$commit.txt"

make_pki "$WORK/pki" registry.test >/dev/null
start_dns registry.test
start_registry "$WORK/pki"
small_digest=$(push_small_manifest bench/small v1 "$WORK/small")
small_path="/v2/bench/small/manifests/$small_digest"
oci_accept="Accept: application/vnd.oci.image.manifest.v1+json"

# One idle batch against the running proxy: prints "RSS_BEFORE_KIB RSS_HELD_KIB OPENED FDS",
# FDS being the descriptors the proxy holds while the batch idles.
idle_batch() {
  local before held opened pid fds
  before=$(rss_kib "$PROXY_PID")
  rm -f "$WORK/idle-ready"
  "$LOADGEN" --proxy "127.0.0.1:$PROXY_PORT" --target "registry.test:$REG_PORT" \
    --cafile "$PROXY_BUNDLE" --mode idle --path "$small_path" --header "$oci_accept" \
    --connections "$conns" --max-requests "$conns" --duration 600 --hold 120 \
    --ready-file "$WORK/idle-ready" >"$WORK/idle.json" 2>>"$WORK/loadgen.log" &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 6000); do [ -f "$WORK/idle-ready" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  [ -f "$WORK/idle-ready" ] || fail "the idle connections never all opened: $(cat "$WORK/idle.json")"
  sleep 2
  held=$(rss_kib "$PROXY_PID")
  fds=$(ls "/proc/$PROXY_PID/fd" | wc -l)
  opened=$(cat "$WORK/idle-ready")
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  echo "$before $held $opened $fds"
}

proxy_args=(--dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"
  --max-connections-per-client 0 --mints-per-client-per-minute 0 ${serve_flags[@]+"${serve_flags[@]}"})

# 1. RSS without heaptrack. The manifest is fetched once first, so every idle client is a hit.
PROXY_LOG_LEVEL=warn start_proxy "${proxy_args[@]}"
via_proxy "registry.test:$REG_PORT" --path "$small_path" --header "$oci_accept" --max-requests 1 \
  --duration 30 >/dev/null
read -r before held opened fds < <(idle_batch)
stop_proxy_by_pid() { kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true; }
stop_proxy_by_pid
rss_line="RSS: $((before / 1024)) MiB before, $((held / 1024)) MiB with $opened idle connections: $(((held - before) * 1024 / opened)) bytes each; $fds descriptors held (serve flags: ${serve_flags[*]:-none})"
log "$rss_line"
if [ $rss_only = 1 ]; then exit 0; fi

# 2. The same under heaptrack (a second data dir: a fresh process, the same hit).
rm -rf "$WORK/proxy-data"
cat >"$WORK/regcache-heaptrack" <<SH
#!/bin/sh
exec heaptrack -o "$WORK/heap" "$REGCACHE" "\$@"
SH
chmod +x "$WORK/regcache-heaptrack"
real_regcache=$REGCACHE
REGCACHE="$WORK/regcache-heaptrack" PROXY_LOG_LEVEL=warn start_proxy "${proxy_args[@]}"
REGCACHE=$real_regcache
via_proxy "registry.test:$REG_PORT" --path "$small_path" --header "$oci_accept" --max-requests 1 \
  --duration 60 >/dev/null
read -r _ _ opened_heap _ < <(idle_batch)
# heaptrack's own process is PROXY_PID: SIGTERM reaches regcache through it? Stop regcache itself.
target=$(pgrep -P "$PROXY_PID" -x regcache || echo "$PROXY_PID")
kill "$target"
wait "$PROXY_PID" 2>/dev/null || true
heap_file=$(compgen -G "$WORK/heap*.zst" || compgen -G "$WORK/heap*.gz" || true)
[ -n "$heap_file" ] || fail "heaptrack wrote no profile"
# The live heap while the batch idles: heaptrack's timeline (massif format), whose most frequent
# value is the plateau between the last connection opening and the kill.
heaptrack_print --print-peaks 0 --print-allocators 0 --print-temporary 0 -M "$WORK/heap.massif" \
  "$heap_file" >/dev/null 2>&1
plateau=$(awk -F= '/^mem_heap_B=/ {n[$2]++} END {for (v in n) if (n[v] > best) {best = n[v]; m = v}; print m}' "$WORK/heap.massif")
first=$(awk -F= '/^mem_heap_B=/ {print $2; exit}' "$WORK/heap.massif")
{
  echo "# bench/heap_idle.sh $conns at $commit, $(date -u +%FT%TZ)"
  echo "# $rss_line"
  echo "# live heap while idle (heaptrack timeline plateau): $((plateau / 1048576)) MiB, $(((plateau - first) / opened_heap)) bytes per connection"
  echo "# NOTE: the peak below is taken while the batch closes (each close allocates TLS buffers)."
  echo "# Subtract what only the close allocates (libssl allocations under SSL_read with fewer calls"
  echo "# than connections) to read the idle connection's share."
  echo "# heaptrack run: $opened_heap idle connections; heaptrack_print --print-peaks (top consumers at the peak)"
  heaptrack_print --print-peaks 1 --print-allocators 0 --print-temporary 0 --print-leaks 0 \
    --print-histogram 0 --print-flamegraph 0 --peak-limit 25 --sub-peak-limit 6 "$heap_file" 2>/dev/null |
    sed -e "s|$root/||g" -e "s|$WORK|WORK|g" | head -n 400 || true # head ends the pipe early
} >"$report"
log "report: $report"
