/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zpcid-floor: the least a program can do for a zPCI error and still have
 * it reach its users — the floor the benchmarks measure zpcid against.
 *
 * For every vfio cdev given it registers an eventfd on the error IRQ (the
 * setup is not measured). Then, for each wake-up: read the eventfd, GET
 * the zPCI error feature until -ENOMSG, and for each record one
 * sd_journal_sendv() and one org.zpcid1.Manager.ErrorReported signal. The
 * journal fields and the signal's a{sv} are built with the project's own
 * encoders (common/event.h, daemon/bus-util.h), and each record carries
 * the function's identity (UID, PCHID, PFT, FH, slot) read from sysfs once
 * at start, so the payload is the one zpcid sends. Nothing else: no
 * registry, history, policy, de-duplication, coalescing or event library.
 *
 *   zpcid-floor [--no-bus] CDEV...
 *   zpcid-floor [--no-bus] SLOT...
 *   zpcid-floor [--no-bus] --kmsg
 *   zpcid-floor [--no-bus] --sysfs
 *
 * A CDEV is a vfio device node (/dev/vfio/devices/vfioN), bound to an
 * iommufd; a SLOT is a PCI address (0000:00:00.0), opened through its vfio
 * group and a type1 container as on kernels without vfio cdevs.
 *
 * With --sysfs it is the floor of the start-up: read what zpcid reads of
 * every function under /sys/bus/pci/devices (the attributes, the driver
 * link, vfio-dev/), connect to the system bus, then READY=1; it prints
 * "floor: sysfs functions N" to stderr first.
 *
 * With --kmsg it is the floor of the observe mode instead: read /dev/kmsg,
 * and for each "zpci: <slot>: Event 0x<pec> reports an error for PCI
 * function 0x<fid>" record one journal record and one signal.
 *
 * Sends READY=1 to $NOTIFY_SOCKET when every eventfd is registered; on
 * SIGTERM prints "floor: records N" to stderr and exits 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "common/ccdf.h"
#include "common/event.h"
#include "common/vfio-zpci.h"
#include "daemon/bus-util.h"
#include "daemon/function.h"
#include "daemon/sysfs-zpci.h"

typedef struct FloorDevice {
	int device_fd, iommufd, err_fd;
	ZpciAttrs attrs; /* the function's identity, read once at start */
	bool has_attrs;
} FloorDevice;

static uint64_t seq;

static uint64_t now_usec(clockid_t c)
{
	struct timespec ts;

	(void)clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static int xioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

/* Open the device of PCI function @slot through its group and a container;
 * both stay open for the life of the program. */
static int device_open_group(const char *slot, FloorDevice *d)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[PATH_MAX], link[128];
	const char *g;
	ssize_t len;
	int container, group;

	(void)snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", slot);
	len = readlink(path, link, sizeof(link) - 1);
	if (len < 0)
		return -errno;
	link[len] = 0;
	g = strrchr(link, '/');
	g = g ? g + 1 : link;
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		return -errno;
	(void)snprintf(path, sizeof(path), "/dev/vfio/%s", g);
	group = open(path, O_RDWR | O_CLOEXEC);
	if (group < 0)
		return -errno;
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) < 0)
		return -errno;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EBUSY;
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
		return -errno;
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 &&
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0)
		return -errno;
	d->iommufd = container;
	d->device_fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, slot);
	return d->device_fd < 0 ? -errno : 0;
}

static int device_open(const char *cdev, FloorDevice *d)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	struct {
		struct vfio_irq_set s;
		int32_t fd;
	} __attribute__((packed)) irq = {};
	int r;

	if (cdev[0] != '/') {
		r = device_open_group(cdev, d);
		if (r < 0)
			return r;
	} else {
		d->device_fd = open(cdev, O_RDWR | O_CLOEXEC);
		if (d->device_fd < 0)
			return -errno;
		d->iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
		if (d->iommufd < 0)
			return -errno;
		bind.iommufd = d->iommufd;
		r = xioctl(d->device_fd, VFIO_DEVICE_BIND_IOMMUFD, &bind);
		if (r >= 0)
			r = xioctl(d->iommufd, IOMMU_IOAS_ALLOC, &ioas);
		attach.pt_id = ioas.out_ioas_id;
		if (r >= 0)
			r = xioctl(d->device_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
		if (r < 0)
			return r;
	}
	d->err_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->err_fd < 0)
		return -errno;
	irq.s = (struct vfio_irq_set){
		.argsz = sizeof(irq),
		.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_ERR_IRQ_INDEX,
		.start = 0,
		.count = 1,
	};
	irq.fd = d->err_fd;
	return xioctl(d->device_fd, VFIO_DEVICE_SET_IRQS, &irq);
}

