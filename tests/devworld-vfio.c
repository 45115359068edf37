/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devworld: the kernel's VFIO side. The group, cdev, container and iommufd
 * nodes are umockdev devices whose ioctls are answered here, in umockdev's
 * worker thread under the world's lock, following the kernel's rules
 * (ownership, capability chain, IRQ registration, the zPCI error feature,
 * reset); the counters and operation log of each function record what its
 * clients did.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>
#include <linux/vfio.h>
#include <linux/vfio_zdev.h>

#include "tests/devworld-private.h"

/*
 * uAPI the 6.1 headers lack. When common/vfio-zpci.h provides these, it
 * wins (same values: the vfio cdev/iommufd uAPI of Linux 6.6 and the zPCI
 * error feature of the patch series).
 */
#if __has_include("common/vfio-zpci.h")
#include "common/vfio-zpci.h"
#endif
#ifndef VFIO_DEVICE_FEATURE_ZPCI_ERROR
#define VFIO_DEVICE_FEATURE_ZPCI_ERROR 13
#endif
#ifndef VFIO_DEVICE_BIND_IOMMUFD
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#endif
#ifndef VFIO_DEVICE_ATTACH_IOMMUFD_PT
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif
#ifndef VFIO_DEVICE_DETACH_IOMMUFD_PT
#define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)
#endif
#define DW_IOMMUFD_TYPE     ';'
#define DW_IOMMU_DESTROY    _IO(DW_IOMMUFD_TYPE, 0x80)
#define DW_IOMMU_IOAS_ALLOC _IO(DW_IOMMUFD_TYPE, 0x81)

#define DW_BASE_V3_LEN_OFFSET 36
#define DW_BASE_V3_SIZE       40
#define DW_GROUP_CAP_SIZE     48
#define DW_FEATURE_HDR        8 /* argsz + flags of struct vfio_device_feature */

/* ------------------------------------------------------------------ */
/* VFIO emulation: the kernel side */

/* The server end of an ioctl client's socket (owned by umockdev), or -1.
 * The client's stream is the accepted GSocketConnection; its "socket" and
 * the socket's "fd" are GObject properties, so no gio link is needed. */
static int client_socket_fd(UMockdevIoctlClient *c)
{
	struct Mirror {
		gpointer handler;
		GObject *stream;
	} *priv = (struct Mirror *)c->priv;
	GType conn_type = g_type_from_name("GSocketConnection");
	GObject *sock = NULL;
	int fd = -1;

	if (!priv || !conn_type || !priv->stream || !G_TYPE_CHECK_INSTANCE_TYPE(priv->stream, conn_type))
		return -1;
	g_object_get(priv->stream, "socket", &sock, NULL);
	if (!sock)
		return -1;
	g_object_get(sock, "fd", &fd, NULL);
	g_object_unref(sock);
	return fd;
}

/* The pid of the process behind a socket, from its peer credentials (0 when unknown). */
static pid_t socket_peer_pid(int fd)
{
	struct ucred cred = {};
	socklen_t len = sizeof(cred);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return 0;
	return cred.pid;
}

/* Duplicate fd @fd of process @pid into this process. Returns the fd or -errno. */
static int fetch_fd(pid_t pid, int fd)
{
	int pidfd, r;

	if (pid == getpid()) {
		r = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		return r < 0 ? -errno : r;
	}
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0)
		return -errno;
	r = pidfd_getfd(pidfd, fd, 0);
	if (r < 0)
		r = -errno;
	close(pidfd);
	return r;
}

static bool fd_is_eventfd(int fd)
{
	char p[64], link[64] = {};

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	if (readlink(p, link, sizeof(link) - 1) < 0)
		return false;
	return strcmp(link, "anon_inode:[eventfd]") == 0;
}

