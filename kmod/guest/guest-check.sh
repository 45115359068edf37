#!/bin/bash
# guest-check.sh - boot an s390x guest with two zPCI functions and run the
# vfio-zpci-err self-test in it (make -C kmod guest-check).
#
# Cross-builds kmod/module against the guest kernel's headers, builds the
# static self-test program, packs both with the vfio modules into an
# initramfs, boots it under qemu-system-s390x (TCG), copies the guest console
# to stdout, then prints PASS/FAIL per rule and exits non-zero on failure.
# Needs root on Debian 12; downloads are cached in ${ZPCID_CACHE}.
set -euo pipefail
KMOD=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=guest-lib.sh
. "$KMOD/guest/guest-lib.sh"

WORK=${GUEST_CHECK_WORK:-$(mktemp -d /tmp/zpci-guest-check.XXXXXX)}
mkdir -p "$WORK"
t0=$(date +%s)
log() { echo "[guest-check $(($(date +%s) - t0))s] $*"; }

gl_init
gl_kernel
log "guest kernel $GL_KV"

gl_build_vfio_zpci_err "$WORK/module"
s390x-linux-gnu-gcc -static -O2 -Wall -Wextra -Werror \
	-o "$WORK/zpci-err-selftest" "$KMOD/selftest/zpci-err-selftest.c"
log "vfio_zpci_err.ko and zpci-err-selftest built"

rm -rf "$WORK/rootfs"
mkdir -p "$WORK/rootfs/bin" "$WORK/rootfs/lib/modules"
install -m 0755 "$KMOD/guest/init.sh" "$WORK/rootfs/init"
install -m 0755 "$WORK/zpci-err-selftest" "$WORK/rootfs/bin/"
install -m 0644 "$WORK/module/vfio_zpci_err.ko" "$WORK/rootfs/lib/modules/"
gl_initramfs "$WORK/initrd.gz" "$WORK/rootfs" vfio-pci vfio_iommu_type1
log "initramfs built ($(stat -c %s "$WORK/initrd.gz") bytes)"

log "booting; guest console follows"
echo "----------------------------------------------------------------------"
rc=0
GL_TEE=1 gl_boot "$WORK/console.log" "$WORK/initrd.gz" "console=ttysclp0 panic=-1 quiet" 240 \
	-device zpci,uid=0x20,fid=0x21,target=nic0 -device e1000e,id=nic0,romfile= \
	-device zpci,uid=0x5,fid=0xa,target=rng0 -device virtio-rng-pci,id=rng0 || rc=$?
echo "----------------------------------------------------------------------"
log "guest finished (qemu status $rc)"

# --- verdict ---------------------------------------------------------------
tr -d '\r' <"$WORK/console.log" >"$WORK/console.txt"
fails=0
verdict() { # verdict OK TEXT
	if [ "$1" = 1 ]; then echo "PASS: $2"; else
		echo "FAIL: $2"
		fails=$((fails + 1))
	fi
}
has() { grep -qE "$1" "$WORK/console.txt"; }

feature="open base-cap-v3 base-cap-size err-irq-info err-eventfd probe-get probe-set
	set-einval argsz-short-payload argsz-short-header argsz-large empty-enomsg
	data-zero-einval eventfd-signalled left-to-user record-content permanent-kept
	fmb-not-kept raw-ccdf fifo-order overflow-drops-newest overflow-message
	bad-buffer-efault efault-loses-record reset-keeps-queue discard-at-close
	closed-not-kept kept-after-reopen"
declare -A rules=(
	[pcie]=$feature
	[nonpcie]=$feature
	[plain-nonpcie]="open base-cap-v2 no-feature-probe no-feature-get"
	[init]="insmod bind-only-on-override bind-vfio-zpci-err bind-vfio-pci rmmod"
)
for label in pcie nonpcie plain-nonpcie init; do
	for r in ${rules[$label]}; do
		if has "^PASS: $label $r: " && ! has "^FAIL: $label $r: "; then
			verdict 1 "$label $r"
		else
			verdict 0 "$label $r$(grep -E "^FAIL: $label $r: " "$WORK/console.txt" | head -1 | sed 's/^FAIL: [^:]*:/ --/')"
		fi
	done
done
# any FAIL line at all, also from rules not listed above
while read -r line; do
	verdict 0 "guest reported: ${line#FAIL: }"
done < <(grep -E '^FAIL: ' "$WORK/console.txt" || true)
grep -E '^SKIP: ' "$WORK/console.txt" || true
if has '^=== INIT END'; then ok=1; else ok=0; fi
verdict $ok "guest ran to the end of /init"
if has 'Call Trace|BUG:|WARNING: CPU'; then ok=0; else ok=1; fi
verdict $ok "no kernel oops or warning"

n_pass=$(grep -c '^PASS: ' "$WORK/console.txt" || true)
log "guest checks: $n_pass PASS lines in the console; host verdict: $fails failure(s)"
if [ "$fails" -ne 0 ]; then
	echo "guest-check: FAIL (console log: $WORK/console.txt)"
	exit 1
fi
echo "guest-check: PASS"
[ -n "${GUEST_CHECK_WORK:-}" ] || rm -rf "$WORK"
