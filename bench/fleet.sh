#!/usr/bin/env bash
# The fleet's bucket against a local disk, in one run (docs/fleet.md): a real RGW, a real
# docker-registry over TLS, skopeo pulls of an image with one SIZE_MIB layer, ROUNDS rounds.
#   warm: a pull served from the bucket (host B, after host A filled it) beside a local-disk hit
#         (B again): throughput ratio bucket / local hit, goal >= 0.7;
#   cold: a cold fill with the multipart upload in line (host A) beside a cold fill to a local
#         disk alone (host L, no --store): time ratio, goal <= 1.1.
# Usage: bench/fleet.sh PATH/TO/regcache [SIZE_MIB=200] [ROUNDS=3]. Medians are printed, with the
# CPU seconds each pull cost the pulling member, RGW's daemons (mon, osd, radosgw: on a real
# fleet, other machines) and the whole machine (/proc/stat: skopeo, the registry, everyone).
# Two ways to run it:
#   - as is: RGW shares the machine's cores with everything else, so the cold ratio also counts
#     RGW's own work (receiving, MD5 of each part, memstore) against the filling host;
#   - RGW_CPUS=1 MEMBER_CPUS=0 (taskset CPU lists): RGW's daemons run on RGW_CPUS alone and
#     everything else (regcache, the registry, skopeo, this script) on MEMBER_CPUS alone, in the
#     local-disk runs and the bucket runs alike, as a real fleet has its object store on other
#     machines: the cold ratio then measures what the upload costs the host that fills.
set -euo pipefail
size_mib=${2:-200} rounds=${3:-3}
source "$(dirname "$0")/../tests/e2e/lib.sh" "$1"
source "$(dirname "$0")/../tests/e2e/fleet_lib.sh"
BUCKET=regcache-bench-fleet
if [ -n "${RGW_CPUS:-}${MEMBER_CPUS:-}" ]; then
  if [ -z "${RGW_CPUS:-}" ] || [ -z "${MEMBER_CPUS:-}" ]; then fail "give RGW_CPUS and MEMBER_CPUS both"; fi
  command -v taskset >/dev/null || fail "taskset (util-linux) is needed for RGW_CPUS"
  # Everything this script starts from here inherits the members' CPUs; RGW is moved after.
  taskset -cp "$MEMBER_CPUS" $$ >/dev/null || fail "cannot pin this script to CPUs $MEMBER_CPUS"
