#!/usr/bin/env bash
# Usage: bench/warm_profile.sh [REGCACHE] [ROUNDS] [LAYER_KIB] [PERF_PULLS]
#   (defaults: build/release/app/regcache, 3 rounds, 61440 KiB layers, 3 profiled pulls)
# Where a warm skopeo pull's time goes (workload 3 of bench/run: 5 layers of LAYER_KIB random
# bytes, gzip-framed, into an OCI layout), through regcache and straight from the registry and
# from the distribution mirror, side by side. All on loopback; every process it starts is ended
# by PID (tests/e2e/lib.sh). Each round pulls once each way, in an order that rotates from round
# to round; each pull records its wall time and the CPU (user, system) of skopeo (the `times` of
# the subshell that ran it), regcache, the registry and the mirror (/proc/PID/stat before and
# after), and of the whole machine (/proc/stat: what else ran). Then, untimed: the requests and
# connections of one pull each way (regcache's access log, the registry's, skopeo's system calls
# under strace -C), regcache's system calls over one pull (perf trace -s), and CPU profiles
# (perf record -g -F 999) of regcache and of the registry over PERF_PULLS warm pulls each, and
# of skopeo in one pull each way.
# A second regcache, "regcacheB", joins the rounds when REGCACHE_B (another binary) or B_ENV
# ("VAR=VALUE ...", its environment: e.g. OPENSSL_CONF=FILE) is set. "local" is skopeo copying
# the image from its OCI layout on disk, no server and no network: skopeo's own CPU for the same
# bytes (its wall time is no floor: skopeo 1.9 copies the layers of an oci: source one at a time).
# The previous pull's output is removed before the clock starts (bench/run times the removal too).
# PERF_KEEP=DIR keeps the perf.data files; PERF_CG="--call-graph dwarf" unwinds without frame
# pointers (libc, libssl) for perf report -g.
# Writes OUT_DIR (default bench/results/warm-<date>-<commit>/): rounds.txt, summary.txt,
# requests.txt, trace-regcache.txt, perf-*.txt.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
bin="$(realpath "${1:-$root/build/release/app/regcache}")"
rounds="${2:-3}"
layer_kib="${3:-61440}"
perf_pulls="${4:-3}"
source "$root/tests/e2e/lib.sh" "$bin"
source "$here/lib.sh"
# Named after the commit the measured binary was built from, as bench/run names its results.
commit=$("$bin" version 2>/dev/null | awk '$1 == "git" {print $2}' || true)
out_dir="${OUT_DIR:-$here/results/warm-$(date -u +%Y-%m-%dT%H%M)-${commit:-unknown}}"
mkdir -p "$out_dir"
ticks=$(getconf CLK_TCK)

make_pki "$WORK/pki" registry.test >/dev/null
start_dns registry.test
start_registry "$WORK/pki"
registry_pid=$LAST_PID
make_layered_image 5 "$layer_kib"
push_image "$WORK/pki" "$REG_PORT" bench/image:v1
start_mirror "$WORK/pki" "$REG_PORT"
mirror_pid=$LAST_PID
PROXY_LOG_LEVEL=warn start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt" \
  --max-connections-per-client 0 --mints-per-client-per-minute 0
b_pid=""
if [ -n "${REGCACHE_B:-}${B_ENV:-}" ]; then
  b_port=$(free_port)
  # shellcheck disable=SC2086 # B_ENV is a list of VAR=VALUE words
  spawn "$WORK/proxy-b.log" env ${B_ENV:-} "$(realpath "${REGCACHE_B:-$bin}")" serve \
    --listen "127.0.0.1:$b_port" --data-dir "$WORK/data-b" --workers 2 --log-level warn \
    --access-log "$WORK/access-b.log" --allow-target 127.0.0.0/8 --dns-server "127.0.0.1:$DNS_PORT" \
    --upstream-ca "$WORK/pki/ca.crt" --max-connections-per-client 0 --mints-per-client-per-minute 0
  b_pid=$LAST_PID
  wait_port "$b_port"
  mkdir -p "$WORK/proxy-b-certs"
  curl -fsS "http://127.0.0.1:$b_port/ca.crt" -o "$WORK/proxy-b-certs/ca.crt" || fail "GET /ca.crt of B"
fi
mkdir -p "$WORK/direct-certs" && cp "$WORK/pki/ca.crt" "$WORK/direct-certs/"
target="registry.test:$REG_PORT"

