#!/bin/bash
# kmod/kernel/build.sh - the patched s390x kernel the kernel-guest tier boots
#
# Debian's linux-source-6.12 (the same package "make -C kmod check" uses),
# the series in kmod/patches, "make allnoconfig" with kmod/kernel/zpcid.config
# as KCONFIG_ALLCONFIG, cross-built for s390x.
#
# Cached in ${ZPCID_CACHE:-/var/cache/zpcid-ci}/kernel:
#   src-VERSION/     the source, with the series applied; a file the series
#                    touches is rewritten only when its patched text changes
#   pristine-VERSION/  the unpatched text of every file a series touched
#   obj-VERSION/     the persistent O= object tree: a series change rebuilds
#                    only what depends on the files it changed
#   out-KEY/         bzImage, System.map, config, kernelrelease, the
#                    seconds the build took (build-seconds), the O= tree
#                    to build modules against (info: obj=DIR); KEY hashes the series, the fragment and
#                    the source version, so an unchanged input is not built
#                    again
#
# Prints the out-KEY directory on stdout (last line); progress on stderr,
# the make output in obj-VERSION/build.log.  Exit status 0 when the kernel
# is there, 1 otherwise.  ZPCID_KERNEL_JOBS sets make -j (default: nproc).
set -uo pipefail
KMOD=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../guest/guest-lib.sh
. "$KMOD/guest/guest-lib.sh"

t0=$(date +%s)
say() { echo "[kernel $(($(date +%s) - t0))s] $*" >&2; }
die() {
	say "FAIL: $*"
	exit 1
}

FRAG=$KMOD/kernel/zpcid.config
SERIES=("$KMOD"/patches/0[0-9][0-9][1-9]-*.patch)
[ -e "${SERIES[0]}" ] || die "no patches in $KMOD/patches"
CROSS=(ARCH=s390 CROSS_COMPILE=s390x-linux-gnu-)
JOBS=${ZPCID_KERNEL_JOBS:-$(nproc)}

gl_init || die "host tools and private apt setup"
SRCDEB=$(gl_fetch linux-source-6.12:all/bookworm-backports) || die "download linux-source-6.12"
SRCVER=$(dpkg-deb -f "$SRCDEB" Version) || die "read the version of $SRCDEB"

KDIR=$GL_CACHE/kernel
SRC=$KDIR/src-$SRCVER
OBJ=$KDIR/obj-$SRCVER
TARBALL=$KDIR/linux-source-6.12-$SRCVER.tar.xz
KEY=$({
	echo "$SRCVER"
	sha256sum <"$FRAG"
	cat "${SERIES[@]}" | sha256sum
} | sha256sum | cut -c1-16)
OUT=$KDIR/out-$KEY
mkdir -p "$KDIR"

# one build at a time per cache
exec 9>"$KDIR/.lock"
flock 9

# the O= tree must still be the one this output came from (the modules
# built against it must match the kernel)
if [ -e "$OUT/.complete" ] && [ "$(cat "$OBJ/.key" 2>/dev/null)" = "$KEY" ]; then
	say "cached: $OUT ($(cat "$OUT/kernelrelease"), built in $(cat "$OUT/build-seconds") s)"
	echo "$OUT"
	exit 0
fi
say "building for key $KEY: linux-source-6.12 $SRCVER + ${#SERIES[@]} patches + $(basename "$FRAG")"

# --- the source -----------------------------------------------------------------
if [ ! -s "$TARBALL" ]; then
	dpkg-deb --fsys-tarfile "$SRCDEB" | tar -xO ./usr/src/linux-source-6.12.tar.xz >"$TARBALL.tmp" &&
		mv "$TARBALL.tmp" "$TARBALL" || die "unpack the linux-source-6.12 package"
fi
if [ ! -e "$SRC/.extracted" ]; then
	say "extracting the source to $SRC"
	rm -rf "$SRC" "$OBJ" "$KDIR/pristine-$SRCVER" && mkdir -p "$SRC"
	tar -xJf "$TARBALL" -C "$SRC" --strip-components=1 || die "extract linux-source-6.12"
	: >"$SRC/.series-files"
	touch "$SRC/.extracted"
fi

