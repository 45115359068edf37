#!/bin/bash
# bench/run.sh — run zpcid's benchmarks (docs/benchmarks.md).
#
#   bench/run.sh [--smoke] [--build DIR] [--out FILE] [latency|storm|bigstorm|scale|idle|stall|guest ...]
#
# Sets up what the benchmarks measure against: a private systemd-journald
# (volatile storage, no rate limit) and a private dbus-daemon loading the
# shipped bus policy, both in private mount and PID namespaces, so nothing
# of the host is touched and nothing else running on it is seen. Then runs bench/zpcid-bench for zpcid and for the floor
# program (bench/zpcid-floor) and writes the machine, the date, every raw
# number and the ratios against the floor to the results file.
#
# "guest" (not run unless named) boots the s390x test guest
# (tests/s390x/guest.sh, the cross build in build-s390x/ beside the
# source) and runs zpcid beside the floor there, on the real kernel and
# kmod/module: GUEST_BENCH_FIDS functions (24), GUEST_BENCH_LATENCY
# injections (2000), GUEST_BENCH_STORM errors per storm (4000).
#
# --smoke runs everything briefly to check that it works: exit 0 when every
# benchmark ran and its correctness checks held, whatever the timings.
# Exit 77 (skip) without root, unshare, journald or dbus-daemon.
set -u

SMOKE=
BUILD=${ZPCID_TOP_BUILDDIR:-}
OUT=
SUITES=()
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) SMOKE=--smoke ;;
	--build) BUILD=$2; shift ;;
	--build=*) BUILD=${1#--build=} ;;
	--out) OUT=$2; shift ;;
	--out=*) OUT=${1#--out=} ;;
	-h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	latency | storm | bigstorm | scale | idle | stall | guest) SUITES+=("$1") ;;
	*) echo "bench/run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
