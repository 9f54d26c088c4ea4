#!/usr/bin/env bash
# The bucket shares bytes, not trust (docs/fleet.md): nginx in front of a TLS docker-registry asks
# for Basic credentials under /v2/private/ (and for the /v2/ ping). Two fleet members A and B
# share one bucket on a real RGW, and B may serve this registry from it (--store-registries).
# 1. alice pulls private/app:v1 through A: the layer is fetched upstream and reaches the bucket.
# 2. Anonymous clients of B (skopeo, and plain GETs/HEADs of the layer with no or wrong
#    credentials) get upstream's own 401, never the bucket's bytes: no 200 and no BUCKET serve of
#    the layer in B's access log, and B's data dir holds no copy of the layer.
# 3. bob (valid credentials) pulls through B: upstream says yes (a HEAD), the layer comes from the
#    bucket (cache=BUCKET) with no upstream GET of it, byte for byte the pushed layer.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fleet_lib.sh"
BUCKET=regcache-isolation

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_htpasswd "$WORK/htpasswd" alice:alice-secret bob:bob-secret
start_nginx_basic_auth "$WORK/pki" "$REG_PORT" "$WORK/htpasswd" /v2/private/
UP_PORT=$NGINX_TLS_PORT
make_image 256
layer_hex=${LAYER_DIGEST#sha256:}
layer_file="$IMAGE_DIR/blobs/sha256/$layer_hex"
layer_size=$(stat -c %s "$layer_file")
push_image "$WORK/pki" "$UP_PORT" private/app:v1 alice:alice-secret
registry="registry.test:$UP_PORT"
layer_path=/v2/private/app/blobs/$LAYER_DIGEST

# The upstream itself: the private layer needs credentials.
direct() { # PATH [CURL ARGS...] -> HTTP status of a HEAD straight to nginx
  local path="$1"; shift
  curl -sS -I -o /dev/null -w '%{http_code}' --max-time 30 --cacert "$WORK/pki/ca.crt" "$@" \
    "https://127.0.0.1:$UP_PORT$path"
}
[ "$(direct "$layer_path")" = 401 ] || fail "upstream serves the private layer anonymously"
[ "$(direct "$layer_path" -u alice:alice-secret)" = 200 ] || fail "upstream refuses alice"

start_rgw
# B may serve exactly this registry from the bucket: the bucket CAN serve there, so only the
# access decision stands between an anonymous client and the private layer.
MEMBER_STORE_REGISTRIES=$registry
for m in a b; do
  start_member "$m" --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"
done

# A GET (or HEAD with -I) through member NAME: prints "STATUS BYTES".
member_get() { # NAME PATH [CURL ARGS...]
  local name="$1" path="$2"; shift 2
  curl -sS -o "$WORK/get.body" -w '%{http_code} %{size_download}' --max-time 30 \
    --proxy "http://127.0.0.1:${MEMBER_PORT[$name]}" --cacert "${MEMBER_BUNDLE[$name]}" "$@" \
    "https://$registry$path"
}
# Upstream (nginx) requests for the layer: all of them, and the GETs answered 200.
layer_requests() { grep "/v2/[a-z/]*/blobs/$LAYER_DIGEST " "$NGINX_ACCESS_LOG" || true; }
layer_gets() { layer_requests | grep -c "\"GET [^\"]*\" 200 " || true; }
same_layer() { cmp -s "$WORK/out-$1/blobs/sha256/$layer_hex" "$layer_file"; }

# 1. alice fills A, and A uploads the layer to the bucket.
member_pull a "$registry" private/app:v1 --src-creds alice:alice-secret ||
  fail "alice's pull through A failed: $(tail -n 3 "$WORK/skopeo.log")"
same_layer a || fail "alice got a wrong layer through A"
[ "$(layer_gets)" = 1 ] || fail "alice's pull made $(layer_gets) upstream GETs of the layer, expected 1"
for _ in $(seq 1 100); do [ "$(bucket_status "$LAYER_DIGEST")" = 200 ] && break; sleep 0.1; done
[ "$(bucket_status "$LAYER_DIGEST")" = 200 ] || fail "the private layer never reached the bucket"
log "alice's pull through A: 1 upstream GET of the layer; the layer is in the bucket"

# 2. Anonymous clients of B: upstream's own 401, never the bucket's bytes.
mark_b=$(wc -l <"$WORK/access-b.log")
member_pull b "$registry" private/app:v1 && fail "an anonymous pull of private/app:v1 through B succeeded"
# skopeo stops at the manifest's 401; a client that asks for the layer by digest goes further,
# to where B finds the layer in the bucket.
for creds in "" ":" "alice:not-her-password" "bob:alice-secret"; do
  auth=()
  [ -n "$creds" ] && auth=(-u "$creds")
  out=$(member_get b "$layer_path" "${auth[@]}") || true
  log "GET of the layer through B (credentials '${creds}'): $out"
  [ "${out%% *}" = 401 ] || fail "GET of the private layer through B (credentials '$creds') answered $out"
  out=$(member_get b "$layer_path" -I "${auth[@]}") || true
  [ "${out%% *}" = 401 ] || fail "HEAD of the private layer through B (credentials '$creds') answered $out"
done
refused=$(tail -n "+$((mark_b + 1))" "$WORK/access-b.log")
refused_layer=$(echo "$refused" | grep "path=\"$layer_path\"" || true)
[ -n "$refused_layer" ] || fail "B's access log has no line for the refused layer requests"
echo "$refused_layer" | grep -q 'status=200' && fail "B answered 200 for the layer to a refused client: $refused_layer"
echo "$refused_layer" | grep -q 'cache=BUCKET' && fail "B served the layer from the bucket to a refused client: $refused_layer"
echo "$refused" | grep "path=\"/v2/private/" | grep -Eq "status=2|bytes=$layer_size " &&
  fail "B gave private content to a refused client: $refused"
echo "$refused_layer" | grep -q 'status=401' || fail "no 401 for the layer in B's access log: $refused_layer"
# B asked the bucket, so the refusal is the access decision, not a bucket miss.
grep -q "$LAYER_DIGEST is in the bucket" "$WORK/proxy-b.log" ||
  fail "B never found the layer in the bucket: the refusals prove nothing"
while IFS= read -r -d '' f; do
  cmp -s "$f" "$layer_file" && fail "B's data dir holds a copy of the private layer: ${f#"$WORK"/}"
done < <(find "$WORK/data-b" -type f -size "${layer_size}c" -print0)
[ "$(layer_gets)" = 1 ] || fail "refused clients of B caused upstream GETs of the layer answered 200"
log "anonymous and wrong clients of B: 401 for the layer, nothing from the bucket, no copy in B"

# 3. bob's valid credentials: upstream accepts him, the layer comes from the bucket.
mark_b=$(wc -l <"$WORK/access-b.log")
nginx_mark=$(wc -l <"$NGINX_ACCESS_LOG")
member_pull b "$registry" private/app:v1 --src-creds bob:bob-secret ||
  fail "bob's pull through B failed: $(tail -n 3 "$WORK/skopeo.log")"
same_layer b || fail "bob got a wrong layer through B"
bob_layer=$(tail -n "+$((mark_b + 1))" "$WORK/access-b.log" | grep "path=\"$layer_path\"" || true)
log "bob's layer through B: $bob_layer"
echo "$bob_layer" | grep -q 'status=200.*cache=BUCKET' || fail "bob's layer was not served from the bucket"
upstream_bob=$(tail -n "+$((nginx_mark + 1))" "$NGINX_ACCESS_LOG" | grep "/blobs/$LAYER_DIGEST " || true)
log "upstream saw for bob's layer: $upstream_bob"
echo "$upstream_bob" | grep -q '"GET ' && fail "bob's pull through B fetched the layer from upstream"
echo "$upstream_bob" | grep -E '^[^ ]+ - bob ' | grep -q '"HEAD ' ||
  fail "B served the layer to bob without upstream's HEAD as bob"
[ "$(layer_gets)" = 1 ] || fail "upstream served the layer more than once"
log "PASS: the bucket served the private layer to bob (upstream's yes), never to an anonymous client of B"
