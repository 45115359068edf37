/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/vfio-zpci.h"
#include "tests/fake-vfio.h"

#define FAKE_DEVICES_MAX 8
#define FAKE_FDS_MAX     64
#define FAKE_LOG_MAX     256

typedef enum FdKind {
	FD_NONE,
	FD_CONTAINER,
	FD_GROUP,
	FD_CDEV,   /* a vfio cdev, bound or not */
	FD_DEVICE, /* a device fd from a group */
	FD_IOMMUFD,
	FD_EVENTFD,
} FdKind;

struct FakeVfioDevice {
	FakeVfio *world;
	FakeVfioConfig config;
	char slot[32];
	bool gone;
	bool group_open;
	unsigned device_refs; /* open device fds (bound cdev or group device) */
	uint8_t queue[FAKE_QUEUE_DEPTH][ZPCI_CCDF_ERR_SIZE];
	unsigned n_queue;
	FakeVfioStats stats;
};

typedef struct FakeFd {
	int fd;
	FdKind kind;
	FakeVfioDevice *dev;
	bool bound;         /* cdev: BIND_IOMMUFD done */
	bool has_container; /* group: SET_CONTAINER done */
	bool iommu_set;     /* container */
} FakeFd;

struct FakeVfio {
	FakeVfioDevice devices[FAKE_DEVICES_MAX];
	unsigned n_devices;
	FakeFd fds[FAKE_FDS_MAX];
	unsigned long log[FAKE_LOG_MAX];
	unsigned n_log;
};

FakeVfio *fake_vfio_new(void)
{
	FakeVfio *w = calloc(1, sizeof(*w));

	for (unsigned i = 0; w && i < FAKE_FDS_MAX; i++)
		w->fds[i].fd = -1;
	return w;
}

void fake_vfio_free(FakeVfio *w)
{
	if (!w)
		return;
	for (unsigned i = 0; i < FAKE_FDS_MAX; i++)
		if (w->fds[i].fd >= 0)
			close(w->fds[i].fd);
	free(w);
}

FakeVfioDevice *fake_vfio_add(FakeVfio *w, const FakeVfioConfig *c)
{
	FakeVfioDevice *d;

	if (w->n_devices >= FAKE_DEVICES_MAX)
		abort();
	d = &w->devices[w->n_devices++];
	d->world = w;
	d->config = *c;
	snprintf(d->slot, sizeof(d->slot), "%s", c->slot ? c->slot : "0001:00:00.0");
	d->stats.err_eventfd = d->stats.req_eventfd = -1;
	return d;
}

VfioLocation fake_vfio_location(FakeVfioDevice *d)
{
	VfioLocation loc = {};

	snprintf(loc.slot, sizeof(loc.slot), "%s", d->slot);
	if (d->config.cdev >= 0)
		snprintf(loc.cdev, sizeof(loc.cdev), "/dev/vfio/devices/vfio%d", d->config.cdev);
	snprintf(loc.group, sizeof(loc.group), "/dev/vfio/%u", d->config.group);
	return loc;
}

static FakeFd *fd_add(FakeVfio *w, int fd, FdKind kind, FakeVfioDevice *dev)
{
	for (unsigned i = 0; i < FAKE_FDS_MAX; i++)
		if (w->fds[i].fd < 0) {
			w->fds[i] = (FakeFd){ .fd = fd, .kind = kind, .dev = dev };
			return &w->fds[i];
		}
	abort();
}

static FakeFd *fd_find(FakeVfio *w, int fd)
{
	for (unsigned i = 0; fd >= 0 && i < FAKE_FDS_MAX; i++)
		if (w->fds[i].fd == fd)
			return &w->fds[i];
	return NULL;
}

static FakeFd *fd_new(FakeVfio *w, FdKind kind, FakeVfioDevice *dev)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		abort();
	return fd_add(w, fd, kind, dev);
}

unsigned fake_vfio_open_fds(FakeVfio *w)
{
	unsigned n = 0;

	for (unsigned i = 0; i < FAKE_FDS_MAX; i++)
		n += w->fds[i].fd >= 0;
	return n;
}

