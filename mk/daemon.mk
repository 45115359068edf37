# daemon/: zpcid. Everything but main.c lives in a library the tests link.
noinst_LIBRARIES += daemon/libzpcid.a
daemon_libzpcid_a_SOURCES = \
	daemon/manager.c daemon/manager.h \
	daemon/function.h \
	daemon/pipeline.c daemon/pipeline.h \
	daemon/dedup.c daemon/dedup.h \
	daemon/coalesce.c daemon/coalesce.h \
	daemon/sinks.c daemon/sinks.h
daemon_libzpcid_a_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(UDEV_CFLAGS) $(JSONC_CFLAGS) $(PCI_CFLAGS) $(EVENT_CFLAGS)
DAEMON_LIBS = daemon/libzpcid.a $(COMMON_LIBS) $(UDEV_LIBS) $(PCI_LIBS) $(EVENT_LIBS) -lpthread

sbin_PROGRAMS += zpcid
zpcid_SOURCES = daemon/main.c
zpcid_CFLAGS = $(daemon_libzpcid_a_CFLAGS)
zpcid_LDADD = $(DAEMON_LIBS)
daemon_libzpcid_a_SOURCES += daemon/policy-store.c daemon/policy-store.h
daemon_libzpcid_a_SOURCES += daemon/explain.c daemon/explain.h

# The function state machine against docs/state-machine.md.
check_PROGRAMS += tests/test-function
tests_test_function_SOURCES = tests/test-function.c
tests_test_function_CFLAGS = $(TEST_CFLAGS)
tests_test_function_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-function
EXTRA_DIST += docs/state-machine.md

# The holder as the operator names it: its machine (systemd-machined) and unit.
daemon_libzpcid_a_SOURCES += daemon/machine.c daemon/machine.h
check_PROGRAMS += tests/test-machine
tests_test_machine_SOURCES = tests/test-machine.c
tests_test_machine_CFLAGS = $(TEST_CFLAGS)
tests_test_machine_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-machine
UNIT_TESTS += tests/test-machine
# ... end to end on the simulated LPAR and a private bus: with the real
# systemd-machined, with a stand-in behind its name, and without it.
TESTS += tests/test-machine-machined.sh tests/test-machine-standin.sh tests/test-machine-fallback.sh
EXTRA_DIST += tests/machine-e2e.sh tests/machined-standin.py \
	tests/test-machine-machined.sh tests/test-machine-standin.sh tests/test-machine-fallback.sh
tests/test-machine-standin.log: tests/test-machine-machined.log
tests/test-machine-fallback.log: tests/test-machine-standin.log

# Adapter correlation: the correlator (pure) and its daemon side.
daemon_libzpcid_a_SOURCES += daemon/adapter.c daemon/adapter.h
daemon_libzpcid_a_SOURCES += daemon/adapter-events.c daemon/adapter-events.h
check_PROGRAMS += tests/test-adapter
tests_test_adapter_SOURCES = tests/test-adapter.c
tests_test_adapter_CFLAGS = $(TEST_CFLAGS)
tests_test_adapter_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-adapter
UNIT_TESTS += tests/test-adapter
EXTRA_DIST += docs/architecture.md
