/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/pec.h"
#include "common/report-error.h"
#include "common/time-util.h"
#include "daemon/actions.h"
#include "daemon/state-file.h"
#include "daemon/sysfs-write.h"

#define ERR_LOG_ID_FILE "report-error-id"
#define ALERT_PATH      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* A disruptive action run by the helper program. */
typedef struct Job {
	Actions *a;
	ActionRequest req;
} Job;

typedef struct Emit {
	struct Emit *next;
	uint32_t fid;
	ZpciEvent e;
} Emit;

typedef struct Confirm {
	struct Confirm *next;
	Actions *a;
	ActionRequest req;
	struct event *timer;
} Confirm;

typedef struct AlertCtx {
	Actions *a;
	ActionRequest req;
} AlertCtx;

struct Actions {
	struct event_base *base;
	Log *log;
	ActionsOps ops;
	void *userdata;
	ActionsConfig cfg;
	char *sysfs_root, *state_directory, *unbind_override, *unbind_expected_driver, *helper;
	char **alert_command;
	char *err_log_id_path;
	uint64_t last_err_log_id;

	Inhibitors *inhibitors;
	Spawner *spawner; /* alert commands */
	Spawner *helpers; /* the helper program, one per disruptive action */
	ActionRequest *postponed;
	unsigned n_postponed;
	Confirm *confirms;
	Emit *emit_head, *emit_tail;
	struct event *flush_event, *release_event;
	ActionsStats stats;
	bool freeing;
};

static unsigned inhibit_bit(ActionType t)
{
	switch (t) {
	case ACTION_RESET:
	case ACTION_RECOVER:
		return INHIBIT_RESET;
	case ACTION_UNBIND:
		return INHIBIT_UNBIND;
	case ACTION_REPORT_FW_RESET:
	case ACTION_REPORT_DECONFIGURE:
		return INHIBIT_REPORT;
	default:
		return 0;
	}
}

static ReportErrorAction report_action_of(ActionType t)
{
	return t == ACTION_REPORT_FW_RESET      ? REPORT_ERROR_ACTION_FW_RESET
	       : t == ACTION_REPORT_DECONFIGURE ? REPORT_ERROR_ACTION_DECONFIGURE
						: REPORT_ERROR_ACTION_INFO;
}

void action_request_init(ActionRequest *req, ActionType type, const ZpciFunction *f,
			 const ZpciEvent *trigger, const char *rule)
{
	*req = (ActionRequest){ .type = type, .mode = FUNCTION_MODE_OBSERVE };
	if (f) {
		req->fid = f->attrs.fid;
		(void)snprintf(req->slot, sizeof(req->slot), "%s", f->attrs.slot);
		req->mode = f->mode;
	} else if (trigger) {
		req->fid = trigger->fid;
		(void)snprintf(req->slot, sizeof(req->slot), "%s", trigger->slot);
	}
	if (trigger) {
		req->trigger = *trigger;
		req->has_trigger = true;
	}
	if (rule)
		(void)snprintf(req->rule, sizeof(req->rule), "%s", rule);
}

static struct timeval usec_to_tv(uint64_t usec)
{
	return (struct timeval){ .tv_sec = (time_t)(usec / USEC_PER_SEC),
				 .tv_usec = (suseconds_t)(usec % USEC_PER_SEC) };
}

/* ---- result events ---------------------------------------------------- */

static void count_result(Actions *a, ActionResult r)
{
	uint64_t *counter[_ACTION_RESULT_MAX] = {
		[ACTION_RESULT_DONE] = &a->stats.done,
		[ACTION_RESULT_FAILED] = &a->stats.failed,
		[ACTION_RESULT_TIMEOUT] = &a->stats.timeouts,
		[ACTION_RESULT_POSTPONED] = &a->stats.postponed,
		[ACTION_RESULT_DRY_RUN] = &a->stats.dry_runs,
		[ACTION_RESULT_NOT_SUPPORTED] = &a->stats.not_supported,
		[ACTION_RESULT_DROPPED] = &a->stats.dropped,
		[ACTION_RESULT_CONFIRMED] = &a->stats.confirmed,
		[ACTION_RESULT_UNCONFIRMED] = &a->stats.unconfirmed,
		[ACTION_RESULT_NO_CONFIRMATION] = &a->stats.no_confirmation,
		[ACTION_RESULT_CANCELLED] = &a->stats.cancelled,
	};
	assert(r >= 0 && r < _ACTION_RESULT_MAX);
	if (r >= 0 && r < _ACTION_RESULT_MAX)
		(*counter[r])++;
}