/* The client's fd number for the testbed node @devnode (the last one opened). */
static int client_fd_of(Devworld *w, pid_t pid, const char *devnode)
{
	g_autofree char *dir = g_strdup_printf("/proc/%d/fd", (int)pid);
	g_autofree char *want = g_build_filename(w->root, devnode, NULL);
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *n;
	int best = -1;

	if (!d)
		return -1;
	while ((n = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(dir, n, NULL);
		g_autofree char *l = g_file_read_link(p, NULL);
		int fd = atoi(n);

		if (l && strcmp(l, want) == 0 && fd > best)
			best = fd;
	}
	g_dir_close(d);
	return best;
}

/* Resolve the ioctl argument as a struct whose first u32 is argsz: read
 * @min bytes, then, when argsz says more, read again up to @max bytes
 * (umockdev caches the first resolution, so the original pointer is put
 * back and the argument reloaded first). Never reads more than argsz. */
static UMockdevIoctlData *resolve_argsz(UMockdevIoctlClient *c, size_t min, size_t max, uint32_t *ret_argsz)
{
	UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(c);
	UMockdevIoctlData *d;
	gulong orig;
	uint32_t argsz;

	if (!arg || arg->data_len < (gint)sizeof(gulong))
		return NULL;
	memcpy(&orig, arg->data, sizeof(orig));
	d = umockdev_ioctl_data_resolve(arg, 0, min, NULL);
	if (!d)
		return NULL;
	memcpy(&argsz, d->data, sizeof(argsz));
	*ret_argsz = argsz;
	if (argsz > min && max > min) {
		size_t want = MIN((size_t)argsz, max);

		memcpy(arg->data, &orig, sizeof(orig));
		(void)umockdev_ioctl_data_reload(arg, NULL);
		d = umockdev_ioctl_data_resolve(arg, 0, want, NULL);
	}
	return d;
}

static UMockdevIoctlData *resolve_fixed(UMockdevIoctlClient *c, size_t len)
{
	UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(c);

	if (!arg)
		return NULL;
	return umockdev_ioctl_data_resolve(arg, 0, len, NULL);
}

static gboolean complete(UMockdevIoctlClient *c, long res, int err)
{
	umockdev_ioctl_client_complete(c, res, err);
	return TRUE;
}

static const char *feature_form(DevworldFeature f)
{
	return f == DEVWORLD_FEATURE_NONE ? "none" : "v20";
}

/* The device becomes open through @cl: the kernel resets the function and
 * starts the error queue. */
static void device_open_locked(DwFn *fn, DwClient *cl)
{
	cl->device_open = true;
	fn->device_owner = cl;
	fn->head = fn->count = 0;
	fn->stats.opens++;
	fn->stats.owner_pid = cl->pid;
	fn->stats.queued = 0;
	dw_fn_log(fn, "OPEN pid=%d via %s", (int)cl->pid, cl->kind == NODE_CDEV ? "cdev" : "group");
}

static void device_close_locked(DwFn *fn, DwClient *cl)
{
	Devworld *w = fn->world;

	if (!cl->device_open)
		return;
	cl->device_open = false;
	fn->device_owner = NULL;
	if (fn->count > 0) {
		g_autofree char *t = g_strdup_printf(
			"zpci: Unhandled PCI error events count=%u for PCI function 0x%x", fn->count,
			fn->cfg.fid);
		fn->stats.discarded += fn->count;
		(void)dw_kmsg_write_locked(w, 6, t);
	}
	fn->head = fn->count = 0;
	fn->stats.queued = 0;
	if (fn->err_efd >= 0)
		close(fn->err_efd);
	if (fn->req_efd >= 0)
		close(fn->req_efd);
	fn->err_efd = fn->req_efd = -1;
	fn->stats.err_registered = fn->stats.req_registered = false;
	fn->stats.closes++;
	fn->stats.owner_pid = 0;
	dw_fn_log(fn, "CLOSE pid=%d", (int)cl->pid);
}

static void fill_base_cap(DwFn *fn, uint8_t *p, unsigned version, uint32_t next)
{
	struct vfio_device_info_cap_zpci_base b = {
		.header = { .id = VFIO_DEVICE_INFO_CAP_ZPCI_BASE, .version = version, .next = next },
		.start_dma = 0x100000000ULL,
		.end_dma = 0x1ffffffffffULL,
		.pchid = fn->cfg.pchid,
		.vfn = fn->cfg.vfn,
		.fmb_length = 0x80,
		.pft = fn->cfg.pft,
		.gid = fn->cfg.pfgid,
		.fh = fn->fh,
	};
	/* the kernel's field is a native __u32 */
	uint32_t len = ZPCI_CCDF_ERR_SIZE;

	/* the defined fields only (36 bytes): the tail is zero or ccdf_err_length */
	memset(p, 0, DW_BASE_V3_SIZE);
	memcpy(p, &b, offsetof(struct vfio_device_info_cap_zpci_base, fh) + sizeof(b.fh));
	if (version >= 3)
		memcpy(p + DW_BASE_V3_LEN_OFFSET, &len, sizeof(len));
}

static void fill_group_cap(DwFn *fn, uint8_t *p, uint32_t next)
{
	struct vfio_device_info_cap_zpci_group g = {
		.header = { .id = VFIO_DEVICE_INFO_CAP_ZPCI_GROUP, .version = 2, .next = next },
		.dasm = 0xffffffffffffffffULL,
		.msi_addr = 0xfe00000000000000ULL,
		.mui = 4000,
		.noi = 64,
		.maxstbl = 128,
		.version = 0,
	};

	memset(p, 0, DW_GROUP_CAP_SIZE);
	memcpy(p, &g, offsetof(struct vfio_device_info_cap_zpci_group, imaxstbl) + sizeof(g.imaxstbl));
}

static gboolean handle_get_info(DwFn *fn, UMockdevIoctlClient *c)
{
	const size_t hdr = sizeof(struct vfio_device_info);
	const size_t caps = DW_BASE_V3_SIZE + DW_GROUP_CAP_SIZE;
	struct vfio_device_info info;
	UMockdevIoctlData *d;
	/* ccdf_err_length (version 3) came with the feature */
	unsigned version = fn->cfg.zpci_base_version ?: fn->cfg.feature == DEVWORLD_FEATURE_NONE ? 2 : 3;
	uint32_t argsz;

	d = resolve_argsz(c, hdr, hdr + caps, &argsz);
	if (!d)
		return complete(c, -1, EFAULT);
	if (argsz < offsetof(struct vfio_device_info, cap_offset))
		return complete(c, -1, EINVAL);
	memcpy(&info, d->data, hdr);
	info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET | VFIO_DEVICE_FLAGS_CAPS;
	info.num_regions = VFIO_PCI_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;
	if (argsz < hdr + caps) {
		/* too small for the chain: say how much is needed */
		info.argsz = hdr + caps;
		info.cap_offset = 0;
		dw_fn_log(fn, "DEVICE_GET_INFO argsz=%u -> short, need %zu", argsz, hdr + caps);
	} else {
		info.argsz = argsz;
		info.cap_offset = hdr;
		fill_base_cap(fn, d->data + hdr, version, hdr + DW_BASE_V3_SIZE);
		fill_group_cap(fn, d->data + hdr + DW_BASE_V3_SIZE, 0);
		dw_fn_log(fn, "DEVICE_GET_INFO -> 0 zpci_base v%u", version);
	}
	if (argsz >= hdr)
		memcpy(d->data, &info, hdr);
	else
		memcpy(d->data, &info, argsz);
	return complete(c, 0, 0);
}

static gboolean handle_irq_info(DwFn *fn, UMockdevIoctlClient *c)
{
	struct vfio_irq_info info;
	UMockdevIoctlData *d = resolve_fixed(c, sizeof(info));

	if (!d)
		return complete(c, -1, EFAULT);
	memcpy(&info, d->data, sizeof(info));
	if (info.argsz < sizeof(info))
		return complete(c, -1, EINVAL);
	if (info.index >= VFIO_PCI_NUM_IRQS)
		return complete(c, -1, EINVAL);
	info.flags = VFIO_IRQ_INFO_EVENTFD;
	switch (info.index) {
	case VFIO_PCI_ERR_IRQ_INDEX:
		info.count = fn->cfg.no_err_irq ? 0 : 1;
		info.flags |= VFIO_IRQ_INFO_NORESIZE;
		break;
	case VFIO_PCI_REQ_IRQ_INDEX:
		info.count = 1;
		info.flags |= VFIO_IRQ_INFO_NORESIZE;
		break;
	case VFIO_PCI_MSIX_IRQ_INDEX:
		info.count = 64;
		info.flags |= VFIO_IRQ_INFO_NORESIZE;
		break;
	default:
		info.count = 0;
	}
	memcpy(d->data, &info, sizeof(info));
	dw_fn_log(fn, "DEVICE_GET_IRQ_INFO index=%u -> 0 count=%u", info.index, info.count);
	return complete(c, 0, 0);
}

static gboolean handle_set_irqs(DwFn *fn, DwClient *cl, UMockdevIoctlClient *c)
{
	const size_t hdr = sizeof(struct vfio_irq_set);
	struct vfio_irq_set s;
	UMockdevIoctlData *d;
	uint32_t argsz;
	int32_t efd;
	int *slot, mine;

	d = resolve_argsz(c, hdr, hdr + sizeof(int32_t), &argsz);
	if (!d)
		return complete(c, -1, EFAULT);
	memcpy(&s, d->data, hdr);
	if (argsz < hdr)
		return complete(c, -1, EINVAL);
	if (s.index == VFIO_PCI_ERR_IRQ_INDEX) {
		if (fn->cfg.no_err_irq)
			return complete(c, -1, EINVAL);
		slot = &fn->err_efd;
	} else if (s.index == VFIO_PCI_REQ_IRQ_INDEX)
		slot = &fn->req_efd;
	else {
		dw_fn_log(fn, "DEVICE_SET_IRQS index=%u -> ENOTTY", s.index);
		return complete(c, -1, s.index < VFIO_PCI_NUM_IRQS ? ENOTTY : EINVAL);
	}
	if ((s.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK) != VFIO_IRQ_SET_ACTION_TRIGGER)
		return complete(c, -1, EINVAL);
	if (s.start != 0 || s.count > 1)
		return complete(c, -1, EINVAL);

	switch (s.flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		if (s.count == 0) {
			if (*slot >= 0)
				close(*slot);
			*slot = -1;
		} else if (*slot >= 0)
			dw_signal_efd(*slot);
		else
			return complete(c, -1, EINVAL);
		break;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		if (s.count != 1 || argsz < hdr + sizeof(int32_t))
			return complete(c, -1, EINVAL);
		memcpy(&efd, d->data + hdr, sizeof(efd));
		if (efd == -1) {
			if (*slot >= 0)
				close(*slot);
			*slot = -1;
			break;
		}
		if (efd < 0)
			return complete(c, -1, EINVAL);
		mine = fetch_fd(cl->pid, efd);
		if (mine < 0 || !fd_is_eventfd(mine)) {
			if (mine >= 0)
				close(mine);
			dw_fn_log(fn, "DEVICE_SET_IRQS index=%u fd=%d -> EBADF", s.index, efd);
			return complete(c, -1, EBADF);
		}
		/* one slot per device: a new registration replaces the old one */
		if (*slot >= 0)
			close(*slot);
		*slot = mine;
		break;
	default:
		return complete(c, -1, EINVAL);
	}
	fn->stats.err_registered = fn->err_efd >= 0;
	fn->stats.req_registered = fn->req_efd >= 0;
	dw_fn_log(fn, "DEVICE_SET_IRQS index=%u %s -> 0", s.index,
		  *slot >= 0 ? "registered" : "unregistered");
	g_cond_broadcast(&fn->world->cond);
	return complete(c, 0, 0);
}

static gboolean handle_feature(DwFn *fn, UMockdevIoctlClient *c)
{
	const size_t v20_size = 8;
	struct vfio_device_feature f;
	UMockdevIoctlData *d;
	uint32_t argsz, index;

	d = resolve_argsz(c, DW_FEATURE_HDR, DW_FEATURE_HDR + v20_size, &argsz);
	if (!d)
		return complete(c, -1, EFAULT);
	memcpy(&f, d->data, DW_FEATURE_HDR);
	if (argsz < DW_FEATURE_HDR)
		return complete(c, -1, EINVAL);
	if (f.flags & ~(VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET |
			VFIO_DEVICE_FEATURE_PROBE))
		return complete(c, -1, EINVAL);
	if (!(f.flags & VFIO_DEVICE_FEATURE_PROBE) && (f.flags & VFIO_DEVICE_FEATURE_SET) &&
	    (f.flags & VFIO_DEVICE_FEATURE_GET))
		return complete(c, -1, EINVAL);
	index = f.flags & VFIO_DEVICE_FEATURE_MASK;
	if (index != VFIO_DEVICE_FEATURE_ZPCI_ERROR || fn->cfg.feature == DEVWORLD_FEATURE_NONE) {
		dw_fn_log(fn, "DEVICE_FEATURE index=%u -> ENOTTY", index);
		return complete(c, -1, ENOTTY);
	}
	/* vfio_check_feature(): GET only */
	if (f.flags & VFIO_DEVICE_FEATURE_SET)
		return complete(c, -1, EINVAL);
	if (f.flags & VFIO_DEVICE_FEATURE_PROBE) {
		fn->stats.feature_probes++;
		dw_fn_log(fn, "DEVICE_FEATURE ZPCI_ERROR PROBE -> 0 (%s)", feature_form(fn->cfg.feature));
		return complete(c, 0, 0);
	}
	if (!(f.flags & VFIO_DEVICE_FEATURE_GET))
		return complete(c, -1, EINVAL);
	if (argsz - DW_FEATURE_HDR < v20_size)
		return complete(c, -1, EINVAL);
	{
		uint64_t data;

		memcpy(&data, d->data + DW_FEATURE_HDR, sizeof(data));
		if (data == 0) {
			dw_fn_log(fn, "DEVICE_FEATURE ZPCI_ERROR GET data=0 -> EINVAL");
			return complete(c, -1, EINVAL);
		}
	}

	fn->stats.feature_gets++;
	if (fn->count == 0) {
		fn->stats.enomsg++;
		dw_fn_log(fn, "DEVICE_FEATURE ZPCI_ERROR GET -> ENOMSG");
		g_cond_broadcast(&fn->world->cond);
		return complete(c, -1, ENOMSG);
	} else {
		const uint8_t *q = fn->queue[fn->head];
		UMockdevIoctlData *buf = umockdev_ioctl_data_resolve(d, DW_FEATURE_HDR, ZPCI_CCDF_ERR_SIZE,
								     NULL);

		if (!buf) {
			/* the kernel dequeues before it copies: the record is lost */
			fn->head = (fn->head + 1) % DW_QUEUE_DEPTH;
			fn->count--;
			fn->stats.queued = fn->count;
			dw_fn_log(fn, "DEVICE_FEATURE ZPCI_ERROR GET -> EFAULT (record lost)");
			g_cond_broadcast(&fn->world->cond);
			return complete(c, -1, EFAULT);
		}
		memcpy(buf->data, q, ZPCI_CCDF_ERR_SIZE);
		dw_fn_log(fn, "DEVICE_FEATURE ZPCI_ERROR GET -> 0 pec=0x%x", (unsigned)(q[30] << 8 | q[31]));
		fn->head = (fn->head + 1) % DW_QUEUE_DEPTH;
		fn->count--;
		fn->stats.drained++;
		fn->stats.queued = fn->count;
		g_cond_broadcast(&fn->world->cond);
		return complete(c, 0, 0);
	}
}

/* ioctls on an open vfio device */
static gboolean handle_device_ioctl(DwFn *fn, DwClient *cl, UMockdevIoctlClient *c, gulong req)
{
	switch (req) {
	case VFIO_DEVICE_GET_INFO:
		return handle_get_info(fn, c);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return handle_irq_info(fn, c);
	case VFIO_DEVICE_SET_IRQS:
		return handle_set_irqs(fn, cl, c);
	case VFIO_DEVICE_FEATURE:
		return handle_feature(fn, c);
	case VFIO_DEVICE_RESET:
		fn->stats.resets++;
		/* a reset gives the function a new handle; the queue stays */
		fn->fh ^= 0x00010000;
		dw_fn_log(fn, "DEVICE_RESET -> 0");
		g_cond_broadcast(&fn->world->cond);
		return complete(c, 0, 0);
	default:
		dw_fn_log(fn, "ioctl 0x%lx -> ENOTTY", req);
		return complete(c, -1, ENOTTY);
	}
}

static gboolean handle_group_ioctl(Devworld *w, DwFn *fn, DwClient *cl, UMockdevIoctlClient *c, gulong req)
{
	/* The kernel refuses a second open of a group (-EBUSY); umockdev
	 * cannot fail open(), so the first ioctl of a second opener fails. */
	if (!cl->group_claimed) {
		if (fn->group_owner && fn->group_owner != cl) {
			fn->stats.ebusy++;
			dw_fn_log(fn, "GROUP open pid=%d -> EBUSY (held by %d)", (int)cl->pid,
				  (int)fn->group_owner->pid);
			g_cond_broadcast(&w->cond);
			return complete(c, -1, EBUSY);
		}
		if (fn->device_owner && fn->device_owner != cl) {
			/* opened through the cdev: the group is blocked */
			fn->stats.ebusy++;
			dw_fn_log(fn, "GROUP open pid=%d -> EBUSY (cdev open)", (int)cl->pid);
			return complete(c, -1, EBUSY);
		}
		cl->group_claimed = true;
		fn->group_owner = cl;
	}

	switch (req) {
	case VFIO_GROUP_GET_STATUS: {
		struct vfio_group_status st;
		UMockdevIoctlData *d = resolve_fixed(c, sizeof(st));

		if (!d)
			return complete(c, -1, EFAULT);
		memcpy(&st, d->data, sizeof(st));
		if (st.argsz < sizeof(st))
			return complete(c, -1, EINVAL);
		st.flags = VFIO_GROUP_FLAGS_VIABLE |
			   (cl->container_set ? VFIO_GROUP_FLAGS_CONTAINER_SET : 0);
		memcpy(d->data, &st, sizeof(st));
		dw_fn_log(fn, "GROUP_GET_STATUS -> 0 flags=0x%x", st.flags);
		return complete(c, 0, 0);
	}
	case VFIO_GROUP_SET_CONTAINER: {
		UMockdevIoctlData *d = resolve_fixed(c, sizeof(int32_t));
		int32_t cfd;
		GHashTableIter it;
		gpointer k, v;

		if (!d)
			return complete(c, -1, EFAULT);
		memcpy(&cfd, d->data, sizeof(cfd));
		if (cl->container_set)
			return complete(c, -1, EINVAL);
		/* the container is the caller's open /dev/vfio/vfio */
		g_hash_table_iter_init(&it, w->clients);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			DwClient *o = v;

			if (o->kind == NODE_CONTAINER && o->pid == cl->pid)
				o->n_groups++;
		}
		cl->container_set = true;
		dw_fn_log(fn, "GROUP_SET_CONTAINER fd=%d -> 0", cfd);
		return complete(c, 0, 0);
	}
	case VFIO_GROUP_UNSET_CONTAINER:
		if (!cl->container_set)
			return complete(c, -1, EINVAL);
		if (cl->device_open)
			return complete(c, -1, EBUSY);
		cl->container_set = false;
		return complete(c, 0, 0);
	case VFIO_GROUP_GET_DEVICE_FD: {
		UMockdevIoctlData *d = resolve_fixed(c, strlen(fn->slot) + 1);
		GHashTableIter it;
		gpointer k, v;
		bool iommu = false;
		int fd;

		if (!d)
			return complete(c, -1, EFAULT);
		if (strncmp((const char *)d->data, fn->slot, strlen(fn->slot) + 1) != 0) {
			dw_fn_log(fn, "GROUP_GET_DEVICE_FD '%.*s' -> ENODEV", (int)strlen(fn->slot),
				  d->data);
			return complete(c, -1, ENODEV);
		}
		g_hash_table_iter_init(&it, w->clients);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			DwClient *o = v;

			if (o->kind == NODE_CONTAINER && o->pid == cl->pid && o->iommu_set)
				iommu = true;
		}
		if (!cl->container_set || !iommu)
			return complete(c, -1, EINVAL);
		if (fn->device_owner)
			return complete(c, -1, EBUSY);
		fd = client_fd_of(w, cl->pid, cl->devnode);
		if (fd < 0)
			return complete(c, -1, EIO);
		device_open_locked(fn, cl);
		dw_fn_log(fn, "GROUP_GET_DEVICE_FD -> %d", fd);
		g_cond_broadcast(&w->cond);
		return complete(c, fd, 0);
	}
	default:
		if (cl->device_open)
			return handle_device_ioctl(fn, cl, c, req);
		dw_fn_log(fn, "group ioctl 0x%lx -> ENOTTY", req);
		return complete(c, -1, ENOTTY);
	}
}

