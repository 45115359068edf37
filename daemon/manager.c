/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "common/time-util.h"
#include "daemon/actions.h"
#include "daemon/adapter-events.h"
#include "daemon/bus.h"
#include "daemon/history.h"
#include "daemon/holder-watch.h"
#include "daemon/kmsg.h"
#include "daemon/machine.h"
#include "daemon/manager.h"
#include "daemon/metrics-file.h"
#include "daemon/ownership.h"
#include "daemon/pipeline.h"
#include "daemon/policy-store.h"
#include "daemon/policy.h"
#include "daemon/recovery-uevent.h"
#include "daemon/registry.h"
#include "daemon/sinks.h"
#include "daemon/syncer.h"
#include "daemon/vfio-function.h"
#include "daemon/vfio.h"

static void handle_signal(Manager *m, int sig)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info(m->log, "Received %s, stopping.", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		manager_exit(m, 0);
		break;
	case SIGHUP:
		(void)manager_reload(m);
		break;
	default:
		break;
	}
}

/* The stop and reload signals wait, blocked, in the signalfd: read them all. */
static void on_signalfd(evutil_socket_t fd, short what, void *userdata)
{
	Manager *m = ASSERT_PTR(userdata);

	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(fd, &si, sizeof(si));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si))
			break; /* EAGAIN: all read */
		handle_signal(m, (int)si.ssi_signo);
	}
}

static void on_watchdog(evutil_socket_t fd, short what, void *userdata)
{
	Manager *m = ASSERT_PTR(userdata);

	(void)sd_notify(false, "WATCHDOG=1");
	(void)m;
}

static char *first_of_list(const char *list)
{
	const char *colon = strchr(list, ':');

	return colon ? strndup(list, (size_t)(colon - list)) : strdup(list);
}

int manager_resolve_directories(const Config *c, char **ret_state, char **ret_runtime)
{
	const char *e;
	_cleanup_free_ char *state = NULL, *runtime = NULL;

	e = getenv("STATE_DIRECTORY");
	state = !isempty(e) ? first_of_list(e) : strdup(c->state_directory);
	e = getenv("RUNTIME_DIRECTORY");
	runtime = !isempty(e) ? first_of_list(e) : strdup(c->runtime_directory);
	if (!state || !runtime)
		return -ENOMEM;

	*ret_state = TAKE_PTR(state);
	*ret_runtime = TAKE_PTR(runtime);
	return 0;
}

static void log_diagnostics(Log *log, int priority, const ConfigDiagnostics *d)
{
	for (size_t i = 0; i < d->n; i++)
		log_fields(log, priority, NULL, NULL, 0, "%s", d->lines[i]);
}

static int effective_level(const Manager *m, const Config *c)
{
	return m->options.log_level >= 0 ? m->options.log_level : c->log_level;
}

static LogTarget effective_target(const Manager *m, const Config *c)
{
	return m->options.log_target >= 0 ? m->options.log_target : c->log_target;
}

static void stop_signals(sigset_t *ret)
{
	sigemptyset(ret);
	sigaddset(ret, SIGTERM);
	sigaddset(ret, SIGINT);
	sigaddset(ret, SIGHUP);
}

/* SIGTERM, SIGINT and SIGHUP stay blocked in every thread and are read from
 * a signalfd on the loop, as sd-event does: no handler runs on whatever
 * thread the kernel picks, and a signal mask that a preloaded library
 * changes behind zpcid's back cannot lose them. Called before any thread is
 * started, so that every thread inherits the mask; children get theirs
 * reset (spawn.c, actions.c). */
static int block_signals(void)
{
	sigset_t set;

	stop_signals(&set);
	return sigprocmask(SIG_BLOCK, &set, NULL) < 0 ? negative_errno() : 0;
}

static int setup_signals(Manager *m)
{
	sigset_t set;

	stop_signals(&set);
	m->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (m->signal_fd < 0)
		return negative_errno();
	m->signal_event = event_new(m->event_base, m->signal_fd, EV_READ | EV_PERSIST, on_signalfd, m);
	if (!m->signal_event)
		return -ENOMEM;
	if (event_add(m->signal_event, NULL) < 0)
		return -EIO;
	return 0;
}

