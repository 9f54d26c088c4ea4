#!/usr/bin/env bash
# Workloads 1 (a large cache hit), 2 (small manifest hits, keep-alive) and 9 (an intercepted,
# uncacheable large GET) for two regcache binaries side by side, beside nginx: rounds alternate nginx, A, B, so the
# ratios of one run compare the binaries on the same machine load. A change's before and after.
# With PERF=1, A's and B's regcache are profiled (perf record -g) in their last round of each
# workload; with PERF_DIR set, the reports are written there too.
#
# Usage: bench/hits_ab.sh REGCACHE_A [REGCACHE_B]
#   env: WORKLOADS (default 2,9; 1 too), ROUNDS (3), DURATION (workload 2's seconds, 20),
#        CONNECTIONS (workload 2's, 64), MIB (workloads 1 and 9's size, 1024), WORKERS (2),
#        ENV_A, ENV_B (NAME=VALUE ... for that proxy's environment: experiments with one binary)
# Prints one line per round and the medians of the per-round ratios.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
a="$(realpath "${1:?usage: bench/hits_ab.sh REGCACHE_A [REGCACHE_B]}")"
b="${2:+$(realpath "$2")}"
workloads="${WORKLOADS:-2,9}"
rounds="${ROUNDS:-3}"
duration="${DURATION:-20}"
connections="${CONNECTIONS:-64}"
mib="${MIB:-1024}"
workers="${WORKERS:-2}"
LOADGEN="$root/build/release/bench/regcache-loadgen"
[ -x "$LOADGEN" ] || { echo "bench/hits_ab.sh: $LOADGEN missing: scripts/build release" >&2; exit 2; }
source "$root/tests/e2e/lib.sh" "$a"
source "$here/lib.sh"
want() { [[ ",$workloads," == *",$1,"* ]]; }

make_pki "$WORK/pki" registry.test nginx.test >/dev/null
start_dns registry.test nginx.test
start_registry "$WORK/pki"
mkdir -p "$WORK/www"
if want 1 || want 9; then head -c "$((mib * 1048576))" /dev/urandom >"$WORK/www/big"; fi
if want 1; then big_digest=$(push_blob bench/big "$WORK/www/big"); fi
small_digest=$(push_small_manifest bench/small v1 "$WORK/www/small")
small_path="/v2/bench/small/manifests/$small_digest"
oci_accept="Accept: application/vnd.oci.image.manifest.v1+json"
start_anchor_nginx "$WORK/pki" "$WORK/www"
nginx_target="nginx.test:$NGINX_TLS_PORT"
registry_target="registry.test:$REG_PORT"

# Starts BINARY as proxy NAME on its own port and data dir, with bench/run's flags; sets
# PORT_<NAME>, PID_<NAME>.
start_named_proxy() {
  local name="$1" bin="$2" port environment
  port=$(free_port)
  environment="ENV_$name"
  # shellcheck disable=SC2086 # ENV_A/ENV_B are lists of NAME=VALUE words
  spawn "$WORK/proxy-$name.log" env ${!environment:-} "$bin" serve --listen "127.0.0.1:$port" --data-dir "$WORK/data-$name" \
    --workers "$workers" --log-level warn --access-log "$WORK/access-$name.log" \
    --allow-target 127.0.0.0/8 --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt" \
    --max-connections-per-client 0 --mints-per-client-per-minute 0
  printf -v "PID_$name" '%s' "$LAST_PID"
  printf -v "PORT_$name" '%s' "$port"
  wait_port "$port"
  curl -fsS "http://127.0.0.1:$port/ca.crt" -o "$WORK/roots-$name.pem" || fail "GET /ca.crt from $name"
}
# through NAME ROUND WORKLOAD LOADGEN-ARGS...: the load generator through proxy NAME, profiled
# in the last round with PERF=1; prints its JSON.
through() {
  local name="$1" r="$2" w="$3" port pid perf_pid="" out
  shift 3
  port="PORT_$name"; pid="PID_$name"
  if [ "${PERF:-0}" = 1 ] && [ "$r" = "$rounds" ]; then
    perf record -g -F 999 -o "$WORK/w$w-$name.perf" -p "${!pid}" >>"$WORK/perf.log" 2>&1 &
    perf_pid=$!
    PIDS+=("$perf_pid")
    sleep 1
  fi
  out=$("$LOADGEN" --proxy "127.0.0.1:${!port}" --cafile "$WORK/roots-$name.pem" "$@" 2>>"$WORK/loadgen.log")
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
  check_run "w$w $name" "$out"
  echo "$out"
}
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<<"$2"; }