static gboolean handle_cdev_ioctl(Devworld *w, DwFn *fn, DwClient *cl, UMockdevIoctlClient *c, gulong req)
{
	if (req == VFIO_DEVICE_BIND_IOMMUFD) {
		struct {
			uint32_t argsz, flags;
			int32_t iommufd;
			uint32_t out_devid;
		} b;
		UMockdevIoctlData *d = resolve_fixed(c, sizeof(b));

		if (!d)
			return complete(c, -1, EFAULT);
		memcpy(&b, d->data, sizeof(b));
		if (b.argsz < sizeof(b) || b.flags)
			return complete(c, -1, EINVAL);
		if (cl->iommufd_bound)
			return complete(c, -1, EINVAL);
		if (fn->group_owner) {
			/* vfio_device_block_group(): the group is open */
			fn->stats.ebusy++;
			dw_fn_log(fn, "DEVICE_BIND_IOMMUFD pid=%d -> EBUSY (group open by %d)", (int)cl->pid,
				  (int)fn->group_owner->pid);
			g_cond_broadcast(&w->cond);
			return complete(c, -1, EBUSY);
		}
		if (fn->device_owner) {
			/* a cdev binds once */
			fn->stats.ebusy++;
			dw_fn_log(fn, "DEVICE_BIND_IOMMUFD pid=%d -> EINVAL (bound by %d)", (int)cl->pid,
				  (int)fn->device_owner->pid);
			g_cond_broadcast(&w->cond);
			return complete(c, -1, EINVAL);
		}
		b.out_devid = 1;
		memcpy(d->data, &b, sizeof(b));
		cl->iommufd_bound = true;
		device_open_locked(fn, cl);
		dw_fn_log(fn, "DEVICE_BIND_IOMMUFD iommufd=%d -> 0", b.iommufd);
		g_cond_broadcast(&w->cond);
		return complete(c, 0, 0);
	}
	if (!cl->iommufd_bound) {
		dw_fn_log(fn, "cdev ioctl 0x%lx before bind -> EINVAL", req);
		return complete(c, -1, EINVAL);
	}
	if (req == VFIO_DEVICE_ATTACH_IOMMUFD_PT) {
		struct {
			uint32_t argsz, flags, pt_id;
		} a;
		UMockdevIoctlData *d = resolve_fixed(c, sizeof(a));

		if (!d)
			return complete(c, -1, EFAULT);
		memcpy(&a, d->data, sizeof(a));
		if (a.argsz < sizeof(a) || a.flags || a.pt_id == 0)
			return complete(c, -1, EINVAL);
		cl->attached = true;
		dw_fn_log(fn, "DEVICE_ATTACH_IOMMUFD_PT pt=%u -> 0", a.pt_id);
		return complete(c, 0, 0);
	}
	if (req == VFIO_DEVICE_DETACH_IOMMUFD_PT) {
		cl->attached = false;
		return complete(c, 0, 0);
	}
	return handle_device_ioctl(fn, cl, c, req);
}

