#!/bin/bash
# packaging/test-deb.sh — build the Debian package of the tree, run lintian on
# it and install it with dpkg in a Debian 12 chroot beside a stand-in
# s390-tools package that owns s390-tools' zpcictl, its manual page and its
# bash completion (s390-tools itself exists for s390x only).
#
#   packaging/test-deb.sh [OUTDIR]
#
# Every check prints one line "PASS: name", "FAIL: name" or "SKIP: name
# reason"; the lines are also written to OUTDIR/results.txt, and the .deb,
# the lintian output and the logs are left in OUTDIR (default
# build/package). Exit status: 0 all passed, 1 something failed, 77 the
# test cannot run here (its reason is printed).
#
# Runs as root (dpkg-buildpackage, debootstrap, chroot). The minimal
# Debian 12 tree is made once with debootstrap and kept as a tarball in
# ${ZPCID_CACHE:-/var/cache/zpcid-ci}/roots; ZPCID_DEBIAN_MIRROR names the
# mirror it is made from.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$TOP/build/package}
CACHE=${ZPCID_CACHE:-/var/cache/zpcid-ci}
MIRROR=${ZPCID_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
# The run-time libraries of the package, systemd (systemd-sysusers,
# systemd-tmpfiles, the catalog trigger) and dbus-daemon (the bus policy
# check): in the cached tree, so that the checks install with dpkg alone.
INCLUDE=systemd,dbus-daemon,libjson-c5,libpci3,libevent-2.1-7,libudev1,libsystemd0

RESULTS=$OUT/results.txt
FAILED=0

skip_all() {
	echo "SKIP: deb-package $*"
	echo "SKIP deb-package $*" >>"$RESULTS"
	exit 77
}
result() { # verdict name [reason]
	echo "$1: $2${3:+ $3}"
	echo "$1 $2${3:+ $3}" >>"$RESULTS"
	[ "$1" = FAIL ] && FAILED=1
	return 0
}
check() { # name command...: PASS when the command succeeds
	local name=$1
	shift
	if "$@" >>"$OUT/checks.log" 2>&1; then
		result PASS "$name"
	else
		result FAIL "$name"
	fi
}

mkdir -p "$OUT" || exit 1
: >"$RESULTS"
: >"$OUT/checks.log"

[ "$(id -u)" = 0 ] || skip_all "needs root (dpkg-buildpackage, debootstrap, chroot)"
for tool in dpkg-buildpackage dh lintian debootstrap dpkg-deb chroot; do
	command -v "$tool" >/dev/null || skip_all "$tool not installed (tools/bootstrap installs it)"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/zpcid-deb.XXXXXX") || exit 1
R=$WORK/root
cleanup() {
	if mountpoint -q "$R/proc"; then
		umount "$R/proc" || umount -l "$R/proc"
	fi
	rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

# ---- build -----------------------------------------------------------------
# dpkg-buildpackage writes beside the source directory: build a copy of the
# tree (its tracked and new, not ignored files) in the temporary directory.
# The test suite has its own stages: nocheck.
mkdir -p "$WORK/src/zpcid"
if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$TOP" ls-files -z -co --exclude-standard | (cd "$TOP" && tar --null -T - -cf -) | tar -xf - -C "$WORK/src/zpcid"
else
	tar -C "$TOP" --exclude=./build --exclude='./build-*' -cf - . | tar -xf - -C "$WORK/src/zpcid"
fi
(cd "$WORK/src/zpcid" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc 2>/dev/null || echo 2)" \
	dpkg-buildpackage -us -uc -b) >"$OUT/dpkg-buildpackage.log" 2>&1
rc=$?
check dpkg-buildpackage test $rc = 0
DEB=$(ls "$WORK"/src/zpcid_*_"$(dpkg --print-architecture)".deb 2>/dev/null | head -1)
CHANGES=$(ls "$WORK"/src/zpcid_*.changes 2>/dev/null | head -1)
if [ -z "$DEB" ] || [ -z "$CHANGES" ]; then
	tail -40 "$OUT/dpkg-buildpackage.log"
	result FAIL deb-built "no .deb"
	exit 1
fi
rm -f "$OUT"/*.deb
cp "$WORK"/src/*.deb "$OUT/"

# ---- lintian ---------------------------------------------------------------
# Errors and warnings fail; overrides (debian/zpcid.lintian-overrides) carry
# their reasons. Informational tags are shown, not counted.
lintian --allow-root --fail-on error,warning --display-info --tag-display-limit 0 "$CHANGES" >"$OUT/lintian.txt" 2>&1
rc=$?
sed 's/^/lintian: /' "$OUT/lintian.txt"
check lintian-no-errors-or-warnings test $rc = 0
check lintian-no-E-or-W-lines sh -c "! grep -E '^[EW]: ' '$OUT/lintian.txt'"

# ---- the package's contents --------------------------------------------------
dpkg-deb -c "$DEB" | awk '{ print $6 }' | sed 's|^\./|/|' >"$OUT/contents.txt"
for f in /usr/sbin/zpcid /usr/sbin/zpcictl /lib/systemd/system/zpcid.service \
	/usr/share/dbus-1/system.d/org.zpcid1.conf /usr/share/dbus-1/system-services/org.zpcid1.service \
	/usr/lib/systemd/catalog/zpcid.catalog /usr/lib/sysusers.d/zpcid.conf /usr/lib/tmpfiles.d/zpcid.conf \
	/usr/share/man/man8/zpcid.8.gz /usr/share/man/man8/zpcictl.8.gz \
	/usr/share/bash-completion/completions/zpcictl /etc/zpcid/zpcid.json; do
	check "contains$f" grep -qxF "$f" "$OUT/contents.txt"
done
check no-zpcictl-in-usr-bin sh -c "! grep -qxF /usr/bin/zpcictl '$OUT/contents.txt'"
# Prometheus alerting rules, where the tree has a rules file.
rules=$(cd "$TOP" && find . -path ./debian -prune -o -path ./tests -prune -o -path './build*' -prune -o \
	-path ./.git -prune -o \( -name '*rules.yml' -o -name '*rules.yaml' \) -print)
if [ -n "$rules" ]; then
	for f in $rules; do
		check "contains-prometheus-rules/${f##*/}" grep -q "/${f##*/}\$" "$OUT/contents.txt"
	done
else
	result SKIP contains-prometheus-rules "the tree has no Prometheus rules file"
fi

# ---- a minimal Debian 12 tree ---------------------------------------------
arch=$(dpkg --print-architecture)
tarball=$CACHE/roots/$SUITE-minbase-$arch-$(echo "$INCLUDE" | md5sum | cut -c1-8).tar
if [ ! -s "$tarball" ]; then
	mkdir -p "$CACHE/roots" "$WORK/boot"
	if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$WORK/boot" "$MIRROR" \
		>"$OUT/debootstrap.log" 2>&1; then
		tail -20 "$OUT/debootstrap.log"
		result FAIL debootstrap "see $OUT/debootstrap.log"
		exit 1
	fi
	tar -C "$WORK/boot" --numeric-owner -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
	rm -rf --one-file-system "${WORK:?}/boot"
fi
mkdir -p "$R"
tar -C "$R" --numeric-owner -xf "$tarball" || { result FAIL chroot-unpack; exit 1; }
mount -t proc proc "$R/proc" || { result FAIL chroot-proc; exit 1; }
# No service is started inside the tree.
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"
in_root() { chroot "$R" env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	LC_ALL=C.UTF-8 "$@"; }

# ---- the stand-in s390-tools ----------------------------------------------
build_standin() { # version: $WORK/s390-tools_VERSION.deb, its files saying "stand-in VERSION"
	local S=$WORK/s390-tools-$1
	mkdir -p "$S/DEBIAN" "$S/usr/sbin" "$S/usr/share/man/man8" "$S/usr/share/bash-completion/completions"
	cat >"$S/DEBIAN/control" <<EOF
Package: s390-tools
Version: $1
Architecture: all
Maintainer: zpcid test <root@localhost>
Section: admin
Priority: optional
Description: stand-in for s390-tools in the zpcid package test
 Owns the paths of s390-tools' zpcictl, its manual page and completion.
EOF
	printf '#!/bin/sh\necho "zpcictl of s390-tools (stand-in %s)"\n' "$1" >"$S/usr/sbin/zpcictl"
	chmod 755 "$S/usr/sbin/zpcictl"
	printf '.TH ZPCICTL 8 "s390-tools stand-in %s"\n.SH NAME\nzpcictl \\- s390-tools stand-in\n' "$1" |
		gzip -9n >"$S/usr/share/man/man8/zpcictl.8.gz"
	printf '# s390-tools stand-in %s completion\ncomplete -W "--reset --deconfigure --report-error" zpcictl\n' "$1" \
		>"$S/usr/share/bash-completion/completions/zpcictl"
	(cd "$S" && find usr -type f -exec md5sum {} + >DEBIAN/md5sums)
	dpkg-deb --root-owner-group --build "$S" "$R/tmp/s390-tools_$1.deb" >>"$OUT/checks.log" 2>&1
}
build_standin 2.99.0-0standin1 && build_standin 2.99.1-0standin1 || { result FAIL standin-build; exit 1; }
cp "$R/tmp/s390-tools_2.99.0-0standin1.deb" "$R/tmp/s390-tools.deb"
cp "$DEB" "$R/tmp/zpcid.deb"

is_standin() { # file [version]: the stand-in's content (of that version)
	case $1 in
	*.gz) zcat "$R$1" | grep -q "s390-tools stand-in ${2:-}" ;;
	*) grep -q 's390-tools' "$R$1" && grep -q "stand-in ${2:-}" "$R$1" ;;
	esac
}
is_ours() { # file: zpcid's content
	case $1 in
	*.gz) zcat "$R$1" | grep -q '^\.TH zpcictl 8 "zpcid"' ;;
	*/completions/*) grep -q '_zpcictl' "$R$1" ;;
	*) in_root "$1" --version | grep -q '(zpcid)' ;;
	esac
}
diverted_to() { # path expected-divert-path
	[ "$(in_root dpkg-divert --listpackage "$1")" = zpcid ] &&
		[ "$(in_root dpkg-divert --truename "$1")" = "$2" ]
}
PATHS="/usr/sbin/zpcictl /usr/share/man/man8/zpcictl.8.gz /usr/share/bash-completion/completions/zpcictl"
divert_name() { # path: where s390-tools' file goes
	case $1 in
	*.8.gz) echo "${1%.8.gz}.s390-tools.8.gz" ;;
	*) echo "$1.s390-tools" ;;
	esac
}

installed() { # package
	[ "$(chroot "$R" dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = 'install ok installed' ]
}
install_zpcid() { # dpkg -i; dependencies missing from the cached tree come from the mirror
	in_root dpkg -i /tmp/zpcid.deb >"$WORK/dpkg-i.log" 2>&1
	local rc=$?
	cat "$WORK/dpkg-i.log" >>"$OUT/checks.log"
	[ $rc = 0 ] && return 0
	grep -q 'dependency problems' "$WORK/dpkg-i.log" || return 1
	cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null
	in_root apt-get update -q >>"$OUT/checks.log" 2>&1 &&
		in_root apt-get install -y -q --no-install-recommends -f >>"$OUT/checks.log" 2>&1 &&
		installed zpcid
}

# The tree's dbus-daemon loads the policies of a directory on a bus of its
# own: it must come up and must not warn about an unknown user or group.
bus_policy_loads() { # DIR (inside the tree)
	local out=$WORK/bus.out pid
	sed "s|@DIR@|$1|" >"$R/tmp/bus.conf" <<'EOF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/tmp/zpcid-test-bus</listen>
  <auth>EXTERNAL</auth>
  <includedir>@DIR@</includedir>
</busconfig>
EOF
	: >"$out"
	chroot "$R" dbus-daemon --config-file=/tmp/bus.conf --nofork --nosyslog --print-address=1 >"$out" 2>&1 &
	pid=$!
	for _ in $(seq 600); do # until it prints its address (or exits): 60 s at most
		grep -q '^unix:' "$out" && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	kill $pid 2>/dev/null
	wait $pid 2>/dev/null
	rm -f "$R/tmp/zpcid-test-bus"
	sed "s|^|dbus-daemon ($1): |" "$out"
	grep -q '^unix:' "$out" && ! grep -qiE 'unknown (user|group)' "$out"
}
fails() { ! "$@"; }

# ---- 1: s390-tools first, then zpcid ---------------------------------------
# The control: without the package's group, the shipped policy draws
# dbus-daemon's warning.
mkdir -p "$WORK/deb" "$R/tmp/policy-only"
dpkg-deb -x "$DEB" "$WORK/deb"
cp "$WORK/deb/usr/share/dbus-1/system.d/org.zpcid1.conf" "$R/tmp/policy-only/"
check control-bus-policy-unknown-group-without-package fails bus_policy_loads /tmp/policy-only
check standin-installs in_root dpkg -i /tmp/s390-tools.deb
for p in $PATHS; do
	check "standin-owns$p" is_standin "$p"
done
check zpcid-installs install_zpcid
check zpcid-status-installed installed zpcid
for p in $PATHS; do
	d=$(divert_name "$p")
	check "diverted$p" diverted_to "$p" "$d"
	check "ours-at$p" is_ours "$p"
	check "standin-kept-at$d" is_standin "$d"
done
check root-path-finds-ours sh -c "[ \"\$(chroot '$R' env -i HOME=/root /bin/sh -lc 'command -v zpcictl')\" = /usr/sbin/zpcictl ]"
in_root /bin/sh -lc 'zpcictl --version' >"$OUT/zpcictl-version.txt" 2>&1
sed 's/^/zpcictl --version: /' "$OUT/zpcictl-version.txt"
check zpcictl-version grep -q '^zpcictl (zpcid) ' "$OUT/zpcictl-version.txt"
check zpcid-version sh -c "chroot '$R' /usr/sbin/zpcid --version | grep -q zpcid"
check standin-runs-as-zpcictl.s390-tools sh -c "chroot '$R' /usr/sbin/zpcictl.s390-tools | grep -q stand-in"
check sysusers-group-zpcid in_root getent group zpcid
check bus-policy-loads-without-warning bus_policy_loads /usr/share/dbus-1/system.d
check tmpfiles-state-directory sh -c "[ \"\$(stat -c %a:%U '$R/var/lib/zpcid')\" = 755:root ]"
check tmpfiles-runtime-directory test -d "$R/run/zpcid"
check unit-enabled test -L "$R/etc/systemd/system/multi-user.target.wants/zpcid.service"
check conffile-zpcid.json sh -c "chroot '$R' dpkg-query -W -f='\${Conffiles}' zpcid | grep -q /etc/zpcid/zpcid.json"
# The catalog trigger (systemd's, on the catalog directory) rebuilt the
# journal's catalog database: our first MESSAGE_ID is in it.
id=$(sed -n 's/^-- \([0-9a-f]\{32\}\).*/\1/p' "$R/usr/lib/systemd/catalog/zpcid.catalog" | head -1)
check catalog-in-journal-database sh -c "[ -n '$id' ] && chroot '$R' journalctl --list-catalog | grep -q '^$id '"
check reinstall-same-version in_root dpkg -i /tmp/zpcid.deb
# s390-tools upgraded while diverted: its new files go to the diverted names.
check standin-upgrades in_root dpkg -i /tmp/s390-tools_2.99.1-0standin1.deb
for p in $PATHS; do
	check "upgrade/ours-at$p" is_ours "$p"
	check "upgrade/new-standin-at$(divert_name "$p")" is_standin "$(divert_name "$p")" 2.99.1
