#!/usr/bin/env bash
# `regcache cache warm` through a running proxy: warming a multi-arch OCI index (two
# single-platform images pushed with skopeo, the index written by hand and PUT with curl) makes
# the next skopeo pull of each platform a full cache hit (no upstream blob GET); --platform warms
# only the platform named; a missing image makes the command fail naming it; --json parses; on a
# terminal it draws a progress bar per blob; behind --proxy-auth-file it takes the credentials
# from HTTPS_PROXY.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
REGISTRY="registry.test:$REG_PORT"
DIRECT_CERTS="$WORK/direct-certs"
mkdir -p "$DIRECT_CERTS"
cp "$WORK/pki/ca.crt" "$DIRECT_CERTS/ca.crt"

# Pushes a single-platform OCI image for ARCH as REPO:ARCH, and prints its index entry.
push_platform() { # REPO ARCH
  local repo="$1" arch="$2"
  IMAGE_ARCH="$arch" make_image 128
  timeout 60 skopeo --insecure-policy copy --quiet --format oci --dest-cert-dir "$DIRECT_CERTS" \
    "oci:$IMAGE_DIR:v1" "docker://127.0.0.1:$REG_PORT/$repo:$arch" >>"$WORK/push.log" 2>&1 ||
    fail "push of $repo:$arch failed: $(cat "$WORK/push.log")"
  timeout 60 skopeo --insecure-policy inspect --raw --cert-dir "$DIRECT_CERTS" \
    "docker://127.0.0.1:$REG_PORT/$repo:$arch" >"$WORK/$repo-$arch.json".tmp 2>/dev/null ||
    fail "inspect of $repo:$arch failed"
  mv "$WORK/$repo-$arch.json".tmp "$WORK/$repo-$arch.json"
  printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"}}' \
    "$(sha256sum "$WORK/$repo-$arch.json" | cut -d' ' -f1)" "$(stat -c %s "$WORK/$repo-$arch.json")" "$arch"
}

# Builds REPO:v1 as an OCI index of an amd64 and an arm64 image.
push_index() { # REPO
  local repo="$1" amd arm
  mkdir -p "$WORK/$(dirname "$repo")"
  amd=$(push_platform "$repo" amd64)
  arm=$(push_platform "$repo" arm64)
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s,%s]}' \
    "$amd" "$arm" >"$WORK/$repo-index.json"
  curl -fsS --cacert "$WORK/pki/ca.crt" -X PUT \
    -H "Content-Type: application/vnd.oci.image.index.v1+json" \
    --data-binary "@$WORK/$repo-index.json" \
    "https://127.0.0.1:$REG_PORT/v2/$repo/manifests/v1" >/dev/null ||
    fail "PUT of the index $repo:v1 failed"
}

# The blob digests (config, layers) of REPO's image for ARCH.
blobs_of() { jq -r '.config.digest, .layers[].digest' "$WORK/$1-$2.json"; }
blob_gets() { grep -c "\"GET /v2/$1/blobs/sha256:" "$REG_LOG" || true; } # REPO
gets_of() { grep -c "\"GET /v2/[^ ]*/blobs/$1 " "$REG_LOG" || true; }   # DIGEST

push_index test/multi
push_index test/other
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"
PROXY="http://127.0.0.1:$PROXY_PORT"

log "warming $REGISTRY/test/multi:v1 (both platforms)"
"$REGCACHE" cache warm --proxy "$PROXY" --json "$REGISTRY/test/multi:v1" \
  >"$WORK/warm.json" 2>"$WORK/warm.err" || fail "cache warm failed: $(cat "$WORK/warm.err")"
jq -e --arg image "$REGISTRY/test/multi:v1" '.images | length == 1 and .[0].image == $image and
  .[0].ok and (.[0].platforms | sort) == ["linux/amd64", "linux/arm64"] and .[0].blobs == 4' \
  "$WORK/warm.json" >/dev/null || fail "cache warm --json: $(cat "$WORK/warm.json")"
jq -e '.blobs == 4 and .bytes > 2 * 131072 and .failures == []' "$WORK/warm.json" >/dev/null ||
  fail "cache warm --json totals: $(cat "$WORK/warm.json")"
warmed=$(blob_gets test/multi)
[ "$warmed" -ge 4 ] || fail "the warm fetched $warmed blobs from upstream, want 4"

for arch in amd64 arm64; do
  before=$(blob_gets test/multi)
  skopeo_pull "$REGISTRY" test/multi:v1 "$arch" --override-arch "$arch" --override-os linux ||
    fail "the $arch pull failed: $(tail -5 "$WORK/skopeo.log")"
  for digest in $(blobs_of test/multi "$arch"); do
    [ -f "$WORK/out-$arch/blobs/sha256/${digest#sha256:}" ] || fail "the $arch pull lacks $digest"
  done
  extra=$(( $(blob_gets test/multi) - before ))
  log "pull of linux/$arch after the warm: $extra upstream blob GETs"
  [ "$extra" = 0 ] || fail "the $arch pull fetched $extra blobs from upstream after the warm"
