# The device world and the simulated LPAR: a fake LPAR on umockdev
# (tests/devworld*, docs/simulated-lpar.md), its own test, the simulated
# LPAR program (tests/zpci-sim, run by tools/demo), the LD_PRELOAD helper
# for the daemon it spawns, and the end-to-end tests of the real zpcid on
# it: Check programs (tests/test-e2e-*) and shell tests on a private
# dbus-daemon loading the shipped policy (they skip (77) without root,
# umockdev's tests/zpci-sim or python3-dbus). Integration tier: in TESTS,
# not in UNIT_TESTS. Everything built here needs umockdev.
if HAVE_UMOCKDEV
noinst_LIBRARIES += tests/libdevworld.a
tests_libdevworld_a_SOURCES = \
	tests/devworld.h \
	tests/devworld-private.h \
	tests/devworld.c \
	tests/devworld-sysfs.c \
	tests/devworld-vfio.c \
	tests/devworld-errors.c \
	tests/devworld-kmsg.c \
	tests/devworld-holder.c \
	tests/devworld-daemon.c \
	tests/devworld-lpar.c
tests_libdevworld_a_CFLAGS = $(AM_CFLAGS) $(UMOCKDEV_CFLAGS)
DEVWORLD_LIBS = tests/libdevworld.a $(COMMON_LIBS) $(UMOCKDEV_LIBS)

check_PROGRAMS += tests/test-devworld
tests_test_devworld_SOURCES = tests/test-devworld.c
tests_test_devworld_CFLAGS = $(TEST_CFLAGS) $(UMOCKDEV_CFLAGS)
tests_test_devworld_LDADD = $(DEVWORLD_LIBS) $(UDEV_LIBS) $(CHECK_LIBS)
TESTS += tests/test-devworld

# The simulated LPAR (the demo): built with the tests, run by hand or by
# tools/demo.
check_PROGRAMS += tests/zpci-sim
tests_zpci_sim_SOURCES = tests/zpci-sim.c
tests_zpci_sim_CFLAGS = $(AM_CFLAGS) $(UMOCKDEV_CFLAGS)
tests_zpci_sim_LDADD = $(DEVWORLD_LIBS)

# The device world's LD_PRELOAD helper for the daemon it spawns
# (tests/devworld-preload.c): duplicates of emulated device fds.
check_PROGRAMS += tests/libdevworld-preload.so
tests_libdevworld_preload_so_SOURCES = tests/devworld-preload.c
tests_libdevworld_preload_so_CFLAGS = $(AM_CFLAGS) -fPIC
tests_libdevworld_preload_so_LDFLAGS = -shared -Wl,--no-as-needed
tests_libdevworld_preload_so_LDADD = -ldl -lpthread

# End-to-end tests of the real zpcid on the device world: observing, own
# mode, the policy, actions and the history, each proved against the daemon
# binary.
check_PROGRAMS += tests/test-e2e-observe
tests_test_e2e_observe_SOURCES = tests/test-e2e-observe.c
tests_test_e2e_observe_CFLAGS = $(TEST_CFLAGS) $(UMOCKDEV_CFLAGS)
tests_test_e2e_observe_LDADD = $(DEVWORLD_LIBS) $(CHECK_LIBS)
TESTS += tests/test-e2e-observe

check_PROGRAMS += tests/test-e2e-own
tests_test_e2e_own_SOURCES = tests/test-e2e-own.c tests/e2e-util.h
tests_test_e2e_own_CFLAGS = $(TEST_CFLAGS) $(UMOCKDEV_CFLAGS)
tests_test_e2e_own_LDADD = $(DEVWORLD_LIBS) $(CHECK_LIBS)
TESTS += tests/test-e2e-own

check_PROGRAMS += tests/test-e2e-policy
tests_test_e2e_policy_SOURCES = tests/test-e2e-policy.c tests/e2e-util.h
tests_test_e2e_policy_CFLAGS = $(TEST_CFLAGS) $(UMOCKDEV_CFLAGS)
tests_test_e2e_policy_LDADD = $(DEVWORLD_LIBS) $(CHECK_LIBS)
TESTS += tests/test-e2e-policy

