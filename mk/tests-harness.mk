# tests/: what every tier of tests shares. The drivers (TAP for Check
# programs, the plain driver for shell tests) are set in Makefile.am; the
# tests themselves are in mk/tests-unit.mk (Check suites of the rooms of
# common/ and daemon/), mk/tests-system.mk (the programs against real system
# components, without a simulated LPAR), mk/tests-world.mk (the device world
# and the simulated LPAR) and mk/tests-s390x.mk (big-endian and real-kernel
# tiers, run from tools/stages.d/).
EXTRA_DIST += tests/run-test
TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(SYSTEMD_CFLAGS) $(JSONC_CFLAGS) $(EVENT_CFLAGS) $(UDEV_CFLAGS)
EXTRA_DIST += tests/valgrind.supp
EXTRA_DIST += tests/test-util.h

# The shell tests' library, and the sd_notify listener they start zpcid with.
EXTRA_DIST += tests/lib.sh tests/notify-listen.py
