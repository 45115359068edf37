#!/bin/bash
# tests/s390x/guest.sh [BUILD_DIR] - zpcid against a real s390x kernel.
#
# Cross-builds zpcid and zpcictl (lib.sh), boots the bookworm-backports
# s390x kernel under qemu-system-s390x (TCG) with six zPCI functions, runs
# tests/s390x/guest-init.sh as /init and judges the console output with
# tests/s390x/check-guest.py.  Everything downloaded is cached (see
# kmod/guest/guest-lib.sh); the work files are in BUILD_DIR/guest.
#
# Writes BUILD_DIR/guest/results.txt ("PASS|FAIL|SKIP name: reason" per
# check).  Exit status: 0 every check passed, 77 no check failed but some
# were skipped (or the machine cannot run the tier), 1 a check failed or the
# harness broke.  On failure the console log is copied to
# $ZPCID_TOP/build/s390x-guest-console.log.
#
# Environment: ZPCID_GUEST_TIMEOUT (seconds for the boot, default 300),
# ZPCID_GUEST_STEP (seconds the guest waits after each step, default 3),
# GL_TEE=1 (show the console while it runs); ZPCID_GUEST_BENCH_FIDS,
# ZPCID_GUEST_BENCH_LATENCY, ZPCID_GUEST_BENCH_STORM: zpcid beside its floor
# on that many extra functions, injections and storm errors (default 8, 100,
# 400: a smoke run; bench/run.sh guest asks for more; 0 functions: none).
set -uo pipefail
S390X_TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$S390X_TOP/build-s390x}
# shellcheck source=tests/s390x/lib.sh
. "$S390X_TOP/tests/s390x/lib.sh"
HERE=$S390X_TOP/tests/s390x
W=$BUILD/guest
KEEP=$S390X_TOP/build/s390x-guest-console.log

t0=$(date +%s)
say() { echo "[s390x-guest $(($(date +%s) - t0))s] $*" >&2; }
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

# --- 1. sysroot, cross build ------------------------------------------------
mkdir -p "$W"
rm -f "$W/results.txt"
s390x_sysroot
rc=$?
if [ $rc = 77 ]; then
	echo "SKIP s390x-guest: the host tools are missing and may not be installed" >"$W/results.txt"
	exit 77
fi
[ $rc = 0 ] || harness_fail "no s390x sysroot"
s390x_configure "$BUILD" || harness_fail "configure for s390x failed"
mkdir -p "$W"
rm -rf "$W/root" "$W/results.txt" "$W/console.log" "$W/features.txt"
# The whole tree first; when another part of it does not build yet, the
# daemon and the CLI alone.
if ! make -C "$BUILD" -j"$(nproc)" -s >"$W/make.out" 2>&1; then
	say "full cross build failed, building zpcid and zpcictl alone"
	make -C "$BUILD" -j"$(nproc)" -k -s zpcid zpcid-action >>"$W/make.out" 2>&1 ||
		{ tail -30 "$W/make.out" >&2; harness_fail "zpcid does not cross-build for s390x"; }
	make -C "$BUILD" -s zpcictl/zpcictl dbus/org.zpcid1.conf >>"$W/make.out" 2>&1 || true
fi
say "cross build done"

# The owner side of delegated mode: a small sd-bus client (tests/s390x/delegate.c).
read -ra sd_cflags <<<"$(pkg-config --cflags libsystemd)"
read -ra sd_libs <<<"$(pkg-config --libs libsystemd)"
s390x-linux-gnu-gcc -O2 -g -Wall -Wextra -Wno-unused-parameter -Werror --sysroot="$S390X_SYSROOT" \
	"${sd_cflags[@]}" -o "$W/zpcid-test-delegate" "$HERE/delegate.c" "${sd_libs[@]}" >>"$W/make.out" 2>&1 ||
	{ tail -30 "$W/make.out" >&2; harness_fail "tests/s390x/delegate.c does not cross-build"; }
# The coarse latency check: injection to journal record and to D-Bus signal (tests/s390x/latency.c).
s390x-linux-gnu-gcc -O2 -g -Wall -Wextra -Wno-unused-parameter -Werror --sysroot="$S390X_SYSROOT" \
	"${sd_cflags[@]}" -o "$W/zpcid-test-latency" "$HERE/latency.c" "${sd_libs[@]}" >>"$W/make.out" 2>&1 ||
	{ tail -30 "$W/make.out" >&2; harness_fail "tests/s390x/latency.c does not cross-build"; }

