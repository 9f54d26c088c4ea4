#!/usr/bin/env bash
# --access-log-format json: skopeo pulls an image twice through the proxy; every access line is
# one JSON object (jq parses each line alone), with every field, one line per request: as many
# lines as requests the registry and the proxy's own endpoints saw.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 64
push_image "$WORK/pki" "$REG_PORT" test/image:v1
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt" \
  --access-log-format json
REGISTRY="registry.test:$REG_PORT"
before=$(grep -c '"GET /v2/' "$REG_LOG" || true) # the push's own

skopeo_pull "$REGISTRY" test/image:v1 first || fail "first pull failed"
skopeo_pull "$REGISTRY" test/image:v1 second || fail "second pull failed"
curl -fsS "http://127.0.0.1:$PROXY_PORT/healthz" >/dev/null
curl -fsS "http://127.0.0.1:$PROXY_PORT/nope%22%0a\\" >/dev/null 2>&1 || true # a hostile path
sleep 0.5 # the access logger flushes every line; let the last one land

lines=$(wc -l <"$ACCESS_LOG")
[ "$lines" -gt 6 ] || fail "only $lines access lines"
n=0
while IFS= read -r line; do
  n=$((n + 1))
  printf '%s\n' "$line" | jq -e 'type == "object" and
    (keys | sort) == (["bytes","cache","client","connection","duration_ms","host","method",
                       "note","path","status","time","upstream_status","user"] | sort) and
    (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")) and (.status | type) == "number" and
    (.duration_ms | type) == "number"' >/dev/null || fail "access line $n is not one full JSON object: $line"
done <"$ACCESS_LOG"
log "$n access lines, each one JSON object"

# One line per request: the registry saw every request the proxy forwarded (the misses, the
# /v2/ pings and tag checks), and the proxy answered the rest itself (hits, its own endpoints).
forwarded=$(jq -s '[.[] | select(.upstream_status != null)] | length' "$ACCESS_LOG")
at_registry=$(($(grep -c '"GET /v2/' "$REG_LOG" || true) - before))
[ "$forwarded" = "$at_registry" ] ||
  fail "$forwarded access lines name an upstream status; the registry answered $at_registry GETs"
jq -se '[.[] | select(.path | test("/blobs/")) | .cache] | (index("MISS") != null and index("HIT") != null)' \
  "$ACCESS_LOG" >/dev/null || fail "no blob MISS then HIT in the access log"
jq -se '[.[] | select(.cache == "MISS")] | all(.upstream_status == 200)' "$ACCESS_LOG" >/dev/null ||
  fail "a MISS without upstream status 200"
jq -se '[.[] | select(.cache == "HIT")] | all(.upstream_status == null)' "$ACCESS_LOG" >/dev/null ||
  fail "a HIT with an upstream status"
jq -se 'any(.path == "/nope%22%0a\\")' "$ACCESS_LOG" >/dev/null || fail "the hostile path is not logged as sent"
log "PASS"