void actions_set_dry_run(Actions *a, bool dry_run)
{
	a->cfg.dry_run = dry_run;
}

/* Queue the result event of @req; it is handed to ops->emit() from the loop. */
_printf_(4, 5) static void emit_result(Actions *a, const ActionRequest *req, ActionResult result,
				       const char *format, ...)
{
	Emit *m;
	va_list ap;

	count_result(a, result);
	if (a->freeing)
		return;
	m = calloc(1, sizeof(*m));
	if (!m) {
		(void)log_error(a->log, "Out of memory, result %s of action %s on function 0x%08x lost.",
				action_result_to_string(result), action_type_to_string(req->type), req->fid);
		return;
	}
	m->fid = req->fid;
	m->e.kind = EVENT_ACTION;
	m->e.sources = EVENT_SOURCE_DAEMON;
	m->e.fid = req->fid;
	(void)snprintf(m->e.slot, sizeof(m->e.slot), "%s", req->slot);
	(void)snprintf(m->e.action, sizeof(m->e.action), "%s", action_type_to_string(req->type));
	(void)snprintf(m->e.result, sizeof(m->e.result), "%s", action_result_to_string(result));
	if (req->has_trigger && (req->trigger.has & EVENT_HAS_PEC)) {
		m->e.pec = req->trigger.pec;
		m->e.has |= EVENT_HAS_PEC;
	}
	(void)snprintf(m->e.rule, sizeof(m->e.rule), "%s", req->rule);
	if (req->has_caller) {
		m->e.caller_uid = req->caller_uid;
		m->e.has |= EVENT_HAS_CALLER_UID;
		(void)snprintf(m->e.caller_message, sizeof(m->e.caller_message), "%s", req->caller_message);
	}
	va_start(ap, format);
	(void)vsnprintf(m->e.detail, sizeof(m->e.detail), format, ap);
	va_end(ap);

	if (a->emit_tail)
		a->emit_tail->next = m;
	else
		a->emit_head = m;
	a->emit_tail = m;
	event_active(a->flush_event, EV_TIMEOUT, 0);
}

static void on_flush(evutil_socket_t fd, short what, void *userdata)
{
	Actions *a = ASSERT_PTR(userdata);
	Emit *list = a->emit_head;

	/* Detach first: emitting may submit new actions, which queue anew. */
	a->emit_head = a->emit_tail = NULL;
	while (list) {
		Emit *m = list;

		list = m->next;
		a->ops.emit(a->userdata, m->fid, &m->e);
		free(m);
	}
}

/* ---- confirmation of resets and recovers ------------------------------ */

static Confirm *confirm_free(Confirm *c)
{
	if (c) {
		if (c->timer)
			event_free(c->timer);
		free(c);
	}
	return NULL;
}

static void confirm_remove(Actions *a, Confirm *c)
{
	for (Confirm **p = &a->confirms; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			confirm_free(c);
			return;
		}
}

static Confirm *confirm_find(Actions *a, uint32_t fid)
{
	for (Confirm *c = a->confirms; c; c = c->next)
		if (c->req.fid == fid)
			return c;
	return NULL;
}

static void on_confirm_timeout(evutil_socket_t fd, short what, void *userdata)
{
	Confirm *c = ASSERT_PTR(userdata);
	Actions *a = c->a;
	unsigned long long sec = (unsigned long long)(a->cfg.confirm_timeout_usec / USEC_PER_SEC);

	if (c->req.type == ACTION_RESET)
		emit_result(a, &c->req, ACTION_RESULT_CONFIRMED, "no error within %llu s after the reset",
			    sec);
	else
		emit_result(a, &c->req, ACTION_RESULT_NO_CONFIRMATION, "no recovery reported within %llu s",
			    sec);
	confirm_remove(a, c);
}