# zpcid's floor, and the storm beside it (tests/s390x/storm.c)
BENCH_FIDS=${ZPCID_GUEST_BENCH_FIDS:-8}
make -C "$BUILD" -s bench/zpcid-floor >>"$W/make.out" 2>&1 || harness_fail "bench/zpcid-floor does not cross-build"
s390x-linux-gnu-gcc -O2 -g -Wall -Wextra -Wno-unused-parameter -Werror --sysroot="$S390X_SYSROOT" \
	"${sd_cflags[@]}" -o "$W/zpcid-test-storm" "$HERE/storm.c" "${sd_libs[@]}" >>"$W/make.out" 2>&1 ||
	{ tail -30 "$W/make.out" >&2; harness_fail "tests/s390x/storm.c does not cross-build"; }

# Which parts of the daemon this zpcid links: a check whose feature is not
# linked yet is skipped, one whose feature is linked must pass.
for f in bus registry vfio-function kmsg policy actions; do
	o=$BUILD/daemon/libzpcid_a-$f.o
	n=0
	if [ -f "$o" ]; then
		s390x-linux-gnu-nm "$BUILD/zpcid" | awk '{print $NF}' | sort -u >"$W/zpcid.syms"
		n=$(s390x-linux-gnu-nm --defined-only -g "$o" | awk '$2 ~ /[TDBR]/ {print $3}' | sort -u |
			comm -12 - "$W/zpcid.syms" | wc -l)
	fi
	[ "$n" -gt 0 ] && echo "$f=1" || echo "$f=0"
done >"$W/features.txt"
say "zpcid links: $(tr '\n' ' ' <"$W/features.txt")"

# The test policy must be valid for this zpcid: ask the s390x binary itself.
qemu-s390x-static -L "$S390X_SYSROOT" "$BUILD/zpcid" --check-config \
	--config "$S390X_TOP/conf/zpcid.json" --config-dropins "$HERE/guest-etc/zpcid/zpcid.d" \
	>"$W/check-config.out" 2>&1
echo "rc=$?" >>"$W/check-config.out"

# --- 2. kernel, QEMU, modules -----------------------------------------------
gl_kernel || harness_fail "guest kernel or QEMU not available"
# build a module from a copy of its sources; rebuilt only when they changed
module() { # module SRC-DIR NAME
	local src=$1 name=$2 d stamp
	d=$W/$name
	stamp="$GL_KV $(cat "$src"/* | sha256sum | cut -c1-16)"
	[ "$(cat "$d/.stamp" 2>/dev/null)" = "$stamp" ] && return 0
	rm -rf "$d"
	cp -r "$src" "$d"
	gl_build_module "$d" >>"$W/modules.out" 2>&1 || return 1
	echo "$stamp" >"$d/.stamp"
}
: >"$W/modules.out"
module "$HERE/rpcit-err" rpcit-err || harness_fail "tests/s390x/rpcit-err does not build"
module "$S390X_TOP/kmod/module" kmod-module || harness_fail "kmod/module does not build"
say "modules ready for $GL_KV"

# --- 3. guest root ------------------------------------------------------------
R=$W/root
mkdir -p "$R"/etc/zpcid/zpcid.d "$R"/etc/dbus-1 "$R"/usr/share/dbus-1/system.d \
	"$R"/lib/modules/extra "$R"/lib/systemd "$R"/var/lib "$R"/root
cp "$HERE/guest-init.sh" "$R/init"
chmod 755 "$R/init"
s390x_install_elf "$R" "$BUILD/zpcid" usr/sbin/zpcid || harness_fail "cannot install zpcid"
# the helper that carries out disruptive actions, where zpcid looks for it
s390x_install_elf "$R" "$BUILD/zpcid-action" usr/libexec/zpcid/zpcid-action || harness_fail "cannot install zpcid-action"
if [ -f "$BUILD/zpcictl/zpcictl" ]; then
	s390x_install_elf "$R" "$BUILD/zpcictl/zpcictl" usr/bin/zpcictl || harness_fail "cannot install zpcictl"
fi
s390x_install_elf "$R" "$W/zpcid-test-delegate" usr/bin/zpcid-test-delegate ||
	harness_fail "cannot install zpcid-test-delegate"
s390x_install_elf "$R" "$W/zpcid-test-latency" usr/bin/zpcid-test-latency ||
	harness_fail "cannot install zpcid-test-latency"
s390x_install_elf "$R" "$BUILD/bench/zpcid-floor" usr/bin/zpcid-floor || harness_fail "cannot install zpcid-floor"
s390x_install_elf "$R" "$W/zpcid-test-storm" usr/bin/zpcid-test-storm || harness_fail "cannot install zpcid-test-storm"
s390x_install_elf "$R" "$S390X_SYSROOT/lib/systemd/systemd-journald" lib/systemd/systemd-journald ||
	harness_fail "cannot install systemd-journald"
