/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/owner.h"
#include "tests/test-util.h"

/* A fake procfs: <root>/<pid>/comm and <root>/<pid>/fd/<n> -> target. */
static char root[] = "/tmp/zpcid-test-proc-XXXXXX";

static void setup(void)
{
	strcpy(root, "/tmp/zpcid-test-proc-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void)
{
	test_rm_rf(root);
}

static void add_process(const char *pid, const char *comm)
{
	char path[256];
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/%s", root, pid);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	(void)snprintf(path, sizeof(path), "%s/%s/fd", root, pid);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	(void)snprintf(path, sizeof(path), "%s/%s/comm", root, pid);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s\n", comm);
	fclose(f);
}

static void add_fd(const char *pid, int fd, const char *target)
{
	char path[256];

	(void)snprintf(path, sizeof(path), "%s/%s/fd/%d", root, pid, fd);
	ck_assert_int_eq(symlink(target, path), 0);
}

START_TEST(test_link_matching)
{
	ck_assert_str_eq(owner_link_node("/dev/vfio/7"), "7");
	ck_assert_str_eq(owner_link_node("/tmp/umockdev.AbC123/dev/vfio/7"), "7");
	ck_assert_str_eq(owner_link_node("/dev/vfio/devices/vfio3"), "devices/vfio3");
	ck_assert_str_eq(owner_link_node("/dev/vfio/noiommu-0"), "noiommu-0");
	ck_assert_ptr_null(owner_link_node("/dev/vfio/vfio")); /* the container */
	ck_assert_ptr_null(owner_link_node("/dev/vfio/devices/"));
	ck_assert_ptr_null(owner_link_node("/dev/vfio/7x"));
	ck_assert_ptr_null(owner_link_node("/dev/null"));
	ck_assert_ptr_null(owner_link_node("socket:[1234]"));
	ck_assert_ptr_null(owner_link_node(NULL));

	ck_assert(owner_link_matches("/dev/vfio/7", "7", NULL));
	ck_assert(!owner_link_matches("/dev/vfio/17", "7", NULL));
	ck_assert(!owner_link_matches("/dev/vfio/7", "17", NULL));
	ck_assert(owner_link_matches("/x/dev/vfio/devices/vfio3", NULL, "vfio3"));
	ck_assert(!owner_link_matches("/dev/vfio/devices/vfio31", "3", "vfio3"));
	ck_assert(!owner_link_matches("/dev/vfio/3", NULL, "vfio3"));
}
END_TEST

START_TEST(test_find_group_and_cdev)
{
	OwnerEntry e;

	add_process("100", "bash");
	add_fd("100", 0, "/dev/pts/0");
	add_fd("100", 1, "/dev/vfio/vfio");
	add_process("4242", "qemu-system-s390x");
	add_fd("4242", 0, "/dev/null");
	add_fd("4242", 17, "/dev/vfio/vfio");
	add_fd("4242", 18, "/tmp/umockdev.xyz/dev/vfio/7");
	add_fd("4242", 19, "/tmp/umockdev.xyz/dev/vfio/7"); /* the same group twice */
	add_process("555", "spdk_tgt");
	add_fd("555", 5, "/dev/vfio/devices/vfio3");
	add_process("self", "x"); /* not a pid */

	ck_assert_int_eq(owner_find(root, 0, "7", NULL, &e), 1);
	ck_assert_int_eq(e.pid, 4242);
	ck_assert_str_eq(e.comm, "qemu-system-s39"); /* comm is at most 15 characters */

	ck_assert_int_eq(owner_find(root, 0, NULL, "vfio3", &e), 1);
	ck_assert_int_eq(e.pid, 555);
	ck_assert_str_eq(e.comm, "spdk_tgt");

	ck_assert_int_eq(owner_find(root, 0, "8", "vfio4", &e), 0);
	/* a group nobody holds, but the cdev is held */
	ck_assert_int_eq(owner_find(root, 0, "9", "vfio3", &e), 1);
	ck_assert_int_eq(e.pid, 555);

	/* excluding the holder itself (zpcid never reports itself) */
	ck_assert_int_eq(owner_find(root, 4242, "7", NULL, &e), 0);
}
END_TEST

START_TEST(test_table_lowest_pid_and_unreadable)
{
	_cleanup_(owner_table_done) OwnerTable t = {};
	char path[256];
	const OwnerEntry *e;

	add_process("300", "b");
	add_fd("300", 3, "/dev/vfio/12");
	add_process("20", "a");
	add_fd("20", 3, "/dev/vfio/12");
	add_process("21", "c");
	add_fd("21", 3, "/dev/vfio/13");
	add_process("22", "secret");
	add_fd("22", 3, "/dev/vfio/14");
	/* a process whose fd directory cannot be read is skipped (unless we are root) */
	(void)snprintf(path, sizeof(path), "%s/22/fd", root);
	ck_assert_int_eq(chmod(path, 0), 0);

	ck_assert_int_eq(owner_scan(root, 0, &t), 0);
	e = owner_table_lookup(&t, "12", NULL);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->pid, 20);
	e = owner_table_lookup(&t, "13", NULL);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->comm, "c");
	ck_assert_ptr_null(owner_table_lookup(&t, "1", NULL));
	ck_assert_ptr_null(owner_table_lookup(&t, NULL, NULL));
	if (geteuid() != 0)
		ck_assert_ptr_null(owner_table_lookup(&t, "14", NULL));
	ck_assert_int_eq(chmod(path, 0755), 0);

	ck_assert_int_eq(owner_scan("/nonexistent-zpcid-proc", 0, &t), -ENOENT);
}
END_TEST

START_TEST(test_real_procfs)
{
	_cleanup_(owner_table_done) OwnerTable t = {};

	/* The real /proc scans without error; nothing here holds a vfio device. */
	ck_assert_int_eq(owner_scan("/proc", getpid(), &t), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("owner");
	TCase *tc = tcase_create("owner");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_link_matching);
	tcase_add_test(tc, test_find_group_and_cdev);
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
