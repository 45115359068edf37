#!/bin/bash
# The holder of a function as the operator names it, end to end: the real
# zpcid on the simulated LPAR (tests/zpci-sim) with a private dbus-daemon
# that loads zpcid's and systemd-machined's SHIPPED bus policies. A stand-in
# VMM (zpci-sim's "hold", comm qemu-system-s39) takes function 0x21 from
# inside a machine scope cgroup made for the test; then a machine is
# registered for it and unregistered again. Checked at each point: the
# function's OwnerMachine/OwnerMachineClass/OwnerUnit/OwnerCommand
# properties and their PropertiesChanged, zpcictl list/show (table and
# JSON), the records of an error (journal fields, history through zpcictl
# events, the ErrorReported a{sv}, the alert command's environment) and
# zpcid_function_owner_info in the metrics file (promtool check metrics when
# installed).
#
# Sourced by the three tests, with MACHINE_MODE set:
#   machined  the real systemd-machined (systemd-container) on the test bus
#   standin   tests/machined-standin.py behind org.freedesktop.machine1,
#             coming onto the bus after zpcid took its holder
#   fallback  nothing behind org.freedesktop.machine1: unit from the cgroup, comm
# The script is also its own scenario step: zpci-sim runs
# "machine-e2e.sh --step NAME" while the daemon is up.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$SRC/tests/simbus.sh"

F=org.zpcid1.Function
MACHINED=/lib/systemd/systemd-machined
MACHINED_POLICY=/usr/share/dbus-1/system.d/org.freedesktop.machine1.conf
GUEST=guest-zpcidtest
M1="org.freedesktop.machine1 /org/freedesktop/machine1 org.freedesktop.machine1.Manager"

prop() { # property of function 0x21, as busctl's JSON value
	busctl --system --json=short get-property org.zpcid1 /org/zpcid1/function/00000021 $F "$1" |
		$PY -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["data"]))'
}
# signals PYTHON-EXPR: how many recorded signals satisfy it (s: the signal, a: its first argument)
signals() {
	$PY - "$T/signals" "$1" <<'PY'
import json, sys
n = 0
for l in open(sys.argv[1]):
    s = json.loads(l)
    if "member" not in s: continue
    a = s["args"][0] if s["args"] else None
    if eval(sys.argv[2]): n += 1
print(n)
PY
}
wait_signal() {
	wait_for "[ \$(signals '$1') -ge 1 ]" 10 || fail "no signal with $1 (got: $(tail -5 "$T/signals"))"
}
js() { $PY -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; } # a string as JSON
wait_prop() { # property value-as-JSON
	local wp_name=$1 wp_want=$2
	wait_for '[ "$(prop $wp_name)" = "$wp_want" ]' 10 || fail "$wp_name of 0x21 is $(prop "$wp_name"), want $wp_want"
}

step_start() {
	wait_for 'busctl --system status org.zpcid1 >/dev/null 2>&1' 10 || fail "zpcid did not take org.zpcid1"
	setsid $PY "$SRC/tests/dbus-signals.py" "$T/signals" </dev/null >/dev/null 2>"$T/rec.err" &
	echo $! >"$T/rec.pid"
	wait_for 'grep -q ready "$T/signals"' 10 || fail "the signal recorder did not start: $(cat "$T/rec.err")"
}

# Held, no machine registered (yet): the unit of the holder's cgroup and its command.
step_held() {
	local pid
	wait_for '[ "$(prop OwnerPID)" != 0 ]' 10 || fail "nobody holds 0x21"
	pid=$(prop OwnerPID)
	echo "$pid" >"$T/holder"
	wait_prop OwnerUnit "$(js "$UNIT")"
	[ "$(prop OwnerCommand)" = '"qemu-system-s39"' ] || fail "OwnerCommand: $(prop OwnerCommand)"
	[ "$(prop OwnerMachine)" = '""' ] || fail "OwnerMachine without a machine: $(prop OwnerMachine)"
	[ "$(prop OwnerMachineClass)" = '""' ] || fail "OwnerMachineClass without a machine"
	"$Z" --format json show 0x21 | $PY -c '
import json, sys
f = json.load(sys.stdin)["function"]
want = {"owner_pid": int(sys.argv[1]), "owner_command": "qemu-system-s39", "owner_unit": sys.argv[2]}
for k, v in want.items():
    if f.get(k) != v: sys.exit(f"show --format json: {k} is {f.get(k)!r}, want {v!r}")
if "owner_machine" in f: sys.exit("show --format json: owner_machine without a machine")
' "$pid" "$UNIT" || fail "zpcictl show, held without a machine"
	pass "held by qemu-system-s39[$pid], no machine: OwnerUnit $UNIT from the cgroup, OwnerCommand"
}

