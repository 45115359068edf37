# shellcheck shell=bash
# tests/s390x/lib.sh - the s390x tiers' shared steps: host tools, a private
# s390x sysroot of Debian bookworm packages, and the project cross-built
# against it.  Sourced by tests/s390x/bigendian.sh and tests/s390x/guest.sh.
#
# The download, apt and kernel steps come from kmod/guest/guest-lib.sh
# (private apt configuration, cache under ${ZPCID_CACHE:-/var/cache/zpcid-ci});
# this file only adds what the user-space side needs.
#
#   s390x_host_tools               cross compiler, qemu-user-static (installs)
#   s390x_sysroot                  sets S390X_SYSROOT (cached, complete)
#   s390x_configure DIR [ARGS...]  configure the tree for s390x in DIR
#   s390x_install_elf ROOT FILE DEST
#                                  copy an s390x program into ROOT at DEST
#                                  with every shared library it needs
#
# All functions return non-zero on failure with a message on stderr.  They
# return 77 when the machine cannot run this tier and may not install
# (ZPCID_NO_INSTALL=1 with a package missing).

S390X_TOP=${S390X_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export ZPCID_CACHE=${ZPCID_CACHE:-/var/cache/zpcid-ci}
# shellcheck source=/dev/null
. "$S390X_TOP/kmod/guest/guest-lib.sh"

# The s390x libraries the project builds and links against, and what they
# need at run time, plus the guest's user space (tests/s390x/guest.sh).  libc comes from libc6-dev-s390x-cross for linking; the
# runtime copy (libc6) is in the sysroot so that qemu-s390x -L finds ld64.so.1.
S390X_SYSROOT_PKGS=(
	libc6 libgcc-s1
	libsystemd-dev libsystemd0 libudev-dev libudev1
	libjson-c-dev libjson-c5 libpci-dev libpci3
	libevent-dev libevent-2.1-7 libevent-core-2.1-7 libevent-extra-2.1-7
	libevent-openssl-2.1-7 libevent-pthreads-2.1-7
	check libsubunit-dev libsubunit0
	libcap2 libgcrypt20 libgpg-error0 liblz4-1 liblzma5 libzstd1
	zlib1g zlib1g-dev libssl3
	# the s390x guest's user space: a uevent daemon and a system bus
	udev libacl1 libblkid1 libkmod2 libselinux1 libpcre2-8-0
	dbus-daemon dbus-bin libdbus-1-3 libexpat1 libapparmor1 libaudit1 libcap-ng0
	# and a journal, for the coarse latency check
	systemd libsystemd-shared libmount1 libpam0g libseccomp2 libcrypt1 libip4tc2
	# the system calls per error of zpcid and its floor (docs/benchmarks.md)
	strace
)

s390x_log() { echo "[s390x] $*" >&2; }

s390x_host_tools() {
	local need=() p
	for p in gcc-s390x-linux-gnu libc6-dev-s390x-cross qemu-user-static pkg-config \
		make cpio xz-utils; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			need+=("$p")
	done
	[ ${#need[@]} -eq 0 ] && return 0
	if [ "${ZPCID_NO_INSTALL:-0}" = 1 ] || [ "$(id -u)" != 0 ]; then
		s390x_log "missing host packages (${need[*]}) and installing is not allowed here"
		return 77
	fi
	s390x_log "installing host packages: ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
		apt-get update -q >/dev/null 2>&1
		apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
	}
}

# Every downloaded .deb is kept in the cache; the extracted tree is keyed by
# the package list and the .deb file names, so a changed list or a new
# Debian point release builds a fresh tree and an unchanged one is reused.
s390x_sysroot() {
	local debs=() key dir
	s390x_host_tools || return
	gl_init || return 1
	mapfile -t debs < <(gl_fetch "${S390X_SYSROOT_PKGS[@]/%/:s390x}") || return 1
	[ ${#debs[@]} -eq ${#S390X_SYSROOT_PKGS[@]} ] || {
		s390x_log "could not fetch every sysroot package"
		return 1
	}
	key=$(printf '%s\n' "${debs[@]##*/}" | sha256sum | cut -c1-12)
	dir=$GL_CACHE/roots/sysroot-s390x-$key
	if [ ! -e "$dir/.complete" ]; then
		rm -rf "$dir"
		gl_sysroot "$dir" "${S390X_SYSROOT_PKGS[@]}" || return 1
		# ld64.so.1 is found under /lib; make sure the link exists in every layout
		[ -e "$dir/lib/ld64.so.1" ] || {
			s390x_log "sysroot $dir has no /lib/ld64.so.1"
			return 1
		}
		touch "$dir/.complete"
		s390x_log "sysroot ready: $dir"
		# older trees of other package lists are not needed any more
		for old in "$GL_CACHE"/roots/sysroot-s390x-*; do
			[ "$old" = "$dir" ] || rm -rf "$old"
		done
	fi
	S390X_SYSROOT=$dir
	export PKG_CONFIG_SYSROOT_DIR=$dir
	export PKG_CONFIG_LIBDIR=$dir/usr/lib/s390x-linux-gnu/pkgconfig:$dir/usr/share/pkgconfig
	export PKG_CONFIG_PATH=
}

# s390x_configure DIR [CONFIGURE-ARGS...]: configure (once per changed
# configure script) a cross build of the tree in DIR.
s390x_configure() {
	local dir=$1 stamp
	shift
	mkdir -p "$dir"
	[ -x "$S390X_TOP/configure" ] || (cd "$S390X_TOP" && ./autogen.sh >/dev/null 2>&1) || {
		s390x_log "autogen.sh failed"
		return 1
	}
	stamp="$S390X_SYSROOT $* $(stat -c %Y "$S390X_TOP/configure")"
	if [ -f "$dir/Makefile" ] && [ "$(cat "$dir/.s390x-configured" 2>/dev/null)" = "$stamp" ]; then
		return 0
	fi
	(cd "$dir" && "$S390X_TOP/configure" --host=s390x-linux-gnu --enable-werror \
		--prefix=/usr --sysconfdir=/etc --localstatedir=/var \
		CC=s390x-linux-gnu-gcc PKG_CONFIG=pkg-config \
		CFLAGS="-O2 -g --sysroot=$S390X_SYSROOT" LDFLAGS="--sysroot=$S390X_SYSROOT" \
		"$@" >configure.out 2>&1) || {
		tail -40 "$dir/configure.out" >&2
		s390x_log "configure for s390x failed (log: $dir/configure.out)"
		return 1
	}
	echo "$stamp" >"$dir/.s390x-configured"
}

# s390x_install_elf ROOT FILE DEST: copy FILE to ROOT/DEST and every shared
# library it needs (recursively, found in the sysroot) to
# ROOT/lib/s390x-linux-gnu, plus the dynamic loader as ROOT/lib/ld64.so.1.
s390x_install_elf() {
	local root=$1 file=$2 dest=$3 lib p todo=() done_libs=" "
	mkdir -p "$root/$(dirname "$dest")" "$root/lib/s390x-linux-gnu"
	cp -L "$file" "$root/$dest" || return 1
	todo=("$root/$dest")
	while [ ${#todo[@]} -gt 0 ]; do
		p=${todo[0]}
		todo=("${todo[@]:1}")
		for lib in $(LC_ALL=C readelf -d "$p" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			case $done_libs in *" $lib "*) continue ;; esac
			done_libs="$done_libs$lib "
			[ -e "$root/lib/s390x-linux-gnu/$lib" ] && continue
			local found=
			for d in lib/s390x-linux-gnu usr/lib/s390x-linux-gnu usr/lib/s390x-linux-gnu/systemd lib; do
				if [ -e "$S390X_SYSROOT/$d/$lib" ]; then
					found=$S390X_SYSROOT/$d/$lib
					break
				fi
			done
			[ -n "$found" ] || {
				s390x_log "$file needs $lib, which is not in the sysroot"
				return 1
			}
			cp -L "$found" "$root/lib/s390x-linux-gnu/$lib" || return 1
			todo+=("$root/lib/s390x-linux-gnu/$lib")
		done
	done
	[ -e "$root/lib/ld64.so.1" ] || ln -s s390x-linux-gnu/ld64.so.1 "$root/lib/ld64.so.1"
}