/* One record: the journal, then the bus. */
static void emit_event(sd_bus *bus, ZpciEvent *e_)
{
	struct iovec iov[EVENT_JOURNAL_FIELDS_MAX + 8];
	EventJournalFields jf;
	ZpciEvent e = *e_;
	char msg[EVENT_MESSAGE_MAX + 16], prio[16], mid[64];
	size_t n = 0;

	e.seq = ++seq;
	e.time_usec = now_usec(CLOCK_REALTIME);
	e.monotonic_usec = now_usec(CLOCK_MONOTONIC);
	event_format_message(&e);
	event_journal_fields(&e, &jf);

	(void)snprintf(msg, sizeof(msg), "MESSAGE=%s", e.message);
	(void)snprintf(prio, sizeof(prio), "PRIORITY=%d", event_priority(&e));
	(void)snprintf(mid, sizeof(mid), "MESSAGE_ID=%s", event_message_id(&e));
	iov[n++] = (struct iovec){ msg, strlen(msg) };
	iov[n++] = (struct iovec){ prio, strlen(prio) };
	iov[n++] = (struct iovec){ (char *)"SYSLOG_IDENTIFIER=zpcid-floor", 29 };
	iov[n++] = (struct iovec){ mid, strlen(mid) };
	for (size_t i = 0; i < jf.n; i++)
		iov[n++] = (struct iovec){ (char *)jf.fields[i], strlen(jf.fields[i]) };
	(void)sd_journal_sendv(iov, (int)n);

	if (bus) {
		sd_bus_message *m = NULL;
		int r = sd_bus_message_new_signal(bus, &m, BUS_PATH, BUS_MANAGER_INTERFACE, "ErrorReported");

		if (r >= 0)
			r = bus_append_event(m, &e);
		if (r >= 0)
			(void)sd_bus_send(bus, m, NULL);
		sd_bus_message_unref(m);
	}
}

static void emit(sd_bus *bus, const FloorDevice *d, const uint8_t *buf)
{
	ZpciEvent e = { .kind = EVENT_ERROR, .sources = EVENT_SOURCE_VFIO };
	ZpciCcdf c;

	if (ccdf_parse(buf, ZPCI_CCDF_ERR_SIZE, &c) < 0)
		return;
	e.fid = c.fid;
	event_set_ccdf(&e, &c);
	if (d->has_attrs)
		zpci_attrs_fill_event(&d->attrs, &e);
	emit_event(bus, &e);
}

/* The identity of the function behind @arg (a SLOT or a vfio cdev), as
 * zpcid reads it, so that the floor's records carry the same fields. */
static void read_identity(const char *arg, FloorDevice *d)
{
	char found[EVENT_SLOT_MAX] = "";
	const char *slot = arg;
	int dirfd;

	if (arg[0] == '/') {
		/* the function whose vfio-dev/ holds the cdev, as zpcid finds it */
		const char *cdev = strrchr(arg, '/') + 1;
		DIR *dir = opendir("/sys/bus/pci/devices");
		struct dirent *de;

		if (!dir)
			return;
		while (!found[0] && (de = readdir(dir))) {
			char path[PATH_MAX];
			struct stat st;

			(void)snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev/%s", de->d_name,
				       cdev);
			if (de->d_name[0] != '.' && stat(path, &st) == 0)
				(void)snprintf(found, sizeof(found), "%.31s", de->d_name);
		}
		(void)closedir(dir);
		if (!found[0])
			return;
		slot = found;
	}
	dirfd = sysfs_zpci_open("/sys", slot);
	if (dirfd < 0)
		return;
	d->has_attrs = sysfs_zpci_read_attrs(dirfd, slot, &d->attrs, NULL) == 0;
	(void)close(dirfd);
}

