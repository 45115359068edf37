/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void function_fill_event(const ZpciFunction *f, ZpciEvent *e)
{
	const ZpciAttrs *a = &f->attrs;

	/* The function's identity; fields the source already set win. */
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

int function_new(ZpciFunction **ret, Manager *m, const ZpciAttrs *attrs, const char *syspath)
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
	f->manager = m;
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
