# Helpers for bench/run, on top of tests/e2e/lib.sh (sourced first): the anchors the e2e tests do
# not start (nginx tuned as a TLS ceiling, the distribution registry as a pull-through mirror),
# uploads of raw blobs and manifests, and recording one measurement as a JSON line.

# Appends one measurement: record WORKLOAD SYSTEM ROUND JSON_OBJECT (the loadgen's, or built here).
record() {
  printf '{"workload":"%s","system":"%s","round":%s,"m":%s}\n' "$1" "$2" "$3" "$4" >>"$ROUNDS"
}

# Wall-clock seconds a command takes, which must succeed: seconds CMD...
seconds_of() {
  local start end
  start=$(date +%s.%N)
  "$@" >>"$WORK/bench.log" 2>&1 || fail "$* failed"
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.4f\n", e - s }'
}

# User and system clock ticks (getconf CLK_TCK a second) of PIDs so far, summed: "U S".
cpu_of() {
  local pid u=0 s=0 fields
  for pid in "$@"; do
    [ -n "$pid" ] || continue
    read -ra fields <"/proc/$pid/stat"
    # Fields 14 and 15 (utime, stime); the command name (field 2) has no spaces here.
    u=$((u + fields[13])); s=$((s + fields[14]))
  done
  echo "$u $s"
}
# Busy and total ticks of the whole machine so far: "BUSY TOTAL".
machine_cpu() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }

# Runs COMMAND... like seconds_of and prints a JSON object without its closing brace: the seconds,
# regcache's CPU seconds over them (PROXY_PID) and the whole machine's busy CPU seconds, so that a
# caller can add fields and close it.
seconds_and_cpu_json() {
  local p0 p1 m0 m1 t
  p0=$(cpu_of "$PROXY_PID"); m0=$(machine_cpu)
  t=$(seconds_of "$@")
  p1=$(cpu_of "$PROXY_PID"); m1=$(machine_cpu)
  awk -v t="$t" -v p0="$p0" -v p1="$p1" -v m0="$m0" -v m1="$m1" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    split(p0, a, " "); split(p1, b, " "); split(m0, c, " "); split(m1, d, " ")
    printf "{\"seconds\":%s,\"regcache_cpu_s\":%.2f,\"machine_busy_s\":%.2f", t,
      (b[1] + b[2] - a[1] - a[2]) / hz, (d[1] - c[1]) / hz }'
}

# Resident memory of a process now, in KiB.
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# nginx with two workers (as many as regcache's), TLS 1.3 only, the PKI's ECDSA P-256 server
# certificate, no session cache and no tickets (every handshake a full one), and keep-alive that
# never ends a benchmark connection. Serves ROOT on NGINX_TLS_PORT. Usage: start_anchor_nginx PKI ROOT
start_anchor_nginx() {
  local pki="$1" root="$2" prefix="$WORK/anchor-nginx"
  NGINX_TLS_PORT=$(free_port)
  mkdir -p "$prefix/logs" "$prefix/tmp"
  cat >"$prefix/nginx.conf" <<CONF
worker_processes 2;
worker_rlimit_nofile 20000;
events { worker_connections 10000; }
http {
  access_log off;
  client_body_temp_path $prefix/tmp;
  proxy_temp_path $prefix/tmp;
  fastcgi_temp_path $prefix/tmp;
  uwsgi_temp_path $prefix/tmp;
  scgi_temp_path $prefix/tmp;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$NGINX_TLS_PORT ssl;
    ssl_protocols TLSv1.3;
    ssl_certificate $pki/server.crt;
    ssl_certificate_key $pki/server.key;
    ssl_session_tickets off;
    ssl_session_cache off;
    root $root;
  }
}
CONF
  spawn "$WORK/anchor-nginx.log" nginx -p "$prefix" -c "$prefix/nginx.conf" \
    -g "daemon off; pid $prefix/nginx.pid; error_log $prefix/logs/error.log;"
  wait_port "$NGINX_TLS_PORT"
}

