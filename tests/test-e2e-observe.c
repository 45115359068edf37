/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * End-to-end: the real zpcid binary on the simulated LPAR, in observe mode.
 * Discovery with exact attributes, hotplug, binding changes at run time, the
 * holder of a device, and the observe sources (recovery uevents, kernel log
 * lines) each producing exactly one event. What zpcid says is read from its
 * console log (one line per record, journal fields appended).
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "tests/devworld.h"

#define T_START_MS 10000
#define T_EVENT_MS 5000

static bool have_preload(void)
{
	const char *p = getenv("LD_PRELOAD");
	return p && strstr(p, "umockdev");
}

static char *daemon_binary(void)
{
	const char *top = getenv("ZPCID_TOP_BUILDDIR");
	return g_build_filename(top ? top : ".", "zpcid", NULL);
}

/* Wait for @needle in the daemon's log after @from; on failure show the log. */
#define WAIT_LOG(w, from, needle)                                                    \
	do {                                                                         \
		if (devworld_wait_log_from((w), (from), (needle), T_EVENT_MS) < 0) { \
			g_autofree char *_log = devworld_log(w);                     \
			fprintf(stderr, "zpcid's log:\n%s\n", _log);                 \
			ck_abort_msg("zpcid did not log \"%s\"", (needle));          \
		}                                                                    \
	} while (0)

static Devworld *start_world(void)
{
	Devworld *w = NULL;

	ck_assert_int_eq(devworld_new(&w), 0);
	return w;
}

static void start_daemon(Devworld *w)
{
	const char *src = getenv("ZPCID_TOP_SRCDIR");
	g_autofree char *conf = g_build_filename(src ? src : "..", "conf", "zpcid.json", NULL);
	g_autofree char *dropins = g_build_filename(devworld_root(w), "no-dropins", NULL);
	const char *argv[] = { "--config", conf, "--config-dropins", dropins, "--log-level=debug", NULL };

	ck_assert_int_gt(devworld_spawn_daemon(w, argv), 0);
	if (devworld_wait_log(w, "zPCI function(s)", T_START_MS) < 0) {
		g_autofree char *log = devworld_log(w);
		fprintf(stderr, "zpcid's log:\n%s\n", log);
		ck_abort_msg("zpcid did not start");
	}
}

/* The log line (without its newline) that contains @needle after @from. */
static char *log_line(Devworld *w, size_t from, const char *needle)
{
	g_autofree char *log = devworld_log(w);
	const char *p = strstr(log + MIN(from, strlen(log)), needle), *b, *e;

	if (!p)
		return NULL;
	for (b = p; b > log && b[-1] != '\n'; b--)
		;
	e = strchr(p, '\n');
	return g_strndup(b, e ? (size_t)(e - b) : strlen(b));
}

/* How many log lines after @from are records of FID @fid containing @needle. */
static unsigned count_fid(Devworld *w, size_t from, uint32_t fid, const char *needle)
{
	g_autofree char *log = devworld_log(w);
	g_autofree char *key = g_strdup_printf("ZPCI_FID=0x%08x", fid);
	g_auto(GStrv) lines = g_strsplit(log + MIN(from, strlen(log)), "\n", -1);
	unsigned n = 0;

	for (char **l = lines; *l; l++)
		if (strstr(*l, key) && strstr(*l, needle))
			n++;
	return n;
}

static void assert_field(const char *line, const char *field)
{
	g_autofree char *want = g_strdup_printf(" %s", field);
	g_autofree char *want_first = g_strdup_printf("[%s", field);
	const char *hit = strstr(line, want) ?: strstr(line, want_first);

	ck_assert_msg(hit, "field %s missing in: %s", field, line);
	hit += strlen(want);
	ck_assert_msg(*hit == ' ' || *hit == ']', "field %s is not exact in: %s", field, line);
}

