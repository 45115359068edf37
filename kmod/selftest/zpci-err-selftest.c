// SPDX-License-Identifier: GPL-2.0-only
/*
 * zpci-err-selftest - check the zPCI error feature of a vfio device from
 * user space, the way a VMM or zpcid uses it.
 *
 * usage: zpci-err-selftest LABEL FORM PCI-ADDRESS
 *   FORM 20     the function is bound to vfio-zpci-err loaded with uapi=20
 *   FORM 13     the same with uapi=13
 *   FORM plain  the function is bound to plain vfio-pci: the feature must
 *               be absent (-ENOTTY)
 *
 * Errors are injected through the sysfs attributes of vfio-zpci-err.  Every
 * check prints one line "PASS: LABEL rule: detail" or "FAIL: LABEL rule:
 * detail"; the last line is "SELFTEST LABEL pass=N fail=N".  Exit status 0
 * when nothing failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <linux/vfio.h>
#include <linux/vfio_zdev.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifndef VFIO_DEVICE_FEATURE_ZPCI_ERROR
#define VFIO_DEVICE_FEATURE_ZPCI_ERROR 13
#endif

/* v20: the kernel copies the raw CCDF to the buffer at @data */
struct zpci_err_v20 {
	uint64_t data;
} __attribute__((aligned(8)));

/* v13: read until pending_errors is zero */
struct zpci_err_v13 {
	uint8_t version;
	uint8_t pending_errors;
	uint16_t pec;
};

#define CCDF_LEN        32
#define BASE_LEN_OFFSET 36 /* ccdf_err_length in ZPCI_BASE version 3 */
#define QUEUE_DEPTH     4

static const char *label;
static int form; /* 20, 13 or 0 for plain */
static char sysdir[256];
static int n_pass, n_fail;

static int container = -1, group = -1;

static void result(int ok, const char *rule, const char *fmt, ...)
{
	va_list ap;

	printf("%s: %s %s: ", ok ? "PASS" : "FAIL", label, rule);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (ok)
		n_pass++;
	else
		n_fail++;
}

static int read_sysfs_ulong(const char *attr, unsigned long *v)
{
	char path[512], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", sysdir, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	*v = strtoul(buf, NULL, 0);
	return 0;
}

static int write_sysfs(const char *attr, const char *val)
{
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", sysdir, attr);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

static int inject_pec(unsigned int pec)
{
	char v[16];

	snprintf(v, sizeof(v), "0x%x", pec);
	return write_sysfs("zpci_err_inject_pec", v);
}

static int inject_ccdf(const uint8_t *ccdf)
{
	char v[2 * CCDF_LEN + 2];
	int i;

	for (i = 0; i < CCDF_LEN; i++)
		sprintf(v + 2 * i, "%02x", ccdf[i]);
	strcat(v, "\n");
	return write_sysfs("zpci_err_inject_ccdf", v);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* VFIO_DEVICE_FEATURE with the given flags and payload; returns 0 or -errno */
static int feature(int dev, uint32_t flags, void *payload, size_t len, uint32_t argsz)
{
	struct {
		struct vfio_device_feature hdr;
		uint8_t data[64];
	} __attribute__((aligned(8))) f;

	memset(&f, 0, sizeof(f));
	f.hdr.argsz = argsz;
	f.hdr.flags = flags;
	if (len)
		memcpy(f.data, payload, len);
	if (ioctl(dev, VFIO_DEVICE_FEATURE, &f) < 0)
		return -errno;
	if (len)
		memcpy(payload, f.data, len);
	return 0;
}

/*
 * Read one record.  v20: 0 and the CCDF in @ccdf, or -errno (-ENOMSG when
 * empty).  v13: 0 with @pec/@pending set (pec 0 when empty).
 */
static int get_v20(int dev, uint8_t *ccdf)
{
	struct zpci_err_v20 req = { .data = (uintptr_t)ccdf };

	return feature(dev, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_ZPCI_ERROR, &req, sizeof(req),
		       sizeof(struct vfio_device_feature) + sizeof(req));
}

static int get_v13(int dev, struct zpci_err_v13 *rec)
{
	memset(rec, 0xee, sizeof(*rec));
	return feature(dev, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_ZPCI_ERROR, rec, sizeof(*rec),
		       sizeof(struct vfio_device_feature) + sizeof(*rec));
}

/* Read one record of either form; *pec = 0 and return -ENOMSG when empty. */
static int get_pec(int dev, unsigned int *pec, int *pending)
{
	uint8_t ccdf[CCDF_LEN];
	struct zpci_err_v13 rec;
	int r;

	*pending = -1;
	if (form == 20) {
		r = get_v20(dev, ccdf);
		*pec = r ? 0 : be16(ccdf + 30);
		return r;
	}
	r = get_v13(dev, &rec);
	if (r)
		return r;
	*pec = rec.pec;
	*pending = rec.pending_errors;
	return rec.pec ? 0 : -ENOMSG;
}

static int drain(int dev)
{
	unsigned int pec;
	int pending, n = 0;

	while (n < 64 && get_pec(dev, &pec, &pending) == 0)
		n++;
	return n;
}

static int open_device(const char *addr)
{
	char path[512], link[256];
	ssize_t n;
	int dev;

	if (container < 0) {
		struct vfio_group_status st = { .argsz = sizeof(st) };
		int iommu;

		snprintf(path, sizeof(path), "%s/iommu_group", sysdir);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			return -errno;
		link[n] = 0;
		container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
		snprintf(path, sizeof(path), "/dev/vfio/%s", basename(link));
		group = open(path, O_RDWR | O_CLOEXEC);
		if (container < 0 || group < 0)
			return -errno;
		if (ioctl(group, VFIO_GROUP_GET_STATUS, &st) < 0 || !(st.flags & VFIO_GROUP_FLAGS_VIABLE))
			return -EBUSY;
		if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
			return -errno;
		iommu = ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) ? VFIO_TYPE1v2_IOMMU
										   : VFIO_TYPE1_IOMMU;
		if (ioctl(container, VFIO_SET_IOMMU, iommu) < 0)
			return -errno;
	}
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, addr);
	return dev < 0 ? -errno : dev;
}

