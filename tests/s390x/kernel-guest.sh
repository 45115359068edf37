#!/bin/bash
# tests/s390x/kernel-guest.sh [BUILD_DIR] - zpcid against the patched kernel.
#
# Builds (or takes from the cache) the s390x kernel of kmod/kernel/build.sh:
# linux-source-6.12 with the series of kmod/patches, boots it under
# qemu-system-s390x (TCG) with four e1000e zPCI functions, runs
# tests/s390x/kernel-guest-init.sh as /init and judges the console output
# with tests/s390x/check-kernel-guest.py.  zpcid uses the error feature of
# the kernel itself: no test module provides it here.  The guest loads two
# helper modules: tests/s390x/rpcit-err, which makes QEMU raise real error
# events, and tests/s390x/kernel-guest-xmit, which sends frames through the
# e1000e driver of a function once zpcid has released it.
#
# Writes BUILD_DIR/kernel-guest/results.txt ("PASS|FAIL|SKIP name: reason"
# per check).  Exit status: 0 every check passed, 77 none failed but some
# were skipped (or the machine may not install what the tier needs), 1 a
# check failed, or the kernel could not be built or booted.  On failure the
# console log is copied to $ZPCID_TOP/build/s390x-kernel-guest-console.log.
#
# Environment: ZPCID_GUEST_TIMEOUT (seconds for the boot, default 600),
# GL_TEE=1 (show the console while it runs).
set -uo pipefail
S390X_TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$S390X_TOP/build-s390x}
# shellcheck source=tests/s390x/lib.sh
. "$S390X_TOP/tests/s390x/lib.sh"
HERE=$S390X_TOP/tests/s390x
W=$BUILD/kernel-guest
KEEP=$S390X_TOP/build/s390x-kernel-guest-console.log

t0=$(date +%s)
say() { echo "[s390x-kernel-guest $(($(date +%s) - t0))s] $*" >&2; }
harness_fail() {
	say "harness: $*"
	mkdir -p "$W"
	echo "FAIL harness: $*" >"$W/results.txt"
	if [ -s "$W/console.log" ]; then
		mkdir -p "$(dirname "$KEEP")"
		cp "$W/console.log" "$KEEP"
	fi
	exit 1
}

mkdir -p "$W"
rm -f "$W/results.txt"

# --- 1. the kernel ----------------------------------------------------------------
# A machine that has (or may install) the packages must build and boot it:
# every failure from here on is a FAIL, never a skip.
s390x_sysroot
rc=$?
if [ $rc = 77 ]; then
	echo "SKIP s390x-kernel-guest: the host tools are missing and may not be installed" >"$W/results.txt"
	exit 77
fi
[ $rc = 0 ] || harness_fail "no s390x sysroot"
KOUT=$("$S390X_TOP/kmod/kernel/build.sh" 2> >(tee "$W/kernel-build.err" >&2) | tail -1)
[ -n "$KOUT" ] && [ -e "$KOUT/.complete" ] || harness_fail "the patched kernel does not build ($(grep FAIL "$W/kernel-build.err" | tail -1))"
KREL=$(cat "$KOUT/kernelrelease")
KOBJ=$(sed -n 's/^obj=//p' "$KOUT/info")
say "kernel $KREL ($KOUT, built in $(cat "$KOUT/build-seconds") s)"

# --- 2. zpcid, zpcictl, the holder, the RPCIT module --------------------------------
s390x_configure "$BUILD" || harness_fail "configure for s390x failed"
if ! make -C "$BUILD" -j"$(nproc)" -s >"$W/make.out" 2>&1; then
	say "full cross build failed, building zpcid and zpcictl alone"
	make -C "$BUILD" -j"$(nproc)" -k -s zpcid zpcid-action >>"$W/make.out" 2>&1 ||
		{ tail -30 "$W/make.out" >&2; harness_fail "zpcid does not cross-build for s390x"; }
	make -C "$BUILD" -s zpcictl/zpcictl dbus/org.zpcid1.conf >>"$W/make.out" 2>&1 || true
fi
s390x-linux-gnu-gcc -O2 -g -Wall -Wextra -Wno-unused-parameter -Werror --sysroot="$S390X_SYSROOT" \
	-o "$W/zpcid-test-holder" "$HERE/holder.c" >>"$W/make.out" 2>&1 ||
	{ tail -30 "$W/make.out" >&2; harness_fail "tests/s390x/holder.c does not cross-build"; }
qemu-s390x-static -L "$S390X_SYSROOT" "$BUILD/zpcid" --check-config \
	--config "$S390X_TOP/conf/zpcid.json" --config-dropins "$HERE/kernel-guest-etc" \
	>"$W/check-config.out" 2>&1
echo "rc=$?" >>"$W/check-config.out"

rm -rf "$W/rpcit-err"
cp -r "$HERE/rpcit-err" "$W/rpcit-err"
make -s -C "$KOBJ" M="$W/rpcit-err" ARCH=s390 CROSS_COMPILE=s390x-linux-gnu- modules \
	>"$W/modules.out" 2>&1 && [ -s "$W/rpcit-err/zpci_rpcit_err.ko" ] ||
	{ cat "$W/modules.out" >&2; harness_fail "tests/s390x/rpcit-err does not build against $KREL"; }
