# Helpers for the tests that run the real zpcid on the simulated LPAR
# (tests/zpci-sim) with a private system bus: a dbus-daemon that includes the
# SHIPPED policy file (dbus/org.zpcid1.conf), never the host's bus. Sourced
# after tests/lib.sh; needs root (zpci-sim's stand-in VMM mounts in a
# private mount namespace, and the bus policy is tested for root and nobody).
#
#   simbus_require        skip unless everything needed is here
#   simbus_enter_ns "$@"  re-run the calling script in a private mount namespace
#   simbus_start          temp dir $T, private bus; exports DBUS_SYSTEM_BUS_ADDRESS
#   simbus_sim ARGS...    run zpci-sim (LPAR, daemon and scenario) on that bus

ZPCID=${ZPCID_TEST_ZPCID:-$BUILD/zpcid}
Z=$BUILD/zpcictl/zpcictl
SIM=$BUILD/tests/zpci-sim
POLICY=$BUILD/dbus/org.zpcid1.conf
PY=/usr/bin/python3
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"

simbus_require() {
	[ "$(id -u)" = 0 ] || skip "needs root (private mount namespace, setpriv)"
	local t
	for t in dbus-daemon busctl setpriv unshare; do
		command -v $t >/dev/null || skip "$t is not installed"
	done
	[ -x "$SIM" ] || skip "tests/zpci-sim is not built (needs umockdev)"
	$PY -c 'import dbus, dbus.mainloop.glib; from gi.repository import GLib' 2>/dev/null ||
		skip "$PY has no dbus/gi modules (python3-dbus, python3-gi)"
	[ -x "$ZPCID" ] && [ -x "$Z" ] && [ -f "$POLICY" ] || fail "build zpcid, zpcictl and $POLICY first"
}

simbus_enter_ns() {
	if [ -z "${ZPCID_TEST_IN_NS:-}" ]; then
		ZPCID_TEST_IN_NS=1 exec unshare --mount --propagation private bash "$0" "$@" ||
			skip "cannot create a mount namespace"
	fi
}

simbus_cleanup() {
	local p
	for p in ${SIMBUS_PIDS:-}; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[ -n "${BPID:-}" ] && kill "$BPID" 2>/dev/null && wait "$BPID" 2>/dev/null
	[ -n "${T:-}" ] && [ -z "${ZPCID_TEST_KEEP:-}" ] && rm -rf "$T"
}

simbus_start() {
	T=$(mktemp -d /tmp/zpcid-simbus.XXXXXX)
	chmod 755 "$T" # the bus socket lives here; nobody must reach it
	export T
	trap simbus_cleanup EXIT
	sed "s|unix:dir=/tmp|unix:dir=$T|" "$SRC/tests/dbus/test-system-bus.conf" >"$T/bus.conf"
	cp "$POLICY" "$T/org.zpcid1.conf"
	dbus-daemon --config-file="$T/bus.conf" --nofork --nopidfile --print-address=3 3>"$T/addr" 2>"$T/dbus.log" &
	BPID=$!
	wait_for '[ -s "$T/addr" ]' 5 || fail "dbus-daemon did not start: $(cat "$T/dbus.log")"
	DBUS_SYSTEM_BUS_ADDRESS=$(head -1 "$T/addr")
	export DBUS_SYSTEM_BUS_ADDRESS
	# never fall back to the host's buses
	unset DBUS_SESSION_BUS_ADDRESS
}

simbus_sim() {
	ZPCID_TOP_BUILDDIR=$BUILD "$SIM" --zpcid "$ZPCID" "$@"
}
