# Shared helpers for the e2e tests; sourced by each test script with the regcache binary as $1.
# Every process a test starts is recorded and ended by PID at exit; nothing is killed by name.
# Every wait is bounded.
set -euo pipefail

REGCACHE="$(realpath "${1:?usage: test.sh PATH/TO/regcache}")"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$(mktemp -d -t regcache-e2e.XXXXXX)"
PIDS=()
declare -A PID_NAMES=() # what spawn started under each PID, to name a crash at cleanup
EXIT_HOOKS=()
export HOME="$WORK/home" XDG_RUNTIME_DIR="$WORK/run"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
# nginx workers run as an unprivileged user and must reach the files they serve.
chmod 755 "$WORK"
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy NO_PROXY no_proxy ALL_PROXY all_proxy

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

dump_logs() {
  for f in "$WORK"/*.log; do
    [ -f "$f" ] || continue
    echo "---- $(basename "$f") (last 25 lines)" >&2
    tail -n 25 "$f" | cut -c1-400 >&2 || true
  done
}

fail() {
  log "FAIL: $*"
  exit 1
}

skip() {
  log "SKIP: $*"
  exit 77
}

cleanup() {
  local status=$?
  # Stop the proxy first and insist on a clean exit: a sanitizer report (leak, UB) at shutdown
  # or a crash fails the test even when every client check passed.
  if [ -n "${PROXY_PID:-}" ] && kill -0 "$PROXY_PID" 2>/dev/null; then
    kill -TERM "$PROXY_PID" 2>/dev/null || true
    local proxy_status=0
    wait "$PROXY_PID" 2>/dev/null || proxy_status=$?
    if [ "$proxy_status" != 0 ]; then
      log "FAIL: regcache exited with status $proxy_status"
      status=1
    fi
  fi
  if [ -f "${PROXY_LOG:-/nonexistent}" ] &&
    grep -qE "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:" "$PROXY_LOG"; then
    log "FAIL: sanitizer report in the proxy log"
    grep -A20 -E "Sanitizer|runtime error:" "$PROXY_LOG" | head -40 >&2
    status=1
  fi
  [ $status -ne 0 ] && [ $status -ne 77 ] && dump_logs
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill "${PIDS[$i]}" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    local ended=0
    { wait "$pid"; } 2>/dev/null || ended=$?
    # Past 128 a signal ended it; TERM and KILL are ours. Any other (SEGV, ABRT) is named, so
    # that a helper's crash at shutdown is not a nameless "Segmentation fault" from bash.
    if [ "$ended" -gt 128 ] && [ "$ended" != 143 ] && [ "$ended" != 137 ]; then
      log "note: ${PID_NAMES[$pid]:-process} (pid $pid) ended by signal $((ended - 128)) ($(kill -l $((ended - 128)) 2>/dev/null || echo '?')) at cleanup"
    fi
  done
  # Hooks undo what is not a process (a mount), after every process is gone.
  for hook in "${EXIT_HOOKS[@]}"; do eval "$hook" || true; done
  if [ $status -ne 0 ] && [ $status -ne 77 ]; then log "work dir kept for inspection: $WORK"; else rm -rf "$WORK"; fi
  exit $status
}
trap cleanup EXIT

# A random port that no socket uses now, below the kernel's ephemeral range so that outgoing
# connections (which take ephemeral ports) cannot collide with it.
free_port() {
  local port low
  low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  for _ in $(seq 1 200); do
    port=$((10000 + RANDOM % (low - 10000)))
    if ! ss -Htan "sport = :$port" | grep -q . && ! ss -Huan "sport = :$port" | grep -q .; then
      echo "$port"
      return
    fi
  done
  fail "no free port"
}

# Waits until 127.0.0.1:PORT accepts connections (at most 10 s).
wait_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  fail "nothing listens on port $1"
}

# Starts a background process and records its PID. Usage: spawn LOGFILE CMD...
spawn() {
  local logfile="$1"; shift
  "$@" >"$logfile" 2>&1 &
  PIDS+=($!)
  PID_NAMES[$!]="${1##*/}"
  LAST_PID=$!
}

# Test PKI for upstreams: make_pki DIR NAME... -> DIR/{ca,server}.{crt,key}
make_pki() { "$REPO/certs/make-test-pki.sh" "$@"; }

