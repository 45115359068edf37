#!/bin/bash
# fuzz/run.sh — build the libFuzzer harnesses of fuzz/ with clang (ASan and
# UBSan) and run each for a fixed time from its seed corpus.
#
#   fuzz/run.sh [--build DIR] [--seconds N] [--build-only] [HARNESS...]
#
# The project's sources (daemon/ without main.c, common/) are compiled
# again with clang and the sanitizers into DIR/fuzz/, apart from the normal
# build. A run ends with one line per harness, "PASS|FAIL: <harness>
# <executions> runs in <seconds> s", and exits 1 when a harness found
# anything (a crash, a sanitizer report, a broken invariant: the input is
# kept as DIR/fuzz/artifacts/<harness>-crash-…). Exit 77 without clang or
# its fuzzer runtime.
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${ZPCID_TOP_BUILDDIR:-$SRC/build}
SECONDS_EACH=${FUZZ_SECONDS:-25}
BUILD_ONLY=
HARNESSES=()
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=$2; shift ;;
	--build=*) BUILD=${1#--build=} ;;
	--seconds) SECONDS_EACH=$2; shift ;;
	--seconds=*) SECONDS_EACH=${1#--seconds=} ;;
	--build-only) BUILD_ONLY=1 ;;
	-h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "fuzz/run.sh: unknown option $1" >&2; exit 2 ;;
	*) HARNESSES+=("$1") ;;
	esac
	shift
done
BUILD=$(cd "$BUILD" && pwd) || exit 1
[ -f "$BUILD/config.h" ] || { echo "fuzz/run.sh: $BUILD is not a configured build directory" >&2; exit 1; }
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=(jsonpos config kmsg sysfs ccdf history state event-json)

CC=${FUZZ_CC:-$(command -v clang || command -v clang-14 || echo clang)}
command -v "$CC" >/dev/null || { echo "SKIP: $CC is not installed" >&2; exit 77; }
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$BUILD/fuzz-probe.c"
if ! "$CC" -fsanitize=fuzzer -o "$BUILD/fuzz-probe" "$BUILD/fuzz-probe.c" 2>/dev/null; then
	rm -f "$BUILD/fuzz-probe.c"
	echo "SKIP: $CC cannot link libFuzzer (libclang-rt-dev missing?)" >&2
	exit 77
fi
rm -f "$BUILD/fuzz-probe" "$BUILD/fuzz-probe.c"

PKGS="json-c libsystemd libudev libevent libpci"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CFLAGS="-g -O1 -std=gnu11 $SAN -fno-omit-frame-pointer -include $BUILD/config.h -I$SRC -I$BUILD
	-DSYSCONFDIR=\"/etc\" -DLOCALSTATEDIR=\"/var\" -DRUNSTATEDIR=\"/run\" -DLIBEXECDIR=\"/usr/libexec\"
	-DZPCID_ACTION_HELPER_PATH=\"/usr/libexec/zpcid/zpcid-action\"
	$(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS) -lpthread"
OUT=$BUILD/fuzz
mkdir -p "$OUT/obj" "$OUT/artifacts" "$OUT/work"

# The project's code, with the sanitizers and libFuzzer's coverage.
objs=()
for c in "$SRC"/common/*.c "$SRC"/daemon/*.c; do
	[ "$(basename "$c")" = main.c ] && continue
	o=$OUT/obj/$(basename "$(dirname "$c")")-$(basename "$c" .c).o
	if [ ! -f "$o" ] || [ "$c" -nt "$o" ] || [ -n "$(find "$SRC/common" "$SRC/daemon" -name '*.h' -newer "$o" | head -1)" ]; then
		# shellcheck disable=SC2086 # CFLAGS: word-split on purpose
		"$CC" $CFLAGS -fsanitize=fuzzer-no-link -c "$c" -o "$o" || exit 1
	fi
	objs+=("$o")
done
rm -f "$OUT/libfuzz-zpcid.a"
ar rcs "$OUT/libfuzz-zpcid.a" "${objs[@]}" || exit 1

for h in "${HARNESSES[@]}"; do
	# shellcheck disable=SC2086
	"$CC" $CFLAGS -fsanitize=fuzzer "$SRC/fuzz/fuzz-$h.c" "$OUT/libfuzz-zpcid.a" $LIBS -o "$OUT/fuzz-$h" || exit 1
done
[ -n "$BUILD_ONLY" ] && exit 0

FUZZ_TMPDIR=$(mktemp -d "$( [ -w /dev/shm ] && echo /dev/shm || echo /tmp)/zpcid-fuzz.XXXXXX") || exit 1
export FUZZ_TMPDIR
trap 'rm -rf "$FUZZ_TMPDIR"' EXIT
FAILED=0
RESULTS=()
for h in "${HARNESSES[@]}"; do
	work=$OUT/work/$h
	mkdir -p "$work"
	log=$OUT/fuzz-$h.log
	# The seeds are read, new inputs go to the work corpus (kept between runs).
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		"$OUT/fuzz-$h" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -timeout=20 -rss_limit_mb=2048 \
		-artifact_prefix="$OUT/artifacts/$h-" "$work" "$SRC/fuzz/corpus/$h" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ $rc = 0 ]; then
		RESULTS+=("PASS: $h ${runs:-?} runs in $SECONDS_EACH s")
	else
		RESULTS+=("FAIL: $h ${runs:-?} runs, exit $rc (see $log)")
		grep -m1 -A12 -E 'ERROR: |runtime error|invariant failed|deadly signal' "$log" >&2
		FAILED=1
	fi
done
printf '%s\n' "${RESULTS[@]}"
exit $FAILED
