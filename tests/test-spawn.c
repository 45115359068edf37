/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/spawn.h"

/* Under valgrind every spawned shell runs under valgrind too: slower, and
 * valgrind itself handles SIGTERM. Timing checks widen there; what is
 * checked stays the same. */
static bool under_valgrind(void)
{
	const char *e = getenv("ZPCID_TEST_VALGRIND");

	return e && streq(e, "1");
}

typedef struct Ctx {
	struct event_base *base;
	Spawner *spawner;
	unsigned expected, finished;
	unsigned max_seen_running;
	unsigned results[_SPAWN_RESULT_MAX];
	SpawnOutcome last;
	char output[SPAWN_OUTPUT_MAX + 1]; /* last.output, copied (NULL in last) */
	size_t output_size;
	const char *output_p; /* output, or NULL when the outcome had none */
	unsigned ticks;
} Ctx;

static void on_done(const SpawnOutcome *o, void *userdata)
{
	Ctx *c = userdata;

	c->results[o->result]++;
	c->last = *o;
	c->last.output = NULL;
	c->output_p = NULL;
	c->output_size = o->output_size;
	if (o->output) {
		memcpy(c->output, o->output, o->output_size + 1);
		c->output_p = c->output;
	}
	if (c->spawner && spawner_running(c->spawner) + 1 > c->max_seen_running)
		c->max_seen_running = spawner_running(c->spawner) + 1;
	if (++c->finished == c->expected)
		event_base_loopbreak(c->base);
}

static void on_tick(evutil_socket_t fd, short what, void *userdata)
{
	Ctx *c = userdata;

	c->ticks++;
}

static void on_safety(evutil_socket_t fd, short what, void *userdata)
{
	ck_abort_msg("the loop did not finish in time");
}

/* Dispatch until @c->expected callbacks ran (at most @max_sec). */
static void run_loop(Ctx *c, int max_sec)
{
	struct timeval tv = { .tv_sec = under_valgrind() ? max_sec * 10 : max_sec };
	struct event *safety = evtimer_new(c->base, on_safety, c);

	evtimer_add(safety, &tv);
	ck_assert_int_eq(event_base_dispatch(c->base), 0);
	event_free(safety);
}

static Ctx *ctx_new(const SpawnLimits *lim)
{
	Ctx *c = calloc(1, sizeof(Ctx));

	c->base = event_base_new();
	ck_assert_ptr_nonnull(c->base);
	ck_assert_int_eq(spawner_new(&c->spawner, c->base, lim), 0);
	return c;
}

static void ctx_free(Ctx *c)
{
	spawner_free(c->spawner);
	event_base_free(c->base);
	free(c);
}

START_TEST(test_env_stdin_and_status)
{
	Ctx *c = ctx_new(NULL);
	const char *env[] = { "ZPCI_FID=0x00000011", "PATH=/usr/bin:/bin", NULL };
	const char *ok[] = {
		"/bin/sh", "-c",
		"test \"$ZPCI_FID\" = 0x00000011 && test \"$(readlink /proc/self/fd/0)\" = /dev/null", NULL
	};
	const char *fail[] = { "sh", "-c", "exit 3", NULL };
	const char *missing[] = { "/nonexistent/alert", NULL };

	c->expected = 1;
	ck_assert_int_eq(spawner_submit(c->spawner, ok, env, on_done, c), 0);
	run_loop(c, 10);
	ck_assert_int_eq(c->last.result, SPAWN_DONE);
	ck_assert_int_gt(c->last.pid, 0);

	c->expected = 2;
	ck_assert_int_eq(spawner_submit(c->spawner, fail, env, on_done, c), 0);
	run_loop(c, 10);
	ck_assert_int_eq(c->last.result, SPAWN_FAILED);
	ck_assert_int_eq(c->last.exit_status, 3);

	/* A command that cannot start is reported from the loop too. */
	c->expected = 3;
	ck_assert_int_eq(spawner_submit(c->spawner, missing, env, on_done, c), 0);
	ck_assert_uint_eq(c->finished, 2);
	run_loop(c, 10);
	ck_assert_int_eq(c->last.result, SPAWN_FAILED);
	/* glibc reports the failed exec; valgrind's and qemu-user's emulation let the child exit 127. */
	ck_assert(c->last.error == -ENOENT ||
		  ((under_valgrind() || getenv("ZPCID_TEST_EMULATOR")) && c->last.exit_status == 127));

	ck_assert_int_eq(spawner_submit(c->spawner, (const char *[]){ NULL }, env, on_done, c), -EINVAL);
	ctx_free(c);
}
END_TEST

