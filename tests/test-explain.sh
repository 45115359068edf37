#!/bin/bash
# zpcid --explain against a saved sysfs tree: the matching rule, why the
# others do not match, thresholds, JSON output, and the exit codes.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

T=$(mktemp -d /tmp/zpcid-explain.XXXXXX)
trap 'rm -rf "$T"' EXIT
D=$T/sys/bus/pci/devices/0001:00:00.0
mkdir -p "$D" "$T/sys/bus/pci/drivers/vfio-pci" "$T/state"
printf '0x00000021\n' >"$D/function_id"
printf '0x80000021\n' >"$D/function_handle"
printf '0x0100\n' >"$D/pchid"
printf '0x05\n' >"$D/pft"
printf '0x1\n' >"$D/uid"
printf '1\n' >"$D/uid_is_unique"
printf '0x1014\n' >"$D/vendor"
printf '0x04ed\n' >"$D/device"
ln -s ../../drivers/vfio-pci "$D/driver"
cat >"$T/z.json" <<'JSON'
{ "schema": 1, "policy": { "rules": [
  { "name": "own-ism", "match": { "pft": "ISM" }, "mode": "own" },
  { "name": "permanent", "match": { "pec_class": "permanent" }, "actions": ["log", "alert"] },
  { "name": "storm", "match": { "pec_class": "recoverable" }, "threshold": "3 / 10m", "ladder": ["reset", "unbind"] },
  { "name": "default", "actions": ["log"] } ] } }
JSON
Z() { STATE_DIRECTORY=$T/state "$BUILD/zpcid" --config "$T/z.json" --config-dropins "$T/none" --sysfs "$T/sys" "$@"; }

out=$(Z --explain 0x21 --pec 0x1) || fail "explain exit $?"
echo "$out" | grep -q "mode own" || fail "mode rule not applied: $out"
echo "$out" | grep -Eq "storm +below-threshold .*level 1.000 of 3" || fail "threshold not explained: $out"
echo "$out" | grep -Eq "permanent +no-match +pec class recoverable" || fail "no-match reason missing: $out"
echo "$out" | grep -Eq "^Decision: rule default" || fail "wrong decision: $out"
pass "a recoverable error below the threshold falls through to the default rule"

Z --explain 0001:00:00.0 --pec 0x40 --json >"$T/out.json" || fail "explain --json exit $?"
python3 - "$T/out.json" <<'PY' || exit 1
import json, sys
o = json.load(open(sys.argv[1]))
assert o["mode"] == "own", o["mode"]
assert o["event"]["fid"] == 0x21 and o["event"]["pec"] == 0x40 and o["event"]["pec_class"] == "permanent"
d = o["explanation"]["decision"]
assert d["rule"] == "permanent", d["rule"]
assert [(a["action"], a["verdict"]) for a in d["actions"]] == [("log", "run"), ("alert", "run")], d["actions"]
outcomes = {r["rule"]: r["outcome"] for r in d["rules"]}
assert outcomes == {"own-ism": "mode-only", "permanent": "fired", "storm": "not-reached",
                    "default": "not-reached"}, outcomes
print("ok: JSON explanation of a permanent error by PCI address")
PY

Z --explain 0x99 --pec 1 2>"$T/err"
[ $? = 3 ] || fail "unknown function: expected exit 3"
grep -q "no zPCI function '0x99'" "$T/err" || fail "unknown function not named"
Z --explain 0x21 2>/dev/null && fail "--explain without --pec accepted"
Z --explain 0x21 --pec 0x10000 2>/dev/null && fail "a PEC above 0xffff accepted"
Z --explain 0x21 --pec 1 --source nowhere 2>/dev/null && fail "an unknown source accepted"
pass "unknown functions exit 3; missing or invalid arguments exit 1"
exit 0
