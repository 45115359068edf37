#!/bin/bash
# The D-Bus API with functions, for real: the simulated LPAR (tests/zpci-sim)
# under the real zpcid, on a private dbus-daemon that includes the SHIPPED
# policy file. Checks Function object properties, InterfacesAdded/Removed on
# hotplug, ErrorReported, ActionTaken and Alert, batched PropertiesChanged,
# the Function methods as root and (refused by the bus policy, with no side
# effect) as nobody, and the s390-tools options of zpcictl going through the
# daemon. Signals are recorded by tests/dbus-signals.py.
#
# The script is also its own scenario step: zpci-sim runs
# "test-dbus-functions.sh --step NAME" while the daemon is up.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$SRC/tests/simbus.sh"

F=org.zpcid1.Function
M="org.zpcid1 /org/zpcid1 org.zpcid1.Manager"
fpath() { printf '/org/zpcid1/function/%08x' "$1"; }

# signals NAME-FILTER PYTHON-EXPR: count the recorded signals for which
# the expression (over s: the signal, a: its first argument) is true
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
# wait_signal EXPR [N]: until at least N (1) signals match
wait_signal() {
	wait_for "[ \$(signals '$1') -ge ${2:-1} ]" 10 || fail "no signal with $1 (got: $(tail -5 "$T/signals"))"
}
prop() { # fid property: busctl's JSON value of the property
	busctl --system --json=short get-property org.zpcid1 "$(fpath "$1")" $F "$2" |
		$PY -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["data"]))'
}
# dcall PATH INTERFACE METHOD SIGNATURE PYARGS: "ok ..." or "error NAME: message"
dcall() { $PY "$SRC/tests/dbus-call.py" "$@"; }
expect() { # want-prefix what call-args...
	local want=$1 what=$2 o
	shift 2
	o=$(dcall "$@")
	[[ "$o" == "$want"* ]] || fail "$what: got '$o', want '$want'"
}
events_of() { # kind fid: number of recorded events of that kind for the function
	"$Z" --format json events --kind "$1" --function "$2" |
		$PY -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))'
}

step_start() {
	wait_for 'busctl --system status org.zpcid1 >/dev/null 2>&1' 10 || fail "zpcid did not take org.zpcid1"
	wait_for '[ "$(busctl --system get-property $M FunctionCount)" = "u 16" ]' 10 || fail "no 16 functions"
	setsid $PY "$SRC/tests/dbus-signals.py" "$T/signals" </dev/null >/dev/null 2>"$T/rec.err" &
	echo $! >"$T/rec.pid"
	wait_for 'grep -q ready "$T/signals"' 10 || fail "the signal recorder did not start: $(cat "$T/rec.err")"
}

step_properties() {
	[ "$(prop 0x31 FID)" = 49 ] || fail "FID of 0x31: $(prop 0x31 FID)"
	[ "$(prop 0x31 Slot)" = '"0031:00:00.0"' ] || fail "Slot"
	[ "$(prop 0x31 Driver)" = '"vfio-pci"' ] || fail "Driver"
	[ "$(prop 0x31 Mode)" = '"own"' ] || fail "Mode of 0x31 (own by policy): $(prop 0x31 Mode)"
	[ "$(prop 0x10 Mode)" = '"observe"' ] || fail "Mode of 0x10"
	[ "$(prop 0x10 Driver)" = '"mlx5_core"' ] || fail "Driver of 0x10"
	[ "$(prop 0x31 State)" = '"ok"' ] || fail "State"
	[ "$(prop 0x31 PFTName)" = '"NVMe"' ] || fail "PFTName"
	[ "$(prop 0x31 UIDIsUnique)" = true ] || fail "UIDIsUnique"
	for c in Errors Dropped Recoveries Actions Resets Coalesced; do
		[ "$(prop 0x31 $c)" = 0 ] || fail "$c of 0x31 is $(prop 0x31 $c)"
	done
	[ "$(prop 0x31 LastError)" = '{}' ] || fail "LastError before any error: $(prop 0x31 LastError)"
	# read access for nobody
	$NOBODY busctl --system get-property org.zpcid1 "$(fpath 0x31)" $F Errors >/dev/null ||
		fail "nobody cannot read a Function property"
	pass "Function properties: FID, Slot, Driver, Mode (own by policy), State, counters, LastError"
}