static gboolean handle_container_ioctl(DwClient *cl, UMockdevIoctlClient *c, gulong req)
{
	unsigned long arg = 0;
	UMockdevIoctlData *a = umockdev_ioctl_client_get_arg(c);

	if (a && a->data_len >= (gint)sizeof(arg))
		memcpy(&arg, a->data, sizeof(arg));
	switch (req) {
	case VFIO_GET_API_VERSION:
		return complete(c, VFIO_API_VERSION, 0);
	case VFIO_CHECK_EXTENSION:
		return complete(c, arg == VFIO_TYPE1_IOMMU || arg == VFIO_TYPE1v2_IOMMU, 0);
	case VFIO_SET_IOMMU:
		if (cl->n_groups == 0 || cl->iommu_set)
			return complete(c, -1, EINVAL);
		if (arg != VFIO_TYPE1_IOMMU && arg != VFIO_TYPE1v2_IOMMU)
			return complete(c, -1, ENODEV);
		cl->iommu_set = true;
		return complete(c, 0, 0);
	default:
		return complete(c, -1, ENOTTY);
	}
}

static gboolean handle_iommufd_ioctl(DwClient *cl, UMockdevIoctlClient *c, gulong req)
{
	if (req == DW_IOMMU_IOAS_ALLOC) {
		struct {
			uint32_t size, flags, out_ioas_id;
		} s;
		UMockdevIoctlData *d = resolve_fixed(c, sizeof(s));

		if (!d)
			return complete(c, -1, EFAULT);
		memcpy(&s, d->data, sizeof(s));
		if (s.size < sizeof(s) || s.flags)
			return complete(c, -1, EINVAL);
		s.out_ioas_id = ++cl->next_ioas;
		memcpy(d->data, &s, sizeof(s));
		return complete(c, 0, 0);
	}
	if (req == DW_IOMMU_DESTROY)
		return complete(c, 0, 0);
	return complete(c, -1, ENOTTY);
}

