#!/bin/bash
# The summaries of zpcictl events on the simulated LPAR (16 functions,
# tests/zpci-sim) under the real zpcid: errors injected on two functions of
# one adapter (PCHID 0x0100) and on one of another (0x01c4) go through the
# whole pipeline into the history, and events top (by function and by
# adapter), rate and decisions give exactly what was injected and what the
# policy did (its action records, read back with events --kind=action).
#
# The script is also its own scenario step: zpci-sim runs
# "test-events-summary-lpar.sh --step NAME" while the daemon is up.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$SRC/tests/simbus.sh"

step_wait_bus() {
	wait_for 'busctl --system status org.zpcid1 >/dev/null 2>&1' 10 || fail "zpcid did not take org.zpcid1"
	wait_for '[ "$(busctl --system get-property org.zpcid1 /org/zpcid1 org.zpcid1.Manager FunctionCount)" = "u 16" ]' 10 ||
		fail "zpcid did not announce 16 functions"
}

errors_recorded() {
	"$Z" --json events --kind=error | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))'
}

step_check() {
	# every injected error is in the history before the summaries are asked
	wait_for '[ "$(errors_recorded)" = 6 ]' 30 || fail "the history holds $(errors_recorded) errors, not 6"
	"$Z" --json events top >"$T/top" || fail "events top"
	"$Z" --json events top --by=adapter >"$T/adapters" || fail "events top --by=adapter"
	"$Z" --json events rate --bucket=1s >"$T/rate" || fail "events rate"
	"$Z" --json events decisions >"$T/decisions" || fail "events decisions"
	"$Z" --json events --kind=action >"$T/actions" || fail "events --kind=action"
	"$Z" events rate --bucket=1s >"$T/rate.table" || fail "events rate (table)"
	$PY - "$T" <<'PY' || fail "the summaries do not match what was injected"
import collections, json, sys
T = sys.argv[1]
def die(m): print("FAIL:", m, file=sys.stderr); sys.exit(1)
def load(n): return json.load(open(f"{T}/{n}"))
top = [(f["fid"], f.get("pchid"), f["errors"]) for f in load("top")["top_functions"]]
if top != [(0x10, 0x100, 3), (0x11, 0x100, 2), (0x31, 0x1c4, 1)]: die(f"top: {top}")
ad = [(a["pchid"], a["functions"], a["errors"]) for a in load("adapters")["top_adapters"]]
if ad != [(0x100, 2, 5), (0x1c4, 1, 1)]: die(f"adapters: {ad}")
for r in load("rate")["rates"]:
    if sum(r["series"]) != r["errors"]: die(f"series of {r['fid']:#x}: {r['series']} vs {r['errors']}")
    if r["bucket"] != 10**6 or len(r["series"]) != -(-(r["until"] - r["since"]) // 10**6): die(f"buckets: {r}")
want = collections.Counter((e["rule"], e["action"], e["result"]) for e in load("actions")["events"])
got = {(d["rule"], d["action"], d["result"]): d["count"] for d in load("decisions")["decisions"]}
if got != dict(want): die(f"decisions {got} != action records {dict(want)}")
if not any(rule == "permanent-errors" for rule, _, _ in got): die(f"the permanent error fired no rule: {got}")
t = open(f"{T}/rate.table").read().splitlines()
if len(t) != 4 or not t[1].startswith("0x00000010"): die(f"rate table: {t}")
PY
	pass "events top, rate and decisions match the injected errors and the policy's actions"
}

if [ "${1:-}" = --step ]; then
	unset LD_PRELOAD # a client of the bus, not of the simulated devices
	"step_$2"
	exit 0
fi

SELF=$(realpath "$0")
simbus_require
simbus_enter_ns "$@"
simbus_start

echo '{ "schema": 1 }' >"$T/zpcid.json"
cat >"$T/scenario" <<SC
run bash $SELF --step wait_bus
inject fid=0x10 pec=0x12
inject fid=0x10 pec=0x13
inject fid=0x11 pec=0x12
inject fid=0x31 pec=0x12
inject fid=0x11 pec=0x13
inject fid=0x10 pec=0x3b
wait-log "reported error 0x003b"
run bash $SELF --step check
SC
simbus_sim --quiet --lpar "$SRC/tests/data/lpar/lpar16.lpar" --config "$T/zpcid.json" --scenario "$T/scenario" ||
	fail "the scenario failed"
pass "summaries on the simulated LPAR"
exit 0
