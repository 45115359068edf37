# The Check suites of the rooms of common/ and daemon/: each links the
# library it tests and runs no zpcid process. All are in TESTS; those also
# in UNIT_TESTS make the unit tier (make check-unit, run under the
# sanitizers and under valgrind), the others (on a umockdev test bed or a
# private dbus-daemon, durability tests) run with make check only.

## common/

check_PROGRAMS += tests/test-log
tests_test_log_SOURCES = tests/test-log.c
tests_test_log_CFLAGS = $(TEST_CFLAGS)
tests_test_log_LDADD = $(COMMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-log
UNIT_TESTS += tests/test-log

# The action types and results, and their round trip.
check_PROGRAMS += tests/test-action
tests_test_action_SOURCES = tests/test-action.c
tests_test_action_CFLAGS = $(TEST_CFLAGS)
tests_test_action_LDADD = $(COMMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-action
UNIT_TESTS += tests/test-action

check_PROGRAMS += tests/test-jsonpos
tests_test_jsonpos_SOURCES = tests/test-jsonpos.c
tests_test_jsonpos_CFLAGS = $(TEST_CFLAGS)
tests_test_jsonpos_LDADD = $(COMMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-jsonpos
UNIT_TESTS += tests/test-jsonpos

check_PROGRAMS += tests/test-ccdf tests/test-pec tests/test-event
tests_test_ccdf_SOURCES = tests/test-ccdf.c
tests_test_ccdf_CFLAGS = $(TEST_CFLAGS)
tests_test_ccdf_LDADD = $(COMMON_LIBS) $(CHECK_LIBS)
tests_test_pec_SOURCES = tests/test-pec.c
tests_test_pec_CFLAGS = $(TEST_CFLAGS)
tests_test_pec_LDADD = $(COMMON_LIBS) $(CHECK_LIBS)
tests_test_event_SOURCES = tests/test-event.c
tests_test_event_CFLAGS = $(TEST_CFLAGS)
tests_test_event_LDADD = $(COMMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-ccdf tests/test-pec tests/test-event
UNIT_TESTS += tests/test-ccdf tests/test-pec tests/test-event

check_PROGRAMS += tests/test-output tests/test-report-error
tests_test_output_SOURCES = tests/test-output.c
tests_test_output_CFLAGS = $(TEST_CFLAGS)
tests_test_output_LDADD = $(COMMON_LIBS) $(CHECK_LIBS)
tests_test_report_error_SOURCES = tests/test-report-error.c
tests_test_report_error_CFLAGS = $(TEST_CFLAGS)
tests_test_report_error_LDADD = $(COMMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-output tests/test-report-error
UNIT_TESTS += tests/test-output tests/test-report-error

## daemon/: the function and the registry's rooms

# The function state machine against docs/state-machine.md.
check_PROGRAMS += tests/test-function
tests_test_function_SOURCES = tests/test-function.c
tests_test_function_CFLAGS = $(TEST_CFLAGS)
tests_test_function_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-function

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

# A new holder found as it opens the device (daemon/holder-watch.*).
check_PROGRAMS += tests/test-holder-watch
tests_test_holder_watch_SOURCES = tests/test-holder-watch.c
tests_test_holder_watch_CFLAGS = $(TEST_CFLAGS)
tests_test_holder_watch_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-holder-watch
UNIT_TESTS += tests/test-holder-watch

check_PROGRAMS += tests/test-machine
tests_test_machine_SOURCES = tests/test-machine.c
tests_test_machine_CFLAGS = $(TEST_CFLAGS)
tests_test_machine_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-machine
UNIT_TESTS += tests/test-machine

## daemon/: VFIO and the event record's writers

check_PROGRAMS += tests/test-vfio
tests_test_vfio_SOURCES = tests/test-vfio.c tests/fake-vfio.c tests/fake-vfio.h
tests_test_vfio_CFLAGS = $(TEST_CFLAGS)
tests_test_vfio_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-vfio
UNIT_TESTS += tests/test-vfio

# The record's writers without json-c (history line, journal fields, D-Bus
# a{sv}) against json-c's serialisation of the same record.
check_PROGRAMS += tests/test-event-encode
tests_test_event_encode_SOURCES = tests/test-event-encode.c
tests_test_event_encode_CFLAGS = $(TEST_CFLAGS)
tests_test_event_encode_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-event-encode
UNIT_TESTS += tests/test-event-encode

## daemon/: the pipeline, its de-duplication and coalescer (no manager)

check_PROGRAMS += tests/test-dedup
tests_test_dedup_SOURCES = tests/test-dedup.c
tests_test_dedup_CFLAGS = $(TEST_CFLAGS)
tests_test_dedup_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-dedup
UNIT_TESTS += tests/test-dedup

check_PROGRAMS += tests/test-pipeline tests/test-coalesce
tests_test_pipeline_SOURCES = tests/test-pipeline.c
tests_test_pipeline_CFLAGS = $(TEST_CFLAGS)
tests_test_pipeline_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
tests_test_coalesce_SOURCES = tests/test-coalesce.c
tests_test_coalesce_CFLAGS = $(TEST_CFLAGS)
tests_test_coalesce_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-pipeline tests/test-coalesce
UNIT_TESTS += tests/test-pipeline tests/test-coalesce

# Adapter correlation: the correlator.
check_PROGRAMS += tests/test-adapter
tests_test_adapter_SOURCES = tests/test-adapter.c
tests_test_adapter_CFLAGS = $(TEST_CFLAGS)
tests_test_adapter_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-adapter
UNIT_TESTS += tests/test-adapter

## daemon/: the sinks (history, state files, metrics, bus)

check_PROGRAMS += tests/test-state-file
tests_test_state_file_SOURCES = tests/test-state-file.c
tests_test_state_file_CFLAGS = $(TEST_CFLAGS)
tests_test_state_file_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-state-file
UNIT_TESTS += tests/test-state-file

check_PROGRAMS += tests/test-syncer
tests_test_syncer_SOURCES = tests/test-syncer.c
tests_test_syncer_CFLAGS = $(TEST_CFLAGS)
tests_test_syncer_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-syncer
UNIT_TESTS += tests/test-syncer

check_PROGRAMS += tests/test-history
tests_test_history_SOURCES = tests/test-history.c
tests_test_history_CFLAGS = $(TEST_CFLAGS)
tests_test_history_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-history
UNIT_TESTS += tests/test-history

# Kills children at random moments: a durability test, too slow for valgrind.
check_PROGRAMS += tests/test-history-kill
tests_test_history_kill_SOURCES = tests/test-history-kill.c
tests_test_history_kill_CFLAGS = $(TEST_CFLAGS)
tests_test_history_kill_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-history-kill

# The history under a full disk, a read-only state directory, torn files
# (docs/history.md).
check_PROGRAMS += tests/test-history-faults
tests_test_history_faults_SOURCES = tests/test-history-faults.c
tests_test_history_faults_CFLAGS = $(TEST_CFLAGS)
tests_test_history_faults_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-history-faults

# Summaries of a time window (zpcictl events top/rate/decisions).
check_PROGRAMS += tests/test-history-summary
tests_test_history_summary_SOURCES = tests/test-history-summary.c
tests_test_history_summary_CFLAGS = $(TEST_CFLAGS)
tests_test_history_summary_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-history-summary
UNIT_TESTS += tests/test-history-summary

check_PROGRAMS += tests/test-metrics
tests_test_metrics_SOURCES = tests/test-metrics.c
tests_test_metrics_CFLAGS = $(TEST_CFLAGS)
tests_test_metrics_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-metrics
UNIT_TESTS += tests/test-metrics

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

## daemon/: the configuration and the policy

check_PROGRAMS += tests/test-config
tests_test_config_SOURCES = tests/test-config.c
tests_test_config_CFLAGS = $(TEST_CFLAGS)
tests_test_config_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-config
UNIT_TESTS += tests/test-config

# The table-driven validator (daemon/conf-table.*) on its own.
check_PROGRAMS += tests/test-conf-table
tests_test_conf_table_SOURCES = tests/test-conf-table.c
tests_test_conf_table_CFLAGS = $(TEST_CFLAGS)
tests_test_conf_table_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-conf-table
UNIT_TESTS += tests/test-conf-table

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

check_PROGRAMS += tests/test-policy-store
tests_test_policy_store_SOURCES = tests/test-policy-store.c
tests_test_policy_store_CFLAGS = $(TEST_CFLAGS)
tests_test_policy_store_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-policy-store
UNIT_TESTS += tests/test-policy-store

## daemon/: the actions

check_PROGRAMS += tests/test-inhibit
tests_test_inhibit_SOURCES = tests/test-inhibit.c
tests_test_inhibit_CFLAGS = $(TEST_CFLAGS)
tests_test_inhibit_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-inhibit
UNIT_TESTS += tests/test-inhibit

check_PROGRAMS += tests/test-spawn
tests_test_spawn_SOURCES = tests/test-spawn.c
tests_test_spawn_CFLAGS = $(TEST_CFLAGS)
tests_test_spawn_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-spawn
UNIT_TESTS += tests/test-spawn

check_PROGRAMS += tests/test-actions
tests_test_actions_SOURCES = tests/test-actions.c
tests_test_actions_CFLAGS = $(TEST_CFLAGS)
tests_test_actions_LDADD = $(DAEMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-actions
UNIT_TESTS += tests/test-actions
