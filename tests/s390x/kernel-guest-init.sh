#!/bin/sh
# /init of the patched-kernel guest (busybox sh), tests/s390x/kernel-guest.sh.
#
# The kernel is linux-source-6.12 with the series of kmod/patches: the zPCI
# error feature is the kernel's own.  Errors are real: QEMU raises PEC 0x2
# when tests/s390x/rpcit-err issues an RPCIT outside a function's aperture.
# Like tests/s390x/guest-init.sh this script decides nothing; it prints facts
# and command output for tests/s390x/check-kernel-guest.py:
#
#   === ZT FACT key=value
#   === ZT BEGIN name
#   ...output...
#   === ZT END name rc=N t=UPTIME
#
# Every wait is for a positive marker (a kernel log line, a daemon log line,
# an answer of the holder), with a generous deadline.
#
# The functions (QEMU command line in tests/s390x/kernel-guest.sh):
#   0x31  e1000e  vfio-pci  zpcid owns it: drain, reset, error again;
#                           after zpcid exits bound to e1000e, which must
#                           find it online and send frames
#   0x32  e1000e  vfio-pci  held by zpcid-test-holder, zpcid observes:
#                           errors with a reset in between fill the queue,
#                           two read, the rest discarded at the last close
#   0x33  e1000e  e1000e    left to the kernel driver; later bound to
#                           vfio-pci and opened: nothing queued
#   0x34  e1000e  vfio-pci  held by a holder that does nothing: does QEMU
#                           raise a second error while the function is in
#                           the error state?
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LD_LIBRARY_PATH=/lib/s390x-linux-gnu:/usr/lib/s390x-linux-gnu
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /run /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/zpcid /run/dbus /run/udev /var/lib/zpcid
echo "=== ZT FACT kernel=$(uname -r)"
echo "=== ZT FACT init_start=$(cut -d' ' -f1 /proc/uptime)"

RPCIT=/lib/modules/extra/zpci_rpcit_err.ko
XMIT=/lib/modules/extra/zpci_xmit.ko
up() { cut -d. -f1 /proc/uptime; }

block() { # block NAME COMMAND... : run COMMAND, output delimited
	n=$1
	shift
	echo "=== ZT BEGIN $n"
	"$@" 2>&1
	rc=$?
	echo "=== ZT END $n rc=$rc t=$(cut -d' ' -f1 /proc/uptime)"
}

slot_of() { # slot_of FID -> PCI address
	for d in /sys/bus/pci/devices/*; do
		[ -e $d/function_id ] || continue
		[ $(($(cat $d/function_id))) = $(($1)) ] && basename $d && return 0
	done
	return 1
}

functions() { # one line per function
	for d in /sys/bus/pci/devices/*; do
		[ -e $d/function_id ] || continue
		l="slot=$(basename $d)"
		for a in function_id function_handle uid vendor device; do
			[ -r $d/$a ] && read -r v <$d/$a && l="$l $a=$v"
		done
		dr=
		[ -L $d/driver ] && dr=$(readlink $d/driver)
		echo "$l driver=${dr##*/}"
	done
}

fh_of() { cat "/sys/bus/pci/devices/$(slot_of "$1")/function_handle"; }

bind() { # bind FID DRIVER
	s=$(slot_of $1) || return 1
	D=/sys/bus/pci/devices/$s
	[ -L $D/driver ] && echo $s >$D/driver/unbind
	echo $2 >$D/driver_override
	echo $s >/sys/bus/pci/drivers/$2/bind
}

# wait_until SECONDS COMMAND...: 0 as soon as COMMAND succeeds, 1 after SECONDS
wait_until() {
	deadline=$(($(up) + $1))
	shift
	while ! "$@"; do
		[ "$(up)" -ge "$deadline" ] && return 1
		sleep 0.2
	done
	return 0
}

