/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * End-to-end: the real zpcid binary on the simulated LPAR, owning functions
 * (own mode, chosen by the policy). A burst with a drop drained in order
 * after one signal and recorded once although the kernel log says the same,
 * the kernel taking a device back (REQ), a device another process holds,
 * both forms of the zPCI error feature and a kernel without it, and a
 * garbage error record. What zpcid says is read from its console log and its
 * history file; what it did to the device from the emulation's counters.
 *
 * Not here: delegated mode. umockdev cannot route the ioctls of a file
 * descriptor passed between processes, so a delegated device is driven end
 * to end only in the s390x guest tier.
 */
#include "tests/e2e-util.h"

#define OWN_CONFIG(extra)                                                                       \
	"{ \"schema\": 1, \"output\": { \"burst\": 1000, \"interval\": \"10s\" },"              \
	" \"policy\": { \"budget\": null, \"cooldown\": \"0s\", \"rules\": ["                   \
	" { \"name\": \"owned\", \"match\": { \"driver\": \"vfio-pci\" }, \"mode\": \"own\" }," \
	" { \"name\": \"default\", \"actions\": [ \"log\" ] } ] } " extra "}"

static void add_vfio_function(Devworld *w, uint32_t fid, DevworldFeature feature)
{
	DevworldFunction f = {
		.fid = fid,
		.uid = fid,
		.uid_is_unique = true,
		.pchid = 0x0100,
		.kind = DEVWORLD_KIND_NVME,
		.driver = "vfio-pci",
		.feature = feature,
	};

	ck_assert_int_eq(devworld_add_function(w, &f), 0);
}

/* Start zpcid owning @fid: its ERR eventfd registered with the emulation. */
static void start_owning(Devworld *w, uint32_t fid)
{
	g_autofree char *want = g_strdup_printf("PCI function 0x%08x: holding its vfio device", fid);

	e2e_start_daemon(w, OWN_CONFIG(""));
	E2E_WAIT_LOG(w, 0, want);
	ck_assert_int_eq(devworld_wait_err_registered(w, fid, true, E2E_EVENT_MS), 0);
}

/* The "GET -> 0 pec=0x.." lines of the function's operation log, in order. */
static GPtrArray *drained_pecs(Devworld *w, uint32_t fid)
{
	g_autofree char *ops = devworld_oplog(w, fid);
	g_auto(GStrv) lines = g_strsplit(ops, "\n", -1);
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);

	for (char **l = lines; *l; l++) {
		const char *p = strstr(*l, "ZPCI_ERROR GET");

		if (p && (p = strstr(p, "-> 0 pec=0x")))
			g_ptr_array_add(out, g_strdup(p + strlen("-> 0 pec=")));
	}
	return out;
}

/* The lines of @lines that are not the full record of an error recorded before. */
static GPtrArray *first_records(GPtrArray *lines)
{
	GPtrArray *r = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < lines->len; i++)
		if (!strstr(g_ptr_array_index(lines, i), "ZPCID_SAME_AS="))
			g_ptr_array_add(r, g_strdup(g_ptr_array_index(lines, i)));
	g_ptr_array_unref(lines);
	return r;
}

