#!/usr/bin/env bash
# Who sees cached content: nginx in front of a TLS docker-registry asks for Basic credentials under
# /v2/private/ (and for the /v2/ ping), while /v2/library/ is open. alice pulls private/app:v1
# through the proxy; afterwards an anonymous client and one with a wrong password get upstream's
# 401 for its manifest and its layer (never the layer's bytes), bob (valid) gets it from the cache
# after upstream accepts him, and an anonymous pull of library/base:v1, which shares the layer,
# gets the layer from the cache after one upstream HEAD, with no upstream GET of it. A credential
# accepted for library/base gets none of private/app's other blobs under library/base.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_htpasswd "$WORK/htpasswd" alice:alice-secret bob:bob-secret
start_nginx_basic_auth "$WORK/pki" "$REG_PORT" "$WORK/htpasswd" /v2/private/
UP_PORT=$NGINX_TLS_PORT
make_image 1024
layer_hex=${LAYER_DIGEST#sha256:}
layer_size=$(stat -c %s "$IMAGE_DIR/blobs/sha256/$layer_hex")
push_image "$WORK/pki" "$UP_PORT" private/app:v1 alice:alice-secret

# library/base:v1 is another image (its own config) with the same layer.
base_dir="$WORK/image-base"
mkdir -p "$base_dir/blobs/sha256"
cp "$IMAGE_DIR/blobs/sha256/$layer_hex" "$base_dir/blobs/sha256/"
sed 's#"Cmd":\["/hello.txt"\]#"Cmd":["/hello.txt","base"]#' "$WORK/config.json" >"$WORK/config-base.json"
cmp -s "$WORK/config.json" "$WORK/config-base.json" && fail "could not derive the base image's config"
config_hex=$(sha256sum "$WORK/config-base.json" | cut -d' ' -f1)
cp "$WORK/config-base.json" "$base_dir/blobs/sha256/$config_hex"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
  "$config_hex" "$(stat -c %s "$WORK/config-base.json")" "$LAYER_DIGEST" "$layer_size" >"$WORK/manifest-base.json"
manifest_hex=$(sha256sum "$WORK/manifest-base.json" | cut -d' ' -f1)
cp "$WORK/manifest-base.json" "$base_dir/blobs/sha256/$manifest_hex"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
  "$manifest_hex" "$(stat -c %s "$WORK/manifest-base.json")" >"$base_dir/index.json"
cp "$IMAGE_DIR/oci-layout" "$base_dir/"
private_dir=$IMAGE_DIR
IMAGE_DIR=$base_dir
push_image "$WORK/pki" "$UP_PORT" library/base:v1 alice:alice-secret
IMAGE_DIR=$private_dir

# The upstream itself: private content needs credentials, library/base does not.
direct() { # PATH [CURL ARGS...] -> HTTP status of a HEAD straight to nginx
  local path="$1"; shift
  curl -sS -I -o /dev/null -w '%{http_code}' --cacert "$WORK/pki/ca.crt" "$@" \
    "https://127.0.0.1:$UP_PORT$path"
}
[ "$(direct "/v2/private/app/blobs/$LAYER_DIGEST")" = 401 ] || fail "upstream serves the private layer anonymously"
[ "$(direct "/v2/private/app/blobs/$LAYER_DIGEST" -u alice:alice-secret)" = 200 ] || fail "upstream refuses alice"
[ "$(direct "/v2/library/base/blobs/$LAYER_DIGEST")" = 200 ] || fail "upstream refuses the public layer"

start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"

pull() { # REF NAME [SKOPEO ARGS...]
  log "pull $1 ($2)"
  skopeo_pull "registry.test:$UP_PORT" "$@"
}
# A GET (or HEAD with -I) through the proxy: prints "STATUS BYTES".
get() { # PATH [CURL ARGS...]
  local path="$1"; shift
  curl -sS -o "$WORK/get.body" -w '%{http_code} %{size_download}' --proxy "http://127.0.0.1:$PROXY_PORT" \
    --cacert "$PROXY_BUNDLE" "$@" "https://registry.test:$UP_PORT$path"
}
same_layer() { cmp -s "$WORK/out-$1/blobs/sha256/$layer_hex" "$IMAGE_DIR/blobs/sha256/$layer_hex"; }
# Upstream GETs of the layer that were answered 200 (nginx's log: under any repository).
layer_gets() { grep -c "\"GET /v2/[a-z/]*/blobs/$LAYER_DIGEST HTTP/[0-9.]*\" 200 " "$NGINX_ACCESS_LOG" || true; }
# Access log lines since line $1.
since() { tail -n "+$(($1 + 1))" "$ACCESS_LOG"; }
marks() { wc -l <"$ACCESS_LOG"; }
manifest_path=/v2/private/app/manifests/v1
layer_path=/v2/private/app/blobs/$LAYER_DIGEST
accept=(-H "Accept: application/vnd.docker.distribution.manifest.v2+json")

# 1. alice fills the cache.
pull private/app:v1 alice --src-creds alice:alice-secret || fail "alice's pull through the proxy failed"
same_layer alice || fail "alice got a wrong layer"
[ "$(layer_gets)" = 1 ] || fail "alice's pull made $(layer_gets) upstream GETs of the layer, expected 1"
grep "path=\"$layer_path\"" "$ACCESS_LOG" | grep -q 'status=200' || fail "no 200 for alice's layer in the access log"

# 2. No credentials: skopeo fails (it answers the /v2/ challenge with empty ones, "Basic Og=="), and
# requests without any Authorization for the manifest and the layer get upstream's 401, never the
# cached bytes.
mark=$(marks)
pull private/app:v1 anonymous && fail "an anonymous pull of private/app:v1 succeeded"
since "$mark" | grep "path=\"$manifest_path\"" | grep -q 'status=401' ||
  fail "the anonymous pull got no 401 for the manifest: $(since "$mark")"
for what in "$manifest_path" "$layer_path"; do
  out=$(get "$what" "${accept[@]}") || true
  log "anonymous GET $what: $out"
  [ "${out%% *}" = 401 ] || fail "anonymous GET $what answered $out, expected 401"
  out=$(get "$what" -I) || true
  [ "${out%% *}" = 401 ] || fail "anonymous HEAD $what answered $out, expected 401"
done

# 3. A wrong password: the same.
pull private/app:v1 wrong --src-creds alice:not-her-password && fail "a pull with a wrong password succeeded"
for what in "$manifest_path" "$layer_path"; do
  out=$(get "$what" "${accept[@]}" -u alice:not-her-password) || true
  log "GET $what with a wrong password: $out"
  [ "${out%% *}" = 401 ] || fail "GET $what with a wrong password answered $out, expected 401"
  out=$(get "$what" -I -u bob:alice-secret) || true
  [ "${out%% *}" = 401 ] || fail "HEAD $what with bob's name and alice's password answered $out, expected 401"
done
refused=$(since "$mark")
if echo "$refused" | grep "path=\"$layer_path\"" | grep -q "status=200"; then
  fail "a refused client got a 200 for the layer: $(echo "$refused" | grep "path=\"$layer_path\"")"
