#!/bin/sh
# /init of the zpcid s390x test guest (busybox sh).
#
# Sets the scene, runs zpcid against the real kernel and prints everything
# the host needs to judge it.  This script decides nothing: it prints facts
# (what the kernel shows) and outputs (what zpcid and zpcictl say) in
# delimited blocks, and tests/s390x/check-guest.py compares them:
#
#   === ZT FACT key=value
#   === ZT BEGIN name
#   ...output...
#   === ZT END name rc=N t=UPTIME
#
# The functions (QEMU command line in tests/s390x/guest.sh, found here by FID):
#   0x21  e1000e (PCIe)        vfio-zpci-err (kmod/module), zpcid owns it: injection
#   0x22  e1000e (PCIe)        stock vfio-pci, zpcid asked to own it: no feature
#   0x23  e1000e (PCIe)        e1000e driver, left to the kernel: real RPCIT error
#   0x10  virtio-rng (PCI)     virtio-pci; bound to vfio-pci and back at run time
#   0x12  virtio-rng (PCI)     stock vfio-pci, observed
#   0x24  e1000e (PCIe)        vfio-zpci-err, held by zpcid-test-delegate, which
#                              passes its device fd to zpcid: delegated mode
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LD_LIBRARY_PATH=/lib/s390x-linux-gnu:/usr/lib/s390x-linux-gnu
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /run /tmp /var/lib/zpcid /run/zpcid /run/dbus /run/udev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mkdir -p /run/zpcid /run/dbus /run/udev
echo "=== ZT FACT kernel=$(uname -r)"
echo "=== ZT FACT init_start=$(cut -d' ' -f1 /proc/uptime)"

arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p"; }
STEP_WAIT=$(arg zt.step)
STEP_WAIT=${STEP_WAIT:-3}
BUS=$(arg zt.bus)

M=/lib/modules/$(uname -r)/ordered
for m in $(cat $M/order); do
	insmod $M/$m 2>/dev/null || echo "=== ZT FACT insmod_failed=$m"
done

block() { # block NAME COMMAND... : run COMMAND, output delimited
	n=$1
	shift
	echo "=== ZT BEGIN $n"
	"$@" 2>&1
	rc=$?
	echo "=== ZT END $n rc=$rc t=$(cut -d' ' -f1 /proc/uptime)"
}

slot_of() { # slot_of FID(hex, 0x..) -> PCI address
	for d in /sys/bus/pci/devices/*; do
		[ -e $d/function_id ] || continue
		[ $(($(cat $d/function_id))) = $(($1)) ] && basename $d && return 0
	done
	return 1
}

functions() { # one line per function with every zPCI attribute
	for d in /sys/bus/pci/devices/*; do
		[ -e $d/function_id ] || continue
		l="slot=$(basename $d)"
		for a in function_id function_handle uid uid_is_unique pchid pfgid vfn port pft fidparm vendor device mio_enabled; do
			[ -r $d/$a ] && read -r v <$d/$a && l="$l $a=$v"
		done
		dr=
		[ -L $d/driver ] && dr=$(readlink $d/driver)
		l="$l driver=${dr##*/}"
		echo "$l"
	done
}

bind() { # bind FID DRIVER
	s=$(slot_of $1) || return 1
	D=/sys/bus/pci/devices/$s
	[ -L $D/driver ] && echo $s >$D/driver/unbind
	echo $2 >$D/driver_override
	echo $s >/sys/bus/pci/drivers/$2/bind
}

unbind() { # unbind FID
	s=$(slot_of $1) || return 1
	D=/sys/bus/pci/devices/$s
	[ -L $D/driver ] && echo $s >$D/driver/unbind
	echo >$D/driver_override
}

# --- the scene ---------------------------------------------------------------
insmod /lib/modules/extra/vfio_zpci_err.ko && echo "=== ZT FACT vfio_zpci_err=loaded"
block bind-0x21 bind 0x21 vfio-zpci-err
block bind-0x22 bind 0x22 vfio-pci
block bind-0x12 bind 0x12 vfio-pci
block bind-0x24 bind 0x24 vfio-zpci-err
block functions-boot functions

# uevents: systemd-udevd turns kernel uevents into the "udev" netlink
# group that libudev monitors listen to; the kernel group is recorded too
if [ -x /lib/systemd/systemd-udevd ]; then
	/lib/systemd/systemd-udevd --daemon --resolve-names=never 2>/tmp/udevd.log
	echo "=== ZT FACT udevd_rc=$?"
fi
udevadm monitor --kernel --udev --property >/tmp/uevents.log 2>&1 &
UMON=$!

dbus-daemon --config-file=/etc/dbus-1/zpcid-test-bus.conf --fork --print-pid >/tmp/dbus.pid 2>/tmp/dbus.log
echo "=== ZT FACT dbus_rc=$?"

