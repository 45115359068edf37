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
/usr/bin/python3 -c 'import dbus, dbus.mainloop.glib; from gi.repository import GLib' 2>/dev/null ||
	skip "/usr/bin/python3 has no dbus/gi modules (python3-dbus, python3-gi)"
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
PY=/usr/bin/python3
# dcall PATH INTERFACE METHOD SIGNATURE PYARGS: "ok ..." or "error NAME: message"
dcall() { $PY "$SRC/tests/dbus-call.py" "$@"; }
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
	# the loop's own stall probe: the longest iteration since start-up, in CPU microseconds
	s=$($who busctl --system get-property $M LoopStallMaxUSec) || fail "${who:-root}: LoopStallMaxUSec"
	[[ "$s" =~ ^t\ [0-9]+$ ]] && [ "${s#t }" -gt 0 ] && [ "${s#t }" -lt 10000000 ] ||
		fail "LoopStallMaxUSec is $s"
	$who busctl --system call org.zpcid1 /org/zpcid1 org.freedesktop.DBus.ObjectManager GetManagedObjects \
		>/dev/null || fail "${who:-root}: GetManagedObjects"
	$who busctl --system introspect org.zpcid1 /org/zpcid1 >/dev/null || fail "${who:-root}: introspect"
done
pass "reads work for root and nobody"

# -- the bus policy refuses state changes of nobody --
for meth in "Reload a{sv} 0" "Inhibit sssa{sv} a b all 0"; do
	out=$($NOBODY busctl --system call $M $meth 2>&1) && fail "nobody: $meth passed the bus policy"
	echo "$out" | grep -qi "access denied\|AccessDenied" || fail "nobody: $meth: $out"
done
out=$($NOBODY busctl --system call org.zpcid1 /org/zpcid1/function/00000011 org.zpcid1.Function Reset 'a{sv}' 0 2>&1) &&
	fail "nobody: Function.Reset passed"
out=$($NOBODY $PY "$SRC/tests/dbus-call.py" /org/zpcid1 org.zpcid1.Manager Delegate 'ha{sv}' "[dbus.types.UnixFd(0), {}]")
[[ "$out" == "error org.freedesktop.DBus.Error.AccessDenied"* ]] || fail "nobody: Delegate: $out"
pass "the bus policy refuses state changes of nobody (AccessDenied)"

# -- zpcictl says what privilege the refused call needs --
$NOBODY "$Z" --json policy reload >"$T/out.json"
[ $? -eq 1 ] || fail "zpcictl policy reload as nobody is not exit 1"
grep -q '"name": "org.freedesktop.DBus.Error.AccessDenied"' "$T/out.json" || fail "not the bus's AccessDenied: $(cat "$T/out.json")"
grep -q "This needs root or membership of group '$GROUP'" "$T/out.json" || fail "no hint of the privilege needed: $(cat "$T/out.json")"
$NOBODY "$Z" inhibit true 2>"$T/err" >"$T/out"
grep -q "group '$GROUP'" "$T/out" "$T/err" || fail "zpcictl inhibit as nobody gives no hint: $(cat "$T/out" "$T/err")"
pass "zpcictl names the privilege a call refused by the bus policy needs"

# -- the policy lets the admin group through; zpcid itself refuses (admin_group null) --
out=$($ADMIN busctl --system call $M Reload 'a{sv}' 0 2>&1) && fail "admin group member reloaded with admin_group null"
echo "$out" | grep -q "Changing state needs root (no admin_group is configured)" || fail "not refused by zpcid's own check: $out"
$ADMIN "$Z" --json policy reload >"$T/out.json"
[ $? -eq 1 ] || fail "zpcictl policy reload as refused member is not exit 1"
grep -q '"name": "org.zpcid1.Error.AccessDenied"' "$T/out.json" || fail "no org.zpcid1.Error.AccessDenied: $(cat "$T/out.json")"
pass "zpcid's own check refuses a member of the policy's group that is not its admin group"

