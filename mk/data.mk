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