step_register() {
	local pid out
	pid=$(cat "$T/holder")
	out=$(busctl --system call $M1 RegisterMachine sayssus "$GUEST" 0 zpcid-test vm "$pid" / 2>&1) ||
		fail "RegisterMachine for pid $pid: $out"
	wait_prop OwnerMachine "\"$GUEST\""
	[ "$(prop OwnerMachineClass)" = '"vm"' ] || fail "OwnerMachineClass: $(prop OwnerMachineClass)"
	[ "$(prop OwnerUnit)" = "$(js "$UNIT")" ] || fail "OwnerUnit with the machine: $(prop OwnerUnit)"
	wait_signal 's["member"] == "PropertiesChanged" and s["path"].endswith("/00000021") and s["args"][1].get("OwnerMachine") == "'$GUEST'" and s["args"][1].get("OwnerMachineClass") == "vm"'
	pass "machine $GUEST registered after the hold: OwnerMachine and OwnerMachineClass announced"
}

step_shown() {
	local out
	out=$("$Z" list) || fail "zpcictl list"
	echo "$out" | head -1 | grep -q 'MACHINE' || fail "zpcictl list has no MACHINE column: $out"
	echo "$out" | grep -E '^0x00000021 .* '"$GUEST"'$' >/dev/null || fail "zpcictl list, 0x21: $out"
	echo "$out" | grep -E '^0x00000022 .* -$' >/dev/null || fail "zpcictl list, 0x22 (not held): $out"
	# show: one row under the headers, as a table
	"$Z" show 0x21 | $PY -c '
import re, sys
head, row = sys.stdin.read().splitlines()
cols = list(re.finditer(r"\S+", head))
got = {c.group(): row[c.start():cols[i + 1].start() if i + 1 < len(cols) else None].strip()
       for i, c in enumerate(cols)}
want = {"OWNER": "qemu-system-s39", "OWNER-PID": sys.argv[1], "MACHINE": sys.argv[2],
        "MACHINE-CLASS": "vm", "UNIT": sys.argv[3]}
for k, v in want.items():
    if got.get(k) != v: sys.exit(f"zpcictl show: {k} is {got.get(k)!r}, want {v!r}\n{head}\n{row}")
' "$(cat "$T/holder")" "$GUEST" "$UNIT" || fail "zpcictl show"
	# ... and as lines
	out=$("$Z" --format pairs show 0x21) || fail "zpcictl --format pairs show"
	for l in "function.owner_machine=\"$GUEST\"" 'function.owner_machine_class="vm"' \
		"function.owner_unit=\"${UNIT//\\/\\\\}\"" 'function.owner_command="qemu-system-s39"'; do
		echo "$out" | grep -qxF "$l" || fail "zpcictl --format pairs show lacks '$l': $out"
	done
	"$Z" --format json list | $PY -c '
import json, sys
fs = {f["fid"]: f for f in json.load(sys.stdin)["functions"]}
f = fs[0x21]
want = {"owner_machine": sys.argv[1], "owner_machine_class": "vm", "owner_unit": sys.argv[2],
        "owner_command": "qemu-system-s39"}
for k, v in want.items():
    if f.get(k) != v: sys.exit(f"list --format json: {k} is {f.get(k)!r}, want {v!r}")
if any(k.startswith("owner_") for k in fs[0x22]): sys.exit("0x22 has owner keys")
' "$GUEST" "$UNIT" || fail "zpcictl list --format json"
	pass "zpcictl list (MACHINE column), show (table, pairs) and list --format json"
}

