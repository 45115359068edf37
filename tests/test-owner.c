/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "daemon/owner.h"
#include "tests/test-util.h"

/* A fake procfs: <root>/proc/<pid>/comm and <root>/proc/<pid>/fd/<n> -> a
 * file; a fake device root <root>/dev with vfio nodes (regular files, as in
 * a test bed, or links to a real character device); <root>/other/dev: a
 * second root with nodes of the same names (another test bed). */
static char root[] = "/tmp/zpcid-test-proc-XXXXXX";
static char proc[300], dev[300];

static char *join(char *buf, size_t size, const char *a, const char *b)
{
	(void)snprintf(buf, size, "%s%s", a, b);
	return buf;
}
#define JOIN(a, b) join((char[512]){}, 512, (a), (b))

static void mkdir_p(const char *rel)
{
	char path[512];

	(void)snprintf(path, sizeof(path), "%s/%s", root, rel);
	ck_assert_int_eq(mkdir(path, 0755), 0);
}

static void node(const char *rel)
{
	char path[512];
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fclose(f);
}

static void setup(void)
{
	strcpy(root, "/tmp/zpcid-test-proc-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	(void)snprintf(proc, sizeof(proc), "%s/proc", root);
	(void)snprintf(dev, sizeof(dev), "%s/dev", root);
	mkdir_p("proc");
	mkdir_p("dev");
	mkdir_p("dev/vfio");
	mkdir_p("dev/vfio/devices");
	node("dev/vfio/vfio"); /* the container: nobody's device */
	node("dev/vfio/7");
	node("dev/vfio/9");
	node("dev/vfio/12");
	node("dev/vfio/13");
	node("dev/vfio/14");
	node("dev/vfio/noiommu-0");
	node("dev/vfio/devices/vfio3");
	mkdir_p("other");
	mkdir_p("other/dev");
	mkdir_p("other/dev/vfio");
	node("other/dev/vfio/7");
}

static void teardown(void)
{
	test_rm_rf(root);
}

static void add_process(const char *pid, const char *comm)
{
	char path[512];
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/%s", proc, pid);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	(void)snprintf(path, sizeof(path), "%s/%s/fd", proc, pid);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	(void)snprintf(path, sizeof(path), "%s/%s/comm", proc, pid);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s\n", comm);
	fclose(f);
}

/* fd @fd of @pid refers to @target: relative to <root> unless absolute. */
static void add_fd(const char *pid, int fd, const char *target)
{
	char path[512], to[512];

	(void)snprintf(path, sizeof(path), "%s/%s/fd/%d", proc, pid, fd);
	if (target[0] == '/')
		(void)snprintf(to, sizeof(to), "%s", target);
	else
		(void)snprintf(to, sizeof(to), "%s/%s", root, target);
	ck_assert_int_eq(symlink(to, path), 0);
}

START_TEST(test_find_group_and_cdev)
{
	OwnerEntry e;

	add_process("100", "bash");
	add_fd("100", 0, "/dev/null");
	add_fd("100", 1, "dev/vfio/vfio");
	add_process("4242", "qemu-system-s390x");
	add_fd("4242", 0, "/dev/null");
	add_fd("4242", 17, "dev/vfio/vfio");
	add_fd("4242", 18, "dev/vfio/7");
	add_fd("4242", 19, "dev/vfio/7"); /* the same group twice */
	add_process("555", "spdk_tgt");
	add_fd("555", 5, "dev/vfio/devices/vfio3");
	add_process("self", "x"); /* not a pid */

	ck_assert_int_eq(owner_find(proc, dev, 0, "7", NULL, &e), 1);
	ck_assert_int_eq(e.pid, 4242);
	ck_assert_str_eq(e.comm, "qemu-system-s39"); /* comm is at most 15 characters */

	ck_assert_int_eq(owner_find(proc, dev, 0, NULL, "vfio3", &e), 1);
	ck_assert_int_eq(e.pid, 555);
	ck_assert_str_eq(e.comm, "spdk_tgt");

	ck_assert_int_eq(owner_find(proc, dev, 0, "8", "vfio4", &e), 0);
	/* a group nobody holds, but the cdev is held */
	ck_assert_int_eq(owner_find(proc, dev, 0, "9", "vfio3", &e), 1);
	ck_assert_int_eq(e.pid, 555);

	/* excluding the holder itself (zpcid never reports itself) */
	ck_assert_int_eq(owner_find(proc, dev, 4242, "7", NULL, &e), 0);
}
END_TEST

/* The same name is not the same device: a process holding "/dev/vfio/7" of
 * another root (another test bed, another host's view) is not the holder,
 * however its path ends; a holder whose path says nothing (opened through
 * another mount, a renamed node) is. */
