/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/macro.h"
#include "daemon/spawn.h"
#include "daemon/state-file.h"
#include "daemon/syncer.h"
#include "tests/test-util.h"

static char dir[] = "/tmp/test-syncer.XXXXXX";
static struct event_base *base;

static void setup(void)
{
	strcpy(dir, "/tmp/test-syncer.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
}

static void teardown(void)
{
	event_base_free(base);
	test_rm_rf(dir);
}

/* Completions record their order and results here. */
typedef struct Record {
	int results[64];
	int tags[64];
	unsigned n;
	Syncer *resubmit_on; /* a completion submits one more job, once */
	int fd;
} Record;

typedef struct Tagged {
	Record *rec;
	int tag;
} Tagged;

static void on_done(int result, void *userdata)
{
	Tagged *t = userdata;
	Record *rec = t->rec;

	ck_assert_uint_lt(rec->n, ELEMENTSOF(rec->results));
	rec->results[rec->n] = result;
	rec->tags[rec->n] = t->tag;
	rec->n++;
	if (rec->resubmit_on) {
		static Tagged again;

		again = (Tagged){ .rec = rec, .tag = 99 };
		ck_assert_int_eq(syncer_fdatasync(TAKE_PTR(rec->resubmit_on), rec->fd, on_done, &again), 0);
	}
}

static unsigned threads_of_this_process(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	unsigned n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Run the loop until @rec has @n completions (or give up after 10 s). */
static void loop_until(Record *rec, unsigned n)
{
	for (unsigned i = 0; i < 10000 && rec->n < n; i++) {
		struct timeval tv = { .tv_usec = 1000 };

		(void)event_base_loopexit(base, &tv);
		ck_assert_int_eq(event_base_dispatch(base), 0);
	}
	ck_assert_uint_eq(rec->n, n);
}

START_TEST(test_jobs_run_in_order_and_report_on_the_loop)
{
	_cleanup_(syncer_freep) Syncer *s = NULL;
	_cleanup_close_ int fd = -EBADF;
	char path[256];
	Record rec = {};
	Tagged t[4];
	unsigned before = threads_of_this_process();

	ck_assert_int_eq(syncer_new(&s, base), 0);
	/* no worker before there is work */
	ck_assert_uint_eq(threads_of_this_process(), before);

	(void)snprintf(path, sizeof(path), "%s/history", dir);
	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "x\n", 2), 2);

	for (int i = 0; i < 4; i++)
		t[i] = (Tagged){ .rec = &rec, .tag = i };
	(void)snprintf(path, sizeof(path), "%s/state.json", dir);
	ck_assert_int_eq(syncer_fdatasync(s, fd, on_done, &t[0]), 0);
	ck_assert_int_eq(syncer_replace_file(s, path, "{\"a\":1}", 7, false, on_done, &t[1]), 0);
	ck_assert_int_eq(syncer_replace_file(s, path, "{\"a\":2}", 7, false, on_done, &t[2]), 0);
	ck_assert_int_eq(syncer_fdatasync(s, fd, on_done, &t[3]), 0);
	/* the caller's descriptor is its own at once: the jobs hold duplicates */
	ck_assert_int_eq(close(TAKE_FD(fd)), 0);
	ck_assert_uint_eq(threads_of_this_process(), before + 1);

	/* completions come only from the loop, in submission order */
	ck_assert_uint_eq(rec.n, 0);
	ck_assert_uint_eq(syncer_pending(s), 4);
	loop_until(&rec, 4);
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_int_eq(rec.tags[i], (int)i);
		ck_assert_int_eq(rec.results[i], 0);
	}
	ck_assert_uint_eq(syncer_pending(s), 0);
	ck_assert_uint_eq(syncer_stats(s)->submitted, 4);
	ck_assert_uint_eq(syncer_stats(s)->completed, 4);
	ck_assert_uint_eq(syncer_stats(s)->failed, 0);

	/* the last write of a path leaves its content, and no temporary file */
	{
		_cleanup_free_ char *text = NULL;
		char cmd[300];

		ck_assert_int_eq(state_file_read(path, &text, NULL), 0);
		ck_assert_str_eq(text, "{\"a\":2}");
		(void)snprintf(cmd, sizeof(cmd), "test $(ls '%s' | wc -l) = 2", dir);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

START_TEST(test_failures_are_reported_and_keep_the_old_content)
{
	_cleanup_(syncer_freep) Syncer *s = NULL;
	_cleanup_free_ char *text = NULL;
	char path[256], missing[256];
	Record rec = {};
	Tagged t[2] = { { &rec, 0 }, { &rec, 1 } };
	int pipefd[2];

	ck_assert_int_eq(syncer_new(&s, base), 0);
	(void)snprintf(path, sizeof(path), "%s/state.json", dir);
	(void)snprintf(missing, sizeof(missing), "%s/no-such-dir/state.json", dir);
	ck_assert_int_eq(state_file_write(path, "old", 3, 0), 0);

	ck_assert_int_eq(syncer_replace_file(s, missing, "new", 3, false, on_done, &t[0]), 0);
	/* fdatasync() of a pipe fails with EINVAL: the worker's error comes back */
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	ck_assert_int_eq(syncer_fdatasync(s, pipefd[0], on_done, &t[1]), 0);
	loop_until(&rec, 2);
	ck_assert_int_eq(rec.results[0], -ENOENT);
	ck_assert_int_eq(rec.results[1], -EINVAL);
	ck_assert_uint_eq(syncer_stats(s)->failed, 2);
	ck_assert_int_eq(state_file_read(path, &text, NULL), 0);
	ck_assert_str_eq(text, "old");

	/* a descriptor that is not open is refused at once, nothing queued */
	ck_assert_int_eq(syncer_fdatasync(s, 1000, on_done, &t[0]), -EBADF);
	ck_assert_uint_eq(syncer_pending(s), 0);
	close(pipefd[0]);
	close(pipefd[1]);
}
END_TEST

START_TEST(test_drain_and_free_run_every_completion)
{
	Syncer *s = NULL;
	_cleanup_close_ int fd = -EBADF;
	char path[256];
	Record rec = {};
	Tagged t[3] = { { &rec, 0 }, { &rec, 1 }, { &rec, 2 } };

	ck_assert_int_eq(syncer_new(&s, base), 0);
	(void)snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);

	/* drain: blocks for the jobs, runs their completions, and those of the
	 * jobs the completions submit */
	rec.resubmit_on = s;
	rec.fd = fd;
	ck_assert_int_eq(syncer_fdatasync(s, fd, on_done, &t[0]), 0);
	ck_assert_int_eq(syncer_fdatasync(s, fd, on_done, &t[1]), 0);
	ck_assert_uint_eq(syncer_drain(s), 3);
	ck_assert_uint_eq(rec.n, 3);
	ck_assert_int_eq(rec.tags[0], 0);
	ck_assert_int_eq(rec.tags[1], 1);
	ck_assert_int_eq(rec.tags[2], 99);
	ck_assert_uint_eq(syncer_drain(s), 0);

	/* free: the same for what is still queued */
	ck_assert_int_eq(syncer_fdatasync(s, fd, on_done, &t[2]), 0);
	s = syncer_free(s);
	ck_assert_uint_eq(rec.n, 4);
	ck_assert_int_eq(rec.tags[3], 2);

	/* the loop has nothing left to deliver */
	ck_assert_int_eq(event_base_loop(base, EVLOOP_NONBLOCK), 1);
}
END_TEST

