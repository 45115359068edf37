#!/bin/bash
# The system bus going away under a running zpcid (dbus-daemon killed): zpcid
# says so, stops in order and exits 1, so that the service manager starts it
# again (Restart=on-failure) with a new connection, its objects and its name.
# Then a new bus and a new zpcid: the name and the API are back. Runs the
# real zpcid on a private dbus-daemon with the shipped policy (tests/simbus.sh).
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$SRC/tests/simbus.sh"

[ "$(id -u)" = 0 ] || skip "needs root (zpcid owns org.zpcid1 under the shipped policy as root)"
for t in dbus-daemon busctl; do
	command -v $t >/dev/null || skip "$t is not installed"
done
[ -x "$ZPCID" ] && [ -f "$POLICY" ] || fail "build zpcid and $POLICY first"

simbus_start
mkdir -p "$T/state" "$T/run" "$T/conf.d"
cp "$SRC/conf/zpcid.json" "$T/zpcid.json"

start_zpcid() { # start_zpcid LOG: in the background, $DPID
	STATE_DIRECTORY=$T/state RUNTIME_DIRECTORY=$T/run "$ZPCID" --config "$T/zpcid.json" \
		--config-dropins "$T/conf.d" --log-target=console 2>"$1" &
	DPID=$!
	SIMBUS_PIDS=$DPID
	wait_for 'busctl --system status org.zpcid1 >/dev/null 2>&1' 20 ||
		fail "zpcid did not take org.zpcid1: $(tail -5 "$1")"
}

start_zpcid "$T/daemon.log"
pass "zpcid owns org.zpcid1 on the private bus"

kill -KILL "$BPID"
wait "$BPID" 2>/dev/null
BPID=
wait_for '! kill -0 $DPID' 30 || fail "zpcid still runs 30 s after the bus went away: $(tail -5 "$T/daemon.log")"
wait "$DPID"
rc=$?
SIMBUS_PIDS=
[ "$rc" = 1 ] || fail "exit status $rc after the bus went away, want 1 (log: $(tail -5 "$T/daemon.log"))"
grep -q 'Lost the connection to the system bus' "$T/daemon.log" ||
	fail "zpcid did not say why it stopped: $(tail -5 "$T/daemon.log")"
grep -q 'zpcid stopped' "$T/daemon.log" || fail "zpcid did not stop in order: $(tail -5 "$T/daemon.log")"
pass "zpcid said it lost the bus, stopped in order and exited 1"

# What the service manager does next: a new bus, a new zpcid.
dbus-daemon --config-file="$T/bus.conf" --nofork --nopidfile --print-address=3 3>"$T/addr2" 2>"$T/dbus2.log" &
BPID=$!
wait_for '[ -s "$T/addr2" ]' 5 || fail "the second dbus-daemon did not start: $(cat "$T/dbus2.log")"
DBUS_SYSTEM_BUS_ADDRESS=$(head -1 "$T/addr2")
export DBUS_SYSTEM_BUS_ADDRESS
start_zpcid "$T/daemon2.log"
busctl --system get-property org.zpcid1 /org/zpcid1 org.zpcid1.Manager Version >/dev/null ||
	fail "the restarted zpcid does not answer on the new bus"
kill -TERM "$DPID"
wait "$DPID"
rc=$?
SIMBUS_PIDS=
[ "$rc" = 0 ] || fail "the restarted zpcid exited $rc on SIGTERM"
pass "started again on a new bus, it owns the name and answers; SIGTERM ends it with 0"
