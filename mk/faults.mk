# Fault tests: the daemon under a full disk, a read-only state directory,
# torn files, repeated stop signals (docs/history.md).
TESTS += tests/test-shutdown.sh
EXTRA_DIST += tests/test-shutdown.sh

check_PROGRAMS += tests/test-history-faults
tests_test_history_faults_SOURCES = tests/test-history-faults.c
tests_test_history_faults_CFLAGS = $(TEST_CFLAGS)
tests_test_history_faults_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-history-faults

check_PROGRAMS += tests/test-policy-store
tests_test_policy_store_SOURCES = tests/test-policy-store.c
tests_test_policy_store_CFLAGS = $(TEST_CFLAGS)
tests_test_policy_store_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-policy-store
UNIT_TESTS += tests/test-policy-store

if HAVE_UMOCKDEV
check_PROGRAMS += tests/test-e2e-faults
tests_test_e2e_faults_SOURCES = tests/test-e2e-faults.c tests/e2e-util.h
tests_test_e2e_faults_CFLAGS = $(TEST_CFLAGS) $(UMOCKDEV_CFLAGS)
tests_test_e2e_faults_LDADD = $(DEVWORLD_LIBS) $(CHECK_LIBS)
TESTS += tests/test-e2e-faults
endif