int manager_new(Manager **ret, const ManagerOptions *options)
{
	_cleanup_(manager_freep) Manager *m = NULL;
	_cleanup_(config_diagnostics_done) ConfigDiagnostics diag = {};
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->options = *options;
	m->signal_fd = -1;

	/* Log to the requested target right away, so that configuration errors are seen. */
	r = log_new(&m->log, options->log_target >= 0 ? options->log_target : LOG_TARGET_AUTO,
		    options->log_level >= 0 ? options->log_level : LOG_INFO);
	if (r < 0)
		return r;

	r = config_load(&m->config, options->config_file, options->dropin_dir, options->config_file != NULL,
			&diag);
	if (r < 0) {
		log_diagnostics(m->log, LOG_ERR, &diag);
		return log_error_errno(m->log, r, "Failed to load the configuration: %m");
	}

	log_set_max_level(m->log, effective_level(m, m->config));
	r = log_set_target(m->log, effective_target(m, m->config));
	if (r < 0)
		return r;

	r = manager_resolve_directories(m->config, &m->state_directory, &m->runtime_directory);
	if (r < 0)
		return r;

	r = block_signals();
	if (r < 0)
		return log_error_errno(m->log, r, "Failed to block the stop and reload signals: %m");
	m->event_base = event_base_new();
	if (!m->event_base)
		return -ENOMEM;
	m->function_context = (FunctionContext){ .log = m->log, .event_base = m->event_base };

	*ret = TAKE_PTR(m);
	return 0;
}

static int setup_watchdog(Manager *m)
{
	uint64_t usec = 0;
	struct timeval tv;
	int r;

	r = sd_watchdog_enabled(false, &usec);
	if (r < 0)
		return log_warning_errno(m->log, r, "Failed to parse $WATCHDOG_USEC, ignoring: %m"), 0;
	if (r == 0 || usec == 0)
		return 0;

	m->watchdog_usec = usec;
	m->watchdog_event = event_new(m->event_base, -1, EV_PERSIST, on_watchdog, m);
	if (!m->watchdog_event)
		return -ENOMEM;
	tv = (struct timeval){ .tv_sec = (time_t)(usec / 2 / USEC_PER_SEC),
			       .tv_usec = (suseconds_t)(usec / 2 % USEC_PER_SEC) };
	if (event_add(m->watchdog_event, &tv) < 0)
		return -EIO;
	log_debug(m->log, "Watchdog enabled, pinging every %llu µs.", (unsigned long long)usec / 2);
	return 0;
}

void manager_update_status(Manager *m)
{
	/* The function count comes from the registry (daemon/registry.h). */
	(void)sd_notifyf(false, "STATUS=Running; %zu zPCI function(s); config %s; %u reload(s), %u failed",
			 registry_count(m->registry),
			 m->config->files && m->config->files[0] ? m->config->files[0] : "(defaults)",
			 m->n_reloads, m->n_failed_reloads);
}

/* ---- the event core: history, policy, actions ---------------------------- */

static void on_action_event(void *userdata, uint32_t fid, ZpciEvent *e)
{
	Manager *m = ASSERT_PTR(userdata);

	(void)pipeline_defer(m->pipeline, m->registry ? registry_get_by_fid(m->registry, fid) : NULL, e);
}

/* An action the policy decided but that is not run: recorded as an event of its own. */
static void record_held_action(Pipeline *p, ZpciFunction *f, const ZpciEvent *trigger,
			       const PolicyDecidedAction *a)
{
	ZpciEvent e = { .kind = EVENT_ACTION, .sources = EVENT_SOURCE_DAEMON };

	(void)snprintf(e.action, sizeof(e.action), "%s", action_type_to_string(a->action));
	(void)snprintf(e.result, sizeof(e.result), "%s",
		       a->verdict == POLICY_VERDICT_POSTPONED ? "postponed" : "not-supported");
	(void)snprintf(e.rule, sizeof(e.rule), "%s", a->rule);
	(void)snprintf(e.detail, sizeof(e.detail), "%s (%s)", a->detail, policy_hold_to_string(a->hold));
	if (trigger->has & EVENT_HAS_PEC) {
		e.pec = trigger->pec;
		e.has |= EVENT_HAS_PEC;
	}
	(void)pipeline_defer(p, f, &e);
}

