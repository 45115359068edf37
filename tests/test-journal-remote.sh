#!/bin/bash
# zpcid's records in a central journal, with systemd's own tools: a private
# journald (private mount namespace) receives zpcid's records — its life
# cycle and events of every kind, with their ZPCI_*/ZPCID_* fields —,
# systemd-journal-upload sends them over HTTP on the loopback to
# systemd-journal-remote, and the received journal file holds every record
# with every field and MESSAGE_ID unchanged; journalctl -x on that file shows
# the catalog's text, fields filled in.
#
# The events are the history's newest records, which a start writes to the
# journal when they are missing there (docs/history.md): the daemon's own
# journal writer, without a device world.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root for a private mount namespace"
JOURNALD=/lib/systemd/systemd-journald
REMOTE=/lib/systemd/systemd-journal-remote
UPLOAD=/lib/systemd/systemd-journal-upload
[ -x "$JOURNALD" ] || skip "systemd-journald not installed"
[ -x "$REMOTE" ] && [ -x "$UPLOAD" ] || skip "systemd-journal-remote/-upload not installed (Debian package systemd-journal-remote)"
CATDIR=/usr/lib/systemd/catalog
CATDB=/var/lib/systemd/catalog
[ -d $CATDIR ] || skip "no systemd catalog directory $CATDIR"
if [ "${ZPCID_IN_NS:-}" != 1 ]; then
	unshare --mount --propagation private true 2>/dev/null || skip "cannot create a mount namespace here"
	exec unshare --mount --propagation private env ZPCID_IN_NS=1 bash "$0" "$@"
fi

T=$(mktemp -d /tmp/zpcid-journal-remote.XXXXXX)
PIDS=
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; rm -rf "$T"' EXIT
mkdir -p /run/systemd/journal /run/log /var/log/journal $CATDB "$T/catalog" "$T/catdb" "$T/remote"
mount -t tmpfs tmpfs /run/systemd/journal
mount -t tmpfs tmpfs /run/log
mount -t tmpfs tmpfs /var/log/journal
printf '[Journal]\nStorage=volatile\nRateLimitBurst=0\nReadKMSG=no\nForwardToSyslog=no\nForwardToWall=no\nForwardToConsole=no\n' >"$T/journald.conf"
mount --bind "$T/journald.conf" /etc/systemd/journald.conf
"$JOURNALD" >"$T/journald.out" 2>&1 &
PIDS="$PIDS $!"
wait_for "test -S /run/systemd/journal/socket" 10 || fail "journald did not start: $(cat "$T/journald.out")"
J="journalctl -q -D /run/log/journal --no-pager"

# zpcid: three runs, each with a history whose newest event (an error with
# its CCDF, a recovery, an action) is not in the journal yet.
python3 - "$T" <<'PY'
import json, sys, time, zlib
T = sys.argv[1]
now = int(time.time() * 1e6)
ident = {"fid": 0x51, "uid": 0x51, "uid_is_unique": True, "pchid": 0x1e0, "pft": 0x0a,
         "slot": "0051:00:00.0", "fh": 0x80000051}
runs = {
    "error": {"seq": 7, "kind": "error", "source": "vfio", "pec": 0x3a, "faddr": 0xfe001000,
              "ett": 3, "mvn": 2, "dmaas": 1, "q": True, "rw": False},
    "recovery": {"seq": 8, "kind": "recovery", "source": "uevent", "recovery": "begin", "online": False},
    "action": {"seq": 9, "kind": "action", "source": "daemon", "action": "reset", "result": "failed",
               "detail": "rule storm: write to reset: $(touch x) \"quoted\"", "pec": 0x3a},
}
for name, r in runs.items():
    rec = dict(ident, time=now - 1000, monotonic=1234567, message=f"zpcid {name} event, seq {r['seq']}", **r)
    t = json.dumps(rec, separators=(",", ":")).encode()
    import os
    os.makedirs(f"{T}/state-{name}", exist_ok=True)
    with open(f"{T}/state-{name}/history.log", "w") as f:
        f.write("ZPCID-HISTORY 1\n")
        f.write("%08x %08x %s\n" % (len(t), zlib.crc32(t), t.decode()))
PY
seq=7
for run in error recovery action; do
	mkdir -p "$T/run"
	STATE_DIRECTORY=$T/state-$run RUNTIME_DIRECTORY=$T/run "$BUILD/zpcid" --config "$SRC/conf/zpcid.json" \
		--config-dropins "$T/none" --log-target=journal 2>>"$T/daemon.err" &
	DPID=$!
	wait_for "[ -n \"\$($J ZPCID_SEQ=$seq 2>/dev/null)\" ]" 20 || fail "event $seq ($run) did not reach the journal"
	kill -TERM $DPID
	wait $DPID || fail "zpcid exit code $? ($run)"
	seq=$((seq + 1))
done
journalctl --sync >/dev/null 2>&1 || fail "journalctl --sync"
$J -o json SYSLOG_IDENTIFIER=zpcid >"$T/local.json"
pass "zpcid wrote $(wc -l <"$T/local.json") records to the local journal"

# The receiver on the loopback, then the sender, which exits once all is sent.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$REMOTE" --listen-http="127.0.0.1:$port" --output="$T/remote/received.journal" --split-mode=none \
	>"$T/remote.out" 2>&1 &
