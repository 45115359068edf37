#!/bin/bash
# zpcictl's s390-tools options without the daemon: against a temporary sysfs
# tree, check the exact bytes written to report_error (big-endian record) and
# that --reset writes "1" to recover; DEVICE as a PCI address, as an NVMe
# node, and the errors for unknown devices.
set -u
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

Z=$BUILD/zpcictl/zpcictl
[ -x "$Z" ] || fail "no zpcictl binary at $Z"
command -v od >/dev/null || skip "od is not installed"

T=$(mktemp -d /tmp/test-zpcictl-legacy.XXXXXX)
trap 'rm -rf "$T"' EXIT
D=$T/bus/pci/devices/0001:00:00.0
mkdir -p "$D" "$T/bus/pci/devices/0002:00:00.0" "$T/class/nvme/nvme0"
echo 0x00000011 >"$D/function_id"
ln -s ../../../bus/pci/devices/0001:00:00.0 "$T/class/nvme/nvme0/device"

# No daemon: the bus address leads nowhere.
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/no-bus
export ZPCICTL_SYSFS_ROOT=$T

hex() { od -An -v -tx1 "$1" | tr -s ' \n' ' ' | sed 's/^ //;s/ $//'; }
reset_files() { : >"$D/report_error"; : >"$D/recover"; }

# expect ACTION-BYTE MESSAGE: checks the whole record
expect_record() {
	local action=$1 msg=$2 bytes len now ts
	bytes=$(hex "$D/report_error")
	len=$((16 + ${#msg}))
	set -- $bytes
	[ "$1" = 01 ] || fail "version byte is $1"
	[ "$2" = "$action" ] || fail "action byte is $2, expected $action"
	[ "$3$4" = "$(printf '%04x' $len)" ] || fail "length is $3$4, expected $(printf '%04x' $len)"
	# timestamp: big-endian seconds, within a minute of now
	ts=$((16#$5$6$7$8$9${10}${11}${12}))
	now=$(date +%s)
	[ $((now - ts)) -ge 0 ] && [ $((now - ts)) -lt 60 ] || fail "timestamp $ts is not now ($now): $bytes"
	[ "${13}${14}${15}${16}${17}${18}${19}${20}" = 0000000000000000 ] || fail "err_log_id is not 0"
	shift 20
	[ "$*" = "$(printf '%s' "$msg" | od -An -v -tx1 | tr -s ' \n' ' ' | sed 's/^ //;s/ $//')" ] ||
		fail "log data differs: $*"
	[ $# -eq ${#msg} ] || fail "record is longer than its length says"
}

reset_files
"$Z" --report-error --message "disk is flaky" 0001:00:00.0 || fail "--report-error failed"
expect_record 02 "disk is flaky"
[ ! -s "$D/recover" ] || fail "--report-error wrote recover"
pass "--report-error writes an informational record"

reset_files
"$Z" --deconfigure --message "repair me" /dev/nvme0 || fail "--deconfigure on /dev/nvme0 failed"
expect_record 01 "repair me"
pass "--deconfigure via an NVMe node"

reset_files
"$Z" 0001:00:00.0 --reset-fw --message x || fail "--reset-fw (option after DEVICE) failed"
expect_record 00 "x"
[ ! -s "$D/recover" ] || fail "--reset-fw wrote recover"
pass "--reset-fw, option after the device"

reset_files
"$Z" --reset --message "reset it" 0001:00:00.0 || fail "--reset failed"
expect_record 00 "reset it"
[ "$(cat "$D/recover")" = 1 ] || fail "--reset did not write 1 to recover"
pass "--reset reports and writes recover"

reset_files
"$Z" --report-error 0001:00:00.0 || fail "--report-error without a message failed"
grep -q "zpcictl --report-error on 0001:00:00.0 (fid 0x00000011)" "$D/report_error" || fail "default text missing"
pass "default report text names the function"

"$Z" --reset 0009:00:00.0 2>/dev/null
[ $? -eq 3 ] || fail "an unknown slot is not exit 3"
"$Z" --reset /dev/nvme7 2>/dev/null
[ $? -eq 3 ] || fail "an unknown NVMe node is not exit 3"
"$Z" --reset 0002:00:00.0 2>/dev/null
[ $? -eq 1 ] || fail "a PCI function without function_id is not refused"
"$Z" --reset /etc/passwd 2>/dev/null
[ $? -eq 1 ] || fail "a bad device name is not refused"
"$Z" --reset --deconfigure 0001:00:00.0 2>/dev/null
[ $? -eq 1 ] || fail "two actions at once are not refused"
out=$("$Z" --json --reset 0009:00:00.0)
echo "$out" | grep -q '"exit_code": 3' || fail "JSON error document missing: $out"
pass "errors: exit codes and JSON error document"
exit 0