static void confirm_add(Actions *a, const ActionRequest *req)
{
	struct timeval tv = usec_to_tv(a->cfg.confirm_timeout_usec);
	Confirm *c = confirm_find(a, req->fid);

	/* A newer reset of the same function supersedes the older wait. */
	if (c)
		confirm_remove(a, c);
	c = calloc(1, sizeof(*c));
	if (!c)
		return (void)log_error(
			a->log, "Out of memory, not waiting for confirmation of function 0x%08x.", req->fid);
	c->a = a;
	c->req = *req;
	c->timer = evtimer_new(a->base, on_confirm_timeout, c);
	if (!c->timer || evtimer_add(c->timer, &tv) < 0) {
		confirm_free(c);
		return (void)log_error(a->log, "Failed to arm the confirmation timer of function 0x%08x.",
				       req->fid);
	}
	c->next = a->confirms;
	a->confirms = c;
}

void actions_observe_event(Actions *a, ZpciFunction *f, const ZpciEvent *e)
{
	Confirm *c;

	if (!a || e->kind == EVENT_ACTION)
		return;
	c = confirm_find(a, e->fid);
	if (!c)
		return;

	if (e->kind == EVENT_RECOVERY && e->recovery == RECOVERY_SUCCESSFUL)
		emit_result(a, &c->req, ACTION_RESULT_CONFIRMED, "the kernel reports a successful recovery");
	else if (e->kind == EVENT_RECOVERY && e->recovery == RECOVERY_FAILED)
		emit_result(a, &c->req, ACTION_RESULT_UNCONFIRMED, "the kernel reports a failed recovery");
	else if (c->req.type == ACTION_RESET && e->kind == EVENT_ERROR && (e->has & EVENT_HAS_PEC) &&
		 (pec_class_of(e->pec) == PEC_CLASS_RECOVERABLE ||
		  pec_class_of(e->pec) == PEC_CLASS_PERMANENT))
		emit_result(a, &c->req, ACTION_RESULT_UNCONFIRMED, "error 0x%04x again after the reset",
			    e->pec);
	else
		return;
	confirm_remove(a, c);
}

void actions_confirm(Actions *a, uint32_t fid, bool ok, const char *detail)
{
	Confirm *c = confirm_find(a, fid);

	if (!c)
		return;
	emit_result(a, &c->req, ok ? ACTION_RESULT_CONFIRMED : ACTION_RESULT_UNCONFIRMED, "%s",
		    strempty(detail));
	confirm_remove(a, c);
}

void actions_cancel_confirmation(Actions *a, uint32_t fid, const char *detail)
{
	Confirm *c;

	if (!a)
		return;
	c = confirm_find(a, fid);
	if (!c)
		return;
	emit_result(a, &c->req, ACTION_RESULT_CANCELLED, "%s", strempty(detail));
	confirm_remove(a, c);
}

/* ---- helper processes for disruptive work ----------------------------- */

static void build_log_data(const ActionRequest *req, char *buf, size_t size)
{
	ZpciEvent t = req->trigger;
	int n;

	if (req->has_trigger)
		event_format_message(&t);
	n = snprintf(buf, size, "zpcid %s: %s on function 0x%08x", PACKAGE_VERSION,
		     action_type_to_string(req->type), req->fid);
	if (n < 0 || (size_t)n >= size)
		return;
	if (req->has_trigger && (t.has & EVENT_HAS_PEC))
		n += snprintf(buf + n, size - (size_t)n, ", PEC 0x%04x (%s)", t.pec,
			      pec_lookup(t.pec)->name);
	if ((size_t)n < size && req->has_trigger)
		n += snprintf(buf + n, size - (size_t)n, ", event %" PRIu64 ": %s", t.seq, t.message);
	if ((size_t)n < size && req->rule[0])
		(void)snprintf(buf + n, size - (size_t)n, ", rule %s", req->rule);
}

/* Parse the helper's result line ("result=<r> detail=<text>\n", see
 * action-helper.c). Returns false when there is none. */
