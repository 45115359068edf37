/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/messages.h"
#include "common/pec.h"
#include "daemon/function.h"

static const char *const mode_table[_FUNCTION_MODE_MAX] = {
	[FUNCTION_MODE_OBSERVE] = "observe",
	[FUNCTION_MODE_OWN] = "own",
	[FUNCTION_MODE_DELEGATED] = "delegated",
};

static const char *const state_table[_FUNCTION_STATE_MAX] = {
	[FUNCTION_STATE_OK] = "ok",
	[FUNCTION_STATE_ERROR] = "error",
	[FUNCTION_STATE_RECOVERING] = "recovering",
	[FUNCTION_STATE_FAILED] = "failed",
	[FUNCTION_STATE_QUARANTINED] = "quarantined",
	[FUNCTION_STATE_GONE] = "gone",
};

static const char *const input_table[_FUNCTION_INPUT_MAX] = {
	[FUNCTION_INPUT_ERROR] = "error",
	[FUNCTION_INPUT_PERMANENT_ERROR] = "permanent-error",
	[FUNCTION_INPUT_FW_RESET_DONE] = "fw-reset-done",
	[FUNCTION_INPUT_RECOVERY_BEGIN] = "recovery-begin",
	[FUNCTION_INPUT_RECOVERY_DONE] = "recovery-done",
	[FUNCTION_INPUT_RECOVERY_FAILED] = "recovery-failed",
	[FUNCTION_INPUT_RESET_DONE] = "reset-done",
	[FUNCTION_INPUT_RESET_CONFIRMED] = "reset-confirmed",
	[FUNCTION_INPUT_RESET_UNCONFIRMED] = "reset-unconfirmed",
	[FUNCTION_INPUT_RESET_FAILED] = "reset-failed",
	[FUNCTION_INPUT_UNBOUND] = "unbound",
	[FUNCTION_INPUT_BOUND] = "bound",
	[FUNCTION_INPUT_REMOVED] = "removed",
};

/*
 * The state machine, all of it (docs/state-machine.md shows the same table).
 * A row is the current state, a column the input; "=" keeps the state.
 * In short: errors move ok to error; a permanent error or a failed recovery
 * to failed; a recovery or reset in flight to recovering; a successful
 * recovery, a confirmed reset or the platform's completed firmware reset
 * back to ok. An unbound function is quarantined whatever happens to it
 * until a driver is bound again (by an operator), which makes it ok.
 */
#define K _FUNCTION_STATE_INVALID /* "=": keep the state */
#define O FUNCTION_STATE_OK
#define E FUNCTION_STATE_ERROR
#define R FUNCTION_STATE_RECOVERING
#define F FUNCTION_STATE_FAILED
#define Q FUNCTION_STATE_QUARANTINED
#define G FUNCTION_STATE_GONE
static const FunctionState transitions[_FUNCTION_STATE_MAX][_FUNCTION_INPUT_MAX] = {
	/*                          error perm fw-ok rec-begin rec-done rec-fail reset-done confirmed
	   unconfirmed reset-fail unbound bound removed */
	[FUNCTION_STATE_OK] = { E, F, K, R, K, F, R, K, E, F, Q, K, G },
	[FUNCTION_STATE_ERROR] = { K, F, O, R, O, F, R, O, K, F, Q, K, G },
	[FUNCTION_STATE_RECOVERING] = { E, F, O, K, O, F, K, O, E, F, Q, K, G },
	[FUNCTION_STATE_FAILED] = { K, K, O, R, O, K, R, O, K, K, Q, K, G },
	[FUNCTION_STATE_QUARANTINED] = { K, K, K, K, K, K, K, K, K, K, K, O, G },
	[FUNCTION_STATE_GONE] = { K, K, K, K, K, K, K, K, K, K, K, K, K },
};
#undef K
#undef O
#undef E
#undef R
#undef F
#undef Q
#undef G

const char *function_input_to_string(FunctionInput i)
{
	return i >= 0 && i < _FUNCTION_INPUT_MAX ? input_table[i] : "invalid";
}

FunctionInput function_input_from_string(const char *s)
{
	for (int i = 0; s && i < _FUNCTION_INPUT_MAX; i++)
		if (streq(s, input_table[i]))
			return (FunctionInput)i;
	return _FUNCTION_INPUT_INVALID;
}

FunctionState function_state_next(FunctionState s, FunctionInput i)
{
	FunctionState n;

	if (s < 0 || s >= _FUNCTION_STATE_MAX || i < 0 || i >= _FUNCTION_INPUT_MAX)
		return s;
	n = transitions[s][i];
	return n == _FUNCTION_STATE_INVALID ? s : n;
}

