# Sourced by tools/bootstrap in test mode: the kernel side.
# The patch series applies to Debian's linux-source-6.12, is checkpatch-clean
# and its touched objects compile for s390x; the test module passes its
# self-test in an s390x guest (the guest console goes to the log).
stage kmod-patch-series make -C "$TOP/kmod" check
stage kmod-guest-selftest make -C "$TOP/kmod" guest-check