START_TEST(test_hanging_command_killed_loop_serves)
{
	SpawnLimits lim = SPAWN_LIMITS_DEFAULT;
	Ctx *c;
	/* Ignores SIGTERM (and so does its sleep): only SIGKILL ends it. */
	const char *hang[] = { "/bin/sh", "-c", "trap '' TERM; sleep 1000; exit 0", NULL };
	const char *env[] = { "PATH=/usr/bin:/bin", NULL };
	struct timeval tick = { .tv_usec = 10000 };
	struct event *ticker;
	struct timespec t0, t1;
	uint64_t elapsed;

	lim.timeout_usec = 300 * USEC_PER_MSEC;
	lim.kill_grace_usec = 300 * USEC_PER_MSEC;
	c = ctx_new(&lim);
	ticker = event_new(c->base, -1, EV_PERSIST, on_tick, c);
	event_add(ticker, &tick);

	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	c->expected = 1;
	ck_assert_int_eq(spawner_submit(c->spawner, hang, env, on_done, c), 0);
	run_loop(c, 10);
	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000);

	ck_assert_int_eq(c->last.result, SPAWN_TIMEOUT);
	if (!under_valgrind()) {
		ck_assert_int_eq(c->last.signal, SIGKILL);
		/* Not before its timeout and grace (600 ms); libevent arms timers from the
		 * time cached at the start of a loop iteration, so allow 20 ms of slack. */
		ck_assert_uint_ge(elapsed + 20 * USEC_PER_MSEC, 600 * USEC_PER_MSEC);
		ck_assert_uint_lt(elapsed, 5 * USEC_PER_SEC);
	}
	/* The loop kept serving other events while the command hung. */
	ck_assert_uint_ge(c->ticks, under_valgrind() ? 5 : 20);
	ck_assert_uint_eq(spawner_stats(c->spawner)->timeouts, 1);
	/* The process is gone (reaped). */
	ck_assert_int_eq(kill(c->last.pid, 0), -1);
	ck_assert_int_eq(errno, ESRCH);

	/* A command that honours SIGTERM ends at the timeout without waiting for the grace period. */
	lim.kill_grace_usec = 10 * USEC_PER_SEC;
	spawner_free(c->spawner);
	ck_assert_int_eq(spawner_new(&c->spawner, c->base, &lim), 0);
	c->expected = 2;
	ck_assert_int_eq(
		spawner_submit(c->spawner, (const char *[]){ "/bin/sleep", "1000", NULL }, env, on_done, c),
		0);
	run_loop(c, 5);
	ck_assert_int_eq(c->last.result, SPAWN_TIMEOUT);
	ck_assert_int_eq(c->last.signal, SIGTERM);

	event_free(ticker);
	ctx_free(c);
}
END_TEST

static unsigned count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

START_TEST(test_hundred_alerts_all_run)
{
	SpawnLimits lim = SPAWN_LIMITS_DEFAULT;
	char dir[] = "/tmp/test-spawn.XXXXXX", cmd[64];
	/* Under valgrind each of them is a valgrind process: fewer, same limits. */
	unsigned n = under_valgrind() ? 12 : 100;
	Ctx *c;

	lim.max_running = 4;
	lim.max_queued = 100;
	c = ctx_new(&lim);
	ck_assert_ptr_nonnull(mkdtemp(dir));

	c->expected = n;
	for (unsigned i = 0; i < n; i++) {
		char num[32], d[64];
		const char *env[] = { num, d, "PATH=/usr/bin:/bin", NULL };
		const char *argv[] = { "/bin/sh", "-c", "sleep 0.01; touch \"$D/$N\"", NULL };

		(void)snprintf(num, sizeof(num), "N=%u", i);
		(void)snprintf(d, sizeof(d), "D=%s", dir);
		ck_assert_int_eq(spawner_submit(c->spawner, argv, env, on_done, c), 0);
		ck_assert_uint_le(spawner_running(c->spawner), 4);
	}
	ck_assert_uint_eq(spawner_running(c->spawner), 4);
	ck_assert_uint_eq(spawner_queued(c->spawner), n - 4);
	run_loop(c, 60);

	ck_assert_uint_eq(c->results[SPAWN_DONE], n);
	ck_assert_uint_le(c->max_seen_running, 4);
	ck_assert_uint_eq(spawner_stats(c->spawner)->overflows, 0);
	ck_assert_uint_eq(spawner_stats(c->spawner)->started, n);
	ck_assert_uint_eq(count_files(dir), n);
	ctx_free(c);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_overflow_counted)
{
	SpawnLimits lim = SPAWN_LIMITS_DEFAULT;
	const char *argv[] = { "/bin/sleep", "0.05", NULL };
	unsigned refused = 0;
	Ctx *c;

	lim.max_running = 2;
	lim.max_queued = 3;
	c = ctx_new(&lim);
	for (unsigned i = 0; i < 10; i++) {
		int r = spawner_submit(c->spawner, argv, NULL, on_done, c);

		if (r == -ENOBUFS)
			refused++;
		else
			ck_assert_int_eq(r, 0);
	}
	ck_assert_uint_eq(refused, 5);
	ck_assert_uint_eq(spawner_stats(c->spawner)->overflows, 5);
	c->expected = 5;
	run_loop(c, 10);
	ck_assert_uint_eq(c->results[SPAWN_DONE], 5);
	ctx_free(c);
}
END_TEST