int function_input_of_event(const ZpciEvent *e)
{
	bool reset;

	switch (e->kind) {
	case EVENT_ERROR:
		if (!(e->has & EVENT_HAS_PEC))
			return -EINVAL;
		switch (pec_class_of(e->pec)) {
		case PEC_CLASS_RECOVERABLE:
			return FUNCTION_INPUT_ERROR;
		case PEC_CLASS_PERMANENT:
			return FUNCTION_INPUT_PERMANENT_ERROR;
		case PEC_CLASS_FW_RESET_DONE:
			return FUNCTION_INPUT_FW_RESET_DONE;
		default:
			return -EINVAL;
		}
	case EVENT_RECOVERY:
		return e->recovery == RECOVERY_BEGIN        ? FUNCTION_INPUT_RECOVERY_BEGIN
		       : e->recovery == RECOVERY_SUCCESSFUL ? FUNCTION_INPUT_RECOVERY_DONE
		       : e->recovery == RECOVERY_FAILED     ? FUNCTION_INPUT_RECOVERY_FAILED
							    : -EINVAL;
	case EVENT_ACTION:
		if (streq(e->action, "unbind"))
			return streq(e->result, "done") ? FUNCTION_INPUT_UNBOUND : -EINVAL;
		reset = streq(e->action, "reset") || streq(e->action, "recover");
		if (!reset)
			return -EINVAL;
		if (streq(e->result, "done"))
			return FUNCTION_INPUT_RESET_DONE;
		if (streq(e->result, "confirmed"))
			return FUNCTION_INPUT_RESET_CONFIRMED;
		if (streq(e->result, "unconfirmed") || streq(e->result, "no-confirmation"))
			return FUNCTION_INPUT_RESET_UNCONFIRMED;
		if (streq(e->result, "failed") || streq(e->result, "timeout"))
			return FUNCTION_INPUT_RESET_FAILED;
		return -EINVAL;
	default:
		return -EINVAL;
	}
}

int function_apply_input(ZpciFunction *f, FunctionInput i, FunctionState *ret_old)
{
	FunctionState old = f->state;

	f->state = function_state_next(old, i);
	if (ret_old)
		*ret_old = old;
	return f->state != old;
}

int function_input(ZpciFunction *f, FunctionInput i)
{
	char fid[32], slot[48], state[48], previous[48], input[48];
	const char *fields[5] = { fid, slot, state, previous, input };
	FunctionState old;

	if (function_apply_input(f, i, &old) <= 0)
		return 0;
	if (f->context && f->context->log) {
		(void)snprintf(fid, sizeof(fid), "ZPCI_FID=0x%08x", f->attrs.fid);
		(void)snprintf(slot, sizeof(slot), "ZPCI_SLOT=%s", f->attrs.slot);
		(void)snprintf(state, sizeof(state), "ZPCID_STATE=%s", function_state_to_string(f->state));
		(void)snprintf(previous, sizeof(previous), "ZPCID_STATE_PREVIOUS=%s",
			       function_state_to_string(old));
		(void)snprintf(input, sizeof(input), "ZPCID_STATE_INPUT=%s", function_input_to_string(i));
		(void)log_fields(f->context->log, LOG_INFO, MESSAGE_ID_FUNCTION_STATE_CHANGED, fields,
				 ELEMENTSOF(fields), "Function 0x%08x (%s): state %s -> %s (%s).",
				 f->attrs.fid, f->attrs.slot, function_state_to_string(old),
				 function_state_to_string(f->state), function_input_to_string(i));
	}
	return 1;
}

void function_apply_event(ZpciFunction *f, const ZpciEvent *e, bool emitted)
{
	int i;

	if (!emitted)
		f->counters.coalesced++;
	if (e->same_as != 0) {
		if (e->kind == EVENT_ERROR) {
			f->last_error = *e;
			f->has_last_error = true;
		}
		return;
	}

	i = function_input_of_event(e);
	if (i >= 0)
		(void)function_input(f, (FunctionInput)i);

	switch (e->kind) {
	case EVENT_ERROR:
		f->counters.errors++;
		f->last_error = *e;
		f->has_last_error = true;
		break;
	case EVENT_DROPPED:
		f->counters.dropped += (e->has & EVENT_HAS_COUNT) ? e->count : 1;
		break;
	case EVENT_RECOVERY:
		f->counters.recoveries++;
		break;
	case EVENT_ACTION:
		f->counters.actions++;
		if (streq(e->action, "reset") && streq(e->result, "done"))
			f->counters.resets++;
		break;
	default:
		break;
	}
}

