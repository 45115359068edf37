# shellcheck shell=bash
# Patched-kernel tier, sourced by "tools/bootstrap test": linux-source-6.12
# with kmod/patches built for s390x (kmod/kernel/build.sh, cached by the
# hash of series, fragment and source) and booted under qemu-system-s390x
# with zPCI functions; zpcid runs against the kernel's own error feature
# (tests/s390x/kernel-guest.sh).  Every check becomes one stage line
# "kernel-guest/NAME"; a kernel that does not build or boot is a FAIL.
kernel_guest_result() { # rc: a check's verdict as a status for stage()
	return "$1"
}

kernel_guest_stages() {
	local results=$TOP/build-s390x/kernel-guest/results.txt verdict name reason rc
	say "patched s390x kernel: build and boot"
	"$TOP/tests/s390x/kernel-guest.sh" "$TOP/build-s390x"
	rc=$?
	if [ ! -s "$results" ]; then
		stage kernel-guest kernel_guest_result "$([ $rc = 77 ] && echo 77 || echo 1)"
		return 0
	fi
	while read -r verdict name reason; do
		case $verdict in
		PASS) rc=0 ;;
		SKIP) rc=77 ;;
		*) rc=1 ;;
		esac
		echo "kernel-guest/${name%:}: $reason"
		stage "kernel-guest/${name%:}" kernel_guest_result $rc
		# the reason under its line (.ci/run counts only the verdict lines)
		printf '    %s\n' "$reason" >>"$STAGES"
	done <"$results"
}
kernel_guest_stages
