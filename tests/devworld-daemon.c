/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devworld: the real zpcid as a child process of the test, under the
 * preload, with its console output captured for assertions.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/devworld-private.h"

/* ------------------------------------------------------------------ */
/* The daemon */

static gpointer reader_thread(gpointer userdata)
{
	Devworld *w = userdata;
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = read(w->daemon_out, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		g_mutex_lock(&w->lock);
		g_string_append_len(w->log, buf, n);
		if (w->tee_fd >= 0)
			(void)!write(w->tee_fd, buf, n);
		g_cond_broadcast(&w->cond);
		g_mutex_unlock(&w->lock);
	}
	g_mutex_lock(&w->lock);
	w->daemon_exited = true;
	g_cond_broadcast(&w->cond);
	g_mutex_unlock(&w->lock);
	return NULL;
}

static char *daemon_binary(void)
{
	const char *b = getenv("ZPCID_BINARY");
	const char *top = getenv("ZPCID_TOP_BUILDDIR");

	if (b && *b)
		return g_strdup(b);
	return g_build_filename(top && *top ? top : ".", "zpcid", NULL);
}

char *devworld_preload_library(void)
{
	const char *e = getenv("DEVWORLD_PRELOAD");
	const char *top = getenv("ZPCID_TOP_BUILDDIR");
	char *p;

	if (e && *e)
		return g_strdup(e);
	p = g_build_filename(top && *top ? top : ".", "tests", "libdevworld-preload.so", NULL);
	if (!g_path_is_absolute(p)) {
		g_autofree char *cwd = g_get_current_dir();
		char *abs = g_build_filename(cwd, p, NULL);

		g_free(p);
		p = abs;
	}
	return p;
}

pid_t devworld_spawn_daemon(Devworld *w, const char *const *argv)
{
	g_autofree char *bin = daemon_binary();
	g_autofree char *shim = NULL, *shim_preload = NULL;
	g_autofree char *state = NULL, *run = NULL;
	GPtrArray *args;
	bool has_target = false;
	int out[2];
	pid_t pid;

	if (w->daemon_pid > 0)
		return -EBUSY;
	if (access(bin, X_OK) < 0)
		return -errno;
	/* Without the shim, the ioctls of the daemon's action helpers reach
	 * nothing: every reset would fail. No world rather than a broken one. */
	shim = devworld_preload_library();
	if (access(shim, R_OK) < 0)
		return -ELIBACC;
	{
		const char *pre = getenv("LD_PRELOAD");

		if (!pre || !strstr(pre, "umockdev"))
			pre = "libumockdev-preload.so.0";
		/* ioctls on duplicated device fds: in front of umockdev's preload */
		shim_preload = g_strdup_printf("%s %s", shim, pre);
	}
	if (!w->daemon_dir) {
		w->daemon_dir = g_build_filename(w->root, "zpcid", NULL);
		(void)g_mkdir_with_parents(w->daemon_dir, 0755);
	}
	state = g_build_filename(w->daemon_dir, "state", NULL);
	run = g_build_filename(w->daemon_dir, "run", NULL);
	(void)g_mkdir_with_parents(state, 0755);
	(void)g_mkdir_with_parents(run, 0755);

	args = g_ptr_array_new();
	g_ptr_array_add(args, bin);
	for (const char *const *a = argv; a && *a; a++)
		if (g_str_has_prefix(*a, "--log-target"))
			has_target = true;
	if (!has_target)
		g_ptr_array_add(args, (gpointer) "--log-target=console");
	for (const char *const *a = argv; a && *a; a++)
		g_ptr_array_add(args, (gpointer)*a);
	g_ptr_array_add(args, NULL);

	if (pipe2(out, O_CLOEXEC) < 0) {
		g_ptr_array_free(args, TRUE);
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(out[0]);
		close(out[1]);
		g_ptr_array_free(args, TRUE);
		return r;
	}
	if (pid == 0) {
		(void)dup2(out[1], STDOUT_FILENO);
		(void)dup2(out[1], STDERR_FILENO);
		/* a service runs in a session of its own */
		(void)setsid();
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		setenv("LD_PRELOAD", shim_preload, 1);
		setenv("STATE_DIRECTORY", state, 1);
		setenv("RUNTIME_DIRECTORY", run, 1);
		unsetenv("NOTIFY_SOCKET");
		unsetenv("WATCHDOG_USEC");
		unsetenv("WATCHDOG_PID");
		execv(args->pdata[0], (char **)args->pdata);
		_exit(127);
	}
	close(out[1]);
	g_ptr_array_free(args, TRUE);

	g_mutex_lock(&w->lock);
	w->daemon_out = out[0];
	w->daemon_pid = pid;
	w->daemon_exited = false;
	g_mutex_unlock(&w->lock);
	w->reader = g_thread_new("devworld-log", reader_thread, w);
	return pid;
}

