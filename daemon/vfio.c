/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio: open or adopt a zPCI function's vfio device, find its error feature,
 * register the eventfds and drain the error queue. See vfio.h for the
 * contract; vfio-v20.c holds the GET of the feature.
 *
 * The exact ioctl sequence (the kernel's uAPI; tests/devworld emulates it):
 *
 * own mode, vfio cdev (sysfs <dev>/vfio-dev/vfioN/dev exists):
 *   open("/dev/vfio/devices/vfioN", O_RDWR|O_CLOEXEC)
 *   open("/dev/iommu", O_RDWR|O_CLOEXEC)
 *   VFIO_DEVICE_BIND_IOMMUFD      {argsz 16, flags 0, iommufd}   EINVAL/EBUSY: held -> -EBUSY
 *   IOMMU_IOAS_ALLOC (on iommufd) {size 12, flags 0} -> out_ioas_id
 *   VFIO_DEVICE_ATTACH_IOMMUFD_PT {argsz 12, flags 0, pt_id = ioas}
 * own mode, group (no cdev):
 *   open("/dev/vfio/vfio", O_RDWR|O_CLOEXEC)             the container
 *   VFIO_GET_API_VERSION (container)                     == VFIO_API_VERSION
 *   open("/dev/vfio/<group>", O_RDWR|O_CLOEXEC)          EBUSY: held -> -EBUSY
 *   VFIO_GROUP_GET_STATUS {argsz 8}                      VIABLE required
 *   VFIO_GROUP_SET_CONTAINER (&container_fd)
 *   VFIO_CHECK_EXTENSION (container, VFIO_TYPE1v2_IOMMU, then VFIO_TYPE1_IOMMU)
 *   VFIO_SET_IOMMU (container, the type found)
 *   VFIO_GROUP_GET_DEVICE_FD (group, "<slot>")           EBUSY: held -> -EBUSY
 * delegated mode: fstat(fd), then the common part without REQ.
 * common part, on the device fd:
 *   VFIO_DEVICE_GET_INFO {argsz 4096, ...}: one 4096-byte buffer; again with
 *     the size the kernel asks for when its argsz comes back larger. Flags
 *     must have VFIO_DEVICE_FLAGS_PCI; the capability chain (CAPS,
 *     cap_offset) is walked for VFIO_DEVICE_INFO_CAP_ZPCI_BASE, which must
 *     be version >= 3 with a __u32 ccdf_err_length (offset 36) >= 32.
 *   VFIO_DEVICE_FEATURE {argsz 16, flags ZPCI_ERROR(13)|PROBE|GET}
 *     ENOTTY -> -ENOTTY; ENODEV (not a zPCI device) -> -ENXIO.
 *   VFIO_DEVICE_GET_IRQ_INFO {argsz 16, index 3 (ERR)}: count must be 1.
 *   eventfd(0, EFD_CLOEXEC|EFD_NONBLOCK)
 *   VFIO_DEVICE_SET_IRQS {argsz 24, flags DATA_EVENTFD|ACTION_TRIGGER,
 *     index 3, start 0, count 1, data = int32 eventfd}
 *   own mode only: VFIO_DEVICE_GET_IRQ_INFO index 4 (REQ); when count >= 1
 *     the same SET_IRQS on index 4 with a second eventfd.
 * drain (after open, on every ERR wake-up, before reset and close):
 *   VFIO_DEVICE_FEATURE {argsz 16, flags ZPCI_ERROR|GET, data = user
 *   pointer to a ccdf_err_length byte buffer} until ENOMSG.
 *   At most VFIO_DRAIN_BATCH GETs per wake-up.
 * reset: drain, VFIO_DEVICE_RESET.
 * close: drain; delegated: VFIO_DEVICE_SET_IRQS {argsz 20, DATA_NONE|
 *   ACTION_TRIGGER, index 3, start 0, count 0}; close the fds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/vfio-zpci.h"
#include "daemon/vfio.h"

#define VFIO_INFO_BUF_SIZE 4096
#define VFIO_INFO_BUF_MAX  65536
#define VFIO_CAPS_MAX      64

struct VfioDevice {
	const VfioOps *ops;
	void *ops_userdata;
	bool delegated;
	bool cdev;

	int device_fd;
	int group_fd;
	int container_fd;
	int iommufd;
	int err_fd;
	int req_fd;

	unsigned zpci_base_version;
	uint32_t ccdf_err_length;
	struct {
		uint16_t pchid, vfn;
		uint8_t pft, gid;
		uint32_t fh;
	} base;

	uint32_t fid;
	uint8_t *ccdf_buf;
	void *userdata;
};

/* ---- the real system calls ---- */

static int real_open(void *userdata, const char *path, int flags)
{
	int fd = open(path, flags);
	return fd < 0 ? negative_errno() : fd;
}

static int real_ioctl(void *userdata, int fd, unsigned long request, void *arg)
{
	int r = ioctl(fd, request, arg);
	return r < 0 ? negative_errno() : r;
}

static int real_close(void *userdata, int fd)
{
	return close(fd) < 0 ? negative_errno() : 0;
}

static int real_eventfd(void *userdata, unsigned initval, int flags)
{
	int fd = eventfd(initval, flags);
	return fd < 0 ? negative_errno() : fd;
}

static ssize_t real_read(void *userdata, int fd, void *buf, size_t size)
{
	ssize_t n = read(fd, buf, size);
	return n < 0 ? negative_errno() : n;
}

static int real_fstat(void *userdata, int fd, struct stat *st)
{
	return fstat(fd, st) < 0 ? negative_errno() : 0;
}

const VfioOps vfio_ops_real = {
	.open = real_open,
	.ioctl = real_ioctl,
	.close = real_close,
	.eventfd = real_eventfd,
	.read = real_read,
	.fstat = real_fstat,
};

/* ---- sysfs ---- */

/* The device node of the first "vfioN" entry of @dir that is a character
 * device, or "". The kernel registers <dev>/vfio-dev/vfioN for every vfio
 * device, but gives it a device number (a "dev" attribute, and a node under
 * /dev/vfio/devices/) only when it is built with vfio cdev support. */
static void find_cdev(const char *dir, char *ret, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	ret[0] = 0;
	if (!d)
		return;
	while ((de = readdir(d))) {
		const char *num = de->d_name + 4;
		char dev[32];

		if (!strneq(de->d_name, "vfio", 4) || !*num || strspn(num, "0123456789") != strlen(num) ||
		    strlen(num) > 9)
			continue;
		(void)snprintf(dev, sizeof(dev), "vfio%.9s/dev", num);
		if (faccessat(dirfd(d), dev, F_OK, 0) < 0)
			continue;
		snprintf(ret, size, "/dev/vfio/devices/vfio%s", num);
		break;
	}
	closedir(d);
}

int vfio_locate(const char *syspath, VfioLocation *ret)
{
	_cleanup_free_ char *dir = NULL, *group_link = NULL;
	VfioLocation loc = {};
	char link[PATH_MAX];
	const char *slot;
	ssize_t n;

	if (isempty(syspath) || syspath[0] != '/')
		return -EINVAL;
	slot = strrchr(syspath, '/') + 1;
	if (isempty(slot) || strlen(slot) >= sizeof(loc.slot))
		return -EINVAL;
	snprintf(loc.slot, sizeof(loc.slot), "%s", slot);

	if (asprintf(&dir, "%s/vfio-dev", syspath) < 0 ||
	    asprintf(&group_link, "%s/iommu_group", syspath) < 0)
		return -ENOMEM;
	find_cdev(dir, loc.cdev, sizeof(loc.cdev));

	n = readlink(group_link, link, sizeof(link) - 1);
	if (n > 0) {
		const char *g;

		link[n] = 0;
		g = strrchr(link, '/');
		g = g ? g + 1 : link;
		if (*g && strspn(g, "0123456789") == strlen(g) && strlen(g) <= 9)
			snprintf(loc.group, sizeof(loc.group), "/dev/vfio/%.9s", g);
	}

	if (!loc.cdev[0] && !loc.group[0])
		return -ENOENT;
	*ret = loc;
	return 0;
}

/* ---- device life cycle ---- */

static VfioDevice *vfio_device_alloc(const VfioOps *ops, void *ops_userdata, const ZpciAttrs *attrs)
{
	VfioDevice *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->ops = ops;
	d->ops_userdata = ops_userdata;
	d->device_fd = d->group_fd = d->container_fd = d->iommufd = -EBADF;
	d->err_fd = d->req_fd = -EBADF;
	d->fid = attrs->fid;
	return d;
}

static void close_fd(VfioDevice *d, int *fd)
{
	if (*fd >= 0)
		(void)d->ops->close(d->ops_userdata, *fd);
	*fd = -EBADF;
}

VfioDevice *vfio_device_free(VfioDevice *d)
{
	if (!d)
		return NULL;
	close_fd(d, &d->err_fd);
	close_fd(d, &d->req_fd);
	/* An emulated group may hand out its own fd as the device fd. */
	if (d->group_fd == d->device_fd)
		d->group_fd = -EBADF;
	close_fd(d, &d->device_fd);
	close_fd(d, &d->group_fd);
	close_fd(d, &d->container_fd);
	close_fd(d, &d->iommufd);
	free(d->ccdf_buf);
	free(d);
	return NULL;
}

static int xioctl(VfioDevice *d, int fd, unsigned long request, void *arg)
{
	return d->ops->ioctl(d->ops_userdata, fd, request, arg);
}

static int open_cdev(VfioDevice *d, const VfioLocation *loc)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	int r;

	r = d->ops->open(d->ops_userdata, loc->cdev, O_RDWR | O_CLOEXEC);
	if (r < 0)
		return r == -EBUSY ? -EBUSY : r;
	d->device_fd = r;
	d->cdev = true;

	r = d->ops->open(d->ops_userdata, "/dev/iommu", O_RDWR | O_CLOEXEC);
	if (r < 0)
		return r;
	d->iommufd = r;

	bind.iommufd = d->iommufd;
	r = xioctl(d, d->device_fd, VFIO_DEVICE_BIND_IOMMUFD, &bind);
	if (r == -EINVAL || r == -EBUSY)
		return -EBUSY; /* the device is open elsewhere (cdev or group) */
	if (r < 0)
		return r;

	r = xioctl(d, d->iommufd, IOMMU_IOAS_ALLOC, &ioas);
	if (r < 0)
		return r;
	attach.pt_id = ioas.out_ioas_id;
	r = xioctl(d, d->device_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
	if (r < 0)
		return r;
	return 0;
}

static int open_group(VfioDevice *d, const VfioLocation *loc)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int r, type;

	r = d->ops->open(d->ops_userdata, "/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (r < 0)
		return r;
	d->container_fd = r;
	r = xioctl(d, d->container_fd, VFIO_GET_API_VERSION, NULL);
	if (r < 0)
		return r;
	if (r != VFIO_API_VERSION)
		return -EPROTO;

	r = d->ops->open(d->ops_userdata, loc->group, O_RDWR | O_CLOEXEC);
	if (r < 0)
		return r; /* -EBUSY: the group is open elsewhere */
	d->group_fd = r;

	r = xioctl(d, d->group_fd, VFIO_GROUP_GET_STATUS, &status);
	if (r < 0)
		return r;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EPERM; /* another device of the group is bound to a host driver */

	r = xioctl(d, d->group_fd, VFIO_GROUP_SET_CONTAINER, &d->container_fd);
	if (r < 0)
		return r;

	if (xioctl(d, d->container_fd, VFIO_CHECK_EXTENSION, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU) > 0)
		type = VFIO_TYPE1v2_IOMMU;
	else if (xioctl(d, d->container_fd, VFIO_CHECK_EXTENSION, (void *)(uintptr_t)VFIO_TYPE1_IOMMU) > 0)
		type = VFIO_TYPE1_IOMMU;
	else
		return -EOPNOTSUPP;
	r = xioctl(d, d->container_fd, VFIO_SET_IOMMU, (void *)(uintptr_t)type);
	if (r < 0)
		return r;

	r = xioctl(d, d->group_fd, VFIO_GROUP_GET_DEVICE_FD, (void *)loc->slot);
	if (r < 0)
		return r; /* -EBUSY: the device is open elsewhere */
	d->device_fd = r;
	return 0;
}

static uint16_t get_u16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* Walk the capability chain of a GET_INFO reply of @size valid bytes and
 * note ZPCI_BASE. Returns 0 or -EBADMSG on a malformed chain. */
static int parse_caps(VfioDevice *d, const uint8_t *buf, size_t size)
{
	struct vfio_device_info info;
	uint32_t off;

	memcpy(&info, buf, sizeof(info));
	if (!(info.flags & VFIO_DEVICE_FLAGS_CAPS) || info.cap_offset == 0)
		return 0;

	off = info.cap_offset;
	for (unsigned n = 0; off != 0; n++) {
		struct vfio_info_cap_header h;

		if (n >= VFIO_CAPS_MAX || off < sizeof(info) || off > size || size - off < sizeof(h))
			return -EBADMSG;
		memcpy(&h, buf + off, sizeof(h));

		if (h.id == VFIO_DEVICE_INFO_CAP_ZPCI_BASE && d->zpci_base_version == 0) {
			const uint8_t *c = buf + off;
			size_t avail = size - off;

			if (h.version < 1 || avail < offsetof(struct vfio_device_info_cap_zpci_base, fh))
				return -EBADMSG;
			d->zpci_base_version = h.version;
			d->base.pchid = get_u16(c + offsetof(struct vfio_device_info_cap_zpci_base, pchid));
			d->base.vfn = get_u16(c + offsetof(struct vfio_device_info_cap_zpci_base, vfn));
			d->base.pft = c[offsetof(struct vfio_device_info_cap_zpci_base, pft)];
			d->base.gid = c[offsetof(struct vfio_device_info_cap_zpci_base, gid)];
			if (h.version >= 2) {
				if (avail < ZPCID_ZPCI_BASE_V2_SIZE)
					return -EBADMSG;
				d->base.fh = get_u32(c + ZPCID_ZPCI_BASE_FH_OFFSET);
			}
			if (h.version >= 3) {
				if (avail < ZPCID_ZPCI_BASE_V3_SIZE)
					return -EBADMSG;
				/* A __u32: a 16-bit read here is 0 on big-endian s390x. */
				d->ccdf_err_length = get_u32(c + ZPCID_ZPCI_BASE_CCDF_ERR_LENGTH_OFFSET);
			}
		}

		/* Each capability lies after the previous one: no loops. */
		if (h.next != 0 && h.next <= off)
			return -EBADMSG;
		off = h.next;
	}
	return 0;
}

/* GET_INFO with capabilities. Returns 0, -EINVAL when not a vfio-pci device,
 * -EBADMSG on a malformed reply, other -errno. */
static int get_info(VfioDevice *d)
{
	size_t size = VFIO_INFO_BUF_SIZE;

	for (unsigned attempt = 0; attempt < 2; attempt++) {
		_cleanup_free_ uint8_t *buf = calloc(1, size);
		struct vfio_device_info info;
		int r;

		if (!buf)
			return -ENOMEM;
		info = (struct vfio_device_info){ .argsz = (uint32_t)size };
		memcpy(buf, &info, sizeof(info));
		r = xioctl(d, d->device_fd, VFIO_DEVICE_GET_INFO, buf);
		if (r == -ENOTTY)
			return -EINVAL; /* not a vfio device */
		if (r < 0)
			return r;
		memcpy(&info, buf, sizeof(info));
		if (!(info.flags & VFIO_DEVICE_FLAGS_PCI))
			return -EINVAL;
		if (info.argsz < sizeof(info))
			return -EBADMSG;
		if (info.argsz > size) {
			/* The capabilities did not fit: ask again with the size the kernel wants. */
			if (attempt > 0 || info.argsz > VFIO_INFO_BUF_MAX)
				return -EBADMSG;
			size = info.argsz;
			continue;
		}
		return parse_caps(d, buf, info.argsz);
	}
	return -EBADMSG;
}

int vfio_device_feature(VfioDevice *d, uint32_t flags, void *payload, size_t payload_size)
{
	uint64_t storage[(sizeof(struct vfio_device_feature) + 16) / sizeof(uint64_t)] = {};
	struct vfio_device_feature *f = (struct vfio_device_feature *)storage;
	int r;

	if (payload_size > sizeof(storage) - sizeof(*f))
		return -EINVAL;
	f->argsz = (uint32_t)(sizeof(*f) + payload_size);
	f->flags = flags;
	memcpy(f->data, payload, payload_size);
	r = xioctl(d, d->device_fd, VFIO_DEVICE_FEATURE, f);
	if (r < 0)
		return r;
	memcpy(payload, f->data, payload_size);
	return 0;
}

/* Check the record length that ZPCI_BASE version 3 announces, then probe the
 * feature. A capability older than version 3 means a kernel without the
 * feature: there is no other form to fall back to. */
static int probe_feature(VfioDevice *d)
{
	struct vfio_device_feature_zpci_err payload = {};
	int r;

	if (d->zpci_base_version < 3)
		return -ENOTTY;
	if (d->ccdf_err_length < ZPCI_CCDF_ERR_SIZE || d->ccdf_err_length > VFIO_CCDF_MAX)
		return -EBADMSG;

	r = vfio_device_feature(
		d, VFIO_DEVICE_FEATURE_ZPCI_ERROR | VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET,
		&payload, sizeof(payload));
	if (r == -ENODEV)
		return -ENXIO; /* the kernel says: not a zPCI device */
	if (r < 0)
		return r;

	d->ccdf_buf = calloc(1, d->ccdf_err_length);
	if (!d->ccdf_buf)
		return -ENOMEM;
	return 0;
}

static int irq_count(VfioDevice *d, uint32_t index, uint32_t *ret)
{
	struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = index };
	int r;

	r = xioctl(d, d->device_fd, VFIO_DEVICE_GET_IRQ_INFO, &irq);
	if (r < 0)
		return r;
	if (irq.count > 0 && !(irq.flags & VFIO_IRQ_INFO_EVENTFD))
		return -EBADMSG;
	*ret = irq.count;
	return 0;
}

