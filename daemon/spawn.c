/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/time-util.h"
#include "daemon/spawn.h"

typedef struct SpawnJob {
	Spawner *spawner;
	struct SpawnJob *next;
	char **argv;
	char **envp;
	spawn_done_fn done;
	void *userdata;

	pid_t pid;
	int pidfd;
	struct event *exit_event;
	struct event *timer_event;
	bool term_sent, kill_sent;
	int error; /* could not be started: reported from the loop */
	uint64_t start_usec;

	SpawnOptions opts;       /* opts.fd3: owned until the command started */
	int out_fd;              /* capture_stdout: the read end of its stdout */
	struct event *out_event; /* ... watched while open */
	char *out;               /* SPAWN_OUTPUT_MAX + 1 bytes */
	size_t out_size;
	bool reported; /* done() ran already (kill_at_timeout): only reaping is left */
} SpawnJob;

struct Spawner {
	struct event_base *base;
	SpawnLimits limits;
	SpawnJob *queue_head, *queue_tail; /* waiting, FIFO */
	unsigned n_queued;
	SpawnJob **running; /* max_running slots */
	unsigned n_running;
	SpawnStats stats;
	struct event *kick_event; /* deferred completion of jobs that could not start */
	SpawnJob *failed_head;    /* could not start: reported from the loop */
};

/* Signal the command's process group and the command itself: where the
 * child has not reached its setpgid() yet (an emulated posix_spawn may
 * return that early), the group does not exist and only the pid is hit. */
static void job_signal(SpawnJob *j, int sig)
{
	(void)kill(-j->pid, sig);
	(void)kill(j->pid, sig);
}

static const char *const result_names[_SPAWN_RESULT_MAX] = {
	[SPAWN_DONE] = "done",
	[SPAWN_FAILED] = "failed",
	[SPAWN_TIMEOUT] = "timeout",
	[SPAWN_CANCELLED] = "cancelled",
};

const char *spawn_result_to_string(SpawnResult r)
{
	return r >= 0 && r < _SPAWN_RESULT_MAX ? result_names[r] : "invalid";
}

static struct timeval usec_to_tv(uint64_t usec)
{
	return (struct timeval){ .tv_sec = (time_t)(usec / USEC_PER_SEC),
				 .tv_usec = (suseconds_t)(usec % USEC_PER_SEC) };
}

static char **strv_copy(const char *const *l)
{
	size_t n = 0;
	char **c;

	if (!l)
		return calloc(1, sizeof(char *));
	while (l[n])
		n++;
	c = calloc(n + 1, sizeof(char *));
	if (!c)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		c[i] = strdup(l[i]);
		if (!c[i])
			return strv_free(c);
	}
	return c;
}

static SpawnJob *job_free(SpawnJob *j)
{
	if (!j)
		return NULL;
	if (j->exit_event)
		event_free(j->exit_event);
	if (j->timer_event)
		event_free(j->timer_event);
	if (j->pidfd >= 0)
		(void)close(j->pidfd);
	if (j->out_event)
		event_free(j->out_event);
	if (j->out_fd >= 0)
		(void)close(j->out_fd);
	if (j->opts.fd3 >= 0)
		(void)close(j->opts.fd3);
	free(j->out);
	strv_free(j->argv);
	strv_free(j->envp);
	free(j);
	return NULL;
}

static void running_remove(Spawner *s, SpawnJob *j)
{
	for (unsigned i = 0; i < s->limits.max_running; i++)
		if (s->running[i] == j) {
			s->running[i] = NULL;
			s->n_running--;
			return;
		}
}

static void start_queued(Spawner *s);

/* Report @j as finished (once). */
static void job_report(SpawnJob *j, const SpawnOutcome *o)
{
	Spawner *s = j->spawner;

	if (j->reported)
		return;
	j->reported = true;
	switch (o->result) {
	case SPAWN_DONE:
		s->stats.done++;
		break;
	case SPAWN_TIMEOUT:
		s->stats.timeouts++;
		break;
	case SPAWN_FAILED:
		s->stats.failed++;
		break;
	default:
		break;
	}
	if (j->done)
		j->done(o, j->userdata);
}

/* Report @j as finished unless it was already, and free it. */
static void job_finish(SpawnJob *j, const SpawnOutcome *o)
{
	job_report(j, o);
	job_free(j);
}

