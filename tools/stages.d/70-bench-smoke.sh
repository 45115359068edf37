# shellcheck shell=bash
# Benchmarks, sourced by "tools/bootstrap test": every benchmark of bench/
# runs briefly (bench/run.sh --smoke) to show that it still works — the
# daemon starts, every event is accounted for on the kernel, history,
# journal and bus sides, the floor program runs. Timings are printed, never
# compared: a slow CI machine does not fail this stage (docs/benchmarks.md).
bench_smoke() {
	make -C "$BUILD" -j"$JOBS" -s bench/zpcid-bench bench/zpcid-floor || return 1
	"$TOP/bench/run.sh" --smoke --build "$BUILD"
}
stage bench-smoke bench_smoke
