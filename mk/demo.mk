# The demo (tools/demo: zpcid on the simulated LPAR with a private bus), the
# tests that run the real zpcid with functions on a private dbus-daemon
# loading the shipped policy (they skip (77) without root, umockdev's
# tests/zpci-sim or python3-dbus), the journal catalog test and the service
# unit's verify/security check.
TESTS += \
	tests/test-zpcictl-functions.sh \
	tests/test-dbus-functions.sh \
	tests/test-demo.sh \
	tests/test-state-machine.sh \
	tests/test-catalog.sh \
	tests/test-unit.sh
EXTRA_DIST += \
	tests/simbus.sh \
	tests/dbus-signals.py \
	tests/test-zpcictl-functions.sh \
	tests/test-dbus-functions.sh \
	tests/test-demo.sh \
	tests/test-state-machine.sh \
	tests/test-catalog.sh \
	tests/test-unit.sh \
	tools/demo \
	tests/data/lpar/demo.json \
	tests/data/lpar/demo-tour.scenario \
	docs/service-hardening.md

# Daemons of simultaneous simulated LPARs see each other as the holders of
# their vfio devices (the owner scan of /proc matches /dev/vfio/... by path),
# so these three run one after another.
tests/test-dbus-functions.log: tests/test-zpcictl-functions.log
tests/test-demo.log: tests/test-dbus-functions.log
tests/test-state-machine.log: tests/test-demo.log

# Adapter correlation, AdapterEvent and zpcictl adapters on the simulated
# LPAR, after the three above for the same reason.
TESTS += tests/test-zpcictl-adapters.sh
EXTRA_DIST += tests/test-zpcictl-adapters.sh
tests/test-zpcictl-adapters.log: tests/test-state-machine.log

# The demo's LPAR (lpar16.lpar with the adapter of 0x10/0x11 for a guest).
EXTRA_DIST += tests/data/lpar/demo.lpar
