/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/vfio-zpci.h"
#include "daemon/vfio.h"
#include "tests/fake-vfio.h"

#define FID 0x21

typedef struct Records {
	ZpciEvent e[64];
	unsigned n;
} Records;

static void record(VfioDevice *d, ZpciEvent *e, void *userdata)
{
	Records *r = userdata;

	ck_assert_uint_lt(r->n, ELEMENTSOF(r->e));
	r->e[r->n++] = *e;
}

static FakeVfioConfig config_v20(void)
{
	return (FakeVfioConfig){
		.slot = "0001:00:00.0",
		.group = 7,
		.cdev = 3,
		.feature = FAKE_FEATURE_V20,
		.zpci_base_version = 3,
		.ccdf_err_length = 32,
		.err_irq_count = 1,
		.req_irq_count = 1,
		.fid = FID,
		.fh = 0x80002100,
		.pchid = 0x1c0,
		.vfn = 1,
		.pft = 0x0b,
		.gid = 4,
	};
}

static ZpciAttrs attrs_of(const FakeVfioConfig *c)
{
	ZpciAttrs a = {
		.fid = c->fid,
		.fh = c->fh,
		.pchid = c->pchid,
		.vfn = c->vfn,
		.pft = c->pft,
		.pfgid = c->gid,
		.has = ZPCI_ATTR_HAS_FH | ZPCI_ATTR_HAS_PCHID | ZPCI_ATTR_HAS_VFN | ZPCI_ATTR_HAS_PFT |
		       ZPCI_ATTR_HAS_PFGID,
	};

	snprintf(a.slot, sizeof(a.slot), "%s", c->slot);
	return a;
}

static ZpciCcdf ccdf(uint16_t pec)
{
	return (ZpciCcdf){ .fh = 0x80002100,
			   .fid = FID,
			   .ett = 1,
			   .mvn = 2,
			   .dmaas = 0,
			   .rw = true,
			   .faddr = 0x1000ULL * pec,
			   .pec = pec };
}

static int inject(FakeVfioDevice *fd, uint16_t pec)
{
	ZpciCcdf c = ccdf(pec);

	return fake_vfio_inject(fd, &c);
}

static int open_dev(FakeVfio *w, FakeVfioDevice *fd, const FakeVfioConfig *c, VfioDevice **ret)
{
	VfioLocation loc = fake_vfio_location(fd);
	ZpciAttrs a = attrs_of(c);

	return vfio_device_open(&fake_vfio_ops, w, &loc, &a, ret);
}

START_TEST(test_locate)
{
	char tmpl[] = "/tmp/test-vfio-XXXXXX", path[PATH_MAX], dev[256];
	VfioLocation loc;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	snprintf(dev, sizeof(dev), "%s/0001:00:00.0", tmpl);
	ck_assert_int_eq(mkdir(dev, 0755), 0);
	ck_assert_int_eq(vfio_locate(dev, &loc), -ENOENT);

	snprintf(path, sizeof(path), "%s/iommu_group", dev);
	ck_assert_int_eq(symlink("../../../kernel/iommu_groups/12", path), 0);
	ck_assert_int_eq(vfio_locate(dev, &loc), 0);
	ck_assert_str_eq(loc.slot, "0001:00:00.0");
	ck_assert_str_eq(loc.group, "/dev/vfio/12");
	ck_assert_str_eq(loc.cdev, "");

	snprintf(path, sizeof(path), "%s/vfio-dev", dev);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/vfio-dev/vfio3", dev);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	/* a kernel without vfio cdev support: the class device has no number */
	ck_assert_int_eq(vfio_locate(dev, &loc), 0);
	ck_assert_str_eq(loc.cdev, "");
	ck_assert_str_eq(loc.group, "/dev/vfio/12");

	snprintf(path, sizeof(path), "%s/vfio-dev/vfio3/dev", dev);
	{
		FILE *f = fopen(path, "we");

		ck_assert_ptr_nonnull(f);
		ck_assert_int_ge(fputs("511:3\n", f), 0);
		ck_assert_int_eq(fclose(f), 0);
	}
	ck_assert_int_eq(vfio_locate(dev, &loc), 0);
	ck_assert_str_eq(loc.cdev, "/dev/vfio/devices/vfio3");
	ck_assert_str_eq(loc.group, "/dev/vfio/12");
	unlink(path);
	snprintf(path, sizeof(path), "%s/vfio-dev/vfio3", dev);

	ck_assert_int_eq(vfio_locate("relative", &loc), -EINVAL);
	ck_assert_int_eq(vfio_locate("", &loc), -EINVAL);

	rmdir(path);
	snprintf(path, sizeof(path), "%s/vfio-dev", dev);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/iommu_group", dev);
	unlink(path);
	rmdir(dev);
	rmdir(tmpl);
}
END_TEST

