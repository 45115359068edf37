# End-to-end tests of the real zpcid on the device world (tests/devworld.*):
# own mode, the policy, actions and the history, each proved against the
# daemon binary. Integration tier: in TESTS, not in UNIT_TESTS.
if HAVE_UMOCKDEV
# The device world's LD_PRELOAD helper for the daemon it spawns
# (tests/devworld-preload.c): duplicates of emulated device fds.
check_PROGRAMS += tests/libdevworld-preload.so
tests_libdevworld_preload_so_SOURCES = tests/devworld-preload.c
tests_libdevworld_preload_so_CFLAGS = $(AM_CFLAGS) -fPIC
tests_libdevworld_preload_so_LDFLAGS = -shared -Wl,--no-as-needed
tests_libdevworld_preload_so_LDADD = -ldl -lpthread

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
endif

# Adapter correlation: the window, a rule on adapter events, the hold.
if HAVE_UMOCKDEV
check_PROGRAMS += tests/test-e2e-adapter
tests_test_e2e_adapter_SOURCES = tests/test-e2e-adapter.c tests/e2e-util.h
tests_test_e2e_adapter_CFLAGS = $(TEST_CFLAGS) $(UMOCKDEV_CFLAGS)
tests_test_e2e_adapter_LDADD = $(DEVWORLD_LIBS) $(CHECK_LIBS)
TESTS += tests/test-e2e-adapter
endif