# An error while the machine holds it: every record names the guest.
step_error_recorded() {
	wait_signal 's["member"] == "ErrorReported" and a.get("fid") == 0x21 and a.get("pec") == 0x3a and a.get("owner_machine") == "'$GUEST'" and a.get("owner_unit") == "'"${UNIT//\\/\\\\}"'" and a.get("owner_command") == "qemu-system-s39" and a.get("owner_machine_class") == "vm" and a.get("owner_pid") == '"$(cat "$T/holder")"
	"$Z" --format json events --function 0x21 --kind error | $PY -c '
import json, sys
ev = json.load(sys.stdin)["events"]
e = [e for e in ev if e.get("pec") == 0x3a]
if not e: sys.exit(f"no error 0x3a in the history: {ev}")
e = e[-1]
want = {"owner_machine": sys.argv[1], "owner_machine_class": "vm", "owner_unit": sys.argv[2],
        "owner_command": "qemu-system-s39", "owner_pid": int(sys.argv[3])}
for k, v in want.items():
    if e.get(k) != v: sys.exit(f"history record: {k} is {e.get(k)!r}, want {v!r}")
' "$GUEST" "$UNIT" "$(cat "$T/holder")" || fail "zpcictl events"
	# the journal record's fields, as the console target shows them: [KEY=value ...]
	wait_for 'grep -F "reported error 0x003a" "$T/zpcid.log" | grep -qF "ZPCID_OWNER_MACHINE=$GUEST "' 10 ||
		fail "no journal record of the error with ZPCID_OWNER_MACHINE: $(grep -F 'error 0x003a' "$T/zpcid.log")"
	line=$(grep -F "reported error 0x003a" "$T/zpcid.log" | tail -1)
	for f in "ZPCID_OWNER_PID=$(cat "$T/holder") " "ZPCID_OWNER_COMMAND=qemu-system-s39 " \
		"ZPCID_OWNER_MACHINE_CLASS=vm " "ZPCID_OWNER_UNIT=$UNIT]"; do
		[[ "$line" == *"$f"* ]] || fail "the journal record lacks $f: $line"
	done
	# the alert command gets the record in its environment
	wait_for '[ -f "$T/alert.env" ]' 10 || fail "the alert command did not run"
	for f in "ZPCID_OWNER_MACHINE=$GUEST" "ZPCID_OWNER_UNIT=$UNIT" "ZPCID_OWNER_COMMAND=qemu-system-s39"; do
		grep -qxF "$f" "$T/alert.env" || fail "the alert command's environment lacks $f: $(grep OWNER "$T/alert.env")"
	done
	pass "the error record names the guest: journal fields, ErrorReported a{sv}, the history, the alert command"
}

step_metrics() {
	local tf=$T/textfile/zpcid.prom want
	want="zpcid_function_owner_info{fid=\"0x00000021\",slot=\"0021:00:00.0\",type=\"RoCE Express2\",machine=\"$GUEST\",machine_class=\"vm\",unit=\"${UNIT//\\/\\\\}\",command=\"qemu-system-s39\"} 1"
	wait_for 'grep -qxF "$want" "$tf"' 10 || fail "metrics: no '$want' in: $(grep owner_info "$tf")"
	[ "$(grep -c '^zpcid_function_owner_info{' "$tf")" = 1 ] || fail "owner_info for a function nobody holds"
	"$Z" metrics | grep -qxF "$want" || fail "zpcictl metrics: $("$Z" metrics | grep owner_info)"
	if command -v promtool >/dev/null; then
		out=$(promtool check metrics <"$tf" 2>&1) || fail "promtool check metrics: $out"
		[ -z "$out" ] || fail "promtool check metrics has findings: $out"
		pass "zpcid_function_owner_info in the textfile and zpcictl metrics; promtool: no findings"
	else
		pass "zpcid_function_owner_info in the textfile and zpcictl metrics (promtool not installed)"
	fi
}

step_unregister() {
	local out
	out=$(busctl --system call $M1 UnregisterMachine s "$GUEST" 2>&1) || fail "UnregisterMachine: $out"
	wait_prop OwnerMachine '""'
	[ "$(prop OwnerUnit)" = "$(js "$UNIT")" ] || fail "OwnerUnit after the machine went: $(prop OwnerUnit)"
	wait_signal 's["member"] == "PropertiesChanged" and s["path"].endswith("/00000021") and s["args"][1].get("OwnerMachine") == ""'
	pass "machine unregistered: OwnerMachine empty again, announced"
}

step_released() {
	wait_prop OwnerPID 0
	wait_prop OwnerUnit '""'
	[ "$(prop OwnerCommand)" = '""' ] || fail "OwnerCommand after release"
	"$Z" metrics | grep -q '^zpcid_function_owner_info' && fail "owner_info after the release"
	pass "released: no holder, no unit, no owner_info"
}