/* Read what the command wrote to its stdout; returns false at its end. */
static bool read_output(SpawnJob *j)
{
	char discard[512];
	ssize_t n;

	for (;;) {
		if (j->out_size < SPAWN_OUTPUT_MAX)
			n = read(j->out_fd, j->out + j->out_size, SPAWN_OUTPUT_MAX - j->out_size);
		else
			n = read(j->out_fd, discard, sizeof(discard));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN;
		if (n == 0)
			return false;
		if (j->out_size < SPAWN_OUTPUT_MAX)
			j->out_size += (size_t)n;
	}
}

static void on_output(evutil_socket_t fd, short what, void *userdata)
{
	SpawnJob *j = ASSERT_PTR(userdata);

	if (!read_output(j)) {
		event_free(j->out_event);
		j->out_event = NULL;
		(void)close(j->out_fd);
		j->out_fd = -EBADF;
	}
}

static void on_child_exit(evutil_socket_t fd, short what, void *userdata)
{
	SpawnJob *j = ASSERT_PTR(userdata);
	Spawner *s = j->spawner;
	SpawnOutcome o = { .pid = j->pid };
	siginfo_t si = {};
	int status;
	pid_t p;

	/* Look without reaping first: while the command is a zombie its pid
	 * (the group's id) cannot be reused, so what it left running in its
	 * group (a "sleep &" of a shell) is ended here and cannot outlive it. */
	if (waitid(P_PID, (id_t)j->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0) {
		if (si.si_pid == 0)
			return; /* not yet (a poll tick, or a spurious wake-up) */
		(void)kill(-j->pid, SIGKILL);
	}

	do
		p = waitpid(j->pid, &status, WNOHANG);
	while (p < 0 && errno == EINTR);
	if (p == 0)
		return;

	o.duration_usec = now_usec(CLOCK_MONOTONIC) - j->start_usec;
	if (j->out_fd >= 0)
		(void)read_output(j); /* what it wrote before it ended is in the pipe */
	if (j->out) {
		j->out[j->out_size] = 0;
		o.output = j->out;
		o.output_size = j->out_size;
	}
	if (p < 0) {
		o.result = SPAWN_FAILED;
		o.error = negative_errno();
	} else if (WIFEXITED(status)) {
		o.exit_status = WEXITSTATUS(status);
		o.result = o.exit_status == 0 ? SPAWN_DONE : SPAWN_FAILED;
	} else if (WIFSIGNALED(status)) {
		o.signal = WTERMSIG(status);
		o.result = SPAWN_FAILED;
	} else
		o.result = SPAWN_FAILED;
	if (j->term_sent)
		o.result = SPAWN_TIMEOUT;

	running_remove(s, j);
	job_finish(j, &o);
	start_queued(s);
}

static void on_timer(evutil_socket_t fd, short what, void *userdata)
{
	SpawnJob *j = ASSERT_PTR(userdata);
	struct timeval tv;

	if (j->opts.kill_at_timeout) {
		SpawnOutcome o = { .result = SPAWN_TIMEOUT, .pid = j->pid };

		/* The result is due now, even if the kernel holds the process a while longer. */
		job_signal(j, SIGKILL);
		j->term_sent = j->kill_sent = true;
		o.duration_usec = now_usec(CLOCK_MONOTONIC) - j->start_usec;
		job_report(j, &o);
		return;
	}
	if (!j->term_sent) {
		/* The whole group: a shell script's children go too. */
		job_signal(j, SIGTERM);
		j->term_sent = true;
		tv = usec_to_tv(j->spawner->limits.kill_grace_usec);
		(void)evtimer_add(j->timer_event, &tv);
	} else if (!j->kill_sent) {
		job_signal(j, SIGKILL);
		j->kill_sent = true;
	}
}

static int job_spawn(SpawnJob *j)
{
	Spawner *s = j->spawner;
	_cleanup_close_ int out_r = -EBADF, out_w = -EBADF;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	struct timeval tv;
	int r;

	if (j->opts.capture_stdout) {
		int p[2];

		/* blocking for the command, non-blocking for the loop */
		if (pipe2(p, O_CLOEXEC) < 0)
			return negative_errno();
		out_r = p[0];
		out_w = p[1];
		if (fcntl(out_r, F_SETFL, O_NONBLOCK) < 0)
			return negative_errno();
		j->out = calloc(1, SPAWN_OUTPUT_MAX + 1);
		if (!j->out)
			return -ENOMEM;
	}
	if (posix_spawn_file_actions_init(&fa) != 0)
		return -ENOMEM;
	if (posix_spawnattr_init(&attr) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -ENOMEM;
	}
	sigfillset(&all);
	sigemptyset(&none);
	r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&fa, out_w >= 0 ? out_w : STDERR_FILENO, STDOUT_FILENO);
	/* dup2() onto itself clears FD_CLOEXEC (POSIX, glibc >= 2.29). */
	if (r == 0 && j->opts.fd3 >= 0)
		r = posix_spawn_file_actions_adddup2(&fa, j->opts.fd3, 3);
	if (r == 0)
		r = posix_spawn_file_actions_addclosefrom_np(&fa, j->opts.fd3 >= 0 ? 4 : STDERR_FILENO + 1);
	if (r == 0)
		r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
							    POSIX_SPAWN_SETSIGDEF);
	if (r == 0)
		r = posix_spawnattr_setpgroup(&attr, 0);
	if (r == 0)
		r = posix_spawnattr_setsigmask(&attr, &none);
	if (r == 0)
		r = posix_spawnattr_setsigdefault(&attr, &all);
	if (r == 0) {
		if (strchr(j->argv[0], '/'))
			r = posix_spawn(&j->pid, j->argv[0], &fa, &attr, j->argv, j->envp);
		else
			r = posix_spawnp(&j->pid, j->argv[0], &fa, &attr, j->argv, j->envp);
	}
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -r;
	if (j->opts.fd3 >= 0)
		(void)close(TAKE_FD(j->opts.fd3)); /* the command has it */
	if (out_r >= 0) {
		j->out_fd = TAKE_FD(out_r);
		j->out_event = event_new(s->base, j->out_fd, EV_READ | EV_PERSIST, on_output, j);
		if (!j->out_event || event_add(j->out_event, NULL) < 0) {
			job_signal(j, SIGKILL);
			(void)waitpid(j->pid, NULL, 0);
			return -ENOMEM;
		}
	}

	j->start_usec = now_usec(CLOCK_MONOTONIC);
	s->stats.started++;
	r = spawn_watch_child(s->base, j->pid, on_child_exit, j, &j->pidfd, &j->exit_event);
	if (r < 0) {
		/* Cannot watch it: do not leave it running unattended. */
		job_signal(j, SIGKILL);
		(void)waitpid(j->pid, NULL, 0);
		return r;
	}
	j->timer_event = evtimer_new(s->base, on_timer, j);
	if (!j->timer_event) {
		job_signal(j, SIGKILL);
		(void)waitpid(j->pid, NULL, 0);
		return -ENOMEM;
	}
	tv = usec_to_tv(s->limits.timeout_usec);
	if (evtimer_add(j->timer_event, &tv) < 0) {
		job_signal(j, SIGKILL);
		(void)waitpid(j->pid, NULL, 0);
		return -EIO;
	}
	return 0;
}

