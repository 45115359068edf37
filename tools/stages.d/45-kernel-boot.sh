# shellcheck shell=bash
# Patched-kernel tier, sourced by "tools/bootstrap test": linux-source-6.12
# with kmod/patches built for s390x (kmod/kernel/build.sh, cached by the
# hash of series, fragment and source) and booted under qemu-system-s390x
# with zPCI functions; zpcid runs against the kernel's own error feature
# (tests/s390x/kernel-guest.sh).  Every check becomes one stage line
# "kernel-guest/NAME"; a kernel that does not build or boot is a FAIL.
say "patched s390x kernel: build and boot"
"$TOP/tests/s390x/kernel-guest.sh" "$TOP/build-s390x"
stage_results kernel-guest "$TOP/build-s390x/kernel-guest/results.txt" $?
