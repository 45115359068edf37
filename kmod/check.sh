#!/bin/bash
# check.sh - make -C kmod check
#
# 1. The patch series in kmod/patches applies cleanly to Debian's
#    linux-source-6.12 (bookworm-backports), the kernel the guest runs.
# 2. scripts/checkpatch.pl --strict of that tree reports no error, warning
#    or check for any patch of the series, nor for the test module.
# 3. With the Debian s390x configuration of that kernel, modules_prepare and
#    then the objects the series touches compile for s390x (-Werror), and the
#    patched uAPI headers compile from user space with the documented layout.
# 4. The test module cross-builds against the guest kernel's headers.
#
# Runs as root on Debian 12 and installs what it needs; downloads and the
# kernel build tree are cached in ${ZPCID_CACHE:-/var/cache/zpcid-ci}.
set -uo pipefail
KMOD=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=guest/guest-lib.sh
. "$KMOD/guest/guest-lib.sh"

t0=$(date +%s)
log() { echo "[check $(($(date +%s) - t0))s] $*"; }
fails=0
pass() { echo "PASS: $*"; }
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
die() {
	fail "$*"
	echo "check: FAIL"
	exit 1
}

CROSS=(ARCH=s390 CROSS_COMPILE=s390x-linux-gnu-)
JOBS=$(nproc)
SERIES=("$KMOD"/patches/0[0-9][0-9][1-9]-*.patch)
[ -e "${SERIES[0]}" ] || die "no patches in $KMOD/patches"

gl_init || die "host tools and private apt setup"
gl_kernel || die "guest kernel and headers (for the s390x config)"

# --- the kernel source -----------------------------------------------------
SRCDEB=$(gl_fetch linux-source-6.12:all/bookworm-backports) || die "download linux-source-6.12"
SRCVER=$(dpkg-deb -f "$SRCDEB" Version)
TREE=$GL_CACHE/kbuild/linux-source-$SRCVER
TARBALL=$GL_CACHE/kbuild/linux-source-6.12-$SRCVER.tar.xz
log "base: Debian linux-source-6.12 $SRCVER"
if [ ! -e "$TREE/.extracted" ]; then
	rm -rf "$TREE" && mkdir -p "$TREE"
	dpkg-deb --fsys-tarfile "$SRCDEB" | tar -xO ./usr/src/linux-source-6.12.tar.xz >"$TARBALL" ||
		die "unpack linux-source-6.12 package"
	tar -xJf "$TARBALL" -C "$TREE" --strip-components=1 || die "extract linux-source-6.12"
	touch "$TREE/.extracted"
	log "source extracted to $TREE"
fi

# every file a patch of the series touches, in the cached tree: put back the
# pristine version (from the tarball) before applying
mapfile -t TOUCHED < <(sed -n 's|^+++ b/||p; s|^--- a/||p' "${SERIES[@]}" | sort -u)
tar -xJf "$TARBALL" -C "$TREE" --strip-components=1 \
	"${TOUCHED[@]/#/linux-source-6.12/}" || die "restore pristine files"

# --- 1. apply ----------------------------------------------------------------
# one after the other, as git am would; no fuzz, no offset slack beyond git's
for p in "${SERIES[@]}"; do
	(cd "$TREE" && git apply --check "$p" && git apply "$p") ||
		die "$(basename "$p") does not apply to linux-source-6.12 $SRCVER"
done
pass "series (${#SERIES[@]} patches) applies cleanly to linux-source-6.12 $SRCVER"

# --- 2. checkpatch -------------------------------------------------------------
# checkpatch takes a while to start: run all of them at once
cpdir=$(mktemp -d /tmp/zpci-checkpatch.XXXXXX)
for p in "${SERIES[@]}"; do
	(cd "$TREE" && ./scripts/checkpatch.pl --strict --quiet "$p" >"$cpdir/$(basename "$p").out" 2>&1) &