static int register_err_eventfd(int dev)
{
	char buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)] __attribute__((aligned(8)));
	struct vfio_irq_set *s = (void *)buf;
	int32_t efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (efd < 0)
		return -errno;
	s->argsz = sizeof(buf);
	s->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	s->index = VFIO_PCI_ERR_IRQ_INDEX;
	s->start = 0;
	s->count = 1;
	memcpy(s->data, &efd, sizeof(efd));
	if (ioctl(dev, VFIO_DEVICE_SET_IRQS, s) < 0) {
		int e = -errno;

		close(efd);
		return e;
	}
	return efd;
}

/* Wait up to @ms for the eventfd; returns the counter read, 0 on timeout. */
static uint64_t wait_efd(int efd, int ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t cnt = 0;

	if (poll(&p, 1, ms) == 1 && read(efd, &cnt, sizeof(cnt)) == sizeof(cnt))
		return cnt;
	return 0;
}

static void check_info(int dev)
{
	struct vfio_device_info *info = calloc(1, 4096);
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_ERR_IRQ_INDEX };
	uint32_t off;
	int found = 0;

	info->argsz = 4096;
	if (ioctl(dev, VFIO_DEVICE_GET_INFO, info) < 0) {
		result(0, "get-info", "VFIO_DEVICE_GET_INFO: %s", strerror(errno));
		free(info);
		return;
	}
	for (off = info->cap_offset; off && off + 8 <= 4096;) {
		struct vfio_info_cap_header *h = (void *)((char *)info + off);

		if (h->id == VFIO_DEVICE_INFO_CAP_ZPCI_BASE) {
			uint16_t len;

			memcpy(&len, (char *)h + BASE_LEN_OFFSET, sizeof(len));
			found = 1;
			if (form)
				result(h->version == 3 && len == CCDF_LEN, "base-cap-v3",
				       "ZPCI_BASE version %u ccdf_err_length %u at offset %d", h->version,
				       len, BASE_LEN_OFFSET);
			else
				result(h->version == 2, "base-cap-v2",
				       "ZPCI_BASE version %u without the feature", h->version);
		}
		if (h->next <= off)
			break;
		off = h->next;
	}
	if (!found)
		result(0, "base-cap", "no ZPCI_BASE capability");
	free(info);

	if (!form) {
		/* plain vfio-pci offers the error IRQ to PCIe functions only */
		int r = ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, &ii) < 0 ? -errno : 0;

		printf("INFO: %s plain vfio-pci GET_IRQ_INFO(ERR) -> %d count %u\n", label, r,
		       r ? 0 : ii.count);
	} else if (ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, &ii) < 0)
		result(0, "err-irq-info", "GET_IRQ_INFO(ERR): %s", strerror(errno));
	else
		result(ii.count == 1 && (ii.flags & VFIO_IRQ_INFO_EVENTFD), "err-irq-info",
		       "GET_IRQ_INFO(ERR) count %u flags 0x%x", ii.count, ii.flags);
}

