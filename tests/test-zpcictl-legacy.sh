#!/bin/bash
# zpcictl's s390-tools options without the daemon, row by row of the table
# in zpcictl.8.md, against a temporary sysfs tree: the bytes written to
# report_error are compared with the record s390-tools' zpcictl writes for
# the same call (tests/report-record.py builds it from the published
# layout), the timestamp aside, which must be now; and "recover" gets "1" for --reset
# only. DEVICE as a PCI address, an NVMe node and a FID, options in any
# order, S.M.A.R.T. data of NVMe functions (a stand-in smartctl), and the
# exit statuses for unknown devices.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

Z=$BUILD/zpcictl/zpcictl
[ -x "$Z" ] || fail "no zpcictl binary at $Z"
[ -x /usr/bin/python3 ] || skip "python3 is not installed"

T=$(mktemp -d /tmp/test-zpcictl-legacy.XXXXXX)
trap 'rm -rf "$T"' EXIT
D=$T/bus/pci/devices/0001:00:00.0
N=$T/bus/pci/devices/0003:00:00.0
mkdir -p "$D" "$T/bus/pci/devices/0002:00:00.0" "$N/nvme/nvme4" "$T/class/nvme/nvme4" "$T/bin"
echo 0x00000011 >"$D/function_id"
echo 0x020000 >"$D/class"
echo 0x00000033 >"$N/function_id"
echo 0x010802 >"$N/class"
ln -s ../../../bus/pci/devices/0003:00:00.0 "$T/class/nvme/nvme4/device"
# a stand-in smartctl: what it was asked, and a report
cat >"$T/bin/smartctl" <<SH
#!/bin/sh
echo "\$*" >"$T/smartctl.args"
printf 'SMART overall-health self-assessment test result: PASSED\nTemperature: 31 Celsius\n'
SH
chmod +x "$T/bin/smartctl"
export ZPCICTL_SMARTCTL=$T/bin/smartctl

# No daemon: the bus address leads nowhere.
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/no-bus
export ZPCICTL_SYSFS_ROOT=$T

SMART=$("$T/bin/smartctl" -x /dev/null)$'\n'

# check FILE ACTION LOGDATA: FILE holds what s390-tools writes for ACTION
# with LOGDATA (a C string, its NUL included; "" for none)
check_record() { /usr/bin/python3 "$SRC/tests/report-record.py" "$@"; }

# option(s) and DEVICE | the function | action byte | log data | recover
ROWS="
--report-error 0001:00:00.0                       | $D | 2 | - | -
--reset 0001:00:00.0                              | $D | 2 | - | 1
--reset-fw 0001:00:00.0                           | $D | 0 | - | -
--deconfigure 0001:00:00.0                        | $D | 1 | - | -
0001:00:00.0 --reset-fw                           | $D | 0 | - | -
--report-error 0001:00:00.0 --message flaky-link  | $D | 2 | flaky-link | -
--message x --deconfigure 0x11                    | $D | 1 | x | -
--reset 0x00000011                                | $D | 2 | - | 1
--report-error /dev/nvme4                         | $N | 2 | SMART | -
--reset 0003:00:00.0                              | $N | 2 | SMART | 1
--deconfigure nvme4 --message bad-disk            | $N | 1 | bad-disk+SMART | -
"
n=0
while IFS='|' read -r args fn action log recover; do
	[ -n "$args" ] || continue
	args=$(echo $args) fn=$(echo $fn) action=$(echo $action) log=$(echo $log) recover=$(echo $recover)
	case $log in
	-) text= ;;
	SMART) text=$SMART ;;
	*+SMART) text="${log%+SMART}"$'\n'"$SMART" ;;
	*) text=$log ;;
	esac
	: >"$fn/report_error"
	: >"$fn/recover"
	rm -f "$T/smartctl.args"
	# shellcheck disable=SC2086
	"$Z" $args || fail "zpcictl $args: exit $?"
	check_record "$fn/report_error" "$action" "$text" || fail "zpcictl $args: not the record s390-tools writes"
	if [ "$recover" = - ]; then
		[ ! -s "$fn/recover" ] || fail "zpcictl $args wrote recover"
	else
		[ "$(cat "$fn/recover")" = "$recover" ] || fail "zpcictl $args: recover holds '$(cat "$fn/recover")'"
	fi
	if [ "$fn" = "$N" ]; then
		[ "$(cat "$T/smartctl.args" 2>/dev/null)" = "-x /dev/nvme4" ] || fail "zpcictl $args: smartctl was not asked about /dev/nvme4"
	else
		[ ! -e "$T/smartctl.args" ] || fail "zpcictl $args ran smartctl for a function that is not NVMe"
	fi
	n=$((n + 1))
	echo "ok: zpcictl $args"
