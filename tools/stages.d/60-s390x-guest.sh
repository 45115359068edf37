# shellcheck shell=bash
# Real-kernel tier, sourced by "tools/bootstrap test": zpcid in an s390x
# guest under qemu-system-s390x (tests/s390x/guest.sh). Every check of the
# guest run becomes one stage line "s390x-guest/NAME" (PASS, FAIL, or SKIP
# with its reason), so build/stages.log shows which part of the daemon
# works against the real kernel. It includes the smoke run of zpcid beside
# its floor (bench/zpcid-floor) on 8 functions of kmod/module: the
# "bench/..." lines fail when a program does not start or loses a record,
# never because of a timing (bench/run.sh guest runs it in full).
say "s390x guest run"
"$TOP/tests/s390x/guest.sh" "$TOP/build-s390x"
stage_results s390x-guest "$TOP/build-s390x/guest/results.txt" $?