unsigned fake_vfio_log(FakeVfio *w, const unsigned long **ret)
{
	*ret = w->log;
	return w->n_log;
}

void fake_vfio_log_clear(FakeVfio *w)
{
	w->n_log = 0;
}

static void signal_eventfd(int efd)
{
	uint64_t one = 1;

	if (efd >= 0 && write(efd, &one, sizeof(one)) != sizeof(one))
		abort();
}

int fake_vfio_inject_raw(FakeVfioDevice *d, const uint8_t raw[ZPCI_CCDF_ERR_SIZE])
{
	int queued = 0;

	if (d->device_refs > 0) {
		if (d->n_queue < FAKE_QUEUE_DEPTH) {
			memcpy(d->queue[d->n_queue++], raw, ZPCI_CCDF_ERR_SIZE);
			queued = 1;
		} else
			d->stats.dropped++; /* the newest is the one dropped */
	}
	signal_eventfd(d->stats.err_eventfd);
	return queued;
}

int fake_vfio_inject(FakeVfioDevice *d, const ZpciCcdf *c)
{
	uint8_t raw[ZPCI_CCDF_ERR_SIZE];

	ccdf_encode(c, raw);
	return fake_vfio_inject_raw(d, raw);
}

void fake_vfio_request(FakeVfioDevice *d)
{
	signal_eventfd(d->stats.req_eventfd);
}

void fake_vfio_gone(FakeVfioDevice *d)
{
	d->gone = true;
}

int fake_vfio_hold(FakeVfioDevice *d, bool return_fd)
{
	FakeFd *f;

	d->device_refs++;
	if (!return_fd)
		return 0;
	f = fd_new(d->world, d->config.cdev >= 0 ? FD_CDEV : FD_DEVICE, d);
	f->bound = true;
	return f->fd;
}

void fake_vfio_set_err_eventfd(FakeVfioDevice *d, int efd)
{
	d->stats.err_eventfd = efd;
}

FakeVfioStats fake_vfio_stats(FakeVfioDevice *d)
{
	FakeVfioStats s = d->stats;

	s.open = d->device_refs > 0;
	s.queued = d->n_queue;
	return s;
}

/* ---- ops ---- */

static int fake_open(void *userdata, const char *path, int flags)
{
	FakeVfio *w = ASSERT_PTR(userdata);
	unsigned n;

	if (streq(path, "/dev/vfio/vfio"))
		return fd_new(w, FD_CONTAINER, NULL)->fd;
	if (streq(path, "/dev/iommu"))
		return fd_new(w, FD_IOMMUFD, NULL)->fd;
	for (unsigned i = 0; i < w->n_devices; i++) {
		FakeVfioDevice *d = &w->devices[i];
		char p[64];

		if (d->config.cdev >= 0) {
			snprintf(p, sizeof(p), "/dev/vfio/devices/vfio%d", d->config.cdev);
			if (streq(path, p))
				return fd_new(w, FD_CDEV, d)->fd;
		}
		if (sscanf(path, "/dev/vfio/%u", &n) == 1 && n == d->config.group) {
			if (d->group_open || d->device_refs > 0)
				return -EBUSY;
			d->group_open = true;
			return fd_new(w, FD_GROUP, d)->fd;
		}
	}
	return -ENOENT;
}

static void device_unref(FakeVfioDevice *d)
{
	if (d->device_refs == 0 || --d->device_refs > 0)
		return;
	/* Last close: the queue and the IRQ registrations go with it. */
	d->stats.discarded += d->n_queue;
	d->n_queue = 0;
	d->stats.err_eventfd = d->stats.req_eventfd = -1;
}

static int fake_close(void *userdata, int fd)
{
	FakeVfio *w = ASSERT_PTR(userdata);
	FakeFd *f = fd_find(w, fd);

	if (!f)
		abort(); /* closing an fd the fake did not hand out */
	if (f->kind == FD_GROUP)
		f->dev->group_open = false;
	if ((f->kind == FD_CDEV && f->bound) || f->kind == FD_DEVICE)
		device_unref(f->dev);
	close(f->fd);
	*f = (FakeFd){ .fd = -1 };
	return 0;
}

