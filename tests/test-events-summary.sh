#!/bin/bash
# zpcictl events top|rate|decisions against the real zpcid on a private
# dbus-daemon with the SHIPPED policy: zpcid starts on a history of known
# events at known times (written by the history's own writer,
# tests/history-write), and every number of the summaries is checked: the
# tables as text, the JSON parsed, the D-Bus reply and its errors, and an
# unprivileged caller reading them like GetEvents.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (zpcid's state directory, setpriv)"
for t in dbus-daemon busctl setpriv; do
	command -v $t >/dev/null || skip "$t is not installed"
done
/usr/bin/python3 -c 'import dbus' 2>/dev/null || skip "/usr/bin/python3 has no dbus module (python3-dbus)"
locale -a 2>/dev/null | grep -qi '^c\.utf-\?8$' || skip "no C.UTF-8 locale"
ZPCID=${ZPCID_TEST_ZPCID:-$BUILD/zpcid}
Z=$BUILD/zpcictl/zpcictl
W=$BUILD/tests/history-write
POLICY=$BUILD/dbus/org.zpcid1.conf
if ! [ -x "$ZPCID" ] || ! [ -x "$Z" ] || ! [ -x "$W" ] || ! [ -f "$POLICY" ]; then
	fail "build zpcid, zpcictl, $W and $POLICY first"
fi
PY=/usr/bin/python3

