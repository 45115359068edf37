# shellcheck shell=bash
# Big-endian tier, sourced by "tools/bootstrap test": the unit suite
# cross-built for s390x and run under qemu-s390x-static
# (tests/s390x/bigendian.sh). Its test log, build-s390x/test-suite-unit.log,
# is counted by .ci/run; this stage adds one PASS/FAIL/SKIP line for the
# tier as a whole (a broken cross build or sysroot shows up here).
stage big-endian-unit "$TOP/tests/s390x/bigendian.sh" "$TOP/build-s390x"
