#!/usr/bin/env bash
# --json of cache ls, cache stats, cache verify, ca show and version parses with jq and says what the text
# says, after a real skopeo pull through the proxy; on a terminal `cache ls` prints an aligned
# table with sizes in KiB/MiB and relative times.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 256
push_image "$WORK/pki" "$REG_PORT" test/image:v1
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"
REGISTRY="registry.test:$REG_PORT"
skopeo_pull "$REGISTRY" test/image:v1 first || fail "pull failed"
skopeo_pull "$REGISTRY" test/image:v1 second || fail "pull failed"
# The proxy saves its counters every 10 s and at shutdown: stop it to read them now.
kill -TERM "$PROXY_PID"
wait "$PROXY_PID" || fail "regcache exited with an error"
PROXY_PID=

DD=(--data-dir "$WORK/proxy-data")
"$REGCACHE" version --json | jq -e '.version != "" and .git != "" and .libraries.openssl != ""' \
  >/dev/null || fail "version --json"
"$REGCACHE" cache ls --json "${DD[@]}" >"$WORK/ls.json"
jq -e --arg ref "$REGISTRY/test/image:v1" 'length == 1 and .[0].reference == $ref and
  .[0].repository == "test/image" and .[0].tag == "v1" and (.[0].digest | startswith("sha256:")) and
  .[0].size_bytes > 0 and (.[0].last_pull | test("Z$"))' "$WORK/ls.json" >/dev/null ||
  fail "cache ls --json: $(cat "$WORK/ls.json")"
"$REGCACHE" cache stats --json "${DD[@]}" >"$WORK/stats.json"
jq -e '.entries == 3 and .bytes_stored > 262144 and .hits == 3 and .misses == 3 and
  .hit_ratio == 0.5 and .bytes_from_cache > 262144' "$WORK/stats.json" >/dev/null ||
  fail "cache stats --json: $(cat "$WORK/stats.json")"
"$REGCACHE" cache verify --json "${DD[@]}" | jq -e '.verified == 3 and .corrupt == 0' >/dev/null ||
  fail "cache verify --json on a sound cache"
# One corrupt layer: named in the JSON, exit status 1.
layer="$WORK/proxy-data/blobs/sha256/${LAYER_DIGEST:7:2}/${LAYER_DIGEST#sha256:}"
[ -f "$layer" ] || fail "no cached layer at $layer"
echo garbage >>"$layer"
status=0
"$REGCACHE" cache verify --json "${DD[@]}" >"$WORK/verify.json" || status=$?
[ "$status" = 1 ] || fail "cache verify --json exited $status on a corrupt blob"
jq -e --arg d "$LAYER_DIGEST" '.corrupt == 1 and .removed == [$d]' "$WORK/verify.json" >/dev/null ||
  fail "cache verify --json: $(cat "$WORK/verify.json")"

# ca show --json after a rotation: the active and the next root, and when the next one signs.
"$REGCACHE" ca rotate --overlap 1h "${DD[@]}" >/dev/null || fail "ca rotate"
"$REGCACHE" ca show --json "${DD[@]}" >"$WORK/ca.json"
jq -e '(.generations | map(.state)) == ["next", "active"] and .next_transition != null and
  .generations[0].activate_at == .next_transition and
  all(.generations[]; .sha256 | test("^([0-9A-F]{2}:){31}[0-9A-F]{2}$"))' "$WORK/ca.json" \
  >/dev/null || fail "ca show --json: $(cat "$WORK/ca.json")"

# On a terminal: a header, aligned columns, a human size and a relative time.
script -qec "$REGCACHE cache ls ${DD[*]}" /dev/null | tr -d '\r' >"$WORK/ls.txt"
head -1 "$WORK/ls.txt" | grep -q "^IMAGE  *DIGEST  *SIZE  *LAST PULL  *CHECKED$" ||
  fail "no table header: $(cat "$WORK/ls.txt")"
grep -qE "^$REGISTRY/test/image:v1  sha256:[0-9a-f]{12}  +[0-9.]+ B  [0-9]+ s ago +[0-9]+ s ago$" \
  "$WORK/ls.txt" || fail "no table row: $(cat "$WORK/ls.txt")"
# Piped, the lines stay as they were (scripts read them).
"$REGCACHE" cache ls "${DD[@]}" | grep "bytes  last pull " >/dev/null || fail "piped cache ls changed"
log "PASS"