static int fake_eventfd(void *userdata, unsigned initval, int flags)
{
	FakeVfio *w = ASSERT_PTR(userdata);
	int fd = eventfd(initval, flags);

	if (fd < 0)
		return -errno;
	return fd_add(w, fd, FD_EVENTFD, NULL)->fd;
}

static ssize_t fake_read(void *userdata, int fd, void *buf, size_t size)
{
	ssize_t n = read(fd, buf, size);
	return n < 0 ? -errno : n;
}

static int fake_fstat(void *userdata, int fd, struct stat *st)
{
	FakeVfio *w = ASSERT_PTR(userdata);
	FakeFd *f = fd_find(w, fd);

	if (fstat(fd, st) < 0)
		return -errno;
	if (f && f->kind == FD_CDEV)
		st->st_mode = S_IFCHR | 0600;
	else if (f && f->kind == FD_DEVICE)
		st->st_mode = 0600, st->st_nlink = 0; /* anonymous inode */
	return 0;
}

static int container_ioctl(FakeFd *f, unsigned long req, void *arg)
{
	switch (req) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return (uintptr_t)arg == VFIO_TYPE1v2_IOMMU || (uintptr_t)arg == VFIO_TYPE1_IOMMU;
	case VFIO_SET_IOMMU:
		if ((uintptr_t)arg != VFIO_TYPE1v2_IOMMU && (uintptr_t)arg != VFIO_TYPE1_IOMMU)
			return -EINVAL;
		f->iommu_set = true;
		return 0;
	}
	return -ENOTTY;
}

static int group_ioctl(FakeVfio *w, FakeFd *f, unsigned long req, void *arg)
{
	FakeVfioDevice *d = f->dev;

	switch (req) {
	case VFIO_GROUP_GET_STATUS: {
		struct vfio_group_status *s = arg;

		if (s->argsz < sizeof(*s))
			return -EINVAL;
		s->flags = VFIO_GROUP_FLAGS_VIABLE | (f->has_container ? VFIO_GROUP_FLAGS_CONTAINER_SET : 0);
		return 0;
	}
	case VFIO_GROUP_SET_CONTAINER: {
		FakeFd *c = fd_find(w, *(int *)arg);

		if (!c || c->kind != FD_CONTAINER)
			return -EBADF;
		f->has_container = true;
		return 0;
	}
	case VFIO_GROUP_GET_DEVICE_FD: {
		FakeFd *dev;
		bool iommu = false;

		for (unsigned i = 0; i < FAKE_FDS_MAX; i++)
			if (w->fds[i].fd >= 0 && w->fds[i].kind == FD_CONTAINER && w->fds[i].iommu_set)
				iommu = true;
		if (!f->has_container || !iommu)
			return -EINVAL;
		if (!streq((const char *)arg, d->slot))
			return -ENODEV;
		if (d->device_refs > 0)
			return -EBUSY;
		dev = fd_new(w, FD_DEVICE, d);
		d->device_refs++;
		return dev->fd;
	}
	}
	return -ENOTTY;
}

