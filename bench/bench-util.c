/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>

#include "bench/bench-util.h"
#include "common/macro.h"

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void bench_sleep_us(uint64_t usec)
{
	struct timespec ts = { .tv_sec = (time_t)(usec / 1000000),
			       .tv_nsec = (long)(usec % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- processes ---------------------------------------------------------- */

static int notify_socket(BenchProc *p, char *path, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if ((size_t)snprintf(path, size, "%s/notify", p->dir) >= size || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

void bench_proc_state_dir(const BenchProc *p, char *buf, size_t size)
{
	(void)snprintf(buf, size, "%s/state", p->dir);
}

/* In the child: a mount namespace of its own with @sys over /sys and @kmsg
 * over /dev/kmsg. Returns 0 or -errno. */
static int enter_testbed(const char *sys, const char *kmsg)
{
	if (unshare(CLONE_NEWNS) < 0)
		return -errno;
	/* nothing mounted here may reach the parent's namespace */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	if (mount(sys, "/sys", NULL, MS_BIND | MS_REC, NULL) < 0)
		return -errno;
	if (mount(kmsg, "/dev/kmsg", NULL, MS_BIND, NULL) < 0)
		return -errno;
	return 0;
}

static char *state_seed;

void bench_set_state_seed(const char *dir)
{
	free(state_seed);
	state_seed = dir ? strdup(dir) : NULL;
}

/* Move the files of state_seed into @state (same file system: renames). */
static int seed_state(const char *state)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (!state_seed)
		return 0;
	d = opendir(state_seed);
	if (!d)
		return -errno;
	while (r == 0 && (de = readdir(d))) {
		char from[4096], to[4096];

		if (de->d_name[0] == '.')
			continue;
		(void)snprintf(from, sizeof(from), "%s/%s", state_seed, de->d_name);
		(void)snprintf(to, sizeof(to), "%s/%s", state, de->d_name);
		if (rename(from, to) < 0)
			r = -errno;
	}
	closedir(d);
	return r;
}

static pid_t spawn(BenchProc *p, const char *const *argv, bool preload, const char *testbed,
		   const char *log_path)
{
	char sock[128], state[128], run[128], sys[4096], kmsg[4096];
	int log_fd, r;
	pid_t pid;

	if (testbed && ((size_t)snprintf(sys, sizeof(sys), "%s/sys", testbed) >= sizeof(sys) ||
			(size_t)snprintf(kmsg, sizeof(kmsg), "%s/dev/kmsg", testbed) >= sizeof(kmsg)))
		return -ENAMETOOLONG;

	*p = (BenchProc){ .notify_fd = -1 };
	strcpy(p->dir, "/tmp/zpcid-bench.XXXXXX");
	if (!mkdtemp(p->dir))
		return -errno;
	bench_proc_state_dir(p, state, sizeof(state));
	(void)snprintf(run, sizeof(run), "%s/run", p->dir);
	if (mkdir(state, 0700) < 0 || mkdir(run, 0755) < 0)
		return -errno;
	r = seed_state(state);
	if (r < 0)
		return r;
	r = notify_socket(p, sock, sizeof(sock));
	if (r < 0)
		return r;
	p->notify_fd = r;

	log_fd = open(log_path ?: "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log_fd < 0)
		return -errno;

	p->start_ns = bench_now_ns();
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(log_fd);
		return r;
	}
	if (pid == 0) {
		const char *args[64]; /* argv behind ZPCID_BENCH_WRAP: lives until execv() */

		(void)dup2(log_fd, STDOUT_FILENO);
		(void)dup2(log_fd, STDERR_FILENO);
		(void)setsid();
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (testbed) {
			r = enter_testbed(sys, kmsg);
			if (r < 0) {
				fprintf(stderr, "cannot mount the test bed %s over /sys and /dev/kmsg: %s\n",
					testbed, strerror(-r));
				_exit(127);
			}
		}
		if (preload)
			setenv("LD_PRELOAD", "libumockdev-preload.so.0", 1);
		else if (testbed && getenv("ZPCID_BENCH_NATIVE_PRELOAD"))
			/* the native run with a library of the benchmark's own (bench/vfio-emu.c) */
			setenv("LD_PRELOAD", getenv("ZPCID_BENCH_NATIVE_PRELOAD"), 1);
		else
			unsetenv("LD_PRELOAD");
		setenv("STATE_DIRECTORY", state, 1);
		setenv("RUNTIME_DIRECTORY", run, 1);
		setenv("NOTIFY_SOCKET", sock, 1);
		unsetenv("WATCHDOG_USEC");
		unsetenv("WATCHDOG_PID");
		if (testbed && getenv("ZPCID_BENCH_WRAP")) {
			/* the native run under a command such as valgrind
			 * --tool=callgrind ..., split at spaces */
			char *wrap = strdup(getenv("ZPCID_BENCH_WRAP")), *save = NULL;
			size_t n = 0;

			for (char *w = wrap ? strtok_r(wrap, " ", &save) : NULL; w && n < 32;
			     w = strtok_r(NULL, " ", &save))
				args[n++] = w;
			for (size_t i = 0; argv[i] && n < 63; i++)
				args[n++] = argv[i];
			args[n] = NULL;
			argv = args;
		}
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "cannot run %s: %m\n", argv[0]);
		_exit(127);
	}
	close(log_fd);
	p->pid = pid;
	return pid;
}

pid_t bench_spawn(BenchProc *p, const char *const *argv, bool preload, const char *log_path)
{
	return spawn(p, argv, preload, NULL, log_path);
}

pid_t bench_spawn_native(BenchProc *p, const char *const *argv, const char *testbed, const char *log_path)
{
	if (!testbed)
		return -EINVAL;
	return spawn(p, argv, false, testbed, log_path);
}

int bench_wait_ready(BenchProc *p, unsigned timeout_ms)
{
	uint64_t end = bench_now_ns() + (uint64_t)timeout_ms * 1000000ULL;
	char buf[4096];

	for (;;) {
		struct pollfd pfd = { .fd = p->notify_fd, .events = POLLIN };
		uint64_t now = bench_now_ns();
		ssize_t n;
		int st;

		if (now >= end)
			return -ETIMEDOUT;
		if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
			p->pid = 0;
			return -ESRCH;
		}
		if (poll(&pfd, 1, (int)MIN((end - now) / 1000000 + 1, 100)) <= 0)
			continue;
		while ((n = recv(p->notify_fd, buf, sizeof(buf) - 1, 0)) > 0) {
			buf[n] = '\0';
			/* one assignment per line */
			for (char *l = buf; l && *l;) {
				char *nl = strchr(l, '\n');

				if (nl)
					*nl = '\0';
				if (strcmp(l, "READY=1") == 0) {
					p->ready_ns = bench_now_ns();
					return 0;
				}
				l = nl ? nl + 1 : NULL;
			}
		}
	}
}

int bench_stop(BenchProc *p, unsigned timeout_ms)
{
	uint64_t end = bench_now_ns() + (uint64_t)timeout_ms * 1000000ULL;
	int st = 0;

	if (p->pid <= 0)
		return -ESRCH;
	(void)kill(p->pid, SIGTERM);
	for (;;) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);

		if (r == p->pid)
			break;
		if (r < 0)
			return -errno;
		if (bench_now_ns() > end) {
			(void)kill(p->pid, SIGKILL);
			(void)waitpid(p->pid, &st, 0);
			p->pid = 0;
			return -ETIMEDOUT;
		}
		bench_sleep_us(5000);
	}
	p->pid = 0;
	return st;
}