START_TEST(test_discovery_50_exact)
{
	Devworld *w = start_world();

	for (unsigned i = 0; i < 50; i++) {
		static const DevworldKind kinds[] = { DEVWORLD_KIND_ROCE2, DEVWORLD_KIND_NVME,
						      DEVWORLD_KIND_ISM, DEVWORLD_KIND_ROCE3,
						      DEVWORLD_KIND_NETH };
		DevworldFunction f = {
			.fid = 0x1000 + i * 3,
			.uid = 0x200 + i,
			.uid_is_unique = i % 7 != 0,
			.pchid = (uint16_t)(0x0100 + (i / 8) * 4),
			.vfn = (uint16_t)(i % 8 + 1),
			.port = i % 2 + 1,
			.pfgid = (uint8_t)(0x10 + i % 4),
			.kind = kinds[i % G_N_ELEMENTS(kinds)],
			.driver = i % 3 == 0 ? "vfio-pci" : NULL,
		};
		ck_assert_int_eq(devworld_add_function(w, &f), 0);
	}
	start_daemon(w);
	WAIT_LOG(w, 0, "Found 50 zPCI function(s)");
	for (unsigned i = 0; i < 50; i++) {
		static const char *pfts[] = { "0x0a", "0x0b", "0x05", "0x0a", "0x0c" };
		uint32_t fid = 0x1000 + i * 3;
		g_autofree char *head = g_strdup_printf("Function 0x%08x at %s ", fid,
							devworld_slot(w, fid));
		g_autofree char *line = log_line(w, 0, head);
		g_autofree char *f_fid = g_strdup_printf("ZPCI_FID=0x%08x", fid);
		g_autofree char *f_uid = g_strdup_printf("ZPCI_UID=0x%x", 0x200 + i);
		g_autofree char *f_uniq = g_strdup_printf("ZPCI_UID_IS_UNIQUE=%d", i % 7 != 0);
		g_autofree char *f_pchid = g_strdup_printf("ZPCI_PCHID=0x%04x", 0x0100 + (i / 8) * 4);
		g_autofree char *f_pft = g_strdup_printf("ZPCI_PFT=%s", pfts[i % 5]);
		g_autofree char *f_slot = g_strdup_printf("PCI_SLOT_NAME=%s", devworld_slot(w, fid));
		g_autofree char *f_fh = g_strdup_printf("ZPCI_FH=0x%08x", 0x80000000u | fid);

		ck_assert_msg(line, "no discovery line for fid 0x%x", fid);
		assert_field(line, f_fid);
		assert_field(line, f_uid);
		assert_field(line, f_uniq);
		assert_field(line, f_pchid);
		assert_field(line, f_pft);
		assert_field(line, f_slot);
		assert_field(line, f_fh);
		if (i % 3 == 0)
			assert_field(line, "ZPCI_DRIVER=vfio-pci");
		ck_assert_uint_eq(devworld_count_log(w, 0, head), 1);
	}
	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	devworld_free(w);
}
END_TEST

START_TEST(test_hotplug_and_binding)
{
	Devworld *w = start_world();
	size_t mark;
	g_autofree char *line = NULL;

	ck_assert_int_eq(devworld_add_function(w, &(DevworldFunction){ .fid = 0x21,
								       .uid = 0x21,
								       .uid_is_unique = true,
								       .pchid = 0x0140,
								       .kind = DEVWORLD_KIND_ROCE3 }),
			 0);
	start_daemon(w);

	/* hotplug add: announced once, with its attributes */
	mark = devworld_log_mark(w);
	ck_assert_int_eq(devworld_add_function(w, &(DevworldFunction){ .fid = 0x80,
								       .uid = 0x80,
								       .uid_is_unique = true,
								       .pchid = 0x01e0,
								       .kind = DEVWORLD_KIND_NVME,
								       .driver = "" }),
			 0);
	WAIT_LOG(w, mark, "Function 0x00000080 at 0080:00:00.0");
	line = log_line(w, mark, "Function 0x00000080 at");
	assert_field(line, "ZPCI_PCHID=0x01e0");
	assert_field(line, "ZPCI_PFT=0x0b");

	/* binding to vfio-pci and back at run time */
	mark = devworld_log_mark(w);
	ck_assert_int_eq(devworld_bind(w, 0x80, "vfio-pci"), 0);
	WAIT_LOG(w, mark, "driver (none) -> vfio-pci");
	mark = devworld_log_mark(w);
	ck_assert_int_eq(devworld_unbind(w, 0x80), 0);
	WAIT_LOG(w, mark, "driver vfio-pci -> (none)");

	/* hotplug remove */
	mark = devworld_log_mark(w);
	ck_assert_int_eq(devworld_remove(w, 0x80), 0);
	WAIT_LOG(w, mark, "Function 0x00000080 (0080:00:00.0) removed");
	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	ck_assert_uint_eq(devworld_count_log(w, 0, "Function 0x00000080 (0080:00:00.0) removed"), 1);
	devworld_free(w);
}
END_TEST