# dnsmasq on a loopback port answering every NAME with 127.0.0.1, or NAME=IP with IP (repeat a
# name for several addresses, e.g. dual.test=::1 dual.test=127.0.0.1). Sets DNS_PORT.
start_dns() {
  local attempt
  for attempt in 1 2 3; do
    start_dns_once "$@" && return 0
    log "dnsmasq could not bind port $DNS_PORT (attempt $attempt); trying another"
  done
  fail "dnsmasq did not start"
}

start_dns_once() {
  DNS_PORT=$(free_port)
  local args=(--keep-in-foreground --conf-file=/dev/null --port="$DNS_PORT"
    --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts --log-queries
    --log-facility=- --pid-file="$WORK/dnsmasq.pid")
  if [ "$(id -u)" = 0 ]; then args+=(--user=root); fi
  for entry in "$@"; do
    case "$entry" in
      *=*) args+=(--address="/${entry%%=*}/${entry#*=}") ;;
      *) args+=(--address="/$entry/127.0.0.1") ;;
    esac
  done
  spawn "$WORK/dnsmasq.log" dnsmasq "${args[@]}"
  for _ in $(seq 1 50); do
    grep -q "started" "$WORK/dnsmasq.log" 2>/dev/null && return 0
    kill -0 "$LAST_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# A TLS docker-registry on a loopback port with the PKI in DIR. Sets REG_PORT and REG_LOG.
# With REDIRECT_BASEURL set, blob GETs answer 307 to that base URL (the storage layout's path),
# the way Docker Hub sends clients to its CDN.
# Usage: start_registry PKI_DIR [TAG]
start_registry() {
  local pki="$1" tag="${2:-registry}" middleware=""
  if [ -n "${REDIRECT_BASEURL:-}" ]; then
    middleware="middleware:
  storage:
    - name: redirect
      options:
        baseurl: $REDIRECT_BASEURL"
  fi
  local auth=""
  if [ -n "${REGISTRY_HTPASSWD:-}" ]; then
    auth="auth:
  htpasswd:
    realm: regcache-e2e
    path: $REGISTRY_HTPASSWD"
  fi
  REG_PORT=$(free_port)
  REG_LOG="$WORK/$tag.log"
  mkdir -p "$WORK/$tag-data"
  cat >"$WORK/$tag.yml" <<YAML
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $WORK/$tag-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REG_PORT
  tls:
    certificate: $pki/server.crt
    key: $pki/server.key
$middleware
$auth
YAML
  # docker-registry reads any REGISTRY_* variable as configuration: give it a clean environment.
  spawn "$REG_LOG" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin docker-registry serve "$WORK/$tag.yml"
  wait_port "$REG_PORT"
}

# Builds a small OCI image layout in WORK/image (tag v1) without any network, with a layer of
# LAYER_KIB KiB of random data (default 64) plus a text file, for IMAGE_ARCH (default: this
# machine's). Sets IMAGE_DIR.
make_image() {
  local kib="${1:-64}" dir="$WORK/image" layer="$WORK/layer-src"
  local arch="${IMAGE_ARCH:-}"
  [ -n "$arch" ] || arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
  mkdir -p "$dir/blobs/sha256" "$layer"
  echo "hello from regcache e2e" >"$layer/hello.txt"
  head -c "$((kib * 1024))" /dev/urandom >"$layer/random.bin"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$layer" -cf "$WORK/layer.tar" .
  local diff_id; diff_id=$(sha256sum "$WORK/layer.tar" | cut -d' ' -f1)
  gzip -n -1 -c "$WORK/layer.tar" >"$WORK/layer.tar.gz"
  local layer_digest layer_size
  layer_digest=$(sha256sum "$WORK/layer.tar.gz" | cut -d' ' -f1)
  layer_size=$(stat -c %s "$WORK/layer.tar.gz")
  # Moved, and the sources removed: the large-layer tests would otherwise keep three copies.
  mv "$WORK/layer.tar.gz" "$dir/blobs/sha256/$layer_digest"
  rm -rf "$layer" "$WORK/layer.tar"
  printf '{"architecture":"%s","os":"linux","config":{"Cmd":["/hello.txt"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$arch" "$diff_id" >"$WORK/config.json"
  local config_digest config_size
  config_digest=$(sha256sum "$WORK/config.json" | cut -d' ' -f1)
  config_size=$(stat -c %s "$WORK/config.json")
  cp "$WORK/config.json" "$dir/blobs/sha256/$config_digest"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$config_digest" "$config_size" "$layer_digest" "$layer_size" >"$WORK/manifest.json"
  local manifest_digest manifest_size
  manifest_digest=$(sha256sum "$WORK/manifest.json" | cut -d' ' -f1)
  manifest_size=$(stat -c %s "$WORK/manifest.json")
  cp "$WORK/manifest.json" "$dir/blobs/sha256/$manifest_digest"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
    "$manifest_digest" "$manifest_size" >"$dir/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
  IMAGE_DIR="$dir"
  LAYER_DIGEST="sha256:$layer_digest"
}

