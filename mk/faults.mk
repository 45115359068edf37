# Fault tests: the daemon under a full disk, a read-only state directory,
# torn files, repeated stop signals (docs/history.md).
TESTS += tests/test-shutdown.sh
EXTRA_DIST += tests/test-shutdown.sh
