/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon/state-file.h"
#include "daemon/syncer.h"

typedef enum JobKind {
	JOB_FDATASYNC,
	JOB_REPLACE_FILE,
	JOB_CALL,
} JobKind;

typedef struct Job {
	struct Job *next;
	JobKind kind;
	int fd; /* JOB_FDATASYNC: our own duplicate */
	char *path;
	void *data;
	size_t size;
	bool world_readable;
	SyncerWork work;
	int result;
	SyncerDone done;
	void *userdata;
} Job;

typedef struct JobList {
	Job *head, *tail;
	unsigned n;
} JobList;

struct Syncer {
	struct event *done_event;
	int done_fd; /* eventfd: the worker's "jobs have finished" */
	SyncerStats stats;

	pthread_mutex_t lock;
	pthread_cond_t work; /* queue not empty, or stop */
	pthread_cond_t idle; /* queue empty and nothing running */
	pthread_t thread;
	bool started, stop, running; /* under lock (started only on the loop) */
	int nice;                    /* of the worker thread, set before it starts */
	JobList queue;               /* under lock */
	JobList finished;            /* under lock */
};

static void list_push(JobList *l, Job *j)
{
	j->next = NULL;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
	l->n++;
}

static Job *list_pop(JobList *l)
{
	Job *j = l->head;

	if (j) {
		l->head = j->next;
		if (!l->head)
			l->tail = NULL;
		l->n--;
	}
	return j;
}

static Job *job_free(Job *j)
{
	if (j->fd >= 0)
		(void)close(j->fd);
	free(j->path);
	free(j->data);
	free(j);
	return NULL;
}

static void job_run(Job *j)
{
	switch (j->kind) {
	case JOB_FDATASYNC:
		j->result = fdatasync(j->fd) < 0 ? negative_errno() : 0;
		break;
	case JOB_REPLACE_FILE:
		j->result = state_file_write(j->path, j->data, j->size, j->world_readable);
		break;
	case JOB_CALL:
		j->result = j->work(j->userdata);
		break;
	}
}

static void wake_loop(Syncer *s)
{
	uint64_t one = 1;

	/* An eventfd counter only overflows after 2^64-1 writes unread. */
	while (write(s->done_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void *worker(void *userdata)
{
	Syncer *s = userdata;

	/* Linux: a thread's own nice value (PRIO_PROCESS with its tid). */
	if (s->nice != 0)
		(void)setpriority(PRIO_PROCESS, (id_t)gettid(), s->nice);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		Job *j;

		while (!s->queue.head && !s->stop)
			pthread_cond_wait(&s->work, &s->lock);
		j = list_pop(&s->queue);
		if (!j)
			break; /* stop, and nothing left */
		s->running = true;
		pthread_mutex_unlock(&s->lock);

		job_run(j);

		pthread_mutex_lock(&s->lock);
		s->running = false;
		list_push(&s->finished, j);
		if (!s->queue.head)
			pthread_cond_broadcast(&s->idle);
		wake_loop(s);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Run the completions of the finished jobs, in order. */
static unsigned dispatch_finished(Syncer *s)
{
	JobList done;
	unsigned n = 0;
	Job *j;

	pthread_mutex_lock(&s->lock);
	done = s->finished;
	s->finished = (JobList){};
	pthread_mutex_unlock(&s->lock);

	while ((j = list_pop(&done))) {
		s->stats.completed++;
		if (j->result < 0)
			s->stats.failed++;
		if (j->done)
			j->done(j->result, j->userdata);
		job_free(j);
		n++;
	}
	return n;
}

static void on_done(evutil_socket_t fd, short what, void *userdata)
{
	Syncer *s = ASSERT_PTR(userdata);
	uint64_t n;

	(void)read(s->done_fd, &n, sizeof(n));
	(void)dispatch_finished(s);
}

int syncer_new(Syncer **ret, struct event_base *base)
{
	Syncer *s;

	if (!base)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->idle, NULL);
	s->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->done_fd < 0) {
		int r = negative_errno();

		syncer_free(s);
		return r;
	}
	s->done_event = event_new(base, s->done_fd, EV_READ | EV_PERSIST, on_done, s);
	if (!s->done_event || event_add(s->done_event, NULL) < 0) {
		syncer_free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

/* Start the worker with every signal blocked: signals are the loop's. */
static int start_worker(Syncer *s)
{
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&s->thread, NULL, worker, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		return r;
	s->started = true;
	return 0;
}

static int submit(Syncer *s, Job *j)
{
	s->stats.submitted++;
	if (!s->started && !s->stats.inline_runs && start_worker(s) < 0)
		s->stats.inline_runs = true;
	if (s->stats.inline_runs) {
		/* No thread: do the work now, report it on the loop as usual. */
		job_run(j);
		pthread_mutex_lock(&s->lock);
		list_push(&s->finished, j);
		pthread_mutex_unlock(&s->lock);
		wake_loop(s);
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	list_push(&s->queue, j);
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int syncer_fdatasync(Syncer *s, int fd, SyncerDone done, void *userdata)
{
	Job *j;

	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->kind = JOB_FDATASYNC;
	j->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (j->fd < 0) {
		int r = negative_errno();

		free(j);
		return r;
	}
	j->done = done;
	j->userdata = userdata;
	return submit(s, j);
}

int syncer_replace_file(Syncer *s, const char *path, const void *data, size_t size, bool world_readable,
			SyncerDone done, void *userdata)
{
	Job *j;

	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->kind = JOB_REPLACE_FILE;
	j->fd = -EBADF;
	j->path = strdup(path);
	j->data = malloc(size > 0 ? size : 1);
	if (!j->path || !j->data) {
		job_free(j);
		return -ENOMEM;
	}
	memcpy(j->data, data, size);
	j->size = size;
	j->world_readable = world_readable;
	j->done = done;
	j->userdata = userdata;
	return submit(s, j);
}

void syncer_set_nice(Syncer *s, int nice)
{
	s->nice = nice;
}

int syncer_call(Syncer *s, SyncerWork work, SyncerDone done, void *userdata)
{
	Job *j;

	if (!work)
		return -EINVAL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->kind = JOB_CALL;
	j->fd = -EBADF;
	j->work = work;
	j->done = done;
	j->userdata = userdata;
	return submit(s, j);
}

/* Block until the worker has nothing queued and nothing running. */
static void wait_idle(Syncer *s)
{
	if (!s->started)
		return;
	pthread_mutex_lock(&s->lock);
	while (s->queue.head || s->running)
		pthread_cond_wait(&s->idle, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

unsigned syncer_drain(Syncer *s)
{
	unsigned n = 0;

	if (!s)
		return 0;
	/* A completion may submit again (a retry): go on until all is quiet. */
	while (syncer_pending(s) > 0) {
		wait_idle(s);
		n += dispatch_finished(s);
	}
	return n;
}

unsigned syncer_pending(const Syncer *s)
{
	return (unsigned)(s->stats.submitted - s->stats.completed);
}

const SyncerStats *syncer_stats(const Syncer *s)
{
	return &s->stats;
}

Syncer *syncer_free(Syncer *s)
{
	if (!s)
		return NULL;
	if (s->done_fd >= 0)
		(void)syncer_drain(s);
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_signal(&s->work);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	if (s->done_event)
		event_free(s->done_event);
	if (s->done_fd >= 0)
		(void)close(s->done_fd);
	pthread_cond_destroy(&s->idle);
	pthread_cond_destroy(&s->work);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return NULL;
}