count_dmesg() { dmesg | grep -c "$1"; }
more_dmesg() { [ "$(count_dmesg "$1")" -gt "$2" ]; }
more_lines() { [ "$(grep -c "$2" "$1" 2>/dev/null)" -gt "$3" ]; }

event_pat() { printf 'Event 0x2 reports an error for PCI function 0x%x$' $(($1)); }

# rpcit FID [ADDR]: one RPCIT for FID at ADDR (default 0x1000, below the
# aperture); waits for the kernel's log line of the error event it raises
# (FACT rpcit_raised n=0 when none came in 60 s)
rpcit() {
	p=$(event_pat $1)
	n=$(count_dmesg "$p")
	addr=${2:-0x1000}
	echo "=== ZT FACT rpcit fid=$1 fh=$(fh_of $1) addr=$addr"
	insmod $RPCIT fid=$1 addr=$addr
	dmesg | grep 'zpci_rpcit_err: RPCIT cc' | tail -1 | sed 's/^.*RPCIT cc/=== ZT FACT rpcit_answer fid='"$1"' cc/'
	rmmod zpci_rpcit_err
	if wait_until 60 more_dmesg "$p" $n; then
		echo "=== ZT FACT rpcit_raised fid=$1 n=1"
	else
		echo "=== ZT FACT rpcit_raised fid=$1 n=0"
	fi
}

# holder FID NAME: start zpcid-test-holder on FID, commands through fd
# /tmp/NAME.in (kept open by this shell on the fd given as NUM)
holder_start() { # holder_start FID NAME FD
	s=$(slot_of $1)
	rm -f /tmp/$2.in /tmp/$2.log
	mkfifo /tmp/$2.in
	zpcid-test-holder $s </tmp/$2.in >/tmp/$2.log 2>&1 &
	eval "exec $3>/tmp/$2.in"
	if wait_until 30 grep -q -e '^READY' -e 'error' /tmp/$2.log && grep -q '^READY' /tmp/$2.log; then
		echo "=== ZT FACT holder $2 fid=$1 ready=1"
	else
		echo "=== ZT FACT holder $2 fid=$1 ready=0"
	fi
}
holder_cmd() { # holder_cmd NAME FD COMMAND: send, wait for "ok COMMAND"
	n=$(grep -c "^ok $3\$" /tmp/$1.log)
	eval "echo '$3' >&$2"
	wait_until 30 more_lines /tmp/$1.log "^ok $3\$" $n ||
		echo "=== ZT FACT holder $1 no-answer=$3"
}
holder_exit() { # holder_exit NAME FD
	eval "echo exit >&$2"
	eval "exec $2>&-"
	wait_until 30 grep -q '^closed' /tmp/$1.log || echo "=== ZT FACT holder $1 no-answer=exit"
}

# --- the scene ---------------------------------------------------------------
block bind-0x31 bind 0x31 vfio-pci
block bind-0x32 bind 0x32 vfio-pci
block bind-0x34 bind 0x34 vfio-pci
block functions-boot functions
S31=$(slot_of 0x31)
S32=$(slot_of 0x32)
S33=$(slot_of 0x33)
S34=$(slot_of 0x34)
echo "=== ZT FACT slots 0x31=$S31 0x32=$S32 0x33=$S33 0x34=$S34"

if [ -x /lib/systemd/systemd-udevd ]; then
	/lib/systemd/systemd-udevd --daemon --resolve-names=never 2>/tmp/udevd.log
	echo "=== ZT FACT udevd_rc=$?"
fi
udevadm monitor --kernel --udev --property >/tmp/uevents.log 2>&1 &
UMON=$!
dbus-daemon --config-file=/etc/dbus-1/zpcid-test-bus.conf --fork --print-pid >/tmp/dbus.pid 2>/tmp/dbus.log
echo "=== ZT FACT dbus_rc=$?"

