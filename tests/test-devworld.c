/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tests of the device world itself: what a process under the preload sees
 * (libudev, sysfs, /dev/kmsg, the vfio nodes) and that the VFIO emulation
 * follows the kernel's rules when a small client in this test drives it.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libudev.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <linux/vfio.h>
#include <linux/vfio_zdev.h>

#include "common/ccdf.h"
#include "tests/devworld.h"

#ifndef VFIO_DEVICE_FEATURE_ZPCI_ERROR
#define VFIO_DEVICE_FEATURE_ZPCI_ERROR 13
#endif
#define T_BIND_IOMMUFD     _IO(VFIO_TYPE, VFIO_BASE + 18)
#define T_ATTACH_PT        _IO(VFIO_TYPE, VFIO_BASE + 19)
#define T_IOMMU_IOAS_ALLOC _IO(';', 0x81)

static bool have_preload(void)
{
	const char *p = getenv("LD_PRELOAD");
	return p && strstr(p, "umockdev");
}

static char *read_text(const char *path)
{
	char *s = NULL;

	if (!g_file_get_contents(path, &s, NULL, NULL))
		return NULL;
	return s;
}

static const DevworldFunction nvme = {
	.fid = 0x11,
	.uid = 0x11,
	.uid_is_unique = true,
	.pchid = 0x01c0,
	.pfgid = 0x12,
	.kind = DEVWORLD_KIND_NVME,
};

START_TEST(test_sysfs_through_libudev)
{
	Devworld *w = NULL;
	struct udev *udev;
	struct udev_enumerate *en;
	struct udev_list_entry *e;
	struct udev_device *d;
	char link[256] = {};
	unsigned n = 0;
	char *s;

	ck_assert_int_eq(devworld_new(&w), 0);
	ck_assert_int_eq(devworld_add_function(w, &(DevworldFunction){ .fid = 0x1021,
								       .uid = 0x21,
								       .uid_is_unique = false,
								       .pchid = 0x0100,
								       .vfn = 0x0003,
								       .port = 2,
								       .kind = DEVWORLD_KIND_ROCE2 }),
			 0);
	ck_assert_int_eq(devworld_add_function(w, &nvme), 0);
	ck_assert_int_eq(devworld_add_function(w, &nvme), -EEXIST);

	udev = udev_new();
	en = udev_enumerate_new(udev);
	udev_enumerate_add_match_subsystem(en, "pci");
	ck_assert_int_eq(udev_enumerate_scan_devices(en), 0);
	udev_list_entry_foreach (e, udev_enumerate_get_list_entry(en))
		n++;
	ck_assert_uint_eq(n, 2);

	/* the RoCE function: no unique UID, so the first free domain */
	ck_assert_str_eq(devworld_slot(w, 0x1021), "0000:00:00.0");
	d = udev_device_new_from_syspath(udev, devworld_syspath(w, 0x1021));
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(udev_device_get_subsystem(d), "pci");
	ck_assert_str_eq(udev_device_get_sysattr_value(d, "function_id"), "0x00001021");
	ck_assert_str_eq(udev_device_get_sysattr_value(d, "function_handle"), "0x80001021");
	ck_assert_str_eq(udev_device_get_sysattr_value(d, "pchid"), "0x0100");
	ck_assert_str_eq(udev_device_get_sysattr_value(d, "vfn"), "0x0003");
	ck_assert_str_eq(udev_device_get_sysattr_value(d, "port"), "2");
	ck_assert_str_eq(udev_device_get_sysattr_value(d, "uid"), "0x21");
	ck_assert_str_eq(udev_device_get_sysattr_value(d, "uid_is_unique"), "0");
	ck_assert_str_eq(udev_device_get_sysattr_value(d, "pft"), "0x0a");
	ck_assert_str_eq(udev_device_get_sysattr_value(d, "vendor"), "0x15b3");
	ck_assert_str_eq(udev_device_get_sysattr_value(d, "device"), "0x1016");
	ck_assert_str_eq(udev_device_get_sysattr_value(d, "class"), "0x020000");
	ck_assert_str_eq(udev_device_get_driver(d), "mlx5_core");
	ck_assert_str_eq(udev_device_get_property_value(d, "PCI_SLOT_NAME"), "0000:00:00.0");
	ck_assert_str_eq(udev_device_get_property_value(d, "PCI_ID"), "15B3:1016");
	udev_device_unref(d);

	/* the NVMe function: unique UID, so domain == UID */
	ck_assert_str_eq(devworld_slot(w, 0x11), "0011:00:00.0");
	ck_assert_str_eq(devworld_syspath(w, 0x11), "/sys/devices/pci0011:00/0011:00:00.0");
	d = udev_device_new_from_syspath(udev, devworld_syspath(w, 0x11));
	ck_assert_str_eq(udev_device_get_sysattr_value(d, "pft"), "0x0b");
	ck_assert_str_eq(udev_device_get_sysattr_value(d, "pfgid"), "0x12");
	ck_assert_str_eq(udev_device_get_sysattr_value(d, "fidparm"), "0x00");
	ck_assert_str_eq(udev_device_get_sysattr_value(d, "uid_is_unique"), "1");
	ck_assert_str_eq(udev_device_get_sysattr_value(d, "mio_enabled"), "0");
	ck_assert_str_eq(udev_device_get_sysattr_value(d, "class"), "0x010802");
	ck_assert_str_eq(udev_device_get_driver(d), "nvme");
	udev_device_unref(d);

	/* raw files, as a daemon reads them */
	s = read_text("/sys/bus/pci/devices/0011:00:00.0/function_id");
	ck_assert_str_eq(s, "0x00000011\n");
	g_free(s);
	s = read_text("/sys/bus/pci/slots/00000011/address");
	ck_assert_str_eq(s, "0011:00:00\n");
	g_free(s);
	s = read_text("/sys/bus/pci/slots/00000011/power");
	ck_assert_str_eq(s, "1\n");
	g_free(s);
	ck_assert_int_gt(readlink("/sys/bus/pci/devices/0011:00:00.0/iommu_group", link, sizeof(link) - 1),
			 0);
	ck_assert_ptr_nonnull(strstr(link, "kernel/iommu_groups/"));
	ck_assert_int_eq(access("/sys/bus/pci/devices/0011:00:00.0/recover", F_OK), 0);

	udev_enumerate_unref(en);
	udev_unref(udev);
	devworld_free(w);
}
END_TEST

