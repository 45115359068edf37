// SPDX-License-Identifier: GPL-2.0-only
/*
 * zpci-err-selftest - check the zPCI error interface of a vfio device from
 * user space, the way a VMM or zpcid uses it.
 *
 * usage: zpci-err-selftest LABEL MODE PCI-ADDRESS
 *   MODE feature  the function is bound to vfio-zpci-err: every rule of the
 *                 interface, with errors injected through its sysfs
 *                 attributes
 *   MODE plain    the function is bound to plain vfio-pci: the feature must
 *                 be absent (-ENOTTY)
 *
 * Every check prints one line "PASS: LABEL rule: detail" or "FAIL: LABEL
 * rule: detail"; the last line is "SELFTEST LABEL pass=N fail=N".  Exit
 * status 0 when nothing failed.  Injection is synchronous (the sysfs write
 * returns after the event was handled), so absence is checked at once,
 * without waiting.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <linux/vfio.h>
#include <linux/vfio_zdev.h>
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

/* the kernel copies the raw CCDF to the buffer at @data */
struct zpci_err_req {
	uint64_t data;
} __attribute__((aligned(8)));

#define CCDF_LEN        32
#define BASE_LEN_OFFSET 36 /* __u32 ccdf_err_length in ZPCI_BASE version 3 */
#define BASE_SIZE       40
#define PENDING_MAX     4
#define LEAVE_MSG       "Leaving recovery of pass-through device to user-space"

static const char *label;
static int plain; /* bound to plain vfio-pci */
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

/* Read one record into @ccdf: 0, or -errno (-ENOMSG when none is pending). */
static int get_rec(int dev, uint8_t *ccdf)
{
	struct zpci_err_req req = { .data = (uintptr_t)ccdf };

	return feature(dev, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_ZPCI_ERROR, &req, sizeof(req),
		       sizeof(struct vfio_device_feature) + sizeof(req));
}

/* Read one record's PEC; *pec = 0 and -errno when there is none. */
static int get_pec(int dev, unsigned int *pec)
{
	uint8_t ccdf[CCDF_LEN];
	int r = get_rec(dev, ccdf);

	*pec = r ? 0 : be16(ccdf + 30);
	return r;
}

static int drain(int dev)
{
	unsigned int pec;
	int n = 0;

	while (n < 64 && get_pec(dev, &pec) == 0)
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

static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* Was @needle logged since kmsg_open()?  Closes @fd. */
static int kmsg_seen(int fd, const char *needle)
{
	char rec[1024];
	ssize_t n;
	int found = 0;

	if (fd < 0)
		return 0;
	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = 0;
		if (strstr(rec, needle))
			found = 1;
	}
	close(fd);
	return found;
}

/* The eventfd counter, read without waiting (0: not signalled). */
static uint64_t efd_count(int efd)
{
	uint64_t cnt = 0;

	if (read(efd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return 0;
	return cnt;
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
	for (off = info->cap_offset; off && off + BASE_SIZE <= 4096;) {
		struct vfio_info_cap_header *h = (void *)((char *)info + off);
		const uint8_t *b = (const uint8_t *)h;

		if (h->id == VFIO_DEVICE_INFO_CAP_ZPCI_BASE) {
			found = 1;
			if (!plain) {
				/*
				 * The kernel's __u32 at offset 36, in the guest's
				 * (big-endian) byte order: 00 00 00 20.  A __u16 there
				 * would read 0 on this machine.
				 */
				uint16_t u16_at_36;

				memcpy(&u16_at_36, b + BASE_LEN_OFFSET, sizeof(u16_at_36));
				result(h->version == 3 && be32(b + BASE_LEN_OFFSET) == CCDF_LEN,
				       "base-cap-v3",
				       "ZPCI_BASE version %u, bytes at %d: %02x %02x %02x %02x (u32 %u; as u16 %u)",
				       h->version, BASE_LEN_OFFSET, b[36], b[37], b[38], b[39],
				       be32(b + BASE_LEN_OFFSET), u16_at_36);
				result(!h->next || h->next >= off + BASE_SIZE, "base-cap-size",
				       "next capability at %u, ZPCI_BASE at %u: %u bytes", h->next, off,
				       h->next ? h->next - off : 0);
			} else {
				result(h->version == 2, "base-cap-v2",
				       "ZPCI_BASE version %u without the feature", h->version);
			}
		}
		if (h->next <= off)
			break;
		off = h->next;
	}
	if (!found)
		result(0, "base-cap", "no ZPCI_BASE capability");
	free(info);

	if (plain) {
		/* plain vfio-pci offers the error IRQ to PCIe functions only */
		int r = ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, &ii) < 0 ? -errno : 0;

		printf("INFO: %s plain vfio-pci GET_IRQ_INFO(ERR) -> %d count %u\n", label, r,
		       r ? 0 : ii.count);
	} else if (ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, &ii) < 0) {
		result(0, "err-irq-info", "GET_IRQ_INFO(ERR): %s", strerror(errno));
	} else {
		result(ii.count == 1 && (ii.flags & VFIO_IRQ_INFO_EVENTFD), "err-irq-info",
		       "GET_IRQ_INFO(ERR) count %u flags 0x%x", ii.count, ii.flags);
	}
}