# Pushes IMAGE_DIR to the registry directly (no proxy), as Docker schema 2 so dockerd can pull it,
# with USER:PASSWORD when given. Usage: push_image PKI_DIR REGISTRY_PORT REPO:TAG [USER:PASSWORD]
push_image() {
  local pki="$1" port="$2" ref="$3" creds="${4:-}" certs="$WORK/push-certs"
  mkdir -p "$certs"
  cp "$pki/ca.crt" "$certs/ca.crt"
  timeout 60 skopeo --insecure-policy copy --quiet --format v2s2 --dest-cert-dir "$certs" \
    ${creds:+--dest-creds "$creds"} \
    "oci:$IMAGE_DIR:v1" "docker://127.0.0.1:$port/$ref" >"$WORK/push.log" 2>&1 ||
    fail "direct push of $ref failed"
}

# The manifest digest seen directly from the registry (no proxy).
direct_digest() {
  local pki="$1" port="$2" ref="$3" certs="$WORK/direct-certs"
  mkdir -p "$certs"
  cp "$pki/ca.crt" "$certs/ca.crt"
  timeout 60 skopeo --insecure-policy inspect --raw --cert-dir "$certs" \
    "docker://127.0.0.1:$port/$ref" | sha256sum | cut -d' ' -f1
}

# Starts regcache on a free port with extra ARGS. Sets PROXY_PORT, PROXY_PID, PROXY_LOG,
# ACCESS_LOG and PROXY_BUNDLE (the PEM fetched from GET /ca.crt). PROXY_LOG_LEVEL (default debug)
# sets its log level: the benchmarks run it at warn.
start_proxy() {
  PROXY_PORT=$(free_port)
  PROXY_LOG="$WORK/proxy.log"
  ACCESS_LOG="$WORK/access.log"
  # Every test upstream listens on loopback, which the proxy refuses to reach by default.
  spawn "$PROXY_LOG" "$REGCACHE" serve --listen "127.0.0.1:$PROXY_PORT" --data-dir "$WORK/proxy-data" \
    --workers 2 --log-level "${PROXY_LOG_LEVEL:-debug}" --access-log "$ACCESS_LOG" --allow-target 127.0.0.0/8 \
    --allow-target ::1 "$@"
  PROXY_PID=$LAST_PID
  wait_port "$PROXY_PORT"
  PROXY_BUNDLE="$WORK/proxy-roots.pem"
  curl -fsS "http://127.0.0.1:$PROXY_PORT/ca.crt" -o "$PROXY_BUNDLE" || fail "GET /ca.crt failed"
  grep -q "BEGIN CERTIFICATE" "$PROXY_BUNDLE" || fail "GET /ca.crt returned no certificate"
  PROXY_CERT_DIR="$WORK/proxy-certs"
  mkdir -p "$PROXY_CERT_DIR"
  cp "$PROXY_BUNDLE" "$PROXY_CERT_DIR/ca.crt"
}

# Runs a command as a client of the proxy that trusts only the proxy's bundle.
through_proxy() {
  env HTTPS_PROXY="http://127.0.0.1:$PROXY_PORT" HTTP_PROXY="http://127.0.0.1:$PROXY_PORT" \
    NO_PROXY= SSL_CERT_FILE="$PROXY_BUNDLE" SSL_CERT_DIR="$WORK/no-such-dir" "$@"
}

