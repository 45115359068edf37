/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * End-to-end: adapter correlation in the real zpcid on the simulated LPAR.
 * Errors of two functions of one PCHID more than a window apart make no
 * adapter event (the window decided on the records' own times, not on how
 * fast the test runs); a policy rule on kind "adapter" alerts once for an
 * adapter whose functions all fail; and the adapter hold postpones the
 * reset of a function whose adapter just failed while its sibling, failing
 * first, was reset.
 */
#include <time.h>

#include "tests/e2e-util.h"

static void add_function(Devworld *w, uint32_t fid, uint16_t pchid, const char *driver)
{
	DevworldFunction f = {
		.fid = fid,
		.uid = fid,
		.uid_is_unique = true,
		.pchid = pchid,
		.kind = DEVWORLD_KIND_NVME,
		.driver = driver,
	};

	ck_assert_int_eq(devworld_add_function(w, &f), 0);
}

/* Inject @pec on @fid and wait until zpcid recorded it; returns its log line. */
static char *inject_and_wait(Devworld *w, uint32_t fid, uint16_t pec)
{
	g_autofree char *want = g_strdup_printf("PCI function 0x%08x (%s) reported error 0x%04x", fid,
						devworld_slot(w, fid), pec);
	size_t mark = devworld_log_mark(w);
	g_autoptr(GPtrArray) l = NULL;

	ck_assert_int_ge(devworld_inject_pec(w, fid, pec), 0);
	E2E_WAIT_LOG(w, mark, want);
	l = E2E_LINES(w, mark, want);
	ck_assert_uint_ge(l->len, 1);
	return g_strdup(l->pdata[0]);
}