[ ${#SUITES[@]} -gt 0 ] || SUITES=(latency storm bigstorm scale idle stall)
SRC=$(cd "$(dirname "$0")/.." && pwd)
# the build directory: --build, $ZPCID_TOP_BUILDDIR, the current one when it
# holds a build, else build/ in the source tree
[ -z "$BUILD" ] && [ -x bench/zpcid-bench ] && BUILD=.
BUILD=$(cd "${BUILD:-$SRC/build}" && pwd) || exit 1
BENCH=$BUILD/bench/zpcid-bench
OUT=${OUT:-$BUILD/bench-results${SMOKE:+-smoke}.txt}

skip() { echo "SKIP: $*" >&2; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (a private mount namespace for journald)"
JOURNALD=/lib/systemd/systemd-journald
for t in unshare dbus-daemon strace "$JOURNALD"; do
	command -v "$t" >/dev/null || skip "$t is not installed"
done
for f in "$BENCH" "$BUILD/bench/zpcid-floor" "$BUILD/bench/vfio-emu.so" "$BUILD/zpcid" "$BUILD/zpcictl/zpcictl" "$BUILD/dbus/org.zpcid1.conf"; do
	[ -e "$f" ] || { echo "bench/run.sh: $f is missing: make -C $BUILD all check TESTS=" >&2; exit 1; }
done

if [ -z "${ZPCID_BENCH_IN_NS:-}" ]; then
	# a PID namespace too: zpcid finds the holders of vfio nodes in /proc,
	# and processes of other test beds on this machine must not count
	unshare --mount --pid --fork --mount-proc --propagation private true 2>/dev/null ||
		skip "cannot create mount and PID namespaces"
	exec env ZPCID_BENCH_IN_NS=1 unshare --mount --pid --fork --mount-proc --propagation private bash "$0" $SMOKE \
		--build "$BUILD" --out "$OUT" "${SUITES[@]}"
fi

T=$(mktemp -d /tmp/zpcid-bench-run.XXXXXX)
cleanup() {
	[ -n "${BPID:-}" ] && kill "$BPID" 2>/dev/null
	[ -n "${JPID:-}" ] && kill "$JPID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# -- a private journald --
mkdir -p /run/systemd/journal /run/log /var/log/journal
mount -t tmpfs tmpfs /run/systemd/journal && mount -t tmpfs tmpfs /run/log &&
	mount -t tmpfs tmpfs /var/log/journal || skip "cannot mount tmpfs"
printf '[Journal]\nStorage=volatile\nRateLimitBurst=0\nRuntimeMaxUse=2G\nRuntimeMaxFileSize=512M\nForwardToSyslog=no\nForwardToWall=no\nForwardToConsole=no\n' \
	>"$T/journald.conf"
mount --bind "$T/journald.conf" /etc/systemd/journald.conf || skip "cannot bind-mount journald.conf"
"$JOURNALD" >"$T/journald.out" 2>&1 &
JPID=$!
for _ in $(seq 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
[ -S /run/systemd/journal/socket ] || { echo "journald did not start: $(cat "$T/journald.out")" >&2; exit 1; }

# -- a private system bus with the shipped policy --
mkdir -p "$T/bus"
sed "s|unix:dir=/tmp|unix:dir=$T/bus|" "$SRC/tests/dbus/test-system-bus.conf" >"$T/bus/bus.conf"
cp "$BUILD/dbus/org.zpcid1.conf" "$T/bus/org.zpcid1.conf"
dbus-daemon --config-file="$T/bus/bus.conf" --nofork --nopidfile --print-address=3 3>"$T/addr" 2>"$T/dbus.log" &
BPID=$!
for _ in $(seq 100); do [ -s "$T/addr" ] && break; sleep 0.05; done
[ -s "$T/addr" ] || { echo "dbus-daemon did not start: $(cat "$T/dbus.log")" >&2; exit 1; }
export DBUS_SYSTEM_BUS_ADDRESS=$(head -1 "$T/addr")
export ZPCID_TOP_BUILDDIR=$BUILD ZPCID_TOP_SRCDIR=$SRC

LOGS=$BUILD/bench-logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
RAW=$T/raw
: >"$RAW"
FAILED=0

run() { # name args...
	local name=$1
	shift
	echo "== $name" >&2
	# shellcheck disable=SC2086 # ZPCID_BENCH_ARGS: extra options, word-split
	if ! "$BENCH" $SMOKE --log-dir="$LOGS" "$@" ${ZPCID_BENCH_ARGS:-} >"$LOGS/$name.out" 2>"$LOGS/$name.err"; then
		echo "FAIL: $name (see $LOGS/$name.out, $LOGS/$name.err)" >&2
		tail -5 "$LOGS/$name.err" >&2
		FAILED=1
	fi
	grep -v '^RESULT ' "$LOGS/$name.out" >&2
	grep '^RESULT ' "$LOGS/$name.out" >>"$RAW"
}

for s in "${SUITES[@]}"; do
	case $s in
	latency)
		run latency-idle-floor latency --target=floor
		run latency-idle-zpcid latency --target=zpcid
		run latency-load-floor latency --target=floor --load
		run latency-load-zpcid latency --target=zpcid --load
		;;
	storm)
		run storm-vfio-floor storm --source=vfio --target=floor
		run storm-vfio-zpcid storm --source=vfio --target=zpcid
		run storm-kmsg-floor storm --source=kmsg --target=floor
		run storm-kmsg-zpcid storm --source=kmsg --target=zpcid
		;;
	bigstorm)
		# 256 owned functions through bench/vfio-emu.so: every queue kept
		# full, then BIGSTORM_RATE errors per second on every function
		rate=${BIGSTORM_RATE:-20}
		run bigstorm-every-floor bigstorm --target=floor --rate="$rate"
		run bigstorm-every-zpcid bigstorm --target=zpcid --rate="$rate"
		run bigstorm-coalesce-zpcid bigstorm --target=zpcid --coalesce --rate="$rate"
		;;
	scale) run scale scale ;;
	idle) run idle idle ;;
	guest)
		echo "== guest" >&2
		gb=${S390X_BUILD:-$SRC/build-s390x}
		if [ -n "$SMOKE" ]; then
			set -- 8 100 400
		else
			set -- "${GUEST_BENCH_FIDS:-24}" "${GUEST_BENCH_LATENCY:-2000}" "${GUEST_BENCH_STORM:-4000}"
		fi
		ZPCID_GUEST_BENCH_FIDS=$1 ZPCID_GUEST_BENCH_LATENCY=$2 ZPCID_GUEST_BENCH_STORM=$3 \
			ZPCID_GUEST_TIMEOUT=${ZPCID_GUEST_TIMEOUT:-1800} "$SRC/tests/s390x/guest.sh" "$gb" \
			>"$LOGS/guest.out" 2>"$LOGS/guest.err"
		grc=$?
		grep '^[A-Z]* bench/' "$gb/guest/results.txt" >&2
		if [ $grc != 0 ] || ! grep -q '^PASS bench/storm-paced-floor' "$gb/guest/results.txt"; then
			echo "FAIL: guest (status $grc; see $gb/guest/results.txt, $LOGS/guest.err)" >&2
			FAILED=1
		fi
		cat "$gb/guest/bench-results.txt" >>"$RAW" 2>/dev/null
		;;
	stall)
		run stall-kmsg-floor stall --source=kmsg --target=floor
		run stall-kmsg-zpcid stall --source=kmsg --target=zpcid
		run stall-history-zpcid stall --source=history
		run stall-history-noindex-zpcid stall --source=history --no-index
		;;
	esac