# skopeo copies REGISTRY/REF through the proxy into the OCI layout $WORK/out-NAME (tag v1),
# replacing an earlier one; its output goes to $WORK/skopeo.log.
# Usage: skopeo_pull REGISTRY REF NAME [SKOPEO ARGS...]
skopeo_pull() {
  local registry="$1" ref="$2" name="$3"
  shift 3
  rm -rf "$WORK/out-$name"
  through_proxy timeout 60 skopeo --insecure-policy copy --quiet --src-cert-dir "$PROXY_CERT_DIR" "$@" \
    "docker://$registry/$ref" "oci:$WORK/out-$name:v1" >>"$WORK/skopeo.log" 2>&1
}

# Peak resident memory of a process, in KiB.
peak_rss_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

# nginx as the test's child, serving ROOT over TLS (PKI_DIR's server cert) on NGINX_TLS_PORT and
# over plain HTTP on NGINX_PLAIN_PORT. Usage: start_nginx PKI_DIR ROOT [TAG]
# The start of an nginx.conf whose logs and temp files stay under PREFIX (its http block is left
# open for the caller). Usage: nginx_preamble PREFIX
nginx_preamble() {
  cat <<CONF
worker_processes 1;
events { worker_connections 256; }
http {
  access_log $1/logs/access.log;
  client_body_temp_path $1/tmp;
  proxy_temp_path $1/tmp;
  fastcgi_temp_path $1/tmp;
  uwsgi_temp_path $1/tmp;
  scgi_temp_path $1/tmp;
CONF
}

start_nginx() {
  local pki="$1" root="$2" tag="${3:-nginx}"
  NGINX_TLS_PORT=$(free_port)
  NGINX_PLAIN_PORT=$(free_port)
  local prefix="$WORK/$tag"
  mkdir -p "$prefix/logs" "$prefix/tmp"
  cat >"$prefix/nginx.conf" <<CONF
$(nginx_preamble "$prefix")
  sendfile on;
  server {
    listen 127.0.0.1:$NGINX_TLS_PORT ssl;
    listen 127.0.0.1:$NGINX_PLAIN_PORT;
    ${NGINX_IPV6:+listen [::1]:$NGINX_PLAIN_PORT;}
    ssl_certificate $pki/server.crt;
    ssl_certificate_key $pki/server.key;
    root $root;
  }
}
CONF
  spawn "$WORK/$tag.log" nginx -p "$prefix" -c "$prefix/nginx.conf" \
    -g "daemon off; pid $prefix/nginx.pid; error_log $prefix/logs/error.log;"
  wait_port "$NGINX_TLS_PORT"
  wait_port "$NGINX_PLAIN_PORT"
}

# nginx as the test's child, a TLS reverse proxy (PKI_DIR's server cert) on NGINX_TLS_PORT in
# front of the TLS upstream on 127.0.0.1:BACKEND_PORT. A test shapes the answers with
# NGINX_HTTP_EXTRA (http-level directives, e.g. limit_req_zone) and NGINX_LOCATIONS (location
# blocks, matched before the catch-all that forwards). Sets NGINX_PID and NGINX_PREFIX.
# Usage: start_nginx_proxy PKI_DIR BACKEND_PORT [TAG]
start_nginx_proxy() {
  local pki="$1" backend="$2" tag="${3:-nginx}"
  NGINX_TLS_PORT=$(free_port)
  NGINX_PREFIX="$WORK/$tag"
  NGINX_PKI="$pki"
  NGINX_BACKEND_PORT="$backend"
  mkdir -p "$NGINX_PREFIX/logs" "$NGINX_PREFIX/tmp"
  write_nginx_proxy_conf
  spawn "$WORK/$tag.log" nginx -p "$NGINX_PREFIX" -c "$NGINX_PREFIX/nginx.conf" \
    -g "daemon off; pid $NGINX_PREFIX/nginx.pid; error_log $NGINX_PREFIX/logs/error.log;"
  NGINX_PID=$LAST_PID
  wait_port "$NGINX_TLS_PORT"
}

