/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zpcid-bench: measures the real zpcid (and the floor program,
 * bench/zpcid-floor) on the simulated LPAR of tests/devworld: the same
 * emulated kernel, the same private journald and dbus-daemon (set up by
 * bench/run.sh), the same clock.
 *
 *   zpcid-bench latency [--smoke] [--load] [--events=N] [--target=zpcid|floor]
 *   zpcid-bench storm   [--smoke] [--source=vfio|kmsg] [--functions=N] [--seconds=S] [--target=...]
 *   zpcid-bench bigstorm [--smoke] [--functions=N] [--seconds=S] [--rate=R] [--coalesce] [--target=...]
 *   zpcid-bench scale   [--smoke] [--functions=N]
 *   zpcid-bench idle    [--smoke] [--seconds=S]
 *   zpcid-bench stall   [--smoke] [--source=kmsg|history] [--target=...] [--history-mib=N] [--no-index]
 *
 * Results are lines "RESULT <name> <value> <unit>" on stdout; anything
 * else is commentary. The exit status is 0 when the benchmark ran and its
 * correctness checks held (every event accounted for, the daemon started
 * and stopped cleanly); timings never decide the exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* before glib.h, whose MIN and MAX replace the project's */
#include "daemon/history.h"

#include <glib.h>
#include <systemd/sd-bus.h>

#include "bench/bench-util.h"
#include "bench/vfio-emu.h"
#include "tests/devworld.h"

#define PEC_BENCH   0x0002 /* dma-out-of-range: recoverable, signalled */
#define FID_MEASURE 0x1000 /* latency: the functions measured */
#define N_MEASURE   4
#define FID_BG      0x2000 /* latency under load: background errors */
#define N_BG        16
#define FID_STORM   0x3000
#define FID_SCALE   0x10000
#define READY_MS    120000
#define LOAD_NICE   10  /* the CPU hogs: batch work beside a service at nice 0 */
#define LOAD_RATE   200 /* background errors per second under load */

static bool arg_smoke;
static bool arg_load;
static unsigned arg_events;
static unsigned arg_functions;
static unsigned arg_seconds;
static const char *arg_target = "zpcid";
static const char *arg_source = "vfio";
static const char *arg_logdir;
static unsigned arg_history_mib;
static unsigned arg_rate;
static bool arg_coalesce;
static bool arg_no_index;

static char *top_builddir(void)
{
	const char *t = getenv("ZPCID_TOP_BUILDDIR");

	return g_strdup(t && *t ? t : ".");
}

static void resultf(const char *name, const char *suffix, double value, const char *unit)
{
	printf("RESULT %s%s %.6g %s\n", name, suffix, value, unit);
	fflush(stdout);
}

static void result(const char *name, double value, const char *unit)
{
	resultf(name, "", value, unit);
}

static void say(const char *format, ...) G_GNUC_PRINTF(1, 2);
static void say(const char *format, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, format);
	vprintf(format, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static char *log_path(const char *what)
{
	return g_strdup_printf("%s/%s.log", arg_logdir ?: "/tmp", what);
}

/* ---- worlds, configurations, targets -------------------------------------- */

/* @n NVMe functions from @first_fid, bound to vfio-pci with a cdev. */
static int world_add_vfio(Devworld *w, uint32_t first_fid, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		DevworldFunction f = {
			.fid = first_fid + i,
			.uid = first_fid + i,
			.uid_is_unique = true,
			.pchid = (uint16_t)(0x100 + i / 4),
			.kind = DEVWORLD_KIND_NVME,
			.driver = "vfio-pci",
		};
		int r = devworld_add_function(w, &f);

		if (r < 0)
			return r;
	}
	return 0;
}

/* A configuration file in @dir: every function in @mode, every event only
 * logged; @extra ("key": value, ...) is added at the top level. */
static char *write_config(const char *dir, const char *name, const char *mode, const char *extra)
{
	char *path = g_build_filename(dir, name, NULL);
	g_autofree char *text = g_strdup_printf(
		"{ \"schema\": 1, %s%s \"policy\": { \"default_mode\": \"%s\", "
		"\"rules\": [ { \"name\": \"default\", \"actions\": [ \"log\" ] } ] } }\n",
		extra ?: "", extra ? "," : "", mode);

	if (!g_file_set_contents(path, text, -1, NULL)) {
		g_free(path);
		return NULL;
	}
	return path;
}

/* Start zpcid with @config (journal logging, no drop-ins) or the floor on
 * the cdevs of @fids (on /dev/kmsg without any), under umockdev's preload
 * or, when @native, on the test bed's tree bind-mounted over /sys
 * (bench_spawn_native()). Waits for READY=1 and for the eventfds of @fids.
 * Returns 0 or -errno. */
static int start_target_full(Devworld *w, BenchProc *p, const char *target, const char *config,
			     const uint32_t *fids, unsigned n_fids, const char *logname, bool native)
{
	g_autofree char *top = top_builddir();
	g_autofree char *bin = NULL, *log = log_path(logname);
	g_autofree char *dropins = g_build_filename(devworld_root(w), "no-dropins", NULL);
	GPtrArray *args = g_ptr_array_new_with_free_func(g_free);
	int r;

	if (strcmp(target, "floor") == 0) {
		g_ptr_array_add(args, g_build_filename(top, "bench", "zpcid-floor", NULL));
		if (n_fids == 0)
			g_ptr_array_add(args, g_strdup("--kmsg"));
		for (unsigned i = 0; i < n_fids; i++)
			g_ptr_array_add(args, g_strdup_printf("/dev/vfio/devices/vfio%d",
							      devworld_cdev(w, fids[i])));
	} else {
		g_ptr_array_add(args, g_build_filename(top, "zpcid", NULL));
		g_ptr_array_add(args, g_strdup("--config"));
		g_ptr_array_add(args, g_strdup(config));
		g_ptr_array_add(args, g_strdup("--config-dropins"));
		g_ptr_array_add(args, g_strdup(dropins));
		g_ptr_array_add(args, g_strdup("--log-target=journal"));
	}
	g_ptr_array_add(args, NULL);
	if (native)
		r = bench_spawn_native(p, (const char *const *)args->pdata, devworld_root(w), log);
	else
		r = bench_spawn(p, (const char *const *)args->pdata, true, log);
	g_ptr_array_free(args, TRUE);
	if (r < 0)
		return r;
	r = bench_wait_ready(p, READY_MS);
	if (r < 0) {
		fprintf(stderr, "zpcid-bench: %s did not send READY=1 (%s); see %s\n", target, strerror(-r),
			log);
		return r;
	}
	for (unsigned i = 0; i < n_fids; i++) {
		r = devworld_wait_err_registered(w, fids[i], true, 30000);
		if (r < 0) {
			fprintf(stderr, "zpcid-bench: %s registered no eventfd for 0x%x; see %s\n", target,
				fids[i], log);
			return r;
		}
	}
	return 0;
}

static int start_target(Devworld *w, BenchProc *p, const char *target, const char *config,
			const uint32_t *fids, unsigned n_fids, const char *logname)
{
	return start_target_full(w, p, target, config, fids, n_fids, logname, false);
}

static int stop_target(BenchProc *p, const char *target)
{
	int st = bench_stop(p, 20000);

	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "zpcid-bench: %s did not stop cleanly (status 0x%x)\n", target, st);
		return -EIO;
	}
	return 0;
}

/* ---- load: CPU hogs and a background error stream ------------------------- */

typedef struct Load {
	pid_t hogs[64];
	unsigned n_hogs;
	GThread *thread;
	Devworld *world;
	volatile bool stop;
	uint64_t injected;
} Load;

static gpointer background_errors(gpointer userdata)
{
	Load *l = userdata;
	unsigned i = 0;

	/* LOAD_RATE errors per second, round robin over the background functions */
	uint64_t next = bench_now_ns();

	while (!l->stop) {
		uint64_t now = bench_now_ns();

		if (now < next) {
			bench_sleep_us((next - now) / 1000);
			continue;
		}
		if (devworld_inject_pec(l->world, FID_BG + i % N_BG, PEC_BENCH) > 0)
			l->injected++;
		i++;
		next += 1000000000ULL / LOAD_RATE;
	}
	return NULL;
}

static void load_start(Load *l, Devworld *w)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	*l = (Load){ .world = w };
	for (long i = 0; i < ncpu && i < 64; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			volatile unsigned long x = 0;

			(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
			(void)!nice(LOAD_NICE);
			for (;;)
				x++;
		}
		if (pid > 0)
			l->hogs[l->n_hogs++] = pid;
	}
	l->thread = g_thread_new("bench-load", background_errors, l);
}

static void load_stop(Load *l)
{
	if (l->thread) {
		l->stop = true;
		g_thread_join(l->thread);
		l->thread = NULL;
	}
	for (unsigned i = 0; i < l->n_hogs; i++) {
		(void)kill(l->hogs[i], SIGKILL);
		(void)waitpid(l->hogs[i], NULL, 0);
	}
	l->n_hogs = 0;
}