# The pulls of bench/run's workload 3, each with a command prefix (for strace).
pull_direct() { # PORT [PREFIX...]
  local port="$1"; shift
  rm -rf "$WORK/out"
  "$@" timeout 300 skopeo --insecure-policy copy --quiet --src-cert-dir "$WORK/direct-certs" \
    "docker://127.0.0.1:$port/bench/image:v1" "oci:$WORK/out:v1"
}
pull_regcache() { # [PREFIX...]
  rm -rf "$WORK/out"
  through_proxy "$@" timeout 300 skopeo --insecure-policy copy --quiet --src-cert-dir "$PROXY_CERT_DIR" \
    "docker://$target/bench/image:v1" "oci:$WORK/out:v1"
}
pull_regcache_b() { # [PREFIX...]
  rm -rf "$WORK/out"
  env HTTPS_PROXY="http://127.0.0.1:$b_port" NO_PROXY= SSL_CERT_FILE="$WORK/proxy-b-certs/ca.crt" \
    SSL_CERT_DIR="$WORK/no-such-dir" "$@" timeout 300 skopeo --insecure-policy copy --quiet \
    --src-cert-dir "$WORK/proxy-b-certs" "docker://$target/bench/image:v1" "oci:$WORK/out:v1"
}
pull_local() { # [PREFIX...]
  rm -rf "$WORK/out"
  "$@" timeout 300 skopeo --insecure-policy copy --quiet "oci:$IMAGE_DIR:v1" "oci:$WORK/out:v1"
}
pull_of() { # SYSTEM [PREFIX...]
  local system="$1"; shift
  case "$system" in
    direct) pull_direct "$REG_PORT" "$@" ;;
    regcache) pull_regcache "$@" ;;
    regcacheB) pull_regcache_b "$@" ;;
    mirror) pull_direct "$MIRROR_PORT" "$@" ;;
    local) pull_local "$@" ;;
  esac
}

# One timed pull: prints SYSTEM ROUND WALL SKOPEO_U SKOPEO_S PROXY_U PROXY_S REG_U REG_S
# MIRROR_U MIRROR_S MACHINE_BUSY_CORES (CPU in seconds; regcache: both proxies, only one of which
# works in a pull; machine: mean busy cores over the pull).
timed_pull() {
  local system="$1" r="$2" p0 g0 m0 w0 p1 g1 m1 w1 start end children
  rm -rf "$WORK/out"
  p0=$(cpu_of "$PROXY_PID" "$b_pid"); g0=$(cpu_of "$registry_pid"); m0=$(cpu_of "$mirror_pid"); w0=$(machine_cpu)
  start=$(date +%s.%N)
  # The subshell's `times` (second line) is the CPU of its children: skopeo and timeout.
  children=$( (pull_of "$system" >>"$WORK/bench.log" 2>&1 || exit 1; times) | sed -n 2p) ||
    fail "$system pull failed"
  end=$(date +%s.%N)
  p1=$(cpu_of "$PROXY_PID" "$b_pid"); g1=$(cpu_of "$registry_pid"); m1=$(cpu_of "$mirror_pid"); w1=$(machine_cpu)
  awk -v sys="$system" -v r="$r" -v s="$start" -v e="$end" -v c="$children" -v hz="$ticks" \
    -v p0="$p0" -v p1="$p1" -v g0="$g0" -v g1="$g1" -v m0="$m0" -v m1="$m1" -v w0="$w0" -v w1="$w1" '
    function secs(t,  a) { split(t, a, "m"); sub("s", "", a[2]); return a[1] * 60 + a[2] }
    function d(x0, x1, i,  a, b) { split(x0, a, " "); split(x1, b, " "); return (b[i] - a[i]) / hz }
    BEGIN {
      split(c, cc, " ")
      split(w0, a, " "); split(w1, b, " ")
      busy = (b[2] - a[2]) > 0 ? 2 * (b[1] - a[1]) / (b[2] - a[2]) : 0
      printf "%-8s %s %.3f %.3f %.3f %.2f %.2f %.2f %.2f %.2f %.2f %.2f\n", sys, r, e - s,
        secs(cc[1]), secs(cc[2]), d(p0, p1, 1), d(p0, p1, 2), d(g0, g1, 1), d(g0, g1, 2),
        d(m0, m1, 1), d(m0, m1, 2), busy
    }'
}

log "warming: the mirror's and regcache's cold pulls, then one warm pull each way"
warm=(mirror regcache direct regcache mirror)
[ -n "$b_pid" ] && warm+=(regcacheB regcacheB)
for system in "${warm[@]}"; do pull_of "$system" >>"$WORK/bench.log" 2>&1 || fail "warm-up $system"; done
grep -q 'cache=MISS' "$ACCESS_LOG" || fail "regcache's first pull was not a miss"