# The distribution registry as a pull-through cache (proxy.remoteurl) of the TLS registry on
# 127.0.0.1:UPSTREAM_PORT, itself over TLS with the PKI's server certificate. Sets MIRROR_PORT.
# Usage: start_mirror PKI UPSTREAM_PORT
start_mirror() {
  local pki="$1" upstream="$2"
  MIRROR_PORT=$(free_port)
  mkdir -p "$WORK/mirror-data"
  cat >"$WORK/mirror.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $WORK/mirror-data
http:
  addr: 127.0.0.1:$MIRROR_PORT
  tls:
    certificate: $pki/server.crt
    key: $pki/server.key
proxy:
  remoteurl: https://127.0.0.1:$upstream
YAML
  # A clean environment (docker-registry reads REGISTRY_* variables) that trusts the test CA.
  spawn "$WORK/mirror.log" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SSL_CERT_FILE="$pki/ca.crt" \
    docker-registry serve "$WORK/mirror.yml"
  wait_port "$MIRROR_PORT"
}

# curl straight to the registry (no proxy) with the test CA.
registry_curl() {
  curl -fsS --max-time 120 --cacert "$WORK/pki/ca.crt" \
    --resolve "registry.test:$REG_PORT:127.0.0.1" "$@"
}

# Uploads FILE as a blob of REPO in one PUT. Prints its digest. Usage: push_blob REPO FILE
push_blob() {
  local repo="$1" file="$2" digest location
  digest="sha256:$(sha256sum "$file" | cut -d' ' -f1)"
  location=$(registry_curl -X POST -D - -o /dev/null "https://registry.test:$REG_PORT/v2/$repo/blobs/uploads/" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "location" {print $2}')
  [ -n "$location" ] || fail "no upload location for $repo"
  case "$location" in http*) ;; *) location="https://registry.test:$REG_PORT$location" ;; esac
  case "$location" in *\?*) location="$location&digest=$digest" ;; *) location="$location?digest=$digest" ;; esac
  registry_curl --max-time 900 -X PUT -H 'Content-Type: application/octet-stream' --upload-file "$file" \
    -o /dev/null "$location" || fail "blob upload to $repo failed"
  echo "$digest"
}

# Uploads FILE as an OCI image manifest REPO:TAG. Prints its digest. Usage: push_manifest REPO TAG FILE
push_manifest() {
  registry_curl -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$3" -o /dev/null "https://registry.test:$REG_PORT/v2/$1/manifests/$2" ||
    fail "manifest upload $1:$2 failed"
  echo "sha256:$(sha256sum "$3" | cut -d' ' -f1)"
}

# A manifest of about 2 KB (a config, one small layer and annotations that pad it, as real
# manifests' labels do), pushed as REPO:TAG; its bytes are left in FILE. Prints its digest.
# Usage: push_small_manifest REPO TAG FILE
push_small_manifest() {
  local repo="$1" tag="$2" file="$3" config_digest layer_digest pad
  printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$WORK/small-config.json"
  head -c 1024 /dev/urandom >"$WORK/small-layer.bin"
  config_digest=$(push_blob "$repo" "$WORK/small-config.json")
  layer_digest=$(push_blob "$repo" "$WORK/small-layer.bin")
  pad=$(head -c 1500 /dev/zero | tr '\0' 'x')
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":1024}],"annotations":{"org.opencontainers.image.description":"%s","tag":"%s"}}' \
    "$config_digest" "$(stat -c %s "$WORK/small-config.json")" "$layer_digest" "$pad" "$tag" >"$file"
  push_manifest "$repo" "$tag" "$file"
}