T=$(mktemp -d /tmp/test-events-summary.XXXXXX)
chmod 755 "$T" # the bus socket lives here; nobody must reach it
cleanup() {
	[ -n "${ZPID:-}" ] && kill "$ZPID" 2>/dev/null && wait "$ZPID" 2>/dev/null
	[ -n "${BPID:-}" ] && kill "$BPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# -- the scenario: window [T0, T0 + 600 s), buckets of 60 s --
mkdir -p "$T/state" "$T/run"
$PY - >"$T/events.jsonl" <<'PY'
import json
T0 = 1700000000 * 10**6
seq = 0
def ev(kind, sec, fid, pchid=None, **kw):
    global seq
    seq += 1
    e = {"seq": seq, "kind": kind, "source": "kmsg", "time": T0 + int(sec * 10**6),
         "fid": fid, "slot": "%04x:00:00.0" % fid}
    if pchid is not None:
        e["pchid"] = pchid
    if kind == "error":
        e["pec"] = 0x3a
    e.update(kw)
    print(json.dumps(e))
def act(sec, fid, rule, action, result):
    ev("action", sec, fid, 0x1a0, source="daemon", rule=rule, action=action, result=result)
ev("error", -5, 0x10, 0x1a0)            # before the window
for s in (5, 65, 66, 67, 300):
    ev("error", s, 0x10, 0x1a0)
act(68, 0x10, "storm-reset", "reset", "done")
ev("error", 70, 0x11, 0x1a0)
ev("dropped", 72, 0x11, 0x1a0, count=3)
for s in (120, 121, 122):
    ev("error", s, 0x20, 0x2b0)
act(125, 0x20, "storm-reset", "reset", "done")
act(200, 0x20, "alert-all", "alert", "done")
act(201, 0x20, "alert-all", "alert", "done")
act(401, 0x20, "manual", "recover", "failed")
ev("error", 599, 0x11, 0x1a0)
ev("error", 600, 0x10, 0x1a0)           # at its end: outside
PY
"$W" "$T/state" <"$T/events.jsonl" || fail "could not write the history"

sed "s|unix:dir=/tmp|unix:dir=$T|" "$SRC/tests/dbus/test-system-bus.conf" >"$T/bus.conf"
cp "$POLICY" "$T/org.zpcid1.conf"
dbus-daemon --config-file="$T/bus.conf" --nofork --nopidfile --print-address=3 3>"$T/addr" 2>"$T/dbus.log" &
BPID=$!
wait_for '[ -s "$T/addr" ]' 5 || fail "dbus-daemon did not start: $(cat "$T/dbus.log")"
DBUS_SYSTEM_BUS_ADDRESS=$(head -1 "$T/addr")
export DBUS_SYSTEM_BUS_ADDRESS
printf '{ "schema": 1, "directories": { "state": "%s/state", "runtime": "%s/run" } }\n' "$T" "$T" >"$T/zpcid.json"
mkdir -p "$T/conf.d"
"$ZPCID" --config "$T/zpcid.json" --config-dropins "$T/conf.d" --log-target=console >"$T/zpcid.log" 2>&1 &
ZPID=$!
wait_for 'busctl --system status org.zpcid1 >/dev/null 2>&1' 10 || fail "zpcid did not take its name: $(cat "$T/zpcid.log")"

export TZ=UTC FMT_NOMETA=1
WIN="--since=@1700000000 --until=@1700000600 --bucket=1m"

# -- top functions --
# shellcheck disable=SC2086
LC_ALL=C.UTF-8 "$Z" events top $WIN >"$T/top" || fail "events top: exit $?"
cat >"$T/want" <<'EOF'
FID         PCHID   SLOT          ERRORS  DROPPED  LAST
0x00000010  0x01a0  0010:00:00.0  5       0        2023-11-14 22:18:20
0x00000020  0x02b0  0020:00:00.0  3       0        2023-11-14 22:15:22
0x00000011  0x01a0  0011:00:00.0  2       3        2023-11-14 22:23:19
EOF
diff -u "$T/want" "$T/top" || fail "events top: table differs"
pass "events top: functions ranked by errors, then dropped"

# shellcheck disable=SC2086
"$Z" events top $WIN --top=2 --no-header >"$T/top2" || fail "events top --top=2"
if [ "$(wc -l <"$T/top2")" != 2 ] || ! head -1 "$T/top2" | grep -q '^0x00000010 '; then
	fail "--top=2: $(cat "$T/top2")"
fi

# shellcheck disable=SC2086
"$Z" events top --by=adapter $WIN >"$T/adapters" || fail "events top --by=adapter"
cat >"$T/want" <<'EOF'
PCHID   FUNCTIONS  ERRORS  DROPPED  LAST
0x01a0  2          7       3        2023-11-14 22:23:19
0x02b0  1          3       0        2023-11-14 22:15:22
EOF
diff -u "$T/want" "$T/adapters" || fail "events top --by=adapter: table differs"
pass "events top --by=adapter: adapters grouped by PCHID"

# -- rate: sparklines in UTF-8 and in ASCII --
# shellcheck disable=SC2086
LC_ALL=C.UTF-8 "$Z" events rate $WIN >"$T/rate" || fail "events rate"
cat >"$T/want" <<'EOF'
FID         PCHID   ERRORS  PEAK  ERRORS OVER TIME
0x00000010  0x01a0  5       3     ▃█···▃····
0x00000020  0x02b0  3       3     ··█·······
0x00000011  0x01a0  2       1     ·█·······█
EOF
diff -u "$T/want" "$T/rate" || fail "events rate (UTF-8): table differs"
# shellcheck disable=SC2086
LC_ALL=C "$Z" events rate $WIN --no-header >"$T/rate.ascii" || fail "events rate (C)"
cat >"$T/want" <<'EOF'
0x00000010  0x01a0  5       3     ~#...~....
0x00000020  0x02b0  3       3     ..#.......
0x00000011  0x01a0  2       1     .#.......#
EOF
diff -u "$T/want" "$T/rate.ascii" || fail "events rate (ASCII): table differs"
pass "events rate: a sparkline per function, UTF-8 and ASCII"

# -- decisions --
# shellcheck disable=SC2086
"$Z" events decisions $WIN >"$T/decisions" || fail "events decisions"
cat >"$T/want" <<'EOF'
RULE         ACTION   RESULT  COUNT  LAST
alert-all    alert    done    2      2023-11-14 22:16:41
storm-reset  reset    done    2      2023-11-14 22:15:25
manual       recover  failed  1      2023-11-14 22:20:01
EOF
diff -u "$T/want" "$T/decisions" || fail "events decisions: table differs"
pass "events decisions: actions per rule and result"

# -- JSON: the series and every number --
unset FMT_NOMETA
for v in top:top adapters:"top --by=adapter" rate:rate decisions:decisions; do
	# shellcheck disable=SC2086
	"$Z" --json events ${v#*:} $WIN >"$T/json.${v%%:*}" || fail "--json events ${v#*:}"
done
# shellcheck disable=SC2086
"$Z" --json events rate $WIN --function=0x11 >"$T/json.one" || fail "--json events rate --function"
# shellcheck disable=SC2086
"$Z" --format=csv events rate $WIN >"$T/csv" || fail "--format=csv events rate"
$PY - "$T" <<'PY' || fail "JSON output does not match the scenario"
import csv, json, sys
T = sys.argv[1]
def die(m): print("FAIL:", m, file=sys.stderr); sys.exit(1)
def load(n): return json.load(open(f"{T}/json.{n}"))
T0 = 1700000000 * 10**6
d = load("top")
if d["meta"]["api_level"] != 1: die("meta")
got = [(f["fid"], f.get("pchid"), f["errors"], f["dropped"], f["last"]) for f in d["top_functions"]]
want = [(0x10, 0x1a0, 5, 0, T0 + 300 * 10**6), (0x20, 0x2b0, 3, 0, T0 + 122 * 10**6),
        (0x11, 0x1a0, 2, 3, T0 + 599 * 10**6)]
if got != want: die(f"top: {got}")
if any("series" in f for f in d["top_functions"]): die("top carries series")
d = load("adapters")
got = [(a["pchid"], a["functions"], a["errors"], a["dropped"]) for a in d["top_adapters"]]
if got != [(0x1a0, 2, 7, 3), (0x2b0, 1, 3, 0)]: die(f"adapters: {got}")
d = load("rate")
series = {r["fid"]: r["series"] for r in d["rates"]}
if series != {0x10: [1, 3, 0, 0, 0, 1, 0, 0, 0, 0], 0x20: [0, 0, 3, 0, 0, 0, 0, 0, 0, 0],
              0x11: [0, 1, 0, 0, 0, 0, 0, 0, 0, 1]}: die(f"series: {series}")
for r in d["rates"]:
    if (r["since"], r["until"], r["bucket"]) != (T0, T0 + 600 * 10**6, 60 * 10**6): die(f"window: {r}")
    if "sparkline" in r: die("a sparkline in JSON")
d = load("one")
if [(r["fid"], r["series"]) for r in d["rates"]] != [(0x11, [0, 1, 0, 0, 0, 0, 0, 0, 0, 1])]: die(f"--function: {d}")
d = load("decisions")
got = [(x["rule"], x["action"], x["result"], x["count"]) for x in d["decisions"]]
if got != [("alert-all", "alert", "done", 2), ("storm-reset", "reset", "done", 2),
           ("manual", "recover", "failed", 1)]: die(f"decisions: {got}")
rows = list(csv.DictReader(open(f"{T}/csv")))
if [(int(r["fid"]), int(r["series[1]"])) for r in rows] != [(16, 3), (32, 0), (17, 1)]: die(f"csv: {rows}")
PY
pass "JSON and csv: the series and the counts of the scenario"

# -- the D-Bus method: open to everybody, like GetEvents; files read; errors --
M="org.zpcid1 /org/zpcid1 org.zpcid1.Manager"
o=$(setpriv --reuid=65534 --regid=65534 --clear-groups busctl --system --json=short call $M GetEventSummary 'a{sv}' 3 \
	since t 1700000000000000 until t 1700000600000000 bucket t 60000000) || fail "nobody: GetEventSummary: $o"
echo "$o" | $PY -c '
import json, sys
d = json.load(sys.stdin)["data"][0]
v = {k: x["data"] for k, x in d.items()}
want = {"records": 16, "errors": 10, "dropped": 3, "actions": 5, "functions_total": 3, "adapters_total": 2,
        "series": [1, 4, 3, 0, 0, 1, 0, 0, 0, 1], "files": 1, "files_read": 1}
for k, w in want.items():
    if v[k] != w: sys.exit(f"{k}: {v[k]} != {w}")
' || fail "GetEventSummary reply: $o"
pass "GetEventSummary: the totals and the series over all functions, for an unprivileged caller"

dcall() { $PY "$SRC/tests/dbus-call.py" "$@"; }
o=$(dcall /org/zpcid1 org.zpcid1.Manager GetEventSummary "a{sv}" "[{'bogus': dbus.UInt32(1)}]")
[[ "$o" == "error org.freedesktop.DBus.Error.InvalidArgs: Unknown option 'bogus'"* ]] || fail "unknown option: $o"
o=$(busctl --system call $M GetEventSummary 'a{sv}' 2 top u 1 top u 2 2>&1) && fail "an option given twice was accepted"
echo "$o" | grep -q "Option 'top' given twice" || fail "option given twice: $o"
o=$(dcall /org/zpcid1 org.zpcid1.Manager GetEventSummary "a{sv}" "[{'since': dbus.UInt64(1700000000000000), 'until': dbus.UInt64(1700086400000000), 'bucket': dbus.UInt64(1000000)}]")
[[ "$o" == "error org.zpcid1.Error.InvalidArgument: The window holds more than 1440 buckets"* ]] || fail "buckets: $o"
o=$(dcall /org/zpcid1 org.zpcid1.Manager GetEventSummary "a{sv}" "[{'fid': dbus.String('x')}]")
[[ "$o" == "error org.freedesktop.DBus.Error.InvalidArgs: Filter 'fid' must have type 'u'"* ]] || fail "type: $o"
pass "GetEventSummary refuses unknown and mistyped options and too many buckets"

# -- an empty window: exit status 2, like events with no match --
"$Z" events top --since=@1600000000 --until=@1600000600 >"$T/empty"
rc=$?
[ $rc -eq 2 ] || fail "empty window: exit $rc"
"$Z" events rate --bucket=0 >/dev/null 2>&1 && fail "--bucket=0 accepted"
"$Z" events top --follow >/dev/null 2>&1 && fail "events top --follow accepted"
"$Z" events bogus >/dev/null 2>&1 && fail "events bogus accepted"
pass "events summaries: empty window and bad arguments"