static void read_identity_or_say(const char *arg, FloorDevice *d)
{
	read_identity(arg, d);
	if (!d->has_attrs)
		fprintf(stderr, "floor: %s: no zPCI attributes in sysfs, records without the identity\n",
			arg);
}

/* Read what /dev/kmsg has, one record per line; emit each zPCI error.
 * Returns the records handled. */
static unsigned read_kmsg(sd_bus *bus, int fd, char *buf, size_t size, size_t *fill)
{
	unsigned n = 0;
	ssize_t k;

	while ((k = read(fd, buf + *fill, size - 1 - *fill)) > 0) {
		char *line = buf, *nl;

		*fill += (size_t)k;
		buf[*fill] = '\0';
		while ((nl = strchr(line, '\n'))) {
			const char *text = strchr(line, ';'), *ev;
			unsigned pec, fid;
			char slot[32];

			*nl = '\0';
			/* "zpci: 0000:00:00.0: Event 0x3a reports an error for PCI function 0x11" */
			ev = text ? strstr(text, ": Event 0x") : NULL;
			if (ev && strncmp(text + 1, "zpci: ", 6) == 0 &&
			    (size_t)(ev - text - 7) < sizeof(slot) &&
			    sscanf(ev, ": Event 0x%x reports an error for PCI function 0x%x", &pec, &fid) ==
				    2) {
				memcpy(slot, text + 7, (size_t)(ev - text - 7));
				slot[ev - text - 7] = '\0';
				ZpciEvent e = { .kind = EVENT_ERROR,
						.sources = EVENT_SOURCE_KMSG,
						.fid = fid };

				e.pec = (uint16_t)pec;
				e.has |= EVENT_HAS_PEC;
				(void)snprintf(e.slot, sizeof(e.slot), "%s", slot);
				emit_event(bus, &e);
				n++;
			}
			line = nl + 1;
		}
		*fill -= (size_t)(line - buf);
		memmove(buf, line, *fill);
	}
	return n;
}

/* The attributes of every function under /sys/bus/pci/devices, each read
 * once. Returns the functions that have a function_id, or -errno. */
static int read_sysfs(void)
{
	static const char *const attrs[] = { "function_id", "function_handle",
					     "uid",         "uid_is_unique",
					     "pchid",       "vfn",
					     "pfgid",       "pft",
					     "port",        "vendor",
					     "device",      NULL };
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char buf[256], link[4096];
		bool zpci = false;
		int dfd, fd;
		DIR *v;

		if (de->d_name[0] == '.')
			continue;
		dfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			continue;
		for (const char *const *a = attrs; *a; a++) {
			ssize_t k;

			fd = openat(dfd, *a, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			k = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (k > 0 && a == attrs)
				zpci = true;
		}
		(void)!readlinkat(dfd, "driver", link, sizeof(link));
		(void)!readlinkat(dfd, "iommu_group", link, sizeof(link));
		fd = openat(dfd, "vfio-dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 && (v = fdopendir(fd))) {
			while (readdir(v))
				;
			closedir(v);
		} else if (fd >= 0)
			close(fd);
		close(dfd);
		n += zpci;
	}
	closedir(d);
	return n;
}

/* Eventfd read, then GET until -ENOMSG. Returns the records handled. */
static unsigned drain(sd_bus *bus, FloorDevice *d)
{
	uint8_t buf[ZPCI_CCDF_ERR_SIZE];
	struct {
		struct vfio_device_feature h;
		struct vfio_device_feature_zpci_err p;
	} f;
	uint64_t v;
	unsigned n = 0;

	(void)!read(d->err_fd, &v, sizeof(v));
	for (;;) {
		f.h = (struct vfio_device_feature){
			.argsz = sizeof(f), .flags = VFIO_DEVICE_FEATURE_ZPCI_ERROR | VFIO_DEVICE_FEATURE_GET
		};
		f.p.data = (uintptr_t)buf;
		if (ioctl(d->device_fd, VFIO_DEVICE_FEATURE, &f) < 0) {
			if (errno != ENOMSG) /* ENOMSG: empty */
				fprintf(stderr, "floor: GET zPCI error: %m\n");
			break;
		}
		emit(bus, d, buf);
		n++;
	}
	return n;
}

