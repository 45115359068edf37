#!/bin/bash
# The README's demo end to end: tools/demo with the shortened scenario
# (ZPCID_DEMO_FAST=1), then its summary (zpcictl events --format json,
# parsed) checked against what the demo policy must have decided.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (the demo uses a private mount namespace)"
[ -x "$BUILD/tests/zpci-sim" ] || skip "tests/zpci-sim is not built (needs umockdev)"
for t in dbus-daemon busctl unshare; do
	command -v $t >/dev/null || skip "$t is not installed"
done

T=$(mktemp -d /tmp/test-demo.XXXXXX)
trap 'rm -rf "$T"' EXIT
ZPCID_DEMO_FAST=1 ZPCID_DEMO_EVENTS=$T/events.json timeout 180 "$SRC/tools/demo" "$BUILD" >"$T/out" 2>&1
rc=$?
[ $rc = 0 ] || { cat "$T/out"; fail "tools/demo exited with $rc"; }
for h in "The LPAR, as zpcid sees it" "Live: zpcictl monitor" "1. A transient error" "2. An error storm" \
	"3. A permanent error" "4. Errors on a function a VMM holds" "Summary: zpcictl list" "Summary: zpcictl events"; do
	grep -qF "== $h ==" "$T/out" || fail "the demo did not show '$h'"
done
grep -q '^ErrorReported .*0x00000022' "$T/out" || fail "zpcictl monitor did not show the error of 0x22 live"
pass "tools/demo ran to the end with every phase"

/usr/bin/python3 - "$T/events.json" <<'PY' || { cat "$T/out"; fail "the demo's events are not what the policy decides"; }
import json, sys
d = json.load(open(sys.argv[1]))
def die(m):
    print("FAIL:", m, file=sys.stderr); sys.exit(1)
if d["meta"]["api_level"] != 1: die("meta.api_level")
ev = d["events"]
def of(fid, kind=None):
    return [e for e in ev if e.get("fid") == fid and (kind is None or e["kind"] == kind)]
FOLLOW_UPS = ("confirmed", "unconfirmed", "no-confirmation")
def actions(fid):
    # what was decided and carried out; the follow-ups say whether a reset helped
    return [e["action"] for e in of(fid, "action") if e["result"] not in FOLLOW_UPS]
def results(fid, action):
    return [e["result"] for e in of(fid, "action") if e["action"] == action and e["result"] not in FOLLOW_UPS]
# 1. transient: one error, one reset (rule first-aid)
if [e["pec"] for e in of(0x22, "error")] != [0x12]: die(f"0x22 errors: {of(0x22, 'error')}")
if actions(0x22) != ["reset"]: die(f"0x22 actions: {actions(0x22)}")
if results(0x22, "reset") != ["done"]: die(f"0x22 reset results: {results(0x22, 'reset')}")
# 2. storm: six errors; first-aid resets once, error-storm fires on the 3rd
# and 6th error: reset, then unbind, each with an alert
if len(of(0x31, "error")) != 6: die(f"0x31: {len(of(0x31, 'error'))} errors")
if [a for a in actions(0x31) if a != "alert"] != ["reset", "reset", "unbind"]: die(f"0x31 actions: {actions(0x31)}")
if actions(0x31).count("alert") != 2: die(f"0x31 alerts: {actions(0x31)}")
# 3. permanent: an alert
p = of(0x51, "error")
if len(p) != 1 or p[0]["pec"] != 0x40 or p[0]["pec_class"] != "permanent": die(f"0x51: {p}")
if actions(0x51) != ["alert"]: die(f"0x51 actions: {actions(0x51)}")
# 4. held by the VMM: errors and the kernel's recovery observed, nothing done
if [e["pec"] for e in of(0x21, "error")] != [0x13, 0x12]: die(f"0x21 errors: {of(0x21, 'error')}")
if len(of(0x21, "recovery")) != 2: die("0x21: recovery events")
if actions(0x21): die(f"0x21 (held) got actions: {actions(0x21)}")
if any(e["source"] == "vfio" for e in of(0x21)): die("0x21 (held) was read through vfio")
# nothing else happened
if {e["fid"] for e in ev} != {0x21, 0x22, 0x31, 0x51}: die(f"events on other functions: {sorted({e['fid'] for e in ev})}")
results = sorted({(e["fid"], e["action"], e["result"]) for e in ev if e["kind"] == "action"})
print("action results:", ", ".join(f"{f:#x} {a} {r}" for f, a, r in results))
PY
pass "the demo's history: transient reset, storm reset then unbind, alert on PEC 0x40, held function only observed"
exit 0
