/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * actions: carries out what the policy decided, without ever blocking the
 * event loop. The policy (policy.h) decides what to do; this module does it
 * and reports how it went.
 *
 * Every result is an event of its own (kind "action": action, result,
 * detail), delivered to ops->emit() from the loop — never from within the
 * call that caused it, so the pipeline is not re-entered. Results:
 *
 *   done             the action was carried out
 *   failed           it was tried and failed (detail says why)
 *   timeout          it did not finish within timeout_usec (its helper was killed)
 *   postponed        an inhibitor covers it; it runs when the last inhibitor goes
 *   dry-run          dry-run is on: only recorded (detail says what would be done)
 *   not-supported    not possible here (report_error without SCLP error
 *                    notification, reset of a function without a vfio device,
 *                    alert without a configured command)
 *   dropped          a bounded queue was full (alerts, helpers, postponed)
 *   confirmed        after reset/recover: the function came back (a successful
 *                    recovery, or a reset followed by no error within confirm_timeout_usec)
 *   unconfirmed      after reset/recover: it did not (a failed recovery, or the
 *                    error again after a reset)
 *   no-confirmation  after recover: no outcome reported within confirm_timeout_usec
 *   cancelled        after reset/recover: the wait for the outcome ended because
 *                    the function was unbound (quarantined) or went away
 *
 * Every result event carries the rule that decided the action (key "rule")
 * and, for an action asked for by hand, the caller's uid and message
 * ("caller_uid", "caller_message"). action_result_to_string() lists the
 * results; the counters (ActionsStats) have one per result.
 *
 * How each action runs:
 *   log      nothing: the pipeline already journaled the event; no result event.
 *   alert    the configured command (spawn.h) with the trigger event in its
 *            environment: PATH, MESSAGE, MESSAGE_ID, PRIORITY and every journal
 *            field of the event (ZPCI_FID=0x..., ZPCI_PEC=..., ...), plus
 *            ZPCID_ACTION_RULE.
 *   reset    VFIO_DEVICE_RESET, own/delegated functions only. On the loop,
 *            ops->vfio_reset_prepare(fid) drains the queue and returns a
 *            duplicate of the vfio device fd; only that duplicate is used off
 *            the loop: it is the helper program's fd 3, so no fd or
 *            structure of the loop is touched concurrently.
 *   recover  write "1" to sysfs "recover" (any mode; the policy decides when).
 *   unbind   driver_override := unbind_override ("none"), then unbind from
 *            the driver, which must be unbind_expected_driver ("vfio-pci").
 *   report-* a report_error record (info 2 / fw-reset 0 / deconfigure 1) with
 *            zpcid's own err_log_id (monotonic, persisted in
 *            <state_directory>/report-error-id before use) and a readable
 *            log_data line, or the err_log_id and log data the request
 *            carries (a manual request on behalf of zpcictl).
 *
 * Disruptive work (reset, recover, unbind, report-*) runs in the helper
 * program zpcid-action (action-helper.c: its arguments and its one-line
 * result on stdout), started per action through the spawner (spawn.h) like
 * the alert command, never by fork() of the threaded daemon (at most
 * max_running at once, further ones queued up to max_queued): the helper's
 * process group is killed at its timeout, even while the kernel keeps the
 * write or ioctl waiting, and the loop only watches a pidfd. A helper that
 * ends without a result line is "failed" (killed by a signal, or "ended
 * without a result"). Confirmation: after a done reset/recover, a successful
 * recovery uevent of the function (or actions_confirm()) gives "confirmed";
 * a failed recovery or a new error of the function gives "unconfirmed"; a reset
 * with neither within confirm_timeout_usec is "confirmed" (the function
 * stayed quiet), a recover is "no-confirmation" (the kernel always reports
 * the outcome of a recover).
 *
 * Inhibitors (inhibit.h) are owned here. A disruptive action covered by an
 * inhibitor is recorded "postponed" and kept (one per function and action,
 * the latest wins, at most max_postponed); when the last inhibitor is
 * released the kept requests are run as they were decided, each with a
 * result event of its own. They are not re-evaluated by the policy.
 */

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "common/action.h"
#include "common/event.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/report-error.h"
#include "daemon/function.h"
#include "daemon/inhibit.h"
#include "daemon/spawn.h"

typedef struct Actions Actions;

#define ACTIONS_RULE_MAX EVENT_RULE_MAX

/* The rule of an action asked for by hand (D-Bus, zpcictl). */
#define ACTIONS_RULE_MANUAL "manual"

typedef struct ActionRequest {
	ActionType type;
	uint32_t fid;
	char slot[EVENT_SLOT_MAX];
	FunctionMode mode;
	bool dry_run;                /* record only (the policy's verdict "dry-run") */
	char rule[ACTIONS_RULE_MAX]; /* the rule that decided it (ACTIONS_RULE_MANUAL when asked for by hand)
				      */
	bool has_caller;             /* asked for by hand (D-Bus, zpcictl): */
	uint32_t caller_uid;         /* ... by whom */
	char caller_message[EVENT_CALLER_MESSAGE_MAX]; /* ... saying what ("" when nothing) */
	/* report-*: the caller's own record (zpcictl's s390-tools options):
	 * its err_log_id instead of zpcid's counter, and its log data (a C
	 * string, written with its NUL as s390-tools does; "" for none)
	 * instead of zpcid's line. */
	bool has_err_log_id;
	uint64_t err_log_id;
	bool has_log_data;
	char log_data[REPORT_ERROR_LOG_DATA_MAX];
	bool has_trigger;
	ZpciEvent trigger; /* the event that caused it */
} ActionRequest;

typedef struct ActionsOps {
	/* Required: an action event for function @fid, to be submitted to the pipeline. */
	void (*emit)(void *userdata, uint32_t fid, ZpciEvent *e);
	/* On the loop, before a reset: drain the function's queue and return a
	 * duplicate (O_CLOEXEC) of its vfio device fd, or -ENODEV when it has
	 * none, or another -errno. NULL: resets are "not-supported". */
	int (*vfio_reset_prepare)(void *userdata, uint32_t fid);
} ActionsOps;

typedef struct ActionsConfig {
	const char *sysfs_root;           /* NULL: "/sys" */
	const char *state_directory;      /* where the err_log_id is kept; NULL: not persisted */
	uint64_t timeout_usec;            /* per disruptive action; default 30 s */
	unsigned max_running;             /* helper processes at once; default 2 */
	unsigned max_queued;              /* helpers waiting; default 64 */
	unsigned max_postponed;           /* default 64 */
	uint64_t confirm_timeout_usec;    /* default 60 s */
	bool dry_run;                     /* record disruptive actions only, whatever the request says */
	const char *const *alert_command; /* argv of the alert command; NULL: none */
	SpawnLimits alert_limits;
	const char *unbind_override;        /* NULL: "none" */
	const char *unbind_expected_driver; /* NULL: "vfio-pci" */
	const char *helper;                 /* the helper program; NULL: $ZPCID_ACTION_HELPER, else
					     * ZPCID_ACTION_HELPER_PATH (the installed zpcid-action) */
} ActionsConfig;

#define ACTIONS_CONFIG_DEFAULT                                       \
	((ActionsConfig){ .timeout_usec = 30 * USEC_PER_SEC,         \
			  .max_running = 2,                          \
			  .max_queued = 64,                          \
			  .max_postponed = 64,                       \
			  .confirm_timeout_usec = 60 * USEC_PER_SEC, \
			  .alert_limits = SPAWN_LIMITS_DEFAULT })

typedef struct ActionsStats {
	uint64_t submitted;
	uint64_t done, failed, timeouts, postponed, dry_runs, not_supported, dropped;
	uint64_t confirmed, unconfirmed, no_confirmation, cancelled;
	uint64_t alert_overflows;
} ActionsStats;

/* Fill @req for @type on @f (identity and mode; @f may be NULL) caused by
 * @trigger (may be NULL), decided by @rule (may be NULL). */
void action_request_init(ActionRequest *req, ActionType type, const ZpciFunction *f,
			 const ZpciEvent *trigger, const char *rule);

/* Create the runner on @base. @cfg NULL: defaults; strings are copied.
 * @log receives what the runner decides on its own (overflows, late helpers).
 * Reads the persisted err_log_id. Returns 0, -EINVAL or -errno. */
int actions_new(Actions **ret, struct event_base *base, Log *log, const ActionsConfig *cfg,
		const ActionsOps *ops, void *userdata);

/* Whether disruptive actions are only recorded (a reload of the policy changes it). */
void actions_set_dry_run(Actions *a, bool dry_run);

/* Kill running helpers and alert commands, drop queued work (no result
 * events are emitted any more). Accepts NULL, returns NULL. */
Actions *actions_free(Actions *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(Actions *, actions_free);

/* Carry out @req (copied). Every accepted request produces at least one
 * result event later, from the loop (ACTION_LOG produces none). Returns 0,
 * or -EINVAL for a bad request. */
int actions_submit(Actions *a, const ActionRequest *req);

/* The pipeline calls this for every event it recorded, so that pending
 * confirmations of resets and recovers can match. Action events are ignored. */
void actions_observe_event(Actions *a, ZpciFunction *f, const ZpciEvent *e);

/* Report the outcome of a reset of @fid seen elsewhere (e.g. the first drain
 * after it): @ok gives "confirmed", else "failed". No-op when nothing waits. */
void actions_confirm(Actions *a, uint32_t fid, bool ok, const char *detail);

/* End the wait for the outcome of a reset or recover of @fid: the function
 * was unbound or went away, so no outcome will tell whether the reset
 * helped. Emits "cancelled" with @detail. No-op when nothing waits. */
void actions_cancel_confirmation(Actions *a, uint32_t fid, const char *detail);

/* The inhibitors (for the D-Bus methods). */
Inhibitors *actions_inhibitors(Actions *a);

/* Helpers and alert commands running now, work queued, requests postponed. */
unsigned actions_running(const Actions *a);
unsigned actions_queued(const Actions *a);
unsigned actions_postponed(const Actions *a);

/* The last err_log_id used (0: none yet). */
uint64_t actions_last_err_log_id(const Actions *a);

/* Counters since creation. */
const ActionsStats *actions_stats(const Actions *a);