START_TEST(test_cdev_v20_sequence_and_records)
{
	FakeVfio *w = fake_vfio_new();
	FakeVfioConfig c = config_v20();
	FakeVfioDevice *fd = fake_vfio_add(w, &c);
	static const unsigned long expected[] = {
		VFIO_DEVICE_BIND_IOMMUFD, IOMMU_IOAS_ALLOC,         VFIO_DEVICE_ATTACH_IOMMUFD_PT,
		VFIO_DEVICE_GET_INFO,     VFIO_DEVICE_FEATURE,      VFIO_DEVICE_GET_IRQ_INFO,
		VFIO_DEVICE_SET_IRQS,     VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_SET_IRQS,
	};
	const unsigned long *log;
	VfioDevice *d = NULL;
	Records rec = {};
	bool more = true;
	unsigned n;

	ck_assert_int_eq(open_dev(w, fd, &c, &d), 0);
	n = fake_vfio_log(w, &log);
	ck_assert_uint_eq(n, ELEMENTSOF(expected));
	for (unsigned i = 0; i < n; i++)
		ck_assert_uint_eq(log[i], expected[i]);

	ck_assert(vfio_device_uses_cdev(d));
	ck_assert(!vfio_device_is_delegated(d));
	ck_assert_uint_eq(vfio_device_zpci_base_version(d), 3);
	ck_assert_uint_eq(vfio_device_ccdf_err_length(d), 32);
	ck_assert_int_eq(fake_vfio_stats(fd).err_eventfd, vfio_device_err_fd(d));
	ck_assert_int_eq(fake_vfio_stats(fd).req_eventfd, vfio_device_req_fd(d));
	ck_assert(fake_vfio_stats(fd).open);

	/* empty right after open */
	ck_assert_int_eq(vfio_device_drain(d, VFIO_DRAIN_BATCH, record, &rec, &more), 0);
	ck_assert(!more);
	ck_assert_int_eq(vfio_device_ack(d, vfio_device_err_fd(d)), 0);

	ck_assert_int_eq(inject(fd, 0x3a), 1);
	ck_assert_int_eq(inject(fd, 0x3b), 1);
	ck_assert_int_eq(vfio_device_ack(d, vfio_device_err_fd(d)), 2);
	ck_assert_int_eq(vfio_device_drain(d, VFIO_DRAIN_BATCH, record, &rec, &more), 2);
	ck_assert(!more);
	ck_assert_uint_eq(rec.n, 2);
	ck_assert_int_eq(rec.e[0].kind, EVENT_ERROR);
	ck_assert_uint_eq(rec.e[0].sources, EVENT_SOURCE_VFIO);
	ck_assert_uint_eq(rec.e[0].fid, FID);
	ck_assert_uint_eq(rec.e[0].pec, 0x3a);
	ck_assert_uint_eq(rec.e[0].fh, 0x80002100);
	ck_assert_uint_eq(rec.e[0].faddr, 0x3a000);
	ck_assert(rec.e[0].rw);
	ck_assert_uint_eq(rec.e[0].mvn, 2);
	ck_assert_uint_eq(rec.e[0].has & (EVENT_HAS_PEC | EVENT_HAS_CCDF | EVENT_HAS_FH),
			  EVENT_HAS_PEC | EVENT_HAS_CCDF | EVENT_HAS_FH);
	ck_assert_str_eq(rec.e[0].detail, "");
	ck_assert_uint_eq(rec.e[1].pec, 0x3b);
	ck_assert_uint_eq(fake_vfio_stats(fd).enomsg, 2);

	/* the kernel wants it back */
	fake_vfio_request(fd);
	ck_assert_int_eq(vfio_device_ack(d, vfio_device_req_fd(d)), 1);

	vfio_device_close(d, record, &rec);
	ck_assert(!fake_vfio_stats(fd).open);
	ck_assert_uint_eq(fake_vfio_open_fds(w), 0);
	fake_vfio_free(w);
}
END_TEST