/* The parent of process @pid (0 when unknown). */
static pid_t pid_parent(pid_t pid)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
	g_autofree char *stat = NULL;
	const char *p;
	int ppid = 0;

	if (pid <= 0 || !g_file_get_contents(path, &stat, NULL, NULL))
		return 0;
	p = strrchr(stat, ')'); /* the name may hold anything */
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

static DwClient *client_lookup_locked(Devworld *w, UMockdevIoctlClient *c)
{
	DwClient *cl = g_hash_table_lookup(w->clients, c);
	const char *node;

	if (cl)
		return cl;
	node = umockdev_ioctl_client_get_devnode(c);
	cl = g_new0(DwClient, 1);
	cl->client = c;
	cl->pid = socket_peer_pid(client_socket_fd(c));
	g_strlcpy(cl->devnode, node ?: "", sizeof(cl->devnode));
	if (node && strcmp(node, "/dev/vfio/vfio") == 0)
		cl->kind = NODE_CONTAINER;
	else if (node && strcmp(node, "/dev/iommu") == 0)
		cl->kind = NODE_IOMMUFD;
	else {
		cl->fn = node ? g_hash_table_lookup(w->nodes, node) : NULL;
		cl->kind = node && g_str_has_prefix(node, "/dev/vfio/devices/") ? NODE_CDEV : NODE_GROUP;
	}
	/* A descriptor a process inherited over exec() is the same open file
	 * in the kernel; umockdev only knows descriptors a process opened, so
	 * the device world's preload re-opens such a node in the new process
	 * (devworld-preload.c). Its connection is the parent's open device when
	 * the parent has it open: the daemon's helper resetting through fd 3. */
	if (cl->fn && cl->kind != NODE_CONTAINER && cl->kind != NODE_IOMMUFD) {
		DwClient *o = cl->kind == NODE_CDEV ? cl->fn->device_owner : cl->fn->group_owner;

		if (o && o != cl && o->device_open && o->pid > 0 && pid_parent(cl->pid) == o->pid) {
			cl->inherited_from = o;
			dw_fn_log(cl->fn, "open inherited by pid=%d from pid=%d", (int)cl->pid, (int)o->pid);
		}
	}
	g_hash_table_insert(w->clients, c, cl);
	return cl;
}

