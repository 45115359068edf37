#!/bin/bash
# The daemon's life cycle against a stand-in service manager: READY=1,
# STATUS=, WATCHDOG=1 on NOTIFY_SOCKET; SIGHUP with a broken config keeps the
# running one; SIGHUP with a good one reloads; SIGTERM stops promptly with 0.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

T=$(mktemp -d /tmp/zpcid-core.XXXXXX)
trap 'kill $LPID $DPID 2>/dev/null; rm -rf "$T"' EXIT
mkdir -p "$T/state" "$T/run" "$T/conf.d"
cp "$SRC/conf/zpcid.json" "$T/zpcid.json"

python3 "$SRC/tests/notify-listen.py" "$T/notify.sock" "$T/notify.log" &
LPID=$!
wait_for "grep -q LISTENING '$T/notify.log'" 5 || fail "notify listener did not start"

NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=200000 STATE_DIRECTORY=$T/state RUNTIME_DIRECTORY=$T/run \
	"$BUILD/zpcid" --config "$T/zpcid.json" --config-dropins "$T/conf.d" --log-target=console \
	2>"$T/daemon.log" &
DPID=$!

wait_for "grep -q '^READY=1' '$T/notify.log'" 10 || fail "no READY=1 (log: $(cat "$T/daemon.log"))"
pass "READY=1 received"
# The listener writes each datagram when it gets to it: wait for the lines.
wait_for "grep -q -e '^STATUS=' -e '|STATUS=' '$T/notify.log'" 10 || fail "no STATUS="
pass "STATUS= received: $(grep -o 'STATUS=[^|]*' "$T/notify.log" | head -1)"
wait_for "test \$(grep -c '^WATCHDOG=1' '$T/notify.log') -ge 3" 5 || fail "fewer than 3 WATCHDOG=1 in 5 s with WATCHDOG_USEC=200ms"
pass "WATCHDOG=1 pings at half the watchdog interval"
grep -q "state $T/state, runtime $T/run" "$T/daemon.log" || fail "STATE_DIRECTORY/RUNTIME_DIRECTORY not honoured: $(cat "$T/daemon.log")"
pass "STATE_DIRECTORY and RUNTIME_DIRECTORY honoured"

# A broken drop-in: the reload must fail and keep the running configuration.
printf '{ "schema": 1, "log": { "level": "loud" } }\n' >"$T/conf.d/50-broken.json"
kill -HUP $DPID
wait_for "grep -q 'keeping the running one' '$T/daemon.log'" 5 || fail "broken reload not reported: $(cat "$T/daemon.log")"
grep -q "50-broken.json:1:" "$T/daemon.log" || fail "reload diagnostics lack file:line:column: $(cat "$T/daemon.log")"
kill -0 $DPID 2>/dev/null || fail "daemon died on a broken reload"
wait_for "grep -q 'RELOADING=1' '$T/notify.log'" 10 || fail "no RELOADING=1"
pass "SIGHUP with a broken config keeps the running one"

rm -f "$T/conf.d/50-broken.json"
printf '{ "schema": 1, "log": { "level": "debug" } }\n' >"$T/conf.d/50-debug.json"
kill -HUP $DPID
wait_for "grep -q 'Configuration reloaded' '$T/daemon.log'" 5 || fail "good reload not reported"
pass "SIGHUP with a good config reloads"

start=$(date +%s%N)
kill -TERM $DPID
wait $DPID
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $rc = 0 ] || fail "SIGTERM exit code $rc"
# the listener may write the datagram after zpcid has exited
wait_for "grep -q 'STOPPING=1' '$T/notify.log'" 30 || fail "no STOPPING=1"
pass "SIGTERM: exit 0 after ${ms} ms, STOPPING=1 sent"
DPID=
exit 0