step_hotplug_added() {
	wait_signal 's["member"] == "InterfacesAdded" and a == "/org/zpcid1/function/00000080" and "org.zpcid1.Function" in s["args"][1]'
	[ "$(prop 0x80 Driver)" = '"nvme"' ] || fail "Driver of the hot-plugged function"
}
step_hotplug_removed() {
	wait_signal 's["member"] == "InterfacesRemoved" and a == "/org/zpcid1/function/00000080" and "org.zpcid1.Function" in s["args"][1]'
	busctl --system get-property org.zpcid1 "$(fpath 0x80)" $F FID >/dev/null 2>&1 && fail "0x80 still has an object"
	pass "InterfacesAdded and InterfacesRemoved on hotplug"
}

step_error() {
	wait_signal 's["member"] == "ErrorReported" and a.get("fid") == 0x22 and a.get("pec") == 0x12 and a.get("kind") == "error"'
	wait_for '[ "$(prop 0x22 Errors)" = 1 ]' 5 || fail "Errors of 0x22: $(prop 0x22 Errors)"
	[ "$($PY -c 'import json,sys; print(json.loads(sys.argv[1])["pec"]["data"])' "$(prop 0x22 LastError)")" = 18 ] ||
		fail "LastError of 0x22: $(prop 0x22 LastError)"
	# batched: one PropertiesChanged carries Errors, State and LastError together
	wait_signal 's["member"] == "PropertiesChanged" and s["path"] == "/org/zpcid1/function/00000022" and "Errors" in s["args"][1]'
	n=$(signals 's["member"] == "PropertiesChanged" and s["path"] == "/org/zpcid1/function/00000022" and "Errors" in s["args"][1]')
	[ "$n" = 1 ] || fail "$n PropertiesChanged with Errors for one error"
	n=$(signals 's["member"] == "PropertiesChanged" and s["path"] == "/org/zpcid1/function/00000022" and "Errors" in s["args"][1] and "LastError" in s["args"][2] and "State" in s["args"][1]')
	[ "$n" = 1 ] || fail "Errors and State were not changed, LastError not invalidated, in one PropertiesChanged"
	# only what changed: the identity and the driver stay out; LastError is invalidated, not sent
	n=$(signals 's["member"] == "PropertiesChanged" and s["path"] == "/org/zpcid1/function/00000022" and (set(s["args"][1]) & {"FID", "UID", "Slot", "Driver", "PCHID", "Mode", "VendorName", "LastError"})')
	[ "$n" = 0 ] || fail "PropertiesChanged carried properties that did not change: $(grep PropertiesChanged "$T/signals" | grep 00000022 | head -3)"
	pass "ErrorReported, and one batched PropertiesChanged with only what changed, for an injected error"
	# the monitor started before zpcid: DaemonNotRunning, DaemonStarted, then the error
	wait_for 'grep -q "\"signal\":\"ErrorReported\".*\"fid\":34" "$T/early-mon"' 10 ||
		fail "the monitor started before zpcid did not get the error: $(cat "$T/early-mon")"
	$PY - "$T/early-mon" <<'PY' || fail "the monitor started before zpcid: $(cat "$T/early-mon")"
import json, sys
sig = [json.loads(l)["signals"] for l in open(sys.argv[1]) if '"signals"' in l]
names = [s["signal"] for s in sig]
assert names[0] == "DaemonNotRunning" and names.count("DaemonNotRunning") == 1, names
i = names.index("DaemonStarted")
assert any(s["signal"] == "ErrorReported" and s.get("fid") == 0x22 and s.get("pec") == 0x12 for s in sig[i:]), sig
PY
	pass "zpcictl monitor started before zpcid waited for it and got the injected error"
}

step_storm() {
	# the third error within the threshold fires the ladder's first step
	wait_signal 's["member"] == "ActionTaken" and a.get("fid") == 0x22 and a.get("action") == "reset" and a.get("kind") == "action"'
	pass "ActionTaken for the reset the storm rule decided (result: $($PY - "$T/signals" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    s = json.loads(l)
    if s.get("member") == "ActionTaken" and s["args"][0].get("action") == "reset":
        print(s["args"][0].get("result")); break
PY
))"
}

step_recovery() {
	wait_signal 's["member"] == "RecoveryReported" and a.get("fid") == 0x21 and a.get("kind") == "recovery"' 2
	n=$(signals 's["member"] == "ErrorReported" and a.get("kind") == "recovery"')
	[ "$n" = 0 ] || fail "$n recovery records arrived as ErrorReported"
	pass "the kernel's recovery records arrive as RecoveryReported, not ErrorReported"
}