static int set_irq_eventfd(VfioDevice *d, uint32_t index, int fd)
{
	uint64_t storage[(sizeof(struct vfio_irq_set) + sizeof(int32_t) + 7) / 8] = {};
	struct vfio_irq_set *s = (struct vfio_irq_set *)storage;
	int32_t efd = fd;

	s->argsz = sizeof(*s) + sizeof(efd);
	s->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	s->index = index;
	s->start = 0;
	s->count = 1;
	memcpy(s->data, &efd, sizeof(efd));
	return xioctl(d, d->device_fd, VFIO_DEVICE_SET_IRQS, s);
}

static int register_eventfd(VfioDevice *d, uint32_t index, int *ret_fd)
{
	int fd, r;

	fd = d->ops->eventfd(d->ops_userdata, 0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return fd;
	r = set_irq_eventfd(d, index, fd);
	if (r < 0) {
		(void)d->ops->close(d->ops_userdata, fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* The part shared by own and delegated mode, after GET_INFO. */
static int setup_device(VfioDevice *d)
{
	uint32_t count;
	int r;

	r = probe_feature(d);
	if (r < 0)
		return r;

	r = irq_count(d, VFIO_PCI_ERR_IRQ_INDEX, &count);
	if (r < 0)
		return r;
	if (count != 1)
		return -ENODEV;
	r = register_eventfd(d, VFIO_PCI_ERR_IRQ_INDEX, &d->err_fd);
	if (r < 0)
		return r;

	if (!d->delegated && irq_count(d, VFIO_PCI_REQ_IRQ_INDEX, &count) >= 0 && count >= 1) {
		/* Without REQ the device is still usable; the kernel then waits for a close instead. */
		(void)register_eventfd(d, VFIO_PCI_REQ_IRQ_INDEX, &d->req_fd);
	}
	return 0;
}

int vfio_device_open(const VfioOps *ops, void *ops_userdata, const VfioLocation *loc, const ZpciAttrs *attrs,
		     VfioDevice **ret)
{
	_cleanup_(vfio_device_freep) VfioDevice *d = NULL;
	int r;

	if (!ops || !loc || !attrs || !ret)
		return -EINVAL;
	if (!loc->cdev[0] && !loc->group[0])
		return -ENOENT;

	d = vfio_device_alloc(ops, ops_userdata, attrs);
	if (!d)
		return -ENOMEM;

	r = loc->cdev[0] ? open_cdev(d, loc) : open_group(d, loc);
	if (r < 0)
		return r;
	r = get_info(d);
	if (r < 0)
		return r;
	r = setup_device(d);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(d);
	return 0;
}

/* Whether the identity in ZPCI_BASE is the function @a. */
static int check_identity(const VfioDevice *d, const ZpciAttrs *a)
{
	unsigned compared = 0;

	if (d->zpci_base_version < 1)
		return -ENXIO;
	if (a->has & ZPCI_ATTR_HAS_PCHID) {
		if (a->pchid != d->base.pchid)
			return -ENXIO;
		compared++;
	}
	if (a->has & ZPCI_ATTR_HAS_VFN) {
		if (a->vfn != d->base.vfn)
			return -ENXIO;
		compared++;
	}
	if (a->has & ZPCI_ATTR_HAS_PFT) {
		if (a->pft != d->base.pft)
			return -ENXIO;
		compared++;
	}
	if (a->has & ZPCI_ATTR_HAS_PFGID) {
		if (a->pfgid != d->base.gid)
			return -ENXIO;
		compared++;
	}
	/* The handle changes on every enable and reset, so sysfs may lag behind:
	 * it only decides when nothing stabler is known. */
	if (compared == 0) {
		if (d->zpci_base_version < 2 || !(a->has & ZPCI_ATTR_HAS_FH) || a->fh != d->base.fh)
			return -ENXIO;
	}
	return 0;
}

int vfio_device_adopt(const VfioOps *ops, void *ops_userdata, int fd, const ZpciAttrs *attrs,
		      VfioDevice **ret)
{
	_cleanup_(vfio_device_freep) VfioDevice *d = NULL;
	struct stat st;
	int r;

	if (!ops || !attrs || !ret || fd < 0) {
		if (ops && fd >= 0)
			(void)ops->close(ops_userdata, fd);
		return -EINVAL;
	}

	d = vfio_device_alloc(ops, ops_userdata, attrs);
	if (!d) {
		(void)ops->close(ops_userdata, fd);
		return -ENOMEM;
	}
	d->device_fd = fd;
	d->delegated = true;

	/* A vfio cdev is a character device; a device fd from a group is an
	 * anonymous inode. Anything with a name in a file system is not. */
	r = ops->fstat(ops_userdata, fd, &st);
	if (r < 0)
		return r;
	if (S_ISCHR(st.st_mode))
		d->cdev = true;
	else if (S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode) ||
		 S_ISSOCK(st.st_mode) || S_ISLNK(st.st_mode) || (S_ISREG(st.st_mode) && st.st_nlink > 0))
		return -EINVAL;

	r = get_info(d);
	if (r < 0)
		return r;
	r = check_identity(d, attrs);
	if (r < 0)
		return r;
	r = setup_device(d);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(d);
	return 0;
}

void vfio_device_init_event(VfioDevice *d, ZpciEvent *e)
{
	*e = (ZpciEvent){
		.kind = EVENT_ERROR,
		.sources = d->delegated ? EVENT_SOURCE_DELEGATED : EVENT_SOURCE_VFIO,
		.fid = d->fid,
	};
}

static bool error_means_gone(int r)
{
	return r == -EBADF || r == -ENODEV || r == -EIO || r == -ENXIO;
}

int vfio_device_drain(VfioDevice *d, unsigned max, VfioRecordHandler handler, void *userdata, bool *ret_more)
{
	unsigned n = 0;
	bool more = false;

	for (unsigned i = 0;; i++) {
		ZpciEvent e;
		int r;

		if (i >= max) {
			more = true;
			break;
		}
		r = vfio_v20_get(d, d->ccdf_buf, d->ccdf_err_length, &e);
		if (r < 0)
			return error_means_gone(r) ? -ENODEV : r;
		if (r == 0)
			break;
		n++;
		if (handler)
			handler(d, &e, userdata);
	}
	if (ret_more)
		*ret_more = more;
	return (int)n;
}

static int drain_all(VfioDevice *d, VfioRecordHandler handler, void *userdata)
{
	bool more = false;
	int r;

	r = vfio_device_drain(d, VFIO_DRAIN_LIMIT, handler, userdata, &more);
	if (r < 0)
		return r;
	return more ? -E2BIG : 0;
}

int64_t vfio_device_ack(VfioDevice *d, int fd)
{
	uint64_t value = 0;
	ssize_t n;

	if (fd < 0)
		return -EBADF;
	n = d->ops->read(d->ops_userdata, fd, &value, sizeof(value));
	if (n == -EAGAIN)
		return 0;
	if (n < 0)
		return n;
	if (n != sizeof(value))
		return -EIO;
	return (int64_t)MIN(value, (uint64_t)INT64_MAX);
}

int vfio_device_reset(VfioDevice *d, VfioRecordHandler handler, void *userdata)
{
	int r;

	if (!d)
		return -ENODEV;
	r = drain_all(d, handler, userdata);
	if (r == -ENODEV)
		return r;
	/* A queue that does not empty must not keep the reset from happening. */
	r = xioctl(d, d->device_fd, VFIO_DEVICE_RESET, NULL);
	if (r == -EBADF || r == -ENODEV)
		return -ENODEV;
	return r < 0 ? r : 0;
}

VfioDevice *vfio_device_close(VfioDevice *d, VfioRecordHandler handler, void *userdata)
{
	if (!d)
		return NULL;
	if (handler)
		(void)drain_all(d, handler, userdata);
	if (d->delegated && d->err_fd >= 0) {
		/* Take zpcid's eventfd out of the owner's device; the owner may
		 * register its own again. */
		struct vfio_irq_set s = {
			.argsz = sizeof(s),
			.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
			.index = VFIO_PCI_ERR_IRQ_INDEX,
			.start = 0,
			.count = 0,
		};
		(void)xioctl(d, d->device_fd, VFIO_DEVICE_SET_IRQS, &s);
	}
	return vfio_device_free(d);
}

int vfio_device_err_fd(const VfioDevice *d)
{
	return d->err_fd;
}

int vfio_device_req_fd(const VfioDevice *d)
{
	return d->req_fd;
}

int vfio_device_fd(const VfioDevice *d)
{
	return d->device_fd;
}

bool vfio_device_is_delegated(const VfioDevice *d)
{
	return d->delegated;
}

bool vfio_device_uses_cdev(const VfioDevice *d)
{
	return d->cdev;
}

unsigned vfio_device_zpci_base_version(const VfioDevice *d)
{
	return d->zpci_base_version;
}

uint32_t vfio_device_ccdf_err_length(const VfioDevice *d)
{
	return d->ccdf_err_length;
}

void vfio_device_set_userdata(VfioDevice *d, void *userdata)
{
	d->userdata = userdata;
}

void *vfio_device_get_userdata(const VfioDevice *d)
{
	return d->userdata;
}

uint32_t vfio_device_fid(const VfioDevice *d)
{
	return d->fid;
}
