/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/time-util.h"
#include "daemon/inhibit.h"

struct Inhibitors {
	Inhibitor items[INHIBIT_MAX];
	size_t n;
	uint64_t next_handle;
	inhibit_released_fn released;
	void *userdata;
};

static const struct {
	const char *name;
	unsigned bit;
} what_names[] = {
	{ "reset", INHIBIT_RESET },
	{ "unbind", INHIBIT_UNBIND },
	{ "report", INHIBIT_REPORT },
};

int inhibitors_new(Inhibitors **ret, inhibit_released_fn released, void *userdata)
{
	Inhibitors *i = calloc(1, sizeof(*i));

	if (!i)
		return -ENOMEM;
	i->next_handle = 1;
	i->released = released;
	i->userdata = userdata;
	*ret = i;
	return 0;
}

static void inhibitor_done(Inhibitor *it)
{
	free(it->who);
	free(it->why);
	free(it->what_text);
	*it = (Inhibitor){};
}

Inhibitors *inhibitors_free(Inhibitors *i)
{
	if (!i)
		return NULL;
	for (size_t k = 0; k < i->n; k++)
		inhibitor_done(&i->items[k]);
	free(i);
	return NULL;
}

int inhibit_what_from_string(const char *s)
{
	unsigned bits = 0;
	const char *p = s;

	if (isempty(s))
		return -EINVAL;
	while (*p) {
		size_t len = strcspn(p, ",");
		bool found = false;

		if (len == 3 && strneq(p, "all", 3)) {
			bits |= INHIBIT_ALL;
			found = true;
		}
		for (size_t k = 0; !found && k < ELEMENTSOF(what_names); k++)
			if (strlen(what_names[k].name) == len && strneq(p, what_names[k].name, len)) {
				bits |= what_names[k].bit;
				found = true;
			}
		if (!found)
			return -EINVAL;
		p += len;
		if (*p == ',') {
			p++;
			if (*p == 0)
				return -EINVAL;
		}
	}
	return (int)bits;
}

const char *inhibit_what_to_string(unsigned what, char *buf, size_t size)
{
	size_t used = 0;

	if (size == 0)
		return buf;
	buf[0] = 0;
	for (size_t k = 0; k < ELEMENTSOF(what_names); k++) {
		int n;

		if (!(what & what_names[k].bit))
			continue;
		n = snprintf(buf + used, size - used, "%s%s", used ? "," : "", what_names[k].name);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
	return buf;
}

static bool text_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

int inhibit_acquire_as(Inhibitors *i, const char *who, const char *why, const char *what, uid_t uid,
		       pid_t pid, uint64_t *ret_handle)
{
	Inhibitor it;
	int bits;

	if (isempty(who) || !why || !text_ok(who) || !text_ok(why))
		return -EINVAL;
	bits = inhibit_what_from_string(what);
	if (bits < 0)
		return bits;
	if (i->n >= INHIBIT_MAX)
		return -EUSERS;

	it = (Inhibitor){
		.handle = i->next_handle,
		.who = strdup(who),
		.why = strdup(why),
		.what_text = strdup(what),
		.what = (unsigned)bits,
		.uid = uid,
		.pid = pid,
		.since_usec = now_usec(CLOCK_REALTIME),
	};
	if (!it.who || !it.why || !it.what_text) {
		inhibitor_done(&it);
		return -ENOMEM;
	}
	i->next_handle++;
	i->items[i->n++] = it;
	*ret_handle = it.handle;
	return 0;
}

int inhibit_acquire(Inhibitors *i, const char *who, const char *why, const char *what, uint64_t *ret_handle)
{
	return inhibit_acquire_as(i, who, why, what, 0, 0, ret_handle);
}

int inhibit_release(Inhibitors *i, uint64_t handle)
{
	for (size_t k = 0; k < i->n; k++) {
		if (i->items[k].handle != handle)
			continue;
		inhibitor_done(&i->items[k]);
		memmove(&i->items[k], &i->items[k + 1], (i->n - k - 1) * sizeof(Inhibitor));
		i->n--;
		if (i->n == 0 && i->released)
			i->released(i, i->userdata);
		return 0;
	}
	return -ENOENT;
}

unsigned inhibit_active(const Inhibitors *i)
{
	unsigned bits = 0;

	for (size_t k = 0; k < i->n; k++)
		bits |= i->items[k].what;
	return bits;
}

size_t inhibit_count(const Inhibitors *i)
{
	return i->n;
}

const Inhibitor *inhibit_get(const Inhibitors *i, size_t idx)
{
	return idx < i->n ? &i->items[idx] : NULL;
}