START_TEST(test_free_cancels_and_kills)
{
	SpawnLimits lim = SPAWN_LIMITS_DEFAULT;
	const char *argv[] = { "/bin/sleep", "1000", NULL };
	Ctx *c;

	lim.max_running = 1;
	c = ctx_new(&lim);
	ck_assert_int_eq(spawner_submit(c->spawner, argv, NULL, on_done, c), 0);
	ck_assert_int_eq(spawner_submit(c->spawner, argv, NULL, on_done, c), 0);
	c->spawner = spawner_free(c->spawner);
	ck_assert_uint_eq(c->results[SPAWN_CANCELLED], 2);
	ck_assert_uint_eq(c->finished, 2);
	ctx_free(c);
}
END_TEST

/* Wait for every orphan this process inherited as a subreaper; returns how
 * many there were and how many of them died of SIGKILL. Blocks until they
 * are gone: a survivor fails the test case at its timeout. */
static unsigned reap_orphans(unsigned *ret_killed)
{
	unsigned n = 0, killed = 0;
	int status;

	while (waitpid(-1, &status, 0) > 0) {
		n++;
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			killed++;
	}
	ck_assert_int_eq(errno, ECHILD);
	*ret_killed = killed;
	return n;
}

START_TEST(test_background_children_ended)
{
	SpawnLimits lim = SPAWN_LIMITS_DEFAULT;
	/* Exits at once and leaves a sleep running; the second one hangs and
	 * is killed at its timeout, also leaving a sleep behind. */
	const char *fork_exit[] = { "/bin/sh", "-c", "sleep 301 & sleep 302 & exit 0", NULL };
	const char *fork_hang[] = { "/bin/sh", "-c", "trap '' TERM; sleep 303 & trap 'exit 0' TERM; wait",
				    NULL };
	unsigned killed;
	int subreaper = 0;
	Ctx *c;

	/* Orphans of the commands become our children, so their end is seen
	 * by waitpid(), not guessed from a delay. User-mode emulation (the
	 * big-endian tier) has no PR_SET_CHILD_SUBREAPER: this test is about
	 * processes, not byte order, and the native runs cover it. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0 && getenv("ZPCID_TEST_EMULATOR")) {
		fprintf(stderr, "skipped: no PR_SET_CHILD_SUBREAPER under %s\n",
			getenv("ZPCID_TEST_EMULATOR"));
		return;
	}
	ck_assert_int_eq(prctl(PR_GET_CHILD_SUBREAPER, &subreaper, 0, 0, 0), 0);
	ck_assert_int_eq(subreaper, 1);
	/* Under valgrind (which follows the children) a shell takes far longer
	 * to start than the 200 ms a fast machine needs. */
	lim.timeout_usec = (under_valgrind() ? 5000 : 200) * USEC_PER_MSEC;
	lim.kill_grace_usec = (under_valgrind() ? 5000 : 200) * USEC_PER_MSEC;
	c = ctx_new(&lim);
	c->expected = 20;
	for (unsigned i = 0; i < 20; i++)
		ck_assert_int_eq(spawner_submit(c->spawner, fork_exit, NULL, on_done, c), 0);
	run_loop(c, 30);
	ck_assert_uint_eq(c->results[SPAWN_DONE], 20);
	ck_assert_uint_eq(reap_orphans(&killed), 40);
	ck_assert_uint_eq(killed, 40);

	c->expected = 21;
	ck_assert_int_eq(spawner_submit(c->spawner, fork_hang, NULL, on_done, c), 0);
	run_loop(c, 30);
	ck_assert_uint_eq(c->results[SPAWN_TIMEOUT], 1);
	/* The shell leaves at SIGTERM, its sleep ignores it: ended with the
	 * group (none when SIGTERM came before the shell set its traps). */
	ck_assert_uint_eq(reap_orphans(&killed), killed);
	ctx_free(c);
}
END_TEST