/* Build the GET_INFO reply the kernel would give, in @out (@size bytes). */
static size_t build_info(FakeVfioDevice *d, uint8_t *out, size_t size)
{
	const FakeVfioConfig *c = &d->config;
	struct vfio_device_info info = {
		.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET,
		.num_regions = VFIO_PCI_NUM_REGIONS,
		.num_irqs = VFIO_PCI_NUM_IRQS,
	};
	size_t off = sizeof(info), extra_off = 0, base_off = 0, base_size = 0;

	memset(out, 0, size);
	if (c->extra_cap_bytes > 0) {
		extra_off = off;
		off += (MAX(c->extra_cap_bytes, (unsigned)sizeof(struct vfio_info_cap_header)) + 7) & ~7u;
	}
	if (c->zpci_base_version > 0) {
		base_off = off;
		base_size = c->zpci_base_version >= 3   ? ZPCID_ZPCI_BASE_V3_SIZE
			    : c->zpci_base_version == 2 ? ZPCID_ZPCI_BASE_V2_SIZE
							: ZPCID_ZPCI_BASE_FH_OFFSET;
		off += (base_size + 7) & ~7u;
	}
	info.argsz = (uint32_t)off;
	if (extra_off || base_off) {
		info.flags |= VFIO_DEVICE_FLAGS_CAPS;
		if (off <= size)
			info.cap_offset = (uint32_t)(extra_off ? extra_off : base_off);
	}
	if (off <= size && extra_off) {
		struct vfio_info_cap_header h = { .id = VFIO_DEVICE_INFO_CAP_ZPCI_GROUP,
						  .version = 1,
						  .next = (uint32_t)base_off };
		memcpy(out + extra_off, &h, sizeof(h));
	}
	if (off <= size && base_off) {
		struct fake_zpci_base_v3 b = {
			.header = { .id = VFIO_DEVICE_INFO_CAP_ZPCI_BASE,
				    .version = (uint16_t)c->zpci_base_version,
				    .next = c->looping_caps ? (uint32_t)base_off : 0 },
			.pchid = c->pchid,
			.vfn = c->vfn,
			.pft = c->pft,
			.gid = c->gid,
			.fh = c->fh,
			.ccdf_err_length = c->zpci_base_version >= 3 ? c->ccdf_err_length : 0,
		};
		memcpy(out + base_off, &b, MIN(base_size, sizeof(b)));
	}
	memcpy(out, &info, sizeof(info));
	return off;
}

static int feature_ioctl(FakeVfioDevice *d, struct vfio_device_feature *f)
{
	uint32_t argsz = f->argsz;

	if (argsz < sizeof(*f))
		return -EINVAL;
	if ((f->flags & VFIO_DEVICE_FEATURE_MASK) != VFIO_DEVICE_FEATURE_ZPCI_ERROR ||
	    d->config.feature == FAKE_FEATURE_NONE)
		return -ENOTTY;
	if (f->flags & VFIO_DEVICE_FEATURE_SET)
		return -EINVAL;
	if (f->flags & VFIO_DEVICE_FEATURE_PROBE) {
		d->stats.probes++;
		return 0;
	}
	if (!(f->flags & VFIO_DEVICE_FEATURE_GET))
		return -EINVAL;
	d->stats.gets++;

	{
		struct vfio_device_feature_zpci_err p;
		uint8_t *user;

		if (argsz < sizeof(*f) + sizeof(p))
			return -EINVAL;
		memcpy(&p, f->data, sizeof(p));
		user = (uint8_t *)(uintptr_t)p.data;
		if (!user)
			return -EINVAL;
		if (d->n_queue == 0) {
			d->stats.enomsg++;
			return -ENOMSG;
		}
		memset(user, 0, d->config.ccdf_err_length);
		memcpy(user, d->queue[0], ZPCI_CCDF_ERR_SIZE);
	}
	memmove(d->queue[0], d->queue[1], (size_t)(d->n_queue - 1) * ZPCI_CCDF_ERR_SIZE);
	d->n_queue--;
	return 0;
}

