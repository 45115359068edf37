#!/bin/bash
# A new holder seen as it opens the device: the real zpcid on the simulated
# LPAR (tests/zpci-sim) with a private bus and the shipped policy. A stand-in
# VMM (zpci-sim's "hold") opens function 0x21's vfio nodes after zpcid has
# started, with no uevent and no reload; zpcid's watch of the nodes
# (daemon/holder-watch.*) finds the holder: the function's OwnerPID and
# OwnerCommand, zpcictl show and the journal record of the change. Then the
# VMM closes them (exits) and takes them again.
#
# The script is also its own scenario step: zpci-sim runs
# "test-e2e-holder.sh --step NAME" while the daemon is up.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$SRC/tests/simbus.sh"

F=org.zpcid1.Function
prop() { # property NAME of function FID (8 hex digits), busctl's text
	busctl --system get-property org.zpcid1 "/org/zpcid1/function/$1" "$F" "$2"
}
held_lines() { grep -cF "Function 0x00000021 (0021:00:00.0): driver vfio-pci, held by qemu-system-s39 (pid $1)." "$T/zpcid.log"; }

step_start() {
	wait_for 'busctl --system status org.zpcid1 >/dev/null 2>&1' 10 || fail "zpcid did not take org.zpcid1"
	wait_for '[ "$(prop 00000021 Driver)" = "s \"vfio-pci\"" ]' 10 || fail "0x21 is not known bound to vfio-pci"
	[ "$(prop 00000021 OwnerPID)" = "u 0" ] || fail "0x21 is held before the VMM: $(prop 00000021 OwnerPID)"
}

# $1: "first" or "again"
step_held() {
	local pid
	wait_for '[ "$(prop 00000021 OwnerPID)" != "u 0" ]' 20 || fail "zpcid did not see the VMM open 0x21"
	pid=$(prop 00000021 OwnerPID)
	pid=${pid#u }
	[ "$(cat "/proc/$pid/comm")" = qemu-system-s39 ] || fail "OwnerPID $pid is not the VMM: $(cat "/proc/$pid/comm")"
	[ "$(prop 00000021 OwnerCommand)" = 's "qemu-system-s39"' ] || fail "OwnerCommand: $(prop 00000021 OwnerCommand)"
	[ "$(prop 00000022 OwnerPID)" = "u 0" ] || fail "0x22 has a holder: $(prop 00000022 OwnerPID)"
	"$Z" --format json show 0x21 | $PY -c '
import json, sys
f = json.load(sys.stdin)["function"]
if f.get("owner_pid") != int(sys.argv[1]) or f.get("owner_command") != "qemu-system-s39":
    sys.exit("zpcictl show: owner %r %r" % (f.get("owner_pid"), f.get("owner_command")))
' "$pid" || fail "zpcictl show 0x21"
	# the change is logged once, however many opens the VMM made
	wait_for '[ "$(held_lines "$pid")" -ge 1 ]' 10 || fail "no journal record of the new holder: $(grep 'held by' "$T/zpcid.log")"
	[ "$(held_lines "$pid")" = 1 ] || fail "the new holder was logged $(held_lines "$pid") times"
	echo "$pid" >"$T/holder.$1"
	pass "$1 hold: OwnerPID $pid, OwnerCommand, zpcictl show, one journal record, without a uevent or reload"
}

step_released() {
	wait_for '[ "$(prop 00000021 OwnerPID)" = "u 0" ]' 20 || fail "zpcid did not see the VMM close 0x21"
	[ "$(prop 00000021 OwnerCommand)" = 's ""' ] || fail "OwnerCommand after the close: $(prop 00000021 OwnerCommand)"
	wait_for 'grep -qF "Function 0x00000021 (0021:00:00.0): driver vfio-pci, no longer held." "$T/zpcid.log"' 10 ||
		fail "no journal record of the release"
	pass "released: OwnerPID 0, journal record"
}

if [ "${1:-}" = --step ]; then
	unset LD_PRELOAD # a client of the bus, not of the simulated devices
	"step_$2" "${@:3}"
	exit 0
fi

SELF=$(realpath "$0")
simbus_require
simbus_enter_ns "$@"
simbus_start

cat >"$T/lpar" <<LPAR
function fid=0x00000021 uid=0x21 uid_is_unique=1 pchid=0x0140 vfn=1 port=1 kind=roce3 driver=vfio-pci
function fid=0x00000022 uid=0x22 uid_is_unique=1 pchid=0x0140 vfn=2 port=1 kind=roce3 driver=vfio-pci
LPAR
echo '{ "schema": 1 }' >"$T/zpcid.json"
S="run bash $SELF --step"
cat >"$T/scenario" <<SC
$S start
hold fid=0x21
$S held first
release fid=0x21
$S released
hold fid=0x21
$S held again
SC
simbus_sim --quiet --log "$T/zpcid.log" --lpar "$T/lpar" --config "$T/zpcid.json" --scenario "$T/scenario"
rc=$?
if [ $rc != 0 ]; then
	echo "--- zpcid's log" >&2
	tail -30 "$T/zpcid.log" >&2
	fail "the scenario failed"
fi
grep -q "Configuration reloaded" "$T/zpcid.log" && fail "zpcid was reloaded"
[ "$(cat "$T/holder.first")" != "$(cat "$T/holder.again")" ] || fail "the same VMM twice"
pass "holders seen as they open and close the device"
exit 0
