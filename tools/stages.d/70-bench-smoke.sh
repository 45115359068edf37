# shellcheck shell=bash
# Benchmarks, sourced by "tools/bootstrap test": every benchmark of bench/
# runs briefly (bench/run.sh --smoke) to show that it still works — the
# daemon starts, every event is accounted for on the kernel, history,
# journal and bus sides, the floor program runs; among them the storm of
# 256 owned functions through bench/vfio-emu.so (coalescing off and on,
# against the floor) and the start-up against its sysfs floor. Timings are printed, never
# compared: a slow CI machine does not fail this stage (docs/benchmarks.md).
bench_smoke() {
	make -C "$BUILD" -j"$JOBS" -s bench/zpcid-bench bench/zpcid-floor bench/vfio-emu.so || return 1
	"$TOP/bench/run.sh" --smoke --build "$BUILD"
}
stage bench-smoke bench_smoke