static int rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (!d)
		return unlink(path) < 0 ? -errno : 0;
	while ((de = readdir(d))) {
		char sub[4096];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		(void)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		(void)rm_rf(sub);
	}
	closedir(d);
	return rmdir(path) < 0 ? -errno : 0;
}

void bench_proc_done(BenchProc *p)
{
	if (p->pid > 0)
		(void)bench_stop(p, 5000);
	if (p->notify_fd >= 0)
		close(p->notify_fd);
	p->notify_fd = -1;
	if (p->dir[0])
		(void)rm_rf(p->dir);
	p->dir[0] = '\0';
}

static uint64_t status_kib(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

static int read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int bench_sample(pid_t pid, BenchSample *ret)
{
	char path[512], buf[8192];
	BenchSample s = {};
	struct dirent *de;
	DIR *d;
	int r;

	(void)snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	r = read_text(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	s.rss_kib = status_kib(buf, "VmRSS:");
	s.hwm_kib = status_kib(buf, "VmHWM:");

	(void)snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
		if (read_text(path, buf, sizeof(buf)) == 0)
			s.cpu_ns += strtoull(buf, NULL, 10);
		(void)snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, de->d_name);
		if (read_text(path, buf, sizeof(buf)) == 0)
			s.ctxt += status_kib(buf, "voluntary_ctxt_switches:") +
				  status_kib(buf, "nonvoluntary_ctxt_switches:");
		s.n_threads++;
	}
	closedir(d);
	*ret = s;
	return 0;
}

/* ---- order statistics ---------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double rank(const double *v, size_t n, double q)
{
	/* nearest rank: the smallest value with at least q of all at or below it */
	size_t k = (size_t)(q * (double)n + 0.999999);

	return v[k == 0 ? 0 : MIN(k, n) - 1];
}

