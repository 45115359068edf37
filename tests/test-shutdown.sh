#!/bin/bash
# A second SIGTERM while zpcid shuts down still ends it cleanly: exit 0, its
# final saves done. The shutdown is held at a known point: the kernel log
# position is saved through a FIFO that nobody reads yet, so the syncer
# waits in open() and the daemon's final drain waits for the syncer.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

python3 -c 'import os; os.close(os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK))' 2>/dev/null ||
	skip "/dev/kmsg cannot be read here (the kernel log position is what holds the shutdown)"

T=$(mktemp -d /tmp/zpcid-shutdown.XXXXXX)
DPID=
trap '[ -n "$DPID" ] && kill -9 $DPID 2>/dev/null; rm -rf "$T"' EXIT
mkdir -p "$T/state" "$T/run" "$T/conf.d"
cp "$SRC/conf/zpcid.json" "$T/zpcid.json"

# exec keeps the pid: the FIFO has the name the syncer's temporary file gets.
STATE_DIRECTORY=$T/state RUNTIME_DIRECTORY=$T/run bash -c \
	'mkfifo "$1/state/kmsg-cursor.tmp.$$" && exec "$2" --config "$1/zpcid.json" --config-dropins "$1/conf.d" --log-target=console' \
	sh "$T" "$BUILD/zpcid" 2>"$T/daemon.log" &
DPID=$!

waiting_task() { grep -qs "$1" /proc/$DPID/task/*/wchan; }
wait_for "waiting_task wait_for_partner" 20 || fail "the syncer never opened the FIFO (log: $(cat "$T/daemon.log"))"
pass "the kernel log position is being saved through the FIFO"

kill -TERM $DPID
wait_for "grep -q 'zpcid stopped' '$T/daemon.log'" 20 || fail "no stop after the first SIGTERM: $(cat "$T/daemon.log")"
# The main thread now waits for the syncer, past the loop and its signal events.
wait_for "grep -qs futex /proc/$DPID/wchan" 20 || fail "the main thread does not wait for the syncer: $(cat /proc/$DPID/wchan)"
kill -TERM $DPID
kill -INT $DPID
pass "second SIGTERM (and a SIGINT) sent during the final save"

# Read what the held save writes (nobody writes when the daemon is gone).
timeout 30 cat "$T/state/kmsg-cursor.tmp.$DPID" >"$T/cursor.out"
wait $DPID
rc=$?
DPID=
[ $rc = 0 ] || fail "exit status $rc after a second SIGTERM (log: $(tail -5 "$T/daemon.log"))"
grep -q '^SEQ=' "$T/cursor.out" || fail "the held save did not complete: $(cat "$T/cursor.out")"
pass "exit 0, the held save completed"
