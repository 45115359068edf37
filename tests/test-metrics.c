/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/metrics.h"
#include "daemon/function.h"
#include "daemon/metrics-file.h"

static const MetricsFunction functions[] = {
	{ .fid = 0x51,
	  .slot = "0051:00:00.0",
	  .type = "NVMe",
	  .state = "failed",
	  .errors = 3,
	  .errors_by_class = { [PEC_CLASS_PERMANENT] = 1, [PEC_CLASS_RECOVERABLE] = 2 },
	  .has_owner = true,
	  .owner_command = "qemu-system-s39",
	  .owner_machine = "guest-7",
	  .owner_machine_class = "vm",
	  .owner_unit = "machine-qemu\\x2d1\\x2dguest\\x2d7.scope" },
	{ .fid = 0x22, .slot = "a\"b\\c\nd", .type = "RoCE Express", .state = "ok" },
};

static const MetricsAction actions[] = {
	{ .fid = 0x51, .action = "reset", .result = "failed", .count = 2 },
	{ .fid = 0x99, .action = "alert", .result = "done", .count = 1 }, /* function gone meanwhile */
};

static char *render(const MetricsSnapshot *s)
{
	char *text = NULL;

	ck_assert_int_eq(metrics_render_string(s, &text), 0);
	return text;
}

static unsigned count_lines(const char *text, const char *prefix)
{
	unsigned n = 0;

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		n += strncmp(l, prefix, strlen(prefix)) == 0;
	return n;
}