START_TEST(test_burst_with_drop)
{
	static const uint16_t pecs[] = { 0x0012, 0x0013, 0x003a, 0x0018, 0x0040 };
	Devworld *w = e2e_world();
	g_autoptr(GPtrArray) errors = NULL, dropped = NULL, hist = NULL, gets = NULL;
	DevworldStats st;
	uint64_t last_seq = 0;
	unsigned n_err = 0, n_drop = 0, n_signals;
	size_t mark;

	add_vfio_function(w, 0x11, DEVWORLD_FEATURE_V20);
	/* a second function whose error comes last (see below) */
	add_vfio_function(w, 0x12, DEVWORLD_FEATURE_V20);
	start_owning(w, 0x11);
	E2E_WAIT_LOG(w, 0, "PCI function 0x00000012: holding its vfio device");
	ck_assert_int_eq(devworld_wait_err_registered(w, 0x12, true, E2E_EVENT_MS), 0);

	/* four queued, the fifth dropped by the kernel (its warning goes to the
	 * kernel log, like the "Event ... reports an error" line of each), then
	 * one signal */
	mark = devworld_log_mark(w);
	/* keep zpcid from running while the kernel queues, as a busy host
	 * would, so that the queue really fills up */
	ck_assert_int_eq(kill(devworld_daemon_pid(w), SIGSTOP), 0);
	for (size_t i = 0; i < G_N_ELEMENTS(pecs); i++)
		ck_assert_int_eq(devworld_queue_pec(w, 0x11, pecs[i]), i < 4 ? 1 : 0);
	n_signals = devworld_signal_err(w, 0x11);
	ck_assert_int_eq(kill(devworld_daemon_pid(w), SIGCONT), 0);
	ck_assert_uint_eq(n_signals, 1);
	ck_assert_int_eq(devworld_wait_drained(w, 0x11, E2E_EVENT_MS), 0);
	E2E_WAIT_LOG(w, mark, "ZPCID_KIND=dropped");
	E2E_WAIT_LOG(w, mark, "reported error 0x0040");
	for (size_t i = 0; i < 4; i++) {
		/* recorded from the other source (the drained record first), or
		 * held from it (the kernel-log line first) */
		g_autofree char *dup = g_strdup_printf("Error 0x%04x of function 0x00000011 already",
						       pecs[i]);
		E2E_WAIT_LOG(w, mark, dup);
	}
	/* Nothing more for 0x11: an error of 0x12 comes after all of it, from
	 * the kernel log (read in order) and from its device; once both of its
	 * records have met, anything 0x11's input could cause has been logged. */
	ck_assert_int_eq(devworld_inject_pec(w, 0x12, 0x003a), 1);
	E2E_WAIT_LOG(w, mark, "Error 0x003a of function 0x00000012 already");
	if (getenv("E2E_DUMP"))
		e2e_dump_log(w);

	/* the emulation: all four handed out after the one signal, in queue order */
	ck_assert_int_eq(devworld_get_stats(w, 0x11, &st), 0);
	ck_assert_uint_eq(st.drained, 4);
	ck_assert_uint_eq(st.dropped, 1);
	ck_assert_uint_eq(st.queued, 0);
	gets = drained_pecs(w, 0x11);
	ck_assert_uint_eq(gets->len, 4);
	for (guint i = 0; i < 4; i++) {
		g_autofree char *want = g_strdup_printf("0x%x", pecs[i]);
		ck_assert_str_eq(g_ptr_array_index(gets, i), want);
	}

	/* zpcid: each error exactly once (the drain and the kernel log line of
	 * the same error paired up: a kernel-log line after the drained record
	 * is a duplicate; one before it is held until the drained record comes,
	 * which is recorded alone, or — when it comes after the grace — as the
	 * full record of the first, ZPCID_SAME_AS), in queue order; the dropped
	 * one known from the kernel log only (recorded as its grace ended), and
	 * the drop reported (the kernel's warning names the slot, not the PEC) */
	errors = first_records(E2E_LINES(w, mark, "ZPCID_KIND=error", "ZPCI_FID=0x00000011"));
	ck_assert_uint_eq(errors->len, 5);
	for (guint i = 0; i < errors->len; i++) {
		const char *l = g_ptr_array_index(errors, i);
		g_autofree char *pec = e2e_field(l, "ZPCI_PEC");
		g_autofree char *want = g_strdup_printf("0x%04x", pecs[i]);
		uint64_t seq = e2e_field_u64(l, "ZPCID_SEQ");

		ck_assert_str_eq(pec, want);
		ck_assert_uint_gt(seq, last_seq);
		last_seq = seq;
	}
	{
		g_autofree char *src = e2e_field(g_ptr_array_index(errors, 4), "ZPCID_SOURCE");
		ck_assert_str_eq(src, "kmsg");
	}
	ck_assert_uint_eq(devworld_count_log(w, mark, "of function 0x00000011 already"), 4);
	dropped = E2E_LINES(w, mark, "ZPCID_KIND=dropped");
	ck_assert_uint_eq(dropped->len, 1);
	{
		g_autofree char *pec = e2e_field(g_ptr_array_index(dropped, 0), "ZPCI_PEC");
		g_autofree char *count = e2e_field(g_ptr_array_index(dropped, 0), "ZPCID_COUNT");
		g_autofree char *fid = e2e_field(g_ptr_array_index(dropped, 0), "ZPCI_FID");
		ck_assert_str_eq(pec, "");
		ck_assert_str_eq(count, "1");
		ck_assert_str_eq(fid, "0x00000011");
	}

	/* the history has the same */
	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	hist = e2e_history(w);
	for (guint i = 0; i < hist->len; i++) {
		json_object *o = g_ptr_array_index(hist, i);

		if (e2e_jint(o, "fid") == 0x12)
			continue;
		if (g_str_equal(e2e_jstr(o, "kind"), "error") &&
		    !json_object_object_get_ex(o, "same_as", NULL)) {
			ck_assert_uint_lt(n_err, 5);
			ck_assert_int_eq(e2e_jint(o, "pec"), pecs[n_err]);
			n_err++;
		} else if (g_str_equal(e2e_jstr(o, "kind"), "dropped")) {
			ck_assert_int_eq(e2e_jint(o, "fid"), 0x11);
			n_drop++;
		}
	}
	ck_assert_uint_eq(n_err, 5);
	ck_assert_uint_eq(n_drop, 1);
	devworld_free(w);
}
END_TEST