/* ---- latency ---------------------------------------------------------------- */

static int bench_latency(BenchSub *sub, const char *target, bool load)
{
	unsigned n = arg_events ?: (arg_smoke ? 200 : 10000), warm = arg_smoke ? 10 : 100;
	g_autofree char *dir = g_dir_make_tmp("zpcid-bench-XXXXXX", NULL);
	g_autofree char *config = NULL;
	g_autofree double *lat_bus = g_new0(double, n), *lat_journal = g_new0(double, n);
	g_autofree uint64_t *t0 = g_new0(uint64_t, n), *seqs = g_new0(uint64_t, n);
	g_autofree char *name = g_strdup_printf("latency.%s.%s", load ? "load" : "idle", target);
	uint32_t fids[N_MEASURE + N_BG];
	Devworld *w = NULL;
	BenchProc p = { .notify_fd = -1 };
	BenchJournal j = {};
	BenchSample s0, s1;
	BenchStats st;
	Load l = {};
	size_t nj = 0, missing = 0;
	int r;

	/* every event must reach the journal and the bus: no coalescing here */
	config = write_config(dir, "latency.json", "own",
			      "\"output\": { \"burst\": 100000, \"interval\": \"10s\" }");
	r = devworld_new(&w);
	if (r < 0 || !config)
		return r < 0 ? r : -EIO;
	devworld_set_kmsg_on_error(w, false);
	r = world_add_vfio(w, FID_MEASURE, N_MEASURE);
	if (r >= 0)
		r = world_add_vfio(w, FID_BG, N_BG);
	if (r < 0)
		goto out;
	for (unsigned i = 0; i < N_MEASURE; i++)
		fids[i] = FID_MEASURE + i;
	for (unsigned i = 0; i < N_BG; i++)
		fids[N_MEASURE + i] = FID_BG + i;

	r = start_target(w, &p, target, config, fids, N_MEASURE + N_BG, name);
	if (r < 0)
		goto out;
	bench_sub_reset(sub);
	bench_sub_watch(sub, FID_MEASURE, FID_MEASURE + N_MEASURE - 1);
	if (load)
		load_start(&l, w);
	(void)bench_sample(p.pid, &s0);

	for (unsigned k = 0; k < warm + n; k++) {
		uint32_t fid = FID_MEASURE + k % N_MEASURE;
		BenchSignal sig;
		uint64_t t;

		r = devworld_queue_pec(w, fid, PEC_BENCH);
		if (r != 1) {
			fprintf(stderr, "zpcid-bench: the error was not queued (%d)\n", r);
			r = -EIO;
			goto out;
		}
		t = bench_now_ns();
		(void)devworld_signal_err(w, fid);
		r = bench_sub_wait_watched(sub, k + 1, 10000, &sig);
		if (r < 0) {
			fprintf(stderr, "zpcid-bench: no ErrorReported signal for event %u\n", k);
			goto out;
		}
		if (k >= warm) {
			lat_bus[k - warm] = (double)(sig.t_ns - t) / 1000.0;
			t0[k - warm] = t;
			seqs[k - warm] = sig.seq;
		}
		bench_sleep_us(200);
	}
	(void)bench_sample(p.pid, &s1);
	load_stop(&l);

	r = bench_journal_collect(p.pid, warm + n + l.injected, 20000, &j);
	if (r < 0)
		goto out;
	for (unsigned k = 0; k < n; k++) {
		uint64_t mono = bench_journal_mono_of(&j, seqs[k]);

		if (mono == 0) {
			missing++;
			continue;
		}
		lat_journal[nj++] = ((double)mono * 1000.0 - (double)t0[k]) / 1000.0;
	}

	say("%s: %u events (after %u warm-up), %zu journal records of the process", name, n, warm,
	    j.n_errors);
	bench_stats(lat_journal, nj, &st);
	resultf(name, ".journal.p50", st.p50, "us");
	resultf(name, ".journal.p99", st.p99, "us");
	resultf(name, ".journal.max", st.max, "us");
	resultf(name, ".journal.n", (double)nj, "events");
	bench_stats(lat_bus, n, &st);
	resultf(name, ".bus.p50", st.p50, "us");
	resultf(name, ".bus.p99", st.p99, "us");
	resultf(name, ".bus.max", st.max, "us");
	resultf(name, ".bus.n", (double)n, "events");
	resultf(name, ".cpu_per_event",
		(double)(s1.cpu_ns - s0.cpu_ns) / 1000.0 / (double)(warm + n + l.injected), "us");
	if (load) {
		resultf(name, ".background_events", (double)l.injected, "events");
		resultf(name, ".background_rate", (double)LOAD_RATE, "events/s");
		resultf(name, ".cpu_hogs_at_nice_10", (double)sysconf(_SC_NPROCESSORS_ONLN), "processes");
	}
	if (missing > 0) {
		fprintf(stderr, "zpcid-bench: %zu measured events have no journal record\n", missing);
		r = -EIO;
		goto out;
	}
	r = stop_target(&p, target);
out:
	load_stop(&l);
	bench_journal_done(&j);
	bench_proc_done(&p);
	devworld_free(w);
	return r;
}

/* ---- storm ------------------------------------------------------------------ */

static uint64_t world_drained(Devworld *w, uint32_t first, unsigned n, uint64_t *ret_dropped)
{
	uint64_t sum = 0, dropped = 0;

	for (unsigned i = 0; i < n; i++) {
		DevworldStats s;

		if (devworld_get_stats(w, first + i, &s) == 0) {
			sum += s.drained;
			dropped += s.dropped;
		}
	}
	if (ret_dropped)
		*ret_dropped = dropped;
	return sum;
}

/* Error records in the history files of @state_dir. */
static long history_errors(const char *state_dir)
{
	long n = 0;

	for (int i = 0; i < 16; i++) {
		g_autofree char *path = i == 0 ? g_build_filename(state_dir, "history.log", NULL)
					       : g_strdup_printf("%s/history.log.%d", state_dir, i);
		g_autofree char *text = NULL;

		if (!g_file_get_contents(path, &text, NULL, NULL))
			continue;
		for (const char *s = text; (s = strstr(s, "\"kind\":\"error\"")); s++)
			n++;
	}
	return n;
}

/* Bytes waiting in the kmsg FIFO of the world. */
static long kmsg_backlog(Devworld *w)
{
	g_autofree char *path = g_build_filename(devworld_root(w), "dev", "kmsg", NULL);
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), n = -1;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, FIONREAD, &n) < 0)
		n = -errno;
	close(fd);
	return n;
}

/*
 * A storm: every function's error source kept saturated for the run time.
 * vfio: each function's kernel queue is topped up to its depth of 4 and the
 * eventfd signalled, in own mode; kmsg: the kernel log FIFO is kept full of
 * "Event 0x.. reports an error" records for functions zpcid observes (the
 * default mode). Delivered = records the emulated kernel handed out
 * (drained from the queues / written to the log); every one of them must be
 * in the history and, written or summarised, in the journal and on the bus.
 */
