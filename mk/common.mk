# common/: code shared by the daemon, zpcictl and the tests.
noinst_LIBRARIES += common/libzpcicommon.a
common_libzpcicommon_a_SOURCES = \
	common/macro.h \
	common/log.c common/log.h \
	common/io-util.c common/io-util.h \
	common/event.h common/ccdf.h common/pec.h
common_libzpcicommon_a_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(JSONC_CFLAGS)
COMMON_LIBS = common/libzpcicommon.a $(SYSTEMD_LIBS) $(JSONC_LIBS)

# The action types and results (common/action.*), and their round trip.
common_libzpcicommon_a_SOURCES += common/action.c common/action.h
check_PROGRAMS += tests/test-action
tests_test_action_SOURCES = tests/test-action.c
tests_test_action_CFLAGS = $(TEST_CFLAGS)
tests_test_action_LDADD = $(COMMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-action
UNIT_TESTS += tests/test-action

# The clock in µs (common/time-util.*).
common_libzpcicommon_a_SOURCES += common/time-util.c common/time-util.h

# The names of the D-Bus API, for the daemon and zpcictl.
common_libzpcicommon_a_SOURCES += common/bus-names.h
