# Helpers for the fleet e2e tests (docs/fleet.md): a real RGW (tests/ceph/rgw-up.sh) holding one
# bucket, and several regcache processes with their own data dirs and indexes sharing it.
# Sourced after lib.sh.

# Starts RGW under WORK/rgw (stopped at exit by the PIDs rgw-up.sh recorded) and creates the
# bucket BUCKET. Sets S3_ENDPOINT, AWS_* (exported, for regcache) and RGW_DIR. Skips (77) when
# radosgw is not installed.
start_rgw() {
  command -v radosgw >/dev/null || skip "radosgw is not installed (scripts/install-deps)"
  RGW_DIR="$WORK/rgw"
  local env_out
  env_out=$(RGW_DIR="$RGW_DIR" "$REPO/tests/ceph/rgw-up.sh") || fail "RGW did not start"
  eval "$env_out"
  EXIT_HOOKS+=("[ -f '$RGW_DIR/ceph.conf' ] && RGW_DIR='$RGW_DIR' '$REPO/tests/ceph/rgw-down.sh' >/dev/null 2>&1")
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  s3_curl -X PUT "$S3_ENDPOINT/$BUCKET" -o /dev/null || fail "cannot create bucket $BUCKET"
}

# curl signed for RGW with the fleet's keys.
s3_curl() {
  curl -sS --fail --max-time 30 --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: ${S3_SHA:-UNSIGNED-PAYLOAD}" "$@"
}

# Whether the bucket holds the blob DIGEST ("sha256:..."): its object's HTTP status.
bucket_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 30 --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
    -I "$S3_ENDPOINT/$BUCKET/${MEMBER_PREFIX:-fleet}/blobs/sha256/${1#sha256:}"
}

# Starts fleet member NAME (a, b, c...) with its own data dir, sharing the bucket (under
# MEMBER_PREFIX, default fleet; NO_STORE=1: no bucket; MEMBER_STORE_REGISTRIES, default "*": the
# --store-registries it may serve from the bucket), plus ARGS.
# Sets MEMBER_PORT[NAME], MEMBER_PID[NAME], MEMBER_CERTS[NAME]; the access log is
# WORK/access-NAME.log.
declare -A MEMBER_PORT MEMBER_PID MEMBER_CERTS MEMBER_BUNDLE
start_member() {
  local name="$1"; shift
  local port; port=$(free_port)
  local store=(--store "s3://$BUCKET/${MEMBER_PREFIX:-fleet}" --s3-endpoint "$S3_ENDPOINT"
    --s3-allow-plain-http --store-registries "${MEMBER_STORE_REGISTRIES:-*}")
  [ -n "${NO_STORE:-}" ] && store=() # a host with its local disk alone (the benchmarks' anchor)
  spawn "$WORK/proxy-$name.log" "$REGCACHE" serve --listen "127.0.0.1:$port" \
    --data-dir "$WORK/data-$name" --workers 2 --log-level "${MEMBER_LOG_LEVEL:-debug}" \
    --access-log "$WORK/access-$name.log" --allow-target 127.0.0.0/8 \
    "${store[@]}" "$@"
  MEMBER_PID[$name]=$LAST_PID
  MEMBER_PORT[$name]=$port
  wait_port "$port"
  mkdir -p "$WORK/certs-$name"
  curl -fsS "http://127.0.0.1:$port/ca.crt" -o "$WORK/certs-$name/ca.crt" || fail "GET /ca.crt of $name"
  MEMBER_CERTS[$name]="$WORK/certs-$name"
  MEMBER_BUNDLE[$name]="$WORK/certs-$name/ca.crt"
}

# skopeo pulls REGISTRY/REF through member NAME into WORK/out-NAME. Usage: member_pull NAME
# REGISTRY REF [SKOPEO ARGS...]; its output is appended to WORK/skopeo.log.
member_pull() {
  local name="$1" registry="$2" ref="$3"; shift 3
  rm -rf "$WORK/out-$name"
  env HTTPS_PROXY="http://127.0.0.1:${MEMBER_PORT[$name]}" NO_PROXY= \
    timeout 120 skopeo --insecure-policy copy --quiet --src-cert-dir "${MEMBER_CERTS[$name]}" "$@" \
    "docker://$registry/$ref" "oci:$WORK/out-$name:v1" >>"$WORK/skopeo.log" 2>&1
}

# The layer in WORK/out-NAME is the right one.
check_layer() {
  local hex=${LAYER_DIGEST#sha256:} got
  got=$(sha256sum "$WORK/out-$1/blobs/sha256/$hex" 2>/dev/null | cut -d' ' -f1 || true)
  [ "$got" = "$hex" ] || fail "member $1 pulled a wrong or missing layer (sha256 ${got:-none})"
}

# Blob GETs the registry served under REPO so far.
blob_gets() { grep -c "\"GET /v2/$1/blobs/" "$REG_LOG" || true; }