int spawn_watch_child(struct event_base *base, pid_t pid, event_callback_fn cb, void *userdata,
		      int *ret_pidfd, struct event **ret_event)
{
	struct timeval poll = usec_to_tv(SPAWN_POLL_USEC);
	struct event *ev;
	int fd;

	fd = pidfd_open(pid, 0);
	if (fd < 0 && errno != ENOSYS)
		return negative_errno();
	ev = event_new(base, fd, (fd >= 0 ? EV_READ : 0) | EV_PERSIST, cb, userdata);
	if (!ev) {
		if (fd >= 0)
			(void)close(fd);
		return -ENOMEM;
	}
	if (event_add(ev, fd >= 0 ? NULL : &poll) < 0) {
		event_free(ev);
		if (fd >= 0)
			(void)close(fd);
		return -EIO;
	}
	*ret_pidfd = fd >= 0 ? fd : -EBADF;
	*ret_event = ev;
	return 0;
}

static void on_kick(evutil_socket_t fd, short what, void *userdata)
{
	Spawner *s = ASSERT_PTR(userdata);

	while (s->failed_head) {
		SpawnJob *j = s->failed_head;
		SpawnOutcome o = { .result = SPAWN_FAILED, .error = j->error };

		s->failed_head = j->next;
		job_finish(j, &o);
	}
}