step_permanent() {
	wait_signal 's["member"] == "ErrorReported" and a.get("fid") == 0x31 and a.get("pec") == 0x40 and a.get("pec_class") == "permanent"'
	wait_signal 's["member"] == "Alert" and a.get("fid") == 0x31 and a.get("action") == "alert" and a.get("pec") == 0x40'
	pass "ErrorReported and Alert for a permanent error (PEC 0x40)"
}

# A report on 0x10 by root, answered by its ActionTaken: the calls before it
# have been handled, and an action one of them had started would have been
# recorded first (the checks after it count this one).
sync_report_10() {
	synced=$((synced + 1))
	busctl --system call org.zpcid1 "$(fpath 0x10)" $F Report 'ssa{sv}' info "sync $synced" 0 >/dev/null ||
		fail "root: Report"
	wait_signal 's["member"] == "ActionTaken" and a.get("fid") == 0x10 and a.get("caller_message") == "sync '$synced'"'
}

step_methods() {
	local before actions_before out m sig_before synced=0
	# no action of an earlier step concerns 0x10
	before=$(events_of action 0x10)
	actions_before=$(prop 0x10 Actions)
	sig_before=$(signals 's["member"] in ("ActionTaken", "Alert") and a.get("fid") == 0x10')
	for m in "Reset a{sv} 0" "Unbind a{sv} 0" "Report ssa{sv} info nobody 0" "Claim a{sv} 0"; do
		# shellcheck disable=SC2086
		out=$($NOBODY busctl --system call org.zpcid1 "$(fpath 0x10)" $F $m 2>&1) &&
			fail "nobody: Function.$m passed the bus policy"
		echo "$out" | grep -qi "access denied\|AccessDenied" || fail "nobody: $m: $out"
	done
	sync_report_10
	[ "$(events_of action 0x10)" = $((before + synced)) ] || fail "a refused call left an action event"
	[ "$(prop 0x10 Actions)" = $((actions_before + synced)) ] || fail "a refused call changed Actions"
	[ "$(prop 0x10 Driver)" = '"mlx5_core"' ] || fail "a refused Unbind unbound"
	[ "$(signals 's["member"] in ("ActionTaken", "Alert") and a.get("fid") == 0x10')" = $((sig_before + synced)) ] || fail "a refused call sent a signal"
	pass "Function.Reset/Unbind/Report as nobody: AccessDenied by the bus policy, no side effect"

	# unknown options and options of the wrong type: InvalidArgs, and nothing happens
	local p10 m
	p10=$(fpath 0x10)
	for m in Reset Unbind Claim Release; do
		expect "error org.freedesktop.DBus.Error.InvalidArgs: Unknown option 'bogus'" "$m with an unknown option" \
			"$p10" $F $m 'a{sv}' "[{'bogus': dbus.String('x')}]"
	done
	expect "error org.freedesktop.DBus.Error.InvalidArgs: Unknown option 'bogus'" "Report with an unknown option" \
		"$p10" $F Report 'ssa{sv}' "['info', 'x', {'bogus': dbus.String('x')}]"
	expect "error org.freedesktop.DBus.Error.InvalidArgs: Option 'message' must have type 's'" "Reset with a message that is no string" \
		"$p10" $F Reset 'a{sv}' "[{'message': dbus.UInt32(1)}]"
	expect "error org.freedesktop.DBus.Error.InvalidArgs: Option 'message' is longer than 127 bytes" "Unbind with a too long message" \
		"$p10" $F Unbind 'a{sv}' "[{'message': dbus.String('m' * 128)}]"
	expect "error org.freedesktop.DBus.Error.InvalidArgs: Option 'recover' must have type 'b'" "Reset with a recover that is no boolean" \
		"$p10" $F Reset 'a{sv}' "[{'recover': dbus.String('yes')}]"
	expect "error org.freedesktop.DBus.Error.InvalidArgs" "Reset with the old signature" "$p10" $F Reset "" "[]"
	sync_report_10
	[ "$(events_of action 0x10)" = $((before + synced)) ] || fail "a call with a bad option left an action event"
	[ "$(prop 0x10 Actions)" = $((actions_before + synced)) ] || fail "a call with a bad option changed Actions"
	[ "$(prop 0x10 Driver)" = '"mlx5_core"' ] || fail "an Unbind with a bad option unbound"
	[ "$(prop 0x10 Mode)" = '"observe"' ] || fail "a Claim with a bad option claimed"
	pass "Function methods refuse unknown options with InvalidArgs, with no side effect"

	# standard names on an object that exists; NotBoundToVfio for Claim of a function another driver holds
	expect "error org.freedesktop.DBus.Error.UnknownMethod" "unknown method of a function" "$p10" $F NoSuchMethod "" "[]"
	expect "error org.freedesktop.DBus.Error.UnknownProperty" "unknown property of a function" \
		"$p10" org.freedesktop.DBus.Properties Get ss "['$F', 'NoSuchProperty']"
	expect "error org.freedesktop.DBus.Error.UnknownMethod" "unknown method on the function prefix" \
		/org/zpcid1/function $F Reset 'a{sv}' "[{}]"
	expect "error org.zpcid1.Error.NotBoundToVfio: Function 0x00000010 is bound to mlx5_core, not vfio-pci" \
		"Claim of a function bound to mlx5_core" "$p10" $F Claim 'a{sv}' "[{}]"
	[ "$(prop 0x10 Mode)" = '"observe"' ] || fail "a refused Claim changed the mode"
	"$Z" --json show 0x10 >/dev/null || fail "show 0x10"
	pass "UnknownMethod/UnknownProperty on a function object, NotBoundToVfio for Claim of a mlx5_core function"

	busctl --system call org.zpcid1 "$(fpath 0x10)" $F Report 'ssa{sv}' info "a test report" 0 || fail "root: Report"
	wait_signal 's["member"] == "ActionTaken" and a.get("fid") == 0x10 and a.get("action") == "report-info"'
	busctl --system call org.zpcid1 "$(fpath 0x31)" $F Reset 'a{sv}' 0 || fail "root: Reset"
	wait_signal 's["member"] == "ActionTaken" and a.get("fid") == 0x31 and a.get("action") == "reset"'
	busctl --system call org.zpcid1 "$(fpath 0x31)" $F Unbind 'a{sv}' 1 message s "swap the card" || fail "root: Unbind"
	wait_signal 's["member"] == "ActionTaken" and a.get("fid") == 0x31 and a.get("action") == "unbind"'
	# a manual action says who asked: rule "manual", the caller's uid and message, in
	# the signal and in the history
	wait_signal 's["member"] == "ActionTaken" and a.get("fid") == 0x31 and a.get("action") == "unbind" and a.get("rule") == "manual" and a.get("caller_uid") == 0 and a.get("caller_message") == "swap the card"'
	wait_signal 's["member"] == "ActionTaken" and a.get("fid") == 0x10 and a.get("action") == "report-info" and a.get("rule") == "manual" and a.get("caller_uid") == 0 and a.get("caller_message") == "a test report"'
	"$Z" --format json events --kind action --function 0x31 | $PY -c '
import json, sys
ev = [e for e in json.load(sys.stdin)["events"] if e["action"] == "unbind"]
if not ev: sys.exit("no unbind record in the history")
e = ev[-1]
want = {"rule": "manual", "caller_uid": 0, "caller_message": "swap the card"}
got = {k: e.get(k) for k in want}
if got != want: sys.exit(f"history record {got}, want {want}")
' || fail "the history record of a manual Unbind"
	pass "manual actions carry rule manual, the caller's uid and message (ActionTaken, history)"
	# the reset of 0x31 waited for its outcome (for 10 minutes): the unbind ends the wait
	wait_signal 's["member"] == "ActionTaken" and a.get("fid") == 0x31 and a.get("action") == "reset" and a.get("result") == "cancelled" and "unbound" in a.get("detail", "")'
	n=$(signals 's["member"] == "ActionTaken" and a.get("fid") == 0x31 and a.get("action") == "reset" and a.get("result") in ("confirmed", "unconfirmed", "no-confirmation")')
	[ "$n" = 0 ] || fail "the reset of the unbound 0x31 has another follow-up"
	pass "a reset waiting for its outcome is cancelled when Unbind unbinds the function"
	o=$(busctl --system call org.zpcid1 "$(fpath 0x31)" $F Report 'ssa{sv}' sometimes x 0 2>&1) && fail "Report with a bad kind"
	echo "$o" | grep -q "Unknown report kind" || fail "bad kind: $o"
	pass "Function.Report/Reset/Unbind as root: each answered by ActionTaken"
}