done
for f in "$KMOD"/module/*.c; do
	(cd "$TREE" && ./scripts/checkpatch.pl --strict --quiet --no-tree -f "$f" \
		>"$cpdir/module-$(basename "$f").out" 2>&1) &
done
wait
for p in "${SERIES[@]}"; do
	if [ -s "$cpdir/$(basename "$p").out" ]; then
		cat "$cpdir/$(basename "$p").out"
		fail "checkpatch --strict $(basename "$p")"
	else
		pass "checkpatch --strict $(basename "$p")"
	fi
done
for f in "$KMOD"/module/*.c; do
	if [ -s "$cpdir/module-$(basename "$f").out" ]; then
		cat "$cpdir/module-$(basename "$f").out"
		fail "checkpatch --strict -f module/$(basename "$f")"
	else
		pass "checkpatch --strict -f module/$(basename "$f")"
	fi
done
rm -rf "$cpdir"

# --- 3. compile the touched objects --------------------------------------------
cfg=$GL_ROOT/boot/config-$GL_KV
if ! cmp -s "$cfg" "$TREE/.config.debian"; then
	cp "$cfg" "$TREE/.config.debian"
	cp "$cfg" "$TREE/.config"
	# no Debian signing keys or BTF here; neither changes the objects checked
	"$TREE/scripts/config" --file "$TREE/.config" --set-str SYSTEM_TRUSTED_KEYS "" \
		--set-str SYSTEM_REVOCATION_KEYS "" --disable MODULE_SIG_ALL \
		--disable DEBUG_INFO_BTF --set-str BUILD_SALT ""
	rm -f "$TREE/.prepared"
fi
if [ ! -e "$TREE/.prepared" ]; then
	log "olddefconfig + modules_prepare (first run only)"
	(cd "$TREE" && make -s "${CROSS[@]}" olddefconfig && make -s -j"$JOBS" "${CROSS[@]}" modules_prepare) \
		>"$TREE/.prepare.log" 2>&1 || {
		tail -30 "$TREE/.prepare.log"
		die "olddefconfig/modules_prepare"
	}
	touch "$TREE/.prepared"
fi
for c in VFIO_PCI_ZDEV_KVM VFIO_PCI_CORE PCI; do
	grep -q "^CONFIG_$c=[ym]" "$TREE/.config" || fail "CONFIG_$c is not enabled in the s390x config"
done
mapfile -t OBJS < <(printf '%s\n' "${TOUCHED[@]}" | grep -E '^(arch/s390|drivers)/.*\.c$' | sed 's/\.c$/.o/')
log "building ${OBJS[*]}"
for o in "${OBJS[@]}"; do rm -f "$TREE/$o"; done
(cd "$TREE" && make -s -k -j"$JOBS" "${CROSS[@]}" KCFLAGS=-Werror "${OBJS[@]}") >"$TREE/.obj.log" 2>&1
for o in "${OBJS[@]}"; do
	if [ -s "$TREE/$o" ]; then
		pass "compiles for s390x: $o"
	else
		fail "compiles for s390x: $o"
		objfail=1
	fi
done
[ -z "${objfail:-}" ] || cat "$TREE/.obj.log"

# uAPI: the patched headers, from user space, with the documented layout
if (cd "$TREE" && make -s "${CROSS[@]}" headers) >"$TREE/.hdr.log" 2>&1 &&
	s390x-linux-gnu-gcc -fsyntax-only -Wall -Werror -isystem "$TREE/usr/include" -x c - <<'EOF'; then
#include <stddef.h>
#include <linux/vfio.h>
#include <linux/vfio_zdev.h>
_Static_assert(VFIO_DEVICE_FEATURE_ZPCI_ERROR == 13, "feature index");
_Static_assert(sizeof(struct vfio_device_feature_zpci_err) == 8, "feature payload");
_Static_assert(offsetof(struct vfio_device_info_cap_zpci_base, ccdf_err_length) == 36, "offset");
_Static_assert(sizeof(struct vfio_device_info_cap_zpci_base) == 40, "size");
int main(void) { return 0; }
EOF
	pass "uAPI headers: feature 13, 8-byte payload, ccdf_err_length at offset 36 of a 40-byte capability"
else
	cat "$TREE/.hdr.log"
	fail "uAPI headers"
fi

# --- 4. the test module --------------------------------------------------------
mb=$(mktemp -d /tmp/zpci-kmod-build.XXXXXX)
if gl_build_vfio_zpci_err "$mb" >"$mb.log" 2>&1; then
	pass "vfio_zpci_err.ko cross-builds against linux-headers-$GL_KV"
else
	cat "$mb.log"
	fail "vfio_zpci_err.ko cross-builds against linux-headers-$GL_KV"
fi
rm -rf "$mb" "$mb.log"

log "done"
if [ "$fails" -ne 0 ]; then
	echo "check: FAIL ($fails failure(s))"
	exit 1
fi
echo "check: PASS"
