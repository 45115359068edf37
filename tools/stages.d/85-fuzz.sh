# shellcheck shell=bash
# Fuzzing, sourced by "tools/bootstrap test": every libFuzzer harness of
# fuzz/ (clang, ASan, UBSan) runs for a fixed time from its seed corpus; any
# crash, sanitizer report or broken invariant fails the stage.
fuzz_stage() {
	FUZZ_SECONDS=${FUZZ_SECONDS:-25} "$TOP/fuzz/run.sh" --build "$BUILD"
}
stage fuzz fuzz_stage
