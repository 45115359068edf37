#!/bin/bash
# The function state machine (docs/state-machine.md) through the real zpcid
# on the simulated LPAR, with a private bus loading the shipped policy. A
# table of steps: what the world does to a function, then the states it must
# pass through with the input that moved it. Each state is checked where an
# operator meets it: the journal record (zpcid's log: "state A -> B (input)"
# with ZPCID_STATE), the State property announced by PropertiesChanged
# (recorded by tests/dbus-signals.py; batching may fold two changes of one
# loop iteration into one signal, never reorder them) and zpcictl show.
#
# Then Claim(): it holds across change uevents and a reload, and ends when
# the claimer leaves the bus or calls Release().
#
# The script is also its own scenario step: zpci-sim runs
# "test-state-machine.sh --step expect FID STATE:INPUT..." while the daemon is up.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$SRC/tests/simbus.sh"

# A function no step touches: a step that expects no transition logs an
# error of it after its own, as a marker that comes after anything the step
# could cause.
BYSTANDER=0x30

# what the world does | the function | the states it passes through, each with the input
STEPS="
inject pec=0x12                        | 0x11 | error:error
recovery BEGIN_RECOVERY online=0       | 0x11 | recovering:recovery-begin
recovery SUCCESSFUL_RECOVERY online=1  | 0x11 | ok:recovery-done
recovery BEGIN_RECOVERY online=0       | 0x11 | recovering:recovery-begin
inject pec=0x13                        | 0x11 | error:error
recovery FAILED_RECOVERY online=0      | 0x11 | failed:recovery-failed
inject pec=0x3a                        | 0x11 | ok:fw-reset-done
inject pec=0x40                        | 0x11 | failed:permanent-error
recovery BEGIN_RECOVERY online=0       | 0x11 | recovering:recovery-begin
inject pec=0x3b                        | 0x11 | failed:permanent-error
unbind                                 | 0x11 | quarantined:unbound
bind driver=vfio-pci                   | 0x11 | ok:bound
inject pec=0x12                        | 0x22 | error:error recovering:reset-done ok:reset-confirmed
inject pec=0x13                        | 0x31 | error:error quarantined:unbound
inject pec=0x12                        | 0x31 | quarantined
bind driver=vfio-pci                   | 0x31 | ok:bound
"

props_states() { # fid: the State values announced by PropertiesChanged, in order (repeats once)
	$PY - "$T/signals" "$(printf '/org/zpcid1/function/%08x' "$1")" <<'PY'
import json, sys
last = None
for l in open(sys.argv[1]):
    s = json.loads(l)
    if s.get("member") == "PropertiesChanged" and s["path"] == sys.argv[2] and "State" in s["args"][1]:
        if s["args"][1]["State"] != last:
            last = s["args"][1]["State"]
            print(last)
PY
}
journal_states() { # fid: "state:input" of zpcid's state records, in order
	grep -F "Function $(printf '0x%08x' "$1") (" "$T/sim.out" | grep -F "ZPCID_STATE=" |
		sed -nE 's/.*: state [a-z]+ -> ([a-z]+) \(([a-z-]+)\)\..*/\1:\2/p'
}
show_state() {
	"$Z" --format json show "$1" | $PY -c 'import json,sys; d=json.load(sys.stdin); print((d.get("function") or d.get("functions")[0])["state"])'
}

