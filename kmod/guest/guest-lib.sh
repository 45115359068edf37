# shellcheck shell=bash
# guest-lib.sh - fetch, build and boot an s390x Debian guest under qemu-system-s390x
#
# Source this file from a bash script that runs as root on Debian 12 (x86_64)
# whose only network is the Debian mirror:
#
#   . kmod/guest/guest-lib.sh
#   gl_init                         # host tools, private apt state, apt lists
#   gl_kernel                       # guest kernel + headers + QEMU, extracted
#   echo "$GL_KV $GL_ROOT $GL_KBUILD"
#   gl_build_module DIR             # cross-build an out-of-tree module in DIR
#   gl_build_vfio_zpci_err /tmp/m   # -> /tmp/m/vfio_zpci_err.ko
#   gl_initramfs OUT.gz DIR vfio-pci virtio-rng   # DIR + modules with deps
#   gl_boot LOG OUT.gz "console=ttysclp0 panic=-1 x=y" 120 \
#           -device zpci,uid=0x20,fid=0x21,target=nic0 \
#           -device e1000e,id=nic0,romfile=
#   gl_sysroot /tmp/sysroot libudev-dev libjson-c-dev   # s390x dev sysroot
#
# Everything downloaded lands in ${ZPCID_CACHE:-/var/cache/zpcid-ci}, so a
# second run needs no network and little time.  The host's own apt state is
# not changed, except for the host tools that gl_init installs with the
# system apt-get (cross compiler, cpio, ...).  bookworm-backports and the
# s390x architecture are reached through a private apt configuration under
# the cache: no sources entry is added and dpkg --add-architecture is not run.
#
# Functions (all return non-zero on failure; messages go to stderr):
#
#   gl_init                 install host tools, set up the private apt
#                           config, refresh its lists at most every 6 hours
#                           (GL_APT_MAX_AGE seconds).
#   gl_apt ARGS...          run apt-get with the private config.
#   gl_fetch PKG...         download .debs (any "name:arch" or
#                           "name:arch/suite" spelling apt-get download
#                           accepts) into $GL_DEBS unless already there.
#                           Prints the paths of the .debs, one a line.
#   gl_extract ROOT DEB...  unpack .debs into ROOT (dpkg -x, no scripts).
#   gl_kernel               resolve the newest bookworm-backports s390x
#                           kernel, fetch and extract kernel, headers,
#                           kbuild, busybox-static and QEMU into
#                           $GL_ROOT (cached), make the headers usable for
#                           out-of-tree builds and run depmod.  Sets GL_KABI,
#                           GL_KV, GL_ROOT, GL_KBUILD, GL_VMLINUZ, GL_QEMU
#                           (an array: the qemu binary and its -L option).
#   gl_build_module DIR     make -C $GL_KBUILD M=DIR modules, cross-built.
#   gl_build_vfio_zpci_err DIR
#                           copy kmod/module to DIR (emptied first) and
#                           cross-build DIR/vfio_zpci_err.ko there.
#   gl_initramfs OUT DIR [MODULE...]
#                           build a gzip'ed newc initramfs OUT from the
#                           contents of DIR plus busybox (as /bin/busybox
#                           and /bin/sh) plus the named guest kernel modules
#                           and everything they depend on, decompressed, in
#                           /lib/modules/$GL_KV/ordered/, with their
#                           load order in /lib/modules/$GL_KV/ordered/order.
#                           DIR must hold an executable /init.
#   gl_boot LOG INITRD CMDLINE TIMEOUT [QEMU-ARG...]
#                           boot $GL_VMLINUZ with INITRD under TCG, console
#                           output to LOG (and to stdout when GL_TEE=1),
#                           killed after TIMEOUT seconds.  Remember that a
#                           -device zpci,...,target=ID must come before the
#                           device with id=ID.  Returns qemu's status.
#   gl_sysroot DIR PKG...   fetch s390x packages (runtime and -dev) and
#                           everything they depend on into the cache and
#                           extract them into DIR; absolute symlinks inside
#                           DIR are made relative so that "--sysroot=DIR"
#                           works and DIR can be copied.  Names without
#                           ":arch" are taken as s390x.  Add libc6-dev to
#                           link against the sysroot's own C library.
#
# Variables the caller may set before gl_init: ZPCID_CACHE, GL_MIRROR (the
# Debian mirror URL; default: the first main-archive URI in the host's apt
# sources), GL_APT_MAX_AGE, GL_QUIET=1 (less output).

