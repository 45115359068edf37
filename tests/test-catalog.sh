#!/bin/bash
# The journal catalog (catalog/zpcid.catalog):
#  1. every MESSAGE_ID the code defines (all in common/messages.h) has an
#     entry, and every entry belongs to a defined MESSAGE_ID;
#  2. for real: in a private mount namespace, a private journald, the
#     catalog alone in the systemd catalog directory (a temporary directory
#     bind-mounted over it, and over the catalog database's directory),
#     `journalctl --update-catalog`, then `journalctl -x` shows the entry's
#     text, with the record's fields filled in, under a record zpcid wrote.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
CATALOG=$SRC/catalog/zpcid.catalog
CATDIR=/usr/lib/systemd/catalog
CATDB=/var/lib/systemd/catalog

if [ "${ZPCID_IN_NS:-}" != 1 ]; then
	defined=$(grep -hoE '#define[[:space:]]+[A-Z_]*MESSAGE_ID[A-Z_]*[[:space:]]+"[0-9a-f]{32}"' \
		"$SRC"/daemon/*.h "$SRC"/common/*.h | grep -oE '[0-9a-f]{32}' | sort)
	[ -n "$defined" ] || fail "found no MESSAGE_ID definitions"
	elsewhere=$(grep -lE '#define[[:space:]]+[A-Z_]*MESSAGE_ID[A-Z_]*[[:space:]]+"[0-9a-f]{32}"' \
		"$SRC"/daemon/*.[ch] "$SRC"/common/*.[ch] "$SRC"/zpcictl/*.[ch] | grep -v '/common/messages\.h$')
	[ -z "$elsewhere" ] || fail "MESSAGE_IDs defined outside common/messages.h: $elsewhere"
	[ "$(echo "$defined" | uniq -d)" = "" ] || fail "MESSAGE_IDs defined twice: $(echo "$defined" | uniq -d)"
	entries=$(sed -n 's/^-- \([0-9a-f]\{32\}\)$/\1/p' "$CATALOG" | sort)
	[ "$(echo "$entries" | uniq -d)" = "" ] || fail "catalog entries defined twice: $(echo "$entries" | uniq -d)"
	missing=$(comm -23 <(echo "$defined") <(echo "$entries"))
	[ -z "$missing" ] || fail "MESSAGE_IDs without a catalog entry: $(echo $missing)"
	stale=$(comm -13 <(echo "$defined") <(echo "$entries"))
	[ -z "$stale" ] || fail "catalog entries for no MESSAGE_ID of the code: $(echo $stale)"
	# each entry has a Subject line and a text
	python3 - "$CATALOG" <<'PY' || fail "catalog entries without Subject or text"
import re, sys
text = open(sys.argv[1]).read()
for m in re.finditer(r"^-- ([0-9a-f]{32})\n(.*?)(?=^-- |\Z)", text, re.S | re.M):
    head, _, body = m.group(2).partition("\n\n")
    if not re.search(r"^Subject: .+", head, re.M) or not body.strip():
        sys.exit(f"entry {m.group(1)} lacks a Subject or a text")
PY
	pass "$(echo "$defined" | wc -l) MESSAGE_IDs defined, each with a catalog entry"
	# random 128-bit ids (systemd-id128 new: UUID version 4, variant 1), no
	# visible pattern: no two share their first or their last 8 digits
	python3 - $defined <<'PY' || fail "MESSAGE_IDs that are not random ids"
import sys
ids = sys.argv[1:]
for i in ids:
    if i[12] != "4" or i[16] not in "89ab": sys.exit(f"{i} is not a random (version 4) id")
for part in (slice(0, 8), slice(24, 32)):
    seen = [i[part] for i in ids]
    if len(set(seen)) != len(seen): sys.exit(f"MESSAGE_IDs share digits {part}: a pattern")
PY
	pass "the MESSAGE_IDs are random ids without a shared part"

	[ "$(id -u)" = 0 ] || skip "the journalctl -x round trip needs root (private mount namespace)"
	[ -x /lib/systemd/systemd-journald ] || skip "systemd-journald not installed"
	[ -d $CATDIR ] || skip "no systemd catalog directory $CATDIR"
	unshare --mount --propagation private true 2>/dev/null || skip "cannot create a mount namespace here"
	exec unshare --mount --propagation private env ZPCID_IN_NS=1 bash "$0" "$@"
fi

T=$(mktemp -d /tmp/zpcid-catalog.XXXXXX)
trap 'kill $JPID 2>/dev/null; rm -rf "$T"' EXIT
mkdir -p /run/systemd/journal /run/log /var/log/journal $CATDB "$T/catalog" "$T/catdb"
mount -t tmpfs tmpfs /run/systemd/journal
mount -t tmpfs tmpfs /run/log
mount -t tmpfs tmpfs /var/log/journal
printf '[Journal]\nStorage=volatile\nRateLimitBurst=0\nReadKMSG=no\nForwardToSyslog=no\nForwardToWall=no\nForwardToConsole=no\n' >"$T/journald.conf"
mount --bind "$T/journald.conf" /etc/systemd/journald.conf
cp "$CATALOG" "$T/catalog/"
mount --bind "$T/catalog" $CATDIR || fail "cannot bind-mount over $CATDIR"
mount --bind "$T/catdb" $CATDB || fail "cannot bind-mount over $CATDB"
journalctl --update-catalog 2>"$T/update.err" || fail "journalctl --update-catalog: $(cat "$T/update.err")"
[ -s "$T/update.err" ] && fail "journalctl --update-catalog complained: $(cat "$T/update.err")"
[ -s $CATDB/database ] || fail "no catalog database written"
n=$(journalctl --list-catalog 2>/dev/null | wc -l)
[ "$n" = "$(grep -c '^-- [0-9a-f]\{32\}$' "$CATALOG")" ] || fail "the database holds $n entries"
pass "journalctl --update-catalog accepts the catalog ($n entries)"

/lib/systemd/systemd-journald >"$T/journald.out" 2>&1 &
JPID=$!
wait_for "test -S /run/systemd/journal/socket" 5 || fail "journald did not start: $(cat "$T/journald.out")"
STARTED=$(sed -n 's/^#define MESSAGE_ID_DAEMON_STARTED *"\([0-9a-f]*\)"$/\1/p' "$SRC/common/messages.h")
STOPPED=$(sed -n 's/^#define MESSAGE_ID_DAEMON_STOPPED *"\([0-9a-f]*\)"$/\1/p' "$SRC/common/messages.h")
mkdir -p "$T/state" "$T/run"
STATE_DIRECTORY=$T/state RUNTIME_DIRECTORY=$T/run "$BUILD/zpcid" --config "$SRC/conf/zpcid.json" \
	--config-dropins "$T/none" --log-target=journal 2>"$T/daemon.err" &
DPID=$!
# its records are in the journal: the start, then (after SIGTERM) the stop
wait_for "[ -n \"\$(journalctl -D /run/log/journal MESSAGE_ID=$STARTED 2>/dev/null)\" ]" 20 ||
	fail "no 'started' record in the journal: $(cat "$T/daemon.err")"
kill -TERM $DPID
wait $DPID || fail "daemon exit code $?"
wait_for "[ -n \"\$(journalctl -D /run/log/journal MESSAGE_ID=$STOPPED 2>/dev/null)\" ]" 20 ||
	fail "no 'stopped' record in the journal"

J="journalctl -D /run/log/journal --no-pager -x"
$J MESSAGE_ID=$STARTED >"$T/started.txt"
grep -q "Subject: zpcid started" "$T/started.txt" || fail "journalctl -x shows no catalog text: $(cat "$T/started.txt")"

grep -qF "$T/state" "$T/started.txt" || fail "@ZPCID_STATE_DIRECTORY@ not filled in: $(cat "$T/started.txt")"
run_id=$(journalctl -D /run/log/journal -o json MESSAGE_ID=$STARTED |
	python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["ZPCID_RUN_ID"])')
grep -q "journalctl ZPCID_RUN_ID=$run_id" "$T/started.txt" || fail "@ZPCID_RUN_ID@ not filled in"
$J MESSAGE_ID=$STOPPED | grep -q "Subject: zpcid stopped" ||
	fail "journalctl -x shows no catalog text for the stop record"
pass "journalctl -x shows the catalog text, with fields filled in, under zpcid's records"
exit 0
