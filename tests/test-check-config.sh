#!/bin/sh
# zpcid --check-config with the real binary: the shipped configuration is
# valid, every kind of broken configuration exits 1 and names the exact
# FILE:LINE:COLUMN, and drop-ins merge in lexical order.
set -u

top_src=${ZPCID_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_build=${ZPCID_TOP_BUILDDIR:-$top_src}
zpcid=$top_build/zpcid
data=$top_src/tests/data/config
[ -x "$zpcid" ] || { echo "zpcid binary not found at $zpcid" >&2; exit 99; }

tmp=$(mktemp -d) || exit 99
trap 'chmod -R u+rwx "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
nodropins=$tmp/no-dropins.d
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# expect_invalid NAME CONFIG DROPINS EXPECTED-STDERR-SUBSTRING
expect_invalid() {
	name=$1 config=$2 dropins=$3 expected=$4
	"$zpcid" --check-config --config "$config" --config-dropins "$dropins" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" != 1 ]; then
		fail "$name: exit status $rc, expected 1"
		cat "$tmp/err" >&2
		return
	fi
	if ! grep -qF -- "$expected" "$tmp/err"; then
		fail "$name: stderr lacks '$expected'; it was:"
		cat "$tmp/err" >&2
		return
	fi
	if ! grep -qF "configuration is invalid" "$tmp/err"; then
		fail "$name: no summary line"
		return
	fi
	echo "ok: $name: $expected"
}

# expect_valid NAME CONFIG DROPINS
expect_valid() {
	name=$1 config=$2 dropins=$3
	if ! "$zpcid" --check-config --config "$config" --config-dropins "$dropins" >"$tmp/out" 2>"$tmp/err"; then
		fail "$name: rejected a valid configuration:"
		cat "$tmp/err" >&2
		return 1
	fi
	echo "ok: $name is valid"
}

cd "$data" || exit 99

# 1. The shipped default configuration is valid.
expect_valid "shipped conf/zpcid.json" "$top_src/conf/zpcid.json" "$nodropins"
grep -qF "configuration is valid" "$tmp/out" || fail "shipped: no 'configuration is valid' line"

# 2. Every kind of broken file, with its exact position.
expect_invalid "bad JSON syntax" bad-syntax.json "$nodropins" \
	"bad-syntax.json:5:3: expected ',' or '}' after a member"
expect_invalid "wrong type" wrong-type.json "$nodropins" \
	"wrong-type.json:4:12: log.level: expected a string, got an integer"
expect_invalid "unknown key" unknown-key.json "$nodropins" \
	"unknown-key.json:3:2: unknown key 'loglevel' at the top level"
expect_invalid "unknown nested key" unknown-nested-key.json "$nodropins" \
	"unknown-nested-key.json:4:3: unknown key 'levl' in 'log' (did you mean 'level'?)"
expect_invalid "out-of-range value" out-of-range.json "$nodropins" \
	"out-of-range.json:5:45: policy.rules[0].match.pec[1]: 70000 is out of range"
expect_invalid "bad enum value" bad-enum.json "$nodropins" \
	"bad-enum.json:4:13: log.target: invalid value \"syslog\""
expect_invalid "duplicate key" duplicate-key.json "$nodropins" \
	"duplicate-key.json:4:2: duplicate key \"admin_group\" (first defined at 3:2"
expect_invalid "wrong schema version" wrong-schema.json "$nodropins" \
	"wrong-schema.json:2:12: schema: version 2 is not supported (expected 1"
expect_invalid "missing schema" missing-schema.json "$nodropins" \
	"missing-schema.json:1:1: missing key 'schema'"
expect_invalid "relative path" relative-path.json "$nodropins" \
	"relative-path.json:4:12: directories.state: \"var/lib/zpcid\" is not an absolute path"
expect_invalid "trailing garbage" trailing-garbage.json "$nodropins" \
	"trailing-garbage.json:4:1: trailing garbage after the JSON value"
expect_invalid "bad escape" bad-escape.json "$nodropins" \
	"bad-escape.json:3:21: invalid escape sequence"
expect_invalid "unknown policy action" bad-action.json "$nodropins" \
	"bad-action.json:5:39: policy.rules[0].actions[1]: unknown action \"rset\""
expect_invalid "bad rate" bad-rate.json "$nodropins" \
	"bad-rate.json:4:13: policy.budget: invalid rate \"5 per hour\""
expect_invalid "duplicate rule name" duplicate-rule.json "$nodropins" \
	"duplicate-rule.json:6:14: policy.rules[1]: duplicate rule name \"a\""
expect_invalid "missing explicit file" "$tmp/absent.json" "$nodropins" \
	"$tmp/absent.json: cannot open file: No such file or directory"

# 3. Drop-ins: a drop-in that breaks a valid main file is reported at its own position.
expect_valid "valid main file" valid-main.json "$nodropins"
expect_invalid "drop-in breaks a valid main file" valid-main.json dropin-breaks.d \
	"dropin-breaks.d/50-local.json:4:12: log.level: invalid value \"verbose\""

# 4. Unreadable drop-ins name the file.
mkdir -p "$tmp/unreadable.d/20-directory.json"
expect_invalid "drop-in that is a directory" valid-main.json "$tmp/unreadable.d" \
	"$tmp/unreadable.d/20-directory.json: is a directory (expected a regular file)"
rmdir "$tmp/unreadable.d/20-directory.json"
ln -s /nonexistent/zpcid.json "$tmp/unreadable.d/30-dangling.json"
expect_invalid "dangling drop-in symlink" valid-main.json "$tmp/unreadable.d" \
	"$tmp/unreadable.d/30-dangling.json: cannot open file: No such file or directory"
rm "$tmp/unreadable.d/30-dangling.json"
if [ "$(id -u)" != 0 ]; then
	cp valid-main.json "$tmp/unreadable.d/40-secret.json"
	chmod 000 "$tmp/unreadable.d/40-secret.json"
	expect_invalid "drop-in without read permission" valid-main.json "$tmp/unreadable.d" \
		"$tmp/unreadable.d/40-secret.json: cannot open file: Permission denied"
	rm -f "$tmp/unreadable.d/40-secret.json"
else
	echo "note: running as root, the permission-denied case is covered by the directory and dangling-link cases"
fi

# 5. Lexical order: the later drop-in wins. "bogus" in 10- is replaced by 20-...
expect_valid "drop-ins in lexical order" valid-main.json dropin-order.d
for f in valid-main.json dropin-order.d/10-first.json dropin-order.d/20-second.json; do
	grep -qxF "$f: ok" "$tmp/out" || fail "lexical order: '$f: ok' missing"
done
first=$(grep -n "10-first.json: ok" "$tmp/out" | cut -d: -f1)
second=$(grep -n "20-second.json: ok" "$tmp/out" | cut -d: -f1)
[ -n "$first" ] && [ -n "$second" ] && [ "$first" -lt "$second" ] || fail "lexical order: files not listed in order"
# ...and with the contents swapped, the later "bogus" stays and is reported in 20-.
expect_invalid "drop-ins in lexical order (reversed)" valid-main.json dropin-order-reversed.d \
	"dropin-order-reversed.d/20-second.json:3:20: log.level: invalid value \"bogus\""

if [ "$failures" -gt 0 ]; then
	echo "$failures check(s) failed" >&2
	exit 1
fi
exit 0