fi
if echo "$refused" | grep -E "path=\"/v2/private/" | grep -Eq "status=2|bytes=$layer_size "; then
  fail "a refused client got private content: $(echo "$refused" | grep -E 'status=2|bytes='"$layer_size ")"
fi
echo "$refused" | grep "path=\"$layer_path\"" | grep -q "status=401" || fail "no 401 for the layer in the access log"
[ "$(layer_gets)" = 1 ] || fail "refused clients caused upstream layer GETs answered 200"

# 4. bob's valid credentials: upstream accepts him (one HEAD), the layer comes from the cache.
mark=$(marks)
pull private/app:v1 bob --src-creds bob:bob-secret || fail "bob's pull through the proxy failed"
same_layer bob || fail "bob got a wrong layer"
bob_layer=$(since "$mark" | grep "path=\"$layer_path\"" || true)
log "bob's layer: $bob_layer"
echo "$bob_layer" | grep -q 'status=200' || fail "bob's layer was not a 200"
echo "$bob_layer" | grep -Eq 'cache=(HIT|REVALIDATED)' || fail "bob's layer was not served from the cache"
[ "$(layer_gets)" = 1 ] || fail "bob's pull fetched the layer from upstream again"
grep -E '^[^ ]+ - bob ' "$NGINX_ACCESS_LOG" | grep -q '"HEAD ' || fail "no upstream HEAD as bob: $(grep ' - bob ' "$NGINX_ACCESS_LOG")"