# The stand-in comes onto the bus after zpcid: zpcid notices and asks again.
step_standin_arrives() {
	grep -q "systemd-machined cannot be asked" "$T/zpcid.log" || fail "zpcid did not say machined is missing"
	setsid $PY "$SRC/tests/machined-standin.py" >"$T/standin.out" 2>&1 </dev/null &
	echo $! >"$T/standin.pid"
	wait_for 'grep -q ready "$T/standin.out"' 10 || fail "the machined stand-in did not start: $(cat "$T/standin.out")"
	wait_for 'grep -q "systemd-machined is on the bus" "$T/zpcid.log"' 10 || fail "zpcid did not see machined come"
	pass "machined came onto the bus after zpcid: noticed"
}

# Fallback: nothing behind org.freedesktop.machine1; zpcid said so once.
step_no_machined() {
	grep -q "systemd-machined cannot be asked" "$T/zpcid.log" || fail "zpcid did not say machined is missing"
	[ "$(grep -c "systemd-machined cannot be asked" "$T/zpcid.log")" = 1 ] || fail "said more than once"
	grep -F "PCI function 0x00000021: its holder qemu-system-s39[" "$T/zpcid.log" | grep -qF "] runs no machine, unit $UNIT." ||
		fail "no fallback line in the log: $(grep 'its holder' "$T/zpcid.log")"
	pass "without machined: said once, the holder named by unit and command"
}

if [ "${1:-}" = --step ]; then
	unset LD_PRELOAD # a client of the bus, not of the simulated devices
	"step_$2"
	exit 0
fi

SELF=$(realpath "${BASH_SOURCE[0]}")
simbus_require
busctl --help 2>/dev/null | grep -q -- --json || skip "busctl has no --json"
case "$MACHINE_MODE" in
machined)
	[ -x "$MACHINED" ] || skip "$MACHINED is not installed (Debian package systemd-container)"
	[ -f "$MACHINED_POLICY" ] || skip "$MACHINED_POLICY is not installed (systemd-container)"
	;;
standin)
	[ -f "$MACHINED_POLICY" ] || skip "$MACHINED_POLICY is not installed (systemd-container): the stand-in takes the name under it"
	;;
fallback) ;;
*) fail "MACHINE_MODE is '$MACHINE_MODE'" ;;
esac

# The holder must run in a unit: a machine scope cgroup made for the test,
# entered by this script before zpci-sim starts, so the stand-in VMM it
# forks is born in it. machined's RegisterMachine needs it too (it takes the
# machine's unit from the leader's cgroup).
# As libvirt names its scopes, "-" escaped as \x2d: the escape must survive
# every output (JSON, pairs, Prometheus labels).
UNIT='machine-qemu\x2d'$$'\x2dzpcidtest.scope'
CG_REL="zpcidtest.slice/$UNIT"
CG_DIR=
cg_leave() {
	[ -n "$CG_DIR" ] || return 0
	echo $$ >"$CG_ORIG/cgroup.procs" 2>/dev/null
	# left in the scope: what this test started (the signal recorder, the stand-in)
	for p in $(cat "$CG_DIR/cgroup.procs" 2>/dev/null); do
		kill "$p" 2>/dev/null
	done
	wait_for '[ -z "$(cat "$CG_DIR/cgroup.procs" 2>/dev/null)" ]' 5
	rmdir "$CG_DIR" "$(dirname "$CG_DIR")" 2>/dev/null || echo "could not remove $CG_DIR" >&2
	CG_DIR=
}
cg_enter() {
	local base path
	# unified (systemd's tree on unified and hybrid hosts), else the named legacy one
	for base in /sys/fs/cgroup/unified /sys/fs/cgroup /sys/fs/cgroup/systemd; do
		[ -f "$base/cgroup.procs" ] || continue
		if [ "$base" = /sys/fs/cgroup/systemd ]; then
			path=$(sed -n 's/^[0-9]*:name=systemd://p' /proc/self/cgroup)
		else
			path=$(sed -n 's/^0:://p' /proc/self/cgroup)
		fi
		mkdir -p "$base/$CG_REL" 2>/dev/null || continue
		if echo $$ >"$base/$CG_REL/cgroup.procs" 2>/dev/null; then
			CG_ORIG=$base$path
			CG_DIR=$base/$CG_REL
			return 0
		fi
		rmdir "$base/$CG_REL" "$base/zpcidtest.slice" 2>/dev/null
	done
	return 1
}