static int device_ioctl(FakeVfio *w, FakeFd *f, unsigned long req, void *arg)
{
	FakeVfioDevice *d = f->dev;

	if (d->gone)
		return -ENODEV;

	if (f->kind == FD_CDEV && !f->bound) {
		if (req == VFIO_DEVICE_BIND_IOMMUFD) {
			struct vfio_device_bind_iommufd *b = arg;
			FakeFd *i;

			if (b->argsz < sizeof(*b) || b->flags != 0)
				return -EINVAL;
			i = fd_find(w, b->iommufd);
			if (!i || i->kind != FD_IOMMUFD)
				return -EBADF;
			if (d->device_refs > 0 || d->group_open)
				return -EINVAL; /* opened elsewhere */
			f->bound = true;
			d->device_refs++;
			b->out_devid = 1;
			return 0;
		}
		return -EINVAL; /* nothing before bind */
	}

	switch (req) {
	case VFIO_DEVICE_BIND_IOMMUFD:
		return -EINVAL;
	case VFIO_DEVICE_ATTACH_IOMMUFD_PT: {
		struct vfio_device_attach_iommufd_pt *a = arg;

		if (f->kind != FD_CDEV || a->argsz < 12 || a->flags != 0 || a->pt_id != 7)
			return -EINVAL;
		return 0;
	}
	case VFIO_DEVICE_GET_INFO: {
		uint32_t argsz;
		_cleanup_free_ uint8_t *reply = NULL;
		size_t need;

		memcpy(&argsz, arg, sizeof(argsz));
		if (argsz < sizeof(struct vfio_device_info))
			return -EINVAL;
		d->stats.info_calls++;
		reply = calloc(1, argsz);
		if (!reply)
			return -ENOMEM;
		need = build_info(d, reply, argsz);
		/* Never more than the caller's argsz; argsz tells what was needed. */
		memcpy(arg, reply, MIN((size_t)argsz, need < argsz ? need : argsz));
		return 0;
	}
	case VFIO_DEVICE_GET_IRQ_INFO: {
		struct vfio_irq_info *i = arg;

		if (i->argsz < sizeof(*i) || i->index >= VFIO_PCI_NUM_IRQS)
			return -EINVAL;
		i->flags = VFIO_IRQ_INFO_EVENTFD;
		i->count = i->index == VFIO_PCI_ERR_IRQ_INDEX   ? d->config.err_irq_count
			   : i->index == VFIO_PCI_REQ_IRQ_INDEX ? d->config.req_irq_count
								: 1;
		return 0;
	}
	case VFIO_DEVICE_SET_IRQS: {
		struct vfio_irq_set *s = arg;
		uint32_t count;
		int *slot;

		if (s->argsz < sizeof(*s))
			return -EINVAL;
		if (s->index != VFIO_PCI_ERR_IRQ_INDEX && s->index != VFIO_PCI_REQ_IRQ_INDEX)
			return -EINVAL;
		count = s->index == VFIO_PCI_ERR_IRQ_INDEX ? d->config.err_irq_count
							   : d->config.req_irq_count;
		slot = s->index == VFIO_PCI_ERR_IRQ_INDEX ? &d->stats.err_eventfd : &d->stats.req_eventfd;
		if (s->flags == (VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER) && s->count == 0) {
			*slot = -1;
			return 0;
		}
		if (s->flags != (VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER) || s->start != 0 ||
		    s->count != 1 || count < 1 || s->argsz < sizeof(*s) + sizeof(int32_t))
			return -EINVAL;
		memcpy(slot, s->data, sizeof(int32_t));
		return 0;
	}
	case VFIO_DEVICE_FEATURE:
		return feature_ioctl(d, arg);
	case VFIO_DEVICE_RESET:
		d->stats.resets++;
		d->stats.queued_at_reset = d->n_queue;
		return 0;
	}
	return -ENOTTY;
}

static int fake_ioctl(void *userdata, int fd, unsigned long req, void *arg)
{
	FakeVfio *w = ASSERT_PTR(userdata);
	FakeFd *f = fd_find(w, fd);

	if (w->n_log < FAKE_LOG_MAX)
		w->log[w->n_log++] = req;
	if (!f)
		return -EBADF;
	switch (f->kind) {
	case FD_CONTAINER:
		return container_ioctl(f, req, arg);
	case FD_GROUP:
		return f->dev->gone ? -ENODEV : group_ioctl(w, f, req, arg);
	case FD_CDEV:
	case FD_DEVICE:
		return device_ioctl(w, f, req, arg);
	case FD_IOMMUFD:
		if (req == IOMMU_IOAS_ALLOC) {
			struct iommu_ioas_alloc *a = arg;

			if (a->size < sizeof(*a) || a->flags != 0)
				return -EINVAL;
			a->out_ioas_id = 7;
			return 0;
		}
		return -ENOTTY;
	default:
		return -ENOTTY;
	}
}

const VfioOps fake_vfio_ops = {
	.open = fake_open,
	.ioctl = fake_ioctl,
	.close = fake_close,
	.eventfd = fake_eventfd,
	.read = fake_read,
	.fstat = fake_fstat,
};