static bool parse_helper_output(const SpawnOutcome *o, int *ret_r, char *detail, size_t size)
{
	const char *s = o->output, *nl;
	int r, at = -1;

	if (!s || sscanf(s, "result=%d detail=%n", &r, &at) != 1 || at < 0 || r > 0)
		return false;
	nl = strchr(s + at, '\n');
	if (!nl || nl[1])
		return false; /* not exactly one whole line */
	(void)snprintf(detail, size, "%.*s", (int)(nl - (s + at)), s + at);
	*ret_r = r;
	return true;
}

static void job_result(Actions *a, const ActionRequest *req, int r, const char *detail)
{
	const char *what = action_type_to_string(req->type);

	if (r >= 0) {
		/* An unbound function will not tell whether an earlier reset helped. */
		if (req->type == ACTION_UNBIND)
			actions_cancel_confirmation(a, req->fid, "the function was unbound");
		emit_result(a, req, ACTION_RESULT_DONE, "%s", detail);
		if (req->type == ACTION_RESET || req->type == ACTION_RECOVER)
			confirm_add(a, req);
	} else if (r == -EOPNOTSUPP)
		emit_result(a, req, ACTION_RESULT_NOT_SUPPORTED, "%s: not supported on this system", detail);
	else
		emit_result(a, req, ACTION_RESULT_FAILED, "%s failed: %s", detail[0] ? detail : what,
			    strerror(-r));
}

static void on_helper_done(const SpawnOutcome *o, void *userdata)
{
	_cleanup_free_ Job *j = userdata;
	Actions *a = j->a;
	char detail[EVENT_DETAIL_MAX];
	int r;

	switch (o->result) {
	case SPAWN_CANCELLED:
		return;
	case SPAWN_TIMEOUT:
		emit_result(a, &j->req, ACTION_RESULT_TIMEOUT, "no result after %llu ms, helper killed",
			    (unsigned long long)(a->cfg.timeout_usec / USEC_PER_MSEC));
		return;
	default:
		break;
	}
	if (parse_helper_output(o, &r, detail, sizeof(detail)))
		job_result(a, &j->req, r, detail);
	else if (o->error < 0)
		emit_result(a, &j->req, ACTION_RESULT_FAILED, "could not start a helper process: %s",
			    strerror(-o->error));
	else if (o->signal > 0)
		emit_result(a, &j->req, ACTION_RESULT_FAILED, "helper process killed by signal %d",
			    o->signal);
	else
		emit_result(a, &j->req, ACTION_RESULT_FAILED, "helper process ended without a result");
}

static uint64_t next_err_log_id(Actions *a)
{
	uint64_t id = a->last_err_log_id + 1;
	int r;

	/* Stored before it is used, so that no id is ever handed out twice. */
	if (a->err_log_id_path) {
		r = state_file_write_u64(a->err_log_id_path, id);
		if (r < 0)
			(void)log_warning_errno(
				a->log, r, "Failed to store the report_error log id in %s, continuing: %m",
				a->err_log_id_path);
	}
	a->last_err_log_id = id;
	return id;
}

