# shellcheck shell=bash
# Sourced by tools/bootstrap in test mode: the kernel side.
# The patch series applies to Debian's linux-source-6.12, every patch builds
# (its touched objects compile for s390x after each one), all of it is
# checkpatch-clean, and the patched uAPI headers have the facts of DESIGN.md
# section 2; the test module passes its self-test in an s390x guest (the
# guest console goes to the log); make series generates the mailable series
# with the committer's identity and refuses without one.
kmod_series() { # the series target, with a throwaway identity and without any
	local out rc=0
	out=$(mktemp -d)
	GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_SYSTEM=/dev/null GIT_CONFIG_COUNT=2 \
		GIT_CONFIG_KEY_0=user.name GIT_CONFIG_VALUE_0="Series Check" \
		GIT_CONFIG_KEY_1=user.email GIT_CONFIG_VALUE_1=series-check@example.org \
		make -C "$TOP/kmod" series SERIES_OUT="$out" || rc=1
	grep -q '^Signed-off-by: Series Check <series-check@example.org>$' "$out"/0001-*.patch || rc=1
	if GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_SYSTEM=/dev/null GIT_CONFIG_NOSYSTEM=1 \
		make -C "$TOP/kmod" series SERIES_OUT="$out/unset" 2>&1; then
		echo "make series ran without user.name/user.email"
		rc=1
	fi
	rm -rf "$out"
	return $rc
}
stage kmod-patch-series make -C "$TOP/kmod" check
stage kmod-guest-selftest make -C "$TOP/kmod" guest-check
stage kmod-series kmod_series
