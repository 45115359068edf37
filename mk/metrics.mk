# Monitoring: the Prometheus text exposition shared by zpcid's textfile writer
# and zpcictl metrics (common/metrics), the writer (daemon/metrics-file), the
# alerting rules with their unit tests, and the tests against the real
# node_exporter, promtool and systemd-journal-remote.
common_libzpcicommon_a_SOURCES += common/metrics.c common/metrics.h common/messages.h
daemon_libzpcid_a_SOURCES += daemon/metrics-file.c daemon/metrics-file.h

# Against the real node_exporter and promtool; zpcid on the simulated LPAR,
# so after the other simulated-LPAR tests (see mk/demo.mk).
TESTS += tests/test-metrics-prometheus.sh
EXTRA_DIST += tests/test-metrics-prometheus.sh
tests/test-metrics-prometheus.log: tests/test-demo.log

check_PROGRAMS += tests/test-metrics
tests_test_metrics_SOURCES = tests/test-metrics.c
tests_test_metrics_CFLAGS = $(TEST_CFLAGS)
tests_test_metrics_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-metrics
UNIT_TESTS += tests/test-metrics

# The alerting rules and their unit tests (promtool).
TESTS += tests/test-prometheus-rules.sh
EXTRA_DIST += tests/test-prometheus-rules.sh contrib/prometheus/zpcid.rules.test.yml
zpcidprometheusdir = $(datadir)/zpcid/prometheus
dist_zpcidprometheus_DATA = contrib/prometheus/zpcid.rules.yml

# The central journal: systemd-journal-upload to systemd-journal-remote.
TESTS += tests/test-journal-remote.sh
EXTRA_DIST += tests/test-journal-remote.sh

# Machine output to util_fmt's rules: every format with hostile strings,
# parsed with util_fmt's rules and eval'd by bash (tests/output-dump drives
# common/output as zpcictl does).
check_PROGRAMS += tests/output-dump
tests_output_dump_SOURCES = tests/output-dump.c
tests_output_dump_CFLAGS = $(TEST_CFLAGS)
tests_output_dump_LDADD = $(COMMON_LIBS)
TESTS += tests/test-output-formats.sh
EXTRA_DIST += tests/test-output-formats.sh
EXTRA_DIST += docs/metrics.md
