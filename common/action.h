/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * action: the names of what zpcid can do about a function and of how it
 * went — one list each, for the policy (its "actions" and "ladder"), the
 * action runner, the history, the bus and zpcictl. Events carry them as
 * strings (ZpciEvent.action, .result); these are the only spellings.
 */

#include <stdbool.h>

typedef enum ActionType {
	ACTION_LOG,
	ACTION_ALERT,
	ACTION_REPORT_INFO,
	ACTION_RESET,
	ACTION_UNBIND,
	ACTION_RECOVER,
	ACTION_REPORT_FW_RESET,
	ACTION_REPORT_DECONFIGURE,
	_ACTION_TYPE_MAX,
	_ACTION_TYPE_INVALID = -22,
} ActionType;

typedef enum ActionResult {
	ACTION_RESULT_DONE,
	ACTION_RESULT_FAILED,
	ACTION_RESULT_TIMEOUT,
	ACTION_RESULT_POSTPONED,
	ACTION_RESULT_DRY_RUN,
	ACTION_RESULT_NOT_SUPPORTED,
	ACTION_RESULT_DROPPED,
	ACTION_RESULT_CONFIRMED,
	ACTION_RESULT_UNCONFIRMED,
	ACTION_RESULT_NO_CONFIRMATION,
	ACTION_RESULT_CANCELLED,
	_ACTION_RESULT_MAX,
	_ACTION_RESULT_INVALID = -22,
} ActionResult;

/* "log", "alert", "report-info", "reset", "unbind", "recover", "report-fw-reset", "report-deconfigure";
 * NULL-terminated (for messages that list or suggest them). */
extern const char *const action_type_names[_ACTION_TYPE_MAX + 1];

/* The name of @t, "invalid" when out of range. */
const char *action_type_to_string(ActionType t);
/* The type named @s (NULL allowed), or _ACTION_TYPE_INVALID. */
ActionType action_type_from_string(const char *s);

/* Whether @t disrupts whoever uses the function (and so obeys inhibitors,
 * budget, cooldown and dry-run): reset, unbind, recover, report-fw-reset,
 * report-deconfigure. */
bool action_type_is_disruptive(ActionType t);

/* "done", "failed", "timeout", "postponed", "dry-run", "not-supported",
 * "dropped", "confirmed", "unconfirmed", "no-confirmation", "cancelled": the one list of
 * results, for the code, the counters, the docs and --explain. "invalid" when out of range. */
const char *action_result_to_string(ActionResult r);
/* The result named @s (NULL allowed), or _ACTION_RESULT_INVALID. */
ActionResult action_result_from_string(const char *s);

/* Whether @r follows an earlier "done" of a reset or recover (confirmed,
 * unconfirmed, no-confirmation, cancelled) rather than concluding a request. */
bool action_result_is_confirmation(ActionResult r);