static void check_probe_and_argsz(int dev)
{
	size_t plen = form == 13 ? sizeof(struct zpci_err_v13) : sizeof(struct zpci_err_v20);
	uint32_t hdr = sizeof(struct vfio_device_feature);
	uint8_t payload[16] = { 0 };
	int r;

	r = feature(dev,
		    VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_ZPCI_ERROR,
		    NULL, 0, hdr);
	result(r == 0, "probe-get", "PROBE|GET -> %d", r);
	r = feature(dev,
		    VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_ZPCI_ERROR,
		    NULL, 0, hdr);
	result(r == -EINVAL, "probe-set", "PROBE|SET -> %d (want -EINVAL)", r);
	r = feature(dev, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_ZPCI_ERROR, payload, plen,
		    hdr + plen);
	result(r == -EINVAL, "set-rejected", "SET -> %d (want -EINVAL)", r);
	r = feature(dev, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_ZPCI_ERROR, payload, plen,
		    hdr + plen - 1);
	result(r == -EINVAL, "argsz-short-payload", "argsz %u -> %d (want -EINVAL)",
	       (unsigned int)(hdr + plen - 1), r);
	r = feature(dev, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_ZPCI_ERROR, NULL, 0, hdr - 1);
	result(r == -EINVAL, "argsz-short-header", "argsz %u -> %d (want -EINVAL)", hdr - 1, r);
	if (form == 20) {
		/* a larger argsz is fine; the payload is only the pointer */
		uint8_t ccdf[CCDF_LEN];
		struct zpci_err_v20 req = { .data = (uintptr_t)ccdf };

		r = feature(dev, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_ZPCI_ERROR, &req, sizeof(req),
			    hdr + 64);
		result(r == -ENOMSG, "argsz-large", "argsz %u on empty queue -> %d (want -ENOMSG)", hdr + 64,
		       r);
	}
}

static void check_empty(int dev)
{
	if (form == 20) {
		uint8_t ccdf[CCDF_LEN];
		int r = get_v20(dev, ccdf);

		result(r == -ENOMSG, "empty-enomsg", "GET on empty queue -> %d (want -ENOMSG)", r);
	} else {
		struct zpci_err_v13 rec;
		int r = get_v13(dev, &rec);

		result(r == 0 && rec.version == 1 && rec.pending_errors == 0 && rec.pec == 0, "empty-v13",
		       "GET on empty queue -> %d version %u pending %u pec 0x%x", r, rec.version,
		       rec.pending_errors, rec.pec);
	}
}

static void check_signal_and_record(int dev, int efd)
{
	unsigned long fid = 0, fh = 0;
	uint64_t cnt;
	int r;

	(void)wait_efd(efd, 0);
	r = inject_pec(0x3a);
	cnt = wait_efd(efd, 2000);
	result(r == 0 && cnt >= 1, "eventfd-signalled", "inject 0x3a -> %d, eventfd count %" PRIu64, r, cnt);
	read_sysfs_ulong("function_id", &fid);
	read_sysfs_ulong("function_handle", &fh);
	if (form == 20) {
		uint8_t buf[CCDF_LEN + 8];
		int canary_ok = 1, i;

		memset(buf, 0xa5, sizeof(buf));
		r = get_v20(dev, buf);
		for (i = CCDF_LEN; i < (int)sizeof(buf); i++)
			canary_ok &= buf[i] == 0xa5;
		result(r == 0 && be16(buf + 30) == 0x3a && be32(buf + 8) == fid && be32(buf + 4) == fh &&
			       canary_ok,
		       "record-content",
		       "GET -> %d pec 0x%x fid 0x%x (sysfs 0x%lx) fh 0x%x (sysfs 0x%lx), %s", r,
		       be16(buf + 30), be32(buf + 8), fid, be32(buf + 4), fh,
		       canary_ok ? "32 bytes written" : "wrote past 32 bytes");
	} else {
		struct zpci_err_v13 rec;

		r = get_v13(dev, &rec);
		result(r == 0 && rec.version == 1 && rec.pec == 0x3a && rec.pending_errors == 0,
		       "record-content", "GET -> %d version %u pending %u pec 0x%x", r, rec.version,
		       rec.pending_errors, rec.pec);
	}
}