block check-config zpcid --check-config
ZPCID_ARGS="--log-target=console --log-level=debug"
echo "=== ZT FACT zpcid_args=$ZPCID_ARGS"
STATE_DIRECTORY=/var/lib/zpcid RUNTIME_DIRECTORY=/run/zpcid zpcid $ZPCID_ARGS >/tmp/zpcid.log 2>&1 &
ZPID=$!
# ready: the daemon owns its bus name (when it has a bus), 20 s at most
up() { cut -d. -f1 /proc/uptime; }
await_name() { # await_name PID: 0 once org.zpcid1 is owned
	deadline=$(($(up) + 20))
	while [ "$BUS" = 1 ] && [ $(up) -lt $deadline ] && kill -0 $1 2>/dev/null; do
		if dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
			org.freedesktop.DBus.NameHasOwner string:org.zpcid1 2>/dev/null | grep -q 'boolean true'; then
			return 0
		fi
		sleep 0.5
	done
	return 1
}
owned=0
await_name $ZPID && owned=1
[ "$BUS" = 1 ] || sleep $STEP_WAIT
kill -0 $ZPID 2>/dev/null && echo "=== ZT FACT zpcid_running_after_start=1" || echo "=== ZT FACT zpcid_running_after_start=0"
echo "=== ZT FACT zpcid_bus_name_owned=$owned"
echo "=== ZT FACT zpcid_ready=$(cut -d' ' -f1 /proc/uptime)"

block zpcictl-help zpcictl --help
block list-start zpcictl list --format json
if [ "$BUS" = 1 ]; then
	# the same question without zpcictl, to tell the daemon's answer from the client's reading
	block managed-objects dbus-send --system --print-reply --dest=org.zpcid1 /org/zpcid1 \
		org.freedesktop.DBus.ObjectManager.GetManagedObjects
fi

# --- bind / unbind followed at run time --------------------------------------
block bind-0x10 bind 0x10 vfio-pci
sleep $STEP_WAIT
block list-bound zpcictl list --format json
block functions-bound functions
block unbind-0x10 unbind 0x10
sleep $STEP_WAIT
block list-unbound zpcictl list --format json
block functions-unbound functions

# --- own mode: injected errors ----------------------------------------------
S21=$(slot_of 0x21)
A=/sys/bus/pci/devices/$S21
for pec in 0x1 0x3a 0x40; do
	echo "=== ZT FACT inject fid=0x21 pec=$pec"
	echo $pec >$A/zpci_err_inject_pec
	sleep $STEP_WAIT
done
echo "=== ZT FACT pending_after_single=$(cat $A/zpci_err_pending 2>/dev/null)"

# a burst that overflows the 4-deep queue: zpcid is stopped meanwhile, so
# the kernel side keeps exactly the four oldest records
kill -STOP $ZPID
for pec in 0x10 0x11 0x12 0x13 0x14 0x15; do
	echo "=== ZT FACT burst fid=0x21 pec=$pec"
	echo $pec >$A/zpci_err_inject_pec
done
echo "=== ZT FACT pending_in_burst=$(cat $A/zpci_err_pending 2>/dev/null)"
echo "=== ZT FACT dropped_in_burst=$(cat $A/zpci_err_dropped 2>/dev/null)"
kill -CONT $ZPID
sleep $STEP_WAIT
sleep $STEP_WAIT
echo "=== ZT FACT pending_after_burst=$(cat $A/zpci_err_pending 2>/dev/null)"

# --- a function left to the kernel: a real error event from the platform -----
echo "=== ZT FACT rpcit fid=0x23"
block rpcit insmod /lib/modules/extra/zpci_rpcit_err.ko fid=0x23
sleep $STEP_WAIT
sleep $STEP_WAIT

# --- delegated mode: an owner passes its device fd over D-Bus -----------------
# zpcid-test-delegate opens the vfio device of 0x24 (group + container, as a
# VMM does), calls Delegate(h, a{sv}) and prints the signals zpcid sends
S24=$(slot_of 0x24)
B=/sys/bus/pci/devices/$S24
if [ -x /usr/bin/zpcid-test-delegate ] && [ -n "$S24" ]; then
	zpcid-test-delegate $S24 0x24 120 >/tmp/delegate.log 2>&1 &
	DPID=$!
	i=0
	while ! grep -q '^READY' /tmp/delegate.log && kill -0 $DPID 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	block list-delegated zpcictl list --format json
	for pec in 0x3 0x9; do
		echo "=== ZT FACT delegated-inject fid=0x24 pec=$pec"
		echo $pec >$B/zpci_err_inject_pec
		sleep $STEP_WAIT
	done
	echo "=== ZT FACT pending_after_delegated=$(cat $B/zpci_err_pending 2>/dev/null)"
	kill -TERM $DPID 2>/dev/null
	wait $DPID
	echo "=== ZT FACT delegate_exit=$?"
	block delegate cat /tmp/delegate.log