/* Run the helper program for @req; @fd (reset: the vfio device) becomes its fd 3. */
static int job_enqueue(Actions *a, const ActionRequest *req, int fd)
{
	SpawnOptions opts = { .fd3 = fd, .capture_stdout = true, .kill_at_timeout = true };
	char root[PATH_MAX + 16], driver[128], override[128], id[64], log_data[512],
		data_arg[REPORT_ERROR_LOG_DATA_MAX + 16];
	const char *argv[16];
	size_t n = 0;
	Job *j;
	int r;

	if (spawner_running(a->helpers) >= a->cfg.max_running &&
	    spawner_queued(a->helpers) >= a->cfg.max_queued) {
		closep(&fd);
		(void)log_warning(a->log, "Too many actions waiting, dropping %s on function 0x%08x.",
				  action_type_to_string(req->type), req->fid);
		emit_result(a, req, ACTION_RESULT_DROPPED, "%u actions already waiting",
			    spawner_queued(a->helpers));
		return 0;
	}

	argv[n++] = a->helper;
	if (a->sysfs_root) {
		(void)snprintf(root, sizeof(root), "--sysfs-root=%s", a->sysfs_root);
		argv[n++] = root;
	}
	switch (req->type) {
	case ACTION_RESET:
		argv[n++] = "reset";
		break;
	case ACTION_RECOVER:
		argv[n++] = "recover";
		argv[n++] = req->slot;
		break;
	case ACTION_UNBIND:
		(void)snprintf(driver, sizeof(driver), "--driver=%s",
			       a->unbind_expected_driver ? a->unbind_expected_driver : "vfio-pci");
		argv[n++] = driver;
		if (a->unbind_override) {
			(void)snprintf(override, sizeof(override), "--override=%s", a->unbind_override);
			argv[n++] = override;
		}
		argv[n++] = "unbind";
		argv[n++] = req->slot;
		break;
	default:
		(void)snprintf(id, sizeof(id), "--err-log-id=%" PRIu64,
			       req->has_err_log_id ? req->err_log_id : next_err_log_id(a));
		argv[n++] = id;
		if (req->has_log_data) {
			/* the caller's record, as s390-tools writes it */
			(void)snprintf(data_arg, sizeof(data_arg), "--log-data=%s", req->log_data);
			argv[n++] = data_arg;
			argv[n++] = "--padded";
		} else {
			build_log_data(req, log_data, sizeof(log_data));
			(void)snprintf(data_arg, sizeof(data_arg), "--log-data=%s", log_data);
			argv[n++] = data_arg;
		}
		argv[n++] = "report";
		argv[n++] = report_error_action_to_string(report_action_of(req->type));
		argv[n++] = req->slot;
		break;
	}
	argv[n] = NULL;

	j = calloc(1, sizeof(*j));
	if (!j) {
		closep(&fd);
		return -ENOMEM;
	}
	j->a = a;
	j->req = *req;
	/* The helper gets the daemon's environment (nothing of the event). */
	r = spawner_submit_full(a->helpers, argv, (const char *const *)environ, &opts, on_helper_done, j);
	if (r < 0) {
		free(j);
		emit_result(a, req, ACTION_RESULT_FAILED, "could not start a helper process: %s",
			    strerror(-r));
	}
	return 0;
}

/* ---- alerts ------------------------------------------------------------ */

static void on_alert_done(const SpawnOutcome *o, void *userdata)
{
	AlertCtx *c = userdata;
	Actions *a = c->a;

	switch (o->result) {
	case SPAWN_DONE:
		emit_result(a, &c->req, ACTION_RESULT_DONE, "alert command exited with status 0");
		break;
	case SPAWN_TIMEOUT:
		emit_result(a, &c->req, ACTION_RESULT_TIMEOUT, "alert command killed after %llu ms",
			    (unsigned long long)(a->cfg.alert_limits.timeout_usec / USEC_PER_MSEC));
		break;
	case SPAWN_FAILED:
		if (o->error < 0)
			emit_result(a, &c->req, ACTION_RESULT_FAILED,
				    "alert command could not be started: %s", strerror(-o->error));
		else if (o->signal > 0)
			emit_result(a, &c->req, ACTION_RESULT_FAILED, "alert command killed by signal %d",
				    o->signal);
		else
			emit_result(a, &c->req, ACTION_RESULT_FAILED, "alert command exited with status %d",
				    o->exit_status);
		break;
	default:
		break;
	}
	free(c);
}

