/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The vfio node watch (daemon/holder-watch.*) with real inotify on files
 * standing in for the nodes: a burst of opens is one call, a close another,
 * nothing is watched (and no timer is left) when nothing is to be seen. Its
 * way through the registry to the function's owner fields is covered by
 * tests/test-e2e-holder.sh and the machine tests.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/holder-watch.h"
#include "tests/test-util.h"

static char root[] = "/tmp/zpcid-test-holder-watch-XXXXXX";
static char dev[300], group_node[400], cdev_node[400];

typedef struct Calls {
	unsigned n;
	ZpciFunction *last;
} Calls;

static void on_call(HolderWatch *w, ZpciFunction *f, void *userdata)
{
	Calls *c = userdata;

	(void)w;
	c->n++;
	c->last = f;
}

static bool timed_out;

static void on_timeout(evutil_socket_t fd, short what, void *userdata)
{
	timed_out = true;
}

/* Run @base until @calls->n reaches @want (10 s at most: a failure, not a
 * timing assumption). */
static void run_until_calls(struct event_base *base, Calls *calls, unsigned want)
{
	struct event *t = evtimer_new(base, on_timeout, NULL);
	struct timeval tv = { .tv_sec = 10 };

	ck_assert_ptr_nonnull(t);
	timed_out = false;
	ck_assert_int_eq(evtimer_add(t, &tv), 0);
	while (calls->n < want && !timed_out)
		ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
	event_free(t);
	ck_assert_msg(!timed_out, "%u calls after 10 s, want %u", calls->n, want);
}

/* Everything queued so far is processed; returns the number of events
 * left on @base (the inotify reader alone: 1; with a pending timer: 2). */
static int settle(struct event_base *base)
{
	ck_assert_int_ge(event_base_loop(base, EVLOOP_NONBLOCK), 0);
	return event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED);
}

static int open_node(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	return fd;
}

static void touch(const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	close(fd);
}