static int bench_storm(BenchSub *sub, const char *target, const char *source)
{
	bool kmsg = strcmp(source, "kmsg") == 0, zpcid = strcmp(target, "zpcid") == 0;
	/* umockdev's preload tracks at most 50 emulated fds per process; an
	 * owned function takes 2 (cdev, iommufd) */
	unsigned n = arg_functions ?: (kmsg ? 256 : 20), secs = arg_seconds ?: (arg_smoke ? 2 : 10);
	/* the shipped coalescing (20 per 10 s); the smoke run closes its windows sooner */
	const char *interval = arg_smoke ? "1s" : "10s";
	uint64_t interval_s = arg_smoke ? 1 : 10;
	g_autofree char *dir = g_dir_make_tmp("zpcid-bench-XXXXXX", NULL);
	/* a history large enough to keep every event of the run (the default
	 * keeps about 40,000), so that it can be counted */
	g_autofree char *output = g_strdup_printf(
		"\"output\": { \"burst\": 20, \"interval\": \"%s\" }, "
		"\"history\": { \"max_file_size\": 1073741824, \"max_files\": 2 }",
		interval);
	g_autofree char *config = write_config(dir, "storm.json", kmsg ? "observe" : "own", output);
	g_autofree char *name = g_strdup_printf("storm.%s.%s", source, target);
	g_autofree uint32_t *fids = g_new0(uint32_t, n);
	char state[256];
	uint64_t before = 0, delivered = 0, dropped = 0, t_start, t_end, t_done, bus_err, bus_sum, bus_n;
	Devworld *w = NULL;
	BenchProc p = { .notify_fd = -1 };
	BenchJournal j = {};
	BenchSample s0, s1, s2;
	long hist = -1;
	int r;

	r = devworld_new(&w);
	if (r < 0 || !config)
		return r < 0 ? r : -EIO;
	devworld_set_kmsg_on_error(w, false);
	for (unsigned i = 0; i < n; i++)
		fids[i] = FID_STORM + i;
	if (kmsg)
		for (unsigned i = 0; i < n && r >= 0; i++) {
			DevworldFunction f = { .fid = fids[i],
					       .uid = fids[i],
					       .uid_is_unique = true,
					       .kind = DEVWORLD_KIND_NVME };
			r = devworld_add_function(w, &f);
		}
	else
		r = world_add_vfio(w, FID_STORM, n);
	if (r < 0)
		goto out;
	r = start_target(w, &p, target, config, kmsg ? NULL : fids, kmsg ? 0 : n, name);
	if (r < 0)
		goto out;
	bench_sub_reset(sub);
	bench_sub_watch(sub, 1, 0);
	bench_proc_state_dir(&p, state, sizeof(state));

	if (!kmsg)
		before = world_drained(w, FID_STORM, n, NULL);
	(void)bench_sample(p.pid, &s0);
	t_start = bench_now_ns();
	t_end = t_start + (uint64_t)secs * 1000000000ULL;
	if (kmsg) {
		/* keep the log full: a write that does not fit fails whole (< PIPE_BUF) */
		unsigned i = 0;

		while (bench_now_ns() < t_end) {
			uint32_t fid = fids[i % n];

			if (devworld_kmsg(w, "zpci: %s: Event 0x%x reports an error for PCI function 0x%x",
					  devworld_slot(w, fid), PEC_BENCH, fid) == 0) {
				delivered++;
				i++;
			} else
				bench_sleep_us(50);
		}
		for (uint64_t end = bench_now_ns() + 60000000000ULL;
		     kmsg_backlog(w) > 0 && bench_now_ns() < end;)
			bench_sleep_us(1000);
	} else {
		/* keep every queue full: top it up to the kernel's depth of 4, then signal */
		while (bench_now_ns() < t_end) {
			unsigned topped = 0;

			for (unsigned i = 0; i < n; i++) {
				DevworldStats s;

				if (devworld_get_stats(w, fids[i], &s) < 0 || s.queued >= 4)
					continue;
				for (unsigned k = s.queued; k < 4; k++)
					(void)devworld_queue_pec(w, fids[i], PEC_BENCH);
				(void)devworld_signal_err(w, fids[i]);
				topped++;
			}
			if (topped == 0)
				bench_sleep_us(50);
		}
		for (unsigned i = 0; i < n; i++)
			(void)devworld_wait_drained(w, fids[i], 60000);
		delivered = world_drained(w, FID_STORM, n, &dropped) - before;
	}
	t_done = bench_now_ns();
	(void)bench_sample(p.pid, &s1);

	/* the last windows close and their summaries go out */
	bench_sleep_us(((zpcid ? interval_s : 0) + 1) * 1000000ULL);
	if (zpcid)
		for (uint64_t end = bench_now_ns() + 30000000000ULL;
		     (hist = history_errors(state)) < (long)delivered && bench_now_ns() < end;)
			bench_sleep_us(100000);
	bench_sub_totals(sub, &bus_err, &bus_sum, &bus_n);
	(void)bench_sample(p.pid, &s2);
	r = bench_journal_collect(p.pid, delivered, 30000, &j);
	if (r < 0)
		goto out;
	r = stop_target(&p, target);
	if (r < 0)
		goto out;

	say("%s: %u functions saturated for %.2f s, all processed after %.2f s", name, n,
	    (double)(t_end - t_start) / 1e9, (double)(t_done - t_start) / 1e9);
	resultf(name, ".functions", n, "functions");
	resultf(name, ".events_per_second", (double)delivered / ((double)(t_done - t_start) / 1e9),
		"events/s");
	resultf(name, ".cpu_per_event", (double)(s1.cpu_ns - s0.cpu_ns) / 1000.0 / (double)delivered, "us");
	resultf(name, ".cpu_share", (double)(s1.cpu_ns - s0.cpu_ns) / (double)(t_done - t_start) * 100.0,
		"%");
	resultf(name, ".peak_rss", (double)s2.hwm_kib, "KiB");
	resultf(name, ".delivered", (double)delivered, "events");
	resultf(name, ".kernel_dropped", (double)dropped, "events");
	resultf(name, ".journal_written", (double)j.n_errors, "events");
	resultf(name, ".journal_summarised", (double)j.summarised, "events");
	resultf(name, ".bus_signalled", (double)bus_err, "events");
	resultf(name, ".bus_summarised", (double)bus_sum, "events");
	if (zpcid)
		resultf(name, ".history_recorded", (double)hist, "events");

	/* zero lost: every record the kernel handed out is accounted for on each side */
	if (delivered == 0) {
		fprintf(stderr, "zpcid-bench: the emulated kernel delivered nothing\n");
		r = -EIO;
	}
	if (j.n_errors + j.summarised != delivered) {
		fprintf(stderr,
			"zpcid-bench: journal: %zu written + %" PRIu64 " summarised != %" PRIu64
			" delivered\n",
			j.n_errors, j.summarised, delivered);
		r = -EIO;
	}
	if (bus_err + bus_sum != delivered) {
		fprintf(stderr,
			"zpcid-bench: bus: %" PRIu64 " signalled + %" PRIu64 " summarised != %" PRIu64
			" delivered\n",
			bus_err, bus_sum, delivered);
		r = -EIO;
	}
	if (zpcid && hist != (long)delivered) {
		fprintf(stderr, "zpcid-bench: history: %ld recorded != %" PRIu64 " delivered\n", hist,
			delivered);
		r = -EIO;
	}
	if (dropped != 0) {
		fprintf(stderr, "zpcid-bench: the emulated kernel dropped %" PRIu64 " records\n", dropped);
		r = -EIO;
	}
	resultf(name, ".lost", r < 0 ? 1 : 0, "(0: every delivered event accounted for on every side)");
out:
	bench_journal_done(&j);
	bench_proc_done(&p);
	devworld_free(w);
	return r;
}

/* ---- a storm of hundreds of owned functions (bench/vfio-emu.c) --------------- */

static uint64_t emu_sum(const VfioEmu *e, size_t field)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < e->n; i++)
		sum += __atomic_load_n((const uint64_t *)((const uint8_t *)&e->f[i] + field),
				       __ATOMIC_RELAXED);
	return sum;
}

static unsigned emu_count(const VfioEmu *e, size_t field)
{
	unsigned c = 0;

	for (unsigned i = 0; i < e->n; i++)
		c += __atomic_load_n((const uint32_t *)((const uint8_t *)&e->f[i] + field),
				     __ATOMIC_RELAXED) != 0;
	return c;
}

static int emu_wait(const VfioEmu *e, size_t field, bool want_zero, unsigned want, unsigned timeout_ms)
{
	for (uint64_t end = bench_now_ns() + (uint64_t)timeout_ms * 1000000ULL; bench_now_ns() < end;) {
		unsigned c = emu_count(e, field);

		if (want_zero ? c == 0 : c >= want)
			return 0;
		bench_sleep_us(2000);
	}
	return -ETIMEDOUT;
}

/*
 * @n functions owned through bench/vfio-emu.so, the program on the recorded
 * sysfs tree without umockdev (bench_spawn_native()). Phase "saturate":
 * every queue is topped up to the kernel's depth of 4 as soon as a GET made
 * room, for @secs: the drain throughput. Phase "rate" (arg_rate > 0): every
 * function gets arg_rate errors per second for @secs and a full queue drops
 * the newest: the kernel drops at that offered load. Every record a GET
 * handed out must be in the journal and on the bus (written or summarised)
 * and, for zpcid, in the history.
 */
