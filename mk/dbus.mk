# dbus/: the bus policy (made from dbus/org.zpcid1.conf.in) and the
# activation file of zpcid's D-Bus API (daemon/bus*, docs/dbus-api.md).

# The group the bus policy lets through to the state-changing methods;
# zpcid's own check uses "admin_group" of the configuration (keep them equal).
ZPCID_ADMIN_GROUP = zpcid
# zpcictl names it when the bus policy refuses a call.
AM_CPPFLAGS += -DZPCID_ADMIN_GROUP='"$(ZPCID_ADMIN_GROUP)"'

dbuspolicy_DATA = dbus/org.zpcid1.conf
dist_dbussystemservice_DATA = dbus/org.zpcid1.service
EXTRA_DIST += dbus/org.zpcid1.conf.in
CLEANFILES += dbus/org.zpcid1.conf
dbus/org.zpcid1.conf: $(srcdir)/dbus/org.zpcid1.conf.in Makefile
	$(AM_V_GEN)$(MKDIR_P) dbus && $(SED) -e 's|@ADMIN_GROUP[@]|$(ZPCID_ADMIN_GROUP)|g' $< > $@