START_TEST(test_request_releases)
{
	Devworld *w = e2e_world();
	DevworldStats st;
	size_t mark;

	add_vfio_function(w, 0x21, DEVWORLD_FEATURE_V20);
	start_owning(w, 0x21);
	ck_assert_int_eq(devworld_get_stats(w, 0x21, &st), 0);
	ck_assert_uint_eq(st.opens, 1);
	ck_assert_uint_eq(st.closes, 0);
	ck_assert_msg(st.req_registered, "zpcid registered no REQ eventfd");

	/* an error still queued when the kernel wants the device back is read first */
	ck_assert_int_eq(devworld_queue_pec(w, 0x21, 0x0018), 1);
	mark = devworld_log_mark(w);
	ck_assert_int_eq(devworld_request(w, 0x21), 1);
	E2E_WAIT_LOG(w, mark,
		     "PCI function 0x00000021: the kernel requests its vfio device back, releasing it");
	ck_assert_int_eq(devworld_wait_err_registered(w, 0x21, false, E2E_EVENT_MS), 0);
	E2E_WAIT_LOG(w, mark, "reported error 0x0018");

	ck_assert_int_eq(devworld_get_stats(w, 0x21, &st), 0);
	ck_assert_uint_eq(st.closes, 1);
	ck_assert_uint_eq(st.owner_pid, 0);
	ck_assert_uint_eq(st.discarded, 0);
	ck_assert_uint_eq(st.drained, 1);

	/* the function is observed now: an error is known from the kernel log only */
	mark = devworld_log_mark(w);
	ck_assert_int_eq(devworld_inject_pec(w, 0x21, 0x0013), 0);
	E2E_WAIT_LOG(w, mark, "reported error 0x0013");
	{
		g_autoptr(GPtrArray) l = E2E_LINES(w, mark, "reported error 0x0013");
		g_autofree char *src = e2e_field(g_ptr_array_index(l, 0), "ZPCID_SOURCE");
		g_autofree char *mode = e2e_field(g_ptr_array_index(l, 0), "ZPCI_MODE");

		ck_assert_str_eq(src, "kmsg");
		ck_assert_uint_eq(l->len, 1);
		(void)mode;
	}
	ck_assert_int_eq(devworld_get_stats(w, 0x21, &st), 0);
	ck_assert_uint_eq(st.opens, 1);
	ck_assert_int_gt(devworld_daemon_pid(w), 0);
	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	devworld_free(w);
}
END_TEST