static struct udev_device *wait_uevent(struct udev_monitor *mon, const char *action)
{
	for (;;) {
		struct pollfd p = { .fd = udev_monitor_get_fd(mon), .events = POLLIN };
		struct udev_device *d;

		if (poll(&p, 1, 2000) <= 0)
			return NULL;
		d = udev_monitor_receive_device(mon);
		if (!d)
			continue;
		if (strcmp(udev_device_get_action(d) ?: "", action) == 0)
			return d;
		udev_device_unref(d);
	}
}

START_TEST(test_uevents)
{
	Devworld *w = NULL;
	struct udev *udev;
	struct udev_monitor *mon;
	struct udev_device *d;
	char *s;
	int grp;

	ck_assert_int_eq(devworld_new(&w), 0);
	udev = udev_new();
	mon = udev_monitor_new_from_netlink(udev, "udev");
	udev_monitor_filter_add_match_subsystem_devtype(mon, "pci", NULL);
	ck_assert_int_eq(udev_monitor_enable_receiving(mon), 0);

	ck_assert_int_eq(devworld_add_function(w, &nvme), 0);
	d = wait_uevent(mon, "add");
	ck_assert_ptr_nonnull(d);
	/* everything is in place when "add" arrives */
	ck_assert_str_eq(udev_device_get_sysattr_value(d, "function_id"), "0x00000011");
	udev_device_unref(d);
	d = wait_uevent(mon, "bind");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(udev_device_get_property_value(d, "DRIVER"), "nvme");
	udev_device_unref(d);

	ck_assert_int_eq(devworld_unbind(w, 0x11), 0);
	d = wait_uevent(mon, "unbind");
	ck_assert_ptr_nonnull(d);
	udev_device_unref(d);
	ck_assert_int_eq(devworld_bind(w, 0x11, "vfio-pci"), 0);
	d = wait_uevent(mon, "bind");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(udev_device_get_property_value(d, "DRIVER"), "vfio-pci");
	udev_device_unref(d);
	grp = devworld_group(w, 0x11);
	{
		g_autofree char *node = g_strdup_printf("/dev/vfio/%d", grp);
		g_autofree char *cdev = g_strdup_printf("/sys/bus/pci/devices/0011:00:00.0/vfio-dev/vfio%d",
							devworld_cdev(w, 0x11));
		struct stat st;

		ck_assert_int_eq(stat(node, &st), 0);
		ck_assert(S_ISCHR(st.st_mode));
		ck_assert_int_eq(access(cdev, F_OK), 0);
		g_autofree char *cnode = g_strdup_printf("/dev/vfio/devices/vfio%d", devworld_cdev(w, 0x11));

		ck_assert_int_eq(access(cnode, F_OK), 0);
	}

	ck_assert_int_eq(devworld_recovery_uevent(w, 0x11, "BEGIN_RECOVERY", false), 0);
	d = wait_uevent(mon, "change");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(udev_device_get_property_value(d, "ERROR_EVENT"), "BEGIN_RECOVERY");
	ck_assert_str_eq(udev_device_get_property_value(d, "DEVICE_ONLINE"), "0");
	udev_device_unref(d);
	/* not part of the device's own record afterwards */
	s = read_text("/sys/bus/pci/devices/0011:00:00.0/uevent");
	ck_assert_ptr_null(strstr(s, "ERROR_EVENT"));
	g_free(s);

	ck_assert_int_eq(devworld_remove(w, 0x11), 0);
	d = wait_uevent(mon, "remove");
	ck_assert_ptr_nonnull(d);
	udev_device_unref(d);
	ck_assert_int_ne(access("/sys/bus/pci/devices/0011:00:00.0", F_OK), 0);
	ck_assert_int_ne(access("/sys/bus/pci/slots/00000011", F_OK), 0);
	ck_assert_ptr_null(devworld_slot(w, 0x11));

	udev_monitor_unref(mon);
	udev_unref(udev);
	devworld_free(w);
}
END_TEST