done <<<"$ROWS"
pass "$n calls wrote the records s390-tools writes (report_error byte for byte, recover)"

# without smartctl: the NVMe record has no log data
: >"$N/report_error"
ZPCICTL_SMARTCTL=$T/bin/no-smartctl "$Z" --report-error 0003:00:00.0 || fail "--report-error without smartctl"
check_record "$N/report_error" 2 "" || fail "without smartctl the record differs"
pass "without smartctl an NVMe function's record has no log data"

# errors: exit 1 as s390-tools, with its message for an unknown device
out=$("$Z" --reset 0009:00:00.0 2>&1)
[ $? -eq 1 ] || fail "an unknown slot is not exit 1"
echo "$out" | grep -qF "Could not find device 0009:00:00.0" || fail "unknown slot: $out"
"$Z" --reset /dev/nvme7 2>/dev/null
[ $? -eq 1 ] || fail "an unknown NVMe node is not exit 1"
"$Z" --reset 0x99 2>/dev/null
[ $? -eq 1 ] || fail "an unknown FID is not exit 1"
"$Z" --reset 0002:00:00.0 2>/dev/null
[ $? -eq 1 ] || fail "a PCI function without function_id is not refused"
"$Z" --reset /etc/passwd 2>/dev/null
[ $? -eq 1 ] || fail "a bad device name is not refused"
out=$("$Z" --reset 2>&1)
[ $? -eq 1 ] || fail "no device is not exit 1"
echo "$out" | grep -qF "No device specified" || fail "no device: $out"
"$Z" --reset --deconfigure 0001:00:00.0 2>/dev/null
[ $? -eq 1 ] || fail "two actions at once are not refused"
rm "$D/report_error"
"$Z" --report-error 0001:00:00.0 2>/dev/null
[ $? -eq 1 ] || fail "a failed report is not exit 1"
# --reset recovers even when its report fails, as s390-tools does; exit 1
: >"$D/recover"
"$Z" --reset 0001:00:00.0 2>/dev/null
[ $? -eq 1 ] || fail "--reset with a failed report is not exit 1"
[ "$(cat "$D/recover")" = 1 ] || fail "--reset with a failed report did not write recover"
# no option: s390-tools' message and hint on stderr, exit 1 — with no
# argument at all, and with a DEVICE alone (existing or not)
for args in "" "0001:00:00.0" "0009:00:00.0" "/dev/nvme4"; do
	# shellcheck disable=SC2086
	out=$("$Z" $args 2>&1 >/dev/null)
	[ $? -eq 1 ] || fail "zpcictl $args without an option is not exit 1"
	[ "$out" = "zpcictl: No option specified"$'\n'"Try 'zpcictl --help' for more information." ] ||
		fail "zpcictl $args without an option: $out"
done
out=$("$Z" lsit 2>&1)
[ $? -eq 1 ] || fail "an unknown command is not exit 1"
echo "$out" | grep -qF "Unknown command 'lsit'" || fail "unknown command: $out"
out=$("$Z" --json --reset 0009:00:00.0)
echo "$out" | grep -q '"exit_code": 1' || fail "JSON error document missing: $out"
pass "errors: exit 1, messages (no option, no device, unknown device), JSON error document"
exit 0