# Adapter correlation: the window, a rule on adapter events, the hold.
check_PROGRAMS += tests/test-e2e-adapter
tests_test_e2e_adapter_SOURCES = tests/test-e2e-adapter.c tests/e2e-util.h
tests_test_e2e_adapter_CFLAGS = $(TEST_CFLAGS) $(UMOCKDEV_CFLAGS)
tests_test_e2e_adapter_LDADD = $(DEVWORLD_LIBS) $(CHECK_LIBS)
TESTS += tests/test-e2e-adapter

# The daemon under a full disk, a read-only state directory, torn files
# (docs/history.md).
check_PROGRAMS += tests/test-e2e-faults
tests_test_e2e_faults_SOURCES = tests/test-e2e-faults.c tests/e2e-util.h
tests_test_e2e_faults_CFLAGS = $(TEST_CFLAGS) $(UMOCKDEV_CFLAGS)
tests_test_e2e_faults_LDADD = $(DEVWORLD_LIBS) $(CHECK_LIBS)
TESTS += tests/test-e2e-faults
endif

# The simulated LPARs, and the demo (tools/demo: zpcid on the simulated
# LPAR with a private bus); demo.lpar is lpar16.lpar with the adapter of
# 0x10/0x11 for a guest.
EXTRA_DIST += \
	tests/data/lpar/lpar16.lpar \
	tests/data/lpar/demo.scenario
EXTRA_DIST += \
	tests/simbus.sh \
	tests/dbus-signals.py \
	tools/demo \
	tests/data/lpar/demo.json \
	tests/data/lpar/demo-tour.scenario
EXTRA_DIST += tests/data/lpar/demo.lpar

# zpcictl and the D-Bus API on functions of the simulated LPAR, the demo's
# tour, the function state machine (docs/state-machine.md), adapter
# correlation (AdapterEvent, zpcictl adapters), event summaries, metrics
# against the real node_exporter and promtool.
TESTS += \
	tests/test-zpcictl-functions.sh \
	tests/test-dbus-functions.sh \
	tests/test-demo.sh \
	tests/test-state-machine.sh
EXTRA_DIST += \
	tests/test-zpcictl-functions.sh \
	tests/test-dbus-functions.sh \
	tests/test-demo.sh \
	tests/test-state-machine.sh
TESTS += tests/test-zpcictl-adapters.sh
EXTRA_DIST += tests/test-zpcictl-adapters.sh
TESTS += tests/test-events-summary-lpar.sh
EXTRA_DIST += tests/test-events-summary-lpar.sh
TESTS += tests/test-metrics-prometheus.sh
EXTRA_DIST += tests/test-metrics-prometheus.sh

# Daemons of simultaneous simulated LPARs see each other as the holders of
# their vfio devices (the owner scan of /proc matches /dev/vfio/... by path),
# so these run one after another.
tests/test-dbus-functions.log: tests/test-zpcictl-functions.log
tests/test-demo.log: tests/test-dbus-functions.log
tests/test-state-machine.log: tests/test-demo.log
tests/test-zpcictl-adapters.log: tests/test-state-machine.log
tests/test-events-summary-lpar.log: tests/test-state-machine.log
tests/test-metrics-prometheus.log: tests/test-demo.log

# The holder's machine and unit end to end on the simulated LPAR and a
# private bus: with the real systemd-machined, with a stand-in behind its
# name, and without it; one after another.
TESTS += tests/test-machine-machined.sh tests/test-machine-standin.sh tests/test-machine-fallback.sh
EXTRA_DIST += tests/machine-e2e.sh tests/machined-standin.py \
	tests/test-machine-machined.sh tests/test-machine-standin.sh tests/test-machine-fallback.sh
tests/test-machine-standin.log: tests/test-machine-machined.log
tests/test-machine-fallback.log: tests/test-machine-standin.log

# A VMM opens a function's device after zpcid started: the holder found as
# it opens it.
TESTS += tests/test-e2e-holder.sh
EXTRA_DIST += tests/test-e2e-holder.sh
