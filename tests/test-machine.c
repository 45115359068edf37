/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/event.h"
#include "daemon/machine.h"
#include "tests/test-util.h"

/* The unit a cgroup path names, as systemd lays them out. */
START_TEST(test_unit_from_path)
{
	char u[EVENT_UNIT_MAX];

	/* libvirt's guests: the machine scope, whatever is below it */
	ck_assert_int_eq(machine_unit_from_cgroup_path("/machine.slice/machine-qemu\\x2d1\\x2dguest.scope",
						       u, sizeof(u)),
			 0);
	ck_assert_str_eq(u, "machine-qemu\\x2d1\\x2dguest.scope");
	ck_assert_int_eq(
		machine_unit_from_cgroup_path(
			"/machine.slice/machine-qemu\\x2d1\\x2dguest.scope/libvirt/emulator", u, sizeof(u)),
		0);
	ck_assert_str_eq(u, "machine-qemu\\x2d1\\x2dguest.scope");
	/* a VMM run as a service, nested slices, a user's manager */
	ck_assert_int_eq(machine_unit_from_cgroup_path("/system.slice/qemu-guest7.service", u, sizeof(u)),
			 0);
	ck_assert_str_eq(u, "qemu-guest7.service");
	ck_assert_int_eq(
		machine_unit_from_cgroup_path("/vms.slice/vms-prod.slice/kvm@db1.service", u, sizeof(u)), 0);
	ck_assert_str_eq(u, "kvm@db1.service");
	ck_assert_int_eq(
		machine_unit_from_cgroup_path(
			"/user.slice/user-1000.slice/user@1000.service/app.slice/vm.scope", u, sizeof(u)),
		0);
	ck_assert_str_eq(u, "user@1000.service");
	/* systemd's escape of names that look like cgroup files */
	ck_assert_int_eq(machine_unit_from_cgroup_path("/system.slice/_cgroup.procs.service", u, sizeof(u)),
			 0);
	ck_assert_str_eq(u, "cgroup.procs.service");

	/* no unit: the root, a slice alone, a foreign tree, garbage */
	ck_assert_int_eq(machine_unit_from_cgroup_path("/", u, sizeof(u)), -ENXIO);
	ck_assert_int_eq(machine_unit_from_cgroup_path("/machine.slice", u, sizeof(u)), -ENXIO);
	ck_assert_int_eq(machine_unit_from_cgroup_path("/docker/0123abcd", u, sizeof(u)), -ENXIO);
	ck_assert_int_eq(machine_unit_from_cgroup_path("/process_api/441a8034", u, sizeof(u)), -ENXIO);
	ck_assert_int_eq(machine_unit_from_cgroup_path("", u, sizeof(u)), -ENXIO);
	ck_assert_int_eq(machine_unit_from_cgroup_path("relative.service", u, sizeof(u)), -ENXIO);
	ck_assert_int_eq(machine_unit_from_cgroup_path("/a b.service", u, sizeof(u)), -ENXIO);
	ck_assert_int_eq(machine_unit_from_cgroup_path(NULL, u, sizeof(u)), -ENXIO);
	/* short buffer */
	ck_assert_int_eq(machine_unit_from_cgroup_path("/system.slice/libvirtd.service", u, 8), -ENOBUFS);
}
END_TEST

static char root[] = "/tmp/zpcid-test-machine-XXXXXX";

static void write_cgroup(const char *pid, const char *text)
{
	char path[256];
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/%s", root, pid);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	(void)snprintf(path, sizeof(path), "%s/%s/cgroup", root, pid);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* /proc/<pid>/cgroup of the three layouts. */
START_TEST(test_unit_of_pid)
{
	char u[EVENT_UNIT_MAX];

	strcpy(root, "/tmp/zpcid-test-machine-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));

	/* unified */
	write_cgroup("100", "0::/machine.slice/machine-qemu\\x2d3\\x2ddb.scope/libvirt/emulator\n");
	ck_assert_int_eq(machine_unit_of_pid(root, 100, u, sizeof(u)), 0);
	ck_assert_str_eq(u, "machine-qemu\\x2d3\\x2ddb.scope");
	/* hybrid: both name the same */
	write_cgroup("101", "12:pids:/system.slice/qemu.service\n1:name=systemd:/system.slice/qemu.service\n"
			    "0::/system.slice/qemu.service\n");
	ck_assert_int_eq(machine_unit_of_pid(root, 101, u, sizeof(u)), 0);
	ck_assert_str_eq(u, "qemu.service");
	/* legacy: the unified line is the root, the named hierarchy has it */
	write_cgroup("102", "3:cpu,cpuacct:/\n1:name=systemd:/machine.slice/vm-a.scope\n0::/\n");
	ck_assert_int_eq(machine_unit_of_pid(root, 102, u, sizeof(u)), 0);
	ck_assert_str_eq(u, "vm-a.scope");
	/* no unit anywhere (a container without systemd, as this test may run) */
	write_cgroup("103", "9:name=systemd:/\n4:memory:/process_api/441a\n0::/\n");
	ck_assert_int_eq(machine_unit_of_pid(root, 103, u, sizeof(u)), -ENXIO);
	/* gone */
	ck_assert_int_eq(machine_unit_of_pid(root, 104, u, sizeof(u)), -ENOENT);

	/* this process, from the real procfs: whatever it says, no error but ENXIO */
	{
		int q = machine_unit_of_pid("/proc", getpid(), u, sizeof(u));

		ck_assert(q == 0 || q == -ENXIO);
	}
	test_rm_rf(root);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("machine");
	TCase *tc = tcase_create("cgroup");

	tcase_add_test(tc, test_unit_from_path);
	tcase_add_test(tc, test_unit_of_pid);
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
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
