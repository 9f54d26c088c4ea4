#!/usr/bin/env bash
# `cmake --install` into a scratch DESTDIR puts every file an operator needs where systemd and
# man look, and the installed unit passes `systemd-analyze verify` against the installed binary.
# Usage: install_layout.sh BUILD_DIR PREFIX UNIT_DIR SYSUSERS_DIR TMPFILES_DIR
set -euo pipefail
build="$1" prefix="$2" unit_dir="$3" sysusers_dir="$4" tmpfiles_dir="$5"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
fail() { echo "install_layout: $*" >&2; exit 1; }
DESTDIR="$root" cmake --install "$build" >/dev/null
for f in "$prefix/bin/regcache" "$prefix/share/man/man1/regcache.1.gz" "$unit_dir/regcache.service" \
  "$unit_dir/regcache.socket" "$prefix/libexec/regcache/regcache-proxy-gate" \
  /etc/regcache/regcache.toml "$sysusers_dir/regcache.conf" "$tmpfiles_dir/regcache.conf" \
  "$prefix/share/doc/regcache/copyright"; do
  [ -e "$root$f" ] || fail "cmake --install did not install $f"
done
unit="$root$unit_dir/regcache.service"
grep -q "^ExecStart=$prefix/bin/regcache serve --config /etc/regcache/regcache.toml " "$unit" ||
  fail "the unit does not start the installed binary with the installed config"
grep -q '^User=regcache$' "$unit" || fail "the unit does not run as regcache"
grep -q '^ListenStream=127.0.0.1:3128$' "$root$unit_dir/regcache.socket" ||
  fail "the socket unit does not listen where the config's default listen does"
[ -x "$root$prefix/libexec/regcache/regcache-proxy-gate" ] || fail "the gate is not executable"
grep -q '^u regcache ' "$root$sysusers_dir/regcache.conf" || fail "sysusers.d does not create regcache"
grep -q '^d /var/lib/regcache 0700 regcache regcache' "$root$tmpfiles_dir/regcache.conf" ||
  fail "tmpfiles.d does not make /var/lib/regcache private to regcache"
page=$(MANWIDTH=100 man -l "$root$prefix/share/man/man1/regcache.1.gz" 2>/dev/null)
for want in 'serve' '--allow-client' '--tag-ttl' 'SIGHUP' '/etc/regcache/regcache.toml'; do
  grep -qF -- "$want" <<<"$page" || fail "regcache(1) does not mention $want"
done
# verify --root wants a whole system in the root; instead verify the unit on this host with its
# binary and man page looked up in the scratch root.
if command -v systemd-analyze >/dev/null; then
  mkdir "$root/verify"
  sed "s|^ExecStart=$prefix/|ExecStart=$root$prefix/|" "$unit" >"$root/verify/regcache.service"
  cp "$root$unit_dir/regcache.socket" "$root/verify/regcache.socket"
  MANPATH="$root$prefix/share/man" systemd-analyze verify "$root/verify/regcache.service" \
    "$root/verify/regcache.socket" || fail "systemd-analyze verify rejects the installed units"
fi
echo "install_layout: ok"