void bench_stats(double *v, size_t n, BenchStats *ret)
{
	double sum = 0;

	*ret = (BenchStats){ .n = n };
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	ret->min = v[0];
	ret->p50 = rank(v, n, 0.50);
	ret->p99 = rank(v, n, 0.99);
	ret->max = v[n - 1];
	ret->mean = sum / (double)n;
}

/* ---- the D-Bus subscriber ------------------------------------------------ */

struct BenchSub {
	sd_bus *bus;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	int wake[2];

	uint32_t watch_lo, watch_hi;
	uint64_t watched;
	BenchSignal last_watched;
	uint64_t errors, summarised, summaries;
};

/* Reads the a{sv} of an event: seq, fid, kind and count. */
static int parse_event(sd_bus_message *m, uint64_t *seq, uint32_t *fid, char kind[16], uint32_t *count)
{
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key, *contents;
		char type;

		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		r = sd_bus_message_peek_type(m, &type, &contents);
		if (r < 0)
			return r;
		if (strcmp(key, "seq") == 0 && strcmp(contents, "t") == 0)
			r = sd_bus_message_read(m, "v", "t", seq);
		else if (strcmp(key, "fid") == 0 && strcmp(contents, "u") == 0)
			r = sd_bus_message_read(m, "v", "u", fid);
		else if (strcmp(key, "count") == 0 && strcmp(contents, "u") == 0)
			r = sd_bus_message_read(m, "v", "u", count);
		else if (strcmp(key, "kind") == 0 && strcmp(contents, "s") == 0) {
			const char *k;

			r = sd_bus_message_read(m, "v", "s", &k);
			if (r >= 0)
				(void)snprintf(kind, 16, "%s", k);
		} else
			r = sd_bus_message_skip(m, "v");
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BenchSub *s = userdata;
	uint64_t t = bench_now_ns(), seq = 0;
	uint32_t fid = 0, count = 0;
	char kind[16] = "";

	if (parse_event(m, &seq, &fid, kind, &count) < 0)
		return 0;
	pthread_mutex_lock(&s->lock);
	if (strcmp(kind, "error") == 0) {
		s->errors++;
		if (fid >= s->watch_lo && fid <= s->watch_hi) {
			s->watched++;
			s->last_watched = (BenchSignal){ .seq = seq, .fid = fid, .t_ns = t };
		}
	} else if (strcmp(kind, "summary") == 0) {
		s->summarised += count;
		s->summaries++;
	}
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void *sub_thread(void *userdata)
{
	BenchSub *s = userdata;

	for (;;) {
		struct pollfd p[2] = { { .fd = sd_bus_get_fd(s->bus),
					 .events = (short)sd_bus_get_events(s->bus) },
				       { .fd = s->wake[0], .events = POLLIN } };
		bool stop;
		int r;

		while ((r = sd_bus_process(s->bus, NULL)) > 0)
			;
		if (r < 0)
			break;
		pthread_mutex_lock(&s->lock);
		stop = s->stop;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			break;
		(void)poll(p, 2, 1000);
	}
	return NULL;
}

int bench_sub_new(BenchSub **ret)
{
	BenchSub *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->wake[0] = s->wake[1] = -1;
	s->watch_lo = 1;
	s->watch_hi = 0;
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = -errno;
		goto fail;
	}
	r = sd_bus_open_system(&s->bus);
	if (r < 0)
		goto fail;
	r = sd_bus_match_signal(s->bus, NULL, NULL, "/org/zpcid1", "org.zpcid1.Manager", "ErrorReported",
				on_signal, s);
	if (r < 0)
		goto fail;
	/* the match is in place at the bus once this round trip is done */
	r = sd_bus_call_method(s->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			       "org.freedesktop.DBus", "GetId", NULL, NULL, "");
	if (r < 0)
		goto fail;
	r = -pthread_create(&s->thread, NULL, sub_thread, s);
	if (r < 0)
		goto fail;
	s->thread_started = true;
	*ret = s;
	return 0;
fail:
	bench_sub_free(s);
	return r;
}

BenchSub *bench_sub_free(BenchSub *s)
{
	if (!s)
		return NULL;
	if (s->thread_started) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_mutex_unlock(&s->lock);
		(void)!write(s->wake[1], "x", 1);
		pthread_join(s->thread, NULL);
	}
	sd_bus_flush_close_unref(s->bus);
	if (s->wake[0] >= 0)
		close(s->wake[0]);
	if (s->wake[1] >= 0)
		close(s->wake[1]);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
	return NULL;
}

void bench_sub_watch(BenchSub *s, uint32_t lo, uint32_t hi)
{
	pthread_mutex_lock(&s->lock);
	s->watch_lo = lo;
	s->watch_hi = hi;
	pthread_mutex_unlock(&s->lock);
}