START_TEST(test_group)
{
	FakeVfio *w = fake_vfio_new();
	FakeVfioConfig c = config_v20();
	FakeVfioDevice *fd;
	VfioDevice *d = NULL;
	Records rec = {};
	bool more;

	c.cdev = -1;
	fd = fake_vfio_add(w, &c);

	ck_assert_int_eq(open_dev(w, fd, &c, &d), 0);
	ck_assert(!vfio_device_uses_cdev(d));
	ck_assert_uint_eq(vfio_device_ccdf_err_length(d), 32);

	/* empty: one GET answered ENOMSG */
	ck_assert_int_eq(vfio_device_drain(d, VFIO_DRAIN_BATCH, record, &rec, &more), 0);
	ck_assert_uint_eq(fake_vfio_stats(fd).gets, 1);

	for (uint16_t p = 0x10; p < 0x13; p++)
		inject(fd, p);
	ck_assert_int_eq(vfio_device_drain(d, VFIO_DRAIN_BATCH, record, &rec, &more), 3);
	ck_assert(!more);
	/* three records and the GET that finds the queue empty */
	ck_assert_uint_eq(fake_vfio_stats(fd).gets, 5);
	ck_assert_uint_eq(rec.e[0].pec, 0x10);
	ck_assert_uint_eq(rec.e[2].pec, 0x12);
	ck_assert(rec.e[1].has & EVENT_HAS_CCDF);
	ck_assert_uint_eq(rec.e[1].sources, EVENT_SOURCE_VFIO);

	vfio_device_close(d, record, &rec);
	ck_assert_uint_eq(fake_vfio_open_fds(w), 0);
	fake_vfio_free(w);
}
END_TEST

/* The capability as the kernel lays it out: a native __u32 ccdf_err_length
 * at offset 36 of a 40-byte ZPCI_BASE version 3. On big-endian s390x the
 * bytes at 36..39 are 00 00 00 20, so a 16-bit read at 36 would give 0. */
