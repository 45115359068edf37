/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devworld: the fake device world (see devworld.h). Sysfs, uevents and device
 * nodes come from umockdev; the kernel's VFIO side is played by ioctl
 * handlers that run in umockdev's worker thread; kmsg is a FIFO in the
 * testbed's /dev.
 *
 * This file does not decide anything about zpcid: it only behaves like the
 * kernel and records what its clients did.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glib-unix.h>
#include <linux/vfio.h>
#include <linux/vfio_zdev.h>
#include <umockdev.h>

#include "common/ccdf.h"
#include "tests/devworld.h"

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

#define DW_QUEUE_DEPTH        4
#define DW_BASE_V3_LEN_OFFSET 36
#define DW_BASE_V3_SIZE       40
#define DW_GROUP_CAP_SIZE     48
#define DEVWORLD_MACHINE_LOCK "/tmp/zpcid-devworld.lock"
#define DW_FEATURE_HDR        8 /* argsz + flags of struct vfio_device_feature */

typedef enum NodeKind {
	NODE_GROUP,
	NODE_CDEV,
	NODE_CONTAINER,
	NODE_IOMMUFD,
} NodeKind;

typedef struct DwFn DwFn;

typedef struct DwClient {
	UMockdevIoctlClient *client; /* not a reference: key of the clients table */
	pid_t pid;
	NodeKind kind;
	DwFn *fn;
	char devnode[64];
	bool group_claimed; /* this client opened the group (the kernel's open) */
	bool container_set; /* VFIO_GROUP_SET_CONTAINER done */
	bool device_open;   /* the device is open through this client */
	bool iommufd_bound; /* cdev: VFIO_DEVICE_BIND_IOMMUFD done */
	bool attached;      /* cdev: attached to an IOAS */
	bool iommu_set;     /* container: VFIO_SET_IOMMU done */
	GSource *hup;       /* watches the client's socket for the close */
	unsigned n_groups;  /* container: groups attached */
	unsigned next_ioas; /* iommufd: next object id */
	/* the open file this one shares (see client_lookup_locked) */
	struct DwClient *inherited_from;
} DwClient;

struct DwFn {
	Devworld *world;
	DevworldFunction cfg;
	char *driver; /* NULL when unbound */
	char slot[16];
	char *syspath; /* /sys/devices/pci<dom>:00/<slot> */
	char *slot_dir;
	uint32_t domain;
	uint32_t fh;
	unsigned group;
	int cdev; /* -1 when no cdev */
	char group_node[64], cdev_node[64];
	char *group_syspath, *cdev_syspath;

	DwClient *group_owner;  /* client that opened the group */
	DwClient *device_owner; /* client through which the device is open */
	uint8_t queue[DW_QUEUE_DEPTH][ZPCI_CCDF_ERR_SIZE];
	unsigned head, count;
	int err_efd, req_efd; /* duplicates in this process, -1 when none */
	DevworldStats stats;
	GString *oplog;

	pid_t holder_pid;
	int holder_pipe; /* write end; closing it ends the holder */
};

struct Devworld {
	UMockdevTestbed *tb;
	UMockdevIoctlBase *handler;
	char *root;
	GMutex lock;
	GCond cond;
	GHashTable *fns;     /* fid -> DwFn */
	GHashTable *clients; /* UMockdevIoctlClient* -> DwClient */
	GHashTable *nodes;   /* devnode -> DwFn (group and cdev nodes) */
	unsigned next_group, next_cdev;
	uint32_t next_domain;
	bool misc_nodes;

	int kmsg_fd;
	int machine_lock_fd; /* held while this world exists: one world per machine at a time */
	uint64_t kmsg_seq;
	bool kmsg_on_error;

	pid_t daemon_pid;
	int daemon_out;
	GThread *reader;
	GString *log;
	bool daemon_exited;
	int tee_fd;
	char *daemon_dir;
	char *state_dir;
};

/* ------------------------------------------------------------------ */
/* Kinds */

typedef struct KindInfo {
	const char *name;
	uint8_t pft;
	uint16_t vendor, device;
	uint32_t class_code;
	const char *driver;
} KindInfo;

static const KindInfo kinds[_DEVWORLD_KIND_MAX] = {
	[DEVWORLD_KIND_NONE] = { "none", 0x00, 0, 0, 0, NULL },
	[DEVWORLD_KIND_NVME] = { "nvme", 0x0b, 0x144d, 0xa824, 0x010802, "nvme" },
	[DEVWORLD_KIND_ROCE] = { "roce", 0x02, 0x15b3, 0x1004, 0x020000, "mlx4_core" },
	[DEVWORLD_KIND_ROCE2] = { "roce2", 0x0a, 0x15b3, 0x1016, 0x020000, "mlx5_core" },
	[DEVWORLD_KIND_ROCE3] = { "roce3", 0x0a, 0x15b3, 0x101e, 0x020000, "mlx5_core" },
	[DEVWORLD_KIND_ISM] = { "ism", 0x05, 0x1014, 0x04ed, 0x028000, "ism" },
	[DEVWORLD_KIND_NETH] = { "neth", 0x0c, 0x15b3, 0x101e, 0x020000, "mlx5_core" },
	[DEVWORLD_KIND_NETD] = { "netd", 0x0f, 0x15b3, 0x101e, 0x020000, "mlx5_core" },
	[DEVWORLD_KIND_CNW] = { "cnw", 0x0d, 0x1014, 0x0000, 0x120000, NULL },
};

const char *devworld_kind_to_string(DevworldKind k)
{
	if (k < 0 || k >= _DEVWORLD_KIND_MAX)
		return "invalid";
	return kinds[k].name;
}

DevworldKind devworld_kind_from_string(const char *s)
{
	for (int k = 0; k < _DEVWORLD_KIND_MAX; k++)
		if (s && strcmp(kinds[k].name, s) == 0)
			return k;
	return _DEVWORLD_KIND_INVALID;
}

/* ------------------------------------------------------------------ */
/* Small helpers */