/* A command that floods its output (the daemon's stderr, here a pipe that
 * nobody reads): it blocks on its own writes, the loop does not, and the
 * timeout ends it like any hanging command. */
START_TEST(test_flooding_command)
{
	SpawnLimits lim = SPAWN_LIMITS_DEFAULT;
	const char *flood[] = { "/bin/sh", "-c", "while :; do echo flood flood flood flood; done", NULL };
	struct timeval tick = { .tv_usec = 10000 };
	struct event *ticker;
	int pipefd[2];
	Ctx *c;

	ck_assert_int_eq(pipe(pipefd), 0);
	ck_assert_int_eq(dup2(pipefd[1], STDERR_FILENO), STDERR_FILENO);
	lim.timeout_usec = 300 * USEC_PER_MSEC;
	lim.kill_grace_usec = 300 * USEC_PER_MSEC;
	c = ctx_new(&lim);
	ticker = event_new(c->base, -1, EV_PERSIST, on_tick, c);
	event_add(ticker, &tick);
	c->expected = 1;
	ck_assert_int_eq(spawner_submit(c->spawner, flood, NULL, on_done, c), 0);
	run_loop(c, 30);
	ck_assert_int_eq(c->last.result, SPAWN_TIMEOUT);
	ck_assert_uint_ge(c->ticks, under_valgrind() ? 5 : 20);
	event_free(ticker);
	ctx_free(c);
}
END_TEST

/* Dispatch until the spawner has reaped every command (at most @max_sec). */
static void run_until_idle(Ctx *c, int max_sec)
{
	struct timeval tv = { .tv_sec = under_valgrind() ? max_sec * 10 : max_sec };
	struct timeval poll = { .tv_usec = 10000 };
	struct event *safety = evtimer_new(c->base, on_safety, c);

	evtimer_add(safety, &tv);
	while (spawner_running(c->spawner) > 0)
		ck_assert_int_eq(event_base_loopexit(c->base, &poll) || event_base_dispatch(c->base), 0);
	event_free(safety);
}

/* A descriptor handed over as fd 3 (and nothing else above stderr), the
 * command's stdout read back; the spawner's copy is closed once it started. */
