# tests/: unit tests (Check, TAP) and integration tests (shell).
EXTRA_DIST += tests/run-test
TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(SYSTEMD_CFLAGS) $(JSONC_CFLAGS) $(EVENT_CFLAGS) $(UDEV_CFLAGS)

check_PROGRAMS += tests/test-log
tests_test_log_SOURCES = tests/test-log.c
tests_test_log_CFLAGS = $(TEST_CFLAGS)
tests_test_log_LDADD = $(COMMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-log
UNIT_TESTS += tests/test-log
EXTRA_DIST += tests/valgrind.supp

EXTRA_DIST += tests/lib.sh tests/notify-listen.py
TESTS += tests/test-daemon-core.sh
EXTRA_DIST += tests/test-daemon-core.sh
TESTS += tests/test-journal.sh
EXTRA_DIST += tests/test-journal.sh

check_PROGRAMS += tests/test-dedup
tests_test_dedup_SOURCES = tests/test-dedup.c
tests_test_dedup_CFLAGS = $(TEST_CFLAGS)
tests_test_dedup_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-dedup
UNIT_TESTS += tests/test-dedup
TESTS += tests/test-explain.sh
EXTRA_DIST += tests/test-explain.sh
EXTRA_DIST += tests/test-util.h

# The pipeline and the coalescer on their own (no manager).
check_PROGRAMS += tests/test-pipeline tests/test-coalesce
tests_test_pipeline_SOURCES = tests/test-pipeline.c
tests_test_pipeline_CFLAGS = $(TEST_CFLAGS)
tests_test_pipeline_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
tests_test_coalesce_SOURCES = tests/test-coalesce.c
tests_test_coalesce_CFLAGS = $(TEST_CFLAGS)
tests_test_coalesce_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-pipeline tests/test-coalesce
UNIT_TESTS += tests/test-pipeline tests/test-coalesce