static int bench_bigstorm(BenchSub *sub, const char *target)
{
	bool zpcid = strcmp(target, "zpcid") == 0;
	unsigned n = arg_functions ?: 256, secs = arg_seconds ?: (arg_smoke ? 2 : 10);
	uint64_t interval_s = arg_smoke ? 1 : 10;
	g_autofree char *dir = g_dir_make_tmp("zpcid-bench-XXXXXX", NULL);
	g_autofree char *output =
		arg_coalesce
			? g_strdup_printf("\"output\": { \"burst\": 20, \"interval\": \"%" PRIu64 "s\" }, "
					  "\"history\": { \"max_file_size\": 1073741824, \"max_files\": 2 }",
					  interval_s)
			: g_strdup("\"output\": { \"burst\": 100000, \"interval\": \"10s\" }, "
				   "\"history\": { \"max_file_size\": 1073741824, \"max_files\": 2 }");
	g_autofree char *config = write_config(dir, "bigstorm.json", "own", output);
	g_autofree char *ctl = g_build_filename(dir, "vfio-emu", NULL);
	g_autofree char *top = top_builddir();
	g_autofree char *lib = g_build_filename(top, "bench", "vfio-emu.so", NULL);
	g_autofree char *name = g_strdup_printf("bigstorm.%s.%s", arg_coalesce ? "coalesce" : "every",
						target);
	g_autofree uint32_t *fids = g_new0(uint32_t, n);
	uint64_t d0, d1, inj0, inj1, drop0, drop1, icpu0, icpu1, delivered, t0, t1, bus_err, bus_sum, bus_n;
	size_t size = vfio_emu_size(n);
	char state[256];
	VfioEmu *e = MAP_FAILED;
	Devworld *w = NULL;
	BenchProc p = { .notify_fd = -1 };
	BenchJournal j = {};
	BenchSample s0, s1;
	long hist = -1;
	int fd = -1, r;

	if (n == 0 || n > VFIO_EMU_MAX || !config)
		return -EINVAL;
	r = devworld_new(&w);
	if (r < 0)
		return r;
	devworld_set_kmsg_on_error(w, false);
	r = world_add_vfio(w, FID_STORM, n);
	if (r < 0)
		goto out;

	fd = open(ctl, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		r = -errno;
		goto out;
	}
	e = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (e == MAP_FAILED) {
		r = -errno;
		goto out;
	}
	e->n = n;
	for (unsigned i = 0; i < n; i++) {
		fids[i] = FID_STORM + i;
		e->f[i].cdev = (uint32_t)devworld_cdev(w, fids[i]);
		e->f[i].fid = fids[i];
		e->f[i].fh = 0x80000000u | fids[i];
		e->f[i].pec = PEC_BENCH;
	}
	e->magic = VFIO_EMU_MAGIC;

	/* the program on the recorded tree, its vfio nodes answered by the library */
	{
		const char *argv_floor[n + 2];
		g_autofree char *dropins = g_build_filename(devworld_root(w), "no-dropins", NULL);
		const char *argv_zpcid[] = {
			NULL, "--config", config, "--config-dropins", dropins, "--log-target=journal", NULL
		};
		g_autofree char *bin = g_build_filename(top, zpcid ? "zpcid" : "bench/zpcid-floor", NULL);
		g_autofree char *log = log_path(name);
		g_autoptr(GPtrArray) nodes = g_ptr_array_new_with_free_func(g_free);

		g_autoptr(GPtrArray) args = g_ptr_array_new();

		argv_floor[0] = bin;
		for (unsigned i = 0; i < n; i++) {
			g_ptr_array_add(nodes, g_strdup_printf("/dev/vfio/devices/vfio%u", e->f[i].cdev));
			argv_floor[i + 1] = nodes->pdata[i];
		}
		argv_floor[n + 1] = NULL;
		argv_zpcid[0] = bin;
		for (const char *const *a = zpcid ? argv_zpcid : argv_floor; *a; a++)
			g_ptr_array_add(args, (char *)*a);
		g_ptr_array_add(args, NULL);
		setenv("ZPCID_VFIO_EMU", ctl, 1);
		setenv("ZPCID_VFIO_EMU_PROGRAM", zpcid ? "zpcid" : "zpcid-floor", 1);
		setenv("ZPCID_BENCH_NATIVE_PRELOAD", lib, 1);
		r = bench_spawn_native(&p, (const char *const *)args->pdata, devworld_root(w), log);
		unsetenv("ZPCID_VFIO_EMU");
		unsetenv("ZPCID_VFIO_EMU_PROGRAM");
		unsetenv("ZPCID_BENCH_NATIVE_PRELOAD");
		if (r < 0)
			goto out;
		r = bench_wait_ready(&p, READY_MS);
		if (r >= 0)
			r = emu_wait(e, offsetof(VfioEmuFunction, registered), false, n, 60000);
		if (r < 0) {
			fprintf(stderr,
				"zpcid-bench: %s: not ready, or %u of %u eventfds registered; see %s\n",
				target, emu_count(e, offsetof(VfioEmuFunction, registered)), n, log);
			goto out;
		}
	}
	bench_sub_reset(sub);
	bench_sub_watch(sub, 1, 0);
	bench_proc_state_dir(&p, state, sizeof(state));

	/* phase 1: every queue kept full */
	d0 = emu_sum(e, offsetof(VfioEmuFunction, drained));
	icpu0 = __atomic_load_n(&e->injector_cpu_ns, __ATOMIC_RELAXED);
	(void)bench_sample(p.pid, &s0);
	t0 = bench_now_ns();
	__atomic_store_n(&e->mode, VFIO_EMU_SATURATE, __ATOMIC_RELAXED);
	bench_sleep_us((uint64_t)secs * 1000000ULL);
	__atomic_store_n(&e->mode, VFIO_EMU_IDLE, __ATOMIC_RELAXED);
	r = emu_wait(e, offsetof(VfioEmuFunction, queued), true, 0, 60000);
	t1 = bench_now_ns();
	(void)bench_sample(p.pid, &s1);
	icpu1 = __atomic_load_n(&e->injector_cpu_ns, __ATOMIC_RELAXED);
	d1 = emu_sum(e, offsetof(VfioEmuFunction, drained));
	if (r < 0) {
		fprintf(stderr, "zpcid-bench: %s left records in the queues\n", target);
		goto out;
	}
	delivered = d1 - d0;
	say("%s: %u functions saturated for %u s, all drained after %.2f s", name, n, secs,
	    (double)(t1 - t0) / 1e9);
	resultf(name, ".functions", n, "functions");
	resultf(name, ".events_per_second", (double)delivered / ((double)(t1 - t0) / 1e9), "events/s");
	resultf(name, ".cpu_per_event",
		((double)(s1.cpu_ns - s0.cpu_ns) - (double)(icpu1 - icpu0)) / 1000.0 / (double)delivered,
		"us");
	resultf(name, ".injector_cpu_per_event", (double)(icpu1 - icpu0) / 1000.0 / (double)delivered, "us");
	resultf(name, ".saturated_dropped", (double)emu_sum(e, offsetof(VfioEmuFunction, dropped)),
		"events");

	/* phase 2: an offered load, full queues drop the newest */
	if (arg_rate > 0) {
		drop0 = emu_sum(e, offsetof(VfioEmuFunction, dropped));
		inj0 = emu_sum(e, offsetof(VfioEmuFunction, injected));
		e->rate = arg_rate;
		__atomic_store_n(&e->mode, VFIO_EMU_RATE, __ATOMIC_RELAXED);
		bench_sleep_us((uint64_t)secs * 1000000ULL);
		__atomic_store_n(&e->mode, VFIO_EMU_IDLE, __ATOMIC_RELAXED);
		r = emu_wait(e, offsetof(VfioEmuFunction, queued), true, 0, 60000);
		if (r < 0)
			goto out;
		drop1 = emu_sum(e, offsetof(VfioEmuFunction, dropped));
		inj1 = emu_sum(e, offsetof(VfioEmuFunction, injected));
		resultf(name, ".offered_per_second", (double)arg_rate * n, "events/s");
		resultf(name, ".offered", (double)(inj1 - inj0), "events");
		resultf(name, ".kernel_dropped", (double)(drop1 - drop0), "events");
		delivered = emu_sum(e, offsetof(VfioEmuFunction, drained)) - d0;
	}

	/* the last windows close and their summaries go out */
	bench_sleep_us(((zpcid && arg_coalesce ? interval_s : 0) + 1) * 1000000ULL);
	if (zpcid)
		for (uint64_t end = bench_now_ns() + 60000000000ULL;
		     (hist = history_errors(state)) < (long)delivered && bench_now_ns() < end;)
			bench_sleep_us(100000);
	r = bench_journal_collect(p.pid, delivered, 60000, &j);
	if (r < 0)
		goto out;
	for (uint64_t end = bench_now_ns() + 30000000000ULL; bench_now_ns() < end; bench_sleep_us(20000)) {
		bench_sub_totals(sub, &bus_err, &bus_sum, &bus_n);
		if (bus_err + bus_sum >= delivered)
			break;
	}
	r = stop_target(&p, target);
	if (r < 0)
		goto out;
	resultf(name, ".delivered", (double)delivered, "events");
	resultf(name, ".journal_written", (double)j.n_errors, "events");
	resultf(name, ".journal_summarised", (double)j.summarised, "events");
	resultf(name, ".bus_signalled", (double)bus_err, "events");
	resultf(name, ".bus_summarised", (double)bus_sum, "events");
	if (zpcid)
		resultf(name, ".history_recorded", (double)hist, "events");
	if (delivered == 0) {
		fprintf(stderr, "zpcid-bench: the emulated kernel delivered nothing\n");
		r = -EIO;
	}
	if (j.n_errors + j.summarised != delivered) {
		fprintf(stderr,
			"zpcid-bench: journal: %zu written + %" PRIu64 " summarised != %" PRIu64
			" delivered\n",
			j.n_errors, j.summarised, delivered);
		r = -EIO;
	}
	if (bus_err + bus_sum != delivered) {
		fprintf(stderr,
			"zpcid-bench: bus: %" PRIu64 " signalled + %" PRIu64 " summarised != %" PRIu64
			" delivered\n",
			bus_err, bus_sum, delivered);
		r = -EIO;
	}
	if (zpcid && hist != (long)delivered) {
		fprintf(stderr, "zpcid-bench: history: %ld recorded != %" PRIu64 " delivered\n", hist,
			delivered);
		r = -EIO;
	}
	resultf(name, ".lost", r < 0 ? 1 : 0, "(0: every delivered event accounted for on every side)");
out:
	bench_journal_done(&j);
	bench_proc_done(&p);
	if (e != MAP_FAILED)
		munmap(e, size);
	if (fd >= 0)
		close(fd);
	if (ctl)
		(void)unlink(ctl);
	if (dir)
		(void)rmdir(dir);
	devworld_free(w);
	return r;
}