static void check_request_errnos(int dev)
{
	uint32_t hdr = sizeof(struct vfio_device_feature);
	uint8_t ccdf[CCDF_LEN];
	struct zpci_err_req req = { .data = (uintptr_t)ccdf };
	uint32_t plen = sizeof(req);
	int r;

	r = feature(dev,
		    VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_ZPCI_ERROR,
		    NULL, 0, hdr);
	result(r == 0, "probe-get", "PROBE|GET -> %d", r);
	r = feature(dev,
		    VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_ZPCI_ERROR,
		    NULL, 0, hdr);
	result(r == -EINVAL, "probe-set", "PROBE|SET -> %d (want -EINVAL)", r);
	r = feature(dev, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_ZPCI_ERROR, &req, plen, hdr + plen);
	result(r == -EINVAL, "set-einval", "SET -> %d (want -EINVAL)", r);
	r = feature(dev, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_ZPCI_ERROR, &req, plen,
		    hdr + plen - 1);
	result(r == -EINVAL, "argsz-short-payload", "argsz %u -> %d (want -EINVAL)", hdr + plen - 1, r);
	r = feature(dev, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_ZPCI_ERROR, NULL, 0, hdr - 1);
	result(r == -EINVAL, "argsz-short-header", "argsz %u -> %d (want -EINVAL)", hdr - 1, r);
	/* a larger argsz is fine; the payload is only the pointer */
	r = feature(dev, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_ZPCI_ERROR, &req, plen, hdr + 64);
	result(r == -ENOMSG, "argsz-large", "argsz %u, nothing pending -> %d (want -ENOMSG)", hdr + 64, r);
	r = get_rec(dev, ccdf);
	result(r == -ENOMSG, "empty-enomsg", "GET, nothing pending -> %d (want -ENOMSG)", r);
}

/* data == 0 is refused before anything is taken: the record stays. */
static void check_data_zero(int dev)
{
	struct zpci_err_req req = { .data = 0 };
	unsigned int pec = 0;
	int r, r2;

	inject_pec(0x45);
	r = feature(dev, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_ZPCI_ERROR, &req, sizeof(req),
		    sizeof(struct vfio_device_feature) + sizeof(req));
	r2 = get_pec(dev, &pec);
	result(r == -EINVAL && r2 == 0 && pec == 0x45, "data-zero-einval",
	       "GET with data 0 -> %d (want -EINVAL); next GET -> %d pec 0x%x", r, r2, pec);
}

static void check_recoverable(int dev, int efd)
{
	unsigned long fid = 0, fh = 0;
	uint8_t buf[CCDF_LEN + 8];
	int canary_ok = 1, i, r, k;
	uint64_t cnt;

	efd_count(efd);
	k = kmsg_open();
	r = inject_pec(0x3a);
	cnt = efd_count(efd);
	result(r == 0 && cnt >= 1, "eventfd-signalled", "inject 0x3a -> %d, eventfd count %" PRIu64, r,
	       cnt);
	result(kmsg_seen(k, LEAVE_MSG), "left-to-user", "kernel message \"%s\"", LEAVE_MSG);
	read_sysfs_ulong("function_id", &fid);
	read_sysfs_ulong("function_handle", &fh);
	memset(buf, 0xa5, sizeof(buf));
	r = get_rec(dev, buf);
	for (i = CCDF_LEN; i < (int)sizeof(buf); i++)
		canary_ok &= buf[i] == 0xa5;
	result(r == 0 && be16(buf + 30) == 0x3a && be32(buf + 8) == fid && be32(buf + 4) == fh &&
		       canary_ok,
	       "record-content", "GET -> %d pec 0x%x fid 0x%x (sysfs 0x%lx) fh 0x%x (sysfs 0x%lx), %s", r,
	       be16(buf + 30), be32(buf + 8), fid, be32(buf + 4), fh,
	       canary_ok ? "32 bytes written" : "wrote past 32 bytes");
}

