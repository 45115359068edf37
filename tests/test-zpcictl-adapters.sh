#!/bin/bash
# Adapter correlation on the simulated LPAR (tests/zpci-sim, 16 functions)
# under the real zpcid on a private bus with the shipped policy: errors on
# the three functions of PCHID 0x0140 within the window make one adapter
# event (journal line, AdapterEvent signal, history record, metric), errors
# on another adapter and a further error within the window make none; then
# "zpcictl adapters" in every format, "zpcictl events --kind adapter", and
# zpcid_adapter_events_total in zpcictl metrics and the daemon's textfile.
#
# The script is also its own scenario step: zpci-sim runs
# "test-zpcictl-adapters.sh --step NAME" while the daemon is up.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$SRC/tests/simbus.sh"

# adapter_signals: the recorded AdapterEvent signals, one JSON list of args per line
adapter_signals() {
	$PY - "$T/signals" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    s = json.loads(l)
    if s.get("member") == "AdapterEvent":
        print(json.dumps(s["args"]))
PY
}

# wait_error_signal FID PEC: until the recorder has the ErrorReported of that
# error; zpcid's signals arrive in the order it sent them, so every signal
# sent before it (an AdapterEvent included) has arrived too
wait_error_signal() {
	wait_for "$PY - \"\$T/signals\" $1 $2 <<'PY'
import json, sys
for l in open(sys.argv[1]):
    s = json.loads(l)
    if s.get('member') == 'ErrorReported' and s['args'][0].get('fid') == int(sys.argv[2], 0) and s['args'][0].get('pec') == int(sys.argv[3], 0):
        sys.exit(0)
sys.exit(1)
PY" 10 || fail "no ErrorReported for $1 $2"
}

step_start() {
	wait_for 'busctl --system status org.zpcid1 >/dev/null 2>&1' 10 || fail "zpcid did not take org.zpcid1"
	wait_for '[ "$(busctl --system get-property org.zpcid1 /org/zpcid1 org.zpcid1.Manager FunctionCount)" = "u 16" ]' 10 ||
		fail "zpcid did not announce 16 functions"
	setsid $PY "$SRC/tests/dbus-signals.py" "$T/signals" </dev/null >/dev/null 2>"$T/rec.err" &
	echo $! >"$T/rec.pid"
	wait_for 'grep -q ready "$T/signals"' 10 || fail "the signal recorder did not start: $(cat "$T/rec.err")"
}

# After two functions of 0x0140 and one of 0x0100 (the marker: its error
# was logged after the other two were recorded): no adapter event yet.
step_two_of_three() {
	wait_error_signal 0x10 0x12
	[ -z "$(adapter_signals)" ] || fail "an adapter event from two functions: $(adapter_signals)"
	"$Z" --format json adapters >"$T/two.json" || fail "zpcictl adapters"
	$PY - "$T/two.json" <<'PY' || fail "zpcictl adapters after two errors"
import json, sys
a = {x["pchid"]: x for x in json.load(open(sys.argv[1]))["adapters"]}
x = a[0x140]
if (x["function_count"], x["recent_functions"], x["errors"], x["adapter_events"]) != (3, 2, 2, 0): sys.exit(f"0x0140: {x}")
if "last_adapter_event" in x or "held_until" in x: sys.exit(f"0x0140 has a last event: {x}")
PY
	pass "two functions of one adapter and one of another: no adapter event"
}