static gboolean on_ioctl(UMockdevIoctlBase *h, UMockdevIoctlClient *c, gpointer userdata)
{
	Devworld *w = userdata;
	gulong req = umockdev_ioctl_client_get_request(c);
	DwClient *cl;
	gboolean r;

	g_mutex_lock(&w->lock);
	cl = client_lookup_locked(w, c);
	if (cl->inherited_from)
		cl = cl->inherited_from;
	switch (cl->kind) {
	case NODE_CONTAINER:
		r = handle_container_ioctl(cl, c, req);
		break;
	case NODE_IOMMUFD:
		r = handle_iommufd_ioctl(cl, c, req);
		break;
	default:
		if (!cl->fn) {
			/* the node went away (unbind) while it was open */
			r = complete(c, -1, ENODEV);
			break;
		}
		cl->fn->stats.ioctls++;
		if (cl->kind == NODE_CDEV)
			r = handle_cdev_ioctl(w, cl->fn, cl, c, req);
		else
			r = handle_group_ioctl(w, cl->fn, cl, c, req);
	}
	g_mutex_unlock(&w->lock);
	return r;
}

static void client_release_locked(Devworld *w, DwClient *cl)
{
	DwFn *fn = cl->fn;
	GHashTableIter it;
	gpointer k, v;

	/* the sharing ends with the parent's release (the emulation keeps no
	 * open file alive for the child alone) */
	g_hash_table_iter_init(&it, w->clients);
	while (g_hash_table_iter_next(&it, &k, &v))
		if (((DwClient *)v)->inherited_from == cl)
			((DwClient *)v)->inherited_from = NULL;
	if (cl->inherited_from) {
		cl->fn = NULL;
		return;
	}

	if (fn) {
		if (cl->device_open)
			device_close_locked(fn, cl);
		if (fn->group_owner == cl)
			fn->group_owner = NULL;
		if (fn->device_owner == cl)
			fn->device_owner = NULL;
	}
	cl->fn = NULL;
}

