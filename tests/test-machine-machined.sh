#!/bin/bash
# The holder's machine end to end (tests/machine-e2e.sh), with the real systemd-machined on the test bus.
MACHINE_MODE=machined
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/machine-e2e.sh"