static void check_raw_ccdf(int dev)
{
	/* ett 0xa, mvn 0x123, dmaas 0x45, q 1, rw 1; faddr; pec 0x0101 */
	static const uint8_t in[CCDF_LEN] = {
		0x00, 0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x0a,
		0xbc, 0xa1, 0x23, 0x45, 0x03, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
		0x77, 0x88, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01,
	};
	int r = inject_ccdf(in);

	if (form == 20) {
		uint8_t out[CCDF_LEN];

		memset(out, 0, sizeof(out));
		r = r ? r : get_v20(dev, out);
		result(r == 0 && !memcmp(in, out, CCDF_LEN), "raw-ccdf",
		       "injected CCDF returned byte for byte -> %d", r);
	} else {
		struct zpci_err_v13 rec;

		r = r ? r : get_v13(dev, &rec);
		result(r == 0 && rec.pec == 0x0101, "raw-ccdf", "GET -> %d pec 0x%x", r, rec.pec);
	}
}

static void check_order_and_overflow(int dev)
{
	unsigned long dropped0 = 0, dropped1 = 0, pend = 0;
	unsigned int pec, i;
	int pending, ok = 1, r;
	char got[128] = "";

	for (i = 0; i < QUEUE_DEPTH; i++)
		ok &= inject_pec(0x10 + i) == 0;
	for (i = 0; i < QUEUE_DEPTH; i++) {
		r = get_pec(dev, &pec, &pending);
		snprintf(got + strlen(got), sizeof(got) - strlen(got), " 0x%x/%d", pec, pending);
		ok &= r == 0 && pec == 0x10 + i;
		if (form == 13)
			ok &= pending == (int)(QUEUE_DEPTH - 1 - i);
	}
	r = get_pec(dev, &pec, &pending);
	ok &= r == -ENOMSG;
	result(ok, "fifo-order", "4 injected, read back (pec/pending):%s, then %d", got, r);

	read_sysfs_ulong("zpci_err_dropped", &dropped0);
	ok = 1;
	got[0] = 0;
	for (i = 0; i < QUEUE_DEPTH + 2; i++)
		ok &= inject_pec(0x20 + i) == 0;
	read_sysfs_ulong("zpci_err_pending", &pend);
	read_sysfs_ulong("zpci_err_dropped", &dropped1);
	for (i = 0; i < QUEUE_DEPTH; i++) {
		r = get_pec(dev, &pec, &pending);
		snprintf(got + strlen(got), sizeof(got) - strlen(got), " 0x%x", pec);
		ok &= r == 0 && pec == 0x20 + i;
	}
	r = get_pec(dev, &pec, &pending);
	ok &= r == -ENOMSG && pend == QUEUE_DEPTH && dropped1 - dropped0 == 2;
	result(ok, "overflow-drops-newest", "6 injected, %lu queued, %lu dropped, read back:%s, then %d",
	       pend, dropped1 - dropped0, got, r);
}

static void check_fmb_not_signalled(int dev, int efd)
{
	unsigned int pec = 0;
	uint64_t cnt;
	int pending, r;

	(void)wait_efd(efd, 0);
	r = inject_pec(0x2a);
	cnt = wait_efd(efd, 300);
	r = r ? r : get_pec(dev, &pec, &pending);
	result(r == 0 && pec == 0x2a && cnt == 0, "fmb-queued-not-signalled",
	       "inject 0x2a -> queued pec 0x%x, eventfd count %" PRIu64, pec, cnt);
}

static void check_reset_keeps(int dev)
{
	unsigned int pec = 0;
	int pending, r;

	inject_pec(0x3a);
	r = ioctl(dev, VFIO_DEVICE_RESET) < 0 ? -errno : 0;
	if (r == -EINVAL || r == -ENOTTY) {
		drain(dev);
		printf("SKIP: %s reset-keeps-queue: VFIO_DEVICE_RESET not supported (%d)\n", label, r);
		return;
	}
	r = r ? r : get_pec(dev, &pec, &pending);
	result(r == 0 && pec == 0x3a, "reset-keeps-queue", "RESET then GET -> %d pec 0x%x", r, pec);
	drain(dev);
}