static int run_alert(Actions *a, const ActionRequest *req)
{
	EventJournalFields jf;
	ZpciEvent t;
	const char *envp[EVENT_JOURNAL_FIELDS_MAX + 8];
	char message[EVENT_MESSAGE_MAX + 16], message_id[64], priority[32], rule[ACTIONS_RULE_MAX + 32],
		fid[32];
	size_t n = 0;
	AlertCtx *c;
	int r;

	if (!a->alert_command) {
		/* The Alert signal on D-Bus (sent for this result) is the alert. */
		emit_result(a, req, ACTION_RESULT_DONE,
			    "signalled on D-Bus; no alert command is configured");
		return 0;
	}

	if (req->has_trigger) {
		t = req->trigger;
		event_format_message(&t);
		event_journal_fields(&t, &jf);
		for (size_t i = 0; i < jf.n && n < EVENT_JOURNAL_FIELDS_MAX; i++)
			envp[n++] = jf.fields[i];
		(void)snprintf(message, sizeof(message), "MESSAGE=%s", t.message);
		(void)snprintf(message_id, sizeof(message_id), "MESSAGE_ID=%s", event_message_id(&t));
		(void)snprintf(priority, sizeof(priority), "PRIORITY=%d", event_priority(&t));
		envp[n++] = message;
		envp[n++] = message_id;
		envp[n++] = priority;
	} else {
		(void)snprintf(fid, sizeof(fid), "ZPCI_FID=0x%08x", req->fid);
		envp[n++] = fid;
	}
	(void)snprintf(rule, sizeof(rule), "ZPCID_ACTION_RULE=%s", req->rule);
	envp[n++] = rule;
	envp[n++] = ALERT_PATH;
	envp[n] = NULL;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->a = a;
	c->req = *req;
	r = spawner_submit(a->spawner, (const char *const *)a->alert_command, envp, on_alert_done, c);
	if (r == -ENOBUFS) {
		free(c);
		a->stats.alert_overflows++;
		(void)log_warning(a->log,
				  "Alert queue full, alert for function 0x%08x dropped (%" PRIu64
				  " dropped so far).",
				  req->fid, a->stats.alert_overflows);
		emit_result(a, req, ACTION_RESULT_DROPPED, "alert queue full (%" PRIu64 " dropped so far)",
			    a->stats.alert_overflows);
		return 0;
	}
	if (r < 0) {
		free(c);
		emit_result(a, req, ACTION_RESULT_FAILED, "alert command could not be queued: %s",
			    strerror(-r));
	}
	return 0;
}

/* ---- postponing while inhibited --------------------------------------- */

static void postpone(Actions *a, const ActionRequest *req)
{
	const Inhibitor *first = NULL;
	unsigned i;

	for (size_t k = 0; k < inhibit_count(a->inhibitors); k++) {
		const Inhibitor *it = inhibit_get(a->inhibitors, k);

		if (it->what & inhibit_bit(req->type)) {
			first = it;
			break;
		}
	}

	/* One per function and action: the latest decision wins. */
	for (i = 0; i < a->n_postponed; i++)
		if (a->postponed[i].fid == req->fid && a->postponed[i].type == req->type)
			break;
	if (i == a->n_postponed && a->n_postponed >= a->cfg.max_postponed) {
		emit_result(a, &a->postponed[0], ACTION_RESULT_DROPPED,
			    "too many postponed actions, the oldest is dropped");
		memmove(&a->postponed[0], &a->postponed[1], (a->n_postponed - 1) * sizeof(ActionRequest));
		i = --a->n_postponed;
	}
	if (i == a->n_postponed)
		a->n_postponed++;
	a->postponed[i] = *req;

	emit_result(a, req, ACTION_RESULT_POSTPONED, "inhibited by %s: %s", first ? first->who : "?",
		    first ? first->why : "?");
}

static int submit(Actions *a, const ActionRequest *req);

static void on_release(evutil_socket_t fd, short what, void *userdata)
{
	Actions *a = ASSERT_PTR(userdata);
	_cleanup_free_ ActionRequest *list = NULL;
	unsigned n = a->n_postponed;

	if (n == 0)
		return;
	list = calloc(n, sizeof(ActionRequest));
	if (!list)
		return (void)log_error(a->log, "Out of memory, postponed actions kept.");
	memcpy(list, a->postponed, n * sizeof(ActionRequest));
	a->n_postponed = 0;
	(void)log_info(a->log, "Last inhibitor released, running %u postponed action(s).", n);
	for (unsigned i = 0; i < n; i++)
		(void)submit(a, &list[i]);
}

static void on_inhibitors_released(Inhibitors *i, void *userdata)
{
	Actions *a = ASSERT_PTR(userdata);

	/* Not from within inhibit_release(): run them from the loop. */
	event_active(a->release_event, EV_TIMEOUT, 0);
}

/* ---- submission --------------------------------------------------------- */