/* ---- scale ------------------------------------------------------------------- */

static int time_command(const char *const *argv, double *ret_ms)
{
	uint64_t t = bench_now_ns();
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		(void)dup2(fd, STDOUT_FILENO);
		unsetenv("LD_PRELOAD");
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	(void)waitpid(pid, &st, 0);
	*ret_ms = (double)(bench_now_ns() - t) / 1e6;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

/* The objects GetManagedObjects on /org/zpcid1 reports. Returns 0 or -errno. */
static int count_managed_objects(sd_bus *bus, double *ret_ms, size_t *ret_n)
{
	sd_bus_message *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	uint64_t t = bench_now_ns();
	size_t n = 0;
	int r;

	r = sd_bus_call_method(bus, "org.zpcid1", "/org/zpcid1", "org.freedesktop.DBus.ObjectManager",
			       "GetManagedObjects", &e, &reply, "");
	*ret_ms = (double)(bench_now_ns() - t) / 1e6;
	if (r < 0) {
		fprintf(stderr, "zpcid-bench: GetManagedObjects: %s\n", e.message ?: strerror(-r));
		sd_bus_error_free(&e);
		return r;
	}
	if (ret_n) {
		/* a{oa{sa{sv}}}: count the objects */
		if (sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}") >= 0)
			while (sd_bus_message_skip(reply, "{oa{sa{sv}}}") > 0)
				n++;
		*ret_n = n;
	}
	sd_bus_message_unref(reply);
	return 0;
}

/*
 * The same start-up without the emulator: zpcid on the same recorded tree,
 * bind-mounted over /sys in a mount namespace of the child's own, without
 * umockdev's preload (which adds several system calls to every path lookup
 * and every read). What zpcid then reaches of the host, and why it does not
 * skew the number:
 *  - /sys: only the test bed's tree (bus/pci/devices and the device
 *    directories; the observe mode opens no device node).
 *  - /dev/kmsg: the device world's (empty) kmsg FIFO is bind-mounted over
 *    it, so the kernel log source starts as under the preload instead of
 *    reading the host's whole kernel log backlog.
 *  - /proc (the owner scan): bench/run.sh's PID namespace with its own
 *    /proc, so only the benchmark's processes are scanned, as under the
 *    preload.
 *  - the udev monitor: a real netlink socket; without /run/udev/control
 *    (no udevd, as in a container) libudev leaves it without a group, and
 *    with udevd it only hears the host's pci events, which this bench does
 *    not cause.
 *  - the journal and the system bus: run.sh's private journald and
 *    dbus-daemon, the same as for the run under the preload.
 * The object count of one GetManagedObjects call must equal the preloaded
 * run's @n_objects, so the tree was really read.
 */
static int scale_native(Devworld *w, const char *name, const char *config, sd_bus *bus, size_t n_objects)
{
	g_autofree char *logname = g_strdup_printf("%s.native", name);
	BenchProc p = { .notify_fd = -1 };
	BenchSample s;
	size_t n = 0;
	double ms;
	int r;

	r = start_target_full(w, &p, "zpcid", config, NULL, 0, logname, true);
	if (r < 0)
		goto out;
	(void)bench_sample(p.pid, &s);
	if (bus) {
		r = count_managed_objects(bus, &ms, &n);
		if (r < 0)
			goto out;
		if (n != n_objects) {
			fprintf(stderr,
				"zpcid-bench: without the preload zpcid reports %zu objects, with it %zu\n",
				n, n_objects);
			r = -EIO;
			goto out;
		}
	}
	/* only numbers of a daemon that saw the tree */
	resultf(name, ".native.time_to_ready", (double)(p.ready_ns - p.start_ns) / 1e6, "ms");
	resultf(name, ".native.rss_at_ready", (double)s.rss_kib, "KiB");
	resultf(name, ".native.peak_rss_at_ready", (double)s.hwm_kib, "KiB");
	r = stop_target(&p, "zpcid");
out:
	bench_proc_done(&p);
	return r;
}

/*
 * Start-up against its floor (zpcid-floor --sysfs: the same attributes of
 * every function read once, the bus connected, READY=1), both native on the
 * recorded tree, in turn — zpcid, floor, zpcid, floor ... — so that a drift
 * of the machine's speed hits both alike; the ratio is taken pair by pair
 * and its median reported. The floor must have read @n functions.
 */
static int scale_vs_floor(Devworld *w, const char *name, const char *config, unsigned n)
{
	unsigned pairs = arg_smoke ? 2 : 9;
	g_autofree double *tz = g_new0(double, pairs), *tf = g_new0(double, pairs),
			  *ratio = g_new0(double, pairs);
	g_autofree double *cz = g_new0(double, pairs), *cf = g_new0(double, pairs),
			  *cratio = g_new0(double, pairs);
	g_autofree char *top = top_builddir();
	g_autofree char *floor_bin = g_build_filename(top, "bench", "zpcid-floor", NULL);
	g_autofree char *log = NULL;
	BenchStats st;
	int r = 0;

	for (unsigned i = 0; i < pairs; i++) {
		g_autofree char *zname = g_strdup_printf("%s.vs-floor.zpcid", name);
		g_autofree char *fname = g_strdup_printf("%s.vs-floor.floor", name);
		g_autofree char *text = NULL, *want = g_strdup_printf("floor: sysfs functions %u\n", n);
		const char *const fargv[] = { floor_bin, "--sysfs", NULL };
		BenchProc p = { .notify_fd = -1 };
		BenchSample s = {};

		r = start_target_full(w, &p, "zpcid", config, NULL, 0, zname, true);
		if (r >= 0) {
			tz[i] = (double)(p.ready_ns - p.start_ns) / 1e6;
			/* CPU time up to READY=1 (and the moment after): less
			 * sensitive than the wall clock to the machine's load */
			(void)bench_sample(p.pid, &s);
			cz[i] = (double)s.cpu_ns / 1e6;
			r = stop_target(&p, "zpcid");
		}
		bench_proc_done(&p);
		if (r < 0)
			return r;

		g_free(log);
		log = log_path(fname);
		(void)unlink(log);
		r = bench_spawn_native(&p, fargv, devworld_root(w), log);
		if (r >= 0)
			r = bench_wait_ready(&p, READY_MS);
		if (r >= 0) {
			tf[i] = (double)(p.ready_ns - p.start_ns) / 1e6;
			(void)bench_sample(p.pid, &s);
			cf[i] = (double)s.cpu_ns / 1e6;
			r = stop_target(&p, "floor");
		}
		bench_proc_done(&p);
		if (r < 0)
			return r;
		if (!g_file_get_contents(log, &text, NULL, NULL) || !strstr(text, want)) {
			fprintf(stderr,
				"zpcid-bench: the start-up floor did not read %u functions; see %s\n", n,
				log);
			return -EIO;
		}
		ratio[i] = tz[i] / tf[i];
		cratio[i] = cf[i] > 0 ? cz[i] / cf[i] : 0;
	}
	bench_stats(tz, pairs, &st);
	resultf(name, ".vs_floor.zpcid.time_to_ready.p50", st.p50, "ms");
	bench_stats(tf, pairs, &st);
	resultf(name, ".vs_floor.floor.time_to_ready.p50", st.p50, "ms");
	bench_stats(ratio, pairs, &st);
	resultf(name, ".vs_floor.ratio.p50", st.p50, "(zpcid/floor, pair by pair)");
	resultf(name, ".vs_floor.ratio.min", st.min, "(zpcid/floor)");
	resultf(name, ".vs_floor.ratio.max", st.max, "(zpcid/floor)");
	resultf(name, ".vs_floor.pairs", pairs, "pairs");
	bench_stats(cz, pairs, &st);
	resultf(name, ".vs_floor.zpcid.cpu_to_ready.p50", st.p50, "ms");
	bench_stats(cf, pairs, &st);
	resultf(name, ".vs_floor.floor.cpu_to_ready.p50", st.p50, "ms");
	bench_stats(cratio, pairs, &st);
	resultf(name, ".vs_floor.cpu_ratio.p50", st.p50, "(zpcid/floor, pair by pair)");
	return 0;
}

static int scale_one(unsigned n, bool measure_clients)
{
	unsigned reps = arg_smoke ? 3 : 20;
	g_autofree char *top = top_builddir();
	g_autofree char *dir = g_dir_make_tmp("zpcid-bench-XXXXXX", NULL);
	g_autofree char *lpar = g_build_filename(dir, "scale.lpar", NULL);
	g_autofree char *config = NULL, *zpcictl = g_build_filename(top, "zpcictl", "zpcictl", NULL);
	g_autofree char *name = g_strdup_printf("scale.%u", n);
	g_autofree double *t_list = g_new0(double, reps), *t_gmo = g_new0(double, reps);
	sd_bus *bus = NULL;
	Devworld *w = NULL;
	BenchProc p = { .notify_fd = -1 };
	BenchSample s;
	BenchStats st;
	uint64_t t;
	size_t n_objects = 0;
	int r;

	config = write_config(dir, "scale.json", "observe", NULL);
	r = devworld_new(&w);
	if (r < 0 || !config)
		return r < 0 ? r : -EIO;
	r = devworld_generate(lpar, n, FID_SCALE);
	if (r < 0)
		goto out;
	t = bench_now_ns();
	r = devworld_load(w, lpar, NULL);
	if (r < 0)
		goto out;
	say("%s: the recorded tree of %u functions took %.1f s to build", name, n,
	    (double)(bench_now_ns() - t) / 1e9);

	r = start_target(w, &p, "zpcid", config, NULL, 0, name);
	if (r < 0)
		goto out;
	(void)bench_sample(p.pid, &s);
	resultf(name, ".time_to_ready", (double)(p.ready_ns - p.start_ns) / 1e6, "ms");
	resultf(name, ".rss_at_ready", (double)s.rss_kib, "KiB");
	resultf(name, ".peak_rss_at_ready", (double)s.hwm_kib, "KiB");

	if (measure_clients) {
		const char *const list[] = { zpcictl, "list", NULL };

		r = sd_bus_open_system(&bus);
		if (r < 0)
			goto out;
		for (unsigned i = 0; i < reps; i++) {
			r = count_managed_objects(bus, &t_gmo[i], i == 0 ? &n_objects : NULL);
			if (r < 0)
				goto out;
		}
		for (unsigned i = 0; i < reps; i++) {
			r = time_command(list, &t_list[i]);
			if (r < 0) {
				fprintf(stderr, "zpcid-bench: zpcictl list failed\n");
				goto out;
			}
		}
		bench_stats(t_gmo, reps, &st);
		resultf(name, ".get_managed_objects.p50", st.p50, "ms");
		resultf(name, ".get_managed_objects.max", st.max, "ms");
		resultf(name, ".get_managed_objects.objects", (double)n_objects, "objects");
		bench_stats(t_list, reps, &st);
		resultf(name, ".zpcictl_list.p50", st.p50, "ms");
		resultf(name, ".zpcictl_list.max", st.max, "ms");
	}
	r = stop_target(&p, "zpcid");
	if (r < 0)
		goto out;
	r = scale_native(w, name, config, bus, n_objects);
	if (r >= 0 && measure_clients)
		r = scale_vs_floor(w, name, config, n);
out:
	sd_bus_flush_close_unref(bus);
	bench_proc_done(&p);
	devworld_free(w);
	return r;
}

static int bench_scale(void)
{
	unsigned n = arg_functions ?: (arg_smoke ? 256 : 4096);
	int r;

	r = scale_one(0, false);
	if (r < 0)
		return r;
	return scale_one(n, true);
}

/* ---- idle -------------------------------------------------------------------- */

static int bench_idle(void)
{
	unsigned secs = arg_seconds ?: (arg_smoke ? 3 : 60), n = 64;
	g_autofree char *dir = g_dir_make_tmp("zpcid-bench-XXXXXX", NULL);
	g_autofree char *lpar = g_build_filename(dir, "idle.lpar", NULL);
	g_autofree char *config = write_config(dir, "idle.json", "own", NULL);
	g_autofree char *strace_out = g_build_filename(dir, "strace.txt", NULL);
	g_autofree char *strace_text = NULL;
	Devworld *w = NULL;
	BenchProc p = { .notify_fd = -1 };
	BenchSample s0, s1, s2;
	long syscalls = -1;
	pid_t tracer;
	int r, st;

	r = devworld_new(&w);
	if (r < 0 || !config)
		return r < 0 ? r : -EIO;
	devworld_set_kmsg_on_error(w, false);
	r = devworld_generate(lpar, n, 0x100);
	if (r >= 0)
		r = devworld_load(w, lpar, NULL);
	if (r < 0)
		goto out;
	r = start_target(w, &p, "zpcid", config, NULL, 0, "idle");
	if (r < 0)
		goto out;
	/* settle: whatever the start-up armed (a history flush, a state save) runs out */
	bench_sleep_us(arg_smoke ? 1500000 : 3000000);

	/* window 1: nothing attached, only /proc is read */
	(void)bench_sample(p.pid, &s0);
	bench_sleep_us((uint64_t)secs * 1000000ULL);
	(void)bench_sample(p.pid, &s1);

	/* window 2: the same length under strace -c, for the system calls by name */
	tracer = fork();
	if (tracer == 0) {
		g_autofree char *pid = g_strdup_printf("%d", (int)p.pid);

		unsetenv("LD_PRELOAD");
		execlp("strace", "strace", "-c", "-f", "-q", "-o", strace_out, "-p", pid, (char *)NULL);
		_exit(127);
	}
	if (tracer > 0) {
		bench_sleep_us((uint64_t)secs * 1000000ULL);
		(void)kill(tracer, SIGINT);
		(void)waitpid(tracer, &st, 0);
		if (g_file_get_contents(strace_out, &strace_text, NULL, NULL)) {
			const char *tot = strstr(strace_text, "total");
			char **lines = g_strsplit(strace_text, "\n", -1);

			say("strace -c -f over %u s of idle:", secs);
			for (char **l = lines; *l; l++)
				if (**l)
					say("  %s", *l);
			g_strfreev(lines);
			syscalls = 0;
			if (tot) {
				/* "100.00    0.000000           0         3           total" */
				double pct, secs_;
				long usecs, calls;

				for (const char *b = tot; b > strace_text && b[-1] != '\n'; b--)
					tot = b - 1;
				if (sscanf(tot, "%lf %lf %ld %ld", &pct, &secs_, &usecs, &calls) == 4)
					syscalls = calls;
			}
		}
	}
	(void)bench_sample(p.pid, &s2);

	say("idle: %u functions (%u bound to vfio-pci and owned), watchdog off", n, n / 4);
	result("idle.seconds", secs, "s");
	result("idle.wakeups", (double)(s1.ctxt - s0.ctxt), "context switches");
	result("idle.cpu", (double)(s1.cpu_ns - s0.cpu_ns) / 1000.0, "us");
	result("idle.syscalls_strace", (double)syscalls, "calls");
	result("idle.rss", (double)s2.rss_kib, "KiB");
	result("idle.threads", s2.n_threads, "threads");
	r = stop_target(&p, "zpcid");
out:
	bench_proc_done(&p);
	devworld_free(w);
	return r;
}

/* ---- stall ------------------------------------------------------------------ */

/*
 * How long the daemon's loop can be kept from serving others: a thread
 * calls org.freedesktop.DBus.Peer.Ping on zpcid, once a millisecond, each
 * call on the loop like any other, while a kernel log backlog is read or
 * while ten clients ask GetEvents of a large history. A ping's round trip
 * above the idle one is time the loop spent elsewhere. For zpcid and the
 * floor alike, the time from SIGTERM to exit with the backlog still
 * queued shows how soon a signal is served.
 */
typedef struct Pinger {
	GThread *thread;
	volatile bool stop;
	GArray *rtt_us; /* double */
	int error;
} Pinger;

static gpointer pinger_main(gpointer userdata)
{
	Pinger *pg = userdata;
	sd_bus *bus = NULL;

	if (sd_bus_open_system(&bus) < 0) {
		pg->error = -EIO;
		return NULL;
	}
	while (!pg->stop) {
		sd_bus_error e = SD_BUS_ERROR_NULL;
		sd_bus_message *reply = NULL;
		uint64_t t = bench_now_ns();
		double us;
		int r;

		r = sd_bus_call_method(bus, "org.zpcid1", "/org/zpcid1", "org.freedesktop.DBus.Peer", "Ping",
				       &e, &reply, "");
		us = (double)(bench_now_ns() - t) / 1000.0;
		sd_bus_error_free(&e);
		sd_bus_message_unref(reply);
		if (r < 0) {
			pg->error = r;
			break;
		}
		g_array_append_val(pg->rtt_us, us);
		bench_sleep_us(1000);
	}
	sd_bus_flush_close_unref(bus);
	return NULL;
}

static void pinger_start(Pinger *pg)
{
	*pg = (Pinger){ .rtt_us = g_array_new(FALSE, FALSE, sizeof(double)) };
	pg->thread = g_thread_new("ping", pinger_main, pg);
}

/* Stop and report @name.{ping_p50,ping_p99,ping_max,stall_max}; stall_max
 * is the longest round trip less the idle median @idle_us (0: this run's
 * own median). Returns the stall in microseconds. */
static double pinger_stop(Pinger *pg, const char *name, double idle_us)
{
	BenchStats st;
	double stall;

	pg->stop = true;
	g_thread_join(pg->thread);
	if (pg->rtt_us->len == 0) {
		g_array_free(pg->rtt_us, TRUE);
		return -1;
	}
	bench_stats((double *)(void *)pg->rtt_us->data, pg->rtt_us->len, &st);
	stall = st.max - (idle_us > 0 ? idle_us : st.p50);
	resultf(name, ".pings", pg->rtt_us->len, "calls");
	resultf(name, ".ping_p50", st.p50, "us");
	resultf(name, ".ping_p99", st.p99, "us");
	resultf(name, ".ping_max", st.max, "us");
	resultf(name, ".stall_max", stall, "us");
	g_array_free(pg->rtt_us, TRUE);
	return stall;
}

/* Report @name.loop_stall_max: the daemon's own probe, the longest loop
 * iteration in CPU time of its thread since it was ready (the Manager
 * property LoopStallMaxUSec): unlike a ping's round trip, waits for a CPU
 * on a loaded machine are not in it. */
static int loop_stall_report(const char *name)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus *bus = NULL;
	uint64_t v = 0;
	int r;

	r = sd_bus_open_system(&bus);
	if (r >= 0)
		r = sd_bus_get_property_trivial(bus, "org.zpcid1", "/org/zpcid1", "org.zpcid1.Manager",
						"LoopStallMaxUSec", &e, 't', &v);
	if (r < 0)
		fprintf(stderr, "zpcid-bench: LoopStallMaxUSec: %s\n", e.message ?: strerror(-r));
	else
		resultf(name, ".loop_stall_max", (double)v, "us");
	sd_bus_error_free(&e);
	sd_bus_flush_close_unref(bus);
	return r;
}