START_TEST(test_zpci_base_v3_layout)
{
	struct fake_zpci_base_v3 k = { .ccdf_err_length = 32 };
	const uint8_t *b = (const uint8_t *)&k;
	FakeVfio *w = fake_vfio_new();
	FakeVfioConfig c = config_v20();
	FakeVfioDevice *fd;
	VfioDevice *d = NULL;

	ck_assert_uint_eq(sizeof(k), 40);
	ck_assert_uint_eq(offsetof(struct fake_zpci_base_v3, ccdf_err_length), 36);
	ck_assert_uint_eq(sizeof(k.ccdf_err_length), 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	ck_assert(b[36] == 0 && b[37] == 0 && b[38] == 0 && b[39] == 32);
#else
	ck_assert(b[36] == 32 && b[37] == 0 && b[38] == 0 && b[39] == 0);
#endif

	fd = fake_vfio_add(w, &c);
	ck_assert_int_eq(open_dev(w, fd, &c, &d), 0);
	ck_assert_uint_eq(vfio_device_zpci_base_version(d), 3);
	ck_assert_uint_eq(vfio_device_ccdf_err_length(d), 32);
	inject(fd, 0x3a);
	ck_assert_int_eq(vfio_device_drain(d, VFIO_DRAIN_BATCH, NULL, NULL, NULL), 1);
	vfio_device_close(d, NULL, NULL);
	ck_assert_uint_eq(fake_vfio_open_fds(w), 0);
	fake_vfio_free(w);
}
END_TEST

START_TEST(test_queue_drops_newest)
{
	FakeVfio *w = fake_vfio_new();
	FakeVfioConfig c = config_v20();
	FakeVfioDevice *fd = fake_vfio_add(w, &c);
	VfioDevice *d = NULL;
	Records rec = {};
	bool more;

	ck_assert_int_eq(open_dev(w, fd, &c, &d), 0);
	for (uint16_t p = 1; p <= 6; p++)
		ck_assert_int_eq(inject(fd, p), p <= 4);
	ck_assert_uint_eq(fake_vfio_stats(fd).dropped, 2);
	ck_assert_int_eq(vfio_device_drain(d, VFIO_DRAIN_BATCH, record, &rec, &more), 4);
	for (unsigned i = 0; i < 4; i++)
		ck_assert_uint_eq(rec.e[i].pec, i + 1);
	vfio_device_close(d, NULL, NULL);
	fake_vfio_free(w);
}
END_TEST

START_TEST(test_second_open_is_ebusy)
{
	FakeVfio *w = fake_vfio_new();
	FakeVfioConfig c = config_v20(), g;
	FakeVfioDevice *fd = fake_vfio_add(w, &c), *gd;
	VfioDevice *d = NULL, *d2 = NULL;
	unsigned before;

	/* cdev: the bind fails with EINVAL */
	ck_assert_int_eq(open_dev(w, fd, &c, &d), 0);
	before = fake_vfio_open_fds(w);
	ck_assert_int_eq(open_dev(w, fd, &c, &d2), -EBUSY);
	ck_assert_ptr_null(d2);
	ck_assert_uint_eq(fake_vfio_open_fds(w), before);
	vfio_device_close(d, NULL, NULL);

	/* group: the open fails with EBUSY */
	g = config_v20();
	g.cdev = -1;
	g.group = 9;
	g.slot = "0002:00:00.0";
	gd = fake_vfio_add(w, &g);
	ck_assert_int_eq(fake_vfio_hold(gd, false), 0);
	ck_assert_int_eq(open_dev(w, gd, &g, &d2), -EBUSY);
	ck_assert_uint_eq(fake_vfio_open_fds(w), 0);
	fake_vfio_free(w);
}
END_TEST

START_TEST(test_feature_absent)
{
	FakeVfio *w = fake_vfio_new();
	FakeVfioConfig c = config_v20();
	FakeVfioDevice *fd;
	VfioDevice *d = NULL;

	c.feature = FAKE_FEATURE_NONE;
	fd = fake_vfio_add(w, &c);
	ck_assert_int_eq(open_dev(w, fd, &c, &d), -ENOTTY);
	ck_assert_ptr_null(d);
	ck_assert(!fake_vfio_stats(fd).open);
	ck_assert_uint_eq(fake_vfio_open_fds(w), 0);
	fake_vfio_free(w);
}
END_TEST

START_TEST(test_zpci_base_versions)
{
	/* Only version 3 with a sane length opens; nothing falls back to
	 * another form. 0x00010020 has 0x20 in its low half: a 16-bit read
	 * on little-endian would take it for 32. */
	static const struct {
		unsigned version;
		uint32_t length;
		int ret;
	} cases[] = {
		{ 0, 0, -ENOTTY },
		{ 1, 0, -ENOTTY },
		{ 2, 0, -ENOTTY },
		{ 2, 32, -ENOTTY },
		{ 3, 0, -EBADMSG },
		{ 3, 16, -EBADMSG },
		{ 3, 0x00010020, -EBADMSG },
		{ 3, 0x00200000, -EBADMSG },
		{ 3, 32, 0 },
		{ 3, 64, 0 },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		FakeVfio *w = fake_vfio_new();
		FakeVfioConfig c = config_v20();
		FakeVfioDevice *fd;
		VfioDevice *d = NULL;
		Records rec = {};
		bool more;

		c.zpci_base_version = cases[i].version;
		c.ccdf_err_length = cases[i].length;
		fd = fake_vfio_add(w, &c);
		ck_assert_msg(open_dev(w, fd, &c, &d) == cases[i].ret, "version %u length 0x%x",
			      cases[i].version, cases[i].length);
		if (cases[i].ret < 0) {
			ck_assert_ptr_null(d);
			ck_assert(!fake_vfio_stats(fd).open);
			ck_assert_uint_eq(fake_vfio_stats(fd).probes, 0);
		} else {
			ck_assert_uint_eq(vfio_device_zpci_base_version(d), cases[i].version);
			ck_assert_uint_eq(vfio_device_ccdf_err_length(d), cases[i].length);
			inject(fd, 0x40);
			ck_assert_int_eq(vfio_device_drain(d, VFIO_DRAIN_BATCH, record, &rec, &more), 1);
			ck_assert_uint_eq(rec.e[0].pec, 0x40);
			vfio_device_close(d, NULL, NULL);
		}
		ck_assert_uint_eq(fake_vfio_open_fds(w), 0);
		fake_vfio_free(w);
	}
}
END_TEST

START_TEST(test_no_err_irq)
{
	FakeVfio *w = fake_vfio_new();
	FakeVfioConfig c = config_v20();
	FakeVfioDevice *fd;
	VfioDevice *d = NULL;

	c.err_irq_count = 0;
	fd = fake_vfio_add(w, &c);
	ck_assert_int_eq(open_dev(w, fd, &c, &d), -ENODEV);
	ck_assert_uint_eq(fake_vfio_open_fds(w), 0);
	ck_assert(!fake_vfio_stats(fd).open);
	fake_vfio_free(w);
}
END_TEST

START_TEST(test_no_req_irq_is_tolerated)
{
	FakeVfio *w = fake_vfio_new();
	FakeVfioConfig c = config_v20();
	FakeVfioDevice *fd;
	VfioDevice *d = NULL;

	c.req_irq_count = 0;
	fd = fake_vfio_add(w, &c);
	ck_assert_int_eq(open_dev(w, fd, &c, &d), 0);
	ck_assert_int_lt(vfio_device_req_fd(d), 0);
	vfio_device_close(d, NULL, NULL);
	ck_assert_uint_eq(fake_vfio_open_fds(w), 0);
	fake_vfio_free(w);
}
END_TEST

START_TEST(test_info_grows_and_caps_validated)
{
	FakeVfio *w = fake_vfio_new();
	FakeVfioConfig c = config_v20(), l;
	FakeVfioDevice *fd, *ld;
	VfioDevice *d = NULL;

	/* capabilities larger than the first buffer: asked again with the kernel's argsz */
	c.extra_cap_bytes = 5000;
	fd = fake_vfio_add(w, &c);
	ck_assert_int_eq(open_dev(w, fd, &c, &d), 0);
	ck_assert_uint_eq(fake_vfio_stats(fd).info_calls, 2);
	vfio_device_close(d, NULL, NULL);

	/* a chain that points back at itself */
	l = config_v20();
	l.looping_caps = true;
	l.cdev = 4;
	l.group = 8;
	ld = fake_vfio_add(w, &l);
	ck_assert_int_eq(open_dev(w, ld, &l, &d), -EBADMSG);
	ck_assert_uint_eq(fake_vfio_open_fds(w), 0);
	fake_vfio_free(w);
}
END_TEST

START_TEST(test_garbage_record)
{
	FakeVfio *w = fake_vfio_new();
	FakeVfioConfig c = config_v20();
	FakeVfioDevice *fd = fake_vfio_add(w, &c);
	uint8_t raw[ZPCI_CCDF_ERR_SIZE];
	VfioDevice *d = NULL;
	Records rec = {};
	bool more;

	ck_assert_int_eq(open_dev(w, fd, &c, &d), 0);
	memset(raw, 0xff, sizeof(raw));
	fake_vfio_inject_raw(fd, raw);
	ck_assert_int_eq(vfio_device_drain(d, VFIO_DRAIN_BATCH, record, &rec, &more), 1);
	/* the record is kept, for the function whose queue it came from */
	ck_assert_uint_eq(rec.e[0].fid, FID);
	ck_assert_uint_eq(rec.e[0].pec, 0xffff);
	ck_assert_uint_eq(rec.e[0].ett, 0xf);
	ck_assert_str_eq(rec.e[0].detail, "record names function 0xffffffff");
	vfio_device_close(d, NULL, NULL);
	fake_vfio_free(w);
}
END_TEST

START_TEST(test_device_goes_bad)
{
	FakeVfio *w = fake_vfio_new();
	FakeVfioConfig c = config_v20();
	FakeVfioDevice *fd = fake_vfio_add(w, &c);
	VfioDevice *d = NULL;
	Records rec = {};
	bool more;

	ck_assert_int_eq(open_dev(w, fd, &c, &d), 0);
	fake_vfio_gone(fd);
	ck_assert_int_eq(vfio_device_drain(d, VFIO_DRAIN_BATCH, record, &rec, &more), -ENODEV);
	ck_assert_int_eq(vfio_device_reset(d, record, &rec), -ENODEV);
	ck_assert_uint_eq(fake_vfio_stats(fd).resets, 0);
	vfio_device_close(d, record, &rec); /* draining a gone device is harmless */
	ck_assert_uint_eq(rec.n, 0);
	ck_assert_uint_eq(fake_vfio_open_fds(w), 0);
	fake_vfio_free(w);
}
END_TEST

START_TEST(test_bounded_drain)
{
	for (int group = 0; group < 2; group++) {
		FakeVfio *w = fake_vfio_new();
		FakeVfioConfig c = config_v20();
		FakeVfioDevice *fd;
		VfioDevice *d = NULL;
		Records rec = {};
		bool more = false;

		if (group)
			c.cdev = -1;
		fd = fake_vfio_add(w, &c);
		ck_assert_int_eq(open_dev(w, fd, &c, &d), 0);
		for (uint16_t p = 1; p <= 4; p++)
			inject(fd, p);

		ck_assert_int_eq(vfio_device_drain(d, 3, record, &rec, &more), 3);
		ck_assert(more);
		ck_assert_uint_eq(fake_vfio_stats(fd).queued, 1);
		ck_assert_int_eq(vfio_device_drain(d, 3, record, &rec, &more), 1);
		ck_assert(!more);
		ck_assert_uint_eq(rec.n, 4);
		ck_assert_uint_eq(rec.e[3].pec, 4);
		vfio_device_close(d, NULL, NULL);
		fake_vfio_free(w);
	}
}
END_TEST

START_TEST(test_reset_and_close_drain_first)
{
	FakeVfio *w = fake_vfio_new();
	FakeVfioConfig c = config_v20();
	FakeVfioDevice *fd = fake_vfio_add(w, &c);
	VfioDevice *d = NULL;
	Records rec = {};

	ck_assert_int_eq(open_dev(w, fd, &c, &d), 0);
	for (uint16_t p = 1; p <= 3; p++)
		inject(fd, p);
	ck_assert_int_eq(vfio_device_reset(d, record, &rec), 0);
	ck_assert_uint_eq(rec.n, 3);
	ck_assert_uint_eq(fake_vfio_stats(fd).resets, 1);
	ck_assert_uint_eq(fake_vfio_stats(fd).queued_at_reset, 0);

	inject(fd, 0x3a);
	inject(fd, 0x3b);
	vfio_device_close(d, record, &rec);
	ck_assert_uint_eq(rec.n, 5);
	ck_assert_uint_eq(rec.e[4].pec, 0x3b);
	ck_assert_uint_eq(fake_vfio_stats(fd).discarded, 0);
	ck_assert_uint_eq(fake_vfio_open_fds(w), 0);
	fake_vfio_free(w);
}
END_TEST

START_TEST(test_delegated)
{
	FakeVfio *w = fake_vfio_new();
	FakeVfioConfig c = config_v20();
	FakeVfioDevice *fd = fake_vfio_add(w, &c);
	ZpciAttrs a = attrs_of(&c);
	VfioDevice *d = NULL;
	Records rec = {};
	int owner_fd, owner_efd;
	bool more;

	/* the owner holds the device and has its own ERR eventfd registered */
	ck_assert_int_eq(fake_vfio_hold(fd, false), 0);
	owner_efd = 1000;
	fake_vfio_set_err_eventfd(fd, owner_efd);
	owner_fd = fake_vfio_hold(fd, true);
	ck_assert_int_ge(owner_fd, 0);

	ck_assert_int_eq(vfio_device_adopt(&fake_vfio_ops, w, owner_fd, &a, &d), 0);
	ck_assert(vfio_device_is_delegated(d));
	ck_assert(vfio_device_uses_cdev(d));
	ck_assert_int_lt(vfio_device_req_fd(d), 0);
	ck_assert_int_eq(fake_vfio_stats(fd).req_eventfd, -1);
	/* zpcid's eventfd replaced the owner's */
	ck_assert_int_eq(fake_vfio_stats(fd).err_eventfd, vfio_device_err_fd(d));

	inject(fd, 0x2a);
	ck_assert_int_eq(vfio_device_ack(d, vfio_device_err_fd(d)), 1);
	ck_assert_int_eq(vfio_device_drain(d, VFIO_DRAIN_BATCH, record, &rec, &more), 1);
	ck_assert_uint_eq(rec.e[0].sources, EVENT_SOURCE_DELEGATED);

	vfio_device_close(d, record, &rec);
	ck_assert_int_eq(fake_vfio_stats(fd).err_eventfd, -1);
	ck_assert(fake_vfio_stats(fd).open); /* the owner still has it */
	ck_assert_uint_eq(fake_vfio_open_fds(w), 0);
	fake_vfio_free(w);
}
END_TEST

START_TEST(test_delegated_rejects)
{
	FakeVfio *w = fake_vfio_new();
	FakeVfioConfig c = config_v20();
	FakeVfioDevice *fd = fake_vfio_add(w, &c);
	ZpciAttrs a = attrs_of(&c);
	VfioDevice *d = NULL;
	int owner_fd, p[2];

	/* another function */
	a.pchid = 0x1c4;
	owner_fd = fake_vfio_hold(fd, true);
	ck_assert_int_eq(vfio_device_adopt(&fake_vfio_ops, w, owner_fd, &a, &d), -ENXIO);
	ck_assert_ptr_null(d);
	ck_assert_uint_eq(fake_vfio_open_fds(w), 0);

	/* no ZPCI_BASE: cannot be verified */
	a = attrs_of(&c);
	c.zpci_base_version = 0;
	c.cdev = 5;
	c.group = 11;
	owner_fd = fake_vfio_hold(fake_vfio_add(w, &c), true);
	ck_assert_int_eq(vfio_device_adopt(&fake_vfio_ops, w, owner_fd, &a, &d), -ENXIO);
	ck_assert_uint_eq(fake_vfio_open_fds(w), 0);

	/* not a device at all: a pipe (registered with the fake so it can close it) */
	ck_assert_int_eq(pipe(p), 0);
	close(p[1]);
	{
		/* the fake only closes fds it knows: hand it over through eventfd's table */
		int e = fake_vfio_ops.eventfd(w, 0, 0);

		ck_assert_int_ge(e, 0);
		ck_assert_int_eq(dup2(p[0], e), e);
		close(p[0]);
		ck_assert_int_eq(vfio_device_adopt(&fake_vfio_ops, w, e, &a, &d), -EINVAL);
	}
	ck_assert_uint_eq(fake_vfio_open_fds(w), 0);
	fake_vfio_free(w);
}
END_TEST

static Suite *vfio_suite(void)
{
	Suite *s = suite_create("vfio");
	TCase *tc = tcase_create("vfio");

	tcase_add_test(tc, test_locate);
	tcase_add_test(tc, test_cdev_v20_sequence_and_records);
	tcase_add_test(tc, test_group);
	tcase_add_test(tc, test_zpci_base_v3_layout);
	tcase_add_test(tc, test_queue_drops_newest);
	tcase_add_test(tc, test_second_open_is_ebusy);
	tcase_add_test(tc, test_feature_absent);
	tcase_add_test(tc, test_zpci_base_versions);
	tcase_add_test(tc, test_no_err_irq);
	tcase_add_test(tc, test_no_req_irq_is_tolerated);
	tcase_add_test(tc, test_info_grows_and_caps_validated);
	tcase_add_test(tc, test_garbage_record);
	tcase_add_test(tc, test_device_goes_bad);
	tcase_add_test(tc, test_bounded_drain);
	tcase_add_test(tc, test_reset_and_close_drain_first);
	tcase_add_test(tc, test_delegated);
	tcase_add_test(tc, test_delegated_rejects);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(vfio_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