START_TEST(test_held_elsewhere)
{
	Devworld *w = e2e_world();
	g_autofree char *want = NULL;
	DevworldStats st;
	pid_t holder;

	add_vfio_function(w, 0x31, DEVWORLD_FEATURE_V20);
	holder = devworld_hold(w, 0x31);
	ck_assert_int_gt(holder, 0);
	e2e_start_daemon(w, OWN_CONFIG(""));

	/* zpcid does not take a device a VMM holds: it says who holds it and observes */
	want = g_strdup_printf("held by qemu-system-s39 (pid %d)", (int)holder);
	E2E_WAIT_LOG(w, 0, want);
	E2E_WAIT_LOG(w, 0, "1 held by a process");
	{
		g_autoptr(GPtrArray) l = E2E_LINES(w, 0, "Function 0x00000031 at");
		g_autofree char *mode = NULL, *pid = NULL, *comm = NULL, *want_pid = NULL;

		ck_assert_uint_eq(l->len, 1);
		mode = e2e_field(g_ptr_array_index(l, 0), "ZPCI_MODE");
		pid = e2e_field(g_ptr_array_index(l, 0), "ZPCI_OWNER_PID");
		comm = e2e_field(g_ptr_array_index(l, 0), "ZPCI_OWNER_COMM");
		want_pid = g_strdup_printf("%d", (int)holder);
		ck_assert_str_eq(mode, "observe");
		ck_assert_str_eq(pid, want_pid);
		ck_assert_str_eq(comm, "qemu-system-s39");
	}
	ck_assert_uint_eq(devworld_count_log(w, 0, "holding its vfio device"), 0);
	ck_assert_int_eq(devworld_get_stats(w, 0x31, &st), 0);
	ck_assert_int_eq(st.owner_pid, holder);
	ck_assert_uint_eq(st.opens, 1); /* the holder's */

	/* a claim that races with the holder (an open that gets EBUSY) is refused the same way */
	{
		size_t mark = devworld_log_mark(w);

		ck_assert_int_eq(devworld_recovery_uevent(w, 0x31, "BEGIN_RECOVERY", false), 0);
		E2E_WAIT_LOG(w, mark, "ZPCI_RECOVERY=begin");
		ck_assert_uint_eq(devworld_count_log(w, mark, "holding its vfio device"), 0);
	}
	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	devworld_free(w);
}
END_TEST

static void check_form(DevworldFeature feature)
{
	Devworld *w = e2e_world();
	const char *want = "holding its vfio device (cdev, error records of 32 bytes)";
	DevworldStats st;
	size_t mark;

	add_vfio_function(w, 0x41, feature);
	start_owning(w, 0x41);
	E2E_WAIT_LOG(w, 0, want);

	mark = devworld_log_mark(w);
	ck_assert_int_eq(devworld_queue_pec(w, 0x41, 0x0012), 1);
	ck_assert_int_eq(devworld_queue_pec(w, 0x41, 0x003b), 1);
	ck_assert_int_eq(devworld_signal_err(w, 0x41), 1);
	ck_assert_int_eq(devworld_wait_drained(w, 0x41, E2E_EVENT_MS), 0);
	/* both sources (the device and the kernel log) handled both errors:
	 * the second source's line is logged before the record is written */
	E2E_WAIT_LOG(w, mark, "Error 0x0012 of function 0x00000041 already");
	E2E_WAIT_LOG(w, mark, "Error 0x003b of function 0x00000041 already");
	E2E_WAIT_LOG(w, mark, "reported error 0x0012");
	E2E_WAIT_LOG(w, mark, "reported error 0x003b");
	ck_assert_uint_eq(devworld_count_log(w, mark, "reported error 0x0012"), 1);
	ck_assert_uint_eq(devworld_count_log(w, mark, "reported error 0x003b"), 1);
	ck_assert_int_eq(devworld_get_stats(w, 0x41, &st), 0);
	ck_assert_uint_eq(st.drained, 2);
	ck_assert_uint_ge(st.feature_probes, 1);
	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	devworld_free(w);
}

START_TEST(test_form_v20)
{
	check_form(DEVWORLD_FEATURE_V20);
}
END_TEST

