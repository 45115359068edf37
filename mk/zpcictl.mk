# zpcictl/: the operators' CLI, and the shared code it is built on
# (common/output: --format; common/report-error: the sysfs report_error record).
common_libzpcicommon_a_SOURCES += \
	common/output.c common/output.h \
	common/report-error.c common/report-error.h

check_PROGRAMS += tests/test-output tests/test-report-error
tests_test_output_SOURCES = tests/test-output.c
tests_test_output_CFLAGS = $(TEST_CFLAGS)
tests_test_output_LDADD = $(COMMON_LIBS) $(CHECK_LIBS)
tests_test_report_error_SOURCES = tests/test-report-error.c
tests_test_report_error_CFLAGS = $(TEST_CFLAGS)
tests_test_report_error_LDADD = $(COMMON_LIBS) $(CHECK_LIBS)
TESTS += tests/test-output tests/test-report-error
UNIT_TESTS += tests/test-output tests/test-report-error

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

# s390-tools options against a temporary sysfs tree, without a daemon.
TESTS += tests/test-zpcictl-legacy.sh
EXTRA_DIST += tests/test-zpcictl-legacy.sh tests/report-record.py

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
