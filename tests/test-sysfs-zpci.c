/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/sysfs-zpci.h"
#include "tests/test-util.h"

/* A temporary sysfs root holding bus/pci/devices/<slot>/ directories. */
static char root[] = "/tmp/zpcid-test-sysfs-XXXXXX";

static void setup(void)
{
	char path[256];

	strcpy(root, "/tmp/zpcid-test-sysfs-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	(void)snprintf(path, sizeof(path), "%s/bus", root);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	(void)snprintf(path, sizeof(path), "%s/bus/pci", root);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices", root);
	ck_assert_int_eq(mkdir(path, 0755), 0);
}

static void teardown(void)
{
	test_rm_rf(root);
}

static void add_device(const char *slot)
{
	char path[256];

	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", root, slot);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/uevent", root, slot);
	{
		FILE *f = fopen(path, "we");

		ck_assert_ptr_nonnull(f);
		fputs("PCI_SLOT_NAME=x\n", f);
		fclose(f);
	}
}

static void set_attr(const char *slot, const char *name, const char *value)
{
	char path[256];
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/%s", root, slot, name);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fputs(value, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void set_link(const char *slot, const char *name, const char *target)
{
	char path[256];

	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/%s", root, slot, name);
	ck_assert_int_eq(symlink(target, path), 0);
}

/* A function as a current kernel shows it. */
static void add_full_function(const char *slot)
{
	add_device(slot);
	set_attr(slot, "function_id", "0x00000011\n");
	set_attr(slot, "function_handle", "0x80000011\n");
	set_attr(slot, "pchid", "0x01c0\n");
	set_attr(slot, "vfn", "0x0001\n");
	set_attr(slot, "pfgid", "0x0a\n");
	set_attr(slot, "pft", "0x0b\n");
	set_attr(slot, "fidparm", "0x00\n");
	set_attr(slot, "port", "1\n");
	set_attr(slot, "uid", "0x1f\n");
	set_attr(slot, "uid_is_unique", "1\n");
	set_attr(slot, "mio_enabled", "1\n");
	set_attr(slot, "vendor", "0x144d\n");
	set_attr(slot, "device", "0xa824\n");
	set_attr(slot, "subsystem_vendor", "0x1014\n");
	set_attr(slot, "subsystem_device", "0x04b2\n");
	set_attr(slot, "class", "0x010802\n");
}

START_TEST(test_parse_hex)
{
	uint64_t v;

	ck_assert_int_eq(sysfs_parse_hex("0x00000011\n", UINT32_MAX, &v), 0);
	ck_assert_uint_eq(v, 0x11);
	ck_assert_int_eq(sysfs_parse_hex("0x1f", UINT32_MAX, &v), 0); /* no newline */
	ck_assert_uint_eq(v, 0x1f);
	ck_assert_int_eq(sysfs_parse_hex("0xFFFFffff\n", UINT32_MAX, &v), 0);
	ck_assert_uint_eq(v, 0xffffffff);
	ck_assert_int_eq(sysfs_parse_hex("0x0\n", UINT8_MAX, &v), 0);
	ck_assert_uint_eq(v, 0);

	ck_assert_int_eq(sysfs_parse_hex("0xZZ\n", UINT8_MAX, &v), -EBADMSG);
	ck_assert_int_eq(sysfs_parse_hex("", UINT8_MAX, &v), -EBADMSG);
	ck_assert_int_eq(sysfs_parse_hex("\n", UINT8_MAX, &v), -EBADMSG);
	ck_assert_int_eq(sysfs_parse_hex("0x\n", UINT8_MAX, &v), -EBADMSG);
	ck_assert_int_eq(sysfs_parse_hex("11\n", UINT8_MAX, &v), -EBADMSG);
	ck_assert_int_eq(sysfs_parse_hex(" 0x11\n", UINT8_MAX, &v), -EBADMSG);
	ck_assert_int_eq(sysfs_parse_hex("0x11 \n", UINT8_MAX, &v), -EBADMSG);
	ck_assert_int_eq(sysfs_parse_hex("0x11\n\n", UINT8_MAX, &v), -EBADMSG);
	ck_assert_int_eq(sysfs_parse_hex("-0x1\n", UINT8_MAX, &v), -EBADMSG);
	ck_assert_int_eq(sysfs_parse_hex(NULL, UINT8_MAX, &v), -EBADMSG);

	ck_assert_int_eq(sysfs_parse_hex("0x100\n", UINT8_MAX, &v), -ERANGE);
	ck_assert_int_eq(sysfs_parse_hex("0x10000\n", UINT16_MAX, &v), -ERANGE);
	ck_assert_int_eq(sysfs_parse_hex("0x100000000\n", UINT32_MAX, &v), -ERANGE);
	ck_assert_int_eq(sysfs_parse_hex("0xffffffffffffffffff\n", UINT64_MAX, &v), -ERANGE);
	ck_assert_int_eq(sysfs_parse_hex("0x2\n", 1, &v), -ERANGE);
}
END_TEST

START_TEST(test_parse_dec_bool)
{
	uint64_t v;
	bool b;

	ck_assert_int_eq(sysfs_parse_dec("1\n", UINT32_MAX, &v), 0);
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(sysfs_parse_dec("4294967295", UINT32_MAX, &v), 0);
	ck_assert_uint_eq(v, UINT32_MAX);
	ck_assert_int_eq(sysfs_parse_dec("4294967296", UINT32_MAX, &v), -ERANGE);
	ck_assert_int_eq(sysfs_parse_dec("99999999999999999999999999", UINT64_MAX, &v), -ERANGE);
	ck_assert_int_eq(sysfs_parse_dec("-1\n", UINT32_MAX, &v), -EBADMSG);
	ck_assert_int_eq(sysfs_parse_dec("0x1\n", UINT32_MAX, &v), -EBADMSG);
	ck_assert_int_eq(sysfs_parse_dec("", UINT32_MAX, &v), -EBADMSG);

	ck_assert_int_eq(sysfs_parse_bool("1\n", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(sysfs_parse_bool("0", &b), 0);
	ck_assert(!b);
	ck_assert_int_eq(sysfs_parse_bool("2\n", &b), -EBADMSG);
	ck_assert_int_eq(sysfs_parse_bool("yes\n", &b), -EBADMSG);
	ck_assert_int_eq(sysfs_parse_bool("", &b), -EBADMSG);
}
END_TEST

START_TEST(test_read_full_function)
{
	SysfsZpciProblems problems = {};
	ZpciAttrs a;
	int fd;

	add_full_function("0001:00:00.0");
	fd = sysfs_zpci_open(root, "0001:00:00.0");
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(sysfs_zpci_read_attrs(fd, "0001:00:00.0", &a, &problems), 0);
	close(fd);

	ck_assert_uint_eq(problems.n, 0);
	ck_assert_str_eq(a.slot, "0001:00:00.0");
	ck_assert_uint_eq(a.fid, 0x11);
	ck_assert_uint_eq(a.fh, 0x80000011);
	ck_assert_uint_eq(a.pchid, 0x1c0);
	ck_assert_uint_eq(a.vfn, 1);
	ck_assert_uint_eq(a.pfgid, 0x0a);
	ck_assert_uint_eq(a.pft, 0x0b);
	ck_assert_uint_eq(a.port, 1);
	ck_assert_uint_eq(a.uid, 0x1f);
	ck_assert(a.uid_is_unique);
	ck_assert_uint_eq(a.vendor, 0x144d);
	ck_assert_uint_eq(a.device, 0xa824);
	ck_assert_uint_eq(a.has, ZPCI_ATTR_HAS_FH | ZPCI_ATTR_HAS_UID | ZPCI_ATTR_HAS_UID_IS_UNIQUE |
					 ZPCI_ATTR_HAS_PCHID | ZPCI_ATTR_HAS_VFN | ZPCI_ATTR_HAS_PFGID |
					 ZPCI_ATTR_HAS_PFT | ZPCI_ATTR_HAS_PORT | ZPCI_ATTR_HAS_IDS);
}
END_TEST

START_TEST(test_read_older_kernel)
{
	SysfsZpciProblems problems = {};
	ZpciAttrs a;
	int fd;

	/* No uid_is_unique, port, uid. */
	add_device("0000:00:00.0");
	set_attr("0000:00:00.0", "function_id", "0x00000100\n");
	set_attr("0000:00:00.0", "function_handle", "0x00000101\n");
	set_attr("0000:00:00.0", "pchid", "0x0100\n");
	set_attr("0000:00:00.0", "pft", "0x05\n");
	fd = sysfs_zpci_open(root, "0000:00:00.0");
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(sysfs_zpci_read_attrs(fd, "0000:00:00.0", &a, &problems), 0);
	close(fd);
	ck_assert_uint_eq(problems.n, 0);
	ck_assert_uint_eq(a.fid, 0x100);
	ck_assert_uint_eq(a.has, ZPCI_ATTR_HAS_FH | ZPCI_ATTR_HAS_PCHID | ZPCI_ATTR_HAS_PFT);
}
END_TEST

START_TEST(test_not_zpci)
{
	ZpciAttrs a;
	int fd;

	add_device("0000:00:1f.2");
	set_attr("0000:00:1f.2", "vendor", "0x8086\n");
	set_attr("0000:00:1f.2", "device", "0x2922\n");
	fd = sysfs_zpci_open(root, "0000:00:1f.2");
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(sysfs_zpci_read_attrs(fd, "0000:00:1f.2", &a, NULL), 1);
	close(fd);
	ck_assert_int_eq(sysfs_zpci_open(root, "0000:00:1f.3"), -ENOENT);
	ck_assert_int_eq(sysfs_zpci_open(root, "../../etc"), -EINVAL);
}
END_TEST

static const SysfsZpciProblem *find_problem(const SysfsZpciProblems *p, const char *attr)
{
	for (size_t i = 0; i < p->n; i++)
		if (streq(p->p[i].attr, attr))
			return &p->p[i];
	return NULL;
}

START_TEST(test_malformed_values)
{
	SysfsZpciProblems problems = {};
	char huge[200];
	ZpciAttrs a;
	int fd;

	memset(huge, '1', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';

	add_device("0002:00:00.0");
	set_attr("0002:00:00.0", "function_id", "0x00000012"); /* no newline: fine */
	set_attr("0002:00:00.0", "pchid", "0xZZ\n");
	set_attr("0002:00:00.0", "pft", "0x100\n");
	set_attr("0002:00:00.0", "vfn", "");
	set_attr("0002:00:00.0", "port", huge);
	set_attr("0002:00:00.0", "uid_is_unique", "2\n");
	set_attr("0002:00:00.0", "uid", "0x7\n");
	fd = sysfs_zpci_open(root, "0002:00:00.0");
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(sysfs_zpci_read_attrs(fd, "0002:00:00.0", &a, &problems), 0);
	close(fd);

	ck_assert_uint_eq(a.fid, 0x12);
	ck_assert_uint_eq(a.has, ZPCI_ATTR_HAS_UID);
	ck_assert_uint_eq(a.uid, 7);
	ck_assert_uint_eq(problems.n, 5);
	ck_assert_int_eq(find_problem(&problems, "pchid")->error, -EBADMSG);
	ck_assert_str_eq(find_problem(&problems, "pchid")->value, "0xZZ");
	ck_assert_int_eq(find_problem(&problems, "pft")->error, -ERANGE);
	ck_assert_int_eq(find_problem(&problems, "vfn")->error, -EBADMSG);
	ck_assert_int_eq(find_problem(&problems, "port")->error, -EFBIG);
	ck_assert_int_eq(find_problem(&problems, "uid_is_unique")->error, -EBADMSG);
}
END_TEST

START_TEST(test_malformed_function_id)
{
	SysfsZpciProblems problems = {};
	ZpciAttrs a;
	int fd;

	add_device("0003:00:00.0");
	set_attr("0003:00:00.0", "function_id", "0x1_0\n");
	fd = sysfs_zpci_open(root, "0003:00:00.0");
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(sysfs_zpci_read_attrs(fd, "0003:00:00.0", &a, &problems), -EBADMSG);
	ck_assert_uint_eq(problems.n, 1);
	ck_assert_str_eq(problems.p[0].attr, "function_id");
	close(fd);
}
END_TEST

START_TEST(test_device_vanished)
{
	char path[300];
	SysfsBinding b;
	ZpciAttrs a;
	int fd;

	add_full_function("0004:00:00.0");
	fd = sysfs_zpci_open(root, "0004:00:00.0");
	ck_assert_int_ge(fd, 0);
	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/0004:00:00.0", root);
	test_rm_rf(path);
	ck_assert_int_eq(sysfs_zpci_read_attrs(fd, "0004:00:00.0", &a, NULL), -ENOENT);
	ck_assert_int_eq(sysfs_zpci_read_binding(fd, &b), -ENOENT);
	close(fd);
}
END_TEST

START_TEST(test_binding)
{
	char path[256];
	SysfsBinding b;
	int fd;

	add_full_function("0005:00:00.0");
	fd = sysfs_zpci_open(root, "0005:00:00.0");
	ck_assert_int_ge(fd, 0);

	ck_assert_int_eq(sysfs_zpci_read_binding(fd, &b), 0);
	ck_assert_str_eq(b.driver, "");
	ck_assert_int_eq(b.iommu_group, -1);
	ck_assert_str_eq(b.vfio_cdev, "");

	set_link("0005:00:00.0", "driver", "../../../bus/pci/drivers/vfio-pci");
	set_link("0005:00:00.0", "iommu_group", "../../../kernel/iommu_groups/7");
	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/0005:00:00.0/vfio-dev", root);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/0005:00:00.0/vfio-dev/vfio3", root);
	ck_assert_int_eq(mkdir(path, 0755), 0);

	ck_assert_int_eq(sysfs_zpci_read_binding(fd, &b), 0);
	ck_assert_str_eq(b.driver, "vfio-pci");
	ck_assert_int_eq(b.iommu_group, 7);
	ck_assert_str_eq(b.vfio_cdev, "vfio3");
	close(fd);
}
END_TEST

START_TEST(test_vfio_binding)
{
	char path[256];
	SysfsBinding b;
	int fd;

	ck_assert(sysfs_driver_is_vfio("vfio-pci"));
	ck_assert(sysfs_driver_is_vfio("mlx5_vfio_pci"));
	ck_assert(!sysfs_driver_is_vfio("mlx5_core"));
	ck_assert(!sysfs_driver_is_vfio(""));
	ck_assert(!sysfs_driver_is_vfio(NULL));

	/* a leftover group link and cdev directory under another driver */
	add_full_function("0006:00:00.0");
	set_link("0006:00:00.0", "driver", "../../../bus/pci/drivers/mlx5_core");
	set_link("0006:00:00.0", "iommu_group", "../../../kernel/iommu_groups/9");
	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/0006:00:00.0/vfio-dev", root);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/0006:00:00.0/vfio-dev/vfio4", root);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	fd = sysfs_zpci_open(root, "0006:00:00.0");
	ck_assert_int_ge(fd, 0);

	ck_assert_int_eq(sysfs_zpci_read_vfio_binding(fd, &b), 0);
	ck_assert_str_eq(b.driver, "mlx5_core");
	ck_assert_int_eq(b.iommu_group, -1);
	ck_assert_str_eq(b.vfio_cdev, "");
	/* the full read still sees them */
	ck_assert_int_eq(sysfs_zpci_read_binding(fd, &b), 0);
	ck_assert_int_eq(b.iommu_group, 9);
	ck_assert_str_eq(b.vfio_cdev, "vfio4");

	/* bound to a vfio variant driver: read */
	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/0006:00:00.0/driver", root);
	ck_assert_int_eq(unlink(path), 0);
	set_link("0006:00:00.0", "driver", "../../../bus/pci/drivers/mlx5_vfio_pci");
	ck_assert_int_eq(sysfs_zpci_read_vfio_binding(fd, &b), 0);
	ck_assert_str_eq(b.driver, "mlx5_vfio_pci");
	ck_assert_int_eq(b.iommu_group, 9);
	ck_assert_str_eq(b.vfio_cdev, "vfio4");

	/* no driver: nothing but the presence check; gone: -ENOENT */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(sysfs_zpci_read_vfio_binding(fd, &b), 0);
	ck_assert_str_eq(b.driver, "");
	ck_assert_int_eq(b.iommu_group, -1);
	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/0006:00:00.0", root);
	test_rm_rf(path);
	ck_assert_int_eq(sysfs_zpci_read_vfio_binding(fd, &b), -ENOENT);
	close(fd);
}
END_TEST

static void check_resolved(const char *dir, const char *target, const char *expect)
{
	char *p = NULL;

	ck_assert_int_eq(sysfs_resolve_link(dir, target, &p), 0);
	ck_assert_str_eq(p, expect);
	free(p);
}

START_TEST(test_resolve_link)
{
	char *p = NULL;

	check_resolved("/sys/bus/pci/devices", "../../../devices/pci0001:00/0001:00:00.0",
		       "/sys/devices/pci0001:00/0001:00:00.0");
	check_resolved("/sys/bus/pci/devices/", "..//../.././devices/pci0001:00/0001:00:00.0/",
		       "/sys/devices/pci0001:00/0001:00:00.0");
	check_resolved("/tmp/umockdev.x/sys/bus/pci/devices", "../../../devices/pci0001:00/0001:00:00.0",
		       "/tmp/umockdev.x/sys/devices/pci0001:00/0001:00:00.0");
	check_resolved("/sys/bus/pci/devices", "/sys/devices/./x/../y", "/sys/devices/y");
	check_resolved("/sys", "../../../..", "/");
	check_resolved("/a", "b", "/a/b");
	ck_assert_int_eq(sysfs_resolve_link("sys/bus", "x", &p), -EINVAL);
	ck_assert_int_eq(sysfs_resolve_link("/sys/bus", "", &p), -EINVAL);
	ck_assert_int_eq(sysfs_resolve_link(NULL, "x", &p), -EINVAL);
	ck_assert_ptr_null(p);
}
END_TEST

typedef struct Seen {
	char syspath[8][256];
	char slot[8][32];
	uint32_t fid[8];
	unsigned n, stop_after;
} Seen;

static int on_device(const char *syspath, const char *slot, int dirfd, void *userdata)
{
	Seen *s = userdata;
	ZpciAttrs a = {};

	ck_assert_uint_lt(s->n, 8);
	if (s->stop_after && s->n == s->stop_after)
		return -ECANCELED;
	(void)snprintf(s->syspath[s->n], sizeof(s->syspath[s->n]), "%s", syspath);
	(void)snprintf(s->slot[s->n], sizeof(s->slot[s->n]), "%s", slot);
	/* the directory is the device's own */
	if (sysfs_zpci_read_attrs(dirfd, slot, &a, NULL) == 0)
		s->fid[s->n] = a.fid;
	s->n++;
	return 0;
}

/* A device below ROOT/devices/pciDOMAIN:00/ with its bus link, as sysfs has it. */
static void add_linked_function(const char *domain, const char *slot, const char *fid)
{
	char path[256], target[128];
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/devices", root);
	(void)mkdir(path, 0755);
	(void)snprintf(path, sizeof(path), "%s/devices/pci%s:00", root, domain);
	(void)mkdir(path, 0755);
	(void)snprintf(path, sizeof(path), "%s/devices/pci%s:00/%s", root, domain, slot);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	(void)snprintf(path, sizeof(path), "%s/devices/pci%s:00/%s/function_id", root, domain, slot);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fputs(fid, f);
	fclose(f);
	(void)snprintf(target, sizeof(target), "../../../devices/pci%s:00/%s", domain, slot);
	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", root, slot);
	ck_assert_int_eq(symlink(target, path), 0);
}

START_TEST(test_enumerate)
{
	char path[256], expect[256];
	Seen s = {};
	FILE *f;

	/* empty bus, then no bus at all */
	ck_assert_int_eq(sysfs_zpci_enumerate(root, on_device, &s), 0);
	(void)snprintf(path, sizeof(path), "%s/nothing", root);
	ck_assert_int_eq(sysfs_zpci_enumerate(path, on_device, &s), 0);
	ck_assert_int_eq(sysfs_zpci_enumerate("", on_device, &s), -EINVAL);

	/* linked devices, created out of order */
	add_linked_function("0002", "0002:00:00.0", "0x00000022\n");
	add_linked_function("0001", "0001:00:00.0", "0x00000011\n");
	/* a plain directory entry (no link): ROOT/bus/pci/devices/NAME */
	add_device("0000:00:1f.0");
	/* skipped: a dangling link and a file */
	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/0003:00:00.0", root);
	ck_assert_int_eq(symlink("../../../devices/pci0003:00/0003:00:00.0", path), 0);
	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/stray", root);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fclose(f);

	ck_assert_int_eq(sysfs_zpci_enumerate(root, on_device, &s), 3);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_str_eq(s.slot[0], "0000:00:1f.0");
	(void)snprintf(expect, sizeof(expect), "%s/bus/pci/devices/0000:00:1f.0", root);
	ck_assert_str_eq(s.syspath[0], expect);
	ck_assert_uint_eq(s.fid[0], 0);
	ck_assert_str_eq(s.slot[1], "0001:00:00.0");
	(void)snprintf(expect, sizeof(expect), "%s/devices/pci0001:00/0001:00:00.0", root);
	ck_assert_str_eq(s.syspath[1], expect);
	ck_assert_uint_eq(s.fid[1], 0x11);
	ck_assert_str_eq(s.slot[2], "0002:00:00.0");
	(void)snprintf(expect, sizeof(expect), "%s/devices/pci0002:00/0002:00:00.0", root);
	ck_assert_str_eq(s.syspath[2], expect);
	ck_assert_uint_eq(s.fid[2], 0x22);

	/* a failing callback stops the walk with its error */
	s = (Seen){ .stop_after = 1 };
	ck_assert_int_eq(sysfs_zpci_enumerate(root, on_device, &s), -ECANCELED);
	ck_assert_uint_eq(s.n, 1);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sysfs-zpci");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_parse_hex);
	tcase_add_test(tc, test_parse_dec_bool);
	tcase_add_test(tc, test_resolve_link);
	suite_add_tcase(s, tc);

	tc = tcase_create("read");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_read_full_function);
	tcase_add_test(tc, test_read_older_kernel);
	tcase_add_test(tc, test_not_zpci);
	tcase_add_test(tc, test_malformed_values);
	tcase_add_test(tc, test_malformed_function_id);
	tcase_add_test(tc, test_device_vanished);
	tcase_add_test(tc, test_binding);
	tcase_add_test(tc, test_vfio_binding);
	tcase_add_test(tc, test_enumerate);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
