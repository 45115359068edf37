/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zpcid-test-holder: a user-space driver that holds a zPCI function's vfio
 * device and does only what it is told, for the patched-kernel guest
 * (tests/s390x/kernel-guest-init.sh).
 *
 *   zpcid-test-holder SLOT
 *
 * Opens the vfio device of the PCI function SLOT through its group and
 * container (as a VMM does), registers an eventfd on the error interrupt
 * (VFIO_PCI_ERR_IRQ_INDEX) when the device offers it, prints "READY" and
 * then reads commands from standard input, one a line:
 *
 *   reset     VFIO_DEVICE_RESET               -> "reset rc=0" or "reset rc=-ERRNO"
 *   get N     up to N GETs of the zPCI error feature, stopping at the
 *             first error                     -> "record fh=0x.. fid=0x..
 *                                                 pec=0x.. faddr=0x.." each,
 *                                                 then "get end n=K errno=NAME"
 *   signals   the eventfd's counter (read, so it restarts at 0)
 *                                             -> "signals N"
 *   exit      close everything and exit 0
 *
 * Every answer ends with a line "ok COMMAND", so that the caller can wait
 * for it.  The GET uses the feature as DESIGN's kernel facts state it (index
 * 13, payload a u64 user pointer to a buffer the size of one 32-byte CCDF),
 * spelled out here so that the program does not depend on which headers
 * the tree carries.  The CCDF is decoded with explicit big-endian reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

#define ZPCI_ERROR_FEATURE 13
#define CCDF_SIZE          32
#define ERR_IRQ_INDEX      3 /* VFIO_PCI_ERR_IRQ_INDEX */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int open_device(const char *slot)
{
	char path[PATH_MAX], link[PATH_MAX];
	struct vfio_group_status status = { .argsz = sizeof(status) };
	const char *g;
	int container, group, device;
	ssize_t n;

	(void)snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", slot);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = 0;
	g = strrchr(link, '/');
	g = g ? g + 1 : link;

	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		return -errno;
	(void)snprintf(path, sizeof(path), "/dev/vfio/%.32s", g);
	group = open(path, O_RDWR | O_CLOEXEC);
	if (group < 0)
		return -errno;
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) < 0)
		return -errno;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EPERM;
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
		return -errno;
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 &&
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0)
		return -errno;
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, slot);
	if (device < 0)
		return -errno;
	printf("open %s group %s\n", slot, g);
	return device;
}

/* Register @efd on the error interrupt; -errno when the device has none. */
static int register_err_irq(int device, int efd)
{
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = ERR_IRQ_INDEX };
	char buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	int32_t fd = efd;

	if (ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, &info) < 0)
		return -errno;
	if (info.count != 1)
		return -ENOENT;
	memset(buf, 0, sizeof(buf));
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = ERR_IRQ_INDEX;
	set->start = 0;
	set->count = 1;
	memcpy(set->data, &fd, sizeof(fd));
	if (ioctl(device, VFIO_DEVICE_SET_IRQS, set) < 0)
		return -errno;
	return 0;
}

static void get_records(int device, unsigned max)
{
	uint64_t req[(sizeof(struct vfio_device_feature) + sizeof(uint64_t)) / sizeof(uint64_t)];
	struct vfio_device_feature *f = (struct vfio_device_feature *)req;
	uint8_t ccdf[CCDF_SIZE];
	uint64_t ptr = (uintptr_t)ccdf;
	unsigned n = 0;
	int err = 0;

	while (n < max) {
		memset(req, 0, sizeof(req));
		f->argsz = sizeof(req);
		f->flags = VFIO_DEVICE_FEATURE_GET | ZPCI_ERROR_FEATURE;
		memcpy(f->data, &ptr, sizeof(ptr));
		memset(ccdf, 0, sizeof(ccdf));
		if (ioctl(device, VFIO_DEVICE_FEATURE, f) < 0) {
			err = errno;
			break;
		}
		n++;
		printf("record fh=0x%08x fid=0x%08x pec=0x%x faddr=0x%08x%08x\n", be32(ccdf + 4),
		       be32(ccdf + 8), (unsigned)(ccdf[30] << 8 | ccdf[31]), be32(ccdf + 16),
		       be32(ccdf + 20));
	}
	printf("get end n=%u errno=%s\n", n,
	       err == 0        ? "0"
	       : err == ENOMSG ? "ENOMSG"
	       : err == EINVAL ? "EINVAL"
	       : err == ENOTTY ? "ENOTTY"
	       : err == ENODEV ? "ENODEV"
	       : err == EFAULT ? "EFAULT"
			       : strerror(err));
}

int main(int argc, char **argv)
{
	char line[128];
	int device, efd, r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SLOT\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	device = open_device(argv[1]);
	if (device < 0) {
		printf("open-error %s\n", strerror(-device));
		return 1;
	}
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0) {
		printf("eventfd-error %s\n", strerror(errno));
		return 1;
	}
	r = register_err_irq(device, efd);
	printf("err-irq %s\n", r < 0 ? strerror(-r) : "registered");
	printf("READY\n");

	while (fgets(line, sizeof(line), stdin)) {
		unsigned n;

		line[strcspn(line, "\n")] = 0;
		if (strcmp(line, "reset") == 0) {
			r = ioctl(device, VFIO_DEVICE_RESET);
			printf("reset rc=%d\n", r < 0 ? -errno : 0);
		} else if (sscanf(line, "get %u", &n) == 1) {
			get_records(device, n);
		} else if (strcmp(line, "signals") == 0) {
			uint64_t v = 0;

			if (read(efd, &v, sizeof(v)) != sizeof(v))
				v = 0;
			printf("signals %llu\n", (unsigned long long)v);
		} else if (strcmp(line, "exit") == 0) {
			break;
		} else {
			printf("unknown %s\n", line);
		}
		printf("ok %s\n", line);
	}
	close(efd);
	close(device);
	printf("closed\n");
	return 0;
}