# expect FID STATE[:INPUT]...: the journal gained exactly these records
# since the last expect of FID, PropertiesChanged announced them (batching
# may fold neighbours) and zpcictl show gives the last state.
step_expect() {
	local fid=$1 last want n_before got props
	shift
	want=$(printf '%s\n' "$@" | grep ':' || true)
	last=${!#}
	last=${last%%:*}
	n_before=$(cat "$T/seen.$fid" 2>/dev/null || echo 0)
	if [ -n "$want" ]; then
		wait_for '[ "$(journal_states $fid | tail -n +$((n_before + 1)) | wc -l)" -ge $(echo "$want" | wc -l) ]' 30 ||
			fail "$fid: no journal record of $* (got: $(journal_states "$fid" | tail -n +$((n_before + 1)) | xargs))"
	else
		# no transition: the error is recorded, the state stays
		wait_for 'grep -qF "PCI function $(printf "0x%08x" "$fid") ($(printf "%04x" "$fid"):00:00.0) reported error" "$T/sim.out"' 30 ||
			fail "$fid: the error was not recorded"
		# Nothing is to come: the scenario logged an error of a bystander
		# after this one. The kernel log is read in order and a record's
		# transition is logged with it, so once the bystander's record is
		# there a wrong transition of $fid would be too.
		n=$(($(cat "$T/bystander.n" 2>/dev/null || echo 0) + 1))
		wait_for "[ \$(grep -F 'PCI function $(printf '0x%08x' "$BYSTANDER") (' \"\$T/sim.out\" | grep -cF 'reported error 0x003a') -ge $n ]" 30 ||
			fail "the bystander's error was not recorded"
		echo "$n" >"$T/bystander.n"
	fi
	got=$(journal_states "$fid" | tail -n +$((n_before + 1)))
	[ "$got" = "$want" ] || fail "$fid: journal says '$(echo $got)', expected '$(echo $want)'"
	journal_states "$fid" | wc -l >"$T/seen.$fid"
	wait_for '[ "$(props_states $fid | tail -1)" = "$last" ]' 30 ||
		fail "$fid: PropertiesChanged did not announce State $last (got: $(props_states "$fid" | xargs))"
	# the announced states are the journal's, in order (folded ones missing)
	$PY - "$(journal_states "$fid" | cut -d: -f1 | xargs)" "$(props_states "$fid" | xargs)" <<'PY' ||
import sys
j, p = sys.argv[1].split(), sys.argv[2].split()
it = iter(j)
sys.exit(0 if all(x in it for x in p) else 1)
PY
		fail "$fid: PropertiesChanged states '$(props_states "$fid" | xargs)' are not those of the journal '$(journal_states "$fid" | cut -d: -f1 | xargs)'"
	[ "$(show_state "$fid")" = "$last" ] || fail "$fid: zpcictl show says $(show_state "$fid"), expected $last"
	echo "ok: $fid -> $* (journal, PropertiesChanged, zpcictl show)" >>"$T/walked"
}

# Claim() holds a function (own mode) across change uevents and reloads,
# until Release() or until the claimer leaves the bus.
mode_of() {
	"$Z" --format json show "$1" | $PY -c 'import json,sys; d=json.load(sys.stdin); print((d.get("function") or d.get("functions")[0])["mode"])'
}
claimer() { # fid [release]: claim (and release) from a client that stays on the bus
	setsid $PY - "$(printf '/org/zpcid1/function/%08x' "$1")" "${2:-}" >"$T/claimer.out" 2>&1 </dev/null <<'PY' &
import sys, time, dbus
f = dbus.Interface(dbus.SystemBus().get_object("org.zpcid1", sys.argv[1]), "org.zpcid1.Function")
none = dbus.Dictionary({}, signature="sv")
f.Claim(none)
print("claimed", flush=True)
if sys.argv[2] == "release":
    f.Release(none)
    print("released", flush=True)
time.sleep(3600)
PY
	echo $! >"$T/claimer.pid"
	word=claimed
	[ "${2:-}" = release ] && word=released
	wait_for 'grep -q "$word" "$T/claimer.out"' 10 || fail "Claim(): $(cat "$T/claimer.out")"
}
step_claim() {
	[ "$(mode_of 0x11)" = observe ] || fail "0x11 is not observed before the claim"
	claimer 0x11
	[ "$(mode_of 0x11)" = own ] || fail "0x11 is not own after Claim(): $(mode_of 0x11)"
}
step_claim_held() { # after the recovery uevents of the scenario and a reload
	wait_for '[ "$(show_state 0x11)" = ok ]' 10 || fail "0x11 did not recover"
	[ "$(mode_of 0x11)" = own ] || fail "a change uevent undid the claim"
	n=$(grep -c "Configuration reloaded" "$T/sim.out")
	kill -HUP "$ZPCI_SIM_DAEMON_PID"
	wait_for '[ $(grep -c "Configuration reloaded" "$T/sim.out") -gt $n ]' 10 || fail "zpcid did not reload"
	[ "$(mode_of 0x11)" = own ] || fail "a reload undid the claim"
	kill "$(cat "$T/claimer.pid")"
	wait_for '[ "$(mode_of 0x11)" = observe ]' 10 || fail "the claim outlived its claimer: $(mode_of 0x11)"
	claimer 0x11 release
	[ "$(mode_of 0x11)" = observe ] || fail "Release() did not end the claim"
	kill "$(cat "$T/claimer.pid")"
	echo "ok: Claim() held across change uevents and a reload, ended by the claimer leaving and by Release()" >>"$T/walked"
}

step_start() {
	wait_for 'busctl --system status org.zpcid1 >/dev/null 2>&1' 10 || fail "zpcid did not take org.zpcid1"
	setsid $PY "$SRC/tests/dbus-signals.py" "$T/signals" </dev/null >/dev/null 2>"$T/rec.err" &
	echo $! >"$T/rec.pid"
	wait_for 'grep -q ready "$T/signals"' 10 || fail "the signal recorder did not start: $(cat "$T/rec.err")"
	for fid in 0x11 0x22 0x31; do
		[ "$(show_state $fid)" = ok ] || fail "$fid does not start ok"
	done
}

if [ "${1:-}" = --step ]; then
	unset LD_PRELOAD # a client of the bus, not of the simulated devices
	shift
	step="step_$1"
	shift
	"$step" "$@"
	exit 0
fi

SELF=$(realpath "$0")
simbus_require
simbus_enter_ns "$@"
simbus_start

cat >"$T/zpcid.json" <<JSON
{
	"schema": 1,
	"actions": { "confirm_timeout": "1s" },
	"policy": {
		"budget": null,
		"cooldown": "0s",
		"rules": [
			{ "name": "own", "match": { "fid": [ "0x22", "0x31" ] }, "mode": "own" },
			{ "name": "reset-it", "match": { "fid": "0x22", "pec_class": "recoverable" }, "actions": [ "reset" ] },
			{ "name": "unbind-it", "match": { "fid": "0x31", "pec_class": "recoverable" }, "actions": [ "unbind" ] },
			{ "name": "default", "actions": [ "log" ] }
		]
	}
}
JSON
S="run bash $SELF --step"
{
	echo "$S start"
	echo "$STEPS" | while IFS='|' read -r what fid states; do
		[ -n "$what" ] || continue
		fid=$(echo $fid)
		# shellcheck disable=SC2086
		set -- $what
		cmd=$1
		shift
		echo "$cmd fid=$fid $*"
		case $states in
		*:*) ;;
		*) echo "inject fid=$BYSTANDER pec=0x3a" ;;
		esac
		echo "$S expect $fid $(echo $states)"
	done
	echo "$S claim"
	echo "recovery fid=0x11 BEGIN_RECOVERY online=0"
	echo "recovery fid=0x11 SUCCESSFUL_RECOVERY online=1"
	echo "$S claim_held"
} >"$T/scenario"
simbus_sim --lpar "$SRC/tests/data/lpar/lpar16.lpar" --config "$T/zpcid.json" --scenario "$T/scenario" >"$T/sim.out" 2>&1
rc=$?
[ -f "$T/rec.pid" ] && kill "$(cat "$T/rec.pid")" 2>/dev/null
[ -f "$T/walked" ] && cat "$T/walked"
[ $rc = 0 ] || { tail -40 "$T/sim.out"; fail "the walk through the state machine failed"; }
n=$(wc -l <"$T/walked")
want=$(($(echo "$STEPS" | grep -c '|') + 1))
[ "$n" = "$want" ] || fail "$n of $want steps walked"
pass "every step of the state machine walk, through the real zpcid"
exit 0