RPID=$!
PIDS="$PIDS $RPID"
wait_for "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $port))'" 20 ||
	fail "systemd-journal-remote does not listen: $(cat "$T/remote.out")"
"$UPLOAD" --url="http://127.0.0.1:$port" -D /run/log/journal --follow=no --save-state="$T/upload.state" \
	>"$T/upload.out" 2>&1 || fail "systemd-journal-upload: $(cat "$T/upload.out")"
[ -s "$T/upload.state" ] || fail "systemd-journal-upload saved no cursor"
kill -TERM $RPID
wait $RPID || fail "systemd-journal-remote exit code $?: $(cat "$T/remote.out")"
[ -s "$T/remote/received.journal" ] || fail "no journal file received"
journalctl --file="$T/remote/received.journal" --no-pager -o json SYSLOG_IDENTIFIER=zpcid >"$T/remote.json"

python3 - "$T" "$SRC/common/messages.h" <<'PY' || fail "the received journal differs from the local one"
import json, re, sys
T, hdr = sys.argv[1], sys.argv[2]
def die(m):
    print("FAIL:", m, file=sys.stderr); sys.exit(1)
local = [json.loads(l) for l in open(f"{T}/local.json")]
remote = [json.loads(l) for l in open(f"{T}/remote.json")]
ids = dict(re.findall(r'#define (\w+) +"([0-9a-f]{32})"', open(hdr).read()))
ours = lambda r: {k: v for k, v in r.items()
                  if k.startswith(("ZPCI_", "ZPCID_", "CODE_", "PCI_SLOT_NAME"))
                  or k in ("MESSAGE", "MESSAGE_ID", "PRIORITY", "SYSLOG_IDENTIFIER")}
if len(remote) != len(local): die(f"{len(local)} records sent, {len(remote)} received")
for a, b in zip(local, remote):
    if ours(a) != ours(b): die(f"record differs:\n{ours(a)}\n{ours(b)}")
by_id = {}
for r in remote: by_id.setdefault(r.get("MESSAGE_ID"), []).append(r)
for name in ("MESSAGE_ID_DAEMON_STARTED", "MESSAGE_ID_DAEMON_STOPPED", "EVENT_MESSAGE_ID_ERROR",
             "EVENT_MESSAGE_ID_RECOVERY", "EVENT_MESSAGE_ID_ACTION"):
    if not by_id.get(ids[name]): die(f"no {name} record received")
err = by_id[ids["EVENT_MESSAGE_ID_ERROR"]][0]
want = {"MESSAGE": "zpcid error event, seq 7", "ZPCI_FID": "0x00000051", "ZPCI_UID": "0x51", "ZPCI_PCHID": "0x01e0", "ZPCI_FH": "0x80000051",
        "ZPCI_PEC": "0x003a", "ZPCI_FADDR": "0x00000000fe001000", "PCI_SLOT_NAME": "0051:00:00.0",
        "ZPCID_SEQ": "7", "ZPCID_KIND": "error", "ZPCID_SOURCE": "vfio"}
for k, v in want.items():
    if err.get(k) != v: die(f"error record: {k}={err.get(k)!r}, expected {v!r}")
act = by_id[ids["EVENT_MESSAGE_ID_ACTION"]][0]
if act.get("ZPCID_DETAIL") != 'rule storm: write to reset: $(touch x) "quoted"': die(f"detail {act.get('ZPCID_DETAIL')!r}")
if act.get("ZPCID_RESULT") != "failed": die("action result")
n = sum(1 for r in remote for k in r if k.startswith(("ZPCI_", "ZPCID_")))
print(f"ok: {len(remote)} records received, {n} ZPCI_*/ZPCID_* fields, all as sent")
PY
pass "systemd-journal-upload -> systemd-journal-remote keeps every record, field and MESSAGE_ID"

# The catalog on the receiving side: journalctl -x against the received file.
cp "$SRC/catalog/zpcid.catalog" "$T/catalog/"
mount --bind "$T/catalog" $CATDIR || fail "cannot bind-mount over $CATDIR"
mount --bind "$T/catdb" $CATDB || fail "cannot bind-mount over $CATDB"
journalctl --update-catalog 2>"$T/update.err" || fail "journalctl --update-catalog: $(cat "$T/update.err")"
ERROR_ID=$(sed -n 's/^#define EVENT_MESSAGE_ID_ERROR *"\([0-9a-f]*\)"$/\1/p' "$SRC/common/messages.h")
journalctl --file="$T/remote/received.journal" --no-pager -x MESSAGE_ID="$ERROR_ID" >"$T/x.txt"
grep -qF "Subject: PCI function 0x00000051 reported error 0x003a (" "$T/x.txt" ||
	fail "journalctl -x on the received file shows no catalog text: $(cat "$T/x.txt")"
grep -qF "(PCI address 0051:00:00.0, PCHID 0x01e0)" "$T/x.txt" || fail "catalog fields not filled in: $(cat "$T/x.txt")"
grep -q '@[A-Z_]*@' "$T/x.txt" && fail "catalog fields left unfilled: $(grep '@[A-Z_]*@' "$T/x.txt")"
cat "$T/x.txt"
pass "journalctl -x on the received journal shows the catalog text with the fields filled in"
exit 0