/* A history of about @mib MiB in @dir, in the daemon's own format. */
static int make_history(const char *dir, unsigned mib, uint64_t *ret_records)
{
	HistoryLimits lim = HISTORY_LIMITS_DEFAULT;
	History *h = NULL;
	uint64_t target = (uint64_t)mib * 1024 * 1024, seq = 0;
	g_autofree char *path = g_build_filename(dir, "history.log", NULL);
	struct stat st;
	int r;

	/* one file, a little larger than the target: never rotated here */
	lim.max_file_size = target + 16 * 1024 * 1024;
	lim.max_files = 2;
	lim.sync_records = UINT32_MAX;
	r = history_open(&h, dir, &lim, NULL);
	if (r < 0)
		return r;
	for (;;) {
		ZpciEvent e = { .seq = ++seq,
				.kind = EVENT_ERROR,
				.sources = EVENT_SOURCE_KMSG,
				.fid = FID_STORM + (uint32_t)(seq % 64),
				.has = EVENT_HAS_PEC,
				.pec = PEC_BENCH };

		e.time_usec = 1700000000000000ULL + seq * 1000;
		e.monotonic_usec = seq * 1000;
		(void)snprintf(e.slot, sizeof(e.slot), "%04x:00:00.0", (unsigned)(seq % 64));
		(void)snprintf(e.message, sizeof(e.message),
			       "PCI function 0x%08x reported error 0x%04x (DMA address out of range)", e.fid,
			       PEC_BENCH);
		r = history_append(h, &e);
		if (r < 0)
			break;
		if (seq % 10000 == 0 && (stat(path, &st) < 0 || (uint64_t)st.st_size >= target))
			break;
	}
	history_free(h);
	*ret_records = seq;
	return r < 0 ? r : 0;
}

