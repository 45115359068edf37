#!/bin/bash
# The README's demo end to end: tools/demo with the shortened scenario
# (ZPCID_DEMO_FAST=1). It passes only when the demo exits 0 after every
# section found in zpcid's history what it announced, the history (zpcictl
# events --format json, parsed here on its own) is what the demo policy must
# decide (the guest's section: both errors naming the guest, one adapter
# event and one alert for it), and the output to a file has no escape
# sequences. Then the demo
# must fail when the world lacks a piece (the preload library) and when
# zpcid records something else than announced (the policy in dry-run; no
# adapter correlation).
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (the demo uses a private mount namespace)"
[ -x "$BUILD/tests/zpci-sim" ] || skip "tests/zpci-sim is not built (needs umockdev)"
for t in dbus-daemon busctl unshare; do
	command -v $t >/dev/null || skip "$t is not installed"
done

T=$(mktemp -d /tmp/test-demo.XXXXXX)
trap 'rm -rf "$T"' EXIT
ZPCID_DEMO_FAST=1 ZPCID_DEMO_EVENTS=$T/events.json timeout 300 "$SRC/tools/demo" "$BUILD" >"$T/out" 2>&1
rc=$?
[ $rc = 0 ] || { cat "$T/out"; fail "tools/demo exited with $rc"; }
for h in "The LPAR, as zpcid sees it" "Live: zpcictl monitor" "1. A transient error" "2. An error storm" \
	"3. A permanent error" "4. Errors on a function a VMM holds" "5. An adapter fails under a guest" \
	"Summary: zpcictl list" "Summary: zpcictl events" "Summary: zpcictl events top" "Done"; do
	grep -qF "== $h ==" "$T/out" || fail "the demo did not show '$h'"
done
n=$(grep -c '^   => as expected$' "$T/out")
[ "$n" = 6 ] || { cat "$T/out"; fail "$n of the demo's 6 checks said 'as expected'"; }
! grep -q 'NOT as expected' "$T/out" || { cat "$T/out"; fail "a section of the demo did not go as announced"; }
grep -q '^ErrorReported .*0x00000022' "$T/out" || fail "zpcictl monitor did not show the error of 0x22 live"
grep -q '^AdapterEvent .*adapter PCHID 0x0100: 2 of 2 functions reported errors$' "$T/out" ||
	fail "zpcictl monitor did not show the adapter event live"
machined=$(grep -o 'systemd-machined as libvirt does (here: [^)]*)' "$T/out") || fail "the demo did not say which machined it used"
if ! grep -q '(here: the real one' "$T/out"; then
	grep -q 'tools/demo: systemd-machined cannot run here (.*)' "$T/out" || fail "the stand-in of machined without a reason"