fi
block functions-end functions

# --- what zpcid says ----------------------------------------------------------
block events zpcictl events --format json
kill -0 $ZPID 2>/dev/null && echo "=== ZT FACT zpcid_running_at_end=1" || echo "=== ZT FACT zpcid_running_at_end=0"
kill -TERM $ZPID 2>/dev/null
i=0
while kill -0 $ZPID 2>/dev/null && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
wait $ZPID
echo "=== ZT FACT zpcid_exit=$?"

# --- zpcid beside its floor (bench/zpcid-floor), when the host asks for it ---
# zt.bench_fids=N functions 0x40.. held by vfio-zpci-err, zt.bench_latency
# injections one at a time, zt.bench_storm errors per storm; the journal and
# the bus are the ones of the latency check below (docs/benchmarks.md).
BENCH_FIDS=$(arg zt.bench_fids)
BENCH_LAT=$(arg zt.bench_latency)
BENCH_STORM=$(arg zt.bench_storm)
BENCH_SLOTS=
if [ -n "$BENCH_FIDS" ]; then
	i=0
	while [ $i -lt $BENCH_FIDS ]; do
		f=$(printf '0x%x' $((0x40 + i)))
		bind $f vfio-zpci-err && BENCH_SLOTS="$BENCH_SLOTS $(slot_of $f)"
		i=$((i + 1))
	done
	echo "=== ZT FACT bench_slots=$(echo $BENCH_SLOTS | wc -w)"
fi

await_holder() { # await_holder PID N: 0 once PID holds N vfio group nodes
	deadline=$(($(up) + 60))
	while [ $(up) -lt $deadline ] && kill -0 $1 2>/dev/null; do
		[ $(ls -l /proc/$1/fd 2>/dev/null | grep -c '/dev/vfio/[0-9]') -ge $2 ] && return 0
		sleep 0.2
	done
	return 1
}

