# The error record (CCDF), event codes and the event record (common/), the
# VFIO device access of the daemon (daemon/vfio*), and their unit tests.
common_libzpcicommon_a_SOURCES += \
	common/ccdf.c common/ccdf.h \
	common/pec.c common/pec.h \
	common/event.c common/event.h

common_libzpcicommon_a_SOURCES += common/vfio-zpci.h

daemon_libzpcid_a_SOURCES += \
	daemon/vfio.c daemon/vfio.h \
	daemon/vfio-v20.c \
	daemon/vfio-function.c daemon/vfio-function.h

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
