# Tests of the programs as an operator meets them, without a simulated
# LPAR: zpcid and zpcictl as processes, against the real journald,
# dbus-daemon with the shipped policy, promtool, systemd-journal-remote and
# systemd-analyze (integration tier: in TESTS, not in UNIT_TESTS). Each
# skips (77) with its reason where it cannot run (no root, a tool missing).

# The daemon's life cycle against a stand-in service manager; its records in
# a real journald; zpcid --explain against a saved sysfs tree.
TESTS += tests/test-daemon-core.sh
EXTRA_DIST += tests/test-daemon-core.sh
TESTS += tests/test-journal.sh
EXTRA_DIST += tests/test-journal.sh
TESTS += tests/test-explain.sh
EXTRA_DIST += tests/test-explain.sh

# A second SIGTERM while zpcid shuts down (docs/history.md).
TESTS += tests/test-shutdown.sh
EXTRA_DIST += tests/test-shutdown.sh

# The system bus going away under zpcid: an orderly stop, exit 1, a restart.
TESTS += tests/test-bus-lost.sh
EXTRA_DIST += tests/test-bus-lost.sh

# --check-config against the shipped file and a catalogue of broken ones.
TESTS += tests/test-check-config.sh
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

# Against a private dbus-daemon loading the shipped policy (root only; skips otherwise).
TESTS += tests/test-dbus.sh
EXTRA_DIST += tests/test-dbus.sh tests/dbus/test-system-bus.conf tests/dbus-call.py

# zpcictl: s390-tools options against a temporary sysfs tree, without a daemon.
TESTS += tests/test-zpcictl-legacy.sh
EXTRA_DIST += tests/test-zpcictl-legacy.sh tests/report-record.py

# zpcictl events top|rate|decisions and GetEventSummary on a known history
# (written by tests/history-write).
check_PROGRAMS += tests/history-write
tests_history_write_SOURCES = tests/history-write.c
tests_history_write_CFLAGS = $(TEST_CFLAGS)
tests_history_write_LDADD = $(DAEMON_LIBS)
TESTS += tests/test-events-summary.sh
EXTRA_DIST += tests/test-events-summary.sh

# Machine output to util_fmt's rules: every format with hostile strings,
# parsed with util_fmt's rules and eval'd by bash (tests/output-dump drives
# common/output as zpcictl does).
check_PROGRAMS += tests/output-dump
tests_output_dump_SOURCES = tests/output-dump.c
tests_output_dump_CFLAGS = $(TEST_CFLAGS)
tests_output_dump_LDADD = $(COMMON_LIBS)
TESTS += tests/test-output-formats.sh
EXTRA_DIST += tests/test-output-formats.sh

# The alerting rules and their unit tests (promtool).
TESTS += tests/test-prometheus-rules.sh
EXTRA_DIST += tests/test-prometheus-rules.sh contrib/prometheus/zpcid.rules.test.yml

# The central journal: systemd-journal-upload to systemd-journal-remote.
TESTS += tests/test-journal-remote.sh
EXTRA_DIST += tests/test-journal-remote.sh

# The journal catalog against the MESSAGE_IDs and a private journald; the
# service unit's verify/security check (docs/service-hardening.md).
TESTS += \
	tests/test-catalog.sh \
	tests/test-unit.sh
EXTRA_DIST += \
	tests/test-catalog.sh \
	tests/test-unit.sh