# --- zpcid: owns 0x31 (drop-in 50-kernel-guest.json), observes the rest -------
STATE_DIRECTORY=/var/lib/zpcid RUNTIME_DIRECTORY=/run/zpcid zpcid --log-target=console --log-level=debug \
	>/tmp/zpcid.log 2>&1 &
ZPID=$!
has_name() {
	dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.NameHasOwner string:org.zpcid1 2>/dev/null | grep -q 'boolean true'
}
wait_until 60 has_name && echo "=== ZT FACT zpcid_bus_name_owned=1" || echo "=== ZT FACT zpcid_bus_name_owned=0"
wait_until 60 grep -q 'PCI function 0x00000031: holding its vfio device' /tmp/zpcid.log &&
	echo "=== ZT FACT zpcid_holds_0x31=1" || echo "=== ZT FACT zpcid_holds_0x31=0"
kill -0 $ZPID 2>/dev/null && echo "=== ZT FACT zpcid_running_after_start=1" || echo "=== ZT FACT zpcid_running_after_start=0"

# observe mode: another process holds 0x32, opened while zpcid runs
holder_start 0x32 h32 5
block list-start zpcictl list --format json

# --- own mode: a real error, drained; zpcid's reset ends mediated recovery ----
reset_done() { [ "$(grep 'ZPCID_ACTION=reset' /tmp/zpcid.log | grep 'ZPCI_FID=0x00000031' | grep -c 'ZPCID_RESULT=done')" -gt "$1" ]; }
resets=$(grep 'ZPCID_ACTION=reset' /tmp/zpcid.log | grep 'ZPCI_FID=0x00000031' | grep -c 'ZPCID_RESULT=done')
rpcit 0x31
wait_until 60 reset_done $resets && echo "=== ZT FACT own_reset_1=1" || echo "=== ZT FACT own_reset_1=0"
echo "=== ZT FACT own_vendor_after_reset=$(od -An -tx1 -N2 /sys/bus/pci/devices/$S31/config | tr -d ' ')"
block functions-after-reset functions
# usable after the reset: the platform takes the next RPCIT and raises again
resets=$(grep 'ZPCID_ACTION=reset' /tmp/zpcid.log | grep 'ZPCI_FID=0x00000031' | grep -c 'ZPCID_RESULT=done')
rpcit 0x31
wait_until 60 reset_done $resets && echo "=== ZT FACT own_reset_2=1" || echo "=== ZT FACT own_reset_2=0"

# --- the error state: a second RPCIT on 0x34 before any reset ------------------
# The kernel handles QEMU's events in the order QEMU raised them, so the
# event of 0x33 below is the marker: a second event of 0x34 would be logged
# before it.
holder_start 0x34 h34 6
rpcit 0x34
p34=$(event_pat 0x34)
n34=$(count_dmesg "$p34")
echo "=== ZT FACT error_state_rpcit fid=0x34 fh=$(fh_of 0x34)"
insmod $RPCIT fid=0x34
dmesg | grep 'zpci_rpcit_err: RPCIT cc' | tail -1 | sed 's/^.*RPCIT cc/=== ZT FACT error_state_rpcit_answer cc/'
rmmod zpci_rpcit_err

# --- a function left to its kernel driver -------------------------------------
rpcit 0x33
echo "=== ZT FACT error_state_second_events=$(($(count_dmesg "$p34") - n34))"
holder_cmd h34 6 signals
holder_cmd h34 6 reset
holder_cmd h34 6 "get 8"
holder_exit h34 6
block holder-0x34 cat /tmp/h34.log
# the kernel's recovery of 0x33 through its driver ends in one of these
recovered() { dmesg | grep -q -e "$S33: The device is ready to resume operations" -e "$S33: Automatic recovery failed"; }
wait_until 60 recovered && echo "=== ZT FACT kernel_recovery_done=1" || echo "=== ZT FACT kernel_recovery_done=0"
block functions-kernel-driver functions
block bind-0x33 bind 0x33 vfio-pci
holder_start 0x33 h33 7
holder_cmd h33 7 "get 4"
holder_exit h33 7
block holder-0x33 cat /tmp/h33.log

