/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * manager: the one object that owns everything the daemon runs on — the
 * libevent loop, the log, the configuration, signal handling, service
 * manager notification and the watchdog — and, through it, every subsystem.
 * There is no other mutable global state.
 *
 * Life cycle: manager_new() reads the configuration and sets up the log;
 * manager_start() creates every event source and tells the service manager
 * READY=1; manager_run() dispatches until SIGTERM/SIGINT; manager_free()
 * tears everything down. SIGHUP reloads the configuration; a reload that
 * fails keeps the running configuration.
 */

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/messages.h"
#include "daemon/config.h"
#include "daemon/function.h"

typedef struct ManagerOptions {
	const char *config_file; /* NULL: default */
	const char *dropin_dir;  /* NULL: default */
	int log_level;           /* -1: from the configuration */
	LogTarget log_target;    /* _LOG_TARGET_INVALID: from the configuration */
} ManagerOptions;

struct Registry;
struct Ownership;
struct KmsgSource;
struct Bus;
struct Policy;
struct History;
struct Actions;
struct Pipeline;
struct MetricsFile;
struct MachineResolver;
struct AdapterEvents;
struct HolderWatch;

typedef struct Manager {
	struct event_base *event_base;
	Log *log;
	Config *config;
	ManagerOptions options;
	FunctionContext function_context; /* the functions': the log, the loop, the pipeline */

	/* Subsystems, each owned here and created in manager_start(). */
	struct Registry *registry;        /* functions: udev monitor, sysfs, holders */
	struct Ownership *ownership;      /* mode of each function: claims, delegations, vfio */
	struct KmsgSource *kmsg;          /* /dev/kmsg reader */
	struct RecoveryUevents *recovery; /* the kernel's recovery uevents as events */
	struct Bus *bus;                  /* D-Bus API */
	struct Policy *policy;            /* rules, thresholds, ladders, budget */
	struct History *history;          /* persistent event history */
	struct Actions *actions;          /* asynchronous actions (reset, unbind, report, alert) */
	struct Pipeline *pipeline;        /* every event: dedup, coalescing, sinks, policy */
	struct PolicyState *policy_state; /* buckets, ladders, budget: saved to the state directory */
	struct event *policy_state_timer; /* armed while the state has unsaved changes */
	bool policy_state_save_failed;    /* the last save failed (said once, retried) */
	uint64_t policy_state_hash;       /* of the state last queued for saving (0: none) */
	struct Syncer *syncer;            /* fsync()s and state file writes, off the loop */
	struct MetricsFile *metrics;      /* the node_exporter textfile, when configured */
	struct MachineResolver *machine;  /* holders' machines and units (systemd-machined) */
	/* Adapter correlation (daemon/adapter-events.h). */
	struct AdapterEvents *adapter_events;
	struct HolderWatch *holder_watch; /* opens and closes of the functions' vfio nodes */

	char *state_directory;
	char *runtime_directory;

	int signal_fd; /* SIGTERM, SIGINT, SIGHUP: blocked, read here */
	struct event *signal_event;
	struct event *watchdog_event;
	uint64_t watchdog_usec; /* 0: no watchdog */

	unsigned n_reloads, n_failed_reloads;
	bool stopping;
	int exit_code;
	/* The loop's own work per iteration (thread CPU time of its callbacks,
	 * waits for a CPU and in epoll not counted), since manager_run(). */
	uint64_t loop_stall_max_usec;   /* the longest iteration */
	uint64_t loop_iterations;       /* iterations that ran callbacks */
	uint64_t loop_stalls_over_10ms; /* iterations longer than 10 ms */
} Manager;

/* Create a manager: load the configuration (failing on an invalid one) and
 * set up the log. Does not touch any device or bus yet. Returns 0 or -errno;
 * on -EINVAL the diagnostics were already written to @log_fallback's target. */
int manager_new(Manager **ret, const ManagerOptions *options);

/* Create every event source, then send READY=1. Returns 0 or -errno. */
int manager_start(Manager *m);

/* Dispatch events until asked to stop. Returns the exit code (0 on an orderly stop). */
int manager_run(Manager *m);

/* Re-read the configuration; on failure keep the running one and log why.
 * Returns 0 when the new configuration is in force, -errno otherwise. */
int manager_reload(Manager *m);

/* Ask the loop to stop after the current iteration with @exit_code. */
void manager_exit(Manager *m, int exit_code);

/* Send a STATUS= line describing the daemon's state to the service manager. */
void manager_update_status(Manager *m);

/* Create the pipeline (m->pipeline) with the sinks of the subsystems that
 * exist (the journal always) and the policy as its decider. manager_start()
 * calls it; a test that builds parts of a manager may too. Returns 0 or
 * -ENOMEM. */
int manager_setup_pipeline(Manager *m);

/* The policy state changed: save it within a second (not per event). */
void manager_policy_state_changed(Manager *m);

/* Tear down. Accepts NULL, returns NULL. */
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Apply the effective directories: $STATE_DIRECTORY/$RUNTIME_DIRECTORY (first
 * entry of a colon-separated list) win over @c. Returns 0 or -ENOMEM. */
int manager_resolve_directories(const Config *c, char **ret_state, char **ret_runtime);
