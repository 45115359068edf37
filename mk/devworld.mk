# The device world: a fake LPAR on umockdev (tests/devworld.*), its own
# tests, the simulated LPAR harness (tests/zpci-sim) and the end-to-end tests
# of the real daemon that run on it. Everything here needs umockdev.
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

# End-to-end tests of the real zpcid on the simulated LPAR (integration
# tier: not in UNIT_TESTS).
check_PROGRAMS += tests/test-e2e-observe
tests_test_e2e_observe_SOURCES = tests/test-e2e-observe.c
tests_test_e2e_observe_CFLAGS = $(TEST_CFLAGS) $(UMOCKDEV_CFLAGS)
tests_test_e2e_observe_LDADD = $(DEVWORLD_LIBS) $(CHECK_LIBS)
TESTS += tests/test-e2e-observe

# The simulated LPAR (the demo): built with the tests, run by hand or by
# tools/demo.
check_PROGRAMS += tests/zpci-sim
tests_zpci_sim_SOURCES = tests/zpci-sim.c
tests_zpci_sim_CFLAGS = $(AM_CFLAGS) $(UMOCKDEV_CFLAGS)
tests_zpci_sim_LDADD = $(DEVWORLD_LIBS)
endif

EXTRA_DIST += \
	tests/data/lpar/lpar16.lpar \
	tests/data/lpar/demo.scenario \
	docs/simulated-lpar.md