START_TEST(test_render_up)
{
	MetricsSnapshot s = { .up = true,
			      .version = "1.2",
			      .start_time_usec = 1700000000123456ULL,
			      .has_inhibitors = true,
			      .n_inhibitors = 2,
			      .functions = functions,
			      .n_functions = 2,
			      .actions = actions,
			      .n_actions = 2,
			      .has_kmsg = true,
			      .kmsg_missed = 7,
			      .has_loop_stall = true,
			      .loop_stall_max_usec = 2012345 };
	_cleanup_free_ char *t = render(&s);

	ck_assert_ptr_nonnull(strstr(t, "\nzpcid_up 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "zpcid_build_info{version=\"1.2\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "zpcid_start_time_seconds 1700000000.123456\n"));
	ck_assert_ptr_nonnull(strstr(t, "zpcid_inhibitors 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "zpcid_kmsg_missed_records_total 7\n"));
	/* the loop's longest iteration, in seconds */
	ck_assert_ptr_nonnull(strstr(t, "# TYPE zpcid_loop_stall_max_seconds gauge\n"
					"zpcid_loop_stall_max_seconds 2.012345\n"));
	/* one gauge per state, 1 for the current one */
	ck_assert_uint_eq(count_lines(t, "zpcid_function_state{fid=\"0x00000051\""),
			  METRICS_N_FUNCTION_STATES);
	ck_assert_ptr_nonnull(strstr(t, "zpcid_function_state{fid=\"0x00000051\",slot=\"0051:00:00.0\","
					"type=\"NVMe\",state=\"failed\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "zpcid_function_state{fid=\"0x00000051\",slot=\"0051:00:00.0\","
					"type=\"NVMe\",state=\"ok\"} 0\n"));
	/* label values escaped */
	ck_assert_ptr_nonnull(strstr(t, "slot=\"a\\\"b\\\\c\\nd\""));
	ck_assert_ptr_nonnull(strstr(t, "zpcid_errors_total{fid=\"0x00000051\",slot=\"0051:00:00.0\","
					"type=\"NVMe\",pec_class=\"recoverable\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "zpcid_actions_total{fid=\"0x00000051\",slot=\"0051:00:00.0\","
					"type=\"NVMe\",action=\"reset\",result=\"failed\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "zpcid_actions_total{fid=\"0x00000099\",slot=\"\",type=\"\","
					"action=\"alert\",result=\"done\"} 1\n"));
	/* the holder's names, for functions someone holds only (unit escaped: \x2d) */
	ck_assert_ptr_nonnull(strstr(t, "# TYPE zpcid_function_owner_info gauge\n"
					"zpcid_function_owner_info{fid=\"0x00000051\",slot=\"0051:00:00.0\","
					"type=\"NVMe\",machine=\"guest-7\",machine_class=\"vm\","
					"unit=\"machine-qemu\\\\x2d1\\\\x2dguest\\\\x2d7.scope\","
					"command=\"qemu-system-s39\"} 1\n"));
	ck_assert_uint_eq(count_lines(t, "zpcid_function_owner_info{"), 1);
	/* every family once, only types the 0.0.4 format knows, counters end in _total */
	ck_assert_uint_eq(count_lines(t, "# TYPE zpcid_function_state gauge"), 1);
	ck_assert_ptr_null(strstr(t, "stateset"));
	ck_assert_ptr_null(strstr(t, "# EOF"));
	for (const char *l = strstr(t, "# TYPE "); l; l = strstr(l + 1, "# TYPE ")) {
		const char *sp = strchr(l + 7, ' ');

		if (strncmp(sp + 1, "counter", 7) == 0)
			ck_assert(strncmp(sp - 6, "_total", 6) == 0);
		else
			ck_assert(strncmp(sp + 1, "gauge", 5) == 0);
	}
}
END_TEST

START_TEST(test_render_down_and_empty)
{
	MetricsSnapshot s = { .up = false, .version = "1.2", .functions = functions, .n_functions = 2 };
	_cleanup_free_ char *down = render(&s), *empty = NULL;

	ck_assert_str_eq(down, "# HELP zpcid_up Whether zpcid is running (0 after it stopped).\n"
			       "# TYPE zpcid_up gauge\nzpcid_up 0\n"
			       "# HELP zpcid_build_info zpcid's version, in the label; always 1.\n"
			       "# TYPE zpcid_build_info gauge\nzpcid_build_info{version=\"1.2\"} 1\n");
	/* no function, no action: no family without series */
	s = (MetricsSnapshot){ .up = true, .version = "1.2" };
	empty = render(&s);
	ck_assert_ptr_nonnull(strstr(empty, "zpcid_functions 0\n"));
	ck_assert_ptr_null(strstr(empty, "zpcid_function_state"));
	ck_assert_ptr_null(strstr(empty, "zpcid_actions_total"));
	ck_assert_ptr_null(strstr(empty, "zpcid_inhibitors"));
	ck_assert_ptr_null(strstr(empty, "zpcid_loop_stall_max_seconds"));
	/* a probe that saw no iteration yet says 0 */
	s.has_loop_stall = true;
	free(empty);
	empty = render(&s);
	ck_assert_ptr_nonnull(strstr(empty, "\nzpcid_loop_stall_max_seconds 0.000000\n"));
}
END_TEST

START_TEST(test_states_match_the_daemon)
{
	size_t n = 0;

	for (; metrics_function_states[n]; n++)
		ck_assert_str_eq(metrics_function_states[n], function_state_to_string((FunctionState)n));
	ck_assert_uint_eq(n, _FUNCTION_STATE_MAX);
	ck_assert_uint_eq(n, METRICS_N_FUNCTION_STATES);
}
END_TEST

START_TEST(test_replace)
{
	char dir[] = "/tmp/test-metrics.XXXXXX", path[64], buf[64] = {};
	struct stat st;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)umask(0077); /* as under the service unit: the file is still world-readable */
	ck_assert_int_eq(metrics_file_replace(dir, "zpcid.prom", "zpcid_up 1\n"), 0);
	ck_assert_int_eq(metrics_file_replace(dir, "zpcid.prom", "zpcid_up 0\n"), 0);
	(void)snprintf(path, sizeof(path), "%s/zpcid.prom", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(buf, 1, sizeof(buf) - 1, f), strlen("zpcid_up 0\n"));
	fclose(f);
	ck_assert_str_eq(buf, "zpcid_up 0\n");
	ck_assert_int_eq(metrics_file_replace("/nonexistent-dir", "zpcid.prom", "x\n"), -ENOENT);
	/* nothing but the file: no temporary left beside it */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

static uint64_t mono_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / NSEC_PER_USEC;
}

/* Run the loop until @mf has written @n times; fails after 30 s. */
static void loop_until_writes(MetricsFileOptions *m, MetricsFile *mf, uint64_t n)
{
	uint64_t deadline = mono_usec() + 30 * USEC_PER_SEC;

	while (metrics_file_n_writes(mf) < n) {
		ck_assert(mono_usec() < deadline);
		ck_assert_int_ge(event_base_loop(m->event_base, EVLOOP_ONCE), 0);
	}
}

static char *read_text(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "re");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* The writer: at once on the first change, then at most once per interval
 * however many changes come; "down" when freed. */
START_TEST(test_writer_rate_limit)
{
	MetricsFileOptions m = { .event_base = event_base_new() };
	MetricsFile *mf = NULL;
	ZpciEvent e = { .kind = EVENT_ERROR, .fid = 0x51, .pec = 0x40, .has = EVENT_HAS_PEC };
	char dir[] = "/tmp/test-metrics-writer.XXXXXX", path[64];
	uint64_t t0;

	ck_assert_ptr_nonnull(m.event_base);
	ck_assert_int_eq(log_new(&m.log, LOG_TARGET_MEMORY, LOG_INFO), 0);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/" METRICS_FILE_NAME, dir);
	ck_assert_int_eq(metrics_file_new(&mf, &m), 0);
	ck_assert_int_eq(metrics_file_configure(mf, dir, 2 * USEC_PER_SEC), 0);
	loop_until_writes(&m, mf, 1);
	ck_assert_ptr_nonnull(strstr(read_text(path), "\nzpcid_up 1\n"));

	t0 = mono_usec();
	for (int i = 0; i < 50; i++)
		metrics_file_observe(mf, NULL, &e);
	loop_until_writes(&m, mf, 2);
	ck_assert_uint_ge(mono_usec() - t0, USEC_PER_SEC); /* not before the 2 s are over */
	ck_assert_uint_eq(metrics_file_n_writes(mf), 2);   /* 50 changes, one write */
	/* nothing more is due before the heartbeat */
	ck_assert_int_ge(event_base_loop(m.event_base, EVLOOP_NONBLOCK), 0);
	ck_assert_uint_eq(metrics_file_n_writes(mf), 2);

	mf = metrics_file_free(mf);
	ck_assert_ptr_nonnull(strstr(read_text(path), "\nzpcid_up 0\n"));
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0); /* no temporary file left */
	log_free(m.log);
	event_base_free(m.event_base);
}
END_TEST

/* A reload that moves the directory leaves the old one saying zpcid_up 0. */
START_TEST(test_writer_moves)
{
	MetricsFileOptions m = { .event_base = event_base_new() };
	MetricsFile *mf = NULL;
	char a[] = "/tmp/test-metrics-a.XXXXXX", b[] = "/tmp/test-metrics-b.XXXXXX", pa[64], pb[64];

	ck_assert_int_eq(log_new(&m.log, LOG_TARGET_MEMORY, LOG_INFO), 0);
	ck_assert_ptr_nonnull(mkdtemp(a));
	ck_assert_ptr_nonnull(mkdtemp(b));
	(void)snprintf(pa, sizeof(pa), "%s/" METRICS_FILE_NAME, a);
	(void)snprintf(pb, sizeof(pb), "%s/" METRICS_FILE_NAME, b);
	ck_assert_int_eq(metrics_file_new(&mf, &m), 0);
	ck_assert_int_eq(metrics_file_write_now(mf, true), -ENOENT); /* nothing configured */
	ck_assert_int_eq(metrics_file_configure(mf, a, USEC_PER_SEC), 0);
	loop_until_writes(&m, mf, 1);
	ck_assert_ptr_nonnull(strstr(read_text(pa), "\nzpcid_up 1\n"));
	ck_assert_int_eq(metrics_file_configure(mf, b, USEC_PER_SEC), 0);
	ck_assert_ptr_nonnull(strstr(read_text(pa), "\nzpcid_up 0\n"));
	loop_until_writes(&m, mf, 3);
	ck_assert_ptr_nonnull(strstr(read_text(pb), "\nzpcid_up 1\n"));
	ck_assert_int_eq(metrics_file_configure(mf, NULL, USEC_PER_SEC), 0);
	ck_assert_ptr_nonnull(strstr(read_text(pb), "\nzpcid_up 0\n"));
	mf = metrics_file_free(mf);
	ck_assert_int_eq(unlink(pa), 0);
	ck_assert_int_eq(unlink(pb), 0);
	ck_assert_int_eq(rmdir(a), 0);
	ck_assert_int_eq(rmdir(b), 0);
	log_free(m.log);
	event_base_free(m.event_base);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_test(tc, test_render_up);
	tcase_add_test(tc, test_render_down_and_empty);
	tcase_add_test(tc, test_states_match_the_daemon);
	tcase_add_test(tc, test_replace);
	tcase_add_test(tc, test_writer_rate_limit);
	tcase_add_test(tc, test_writer_moves);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