# -- root changes admin_group, reloads; now the group member may --
conf "\"$GROUP\""
busctl --system call $M Reload 'a{sv}' 0 || fail "root: Reload"
$ADMIN busctl --system call $M Reload 'a{sv}' 0 || fail "admin group member: Reload after admin_group=$GROUP"
$NOBODY busctl --system call $M Reload 'a{sv}' 0 2>/dev/null && fail "nobody without the group reloaded"
# zpcid's own refusal names the group: a member of the bus policy's group that
# is not in admin_group (the policy lets it through, zpcid does not)
OTHER=64124
echo "zpcidother:x:$OTHER:" >>"$T/group"
conf '"zpcidother"'
busctl --system call $M Reload 'a{sv}' 0 || fail "root: Reload to admin_group zpcidother"
o=$($ADMIN $PY "$SRC/tests/dbus-call.py" /org/zpcid1 org.zpcid1.Manager Reload 'a{sv}' '[{}]')
[[ "$o" == "error org.zpcid1.Error.AccessDenied: Changing state needs root or membership of group 'zpcidother'."* ]] ||
	fail "zpcid's refusal does not name the group: $o"
conf "\"$GROUP\""
busctl --system call $M Reload 'a{sv}' 0 || fail "root: Reload back to admin_group $GROUP"
pass "with admin_group set, its members may change state; others are refused with the group named"

# -- invalid requests: refused with org.zpcid1.Error.*, no side effect --
before=$(busctl --system get-property $M PolicyLoadTime)
errname() { # busctl call args: prints what busctl says about the failure
	busctl --system call "$@" 2>&1 >/dev/null
}
long=$(head -c 5000 /dev/zero | tr '\0' x)
o=$(errname $M GetEvents 'a{sv}' 1 limit u 20000); echo "$o" | grep -q "larger than 10000" || fail "limit: $o"
o=$(errname $M GetEvents 'a{sv}' 1 bogus u 1); echo "$o" | grep -q "Unknown filter" || fail "filter: $o"
o=$(errname $M GetEvents 'a{sv}' 1 fid s x); echo "$o" | grep -q "must have type" || fail "type: $o"
o=$(dcall /org/zpcid1 org.zpcid1.Manager GetEvents "a{sv}" "[{'bogus': dbus.UInt32(1)}]")
[[ "$o" == "error org.freedesktop.DBus.Error.InvalidArgs: Unknown filter 'bogus'"* ]] || fail "GetEvents unknown filter: $o"
o=$(dcall /org/zpcid1 org.zpcid1.Manager GetEvents "a{sv}" "[{'fid': dbus.String('x')}]")
[[ "$o" == "error org.freedesktop.DBus.Error.InvalidArgs: Filter 'fid' must have type 'u'"* ]] || fail "GetEvents filter type: $o"
o=$(errname $M Inhibit 'sssa{sv}' "$long" b all 0); echo "$o" | grep -q "longer than 4096" || fail "long who: $o"
o=$(errname $M Inhibit 'sssa{sv}' a b sometimes 0); echo "$o" | grep -q "Unknown action" || fail "what: $o"
[ "$(busctl --system get-property $M Inhibitors)" = "a(sssuut) 0" ] || fail "a refused Inhibit left an inhibitor"
[ "$(busctl --system get-property $M PolicyLoadTime)" = "$before" ] || fail "a refused call reloaded"
# the error names themselves, through zpcictl's JSON errors
"$Z" --json show 0xff >"$T/out.json"; [ $? -eq 3 ] || fail "show of an unknown function is not exit 3"
grep -q '"name": "org.zpcid1.Error.NoSuchFunction"' "$T/out.json" || fail "NoSuchFunction: $(cat "$T/out.json")"
pass "invalid requests are refused with an error and change nothing"