# An OCI image layout in WORK/image (tag v1) with LAYERS layers of LAYER_KIB KiB of random bytes
# each (gzip-framed tars), for skopeo to push with push_image. Sets IMAGE_DIR.
# Usage: make_layered_image LAYERS LAYER_KIB
make_layered_image() {
  local layers="$1" kib="$2" dir="$WORK/image" i digest size diff_ids="" entries=""
  local arch; arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
  rm -rf "$dir"
  mkdir -p "$dir/blobs/sha256" "$WORK/layer-src"
  for i in $(seq 1 "$layers"); do
    head -c "$((kib * 1024))" /dev/urandom >"$WORK/layer-src/random.bin"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$WORK/layer-src" -cf "$WORK/layer.tar" .
    diff_ids+="${diff_ids:+,}\"sha256:$(sha256sum "$WORK/layer.tar" | cut -d' ' -f1)\""
    gzip -n -1 -c "$WORK/layer.tar" >"$WORK/layer.tar.gz"
    digest=$(sha256sum "$WORK/layer.tar.gz" | cut -d' ' -f1)
    size=$(stat -c %s "$WORK/layer.tar.gz")
    mv "$WORK/layer.tar.gz" "$dir/blobs/sha256/$digest"
    entries+="${entries:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$digest\",\"size\":$size}"
  done
  rm -rf "$WORK/layer-src" "$WORK/layer.tar"
  printf '{"architecture":"%s","os":"linux","rootfs":{"type":"layers","diff_ids":[%s]}}' "$arch" "$diff_ids" >"$WORK/config.json"
  local config_digest; config_digest=$(sha256sum "$WORK/config.json" | cut -d' ' -f1)
  cp "$WORK/config.json" "$dir/blobs/sha256/$config_digest"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
    "$config_digest" "$(stat -c %s "$WORK/config.json")" "$entries" >"$WORK/manifest.json"
  local manifest_digest; manifest_digest=$(sha256sum "$WORK/manifest.json" | cut -d' ' -f1)
  cp "$WORK/manifest.json" "$dir/blobs/sha256/$manifest_digest"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
    "$manifest_digest" "$(stat -c %s "$WORK/manifest.json")" >"$dir/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
  IMAGE_DIR="$dir"
}

# The load generator through regcache (CONNECT) to HOST:PORT: via_proxy HOST:PORT LOADGEN ARGS...
via_proxy() {
  local target="$1"; shift
  "$LOADGEN" --proxy "127.0.0.1:$PROXY_PORT" --target "$target" --cafile "$PROXY_BUNDLE" "$@" \
    2>>"$WORK/loadgen.log"
}
# The load generator straight to HOST:PORT on 127.0.0.1 over TLS with the test CA.
direct_to() {
  local target="$1"; shift
  "$LOADGEN" --connect-address 127.0.0.1 --target "$target" --cafile "$WORK/pki/ca.crt" "$@" \
    2>>"$WORK/loadgen.log"
}

