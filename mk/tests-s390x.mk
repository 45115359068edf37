# tests/s390x/: the big-endian tier (unit suite cross-built for s390x, run
# under qemu-user) and the real-kernel tier (zpcid in an s390x guest under
# qemu-system-s390x). Both run from tools/stages.d/, not from make check;
# see docs/s390x-testing.md.
EXTRA_DIST += \
	tools/stages.d/50-bigendian.sh \
	tools/stages.d/60-s390x-guest.sh \
	tests/s390x/lib.sh \
	tests/s390x/bigendian.sh \
	tests/s390x/guest.sh \
	tests/s390x/guest-init.sh \
	tests/s390x/check-guest.py \
	tests/s390x/delegate.c \
	tests/s390x/latency.c \
	tests/s390x/storm.c \
	tests/s390x/error-record.h \
	tests/s390x/rpcit-err/Kbuild \
	tests/s390x/rpcit-err/zpci_rpcit_err.c \
	tests/s390x/guest-etc/passwd \
	tests/s390x/guest-etc/group \
	tests/s390x/guest-etc/dbus-1/zpcid-test-bus.conf \
	tests/s390x/guest-etc/zpcid/zpcid.d/50-s390x-test.json \
	tests/s390x/guest-etc/zpcid/latency.json \
	tests/s390x/guest-etc/zpcid/bench-coalesce-off.json \
	tests/s390x/guest-etc/zpcid/bench-coalesce-on.json
# the patched-kernel tier (kmod/kernel/build.sh, stage 45)
EXTRA_DIST += \
	tools/stages.d/45-kernel-boot.sh \
	tests/s390x/kernel-guest.sh \
	tests/s390x/kernel-guest-init.sh \
	tests/s390x/check-kernel-guest.py \
	tests/s390x/holder.c \
	tests/s390x/kernel-guest-etc/50-kernel-guest.json
EXTRA_DIST += \
	tests/s390x/kernel-guest-xmit/Kbuild \
	tests/s390x/kernel-guest-xmit/zpci_xmit.c