START_TEST(test_holder_is_seen)
{
	Devworld *w = start_world();
	g_autofree char *want = NULL;
	size_t mark;
	pid_t pid;

	ck_assert_int_eq(devworld_add_function(w, &(DevworldFunction){ .fid = 0x31,
								       .uid = 0x31,
								       .uid_is_unique = true,
								       .kind = DEVWORLD_KIND_NVME,
								       .driver = "vfio-pci" }),
			 0);
	pid = devworld_hold(w, 0x31);
	ck_assert_int_gt(pid, 0);
	start_daemon(w);
	WAIT_LOG(w, 0, "1 held by a process");

	/* a holder that comes later is found on the next uevent */
	ck_assert_int_eq(devworld_release(w, 0x31), 0);
	pid = devworld_hold(w, 0x31);
	ck_assert_int_gt(pid, 0);
	mark = devworld_log_mark(w);
	ck_assert_int_eq(devworld_recovery_uevent(w, 0x31, "BEGIN_RECOVERY", false), 0);
	want = g_strdup_printf("held by qemu-system-s39 (pid %d)", (int)pid);
	WAIT_LOG(w, mark, want);
	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	devworld_free(w);
}
END_TEST

START_TEST(test_observe_events_once)
{
	Devworld *w = start_world();
	size_t mark;

	ck_assert_int_eq(devworld_add_function(w, &(DevworldFunction){ .fid = 0x21,
								       .uid = 0x21,
								       .uid_is_unique = true,
								       .pchid = 0x0140,
								       .kind = DEVWORLD_KIND_ROCE3,
								       .driver = "vfio-pci" }),
			 0);
	/* its records come after everything 0x21's input could cause */
	ck_assert_int_eq(devworld_add_function(w, &(DevworldFunction){ .fid = 0x22,
								       .uid = 0x22,
								       .uid_is_unique = true,
								       .pchid = 0x0144,
								       .kind = DEVWORLD_KIND_NVME }),
			 0);
	start_daemon(w);

	/* the recovery sequence: one event per uevent */
	mark = devworld_log_mark(w);
	ck_assert_int_eq(devworld_recovery_uevent(w, 0x21, "BEGIN_RECOVERY", false), 0);
	ck_assert_int_eq(devworld_recovery_uevent(w, 0x21, "SUCCESSFUL_RECOVERY", true), 0);
	WAIT_LOG(w, mark, "ZPCI_RECOVERY=successful");
	WAIT_LOG(w, mark, "ZPCI_RECOVERY=begin");

	/* kernel log lines: one event each, unrelated lines none */
	ck_assert_int_eq(
		devworld_kmsg(w, "zpci: 0021:00:00.0: Event 0x3a reports an error for PCI function 0x21"),
		0);
	ck_assert_int_eq(devworld_kmsg_level(w, 6, "mlx5_core 0021:00:00.0: something unrelated"), 0);
	ck_assert_int_eq(
		devworld_kmsg(w, "zpci: 0021:00:00.0: Event 0x40 reports an error for PCI function 0x21"),
		0);
	WAIT_LOG(w, mark, "ZPCI_PEC=0x0040");
	WAIT_LOG(w, mark, "ZPCI_PEC=0x003a");

	/* Each source handles its input in order: once a later line and a later
	 * uevent (of another function) are recorded, a duplicate of 0x21's
	 * would have been too. */
	ck_assert_int_eq(
		devworld_kmsg(w, "zpci: 0022:00:00.0: Event 0x3a reports an error for PCI function 0x22"),
		0);
	ck_assert_int_eq(devworld_recovery_uevent(w, 0x22, "BEGIN_RECOVERY", false), 0);
	WAIT_LOG(w, mark, "PCI function 0x00000022 (0022:00:00.0) reported error 0x003a");
	WAIT_LOG(w, mark, "PCI function 0x00000022 (0022:00:00.0): kernel recovery began");
	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	ck_assert_uint_eq(count_fid(w, mark, 0x21, "ZPCI_RECOVERY=begin"), 1);
	ck_assert_uint_eq(count_fid(w, mark, 0x21, "ZPCI_RECOVERY=successful"), 1);
	/* exactly one error record each (the permanent one also gets the policy's alert action) */
	ck_assert_uint_eq(count_fid(w, mark, 0x21, "reported error 0x003a"), 1);
	ck_assert_uint_eq(count_fid(w, mark, 0x21, "reported error 0x0040"), 1);
	ck_assert_uint_eq(count_fid(w, mark, 0x21, "action alert"), 1);
	ck_assert_uint_eq(devworld_count_log(w, mark, "ZPCI_SOURCE=kmsg"), 0);
	ck_assert_uint_eq(count_fid(w, mark, 0x21, "ZPCID_SOURCE=kmsg"), 2);
	ck_assert_uint_eq(count_fid(w, mark, 0x21, "ZPCID_SOURCE=uevent"), 2);
	devworld_free(w);
}
END_TEST

