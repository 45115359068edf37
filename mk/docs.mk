# docs/: the documents that go into the tarball (README.md is listed in
# Makefile.am, the manual pages with their programs).
EXTRA_DIST += \
	docs/architecture.md \
	docs/benchmarks.md \
	docs/configuration.md \
	docs/dbus-api.md \
	docs/history.md \
	docs/installing.md \
	docs/metrics.md \
	docs/s390x-testing.md \
	docs/service-hardening.md \
	docs/simulated-lpar.md \
	docs/state-machine.md
