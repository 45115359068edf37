#!/bin/bash
# The D-Bus API for real: a private system-style dbus-daemon that includes the
# SHIPPED policy file (dbus/org.zpcid1.conf), the real zpcid on it, and
# clients as root, as nobody, and as nobody in the policy's admin group.
#
# Runs in a private mount namespace so that a temporary /etc/group can name
# the admin group (with nobody in it) for dbus-daemon and zpcid alike,
# without touching the host.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (private mount namespace, setpriv)"
for t in dbus-daemon busctl setpriv unshare; do
	command -v $t >/dev/null || skip "$t is not installed"
done
ZPCID=${ZPCID_TEST_ZPCID:-$BUILD/zpcid}
Z=$BUILD/zpcictl/zpcictl
POLICY=$BUILD/dbus/org.zpcid1.conf
[ -x "$ZPCID" ] && [ -x "$Z" ] && [ -f "$POLICY" ] || fail "build zpcid, zpcictl and $POLICY first"

if [ -z "${ZPCID_TEST_IN_NS:-}" ]; then
	ZPCID_TEST_IN_NS=1 exec unshare --mount --propagation private bash "$0" "$@" ||
		skip "cannot create a mount namespace"
fi

T=$(mktemp -d /tmp/test-dbus.XXXXXX)
chmod 755 "$T" # the bus socket lives here; nobody must reach it
cleanup() {
	[ -n "${ZPID:-}" ] && kill "$ZPID" 2>/dev/null && wait "$ZPID" 2>/dev/null
	[ -n "${BPID:-}" ] && kill "$BPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# The admin group of the shipped policy, with nobody in it (namespace only).
GROUP=$(sed -n 's/.*<policy group="\([^"]*\)">.*/\1/p' "$POLICY")
[ -n "$GROUP" ] || fail "the shipped policy names no admin group"
GID=64123
cp /etc/group "$T/group"
grep -q "^$GROUP:" /etc/group && fail "group $GROUP exists on this host; the test needs a free name"
echo "$GROUP:x:$GID:nobody" >>"$T/group"
mount --bind "$T/group" /etc/group || skip "cannot bind-mount /etc/group"

sed "s|unix:dir=/tmp|unix:dir=$T|" "$SRC/tests/dbus/test-system-bus.conf" >"$T/bus.conf"
cp "$POLICY" "$T/org.zpcid1.conf"
dbus-daemon --config-file="$T/bus.conf" --nofork --nopidfile --print-address=3 3>"$T/addr" 2>"$T/dbus.log" &
BPID=$!
wait_for '[ -s "$T/addr" ]' 5 || fail "dbus-daemon did not start: $(cat "$T/dbus.log")"
export DBUS_SYSTEM_BUS_ADDRESS=$(head -1 "$T/addr")

mkdir -p "$T/state" "$T/run" "$T/conf.d"
conf() { # admin_group-json
	printf '{ "schema": 1, "directories": { "state": "%s/state", "runtime": "%s/run" }, "admin_group": %s }\n' \
		"$T" "$T" "$1" >"$T/zpcid.json"
}
conf null
"$ZPCID" --config "$T/zpcid.json" --config-dropins "$T/conf.d" --log-target=console >"$T/zpcid.log" 2>&1 &
ZPID=$!
wait_for 'busctl --system status org.zpcid1 >/dev/null 2>&1' 10 || fail "zpcid did not take its name: $(cat "$T/zpcid.log")"
pass "zpcid owns org.zpcid1 on the private bus"

NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
ADMIN="setpriv --reuid=65534 --regid=65534 --groups=$GID"
M="org.zpcid1 /org/zpcid1 org.zpcid1.Manager"

# -- reads: open to everybody --
for who in "" "$NOBODY"; do
	v=$($who busctl --system get-property $M Version) || fail "${who:-root}: Version"
	[ "$v" = "s \"$(sed -n 's/^zpcid \(.*\)/\1/p' <("$ZPCID" --version))\"" ] || fail "Version is $v"
	a=$($who busctl --system get-property $M APILevel) || fail "APILevel"
	[ "$a" = "u 1" ] || fail "APILevel is $a"
	$who busctl --system get-property $M FunctionCount PolicyFile PolicyLoadTime Inhibitors >/dev/null ||
		fail "${who:-root}: properties"
	$who busctl --system call $M ListFunctions >/dev/null || fail "${who:-root}: ListFunctions"
	$who busctl --system call org.zpcid1 /org/zpcid1 org.freedesktop.DBus.ObjectManager GetManagedObjects \
		>/dev/null || fail "${who:-root}: GetManagedObjects"
	$who busctl --system introspect org.zpcid1 /org/zpcid1 >/dev/null || fail "${who:-root}: introspect"
done
pass "reads work for root and nobody"

# -- the bus policy refuses state changes of nobody --
for meth in "Reload" "CheckPolicy s /etc/passwd" "Inhibit sss a b all"; do
	out=$($NOBODY busctl --system call $M $meth 2>&1) && fail "nobody: $meth passed the bus policy"
	echo "$out" | grep -qi "access denied\|AccessDenied" || fail "nobody: $meth: $out"
done
out=$($NOBODY busctl --system call org.zpcid1 /org/zpcid1/function/00000011 org.zpcid1.Function Reset 2>&1) &&
	fail "nobody: Function.Reset passed"
pass "the bus policy refuses state changes of nobody (AccessDenied)"

# -- the policy lets the admin group through; zpcid itself refuses (admin_group null) --
out=$($ADMIN busctl --system call $M Reload 2>&1) && fail "admin group member reloaded with admin_group null"
echo "$out" | grep -q "Changing state needs root" || fail "not refused by zpcid's own check: $out"
$ADMIN "$Z" --json policy reload >"$T/out.json"
[ $? -eq 1 ] || fail "zpcictl policy reload as refused member is not exit 1"
grep -q '"name": "org.zpcid1.Error.AccessDenied"' "$T/out.json" || fail "no org.zpcid1.Error.AccessDenied: $(cat "$T/out.json")"
pass "zpcid's own check refuses a member of the policy's group that is not its admin group"

# -- root changes admin_group, reloads; now the group member may --
conf "\"$GROUP\""
busctl --system call $M Reload || fail "root: Reload"
$ADMIN busctl --system call $M Reload || fail "admin group member: Reload after admin_group=$GROUP"
$NOBODY busctl --system call $M Reload 2>/dev/null && fail "nobody without the group reloaded"
pass "with admin_group set, its members may change state; others still may not"

# -- invalid requests: refused with org.zpcid1.Error.*, no side effect --
before=$(busctl --system get-property $M PolicyLoadTime)
errname() { # busctl call args: prints what busctl says about the failure
	busctl --system call "$@" 2>&1 >/dev/null
}
long=$(head -c 5000 /dev/zero | tr '\0' x)
o=$(errname $M GetEvents 'a{sv}' 1 limit u 20000); echo "$o" | grep -q "larger than 10000" || fail "limit: $o"
o=$(errname $M GetEvents 'a{sv}' 1 bogus u 1); echo "$o" | grep -q "Unknown filter" || fail "filter: $o"
o=$(errname $M GetEvents 'a{sv}' 1 fid s x); echo "$o" | grep -q "must have type" || fail "type: $o"
o=$(errname $M CheckPolicy s relative.json); echo "$o" | grep -q "absolute" || fail "relative path: $o"
o=$(errname $M CheckPolicy s "/$long"); echo "$o" | grep -q "longer than 4096" || fail "long path: $o"
o=$(errname $M Inhibit sss "$long" b all); echo "$o" | grep -q "longer than 4096" || fail "long who: $o"
o=$(errname $M Inhibit sss a b sometimes); echo "$o" | grep -q "Unknown action" || fail "what: $o"
o=$(errname org.zpcid1 /org/zpcid1/function/000000ff org.zpcid1.Function Reset)
echo "$o" | grep -q "No function" || fail "unknown function object: $o"
[ "$(busctl --system get-property $M Inhibitors)" = "a(sssuut) 0" ] || fail "a refused Inhibit left an inhibitor"
[ "$(busctl --system get-property $M PolicyLoadTime)" = "$before" ] || fail "a refused call reloaded"
# the error names themselves, through zpcictl's JSON errors
"$Z" --json show 0xff >"$T/out.json"; [ $? -eq 3 ] || fail "show of an unknown function is not exit 3"
grep -q '"name": "org.zpcid1.Error.NoSuchFunction"' "$T/out.json" || fail "NoSuchFunction: $(cat "$T/out.json")"
pass "invalid requests are refused with an error and change nothing"

# -- Delegate with a file descriptor that is not a vfio device --
/usr/bin/python3 - <<'PY' || fail "Delegate with a bad fd"
import os, dbus
bus = dbus.SystemBus()
m = dbus.Interface(bus.get_object("org.zpcid1", "/org/zpcid1"), "org.zpcid1.Manager")
for path in ("/dev/null", "/etc/hostname"):
    fd = os.open(path, os.O_RDONLY)
    try:
        m.Delegate(dbus.types.UnixFd(fd), {"fid": dbus.UInt32(0x11)})
        raise SystemExit(f"Delegate accepted {path}")
    except dbus.exceptions.DBusException as e:
        assert e.get_dbus_name() == "org.zpcid1.Error.InvalidArgument", e.get_dbus_name()
        assert "not a vfio device" in e.get_dbus_message(), e.get_dbus_message()
    finally:
        os.close(fd)
print("ok: Delegate refuses /dev/null and a regular file with org.zpcid1.Error.InvalidArgument")
PY
[ "$(busctl --system get-property $M FunctionCount)" = "u 0" ] || fail "a refused Delegate created a function"

# -- CheckPolicy --
"$Z" policy check "$T/zpcid.json" >/dev/null || fail "policy check of a valid file"
echo '{ "schema": 1, "bogus": true }' >"$T/bad.json"
"$Z" --json policy check "$T/bad.json" >"$T/out.json"; [ $? -eq 1 ] || fail "policy check of an invalid file is not exit 1"
grep -q "bad.json:1:" "$T/out.json" || fail "no file:line:column diagnostic: $(cat "$T/out.json")"
pass "policy check: valid and invalid files, with file:line:column"

# -- Inhibit: held while the command runs, released when it ends; PropertiesChanged --
"$Z" monitor --format jsonl >"$T/mon" 2>&1 &
MON=$!
inh=$("$Z" inhibit --who test --why testing --what reset,unbind busctl --system get-property $M Inhibitors)
[[ "$inh" == 'a(sssuut) 1 "test" "testing" "reset,unbind" 0 '* ]] || fail "inhibitor while running: $inh"
wait_for '[ "$(busctl --system get-property $M Inhibitors)" = "a(sssuut) 0" ]' 5 ||
	fail "the inhibitor outlived its command"
"$Z" inhibit false; [ $? -eq 1 ] || fail "inhibit does not pass on the command's exit status"
pass "inhibit holds the inhibitor exactly while the command runs"
kill $MON 2>/dev/null; wait $MON 2>/dev/null
head -1 "$T/mon" | grep -q '"meta"' || fail "monitor did not start its jsonl stream: $(cat "$T/mon")"

# -- zpcictl subcommands and formats against the daemon --
for fmt in json jsonl pairs csv; do
	"$Z" --format $fmt list >"$T/list.$fmt"; rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 2 ] || fail "list --format $fmt: exit $rc"
	"$Z" --format $fmt policy show >"$T/policy.$fmt" || fail "policy show --format $fmt"
done
grep -q '"api_level": 1' "$T/list.json" || fail "list json has no meta.api_level"
grep -q '^meta.api_level=1$' "$T/policy.pairs" || fail "policy pairs: $(cat "$T/policy.pairs")"
grep -q '"functions": \[' "$T/list.json" || fail "list json has no functions array"
head -1 "$T/list.csv" | grep -q '^"meta.api_level"' || fail "csv header"
"$Z" metrics >"$T/metrics" || fail "metrics"
tail -1 "$T/metrics" | grep -q '^# EOF$' || fail "metrics does not end with # EOF"
grep -q '^zpcid_functions [0-9]' "$T/metrics" || fail "metrics: zpcid_functions"
"$Z" --json events >"$T/events.json"; rc=$?
[ $rc -le 2 ] || fail "events: exit $rc: $(cat "$T/events.json")"
pass "zpcictl list, policy show, metrics, events in every format"

kill $ZPID; wait $ZPID; ZPID=
"$Z" list 2>/dev/null; [ $? -eq 1 ] || fail "zpcictl list without a daemon is not exit 1"
pass "zpcictl without a daemon fails cleanly"
exit 0