START_TEST(test_bad_sysfs_and_vanishing)
{
	Devworld *w = start_world();
	const char *const raw[] = { "pchid", "0xzz\n", "uid", "0x123456789\n", NULL };
	size_t mark;

	ck_assert_int_eq(devworld_add_function(w, &(DevworldFunction){ .fid = 0x44,
								       .uid = 0x44,
								       .uid_is_unique = true,
								       .kind = DEVWORLD_KIND_NVME,
								       .raw_attrs = raw }),
			 0);
	start_daemon(w);
	/* malformed values: a warning, the function still known */
	WAIT_LOG(w, 0, "Function 0x00000044 at");
	WAIT_LOG(w, 0, "Ignoring sysfs attribute pchid of 0044:00:00.0 (\"0xzz");
	WAIT_LOG(w, 0, "Ignoring sysfs attribute uid of 0044:00:00.0 (\"0x123456789");
	ck_assert_uint_eq(devworld_count_log(w, 0, "\"): malformed."), 1);
	ck_assert_uint_eq(devworld_count_log(w, 0, "\"): out of range."), 1);

	/* a function removed between its uevent and the read */
	mark = devworld_log_mark(w);
	ck_assert_int_eq(devworld_add_function(w, &(DevworldFunction){ .fid = 0x45,
								       .uid = 0x45,
								       .uid_is_unique = true,
								       .kind = DEVWORLD_KIND_NVME }),
			 0);
	ck_assert_int_eq(devworld_remove(w, 0x45), 0);
	ck_assert_int_eq(
		devworld_kmsg(w, "zpci: 0044:00:00.0: Event 0x3a reports an error for PCI function 0x44"),
		0);
	WAIT_LOG(w, mark, "ZPCI_PEC=0x003a");
	ck_assert_int_gt(devworld_daemon_pid(w), 0);
	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	{
		g_autofree char *log = devworld_log(w);
		if (getenv("E2E_DUMP"))
			fputs(log + mark, stderr);
	}
	devworld_free(w);
}
END_TEST

static Suite *e2e_suite(void)
{
	Suite *s = suite_create("e2e-observe");
	TCase *tc = tcase_create("observe");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_discovery_50_exact);
	tcase_add_test(tc, test_hotplug_and_binding);
	tcase_add_test(tc, test_holder_is_seen);
	tcase_add_test(tc, test_observe_events_once);
	tcase_add_test(tc, test_bad_sysfs_and_vanishing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	g_autofree char *bin = daemon_binary();
	SRunner *sr;
	int failed;

	if (!have_preload()) {
		printf("1..0 # SKIP not running under umockdev-wrapper\n");
		return EXIT_SUCCESS;
	}
	if (access(bin, X_OK) < 0) {
		printf("1..0 # SKIP %s is not built\n", bin);
		return EXIT_SUCCESS;
	}
	sr = srunner_create(e2e_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