typedef struct Asker {
	GThread *thread;
	volatile bool *stop;
	uint64_t calls, failures;
	double max_ms;
	uint64_t total;
} Asker;

static gpointer asker_main(gpointer userdata)
{
	Asker *a = userdata;
	sd_bus *bus = NULL;

	if (sd_bus_open_system(&bus) < 0) {
		a->failures++;
		return NULL;
	}
	(void)sd_bus_set_method_call_timeout(bus, 600ULL * 1000000ULL);
	while (!*a->stop) {
		sd_bus_error e = SD_BUS_ERROR_NULL;
		sd_bus_message *reply = NULL;
		uint64_t t = bench_now_ns();
		double ms;
		int r;

		r = sd_bus_call_method(bus, "org.zpcid1", "/org/zpcid1", "org.zpcid1.Manager", "GetEvents",
				       &e, &reply, "a{sv}", 2, "newest_first", "b", 1, "limit", "u", 100);
		ms = (double)(bench_now_ns() - t) / 1e6;
		if (r >= 0 && sd_bus_message_skip(reply, "aa{sv}") >= 0 &&
		    sd_bus_message_read(reply, "t", &a->total) > 0) {
			a->calls++;
			if (ms > a->max_ms)
				a->max_ms = ms;
		} else if (!*a->stop) {
			fprintf(stderr, "zpcid-bench: GetEvents: %s\n", e.message ?: strerror(-r));
			a->failures++;
		}
		sd_bus_error_free(&e);
		sd_bus_message_unref(reply);
	}
	sd_bus_flush_close_unref(bus);
	return NULL;
}

static int stall_kmsg(const char *target)
{
	const unsigned n_fun = 64, n_lines = arg_smoke ? 2000 : 20000;
	bool zpcid = strcmp(target, "zpcid") == 0;
	g_autofree char *dir = g_dir_make_tmp("zpcid-bench-XXXXXX", NULL);
	g_autofree char *config = write_config(dir, "stall.json", "observe", NULL);
	g_autofree char *name = g_strdup_printf("stall.kmsg.%s", target);
	Devworld *w = NULL;
	BenchProc p = { .notify_fd = -1 };
	Pinger pg;
	uint64_t t_term;
	int r, st;

	r = devworld_new(&w);
	if (r < 0 || !config)
		return r < 0 ? r : -EIO;
	devworld_set_kmsg_on_error(w, false);
	for (unsigned i = 0; i < n_fun && r >= 0; i++) {
		DevworldFunction f = { .fid = FID_STORM + i,
				       .uid = FID_STORM + i,
				       .uid_is_unique = true,
				       .kind = DEVWORLD_KIND_NVME };
		r = devworld_add_function(w, &f);
	}
	if (r < 0)
		goto out;

	for (unsigned round = 0; round < 2; round++) {
		/* round 0: pings while the backlog is read (zpcid only);
		 * round 1: SIGTERM with the backlog queued (both) */
		unsigned written = 0;

		if (round == 0 && !zpcid)
			continue;
		r = start_target(w, &p, target, config, NULL, 0, name);
		if (r < 0)
			goto out;
		if (round == 0) {
			g_autofree char *ni = g_strdup_printf("%s.idle", name);

			pinger_start(&pg);
			bench_sleep_us(1000000);
			(void)pinger_stop(&pg, ni, 0);
			pinger_start(&pg);
		}
		while (written < n_lines) {
			uint32_t fid = FID_STORM + written % n_fun;

			if (devworld_kmsg(w, "zpci: %s: Event 0x%x reports an error for PCI function 0x%x",
					  devworld_slot(w, fid), PEC_BENCH, fid) == 0)
				written++;
			else if (round == 1)
				break; /* the log is full: stop now, with all of it queued */
			else
				bench_sleep_us(50);
		}
		if (round == 0) {
			for (uint64_t end = bench_now_ns() + 120000000000ULL;
			     kmsg_backlog(w) > 0 && bench_now_ns() < end;)
				bench_sleep_us(1000);
			bench_sleep_us(200000);
			{
				g_autofree char *n0 = g_strdup_printf("%s.backlog", name);

				resultf(n0, ".lines", n_lines, "lines");
				(void)pinger_stop(&pg, n0, 0);
				if (pg.error < 0)
					fprintf(stderr, "zpcid-bench: ping: %s\n", strerror(-pg.error));
				if (zpcid && loop_stall_report(n0) < 0)
					r = -EIO;
			}
			if (r < 0)
				goto out;
			r = stop_target(&p, target);
			bench_proc_done(&p);
			if (r < 0)
				goto out;
			continue;
		}
		{
			g_autofree char *n1 = g_strdup_printf("%s.sigterm", name);

			resultf(n1, ".queued_lines", written, "lines");
			resultf(n1, ".queued_bytes", (double)kmsg_backlog(w), "bytes");
			t_term = bench_now_ns();
			st = bench_stop(&p, 60000);
			resultf(n1, ".to_exit", (double)(bench_now_ns() - t_term) / 1e6, "ms");
			if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				fprintf(stderr, "zpcid-bench: %s did not stop cleanly (status 0x%x)\n",
					target, st);
				r = -EIO;
			}
		}
		bench_proc_done(&p);
		/* what the stopped reader left in the log */
		{
			g_autofree char *path = g_build_filename(devworld_root(w), "dev", "kmsg", NULL);
			int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
			char buf[65536];

			while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
				;
			if (fd >= 0)
				close(fd);
		}
	}
