# zpcictl/: the operators' CLI, its bash completion and zpcictl(8). The
# shared code it is built on is in common/ (mk/common.mk).

# Built as zpcictl/zpcictl: the source directory has the program's name.
# Installed in sbindir, where s390-tools keeps its zpcictl: /usr/sbin comes
# before /usr/bin in root's PATH (docs/installing.md).
sbin_PROGRAMS += zpcictl/zpcictl
zpcictl_zpcictl_SOURCES = \
	zpcictl/zpcictl.c \
	zpcictl/client.c zpcictl/client.h \
	zpcictl/device.c zpcictl/device.h \
	zpcictl/events-summary.c zpcictl/events-summary.h
zpcictl_zpcictl_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(JSONC_CFLAGS)
zpcictl_zpcictl_LDADD = $(COMMON_LIBS)

# Installed under the command's name, as bash-completion looks it up.
EXTRA_DIST += zpcictl/zpcictl.bash-completion
install-data-local: install-zpcictl-completion
install-zpcictl-completion:
	$(MKDIR_P) '$(DESTDIR)$(bashcompletiondir)'
	$(INSTALL_DATA) $(srcdir)/zpcictl/zpcictl.bash-completion '$(DESTDIR)$(bashcompletiondir)/zpcictl'
uninstall-local: uninstall-zpcictl-completion
uninstall-zpcictl-completion:
	rm -f '$(DESTDIR)$(bashcompletiondir)/zpcictl'
.PHONY: install-zpcictl-completion uninstall-zpcictl-completion

if HAVE_GO_MD2MAN
man_MANS += zpcictl.8
CLEANFILES += zpcictl.8
zpcictl.8: $(srcdir)/zpcictl.8.md
	$(AM_V_GEN)$(GO_MD2MAN) -in $(srcdir)/zpcictl.8.md -out $@
endif
EXTRA_DIST += zpcictl.8.md
