# shellcheck shell=bash
# Real-kernel tier, sourced by "tools/bootstrap test": zpcid in an s390x
# guest under qemu-system-s390x (tests/s390x/guest.sh). Every check of the
# guest run becomes one stage line "s390x-guest/NAME" (PASS, FAIL, or SKIP
# with its reason), so build/stages.log shows which part of the daemon
# works against the real kernel.
s390x_guest_result() { # rc: a check's verdict as a status for stage()
	return "$1"
}

s390x_guest_stages() {
	local results=$TOP/build-s390x/guest/results.txt verdict name reason rc
	say "s390x guest run"
	"$TOP/tests/s390x/guest.sh" "$TOP/build-s390x"
	rc=$?
	if [ ! -s "$results" ]; then
		stage s390x-guest s390x_guest_result "$([ $rc = 77 ] && echo 77 || echo 1)"
		return 0
	fi
	while read -r verdict name reason; do
		case $verdict in
		PASS) rc=0 ;;
		SKIP) rc=77 ;;
		*) rc=1 ;;
		esac
		[ $rc = 77 ] && echo "s390x-guest/${name%:}: skipped: $reason"
		stage "s390x-guest/${name%:}" s390x_guest_result $rc
	done <"$results"
}
s390x_guest_stages