/* The pipeline's decider: the policy, and the actions it starts. */
static void apply_policy(void *userdata, Pipeline *p, ZpciFunction *f, const ZpciEvent *e)
{
	Manager *m = ASSERT_PTR(userdata);
	PolicyDecision d;
	int r;

	if (!m->policy)
		return;
	/* An adapter event concerns no one function: the policy decides it on
	 * the adapter's first function (daemon/adapter-events.h). */
	if (!f)
		f = adapter_events_policy_function(m->adapter_events, e);
	if (!f)
		return;
	r = policy_evaluate(m->policy, m->policy_state, f, e, e->time_usec,
			    adapter_events_holds(m->adapter_events, f, e->monotonic_usec)
				    ? POLICY_EVALUATE_ADAPTER_HELD
				    : 0,
			    &d);
	if (r < 0) {
		log_warning_errno(m->log, r,
				  "Failed to evaluate the policy for event %" PRIu64 ", ignoring: %m",
				  e->seq);
		return;
	}
	manager_policy_state_changed(m);

	for (size_t i = 0; i < d.n_actions; i++) {
		const PolicyDecidedAction *a = &d.actions[i];
		ActionRequest req;

		if (a->action == ACTION_LOG)
			continue; /* the journal record was written already */
		if (a->verdict == POLICY_VERDICT_POSTPONED || a->verdict == POLICY_VERDICT_UNAVAILABLE) {
			record_held_action(p, f, e, a);
			continue;
		}
		if (!m->actions)
			continue;
		action_request_init(&req, a->action, f, e, a->rule);
		req.dry_run = a->verdict == POLICY_VERDICT_DRY_RUN;
		r = actions_submit(m->actions, &req);
		if (r < 0)
			log_warning_errno(m->log, r, "PCI function 0x%08x: failed to start action %s: %m",
					  f->attrs.fid, action_type_to_string(a->action));
	}
}

static void configure_coalescing(Manager *m)
{
	pipeline_set_coalesce(m->pipeline,
			      m->config->coalesce_burst > 0 ? (unsigned)m->config->coalesce_burst : 0,
			      m->config->coalesce_interval_usec);
}

int manager_setup_pipeline(Manager *m)
{
	int r;

	r = pipeline_new(&m->pipeline, m->event_base, m->log);
	if (r < 0)
		return r;
	m->function_context.pipeline = m->pipeline;
	if (m->config)
		configure_coalescing(m);
	pipeline_set_decider(m->pipeline, apply_policy, m);
	pipeline_set_drains(m->pipeline, function_drains_errors_since);
	/* The history first: it is the durable record of what the journal shows. */
	if (m->history) {
		r = pipeline_add_sink(m->pipeline, &sink_history, m->history);
		if (r < 0)
			return r;
	}
	r = pipeline_add_sink(m->pipeline, &sink_journal, m->log);
	if (r < 0)
		return r;
	if (m->actions) {
		r = pipeline_add_sink(m->pipeline, &sink_actions, m->actions);
		if (r < 0)
			return r;
	}
	return 0;
}

static int on_vfio_reset_prepare(void *userdata, uint32_t fid)
{
	Manager *m = ASSERT_PTR(userdata);
	ZpciFunction *f = m->registry ? registry_get_by_fid(m->registry, fid) : NULL;
	int fd;

	if (!f || !f->vfio)
		return -ENODEV;
	/* Whatever the kernel queued before the reset is read first: a reset does
	 * not clear the queue, but nothing drained must be lost either way. */
	(void)function_vfio_drain(f);
	if (!f->vfio)
		return -ENODEV;
	fd = fcntl(vfio_device_fd(f->vfio), F_DUPFD_CLOEXEC, 3);
	return fd < 0 ? -errno : fd;
}

static const ActionsOps actions_ops = {
	.emit = on_action_event,
	.vfio_reset_prepare = on_vfio_reset_prepare,
};

static void policy_state_saved(Manager *m, int r)
{
	if (r < 0) {
		if (!m->policy_state_save_failed)
			log_warning_errno(m->log, r, "Failed to save the policy state to %s, retrying: %m",
					  m->state_directory);
		m->policy_state_save_failed = true;
		m->policy_state_hash = 0;        /* written or not, the retry writes */
		manager_policy_state_changed(m); /* the retry */
	} else if (m->policy_state_save_failed) {
		log_info(m->log, "Saved the policy state to %s again.", m->state_directory);
		m->policy_state_save_failed = false;
	}
}

static void on_policy_state_written(int result, void *userdata)
{
	policy_state_saved(ASSERT_PTR(userdata), result);
}

/* The state is serialised here, on the loop; the write and its fsync()s
 * run on the syncer. */