/* umockdev 0.17 never emits "client-vanished", so the release of the file
 * (the process closed the node or exited) is seen as the hang-up of a
 * duplicate of the client's socket, watched in umockdev's worker thread. */
static gboolean on_client_hup(gint fd, GIOCondition cond, gpointer userdata)
{
	UMockdevIoctlClient *c = userdata;
	Devworld *w = g_object_get_data(G_OBJECT(c), "devworld");
	DwClient *cl;

	g_mutex_lock(&w->lock);
	cl = g_hash_table_lookup(w->clients, c);
	if (cl) {
		client_release_locked(w, cl);
		g_source_unref(cl->hup);
		g_hash_table_remove(w->clients, c);
		g_cond_broadcast(&w->cond);
	}
	g_mutex_unlock(&w->lock);
	if (cl)
		g_object_unref(c);
	return G_SOURCE_REMOVE;
}

static void close_fd_notify(gpointer p)
{
	close(GPOINTER_TO_INT(p));
}

static void on_connected(UMockdevIoctlBase *h, UMockdevIoctlClient *c, gpointer userdata)
{
	Devworld *w = userdata;
	int fd = client_socket_fd(c);
	DwClient *cl;

	if (fd >= 0)
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	g_mutex_lock(&w->lock);
	cl = client_lookup_locked(w, c);
	if (fd >= 0 && !cl->hup) {
		g_object_ref(c);
		g_object_set_data(G_OBJECT(c), "devworld", w);
		cl->hup = g_unix_fd_source_new(fd, G_IO_HUP | G_IO_ERR);
		g_source_set_callback(cl->hup, G_SOURCE_FUNC(on_client_hup), c, NULL);
		g_source_set_name(cl->hup, "devworld-client-hup");
		/* the fd is closed with the source */
		g_object_set_data_full(G_OBJECT(c), "devworld-fd", GINT_TO_POINTER(fd), close_fd_notify);
		g_source_attach(cl->hup, g_main_context_get_thread_default());
	} else if (fd >= 0)
		close(fd);
	g_mutex_unlock(&w->lock);
}
void dw_vfio_init(Devworld *w)
{
	w->handler = umockdev_ioctl_base_new();
	g_signal_connect(w->handler, "handle-ioctl", G_CALLBACK(on_ioctl), w);
	g_signal_connect(w->handler, "client-connected", G_CALLBACK(on_connected), w);
}

void dw_vfio_done(Devworld *w)
{
	GHashTableIter it;
	gpointer k, v;

	if (w->tb) {
		if (w->nodes) {
			g_hash_table_iter_init(&it, w->nodes);
			while (g_hash_table_iter_next(&it, &k, &v))
				(void)umockdev_testbed_detach_ioctl(w->tb, k, NULL);
		}
		if (w->misc_nodes) {
			(void)umockdev_testbed_detach_ioctl(w->tb, "/dev/vfio/vfio", NULL);
			(void)umockdev_testbed_detach_ioctl(w->tb, "/dev/iommu", NULL);
		}
	}
	if (w->clients) {
		g_mutex_lock(&w->lock);
		g_hash_table_iter_init(&it, w->clients);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			DwClient *cl = v;

			if (cl->hup) {
				g_source_destroy(cl->hup);
				g_source_unref(cl->hup);
				g_object_unref(k);
			}
		}
		g_hash_table_remove_all(w->clients);
		g_mutex_unlock(&w->lock);
	}
}

/* ------------------------------------------------------------------ */
/* Device nodes */
static int ensure_misc_nodes(Devworld *w)
{
	if (w->misc_nodes)
		return 0;
	if (!umockdev_testbed_add_from_string(w->tb,
					      "P: /devices/virtual/misc/vfio\n"
					      "N: vfio/vfio=00\n"
					      "E: DEVNAME=/dev/vfio/vfio\n"
					      "E: SUBSYSTEM=misc\n"
					      "A: dev=10:196\n"
					      "\n"
					      "P: /devices/virtual/misc/iommu\n"
					      "N: iommu=00\n"
					      "E: DEVNAME=/dev/iommu\n"
					      "E: SUBSYSTEM=misc\n"
					      "A: dev=10:123\n",
					      NULL))
		return -EIO;
	if (!umockdev_testbed_attach_ioctl(w->tb, "/dev/vfio/vfio", w->handler, NULL) ||
	    !umockdev_testbed_attach_ioctl(w->tb, "/dev/iommu", w->handler, NULL))
		return -EIO;
	w->misc_nodes = true;
	return 0;
}