names=(A)
start_named_proxy A "$a"
if [ -n "$b" ]; then start_named_proxy B "$b"; names+=(B); fi
for name in "${names[@]}"; do # warm the manifest (and the large blob) in each cache
  through "$name" 0 2 --target "$registry_target" --path "$small_path" --header "$oci_accept" \
    --max-requests 1 --duration 30 >/dev/null
  if want 1; then
    through "$name" 0 1 --target "$registry_target" --path "/v2/bench/big/blobs/$big_digest" \
      --max-requests 1 --duration 600 >/dev/null
  fi
done

summary=()
if want 2; then
  : >"$WORK/w2.txt"
  for r in $(seq 1 "$rounds"); do
    out=$(direct_to "$nginx_target" --path /small --connections "$connections" --duration "$duration")
    check_run "w2 nginx" "$out"
    line="$(field req_per_s "$out")"
    for name in "${names[@]}"; do
      out=$(through "$name" "$r" 2 --target "$registry_target" --path "$small_path" \
        --header "$oci_accept" --connections "$connections" --duration "$duration")
      line+=" $(field req_per_s "$out")"
    done
    echo "$line" >>"$WORK/w2.txt"
    log "w2 round $r: req/s nginx, ${names[*]}: $line"
  done
fi
if want 1; then
  : >"$WORK/w1.txt"
  for r in $(seq 1 "$rounds"); do
    out=$(direct_to "$nginx_target" --path /big --max-requests 1 --duration 600)
    check_run "w1 nginx" "$out"
    line="$(field mib_per_s "$out")"
    for name in "${names[@]}"; do
      out=$(through "$name" "$r" 1 --target "$registry_target" --path "/v2/bench/big/blobs/$big_digest" \
        --max-requests 1 --duration 600)
      line+=" $(field mib_per_s "$out")"
    done
    echo "$line" >>"$WORK/w1.txt"
    log "w1 round $r: MiB/s nginx, ${names[*]}: $line"
  done
fi
if want 9; then
  : >"$WORK/w9.txt"
  for r in $(seq 1 "$rounds"); do
    out=$(direct_to "$nginx_target" --path /big --max-requests 1 --duration 600)
    check_run "w9 direct" "$out"
    line="$(field mib_per_s "$out")"
    for name in "${names[@]}"; do
      out=$(through "$name" "$r" 9 --target "$nginx_target" --path /big --max-requests 1 --duration 600)
      line+=" $(field mib_per_s "$out")"
    done
    echo "$line" >>"$WORK/w9.txt"
    log "w9 round $r: MiB/s direct, ${names[*]}: $line"
  done
fi
# The median over rounds of column C divided by column 1 (the anchor) in FILE.
ratio_col() { awk -v c="$2" '$1 > 0 {print $c / $1}' "$1" | sort -n | awk '{v[NR] = $1} END {printf "%.2f\n", v[int((NR + 1) / 2)]}'; }
median_col() { awk -v c="$2" '{print $c}' "$1" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
for w in 1 2 9; do
  [ -f "$WORK/w$w.txt" ] || continue
  line="workload $w, $rounds rounds, medians: anchor $(median_col "$WORK/w$w.txt" 1)"
  col=2
  for name in "${names[@]}"; do
    line+="; $name $(median_col "$WORK/w$w.txt" $col), $(ratio_col "$WORK/w$w.txt" $col) x anchor"
    col=$((col + 1))
  done
  echo "$line"
done
if [ "${PERF:-0}" = 1 ]; then
  for f in "$WORK"/w*-*.perf; do
    [ -f "$f" ] || continue
    {
      echo "# $(basename "$f" .perf): perf report --no-children --sort dso"
      perf report -i "$f" --stdio --no-children --sort dso -g none 2>/dev/null | grep '%' | head -10
      echo "# by symbol"
      perf report -i "$f" --stdio --no-children --sort dso,sym -g none --percent-limit 0.7 2>/dev/null |
        grep '%' | head -40
    } | tee ${PERF_DIR:+"$PERF_DIR/$(basename "$f" .perf).txt"}
    if [ -n "${PERF_DIR:-}" ]; then cp "$f" "$PERF_DIR/"; fi
  done
fi
