#!/bin/bash
# Journal round trip against a real systemd-journald started in a private
# mount namespace: the daemon's records arrive with their MESSAGE_ID and
# structured fields, and the per-run id is the same in every record of a run.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root for a private mount namespace"
JOURNALD=/lib/systemd/systemd-journald
[ -x "$JOURNALD" ] || skip "systemd-journald not installed"
if [ "${ZPCID_IN_NS:-}" != 1 ]; then
	unshare --mount --propagation private true 2>/dev/null || skip "cannot create a mount namespace here"
	exec unshare --mount --propagation private env ZPCID_IN_NS=1 bash "$0" "$@"
fi

T=$(mktemp -d /tmp/zpcid-journal.XXXXXX)
trap 'kill $JPID 2>/dev/null; rm -rf "$T"' EXIT
mkdir -p /run/systemd/journal /run/log /var/log/journal
mount -t tmpfs tmpfs /run/systemd/journal
mount -t tmpfs tmpfs /run/log
mount -t tmpfs tmpfs /var/log/journal
printf '[Journal]\nStorage=volatile\nRateLimitBurst=0\nReadKMSG=no\nForwardToSyslog=no\nForwardToWall=no\nForwardToConsole=no\n' >"$T/journald.conf"
mount --bind "$T/journald.conf" /etc/systemd/journald.conf
"$JOURNALD" >"$T/journald.out" 2>&1 &
JPID=$!
wait_for "test -S /run/systemd/journal/socket" 5 || fail "journald did not start: $(cat "$T/journald.out")"

STARTED=$(sed -n 's/^#define MESSAGE_ID_DAEMON_STARTED *"\([0-9a-f]*\)"$/\1/p' "$SRC/common/messages.h")
STOPPED=$(sed -n 's/^#define MESSAGE_ID_DAEMON_STOPPED *"\([0-9a-f]*\)"$/\1/p' "$SRC/common/messages.h")
[ ${#STARTED} = 32 ] && [ ${#STOPPED} = 32 ] || fail "no MESSAGE_IDs in common/messages.h"
J="journalctl -D /run/log/journal --no-pager -o json"

# Log target "auto" must pick the journal now that its socket exists.
mkdir -p "$T/state" "$T/run"
STATE_DIRECTORY=$T/state RUNTIME_DIRECTORY=$T/run "$BUILD/zpcid" --config "$SRC/conf/zpcid.json" \
	--config-dropins "$T/none" 2>"$T/daemon.err" &
DPID=$!
wait_for "[ -n \"\$($J MESSAGE_ID=$STARTED 2>/dev/null)\" ]" 20 || fail "no 'started' record in the journal"
kill -TERM $DPID
wait $DPID || fail "daemon exit code $?"
[ -s "$T/daemon.err" ] && fail "auto target wrote to stderr despite a journal: $(cat "$T/daemon.err")"
wait_for "[ -n \"\$($J MESSAGE_ID=$STOPPED 2>/dev/null)\" ]" 20 || fail "no 'stopped' record in the journal"

J="journalctl -D /run/log/journal --no-pager -o json"
$J MESSAGE_ID=$STARTED >"$T/started.json"
[ -s "$T/started.json" ] || fail "no 'started' record with its MESSAGE_ID in the journal"
python3 - "$T/started.json" "$T/state" "$SRC" <<'PY' || exit 1
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 1, f"expected one started record, got {len(recs)}"
r = recs[0]
for k, v in {"SYSLOG_IDENTIFIER": "zpcid", "PRIORITY": "6", "ZPCID_VERSION": "0.1.0",
             "ZPCID_STATE_DIRECTORY": sys.argv[2]}.items():
    assert r.get(k) == v, f"{k}={r.get(k)!r}, expected {v!r}"
assert len(r.get("ZPCID_RUN_ID", "")) == 32, "ZPCID_RUN_ID missing"
# the call site, not the log module's write function
assert r.get("CODE_FILE") == "daemon/manager.c", f"CODE_FILE={r.get('CODE_FILE')!r}"
assert r.get("CODE_FUNC") == "manager_start", f"CODE_FUNC={r.get('CODE_FUNC')!r}"
src = open(f"{sys.argv[3]}/daemon/manager.c").read().splitlines()
line = int(r["CODE_LINE"])
stmt = "\n".join(src[max(0, line - 4):line])
assert "log_fields(" in stmt and "MESSAGE_ID_DAEMON_STARTED" in stmt, f"CODE_LINE={line} is not the call: {stmt!r}"
print("ok: call site", r["CODE_FILE"], r["CODE_LINE"], r["CODE_FUNC"])
print("ok: started record:", {k: r[k] for k in ("MESSAGE", "ZPCID_RUN_ID")})
PY
$J MESSAGE_ID=$STOPPED >"$T/stopped.json"
python3 - "$T/started.json" "$T/stopped.json" <<'PY' || exit 1
import json, sys
a = json.loads(open(sys.argv[1]).readline())
b = [json.loads(l) for l in open(sys.argv[2])]
assert len(b) == 1, "expected one stopped record"
assert a["ZPCID_RUN_ID"] == b[0]["ZPCID_RUN_ID"], "run id differs within one run"
print("ok: stopped record with the same run id")
PY

# A kill between the history and the journal: the newest history record is
# missing from the journal. The next start writes it there, once.
mkdir -p "$T/state2"
python3 - "$T/state2/history.log" <<'PY'
import json, sys, time, zlib
now = int(time.time() * 1e6)
recs = [{"seq": 41, "kind": "error", "source": "vfio", "time": now - 2000, "fid": 0x21, "pec": 0x3a},
        {"seq": 42, "kind": "error", "source": "vfio", "time": now - 1000, "fid": 0x21, "pec": 0x10}]
with open(sys.argv[1], "w") as f:
    f.write("ZPCID-HISTORY 1\n")
    for r in recs:
        t = json.dumps(r, separators=(",", ":")).encode()
        f.write("%08x %08x %s\n" % (len(t), zlib.crc32(t), t.decode()))
PY
# The check at the start comes before the enumeration ("Found N zPCI
# function(s)", or "No zPCI functions found"): once a run has logged that,
# the check is done; its stop record is its last.
found() { $J SYSLOG_IDENTIFIER=zpcid 2>/dev/null | grep -cE 'zPCI function\(s\)|No zPCI functions found'; }
stopped() { $J MESSAGE_ID=$STOPPED 2>/dev/null | wc -l; }
found0=$(found)
stopped0=$(stopped)
for run in 1 2; do
	STATE_DIRECTORY=$T/state2 RUNTIME_DIRECTORY=$T/run "$BUILD/zpcid" --config "$SRC/conf/zpcid.json" \
		--config-dropins "$T/none" 2>>"$T/daemon2.err" &
	DPID=$!
	wait_for "[ \"\$(found)\" -ge $((found0 + run)) ]" 20 || fail "run $run did not enumerate: $(cat "$T/daemon2.err")"
	kill -TERM $DPID
	wait $DPID || fail "daemon exit code $? (run $run)"
	wait_for "[ \"\$(stopped)\" -ge $((stopped0 + run)) ]" 20 || fail "no 'stopped' record of run $run"
done
n=$($J ZPCID_SEQ=42 ZPCI_FID=0x00000021 | wc -l)
[ "$n" = 1 ] || fail "the unjournaled event 42 is in the journal $n time(s), expected once"
[ "$($J ZPCID_SEQ=41 | wc -l)" = 0 ] || fail "an older event was written again"
pass "the newest history event missing from the journal is written there once after a restart"
exit 0