done

# what went wrong, if anything: the warnings in the private journal
journalctl -D /run/log/journal --no-pager -p warning >"$LOGS/journal-warnings.txt" 2>&1

val() { awk -v k="$1" '$1 == "RESULT" && $2 == k { print $3 }' "$RAW" | tail -1; }
ratio() { # a b
	[ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b }'
}
verdict() { # value op limit
	[ -n "$1" ] || { echo "n/a"; return; }
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
		ok = (op == "<=" ? v <= l : op == ">=" ? v >= l : v == l)
		print ok ? "met" : "MISSED" }'
}

{
	echo "# zpcid benchmarks${SMOKE:+ (smoke mode: the numbers only show that it works)}"
	echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "commit: $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$SRC" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
	echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r), $(awk '/MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo)"
	echo "os: $(. /etc/os-release && echo "$PRETTY_NAME"), umockdev $(pkg-config --modversion umockdev-1.0 2>/dev/null || echo '?'), systemd $(journalctl --version | head -1 | awk '{ print $2 }')"
	echo
	echo "## Raw numbers"
	sed 's/^RESULT //' "$RAW"
	echo
	echo "## Ratios against the floor (same run, same emulated kernel)"
	for load in idle load; do
		for side in journal bus; do
			for q in p50 p99 max; do
				z=$(val latency.$load.zpcid.$side.$q)
				f=$(val latency.$load.floor.$side.$q)
				[ -n "$z" ] && echo "latency.$load.$side.$q zpcid/floor $(ratio "$z" "$f")  ($z us / $f us)"
			done
		done
	done
	for src in vfio kmsg; do
		z=$(val storm.$src.zpcid.events_per_second)
		f=$(val storm.$src.floor.events_per_second)
		[ -n "$z" ] && echo "storm.$src.events_per_second zpcid/floor $(ratio "$z" "$f")  ($z / $f events/s)"
		z=$(val storm.$src.zpcid.cpu_per_event)
		f=$(val storm.$src.floor.cpu_per_event)
		[ -n "$z" ] && echo "storm.$src.cpu_per_event zpcid/floor $(ratio "$z" "$f")  ($z us / $f us)"
	done
	if [ -n "$(val guest.functions)" ]; then
		for side in journal bus; do
			for q in p50 p99 max; do
				z=$(val guest.latency.zpcid.$side.$q)
				f=$(val guest.latency.floor.$side.$q)
				echo "guest.latency.$side.$q zpcid/floor $(ratio "$z" "$f")  ($z us / $f us, s390x guest under TCG)"
			done
		done
		for mode in paced flat; do
			f=$(val guest.storm.$mode.floor.per_second)
			for c in off on; do
				z=$(val guest.storm.$mode.zpcid-coalesce-$c.per_second)
				echo "guest.storm.$mode.coalesce-$c.events_per_second zpcid/floor $(ratio "$z" "$f")  ($z / $f events/s over $(val guest.functions) functions)"
				z=$(val guest.storm.$mode.zpcid-coalesce-$c.cpu_us_per_record)
				echo "guest.storm.$mode.coalesce-$c.cpu_per_event zpcid/floor $(ratio "$z" "$(val guest.storm.$mode.floor.cpu_us_per_record)")  ($z us / $(val guest.storm.$mode.floor.cpu_us_per_record) us)"
				echo "guest.storm.$mode.coalesce-$c.kernel_dropped zpcid $(val guest.storm.$mode.zpcid-coalesce-$c.dropped), floor $(val guest.storm.$mode.floor.dropped) of $(val guest.storm.$mode.floor.injected)"
			done
		done
	fi
	for mode in every coalesce; do
		f=$(val bigstorm.every.floor.events_per_second)
		z=$(val bigstorm.$mode.zpcid.events_per_second)
		[ -n "$z" ] && echo "bigstorm.$mode.events_per_second zpcid/floor $(ratio "$z" "$f")  ($z / $f events/s)"
		f=$(val bigstorm.every.floor.cpu_per_event)
		z=$(val bigstorm.$mode.zpcid.cpu_per_event)
		[ -n "$z" ] && echo "bigstorm.$mode.cpu_per_event zpcid/floor $(ratio "$z" "$f")  ($z us / $f us)"
		f=$(val bigstorm.every.floor.kernel_dropped)
		z=$(val bigstorm.$mode.zpcid.kernel_dropped)
		[ -n "$z" ] && echo "bigstorm.$mode.kernel_dropped zpcid $z, floor $f of $(val bigstorm.$mode.zpcid.offered) / $(val bigstorm.every.floor.offered) offered"
	done
	for n in $(awk '$1 == "RESULT" && $2 ~ /^scale\.[1-9][0-9]*\.vs_floor\.ratio\.p50$/ { split($2, a, "."); print a[2] }' "$RAW"); do
		echo "scale.$n.time_to_ready zpcid/floor $(val scale.$n.vs_floor.ratio.p50) (median of pairs; $(val scale.$n.vs_floor.zpcid.time_to_ready.p50) ms / $(val scale.$n.vs_floor.floor.time_to_ready.p50) ms, native)"
		echo "scale.$n.cpu_to_ready zpcid/floor $(val scale.$n.vs_floor.cpu_ratio.p50) (median of pairs; $(val scale.$n.vs_floor.zpcid.cpu_to_ready.p50) ms / $(val scale.$n.vs_floor.floor.cpu_to_ready.p50) ms, native)"
	done
	for n in $(awk '$1 == "RESULT" && $2 ~ /^scale\.[1-9][0-9]*\.rss_at_ready$/ { split($2, a, "."); print a[2] }' "$RAW"); do
		z=$(val scale.0.rss_at_ready)
		v=$(val scale.$n.rss_at_ready)
		[ -n "$z" ] && [ -n "$v" ] &&
			echo "scale.$n.memory_per_function $(awk -v a="$v" -v b="$z" -v n="$n" 'BEGIN { printf "%.2f", (a - b) / n }') KiB"
		z=$(val scale.0.native.rss_at_ready)
		v=$(val scale.$n.native.rss_at_ready)
		[ -n "$z" ] && [ -n "$v" ] &&
			echo "scale.$n.native.memory_per_function $(awk -v a="$v" -v b="$z" -v n="$n" 'BEGIN { printf "%.2f", (a - b) / n }') KiB"
		# what the emulator costs: the same start-up under the preload and without it
		z=$(val scale.$n.time_to_ready)
		v=$(val scale.$n.native.time_to_ready)
		[ -n "$z" ] && [ -n "$v" ] &&
			echo "scale.$n.time_to_ready umockdev/native $(ratio "$z" "$v")  ($z ms / $v ms)"
	done
	if [ -z "$SMOKE" ]; then
		echo
		echo "## Targets"
		for load in idle load; do
			for side in journal bus; do
				r=$(ratio "$(val latency.$load.zpcid.$side.p99)" "$(val latency.$load.floor.$side.p99)")
				[ -n "$r" ] && echo "p99 error -> $side ($load) within 2x the floor: $r -> $(verdict "$r" "<=" 2)"
			done
		done
		for load in idle load; do
			for side in journal bus; do
				for q in p50 p99; do
					r=$(ratio "$(val latency.$load.zpcid.$side.$q)" "$(val latency.$load.floor.$side.$q)")
					[ -n "$r" ] && echo "$q error -> $side ($load) at most 1.2x the floor: $r -> $(verdict "$r" "<=" 1.2)"
				done
			done
		done
		for src in vfio kmsg; do
			r=$(ratio "$(val storm.$src.zpcid.events_per_second)" "$(val storm.$src.floor.events_per_second)")
			[ -n "$r" ] && echo "storm ($src) throughput at least half the floor's: $r -> $(verdict "$r" ">=" 0.5)"
			v=$(val storm.$src.zpcid.lost)
			[ -n "$v" ] && echo "storm ($src): zero events lost: $v -> $(verdict "$v" "==" 0)"
		done
		for n in $(awk '$1 == "RESULT" && $2 ~ /^scale\.[1-9][0-9]*\.time_to_ready$/ { split($2, a, "."); print a[2] }' "$RAW"); do
			# judged on the native run (the same recorded tree bind-mounted
			# over /sys, no preload): what zpcid itself costs. Under umockdev's
			# preload every path lookup also pays the emulator's interposition
			# (docs/benchmarks.md); that number is shown, not judged.
			u=$(val scale.$n.time_to_ready)
			v=$(val scale.$n.native.time_to_ready)
			echo "start-up with $n functions under 1 s (native, recorded tree over /sys): $v ms -> $(verdict "$v" "<=" 1000)"
			echo "start-up with $n functions, for reference (under umockdev's preload): $u ms"
			u=$(val scale.$n.peak_rss_at_ready)
			v=$(val scale.$n.native.peak_rss_at_ready)
			echo "start-up with $n functions under 16 MiB RSS (under umockdev): $u KiB (peak) -> $(verdict "$u" "<=" 16384)"
			echo "start-up with $n functions under 16 MiB RSS (native): $v KiB (peak) -> $(verdict "$v" "<=" 16384)"
		done
		for side in journal bus; do
			for q in p50 p99; do
				r=$(ratio "$(val guest.latency.zpcid.$side.$q)" "$(val guest.latency.floor.$side.$q)")
				[ -n "$r" ] && echo "$q error -> $side in the s390x guest within 1.2x the floor: $r -> $(verdict "$r" "<=" 1.2)"
			done
		done
		r=$(ratio "$(val guest.storm.paced.zpcid-coalesce-off.per_second)" "$(val guest.storm.paced.floor.per_second)")
		[ -n "$r" ] && echo "storm in the s390x guest, coalescing off, at least 0.8x the floor's throughput: $r -> $(verdict "$r" ">=" 0.8)"
		r=$(ratio "$(val bigstorm.every.zpcid.events_per_second)" "$(val bigstorm.every.floor.events_per_second)")
		[ -n "$r" ] && echo "storm of $(val bigstorm.every.zpcid.functions) owned functions, coalescing off, at least 0.8x the floor's throughput: $r -> $(verdict "$r" ">=" 0.8)"
		f=$(val bigstorm.every.floor.kernel_dropped)
		for mode in every coalesce; do
			v=$(val bigstorm.$mode.zpcid.kernel_dropped)
			[ -n "$v" ] && [ "$f" = 0 ] &&
				echo "storm of $(val bigstorm.$mode.zpcid.functions) owned functions ($mode), no kernel drops where the floor has none: $v -> $(verdict "$v" "==" 0)"
		done
		for n in $(awk '$1 == "RESULT" && $2 ~ /^scale\.[1-9][0-9]*\.vs_floor\.ratio\.p50$/ { split($2, a, "."); print a[2] }' "$RAW"); do
			v=$(val scale.$n.vs_floor.ratio.p50)
			echo "start-up with $n functions within 1.5x its floor (native): $v -> $(verdict "$v" "<=" 1.5)"
		done
		v=$(val idle.wakeups)
		[ -n "$v" ] && echo "zero wake-ups at idle: $v -> $(verdict "$v" "==" 0)"
	fi
} >"$OUT"
cat "$OUT"
echo "results: $OUT; program output: $LOGS" >&2
exit $FAILED
