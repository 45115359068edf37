#!/bin/bash
# zpcictl's queries against the real zpcid WITH functions: the simulated
# LPAR (16 functions, tests/zpci-sim) on a private bus with the shipped
# policy; list, show, events and metrics in every machine format, each
# parsed (never string-compared) and checked against what the world holds.
#
# The script is also its own scenario step: zpci-sim runs
# "test-zpcictl-functions.sh --step NAME" while the daemon is up.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$SRC/tests/simbus.sh"

step_wait_bus() {
	wait_for 'busctl --system status org.zpcid1 >/dev/null 2>&1' 10 || fail "zpcid did not take org.zpcid1"
	wait_for '[ "$(busctl --system get-property org.zpcid1 /org/zpcid1 org.zpcid1.Manager FunctionCount)" = "u 16" ]' 10 ||
		fail "zpcid did not announce 16 functions"
}

step_formats() {
	local fmt cmd rc
	for cmd in list "show 0x31" "show 0031:00:00.0" "show uid:0x31" events metrics; do
		for fmt in json jsonl pairs csv; do
			# shellcheck disable=SC2086
			"$Z" --format $fmt $cmd >"$T/out.${cmd%% *}.$fmt" 2>"$T/err"
			rc=$?
			[ $rc -eq 0 ] || fail "zpcictl --format $fmt $cmd: exit $rc: $(cat "$T/err")"
		done
		# shellcheck disable=SC2086
		"$Z" --json $cmd >"$T/out.${cmd%% *}.alias" || fail "zpcictl --json $cmd"
	done
	"$Z" list >"$T/out.list.table" || fail "zpcictl list (table)"
	"$Z" --json show 0x99 >"$T/out.notfound"
	rc=$?
	[ $rc -eq 3 ] || fail "show of an unknown FID: exit $rc"
	$PY - "$T" "$SRC/tests/data/lpar/lpar16.lpar" <<'PY' || fail "machine output does not match the LPAR"
import csv, json, re, sys
T, lpar = sys.argv[1], sys.argv[2]
def die(msg):
    print("FAIL:", msg, file=sys.stderr); sys.exit(1)
def meta_ok(m, what):
    for k in ("api_level", "version", "host", "time_epoch", "time"):
        if k not in m: die(f"{what}: meta.{k} missing: {m}")
    if m["api_level"] != 1: die(f"{what}: meta.api_level is {m['api_level']}")
    if not isinstance(m["time_epoch"], int): die(f"{what}: meta.time_epoch is not an integer")
want = {}
for l in open(lpar):
    if l.startswith("function "):
        kv = dict(w.split("=", 1) for w in l.split()[1:])
        want[int(kv["fid"], 16)] = kv

def load(name):
    return json.load(open(f"{T}/out.{name}"))

# list --format json / --json
for name in ("list.json", "list.alias"):
    d = load(name)
    meta_ok(d["meta"], name)
    fs = d["functions"]
    fids = [f["fid"] for f in fs]
    if fids != sorted(want): die(f"{name}: fids {fids} != {sorted(want)}")
    for f in fs:
        w = want[f["fid"]]
        if f["uid"] != int(w["uid"], 16): die(f"{name}: uid of {f['fid']:#x}")
        if f["pchid"] != int(w["pchid"], 16): die(f"{name}: pchid of {f['fid']:#x}")
        if f["slot"] != "%04x:00:00.0" % int(w["uid"], 16): die(f"{name}: slot {f['slot']}")
        drv = w.get("driver")
        if drv == "none":
            if f.get("driver"): die(f"{name}: {f['fid']:#x} has driver {f.get('driver')}")
        elif f.get("driver") != drv: die(f"{name}: driver of {f['fid']:#x} is {f.get('driver')}, want {drv}")
        if f["object"] != "/org/zpcid1/function/%08x" % f["fid"]: die(f"{name}: object {f['object']}")
        if f["mode"] != "observe" or f["state"] not in ("ok", "error"): die(f"{name}: mode/state {f}")
        # not set means absent, never 0 or ""
        for k, v in f.items():
            if v == "" or v == {}: die(f"{name}: {f['fid']:#x}: {k} is set but empty")
        if "owner_pid" in f or "owner_command" in f: die(f"{name}: {f['fid']:#x}: an owner nobody is")
    by = {f["fid"]: f for f in fs}
    if by[0x31]["errors"] != 2: die(f"{name}: errors of 0x31: {by[0x31]['errors']}")
    if by[0x31]["last_error"].get("pec") != 0x13: die(f"{name}: last_error of 0x31: {by[0x31]['last_error']}")
    if by[0x10]["errors"] != 0 or "last_error" in by[0x10]: die(f"{name}: errors of 0x10")

# jsonl: meta first, then one {"functions": record} per line
lines = [json.loads(l) for l in open(f"{T}/out.list.jsonl") if l.strip()]
meta_ok(lines[0]["meta"], "list.jsonl")
recs = [l["functions"] for l in lines[1:]]
if [r["fid"] for r in recs] != sorted(want): die("list.jsonl: records")

# pairs: path=value, strings quoted
pairs = {}
for l in open(f"{T}/out.list.pairs"):
    k, _, v = l.rstrip("\n").partition("=")
    pairs[k] = v
if pairs.get("meta.api_level") != "1": die("list.pairs: meta.api_level")
for i, fid in enumerate(sorted(want)):
    if pairs.get(f"functions[{i}].fid") != str(fid): die(f"list.pairs: functions[{i}].fid")
if pairs.get("functions[6].slot") != '"0031:00:00.0"': die(f"list.pairs: slot {pairs.get('functions[6].slot')}")

# csv: header with the meta fields first, one row per function, strings quoted
rows = list(csv.reader(open(f"{T}/out.list.csv")))
if rows[0][:5] != ["meta.api_level", "meta.version", "meta.host", "meta.time_epoch", "meta.time"]: die(f"csv header {rows[0]}")
if len(rows) != 1 + len(want): die(f"csv rows: {len(rows)}")
col = rows[0].index("fid")
if [int(r[col]) for r in rows[1:]] != sorted(want): die("csv fids")
if any(r[0] != "1" for r in rows[1:]): die("csv meta.api_level column")
raw = open(f"{T}/out.list.csv").readlines()
if not raw[0].startswith('meta.api_level,') or not raw[1].startswith('1,"'): die("csv quoting is not util_fmt's")

# show: the same function three ways
for name in ("show.json", "show.alias"):
    d = load(name)
    meta_ok(d["meta"], name)
    f = d["function"]
    if f["fid"] != 0x31 or f["uid_is_unique"] is not True or f["pft_name"] != "NVMe": die(f"{name}: {f}")
    for k in ("vendor_name", "device_name", "fh", "errors", "dropped", "recoveries", "actions", "resets"):
        if k not in f: die(f"{name}: no {k}")
s = [json.loads(l) for l in open(f"{T}/out.show.jsonl")]
meta_ok(s[0]["meta"], "show.jsonl")
if s[1]["function"]["fid"] != 0x31: die("show.jsonl")
p = dict(l.rstrip("\n").split("=", 1) for l in open(f"{T}/out.show.pairs"))
if p.get("function.fid") != "49" or p.get("function.mode") != '"observe"': die("show.pairs")
r = list(csv.reader(open(f"{T}/out.show.csv")))
if len(r) != 2 or r[1][r[0].index("fid")] != "49": die("show.csv")

# events: the two errors of 0x31, in order
for name in ("events.json", "events.alias"):
    d = load(name)
    meta_ok(d["meta"], name)
    ev = [e for e in d["events"] if e.get("kind") == "error"]
    if [(e["fid"], e["pec"]) for e in ev] != [(0x31, 0x12), (0x31, 0x13)]: die(f"{name}: {ev}")
    for e in ev:
        for k in ("seq", "source", "time", "pec_name", "pec_class", "slot", "message"):
            if k not in e: die(f"{name}: event without {k}: {e}")
        if e["pec_class"] != "recoverable": die(f"{name}: pec_class {e['pec_class']}")
    seqs = [e["seq"] for e in d["events"]]
    if seqs != sorted(seqs): die(f"{name}: not oldest first")
l = [json.loads(x) for x in open(f"{T}/out.events.jsonl")]
meta_ok(l[0]["meta"], "events.jsonl")
if [x["events"]["pec"] for x in l[1:] if x["events"]["kind"] == "error"] != [0x12, 0x13]: die("events.jsonl")
p = dict(x.rstrip("\n").split("=", 1) for x in open(f"{T}/out.events.pairs"))
if p.get("meta.api_level") != "1" or p.get("events[0].fid") != "49": die("events.pairs")
r = list(csv.reader(open(f"{T}/out.events.csv")))
if r[0][0] != "meta.api_level" or len(r) < 3: die("events.csv")

# metrics: Prometheus text in every format (the format does not apply)
for fmt in ("json", "jsonl", "pairs", "csv", "alias"):
    text = open(f"{T}/out.metrics.{fmt}").read().splitlines()
    if "zpcid_up 1" not in text: die(f"metrics ({fmt}): no zpcid_up 1")
    vals = {}
    for x in text:
        if x.startswith("#"): continue
        k, v = x.rsplit(" ", 1)
        vals[k] = float(v)
    if vals.get("zpcid_functions") != 16: die(f"metrics ({fmt}): zpcid_functions {vals.get('zpcid_functions')}")
    k = 'zpcid_function_errors_total{fid="0x00000031",slot="0031:00:00.0",type="NVMe"}'
    if vals.get(k) != 2: die(f"metrics ({fmt}): {k} = {vals.get(k)}")

# an unknown function: a JSON error with exit code 3
d = load("notfound")
meta_ok(d["meta"], "notfound")
if d["error"]["exit_code"] != 3: die(f"notfound: {d['error']}")

# the table: one header and 16 lines
t = open(f"{T}/out.list.table").read().splitlines()
if not t[0].startswith("FID") or len(t) != 17: die("table")
PY
	pass "list, show, events and metrics in json, jsonl, pairs, csv and --json"
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
inject fid=0x31 pec=0x12
+0.3s inject fid=0x31 pec=0x13
wait-log "reported error 0x0013"
run bash $SELF --step formats
SC
simbus_sim --quiet --lpar "$SRC/tests/data/lpar/lpar16.lpar" --config "$T/zpcid.json" --scenario "$T/scenario" ||
	fail "the scenario failed"
pass "zpcictl against zpcid with 16 functions"
exit 0
