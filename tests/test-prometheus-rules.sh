#!/bin/bash
# The shipped alerting rules: promtool (Debian's prometheus) accepts them and
# their unit tests (contrib/prometheus/zpcid.rules.test.yml) pass.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

command -v promtool >/dev/null || skip "promtool is not installed (Debian package prometheus)"
RULES=$SRC/contrib/prometheus
T=$(mktemp -d /tmp/zpcid-rules.XXXXXX)
trap 'rm -rf "$T"' EXIT

promtool check rules "$RULES/zpcid.rules.yml" >"$T/check" 2>&1 || fail "promtool check rules: $(cat "$T/check")"
cat "$T/check"
grep -q 'SUCCESS: 9 rules found' "$T/check" || fail "expected 9 rules"

# The tests run from a copy: promtool resolves rule_files beside the test file.
cp "$RULES/zpcid.rules.yml" "$RULES/zpcid.rules.test.yml" "$T/"
(cd "$T" && promtool test rules zpcid.rules.test.yml) >"$T/test" 2>&1 || fail "promtool test rules: $(cat "$T/test")"
cat "$T/test"
grep -q SUCCESS "$T/test" || fail "promtool test rules did not say SUCCESS"

# Every alert has a unit test.
for a in $(sed -n 's/^ *- alert: //p' "$RULES/zpcid.rules.yml"); do
	grep -q "alertname: $a\$" "$RULES/zpcid.rules.test.yml" || fail "alert $a has no unit test"
done
pass "promtool check rules and test rules"
exit 0
