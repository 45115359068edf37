#!/bin/bash
# The service unit: `systemd-analyze verify` accepts it (with ExecStart
# pointing at the built binary, as the installed path does not exist here),
# and `systemd-analyze security --offline` rates it no worse than the level
# recorded in docs/service-hardening.md.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
UNIT=$BUILD/units/zpcid.service
[ -f "$UNIT" ] || fail "build $UNIT first"
command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
systemd-analyze security --help 2>/dev/null | grep -q -- --offline || skip "systemd-analyze security has no --offline"

T=$(mktemp -d /tmp/test-unit.XXXXXX)
trap 'rm -rf "$T"' EXIT
sed "s|^ExecStart=.*/zpcid\$|ExecStart=$BUILD/zpcid|" "$UNIT" >"$T/zpcid.service"
grep -q "^ExecStart=$BUILD/zpcid\$" "$T/zpcid.service" || fail "no ExecStart line to point at the build"
systemd-analyze verify --man=no "$T/zpcid.service" >"$T/verify" 2>&1 || fail "systemd-analyze verify: $(cat "$T/verify")"
[ -s "$T/verify" ] && fail "systemd-analyze verify warns: $(cat "$T/verify")"
pass "systemd-analyze verify"

(cd "$T" && systemd-analyze security --offline=yes --no-pager zpcid.service) >"$T/security" 2>&1
level=$(sed -n 's/.*Overall exposure level for zpcid.service: \([0-9.]*\).*/\1/p' "$T/security")
[ -n "$level" ] || fail "no exposure level: $(cat "$T/security")"
max=$(sed -n 's/.*Overall exposure level for zpcid.service: \([0-9.]*\).*/\1/p' "$SRC/docs/service-hardening.md" | head -1)
[ -n "$max" ] || fail "docs/service-hardening.md records no exposure level"
awk -v a="$level" -v b="$max" 'BEGIN { exit !(a <= b) }' || fail "exposure $level is worse than the documented $max"
pass "systemd-analyze security --offline: exposure $level (documented: $max)"
exit 0