static void setup(void)
{
	char p[400];

	strcpy(root, "/tmp/zpcid-test-holder-watch-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	(void)snprintf(dev, sizeof(dev), "%s/dev", root);
	ck_assert_int_eq(mkdir(dev, 0755), 0);
	(void)snprintf(p, sizeof(p), "%s/vfio", dev);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	(void)snprintf(p, sizeof(p), "%s/vfio/devices", dev);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	(void)snprintf(group_node, sizeof(group_node), "%s/vfio/7", dev);
	(void)snprintf(cdev_node, sizeof(cdev_node), "%s/vfio/devices/vfio3", dev);
	touch(group_node);
	touch(cdev_node);
}

static void teardown(void)
{
	test_rm_rf(root);
}

typedef struct World {
	Log *log;
	struct event_base *base;
	HolderWatch *w;
	ZpciFunction *f;
	Calls calls;
} World;

static void world_new(World *x)
{
	ZpciAttrs a = { .fid = 0x21, .slot = "0021:00:00.0" };

	*x = (World){};
	ck_assert_int_eq(log_new(&x->log, LOG_TARGET_MEMORY, LOG_DEBUG), 0);
	x->base = event_base_new();
	ck_assert_ptr_nonnull(x->base);
	ck_assert_int_eq(holder_watch_new(&x->w, &(HolderWatchOptions){ .log = x->log,
									.event_base = x->base,
									.dev_root = dev,
									.callback = on_call,
									.userdata = &x->calls }),
			 0);
	ck_assert_int_eq(function_new(&x->f, NULL, &a, NULL), 0);
	(void)snprintf(x->f->driver, sizeof(x->f->driver), "vfio-pci");
	x->f->iommu_group = 7;
	(void)snprintf(x->f->vfio_cdev, sizeof(x->f->vfio_cdev), "vfio3");
}

static void world_free(World *x)
{
	x->w = holder_watch_free(x->w);
	x->f = function_unref(x->f);
	event_base_free(x->base);
	x->log = log_free(x->log);
}

START_TEST(test_burst_open_then_close)
{
	World x;
	int fds[4];

	world_new(&x);
	ck_assert_int_eq(holder_watch_update(x.w, x.f), 2);
	ck_assert_uint_eq(holder_watch_count(x.w), 2);
	/* idle: the reader only, no timer */
	ck_assert_int_eq(settle(x.base), 1);

	/* a VMM opens the group (three times) and the cdev: one call */
	fds[0] = open_node(group_node);
	fds[1] = open_node(group_node);
	fds[2] = open_node(group_node);
	fds[3] = open_node(cdev_node);
	run_until_calls(x.base, &x.calls, 1);
	ck_assert_ptr_eq(x.calls.last, x.f);
	/* the whole burst was that one call: nothing pending, no timer left */
	ck_assert_int_eq(settle(x.base), 1);
	ck_assert_uint_eq(x.calls.n, 1);

	/* it closes them: another call, one */
	for (size_t i = 0; i < 4; i++)
		close(fds[i]);
	run_until_calls(x.base, &x.calls, 2);
	ck_assert_ptr_eq(x.calls.last, x.f);
	ck_assert_int_eq(settle(x.base), 1);
	ck_assert_uint_eq(x.calls.n, 2);

	/* watching again what is watched keeps the watches (and calls once per burst) */
	ck_assert_int_eq(holder_watch_update(x.w, x.f), 2);
	ck_assert_uint_eq(holder_watch_count(x.w), 2);
	close(open_node(group_node));
	run_until_calls(x.base, &x.calls, 3);
	ck_assert_int_eq(settle(x.base), 1);
	ck_assert_uint_eq(x.calls.n, 3);
	world_free(&x);
}
END_TEST

START_TEST(test_not_watched)
{
	World x;

	world_new(&x);
	/* zpcid holds the device itself: its nodes are not watched */
	x.f->vfio = (void *)1;
	ck_assert_int_eq(holder_watch_update(x.w, x.f), 0);
	ck_assert_uint_eq(holder_watch_count(x.w), 0);
	close(open_node(group_node));
	ck_assert_int_eq(settle(x.base), 1);
	ck_assert_uint_eq(x.calls.n, 0);
	x.f->vfio = NULL;

	/* not bound to vfio-pci: nothing to watch */
	(void)snprintf(x.f->driver, sizeof(x.f->driver), "mlx5_core");
	ck_assert_int_eq(holder_watch_update(x.w, x.f), 0);
	close(open_node(cdev_node));
	ck_assert_int_eq(settle(x.base), 1);
	ck_assert_uint_eq(x.calls.n, 0);

	/* bound again, the watch comes back; a node that is not there is skipped */
	(void)snprintf(x.f->driver, sizeof(x.f->driver), "vfio-pci");
	(void)snprintf(x.f->vfio_cdev, sizeof(x.f->vfio_cdev), "vfio99");
	ck_assert_int_eq(holder_watch_update(x.w, x.f), 1);
	close(open_node(group_node));
	run_until_calls(x.base, &x.calls, 1);

	/* forgotten: no more calls */
	holder_watch_forget(x.w, x.f);
	ck_assert_uint_eq(holder_watch_count(x.w), 0);
	close(open_node(group_node));
	ck_assert_int_eq(settle(x.base), 1);
	ck_assert_uint_eq(x.calls.n, 1);
	world_free(&x);
}
END_TEST

START_TEST(test_node_removed)
{
	World x;

	world_new(&x);
	ck_assert_int_eq(holder_watch_update(x.w, x.f), 2);
	/* the cdev goes (the function was unbound): its watch goes with it */
	ck_assert_int_eq(unlink(cdev_node), 0);
	while (holder_watch_count(x.w) != 1)
		ck_assert_int_ge(event_base_loop(x.base, EVLOOP_ONCE), 0);
	close(open_node(group_node));
	run_until_calls(x.base, &x.calls, 1);
	world_free(&x);
}
END_TEST

START_TEST(test_free_while_pending)
{
	World x;

	world_new(&x);
	ck_assert_int_eq(holder_watch_update(x.w, x.f), 2);
	close(open_node(group_node));
	/* read, not called yet: the timer waits */
	ck_assert_int_eq(settle(x.base), 2);
	ck_assert_uint_eq(x.calls.n, 0);
	/* freed with a call pending: nothing is called, nothing leaks */
	x.w = holder_watch_free(x.w);
	ck_assert_int_eq(settle(x.base), 0);
	ck_assert_uint_eq(x.calls.n, 0);
	world_free(&x);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("holder-watch");
	TCase *tc = tcase_create("inotify");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_burst_open_then_close);
	tcase_add_test(tc, test_not_watched);
	tcase_add_test(tc, test_node_removed);
	tcase_add_test(tc, test_free_while_pending);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