static void describe(const Actions *a, const ActionRequest *req, char *buf, size_t size)
{
	const char *root = a->sysfs_root ? a->sysfs_root : "/sys";

	switch (req->type) {
	case ACTION_RESET:
		(void)snprintf(buf, size, "would reset the function with VFIO_DEVICE_RESET");
		break;
	case ACTION_RECOVER:
		(void)snprintf(buf, size, "would write 1 to %s/bus/pci/devices/%s/recover", root, req->slot);
		break;
	case ACTION_UNBIND:
		(void)snprintf(buf, size, "would set driver_override to \"%s\" and unbind %s",
			       a->unbind_override ? a->unbind_override : SYSFS_OVERRIDE_NONE, req->slot);
		break;
	default:
		(void)snprintf(buf, size, "would write a report_error record (%s)",
			       report_error_action_to_string(report_action_of(req->type)));
		break;
	}
}

static int submit(Actions *a, const ActionRequest *req)
{
	char buf[EVENT_DETAIL_MAX];
	int fd = -EBADF;

	if (action_type_is_disruptive(req->type) && (req->dry_run || a->cfg.dry_run)) {
		describe(a, req, buf, sizeof(buf));
		emit_result(a, req, ACTION_RESULT_DRY_RUN, "%s", buf);
		return 0;
	}
	if (inhibit_active(a->inhibitors) & inhibit_bit(req->type)) {
		postpone(a, req);
		return 0;
	}

	switch (req->type) {
	case ACTION_LOG:
		return 0;
	case ACTION_ALERT:
		return run_alert(a, req);
	case ACTION_RESET:
		if (req->mode == FUNCTION_MODE_OBSERVE || !a->ops.vfio_reset_prepare) {
			emit_result(a, req, ACTION_RESULT_NOT_SUPPORTED,
				    "zpcid does not hold the vfio device of this function");
			return 0;
		}
		fd = a->ops.vfio_reset_prepare(a->userdata, req->fid);
		if (fd == -ENODEV) {
			emit_result(a, req, ACTION_RESULT_NOT_SUPPORTED,
				    "the function has no vfio device open in zpcid");
			return 0;
		}
		if (fd < 0) {
			emit_result(a, req, ACTION_RESULT_FAILED, "preparing the reset failed: %s",
				    strerror(-fd));
			return 0;
		}
		break;
	case ACTION_RECOVER:
	case ACTION_UNBIND:
	case ACTION_REPORT_INFO:
	case ACTION_REPORT_FW_RESET:
	case ACTION_REPORT_DECONFIGURE:
		if (!sysfs_slot_is_valid(req->slot)) {
			emit_result(a, req, ACTION_RESULT_FAILED, "the function has no usable PCI address");
			return 0;
		}
		break;
	default:
		return -EINVAL;
	}
	return job_enqueue(a, req, fd);
}

int actions_submit(Actions *a, const ActionRequest *req)
{
	if (req->type < 0 || req->type >= _ACTION_TYPE_MAX)
		return -EINVAL;
	a->stats.submitted++;
	return submit(a, req);
}

/* ---- life cycle --------------------------------------------------------- */