# 5. An anonymous pull of the public image sharing the layer: one upstream HEAD, no GET of it.
# (skopeo's empty credentials are accepted under library/, where nginx asks for none.)
mark=$(marks)
nginx_mark=$(wc -l <"$NGINX_ACCESS_LOG")
pull library/base:v1 base || fail "the anonymous pull of library/base:v1 failed"
same_layer base || fail "library/base:v1 came with a wrong layer"
base_layer=$(since "$mark" | grep "path=\"/v2/library/base/blobs/$LAYER_DIGEST\"" || true)
log "library/base's layer: $base_layer"
echo "$base_layer" | grep -Eq 'status=200.*cache=(HIT|REVALIDATED)' || fail "library/base's layer was not served from the cache"
upstream_base=$(tail -n "+$((nginx_mark + 1))" "$NGINX_ACCESS_LOG" | grep "/v2/library/base/blobs/$LAYER_DIGEST" || true)
log "upstream saw for library/base's layer: $upstream_base"
echo "$upstream_base" | grep -q '"HEAD ' ||
  fail "the layer was served under library/base without asking upstream whether library/base has it (no upstream HEAD)"
echo "$upstream_base" | grep -q '"GET ' && fail "upstream saw a GET of library/base's layer"
[ "$(layer_gets)" = 1 ] || fail "the public pull fetched the layer from upstream"

# 6. Public under library/base does not make it public under private/app.
out=$(get "/v2/library/base/blobs/$LAYER_DIGEST") || true
[ "$out" = "200 $layer_size" ] || fail "anonymous GET of the public layer answered $out"
out=$(get "$layer_path") || true
[ "${out%% *}" = 401 ] || fail "after the public pull, an anonymous GET of the private layer answered $out"
[ "$(layer_gets)" = 1 ] || fail "upstream served the layer more than once"

# 7. A credential upstream accepts for library/base only (carol is no user: nginx lets anything
# through there) opens nothing of private/app under library/base: upstream has no such blob there.
private_config="sha256:$(sha256sum "$WORK/config.json" | cut -d' ' -f1)"
[ "$(direct /v2/private/app/manifests/v1 -u carol:carol-secret)" = 401 ] || fail "upstream accepts carol for private/app"
[ "$(direct "/v2/library/base/blobs/$private_config" -u carol:carol-secret)" = 404 ] ||
  fail "upstream has private/app's config under library/base"
out=$(get /v2/library/base/manifests/v1 "${accept[@]}" -u carol:carol-secret) || true
[ "${out%% *}" = 200 ] || fail "carol's GET of library/base's manifest answered $out"
mark=$(marks)
out=$(get "/v2/library/base/blobs/$private_config" -u carol:carol-secret) || true
log "carol's GET of private/app's config under library/base: $out ($(since "$mark" | grep -o 'cache=[A-Z-]*'))"
[ "${out%% *}" = 404 ] ||
  fail "private/app's config was served under library/base to carol ($out), upstream has it only in private/app: $(since "$mark")"

log "access log: $(grep -c . "$ACCESS_LOG") requests, $(grep -c 'status=401' "$ACCESS_LOG") answered 401"
log "PASS"