rm -rf "$W/kernel-guest-xmit"
cp -r "$HERE/kernel-guest-xmit" "$W/kernel-guest-xmit"
make -s -C "$KOBJ" M="$W/kernel-guest-xmit" ARCH=s390 CROSS_COMPILE=s390x-linux-gnu- modules \
	>"$W/modules.out" 2>&1 && [ -s "$W/kernel-guest-xmit/zpci_xmit.ko" ] ||
	{ cat "$W/modules.out" >&2; harness_fail "tests/s390x/kernel-guest-xmit does not build against $KREL"; }
say "user space and module built"

# --- 3. guest root ------------------------------------------------------------------
# busybox and QEMU: the same packages the Debian-kernel guest uses
gl_kernel || harness_fail "QEMU or busybox not available"
R=$W/root
rm -rf "$R" "$W/console.log"
mkdir -p "$R"/etc/zpcid/zpcid.d "$R"/etc/dbus-1 "$R"/usr/share/dbus-1/system.d "$R"/lib/modules/extra \
	"$R"/var/lib "$R"/root
cp "$HERE/kernel-guest-init.sh" "$R/init"
chmod 755 "$R/init"
s390x_install_elf "$R" "$BUILD/zpcid" usr/sbin/zpcid || harness_fail "cannot install zpcid"
# the helper that carries out disruptive actions, where zpcid looks for it
s390x_install_elf "$R" "$BUILD/zpcid-action" usr/libexec/zpcid/zpcid-action || harness_fail "cannot install zpcid-action"
if [ -f "$BUILD/zpcictl/zpcictl" ]; then
	s390x_install_elf "$R" "$BUILD/zpcictl/zpcictl" usr/bin/zpcictl || harness_fail "cannot install zpcictl"
fi
s390x_install_elf "$R" "$W/zpcid-test-holder" usr/bin/zpcid-test-holder || harness_fail "cannot install the holder"
s390x_install_elf "$R" "$S390X_SYSROOT/bin/udevadm" bin/udevadm || harness_fail "cannot install udevadm"
mkdir -p "$R/lib/systemd"
ln -sf /bin/udevadm "$R/lib/systemd/systemd-udevd"
s390x_install_elf "$R" "$S390X_SYSROOT/usr/bin/dbus-daemon" usr/bin/dbus-daemon || harness_fail "cannot install dbus-daemon"
s390x_install_elf "$R" "$S390X_SYSROOT/usr/bin/dbus-send" usr/bin/dbus-send || harness_fail "cannot install dbus-send"
cp "$S390X_TOP/conf/zpcid.json" "$R/etc/zpcid/zpcid.json"
cp "$HERE"/kernel-guest-etc/*.json "$R/etc/zpcid/zpcid.d/"
cp "$HERE/guest-etc/dbus-1/zpcid-test-bus.conf" "$R/etc/dbus-1/"
cp "$HERE/guest-etc/passwd" "$HERE/guest-etc/group" "$R/etc/"
[ -f "$BUILD/dbus/org.zpcid1.conf" ] && cp "$BUILD/dbus/org.zpcid1.conf" "$R/usr/share/dbus-1/system.d/"
cp "$W/rpcit-err/zpci_rpcit_err.ko" "$W/kernel-guest-xmit/zpci_xmit.ko" "$R/lib/modules/extra/"
# no modules of the Debian kernel: everything the guest needs is built in
gl_initramfs "$W/initrd.gz" "$R" || harness_fail "initramfs not built"

# --- 4. boot ------------------------------------------------------------------------
# A zpci device comes before the device it names as its target.
say "booting $KREL"
# shellcheck disable=SC2034 # gl_boot boots $GL_VMLINUZ
GL_VMLINUZ=$KOUT/bzImage
gl_boot "$W/console.log" "$W/initrd.gz" "console=ttysclp0 panic=-1 loglevel=1" \
	"${ZPCID_GUEST_TIMEOUT:-600}" \
	-device zpci,uid=0x31,fid=0x31,target=nic31 -device e1000e,id=nic31,romfile= \
	-device zpci,uid=0x32,fid=0x32,target=nic32 -device e1000e,id=nic32,romfile= \
	-device zpci,uid=0x33,fid=0x33,target=nic33 -device e1000e,id=nic33,romfile= \
	-device zpci,uid=0x34,fid=0x34,target=nic34 -device e1000e,id=nic34,romfile=
brc=$?
say "guest finished (qemu status $brc)"

# --- 5. verdict ---------------------------------------------------------------------
python3 "$HERE/check-kernel-guest.py" --console "$W/console.log" --kernel-release "$KREL" \
	--check-config "$W/check-config.out" >"$W/results.txt"
crc=$?
cat "$W/results.txt"
if [ $crc != 0 ] && [ $crc != 77 ]; then
	mkdir -p "$(dirname "$KEEP")"
	cp "$W/console.log" "$KEEP"
	say "console log kept in $KEEP"
fi
say "done: $(grep -c '^PASS' "$W/results.txt") passed, $(grep -c '^FAIL' "$W/results.txt") failed, $(grep -c '^SKIP' "$W/results.txt") skipped"
exit $crc
