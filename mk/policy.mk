# The policy engine (daemon/policy.*) and its rate limits (daemon/ratelimit.*).
daemon_libzpcid_a_SOURCES += \
	daemon/policy.c daemon/policy.h daemon/policy-internal.h \
	daemon/policy-parse.c daemon/policy-state.c daemon/policy-explain.c \
	daemon/ratelimit.c daemon/ratelimit.h

check_PROGRAMS += tests/test-ratelimit
tests_test_ratelimit_SOURCES = tests/test-ratelimit.c
tests_test_ratelimit_CFLAGS = $(TEST_CFLAGS)
tests_test_ratelimit_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-ratelimit
UNIT_TESTS += tests/test-ratelimit

check_PROGRAMS += tests/test-policy
tests_test_policy_SOURCES = tests/test-policy.c
tests_test_policy_CFLAGS = $(TEST_CFLAGS)
tests_test_policy_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-policy
UNIT_TESTS += tests/test-policy
