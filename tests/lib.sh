# Helpers for the shell tests. Sourced; sets SRC and BUILD.
SRC=${ZPCID_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${ZPCID_TOP_BUILDDIR:-$SRC/build}
# the daemon runs the action helper of the build tree
export ZPCID_ACTION_HELPER=${ZPCID_ACTION_HELPER:-$BUILD/zpcid-action}

pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }

# wait_for "shell condition" seconds
wait_for() {
	# A positive marker ends the wait at once, so the bound can allow for a
	# loaded machine: SECS is scaled by ZPCID_WAIT_SCALE (default 4).
	local cond=$1 secs=$2 i
	for ((i = 0; i < secs * 20 * ${ZPCID_WAIT_SCALE:-4}; i++)); do
		eval "$cond" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
