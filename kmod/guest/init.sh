#!/bin/sh
# /init of the vfio-zpci-err self-test guest.
#
# Two zPCI functions: an e1000e (PCI Express, vendor:device 8086:10d3) and a
# virtio-rng (conventional PCI, 1af4:1005).  The self-test binds them to
# vfio-zpci-err or vfio-pci through driver_override and runs
# zpci-err-selftest against each.  Every check prints PASS:/FAIL:/SKIP:.
export PATH=/bin:/sbin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "=== INIT START uptime=$(cut -d' ' -f1 /proc/uptime) kernel $(uname -r)"

M=/lib/modules/$(uname -r)/ordered
for m in $(cat $M/order); do
	insmod $M/$m || echo "FAIL: init insmod-$m: insmod failed"
done

find_dev() {
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat $d/vendor):$(cat $d/device)" = "$1" ] && basename $d && return
	done
}
NIC=$(find_dev 0x8086:0x10d3)
RNG=$(find_dev 0x1af4:0x1005)
echo "=== functions: e1000e=$NIC virtio-rng=$RNG"
for d in $NIC $RNG; do
	echo "  $d: function_id=$(cat /sys/bus/pci/devices/$d/function_id)" \
		"function_handle=$(cat /sys/bus/pci/devices/$d/function_handle)" \
		"uid=$(cat /sys/bus/pci/devices/$d/uid)"
done

res() { # res OK RULE TEXT
	if [ "$1" = 0 ]; then echo "PASS: init $2: $3"; else echo "FAIL: init $2: $3"; fi
}

bind() { # bind ADDR DRIVER
	D=/sys/bus/pci/devices/$1
	[ -L $D/driver ] && echo $1 > $D/driver/unbind
	echo $2 > $D/driver_override
	echo $1 > /sys/bus/pci/drivers/$2/bind
	[ "$(basename "$(readlink $D/driver)")" = "$2" ]
	res $? bind-$2 "$1 bound to $2"
}

unbind() { # unbind ADDR
	D=/sys/bus/pci/devices/$1
	[ -L $D/driver ] && echo $1 > $D/driver/unbind
	echo > $D/driver_override
}

load() {
	insmod /lib/modules/vfio_zpci_err.ko
	res $? insmod "vfio_zpci_err loaded"
}

selftest() { # selftest LABEL MODE ADDR
	echo "=== zpci-err-selftest $*"
	zpci-err-selftest "$@"
	echo "=== zpci-err-selftest $1 rc=$?"
}

if [ -n "$NIC" ] && [ -n "$RNG" ]; then
	load
	drv() { basename "$(readlink /sys/bus/pci/devices/$1/driver)" 2>/dev/null; }
	echo "  drivers before binding: $NIC -> $(drv $NIC), $RNG -> $(drv $RNG)"
	[ "$(drv $NIC)" != vfio-zpci-err ] && [ "$(drv $RNG)" != vfio-zpci-err ]
	res $? bind-only-on-override "no function bound without driver_override"

	bind $NIC vfio-zpci-err
	bind $RNG vfio-pci
	selftest pcie feature $NIC
	selftest plain-nonpcie plain $RNG
	unbind $RNG
	bind $RNG vfio-zpci-err
	selftest nonpcie feature $RNG
	unbind $RNG
	unbind $NIC

	rmmod vfio_zpci_err
	res $? rmmod "vfio_zpci_err unloaded"
else
	echo "FAIL: init functions: e1000e or virtio-rng not found"
fi

echo "=== kernel messages of the test"
dmesg | grep -E 'vfio|zpci' | tail -40
echo "=== INIT END uptime=$(cut -d' ' -f1 /proc/uptime)"
poweroff -f
