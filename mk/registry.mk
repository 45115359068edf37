# The function registry (daemon/registry.*, function.c, sysfs-zpci.*,
# owner.*) and the kernel log source (daemon/kmsg.*), with their tests.
daemon_libzpcid_a_SOURCES += \
	daemon/function.c \
	daemon/sysfs-zpci.c daemon/sysfs-zpci.h \
	daemon/owner.c daemon/owner.h \
	daemon/kmsg.c daemon/kmsg.h \
	daemon/registry.c daemon/registry.h

check_PROGRAMS += tests/test-sysfs-zpci tests/test-owner tests/test-kmsg
tests_test_sysfs_zpci_SOURCES = tests/test-sysfs-zpci.c
tests_test_sysfs_zpci_CFLAGS = $(TEST_CFLAGS)
tests_test_sysfs_zpci_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
tests_test_owner_SOURCES = tests/test-owner.c
tests_test_owner_CFLAGS = $(TEST_CFLAGS)
tests_test_owner_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
tests_test_kmsg_SOURCES = tests/test-kmsg.c
tests_test_kmsg_CFLAGS = $(TEST_CFLAGS)
tests_test_kmsg_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-sysfs-zpci tests/test-owner tests/test-kmsg
UNIT_TESTS += tests/test-sysfs-zpci tests/test-owner tests/test-kmsg

# The registry against real libudev on a umockdev test bed.
if HAVE_UMOCKDEV
check_PROGRAMS += tests/test-registry
tests_test_registry_SOURCES = tests/test-registry.c
tests_test_registry_CFLAGS = $(TEST_CFLAGS) $(UMOCKDEV_CFLAGS)
tests_test_registry_LDADD = $(DAEMON_LIBS) $(UMOCKDEV_LIBS) $(CHECK_LIBS)
TESTS += tests/test-registry
endif

# The rooms beside the inventory: the journal fields of a function, the
# ownership mode (claims, delegations), the kernel's recovery uevents.
daemon_libzpcid_a_SOURCES += \
	daemon/function-fields.c daemon/function-fields.h \
	daemon/ownership.c daemon/ownership.h \
	daemon/recovery-uevent.c daemon/recovery-uevent.h

# The ownership on a umockdev test bed, and against a private dbus-daemon
# with the shipped policy (daemon/ownership.*).
if HAVE_UMOCKDEV
check_PROGRAMS += tests/test-ownership
tests_test_ownership_SOURCES = tests/test-ownership.c tests/private-bus.h
tests_test_ownership_CFLAGS = $(TEST_CFLAGS) $(UMOCKDEV_CFLAGS)
tests_test_ownership_LDADD = $(DAEMON_LIBS) $(UMOCKDEV_LIBS) $(CHECK_LIBS)
TESTS += tests/test-ownership
endif

check_PROGRAMS += tests/test-recovery-uevent
tests_test_recovery_uevent_SOURCES = tests/test-recovery-uevent.c
tests_test_recovery_uevent_CFLAGS = $(TEST_CFLAGS)
tests_test_recovery_uevent_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-recovery-uevent
UNIT_TESTS += tests/test-recovery-uevent

# Opens and closes of the functions' vfio nodes (daemon/holder-watch.*):
# a new holder found as it opens the device.
daemon_libzpcid_a_SOURCES += daemon/holder-watch.c daemon/holder-watch.h
check_PROGRAMS += tests/test-holder-watch
tests_test_holder_watch_SOURCES = tests/test-holder-watch.c
tests_test_holder_watch_CFLAGS = $(TEST_CFLAGS)
tests_test_holder_watch_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-holder-watch
UNIT_TESTS += tests/test-holder-watch
# ... end to end: a VMM opens a function's device after zpcid started.
TESTS += tests/test-e2e-holder.sh
EXTRA_DIST += tests/test-e2e-holder.sh
