/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * End-to-end: the real zpcid's policy, actions and history on the simulated
 * LPAR. An error storm escalating through a ladder (reset, then unbind),
 * the global budget stopping a cascade, a 10 000-event storm complete in the
 * history while the log gets the burst and exact summaries, a kill -9 in a
 * storm and the restart on the same state, and alert commands that hang or
 * come by the hundred.
 */
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/e2e-util.h"

/* The action result records ("action <name> <result>") of @fid after @from. */
static unsigned count_action(Devworld *w, size_t from, uint32_t fid, const char *action, const char *result)
{
	g_autofree char *f = g_strdup_printf("ZPCI_FID=0x%08x ", fid);
	g_autofree char *a = g_strdup_printf("ZPCID_ACTION=%s ", action);
	g_autofree char *r = g_strdup_printf("ZPCID_RESULT=%s ", result);
	g_autoptr(GPtrArray) l = E2E_LINES(w, from, "ZPCID_KIND=action", f, a, r);

	return l->len;
}

static void add_function(Devworld *w, uint32_t fid, const char *driver)
{
	DevworldFunction f = {
		.fid = fid,
		.uid = fid,
		.uid_is_unique = true,
		.pchid = 0x0200,
		.kind = DEVWORLD_KIND_NVME,
		.driver = driver,
	};

	ck_assert_int_eq(devworld_add_function(w, &f), 0);
}

/* Wait until @needle occurs @n times in the log after @from. */
static void wait_count(Devworld *w, size_t from, const char *needle, unsigned n)
{
	gint64 end = g_get_monotonic_time() + E2E_EVENT_MS * 1000;

	while (devworld_count_log(w, from, needle) < n) {
		if (g_get_monotonic_time() > end) {
			e2e_dump_log(w);
			ck_abort_msg("zpcid did not log \"%s\" %u times", needle, n);
		}
		g_usleep(10 * 1000);
	}
}

/* Inject @pec on @fid and wait until zpcid recorded it (@n-th time since @from). */
static void inject_and_wait(Devworld *w, size_t from, uint32_t fid, uint16_t pec, unsigned n)
{
	g_autofree char *want = g_strdup_printf("PCI function 0x%08x (%s) reported error 0x%04x", fid,
						devworld_slot(w, fid), pec);
	gint64 end = g_get_monotonic_time() + E2E_EVENT_MS * 1000;

	ck_assert_int_ge(devworld_inject_pec(w, fid, pec), 0);
	while (devworld_count_log(w, from, want) < n) {
		if (g_get_monotonic_time() > end) {
			e2e_dump_log(w);
			ck_abort_msg("zpcid did not record error %u of 0x%x", n, fid);
		}
		g_usleep(10 * 1000);
	}
}