START_TEST(test_kmsg)
{
	Devworld *w = NULL;
	char buf[512] = {};
	struct pollfd p;
	ssize_t n;
	int fd;

	ck_assert_int_eq(devworld_new(&w), 0);
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(devworld_kmsg(w, "zpci: %s: Event 0x%x reports an error for PCI function 0x%x",
				       "0001:00:00.0", 0x3a, 0x21),
			 0);
	ck_assert_int_eq(devworld_kmsg_level(w, 6, "unrelated line"), 0);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, 1000), 1);
	n = read(fd, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	ck_assert_msg(g_str_has_prefix(buf, "3,0,"), "record: %s", buf);
	ck_assert_ptr_nonnull(strstr(
		buf, ",-;zpci: 0001:00:00.0: Event 0x3a reports an error for PCI function 0x21\n6,1,"));
	ck_assert_ptr_nonnull(strstr(buf, ",-;unrelated line\n"));
	close(fd);
	devworld_free(w);
}
END_TEST

/* ---- a small VFIO client with the kernel's protocol ---- */

typedef struct Client {
	int container, group, device, iommufd;
} Client;

static int client_open_group(Devworld *w, uint32_t fid, Client *c)
{
	g_autofree char *node = g_strdup_printf("/dev/vfio/%d", devworld_group(w, fid));
	struct vfio_group_status st = { .argsz = sizeof(st) };

	*c = (Client){ -1, -1, -1, -1 };
	c->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	c->group = open(node, O_RDWR | O_CLOEXEC);
	if (c->container < 0 || c->group < 0)
		return -errno;
	if (ioctl(c->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return -EINVAL;
	if (ioctl(c->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1)
		return -EINVAL;
	if (ioctl(c->group, VFIO_GROUP_GET_STATUS, &st) < 0)
		return -errno;
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EINVAL;
	if (ioctl(c->group, VFIO_GROUP_SET_CONTAINER, &c->container) < 0)
		return -errno;
	if (ioctl(c->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
		return -errno;
	c->device = ioctl(c->group, VFIO_GROUP_GET_DEVICE_FD, devworld_slot(w, fid));
	return c->device < 0 ? -errno : 0;
}

static int client_open_cdev(Devworld *w, uint32_t fid, Client *c)
{
	g_autofree char *node = g_strdup_printf("/dev/vfio/devices/vfio%d", devworld_cdev(w, fid));
	struct {
		uint32_t size, flags, out_ioas_id;
	} ioas = { sizeof(ioas), 0, 0 };
	struct {
		uint32_t argsz, flags;
		int32_t iommufd;
		uint32_t out_devid;
	} bind = { sizeof(bind), 0, -1, 0 };
	struct {
		uint32_t argsz, flags, pt_id;
	} att = { sizeof(att), 0, 0 };

	*c = (Client){ -1, -1, -1, -1 };
	c->device = open(node, O_RDWR | O_CLOEXEC);
	c->iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (c->device < 0 || c->iommufd < 0)
		return -errno;
	if (ioctl(c->iommufd, T_IOMMU_IOAS_ALLOC, &ioas) < 0)
		return -errno;
	bind.iommufd = c->iommufd;
	if (ioctl(c->device, T_BIND_IOMMUFD, &bind) < 0)
		return -errno;
	att.pt_id = ioas.out_ioas_id;
	if (ioctl(c->device, T_ATTACH_PT, &att) < 0)
		return -errno;
	return 0;
}

static void client_close(Client *c)
{
	/* the group path hands out the group fd itself as the device fd */
	if (c->device >= 0 && c->device != c->group)
		close(c->device);
	if (c->group >= 0)
		close(c->group);
	if (c->container >= 0)
		close(c->container);
	if (c->iommufd >= 0)
		close(c->iommufd);
	*c = (Client){ -1, -1, -1, -1 };
}

static int client_set_irq(int device, unsigned index, int efd)
{
	char buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *s = (void *)buf;

	*s = (struct vfio_irq_set){ .argsz = sizeof(buf),
				    .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
				    .index = index,
				    .count = 1 };
	memcpy(s->data, &efd, sizeof(efd));
	return ioctl(device, VFIO_DEVICE_SET_IRQS, s) < 0 ? -errno : 0;
}

/* v20: one record into @ccdf; returns 0, -ENOMSG, ... */
static int client_get_v20(int device, uint8_t ccdf[32])
{
	uint64_t buf[2] = {};
	struct vfio_device_feature *f = (void *)buf;
	uint64_t ptr = (uint64_t)(uintptr_t)ccdf;

	f->argsz = sizeof(buf);
	f->flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_ZPCI_ERROR;
	memcpy(f->data, &ptr, sizeof(ptr));
	return ioctl(device, VFIO_DEVICE_FEATURE, f) < 0 ? -errno : 0;
}

static int client_probe(int device)
{
	struct vfio_device_feature f = { .argsz = sizeof(f),
					 .flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
						  VFIO_DEVICE_FEATURE_ZPCI_ERROR };
	return ioctl(device, VFIO_DEVICE_FEATURE, &f) < 0 ? -errno : 0;
}

static void check_info(int device, unsigned want_version)
{
	uint8_t buf[256] = {};
	struct vfio_device_info *info = (void *)buf;
	struct vfio_device_info small = { .argsz = sizeof(small) };
	struct vfio_info_cap_header h;
	uint32_t len;
	bool found = false;

	/* too small: the kernel says how much it needs */
	ck_assert_int_eq(ioctl(device, VFIO_DEVICE_GET_INFO, &small), 0);
	ck_assert_uint_gt(small.argsz, sizeof(small));
	ck_assert_uint_eq(small.cap_offset, 0);

	info->argsz = sizeof(buf);
	ck_assert_int_eq(ioctl(device, VFIO_DEVICE_GET_INFO, info), 0);
	ck_assert(info->flags & VFIO_DEVICE_FLAGS_CAPS);
	ck_assert(info->flags & VFIO_DEVICE_FLAGS_PCI);
	ck_assert_uint_eq(info->num_irqs, VFIO_PCI_NUM_IRQS);
	for (uint32_t off = info->cap_offset; off; off = h.next) {
		ck_assert_uint_lt(off + sizeof(h), sizeof(buf));
		memcpy(&h, buf + off, sizeof(h));
		if (h.id == VFIO_DEVICE_INFO_CAP_ZPCI_BASE) {
			struct vfio_device_info_cap_zpci_base b;

			memcpy(&b, buf + off, sizeof(b));
			found = true;
			ck_assert_uint_eq(h.version, want_version);
			ck_assert_uint_eq(b.pchid, 0x01c0);
			ck_assert_uint_eq(b.pft, 0x0b);
			/* __u32 ccdf_err_length at offset 36, native byte order */
			memcpy(&len, buf + off + 36, sizeof(len));
			ck_assert_uint_eq(len, want_version >= 3 ? 32 : 0);
		}
	}
	ck_assert(found);
}

START_TEST(test_group_drain_v20)
{
	Devworld *w = NULL;
	DevworldFunction f = nvme;
	DevworldStats st;
	Client c;
	uint8_t ccdf[32];
	ZpciCcdf parsed;
	struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = VFIO_PCI_ERR_IRQ_INDEX };
	struct pollfd p;
	uint64_t cnt = 0;
	const uint16_t pecs[] = { 0x3a, 0x3b, 0x40, 0x12, 0x13 };
	int efd, kfd;
	char kbuf[4096] = {};

	ck_assert_int_eq(devworld_new(&w), 0);
	f.driver = "vfio-pci";
	ck_assert_int_eq(devworld_add_function(w, &f), 0);
	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ck_assert_int_ge(kfd, 0);

	/* not open: the error only reaches the kernel log */
	ck_assert_int_eq(devworld_inject_pec(w, 0x11, 0x3a), 0);

	ck_assert_int_eq(client_open_group(w, 0x11, &c), 0);
	check_info(c.device, 3);
	ck_assert_int_eq(ioctl(c.device, VFIO_DEVICE_GET_IRQ_INFO, &irq), 0);
	ck_assert_uint_eq(irq.count, 1);
	ck_assert_int_eq(client_probe(c.device), 0);
	ck_assert_int_eq(client_get_v20(c.device, ccdf), -ENOMSG);

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_eq(client_set_irq(c.device, VFIO_PCI_ERR_IRQ_INDEX, efd), 0);
	ck_assert_int_eq(devworld_wait_err_registered(w, 0x11, true, 1000), 0);

	/* five errors, one wake-up: the fifth is dropped */
	for (size_t i = 0; i < G_N_ELEMENTS(pecs); i++)
		ck_assert_int_eq(devworld_queue_pec(w, 0x11, pecs[i]), i < 4 ? 1 : 0);
	ck_assert_int_eq(devworld_signal_err(w, 0x11), 1);
	p = (struct pollfd){ .fd = efd, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, 1000), 1);
	ck_assert_int_eq(read(efd, &cnt, sizeof(cnt)), sizeof(cnt));
	ck_assert_uint_eq(cnt, 1);
	for (size_t i = 0; i < 4; i++) {
		memset(ccdf, 0, sizeof(ccdf));
		ck_assert_int_eq(client_get_v20(c.device, ccdf), 0);
		ck_assert_int_eq(ccdf_parse(ccdf, sizeof(ccdf), &parsed), 0);
		ck_assert_uint_eq(parsed.pec, pecs[i]);
		ck_assert_uint_eq(parsed.fid, 0x11);
		ck_assert_uint_eq(parsed.fh, 0x80000011);
	}
	ck_assert_int_eq(client_get_v20(c.device, ccdf), -ENOMSG);
	ck_assert_int_eq(devworld_get_stats(w, 0x11, &st), 0);
	ck_assert_uint_eq(st.drained, 4);
	ck_assert_uint_eq(st.dropped, 1);
	ck_assert_uint_eq(st.enomsg, 2);
	ck_assert_uint_eq(st.opens, 1);
	ck_assert_int_eq(st.owner_pid, getpid());

	/* a garbage record is handed out as it is */
	{
		uint8_t junk[32];
		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)(0xa5 ^ i);
		ck_assert_int_eq(devworld_inject_ccdf(w, 0x11, junk), 1);
		ck_assert_int_eq(client_get_v20(c.device, ccdf), 0);
		ck_assert_int_eq(memcmp(ccdf, junk, sizeof(junk)), 0);
	}

	/* a reset is counted and keeps the queue */
	ck_assert_int_eq(devworld_queue_pec(w, 0x11, 0x3a), 1);
	ck_assert_int_eq(ioctl(c.device, VFIO_DEVICE_RESET), 0);
	ck_assert_int_eq(devworld_get_stats(w, 0x11, &st), 0);
	ck_assert_uint_eq(st.resets, 1);
	ck_assert_uint_eq(st.queued, 1);

	/* the kernel log has the error lines and the drop warning */
	ck_assert_int_gt(read(kfd, kbuf, sizeof(kbuf) - 1), 0);
	ck_assert_ptr_nonnull(
		strstr(kbuf, "zpci: 0011:00:00.0: Event 0x3a reports an error for PCI function 0x11"));
	ck_assert_ptr_nonnull(strstr(kbuf, "4,"));
	ck_assert_ptr_nonnull(
		strstr(kbuf, "zpci: 0011:00:00.0: Maximum number (4) of pending error events queued"));

	/* the last close discards the queue */
	client_close(&c);
	ck_assert_int_eq(devworld_wait_err_registered(w, 0x11, false, 1000), 0);
	ck_assert_int_eq(devworld_get_stats(w, 0x11, &st), 0);
	ck_assert_uint_eq(st.discarded, 1);
	ck_assert_uint_eq(st.closes, 1);
	ck_assert_int_eq(st.owner_pid, 0);
	close(efd);
	close(kfd);
	devworld_free(w);
}
END_TEST

START_TEST(test_cdev_errnos_and_request)
{
	Devworld *w = NULL;
	DevworldFunction f = nvme;
	Client c, c2;
	uint64_t buf[2];
	struct vfio_device_feature *feat = (void *)buf;
	uint8_t ccdf[32];
	uint64_t cnt;
	int req;

	ck_assert_int_eq(devworld_new(&w), 0);
	f.driver = "vfio-pci";
	ck_assert_int_eq(devworld_add_function(w, &f), 0);
	ck_assert_int_eq(client_open_cdev(w, 0x11, &c), 0);
	check_info(c.device, 3);

	/* a cdev binds once */
	ck_assert_int_eq(client_open_cdev(w, 0x11, &c2), -EINVAL);
	client_close(&c2);

	/* the kernel's answers: empty -ENOMSG, data == 0 -EINVAL (queue kept),
	 * SET -EINVAL, a payload shorter than the pointer -EINVAL */
	ck_assert_int_eq(client_get_v20(c.device, ccdf), -ENOMSG);
	ck_assert_int_eq(devworld_queue_pec(w, 0x11, 0x3a), 1);
	memset(buf, 0, sizeof(buf));
	feat->argsz = sizeof(*feat) + 8;
	feat->flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_ZPCI_ERROR;
	ck_assert_int_eq(ioctl(c.device, VFIO_DEVICE_FEATURE, feat), -1);
	ck_assert_int_eq(errno, EINVAL);
	feat->flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_ZPCI_ERROR;
	ck_assert_int_eq(ioctl(c.device, VFIO_DEVICE_FEATURE, feat), -1);
	ck_assert_int_eq(errno, EINVAL);
	feat->argsz = sizeof(*feat) + 4;
	feat->flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_ZPCI_ERROR;
	ck_assert_int_eq(ioctl(c.device, VFIO_DEVICE_FEATURE, feat), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(client_get_v20(c.device, ccdf), 0);
	ck_assert_uint_eq(ccdf[31], 0x3a);
	ck_assert_int_eq(client_get_v20(c.device, ccdf), -ENOMSG);

	/* the request IRQ */
	req = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_eq(devworld_request(w, 0x11), 0);
	ck_assert_int_eq(client_set_irq(c.device, VFIO_PCI_REQ_IRQ_INDEX, req), 0);
	ck_assert_int_eq(devworld_request(w, 0x11), 1);
	ck_assert_int_eq(read(req, &cnt, sizeof(cnt)), sizeof(cnt));
	ck_assert_uint_eq(cnt, 1);
	close(req);

	/* unbinding closes the device under its user */
	ck_assert_int_eq(devworld_unbind(w, 0x11), 0);
	{
		DevworldStats st;
		ck_assert_int_eq(devworld_get_stats(w, 0x11, &st), 0);
		ck_assert_uint_eq(st.closes, 1);
		ck_assert(!st.req_registered);
	}
	client_close(&c);
	devworld_free(w);
}
END_TEST

START_TEST(test_no_feature_no_irq)
{
	Devworld *w = NULL;
	Client c;
	uint8_t ccdf[32];
	struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = VFIO_PCI_ERR_IRQ_INDEX };

	ck_assert_int_eq(devworld_new(&w), 0);
	ck_assert_int_eq(devworld_add_function(w, &(DevworldFunction){ .fid = 0x31,
								       .kind = DEVWORLD_KIND_ISM,
								       .driver = "vfio-pci",
								       .feature = DEVWORLD_FEATURE_NONE,
								       .no_err_irq = true,
								       .no_cdev = true }),
			 0);
	ck_assert_int_eq(devworld_cdev(w, 0x31), -1);
	ck_assert_int_eq(client_open_group(w, 0x31, &c), 0);
	ck_assert_int_eq(ioctl(c.device, VFIO_DEVICE_GET_IRQ_INFO, &irq), 0);
	ck_assert_uint_eq(irq.count, 0);
	ck_assert_int_eq(client_probe(c.device), -ENOTTY);
	ck_assert_int_eq(client_get_v20(c.device, ccdf), -ENOTTY);
	client_close(&c);
	devworld_free(w);
}
END_TEST

START_TEST(test_hold_ebusy)
{
	Devworld *w = NULL;
	DevworldFunction f = nvme;
	DevworldStats st;
	Client c;
	pid_t pid;
	bool seen = false;
	g_autofree char *want = NULL, *comm = NULL, *commpath = NULL, *fddir = NULL;
	GDir *d;
	const char *n;

	ck_assert_int_eq(devworld_new(&w), 0);
	f.driver = "vfio-pci";
	ck_assert_int_eq(devworld_add_function(w, &f), 0);
	pid = devworld_hold(w, 0x11);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(devworld_get_stats(w, 0x11, &st), 0);
	ck_assert_int_eq(st.owner_pid, pid);

	/* the holder's fd table shows the node a VMM has open */
	want = g_strdup_printf("/dev/vfio/%d", devworld_group(w, 0x11));
	fddir = g_strdup_printf("/proc/%d/fd", (int)pid);
	d = g_dir_open(fddir, 0, NULL);
	ck_assert_ptr_nonnull(d);
	while ((n = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(fddir, n, NULL);
		g_autofree char *l = g_file_read_link(p, NULL);
		if (l && g_str_has_suffix(l, want))
			seen = true;
	}
	g_dir_close(d);
	ck_assert(seen);
	commpath = g_strdup_printf("/proc/%d/comm", (int)pid);
	ck_assert(g_file_get_contents(commpath, &comm, NULL, NULL));
	ck_assert_str_eq(comm, "qemu-system-s39\n");

	/* another process (here: this one) gets EBUSY, by group and by cdev */
	ck_assert_int_eq(client_open_group(w, 0x11, &c), -EBUSY);
	client_close(&c);
	ck_assert_int_eq(client_open_cdev(w, 0x11, &c), -EBUSY);
	client_close(&c);
	ck_assert_int_eq(devworld_get_stats(w, 0x11, &st), 0);
	ck_assert_uint_eq(st.ebusy, 2);

	/* errors go into the holder's queue */
	ck_assert_int_eq(devworld_inject_pec(w, 0x11, 0x3a), 1);

	ck_assert_int_eq(devworld_release(w, 0x11), 0);
	ck_assert_int_eq(devworld_get_stats(w, 0x11, &st), 0);
	for (int i = 0; i < 100 && st.owner_pid; i++) {
		g_usleep(10000);
		ck_assert_int_eq(devworld_get_stats(w, 0x11, &st), 0);
	}
	ck_assert_int_eq(st.owner_pid, 0);
	ck_assert_uint_eq(st.discarded, 1);
	ck_assert_int_eq(client_open_group(w, 0x11, &c), 0);
	client_close(&c);
	devworld_free(w);
}
END_TEST

START_TEST(test_load_and_generate)
{
	Devworld *w = NULL;
	g_autofree char *dir = g_dir_make_tmp("devworld-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "lpar", NULL);
	char line[] =
		"fid=0x21 uid=0x21 uid_is_unique=1 pchid=0x0104 kind=roce2 port=1 feature=none err_irq=0";
	char bad[] = "fid=0x21 pchid=0x10000";
	char bad2[] = "fid=0x21 colour=blue";
	DevworldFunction f;
	unsigned at = 0;

	ck_assert_int_eq(devworld_parse_function(line, &f), 0);
	ck_assert_uint_eq(f.fid, 0x21);
	ck_assert_uint_eq(f.pchid, 0x0104);
	ck_assert_int_eq(f.kind, DEVWORLD_KIND_ROCE2);
	ck_assert_int_eq(f.feature, DEVWORLD_FEATURE_NONE);
	ck_assert(f.no_err_irq);
	ck_assert(f.uid_is_unique);
	ck_assert_int_eq(devworld_parse_function(bad, &f), -EINVAL);
	ck_assert_int_eq(devworld_parse_function(bad2, &f), -EINVAL);

	ck_assert_int_eq(devworld_generate(path, 50, 0x100), 0);
	ck_assert_int_eq(devworld_new(&w), 0);
	ck_assert_int_eq(devworld_load(w, path, &at), 50);
	ck_assert_str_eq(devworld_slot(w, 0x100), "0001:00:00.0");
	ck_assert_str_eq(devworld_slot(w, 0x131), "0032:00:00.0");
	ck_assert_int_ge(devworld_group(w, 0x103), 0);
	ck_assert_int_ge(devworld_cdev(w, 0x103), 0); /* every 4th is bound to vfio-pci */
	ck_assert_int_eq(devworld_load(w, path, &at), -EEXIST);
	ck_assert_uint_eq(at, 2);
	devworld_free(w);
	g_remove(path);
	g_rmdir(dir);
}
END_TEST

START_TEST(test_spawn_daemon_plumbing)
{
	Devworld *w = NULL;
	const char *argv[] = { "--version", NULL };
	const char *top = getenv("ZPCID_TOP_BUILDDIR");
	g_autofree char *bin = g_build_filename(top ? top : ".", "zpcid", NULL);

	if (access(bin, X_OK) < 0) {
		fprintf(stderr, "# %s not built, skipped\n", bin);
		return;
	}
	ck_assert_int_eq(devworld_new(&w), 0);
	ck_assert_int_gt(devworld_spawn_daemon(w, argv), 0);
	ck_assert_int_ge(devworld_wait_log(w, "zpcid ", 5000), 0);
	ck_assert_int_ge(devworld_stop_daemon(w, 5000), 0);
	ck_assert_uint_eq(devworld_count_log(w, 0, "zpcid "), 1);
	ck_assert_int_eq(devworld_wait_log(w, "never", 100), -ESRCH);
	devworld_free(w);
}
END_TEST

static Suite *devworld_suite(void)
{
	Suite *s = suite_create("devworld");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_sysfs_through_libudev);
	tcase_add_test(tc, test_uevents);
	tcase_add_test(tc, test_kmsg);
	tcase_add_test(tc, test_group_drain_v20);
	tcase_add_test(tc, test_cdev_errnos_and_request);
	tcase_add_test(tc, test_no_feature_no_irq);
	tcase_add_test(tc, test_hold_ebusy);
	tcase_add_test(tc, test_load_and_generate);
	tcase_add_test(tc, test_spawn_daemon_plumbing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (!have_preload()) {
		/* the world needs umockdev's preload (tests/run-test provides it) */
		printf("1..0 # SKIP not running under umockdev-wrapper\n");
		return EXIT_SUCCESS;
	}
	sr = srunner_create(devworld_suite());

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
