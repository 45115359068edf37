# The configuration loader (daemon/config.*), the strict JSON parser it uses
# (common/jsonpos.*), and their tests.
common_libzpcicommon_a_SOURCES += \
	common/jsonpos.c common/jsonpos.h
daemon_libzpcid_a_SOURCES += \
	daemon/config.c daemon/config.h
daemon_libzpcid_a_SOURCES += daemon/conf-table.c daemon/conf-table.h

check_PROGRAMS += tests/test-jsonpos tests/test-config
tests_test_jsonpos_SOURCES = tests/test-jsonpos.c
tests_test_jsonpos_CFLAGS = $(TEST_CFLAGS)
tests_test_jsonpos_LDADD = $(COMMON_LIBS) $(CHECK_LIBS)
tests_test_config_SOURCES = tests/test-config.c
tests_test_config_CFLAGS = $(TEST_CFLAGS)
tests_test_config_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-jsonpos tests/test-config tests/test-check-config.sh
UNIT_TESTS += tests/test-jsonpos tests/test-config

# --check-config against the shipped file and a catalogue of broken ones.
EXTRA_DIST += \
	tests/test-check-config.sh \
	tests/data/config/bad-action.json \
	tests/data/config/bad-enum.json \
	tests/data/config/bad-escape.json \
	tests/data/config/bad-rate.json \
	tests/data/config/bad-syntax.json \
	tests/data/config/duplicate-key.json \
	tests/data/config/duplicate-rule.json \
	tests/data/config/missing-schema.json \
	tests/data/config/out-of-range.json \
	tests/data/config/relative-path.json \
	tests/data/config/trailing-garbage.json \
	tests/data/config/unknown-key.json \
	tests/data/config/unknown-nested-key.json \
	tests/data/config/valid-main.json \
	tests/data/config/wrong-schema.json \
	tests/data/config/wrong-type.json \
	tests/data/config/dropin-breaks.d/50-local.json \
	tests/data/config/dropin-order.d/10-first.json \
	tests/data/config/dropin-order.d/20-second.json \
	tests/data/config/dropin-order-reversed.d/10-first.json \
	tests/data/config/dropin-order-reversed.d/20-second.json

EXTRA_DIST += docs/configuration.md

# The table-driven validator (daemon/conf-table.*) on its own.
check_PROGRAMS += tests/test-conf-table
tests_test_conf_table_SOURCES = tests/test-conf-table.c
tests_test_conf_table_CFLAGS = $(TEST_CFLAGS)
tests_test_conf_table_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-conf-table
UNIT_TESTS += tests/test-conf-table