await_traced() { # await_traced PID: 0 once a tracer is attached to PID
	deadline=$(($(up) + 60))
	while [ $(up) -lt $deadline ] && kill -0 $1 2>/dev/null; do
		grep -q '^TracerPid:[[:space:]]*[1-9]' /proc/$1/status 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

bench_stop() { # bench_stop PID NAME
	kill -TERM $1 2>/dev/null
	wait $1
	echo "=== ZT FACT bench_${2}_exit=$?"
}

bench_side_by_side() {
	# the kernel log so far is judged at the end: keep it from being
	# overwritten by the storms' lines, and keep those off the console
	dmesg >/tmp/dmesg.pre
	mkdir -p /var/lib/zpcid-bench
	dmesg -n 1
	S21=$(slot_of 0x21)
	N=$(echo $BENCH_SLOTS | wc -w)
	# latency: the floor on 0x21, then zpcid (coalescing off)
	zpcid-floor $S21 2>/tmp/floor-latency.log &
	P=$!
	await_name $P && await_holder $P 1 && zpcid-test-storm --pid $P --idle &&
		block bench-latency-floor zpcid-test-latency $A/zpci_err_inject_pec 0x21 $BENCH_LAT
	bench_stop $P floor_latency
	STATE_DIRECTORY=/var/lib/zpcid-bench zpcid --log-target=journal --config /etc/zpcid/latency.json --config-dropins /etc/zpcid/latency.d \
		>/tmp/zpcid-bench-latency.log 2>&1 &
	P=$!
	await_name $P && await_holder $P 1 && zpcid-test-storm --pid $P --idle &&
		block bench-latency-zpcid zpcid-test-latency $A/zpci_err_inject_pec 0x21 $BENCH_LAT
	bench_stop $P zpcid_latency
	# storms over every bench function: paced (the drain rate) and flat out
	for mode in paced flat; do
		opt=
		[ $mode = paced ] && opt=--paced
		zpcid-floor $BENCH_SLOTS 2>/tmp/floor-storm.log &
		P=$!
		await_name $P && await_holder $P $N &&
			block bench-storm-$mode-floor zpcid-test-storm $opt --expect-journal --pid $P --total $BENCH_STORM $BENCH_SLOTS
		bench_stop $P floor_$mode
		for c in off on; do
			STATE_DIRECTORY=/var/lib/zpcid-bench zpcid --log-target=journal --config /etc/zpcid/bench-coalesce-$c.json \
				--config-dropins /etc/zpcid/latency.d >/tmp/zpcid-bench-$mode-$c.log 2>&1 &
			P=$!
			e=--expect-journal
			[ $c = on ] && e=
			await_name $P && await_holder $P $N &&
				block bench-storm-$mode-zpcid-coalesce-$c zpcid-test-storm $opt $e --pid $P --total $BENCH_STORM $BENCH_SLOTS
			bench_stop $P zpcid_${mode}_$c
		done
	done
	# the system calls each makes per error: the latency run again, under
	# strace -c (counts, not times: strace slows both programs)
	for who in floor zpcid; do
		if [ $who = floor ]; then
			zpcid-floor $S21 2>/tmp/floor-syscalls.log &
		else
			STATE_DIRECTORY=/var/lib/zpcid-bench zpcid --log-target=journal --config /etc/zpcid/latency.json \
				--config-dropins /etc/zpcid/latency.d >/tmp/zpcid-bench-syscalls.log 2>&1 &
		fi
		P=$!
		if await_name $P && await_holder $P 1 && zpcid-test-storm --pid $P --idle; then
			strace -c -f -q -U calls,errors,name -S calls -o /tmp/strace-$who.txt -p $P 2>/tmp/strace-$who.err &
			S=$!
			await_traced $P &&
				block bench-syscalls-$who-run zpcid-test-latency $A/zpci_err_inject_pec 0x21 $BENCH_LAT
			kill -INT $S 2>/dev/null
			wait $S
			block bench-syscalls-$who cat /tmp/strace-$who.txt /tmp/strace-$who.err
			# and the order of them for three errors, with their times
			strace -f -q -tt -T -o /tmp/strace-timeline-$who.txt -p $P 2>/dev/null &
			S=$!
			await_traced $P && zpcid-test-latency $A/zpci_err_inject_pec 0x21 3 >/dev/null 2>&1
			kill -INT $S 2>/dev/null
			wait $S
			block bench-timeline-$who cat /tmp/strace-timeline-$who.txt
		fi
		bench_stop $P ${who}_syscalls
	done
	block bench-floor-log cat /tmp/floor-latency.log /tmp/floor-storm.log
	block bench-zpcid-log tail -50 /tmp/zpcid-bench-paced-off.log
	dmesg -n 7
}

# --- latency, coarse: injected error -> journal record and -> D-Bus signal ----
# A zpcid of its own for it, logging to a systemd-journald, owning 0x21 with
# a policy that only logs and coalesces nothing (docs/benchmarks.md).
if [ "$BUS" = 1 ] && [ -x /lib/systemd/systemd-journald ] && [ -x /usr/bin/zpcid-test-latency ]; then
	mkdir -p /run/systemd/journal /var/lib/zpcid-latency /etc/zpcid/latency.d
	# journald wants a cgroup file system and names its files after the machine
	mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
	[ -s /etc/machine-id ] || tr -d '-' </proc/sys/kernel/random/uuid >/etc/machine-id
	SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=debug /lib/systemd/systemd-journald >/tmp/journald.log 2>&1 &
	JPID=$!
	i=0
	while [ ! -S /run/systemd/journal/socket ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -S /run/systemd/journal/socket ] && echo "=== ZT FACT latency_journald=1" || echo "=== ZT FACT latency_journald=0"
	STATE_DIRECTORY=/var/lib/zpcid-latency RUNTIME_DIRECTORY=/run/zpcid zpcid --log-target=journal \
		--config /etc/zpcid/latency.json --config-dropins /etc/zpcid/latency.d >/tmp/zpcid-latency.log 2>&1 &
	LPID=$!
	if await_name $LPID; then
		echo "=== ZT FACT latency_zpcid_ready=1"
		block latency zpcid-test-latency $A/zpci_err_inject_pec 0x21 200
	else
		echo "=== ZT FACT latency_zpcid_ready=0"
	fi
	kill -TERM $LPID 2>/dev/null
	wait $LPID
	echo "=== ZT FACT latency_zpcid_exit=$?"
	[ -n "$BENCH_FIDS" ] && bench_side_by_side
	kill $JPID 2>/dev/null
	block zpcid-latency-log cat /tmp/zpcid-latency.log
	block journald-log cat /tmp/journald.log
	block journal-files ls -laR /run/log /run/systemd/journal /etc/machine-id
fi
kill $UMON 2>/dev/null
block zpcid-log cat /tmp/zpcid.log
block uevents cat /tmp/uevents.log
block udevd-log cat /tmp/udevd.log
block dbus-log cat /tmp/dbus.log
block dmesg sh -c 'cat /tmp/dmesg.pre 2>/dev/null || dmesg'
echo "=== ZT FACT init_end=$(cut -d' ' -f1 /proc/uptime)"
echo "=== ZT DONE"
poweroff -f
