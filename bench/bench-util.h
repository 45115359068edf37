/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * bench-util: what the benchmark programs share — clocks, starting a
 * process under umockdev's preload with a notification socket of its own
 * (READY=1 is timed), what /proc says about a process (CPU time, RSS,
 * context switches), order statistics, a D-Bus subscriber thread that
 * timestamps every ErrorReported signal it receives, and a journal reader
 * that collects a process's event records with journald's timestamps.
 *
 * It measures; it decides nothing. Every function returns 0 (or a
 * documented non-negative value) or -errno.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* Sleep for @usec microseconds (restarted on EINTR). */
void bench_sleep_us(uint64_t usec);

/* ---- processes ---------------------------------------------------------- */

typedef struct BenchProc {
	pid_t pid;
	int notify_fd;     /* bound datagram socket, $NOTIFY_SOCKET of the child */
	char dir[64];      /* private temporary directory (socket, state, runtime) */
	uint64_t start_ns; /* just before fork() */
	uint64_t ready_ns; /* READY=1 received, 0 before */
} BenchProc;

/* The next bench_spawn*() moves the files of @dir into the new state
 * directory before the program starts (a pre-built history); NULL: none. */
void bench_set_state_seed(const char *dir);

/* Start @argv (argv[0] is the path) with stdout and stderr appended to
 * @log_path, under umockdev's preload when @preload, with STATE_DIRECTORY,
 * RUNTIME_DIRECTORY and NOTIFY_SOCKET pointing into a private temporary
 * directory and without a watchdog. Returns the pid (> 0) or -errno. */
pid_t bench_spawn(BenchProc *p, const char *const *argv, bool preload, const char *log_path);

/* Start @argv like bench_spawn() without the preload, in a mount namespace
 * of its own in which @testbed/sys is bind-mounted over /sys and
 * @testbed/dev/kmsg (the device world's kmsg FIFO) over /dev/kmsg: the same
 * recorded tree, reached with plain system calls instead of through the
 * emulator. Needs root. Returns the pid (> 0) or -errno; when a mount fails
 * the child exits 127 with the reason in @log_path. With
 * $ZPCID_BENCH_NATIVE_PRELOAD the child runs with that LD_PRELOAD; with
 * $ZPCID_BENCH_WRAP ("valgrind --tool=callgrind ...", split at spaces) it
 * runs under that command. */
pid_t bench_spawn_native(BenchProc *p, const char *const *argv, const char *testbed, const char *log_path);

/* Wait until the child sent READY=1. Returns 0, -ETIMEDOUT, or -ESRCH when
 * it exited first. */
int bench_wait_ready(BenchProc *p, unsigned timeout_ms);

/* SIGTERM the child and reap it (SIGKILL after @timeout_ms). Returns its
 * wait status (>= 0) or -ETIMEDOUT when it had to be killed. */
int bench_stop(BenchProc *p, unsigned timeout_ms);

/* Remove the child's temporary directory. Accepts a zeroed BenchProc. */
void bench_proc_done(BenchProc *p);

/* The child's state directory (a buffer of at least 128 bytes). */
void bench_proc_state_dir(const BenchProc *p, char *buf, size_t size);

typedef struct BenchSample {
	uint64_t cpu_ns;    /* run time of all threads, from /proc/PID/task/TID/schedstat */
	uint64_t rss_kib;   /* VmRSS */
	uint64_t hwm_kib;   /* VmHWM: peak RSS */
	uint64_t ctxt;      /* voluntary + involuntary context switches of all threads */
	unsigned n_threads; /* threads seen */
} BenchSample;

/* Read what /proc says about @pid now. Returns 0 or -errno. */
int bench_sample(pid_t pid, BenchSample *ret);

/* ---- order statistics ---------------------------------------------------- */

typedef struct BenchStats {
	size_t n;
	double min, p50, p99, max, mean;
} BenchStats;

/* Sort @v (n values) in place and fill @ret; nearest-rank percentiles.
 * With n == 0 everything is 0. */
void bench_stats(double *v, size_t n, BenchStats *ret);

/* ---- the D-Bus subscriber ------------------------------------------------ */

typedef struct BenchSignal {
	uint64_t seq;
	uint32_t fid;
	uint64_t t_ns; /* receive time, CLOCK_MONOTONIC */
} BenchSignal;

typedef struct BenchSub BenchSub;

/* Connect to the system bus ($DBUS_SYSTEM_BUS_ADDRESS), subscribe to
 * org.zpcid1.Manager.ErrorReported on /org/zpcid1 and start a thread that
 * records every signal: kind "error" records with their receive time, kind
 * "summary" records are summed up (their count). Returns 0 or -errno. */
int bench_sub_new(BenchSub **ret);

/* Stop the thread and free. Accepts NULL, returns NULL. */
BenchSub *bench_sub_free(BenchSub *s);

/* Count error signals of FIDs in [@lo, @hi] as "watched". */
void bench_sub_watch(BenchSub *s, uint32_t lo, uint32_t hi);

/* Wait until at least @n watched error signals were received; *ret (if
 * given) is the last of them. Returns 0 or -ETIMEDOUT. */
int bench_sub_wait_watched(BenchSub *s, uint64_t n, unsigned timeout_ms, BenchSignal *ret);

/* Totals so far: error signals and the sum of the summaries' counts. */
void bench_sub_totals(BenchSub *s, uint64_t *ret_errors, uint64_t *ret_summarised, uint64_t *ret_summaries);

/* Forget everything received so far (totals and watched count). */
void bench_sub_reset(BenchSub *s);

/* ---- the journal ---------------------------------------------------------- */

typedef struct BenchJournal {
	uint64_t *seq;  /* ZPCID_SEQ of each error record */
	uint64_t *mono; /* its __MONOTONIC_TIMESTAMP (µs) */
	size_t n_errors;
	uint64_t summarised; /* sum of ZPCID_COUNT of the summary records */
	size_t n_summaries;
} BenchJournal;

/* Read the local journal's records of process @pid (ZPCID_KIND error and
 * summary), re-reading until @expect error + summarised records were seen
 * or @timeout_ms passed. Returns 0 or -errno (not reaching @expect is not
 * an error: compare the counts). */
int bench_journal_collect(pid_t pid, uint64_t expect, unsigned timeout_ms, BenchJournal *ret);

/* The __MONOTONIC_TIMESTAMP of error record @seq, 0 when absent (the
 * records must have been collected in seq order, as a process writes them). */
uint64_t bench_journal_mono_of(const BenchJournal *j, uint64_t seq);

void bench_journal_done(BenchJournal *j);