int bench_sub_wait_watched(BenchSub *s, uint64_t n, unsigned timeout_ms, BenchSignal *ret)
{
	struct timespec end;
	int r = 0;

	(void)clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (s->watched < n && r == 0)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &end) == ETIMEDOUT)
			r = s->watched >= n ? 0 : -ETIMEDOUT;
	if (r == 0 && ret)
		*ret = s->last_watched;
	pthread_mutex_unlock(&s->lock);
	return r;
}

void bench_sub_totals(BenchSub *s, uint64_t *ret_errors, uint64_t *ret_summarised, uint64_t *ret_summaries)
{
	pthread_mutex_lock(&s->lock);
	if (ret_errors)
		*ret_errors = s->errors;
	if (ret_summarised)
		*ret_summarised = s->summarised;
	if (ret_summaries)
		*ret_summaries = s->summaries;
	pthread_mutex_unlock(&s->lock);
}

void bench_sub_reset(BenchSub *s)
{
	pthread_mutex_lock(&s->lock);
	s->watched = s->errors = s->summarised = s->summaries = 0;
	pthread_mutex_unlock(&s->lock);
}

/* ---- the journal ---------------------------------------------------------- */

static int field_u64(sd_journal *j, const char *name, uint64_t *ret)
{
	const void *data;
	size_t len, nl = strlen(name);
	char buf[32];
	int r;

	r = sd_journal_get_data(j, name, &data, &len);
	if (r < 0)
		return r;
	if (len <= nl + 1 || len - nl - 1 >= sizeof(buf))
		return -EBADMSG;
	memcpy(buf, (const char *)data + nl + 1, len - nl - 1);
	buf[len - nl - 1] = '\0';
	*ret = strtoull(buf, NULL, 0);
	return 0;
}

static int field_is(sd_journal *j, const char *name, const char *value)
{
	const void *data;
	size_t len, nl = strlen(name), vl = strlen(value);

	if (sd_journal_get_data(j, name, &data, &len) < 0)
		return 0;
	return len == nl + 1 + vl && memcmp((const char *)data + nl + 1, value, vl) == 0;
}

static int collect_once(pid_t pid, BenchJournal *ret)
{
	sd_journal *j = NULL;
	char match[64];
	size_t cap = 0;
	int r;

	bench_journal_done(ret);
	r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0)
		return r;
	(void)snprintf(match, sizeof(match), "_PID=%d", (int)pid);
	r = sd_journal_add_match(j, match, 0);
	if (r < 0)
		goto out;
	SD_JOURNAL_FOREACH (j) {
		uint64_t seq = 0, mono = 0, count = 0;
		sd_id128_t boot;

		if (field_is(j, "ZPCID_KIND", "summary")) {
			if (field_u64(j, "ZPCID_COUNT", &count) == 0)
				ret->summarised += count;
			ret->n_summaries++;
			continue;
		}
		if (!field_is(j, "ZPCID_KIND", "error") || field_u64(j, "ZPCID_SEQ", &seq) < 0)
			continue;
		if (sd_journal_get_monotonic_usec(j, &mono, &boot) < 0)
			continue;
		if (ret->n_errors == cap) {
			size_t n = cap ? cap * 2 : 1024;
			uint64_t *a = realloc(ret->seq, n * sizeof(uint64_t));
			uint64_t *b = a ? realloc(ret->mono, n * sizeof(uint64_t)) : NULL;

			if (a)
				ret->seq = a;
			if (!b) {
				r = -ENOMEM;
				goto out;
			}
			ret->mono = b;
			cap = n;
		}
		ret->seq[ret->n_errors] = seq;
		ret->mono[ret->n_errors] = mono;
		ret->n_errors++;
	}
	r = 0;
out:
	sd_journal_close(j);
	return r;
}

int bench_journal_collect(pid_t pid, uint64_t expect, unsigned timeout_ms, BenchJournal *ret)
{
	uint64_t end = bench_now_ns() + (uint64_t)timeout_ms * 1000000ULL;
	int r;

	*ret = (BenchJournal){};
	for (;;) {
		r = collect_once(pid, ret);
		if (r < 0)
			return r;
		if (ret->n_errors + ret->summarised >= expect || bench_now_ns() > end)
			return 0;
		bench_sleep_us(200000);
	}
}

uint64_t bench_journal_mono_of(const BenchJournal *j, uint64_t seq)
{
	size_t lo = 0, hi = j->n_errors;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (j->seq[mid] == seq)
			return j->mono[mid];
		if (j->seq[mid] < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* not in order after all: look everywhere */
	for (size_t i = 0; i < j->n_errors; i++)
		if (j->seq[i] == seq)
			return j->mono[i];
	return 0;
}

void bench_journal_done(BenchJournal *j)
{
	free(j->seq);
	free(j->mono);
	*j = (BenchJournal){};
}