recovers_done() { # fid: recover actions done, in the history
	"$Z" --format json events --kind action --function "$1" |
		$PY -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin)["events"] if e["action"] == "recover" and e["result"] == "done"))'
}

step_storm_reset_pending() {
	# the storm's reset of 0x22 waits for its outcome (10 minutes)
	wait_signal 's["member"] == "ActionTaken" and a.get("fid") == 0x22 and a.get("action") == "reset" and a.get("result") == "done"'
	n=$(signals 's["member"] == "ActionTaken" and a.get("fid") == 0x22 and a.get("action") == "reset" and a.get("result") != "done"')
	[ "$n" = 0 ] || fail "the storm's reset of 0x22 already has a follow-up"
}
step_hand_unbind() {
	# unbound by hand (not by zpcid): the wait ends as well
	wait_signal 's["member"] == "ActionTaken" and a.get("fid") == 0x22 and a.get("action") == "reset" and a.get("result") == "cancelled" and a.get("detail") == "the function was unbound from its driver"'
	wait_for '[ "$(prop 0x22 State)" = "\"quarantined\"" ]' 10 || fail "0x22 unbound by hand: State $(prop 0x22 State)"
	pass "a reset waiting for its outcome is cancelled when the function is unbound by hand"
}

step_legacy() {
	local before dev args fn action log recover text n=0 out rc
	export ZPCICTL_SYSFS_ROOT=$ZPCI_SIM_ROOT/sys
	dev=$ZPCI_SIM_ROOT/sys/bus/pci/devices
	# a stand-in smartctl, and the NVMe controller of function 0x30 where zpcictl looks for it
	mkdir -p "$T/bin" "$dev/0030:00:00.0/nvme/nvme4"
	printf '#!/bin/sh\necho "$*" >"%s/smartctl.args"\nprintf "SMART overall-health self-assessment test result: PASSED\\nTemperature: 31 Celsius\\n"\n' "$T" >"$T/bin/smartctl"
	chmod +x "$T/bin/smartctl"
	export ZPCICTL_SMARTCTL=$T/bin/smartctl
	SMART=$("$T/bin/smartctl" -x /dev/null)$'\n'
	before=$(events_of action 0x11)
	# the rows of test-zpcictl-legacy.sh, through zpcid: the same records
	# (byte for byte as s390-tools writes them) and the same recover
	while IFS='|' read -r args fn action log recover; do
		[ -n "$args" ] || continue
		args=$(echo $args) fn=$dev/$(echo $fn) action=$(echo $action) log=$(echo $log) recover=$(echo $recover)
		case $log in
		-) text= ;;
		SMART) text=$SMART ;;
		*+SMART) text="${log%+SMART}"$'\n'"$SMART" ;;
		*) text=$log ;;
		esac
		: >"$fn/report_error"
		[ -e "$fn/recover" ] && : >"$fn/recover"
		# shellcheck disable=SC2086
		"$Z" $args || fail "zpcictl $args through zpcid: exit $?"
		$PY "$SRC/tests/report-record.py" "$fn/report_error" "$action" "$text" ||
			fail "zpcictl $args through zpcid: not the record s390-tools writes"
		if [ "$recover" = 1 ]; then
			wait_for '[ "$(recovers_done '"$(cat "$fn/function_id")"')" -ge 1 ]' 10 || fail "zpcictl $args: no recover done"
		fi
		n=$((n + 1))
		echo "ok: zpcictl $args through zpcid"
	done <<ROWS
