#!/bin/bash
# tests/s390x/bigendian.sh [BUILD_DIR] - the unit suite on a big-endian CPU.
#
# Cross-builds the tree for s390x (s390x-linux-gnu-gcc against a private
# sysroot of Debian bookworm s390x packages, see lib.sh) and runs the unit
# tests (make check-unit) under qemu-s390x-static.  The results land in
# BUILD_DIR/test-suite-unit.log (default: build-s390x at the top of the tree).
#
# Exit status: 0 all unit tests passed, 77 this machine cannot run the tier
# (reason on stderr), anything else a failure.
set -uo pipefail
S390X_TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$S390X_TOP/build-s390x}
# shellcheck source=tests/s390x/lib.sh
. "$S390X_TOP/tests/s390x/lib.sh"

t0=$(date +%s)
s390x_sysroot
rc=$?
[ $rc = 0 ] || exit $rc
s390x_configure "$BUILD" || exit 1
rm -f "$BUILD/test-suite-unit.log"
make -C "$BUILD" -j"$(nproc)" -s >"$BUILD/make.out" 2>&1 || {
	tail -40 "$BUILD/make.out"
	s390x_log "cross build failed"
	exit 1
}

# A big-endian run needs big-endian binaries: refuse anything else.
units=$(make -C "$BUILD" -s --no-print-directory -f Makefile -f - print-unit-tests <<<'print-unit-tests: ; @echo $(UNIT_TESTS)')
[ -n "$units" ] || {
	s390x_log "no UNIT_TESTS in $BUILD/Makefile"
	exit 1
}
for t in $units; do
	make -C "$BUILD" -s "$t" >>"$BUILD/make.out" 2>&1 || {
		tail -40 "$BUILD/make.out"
		exit 1
	}
	hdr=$(LC_ALL=C readelf -h "$BUILD/$t" 2>/dev/null)
	grep -q 'big endian' <<<"$hdr" && grep -q 'IBM S/390' <<<"$hdr" || {
		s390x_log "$t is not an s390x big-endian binary"
		exit 1
	}
done

# Check's per-test timeouts count wall time; emulation is slower.
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-4}
# tests/run-test puts the emulator in front of each test program; umockdev's
# preload is a host library and stays out.
export ZPCID_TEST_EMULATOR="qemu-s390x-static -L $S390X_SYSROOT"
make -C "$BUILD" -j"$(nproc)" -s check-unit UMOCKDEV_WRAPPER=
rc=$?
log=$BUILD/test-suite-unit.log
if [ ! -f "$log" ]; then
	s390x_log "no $log was written"
	exit 1
fi
if [ $rc != 0 ]; then
	sed -n '1,300p' "$log"
fi
grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR):' "$log" >&2
s390x_log "big-endian unit run: rc=$rc in $(($(date +%s) - t0)) s"
exit $rc