static void on_policy_state_timer(evutil_socket_t fd, short what, void *userdata)
{
	Manager *m = ASSERT_PTR(userdata);
	int r;

	/* What no longer matters (empty buckets, ladders reset, cooldowns
	 * past) is dropped before each save: the state stays as large as
	 * the functions with something going on. */
	policy_state_gc(m->policy_state, m->policy, now_usec(CLOCK_REALTIME));
	r = policy_store_save_async(m->state_directory, m->policy_state, m->syncer, &m->policy_state_hash,
				    on_policy_state_written, m);
	if (r < 0)
		policy_state_saved(m, r);
}

void manager_policy_state_changed(Manager *m)
{
	const struct timeval tv = { .tv_sec = 1 };

	if (m->policy_state_timer && !evtimer_pending(m->policy_state_timer, NULL))
		(void)evtimer_add(m->policy_state_timer, &tv);
}

/* ---- what the daemon does at the registry's fixed points ---------------- */

static FunctionMode choose_mode(void *userdata, ZpciFunction *f)
{
	Manager *m = ASSERT_PTR(userdata);

	return m->policy ? policy_choose_mode(m->policy, f) : FUNCTION_MODE_OBSERVE;
}

static void on_function_unbound(void *userdata, ZpciFunction *f)
{
	Manager *m = ASSERT_PTR(userdata);

	actions_cancel_confirmation(m->actions, f->attrs.fid, "the function was unbound from its driver");
}

static void on_function_dropping(void *userdata, ZpciFunction *f, bool gone)
{
	Manager *m = ASSERT_PTR(userdata);

	pipeline_forget_function(m->pipeline, f);
	if (!gone)
		return;
	actions_cancel_confirmation(m->actions, f->attrs.fid, "the function went away");
	/* Gone from the bus: its rate buckets and ladders go too. */
	if (m->policy_state) {
		policy_state_forget(m->policy_state, f->attrs.fid);
		manager_policy_state_changed(m);
	}
}

static void on_uevents_settled(void *userdata)
{
	manager_update_status(ASSERT_PTR(userdata));
}

static const RegistryHooks manager_registry_hooks = {
	.unbound = on_function_unbound,
	.dropping = on_function_dropping,
	.settled = on_uevents_settled,
};

/* The registry, the ownership that decides in its hooks (first: a
 * function's device goes back before anything else is done with it gone),
 * the recovery uevents, then the daemon's own hooks. Nothing is read yet. */
static int manager_setup_registry(Manager *m)
{
	int r;

	r = registry_new(&m->registry, &(RegistryOptions){ .log = m->log,
							   .event_base = m->event_base,
							   .context = &m->function_context });
	if (r < 0)
		return r;
	adapter_events_set_registry(m->adapter_events, m->registry);
	r = ownership_new(&m->ownership, &(OwnershipOptions){ .log = m->log,
							      .registry = m->registry,
							      .choose_mode = choose_mode,
							      .userdata = m });
	if (r < 0)
		return r;
	r = recovery_uevents_new(&m->recovery, m->registry, m->pipeline, m->log);
	if (r < 0)
		return r;
	return registry_add_hooks(m->registry, &manager_registry_hooks, m);
}

