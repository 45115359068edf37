/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * spawn: runs external commands (the alert hook, the action helper) without
 * ever blocking the event loop.
 *
 * A command is started with posix_spawn() in a process group of its own,
 * with stdin from /dev/null, stdout sent to stderr (the daemon's journal
 * stream), every other descriptor closed, default signal handling and the
 * environment the caller gives. At most max_running commands run at once;
 * further ones wait in a FIFO of max_queued entries; a submission beyond
 * that is refused (-ENOBUFS) and counted, and the caller reports it.
 *
 * A command still running after timeout_usec gets SIGTERM (its whole process
 * group), and SIGKILL kill_grace_usec later. When a command ends, by itself
 * or at its timeout, whatever is left in its process group gets SIGKILL
 * before the command is reaped: nothing it started in the background
 * outlives it (a process that leaves the group on purpose, setsid(), is
 * the service manager's to end, KillMode=control-group). Exits are noticed
 * through a pidfd watched by the loop; no work happens in signal context.
 *
 * spawner_submit_full() adds what a helper of the daemon needs: a
 * descriptor handed to the command as its fd 3 (the vfio device of a
 * reset), its stdout read back into the outcome (its result), and a hard
 * timeout: SIGKILL to the group at once and the timeout reported then, not
 * when the kernel lets the process go (a write or ioctl it is blocked in
 * may hold it); such a process keeps its slot until it is reaped.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>

#include "common/macro.h"

typedef struct Spawner Spawner;

typedef enum SpawnResult {
	SPAWN_DONE,      /* exited with status 0 */
	SPAWN_FAILED,    /* could not start, exited non-zero or died of a signal */
	SPAWN_TIMEOUT,   /* killed at its timeout */
	SPAWN_CANCELLED, /* never finished: the spawner was freed */
	_SPAWN_RESULT_MAX,
} SpawnResult;

typedef struct SpawnOutcome {
	SpawnResult result;
	int error;       /* -errno when it could not be started, else 0 */
	int exit_status; /* when it exited */
	int signal;      /* when it was killed by a signal (0 otherwise) */
	pid_t pid;       /* 0 when never started */
	uint64_t duration_usec;
	const char *output; /* SpawnOptions.capture_stdout: what it wrote (NUL-terminated), else NULL */
	size_t output_size; /* bytes in output (at most SPAWN_OUTPUT_MAX; more is discarded) */
} SpawnOutcome;

/* Called on the loop when a command finished; also with SPAWN_CANCELLED for
 * every queued or running command when the spawner is freed. */
typedef void (*spawn_done_fn)(const SpawnOutcome *o, void *userdata);

typedef struct SpawnLimits {
	unsigned max_running;     /* default 4 */
	unsigned max_queued;      /* default 64 */
	uint64_t timeout_usec;    /* default 30 s */
	uint64_t kill_grace_usec; /* SIGTERM → SIGKILL; default 5 s */
} SpawnLimits;

#define SPAWN_LIMITS_DEFAULT                               \
	((SpawnLimits){ .max_running = 4,                  \
			.max_queued = 64,                  \
			.timeout_usec = 30 * USEC_PER_SEC, \
			.kill_grace_usec = 5 * USEC_PER_SEC })

typedef struct SpawnStats {
	uint64_t started, done, failed, timeouts, overflows;
} SpawnStats;

#define SPAWN_OUTPUT_MAX 4096

typedef struct SpawnOptions {
	int fd3;              /* given to the command as fd 3 (the spawner owns it from the
			       * call on and closes it once the command started); -EBADF: none */
	bool capture_stdout;  /* its stdout is a pipe read into SpawnOutcome.output */
	bool kill_at_timeout; /* at the timeout: SIGKILL (whole group) and SPAWN_TIMEOUT reported
			       * at once; the process keeps its slot until it is reaped */
} SpawnOptions;

#define SPAWN_OPTIONS_DEFAULT ((SpawnOptions){ .fd3 = -EBADF })

/* Name of a result: "done", "failed", "timeout", "cancelled". */
const char *spawn_result_to_string(SpawnResult r);

/* Create a spawner on @base with @limits (NULL: defaults). Returns 0, -EINVAL or -ENOMEM. */
int spawner_new(Spawner **ret, struct event_base *base, const SpawnLimits *limits);

/* Kill (SIGKILL, whole group) and reap every running command, cancel the
 * queued ones (their callbacks run with SPAWN_CANCELLED). Accepts NULL, returns NULL. */
Spawner *spawner_free(Spawner *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Spawner *, spawner_free);

/* Run @argv (argv[0] a path, or a name looked up in $PATH of @envp's
 * caller) with environment @envp (both NULL-terminated, copied). @done runs
 * on the loop when it finished, never from within this call. Returns 0 when
 * started or queued, -ENOBUFS when the queue is full (counted in
 * overflows; @done is not called), -EINVAL or -ENOMEM. */
int spawner_submit(Spawner *s, const char *const *argv, const char *const *envp, spawn_done_fn done,
		   void *userdata);

/* spawner_submit() with @opts (NULL: SPAWN_OPTIONS_DEFAULT). @opts->fd3 is
 * the spawner's from this call on, whatever it returns. */
int spawner_submit_full(Spawner *s, const char *const *argv, const char *const *envp,
			const SpawnOptions *opts, spawn_done_fn done, void *userdata);

/* Watch child @pid of this process on @base: @cb runs (on the loop) when it
 * may have exited — the callback reaps it with waitpid(WNOHANG) and ignores
 * a 0 return. Uses a pidfd; where the kernel (or valgrind) has no
 * pidfd_open(), polls every SPAWN_POLL_USEC instead. Sets *@ret_pidfd
 * (-EBADF when polling; the caller closes it) and *@ret_event (the caller
 * frees it). Returns 0 or -errno. */
#define SPAWN_POLL_USEC (20 * USEC_PER_MSEC)
int spawn_watch_child(struct event_base *base, pid_t pid, event_callback_fn cb, void *userdata,
		      int *ret_pidfd, struct event **ret_event);

/* Commands running now / waiting now. */
unsigned spawner_running(const Spawner *s);
unsigned spawner_queued(const Spawner *s);

/* Counters since creation. */
const SpawnStats *spawner_stats(const Spawner *s);