# -- standard error names for what does not exist --
MP=/org/zpcid1; MI=org.zpcid1.Manager; FP=/org/zpcid1/function/000000ff; FI=org.zpcid1.Function
P=org.freedesktop.DBus.Properties
expect() { # want-prefix what call-args...
	local want=$1 what=$2 o
	shift 2
	o=$(dcall "$@")
	[[ "$o" == "$want"* ]] || fail "$what: got '$o', want '$want'"
}
expect "error org.freedesktop.DBus.Error.UnknownMethod" "unknown method" $MP $MI NoSuchMethod "" "[]"
expect "error org.freedesktop.DBus.Error.UnknownProperty" "unknown property" $MP $P Get ss "['$MI', 'NoSuchProperty']"
expect "error org.freedesktop.DBus.Error.UnknownInterface" "unknown interface" $MP $P GetAll s "['org.zpcid1.NoSuch']"
expect "error org.freedesktop.DBus.Error.PropertyReadOnly" "setting a property" $MP $P Set ssv "['$MI', 'DryRun', dbus.Boolean(True, variant_level=1)]"
expect "error org.freedesktop.DBus.Error.UnknownObject" "unknown function object" $FP $FI Reset 'a{sv}' "[{}]"
expect "error org.freedesktop.DBus.Error.UnknownObject" "property of an unknown function" $FP $P Get ss "['$FI', 'State']"
expect "error org.freedesktop.DBus.Error.UnknownObject" "bad function path" /org/zpcid1/function/xyz $FI Reset 'a{sv}' "[{}]"
o=$(busctl --system call org.zpcid1 $FP $FI Reset 'a{sv}' 0 2>&1); echo "$o" | grep -qi "unknown object" || fail "busctl: $o"
pass "UnknownMethod, UnknownProperty, UnknownInterface, PropertyReadOnly and UnknownObject by their standard names"

# -- acting methods take a{sv} options; unknown ones are refused, with no side effect --
expect "error org.freedesktop.DBus.Error.InvalidArgs: Unknown option 'bogus'" "Reload with an unknown option" \
	$MP $MI Reload 'a{sv}' "[{'bogus': dbus.String('x')}]"
expect "error org.freedesktop.DBus.Error.InvalidArgs: Unknown option 'bogus'" "Inhibit with an unknown option" \
	$MP $MI Inhibit 'sssa{sv}' "['a', 'b', 'all', {'bogus': dbus.UInt32(1)}]"
expect "error org.freedesktop.DBus.Error.InvalidArgs: Unknown option 'bogus'" "Delegate with an unknown option" \
	$MP $MI Delegate 'ha{sv}' "[dbus.types.UnixFd(0), {'bogus': dbus.UInt32(1)}]"
expect "error org.freedesktop.DBus.Error.InvalidArgs: Option 'fid' must have type 'u'" "Delegate with fid of the wrong type" \
	$MP $MI Delegate 'ha{sv}' "[dbus.types.UnixFd(0), {'fid': dbus.String('x')}]"
expect "error org.freedesktop.DBus.Error.InvalidArgs: Unknown option 'bogus'" "CheckPolicy with an unknown option" \
	$MP $MI CheckPolicy 'aya{sv}' "[b'{}', {'bogus': dbus.String('x')}]"
expect "error org.freedesktop.DBus.Error.InvalidArgs" "the old signature of Inhibit" $MP $MI Inhibit sss "['a', 'b', 'all']"
[ "$(busctl --system get-property $M Inhibitors)" = "a(sssuut) 0" ] || fail "a refused Inhibit left an inhibitor"
[ "$(busctl --system get-property $M PolicyLoadTime)" = "$before" ] || fail "a refused Reload reloaded"
expect "ok" "Reload with no options" $MP $MI Reload 'a{sv}' "[{}]"
[ "$(busctl --system get-property $M PolicyLoadTime)" != "$before" ] || fail "Reload with no options did not reload"
pass "unknown options refused with InvalidArgs and no side effect; no options accepted"

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

