#!/usr/bin/env bash
# Throughput of one large body through regcache (intercepted TLS on both sides) against the same
# download straight from the origin, in one run on one machine, so the ratio is what counts.
# Also reports regcache's peak RSS (VmHWM) during the proxied downloads.
#
# Usage: bench/throughput.sh PATH/TO/regcache [SIZE_MIB] [ROUNDS]
set -euo pipefail
bin=$(realpath "$1"); size_mib="${2:-1024}"; rounds="${3:-3}"
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
chmod 755 "$work" # nginx workers run unprivileged
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { # a random high port nobody listens on
  local p
  for _ in $(seq 1 50); do
    p=$((10000 + RANDOM % 22000)) # below the ephemeral range
    if ! ss -ltnH "sport = :$p" | grep -q .; then echo "$p"; return; fi
  done
  echo "no free port" >&2; exit 1
}
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 not up" >&2; exit 1; }

# Origin: nginx over TLS with a throwaway CA, serving a sparse file.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench CA" \
  -keyout "$work/ca.key" -out "$work/ca.crt" -addext "basicConstraints=critical,CA:TRUE" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=origin.bench" \
  -keyout "$work/origin.key" -out "$work/origin.csr" 2>/dev/null
openssl x509 -req -in "$work/origin.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
  -days 2 -out "$work/origin.crt" -extfile <(printf "subjectAltName=DNS:origin.bench,IP:127.0.0.1") 2>/dev/null
truncate -s "${size_mib}M" "$work/blob"
nginx_port=$(free_port)
mkdir -p "$work/nginx/logs"
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
events { worker_connections 64; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$nginx_port ssl;
    ssl_certificate $work/origin.crt;
    ssl_certificate_key $work/origin.key;
    root $work;
  }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx.conf" -g "daemon off; pid $work/nginx.pid; error_log $work/nginx/error.log;" &
pids+=($!)

proxy_port=$(free_port)
"$bin" serve --listen "127.0.0.1:$proxy_port" --data-dir "$work/data" --upstream-ca "$work/ca.crt" \
  --allow-target 127.0.0.0/8 \
  --workers 2 --log-level warn --access-log "$work/access.log" 2>"$work/proxy.log" &
proxy_pid=$!; pids+=($proxy_pid)
wait_port "$nginx_port"; wait_port "$proxy_port"
curl -fsS "http://127.0.0.1:$proxy_port/ca.crt" -o "$work/proxy-roots.pem"

url="https://origin.bench:$nginx_port/blob"
resolve=(--resolve "origin.bench:$nginx_port:127.0.0.1")
direct=(); proxied=()
for i in $(seq 1 "$rounds"); do
  direct+=("$(curl -fsS -o /dev/null -w '%{speed_download}' --cacert "$work/ca.crt" "${resolve[@]}" "$url")")
  proxied+=("$(curl -fsS -o /dev/null -w '%{speed_download}' --proxy "http://127.0.0.1:$proxy_port" \
    --cacert "$work/proxy-roots.pem" "https://127.0.0.1:$nginx_port/blob")")
done
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$proxy_pid/status")
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
d=$(median "${direct[@]}"); p=$(median "${proxied[@]}")
awk -v d="$d" -v p="$p" -v s="$size_mib" -v r="$rounds" -v h="$hwm" 'BEGIN {
  printf "body %d MiB, %d rounds (median)\n", s, r;
  printf "direct  TLS from nginx:          %8.1f MiB/s\n", d/1048576;
  printf "through regcache (TLS both ways): %8.1f MiB/s\n", p/1048576;
  printf "ratio regcache/direct:            %8.2f\n", p/d;
  printf "regcache peak RSS (VmHWM):        %8.1f MiB\n", h/1024;
}'