order=(direct regcache mirror local)
[ -n "$b_pid" ] && order=(direct regcache mirror regcacheB local)
log "timed rounds: $rounds x (${order[*]})"
echo "# system round wall_s skopeo_user skopeo_sys regcache_user regcache_sys registry_user registry_sys mirror_user mirror_sys machine_busy_cores" >"$out_dir/rounds.txt"
for r in $(seq 1 "$rounds"); do
  for i in "${!order[@]}"; do
    system=${order[$(((i + r - 1) % ${#order[@]}))]}
    line=$(timed_pull "$system" "$r")
    echo "$line" >>"$out_dir/rounds.txt"
    log "$line"
  done
done

# Medians per system, the ratios, and the floor: the proxied pull with regcache's CPU at zero.
awk '
  !/^#/ { n[$1]++; k = n[$1]; w[$1, k] = $3; sk[$1, k] = $4 + $5; px[$1, k] = $6 + $7
          rg[$1, k] = $8 + $9; mr[$1, k] = $10 + $11; busy[$1, k] = $12 }
  function med(arr, s,   i, j, t, v, m) {
    m = n[s]; for (i = 1; i <= m; i++) v[i] = arr[s, i]
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return v[int((m + 1) / 2)]
  }
  END {
    print "# medians per system: wall s; CPU s of skopeo, regcache, registry, mirror; all four; CPU per wall s; other load (busy cores)"
    for (s in n) {
      tot = med(sk, s) + med(px, s) + med(rg, s) + med(mr, s)
      printf "%-8s wall %.3f  skopeo %.2f  regcache %.2f  registry %.2f  mirror %.2f  sum %.2f  cpu/wall %.2f  machine %.2f\n",
        s, med(w, s), med(sk, s), med(px, s), med(rg, s), med(mr, s), tot, tot / med(w, s), med(busy, s)
      W[s] = med(w, s); T[s] = tot; SK[s] = med(sk, s); PX[s] = med(px, s)
    }
    printf "ratio wall regcache / direct %.2f, / mirror %.2f\n", W["regcache"] / W["direct"], W["regcache"] / W["mirror"]
    if ("regcacheB" in W) printf "ratio wall regcacheB / direct %.2f, / mirror %.2f, / regcache %.2f\n", W["regcacheB"] / W["direct"], W["regcacheB"] / W["mirror"], W["regcacheB"] / W["regcache"]
    printf "ratio wall local (skopeo from its own disk, no server) / direct %.2f, / mirror %.2f\n", W["local"] / W["direct"], W["local"] / W["mirror"]
    printf "ratio CPU (sum of the four) regcache / direct %.2f, / mirror %.2f\n", T["regcache"] / T["direct"], T["regcache"] / T["mirror"]
    printf "regcache CPU share of the proxied pull: %.0f %%; skopeo: %.0f %%\n", 100 * PX["regcache"] / T["regcache"], 100 * SK["regcache"] / T["regcache"]
    printf "floor (regcache CPU zero, time in proportion to CPU): %.2f x direct, %.2f x mirror\n",
      (T["regcache"] - PX["regcache"]) / T["direct"], (T["regcache"] - PX["regcache"]) / T["mirror"]
  }' "$out_dir/rounds.txt" >"$out_dir/summary.txt"
cat "$out_dir/summary.txt" >&2

log "requests and connections of one pull each way"
{
  for system in direct regcache mirror; do
    a0=$(wc -l <"$ACCESS_LOG"); g0=$(wc -l <"$REG_LOG")
    pull_of "$system" strace -f -qq -C -e trace=connect,read,write,epoll_pwait,futex,nanosleep \
      -o "$WORK/strace-$system.txt" >>"$WORK/bench.log" 2>&1 || fail "strace $system pull"
    sleep 0.5 # the access log is written as each request completes
    port=$REG_PORT
    [ "$system" = regcache ] && port=$PROXY_PORT
    [ "$system" = mirror ] && port=$MIRROR_PORT
    echo "## $system: skopeo's connect(2) calls to port $port: $(grep -c "htons($port)" "$WORK/strace-$system.txt" || true)"
    echo "## $system: registry requests: $(tail -n +"$((g0 + 1))" "$REG_LOG" | grep -c '"GET\|"HEAD' || true)"
    echo "## $system: skopeo's system calls (strace -f -C, the traced ones)"
    grep -E '^ *[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+' "$WORK/strace-$system.txt" | awk '{print "  ", $NF, $4}'
    tail -n +"$((g0 + 1))" "$REG_LOG" | grep -o '"\(GET\|HEAD\) [^ ]* HTTP/[0-9.]*"' | sed 's/sha256:[0-9a-f]*/sha256:.../' | sort | uniq -c
    if [ "$system" = regcache ]; then
      echo "## regcache access log for this pull"
      tail -n +"$((a0 + 1))" "$ACCESS_LOG" | sed 's/sha256:[0-9a-f]\{64\}/sha256:.../g; s/^[^[]*//'
    fi
  done
  # The suite a Go client (skopeo) gets: it offers AES-128-GCM first on AES hardware.
  go_order=TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
  cipher() { timeout 10 openssl s_client -ciphersuites "$go_order" "$@" </dev/null 2>/dev/null |
    sed -n 's/.*Cipher is \(.*\)/\1/p' | head -1; }
  echo "## TLS 1.3 suite chosen for a client offering $go_order"
  echo "   registry: $(cipher -connect "127.0.0.1:$REG_PORT" -servername registry.test)"
  echo "   mirror: $(cipher -connect "127.0.0.1:$MIRROR_PORT" -servername registry.test)"
  echo "   regcache: $(cipher -proxy "127.0.0.1:$PROXY_PORT" -connect "$target" -servername registry.test)"
  if [ -n "$b_pid" ]; then
    echo "   regcacheB: $(cipher -proxy "127.0.0.1:$b_port" -connect "$target" -servername registry.test)"
  fi
} >"$out_dir/requests.txt"
cat "$out_dir/requests.txt" >&2

# Where PROFILE's time went, by shared object, symbol and thread: perf_summary FILE TITLE
perf_summary() {
  echo "# $2: perf record ${PERF_CG:--g} -F 999; perf report --no-children"
  echo "# by shared object"
  perf report -i "$1" --stdio --no-children --sort dso -g none 2>/dev/null | grep -v '^#' | grep '%' | head -12
  echo "# by symbol"
  perf report -i "$1" --stdio --no-children --sort dso,sym -g none --percent-limit 0.7 2>/dev/null |
    grep -v '^#' | grep '%' | head -40
  echo "# by thread"
  perf report -i "$1" --stdio --no-children --sort comm -g none 2>/dev/null | grep -v '^#' | grep '%' | head -8
  echo "# inclusive (perf report --children): the functions under which the samples fell"
  perf report -i "$1" --stdio --children --sort sym -g none --percent-limit 3 2>/dev/null |
    grep -v '^#' | grep '%' | grep -v '\] 0x' | cut -c1-160 | head -30
}
# Profiles PID (perf record) over PULLS pulls of SYSTEM: profile_pid PID SYSTEM PULLS FILE
profile_pid() {
  local pid="$1" system="$2" pulls="$3" file="$4" perf_pid
  # shellcheck disable=SC2086 # PERF_CG is a list of perf options
  perf record ${PERF_CG:--g} -F 999 -o "$file" -p "$pid" >>"$WORK/perf.log" 2>&1 &
  perf_pid=$!
  PIDS+=("$perf_pid")
  sleep 1
  for _ in $(seq 1 "$pulls"); do pull_of "$system" >>"$WORK/bench.log" 2>&1 || fail "profiled $system pull"; done
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
}
if command -v perf >/dev/null; then
  log "regcache's system calls over one warm pull (perf trace -s)"
  perf trace -s -p "$PROXY_PID" -o "$WORK/warm.trace" >>"$WORK/perf.log" 2>&1 &
  trace_pid=$!
  PIDS+=("$trace_pid")
  sleep 1
  pull_regcache >>"$WORK/bench.log" 2>&1 || fail "traced pull"
  kill -INT "$trace_pid" 2>/dev/null || true
  wait "$trace_pid" 2>/dev/null || true
  grep -E '^ .*\(|^ +[a-z_0-9]+ +[0-9]+ ' "$WORK/warm.trace" | head -60 >"$out_dir/trace-regcache.txt"
  log "profiling regcache and the registry over $perf_pulls warm pulls each, skopeo in one pull each way"
  profile_pid "$PROXY_PID" regcache "$perf_pulls" "$WORK/regcache.perf"
  perf_summary "$WORK/regcache.perf" "regcache during $perf_pulls warm pulls" >"$out_dir/perf-regcache.txt"
  profile_pid "$registry_pid" direct "$perf_pulls" "$WORK/registry.perf"
  perf_summary "$WORK/registry.perf" "the registry during $perf_pulls direct pulls" >"$out_dir/perf-registry.txt"
  for system in direct regcache; do
    # shellcheck disable=SC2086 # PERF_CG is a list of perf options
    pull_of "$system" perf record ${PERF_CG:--g} -F 999 -o "$WORK/skopeo-$system.perf" >>"$WORK/perf.log" 2>&1 ||
      fail "profiled skopeo $system"
    perf_summary "$WORK/skopeo-$system.perf" "skopeo (and timeout) in one $system pull" >"$out_dir/perf-skopeo-$system.txt"
  done
  head -30 "$out_dir/perf-regcache.txt" >&2
  # PERF_KEEP=DIR keeps the perf.data files (large: not for a results folder) for perf report -g.
  if [ -n "${PERF_KEEP:-}" ]; then mkdir -p "$PERF_KEEP" && cp "$WORK"/*.perf "$PERF_KEEP/"; fi
fi
log "results in $out_dir"