# -- CheckPolicy: the caller sends the text; zpcid reads no file for it --
"$Z" policy check "$T/zpcid.json" >/dev/null || fail "policy check of a valid file"
echo '{ "schema": 1, "bogus": true }' >"$T/bad.json"
"$Z" --json policy check "$T/bad.json" >"$T/out.json"; [ $? -eq 1 ] || fail "policy check of an invalid file is not exit 1"
grep -q "bad.json:1:" "$T/out.json" || fail "no file:line:column diagnostic: $(cat "$T/out.json")"
chmod 644 "$T/bad.json"
$NOBODY "$Z" --json policy check "$T/bad.json" >"$T/out.json"; [ $? -eq 1 ] || fail "nobody: policy check of an invalid file"
grep -q "bad.json:1:" "$T/out.json" || fail "nobody: no diagnostic: $(cat "$T/out.json")"
# a file only root may read, with a secret in a value and in a key
printf '{ "schema": 1, "log": { "level": "s3cr3t-value" }, "s3cr3t_key": 1 }\n' >"$T/secret.json"
chmod 600 "$T/secret.json"
"$Z" --json policy check "$T/secret.json" >"$T/out.json"
grep -q 's3cr3t-value' "$T/out.json" || fail "root: the diagnostics of its own file: $(cat "$T/out.json")"
$ADMIN "$Z" --json policy check "$T/secret.json" >"$T/out.json"; rc=$?
[ $rc -eq 1 ] || fail "admin group member: policy check of an unreadable file: exit $rc"
grep -q 's3cr3t' "$T/out.json" && fail "policy check leaked the content of a file the caller cannot read: $(cat "$T/out.json")"
grep -qi 'permission denied' "$T/out.json" || fail "no 'Permission denied': $(cat "$T/out.json")"
# the daemon takes no path any more: the old call is refused and quotes nothing
o=$($ADMIN busctl --system call $M CheckPolicy s "$T/secret.json" 2>&1) && fail "CheckPolicy took a path: $o"
echo "$o" | grep -q 's3cr3t' && fail "CheckPolicy with a path leaked: $o"
o=$($NOBODY busctl --system call $M CheckPolicy 'aya{sv}' 1 123 0 2>&1) || fail "CheckPolicy of a text as nobody: $o"
echo "$o" | grep -q '^bas false 1 "(text):1:' || fail "CheckPolicy of '{': $o"
head -c $((256 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$T/big.json"
"$Z" --json policy check "$T/big.json" >"$T/out.json"; [ $? -eq 1 ] || fail "policy check of a too large file"
grep -q 'larger than' "$T/out.json" || fail "too large: $(cat "$T/out.json")"
expect "error org.zpcid1.Error.LimitExceeded" "CheckPolicy of a too large text" $MP $MI CheckPolicy 'aya{sv}' "[b' ' * (256 * 1024 + 1), {}]"
pass "policy check: the caller reads the file, zpcid checks the text; nothing of an unreadable file leaks"

# -- PropertiesChanged carries only what changed --
setsid $PY "$SRC/tests/dbus-signals.py" "$T/signals" </dev/null >/dev/null 2>"$T/rec.err" &
REC=$!
wait_for 'grep -q ready "$T/signals"' 10 || fail "the signal recorder did not start: $(cat "$T/rec.err")"
"$Z" inhibit --who pc --what reset true || fail "inhibit true"
busctl --system call $M Reload 'a{sv}' 0 || fail "Reload"
changed() { # which: the changed property names of the manager's PropertiesChanged signals, one line each
	$PY - "$T/signals" <<'PYX'
import json, sys
for l in open(sys.argv[1]):
    s = json.loads(l)
    if s.get("member") == "PropertiesChanged" and s["path"] == "/org/zpcid1":
        print(",".join(sorted(s["args"][1])) + "|" + ",".join(sorted(s["args"][2])))
PYX
}
wait_for '[ "$(changed | grep -c .)" -ge 3 ]' 10 || fail "PropertiesChanged: $(changed)"
[ "$(changed | sed -n 1p)" = "Inhibitors|" ] || fail "inhibitor taken: $(changed)"
[ "$(changed | sed -n 2p)" = "Inhibitors|" ] || fail "inhibitor released: $(changed)"
[ "$(changed | sed -n 3p)" = "PolicyLoadTime|" ] || fail "reload: $(changed)"
pass "PropertiesChanged of the manager names only the property that changed"

# -- Inhibit: held while the command runs, released when it ends; PropertiesChanged --
"$Z" monitor --format jsonl >"$T/mon" 2>&1 &
MON=$!
inh=$("$Z" inhibit --who test --why testing --what reset,unbind busctl --system get-property $M Inhibitors)
[[ "$inh" == 'a(sssuut) 1 "test" "testing" "reset,unbind" 0 '* ]] || fail "inhibitor while running: $inh"
wait_for '[ "$(busctl --system get-property $M Inhibitors)" = "a(sssuut) 0" ]' 5 ||
	fail "the inhibitor outlived its command"
"$Z" inhibit false; [ $? -eq 1 ] || fail "inhibit does not pass on the command's exit status"
pass "inhibit holds the inhibitor exactly while the command runs"

# -- pairs output is safe to eval: an inhibitor named like a command --
mkdir "$T/evaldir"
"$Z" inhibit --who '$(touch who1)`touch who2`${x:=$(touch who3)}' --why '"; touch why1; "'"'"'; touch why2' \
	--what reset "$Z" --format pairs policy show >"$T/hostile.pairs" || fail "policy show under a hostile inhibitor"
grep -qF 'who="\$(touch who1)\`touch who2\`\${x:=\$(touch who3)}"' "$T/hostile.pairs" ||
	fail "the inhibitor's name is not escaped: $(grep who "$T/hostile.pairs")"
(cd "$T/evaldir" && bash -c 'command_not_found_handle() { return 0; }; eval "$(cat "$1")"' _ "$T/hostile.pairs" 2>/dev/null)
[ -z "$(ls -A "$T/evaldir")" ] || fail "eval of pairs output ran commands: $(ls -A "$T/evaldir")"
pass "eval of zpcictl's pairs output runs nothing a name or reason holds"
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
head -1 "$T/list.csv" | grep -q '^meta.api_level,' || fail "csv header"
"$Z" metrics >"$T/metrics" || fail "metrics"
grep -qx 'zpcid_up 1' "$T/metrics" || fail "metrics: zpcid_up"
grep -q '^zpcid_functions [0-9]' "$T/metrics" || fail "metrics: zpcid_functions"
grep -Eq '^zpcid_loop_stall_max_seconds [0-9]+\.[0-9]{6}$' "$T/metrics" || fail "metrics: zpcid_loop_stall_max_seconds"
"$Z" --json events >"$T/events.json"; rc=$?
[ $rc -le 2 ] || fail "events: exit $rc: $(cat "$T/events.json")"
pass "zpcictl list, policy show, metrics, events in every format"

# -- bad input to the tools --
"$Z" --json show 0xzz >"$T/out.json"; rc=$?
[ $rc -eq 1 ] || fail "show 0xzz: exit $rc, not 1 (bad input): $(cat "$T/out.json")"
"$Z" --json show 0x12345 >"$T/out.json"; rc=$?
[ $rc -eq 3 ] || fail "show of a well-formed unknown FID: exit $rc, not 3"
"$Z" --json show 0001:00:00.0 >/dev/null; [ $? -eq 3 ] || fail "show of a well-formed unknown address is not exit 3"
"$Z" --json list extra >"$T/out.json"; rc=$?
[ $rc -eq 1 ] || fail "list extra: exit $rc, not 1"
grep -q 'takes no arguments' "$T/out.json" || fail "list extra: $(cat "$T/out.json")"
"$ZPCID" --help >"$T/help" || fail "zpcid --help"
grep -E '[[:alnum:].)] {2,}-(-|[a-zA-Z] )' "$T/help" && fail "zpcid --help runs two options into one line"
[ "$(grep -cE '^ +(-[a-zA-Z] )? *--[a-z]' "$T/help")" -ge 12 ] || fail "zpcid --help: $(cat "$T/help")"
pass "zpcictl show 0xzz and list extra are bad input (exit 1); zpcid --help has one option a line"

# -- zpcictl monitor tells when zpcid goes away and comes back, and goes on --
kill -0 $ZPID || fail "zpcid ended before the monitor test: $(tail -20 "$T/zpcid.log")"
busctl --system status org.zpcid1 >/dev/null 2>&1 || fail "zpcid left the bus before the monitor test: $(tail -20 "$T/zpcid.log")"
# emptied here, not only by the background job's redirection: the wait below
# must not find the first monitor's meta line in it
: >"$T/mon"
"$Z" monitor --format jsonl >"$T/mon" 2>&1 &
MON=$!
wait_for 'grep -q "\"meta\"" "$T/mon"' 10 || fail "monitor did not start: $(cat "$T/mon")"
kill $ZPID; wait $ZPID; ZPID=
wait_for 'grep -q "\"signal\":\"DaemonStopped\"" "$T/mon"' 10 ||
	fail "monitor did not say that zpcid stopped: $(cat "$T/mon"); zpcid: $(tail -5 "$T/zpcid.log")"
kill -0 $MON || fail "monitor ended with the daemon"
"$ZPCID" --config "$T/zpcid.json" --config-dropins "$T/conf.d" --log-target=console >>"$T/zpcid.log" 2>&1 &
ZPID=$!
wait_for 'grep -q "\"signal\":\"DaemonStarted\"" "$T/mon"' 10 || fail "monitor did not say that zpcid is back: $(cat "$T/mon")"
kill -0 $MON || fail "monitor ended"
kill $MON; wait $MON 2>/dev/null
pass "zpcictl monitor reports zpcid stopping and coming back, and goes on"

kill $REC 2>/dev/null; wait $REC 2>/dev/null
kill $ZPID; wait $ZPID; ZPID=
"$Z" list 2>/dev/null; [ $? -eq 1 ] || fail "zpcictl list without a daemon is not exit 1"
pass "zpcictl without a daemon fails cleanly"

# -- zpcictl monitor started before zpcid says so once, waits, and goes on --
MONS=
for fmt in table json json-seq jsonl pairs csv; do
	"$Z" monitor --format $fmt >"$T/early.$fmt" 2>&1 &
	MONS="$MONS $!"
done
for fmt in table json json-seq jsonl pairs csv; do
	wait_for 'grep -q DaemonNotRunning "$T/early.$fmt"' 10 ||
		fail "monitor --format $fmt without zpcid: $(cat "$T/early.$fmt")"
done
for p in $MONS; do kill -0 $p || fail "monitor ended without zpcid"; done
grep -q '"signal":"DaemonNotRunning".*"message":"zpcid is not on the bus; waiting for it to start"' "$T/early.jsonl" ||
	fail "monitor jsonl: $(cat "$T/early.jsonl")"
"$ZPCID" --config "$T/zpcid.json" --config-dropins "$T/conf.d" --log-target=console >>"$T/zpcid.log" 2>&1 &
ZPID=$!
for fmt in table json json-seq jsonl pairs csv; do
	wait_for 'grep -q DaemonStarted "$T/early.$fmt"' 10 ||
		fail "monitor --format $fmt did not see zpcid come: $(cat "$T/early.$fmt")"
	[ "$(grep -c DaemonNotRunning "$T/early.$fmt")" = 1 ] || fail "monitor --format $fmt: $(cat "$T/early.$fmt")"
done
for p in $MONS; do kill -0 $p || fail "monitor ended when zpcid came"; kill $p; wait $p 2>/dev/null; done
pass "zpcictl monitor started before zpcid says so once in every format and sees it come"
kill $ZPID; wait $ZPID; ZPID=
exit 0