START_TEST(test_no_feature)
{
	Devworld *w = e2e_world();
	DevworldStats st;
	size_t mark;

	add_vfio_function(w, 0x51, DEVWORLD_FEATURE_NONE);
	e2e_start_daemon(w, OWN_CONFIG(""));

	/* said plainly, and the function observed instead */
	E2E_WAIT_LOG(w, 0,
		     "PCI function 0x00000051: the kernel has no zPCI error feature, observing the function "
		     "instead");
	E2E_WAIT_LOG(w, 0,
		     "The kernel offers no zPCI error feature for function 0x00000051; observing it instead "
		     "of owning it.");
	/* the start-up records are written after READY=1, the summary last */
	E2E_WAIT_LOG(w, 0, "Found 1 zPCI function(s)");
	{
		g_autoptr(GPtrArray) l = E2E_LINES(w, 0, "Function 0x00000051 at");
		g_autofree char *mode = NULL;

		ck_assert_uint_eq(l->len, 1);
		mode = e2e_field(g_ptr_array_index(l, 0), "ZPCI_MODE");
		ck_assert_str_eq(mode, "observe");
	}
	ck_assert_uint_eq(devworld_count_log(w, 0, "holding its vfio device"), 0);
	/* the device was not left open (the emulation sees the close a moment later) */
	for (unsigned i = 0; i < 300; i++) {
		ck_assert_int_eq(devworld_get_stats(w, 0x51, &st), 0);
		if (st.owner_pid == 0)
			break;
		g_usleep(10 * 1000);
	}
	ck_assert_uint_eq(st.owner_pid, 0);
	ck_assert_uint_eq(st.opens, st.closes);

	/* its errors still arrive, from the kernel log */
	mark = devworld_log_mark(w);
	ck_assert_int_eq(devworld_inject_pec(w, 0x51, 0x0012), 0);
	E2E_WAIT_LOG(w, mark, "reported error 0x0012");
	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	devworld_free(w);
}
END_TEST

START_TEST(test_garbage_ccdf)
{
	Devworld *w = e2e_world();
	uint8_t junk[32];
	DevworldStats st;
	size_t mark;

	add_vfio_function(w, 0x61, DEVWORLD_FEATURE_V20);
	start_owning(w, 0x61);

	/* nonsense: all ones (an FID and handle of another function, an
	 * unknown PEC), then a record of random bytes */
	mark = devworld_log_mark(w);
	/* the kernel routes a record by the FID in it: it would not log one
	 * naming another function as an error of this one */
	devworld_set_kmsg_on_error(w, false);
	memset(junk, 0xff, sizeof(junk));
	ck_assert_int_ge(devworld_inject_ccdf(w, 0x61, junk), 0);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)g_random_int();
	ck_assert_int_ge(devworld_inject_ccdf(w, 0x61, junk), 0);
	memset(junk, 0, sizeof(junk));
	ck_assert_int_ge(devworld_inject_ccdf(w, 0x61, junk), 0);
	ck_assert_int_eq(devworld_wait_drained(w, 0x61, E2E_EVENT_MS), 0);

	devworld_set_kmsg_on_error(w, true);

	/* it keeps serving: a real error after the garbage is drained and recorded */
	ck_assert_int_eq(devworld_inject_pec(w, 0x61, 0x0012), 1);
	ck_assert_int_eq(devworld_wait_drained(w, 0x61, E2E_EVENT_MS), 0);
	E2E_WAIT_LOG(w, mark, "reported error 0x0012");
	if (getenv("E2E_DUMP"))
		e2e_dump_log(w);
	ck_assert_int_eq(devworld_get_stats(w, 0x61, &st), 0);
	ck_assert_uint_eq(st.drained, 4);
	/* the record is kept as it came, and says it does not fit the function */
	ck_assert_uint_eq(devworld_count_log(w, mark, "ZPCI_PEC=0xffff"), 1);
	ck_assert_uint_eq(devworld_count_log(w, mark, "ZPCID_DETAIL=record names function 0xffffffff"), 1);
	ck_assert_uint_eq(devworld_count_log(w, mark, "ZPCID_KIND=error") -
				  devworld_count_log(w, mark, "ZPCID_SAME_AS="),
			  4);
	ck_assert_int_gt(devworld_daemon_pid(w), 0);
	ck_assert_uint_eq(devworld_count_log(w, 0, "holding its vfio device"), 1);
	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	devworld_free(w);
}
END_TEST

static Suite *own_suite(void)
{
	Suite *s = suite_create("e2e-own");

	/* one case per test: CK_RUN_CASE=<name> runs one */
	E2E_ADD_TEST(s, test_burst_with_drop, 60);
	E2E_ADD_TEST(s, test_request_releases, 60);
	E2E_ADD_TEST(s, test_held_elsewhere, 60);
	E2E_ADD_TEST(s, test_form_v20, 60);
	E2E_ADD_TEST(s, test_no_feature, 60);
	E2E_ADD_TEST(s, test_garbage_ccdf, 60);
	return s;
}

int main(void)
{
	return e2e_main(own_suite());
}