/* 7: an error storm on one owned function: reset, then unbind. */
START_TEST(test_storm_ladder)
{
	Devworld *w = e2e_world();
	g_autofree char *override = NULL, *ovpath = NULL;
	DevworldStats st;
	size_t mark;

	add_function(w, 0x71, "vfio-pci");
	add_function(w, 0x72, "vfio-pci"); /* a bystander */
	e2e_start_daemon(
		w,
		"{ \"schema\": 1, \"policy\": { \"budget\": null, \"cooldown\": \"0s\", \"rules\": ["
		" { \"name\": \"owned\", \"match\": { \"driver\": \"vfio-pci\" }, \"mode\": \"own\" },"
		" { \"name\": \"storm\", \"match\": { \"fid\": \"0x71\", \"pec_class\": \"recoverable\" },"
		"   \"threshold\": \"3 / 1h\", \"ladder\": [ \"reset\", \"unbind\" ] },"
		" { \"name\": \"default\", \"actions\": [ \"log\" ] } ] } }");
	E2E_WAIT_LOG(w, 0, "PCI function 0x00000071: holding its vfio device");
	ck_assert_int_eq(devworld_wait_err_registered(w, 0x71, true, E2E_EVENT_MS), 0);
	mark = devworld_log_mark(w);

	/* two errors: below the threshold, nothing happens (an action carries
	 * its trigger's PEC: the first one must come from the third error, of
	 * a code of its own) */
	inject_and_wait(w, mark, 0x71, 0x0012, 1);
	inject_and_wait(w, mark, 0x71, 0x0013, 1);
	ck_assert_uint_eq(devworld_count_log(w, mark, "ZPCID_KIND=action"), 0);

	/* the third fires: the first step, a reset through the vfio device */
	inject_and_wait(w, mark, 0x71, 0x0011, 1);
	E2E_WAIT_LOG(w, mark, "action reset done");
	ck_assert_int_eq(devworld_get_stats(w, 0x71, &st), 0);
	ck_assert_uint_eq(st.resets, 1);
	ck_assert_uint_eq(count_action(w, mark, 0x71, "reset", "done"), 1);
	ck_assert_uint_eq(count_action(w, mark, 0x71, "unbind", "done"), 0);
	{
		g_autoptr(GPtrArray) first = E2E_LINES(w, mark, "ZPCID_KIND=action");
		g_autofree char *pec = e2e_field(g_ptr_array_index(first, 0), "ZPCI_PEC");

		ck_assert_str_eq(pec, "0x0011");
	}

	/* three more: the second step, unbind (driver_override "none" first) */
	inject_and_wait(w, mark, 0x71, 0x0012, 2);
	inject_and_wait(w, mark, 0x71, 0x0013, 2);
	inject_and_wait(w, mark, 0x71, 0x0012, 3);
	E2E_WAIT_LOG(w, mark, "action unbind done");
	ovpath = g_strdup_printf("/sys/bus/pci/devices/%s/driver_override", devworld_slot(w, 0x71));
	override = devworld_read_file(w, ovpath);
	ck_assert_ptr_nonnull(override);
	ck_assert_str_eq(override, "none");
	/* the kernel completes the unbind: zpcid gives the device back first */
	ck_assert_int_eq(devworld_complete_unbinds(w, E2E_EVENT_MS), 1);
	ck_assert_str_eq(devworld_driver(w, 0x71), "");
	E2E_WAIT_LOG(w, mark, "PCI function 0x00000071: the kernel requests its vfio device back");
	E2E_WAIT_LOG(w, mark, "Function 0x00000071 (0071:00:00.0): driver vfio-pci -> (none)");
	ck_assert_int_eq(devworld_get_stats(w, 0x71, &st), 0);
	ck_assert_uint_eq(st.resets, 1);
	ck_assert_uint_eq(st.owner_pid, 0);
	ck_assert_uint_eq(count_action(w, mark, 0x71, "reset", "done"), 1);
	ck_assert_uint_eq(count_action(w, mark, 0x71, "unbind", "done"), 1);

	/* the bystander was not touched */
	ck_assert_int_eq(devworld_get_stats(w, 0x72, &st), 0);
	ck_assert_uint_eq(st.resets, 0);
	ck_assert_str_eq(devworld_driver(w, 0x72), "vfio-pci");
	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	devworld_free(w);
}
END_TEST

/* 8: one error on each of 20 functions, each asking for a disruptive
 * action: the budget lets 3 run and postpones the rest. */