done
check one-diversion-each sh -c "[ \$(chroot '$R' dpkg-divert --list | grep -c 'by zpcid') = 3 ]"

# ---- removal gives s390-tools its files back -----------------------------
check zpcid-removes in_root dpkg -r zpcid
for p in $PATHS; do
	check "diversion-removed$p" sh -c "[ -z \"\$(chroot '$R' dpkg-divert --listpackage '$p')\" ]"
	check "standin-back-at$p" is_standin "$p"
	check "gone$(divert_name "$p")" test ! -e "$R$(divert_name "$p")"
done
check standin-verifies in_root dpkg -V s390-tools
check conffile-kept-after-remove test -f "$R/etc/zpcid/zpcid.json"
check zpcid-purges in_root dpkg -P zpcid
check purge-removes-conffile test ! -e "$R/etc/zpcid/zpcid.json"
check purge-removes-state test ! -e "$R/var/lib/zpcid"
check standin-still-installed installed s390-tools

# ---- 2: zpcid first, then s390-tools ---------------------------------------
in_root dpkg -P s390-tools >>"$OUT/checks.log" 2>&1
check zpcid-installs-alone in_root dpkg -i /tmp/zpcid.deb
check standin-installs-after in_root dpkg -i /tmp/s390-tools.deb
for p in $PATHS; do
	check "after/ours-at$p" is_ours "$p"
	check "after/standin-at$(divert_name "$p")" is_standin "$(divert_name "$p")"
done
check after/zpcid-purges in_root dpkg -P zpcid
for p in $PATHS; do
	check "after/standin-back-at$p" is_standin "$p"
done
check after/no-diversions-left sh -c "! chroot '$R' dpkg-divert --list | grep -q zpcid"

echo "results: $(grep -c '^PASS' "$RESULTS") passed, $(grep -c '^FAIL' "$RESULTS") failed, $(grep -c '^SKIP' "$RESULTS") skipped"
exit $FAILED