fi

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
log "building an image with a $size_mib MiB layer"
make_image $((size_mib * 1024))
push_image "$WORK/pki" "$REG_PORT" test/image:v1
start_rgw
if [ -n "${RGW_CPUS:-}" ]; then
  for pid in $(cat "$RGW_DIR"/run/*.pid | sort -un); do # every thread of every daemon
    taskset -a -cp "$RGW_CPUS" "$pid" >/dev/null || fail "cannot pin RGW's $pid to CPUs $RGW_CPUS"
  done
  log "RGW's daemons on CPUs $RGW_CPUS, everything else on CPUs $MEMBER_CPUS"
fi
registry="registry.test:$REG_PORT"
common=(--dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt")
export MEMBER_LOG_LEVEL=warn

ticks() { # CPU ticks (user + system) of the PIDs given, those still running
  local total=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] && total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')))
  done
  echo "$total"
}
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
threads() { # the member PID's CPU ticks by thread name: "loop file-io s3-io other" (names since
  # the threads were named; an older binary's show as other)
  local f
  for f in /proc/"$1"/task/*/stat; do sed 's/^[0-9]* (\(.*\)) /\1 /' "$f" 2>/dev/null || true; done |
    awk '{ t = $13 + $14; if ($1 ~ /^loop-/) l += t; else if ($1 == "file-io") f += t;
           else if ($1 == "s3-io") s += t; else o += t }
         END { printf "%d %d %d %d", l, f, s, o }'
}
hz=$(getconf CLK_TCK)
seconds() { # runs member_pull NAME and prints its wall time; PHASE's CPU goes to WORK/cpu.txt
  local start end member ceph machine ceph_pids before after
  ceph_pids=$(cat "$RGW_DIR"/run/*.pid | sort -un) # each daemon may have two pid files
  # shellcheck disable=SC2086
  member=$(ticks "${MEMBER_PID[$1]}") ceph=$(ticks $ceph_pids) machine=$(machine_ticks)
  before=$(threads "${MEMBER_PID[$1]}")
  start=$(date +%s.%N)
  member_pull "$1" "$registry" test/image:v1 || fail "pull through $1 failed: $(tail -n 3 "$WORK/skopeo.log")"
  end=$(date +%s.%N)
  # shellcheck disable=SC2086
  after=$(threads "${MEMBER_PID[$1]}")
  echo "$2 $(($(ticks "${MEMBER_PID[$1]}") - member)) $(($(ticks $ceph_pids) - ceph)) $(($(machine_ticks) - machine)) $before $after" >>"$WORK/cpu.txt"
  check_layer "$1"
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}
stop_member() { kill "${MEMBER_PID[$1]}" 2>/dev/null || true; wait "${MEMBER_PID[$1]}" 2>/dev/null || true; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

cold_local=() cold_bucket=() warm_bucket=() warm_local=()
for round in $(seq 1 "$rounds"); do
  export MEMBER_PREFIX="round-$round-$RANDOM"
  NO_STORE=1 start_member "l$round" "${common[@]}"
  start_member "a$round" "${common[@]}"
  start_member "b$round" "${common[@]}"
  cold_local+=("$(seconds "l$round" cold-local)")
  cold_bucket+=("$(seconds "a$round" cold+upload)")
  for _ in $(seq 1 300); do [ "$(bucket_status "$LAYER_DIGEST")" = 200 ] && break; sleep 0.1; done
  warm_bucket+=("$(seconds "b$round" from-bucket)")
  warm_local+=("$(seconds "b$round" local-hit)")
  log "round $round: cold local ${cold_local[-1]} s, cold+upload ${cold_bucket[-1]} s, from bucket ${warm_bucket[-1]} s, local hit ${warm_local[-1]} s"
  for m in "l$round" "a$round" "b$round"; do stop_member "$m"; rm -rf "$WORK/data-$m"; done
done
cl=$(median "${cold_local[@]}") cb=$(median "${cold_bucket[@]}")
wb=$(median "${warm_bucket[@]}") wl=$(median "${warm_local[@]}")
pinned="RGW on the same CPUs as everything else"
[ -n "${RGW_CPUS:-}" ] && pinned="RGW on CPUs $RGW_CPUS, everything else on CPUs $MEMBER_CPUS"
awk -v cl="$cl" -v cb="$cb" -v wb="$wb" -v wl="$wl" -v mib="$size_mib" -v n="$rounds" -v pinned="$pinned" 'BEGIN {
  printf "fleet bench: %d MiB layer, %d rounds, medians (skopeo pull wall time); %s\n", mib, n, pinned
  printf "  warm from bucket: %.3f s (%.0f MiB/s); local-disk hit: %.3f s (%.0f MiB/s); ratio %.2f (goal >= 0.7)\n", wb, mib / wb, wl, mib / wl, wl / wb
  printf "  cold fill + upload: %.3f s; cold fill to local disk: %.3f s; ratio %.2f (goal <= 1.1)\n", cb, cl, cb / cl
}'
# CPU per pull, medians per phase (a cold fill + upload's RGW share includes the upload's
# completion, which may end after the pull); the member's split by thread.
for phase in cold-local cold+upload from-bucket local-hit; do
  awk -v p="$phase" -v hz="$hz" '$1 == p { ++n; for (k = 1; k <= 7; k++) v[k, n] = (k <= 3 ? $(k + 1) : $(k + 5) - $(k + 1)) }
    function med(k,   i, j, x, a) { for (i = 1; i <= n; i++) a[i] = v[k, i]
      for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j > 0 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
      return a[int((n + 1) / 2)] / hz }
    END { if (n) printf "  cpu %-11s member %.2f s (loops %.2f, file-io %.2f, s3-io %.2f, other %.2f), rgw daemons %.2f s, machine %.2f s\n", p, med(1), med(4), med(5), med(6), med(7), med(2), med(3) }' "$WORK/cpu.txt"
done