static uint64_t now_usec(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static void fn_log(DwFn *fn, const char *format, ...) G_GNUC_PRINTF(2, 3);
static void fn_log(DwFn *fn, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	g_string_append_vprintf(fn->oplog, format, ap);
	va_end(ap);
	g_string_append_c(fn->oplog, '\n');
}

static DwFn *fn_get(Devworld *w, uint32_t fid)
{
	return g_hash_table_lookup(w->fns, GUINT_TO_POINTER(fid));
}

static int write_file(const char *path, const char *text)
{
	GError *e = NULL;

	if (!g_file_set_contents(path, text, -1, &e)) {
		int r = e->code == G_FILE_ERROR_NOENT ? -ENOENT : -EIO;
		g_error_free(e);
		return r;
	}
	return 0;
}

/* Path inside the testbed of an absolute /sys or /dev path. */
static char *tb_path(Devworld *w, const char *path)
{
	return g_build_filename(w->root, path, NULL);
}

static void signal_efd(int efd)
{
	uint64_t one = 1;

	if (efd >= 0)
		(void)!write(efd, &one, sizeof(one));
}

/* ------------------------------------------------------------------ */
/* kmsg */

static int kmsg_write_locked(Devworld *w, int level, const char *text)
{
	g_autofree char *line = NULL;
	size_t len;
	ssize_t n;

	if (w->kmsg_fd < 0)
		return -EBADF;
	/* facility kern (0), so PRIO is the level; one record per line */
	line = g_strdup_printf("%d,%" PRIu64 ",%" PRIu64 ",-;%s\n", level & 7, w->kmsg_seq++,
			       now_usec(CLOCK_MONOTONIC), text);
	len = strlen(line);
	n = write(w->kmsg_fd, line, len);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EAGAIN;
}

static int kmsg_vprintf(Devworld *w, int level, const char *format, va_list ap)
{
	g_autofree char *text = g_strdup_vprintf(format, ap);
	int r;

	g_mutex_lock(&w->lock);
	r = kmsg_write_locked(w, level, text);
	g_mutex_unlock(&w->lock);
	return r;
}

int devworld_kmsg(Devworld *w, const char *format, ...)
{
	va_list ap;
	int r;

	va_start(ap, format);
	r = kmsg_vprintf(w, 3, format, ap);
	va_end(ap);
	return r;
}

int devworld_kmsg_level(Devworld *w, int level, const char *format, ...)
{
	va_list ap;
	int r;

	va_start(ap, format);
	r = kmsg_vprintf(w, level, format, ap);
	va_end(ap);
	return r;
}

void devworld_set_kmsg_on_error(Devworld *w, bool enable)
{
	w->kmsg_on_error = enable;
}

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
	fn_log(fn, "OPEN pid=%d via %s", (int)cl->pid, cl->kind == NODE_CDEV ? "cdev" : "group");
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
		(void)kmsg_write_locked(w, 6, t);
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
	fn_log(fn, "CLOSE pid=%d", (int)cl->pid);
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
		fn_log(fn, "DEVICE_GET_INFO argsz=%u -> short, need %zu", argsz, hdr + caps);
	} else {
		info.argsz = argsz;
		info.cap_offset = hdr;
		fill_base_cap(fn, d->data + hdr, version, hdr + DW_BASE_V3_SIZE);
		fill_group_cap(fn, d->data + hdr + DW_BASE_V3_SIZE, 0);
		fn_log(fn, "DEVICE_GET_INFO -> 0 zpci_base v%u", version);
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
	fn_log(fn, "DEVICE_GET_IRQ_INFO index=%u -> 0 count=%u", info.index, info.count);
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
		fn_log(fn, "DEVICE_SET_IRQS index=%u -> ENOTTY", s.index);
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
			signal_efd(*slot);
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
			fn_log(fn, "DEVICE_SET_IRQS index=%u fd=%d -> EBADF", s.index, efd);
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
	fn_log(fn, "DEVICE_SET_IRQS index=%u %s -> 0", s.index, *slot >= 0 ? "registered" : "unregistered");
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
		fn_log(fn, "DEVICE_FEATURE index=%u -> ENOTTY", index);
		return complete(c, -1, ENOTTY);
	}
	/* vfio_check_feature(): GET only */
	if (f.flags & VFIO_DEVICE_FEATURE_SET)
		return complete(c, -1, EINVAL);
	if (f.flags & VFIO_DEVICE_FEATURE_PROBE) {
		fn->stats.feature_probes++;
		fn_log(fn, "DEVICE_FEATURE ZPCI_ERROR PROBE -> 0 (%s)", feature_form(fn->cfg.feature));
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
			fn_log(fn, "DEVICE_FEATURE ZPCI_ERROR GET data=0 -> EINVAL");
			return complete(c, -1, EINVAL);
		}
	}

	fn->stats.feature_gets++;
	if (fn->count == 0) {
		fn->stats.enomsg++;
		fn_log(fn, "DEVICE_FEATURE ZPCI_ERROR GET -> ENOMSG");
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
			fn_log(fn, "DEVICE_FEATURE ZPCI_ERROR GET -> EFAULT (record lost)");
			g_cond_broadcast(&fn->world->cond);
			return complete(c, -1, EFAULT);
		}
		memcpy(buf->data, q, ZPCI_CCDF_ERR_SIZE);
		fn_log(fn, "DEVICE_FEATURE ZPCI_ERROR GET -> 0 pec=0x%x", (unsigned)(q[30] << 8 | q[31]));
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
		fn_log(fn, "DEVICE_RESET -> 0");
		g_cond_broadcast(&fn->world->cond);
		return complete(c, 0, 0);
	default:
		fn_log(fn, "ioctl 0x%lx -> ENOTTY", req);
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
			fn_log(fn, "GROUP open pid=%d -> EBUSY (held by %d)", (int)cl->pid,
			       (int)fn->group_owner->pid);
			g_cond_broadcast(&w->cond);
			return complete(c, -1, EBUSY);
		}
		if (fn->device_owner && fn->device_owner != cl) {
			/* opened through the cdev: the group is blocked */
			fn->stats.ebusy++;
			fn_log(fn, "GROUP open pid=%d -> EBUSY (cdev open)", (int)cl->pid);
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
		fn_log(fn, "GROUP_GET_STATUS -> 0 flags=0x%x", st.flags);
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
		fn_log(fn, "GROUP_SET_CONTAINER fd=%d -> 0", cfd);
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
			fn_log(fn, "GROUP_GET_DEVICE_FD '%.*s' -> ENODEV", (int)strlen(fn->slot), d->data);
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
		fn_log(fn, "GROUP_GET_DEVICE_FD -> %d", fd);
		g_cond_broadcast(&w->cond);
		return complete(c, fd, 0);
	}
	default:
		if (cl->device_open)
			return handle_device_ioctl(fn, cl, c, req);
		fn_log(fn, "group ioctl 0x%lx -> ENOTTY", req);
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
			fn_log(fn, "DEVICE_BIND_IOMMUFD pid=%d -> EBUSY (group open by %d)", (int)cl->pid,
			       (int)fn->group_owner->pid);
			g_cond_broadcast(&w->cond);
			return complete(c, -1, EBUSY);
		}
		if (fn->device_owner) {
			/* a cdev binds once */
			fn->stats.ebusy++;
			fn_log(fn, "DEVICE_BIND_IOMMUFD pid=%d -> EINVAL (bound by %d)", (int)cl->pid,
			       (int)fn->device_owner->pid);
			g_cond_broadcast(&w->cond);
			return complete(c, -1, EINVAL);
		}
		b.out_devid = 1;
		memcpy(d->data, &b, sizeof(b));
		cl->iommufd_bound = true;
		device_open_locked(fn, cl);
		fn_log(fn, "DEVICE_BIND_IOMMUFD iommufd=%d -> 0", b.iommufd);
		g_cond_broadcast(&w->cond);
		return complete(c, 0, 0);
	}
	if (!cl->iommufd_bound) {
		fn_log(fn, "cdev ioctl 0x%lx before bind -> EINVAL", req);
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
		fn_log(fn, "DEVICE_ATTACH_IOMMUFD_PT pt=%u -> 0", a.pt_id);
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
			fn_log(cl->fn, "open inherited by pid=%d from pid=%d", (int)cl->pid, (int)o->pid);
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

/* ------------------------------------------------------------------ */
/* World */

static void fn_free(gpointer p)
{
	DwFn *fn = p;

	if (fn->err_efd >= 0)
		close(fn->err_efd);
	if (fn->req_efd >= 0)
		close(fn->req_efd);
	if (fn->holder_pipe >= 0)
		close(fn->holder_pipe);
	g_free(fn->driver);
	g_free(fn->syspath);
	g_free(fn->slot_dir);
	g_free(fn->group_syspath);
	g_free(fn->cdev_syspath);
	g_string_free(fn->oplog, TRUE);
	g_free(fn);
}

int devworld_new(Devworld **ret)
{
	Devworld *w;
	g_autofree char *kmsg = NULL, *devdir = NULL;

	w = g_new0(Devworld, 1);
	g_mutex_init(&w->lock);
	g_cond_init(&w->cond);
	w->kmsg_fd = w->daemon_out = w->tee_fd = -1;
	/* One world at a time on this machine: a daemon looks for the holders
	 * of its functions' vfio nodes in all of /proc, where the processes of
	 * another world (another test, run in parallel by make -j) hold nodes
	 * of their own test bed. Worlds wait for each other instead. */
	w->machine_lock_fd = open(DEVWORLD_MACHINE_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (w->machine_lock_fd >= 0)
		while (flock(w->machine_lock_fd, LOCK_EX) < 0 && errno == EINTR)
			;
	w->kmsg_on_error = true;
	/* Group and cdev numbers of their own per world: a daemon's holder scan
	 * matches "/dev/vfio/N" at the end of any path, also one in the test bed
	 * of another world (another test, or a benchmark, running at the same
	 * time). */
	w->next_group = 40 + ((unsigned)getpid() % 4096) * 64;
	w->next_cdev = ((unsigned)getpid() % 4096) * 64;
	w->fns = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, fn_free);
	w->clients = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	w->nodes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	w->log = g_string_new(NULL);

	w->tb = umockdev_testbed_new();
	if (!w->tb) {
		devworld_free(w);
		return -ENOMEM;
	}
	w->root = umockdev_testbed_get_root_dir(w->tb);
	w->handler = umockdev_ioctl_base_new();
	g_signal_connect(w->handler, "handle-ioctl", G_CALLBACK(on_ioctl), w);
	g_signal_connect(w->handler, "client-connected", G_CALLBACK(on_connected), w);

	/* /dev/kmsg: a FIFO; holding it open read-write here means a reader
	 * never sees EOF and writes never wait for a reader */
	devdir = g_build_filename(w->root, "dev", NULL);
	(void)g_mkdir_with_parents(devdir, 0755);
	kmsg = g_build_filename(devdir, "kmsg", NULL);
	if (mkfifo(kmsg, 0600) < 0) {
		int r = -errno;
		devworld_free(w);
		return r;
	}
	w->kmsg_fd = open(kmsg, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (w->kmsg_fd < 0) {
		int r = -errno;
		devworld_free(w);
		return r;
	}
	(void)fcntl(w->kmsg_fd, F_SETPIPE_SZ, 1024 * 1024);
	*ret = w;
	return 0;
}

const char *devworld_root(const Devworld *w)
{
	return w->root;
}

static void stop_holder(DwFn *fn)
{
	if (fn->holder_pid <= 0)
		return;
	if (fn->holder_pipe >= 0)
		close(fn->holder_pipe);
	fn->holder_pipe = -1;
	(void)kill(fn->holder_pid, SIGTERM);
	(void)waitpid(fn->holder_pid, NULL, 0);
	fn->holder_pid = 0;
}

Devworld *devworld_free(Devworld *w)
{
	GHashTableIter it;
	gpointer k, v;

	if (!w)
		return NULL;
	if (w->daemon_pid > 0)
		(void)devworld_stop_daemon(w, 5000);
	if (w->fns) {
		g_hash_table_iter_init(&it, w->fns);
		while (g_hash_table_iter_next(&it, &k, &v))
			stop_holder(v);
	}
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
	if (w->kmsg_fd >= 0)
		close(w->kmsg_fd);
	if (w->tee_fd >= 0)
		close(w->tee_fd);
	g_clear_object(&w->handler);
	g_clear_object(&w->tb);
	if (w->fns)
		g_hash_table_destroy(w->fns);
	if (w->clients)
		g_hash_table_destroy(w->clients);
	if (w->nodes)
		g_hash_table_destroy(w->nodes);
	if (w->log)
		g_string_free(w->log, TRUE);
	g_free(w->root);
	g_free(w->daemon_dir);
	g_free(w->state_dir);
	g_mutex_clear(&w->lock);
	g_cond_clear(&w->cond);
	if (w->machine_lock_fd >= 0) {
		/* also for a forked holder that still shares the descriptor */
		(void)flock(w->machine_lock_fd, LOCK_UN);
		close(w->machine_lock_fd);
	}
	g_free(w);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Functions: sysfs */

static void apply_defaults(DevworldFunction *f)
{
	const KindInfo *k = f->kind > 0 && f->kind < _DEVWORLD_KIND_MAX ? &kinds[f->kind] : &kinds[0];

	if (!f->pft)
		f->pft = k->pft;
	if (!f->vendor)
		f->vendor = k->vendor;
	if (!f->device)
		f->device = k->device;
	if (!f->class_code)
		f->class_code = k->class_code;
	if (!f->subsystem_vendor)
		f->subsystem_vendor = f->vendor;
	if (!f->subsystem_device)
		f->subsystem_device = f->device;
	if (!f->driver)
		f->driver = k->driver;
	if (f->kind == DEVWORLD_KIND_ISM && !f->pfgid)
		f->pfgid = 0x02;
}

/* The device's sysfs attributes in umockdev's record format ("A:" lines;
 * values end in a newline like the kernel's) and its config space ("H:"). */
static void fn_record_attrs(DwFn *fn, GString *rec)
{
	const DevworldFunction *f = &fn->cfg;
	uint8_t cfg[64] = {};

	g_string_append_printf(rec,
			       "A: function_id=0x%08x\\n\n"
			       "A: function_handle=0x%08x\\n\n"
			       "A: pchid=0x%04x\\n\n"
			       "A: vfn=0x%04x\\n\n"
			       "A: pfgid=0x%02x\\n\n"
			       "A: pft=0x%02x\\n\n"
			       "A: fidparm=0x%02x\\n\n"
			       "A: port=%u\\n\n"
			       "A: uid=0x%x\\n\n"
			       "A: uid_is_unique=%d\\n\n"
			       "A: mio_enabled=%d\\n\n"
			       "A: vendor=0x%04x\\n\n"
			       "A: device=0x%04x\\n\n"
			       "A: subsystem_vendor=0x%04x\\n\n"
			       "A: subsystem_device=0x%04x\\n\n"
			       "A: class=0x%06x\\n\n"
			       "A: revision=0x00\\n\n"
			       "A: numa_node=-1\\n\n"
			       "A: enable=1\\n\n"
			       "A: recover=\n"
			       "A: report_error=\n"
			       "A: driver_override=\n",
			       f->fid, fn->fh, f->pchid, f->vfn, f->pfgid, f->pft, f->fidparm, f->port,
			       f->uid, f->uid_is_unique ? 1 : 0, f->mio_enabled ? 1 : 0, f->vendor,
			       f->device, f->subsystem_vendor, f->subsystem_device, f->class_code);
	cfg[0] = f->vendor & 0xff;
	cfg[1] = f->vendor >> 8;
	cfg[2] = f->device & 0xff;
	cfg[3] = f->device >> 8;
	cfg[9] = f->class_code & 0xff;
	cfg[10] = (f->class_code >> 8) & 0xff;
	cfg[11] = (f->class_code >> 16) & 0xff;
	cfg[0x2c] = f->subsystem_vendor & 0xff;
	cfg[0x2d] = f->subsystem_vendor >> 8;
	cfg[0x2e] = f->subsystem_device & 0xff;
	cfg[0x2f] = f->subsystem_device >> 8;
	g_string_append(rec, "H: config=");
	for (size_t i = 0; i < sizeof(cfg); i++)
		g_string_append_printf(rec, "%02X", cfg[i]);
	g_string_append_c(rec, '\n');
}

static void fn_apply_raw_attrs(Devworld *w, DwFn *fn, const char *const *raw)
{
	for (const char *const *a = raw; a && a[0]; a += 2) {
		g_autofree char *p = g_build_filename(w->root, fn->syspath, a[0], NULL);

		if (a[1])
			(void)write_file(p, a[1]);
		else
			(void)unlink(p);
	}
}

static int fn_write_slot(Devworld *w, DwFn *fn)
{
	g_autofree char *dir = NULL, *addr = NULL, *power = NULL, *text = NULL;

	fn->slot_dir = g_strdup_printf("/sys/bus/pci/slots/%08x", fn->cfg.fid);
	dir = tb_path(w, fn->slot_dir);
	if (g_mkdir_with_parents(dir, 0755) < 0)
		return -errno;
	addr = g_build_filename(dir, "address", NULL);
	text = g_strdup_printf("%04x:00:00\n", fn->domain);
	power = g_build_filename(dir, "power", NULL);
	if (write_file(addr, text) < 0 || write_file(power, "1\n") < 0)
		return -EIO;
	return 0;
}

/* Rewrite the udev properties of the device (the "uevent" file). */
static int fn_write_uevent(Devworld *w, DwFn *fn, const char *extra)
{
	g_autofree char *p = g_build_filename(w->root, fn->syspath, "uevent", NULL);
	g_autofree char *text = NULL;
	const DevworldFunction *f = &fn->cfg;

	text = g_strdup_printf("%s%s%s"
			       "PCI_CLASS=%X\n"
			       "PCI_ID=%04X:%04X\n"
			       "PCI_SUBSYS_ID=%04X:%04X\n"
			       "PCI_SLOT_NAME=%s\n"
			       "MODALIAS=pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n"
			       "%s",
			       fn->driver ? "DRIVER=" : "", fn->driver ?: "", fn->driver ? "\n" : "",
			       f->class_code, f->vendor, f->device, f->subsystem_vendor, f->subsystem_device,
			       fn->slot, f->vendor, f->device, f->subsystem_vendor, f->subsystem_device,
			       (f->class_code >> 16) & 0xff, (f->class_code >> 8) & 0xff,
			       f->class_code & 0xff, extra ?: "");
	return write_file(p, text);
}

static const char *const driver_files[] = { "bind", "unbind", "new_id", "remove_id" };

static void fn_set_driver_link(Devworld *w, DwFn *fn)
{
	g_autofree char *link = g_build_filename(w->root, fn->syspath, "driver", NULL);
	g_autofree char *drvdir = NULL, *back = NULL, *target = NULL;

	(void)unlink(link);
	if (!fn->driver)
		return;
	drvdir = g_strdup_printf("%s/sys/bus/pci/drivers/%s", w->root, fn->driver);
	(void)g_mkdir_with_parents(drvdir, 0755);
	/* the driver's write-only control files (devworld_complete_unbinds() reads "unbind") */
	for (size_t i = 0; i < G_N_ELEMENTS(driver_files); i++) {
		g_autofree char *p = g_build_filename(drvdir, driver_files[i], NULL);

		if (access(p, F_OK) < 0)
			(void)write_file(p, "");
	}
	target = g_strdup_printf("../../../bus/pci/drivers/%s", fn->driver);
	(void)symlink(target, link);
	back = g_build_filename(drvdir, fn->slot, NULL);
	(void)unlink(back);
	target = (g_free(target),
		  g_strdup_printf("../../../../devices/pci%04x:00/%s", fn->domain, fn->slot));
	(void)symlink(target, back);
}

int devworld_add_function(Devworld *w, const DevworldFunction *desc)
{
	g_autofree char *grpdir = NULL, *devlink = NULL, *target = NULL, *driver = NULL;
	g_autoptr(GString) rec = g_string_new(NULL);
	DevworldFunction f = *desc;
	DwFn *fn;
	int r;

	if (f.kind < 0 || f.kind >= _DEVWORLD_KIND_MAX || f.feature < 0 ||
	    f.feature >= _DEVWORLD_FEATURE_MAX || f.zpci_base_version > 3)
		return -EINVAL;
	if (fn_get(w, f.fid))
		return -EEXIST;
	apply_defaults(&f);
	driver = f.driver && *f.driver ? g_strdup(f.driver) : NULL;
	f.driver = NULL;
	f.raw_attrs = NULL;

	fn = g_new0(DwFn, 1);
	fn->world = w;
	fn->cfg = f;
	fn->err_efd = fn->req_efd = fn->holder_pipe = -1;
	fn->cdev = -1;
	fn->oplog = g_string_new(NULL);
	fn->fh = f.fh ?: 0x80000000u | (f.fid & 0xffffff);
	if (f.domain_set || f.domain)
		fn->domain = f.domain;
	else if (f.uid_is_unique)
		fn->domain = f.uid;
	else {
		for (;;) {
			GHashTableIter it;
			gpointer k, v;
			bool used = false;

			g_hash_table_iter_init(&it, w->fns);
			while (g_hash_table_iter_next(&it, &k, &v))
				if (((DwFn *)v)->domain == w->next_domain)
					used = true;
			if (!used)
				break;
			w->next_domain++;
		}
		fn->domain = w->next_domain++;
	}
	fn->group = f.iommu_group ?: w->next_group++;
	snprintf(fn->slot, sizeof(fn->slot), "%04x:00:00.0", fn->domain);
	fn->syspath = g_strdup_printf("/sys/devices/pci%04x:00/%s", fn->domain, fn->slot);

	/* the slot and the iommu group exist before the device is announced */
	r = fn_write_slot(w, fn);
	if (r < 0) {
		fn_free(fn);
		return r;
	}
	grpdir = g_strdup_printf("%s/sys/kernel/iommu_groups/%u/devices", w->root, fn->group);
	(void)g_mkdir_with_parents(grpdir, 0755);
	devlink = g_build_filename(grpdir, fn->slot, NULL);
	target = g_strdup_printf("../../../../devices/pci%04x:00/%s", fn->domain, fn->slot);
	(void)symlink(target, devlink);

	/* one record: every attribute and link is in place when "add" goes out */
	g_string_append_printf(rec,
			       "P: %s\n"
			       "E: SUBSYSTEM=pci\n"
			       "E: PCI_CLASS=%X\n"
			       "E: PCI_ID=%04X:%04X\n"
			       "E: PCI_SUBSYS_ID=%04X:%04X\n"
			       "E: PCI_SLOT_NAME=%s\n"
			       "L: iommu_group=../../../kernel/iommu_groups/%u\n",
			       fn->syspath + strlen("/sys"), f.class_code, f.vendor, f.device,
			       f.subsystem_vendor, f.subsystem_device, fn->slot, fn->group);
	fn_record_attrs(fn, rec);
	if (!umockdev_testbed_add_from_string(w->tb, rec->str, NULL)) {
		fn_free(fn);
		return -EIO;
	}
	fn_apply_raw_attrs(w, fn, desc->raw_attrs);
	(void)fn_write_uevent(w, fn, NULL);

	g_mutex_lock(&w->lock);
	g_hash_table_insert(w->fns, GUINT_TO_POINTER(f.fid), fn);
	g_mutex_unlock(&w->lock);

	if (driver)
		return devworld_bind(w, f.fid, driver);
	return 0;
}

const char *devworld_syspath(Devworld *w, uint32_t fid)
{
	DwFn *fn = fn_get(w, fid);
	return fn ? fn->syspath : NULL;
}

const char *devworld_slot(Devworld *w, uint32_t fid)
{
	DwFn *fn = fn_get(w, fid);
	return fn ? fn->slot : NULL;
}

int devworld_group(Devworld *w, uint32_t fid)
{
	DwFn *fn = fn_get(w, fid);
	return fn ? (int)fn->group : -ENOENT;
}

int devworld_cdev(Devworld *w, uint32_t fid)
{
	DwFn *fn = fn_get(w, fid);
	return fn ? fn->cdev : -ENOENT;
}

int devworld_set_attr(Devworld *w, uint32_t fid, const char *name, const char *value)
{
	DwFn *fn = fn_get(w, fid);
	g_autofree char *p = NULL;

	if (!fn)
		return -ENOENT;
	p = g_build_filename(w->root, fn->syspath, name, NULL);
	if (!value)
		return unlink(p) < 0 ? -errno : 0;
	return write_file(p, value);
}

/* ------------------------------------------------------------------ */
/* Binding */

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

static int vfio_nodes_create(Devworld *w, DwFn *fn)
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

static void vfio_nodes_remove(Devworld *w, DwFn *fn)
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

int devworld_bind(Devworld *w, uint32_t fid, const char *driver)
{
	DwFn *fn = fn_get(w, fid);
	int r;

	if (!fn)
		return -ENOENT;
	if (!driver || !*driver)
		return -EINVAL;
	if (fn->driver)
		return -EBUSY;
	fn->driver = g_strdup(driver);
	if (strcmp(driver, "vfio-pci") == 0) {
		r = vfio_nodes_create(w, fn);
		if (r < 0)
			return r;
	}
	fn_set_driver_link(w, fn);
	r = fn_write_uevent(w, fn, NULL);
	if (r < 0)
		return r;
	g_mutex_lock(&w->lock);
	fn_log(fn, "BIND %s", driver);
	g_mutex_unlock(&w->lock);
	umockdev_testbed_uevent(w->tb, fn->syspath, "bind");
	return 0;
}

int devworld_unbind(Devworld *w, uint32_t fid)
{
	DwFn *fn = fn_get(w, fid);
	g_autofree char *old = NULL;
	int r;

	if (!fn)
		return -ENOENT;
	if (!fn->driver)
		return -ENODEV;
	if (fn->group_node[0])
		vfio_nodes_remove(w, fn);
	old = g_steal_pointer(&fn->driver);
	{
		g_autofree char *back = g_strdup_printf("%s/sys/bus/pci/drivers/%s/%s", w->root, old,
							fn->slot);
		(void)unlink(back);
	}
	fn_set_driver_link(w, fn);
	r = fn_write_uevent(w, fn, NULL);
	if (r < 0)
		return r;
	g_mutex_lock(&w->lock);
	fn_log(fn, "UNBIND %s", old);
	g_mutex_unlock(&w->lock);
	umockdev_testbed_uevent(w->tb, fn->syspath, "unbind");
	return 0;
}

int devworld_remove(Devworld *w, uint32_t fid)
{
	DwFn *fn = fn_get(w, fid);
	g_autofree char *slotdir = NULL, *grpdir = NULL, *parent = NULL;

	if (!fn)
		return -ENOENT;
	stop_holder(fn);
	if (fn->driver)
		(void)devworld_unbind(w, fid);
	/* umockdev 0.17 does not send "remove" itself */
	umockdev_testbed_uevent(w->tb, fn->syspath, "remove");
	umockdev_testbed_remove_device(w->tb, fn->syspath);
	parent = g_strdup_printf("%s/sys/devices/pci%04x:00", w->root, fn->domain);
	(void)rmdir(parent);
	slotdir = tb_path(w, fn->slot_dir);
	{
		g_autofree char *a = g_build_filename(slotdir, "address", NULL);
		g_autofree char *p = g_build_filename(slotdir, "power", NULL);
		(void)unlink(a);
		(void)unlink(p);
		(void)rmdir(slotdir);
	}
	grpdir = g_strdup_printf("%s/sys/kernel/iommu_groups/%u", w->root, fn->group);
	{
		g_autofree char *l = g_strdup_printf("%s/devices/%s", grpdir, fn->slot);
		g_autofree char *d = g_build_filename(grpdir, "devices", NULL);
		(void)unlink(l);
		(void)rmdir(d);
		(void)rmdir(grpdir);
	}
	g_mutex_lock(&w->lock);
	g_hash_table_remove(w->fns, GUINT_TO_POINTER(fid));
	g_mutex_unlock(&w->lock);
	return 0;
}

int devworld_recovery_uevent(Devworld *w, uint32_t fid, const char *event, bool online)
{
	DwFn *fn = fn_get(w, fid);
	g_autofree char *extra = NULL;
	int r;

	if (!fn)
		return -ENOENT;
	/* the properties exist only in this event, not in the device's record */
	extra = g_strdup_printf("ERROR_EVENT=%s\nDEVICE_ONLINE=%d\n", event, online ? 1 : 0);
	r = fn_write_uevent(w, fn, extra);
	if (r < 0)
		return r;
	umockdev_testbed_uevent(w->tb, fn->syspath, "change");
	g_mutex_lock(&w->lock);
	fn_log(fn, "UEVENT change ERROR_EVENT=%s DEVICE_ONLINE=%d", event, online ? 1 : 0);
	g_mutex_unlock(&w->lock);
	return fn_write_uevent(w, fn, NULL);
}

/* ------------------------------------------------------------------ */
/* Errors */

static int queue_locked(Devworld *w, DwFn *fn, const uint8_t ccdf[ZPCI_CCDF_ERR_SIZE], bool signal)
{
	uint16_t pec = (uint16_t)(ccdf[30] << 8 | ccdf[31]);
	uint32_t fid = (uint32_t)ccdf[8] << 24 | (uint32_t)ccdf[9] << 16 | (uint32_t)ccdf[10] << 8 |
		       ccdf[11];

	if (w->kmsg_on_error) {
		g_autofree char *t = g_strdup_printf(
			"zpci: %s: Event 0x%x reports an error for PCI function 0x%x", fn->slot, pec, fid);
		(void)kmsg_write_locked(w, 3, t);
	}
	if (!fn->device_owner) {
		fn_log(fn, "ERROR pec=0x%x not queued (device not open)", pec);
		return 0;
	}
	if (fn->count == DW_QUEUE_DEPTH) {
		g_autofree char *t = g_strdup_printf(
			"zpci: %s: Maximum number (%u) of pending error events queued", fn->slot,
			(unsigned)DW_QUEUE_DEPTH);
		fn->stats.dropped++;
		(void)kmsg_write_locked(w, 4, t);
		fn_log(fn, "ERROR pec=0x%x dropped (queue full)", pec);
		return 0;
	}
	memcpy(fn->queue[(fn->head + fn->count) % DW_QUEUE_DEPTH], ccdf, ZPCI_CCDF_ERR_SIZE);
	fn->count++;
	fn->stats.queued = fn->count;
	fn_log(fn, "ERROR pec=0x%x queued (%u)", pec, fn->count);
	/* the kernel does not signal events that only concern the FMB */
	if (signal && !(pec >= 0x2a && pec <= 0x2c))
		signal_efd(fn->err_efd);
	return 1;
}

static void build_ccdf(DwFn *fn, uint16_t pec, uint8_t out[ZPCI_CCDF_ERR_SIZE])
{
	ZpciCcdf c = {
		.fh = fn->fh,
		.fid = fn->cfg.fid,
		.ett = 0x4,
		.mvn = 0,
		.dmaas = 0,
		.q = false,
		.rw = false,
		.faddr = 0x00000000fe001000ULL,
		.pec = pec,
	};

	ccdf_encode(&c, out);
}

int devworld_inject_ccdf(Devworld *w, uint32_t fid, const uint8_t ccdf[32])
{
	DwFn *fn = fn_get(w, fid);
	int r;

	if (!fn)
		return -ENOENT;
	g_mutex_lock(&w->lock);
	r = queue_locked(w, fn, ccdf, true);
	g_cond_broadcast(&w->cond);
	g_mutex_unlock(&w->lock);
	return r;
}

int devworld_inject_pec(Devworld *w, uint32_t fid, uint16_t pec)
{
	DwFn *fn = fn_get(w, fid);
	uint8_t c[ZPCI_CCDF_ERR_SIZE];

	if (!fn)
		return -ENOENT;
	build_ccdf(fn, pec, c);
	return devworld_inject_ccdf(w, fid, c);
}

int devworld_queue_pec(Devworld *w, uint32_t fid, uint16_t pec)
{
	DwFn *fn = fn_get(w, fid);
	uint8_t c[ZPCI_CCDF_ERR_SIZE];
	int r;

	if (!fn)
		return -ENOENT;
	build_ccdf(fn, pec, c);
	g_mutex_lock(&w->lock);
	r = queue_locked(w, fn, c, false);
	g_mutex_unlock(&w->lock);
	return r;
}

int devworld_signal_err(Devworld *w, uint32_t fid)
{
	DwFn *fn = fn_get(w, fid);
	int r;

	if (!fn)
		return -ENOENT;
	g_mutex_lock(&w->lock);
	r = fn->err_efd >= 0;
	signal_efd(fn->err_efd);
	g_mutex_unlock(&w->lock);
	return r;
}

int devworld_request(Devworld *w, uint32_t fid)
{
	DwFn *fn = fn_get(w, fid);
	int r;

	if (!fn)
		return -ENOENT;
	g_mutex_lock(&w->lock);
	r = fn->req_efd >= 0;
	signal_efd(fn->req_efd);
	fn_log(fn, "REQUEST %s", r ? "signalled" : "no eventfd");
	g_mutex_unlock(&w->lock);
	return r;
}

/* ------------------------------------------------------------------ */
/* Inspection */

int devworld_get_stats(Devworld *w, uint32_t fid, DevworldStats *ret)
{
	DwFn *fn = fn_get(w, fid);

	if (!fn)
		return -ENOENT;
	g_mutex_lock(&w->lock);
	*ret = fn->stats;
	g_mutex_unlock(&w->lock);
	return 0;
}

char *devworld_oplog(Devworld *w, uint32_t fid)
{
	DwFn *fn = fn_get(w, fid);
	char *s;

	if (!fn)
		return g_strdup("");
	g_mutex_lock(&w->lock);
	s = g_strdup(fn->oplog->str);
	g_mutex_unlock(&w->lock);
	return s;
}

static int wait_cond(Devworld *w, DwFn *fn, bool (*pred)(DwFn *, const void *), const void *arg,
		     unsigned timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	int r = 0;

	g_mutex_lock(&w->lock);
	while (!pred(fn, arg))
		if (!g_cond_wait_until(&w->cond, &w->lock, end)) {
			r = pred(fn, arg) ? 0 : -ETIMEDOUT;
			break;
		}
	g_mutex_unlock(&w->lock);
	return r;
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
	DwFn *fn = fn_get(w, fid);

	if (!fn)
		return -ENOENT;
	return wait_cond(w, fn, pred_registered, &registered, timeout_ms);
}

int devworld_wait_drained(Devworld *w, uint32_t fid, unsigned timeout_ms)
{
	DwFn *fn = fn_get(w, fid);

	if (!fn)
		return -ENOENT;
	return wait_cond(w, fn, pred_drained, NULL, timeout_ms);
}

/* ------------------------------------------------------------------ */
/* The stand-in VMM */

/* In the child: make /dev/vfio/<group> of this mount namespace the
 * testbed's node, so /proc/<pid>/fd shows the path a VMM would have open,
 * and open it without the preload. Returns the fd or -1. */
static int holder_display_fd(const char *root, const char *node)
{
	char src[PATH_MAX], dir[PATH_MAX];
	int fd;

	if (unshare(CLONE_NEWNS) < 0)
		return -1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	if (mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755") < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s", node);
	*strrchr(dir, '/') = 0;
	if (syscall(SYS_mkdirat, AT_FDCWD, dir, 0755) < 0)
		return -1;
	fd = (int)syscall(SYS_openat, AT_FDCWD, node, O_CREAT | O_WRONLY, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(src, sizeof(src), "%s%s", root, node);
	if (mount(src, node, NULL, MS_BIND, NULL) < 0)
		return -1;
	return (int)syscall(SYS_openat, AT_FDCWD, node, O_RDWR);
}

static _Noreturn void holder_main(const char *root, const char *group_node, const char *slot, int ready,
				  int stop)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char name[16];
	int cfd, gfd, dfd;
	char c = 1;

	/* handlers inherited from the test harness (Check's SIGTERM handler
	 * kills its process group) must not run here */
	for (int sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	(void)setpgid(0, 0);
	snprintf(name, sizeof(name), "qemu-system-s39");
	(void)prctl(PR_SET_NAME, name);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	(void)holder_display_fd(root, group_node);

	/* the emulated open, as a VMM does it through the group */
	cfd = open("/dev/vfio/vfio", O_RDWR);
	gfd = open(group_node, O_RDWR);
	if (cfd < 0 || gfd < 0 || ioctl(gfd, VFIO_GROUP_GET_STATUS, &st) < 0 ||
	    ioctl(gfd, VFIO_GROUP_SET_CONTAINER, &cfd) < 0 ||
	    ioctl(cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
		c = 0;
	dfd = c ? ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, slot) : -1;
	if (dfd < 0)
		c = 0;
	(void)!write(ready, &c, 1);
	close(ready);
	while (read(stop, &c, 1) > 0)
		;
	_exit(0);
}

pid_t devworld_hold(Devworld *w, uint32_t fid)
{
	DwFn *fn = fn_get(w, fid);
	int ready[2], stop[2];
	pid_t pid;
	char c = 0;

	if (!fn)
		return -ENOENT;
	if (!fn->group_node[0])
		return -ENODEV;
	if (fn->holder_pid > 0)
		return -EBUSY;
	if (pipe2(ready, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(stop, O_CLOEXEC) < 0) {
		close(ready[0]);
		close(ready[1]);
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(ready[0]);
		close(ready[1]);
		close(stop[0]);
		close(stop[1]);
		return r;
	}
	if (pid == 0) {
		close(ready[0]);
		close(stop[1]);
		holder_main(w->root, fn->group_node, fn->slot, ready[1], stop[0]);
	}
	close(ready[1]);
	close(stop[0]);
	if (read(ready[0], &c, 1) != 1 || c != 1) {
		close(ready[0]);
		close(stop[1]);
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		return -EIO;
	}
	close(ready[0]);
	fn->holder_pid = pid;
	fn->holder_pipe = stop[1];
	return pid;
}

int devworld_release(Devworld *w, uint32_t fid)
{
	DwFn *fn = fn_get(w, fid);

	if (!fn || fn->holder_pid <= 0)
		return -ENOENT;
	stop_holder(fn);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The daemon */

static gpointer reader_thread(gpointer userdata)
{
	Devworld *w = userdata;
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = read(w->daemon_out, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		g_mutex_lock(&w->lock);
		g_string_append_len(w->log, buf, n);
		if (w->tee_fd >= 0)
			(void)!write(w->tee_fd, buf, n);
		g_cond_broadcast(&w->cond);
		g_mutex_unlock(&w->lock);
	}
	g_mutex_lock(&w->lock);
	w->daemon_exited = true;
	g_cond_broadcast(&w->cond);
	g_mutex_unlock(&w->lock);
	return NULL;
}

static char *daemon_binary(void)
{
	const char *b = getenv("ZPCID_BINARY");
	const char *top = getenv("ZPCID_TOP_BUILDDIR");

	if (b && *b)
		return g_strdup(b);
	return g_build_filename(top && *top ? top : ".", "zpcid", NULL);
}

char *devworld_preload_library(void)
{
	const char *e = getenv("DEVWORLD_PRELOAD");
	const char *top = getenv("ZPCID_TOP_BUILDDIR");
	char *p;

	if (e && *e)
		return g_strdup(e);
	p = g_build_filename(top && *top ? top : ".", "tests", "libdevworld-preload.so", NULL);
	if (!g_path_is_absolute(p)) {
		g_autofree char *cwd = g_get_current_dir();
		char *abs = g_build_filename(cwd, p, NULL);

		g_free(p);
		p = abs;
	}
	return p;
}

pid_t devworld_spawn_daemon(Devworld *w, const char *const *argv)
{
	g_autofree char *bin = daemon_binary();
	g_autofree char *shim = NULL, *shim_preload = NULL;
	g_autofree char *state = NULL, *run = NULL;
	GPtrArray *args;
	bool has_target = false;
	int out[2];
	pid_t pid;

	if (w->daemon_pid > 0)
		return -EBUSY;
	if (access(bin, X_OK) < 0)
		return -errno;
	/* Without the shim, the ioctls of the daemon's action helpers reach
	 * nothing: every reset would fail. No world rather than a broken one. */
	shim = devworld_preload_library();
	if (access(shim, R_OK) < 0)
		return -ELIBACC;
	{
		const char *pre = getenv("LD_PRELOAD");

		if (!pre || !strstr(pre, "umockdev"))
			pre = "libumockdev-preload.so.0";
		/* ioctls on duplicated device fds: in front of umockdev's preload */
		shim_preload = g_strdup_printf("%s %s", shim, pre);
	}
	if (!w->daemon_dir) {
		w->daemon_dir = g_build_filename(w->root, "zpcid", NULL);
		(void)g_mkdir_with_parents(w->daemon_dir, 0755);
	}
	state = g_build_filename(w->daemon_dir, "state", NULL);
	run = g_build_filename(w->daemon_dir, "run", NULL);
	(void)g_mkdir_with_parents(state, 0755);
	(void)g_mkdir_with_parents(run, 0755);

	args = g_ptr_array_new();
	g_ptr_array_add(args, bin);
	for (const char *const *a = argv; a && *a; a++)
		if (g_str_has_prefix(*a, "--log-target"))
			has_target = true;
	if (!has_target)
		g_ptr_array_add(args, (gpointer) "--log-target=console");
	for (const char *const *a = argv; a && *a; a++)
		g_ptr_array_add(args, (gpointer)*a);
	g_ptr_array_add(args, NULL);

	if (pipe2(out, O_CLOEXEC) < 0) {
		g_ptr_array_free(args, TRUE);
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(out[0]);
		close(out[1]);
		g_ptr_array_free(args, TRUE);
		return r;
	}
	if (pid == 0) {
		(void)dup2(out[1], STDOUT_FILENO);
		(void)dup2(out[1], STDERR_FILENO);
		/* a service runs in a session of its own */
		(void)setsid();
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		setenv("LD_PRELOAD", shim_preload, 1);
		setenv("STATE_DIRECTORY", state, 1);
		setenv("RUNTIME_DIRECTORY", run, 1);
		unsetenv("NOTIFY_SOCKET");
		unsetenv("WATCHDOG_USEC");
		unsetenv("WATCHDOG_PID");
		execv(args->pdata[0], (char **)args->pdata);
		_exit(127);
	}
	close(out[1]);
	g_ptr_array_free(args, TRUE);

	g_mutex_lock(&w->lock);
	w->daemon_out = out[0];
	w->daemon_pid = pid;
	w->daemon_exited = false;
	g_mutex_unlock(&w->lock);
	w->reader = g_thread_new("devworld-log", reader_thread, w);
	return pid;
}

pid_t devworld_daemon_pid(const Devworld *w)
{
	return w->daemon_pid;
}

long devworld_wait_log_from(Devworld *w, size_t from, const char *needle, unsigned timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	long r;

	g_mutex_lock(&w->lock);
	for (;;) {
		const char *hit = from <= w->log->len ? strstr(w->log->str + from, needle) : NULL;

		if (hit) {
			r = hit - w->log->str;
			break;
		}
		if (w->daemon_exited || w->daemon_pid <= 0) {
			r = -ESRCH;
			break;
		}
		if (!g_cond_wait_until(&w->cond, &w->lock, end)) {
			hit = from <= w->log->len ? strstr(w->log->str + from, needle) : NULL;
			r = hit ? hit - w->log->str : -ETIMEDOUT;
			break;
		}
	}
	g_mutex_unlock(&w->lock);
	return r;
}

long devworld_wait_log(Devworld *w, const char *needle, unsigned timeout_ms)
{
	return devworld_wait_log_from(w, 0, needle, timeout_ms);
}

unsigned devworld_count_log(Devworld *w, size_t from, const char *needle)
{
	unsigned n = 0;

	g_mutex_lock(&w->lock);
	for (const char *p = from <= w->log->len ? w->log->str + from : NULL; p && (p = strstr(p, needle));
	     p += strlen(needle))
		n++;
	g_mutex_unlock(&w->lock);
	return n;
}

size_t devworld_log_mark(Devworld *w)
{
	size_t n;

	g_mutex_lock(&w->lock);
	n = w->log->len;
	g_mutex_unlock(&w->lock);
	return n;
}

char *devworld_log(Devworld *w)
{
	char *s;

	g_mutex_lock(&w->lock);
	s = g_strdup(w->log->str);
	g_mutex_unlock(&w->lock);
	return s;
}

void devworld_tee_log(Devworld *w, int fd)
{
	g_mutex_lock(&w->lock);
	if (w->tee_fd >= 0)
		close(w->tee_fd);
	w->tee_fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;
	g_mutex_unlock(&w->lock);
}

int devworld_stop_daemon(Devworld *w, unsigned timeout_ms)
{
	int status = 0, r;
	gint64 end;

	if (w->daemon_pid <= 0)
		return -ESRCH;
	(void)kill(w->daemon_pid, SIGTERM);
	end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	for (;;) {
		pid_t p = waitpid(w->daemon_pid, &status, WNOHANG);

		if (p == w->daemon_pid) {
			r = status;
			break;
		}
		if (p < 0) {
			r = -errno;
			break;
		}
		if (g_get_monotonic_time() > end) {
			/* a daemon that does not stop is a bug: show where it is stuck */
			g_autofree char *cmd = g_strdup_printf(
				"p=%d; command -v gdb >/dev/null && gdb -batch -nx -p $p -ex 'thread apply "
				"all bt' "
				">&2 2>/dev/null; cd /proc/$p && { cat task/*/stack; grep ^Sig status; "
				"grep -H . task/*/status | grep Sig; ls -l fd; grep -H . fdinfo/*; } >&2 "
				"2>/dev/null",
				(int)w->daemon_pid);

			fprintf(stderr, "devworld: zpcid (pid %d) did not stop within %u ms:\n",
				(int)w->daemon_pid, timeout_ms);
			(void)system(cmd);
			(void)kill(w->daemon_pid, SIGKILL);
			(void)waitpid(w->daemon_pid, &status, 0);
			r = -ETIMEDOUT;
			break;
		}
		g_usleep(10000);
	}
	if (w->reader) {
		g_thread_join(w->reader);
		w->reader = NULL;
	}
	if (w->daemon_out >= 0)
		close(w->daemon_out);
	w->daemon_out = -1;
	w->daemon_pid = 0;
	return r;
}

const char *devworld_state_directory(Devworld *w)
{
	if (!w->state_dir) {
		w->state_dir = g_build_filename(w->root, "zpcid", "state", NULL);
		(void)g_mkdir_with_parents(w->state_dir, 0755);
	}
	return w->state_dir;
}

int devworld_kill_daemon(Devworld *w, int sig)
{
	int status = 0, r;

	if (w->daemon_pid <= 0)
		return -ESRCH;
	(void)kill(w->daemon_pid, sig);
	r = waitpid(w->daemon_pid, &status, 0) < 0 ? -errno : status;
	if (w->reader) {
		g_thread_join(w->reader);
		w->reader = NULL;
	}
	if (w->daemon_out >= 0)
		close(w->daemon_out);
	w->daemon_out = -1;
	w->daemon_pid = 0;
	return r;
}

/* ------------------------------------------------------------------ */
/* sysfs writes the kernel acts on */

char *devworld_read_file(Devworld *w, const char *path)
{
	g_autofree char *p = tb_path(w, path);
	char *text = NULL;

	if (!g_file_get_contents(p, &text, NULL, NULL))
		return NULL;
	return text;
}

const char *devworld_driver(Devworld *w, uint32_t fid)
{
	DwFn *fn = fn_get(w, fid);

	return fn ? fn->driver ?: "" : NULL;
}

static bool pred_closed(DwFn *fn, const void *arg)
{
	return !fn->device_owner;
}

int devworld_complete_unbinds(Devworld *w, unsigned timeout_ms)
{
	g_autoptr(GArray) fids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	GHashTableIter it;
	gpointer k, v;
	int n = 0;

	g_mutex_lock(&w->lock);
	g_hash_table_iter_init(&it, w->fns);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		DwFn *fn = v;
		g_autofree char *p = NULL, *text = NULL;

		if (!fn->driver)
			continue;
		p = g_strdup_printf("%s/sys/bus/pci/drivers/%s/unbind", w->root, fn->driver);
		if (g_file_get_contents(p, &text, NULL, NULL) && g_str_has_prefix(text, fn->slot)) {
			uint32_t fid = fn->cfg.fid;

			g_array_append_val(fids, fid);
			(void)write_file(p, "");
		}
	}
	g_mutex_unlock(&w->lock);

	for (guint i = 0; i < fids->len; i++) {
		uint32_t fid = g_array_index(fids, uint32_t, i);
		DwFn *fn = fn_get(w, fid);

		/* the kernel asks the user of the device to release it and waits */
		g_mutex_lock(&w->lock);
		if (fn->device_owner && fn->req_efd >= 0) {
			signal_efd(fn->req_efd);
			fn_log(fn, "REQUEST signalled (unbind pending)");
		}
		g_mutex_unlock(&w->lock);
		(void)wait_cond(w, fn, pred_closed, NULL, timeout_ms);
		if (devworld_unbind(w, fid) >= 0)
			n++;
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* LPAR files */

static int parse_u32(const char *v, uint32_t *ret)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || end == v || *end || x > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)x;
	return 0;
}

static int parse_bool(const char *v, bool *ret)
{
	if (strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "true") == 0)
		*ret = true;
	else if (strcmp(v, "0") == 0 || strcmp(v, "no") == 0 || strcmp(v, "false") == 0)
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

/* Numeric keys of a "function" line: where they go and their range. */
typedef struct NumKey {
	const char *key;
	size_t offset;
	size_t size;
	uint32_t max;
} NumKey;

#define NUM(field, max)                                                                                \
	{                                                                                              \
#field, offsetof(DevworldFunction, field), sizeof(((DevworldFunction *)0)->field), max \
	}
static const NumKey num_keys[] = {
	NUM(fid, UINT32_MAX),
	NUM(fh, UINT32_MAX),
	NUM(uid, UINT32_MAX),
	NUM(pchid, 0xffff),
	NUM(vfn, 0xffff),
	NUM(pfgid, 0xff),
	NUM(pft, 0xff),
	NUM(fidparm, 0xff),
	NUM(port, UINT32_MAX),
	NUM(vendor, 0xffff),
	NUM(device, 0xffff),
	NUM(subsystem_vendor, 0xffff),
	NUM(subsystem_device, 0xffff),
	NUM(iommu_group, UINT32_MAX),
	NUM(zpci_base_version, 3),
	{ "class", offsetof(DevworldFunction, class_code), sizeof(uint32_t), 0xffffff },
	NUM(domain, UINT32_MAX),
};
#undef NUM

static int parse_key(DevworldFunction *f, const char *key, char *v)
{
	uint32_t x;
	bool b;
	int r;

	for (size_t i = 0; i < G_N_ELEMENTS(num_keys); i++) {
		const NumKey *k = &num_keys[i];
		uint8_t *dst = (uint8_t *)f + k->offset;

		if (strcmp(key, k->key) != 0)
			continue;
		r = parse_u32(v, &x);
		if (r < 0 || x > k->max)
			return -EINVAL;
		if (k->size == 1)
			*dst = (uint8_t)x;
		else if (k->size == 2) {
			uint16_t y = (uint16_t)x;
			memcpy(dst, &y, 2);
		} else
			memcpy(dst, &x, 4);
		if (strcmp(key, "domain") == 0)
			f->domain_set = true;
		return 0;
	}
	if (strcmp(key, "uid_is_unique") == 0 || strcmp(key, "mio_enabled") == 0 ||
	    strcmp(key, "err_irq") == 0 || strcmp(key, "cdev") == 0) {
		r = parse_bool(v, &b);
		if (r < 0)
			return r;
		if (key[0] == 'u')
			f->uid_is_unique = b;
		else if (key[0] == 'm')
			f->mio_enabled = b;
		else if (key[0] == 'e')
			f->no_err_irq = !b;
		else
			f->no_cdev = !b;
		return 0;
	}
	if (strcmp(key, "kind") == 0) {
		int k = devworld_kind_from_string(v);

		if (k < 0)
			return -EINVAL;
		f->kind = k;
		return 0;
	}
	if (strcmp(key, "feature") == 0) {
		if (strcmp(v, "v20") == 0)
			f->feature = DEVWORLD_FEATURE_V20;
		else if (strcmp(v, "none") == 0)
			f->feature = DEVWORLD_FEATURE_NONE;
		else
			return -EINVAL;
		return 0;
	}
	if (strcmp(key, "driver") == 0) {
		f->driver = strcmp(v, "none") == 0 ? "" : v;
		return 0;
	}
	return -EINVAL;
}

int devworld_parse_function(char *buf, DevworldFunction *f)
{
	char *save = NULL;

	*f = (DevworldFunction){};
	for (char *tok = strtok_r(buf, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		char *v = strchr(tok, '=');
		int r;

		if (!v)
			return -EINVAL;
		*v++ = 0;
		r = parse_key(f, tok, v);
		if (r < 0)
			return r;
	}
	return f->fid ? 0 : -EINVAL;
}

int devworld_load(Devworld *w, const char *path, unsigned *ret_line)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	int n = 0;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return -ENOENT;
	lines = g_strsplit(text, "\n", -1);
	for (unsigned i = 0; lines[i]; i++) {
		char *l = g_strstrip(lines[i]);
		DevworldFunction f;
		int r;

		if (!g_str_has_prefix(l, "function ") && !g_str_has_prefix(l, "function\t"))
			continue;
		r = devworld_parse_function(l + strlen("function"), &f);
		if (r == 0)
			r = devworld_add_function(w, &f);
		if (r < 0) {
			if (ret_line)
				*ret_line = i + 1;
			return r;
		}
		n++;
	}
	return n;
}

int devworld_generate(const char *path, unsigned n, uint32_t first_fid)
{
	/* a mix like a large LPAR: mostly RoCE and NVMe, some ISM and NETH */
	static const DevworldKind mix[] = {
		DEVWORLD_KIND_ROCE2, DEVWORLD_KIND_ROCE2, DEVWORLD_KIND_NVME, DEVWORLD_KIND_ROCE3,
		DEVWORLD_KIND_NVME,  DEVWORLD_KIND_ISM,   DEVWORLD_KIND_NETH, DEVWORLD_KIND_ROCE2,
	};
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fprintf(f, "# generated: %u functions\n", n);
	for (unsigned i = 0; i < n; i++) {
		DevworldKind k = mix[i % G_N_ELEMENTS(mix)];
		uint32_t fid = first_fid + i;
		bool roce = k == DEVWORLD_KIND_ROCE2 || k == DEVWORLD_KIND_ROCE3 || k == DEVWORLD_KIND_NETH;

		fprintf(f,
			"function fid=0x%08x uid=0x%x uid_is_unique=1 pchid=0x%04x vfn=0x%04x port=%u "
			"pfgid=0x%02x kind=%s driver=%s%s\n",
			fid, i + 1, 0x100 + (i / 32) * 4, roce ? (i % 32) + 1 : 0, roce ? 1 + (i % 2) : 0,
			k == DEVWORLD_KIND_ISM ? 2 : 0x10 + (unsigned)k, devworld_kind_to_string(k),
			i % 4 == 3 ? "vfio-pci" : kinds[k].driver,
			k == DEVWORLD_KIND_ISM ? " err_irq=0" : "");
	}
	if (fclose(f) != 0)
		return -errno;
	return 0;
}
