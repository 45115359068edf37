#!/bin/bash
# The holder's machine end to end (tests/machine-e2e.sh), without systemd-machined: the holder's unit from its cgroup and its command.
MACHINE_MODE=fallback
. "${ZPCID_TOP_SRCDIR:-$(dirname "$0")/..}/tests/machine-e2e.sh"