START_TEST(test_budget_cascade)
{
	Devworld *w = e2e_world();
	unsigned unbound = 0, untouched = 0;
	size_t mark;

	for (uint32_t i = 0; i < 20; i++)
		add_function(w, 0x100 + i, "vfio-pci");
	e2e_start_daemon(
		w,
		"{ \"schema\": 1, \"policy\": { \"budget\": \"3 / 1h\", \"cooldown\": \"0s\", \"rules\": ["
		" { \"name\": \"quarantine\", \"match\": { \"pec_class\": \"recoverable\" },"
		"   \"actions\": [ \"unbind\" ], \"disrupt_observed\": true },"
		" { \"name\": \"default\", \"actions\": [ \"log\" ] } ] } }");
	E2E_WAIT_LOG(w, 0, "Found 20 zPCI function(s)");
	mark = devworld_log_mark(w);

	for (uint32_t i = 0; i < 20; i++)
		ck_assert_int_eq(devworld_inject_pec(w, 0x100 + i, 0x0012), 0);
	/* every decision recorded: 3 run, 17 postponed for the budget */
	{
		gint64 end = g_get_monotonic_time() + E2E_EVENT_MS * 1000;

		while (devworld_count_log(w, mark, "action unbind done") +
			       devworld_count_log(w, mark, "action unbind postponed") <
		       20) {
			if (g_get_monotonic_time() > end) {
				e2e_dump_log(w);
				ck_abort_msg("not every decision was recorded");
			}
			g_usleep(20 * 1000);
		}
	}
	/* No more decisions: a last error (no action for its class) is read
	 * after the 20; once it is recorded, so is any further error, and each
	 * error's decision is taken when it is recorded. */
	inject_and_wait(w, mark, 0x100, 0x003a, 1);
	if (getenv("E2E_DUMP"))
		e2e_dump_log(w);
	ck_assert_uint_eq(devworld_count_log(w, mark, "ZPCID_KIND=error"), 21);
	ck_assert_uint_eq(devworld_count_log(w, mark, "action unbind done"), 3);
	ck_assert_uint_eq(devworld_count_log(w, mark, "action unbind postponed"), 17);
	{
		g_autoptr(GPtrArray) held = E2E_LINES(w, mark, "action unbind postponed", "(budget) [");
		ck_assert_uint_eq(held->len, 17);
	}
	ck_assert_uint_eq(devworld_count_log(w, mark, "ZPCID_RESULT=failed"), 0);

	/* and exactly 3 functions were really quarantined */
	for (uint32_t i = 0; i < 20; i++) {
		g_autofree char *path = g_strdup_printf("/sys/bus/pci/devices/%s/driver_override",
							devworld_slot(w, 0x100 + i));
		g_autofree char *ov = devworld_read_file(w, path);

		ck_assert_ptr_nonnull(ov);
		if (g_str_equal(ov, "none"))
			unbound++;
		else if (g_str_equal(ov, ""))
			untouched++;
	}
	ck_assert_uint_eq(unbound, 3);
	ck_assert_uint_eq(untouched, 17);
	ck_assert_int_eq(devworld_complete_unbinds(w, 1000),
			 1); /* the kernel's unbind file holds the last write */

	/* the history holds all 20 decisions */
	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	{
		g_autoptr(GPtrArray) h = e2e_history(w);
		unsigned done = 0, postponed = 0;

		for (guint i = 0; i < h->len; i++) {
			json_object *o = g_ptr_array_index(h, i);

			if (!g_str_equal(e2e_jstr(o, "kind"), "action") ||
			    !g_str_equal(e2e_jstr(o, "action"), "unbind"))
				continue;
			if (g_str_equal(e2e_jstr(o, "result"), "done"))
				done++;
			else if (g_str_equal(e2e_jstr(o, "result"), "postponed"))
				postponed++;
		}
		ck_assert_uint_eq(done, 3);
		ck_assert_uint_eq(postponed, 17);
	}
	devworld_free(w);
}
END_TEST

#define STORM_N 10000

/* 9: 10 000 errors on one function: all in the history, the log gets the
 * bursts and summaries whose counts add up exactly. */