START_TEST(test_identity_not_path)
{
	OwnerEntry e;
	char alias[512];

	add_process("600", "other-vmm");
	add_fd("600", 3, "other/dev/vfio/7");
	ck_assert_int_eq(owner_find(proc, dev, 0, "7", NULL, &e), 0);

	/* the node of this root under a path without "/dev/vfio/" in it */
	(void)snprintf(alias, sizeof(alias), "%s/alias-of-7", root);
	ck_assert_int_eq(link(JOIN(dev, "/vfio/7"), alias), 0);
	add_process("601", "vmm");
	add_fd("601", 3, alias);
	ck_assert_int_eq(owner_find(proc, dev, 0, "7", NULL, &e), 1);
	ck_assert_int_eq(e.pid, 601);

	/* no vfio directory at all: nobody holds anything */
	ck_assert_int_eq(owner_find(proc, JOIN(root, "/nodev"), 0, "7", NULL, &e), 0);
}
END_TEST

/* A character device node is identified by its device number: another node
 * of the same device (another devtmpfs, a container's /dev) matches. */
START_TEST(test_char_device_by_rdev)
{
	char node_path[512], other[512];
	OwnerEntry e;

	/* group 5 is the real /dev/null here, its holder opened another node of it */
	(void)snprintf(node_path, sizeof(node_path), "%s/vfio/5", dev);
	ck_assert_int_eq(symlink("/dev/null", node_path), 0);
	(void)snprintf(other, sizeof(other), "%s/null-elsewhere", root);
	if (mknod(other, S_IFCHR | 0600, makedev(1, 3)) < 0) {
		printf("# mknod: %s: the second node of /dev/null is not checked\n", strerror(errno));
		(void)snprintf(other, sizeof(other), "/dev/null");
	}
	add_process("700", "vmm");
	add_fd("700", 4, other);
	ck_assert_int_eq(owner_find(proc, dev, 0, "5", NULL, &e), 1);
	ck_assert_int_eq(e.pid, 700);
	/* a regular file is never a character device's holder */
	add_process("701", "cat");
	add_fd("701", 4, "dev/vfio/9");
	ck_assert_int_eq(owner_find(proc, dev, 700, "5", NULL, &e), 0);
}
END_TEST

START_TEST(test_table_lowest_pid_and_unreadable)
{
	_cleanup_(owner_table_done) OwnerTable t = {};
	char path[512];
	const OwnerEntry *e;

	add_process("300", "b");
	add_fd("300", 3, "dev/vfio/12");
	add_process("20", "a");
	add_fd("20", 3, "dev/vfio/12");
	add_process("21", "c");
	add_fd("21", 3, "dev/vfio/13");
	add_process("22", "secret");
	add_fd("22", 3, "dev/vfio/14");
	add_process("23", "d");
	add_fd("23", 3, "dev/vfio/noiommu-0");
	/* a process whose fd directory cannot be read is skipped (unless we are root) */
	(void)snprintf(path, sizeof(path), "%s/22/fd", proc);
	ck_assert_int_eq(chmod(path, 0), 0);

	ck_assert_int_eq(owner_scan(proc, dev, 0, &t), 0);
	e = owner_table_lookup(&t, "12", NULL);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->pid, 20);
	e = owner_table_lookup(&t, "13", NULL);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->comm, "c");
	e = owner_table_lookup(&t, "noiommu-0", NULL);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->pid, 23);
	ck_assert_ptr_null(owner_table_lookup(&t, "1", NULL));
	ck_assert_ptr_null(owner_table_lookup(&t, NULL, NULL));
	if (geteuid() != 0)
		ck_assert_ptr_null(owner_table_lookup(&t, "14", NULL));
	ck_assert_int_eq(chmod(path, 0755), 0);

	ck_assert_int_eq(owner_scan("/nonexistent-zpcid-proc", dev, 0, &t), -ENOENT);
}
END_TEST

START_TEST(test_real_procfs)
{
	_cleanup_(owner_table_done) OwnerTable t = {};
	_cleanup_close_ int fd = -EBADF;
	const OwnerEntry *e;

	/* The real /proc scans without error; nothing here holds a vfio device. */
	ck_assert_int_eq(owner_scan("/proc", NULL, getpid(), &t), 0);
	owner_table_done(&t);

	/* This process holding group 13 of the fake device root, for real. */
	fd = open(JOIN(dev, "/vfio/13"), O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(owner_scan("/proc", dev, 0, &t), 0);
	e = owner_table_lookup(&t, "13", NULL);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->pid, getpid());
	ck_assert_ptr_null(owner_table_lookup(&t, "12", NULL));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("owner");
	TCase *tc = tcase_create("owner");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_find_group_and_cdev);
	tcase_add_test(tc, test_identity_not_path);
	tcase_add_test(tc, test_char_device_by_rdev);
	tcase_add_test(tc, test_table_lowest_pid_and_unreadable);
	tcase_add_test(tc, test_real_procfs);
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
