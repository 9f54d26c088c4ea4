#!/usr/bin/env bash
# Stops the daemons tests/ceph/rgw-up.sh started under RGW_DIR, by the PIDs it recorded (each
# checked to still be that daemon on that config, against PID reuse), then removes RGW_DIR
# (KEEP_STATE=1 keeps it). Never kills by name.
set -uo pipefail
dir=$(realpath -m "${RGW_DIR:?set RGW_DIR to the directory rgw-up.sh printed}")
[ -f "$dir/ceph.conf" ] || { echo "rgw-down: $dir is not an rgw-up directory" >&2; exit 1; }
running() { [ -r "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat")" != Z ]; }
declare -A program=([rgw]=radosgw [osd]=ceph-osd [mon]=ceph-mon)
for name in rgw osd mon; do
  file="$dir/run/$name.pid"
  [ -f "$file" ] || continue
  pid=$(cat "$file")
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
  if [[ $cmd == "${program[$name]} "*"-c $dir/ceph.conf"* ]]; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 150); do running "$pid" || break; sleep 0.1; done
    running "$pid" && { echo "rgw-down: $name ($pid) ignored TERM for 15 s: KILL" >&2; kill -KILL "$pid"; }
  fi
  rm -f "$file"
done
[ "${KEEP_STATE:-0}" = 1 ] || rm -rf --one-file-system -- "$dir"
