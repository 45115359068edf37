# units/, conf/, man pages: installed data.
zpcidconfdir = $(sysconfdir)/zpcid
dist_zpcidconf_DATA = conf/zpcid.json

systemdsystemunit_DATA = units/zpcid.service
EXTRA_DIST += units/zpcid.service.in
CLEANFILES += units/zpcid.service
units/zpcid.service: $(srcdir)/units/zpcid.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) units && $(SED) -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' $< > $@

if HAVE_GO_MD2MAN
man_MANS += zpcid.8
CLEANFILES += zpcid.8
zpcid.8: $(srcdir)/zpcid.8.md
	$(AM_V_GEN)$(GO_MD2MAN) -in $(srcdir)/zpcid.8.md -out $@
endif
EXTRA_DIST += zpcid.8.md

# Installing makes the directories the daemon expects; the state directory is
# normally created by systemd (StateDirectory=).
install-data-hook:
	$(MKDIR_P) '$(DESTDIR)$(sysconfdir)/zpcid/zpcid.d'

catalog_DATA = catalog/zpcid.catalog
EXTRA_DIST += catalog/zpcid.catalog

# The admin group of the bus policy (dbus/, mk/bus.mk) as a system group, and
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
