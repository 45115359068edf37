# daemon/: zpcid and zpcid-action. Everything but the two main programs
# lives in a library the tests link (daemon/libzpcid.a); its sources are
# listed below by room (docs/architecture.md): the core, the sources, the
# sinks, the configuration and policy, the actions.
# The unit tests of these rooms are in mk/tests-unit.mk, the bus policy and
# activation files in mk/dbus.mk.
noinst_LIBRARIES += daemon/libzpcid.a
daemon_libzpcid_a_SOURCES = \
	daemon/manager.c daemon/manager.h \
	daemon/function.h \
	daemon/pipeline.c daemon/pipeline.h \
	daemon/dedup.c daemon/dedup.h \
	daemon/coalesce.c daemon/coalesce.h \
	daemon/sinks.c daemon/sinks.h
daemon_libzpcid_a_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(UDEV_CFLAGS) $(JSONC_CFLAGS) $(PCI_CFLAGS) $(EVENT_CFLAGS)
DAEMON_LIBS = daemon/libzpcid.a $(COMMON_LIBS) $(UDEV_LIBS) $(PCI_LIBS) $(EVENT_LIBS) -lpthread

# The function registry (inventory: function.c, sysfs-zpci.*, owner.*) and
# the kernel log source (kmsg.*).
daemon_libzpcid_a_SOURCES += \
	daemon/function.c \
	daemon/sysfs-zpci.c daemon/sysfs-zpci.h \
	daemon/owner.c daemon/owner.h \
	daemon/kmsg.c daemon/kmsg.h \
	daemon/registry.c daemon/registry.h

# The rooms beside the inventory: the journal fields of a function, the
# ownership mode (claims, delegations), the kernel's recovery uevents.
daemon_libzpcid_a_SOURCES += \
	daemon/function-fields.c daemon/function-fields.h \
	daemon/ownership.c daemon/ownership.h \
	daemon/recovery-uevent.c daemon/recovery-uevent.h

# Opens and closes of the functions' vfio nodes (holder-watch.*).
daemon_libzpcid_a_SOURCES += daemon/holder-watch.c daemon/holder-watch.h

# The holder as the operator names it: its machine (systemd-machined) and unit.
daemon_libzpcid_a_SOURCES += daemon/machine.c daemon/machine.h

# The VFIO device access (vfio*).
daemon_libzpcid_a_SOURCES += \
	daemon/vfio.c daemon/vfio.h \
	daemon/vfio-v20.c \
	daemon/vfio-function.c daemon/vfio-function.h

# Adapter correlation: the correlator (pure) and its daemon side.
daemon_libzpcid_a_SOURCES += daemon/adapter.c daemon/adapter.h
daemon_libzpcid_a_SOURCES += daemon/adapter-events.c daemon/adapter-events.h

# History, state files and their syncer, summaries of a time window.
daemon_libzpcid_a_SOURCES += \
	daemon/state-file.c daemon/state-file.h \
	daemon/history.c daemon/history.h \
	daemon/syncer.c daemon/syncer.h
daemon_libzpcid_a_SOURCES += daemon/history-summary.c daemon/history-summary.h

# The metrics textfile writer (metrics-file.*).
daemon_libzpcid_a_SOURCES += daemon/metrics-file.c daemon/metrics-file.h

# The D-Bus API of the daemon (bus*).
daemon_libzpcid_a_SOURCES += \
	daemon/bus.c daemon/bus.h daemon/bus-private.h \
	daemon/bus-manager.c \
	daemon/bus-function.c \
	daemon/bus-util.c daemon/bus-util.h

# The configuration loader (config.*) and its table-driven validator
# (conf-table.*).
daemon_libzpcid_a_SOURCES += \
	daemon/config.c daemon/config.h
daemon_libzpcid_a_SOURCES += daemon/conf-table.c daemon/conf-table.h

# The policy engine (policy*), its rate limits (ratelimit.*), its stored
# state (policy-store.*) and its explanation (explain.*).
daemon_libzpcid_a_SOURCES += \
	daemon/policy.c daemon/policy.h daemon/policy-internal.h \
	daemon/policy-parse.c daemon/policy-state.c daemon/policy-explain.c \
	daemon/ratelimit.c daemon/ratelimit.h
daemon_libzpcid_a_SOURCES += daemon/policy-store.c daemon/policy-store.h
daemon_libzpcid_a_SOURCES += daemon/explain.c daemon/explain.h

# The actions: inhibitors, the spawner of child processes, sysfs writes.
daemon_libzpcid_a_SOURCES += \
	daemon/inhibit.c daemon/inhibit.h \
	daemon/spawn.c daemon/spawn.h \
	daemon/sysfs-write.c daemon/sysfs-write.h \
	daemon/actions.c daemon/actions.h

sbin_PROGRAMS += zpcid
zpcid_SOURCES = daemon/main.c
zpcid_CFLAGS = $(daemon_libzpcid_a_CFLAGS)
zpcid_LDADD = $(DAEMON_LIBS)

# zpcid-action: the helper program that carries out one disruptive action
# (daemon/action-helper.c); zpcid runs it through its spawner. Tests and the
# simulated LPAR run the one of the build tree ($ZPCID_ACTION_HELPER).
pkglibexec_PROGRAMS = zpcid-action
zpcid_action_SOURCES = daemon/action-helper.c
zpcid_action_LDADD = daemon/libzpcid.a $(COMMON_LIBS)
AM_CPPFLAGS += -DZPCID_ACTION_HELPER_PATH=\"$(pkglibexecdir)/zpcid-action\"

# zpcid(8).
if HAVE_GO_MD2MAN
man_MANS += zpcid.8
CLEANFILES += zpcid.8
zpcid.8: $(srcdir)/zpcid.8.md
	$(AM_V_GEN)$(GO_MD2MAN) -in $(srcdir)/zpcid.8.md -out $@
endif
EXTRA_DIST += zpcid.8.md