simbus_enter_ns "$@"
simbus_start
MADE_MACHINES_DIR=
machines_dir_leave() {
	umount /run/systemd/machines 2>/dev/null
	[ -n "$MADE_MACHINES_DIR" ] && rmdir /run/systemd/machines 2>/dev/null
}
standin_leave() {
	[ -f "$T/standin.pid" ] && kill "$(cat "$T/standin.pid")" 2>/dev/null
}
trap 'standin_leave; cg_leave; simbus_cleanup; machines_dir_leave' EXIT

case "$MACHINE_MODE" in
machined | standin)
	cp "$MACHINED_POLICY" "$T/org.freedesktop.machine1.conf"
	# the bus reads its policy files at start only: reload it
	busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig >/dev/null ||
		fail "the test bus did not reload its configuration"
	;;
esac
case "$MACHINE_MODE" in
machined)
	# machined keeps its machines in /run/systemd/machines: a private one,
	# in this mount namespace, so the host's machined (if any) is untouched.
	if [ ! -d /run/systemd/machines ]; then
		mkdir -p /run/systemd/machines || skip "cannot make /run/systemd/machines for machined"
		MADE_MACHINES_DIR=1
	fi
	mount -t tmpfs tmpfs /run/systemd/machines || skip "cannot give machined a private /run/systemd/machines"
	SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=debug "$MACHINED" >"$T/machined.log" 2>&1 &
	SIMBUS_PIDS="${SIMBUS_PIDS:-} $!"
	wait_for 'busctl --system status org.freedesktop.machine1 >/dev/null 2>&1' 10 ||
		skip "systemd-machined does not run on the test bus: $(tail -3 "$T/machined.log")"
	echo "systemd-machined runs on the test bus (pid 1 is $(cat /proc/1/comm))"
	;;
fallback | standin)
	busctl --system status org.freedesktop.machine1 >/dev/null 2>&1 && fail "something owns org.freedesktop.machine1"
	;;
esac

cg_enter || skip "cannot make a machine scope cgroup for the holder (no writable cgroup hierarchy here)"
echo "the holder runs in $CG_DIR"

mkdir -p "$T/textfile"
cat >"$T/lpar" <<LPAR
function fid=0x00000021 uid=0x21 uid_is_unique=1 pchid=0x0140 vfn=1 port=1 kind=roce3 driver=vfio-pci
function fid=0x00000022 uid=0x22 uid_is_unique=1 pchid=0x0140 vfn=2 port=1 kind=roce3 driver=vfio-pci
LPAR
cat >"$T/zpcid.json" <<JSON
{ "schema": 1,
  "metrics": { "textfile_directory": "$T/textfile", "interval": "1s" },
  "actions": { "alert_command": [ "/bin/sh", "-c", "env >$T/alert.env.tmp && mv $T/alert.env.tmp $T/alert.env" ] },
  "policy": { "cooldown": "0s", "budget": null,
              "rules": [ { "name": "alert", "match": { "pec": [ "0x3a" ] }, "actions": [ "log", "alert" ] },
                         { "name": "default", "actions": [ "log" ] } ] } }
JSON
S="run bash $SELF --step"
{
	echo "$S start"
	# no uevent, no reload: zpcid sees the holder open the device
	echo "hold fid=0x21"
	echo 'wait-log "PCI function 0x00000021: its holder qemu-system-s39"'
	echo "$S held"
	if [ "$MACHINE_MODE" = fallback ]; then
		echo "$S no_machined"
	else
		[ "$MACHINE_MODE" = standin ] && echo "$S standin_arrives"
		echo "$S register"
		echo "$S shown"
		echo "inject fid=0x21 pec=0x3a"
		echo "$S error_recorded"
		echo "$S metrics"
		echo "$S unregister"
	fi
	echo "release fid=0x21"
	echo "$S released"
} >"$T/scenario"
export MACHINE_MODE UNIT T
simbus_sim --quiet --log "$T/zpcid.log" --lpar "$T/lpar" --config "$T/zpcid.json" --scenario "$T/scenario"
rc=$?
[ -f "$T/rec.pid" ] && kill "$(cat "$T/rec.pid")" 2>/dev/null
if [ $rc != 0 ]; then
	echo "--- zpcid's log" >&2
	tail -30 "$T/zpcid.log" >&2
	fail "the scenario failed"
fi
pass "the holder's machine with $MACHINE_MODE"
exit 0