# Apply the series to pristine copies of every file it touches (now or in the
# previous build), then copy into the tree only the files whose text differs:
# their new time stamps are what make the O= tree rebuild just those objects.
# The pristine copy of a file is saved from the tree the first time a series
# names it, before anything changes it there (a file the series creates is
# remembered as absent).
PRISTINE=$KDIR/pristine-$SRCVER
if [ ! -e "$PRISTINE/.valid" ]; then
	# a tree patched before the store existed: its patched files from the tarball
	rm -rf "$PRISTINE" && mkdir -p "$PRISTINE"
	mapfile -t OLD <"$SRC/.series-files"
	if [ ${#OLD[@]} -gt 0 ]; then
		mapfile -t MEMBERS < <(tar -tJf "$TARBALL" "${OLD[@]/#/linux-source-6.12/}" 2>/dev/null)
		[ ${#MEMBERS[@]} -eq 0 ] ||
			tar -xJf "$TARBALL" -C "$PRISTINE" --strip-components=1 "${MEMBERS[@]}" ||
			die "extract the pristine files the series touched"
		for f in "${OLD[@]}"; do
			[ -e "$PRISTINE/$f" ] || echo "$f" >>"$PRISTINE/.absent"
		done
	fi
	touch "$PRISTINE/.absent" "$PRISTINE/.valid"
fi
mapfile -t NOW < <(sed -n 's|^+++ b/||p; s|^--- a/||p' "${SERIES[@]}" | grep -v '^/dev/null' | sort -u)
mapfile -t ALL < <(printf '%s\n' "${NOW[@]}" | cat - "$SRC/.series-files" | sort -u)
for f in "${ALL[@]}"; do
	[ -e "$PRISTINE/$f" ] || grep -qxF "$f" "$PRISTINE/.absent" && continue
	if [ -e "$SRC/$f" ]; then
		mkdir -p "$(dirname "$PRISTINE/$f")"
		cp -p "$SRC/$f" "$PRISTINE/$f" || die "save the pristine $f"
	else
		echo "$f" >>"$PRISTINE/.absent"
	fi
done
stage=$(mktemp -d /tmp/zpcid-kernel-series.XXXXXX)
trap 'rm -rf "$stage"' EXIT
for f in "${ALL[@]}"; do
	[ -e "$PRISTINE/$f" ] || continue
	mkdir -p "$(dirname "$stage/$f")"
	cp "$PRISTINE/$f" "$stage/$f" || die "copy the pristine $f"
done
for p in "${SERIES[@]}"; do
	(cd "$stage" && git apply --check "$p" && git apply "$p") ||
		die "$(basename "$p") does not apply to linux-source-6.12 $SRCVER"
done
changed=0
for f in "${ALL[@]}"; do
	if [ -e "$stage/$f" ]; then
		cmp -s "$stage/$f" "$SRC/$f" && continue
		mkdir -p "$(dirname "$SRC/$f")"
		cp "$stage/$f" "$SRC/$f" || die "update $f"
	elif [ -e "$SRC/$f" ]; then
		rm -f "$SRC/$f"
	else
		continue
	fi
	changed=$((changed + 1))
done
printf '%s\n' "${NOW[@]}" >"$SRC/.series-files"
say "series applied, $changed file(s) of the tree changed"

# --- configure ------------------------------------------------------------------
mkdir -p "$OBJ"
rm -f "$OBJ/.key"
make -s -C "$SRC" O="$OBJ" "${CROSS[@]}" KCONFIG_ALLCONFIG="$FRAG" allnoconfig \
	>"$OBJ/config.log" 2>&1 || {
	cat "$OBJ/config.log" >&2
	die "allnoconfig with $(basename "$FRAG")"
}
missing=0
while read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qxF "$line" "$OBJ/.config" || {
			say "fragment line not in the .config: $line ($(grep "^${line%%=*}=" "$OBJ/.config" || echo unset))"
			missing=1
		}
		;;
	"# CONFIG_"*" is not set")
		s=${line#\# }
		s=${s%% *}
		grep -q "^$s=" "$OBJ/.config" && {
			say "fragment disables $s, the .config enables it"
			missing=1
		}
		;;
	esac
done <"$FRAG"
[ $missing = 0 ] || die "the .config does not honour $(basename "$FRAG")"

# --- build ------------------------------------------------------------------------
say "make -j$JOBS (log: $OBJ/build.log)"
b0=$(date +%s)
if ! make -C "$SRC" O="$OBJ" "${CROSS[@]}" -j"$JOBS" all >"$OBJ/build.log" 2>&1; then
	grep -E 'error|Error' "$OBJ/build.log" | head -20 >&2
	tail -20 "$OBJ/build.log" >&2
	die "kernel build failed"
fi
secs=$(($(date +%s) - b0))
[ -s "$OBJ/arch/s390/boot/bzImage" ] || die "no arch/s390/boot/bzImage after the build"

rm -rf "$OUT.tmp" && mkdir -p "$OUT.tmp"
cp "$OBJ/arch/s390/boot/bzImage" "$OBJ/System.map" "$OUT.tmp/" &&
	cp "$OBJ/.config" "$OUT.tmp/config" &&
	make -s -C "$SRC" O="$OBJ" "${CROSS[@]}" kernelrelease >"$OUT.tmp/kernelrelease" &&
	echo "$secs" >"$OUT.tmp/build-seconds" &&
	echo "obj=$OBJ" >"$OUT.tmp/info" &&
	echo "$KEY" >"$OBJ/.key" || die "store the build in $OUT"
touch "$OUT.tmp/.complete"
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
# older outputs of the same source are superseded
for o in "$KDIR"/out-*; do
	[ "$o" = "$OUT" ] || rm -rf "$o"
done
say "built $(cat "$OUT/kernelrelease") in $secs s: $OUT"
echo "$OUT"