static uint64_t now_monotonic_usec(void)
{
	struct timespec ts;

	ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (uint64_t)ts.tv_sec * G_USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

/* Two functions of one adapter with errors more than the window (1 s) apart:
 * no adapter event. The second error is injected only once the clock is
 * past the first error's time (as zpcid recorded it) plus the window, so
 * the decision does not depend on the machine's speed; a later error on
 * another adapter is the marker that both were handled. */
START_TEST(test_outside_window)
{
	Devworld *w = e2e_world();
	g_autofree char *first = NULL, *second = NULL, *marker = NULL;
	uint64_t t;

	add_function(w, 0xa1, 0x01a0, "nvme");
	add_function(w, 0xa2, 0x01a0, "nvme");
	add_function(w, 0xb1, 0x01b0, "nvme");
	e2e_start_daemon(
		w, "{ \"schema\": 1, \"adapter_correlation\": { \"functions\": 2, \"window\": \"1s\" } }");

	first = inject_and_wait(w, 0xa1, 0x0012);
	t = e2e_field_u64(first, "ZPCID_MONOTONIC");
	ck_assert_uint_gt(t, 0);
	while (now_monotonic_usec() <= t + G_USEC_PER_SEC + 1000)
		g_usleep(10 * 1000);
	second = inject_and_wait(w, 0xa2, 0x0012);
	ck_assert_uint_ge(e2e_field_u64(second, "ZPCID_MONOTONIC"), t + G_USEC_PER_SEC);
	marker = inject_and_wait(w, 0xb1, 0x0012);
	ck_assert_uint_eq(devworld_count_log(w, 0, "ZPCID_KIND=adapter"), 0);
	ck_assert_uint_eq(devworld_count_log(w, 0, "adapter PCHID"), 0);

	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	devworld_free(w);
}
END_TEST

/* "Alert once per adapter": four functions of PCHID 0x01a0 fail, twice
 * each, and one of another adapter; one adapter event, one alert, whose
 * command sees the adapter's fields. */
START_TEST(test_alert_once_per_adapter)
{
	Devworld *w = e2e_world();
	g_autofree char *out = g_build_filename(devworld_root(w), "alerts.txt", NULL);
	g_autofree char *config = NULL, *text = NULL, *marker = NULL;
	g_autoptr(GPtrArray) l = NULL, hist = NULL;
	unsigned n_adapter = 0;
	size_t mark;

	config = g_strdup_printf(
		"{ \"schema\": 1, \"adapter_correlation\": { \"functions\": 3, \"window\": \"1h\" },"
		" \"actions\": { \"alert_command\": [ \"/bin/sh\", \"-c\","
		"   \"echo $ZPCID_KIND $ZPCI_PCHID $ZPCID_COUNT $ZPCID_ADAPTER_FUNCTIONS "
		"$ZPCID_ADAPTER_FIDS >> %s\" ] },"
		" \"policy\": { \"rules\": ["
		"   { \"name\": \"adapter-alert\", \"match\": { \"kind\": \"adapter\" }, \"actions\": [ "
		"\"alert\" ] },"
		"   { \"name\": \"default\", \"actions\": [ \"log\" ] } ] } }",
		out);
	for (uint32_t fid = 0xa1; fid <= 0xa4; fid++)
		add_function(w, fid, 0x01a0, "nvme");
	add_function(w, 0xb1, 0x01b0, "nvme");
	e2e_start_daemon(w, config);
	mark = devworld_log_mark(w);

	for (unsigned round = 0; round < 2; round++)
		for (uint32_t fid = 0xa1; fid <= 0xa4; fid++)
			g_free(inject_and_wait(w, fid, (uint16_t)(0x0012 + round)));
	E2E_WAIT_LOG(w, mark, "action alert done");
	/* the marker: everything before it was decided, alerts included */
	marker = inject_and_wait(w, 0xb1, 0x0012);

	l = E2E_LINES(w, mark, "ZPCID_KIND=adapter");
	ck_assert_uint_eq(l->len, 1);
	ck_assert_ptr_nonnull(strstr(l->pdata[0], "adapter PCHID 0x01a0: 3 of 4 functions reported errors"));
	ck_assert_ptr_nonnull(strstr(l->pdata[0], "ZPCID_ADAPTER_FIDS=0x000000a1,0x000000a2,0x000000a3"));
	g_ptr_array_unref(l);
	l = E2E_LINES(w, mark, "ZPCID_KIND=action", "ZPCID_ACTION=alert ");
	ck_assert_uint_eq(l->len, 1);
	ck_assert_ptr_nonnull(strstr(l->pdata[0], "ZPCID_RULE=adapter-alert"));
	ck_assert_ptr_nonnull(strstr(l->pdata[0], "ZPCI_FID=0x000000a1 "));

	ck_assert(g_file_get_contents(out, &text, NULL, NULL));
	ck_assert_str_eq(text, "adapter 0x01a0 3 4 0x000000a1,0x000000a2,0x000000a3\n");

	/* recorded in the history */
	hist = e2e_history(w);
	for (size_t i = 0; i < hist->len; i++)
		if (g_str_equal(e2e_jstr(hist->pdata[i], "kind"), "adapter")) {
			n_adapter++;
			ck_assert_int_eq(e2e_jint(hist->pdata[i], "pchid"), 0x01a0);
			ck_assert_int_eq(e2e_jint(hist->pdata[i], "count"), 3);
			ck_assert_int_eq(e2e_jint(hist->pdata[i], "adapter_functions"), 4);
			ck_assert_int_eq(e2e_jint(hist->pdata[i], "fid"), -1);
		}
	ck_assert_uint_eq(n_adapter, 1);

	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	devworld_free(w);
}
END_TEST

/* The hold: two owned functions of one adapter and a rule resetting on
 * recoverable errors. The first error resets its function; the second
 * makes the adapter event, which holds the adapter, so its reset is
 * postponed with hold "adapter" and the device is not reset. */
START_TEST(test_hold_postpones_resets)
{
	Devworld *w = e2e_world();
	g_autoptr(GPtrArray) l = NULL;
	DevworldStats st;
	size_t mark;

	add_function(w, 0xc1, 0x01c0, "vfio-pci");
	add_function(w, 0xc2, 0x01c0, "vfio-pci");
	e2e_start_daemon(
		w, "{ \"schema\": 1,"
		   " \"adapter_correlation\": { \"functions\": 2, \"window\": \"1h\", \"hold\": \"1h\" },"
		   " \"policy\": { \"budget\": null, \"cooldown\": \"0s\", \"rules\": ["
		   "   { \"name\": \"owned\", \"match\": { \"driver\": \"vfio-pci\" }, \"mode\": \"own\" },"
		   "   { \"name\": \"reset-it\", \"match\": { \"pec_class\": \"recoverable\" }, "
		   "\"actions\": [ \"reset\" ] } ] } }");
	E2E_WAIT_LOG(w, 0, "PCI function 0x000000c1: holding its vfio device");
	E2E_WAIT_LOG(w, 0, "PCI function 0x000000c2: holding its vfio device");
	ck_assert_int_eq(devworld_wait_err_registered(w, 0xc1, true, E2E_EVENT_MS), 0);
	ck_assert_int_eq(devworld_wait_err_registered(w, 0xc2, true, E2E_EVENT_MS), 0);

	mark = devworld_log_mark(w);
	g_free(inject_and_wait(w, 0xc1, 0x0012));
	E2E_WAIT_LOG(w, mark, "action reset done");
	g_free(inject_and_wait(w, 0xc2, 0x0012));
	E2E_WAIT_LOG(w, mark, "action reset postponed");
	/* the adapter event and the held action are records of their own: wait for each */
	E2E_WAIT_LOG(w, mark, "adapter PCHID 0x01c0: 2 of 2 functions reported errors");

	l = E2E_LINES(w, mark, "ZPCID_KIND=adapter");
	ck_assert_uint_eq(l->len, 1);
	ck_assert_ptr_nonnull(strstr(l->pdata[0], "adapter PCHID 0x01c0: 2 of 2 functions reported errors"));
	g_ptr_array_unref(l);
	l = E2E_LINES(w, mark, "ZPCID_KIND=action", "ZPCID_ACTION=reset ", "ZPCID_RESULT=postponed");
	ck_assert_uint_eq(l->len, 1);
	ck_assert_ptr_nonnull(strstr(l->pdata[0], "ZPCI_FID=0x000000c2 "));
	ck_assert_ptr_nonnull(strstr(l->pdata[0], "(adapter)"));
	g_ptr_array_unref(l);
	l = E2E_LINES(w, mark, "ZPCID_KIND=action", "ZPCID_ACTION=reset ", "ZPCID_RESULT=done");
	ck_assert_uint_eq(l->len, 1);
	ck_assert_ptr_nonnull(strstr(l->pdata[0], "ZPCI_FID=0x000000c1 "));

	ck_assert_int_eq(devworld_get_stats(w, 0xc1, &st), 0);
	ck_assert_uint_eq(st.resets, 1);
	ck_assert_int_eq(devworld_get_stats(w, 0xc2, &st), 0);
	ck_assert_uint_eq(st.resets, 0);

	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	devworld_free(w);
}
END_TEST

static Suite *adapter_suite(void)
{
	Suite *s = suite_create("e2e-adapter");

	/* one case per test: CK_RUN_CASE=<name> runs one */
	E2E_ADD_TEST(s, test_outside_window, 90);
	E2E_ADD_TEST(s, test_alert_once_per_adapter, 90);
	E2E_ADD_TEST(s, test_hold_postpones_resets, 90);
	return s;
}

int main(void)
{
	return e2e_main(adapter_suite());
}