--report-error 0011:00:00.0                       | 0011:00:00.0 | 2 | - | -
--reset-fw 0011:00:00.0                           | 0011:00:00.0 | 0 | - | -
--deconfigure 0011:00:00.0                        | 0011:00:00.0 | 1 | - | -
0011:00:00.0 --report-error --message flaky-link  | 0011:00:00.0 | 2 | flaky-link | -
--reset 0011:00:00.0 --message legacy-check       | 0011:00:00.0 | 2 | legacy-check | 1
--report-error 0030:00:00.0                       | 0030:00:00.0 | 2 | SMART | -
--deconfigure 0030:00:00.0 --message bad-disk     | 0030:00:00.0 | 1 | bad-disk+SMART | -
ROWS
	[ "$(cat "$T/smartctl.args")" = "-x /dev/nvme4" ] || fail "smartctl was not asked about /dev/nvme4"
	"$Z" --format json events --kind action --function 0x11 | $PY -c '
import json, sys
ev = json.load(sys.stdin)["events"]
got = [(e["action"], e["result"]) for e in ev]
for want in ("report-info", "report-fw-reset", "report-deconfigure", "recover"):
    if (want, "done") not in got: sys.exit(f"no {want} done: {got}")
for e in ev:
    if e["action"] in ("report-info", "recover") and e.get("caller_message") == "legacy-check":
        if e.get("rule") != "manual" or e.get("caller_uid") != 0: sys.exit(f"caller missing: {e}")
        break
