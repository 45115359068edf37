# The configuration loader (daemon/config.*) and its tests.
daemon_libzpcid_a_SOURCES += \
	daemon/config.c daemon/config.h
