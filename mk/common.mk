# common/: the library shared by zpcid, zpcid-action, zpcictl and the tests
# (common/libzpcicommon.a). Its unit tests are in mk/tests-unit.mk.
noinst_LIBRARIES += common/libzpcicommon.a
common_libzpcicommon_a_SOURCES = \
	common/macro.h \
	common/log.c common/log.h \
	common/io-util.c common/io-util.h \
	common/event.h common/ccdf.h common/pec.h
common_libzpcicommon_a_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(JSONC_CFLAGS)
COMMON_LIBS = common/libzpcicommon.a $(SYSTEMD_LIBS) $(JSONC_LIBS)

# The action types and results (common/action.*).
common_libzpcicommon_a_SOURCES += common/action.c common/action.h

# The clock in µs (common/time-util.*).
common_libzpcicommon_a_SOURCES += common/time-util.c common/time-util.h

# The names of the D-Bus API and its a{sv} entries, for the daemon and zpcictl.
common_libzpcicommon_a_SOURCES += common/bus-names.h \
	common/bus-dict.c common/bus-dict.h

# The strict JSON parser of the configuration (common/jsonpos.*).
common_libzpcicommon_a_SOURCES += \
	common/jsonpos.c common/jsonpos.h

# The error record (CCDF), event codes, the event record, and the vfio
# uAPI of zPCI devices.
common_libzpcicommon_a_SOURCES += \
	common/ccdf.c common/ccdf.h \
	common/pec.c common/pec.h \
	common/event.c common/event.h

common_libzpcicommon_a_SOURCES += common/vfio-zpci.h

# The Prometheus text exposition shared by zpcid's textfile writer and
# zpcictl metrics (common/metrics.*), and the journal MESSAGE_IDs.
common_libzpcicommon_a_SOURCES += common/metrics.c common/metrics.h common/messages.h

# Machine output of zpcictl (common/output: --format) and the sysfs
# report_error record (common/report-error).
common_libzpcicommon_a_SOURCES += \
	common/output.c common/output.h \
	common/report-error.c common/report-error.h
