#!/usr/bin/env bash
# Workload 4 (a cold pull-through of one large blob) for two regcache binaries side by side, to
# tell a regression from a change in how it is measured: rounds alternate direct, A cold, B cold,
# each proxy's copy purged before its round, all with the load generator (one GET, CONNECT+TLS).
# With PERF=1, A's and B's regcache are profiled (perf record -g) in their last round; with
# PERF=trace, their system calls are counted per thread (perf trace -s) instead. PERF_KEEP=DIR
# keeps the perf.data files (A.perf, B.perf) there.
#
# Usage: bench/cold_ab.sh REGCACHE_A [REGCACHE_B] [MIB] [ROUNDS]   (defaults: 1024 MiB, 3 rounds)
# Prints one line per round and the medians; B is optional (then A alone beside direct).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
a="$(realpath "${1:?usage: bench/cold_ab.sh REGCACHE_A [REGCACHE_B] [MIB] [ROUNDS]}")"
b="${2:+$(realpath "$2")}"
mib="${3:-1024}"
rounds="${4:-3}"
LOADGEN="$root/build/release/bench/regcache-loadgen"
[ -x "$LOADGEN" ] || { echo "bench/cold_ab.sh: $LOADGEN missing: scripts/build release" >&2; exit 2; }
source "$root/tests/e2e/lib.sh" "$a"
source "$here/lib.sh"

make_pki "$WORK/pki" registry.test >/dev/null
start_dns registry.test
start_registry "$WORK/pki"
head -c "$((mib * 1048576))" /dev/urandom >"$WORK/big"
digest=$(push_blob bench/big "$WORK/big")
rm -f "$WORK/big"
target="registry.test:$REG_PORT"
path="/v2/bench/big/blobs/$digest"

# Starts BINARY as proxy NAME on its own port and data dir; sets PORT_<NAME>, PID_<NAME>.
start_named_proxy() {
  local name="$1" bin="$2" port
  port=$(free_port)
  spawn "$WORK/proxy-$name.log" "$bin" serve --listen "127.0.0.1:$port" --data-dir "$WORK/data-$name" \
    --workers 2 --log-level warn --access-log "$WORK/access-$name.log" --allow-target 127.0.0.0/8 \
    --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"
  printf -v "PID_$name" '%s' "$LAST_PID"
  printf -v "PORT_$name" '%s' "$port"
  wait_port "$port"
  curl -fsS "http://127.0.0.1:$port/ca.crt" -o "$WORK/roots-$name.pem" || fail "GET /ca.crt from $name"
}
cold() { # NAME BINARY ROUND: one cold GET through proxy NAME; prints seconds
  local name="$1" bin="$2" r="$3" port pid out perf_pid=""
  port="PORT_$name"; pid="PID_$name"
  "$bin" cache rm --data-dir "$WORK/data-$name" "$digest" >>"$WORK/bench.log" 2>&1 || true
  if [ "${PERF:-0}" = trace ] && [ "$r" = "$rounds" ]; then
    perf trace -s -p "${!pid}" -o "$WORK/$name.trace" >>"$WORK/perf.log" 2>&1 &
    perf_pid=$!
    PIDS+=("$perf_pid")
    sleep 1
  elif [ "${PERF:-0}" = 1 ] && [ "$r" = "$rounds" ]; then
    perf record -g -F 999 -o "$WORK/$name.perf" -p "${!pid}" >>"$WORK/perf.log" 2>&1 &
    perf_pid=$!
    PIDS+=("$perf_pid")
    sleep 1
  fi
  out=$("$LOADGEN" --proxy "127.0.0.1:${!port}" --target "$target" --cafile "$WORK/roots-$name.pem" \
    --path "$path" --max-requests 1 --duration 600 2>>"$WORK/loadgen.log")
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
  check_run "$name cold" "$out"
  grep -q "/blobs/$digest\" status=200 .*cache=MISS" "$WORK/access-$name.log" || fail "$name: not a miss"
  sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p' <<<"$out"
}

start_named_proxy A "$a"
if [ -n "$b" ]; then start_named_proxy B "$b"; fi
: >"$WORK/rounds.txt"
for r in $(seq 1 "$rounds"); do
  out=$(direct_to "$target" --path "$path" --max-requests 1 --duration 600)
  check_run direct "$out"
  d=$(sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p' <<<"$out")
  ta=$(cold A "$a" "$r")
  tb=$([ -n "$b" ] && cold B "$b" "$r" || echo 0)
  echo "$d $ta $tb" >>"$WORK/rounds.txt"
  log "round $r: direct $d s, A $ta s ($(awk -v x="$ta" -v d="$d" 'BEGIN {printf "%.2f", x / d}')x), B $tb s ($(awk -v x="$tb" -v d="$d" 'BEGIN {printf "%.2f", x / d}')x)"
done
median_col() { awk -v c="$1" '{print $c}' "$WORK/rounds.txt" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
ratio_col() { awk -v c="$1" '{print $c / $1}' "$WORK/rounds.txt" | sort -n | awk '{v[NR] = $1} END {printf "%.2f\n", v[int((NR + 1) / 2)]}'; }
echo "cold ${mib} MiB, $rounds rounds, medians: direct $(median_col 1) s; A $(median_col 2) s, $(ratio_col 2) x direct; B $(median_col 3) s, $(ratio_col 3) x direct"
if [ "${PERF:-0}" = trace ]; then
  for name in A B; do
    [ -f "$WORK/$name.trace" ] || continue
    echo "# $name: perf trace -s, the threads' busiest system calls"
    grep -E '^ [a-z].*events|^ +(read|write|pwrite64|pread64|futex|epoll_ctl|epoll_wait|fsync|sync_file_range) ' \
      "$WORK/$name.trace" | grep -v '^ regcache (' || true
  done
fi
if [ "${PERF:-0}" = 1 ]; then
  for name in A B; do
    [ -f "$WORK/$name.perf" ] || continue
    if [ -n "${PERF_KEEP:-}" ]; then mkdir -p "$PERF_KEEP" && cp "$WORK/$name.perf" "$PERF_KEEP/"; fi
    echo "# $name: perf report --no-children --sort dso"
    perf report -i "$WORK/$name.perf" --stdio --no-children --sort dso -g none 2>/dev/null | grep '%' | head -8
    echo "# $name: by symbol"
    perf report -i "$WORK/$name.perf" --stdio --no-children --sort dso,sym -g none --percent-limit 1.5 2>/dev/null |
      grep '%' | head -20
  done
fi
