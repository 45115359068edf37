# History, state files and the action runner (daemon/history.*, state-file.*,
# actions.*, spawn.*, inhibit.*, sysfs-write.*) and their tests.
daemon_libzpcid_a_SOURCES += \
	daemon/state-file.c daemon/state-file.h \
	daemon/history.c daemon/history.h \
	daemon/syncer.c daemon/syncer.h \
	daemon/inhibit.c daemon/inhibit.h \
	daemon/spawn.c daemon/spawn.h \
	daemon/sysfs-write.c daemon/sysfs-write.h \
	daemon/actions.c daemon/actions.h

check_PROGRAMS += tests/test-state-file
tests_test_state_file_SOURCES = tests/test-state-file.c
tests_test_state_file_CFLAGS = $(TEST_CFLAGS)
tests_test_state_file_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-state-file
UNIT_TESTS += tests/test-state-file

check_PROGRAMS += tests/test-syncer
tests_test_syncer_SOURCES = tests/test-syncer.c
tests_test_syncer_CFLAGS = $(TEST_CFLAGS)
tests_test_syncer_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-syncer
UNIT_TESTS += tests/test-syncer

check_PROGRAMS += tests/test-history
tests_test_history_SOURCES = tests/test-history.c
tests_test_history_CFLAGS = $(TEST_CFLAGS)
tests_test_history_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-history
UNIT_TESTS += tests/test-history

# Kills children at random moments: a durability test, too slow for valgrind.
check_PROGRAMS += tests/test-history-kill
tests_test_history_kill_SOURCES = tests/test-history-kill.c
tests_test_history_kill_CFLAGS = $(TEST_CFLAGS)
tests_test_history_kill_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-history-kill

check_PROGRAMS += tests/test-inhibit
tests_test_inhibit_SOURCES = tests/test-inhibit.c
tests_test_inhibit_CFLAGS = $(TEST_CFLAGS)
tests_test_inhibit_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-inhibit
UNIT_TESTS += tests/test-inhibit

check_PROGRAMS += tests/test-spawn
tests_test_spawn_SOURCES = tests/test-spawn.c
tests_test_spawn_CFLAGS = $(TEST_CFLAGS)
tests_test_spawn_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-spawn
UNIT_TESTS += tests/test-spawn

check_PROGRAMS += tests/test-actions
tests_test_actions_SOURCES = tests/test-actions.c
tests_test_actions_CFLAGS = $(TEST_CFLAGS)
tests_test_actions_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-actions
UNIT_TESTS += tests/test-actions

EXTRA_DIST += docs/history.md

# Summaries of a time window (zpcictl events top/rate/decisions).
daemon_libzpcid_a_SOURCES += daemon/history-summary.c daemon/history-summary.h
check_PROGRAMS += tests/test-history-summary
tests_test_history_summary_SOURCES = tests/test-history-summary.c
tests_test_history_summary_CFLAGS = $(TEST_CFLAGS)
tests_test_history_summary_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-history-summary
UNIT_TESTS += tests/test-history-summary
check_PROGRAMS += tests/history-write
tests_history_write_SOURCES = tests/history-write.c
tests_history_write_CFLAGS = $(TEST_CFLAGS)
tests_history_write_LDADD = $(DAEMON_LIBS)
# zpcictl events top|rate|decisions and GetEventSummary on a known history.
TESTS += tests/test-events-summary.sh
EXTRA_DIST += tests/test-events-summary.sh
# ... and on the simulated LPAR, after the other simulated LPARs (see mk/demo.mk).
TESTS += tests/test-events-summary-lpar.sh
EXTRA_DIST += tests/test-events-summary-lpar.sh
tests/test-events-summary-lpar.log: tests/test-state-machine.log

# zpcid-action: the helper program that carries out one disruptive action
# (daemon/action-helper.c); zpcid runs it through its spawner. Tests and the
# simulated LPAR run the one of the build tree ($ZPCID_ACTION_HELPER).
pkglibexec_PROGRAMS = zpcid-action
zpcid_action_SOURCES = daemon/action-helper.c
zpcid_action_LDADD = daemon/libzpcid.a $(COMMON_LIBS)
AM_CPPFLAGS += -DZPCID_ACTION_HELPER_PATH=\"$(pkglibexecdir)/zpcid-action\"
