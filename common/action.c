/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>
#include <string.h>

#include "common/action.h"
#include "common/macro.h"

const char *const action_type_names[_ACTION_TYPE_MAX + 1] = {
	[ACTION_LOG] = "log",
	[ACTION_ALERT] = "alert",
	[ACTION_REPORT_INFO] = "report-info",
	[ACTION_RESET] = "reset",
	[ACTION_UNBIND] = "unbind",
	[ACTION_RECOVER] = "recover",
	[ACTION_REPORT_FW_RESET] = "report-fw-reset",
	[ACTION_REPORT_DECONFIGURE] = "report-deconfigure",
	[_ACTION_TYPE_MAX] = NULL,
};

static const char *const result_names[_ACTION_RESULT_MAX] = {
	[ACTION_RESULT_DONE] = "done",
	[ACTION_RESULT_FAILED] = "failed",
	[ACTION_RESULT_TIMEOUT] = "timeout",
	[ACTION_RESULT_POSTPONED] = "postponed",
	[ACTION_RESULT_DRY_RUN] = "dry-run",
	[ACTION_RESULT_NOT_SUPPORTED] = "not-supported",
	[ACTION_RESULT_DROPPED] = "dropped",
	[ACTION_RESULT_CONFIRMED] = "confirmed",
	[ACTION_RESULT_UNCONFIRMED] = "unconfirmed",
	[ACTION_RESULT_NO_CONFIRMATION] = "no-confirmation",
	[ACTION_RESULT_CANCELLED] = "cancelled",
};

const char *action_type_to_string(ActionType t)
{
	return t >= 0 && t < _ACTION_TYPE_MAX ? action_type_names[t] : "invalid";
}

ActionType action_type_from_string(const char *s)
{
	for (int i = 0; s && i < _ACTION_TYPE_MAX; i++)
		if (streq(s, action_type_names[i]))
			return (ActionType)i;
	return _ACTION_TYPE_INVALID;
}

bool action_type_is_disruptive(ActionType t)
{
	return t == ACTION_RESET || t == ACTION_UNBIND || t == ACTION_RECOVER ||
	       t == ACTION_REPORT_FW_RESET || t == ACTION_REPORT_DECONFIGURE;
}

const char *action_result_to_string(ActionResult r)
{
	return r >= 0 && r < _ACTION_RESULT_MAX ? result_names[r] : "invalid";
}

ActionResult action_result_from_string(const char *s)
{
	for (int i = 0; s && i < _ACTION_RESULT_MAX; i++)
		if (streq(s, result_names[i]))
			return (ActionResult)i;
	return _ACTION_RESULT_INVALID;
}

bool action_result_is_confirmation(ActionResult r)
{
	return r == ACTION_RESULT_CONFIRMED || r == ACTION_RESULT_UNCONFIRMED ||
	       r == ACTION_RESULT_NO_CONFIRMATION || r == ACTION_RESULT_CANCELLED;
}