s390x_install_elf "$R" "$S390X_SYSROOT/bin/udevadm" bin/udevadm || harness_fail "cannot install udevadm"
ln -sf /bin/udevadm "$R/lib/systemd/systemd-udevd"
s390x_install_elf "$R" "$S390X_SYSROOT/usr/bin/dbus-daemon" usr/bin/dbus-daemon || harness_fail "cannot install dbus-daemon"
s390x_install_elf "$R" "$S390X_SYSROOT/usr/bin/dbus-send" usr/bin/dbus-send || harness_fail "cannot install dbus-send"
s390x_install_elf "$R" "$S390X_SYSROOT/usr/bin/strace" usr/bin/strace || harness_fail "cannot install strace"
cp "$S390X_TOP/conf/zpcid.json" "$R/etc/zpcid/zpcid.json"
cp "$HERE"/guest-etc/zpcid/zpcid.d/*.json "$R/etc/zpcid/zpcid.d/"
cp "$HERE/guest-etc/zpcid/latency.json" "$HERE"/guest-etc/zpcid/bench-coalesce-*.json "$R/etc/zpcid/"
cp "$HERE/guest-etc/dbus-1/zpcid-test-bus.conf" "$R/etc/dbus-1/"
cp "$HERE/guest-etc/passwd" "$HERE/guest-etc/group" "$R/etc/"
[ -f "$BUILD/dbus/org.zpcid1.conf" ] && cp "$BUILD/dbus/org.zpcid1.conf" "$R/usr/share/dbus-1/system.d/"
cp "$W/rpcit-err/zpci_rpcit_err.ko" "$W/kmod-module/vfio_zpci_err.ko" "$R/lib/modules/extra/"
gl_initramfs "$W/initrd.gz" "$R" vfio-pci vfio_iommu_type1 e1000e virtio-rng ||
	harness_fail "initramfs not built"
say "initramfs $(stat -c %s "$W/initrd.gz") bytes"

# --- 4. boot --------------------------------------------------------------------
# A zpci device comes before the device it names as its target.
say "booting"
# the bench functions: e1000e like 0x21, on the root bus beside the six
bench_devices=()
for ((i = 0; i < BENCH_FIDS; i++)); do
	f=$(printf '0x%x' $((0x40 + i)))
	bench_devices+=(-device "zpci,uid=$f,fid=$f,target=bench$i" -device "e1000e,id=bench$i,romfile=")
done
bench_args=
[ "$BENCH_FIDS" -gt 0 ] && bench_args="zt.bench_fids=$BENCH_FIDS zt.bench_latency=${ZPCID_GUEST_BENCH_LATENCY:-100} zt.bench_storm=${ZPCID_GUEST_BENCH_STORM:-400}"
gl_boot "$W/console.log" "$W/initrd.gz" \
	"console=ttysclp0 panic=-1 quiet zt.step=${ZPCID_GUEST_STEP:-3} zt.bus=$(sed -n 's/^bus=//p' "$W/features.txt") $bench_args" \
	"${ZPCID_GUEST_TIMEOUT:-300}" \
	-device zpci,uid=0x20,fid=0x21,target=nic21 -device e1000e,id=nic21,romfile= \
	-device zpci,uid=0x22,fid=0x22,target=nic22 -device e1000e,id=nic22,romfile= \
	-device zpci,uid=0x23,fid=0x23,target=nic23 -device e1000e,id=nic23,romfile= \
	-device zpci,uid=0x24,fid=0x24,target=nic24 -device e1000e,id=nic24,romfile= \
	-device zpci,uid=0x10,fid=0x10,target=rng10 -device virtio-rng-pci,id=rng10 \
	-device zpci,uid=0x12,fid=0x12,target=rng12 -device virtio-rng-pci,id=rng12 \
	"${bench_devices[@]}"
brc=$?
say "guest finished (qemu status $brc)"

# --- 5. verdict ---------------------------------------------------------------
python3 "$HERE/check-guest.py" --console "$W/console.log" --build "$BUILD" \
	--check-config "$W/check-config.out" --features "$W/features.txt" --bench-fids "$BENCH_FIDS" \
	--bench-results "$W/bench-results.txt" >"$W/results.txt"
crc=$?
cat "$W/results.txt"
if [ $crc != 0 ] && [ $crc != 77 ]; then
	mkdir -p "$(dirname "$KEEP")"
	cp "$W/console.log" "$KEEP"
	say "console log kept in $KEEP"
fi
say "done: $(grep -c '^PASS' "$W/results.txt") passed, $(grep -c '^FAIL' "$W/results.txt") failed, $(grep -c '^SKIP' "$W/results.txt") skipped"
exit $crc