else:
    sys.exit(f"no record with the --message: {ev}")
' || fail "legacy options: action events with the caller"
	pass "$n zpcictl s390-tools calls through zpcid wrote the records s390-tools writes, recorded with the caller"

	# a failed action is zpcictl's failure: exit 1 with zpcid's reason; --reset
	# recovers even when its report failed, as s390-tools does
	mv "$dev/0011:00:00.0/report_error" "$T/report_error.saved"
	out=$("$Z" --report-error 0011:00:00.0 2>&1)
	rc=$?
	[ $rc = 1 ] || fail "a failed report through zpcid: exit $rc ($out)"
	echo "$out" | grep -q "report-info failed through zpcid" || fail "a failed report: $out"
	before=$(recovers_done 0x11)
	out=$("$Z" --reset 0011:00:00.0 --message failing-report 2>&1)
	rc=$?
	mv "$T/report_error.saved" "$dev/0011:00:00.0/report_error"
	[ $rc = 1 ] || fail "--reset with a failed report through zpcid: exit $rc ($out)"
	echo "$out" | grep -q "report-info failed through zpcid" || fail "--reset with a failed report: $out"
	wait_for '[ "$(recovers_done 0x11)" = $((before + 1)) ]' 10 || fail "--reset with a failed report did not recover"
	out=$("$Z" --reset 0011:00:00.0 2>&1)
	[ $? = 0 ] || fail "zpcictl --reset after the failure: $out"
	$NOBODY "$Z" --reset 0011:00:00.0 2>/dev/null
	rc=$?
	[ $rc = 1 ] || fail "nobody: zpcictl --reset exit $rc"
	pass "a failed action through zpcid, and one refused by the bus policy, are exit 1"
}

if [ "${1:-}" = --step ]; then
	unset LD_PRELOAD # a client of the bus, not of the simulated devices
	"step_$2"
	exit 0
fi

SELF=$(realpath "$0")
simbus_require
busctl --help 2>/dev/null | grep -q -- --json || skip "busctl has no --json"
simbus_enter_ns "$@"
simbus_start

cat >"$T/zpcid.json" <<JSON
{
	"schema": 1,
	"actions": { "confirm_timeout": "10m" },
	"policy": {
		"budget": null,
		"cooldown": "0s",
		"rules": [
			{ "name": "own", "match": { "fid": [ "0x22", "0x31" ] }, "mode": "own" },
			{ "name": "permanent-errors", "match": { "pec_class": "permanent" }, "actions": [ "log", "alert" ] },
			{ "name": "storm", "match": { "mode": "own", "pec_class": "recoverable" },
			  "threshold": "3 / 1m", "ladder": [ "reset", "unbind" ] },
			{ "name": "default", "actions": [ "log" ] }
		]
	}
}
JSON
S="run bash $SELF --step"
cat >"$T/scenario" <<SC
$S start
$S properties
hotplug add fid=0x80 uid=0x80 uid_is_unique=1 pchid=0x01e0 pfgid=0x20 kind=nvme driver=nvme
$S hotplug_added
remove fid=0x80
$S hotplug_removed
inject fid=0x22 pec=0x12
$S error
+0.2s inject fid=0x22 pec=0x12
+0.2s inject fid=0x22 pec=0x12
$S storm
$S storm_reset_pending
recovery fid=0x21 BEGIN_RECOVERY online=0
+0.2s recovery fid=0x21 SUCCESSFUL_RECOVERY online=1
$S recovery
inject fid=0x31 pec=0x40
$S permanent
$S methods
$S legacy
unbind fid=0x22
$S hand_unbind
SC
# a monitor started before zpcid: it says so, waits, and sees zpcid's events (step error)
"$Z" monitor --format jsonl >"$T/early-mon" 2>&1 &
SIMBUS_PIDS="${SIMBUS_PIDS:-} $!"
wait_for 'grep -q "\"signal\":\"DaemonNotRunning\"" "$T/early-mon"' 10 ||
	fail "monitor started before zpcid: $(cat "$T/early-mon")"
simbus_sim --quiet --lpar "$SRC/tests/data/lpar/lpar16.lpar" --config "$T/zpcid.json" --scenario "$T/scenario"
rc=$?
[ -f "$T/rec.pid" ] && kill "$(cat "$T/rec.pid")" 2>/dev/null
[ $rc = 0 ] || fail "the scenario failed"
pass "the D-Bus API with 16 functions"
exit 0
