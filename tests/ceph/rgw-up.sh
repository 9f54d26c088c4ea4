#!/usr/bin/env bash
# Starts a throw-away single-node Ceph (one mon, one OSD, radosgw) on 127.0.0.1 with no cephx,
# for tests that need a real S3 API. Prints shell exports (eval "$(tests/ceph/rgw-up.sh)"):
#   RGW_DIR S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION
# Stop with tests/ceph/rgw-down.sh (kills exactly the PIDs recorded here). Env: RGW_DIR (state,
# default a new temp dir), RGW_PORT / MON_PORT (default: free ports), OSD_STORE (memstore |
# bluestore; memstore default: nothing on disk but the mon), OSD_SIZE_GB (4), UP_TIMEOUT (90 s).
# Needs: ceph-mon ceph-osd radosgw ceph-common (scripts/debian-packages).
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
limit=${UP_TIMEOUT:-90}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rgw_port=${RGW_PORT:-$(free_port)}
mon_port=${MON_PORT:-$(free_port)}
dir=$(realpath -m "${RGW_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/regcache-rgw.XXXXXX")}")
store=${OSD_STORE:-memstore}
size_gb=${OSD_SIZE_GB:-4}
access_key=$(od -An -tx1 -N10 /dev/urandom | tr -d ' \n' | tr a-f A-F)
secret_key=$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')
[ -e "$dir/ceph.conf" ] && { echo "rgw-up: $dir already holds a cluster" >&2; exit 1; }
mkdir -p "$dir"/{run,log,mon,osd}
conf="$dir/ceph.conf"
fsid=$(cat /proc/sys/kernel/random/uuid)
say() { echo "rgw-up: $*" >&2; }
die() {
  say "FAILED: $*"; tail -n 15 "$dir"/log/*.log >&2 2>/dev/null || true
  RGW_DIR="$dir" KEEP_STATE=1 "$here/rgw-down.sh" >&2 || true; exit 1
}
trap 'die "line $LINENO: $BASH_COMMAND"' ERR
# Each daemon runs in the foreground of its own session; its PID is the one we record and kill.
launch() {
  local name=$1; shift
  setsid "$@" -f -c "$conf" >"$dir/log/$name.out" 2>&1 </dev/null &
  echo $! >"$dir/run/$name.pid"
}
# Polls `check` (bounded by UP_TIMEOUT) and gives up as soon as the daemon died.
await() {
  local what=$1 pid; pid=$(cat "$dir/run/$2.pid"); shift 2
  for ((i = 0; i < limit * 5; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || die "$what: the daemon exited (logs in $dir/log)"
    sleep 0.2
  done
  die "$what: not ready after ${limit}s"
}

# Why each non-default setting is there:
# - ms mon client mode = crc: radosgw asks for "secure" mon sessions, which auth none cannot give.
# - paxos propose interval = 0.05: each pool creation waits one interval (16 s start-up -> 5 s).
# - small PG counts and mon max pg per osd: RGW's pools otherwise exceed the per-OSD PG limit.
# - mon data avail crit = 0: the mon otherwise stops itself on a host disk under 5 % free.
cat >"$conf" <<CONF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$mon_port]
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = false
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
pid file = $dir/run/\$name.ceph.pid
crash dir = $dir/run/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
ms bind ipv6 = false
[mon]
mon data = $dir/mon/\$id
paxos propose interval = 0.05
[osd]
osd data = $dir/osd/\$id
osd objectstore = $store
bluestore block create = true
bluestore block size = $((size_gb << 30))
bluestore fsck on mount = false
bluestore fsck on mkfs = false
memstore device bytes = $((size_gb << 30))
osd memory target = 939524096
[client]
log file = $dir/log/\$name.log
ms mon client mode = crc
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $dir/rgw
rgw enable usage log = false
CONF

say "mon on 127.0.0.1:$mon_port (state in $dir)"
monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$dir/run/monmap" >/dev/null
ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/run/monmap" >"$dir/log/mkfs-mon.out" 2>&1 ||
  die "mon mkfs"
launch mon ceph-mon -i a
await "mon quorum" mon timeout 5 ceph -c "$conf" mon stat
say "osd ($store)"
osd_uuid=$(cat /proc/sys/kernel/random/uuid)
osd_id=$(timeout 30 ceph -c "$conf" osd new "$osd_uuid")
mkdir -p "$dir/osd/$osd_id"
ceph-osd -c "$conf" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >"$dir/log/mkfs-osd.out" 2>&1 ||
  die "osd mkfs"
launch osd ceph-osd -i "$osd_id"
await "osd up" osd bash -c "timeout 5 ceph -c '$conf' osd dump | grep '^osd.$osd_id up' >/dev/null"
say "radosgw on 127.0.0.1:$rgw_port"
mkdir -p "$dir/rgw"
launch rgw radosgw -n client.rgw.a
await "radosgw" rgw bash -c "curl -sf http://127.0.0.1:$rgw_port/ | grep ListAllMyBucketsResult >/dev/null"
timeout 60 radosgw-admin -c "$conf" user create --uid=regcache-test --display-name=regcache-test \
  --access-key="$access_key" --secret-key="$secret_key" >"$dir/log/user.json" 2>"$dir/log/user.err" ||
  die "user create"
cat >"$dir/s3.env" <<ENV
export RGW_DIR='$dir'
export S3_ENDPOINT=http://127.0.0.1:$rgw_port
export AWS_ACCESS_KEY_ID=$access_key
export AWS_SECRET_ACCESS_KEY=$secret_key
export AWS_DEFAULT_REGION=us-east-1
ENV
say "ready"
cat "$dir/s3.env"
