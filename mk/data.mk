# Installed data beside the programs: conf/ (the shipped configuration),
# units/ (the service unit, sysusers.d and tmpfiles.d entries), catalog/
# (the journal catalog) and contrib/prometheus/ (the alerting rules).
zpcidconfdir = $(sysconfdir)/zpcid
dist_zpcidconf_DATA = conf/zpcid.json

systemdsystemunit_DATA = units/zpcid.service
EXTRA_DIST += units/zpcid.service.in
CLEANFILES += units/zpcid.service
units/zpcid.service: $(srcdir)/units/zpcid.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) units && $(SED) -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' $< > $@

# Installing makes the directories the daemon expects; the state directory is
# normally created by systemd (StateDirectory=).
install-data-hook:
	$(MKDIR_P) '$(DESTDIR)$(sysconfdir)/zpcid/zpcid.d'

catalog_DATA = catalog/zpcid.catalog
EXTRA_DIST += catalog/zpcid.catalog

# The admin group of the bus policy (dbus/, mk/dbus.mk) as a system group, and
# the state and runtime directories for a zpcid started outside its unit.
sysusers_DATA = units/sysusers.d/zpcid.conf
tmpfiles_DATA = units/tmpfiles.d/zpcid.conf
EXTRA_DIST += units/zpcid.sysusers.in units/zpcid.tmpfiles.in
CLEANFILES += $(sysusers_DATA) $(tmpfiles_DATA)
units/sysusers.d/zpcid.conf: $(srcdir)/units/zpcid.sysusers.in Makefile
	$(AM_V_GEN)$(MKDIR_P) units/sysusers.d && $(SED) -e 's|@ADMIN_GROUP[@]|$(ZPCID_ADMIN_GROUP)|g' $< > $@
units/tmpfiles.d/zpcid.conf: $(srcdir)/units/zpcid.tmpfiles.in Makefile
	$(AM_V_GEN)$(MKDIR_P) units/tmpfiles.d && \
	  $(SED) -e 's|@localstatedir[@]|$(localstatedir)|g' -e 's|@runstatedir[@]|$(runstatedir)|g' $< > $@

# The alerting rules for zpcid's metrics (their promtool unit tests are in
# mk/tests-system.mk).
zpcidprometheusdir = $(datadir)/zpcid/prometheus
dist_zpcidprometheus_DATA = contrib/prometheus/zpcid.rules.yml