GL_CACHE=${ZPCID_CACHE:-/var/cache/zpcid-ci}
GL_APT=$GL_CACHE/apt
GL_DEBS=$GL_CACHE/debs
GL_APT_MAX_AGE=${GL_APT_MAX_AGE:-21600}

gl_log() { echo "[guest-lib] $*" >&2; }

gl_mirror() {
	if [ -n "${GL_MIRROR:-}" ]; then
		echo "$GL_MIRROR"
		return
	fi
	# shellcheck disable=SC2046
	grep -hoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list \
		$(ls /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null) 2>/dev/null |
		awk '{print $2}' | grep -v -e security -e '^\[' | grep -E '/debian/?$' | head -1 ||
		true
}

gl_host_tools() {
	local need=() p
	for p in gcc-s390x-linux-gnu libc6-dev-s390x-cross make kmod xz-utils cpio gzip \
		bc flex bison libelf-dev libssl-dev dwarves perl patch ca-certificates; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			need+=("$p")
	done
	[ ${#need[@]} -eq 0 ] && return 0
	gl_log "installing host packages: ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
		apt-get update -q >/dev/null 2>&1
		apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
	}
}

gl_apt() {
	APT_CONFIG=$GL_APT/apt.conf apt-get -o APT::Sandbox::User=root "$@"
}

gl_init() {
	local mirror stamp now age
	gl_host_tools || return 1
	mkdir -p "$GL_APT"/lists/partial "$GL_APT"/cache/archives/partial "$GL_APT"/etc/sources.list.d "$GL_APT"/etc/preferences.d "$GL_DEBS"
	[ -e "$GL_APT/status" ] || : >"$GL_APT/status"
	mirror=$(gl_mirror)
	[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
	cat >"$GL_APT/etc/sources.list.new" <<EOF
deb [arch=amd64,s390x signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm main
deb [arch=amd64,s390x signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm-backports main
EOF
	if ! cmp -s "$GL_APT/etc/sources.list.new" "$GL_APT/etc/sources.list"; then
		mv "$GL_APT/etc/sources.list.new" "$GL_APT/etc/sources.list"
		rm -f "$GL_APT/updated"
	else
		rm -f "$GL_APT/etc/sources.list.new"
	fi
	cat >"$GL_APT/apt.conf" <<EOF
Dir::Etc::sourcelist "$GL_APT/etc/sources.list";
Dir::Etc::sourceparts "$GL_APT/etc/sources.list.d";
Dir::Etc::preferencesparts "$GL_APT/etc/preferences.d";
Dir::State::Lists "$GL_APT/lists";
Dir::Cache "$GL_APT/cache";
Dir::State::status "$GL_APT/status";
APT::Architectures { "amd64"; "s390x"; };
APT::Architecture "amd64";
EOF
	stamp=$GL_APT/updated
	now=$(date +%s)
	age=$GL_APT_MAX_AGE
	[ -e "$stamp" ] && age=$((now - $(stat -c %Y "$stamp")))
	if [ "$age" -ge "$GL_APT_MAX_AGE" ]; then
		gl_log "apt-get update (private config, mirror $mirror)"
		gl_apt update -q >/dev/null 2>"$GL_APT/update.err" || {
			cat "$GL_APT/update.err" >&2
			return 1
		}
		touch "$stamp"
	fi
}

gl_fetch() {
	local uris f line missing=() out=()
	uris=$(gl_apt download --print-uris -q "$@" 2>"$GL_APT/download.err") || {
		cat "$GL_APT/download.err" >&2
		return 1
	}
	# lines: 'URL' FILE SIZE HASH; one per package, in argument order
	while read -r line; do
		f=$(echo "$line" | awk '{print $2}')
		[ -n "$f" ] || continue
		out+=("$GL_DEBS/$f")
		[ -s "$GL_DEBS/$f" ] || missing+=("$(echo "$line" | awk '{print $1}' | tr -d "'")")
	done <<<"$uris"
	[ ${#out[@]} -eq $# ] || {
		gl_log "could not resolve all of: $*"
		return 1
	}
	if [ ${#missing[@]} -gt 0 ]; then
		gl_log "downloading $*"
		(cd "$GL_DEBS" && gl_apt download -q "$@" >/dev/null 2>"$GL_APT/download.err") || {
			cat "$GL_APT/download.err" >&2
			return 1
		}
	fi
	for f in "${out[@]}"; do
		[ -s "$f" ] || {
			gl_log "download did not produce $f"
			return 1
		}
		echo "$f"
	done
}

gl_extract() {
	local root=$1 d
	shift
	mkdir -p "$root"
	for d in "$@"; do
		dpkg-deb -x "$d" "$root" || return 1
	done
}

# The backports QEMU links against libraries of bookworm; install the ones
# the host lacks with the host's apt-get.
gl__qemu_host_libs() {
	local p need=()
	for p in $(dpkg-deb -f "$1" Depends | tr ',' '\n' | sed 's/(.*)//; s/|.*//; s/ //g' |
		grep '^lib'); do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			need+=("$p")
	done
	[ ${#need[@]} -eq 0 ] && return 0
	gl_log "installing QEMU runtime libraries: ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" \
		>/dev/null
}

gl_kernel() {
	local debs stamp
	GL_KABI=$(APT_CONFIG=$GL_APT/apt.conf apt-cache depends -t bookworm-backports linux-image-s390x:s390x 2>/dev/null |
		sed -n 's/.*Depends: linux-image-\(.*\)-s390x.*/\1/p' | head -1)
	[ -n "$GL_KABI" ] || {
		gl_log "cannot resolve the bookworm-backports s390x kernel"
		return 1
	}
	GL_KV=$GL_KABI-s390x
	GL_ROOT=$GL_CACHE/roots/kernel-$GL_KV
	GL_KBUILD=$GL_ROOT/usr/src/linux-headers-$GL_KV
	GL_VMLINUZ=$GL_ROOT/boot/vmlinuz-$GL_KV
	GL_QEMU=("$GL_ROOT/usr/bin/qemu-system-s390x" -L "$GL_ROOT/usr/share/qemu")
	export QEMU_MODULE_DIR=$GL_ROOT/usr/lib/x86_64-linux-gnu/qemu
	stamp=$GL_ROOT/.complete
	if [ -e "$stamp" ]; then
		gl__qemu_host_libs "$(cat "$stamp")"
		return
	fi
	mapfile -t debs < <(gl_fetch "linux-image-$GL_KV:s390x" "linux-headers-$GL_KV:s390x" \
		"linux-headers-$GL_KABI-common:all" "linux-kbuild-$GL_KABI:amd64" \
		busybox-static:s390x \
		qemu-system-s390x:amd64/bookworm-backports qemu-system-common:amd64/bookworm-backports \
		qemu-system-data:all/bookworm-backports) || return 1
	[ ${#debs[@]} -ge 8 ] || return 1
	gl__qemu_host_libs "${debs[5]}" || return 1
	rm -rf "$GL_ROOT"
	gl_extract "$GL_ROOT" "${debs[@]}" || return 1
	# the headers Makefile includes the common tree by absolute path
	sed -i "s|^include /usr/src/|include $GL_ROOT/usr/src/|" "$GL_KBUILD/Makefile"
	/usr/sbin/depmod -b "$GL_ROOT" -F "$GL_ROOT/boot/System.map-$GL_KV" "$GL_KV" || return 1
	echo "${debs[5]}" >"$stamp"
	gl_log "guest kernel $GL_KV ready in $GL_ROOT"
}

gl_build_module() {
	make -s -C "$GL_KBUILD" M="$1" ARCH=s390 CROSS_COMPILE=s390x-linux-gnu- modules
}

GL_KMOD=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

gl_build_vfio_zpci_err() {
	rm -rf "$1" && mkdir -p "$1" && cp -r "$GL_KMOD/module/." "$1/" &&
		gl_build_module "$1" && [ -s "$1/vfio_zpci_err.ko" ]
}

gl_initramfs() {
	local outfile=$1 dir=$2 tmp md od m p
	shift 2
	[ -x "$dir/init" ] || {
		gl_log "$dir/init missing or not executable"
		return 1
	}
	tmp=$(mktemp -d)
	cp -a "$dir"/. "$tmp"/
	mkdir -p "$tmp"/bin "$tmp"/proc "$tmp"/sys "$tmp"/dev "$tmp"/tmp
	cp "$GL_ROOT/bin/busybox" "$tmp/bin/busybox"
	[ -e "$tmp/bin/sh" ] || ln -s busybox "$tmp/bin/sh"
	md=$GL_ROOT/lib/modules/$GL_KV
	od=$tmp/lib/modules/$GL_KV/ordered
	mkdir -p "$od"
	: >"$od/order"
	declare -A seen=()
	gl__add_mod() {
		local p=$1 d b
		[ -n "${seen[$p]:-}" ] && return 0
		seen[$p]=1
		for d in $(grep "^$p:" "$md/modules.dep" | cut -d: -f2 | tr ' ' '\n' | tac); do
			gl__add_mod "$d"
		done
		b=$(basename "$p")
		case $b in
		*.xz)
			b=${b%.xz}
			xz -dc "$md/$p" >"$od/$b"
			;;
		*) cp "$md/$p" "$od/$b" ;;
		esac
		echo "$b" >>"$od/order"
	}
	for m in "$@"; do
		p=$(grep -E "/${m//[-_]/[-_]}\.ko(\.xz)?:" "$md/modules.dep" | cut -d: -f1 | head -1)
		[ -n "$p" ] || {
			gl_log "no module $m in $GL_KV"
			rm -rf "$tmp"
			return 1
		}
		gl__add_mod "$p"
	done
	(cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) >"$outfile"
	rm -rf "$tmp"
}

gl_boot() {
	local log=$1 initrd=$2 cmdline=$3 tmo=$4 rc
	shift 4
	set -o pipefail
	if [ "${GL_TEE:-0}" = 1 ]; then
		timeout "$tmo" "${GL_QEMU[@]}" -M s390-ccw-virtio -cpu max -smp 2 -m 512 \
			-nographic -no-reboot -nic none -kernel "$GL_VMLINUZ" -initrd "$initrd" \
			-append "$cmdline" "$@" </dev/null 2>&1 | tee "$log"
		rc=$?
	else
		timeout "$tmo" "${GL_QEMU[@]}" -M s390-ccw-virtio -cpu max -smp 2 -m 512 \
			-nographic -no-reboot -nic none -kernel "$GL_VMLINUZ" -initrd "$initrd" \
			-append "$cmdline" "$@" </dev/null >"$log" 2>&1
		rc=$?
	fi
	return $rc
}

gl_sysroot() {
	local dir=$1 spec f l t files=() specs=()
	shift
	for spec in "$@"; do
		case $spec in
		*:*) specs+=("$spec") ;;
		*) specs+=("$spec:s390x") ;;
		esac
	done
	# the packages and everything they depend on (the private status is empty)
	mapfile -t files < <(gl_apt install --no-install-recommends -qq --print-uris \
		-o Debug::NoLocking=1 "${specs[@]}" 2>"$GL_APT/sysroot.err" | awk '{print $2}' |
		grep -E '_(s390x|all)\.deb$')
	[ ${#files[@]} -gt 0 ] || {
		cat "$GL_APT/sysroot.err" >&2
		return 1
	}
	for f in "${files[@]}"; do
		[ -s "$GL_DEBS/$f" ] && continue
		gl_log "downloading ${#files[@]} packages (with dependencies) for the sysroot"
		mkdir -p "$GL_DEBS/partial"
		gl_apt install --no-install-recommends -y -q --download-only -o Debug::NoLocking=1 \
			-o Dir::Cache::archives="$GL_DEBS/" "${specs[@]}" >/dev/null 2>"$GL_APT/sysroot.err" || {
			cat "$GL_APT/sysroot.err" >&2
			return 1
		}
		break
	done
	gl_extract "$dir" "${files[@]/#/$GL_DEBS/}" || return 1
	# make absolute symlinks (e.g. lib*.so -> /lib/...) relative, inside DIR
	find "$dir" -type l | while read -r l; do
		t=$(readlink "$l")
		case $t in
		/*) ln -sfnr "$dir$t" "$l" ;;
		esac
	done
}