uint64_t function_drains_errors_since(const ZpciFunction *f)
{
	if (!f || !f->vfio)
		return 0;
	return MAX(f->drains_since_usec, (uint64_t)1);
}

const char *function_mode_to_string(FunctionMode m)
{
	return m >= 0 && m < _FUNCTION_MODE_MAX ? mode_table[m] : "invalid";
}

FunctionMode function_mode_from_string(const char *s)
{
	for (int i = 0; s && i < _FUNCTION_MODE_MAX; i++)
		if (streq(s, mode_table[i]))
			return (FunctionMode)i;
	return _FUNCTION_MODE_INVALID;
}

const char *function_state_to_string(FunctionState s)
{
	return s >= 0 && s < _FUNCTION_STATE_MAX ? state_table[s] : "invalid";
}

FunctionState function_state_from_string(const char *s)
{
	for (int i = 0; s && i < _FUNCTION_STATE_MAX; i++)
		if (streq(s, state_table[i]))
			return (FunctionState)i;
	return _FUNCTION_STATE_INVALID;
}

const char *zpci_pft_to_string(uint8_t pft)
{
	/* One table for the whole project: common/event.c. */
	return event_pft_to_string(pft);
}

void zpci_attrs_fill_event(const ZpciAttrs *a, ZpciEvent *e)
{
	if (e->fid == 0)
		e->fid = a->fid;
	if (!(e->has & EVENT_HAS_UID) && (a->has & ZPCI_ATTR_HAS_UID)) {
		e->uid = a->uid;
		e->has |= EVENT_HAS_UID;
	}
	if (!(e->has & EVENT_HAS_UID_IS_UNIQUE) && (a->has & ZPCI_ATTR_HAS_UID_IS_UNIQUE)) {
		e->uid_is_unique = a->uid_is_unique;
		e->has |= EVENT_HAS_UID_IS_UNIQUE;
	}
	if (!(e->has & EVENT_HAS_PCHID) && (a->has & ZPCI_ATTR_HAS_PCHID)) {
		e->pchid = a->pchid;
		e->has |= EVENT_HAS_PCHID;
	}
	if (!(e->has & EVENT_HAS_PFT) && (a->has & ZPCI_ATTR_HAS_PFT)) {
		e->pft = a->pft;
		e->has |= EVENT_HAS_PFT;
	}
	if (!(e->has & EVENT_HAS_FH) && (a->has & ZPCI_ATTR_HAS_FH)) {
		e->fh = a->fh;
		e->has |= EVENT_HAS_FH;
	}
	if (isempty(e->slot))
		(void)snprintf(e->slot, sizeof(e->slot), "%s", a->slot);
}

void function_fill_event(const ZpciFunction *f, ZpciEvent *e)
{
	/* The function's identity; fields the source already set win. */
	zpci_attrs_fill_event(&f->attrs, e);

	/* Its holder as known now (daemon/machine.h); a record that names one wins. */
	if (e->owner_pid == 0 && f->owner_pid > 0) {
		e->owner_pid = (uint32_t)f->owner_pid;
		(void)snprintf(e->owner_command, sizeof(e->owner_command), "%s", f->owner_comm);
		(void)snprintf(e->owner_machine, sizeof(e->owner_machine), "%s", f->owner_machine);
		(void)snprintf(e->owner_machine_class, sizeof(e->owner_machine_class), "%s",
			       f->owner_machine_class);
		(void)snprintf(e->owner_unit, sizeof(e->owner_unit), "%s", f->owner_unit);
	}
}

int function_new(ZpciFunction **ret, const FunctionContext *context, const ZpciAttrs *attrs,
		 const char *syspath)
{
	_cleanup_free_ ZpciFunction *f = NULL;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	if (syspath) {
		f->syspath = strdup(syspath);
		if (!f->syspath)
			return -ENOMEM;
	}
	f->context = context;
	f->n_ref = 1;
	f->attrs = *attrs;
	f->mode = FUNCTION_MODE_OBSERVE;
	f->state = FUNCTION_STATE_OK;
	f->iommu_group = -1;
	(void)snprintf(f->object_path, sizeof(f->object_path), "/org/zpcid1/function/%08x", attrs->fid);

	*ret = TAKE_PTR(f);
	return 0;
}

ZpciFunction *function_ref(ZpciFunction *f)
{
	if (f)
		f->n_ref++;
	return f;
}

ZpciFunction *function_unref(ZpciFunction *f)
{
	if (!f)
		return NULL;
	if (--f->n_ref > 0)
		return NULL;
	free(f->syspath);
	free(f);
	return NULL;
}