step_check() {
	local sig
	wait_error_signal 0x20 0x13
	sig=$(adapter_signals)
	[ "$(echo "$sig" | wc -l)" = 1 ] || fail "want exactly one AdapterEvent, got: $sig"
	echo "$sig" | $PY -c '
import json, sys
pchid, port, fids, functions, e = json.loads(sys.stdin.read())
if (pchid, port, fids, functions) != (0x140, -1, [0x20, 0x21, 0x22], 3): sys.exit(f"args {pchid} {port} {fids} {functions}")
if e["kind"] != "adapter" or e["pchid"] != 0x140 or e["count"] != 3 or e["adapter_functions"] != 3: sys.exit(f"event {e}")
if e["adapter_fids"] != "0x00000020,0x00000021,0x00000022": sys.exit(f"adapter_fids {e}")
if e["message"] != "adapter PCHID 0x0140: 3 of 3 functions reported errors": sys.exit(f"message {e}")
if "fid" in e: sys.exit(f"an adapter event names no function: {e}")
' || fail "AdapterEvent arguments"
	pass "one AdapterEvent(0x0140, -1, [0x20 0x21 0x22], 3, {kind adapter ...}) for four errors in the window"

	local fmt
	for fmt in json jsonl pairs csv; do
		"$Z" --format $fmt adapters >"$T/adapters.$fmt" || fail "zpcictl --format $fmt adapters"
	done
	"$Z" adapters >"$T/adapters.table" || fail "zpcictl adapters (table)"
	"$Z" --format json events --kind adapter >"$T/events.json" || fail "zpcictl events --kind adapter"
	"$Z" metrics >"$T/metrics.txt" || fail "zpcictl metrics"
	$PY - "$T" "$SRC/tests/data/lpar/lpar16.lpar" <<'PY' || fail "zpcictl adapters does not match the LPAR"
import csv, json, sys
T, lpar = sys.argv[1], sys.argv[2]
def die(m):
    print("FAIL:", m, file=sys.stderr); sys.exit(1)
want = {}  # pchid -> fids, in the order of their lowest FID
for l in open(lpar):
    if l.startswith("function "):
        kv = dict(w.split("=", 1) for w in l.split()[1:])
        p = int(kv["pchid"], 16)
        if p: want.setdefault(p, []).append(int(kv["fid"], 16))
order = sorted(want, key=lambda p: min(want[p]))
d = json.load(open(f"{T}/adapters.json"))
if d["meta"]["api_level"] != 1: die("meta")
ads = d["adapters"]
if [a["pchid"] for a in ads] != order: die(f"pchids {[a['pchid'] for a in ads]} != {order}")
for a in ads:
    if [f["fid"] for f in a["functions"]] != want[a["pchid"]]: die(f"functions of {a['pchid']:#x}: {a}")
    if a["function_count"] != len(want[a["pchid"]]): die(f"function_count {a}")
x = {a["pchid"]: a for a in ads}
a = x[0x140]
if (a["recent_functions"], a["errors"], a["adapter_events"]) != (3, 4, 1): die(f"0x0140: {a}")
if not isinstance(a.get("last_adapter_event"), int): die(f"0x0140 last_adapter_event: {a}")
# held for the configured hour after the adapter event, the others not
if a.get("held_until", 0) - a["last_adapter_event"] not in range(3600 * 10**6 - 10**6, 3600 * 10**6 + 10**6): die(f"held_until: {a}")
if any("held_until" in y for p, y in x.items() if p != 0x140): die("held without an adapter event")
st = {f["fid"]: (f["state"], f["errors"], f["recent_error"]) for f in a["functions"]}
if st != {0x20: ("error", 2, True), 0x21: ("error", 1, True), 0x22: ("error", 1, True)}: die(f"states {st}")
b = x[0x100]
if (b["recent_functions"], b["errors"], b["adapter_events"]) != (1, 1, 0): die(f"0x0100: {b}")
if any(y["errors"] or y["adapter_events"] for p, y in x.items() if p not in (0x100, 0x140)): die("errors elsewhere")
# jsonl, pairs, csv: the same adapters
l = [json.loads(s) for s in open(f"{T}/adapters.jsonl")]
if [r["adapters"]["pchid"] for r in l[1:]] != order: die("jsonl")
p = dict(s.rstrip("\n").split("=", 1) for s in open(f"{T}/adapters.pairs"))
i = order.index(0x140)
if p.get(f"adapters[{i}].pchid") != "320" or p.get(f"adapters[{i}].functions[2].fid") != "34": die("pairs")
if p.get(f"adapters[{i}].functions[0].state") != '"error"': die("pairs state")
r = list(csv.reader(open(f"{T}/adapters.csv")))
if len(r) != 1 + len(order) or [int(y[r[0].index("pchid")]) for y in r[1:]] != order: die("csv")
# the table: a header and one line per adapter, its functions in one cell
t = open(f"{T}/adapters.table").read().splitlines()
if not t[0].startswith("PCHID") or len(t) != 1 + len(order): die(f"table: {t}")
row = [s for s in t if s.startswith("0x0140")]
if len(row) != 1 or not row[0].endswith("20:error:2 21:error:1 22:error:1"): die(f"table row: {row}")
# the history: one adapter record
ev = json.load(open(f"{T}/events.json"))["events"]
if len(ev) != 1: die(f"events --kind adapter: {ev}")
e = ev[0]
if (e["kind"], e["pchid"], e["count"], e["adapter_functions"]) != ("adapter", 0x140, 3, 3): die(f"record {e}")
if e["adapter_fids"] != "0x00000020,0x00000021,0x00000022" or "seq" not in e: die(f"record {e}")
# the metric, from 0 for every adapter
m = open(f"{T}/metrics.txt").read()
if '\nzpcid_adapter_events_total{pchid="0x0140"} 1\n' not in m: die("metric 0x0140")
if '\nzpcid_adapter_events_total{pchid="0x0100"} 0\n' not in m: die("metric 0x0100")
if "# TYPE zpcid_adapter_events_total counter" not in m: die("metric type")
if 'pchid="0x0000"' in m: die("ISM (PCHID 0) as an adapter")
PY
	pass "zpcictl adapters (json, jsonl, pairs, csv, table), events --kind adapter and metrics agree with the LPAR"

	wait_for 'grep -q "^zpcid_adapter_events_total{pchid=\"0x0140\"} 1$" "$T/prom/zpcid.prom"' 10 ||
		fail "the textfile has no adapter event for 0x0140: $(grep adapter "$T/prom/zpcid.prom")"
	if command -v promtool >/dev/null; then
		local out
		out=$(promtool check metrics <"$T/prom/zpcid.prom" 2>&1) || fail "promtool check metrics: $out"
		[ -z "$out" ] || fail "promtool check metrics has findings: $out"
		out=$(promtool check metrics <"$T/metrics.txt" 2>&1) || fail "promtool check metrics (zpcictl): $out"
		[ -z "$out" ] || fail "promtool check metrics (zpcictl) has findings: $out"
		pass "the textfile counts the adapter event; promtool check metrics: no findings"
	else
		pass "the textfile counts the adapter event (promtool not installed, not checked)"
	fi
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

mkdir -p "$T/prom"
cat >"$T/zpcid.json" <<JSON
{ "schema": 1,
  "adapter_correlation": { "functions": 3, "window": "1h", "hold": "1h" },
  "metrics": { "textfile_directory": "$T/prom", "interval": "1s" } }
JSON
cat >"$T/scenario" <<SC
run bash $SELF --step start
inject fid=0x20 pec=0x12
wait-log "0x00000020 (0020:00:00.0) reported error 0x0012"
inject fid=0x21 pec=0x12
wait-log "0x00000021 (0021:00:00.0) reported error 0x0012"
inject fid=0x10 pec=0x12
wait-log "0x00000010 (0010:00:00.0) reported error 0x0012"
run bash $SELF --step two_of_three
inject fid=0x22 pec=0x12
wait-log "adapter PCHID 0x0140: 3 of 3 functions reported errors"
inject fid=0x20 pec=0x13
wait-log "0x00000020 (0020:00:00.0) reported error 0x0013"
run bash $SELF --step check
SC
simbus_sim --quiet --log "$T/zpcid.log" --lpar "$SRC/tests/data/lpar/lpar16.lpar" --config "$T/zpcid.json" \
	--scenario "$T/scenario" || { tail -40 "$T/zpcid.log" >&2; fail "the scenario failed"; }
[ "$(grep -c 'adapter PCHID' "$T/zpcid.log")" = 1 ] || fail "zpcid logged $(grep -c 'adapter PCHID' "$T/zpcid.log") adapter events, want 1"
pass "adapter correlation and zpcictl adapters against zpcid with 16 functions"
exit 0