/* A job that takes a lock, says it runs, then waits to be let go. */
typedef struct Gate {
	int started[2], release[2];
	pthread_mutex_t lock;
	atomic_int done;
} Gate;

static int gated_job(void *userdata)
{
	Gate *g = userdata;
	char c = 'x';

	pthread_mutex_lock(&g->lock);
	ck_assert_int_eq(write(g->started[1], &c, 1), 1);
	ck_assert_int_eq(read(g->release[0], &c, 1), 1);
	atomic_store(&g->done, 1);
	pthread_mutex_unlock(&g->lock);
	return 0;
}

typedef struct Spawned {
	SpawnResult result;
	char output[64];
} Spawned;

static void on_spawned(const SpawnOutcome *o, void *userdata)
{
	Spawned *ret = userdata;

	ret->result = o->result;
	(void)snprintf(ret->output, sizeof(ret->output), "%s", strempty(o->output));
	event_base_loopbreak(base);
}

/* Child processes of the daemon are started with posix_spawn() and exec,
 * never fork() alone: a job holding a lock while a child starts, runs and
 * ends is nothing the child sees or waits for. */
START_TEST(test_children_start_while_a_job_holds_a_lock)
{
	_cleanup_(syncer_freep) Syncer *s = NULL;
	_cleanup_(spawner_freep) Spawner *sp = NULL;
	const char *argv[] = { "/bin/sh", "-c", "echo ran", NULL };
	SpawnOptions opts = { .fd3 = -EBADF, .capture_stdout = true, .kill_at_timeout = true };
	Spawned o = { .result = _SPAWN_RESULT_MAX };
	Gate g = { .lock = PTHREAD_MUTEX_INITIALIZER };
	char c = 'x';

	ck_assert_int_eq(pipe(g.started), 0);
	ck_assert_int_eq(pipe(g.release), 0);
	ck_assert_int_eq(syncer_new(&s, base), 0);
	ck_assert_int_eq(spawner_new(&sp, base, NULL), 0);
	ck_assert_int_eq(syncer_call(s, gated_job, NULL, &g), 0);
	ck_assert_int_eq(read(g.started[0], &c, 1), 1);

	/* the job holds its lock until it is let go: the child runs to its end meanwhile */
	ck_assert_int_eq(spawner_submit_full(sp, argv, NULL, &opts, on_spawned, &o), 0);
	ck_assert_int_eq(event_base_dispatch(base), 0);
	ck_assert_int_eq(o.result, SPAWN_DONE);
	ck_assert_str_eq(o.output, "ran\n");
	ck_assert_int_eq(atomic_load(&g.done), 0);

	ck_assert_int_eq(write(g.release[1], &c, 1), 1);
	syncer_drain(s);
	ck_assert_int_eq(atomic_load(&g.done), 1);
	close(g.started[0]);
	close(g.started[1]);
	close(g.release[0]);
	close(g.release[1]);
}
END_TEST

START_TEST(test_needs_a_loop)
{
	Syncer *s = NULL;

	ck_assert_int_eq(syncer_new(&s, NULL), -EINVAL);
	ck_assert_ptr_null(syncer_free(NULL));
	ck_assert_uint_eq(syncer_drain(NULL), 0);
}
END_TEST

static Suite *syncer_suite(void)
{
	Suite *s = suite_create("syncer");
	TCase *tc = tcase_create("syncer");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_jobs_run_in_order_and_report_on_the_loop);
	tcase_add_test(tc, test_failures_are_reported_and_keep_the_old_content);
	tcase_add_test(tc, test_drain_and_free_run_every_completion);
	tcase_add_test(tc, test_needs_a_loop);
	tcase_add_test(tc, test_children_start_while_a_job_holds_a_lock);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(syncer_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
