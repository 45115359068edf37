#!/bin/bash
# check.sh - make -C kmod check
#
# 1. The patch series in kmod/patches applies cleanly to Debian's
#    linux-source-6.12 (bookworm-backports), the kernel the guest runs,
#    one patch after the other, and after every patch the objects the
#    series touches compile for s390x (-Werror) with the Debian s390x
#    configuration: every patch builds on its own.
# 2. scripts/checkpatch.pl --strict of that tree reports no error, warning
#    or check for any patch of the series, the test module,
#    tests/s390x/rpcit-err/zpci_rpcit_err.c or
#    tests/s390x/kernel-guest-xmit/zpci_xmit.c.
# 3. The patched uAPI headers, compiled from user space for s390x, have the
#    facts of DESIGN.md section 2: feature index, type and offset of
#    ccdf_err_length, capability size and version, and the errnos of the
#    GET, documented in the header and returned by the code.  The facts are
#    read from ../shared/DESIGN.md beside the checkout (or $ZPCID_DESIGN)
#    and must agree with the table in kmod/README.md, which stands in for
#    them where DESIGN.md is absent.
# 4. The test module and the rpcit-err module cross-build against the guest
#    kernel's headers.
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

# --- configuration (before the series: modules_prepare does not depend on it)
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

# --- 1. apply and build, patch by patch -----------------------------------------
# one after the other, as git am would; no fuzz, no offset slack beyond git's.
# After each patch make rebuilds the objects whose sources or headers changed.
mapfile -t OBJS < <(printf '%s\n' "${TOUCHED[@]}" | grep -E '^(arch/s390|drivers)/.*\.c$' | sed 's/\.c$/.o/')
for o in "${OBJS[@]}"; do rm -f "$TREE/$o"; done
applied=0
for p in "${SERIES[@]}"; do
	n=$(basename "$p")
	if ! (cd "$TREE" && git apply --check "$p" && git apply "$p"); then
		fail "$n applies to linux-source-6.12 $SRCVER"
		break
	fi
	applied=$((applied + 1))
	log "$n applied; building ${OBJS[*]}"
	if (cd "$TREE" && make -s -j"$JOBS" "${CROSS[@]}" KCFLAGS=-Werror "${OBJS[@]}") >"$TREE/.obj.log" 2>&1; then
		pass "builds for s390x after $n (-Werror: ${OBJS[*]##*/})"
	else
		cat "$TREE/.obj.log"
		fail "builds for s390x after $n"
	fi
done
[ "$applied" -eq ${#SERIES[@]} ] || die "the series does not apply"
pass "series (${#SERIES[@]} patches) applies cleanly to linux-source-6.12 $SRCVER"

# --- 2. checkpatch -------------------------------------------------------------
# checkpatch takes a while to start: run all of them at once.  Files outside
# the series are checked in the tree's context (no --no-tree), so that
# checks which look at the kernel's headers run too.
cpdir=$(mktemp -d /tmp/zpci-checkpatch.XXXXXX)
FILES=("$KMOD"/module/*.c "$KMOD/../tests/s390x/rpcit-err/zpci_rpcit_err.c"
	"$KMOD/../tests/s390x/kernel-guest-xmit/zpci_xmit.c")
for p in "${SERIES[@]}"; do
	(cd "$TREE" && ./scripts/checkpatch.pl --strict --quiet "$p" >"$cpdir/$(basename "$p").out" 2>&1) &
done
for f in "${FILES[@]}"; do
	(cd "$TREE" && ./scripts/checkpatch.pl --strict --quiet -f "$f" \
		>"$cpdir/file-$(basename "$f").out" 2>&1) &
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
for f in "${FILES[@]}"; do
	rel=$(realpath --relative-to="$KMOD/.." "$f")
	if [ -s "$cpdir/file-$(basename "$f").out" ]; then
		cat "$cpdir/file-$(basename "$f").out"
		fail "checkpatch --strict -f $rel"
	else
		pass "checkpatch --strict -f $rel"
	fi
done
rm -rf "$cpdir"

# --- 3. the uAPI against the facts ---------------------------------------------
# shellcheck source=uapi-facts.sh
. "$KMOD/uapi-facts.sh"
if facts_load; then
	pass "facts: $FACTS_FROM"
	if (cd "$TREE" && make -s "${CROSS[@]}" headers) >"$TREE/.hdr.log" 2>&1; then
		uapi_prove "$TREE"
	else
		cat "$TREE/.hdr.log"
		fail "uAPI headers: make headers"
	fi
else
	fail "facts: $FACTS_FROM"
fi

# --- 4. the modules ---------------------------------------------------------------
mb=$(mktemp -d /tmp/zpci-kmod-build.XXXXXX)
if gl_build_vfio_zpci_err "$mb/m" >"$mb/log" 2>&1; then
	pass "vfio_zpci_err.ko cross-builds against linux-headers-$GL_KV"
else
	cat "$mb/log"
	fail "vfio_zpci_err.ko cross-builds against linux-headers-$GL_KV"
fi
mkdir -p "$mb/r" && cp "$KMOD"/../tests/s390x/rpcit-err/* "$mb/r/"
if gl_build_module "$mb/r" >"$mb/log" 2>&1 && [ -s "$mb/r/zpci_rpcit_err.ko" ]; then
	pass "zpci_rpcit_err.ko cross-builds against linux-headers-$GL_KV"
else
	cat "$mb/log"
	fail "zpci_rpcit_err.ko cross-builds against linux-headers-$GL_KV"
fi
rm -rf "$mb"

log "done"
if [ "$fails" -ne 0 ]; then
	echo "check: FAIL ($fails failure(s))"
	exit 1
fi
echo "check: PASS"
