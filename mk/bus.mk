# The D-Bus API of the daemon (daemon/bus*), its bus policy and activation
# files (dbus/), and its tests against a private dbus-daemon.
daemon_libzpcid_a_SOURCES += \
	daemon/bus.c daemon/bus.h daemon/bus-private.h \
	daemon/bus-manager.c \
	daemon/bus-function.c \
	daemon/bus-util.c daemon/bus-util.h

# The group the bus policy lets through to the state-changing methods;
# zpcid's own check uses "admin_group" of the configuration (keep them equal).
ZPCID_ADMIN_GROUP = zpcid
# zpcictl names it when the bus policy refuses a call.
AM_CPPFLAGS += -DZPCID_ADMIN_GROUP='"$(ZPCID_ADMIN_GROUP)"'

dbuspolicy_DATA = dbus/org.zpcid1.conf
dist_dbussystemservice_DATA = dbus/org.zpcid1.service
EXTRA_DIST += dbus/org.zpcid1.conf.in
CLEANFILES += dbus/org.zpcid1.conf
dbus/org.zpcid1.conf: $(srcdir)/dbus/org.zpcid1.conf.in Makefile
	$(AM_V_GEN)$(MKDIR_P) dbus && $(SED) -e 's|@ADMIN_GROUP[@]|$(ZPCID_ADMIN_GROUP)|g' $< > $@

# Against a private dbus-daemon loading the shipped policy (root only; skips otherwise).
TESTS += tests/test-dbus.sh
EXTRA_DIST += tests/test-dbus.sh tests/dbus/test-system-bus.conf tests/dbus-call.py
EXTRA_DIST += docs/dbus-api.md

# The bus objects without a Manager: a Bus on small real parts (a registry
# on a umockdev test bed, the inhibitors, a default configuration) on a
# private dbus-daemon with the shipped policy (root only; skips otherwise).
if HAVE_UMOCKDEV
check_PROGRAMS += tests/test-bus-objects
tests_test_bus_objects_SOURCES = tests/test-bus-objects.c tests/private-bus.h
tests_test_bus_objects_CFLAGS = $(TEST_CFLAGS) $(UMOCKDEV_CFLAGS)
tests_test_bus_objects_LDADD = $(DAEMON_LIBS) $(UMOCKDEV_LIBS) $(CHECK_LIBS)
TESTS += tests/test-bus-objects
endif
