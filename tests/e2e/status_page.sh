#!/usr/bin/env bash
# The status page in headless Chromium, after real skopeo pulls through the proxy and with one
# fill still in progress (nginx throttles a layer): every value shown equals /status.json, which
# equals /metrics; the page reads the same with scripts off, and its script refreshes it.
# Saves the screenshot to $STATUS_SCREENSHOT when set (docs/status-page.png is made this way).
source "$(dirname "$0")/lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || skip "chromium is not installed"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image 256
push_image "$WORK/pki" "$REG_PORT" test/image:v1
make_image 4096 # a 4 MiB layer: 16 s at the throttled rate, so its fill is seen in progress
BIG_LAYER="$LAYER_DIGEST"
push_image "$WORK/pki" "$REG_PORT" test/big:v1

# The registry behind nginx: manifests carry a RateLimit-Remaining as Docker Hub's do, and the
# big image's blobs come at 256 KiB/s.
NGINX_LOCATIONS="location ~ /manifests/ { add_header RateLimit-Remaining \"76;w=21600\" always; proxy_pass https://127.0.0.1:$REG_PORT; }
location ~ ^/v2/test/big/blobs/ { proxy_buffering on; limit_rate 256k; proxy_pass https://127.0.0.1:$REG_PORT; }"
start_nginx_proxy "$WORK/pki" "$REG_PORT"
REGISTRY="registry.test:$NGINX_TLS_PORT"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"

log "two pulls of test/image (misses, then hits), and test/big left running"
skopeo_pull "$REGISTRY" test/image:v1 first || fail "first pull failed"
skopeo_pull "$REGISTRY" test/image:v1 second || fail "second pull failed"
skopeo_pull "$REGISTRY" test/big:v1 big &
BIG_PID=$!
PIDS+=("$BIG_PID")

status_json() { curl -fsS "http://127.0.0.1:$PROXY_PORT/status.json"; }
for _ in $(seq 1 100); do
  written=$(status_json | jq "[.fills[] | select(.digest == \"$BIG_LAYER\") | .written_bytes] | first // 0")
  [ "$written" -ge 262144 ] && break
  sleep 0.1
done
[ "${written:-0}" -ge 262144 ] || fail "the big layer's fill never showed progress on /status.json"
status_json | jq -e ".fills | length == 1" >/dev/null || fail "expected exactly one fill in progress"

chrome() {
  timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$WORK/chromium" --window-size=1280,1500 "$@" \
    "http://127.0.0.1:$PROXY_PORT/" 2>>"$WORK/chromium.log"
}
log "rendering the page in Chromium, and as served (what it shows without scripts)"
# The virtual time budget lets the script's first fetch of /status.json land.
chrome --virtual-time-budget=3000 --dump-dom >"$WORK/scripted.html" || fail "chromium failed"
# What a browser with scripts off shows: the page as the server rendered it.
curl -fsS "http://127.0.0.1:$PROXY_PORT/" >"$WORK/plain.html" || fail "GET / failed"
status_json >"$WORK/status.json"
curl -fsS "http://127.0.0.1:$PROXY_PORT/metrics" >"$WORK/metrics.txt"
python3 "$REPO/tests/e2e/status_page_check.py" "$WORK/scripted.html" "$WORK/plain.html" \
  "$WORK/status.json" "$WORK/metrics.txt" || fail "the page, /status.json and /metrics disagree"

jq -e '.since_start.hits > 0 and .since_start.misses > 0' "$WORK/status.json" >/dev/null ||
  fail "no hits and misses counted"
jq -e --arg r "$REGISTRY" '.registries[] | select(.registry == $r) |
  .ratelimit_remaining == 76 and .pulls_saved >= 1' "$WORK/status.json" >/dev/null ||
  fail "no pulls saved or rate limit for $REGISTRY"
jq -e --arg r "$REGISTRY/test/image" '.top_by_pulls[0].repository == $r' "$WORK/status.json" \
  >/dev/null || fail "test/image is not the top repository by pulls"
grep -q "$(echo "$BIG_LAYER" | cut -c1-19)" "$WORK/scripted.html" || fail "the fill is not on the page"

if [ -n "${STATUS_SCREENSHOT:-}" ]; then
  chrome --virtual-time-budget=3000 --hide-scrollbars --screenshot="$STATUS_SCREENSHOT" >/dev/null ||
    fail "screenshot failed"
  log "screenshot in $STATUS_SCREENSHOT"
fi
kill "$BIG_PID" 2>/dev/null || true
log "PASS"