done

log "warming $REGISTRY/test/other:v1 for linux/arm64 only, in the text form"
"$REGCACHE" cache warm --proxy "$PROXY" --ca-bundle "$PROXY_BUNDLE" --platform linux/arm64 \
  --concurrency 1 "$REGISTRY/test/other:v1" >"$WORK/warm2.out" 2>&1 ||
  fail "cache warm --platform failed: $(cat "$WORK/warm2.out")"
grep -q "^ok   $REGISTRY/test/other:v1  1 platform (linux/arm64), 2 blobs" "$WORK/warm2.out" ||
  fail "cache warm did not report one line for the image: $(cat "$WORK/warm2.out")"
for digest in $(blobs_of test/other arm64); do
  [ "$(gets_of "$digest")" -ge 1 ] || fail "the arm64 blob $digest was not warmed"
done
for digest in $(blobs_of test/other amd64); do
  [ "$(gets_of "$digest")" = 0 ] || fail "--platform linux/arm64 also fetched the amd64 blob $digest"
done

log "a missing image among good ones"
status=0
"$REGCACHE" cache warm --proxy "$PROXY" --json "$REGISTRY/test/missing:v1" "$REGISTRY/test/multi:v1" \
  >"$WORK/warm3.json" 2>"$WORK/warm3.err" || status=$?
[ "$status" != 0 ] || fail "cache warm of a missing image exited 0"
grep -q "$REGISTRY/test/missing:v1 failed: .*404" "$WORK/warm3.err" ||
  fail "cache warm did not name the missing image: $(cat "$WORK/warm3.err")"
jq -e --arg image "$REGISTRY/test/missing:v1" '.failures | length == 1 and .[0].image == $image' \
  "$WORK/warm3.json" >/dev/null || fail "cache warm --json failures: $(cat "$WORK/warm3.json")"
jq -e '[.images[] | select(.ok)] | length == 1' "$WORK/warm3.json" >/dev/null ||
  fail "the good image was not warmed beside the missing one: $(cat "$WORK/warm3.json")"
log "on a terminal (script(1)): a progress bar per blob"
if command -v script >/dev/null; then
  timeout 60 script -qec "$(printf '%q ' "$REGCACHE" cache warm --proxy "$PROXY" \
    "$REGISTRY/test/other:v1")" /dev/null >"$WORK/warm-tty.out" 2>&1 ||
    fail "cache warm on a terminal failed: $(cat "$WORK/warm-tty.out")"
  grep -q "sha256:[0-9a-f]\{12\} \[#*" "$WORK/warm-tty.out" ||
    fail "no progress bar on a terminal: $(cat -v "$WORK/warm-tty.out")"
  grep -q "ok   $REGISTRY/test/other:v1  2 platforms" "$WORK/warm-tty.out" ||
    fail "no result line on a terminal: $(cat -v "$WORK/warm-tty.out")"
fi
log "behind --proxy-auth-file: credentials from HTTPS_PROXY, a 407 without them"
kill -TERM "$PROXY_PID"
wait "$PROXY_PID" || fail "regcache exited with an error"
PROXY_PID=
token="warm-$(head -c 18 /dev/urandom | od -An -tx1 | tr -d " \n")"
printf 'runners:%s\n' "$(printf '%s' "$token" | "$REGCACHE" proxy-auth hash --token)" >"$WORK/users"
chmod 600 "$WORK/users"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt" \
  --proxy-auth-file "$WORK/users"
status=0
"$REGCACHE" cache warm --proxy "http://127.0.0.1:$PROXY_PORT" "$REGISTRY/test/multi:v1" \
  >"$WORK/warm4.out" 2>&1 || status=$?
[ "$status" != 0 ] || fail "cache warm without proxy credentials succeeded"
grep -q "test/multi:v1 failed: .*407" "$WORK/warm4.out" ||
  fail "cache warm did not name the 407: $(cat "$WORK/warm4.out")"
HTTPS_PROXY="http://runners:$token@127.0.0.1:$PROXY_PORT" "$REGCACHE" cache warm \
  "$REGISTRY/test/multi:v1" >"$WORK/warm5.out" 2>&1 ||
  fail "cache warm with HTTPS_PROXY credentials failed: $(cat "$WORK/warm5.out")"
grep -q "^ok   $REGISTRY/test/multi:v1  2 platforms" "$WORK/warm5.out" ||
  fail "cache warm with credentials: $(cat "$WORK/warm5.out")"
grep -q "$token" "$WORK/warm4.out" "$WORK/warm5.out" && fail "cache warm printed the proxy token"
log "ok"