# Rewrites the configuration of start_nginx_proxy from the current NGINX_HTTP_EXTRA and
# NGINX_LOCATIONS and has nginx reload it (same port). Returns once every worker of the old
# configuration has exited: until then old and new workers accept side by side.
reload_nginx_proxy() {
  local old_workers pid
  write_nginx_proxy_conf
  nginx -t -p "$NGINX_PREFIX" -c "$NGINX_PREFIX/nginx.conf" \
    -g "pid $NGINX_PREFIX/nginx.pid; error_log $NGINX_PREFIX/logs/error.log;" \
    >>"$NGINX_PREFIX/logs/test.log" 2>&1 || fail "the new nginx configuration is invalid"
  old_workers=$(ps -o pid= --ppid "$NGINX_PID" || true)
  kill -HUP "$NGINX_PID"
  for pid in $old_workers; do
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    ! kill -0 "$pid" 2>/dev/null || fail "nginx worker $pid of the old configuration did not exit"
  done
}

write_nginx_proxy_conf() {
  local prefix="$NGINX_PREFIX"
  cat >"$prefix/nginx.conf" <<CONF
$(nginx_preamble "$prefix")
  ${NGINX_HTTP_EXTRA:-}
  server {
    listen 127.0.0.1:$NGINX_TLS_PORT ssl;
    ssl_certificate $NGINX_PKI/server.crt;
    ssl_certificate_key $NGINX_PKI/server.key;
    client_max_body_size 0;
    # The hop under test is the proxy's, which verifies nginx; this one is the test's own
    # loopback registry, left unverified.
    proxy_ssl_verify off;
    proxy_http_version 1.1;
    proxy_set_header Host \$http_host;
    proxy_buffering off;
    proxy_request_buffering off;
    ${NGINX_LOCATIONS:-}
    location / { proxy_pass https://127.0.0.1:$NGINX_BACKEND_PORT; }
  }
}
CONF
}

# An htpasswd file (apr1 hashes, which nginx checks itself) for USER:PASSWORD pairs.
# Usage: make_htpasswd FILE USER:PASSWORD...
make_htpasswd() {
  local file="$1" entry; shift
  : >"$file"
  for entry in "$@"; do
    printf '%s:%s\n' "${entry%%:*}" "$(openssl passwd -apr1 "${entry#*:}")" >>"$file"
  done
}

# nginx over TLS (PKI_DIR's server cert) on NGINX_TLS_PORT in front of the TLS registry on
# UPSTREAM_PORT, asking for HTTP Basic credentials from HTPASSWD for the /v2/ ping and for every
# PREFIX given (e.g. /v2/private/); other paths pass without credentials. Its access log
# (NGINX_ACCESS_LOG) names the user: 127.0.0.1 - alice [...] "GET /v2/... HTTP/1.1" 200 SIZE ...
# Usage: start_nginx_basic_auth PKI_DIR UPSTREAM_PORT HTPASSWD PREFIX...
start_nginx_basic_auth() {
  local pki="$1" upstream="$2" htpasswd="$3" tag="nginx-auth" prefix_path guarded=""
  shift 3
  NGINX_TLS_PORT=$(free_port)
  local prefix="$WORK/$tag"
  mkdir -p "$prefix/logs" "$prefix/tmp"
  NGINX_ACCESS_LOG="$prefix/logs/access.log"
  for prefix_path in "$@"; do
    guarded+="    location ^~ $prefix_path {
      auth_basic \"regcache test\";
      auth_basic_user_file $htpasswd;
      proxy_pass https://127.0.0.1:$upstream;
    }
"
  done
  cat >"$prefix/nginx.conf" <<CONF
$(nginx_preamble "$prefix")
  server {
    listen 127.0.0.1:$NGINX_TLS_PORT ssl;
    ssl_certificate $pki/server.crt;
    ssl_certificate_key $pki/server.key;
    client_max_body_size 0;
    proxy_http_version 1.1;
    proxy_request_buffering off;
    proxy_buffering off;
    proxy_set_header Host \$http_host;
    proxy_set_header X-Forwarded-Proto https;
    location = /v2/ {
      auth_basic "regcache test";
      auth_basic_user_file $htpasswd;
      proxy_pass https://127.0.0.1:$upstream;
    }
$guarded
    location / {
      proxy_pass https://127.0.0.1:$upstream;
    }
  }
}
CONF
  spawn "$WORK/$tag.log" nginx -p "$prefix" -c "$prefix/nginx.conf" \
    -g "daemon off; pid $prefix/nginx.pid; error_log $prefix/logs/error.log;"
  wait_port "$NGINX_TLS_PORT"
}
