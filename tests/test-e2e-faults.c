/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * End-to-end faults: the real zpcid on the simulated LPAR while a storm of
 * kernel log errors runs. A broken configuration arrives by SIGHUP in the
 * middle of it: the reload is refused once, the running configuration
 * kept, not one event lost or doubled, and the daemon stops with 0.
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "tests/e2e-util.h"

#define N_FUNCTIONS 8
#define N_EVENTS    3000
#define FID_BASE    0x500

static const char good_config[] =
	"{ \"schema\": 1, \"output\": { \"burst\": 100000, \"interval\": \"1s\" }, "
	"\"history\": { \"max_file_size\": 67108864, \"max_files\": 2 }, "
	"\"policy\": { \"default_mode\": \"observe\", "
	"\"rules\": [ { \"name\": \"default\", \"actions\": [ \"log\" ] } ] } }\n";
static const char broken_config[] = "{ \"schema\": 1, \"log\": { \"level\": \"loud\" } }\n";

/* Wait until @needle occurs @n times after @from (60 s at most). */
static unsigned wait_count(Devworld *w, size_t from, const char *needle, unsigned n)
{
	unsigned have = 0;

	for (unsigned i = 0; i < 6000; i++) {
		have = devworld_count_log(w, from, needle);
		if (have >= n || devworld_daemon_pid(w) <= 0)
			break;
		g_usleep(10 * 1000);
	}
	return have;
}

START_TEST(test_broken_reload_during_storm)
{
	Devworld *w = e2e_world();
	g_autofree char *conf = NULL;
	unsigned written = 0;
	size_t mark;
	pid_t pid;
	int st;

	devworld_set_kmsg_on_error(w, false);
	for (unsigned i = 0; i < N_FUNCTIONS; i++) {
		DevworldFunction f = { .fid = FID_BASE + i,
				       .uid = FID_BASE + i,
				       .uid_is_unique = true,
				       .kind = DEVWORLD_KIND_NVME };

		ck_assert_int_eq(devworld_add_function(w, &f), 0);
	}
	e2e_start_daemon(w, good_config);
	pid = devworld_daemon_pid(w);
	mark = devworld_log_mark(w);

	while (written < N_EVENTS) {
		uint32_t fid = FID_BASE + written % N_FUNCTIONS;

		if (written == N_EVENTS / 3) {
			/* The broken file replaces the good one, then SIGHUP. */
			conf = e2e_write_config(w, broken_config);
			ck_assert_int_eq(kill(pid, SIGHUP), 0);
			written++;
			continue;
		}
		if (devworld_kmsg(w, "zpci: %s: Event 0x2 reports an error for PCI function 0x%x",
				  devworld_slot(w, fid), fid) == 0)
			written++;
		else
			g_usleep(100);
	}
	/* N_EVENTS - 1 lines were written (one turn went to the SIGHUP). */
	E2E_WAIT_LOG(w, mark, "keeping the running one");
	ck_assert_uint_eq(wait_count(w, mark, "ZPCID_KIND=error", N_EVENTS - 1), N_EVENTS - 1);
	/* Not one more: a last line is read after all of them, so once its
	 * record is logged a doubled one would have been too. */
	ck_assert_int_eq(devworld_kmsg(w, "zpci: %s: Event 0x3a reports an error for PCI function 0x%x",
				       devworld_slot(w, FID_BASE), FID_BASE),
			 0);
	E2E_WAIT_LOG(w, mark, "reported error 0x003a");
	ck_assert_uint_eq(devworld_count_log(w, mark, "ZPCID_KIND=error"), N_EVENTS);
	ck_assert_uint_eq(devworld_count_log(w, mark, "keeping the running one"), 1);
	ck_assert_int_eq(devworld_daemon_pid(w), pid);

	st = devworld_stop_daemon(w, 60000);
	ck_assert_int_ge(st, 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	devworld_free(w);
}
END_TEST

static Suite *faults_suite(void)
{
	Suite *s = suite_create("e2e-faults");
	TCase *tc = tcase_create("broken_reload_during_storm");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_broken_reload_during_storm);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return e2e_main(faults_suite());
}