pid_t devworld_daemon_pid(const Devworld *w)
{
	return w->daemon_pid;
}

long devworld_wait_log_from(Devworld *w, size_t from, const char *needle, unsigned timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	long r;

	g_mutex_lock(&w->lock);
	for (;;) {
		const char *hit = from <= w->log->len ? strstr(w->log->str + from, needle) : NULL;

		if (hit) {
			r = hit - w->log->str;
			break;
		}
		if (w->daemon_exited || w->daemon_pid <= 0) {
			r = -ESRCH;
			break;
		}
		if (!g_cond_wait_until(&w->cond, &w->lock, end)) {
			hit = from <= w->log->len ? strstr(w->log->str + from, needle) : NULL;
			r = hit ? hit - w->log->str : -ETIMEDOUT;
			break;
		}
	}
	g_mutex_unlock(&w->lock);
	return r;
}

long devworld_wait_log(Devworld *w, const char *needle, unsigned timeout_ms)
{
	return devworld_wait_log_from(w, 0, needle, timeout_ms);
}

unsigned devworld_count_log(Devworld *w, size_t from, const char *needle)
{
	unsigned n = 0;

	g_mutex_lock(&w->lock);
	for (const char *p = from <= w->log->len ? w->log->str + from : NULL; p && (p = strstr(p, needle));
	     p += strlen(needle))
		n++;
	g_mutex_unlock(&w->lock);
	return n;
}

size_t devworld_log_mark(Devworld *w)
{
	size_t n;

	g_mutex_lock(&w->lock);
	n = w->log->len;
	g_mutex_unlock(&w->lock);
	return n;
}

char *devworld_log(Devworld *w)
{
	char *s;

	g_mutex_lock(&w->lock);
	s = g_strdup(w->log->str);
	g_mutex_unlock(&w->lock);
	return s;
}

void devworld_tee_log(Devworld *w, int fd)
{
	g_mutex_lock(&w->lock);
	if (w->tee_fd >= 0)
		close(w->tee_fd);
	w->tee_fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;
	g_mutex_unlock(&w->lock);
}

int devworld_stop_daemon(Devworld *w, unsigned timeout_ms)
{
	int status = 0, r;
	gint64 end;

	if (w->daemon_pid <= 0)
		return -ESRCH;
	(void)kill(w->daemon_pid, SIGTERM);
	end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	for (;;) {
		pid_t p = waitpid(w->daemon_pid, &status, WNOHANG);

		if (p == w->daemon_pid) {
			r = status;
			break;
		}
		if (p < 0) {
			r = -errno;
			break;
		}
		if (g_get_monotonic_time() > end) {
			/* a daemon that does not stop is a bug: show where it is stuck */
			g_autofree char *cmd = g_strdup_printf(
				"p=%d; command -v gdb >/dev/null && gdb -batch -nx -p $p -ex 'thread apply "
				"all bt' "
				">&2 2>/dev/null; cd /proc/$p && { cat task/*/stack; grep ^Sig status; "
				"grep -H . task/*/status | grep Sig; ls -l fd; grep -H . fdinfo/*; } >&2 "
				"2>/dev/null",
				(int)w->daemon_pid);

			fprintf(stderr, "devworld: zpcid (pid %d) did not stop within %u ms:\n",
				(int)w->daemon_pid, timeout_ms);
			(void)system(cmd);
			(void)kill(w->daemon_pid, SIGKILL);
			(void)waitpid(w->daemon_pid, &status, 0);
			r = -ETIMEDOUT;
			break;
		}
		g_usleep(10000);
	}
	if (w->reader) {
		g_thread_join(w->reader);
		w->reader = NULL;
	}
	if (w->daemon_out >= 0)
		close(w->daemon_out);
	w->daemon_out = -1;
	w->daemon_pid = 0;
	return r;
}

const char *devworld_state_directory(Devworld *w)
{
	if (!w->state_dir) {
		w->state_dir = g_build_filename(w->root, "zpcid", "state", NULL);
		(void)g_mkdir_with_parents(w->state_dir, 0755);
	}
	return w->state_dir;
}

int devworld_kill_daemon(Devworld *w, int sig)
{
	int status = 0, r;

	if (w->daemon_pid <= 0)
		return -ESRCH;
	(void)kill(w->daemon_pid, sig);
	r = waitpid(w->daemon_pid, &status, 0) < 0 ? -errno : status;
	if (w->reader) {
		g_thread_join(w->reader);
		w->reader = NULL;
	}
	if (w->daemon_out >= 0)
		close(w->daemon_out);
	w->daemon_out = -1;
	w->daemon_pid = 0;
	return r;
}