static void check_permanent(int dev, int efd)
{
	unsigned int pec = 0;
	uint64_t cnt;
	int r, k, left;

	efd_count(efd);
	k = kmsg_open();
	r = inject_pec(0x3b);
	cnt = efd_count(efd);
	left = kmsg_seen(k, LEAVE_MSG);
	r = r ? r : get_pec(dev, &pec);
	result(r == 0 && pec == 0x3b && cnt >= 1 && !left, "permanent-kept",
	       "inject 0x3b -> kept pec 0x%x, eventfd count %" PRIu64 ", recovery message %s", pec, cnt,
	       left ? "logged (wrong)" : "not logged");
}

static void check_fmb_not_kept(int dev, int efd)
{
	unsigned long pend = 99;
	unsigned int pec = 0;
	uint64_t cnt;
	int r, i, ok = 1;

	efd_count(efd);
	for (i = 0; i < 3; i++)
		ok &= inject_pec(0x2a + i) == 0;
	cnt = efd_count(efd);
	read_sysfs_ulong("zpci_err_pending", &pend);
	r = get_pec(dev, &pec);
	result(ok && cnt == 0 && pend == 0 && r == -ENOMSG, "fmb-not-kept",
	       "inject 0x2a 0x2b 0x2c -> eventfd count %" PRIu64 ", %lu pending, GET -> %d", cnt, pend,
	       r);
}

static void check_raw_ccdf(int dev)
{
	/* ett 0xa, mvn 0x123, dmaas 0x45, q 1, rw 1; faddr; pec 0x0101 */
	static const uint8_t in[CCDF_LEN] = {
		0x00, 0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x0a,
		0xbc, 0xa1, 0x23, 0x45, 0x03, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
		0x77, 0x88, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01,
	};
	uint8_t out[CCDF_LEN];
	int r = inject_ccdf(in);

	memset(out, 0, sizeof(out));
	r = r ? r : get_rec(dev, out);
	result(r == 0 && !memcmp(in, out, CCDF_LEN), "raw-ccdf", "injected CCDF returned byte for byte -> %d",
	       r);
}

static void check_order_and_overflow(int dev)
{
	unsigned long dropped0 = 0, dropped1 = 0, pend = 0;
	unsigned int pec, i;
	int ok = 1, r, k, logged;
	char got[128] = "";

	for (i = 0; i < PENDING_MAX; i++)
		ok &= inject_pec(0x10 + i) == 0;
	for (i = 0; i < PENDING_MAX; i++) {
		r = get_pec(dev, &pec);
		snprintf(got + strlen(got), sizeof(got) - strlen(got), " 0x%x", pec);
		ok &= r == 0 && pec == 0x10 + i;
	}
	r = get_pec(dev, &pec);
	ok &= r == -ENOMSG;
	result(ok, "fifo-order", "4 injected, read back:%s, then %d", got, r);

	read_sysfs_ulong("zpci_err_dropped", &dropped0);
	ok = 1;
	got[0] = 0;
	k = kmsg_open();
	for (i = 0; i < PENDING_MAX + 2; i++)
		ok &= inject_pec(0x20 + i) == 0;
	logged = kmsg_seen(k, "Maximum number (4) of pending error events queued");
	read_sysfs_ulong("zpci_err_pending", &pend);
	read_sysfs_ulong("zpci_err_dropped", &dropped1);
	for (i = 0; i < PENDING_MAX; i++) {
		r = get_pec(dev, &pec);
		snprintf(got + strlen(got), sizeof(got) - strlen(got), " 0x%x", pec);
		ok &= r == 0 && pec == 0x20 + i;
	}
	r = get_pec(dev, &pec);
	ok &= r == -ENOMSG && pend == PENDING_MAX && dropped1 - dropped0 == 2;
	result(ok, "overflow-drops-newest", "6 injected, %lu pending, %lu dropped, read back:%s, then %d",
	       pend, dropped1 - dropped0, got, r);
	result(logged, "overflow-message", "kernel message \"Maximum number (4) of pending error events queued\" %s",
	       logged ? "seen" : "missing");
}