static int strdup_opt(const char *s, char **ret)
{
	*ret = NULL;
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

int actions_new(Actions **ret, struct event_base *base, Log *log, const ActionsConfig *cfg,
		const ActionsOps *ops, void *userdata)
{
	_cleanup_(actions_freep) Actions *a = NULL;
	int r;

	if (!ops || !ops->emit)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->base = base;
	a->log = log;
	a->ops = *ops;
	a->userdata = userdata;
	a->cfg = cfg ? *cfg : ACTIONS_CONFIG_DEFAULT;
	if (a->cfg.max_running < 1 || a->cfg.timeout_usec == 0 || a->cfg.confirm_timeout_usec == 0 ||
	    a->cfg.max_postponed < 1)
		return -EINVAL;

	if (strdup_opt(a->cfg.sysfs_root, &a->sysfs_root) < 0 ||
	    strdup_opt(a->cfg.state_directory, &a->state_directory) < 0 ||
	    strdup_opt(a->cfg.unbind_override, &a->unbind_override) < 0 ||
	    strdup_opt(a->cfg.unbind_expected_driver, &a->unbind_expected_driver) < 0 ||
	    strdup_opt(a->cfg.helper ? a->cfg.helper
				     : secure_getenv("ZPCID_ACTION_HELPER") ?: ZPCID_ACTION_HELPER_PATH,
		       &a->helper) < 0)
		return -ENOMEM;
	if (a->cfg.alert_command && a->cfg.alert_command[0]) {
		size_t n = 0;

		while (a->cfg.alert_command[n])
			n++;
		a->alert_command = calloc(n + 1, sizeof(char *));
		if (!a->alert_command)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++)
			if (!(a->alert_command[i] = strdup(a->cfg.alert_command[i])))
				return -ENOMEM;
	}
	/* The copies are what counts from now on. */
	a->cfg.sysfs_root = a->cfg.state_directory = a->cfg.unbind_override = a->cfg.unbind_expected_driver =
		a->cfg.helper = NULL;
	a->cfg.alert_command = NULL;

	a->postponed = calloc(a->cfg.max_postponed, sizeof(ActionRequest));
	if (!a->postponed)
		return -ENOMEM;

	if (a->state_directory) {
		if (asprintf(&a->err_log_id_path, "%s/%s", a->state_directory, ERR_LOG_ID_FILE) < 0) {
			a->err_log_id_path = NULL;
			return -ENOMEM;
		}
		r = state_file_read_u64(a->err_log_id_path, 0, &a->last_err_log_id);
		if (r < 0) {
			/* Never reuse an id: continue above anything a counter could have reached. */
			a->last_err_log_id = now_usec(CLOCK_REALTIME);
			(void)log_warning_errno(a->log, r,
						"Failed to read %s, continuing with log id %" PRIu64 ": %m",
						a->err_log_id_path, a->last_err_log_id);
		}
	}

	r = inhibitors_new(&a->inhibitors, on_inhibitors_released, a);
	if (r < 0)
		return r;
	r = spawner_new(&a->spawner, base, &a->cfg.alert_limits);
	if (r < 0)
		return r;
	/* The helper is killed at once at its timeout (SIGKILL reaches it in a
	 * blocked write or ioctl when the kernel lets it): no grace period. */
	r = spawner_new(&a->helpers, base,
			&(SpawnLimits){ .max_running = a->cfg.max_running,
					.max_queued = a->cfg.max_queued,
					.timeout_usec = a->cfg.timeout_usec });
	if (r < 0)
		return r;
	a->flush_event = event_new(base, -1, 0, on_flush, a);
	a->release_event = event_new(base, -1, 0, on_release, a);
	if (!a->flush_event || !a->release_event)
		return -ENOMEM;

	*ret = TAKE_PTR(a);
	return 0;
}

Actions *actions_free(Actions *a)
{
	if (!a)
		return NULL;
	a->freeing = true;
	a->spawner = spawner_free(a->spawner);
	a->helpers = spawner_free(a->helpers);
	while (a->confirms) {
		Confirm *c = a->confirms;

		a->confirms = c->next;
		confirm_free(c);
	}
	while (a->emit_head) {
		Emit *m = a->emit_head;

		a->emit_head = m->next;
		free(m);
	}
	if (a->flush_event)
		event_free(a->flush_event);
	if (a->release_event)
		event_free(a->release_event);
	inhibitors_free(a->inhibitors);
	free(a->postponed);
	free(a->err_log_id_path);
	free(a->sysfs_root);
	free(a->state_directory);
	free(a->unbind_override);
	free(a->unbind_expected_driver);
	free(a->helper);
	strv_free(a->alert_command);
	free(a);
	return NULL;
}

Inhibitors *actions_inhibitors(Actions *a)
{
	return a->inhibitors;
}

unsigned actions_running(const Actions *a)
{
	return spawner_running(a->helpers) + spawner_running(a->spawner);
}

unsigned actions_queued(const Actions *a)
{
	return spawner_queued(a->helpers) + spawner_queued(a->spawner);
}

unsigned actions_postponed(const Actions *a)
{
	return a->n_postponed;
}

uint64_t actions_last_err_log_id(const Actions *a)
{
	return a->last_err_log_id;
}

const ActionsStats *actions_stats(const Actions *a)
{
	return &a->stats;
}