static void check_efault(int dev)
{
	unsigned int pec = 0;
	int pending, r;

	if (form != 20)
		return;
	inject_pec(0x44);
	r = feature(dev, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_ZPCI_ERROR,
		    &(struct zpci_err_v20){ .data = 8 }, sizeof(struct zpci_err_v20),
		    sizeof(struct vfio_device_feature) + sizeof(struct zpci_err_v20));
	result(r == -EFAULT, "bad-buffer-efault", "GET into an unmapped buffer -> %d", r);
	r = get_pec(dev, &pec, &pending);
	result(r == 0 && pec == 0x44, "efault-keeps-record", "next GET -> %d pec 0x%x", r, pec);
}

static int kmsg_seek_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

static int kmsg_find(int fd, const char *needle)
{
	char rec[1024];
	ssize_t n;

	if (fd < 0)
		return 0;
	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = 0;
		if (strstr(rec, needle))
			return 1;
	}
	return 0;
}

static int run_feature_checks(const char *addr)
{
	unsigned long pend = 99;
	unsigned int pec = 0;
	int dev, efd, kmsg, pending, r, found;

	dev = open_device(addr);
	if (dev < 0) {
		result(0, "open", "cannot open %s: %s", addr, strerror(-dev));
		return 1;
	}
	result(1, "open", "group + container + device fd for %s", addr);
	check_info(dev);
	efd = register_err_eventfd(dev);
	result(efd >= 0, "err-eventfd", "SET_IRQS eventfd on ERR index -> %d", efd < 0 ? efd : 0);
	check_probe_and_argsz(dev);
	check_empty(dev);
	if (efd >= 0) {
		check_signal_and_record(dev, efd);
		check_fmb_not_signalled(dev, efd);
	}
	check_raw_ccdf(dev);
	check_order_and_overflow(dev);
	check_efault(dev);
	check_reset_keeps(dev);

	/* discard at last close, with a message */
	inject_pec(0x51);
	inject_pec(0x52);
	kmsg = kmsg_seek_end();
	if (efd >= 0)
		close(efd);
	close(dev);
	read_sysfs_ulong("zpci_err_pending", &pend);
	found = kmsg_find(kmsg, "Discarding 2 unread error event");
	result(pend == 0 && found, "discard-at-close", "after close: %lu pending, kernel message %s", pend,
	       found ? "seen" : "missing");

	/* nothing is queued while the device is closed */
	inject_pec(0x53);
	read_sysfs_ulong("zpci_err_pending", &pend);
	dev = open_device(addr);
	if (dev < 0) {
		result(0, "reopen", "cannot reopen %s: %s", addr, strerror(-dev));
		return 1;
	}
	r = get_pec(dev, &pec, &pending);
	result(pend == 0 && r == -ENOMSG, "closed-not-queued",
	       "inject while closed: %lu pending; after reopen GET -> %d", pend, r);
	inject_pec(0x54);
	r = get_pec(dev, &pec, &pending);
	result(r == 0 && pec == 0x54, "queue-after-reopen", "inject after reopen -> %d pec 0x%x", r, pec);
	close(dev);
	if (kmsg >= 0)
		close(kmsg);
	return 0;
}

static int run_plain_checks(const char *addr)
{
	uint8_t ccdf[CCDF_LEN];
	int dev, r;

	dev = open_device(addr);
	if (dev < 0) {
		result(0, "open", "cannot open %s: %s", addr, strerror(-dev));
		return 1;
	}
	result(1, "open", "group + container + device fd for %s", addr);
	check_info(dev);
	r = feature(dev,
		    VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_ZPCI_ERROR,
		    NULL, 0, sizeof(struct vfio_device_feature));
	result(r == -ENOTTY, "no-feature-probe", "PROBE|GET on plain vfio-pci -> %d (want -ENOTTY)", r);
	r = get_v20(dev, ccdf);
	result(r == -ENOTTY, "no-feature-get", "GET on plain vfio-pci -> %d (want -ENOTTY)", r);
	close(dev);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s LABEL 20|13|plain PCI-ADDRESS\n", argv[0]);
		return 2;
	}
	label = argv[1];
	form = !strcmp(argv[2], "plain") ? 0 : atoi(argv[2]);
	if (form != 0 && form != 13 && form != 20) {
		fprintf(stderr, "unknown form %s\n", argv[2]);
		return 2;
	}
	snprintf(sysdir, sizeof(sysdir), "/sys/bus/pci/devices/%s", argv[3]);

	if (form)
		run_feature_checks(argv[3]);
	else
		run_plain_checks(argv[3]);

	printf("SELFTEST %s pass=%d fail=%d\n", label, n_pass, n_fail);
	return n_fail ? 1 : 0;
}