# --- real errors fill the queue of 0x32 ----------------------------------------
# Six errors, the holder resets the function after each (so that the
# platform raises the next) and reads nothing: four are kept, the newest two
# dropped.  QEMU keeps the same function handle across resets.
# Each at its own address, so that the records read back tell which were kept.
for i in 1 2 3 4 5 6; do
	rpcit 0x32 $((i * 0x1000))
	holder_cmd h32 5 reset
done
echo "=== ZT FACT overflow_log_lines=$(count_dmesg 'Maximum number (4) of pending error events queued')"
holder_cmd h32 5 signals
# read the two oldest, leave two for the last close
holder_cmd h32 5 "get 2"
u=$(count_dmesg 'Unhandled PCI error events')
holder_exit h32 5
wait_until 60 more_dmesg 'Unhandled PCI error events' $u &&
	echo "=== ZT FACT discard_logged=1" || echo "=== ZT FACT discard_logged=0"
block holder-0x32 cat /tmp/h32.log
block functions-end functions

# --- what zpcid says ------------------------------------------------------------
block events zpcictl events --format json
block list-end zpcictl list --format json
kill -0 $ZPID 2>/dev/null && echo "=== ZT FACT zpcid_running_at_end=1" || echo "=== ZT FACT zpcid_running_at_end=0"
kill -TERM $ZPID 2>/dev/null
wait_until 30 eval '! kill -0 $ZPID 2>/dev/null'
wait $ZPID
echo "=== ZT FACT zpcid_exit=$?"

# --- 0x31 back to its kernel driver after zpcid reset and released it ---------
# zpcid's VFIO_DEVICE_RESETs ended mediated recovery, its exit closed the vfio
# device.  e1000e must now find the function in the normal channel state: a
# driver that sees it offline never reads the hardware counters, so the
# frames zpci_xmit queues never show in tx_packets.
block rebind-0x31 bind 0x31 e1000e
N31=
[ -d "/sys/bus/pci/devices/$S31/net" ] && N31=$(ls "/sys/bus/pci/devices/$S31/net" | head -1)
echo "=== ZT FACT own_kdrv_netdev=$N31"
carrier_up() { [ "$(cat /sys/class/net/"$N31"/carrier 2>/dev/null)" = 1 ]; }
tx_sent() { [ "$(cat /sys/class/net/"$N31"/statistics/tx_packets 2>/dev/null)" -gt 0 ] 2>/dev/null; }
if [ -n "$N31" ]; then
	# no IPv4 in this kernel, so no "ip link set up": the module does it
	insmod $XMIT fid=0x31 ifup=1
	rmmod zpci_xmit
	wait_until 60 carrier_up && echo "=== ZT FACT own_kdrv_carrier=1" || echo "=== ZT FACT own_kdrv_carrier=0"
	insmod $XMIT fid=0x31 count=8
	rmmod zpci_xmit
	dmesg | grep 'zpci_xmit: ' | sed 's/^.*zpci_xmit: /=== ZT FACT own_kdrv_xmit /'
	# the counters are read when the statistics are: poll them
	wait_until 30 tx_sent
	echo "=== ZT FACT own_kdrv_tx_packets=$(cat /sys/class/net/"$N31"/statistics/tx_packets 2>/dev/null)"
	echo "=== ZT FACT own_kdrv_operstate=$(cat /sys/class/net/"$N31"/operstate 2>/dev/null)"
fi
kill $UMON 2>/dev/null
block zpcid-log cat /tmp/zpcid.log
block uevents cat /tmp/uevents.log
block dmesg dmesg
echo "=== ZT FACT init_end=$(cut -d' ' -f1 /proc/uptime)"
echo "=== ZT DONE"
poweroff -f