int dw_vfio_nodes_create(Devworld *w, DwFn *fn)
{
	g_autofree char *grp = NULL;
	int r;

	r = ensure_misc_nodes(w);
	if (r < 0)
		return r;
	snprintf(fn->group_node, sizeof(fn->group_node), "/dev/vfio/%u", fn->group);
	fn->group_syspath = g_strdup_printf("/sys/devices/virtual/vfio/%u", fn->group);
	grp = g_strdup_printf("P: /devices/virtual/vfio/%u\n"
			      "N: vfio/%u=00\n"
			      "E: DEVNAME=/dev/vfio/%u\n"
			      "E: SUBSYSTEM=vfio\n"
			      "A: dev=243:%u\n",
			      fn->group, fn->group, fn->group, fn->group);
	if (!umockdev_testbed_add_from_string(w->tb, grp, NULL))
		return -EIO;
	if (!umockdev_testbed_attach_ioctl(w->tb, fn->group_node, w->handler, NULL))
		return -EIO;
	g_mutex_lock(&w->lock);
	g_hash_table_insert(w->nodes, g_strdup(fn->group_node), fn);
	g_mutex_unlock(&w->lock);

	if (!fn->cfg.no_cdev) {
		g_autofree char *cd = NULL;

		fn->cdev = (int)w->next_cdev++;
		snprintf(fn->cdev_node, sizeof(fn->cdev_node), "/dev/vfio/devices/vfio%d", fn->cdev);
		fn->cdev_syspath = g_strdup_printf("%s/vfio-dev/vfio%d", fn->syspath, fn->cdev);
		cd = g_strdup_printf("P: %s\n"
				     "N: vfio/devices/vfio%d=00\n"
				     "E: DEVNAME=/dev/vfio/devices/vfio%d\n"
				     "E: SUBSYSTEM=vfio-dev\n"
				     "A: dev=511:%d\n",
				     fn->cdev_syspath + strlen("/sys"), fn->cdev, fn->cdev, fn->cdev);
		if (!umockdev_testbed_add_from_string(w->tb, cd, NULL))
			return -EIO;
		if (!umockdev_testbed_attach_ioctl(w->tb, fn->cdev_node, w->handler, NULL))
			return -EIO;
		g_mutex_lock(&w->lock);
		g_hash_table_insert(w->nodes, g_strdup(fn->cdev_node), fn);
		g_mutex_unlock(&w->lock);
	}
	return 0;
}

void dw_vfio_nodes_remove(Devworld *w, DwFn *fn)
{
	GHashTableIter it;
	gpointer k, v;

	g_mutex_lock(&w->lock);
	/* the kernel waits for the user to release the device: close it */
	g_hash_table_iter_init(&it, w->clients);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		DwClient *cl = v;

		if (cl->fn == fn)
			client_release_locked(w, cl);
	}
	if (fn->group_node[0])
		g_hash_table_remove(w->nodes, fn->group_node);
	if (fn->cdev_node[0])
		g_hash_table_remove(w->nodes, fn->cdev_node);
	g_mutex_unlock(&w->lock);

	if (fn->cdev_node[0]) {
		(void)umockdev_testbed_detach_ioctl(w->tb, fn->cdev_node, NULL);
		umockdev_testbed_uevent(w->tb, fn->cdev_syspath, "remove");
		umockdev_testbed_remove_device(w->tb, fn->cdev_syspath);
		g_autofree char *vd = g_build_filename(w->root, fn->syspath, "vfio-dev", NULL);
		(void)rmdir(vd);
	}
	if (fn->group_node[0]) {
		(void)umockdev_testbed_detach_ioctl(w->tb, fn->group_node, NULL);
		umockdev_testbed_uevent(w->tb, fn->group_syspath, "remove");
		umockdev_testbed_remove_device(w->tb, fn->group_syspath);
	}
	fn->group_node[0] = fn->cdev_node[0] = 0;
	g_clear_pointer(&fn->group_syspath, g_free);
	g_clear_pointer(&fn->cdev_syspath, g_free);
	fn->cdev = -1;
}

/* ------------------------------------------------------------------ */
/* Inspection */

int devworld_get_stats(Devworld *w, uint32_t fid, DevworldStats *ret)
{
	DwFn *fn = dw_fn_get(w, fid);

	if (!fn)
		return -ENOENT;
	g_mutex_lock(&w->lock);
	*ret = fn->stats;
	g_mutex_unlock(&w->lock);
	return 0;
}

char *devworld_oplog(Devworld *w, uint32_t fid)
{
	DwFn *fn = dw_fn_get(w, fid);
	char *s;

	if (!fn)
		return g_strdup("");
	g_mutex_lock(&w->lock);
	s = g_strdup(fn->oplog->str);
	g_mutex_unlock(&w->lock);
	return s;
}

static bool pred_registered(DwFn *fn, const void *arg)
{
	return (fn->err_efd >= 0) == *(const bool *)arg;
}

static bool pred_drained(DwFn *fn, const void *arg)
{
	return fn->count == 0;
}

int devworld_wait_err_registered(Devworld *w, uint32_t fid, bool registered, unsigned timeout_ms)
{
	DwFn *fn = dw_fn_get(w, fid);

	if (!fn)
		return -ENOENT;
	return dw_wait_cond(w, fn, pred_registered, &registered, timeout_ms);
}

int devworld_wait_drained(Devworld *w, uint32_t fid, unsigned timeout_ms)
{
	DwFn *fn = dw_fn_get(w, fid);

	if (!fn)
		return -ENOENT;
	return dw_wait_cond(w, fn, pred_drained, NULL, timeout_ms);
}