static void check_reset_keeps(int dev)
{
	unsigned int pec = 0;
	int r;

	inject_pec(0x3a);
	r = ioctl(dev, VFIO_DEVICE_RESET) < 0 ? -errno : 0;
	if (r == -EINVAL || r == -ENOTTY) {
		drain(dev);
		printf("SKIP: %s reset-keeps-queue: VFIO_DEVICE_RESET not supported (%d)\n", label, r);
		return;
	}
	r = r ? r : get_pec(dev, &pec);
	result(r == 0 && pec == 0x3a, "reset-keeps-queue", "RESET then GET -> %d pec 0x%x", r, pec);
	drain(dev);
}

/* A buffer that cannot be written: -EFAULT, and the record is gone. */
static void check_efault(int dev)
{
	struct zpci_err_req bad = { .data = 8 };
	unsigned int pec = 0;
	int r;

	inject_pec(0x44);
	inject_pec(0x46);
	r = feature(dev, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_ZPCI_ERROR, &bad, sizeof(bad),
		    sizeof(struct vfio_device_feature) + sizeof(bad));
	result(r == -EFAULT, "bad-buffer-efault", "GET into an unmapped buffer -> %d", r);
	r = get_pec(dev, &pec);
	result(r == 0 && pec == 0x46, "efault-loses-record", "next GET -> %d pec 0x%x (want 0x46: 0x44 lost)", r,
	       pec);
	drain(dev);
}

static int run_feature_checks(const char *addr)
{
	unsigned long pend = 99, fid = 0;
	unsigned int pec = 0;
	char msg[128];
	int dev, efd, k, r, found;

	dev = open_device(addr);
	if (dev < 0) {
		result(0, "open", "cannot open %s: %s", addr, strerror(-dev));
		return 1;
	}
	result(1, "open", "group + container + device fd for %s", addr);
	check_info(dev);
	efd = register_err_eventfd(dev);
	result(efd >= 0, "err-eventfd", "SET_IRQS eventfd on ERR index -> %d", efd < 0 ? efd : 0);
	check_request_errnos(dev);
	check_data_zero(dev);
	if (efd >= 0) {
		check_recoverable(dev, efd);
		check_permanent(dev, efd);
		check_fmb_not_kept(dev, efd);
	}
	check_raw_ccdf(dev);
	check_order_and_overflow(dev);
	check_efault(dev);
	check_reset_keeps(dev);
	/* every function of an s390 guest is a zPCI function */
	printf("INFO: %s -ENODEV (not a zPCI function) cannot occur here\n", label);

	/* dropped at the last close, with a message */
	inject_pec(0x51);
	inject_pec(0x52);
	read_sysfs_ulong("function_id", &fid);
	snprintf(msg, sizeof(msg), "Unhandled PCI error events count=2 for PCI function 0x%lx", fid);
	k = kmsg_open();
	if (efd >= 0)
		close(efd);
	close(dev);
	found = kmsg_seen(k, msg);
	read_sysfs_ulong("zpci_err_pending", &pend);
	result(pend == 0 && found, "discard-at-close", "after close: %lu pending, \"%s\" %s", pend, msg,
	       found ? "seen" : "missing");

	/* nothing is kept while the device is closed */
	inject_pec(0x53);
	read_sysfs_ulong("zpci_err_pending", &pend);
	dev = open_device(addr);
	if (dev < 0) {
		result(0, "reopen", "cannot reopen %s: %s", addr, strerror(-dev));
		return 1;
	}
	r = get_pec(dev, &pec);
	result(pend == 0 && r == -ENOMSG, "closed-not-kept",
	       "inject while closed: %lu pending; after reopen GET -> %d", pend, r);
	inject_pec(0x54);
	r = get_pec(dev, &pec);
	result(r == 0 && pec == 0x54, "kept-after-reopen", "inject after reopen -> %d pec 0x%x", r, pec);
	close(dev);
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
	r = get_rec(dev, ccdf);
	result(r == -ENOTTY, "no-feature-get", "GET on plain vfio-pci -> %d (want -ENOTTY)", r);
	close(dev);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4 || (strcmp(argv[2], "feature") && strcmp(argv[2], "plain"))) {
		fprintf(stderr, "usage: %s LABEL feature|plain PCI-ADDRESS\n", argv[0]);
		return 2;
	}
	label = argv[1];
	plain = !strcmp(argv[2], "plain");
	snprintf(sysdir, sizeof(sysdir), "/sys/bus/pci/devices/%s", argv[3]);

	if (plain)
		run_plain_checks(argv[3]);
	else
		run_feature_checks(argv[3]);

	printf("SELFTEST %s pass=%d fail=%d\n", label, n_pass, n_fail);
	return n_fail ? 1 : 0;
}