fi
! grep -q $'\e' "$T/out" || fail "the demo wrote escape sequences to a file"
machined=${machined#*(here: }
pass "tools/demo ran to the end; every section went as it announced; machined: ${machined%)}"

/usr/bin/python3 - "$T/events.json" "$T/out" <<'PY' || { cat "$T/out"; fail "the demo's events are not what the policy decides"; }
import json, re, sys
d = json.load(open(sys.argv[1]))
def die(m):
    print("FAIL:", m, file=sys.stderr); sys.exit(1)
if d["meta"]["api_level"] != 1: die("meta.api_level")
ev = d["events"]
# (an error's full record, drained after its kernel-log line, is the same error: "same_as")
def of(fid, kind=None):
    return [e for e in ev if e.get("fid") == fid and (kind is None or e["kind"] == kind) and "same_as" not in e]
def acts(fid):
    return [(e["action"], e["result"]) for e in of(fid, "action")]
# 1. transient: one error, one reset, done and confirmed
if [e["pec"] for e in of(0x22, "error")] != [0x12]: die(f"0x22 errors: {of(0x22, 'error')}")
if acts(0x22) != [("reset", "done"), ("reset", "confirmed")]: die(f"0x22 actions: {acts(0x22)}")
# 2. storm: six errors; first-aid resets on the 1st, error-storm on the 3rd
# (reset) and 6th (unbind), each with an alert; the resets do not hold
if len(of(0x31, "error")) != 6: die(f"0x31: {len(of(0x31, 'error'))} errors")
a = acts(0x31)
if [x for x in a if x[1] == "done" and x[0] != "alert"] != [("reset", "done"), ("reset", "done"), ("unbind", "done")]:
    die(f"0x31 actions: {a}")
if a.count(("reset", "unconfirmed")) != 2 or a.count(("alert", "done")) != 2 or len(a) != 7: die(f"0x31 actions: {a}")
# 3. permanent: an alert
p = of(0x51, "error")
if len(p) != 1 or p[0]["pec"] != 0x40 or p[0]["pec_class"] != "permanent": die(f"0x51: {p}")
if acts(0x51) != [("alert", "done")]: die(f"0x51 actions: {acts(0x51)}")
# 4. held by the VMM: errors and the kernel's recovery observed, nothing done
if [e["pec"] for e in of(0x21, "error")] != [0x13, 0x12]: die(f"0x21 errors: {of(0x21, 'error')}")
if len(of(0x21, "recovery")) != 2: die("0x21: recovery events")
if acts(0x21): die(f"0x21 (held) got actions: {acts(0x21)}")
if any(e["source"] == "vfio" for e in of(0x21)): die("0x21 (held) was read through vfio")
# 5. the guest's adapter: both errors name the guest, one adapter event, one alert
g = [(e["fid"], e["pec"], e.get("owner_machine"), e.get("owner_machine_class")) for f in (0x10, 0x11) for e in of(f, "error")]
if g != [(0x10, 0x0b, "guest-db01", "vm"), (0x11, 0x0b, "guest-db01", "vm")]: die(f"the guest's errors: {g}")
ad = [e for e in ev if e["kind"] == "adapter"]
if [(e["pchid"], e["count"], e["adapter_functions"], e["adapter_fids"], e["message"]) for e in ad] != \
        [(0x100, 2, 2, "0x00000010,0x00000011", "adapter PCHID 0x0100: 2 of 2 functions reported errors")]:
    die(f"adapter events: {ad}")
if acts(0x10) != [("alert", "done")] or acts(0x11): die(f"the guest's actions: {acts(0x10)} {acts(0x11)}")
# every action says which rule decided it
rules = sorted({(e["fid"], e["action"], e.get("rule")) for e in ev if e["kind"] == "action"})
if rules != [(0x10, "alert", "adapter-alert"), (0x22, "reset", "first-aid"), (0x31, "alert", "error-storm"), (0x31, "reset", "error-storm"),
             (0x31, "reset", "first-aid"), (0x31, "unbind", "error-storm"), (0x51, "alert", "permanent-errors")]:
    die(f"rules: {rules}")
# nothing else happened
fids = {e["fid"] for e in ev if e["kind"] != "adapter"}
if fids != {0x10, 0x11, 0x21, 0x22, 0x31, 0x51}: die(f"events on other functions: {sorted(fids)}")
# the closing zpcictl list (the table in the demo's output)
out = open(sys.argv[2]).read()
table = out.split("== Summary: zpcictl list ==", 1)[1].split("== Summary: zpcictl events ==", 1)[0]
state, machine = {}, {}
for line in table.splitlines():
    m = re.match(r"^0x([0-9a-f]{8})\s+\S+\s+.*\s(ok|error|recovering|failed|quarantined)\s+\d+.*\s(\S+)$", line)
    if m: state[int(m.group(1), 16)], machine[int(m.group(1), 16)] = m.group(2), m.group(3)
want = {0x22: "ok", 0x31: "quarantined", 0x51: "failed", 0x21: "error", 0x10: "error", 0x11: "error"}
if {f: mc for f, mc in machine.items() if mc != "-"} != {0x10: "guest-db01", 0x11: "guest-db01"}:
    die(f"closing list, MACHINE: {machine}")
# zpcictl adapters after section 5: the guest named once for its adapter, no other machine
ads = out.split("== 5. An adapter fails under a guest ==", 1)[1].split("== Summary", 1)[0]
rows = [l for l in ads.splitlines() if re.match(r"^0x[0-9a-f]{4}\s", l)]
hdr = [l for l in ads.splitlines() if l.startswith("PCHID")]
if len(hdr) != 1 or "MACHINES" not in hdr[0]: die(f"zpcictl adapters header: {hdr}")
col = hdr[0].index("MACHINES")
named = {l.split()[0]: l[col:].split()[0] for l in rows}
if named.get("0x0100") != "guest-db01" or any(v != "-" for k, v in named.items() if k != "0x0100"):
    die(f"zpcictl adapters, MACHINES: {named}")
if len(state) != 16: die(f"the closing list has {len(state)} functions")
for fid, s in state.items():
    if s != want.get(fid, "ok"): die(f"closing list: 0x{fid:x} is {s}")
print("action results:", ", ".join(f"{f:#x} {a} {r}" for f, a, r in sorted({(e["fid"], e["action"], e["result"]) for e in ev if e["kind"] == "action"})))
PY
pass "the demo's history and closing list: reset confirmed and ok, storm unbound and quarantined, alert on PEC 0x40, held function only observed, one adapter event and alert for guest-db01's adapter"

# A missing piece of the world stops the demo, naming it.
DEVWORLD_PRELOAD=$T/libdevworld-preload.so ZPCID_DEMO_FAST=1 timeout 120 "$SRC/tools/demo" "$BUILD" >"$T/out" 2>&1
rc=$?
[ $rc != 0 ] || { cat "$T/out"; fail "the demo exited 0 without its preload library"; }
grep -qF "$T/libdevworld-preload.so is missing" "$T/out" || { cat "$T/out"; fail "the demo did not name the missing preload library"; }
pass "without the preload library the demo fails (exit $rc) and names it"

# zpcid deciding otherwise (dry run: nothing is reset) makes the demo fail.
sed 's/"policy": {/"policy": { "dry_run": true,/' "$SRC/tests/data/lpar/demo.json" >"$T/dry-run.json"
ZPCID_DEMO_CONFIG=$T/dry-run.json ZPCID_DEMO_EXPECT_TIMEOUT=5 ZPCID_DEMO_FAST=1 timeout 300 "$SRC/tools/demo" "$BUILD" >"$T/out" 2>&1
rc=$?
[ $rc != 0 ] || { cat "$T/out"; fail "the demo exited 0 although zpcid only dry-ran its resets"; }
grep -q "1. A transient error" "$T/out" && grep -q "NOT as expected" "$T/out" || { cat "$T/out"; fail "the demo did not say which section went otherwise"; }
grep -qF "zpcid's records differ from what the demo announced" "$T/out" || { cat "$T/out"; fail "no closing verdict"; }
pass "when zpcid records other outcomes the demo says so and exits $rc"

# No adapter correlation (3 functions needed): the guest's section alone goes otherwise.
sed 's/"functions": 2,/"functions": 3,/' "$SRC/tests/data/lpar/demo.json" >"$T/no-adapter.json"
! cmp -s "$SRC/tests/data/lpar/demo.json" "$T/no-adapter.json" || fail "could not change adapter_correlation.functions"
ZPCID_DEMO_CONFIG=$T/no-adapter.json ZPCID_DEMO_EXPECT_TIMEOUT=5 ZPCID_DEMO_FAST=1 timeout 300 "$SRC/tools/demo" "$BUILD" >"$T/out" 2>&1
rc=$?
[ $rc != 0 ] || { cat "$T/out"; fail "the demo exited 0 without the adapter event it announced"; }
sed -n '/== 5. An adapter fails under a guest ==/,/^   => /p' "$T/out" | grep -q 'NOT as expected' ||
	{ cat "$T/out"; fail "the guest's section did not say it went otherwise"; }
[ "$(grep -c '^   => as expected$' "$T/out")" = 5 ] || { cat "$T/out"; fail "other sections than the guest's went otherwise"; }
pass "without the adapter event the guest's section says so and the demo exits $rc"
exit 0