int main(int argc, char *argv[])
{
	sd_bus *bus = NULL;
	FloorDevice *devs;
	struct epoll_event ev;
	bool use_bus = true, kmsg = false, sysfs = false;
	static char kbuf[65536];
	size_t kfill = 0;
	int kfd = -1;
	uint64_t records = 0;
	sigset_t mask;
	int ep, sfd, first = 1, n, r;

	if (argc > 1 && strcmp(argv[1], "--no-bus") == 0) {
		use_bus = false;
		first = 2;
	}
	if (argc > first && strcmp(argv[first], "--kmsg") == 0) {
		kmsg = true;
		first++;
	}
	if (argc > first && strcmp(argv[first], "--sysfs") == 0) {
		sysfs = true;
		first++;
	}
	n = argc - first;
	if (n <= 0 && !kmsg && !sysfs) {
		fprintf(stderr, "usage: zpcid-floor [--no-bus] [--kmsg|--sysfs] CDEV|SLOT...\n");
		return EXIT_FAILURE;
	}
	devs = calloc((size_t)n + 1, sizeof(*devs));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!devs || ep < 0)
		return EXIT_FAILURE;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	(void)sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = UINT64_MAX };
	if (sfd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) < 0)
		return EXIT_FAILURE;

	if (sysfs) {
		r = read_sysfs();
		if (r < 0) {
			fprintf(stderr, "floor: /sys/bus/pci/devices: %s\n", strerror(-r));
			return EXIT_FAILURE;
		}
		fprintf(stderr, "floor: sysfs functions %d\n", r);
	}
	for (int i = 0; i < n; i++) {
		read_identity_or_say(argv[first + i], &devs[i]);
		r = device_open(argv[first + i], &devs[i]);
		if (r < 0) {
			fprintf(stderr, "floor: %s: %s\n", argv[first + i], strerror(-r));
			return EXIT_FAILURE;
		}
		ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = (uint64_t)i };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, devs[i].err_fd, &ev) < 0)
			return EXIT_FAILURE;
	}
	if (kmsg) {
		kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = UINT64_MAX - 2 };
		if (kfd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, kfd, &ev) < 0) {
			fprintf(stderr, "floor: /dev/kmsg: %m\n");
			return EXIT_FAILURE;
		}
	}
	if (use_bus) {
		r = sd_bus_open_system(&bus);
		if (r >= 0)
			r = sd_bus_request_name(bus, BUS_NAME, 0);
		if (r < 0) {
			fprintf(stderr, "floor: system bus: %s\n", strerror(-r));
			return EXIT_FAILURE;
		}
		ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = UINT64_MAX - 1 };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, sd_bus_get_fd(bus), &ev) < 0)
			return EXIT_FAILURE;
	}
	/* whatever was queued before the eventfd existed */
	for (int i = 0; i < n; i++)
		records += drain(bus, &devs[i]);
	(void)sd_notify(false, "READY=1");

	for (;;) {
		struct epoll_event evs[64];
		int k;

		if (bus) {
			while (sd_bus_process(bus, NULL) > 0)
				;
			ev = (struct epoll_event){ .events = (uint32_t)sd_bus_get_events(bus),
						   .data.u64 = UINT64_MAX - 1 };
			(void)epoll_ctl(ep, EPOLL_CTL_MOD, sd_bus_get_fd(bus), &ev);
		}
		k = epoll_wait(ep, evs, 64, -1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		for (int i = 0; i < k; i++) {
			if (evs[i].data.u64 == UINT64_MAX)
				goto done;
			if (evs[i].data.u64 < (uint64_t)n)
				records += drain(bus, &devs[evs[i].data.u64]);
			else if (evs[i].data.u64 == UINT64_MAX - 2)
				records += read_kmsg(bus, kfd, kbuf, sizeof(kbuf), &kfill);
		}
	}
done:
	if (bus)
		sd_bus_flush_close_unref(bus);
	fprintf(stderr, "floor: records %llu\n", (unsigned long long)records);
	return EXIT_SUCCESS;
}
