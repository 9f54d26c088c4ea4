#!/usr/bin/env bash
# Pull time of one image with skopeo, side by side in one run: straight from a TLS
# docker-registry, through regcache with a cold cache (every blob fetched and stored), and
# through regcache warm (every blob from disk). Medians over ROUNDS alternating rounds; the
# ratios are what count on a shared machine. Uses the e2e helpers (dnsmasq, registry, proxy).
#
# Usage: bench/cache_pull.sh PATH/TO/regcache [LAYER_MIB] [ROUNDS]
layer_mib="${2:-256}"
rounds="${3:-3}"
source "$(dirname "$0")/../tests/e2e/lib.sh"

make_pki "$WORK/pki" registry.test
start_dns registry.test
start_registry "$WORK/pki"
make_image $((layer_mib * 1024))
push_image "$WORK/pki" "$REG_PORT" bench/image:v1
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt"
mkdir -p "$WORK/direct-certs" && cp "$WORK/pki/ca.crt" "$WORK/direct-certs/"

seconds() { # COMMAND...: prints how long it took
  local start end
  start=$(date +%s.%N)
  "$@" >>"$WORK/bench.log" 2>&1 || fail "$* failed"
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", e - s }'
}
direct() {
  rm -rf "$WORK/out"
  timeout 300 skopeo --insecure-policy copy --quiet --src-cert-dir "$WORK/direct-certs" \
    "docker://127.0.0.1:$REG_PORT/bench/image:v1" "oci:$WORK/out:v1"
}
proxied() {
  rm -rf "$WORK/out"
  through_proxy timeout 300 skopeo --insecure-policy copy --quiet --src-cert-dir "$PROXY_CERT_DIR" \
    "docker://registry.test:$REG_PORT/bench/image:v1" "oci:$WORK/out:v1"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

: >"$WORK/direct.txt"; : >"$WORK/cold.txt"; : >"$WORK/warm.txt"
for _ in $(seq 1 "$rounds"); do
  seconds direct >>"$WORK/direct.txt"
  "$REGCACHE" cache rm --data-dir "$WORK/proxy-data" "registry.test:$REG_PORT/bench/image" \
    >>"$WORK/bench.log" 2>&1 || true
  seconds proxied >>"$WORK/cold.txt"
  seconds proxied >>"$WORK/warm.txt"
done
d=$(median <"$WORK/direct.txt"); c=$(median <"$WORK/cold.txt"); w=$(median <"$WORK/warm.txt")
awk -v m="$layer_mib" -v d="$d" -v c="$c" -v w="$w" -v r="$(($(peak_rss_kib "$PROXY_PID") / 1024))" \
  'BEGIN { printf "| %s MiB layer | %.2f s | %.2f s (%.2f×) | %.2f s (%.2f×) | %s MiB |\n", m, d, c, c / d, w, w / d, r }'