# Fails unless a loadgen JSON result completed at least one request and had no errors.
check_run() { # WHAT JSON
  local ok errors
  ok=$(sed -n 's/.*"ok":\([0-9]*\).*/\1/p' <<<"$2")
  errors=$(sed -n 's/.*"errors":\([0-9]*\).*/\1/p' <<<"$2")
  [ "${ok:-0}" -gt 0 ] || fail "$1: nothing completed: $2"
  [ "${errors:-1}" = 0 ] || log "WARN $1: $errors errors: $(sed -n 's/.*"first_error":"\([^"]*\)".*/\1/p' <<<"$2")"
}

# Purges DIGEST from regcache's cache, so the next request for it is a miss.
purge() { "$REGCACHE" cache rm --data-dir "$WORK/proxy-data" "$1" >>"$WORK/bench.log" 2>&1 || true; }

# The committed blob files of regcache's cache, sorted (for comm).
blob_files() { find "$WORK/proxy-data/blobs" -type f | sort; }

# How many of regcache's answers for DIGEST were cache misses, from its access log.
misses() { grep -c "/blobs/$1\" status=200 .*cache=MISS" "$ACCESS_LOG" || true; }

# Squid with ssl-bump as a generic caching MITM proxy: it mints leaves from its own ECDSA P-256
# CA (SQUID_CA, which its clients trust), verifies upstreams with PKI's CA, resolves the test
# names from a hosts file (it cannot ask dnsmasq on a port other than 53), and caches in memory
# objects up to 2 GiB. Sets SQUID_PORT. Usage: start_squid PKI NAME...
start_squid() {
  local pki="$1" dir="$WORK/squid" name owner=""
  shift
  SQUID_PORT=$(free_port)
  mkdir -p "$dir"
  SQUID_CA="$dir/ca.pem"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=bench squid CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  cat "$dir/ca.crt" "$dir/ca.key" >"$SQUID_CA"
  : >"$dir/hosts"
  for name in "$@"; do echo "127.0.0.1 $name" >>"$dir/hosts"; done
  cat >"$dir/squid.conf" <<CONF
http_port 127.0.0.1:$SQUID_PORT ssl-bump generate-host-certificates=on dynamic_cert_mem_cache_size=16MB tls-cert=$SQUID_CA
sslcrtd_program /usr/lib/squid/security_file_certgen -s $dir/ssl_db -M 16MB
sslcrtd_children 4 startup=1 idle=1
acl step1 at_step SslBump1
ssl_bump peek step1
ssl_bump bump all
tls_outgoing_options cafile=$pki/ca.crt
acl localnet src 127.0.0.0/8
acl SSL_ports port 1-65535
acl Safe_ports port 1-65535
acl CONNECT method CONNECT
http_access allow localnet
http_access deny all
hosts_file $dir/hosts
cache_mem 3072 MB
maximum_object_size_in_memory 2 GB
maximum_object_size 2 GB
memory_cache_mode always
pid_filename $dir/squid.pid
cache_log $dir/cache.log
access_log stdio:$dir/access.log
coredump_dir $dir
shutdown_lifetime 1 seconds
CONF
  if [ "$(id -u)" = 0 ]; then owner=proxy; fi
  if [ -n "$owner" ]; then
    chown -R "$owner" "$dir"
    su -s /bin/sh "$owner" -c "/usr/lib/squid/security_file_certgen -c -s $dir/ssl_db -M 16MB" >/dev/null
  else
    /usr/lib/squid/security_file_certgen -c -s "$dir/ssl_db" -M 16MB >/dev/null
  fi
  spawn "$WORK/squid.log" squid -N -f "$dir/squid.conf"
  wait_port "$SQUID_PORT"
}

# The load generator through Squid (CONNECT, bumped) to HOST:PORT: via_squid HOST:PORT ARGS...
via_squid() {
  local target="$1"; shift
  "$LOADGEN" --proxy "127.0.0.1:$SQUID_PORT" --target "$target" --cafile "$SQUID_CA" "$@" \
    2>>"$WORK/loadgen.log"
}

# With PERF_DIR set, records regcache's CPU profile (perf record -g) and its system calls (perf
# trace -s) while CMD runs, and writes where the time went into PERF_DIR/NAME.txt: by shared
# object, by symbol, and the calls per thread with their counts and total times. CMD's output is
# passed on. Without PERF_DIR, just runs CMD. Usage: profiled NAME CMD...
profiled() {
  local name="$1" record_pid trace_pid status=0
  shift
  if [ -z "${PERF_DIR:-}" ]; then "$@"; return; fi
  # perf trace costs CPU that perf record then samples: PERF_TOOLS=record (or trace) runs one.
  local tools="${PERF_TOOLS:-record trace}"
  : >"$WORK/$name.trace"
  if [[ "$tools" == *record* ]]; then
    perf record -g -F 999 -o "$WORK/$name.perf" -p "$PROXY_PID" >>"$WORK/perf.log" 2>&1 &
  else sleep 0 & fi
  record_pid=$!
  if [[ "$tools" == *trace* ]]; then
    perf trace -s -p "$PROXY_PID" -o "$WORK/$name.trace" >>"$WORK/perf.log" 2>&1 &
  else sleep 0 & fi
  trace_pid=$!
  PIDS+=("$record_pid" "$trace_pid")
  sleep 1
  "$@" || status=$?
  kill -INT "$record_pid" "$trace_pid" 2>/dev/null || true
  wait "$record_pid" "$trace_pid" 2>/dev/null || true
  {
    echo "# regcache during $name: perf record -g -F 999 -p PID; perf report --no-children"
    echo "# by shared object"
    perf report -i "$WORK/$name.perf" --stdio --no-children --sort dso -g none 2>/dev/null |
      grep -v '^#' | grep '%' | head -12
    echo "# by symbol"
    perf report -i "$WORK/$name.perf" --stdio --no-children --sort dso,sym -g none \
      --percent-limit 0.7 2>/dev/null | grep -v '^#' | grep '%' | head -40
    echo "# system calls (perf trace -s -p PID): per thread, calls and total ms"
    grep -E '^ .*\(|^ +[a-z_0-9]+ +[0-9]+ ' "$WORK/$name.trace" | head -60
  } >"$PERF_DIR/$name.txt"
  return $status
}