START_TEST(test_fd3_and_output)
{
	char path[] = "/tmp/test-spawn-fd3.XXXXXX", expected[512], script[256];
	/* fd 3, and a descriptor of ours without O_CLOEXEC that must not reach it
	 * (a preload library of the test bed may open descriptors of its own) */
	const char *show[] = { "/bin/sh", "-c", script, NULL };
	const char *quiet[] = { "/bin/sh", "-c", "echo to the journal", NULL };
	SpawnOptions opts = { .capture_stdout = true };
	struct stat before, after;
	Ctx *c = ctx_new(NULL);
	int fd, leak;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &before), 0);
	leak = fcntl(fd, F_DUPFD, 10);
	ck_assert_int_ge(leak, 10);
	(void)snprintf(
		script, sizeof(script),
		"readlink /proc/$$/fd/3; readlink /proc/$$/fd/%d || echo closed; test -t 0 || readlink "
		"/proc/$$/fd/0",
		leak);
	opts.fd3 = fd;
	c->expected = 1;
	ck_assert_int_eq(spawner_submit_full(c->spawner, show, NULL, &opts, on_done, c), 0);
	/* given away: the number is closed, or reused for another file */
	ck_assert(fstat(fd, &after) < 0 || after.st_ino != before.st_ino || after.st_dev != before.st_dev);
	run_loop(c, 10);
	ck_assert_int_eq(c->last.result, SPAWN_DONE);
	(void)snprintf(expected, sizeof(expected), "%s\nclosed\n/dev/null\n", path);
	ck_assert_ptr_nonnull(c->output_p);
	ck_assert_str_eq(c->output, expected);
	ck_assert_uint_eq(c->output_size, strlen(expected));
	ck_assert_int_eq(close(leak), 0);
	ck_assert_int_eq(unlink(path), 0);

	/* Without the options: stdout goes to stderr, nothing is read back, no fd 3. */
	c->expected = 2;
	ck_assert_int_eq(spawner_submit_full(c->spawner, quiet, NULL, NULL, on_done, c), 0);
	run_loop(c, 10);
	ck_assert_int_eq(c->last.result, SPAWN_DONE);
	ck_assert_ptr_null(c->output_p);

	/* Refused submissions close the descriptor too. */
	opts.fd3 = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(opts.fd3, 0);
	ck_assert_int_eq(spawner_submit_full(c->spawner, (const char *[]){ NULL }, NULL, &opts, on_done, c),
			 -EINVAL);
	ck_assert_int_eq(fcntl(opts.fd3, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
	ctx_free(c);
}
END_TEST

/* kill_at_timeout: the timeout is reported at once, the whole group is
 * killed (a background child too), the slot is free once it is reaped. */
START_TEST(test_kill_at_timeout_ends_group)
{
	SpawnLimits lim = SPAWN_LIMITS_DEFAULT;
	SpawnOptions opts = { .fd3 = -EBADF, .capture_stdout = true, .kill_at_timeout = true };
	/* TERM is ignored: only SIGKILL ends these */
	const char *hang[] = { "/bin/sh", "-c", "trap '' TERM; sleep 305 & echo started; wait", NULL };
	unsigned killed;
	Ctx *c;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0 && getenv("ZPCID_TEST_EMULATOR")) {
		fprintf(stderr, "skipped: no PR_SET_CHILD_SUBREAPER under %s\n",
			getenv("ZPCID_TEST_EMULATOR"));
		return;
	}
	lim.timeout_usec = (under_valgrind() ? 5000 : 300) * USEC_PER_MSEC;
	c = ctx_new(&lim);
	c->expected = 1;
	ck_assert_int_eq(spawner_submit_full(c->spawner, hang, NULL, &opts, on_done, c), 0);
	run_loop(c, 30);
	ck_assert_int_eq(c->last.result, SPAWN_TIMEOUT);
	ck_assert_uint_eq(spawner_stats(c->spawner)->timeouts, 1);
	/* reported, not yet necessarily reaped: the slot is held until then */
	run_until_idle(c, 30);
	ck_assert_uint_eq(c->finished, 1); /* reported once */
	/* the sleep of the group died of SIGKILL as well */
	ck_assert_uint_eq(reap_orphans(&killed), 1);
	ck_assert_uint_eq(killed, 1);
	ctx_free(c);
}
END_TEST

/* A command that dies of a signal is "failed" with the signal. */
START_TEST(test_killed_by_signal)
{
	const char *die[] = { "/bin/sh", "-c", "echo partial; kill -SEGV $$", NULL };
	SpawnOptions opts = { .fd3 = -EBADF, .capture_stdout = true, .kill_at_timeout = true };
	Ctx *c = ctx_new(NULL);

	c->expected = 1;
	ck_assert_int_eq(spawner_submit_full(c->spawner, die, NULL, &opts, on_done, c), 0);
	run_loop(c, 10);
	ck_assert_int_eq(c->last.result, SPAWN_FAILED);
	ck_assert_int_eq(c->last.signal, SIGSEGV);
	ck_assert_int_eq(c->last.error, 0);
	ck_assert_str_eq(c->output, "partial\n");
	ctx_free(c);
}
END_TEST

static Suite *spawn_suite(void)
{
	Suite *s = suite_create("spawn");
	TCase *tc = tcase_create("spawn");

	tcase_set_timeout(tc, 60); /* x10 under valgrind: tests/run-test */
	tcase_add_test(tc, test_env_stdin_and_status);
	tcase_add_test(tc, test_hanging_command_killed_loop_serves);
	tcase_add_test(tc, test_hundred_alerts_all_run);
	tcase_add_test(tc, test_overflow_counted);
	tcase_add_test(tc, test_free_cancels_and_kills);
	tcase_add_test(tc, test_background_children_ended);
	tcase_add_test(tc, test_flooding_command);
	tcase_add_test(tc, test_fd3_and_output);
	tcase_add_test(tc, test_kill_at_timeout_ends_group);
	tcase_add_test(tc, test_killed_by_signal);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(spawn_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
