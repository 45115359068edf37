# common/: code shared by the daemon, zpcictl and the tests.
noinst_LIBRARIES += common/libzpcicommon.a
common_libzpcicommon_a_SOURCES = \
	common/macro.h \
	common/log.c common/log.h \
	common/io-util.c common/io-util.h \
	common/event.h common/ccdf.h common/pec.h
common_libzpcicommon_a_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(JSONC_CFLAGS)
COMMON_LIBS = common/libzpcicommon.a $(SYSTEMD_LIBS) $(JSONC_LIBS)