static int make_state_directory(Manager *m)
{
	if (mkdir(m->state_directory, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static ActionsConfig actions_config(const Manager *m)
{
	ActionsConfig c = ACTIONS_CONFIG_DEFAULT;

	c.state_directory = m->state_directory;
	c.timeout_usec = m->config->actions.timeout_usec;
	c.confirm_timeout_usec = m->config->actions.confirm_timeout_usec;
	c.max_running = (unsigned)m->config->actions.max_running;
	c.dry_run = m->config->policy && m->config->policy->dry_run;
	c.alert_command = (const char *const *)m->config->actions.alert_command;
	c.alert_limits.timeout_usec = m->config->actions.alert_timeout_usec;
	c.alert_limits.max_running = (unsigned)m->config->actions.alert_max_running;
	c.alert_limits.max_queued = (unsigned)m->config->actions.alert_max_queued;
	return c;
}

static int manager_setup_actions(Manager *m)
{
	ActionsConfig c = actions_config(m);

	return actions_new(&m->actions, m->event_base, m->log, &c, &actions_ops, m);
}

static int manager_setup_core(Manager *m)
{
	HistoryLimits limits = HISTORY_LIMITS_DEFAULT;
	int r;

	r = make_state_directory(m);
	if (r < 0)
		log_warning_errno(m->log, r, "Failed to create the state directory %s: %m",
				  m->state_directory);

	r = syncer_new(&m->syncer, m->event_base);
	if (r < 0)
		return log_error_errno(m->log, r, "Failed to set up the state writer: %m");

	/* The history: every event, durable across a kill. Without it zpcid still
	 * monitors and logs, but says loudly that nothing is kept. */
	limits.max_file_size = (uint64_t)m->config->history.max_file_size;
	limits.max_files = (unsigned)m->config->history.max_files;
	r = history_open(&m->history, m->state_directory, &limits, m->log);
	if (r == -EBUSY)
		return log_error_errno(m->log, r, "Another zpcid uses the state directory %s: %m",
				       m->state_directory);
	if (r < 0)
		log_error_errno(m->log, r, "Failed to open the event history in %s, events are not kept: %m",
				m->state_directory);
	else {
		r = sink_journal_replay_unjournaled(m->log, m->history);
		if (r < 0)
			log_warning_errno(m->log, r,
					  "Failed to check the journal for the newest event, ignoring: %m");
		r = history_attach_event(m->history, m->event_base, m->syncer);
		if (r < 0)
			return log_error_errno(m->log, r, "Failed to set up the history's sync timer: %m");
	}

	m->policy = policy_ref(m->config->policy);
	r = policy_store_load(m->state_directory, &m->policy_state);
	if (r == -ENOMEM)
		return log_oom(m->log);
	if (r < 0)
		log_warning_errno(m->log, r, "Failed to read the saved policy state, starting afresh: %m");
	if (m->policy_state)
		policy_state_gc(m->policy_state, m->policy, now_usec(CLOCK_REALTIME));
	m->policy_state_timer = evtimer_new(m->event_base, on_policy_state_timer, m);
	if (!m->policy_state_timer)
		return log_oom(m->log);

	r = manager_setup_actions(m);
	if (r < 0)
		return log_error_errno(m->log, r, "Failed to set up the action runner: %m");

	r = manager_setup_pipeline(m);
	if (r < 0)
		return log_oom(m->log);
	/* Adapter correlation: a sink that sees the function updated, before
	 * the decider, so that the hold it opens covers the event's decision. */
	r = adapter_events_new(
		&m->adapter_events,
		&(AdapterEventsOptions){ .log = m->log, .pipeline = m->pipeline, .config = m->config });
	if (r >= 0)
		r = pipeline_add_sink(m->pipeline, &sink_adapter_events, m->adapter_events);
	if (r < 0)
		return log_oom(m->log);
	if (m->history)
		pipeline_set_next_seq(m->pipeline, history_last_seq(m->history) + 1);
	return 0;
}

/* A function named by a kernel log line: by FID, else by slot. */
static ZpciFunction *lookup_function(void *userdata, bool has_fid, uint32_t fid, const char *slot)
{
	Registry *r = ASSERT_PTR(userdata);
	ZpciFunction *f = NULL;

	if (has_fid)
		f = registry_get_by_fid(r, fid);
	if (!f && !isempty(slot))
		f = registry_get_by_slot(r, slot);
	return f;
}

static int manager_setup_kmsg(Manager *m)
{
	const KmsgSourceConfig c = {
		.kmsg_path = KMSG_DEFAULT_PATH,
		.boot_id_path = KMSG_BOOT_ID_PATH,
		.state_directory = m->state_directory,
		.event_base = m->event_base,
		.log = m->log,
		.pipeline = m->pipeline,
		.lookup = lookup_function,
		.lookup_userdata = m->registry,
		.history = m->history,
		.syncer = m->syncer,
	};

	return kmsg_source_new(&m->kmsg, &c);
}

/* The resolver asks machined on the bus of the API, read when it asks: the
 * bus may be gone or broken by then. */
static sd_bus *machine_bus_connection(void *userdata)
{
	Manager *m = ASSERT_PTR(userdata);

	return bus_connection(m->bus);
}

static void machine_bus_kick(void *userdata)
{
	Manager *m = ASSERT_PTR(userdata);

	bus_kick(m->bus);
}

static int bus_reload(void *userdata)
{
	return manager_reload(ASSERT_PTR(userdata));
}

/* The system bus went away under a running zpcid (dbus-daemon restarted or
 * killed). Its clients, delegated owners among them, lost their
 * connections too, and what zpcid published there is gone: stop in order
 * (held records recorded, the history synced, owned devices drained and
 * closed) and fail, so that the service manager starts zpcid again
 * (Restart=on-failure) with a new connection, its objects and its name. */
static void bus_lost(void *userdata, int error)
{
	Manager *m = ASSERT_PTR(userdata);

	if (m->stopping) {
		/* stopping anyway: the bus going first does not make it a failure */
		log_debug_errno(m->log, error, "Lost the connection to the system bus while stopping: %m");
		return;
	}
	log_error_errno(m->log, error,
			"Lost the connection to the system bus: %m. Stopping, to be started again with a "
			"new connection.");
	manager_exit(m, EXIT_FAILURE);
}

/* The figures of the metrics file that only the daemon as a whole knows. */
static void metrics_daemon_figures(void *userdata, MetricsSnapshot *s)
{
	Manager *m = ASSERT_PTR(userdata);

	if (m->actions) {
		s->has_inhibitors = true;
		s->n_inhibitors = inhibit_count(actions_inhibitors(m->actions));
	}
	if (m->kmsg) {
		s->has_kmsg = true;
		s->kmsg_missed = kmsg_source_n_missed(m->kmsg);
	}
	s->has_loop_stall = true;
	s->loop_stall_max_usec = m->loop_stall_max_usec;
}

int manager_start(Manager *m)
{
	int r;

	/* Signals: read from a signalfd, as ordinary events on the loop. */
	r = setup_signals(m);
	if (r < 0)
		return log_error_errno(m->log, r, "Failed to set up signal handling: %m");
	(void)signal(SIGPIPE, SIG_IGN);

	r = setup_watchdog(m);
	if (r < 0)
		return log_error_errno(m->log, r, "Failed to set up the watchdog: %m");

	{
		_cleanup_free_ char *f_state = NULL, *f_runtime = NULL;
		const char *fields[4] = { "ZPCID_VERSION=" PACKAGE_VERSION };

		if (asprintf(&f_state, "ZPCID_STATE_DIRECTORY=%s", m->state_directory) < 0 ||
		    asprintf(&f_runtime, "ZPCID_RUNTIME_DIRECTORY=%s", m->runtime_directory) < 0)
			return log_oom(m->log);
		fields[1] = f_state;
		fields[2] = f_runtime;
		log_fields(m->log, LOG_INFO, MESSAGE_ID_DAEMON_STARTED, fields, 3,
			   "zpcid %s started (state %s, runtime %s).", PACKAGE_VERSION, m->state_directory,
			   m->runtime_directory);
	}
	r = manager_setup_core(m);
	if (r < 0)
		return r;

	/* The function registry: udev monitor, then enumeration (daemon/registry.h). */
	r = manager_setup_registry(m);
	if (r < 0)
		return log_oom(m->log);
	r = registry_start(m->registry);
	if (r < 0)
		return log_error_errno(m->log, r, "Failed to watch PCI devices: %m");

	/* A new holder as it opens a function's vfio device (daemon/holder-watch.h).
	 * Without it holders are found at uevents and reloads only: not fatal. */
	r = holder_watch_new(&m->holder_watch,
			     &(HolderWatchOptions){ .log = m->log, .event_base = m->event_base });
	if (r >= 0)
		r = holder_watch_attach(m->holder_watch, m->registry);
	if (r == -ENOMEM)
		return log_oom(m->log);
	if (r < 0) {
		log_warning_errno(m->log, r,
				  "Failed to watch the vfio nodes, new holders are found at uevents and "
				  "reloads only: %m");
		m->holder_watch = holder_watch_free(m->holder_watch);
	}

	/* The kernel log, after the registry so its lines find their functions
	 * (daemon/kmsg.h). Without it the uevents remain: not fatal. */
	r = manager_setup_kmsg(m);
	if (r < 0)
		return log_oom(m->log);
	r = kmsg_source_start(m->kmsg);
	if (r < 0) {
		log_warning_errno(m->log, r, "Failed to read the kernel log %s, continuing without it: %m",
				  KMSG_DEFAULT_PATH);
		m->kmsg = kmsg_source_free(m->kmsg);
	}

	/* The D-Bus API, after the registry whose changes it publishes and
	 * before READY=1. Without a system bus zpcid still monitors; a second
	 * zpcid owning the name is an error. */
	r = bus_new(&m->bus, &(BusDeps){
				     .event_base = m->event_base,
				     .log = m->log,
				     .registry = m->registry,
				     .ownership = m->ownership,
				     .history = m->history,
				     .actions = m->actions,
				     .adapter_events = m->adapter_events,
				     .config = &m->config,
				     .policy = &m->policy,
				     .loop_stall_max_usec = &m->loop_stall_max_usec,
				     .reload = bus_reload,
				     .lost = bus_lost,
				     .userdata = m,
			     });
	if (r == -EEXIST)
		return log_error_errno(m->log, r, "Another process owns the bus name org.zpcid1: %m");
	if (r < 0)
		log_warning_errno(m->log, r, "Failed to set up the D-Bus API, continuing without it: %m");
	if (m->bus && pipeline_add_sink(m->pipeline, &sink_bus, m->bus) < 0)
		return log_oom(m->log);

	/* The holders' machines, asked on the bus just set up (daemon/machine.h). */
	r = machine_resolver_new(&m->machine, &(MachineResolverOptions){
						      .log = m->log,
						      .registry = m->registry,
						      .bus_connection = machine_bus_connection,
						      .bus_kick = machine_bus_kick,
						      .bus_userdata = m,
					      });
	if (r < 0)
		return log_oom(m->log);

	/* The metrics textfile, once the functions are known (daemon/metrics-file.h). */
	r = metrics_file_new(&m->metrics, &(MetricsFileOptions){
						  .log = m->log,
						  .event_base = m->event_base,
						  .registry = m->registry,
						  .adapter_events = m->adapter_events,
						  .daemon_figures = metrics_daemon_figures,
						  .userdata = m,
					  });
	if (r >= 0)
		r = metrics_file_configure(m->metrics, m->config->metrics.textfile_directory,
					   m->config->metrics.interval_usec);
	if (r >= 0)
		r = pipeline_add_sink(m->pipeline, &sink_metrics, m->metrics);
	if (r < 0)
		return log_oom(m->log);

	(void)sd_notify(false, "READY=1");
	manager_update_status(m);
	return 0;
}

/* The loop, one iteration at a time, to probe its stalls: the CPU time the
 * thread spends in one iteration is what its callbacks worked while every
 * other source waited (sleeping in epoll costs none, nor does waiting for a
 * CPU on a loaded machine; a blocking syscall on the loop is not seen).
 * One clock read per iteration, at its end: the next one starts there. */
int manager_run(Manager *m)
{
	uint64_t c0 = now_usec(CLOCK_THREAD_CPUTIME_ID);

	for (;;) {
		int r = event_base_loop(m->event_base, EVLOOP_ONCE);
		uint64_t c1, d;

		if (r < 0)
			return log_error_errno(m->log, -EIO, "Event loop failed."), 1;
		c1 = now_usec(CLOCK_THREAD_CPUTIME_ID);
		d = c1 - c0;
		c0 = c1;
		m->loop_iterations++;
		if (d > m->loop_stall_max_usec)
			m->loop_stall_max_usec = d;
		if (d > 10 * USEC_PER_MSEC)
			m->loop_stalls_over_10ms++;
		if (r > 0 || event_base_got_break(m->event_base) || event_base_got_exit(m->event_base))
			break;
	}
	log_debug(m->log,
		  "Event loop: %" PRIu64 " iterations, the longest took %" PRIu64 " us of CPU, %" PRIu64
		  " over 10 ms.",
		  m->loop_iterations, m->loop_stall_max_usec, m->loop_stalls_over_10ms);
	(void)sd_notify(false, "STOPPING=1\nSTATUS=Stopping");
	log_fields(m->log, LOG_INFO, MESSAGE_ID_DAEMON_STOPPED, NULL, 0, "zpcid stopped.");
	return m->exit_code;
}

void manager_exit(Manager *m, int exit_code)
{
	m->stopping = true;
	m->exit_code = exit_code;
	(void)event_base_loopbreak(m->event_base);
}

int manager_reload(Manager *m)
{
	_cleanup_(config_diagnostics_done) ConfigDiagnostics diag = {};
	_cleanup_(config_freep) Config *c = NULL;
	int r;

	(void)sd_notifyf(false, "RELOADING=1\nSTATUS=Reloading configuration\nMONOTONIC_USEC=%" PRIu64,
			 now_usec(CLOCK_MONOTONIC));
	r = config_load(&c, m->options.config_file, m->options.dropin_dir, m->options.config_file != NULL,
			&diag);
	if (r < 0) {
		m->n_failed_reloads++;
		log_diagnostics(m->log, LOG_ERR, &diag);
		errno = -r;
		log_fields(m->log, LOG_ERR, MESSAGE_ID_CONFIG_RELOAD_FAILED, NULL, 0,
			   "Failed to reload the configuration, keeping the running one: %m");
	} else {
		config_free(m->config);
		m->config = TAKE_PTR(c);
		m->n_reloads++;
		log_set_max_level(m->log, effective_level(m, m->config));
		(void)log_set_target(m->log, effective_target(m, m->config));
		log_fields(m->log, LOG_INFO, MESSAGE_ID_CONFIG_RELOADED, NULL, 0, "Configuration reloaded.");
		if (m->pipeline)
			configure_coalescing(m);
		/* the next decision runs (or only records) as the new configuration says */
		if (m->actions)
			actions_set_dry_run(m->actions, m->config->policy && m->config->policy->dry_run);
		if (m->policy) {
			ZpciFunction *f;

			policy_unref(m->policy);
			m->policy = policy_ref(m->config->policy);
			/* The ownership mode of every function may have changed. */
			if (m->registry)
				REGISTRY_FOREACH (f, m->registry)
					(void)registry_refresh(m->registry, f);
		}
		adapter_events_reload(m->adapter_events, m->config);
		bus_manager_changed(m->bus);
		if (m->metrics && metrics_file_configure(m->metrics, m->config->metrics.textfile_directory,
							 m->config->metrics.interval_usec) < 0)
			log_oom(m->log);
	}
	(void)sd_notify(false, "READY=1");
	manager_update_status(m);
	return r;
}

Manager *manager_free(Manager *m)
{
	if (!m)
		return NULL;
	if (m->signal_event)
		event_free(m->signal_event);
	if (m->signal_fd >= 0)
		(void)close(m->signal_fd);
	if (m->watchdog_event)
		event_free(m->watchdog_event);
	/* Actions first (they report into the pipeline), then the sources before
	 * the registry they look functions up in, the history (synced on close)
	 * and the policy state last, all before the loop and the log. Held
	 * kernel-log records before any sink goes. */
	pipeline_release_held(m->pipeline);
	(void)pipeline_remove_sink(m->pipeline, &sink_metrics, m->metrics);
	m->metrics = metrics_file_free(m->metrics); /* writes zpcid_up 0 */
	(void)pipeline_remove_sink(m->pipeline, &sink_actions, m->actions);
	m->actions = actions_free(m->actions);
	m->kmsg = kmsg_source_free(m->kmsg);
	m->recovery = recovery_uevents_free(m->recovery);
	m->machine = machine_resolver_free(m->machine);       /* its calls and matches are on the bus */
	m->holder_watch = holder_watch_free(m->holder_watch); /* unsubscribes from the registry */
	(void)pipeline_remove_sink(m->pipeline, &sink_bus, m->bus);
	m->bus = bus_free(m->bus);                   /* unsubscribes from the registry */
	m->ownership = ownership_free(m->ownership); /* releases the devices held */
	(void)pipeline_remove_sink(m->pipeline, &sink_adapter_events, m->adapter_events);
	m->adapter_events = adapter_events_free(m->adapter_events);
	m->registry = registry_free(m->registry); /* the storm summaries of its functions */
	(void)pipeline_remove_sink(m->pipeline, &sink_history, m->history);
	m->history = history_free(m->history);
	m->pipeline = pipeline_free(m->pipeline);
	m->function_context.pipeline = NULL;
	/* the saves queued before this last one, then this one here */
	m->syncer = syncer_free(m->syncer);
	if (m->policy_state) {
		int r = policy_store_save(m->state_directory, m->policy_state);

		if (r < 0)
			log_warning_errno(m->log, r, "Failed to save the policy state: %m");
	}
	if (m->policy_state_timer)
		event_free(m->policy_state_timer);
	m->policy_state = policy_state_free(m->policy_state);
	m->policy = policy_unref(m->policy);
	if (m->event_base)
		event_base_free(m->event_base);
	config_free(m->config);
	free(m->state_directory);
	free(m->runtime_directory);
	log_free(m->log);
	free(m);
	return NULL;
}