static void start_queued(Spawner *s)
{
	while (s->queue_head && s->n_running < s->limits.max_running) {
		SpawnJob *j = s->queue_head;
		int r;

		s->queue_head = j->next;
		if (!s->queue_head)
			s->queue_tail = NULL;
		s->n_queued--;
		j->next = NULL;

		r = job_spawn(j);
		if (r < 0) {
			/* Reported from the loop, never from within spawner_submit(). */
			j->error = r;
			j->pid = 0;
			j->next = s->failed_head;
			s->failed_head = j;
			event_active(s->kick_event, EV_TIMEOUT, 0);
			continue;
		}
		for (unsigned i = 0; i < s->limits.max_running; i++)
			if (!s->running[i]) {
				s->running[i] = j;
				s->n_running++;
				break;
			}
	}
}

int spawner_new(Spawner **ret, struct event_base *base, const SpawnLimits *limits)
{
	_cleanup_(spawner_freep) Spawner *s = NULL;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base = base;
	s->limits = limits ? *limits : SPAWN_LIMITS_DEFAULT;
	if (s->limits.max_running < 1 || s->limits.max_running > 1024 || s->limits.timeout_usec == 0)
		return -EINVAL;
	s->running = calloc(s->limits.max_running, sizeof(SpawnJob *));
	s->kick_event = event_new(base, -1, 0, on_kick, s);
	if (!s->running || !s->kick_event)
		return -ENOMEM;
	*ret = TAKE_PTR(s);
	return 0;
}

Spawner *spawner_free(Spawner *s)
{
	SpawnOutcome cancelled = { .result = SPAWN_CANCELLED };

	if (!s)
		return NULL;
	for (unsigned i = 0; s->running && i < s->limits.max_running; i++) {
		SpawnJob *j = s->running[i];

		if (!j)
			continue;
		job_signal(j, SIGKILL);
		(void)waitpid(j->pid, NULL, 0);
		s->running[i] = NULL;
		cancelled.pid = j->pid;
		job_finish(j, &cancelled);
	}
	cancelled.pid = 0;
	while (s->queue_head) {
		SpawnJob *j = s->queue_head;

		s->queue_head = j->next;
		job_finish(j, &cancelled);
	}
	while (s->failed_head) {
		SpawnJob *j = s->failed_head;

		s->failed_head = j->next;
		job_finish(j, &cancelled);
	}
	if (s->kick_event)
		event_free(s->kick_event);
	free(s->running);
	free(s);
	return NULL;
}

int spawner_submit_full(Spawner *s, const char *const *argv, const char *const *envp,
			const SpawnOptions *opts, spawn_done_fn done, void *userdata)
{
	SpawnOptions o = opts ? *opts : SPAWN_OPTIONS_DEFAULT;
	SpawnJob *j;

	if (!argv || isempty(argv[0])) {
		closep(&o.fd3);
		return -EINVAL;
	}
	if (s->n_running >= s->limits.max_running && s->n_queued >= s->limits.max_queued) {
		closep(&o.fd3);
		s->stats.overflows++;
		return -ENOBUFS;
	}

	j = calloc(1, sizeof(*j));
	if (!j) {
		closep(&o.fd3);
		return -ENOMEM;
	}
	j->spawner = s;
	j->opts = o;
	j->out_fd = -EBADF;
	j->pidfd = -EBADF;
	j->done = done;
	j->userdata = userdata;
	j->argv = strv_copy(argv);
	j->envp = strv_copy(envp);
	if (!j->argv || !j->envp) {
		job_free(j);
		return -ENOMEM;
	}

	if (s->queue_tail)
		s->queue_tail->next = j;
	else
		s->queue_head = j;
	s->queue_tail = j;
	s->n_queued++;
	start_queued(s);
	return 0;
}

int spawner_submit(Spawner *s, const char *const *argv, const char *const *envp, spawn_done_fn done,
		   void *userdata)
{
	return spawner_submit_full(s, argv, envp, NULL, done, userdata);
}

unsigned spawner_running(const Spawner *s)
{
	return s->n_running;
}

unsigned spawner_queued(const Spawner *s)
{
	return s->n_queued;
}

const SpawnStats *spawner_stats(const Spawner *s)
{
	return &s->stats;
}
