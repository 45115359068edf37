#!/bin/bash
# The holder's machine end to end (tests/machine-e2e.sh), with a stand-in for systemd-machined (tests/machined-standin.py) behind its bus name.
MACHINE_MODE=standin
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/machine-e2e.sh"