out:
	bench_proc_done(&p);
	devworld_free(w);
	return r;
}

static int stall_history(void)
{
	unsigned mib = arg_history_mib ?: (arg_smoke ? 16 : 1024),
		 secs = arg_seconds ?: (arg_smoke ? 3 : 30);
	g_autofree char *dir = g_dir_make_tmp("zpcid-bench-XXXXXX", NULL);
	g_autofree char *seed = g_build_filename(dir, "seed", NULL);
	g_autofree char *config = write_config(
		dir, "stall.json", "observe",
		"\"history\": { \"max_file_size\": 1073741824, \"max_files\": 2 }");
	const char *name = "stall.history.zpcid";
	Asker askers[10] = {};
	volatile bool stop = false;
	Devworld *w = NULL;
	BenchProc p = { .notify_fd = -1 };
	uint64_t records = 0, calls = 0, failures = 0, t0, t_term;
	double max_ms = 0;
	Pinger pg;
	int r, st;

	if (!config || g_mkdir_with_parents(seed, 0700) < 0)
		return -EIO;
	t0 = bench_now_ns();
	r = make_history(seed, mib, &records);
	if (r < 0)
		return r;
	say("%s: a history of %u MiB, %" PRIu64 " records, written in %.1f s", name, mib, records,
	    (double)(bench_now_ns() - t0) / 1e9);
	if (arg_no_index) {
		/* written with the history as the daemon writes it: drop it */
		g_autofree char *index = g_build_filename(seed, "history.index", NULL);

		if (unlink(index) < 0 && errno != ENOENT)
			return -errno;
		name = "stall.history-noindex.zpcid";
	}
	resultf(name, ".history_mib", mib, "MiB");
	resultf(name, ".history_records", (double)records, "records");

	r = devworld_new(&w);
	if (r < 0)
		return r;
	bench_set_state_seed(seed);
	r = start_target(w, &p, "zpcid", config, NULL, 0, name);
	bench_set_state_seed(NULL);
	if (r < 0)
		goto out;
	resultf(name, ".time_to_ready", (double)(p.ready_ns - p.start_ns) / 1e6, "ms");

	pinger_start(&pg);
	bench_sleep_us(1000000);
	{
		g_autofree char *ni = g_strdup_printf("%s.idle", name);

		(void)pinger_stop(&pg, ni, 0);
	}

	pinger_start(&pg);
	for (unsigned i = 0; i < ELEMENTSOF(askers); i++) {
		askers[i].stop = &stop;
		askers[i].thread = g_thread_new("ask", asker_main, &askers[i]);
	}
	bench_sleep_us((uint64_t)secs * 1000000ULL);
	if (loop_stall_report(name) < 0)
		r = -EIO;
	/* SIGTERM with the askers' queries still queued or reading */
	t_term = bench_now_ns();
	stop = true;
	st = bench_stop(&p, 60000);
	resultf(name, ".sigterm_to_exit", (double)(bench_now_ns() - t_term) / 1e6, "ms");
	(void)pinger_stop(&pg, name, 0);
	for (unsigned i = 0; i < ELEMENTSOF(askers); i++) {
		g_thread_join(askers[i].thread);
		calls += askers[i].calls;
		failures += askers[i].failures;
		if (askers[i].max_ms > max_ms)
			max_ms = askers[i].max_ms;
		if (askers[i].calls > 0 && askers[i].total != records) {
			fprintf(stderr, "zpcid-bench: GetEvents total %" PRIu64 " != %" PRIu64 " records\n",
				askers[i].total, records);
			r = -EIO;
		}
	}
	resultf(name, ".getevents_answered", (double)calls, "calls");
	resultf(name, ".getevents_max", max_ms, "ms");
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "zpcid-bench: zpcid did not stop cleanly (status 0x%x)\n", st);
		r = -EIO;
	}
	if (calls == 0) {
		fprintf(stderr, "zpcid-bench: no GetEvents call was answered\n");
		r = -EIO;
	}
out:
	bench_proc_done(&p);
	devworld_free(w);
	return r;
}

/* ---- main --------------------------------------------------------------------- */

static void help(void)
{
	printf("Usage: zpcid-bench latency|storm|bigstorm|scale|idle|stall [OPTION...]\n"
	       "\n"
	       "Benchmarks of zpcid on the simulated LPAR; run them through bench/run.sh,\n"
	       "which provides the private journald and dbus-daemon they need.\n"
	       "\n"
	       "  --smoke          Short run: checks the benchmark works, numbers mean little\n"
	       "  --target=NAME    zpcid (default) or floor (latency, storm)\n"
	       "  --load           latency: with CPU hogs and a background error stream\n"
	       "  --events=N       latency: events measured (default 10000)\n"
	       "  --source=NAME    storm: vfio (default; own mode, eventfd and drain) or\n"
	       "                   kmsg (observe mode, the kernel log)\n"
	       "  --functions=N    storm (vfio 20, kmsg 256), bigstorm (256), scale (4096)\n"
	       "  --rate=R         bigstorm: then R errors per second on every function\n"
	       "  --coalesce       bigstorm: the shipped coalescing (default: every record out)\n"
	       "  --seconds=S      storm (default 10), idle (default 60), stall (default 30)\n"
	       "  --source=NAME    stall: kmsg (a 20,000-line kernel log backlog) or history\n"
	       "                   (10 clients asking GetEvents of a large history)\n"
	       "  --history-mib=N  stall: size of that history (default 1024)\n"
	       "  --no-index       stall: start without the history's index (its first query reads it all)\n"
	       "  --log-dir=DIR    where the programs' output goes (default /tmp)\n");
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "smoke", no_argument, NULL, 's' },         { "load", no_argument, NULL, 'l' },
		{ "events", required_argument, NULL, 'e' },  { "functions", required_argument, NULL, 'f' },
		{ "seconds", required_argument, NULL, 'S' }, { "target", required_argument, NULL, 't' },
		{ "log-dir", required_argument, NULL, 'L' }, { "help", no_argument, NULL, 'h' },
		{ "source", required_argument, NULL, 'o' },  { "history-mib", required_argument, NULL, 'H' },
		{ "rate", required_argument, NULL, 'r' },    { "coalesce", no_argument, NULL, 'c' },
		{ "no-index", no_argument, NULL, 'I' },      {},
	};
	const char *pre = getenv("LD_PRELOAD"), *what;
	BenchSub *sub = NULL;
	int c, r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			arg_smoke = true;
			break;
		case 'l':
			arg_load = true;
			break;
		case 'e':
			arg_events = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'f':
			arg_functions = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'S':
			arg_seconds = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 't':
			arg_target = optarg;
			break;
		case 'L':
			arg_logdir = optarg;
			break;
		case 'o':
			arg_source = optarg;
			break;
		case 'H':
			arg_history_mib = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'r':
			arg_rate = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'c':
			arg_coalesce = true;
			break;
		case 'I':
			arg_no_index = true;
			break;
		case 'h':
			help();
			return EXIT_SUCCESS;
		default:
			return EXIT_FAILURE;
		}
	}
	if (optind != argc - 1) {
		help();
		return EXIT_FAILURE;
	}
	what = argv[optind];
	if (strcmp(arg_target, "zpcid") != 0 && strcmp(arg_target, "floor") != 0) {
		fprintf(stderr, "zpcid-bench: --target is zpcid or floor\n");
		return EXIT_FAILURE;
	}
	/* the device world needs umockdev's preload in this process */
	if (!pre || !strstr(pre, "umockdev")) {
		setenv("LD_PRELOAD", "libumockdev-preload.so.0", 1);
		execv("/proc/self/exe", argv);
		fprintf(stderr, "zpcid-bench: cannot restart under umockdev's preload: %m\n");
		return EXIT_FAILURE;
	}
	if (strcmp(what, "latency") == 0 || strcmp(what, "storm") == 0 || strcmp(what, "bigstorm") == 0) {
		r = bench_sub_new(&sub);
		if (r < 0) {
			fprintf(stderr, "zpcid-bench: cannot subscribe on the system bus: %s\n",
				strerror(-r));
			return EXIT_FAILURE;
		}
	}
	if (strcmp(what, "latency") == 0)
		r = bench_latency(sub, arg_target, arg_load);
	else if (strcmp(what, "storm") == 0)
		r = bench_storm(sub, arg_target, arg_source);
	else if (strcmp(what, "bigstorm") == 0)
		r = bench_bigstorm(sub, arg_target);
	else if (strcmp(what, "scale") == 0)
		r = bench_scale();
	else if (strcmp(what, "idle") == 0)
		r = bench_idle();
	else if (strcmp(what, "stall") == 0)
		r = strcmp(arg_source, "history") == 0 ? stall_history() : stall_kmsg(arg_target);
	else {
		help();
		return EXIT_FAILURE;
	}
	bench_sub_free(sub);
	if (r < 0)
		fprintf(stderr, "zpcid-bench: %s failed: %s\n", what, strerror(-r));
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