START_TEST(test_storm_history)
{
	Devworld *w = e2e_world();
	g_autoptr(GPtrArray) errors = NULL, summaries = NULL, last = NULL, h = NULL;
	uint64_t summed = 0, first_seq = 0, prev_seq = 0;
	unsigned in_history = 0, n_last = 0, unwritten = 0;
	g_autofree char *bad = NULL;
	size_t mark;
	gint64 t0;

	add_function(w, 0x81, "nvme");
	e2e_start_daemon(
		w, "{ \"schema\": 1, \"log\": { \"level\": \"info\" }, \"output\": { \"burst\": 50, "
		   "\"interval\": \"1s\" },"
		   " \"policy\": { \"rules\": [ { \"name\": \"default\", \"actions\": [ \"log\" ] } ] } }");
	mark = devworld_log_mark(w);
	t0 = g_get_monotonic_time();
	/* one check for the whole storm: each ck_assert is a message to Check */
	for (unsigned i = 0; i < STORM_N; i++)
		if (devworld_kmsg(w, "zpci: %s: Event 0x%x reports an error for PCI function 0x81",
				  devworld_slot(w, 0x81), i % 2 ? 0x12 : 0x13) != 0)
			unwritten++;
	ck_assert_uint_eq(unwritten, 0);
	/* the last summary comes at the end of its window */
	{
		gint64 end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

		for (;;) {
			summed = 0;
			summaries = E2E_LINES(w, mark, "ZPCID_KIND=summary");
			for (guint i = 0; i < summaries->len; i++)
				summed += e2e_field_u64(g_ptr_array_index(summaries, i), "ZPCID_COUNT");
			errors = E2E_LINES(w, mark, "ZPCID_KIND=error");
			if (errors->len + summed >= STORM_N)
				break;
			g_clear_pointer(&summaries, g_ptr_array_unref);
			g_clear_pointer(&errors, g_ptr_array_unref);
			if (g_get_monotonic_time() > end) {
				e2e_dump_log(w);
				ck_abort_msg("the storm was not logged and summarised");
			}
			g_usleep(100 * 1000);
		}
	}
	fprintf(stderr, "# %u errors in %.1f s: %u logged, %u summaries\n", STORM_N,
		(double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC, errors->len, summaries->len);
	/* Nothing more may come. A last line of the same function is read after
	 * the storm; it is logged at once, or counted in the summary of a window
	 * that is still open. Either way, once it is accounted for, so is every
	 * record the storm could make: a held-back one would be in the same
	 * summary. */
	ck_assert_int_eq(devworld_kmsg(w, "zpci: %s: Event 0x11 reports an error for PCI function 0x81",
				       devworld_slot(w, 0x81)),
			 0);
	{
		gint64 end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

		for (;;) {
			g_clear_pointer(&summaries, g_ptr_array_unref);
			g_clear_pointer(&errors, g_ptr_array_unref);
			summaries = E2E_LINES(w, mark, "ZPCID_KIND=summary");
			errors = E2E_LINES(w, mark, "ZPCID_KIND=error");
			summed = 0;
			for (guint i = 0; i < summaries->len; i++)
				summed += e2e_field_u64(g_ptr_array_index(summaries, i), "ZPCID_COUNT");
			g_clear_pointer(&last, g_ptr_array_unref);
			last = E2E_LINES(w, mark, "ZPCID_KIND=error", "ZPCI_PEC=0x0011");
			if (errors->len + summed > STORM_N || last->len > 0)
				break;
			if (g_get_monotonic_time() > end) {
				e2e_dump_log(w);
				ck_abort_msg("the last line was not accounted for");
			}
			g_usleep(100 * 1000);
		}
	}
	ck_assert_uint_eq(errors->len + summed, STORM_N + 1);
	ck_assert_uint_le(last->len, 1);
	ck_assert_uint_ge(summaries->len, 1);
	/* each window of the storm logs at most the burst before its summary */
	ck_assert_uint_le(errors->len - last->len, 50 * (summaries->len + 1));
	ck_assert_uint_lt(errors->len, STORM_N / 10);

	/* the history has every one, in order, once */
	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	h = e2e_history(w);
	for (guint i = 0; i < h->len; i++) {
		json_object *o = g_ptr_array_index(h, i);
		uint64_t seq = (uint64_t)e2e_jint(o, "seq");

		E2E_NOTE(bad, seq > prev_seq, "record %u: seq %" PRIu64 " after %" PRIu64, i, seq, prev_seq);
		prev_seq = seq;
		if (!g_str_equal(e2e_jstr(o, "kind"), "error"))
			continue;
		E2E_NOTE(bad, e2e_jint(o, "fid") == 0x81, "record %u: fid %" PRId64, i, e2e_jint(o, "fid"));
		if (in_history == STORM_N) { /* the last line */
			E2E_NOTE(bad, e2e_jint(o, "pec") == 0x11, "the last line: pec %" PRId64,
				 e2e_jint(o, "pec"));
			n_last++;
			continue;
		}
		E2E_NOTE(bad, e2e_jint(o, "pec") == (in_history % 2 ? 0x12 : 0x13), "error %u: pec %" PRId64,
			 in_history, e2e_jint(o, "pec"));
		if (in_history == 0)
			first_seq = seq;
		E2E_NOTE(bad, seq == first_seq + in_history, "error %u: seq %" PRIu64 ", expected %" PRIu64,
			 in_history, seq, first_seq + in_history);
		in_history++;
	}
	ck_assert_msg(!bad, "the history: %s", bad);
	ck_assert_uint_eq(in_history, STORM_N);
	ck_assert_uint_eq(n_last, 1);
	devworld_free(w);
}
END_TEST

/* How many events the leaky bucket of @rule of @fid holds in a saved policy
 * state (its level in units of one event), 0 when it has none. */
static double saved_bucket_events(const char *state, uint32_t fid, const char *rule)
{
	json_object *o = json_tokener_parse(state), *fns, *rules;
	double events = 0;

	if (o && json_object_object_get_ex(o, "functions", &fns))
		for (size_t i = 0; i < json_object_array_length(fns); i++) {
			json_object *fo = json_object_array_get_idx(fns, i);

			if (e2e_jint(fo, "fid") != fid || !json_object_object_get_ex(fo, "rules", &rules))
				continue;
			for (size_t j = 0; j < json_object_array_length(rules); j++) {
				json_object *ro = json_object_array_get_idx(rules, j);
				int64_t usec = e2e_jint(ro, "threshold_usec");

				/* the level is events x the interval (it drains 1 per µs) */
				if (g_str_equal(e2e_jstr(ro, "rule"), rule) && usec > 0)
					events = (double)e2e_jint(ro, "level") / (double)usec;
			}
		}
	json_object_put(o);
	return events;
}

/* 10: kill -9 in a storm, restart on the same state directory. */
START_TEST(test_kill_restart)
{
	static const char config[] = "{ \"schema\": 1, \"log\": { \"level\": \"info\" }, \"output\": { "
				     "\"burst\": 100000, \"interval\": \"10s\" },"
				     " \"policy\": { \"rules\": ["
				     " { \"name\": \"burst3\", \"match\": { \"fid\": \"0x92\" }, "
				     "\"threshold\": \"3 / 1h\", \"actions\": [ \"alert\" ] },"
				     " { \"name\": \"default\", \"actions\": [ \"log\" ] } ] } }";
	Devworld *w = e2e_world();
	g_autoptr(GHashTable) logged = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	g_autoptr(GPtrArray) lines = NULL, h = NULL, h2 = NULL;
	g_autofree char *state = NULL, *state_path = NULL;
	uint64_t max_logged = 0, max_hist = 0, prev = 0;
	unsigned unwritten = 0;
	g_autofree char *bad = NULL;
	size_t mark;
	int status;

	add_function(w, 0x91, "nvme");
	add_function(w, 0x92, "nvme");
	e2e_start_daemon(w, config);

	/* two errors towards the threshold, then the saved state has them */
	mark = devworld_log_mark(w);
	inject_and_wait(w, mark, 0x92, 0x0012, 1);
	inject_and_wait(w, mark, 0x92, 0x0012, 2);
	ck_assert_uint_eq(devworld_count_log(w, mark, "ZPCID_ACTION=alert"), 0);
	state_path = g_build_filename(devworld_state_directory(w), "policy-state.json", NULL);
	{
		gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

		/* the policy state is saved within a second of a change: wait
		 * until the saved bucket of 0x92 holds both errors */
		while (!g_file_get_contents(state_path, &state, NULL, NULL) ||
		       saved_bucket_events(state, 0x92, "burst3") < 1.5) {
			g_clear_pointer(&state, g_free);
			ck_assert_msg(g_get_monotonic_time() < end, "the policy state was not saved");
			g_usleep(100 * 1000);
		}
	}

	/* a storm, and kill -9 in the middle of it */
	for (unsigned i = 0; i < 3000; i++) {
		if (devworld_kmsg(w, "zpci: %s: Event 0x13 reports an error for PCI function 0x91",
				  devworld_slot(w, 0x91)) != 0)
			unwritten++;
		if (i == 1500) /* well under way when the rest comes */
			wait_count(w, mark, "ZPCI_FID=0x00000091", 100);
	}
	ck_assert_uint_eq(unwritten, 0);
	status = devworld_kill_daemon(w, SIGKILL);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	/* every event it logged is in the history, once, numbered without gaps */
	lines = E2E_LINES(w, 0, "ZPCID_SEQ=");
	for (guint i = 0; i < lines->len; i++) {
		uint64_t seq = e2e_field_u64(g_ptr_array_index(lines, i), "ZPCID_SEQ");
		gint64 *k = g_new(gint64, 1);

		*k = (gint64)seq;
		g_hash_table_add(logged, k);
		max_logged = MAX(max_logged, seq);
	}
	ck_assert_uint_gt(lines->len, 100);
	h = e2e_history(w);
	for (guint i = 0; i < h->len; i++) {
		uint64_t seq = (uint64_t)e2e_jint(g_ptr_array_index(h, i), "seq");
		gint64 k = (gint64)seq;

		E2E_NOTE(bad, seq == prev + 1, "record %u: seq %" PRIu64 " after %" PRIu64, i, seq, prev);
		prev = seq;
		g_hash_table_remove(logged, &k);
	}
	ck_assert_msg(!bad, "the history: %s", bad);
	max_hist = prev;
	{
		GHashTableIter it;
		gpointer k;

		g_hash_table_iter_init(&it, logged);
		while (g_hash_table_iter_next(&it, &k, NULL))
			fprintf(stderr,
				"# logged but not in the history: event %" G_GINT64_FORMAT
				" (last logged %" PRIu64 ", last recorded %" PRIu64 ")\n",
				*(gint64 *)k, max_logged, max_hist);
	}
	ck_assert_uint_eq(g_hash_table_size(logged), 0);
	ck_assert_uint_ge(max_hist, max_logged);
	fprintf(stderr, "# killed after %" PRIu64 " logged / %" PRIu64 " recorded events\n", max_logged,
		max_hist);

	/* restart on the same state: numbering goes on, the bucket too */
	mark = devworld_log_mark(w);
	e2e_start_daemon(w, config);
	inject_and_wait(w, mark, 0x92, 0x0012, 1);
	E2E_WAIT_LOG(w, mark, "action alert done");
	{
		g_autoptr(GPtrArray) e = E2E_LINES(w, mark, "reported error 0x0012", "ZPCI_FID=0x00000092");
		uint64_t seq;

		ck_assert_uint_eq(e->len, 1);
		seq = e2e_field_u64(g_ptr_array_index(e, 0), "ZPCID_SEQ");
		/* after the history's last record (and whatever the restarted
		 * daemon read from the rest of the storm) */
		ck_assert_uint_gt(seq, max_hist);
	}
	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	h2 = e2e_history(w);
	prev = 0;
	for (guint i = 0; i < h2->len; i++) {
		uint64_t seq = (uint64_t)e2e_jint(g_ptr_array_index(h2, i), "seq");

		E2E_NOTE(bad, seq == prev + 1, "record %u: seq %" PRIu64 " after %" PRIu64, i, seq, prev);
		prev = seq;
	}
	ck_assert_msg(!bad, "the history after the restart: %s", bad);
	ck_assert_uint_gt(h2->len, h->len);
	devworld_free(w);
}
END_TEST

/* 11: an alert command that hangs is killed at its timeout while zpcid goes
 * on; 100 alerts at once are queued, none lost. */
START_TEST(test_alerts)
{
	Devworld *w = e2e_world();
	g_autofree char *out = g_build_filename(devworld_root(w), "alerts.txt", NULL);
	g_autofree char *config = NULL, *text = NULL;
	size_t mark;
	gint64 t_hang;

	config = g_strdup_printf("{ \"schema\": 1, \"log\": { \"level\": \"info\" }, \"output\": { "
				 "\"burst\": 100000, \"interval\": \"10s\" },"
				 " \"actions\": { \"alert_command\": [ \"/bin/sh\", \"-c\","
				 "   \"echo $ZPCID_SEQ $ZPCI_PEC >> %s; if [ $ZPCI_PEC = 0x0040 ]; then "
				 "exec sleep 60; fi\" ],"
				 "   \"alert_timeout\": \"2s\" },"
				 " \"policy\": { \"rules\": [ { \"name\": \"page\", \"match\": { \"fid\": "
				 "\"0xa1\" }, \"actions\": [ \"alert\" ] },"
				 " { \"name\": \"default\", \"actions\": [ \"log\" ] } ] } }",
				 out);
	add_function(w, 0xa1, "nvme");
	add_function(w, 0xa2, "nvme");
	e2e_start_daemon(w, config);
	mark = devworld_log_mark(w);

	/* the hanging one */
	inject_and_wait(w, mark, 0xa1, 0x0040, 1);
	t_hang = g_get_monotonic_time();
	/* zpcid keeps serving while it hangs */
	inject_and_wait(w, mark, 0xa2, 0x0012, 1);
	ck_assert_uint_eq(devworld_count_log(w, mark, "action alert timeout"), 0);
	ck_assert_int_lt(g_get_monotonic_time() - t_hang, 2 * G_USEC_PER_SEC);
	E2E_WAIT_LOG(w, mark, "action alert timeout");
	ck_assert_int_ge(g_get_monotonic_time() - t_hang, 2 * G_USEC_PER_SEC - 200 * 1000);
	ck_assert_int_lt(g_get_monotonic_time() - t_hang, 6 * G_USEC_PER_SEC);

	/* 100 at once: 4 run, the others wait; every one runs */
	for (unsigned i = 0; i < 100; i++)
		ck_assert_int_eq(devworld_kmsg(w,
					       "zpci: %s: Event 0x12 reports an error for PCI function 0xa1",
					       devworld_slot(w, 0xa1)),
				 0);
	{
		gint64 end = g_get_monotonic_time() + 40 * G_USEC_PER_SEC;

		while (devworld_count_log(w, mark, "action alert done") < 100) {
			if (g_get_monotonic_time() > end) {
				e2e_dump_log(w);
				ck_abort_msg("only %u of 100 alerts ran",
					     devworld_count_log(w, mark, "action alert done"));
			}
			g_usleep(50 * 1000);
		}
	}
	/* No alert to come: an error of the other function is read after the
	 * 100; once it is recorded, so is every error of 0xa1, each decided as
	 * it is recorded: 100 decisions, 100 alerts done. */
	inject_and_wait(w, mark, 0xa2, 0x0013, 1);
	{
		g_autofree char *want = g_strdup_printf("PCI function 0x000000a1 (%s) reported error 0x0012",
							devworld_slot(w, 0xa1));

		ck_assert_uint_eq(devworld_count_log(w, mark, want), 100);
	}
	ck_assert_uint_eq(devworld_count_log(w, mark, "action alert done"), 100);
	ck_assert_uint_eq(devworld_count_log(w, mark, "action alert dropped"), 0);
	ck_assert_uint_eq(devworld_count_log(w, mark, "action alert failed"), 0);
	ck_assert(g_file_get_contents(out, &text, NULL, NULL));
	{
		g_auto(GStrv) l = g_strsplit(text, "\n", -1);
		unsigned n12 = 0, n40 = 0;

		for (char **p = l; *p && **p; p++)
			if (g_str_has_suffix(*p, " 0x0012"))
				n12++;
			else if (g_str_has_suffix(*p, " 0x0040"))
				n40++;
		ck_assert_uint_eq(n12, 100);
		ck_assert_uint_eq(n40, 1);
	}
	ck_assert_int_gt(devworld_daemon_pid(w), 0);
	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	devworld_free(w);
}
END_TEST

/* A reload that turns dry_run off: the next decision runs, with its rule
 * in the record; and one that turns it on again: the next is only recorded. */
START_TEST(test_dry_run_reload)
{
	static const char *const conf =
		"{ \"schema\": 1, \"policy\": { \"dry_run\": %s, \"budget\": null,"
		" \"cooldown\": \"0s\", \"rules\": ["
		" { \"name\": \"owned\", \"match\": { \"driver\": \"vfio-pci\" }, \"mode\": \"own\" },"
		" { \"name\": \"reset-it\", \"match\": { \"pec_class\": \"recoverable\" },"
		"   \"actions\": [ \"reset\" ] } ] } }";
	Devworld *w = e2e_world();
	g_autofree char *on = g_strdup_printf(conf, "true"), *off = g_strdup_printf(conf, "false");
	g_autoptr(GPtrArray) l = NULL;
	DevworldStats st;
	size_t mark;

	add_function(w, 0x81, "vfio-pci");
	e2e_start_daemon(w, on);
	E2E_WAIT_LOG(w, 0, "PCI function 0x00000081: holding its vfio device");
	ck_assert_int_eq(devworld_wait_err_registered(w, 0x81, true, E2E_EVENT_MS), 0);

	mark = devworld_log_mark(w);
	inject_and_wait(w, mark, 0x81, 0x0012, 1);
	E2E_WAIT_LOG(w, mark, "action reset dry-run");
	ck_assert_int_eq(devworld_get_stats(w, 0x81, &st), 0);
	ck_assert_uint_eq(st.resets, 0);

	mark = devworld_log_mark(w);
	g_free(e2e_write_config(w, off));
	ck_assert_int_eq(kill(devworld_daemon_pid(w), SIGHUP), 0);
	E2E_WAIT_LOG(w, mark, "Configuration reloaded.");
	inject_and_wait(w, mark, 0x81, 0x0013, 1);
	E2E_WAIT_LOG(w, mark, "action reset done");
	ck_assert_int_eq(devworld_get_stats(w, 0x81, &st), 0);
	ck_assert_uint_eq(st.resets, 1);
	l = E2E_LINES(w, mark, "ZPCID_KIND=action", "ZPCID_RESULT=done");
	ck_assert_uint_eq(l->len, 1);
	ck_assert_ptr_nonnull(strstr(l->pdata[0], "ZPCID_RULE=reset-it"));
	ck_assert_uint_eq(count_action(w, mark, 0x81, "reset", "dry-run"), 0);

	mark = devworld_log_mark(w);
	g_free(e2e_write_config(w, on));
	ck_assert_int_eq(kill(devworld_daemon_pid(w), SIGHUP), 0);
	E2E_WAIT_LOG(w, mark, "Configuration reloaded.");
	inject_and_wait(w, mark, 0x81, 0x0012, 1);
	E2E_WAIT_LOG(w, mark, "action reset dry-run");
	ck_assert_int_eq(devworld_get_stats(w, 0x81, &st), 0);
	ck_assert_uint_eq(st.resets, 1);

	ck_assert_int_eq(devworld_stop_daemon(w, 5000), 0);
	devworld_free(w);
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("e2e-policy");

	/* one case per test: CK_RUN_CASE=<name> runs one */
	E2E_ADD_TEST(s, test_storm_ladder, 90);
	E2E_ADD_TEST(s, test_budget_cascade, 90);
	E2E_ADD_TEST(s, test_storm_history, 90);
	E2E_ADD_TEST(s, test_kill_restart, 90);
	E2E_ADD_TEST(s, test_alerts, 90);
	E2E_ADD_TEST(s, test_dry_run_reload, 90);
	return s;
}

int main(void)
{
	return e2e_main(policy_suite());
}
