# Helpers for the shell tests. Sourced; sets SRC and BUILD.
SRC=${ZPCID_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${ZPCID_TOP_BUILDDIR:-$SRC/build}

pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }

# wait_for "shell condition" seconds
wait_for() {
	local cond=$1 secs=$2 i
	for ((i = 0; i < secs * 20; i++)); do
		eval "$cond" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
