/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * error-record: what the guest's measuring programs (latency.c, storm.c)
 * read of an error's record — on the journal and in an ErrorReported
 * signal — to tell an error's first record of the run from a record they
 * must not count: the full record that completes an error already reported
 * from the kernel log (same_as), or the record of an error older than the
 * run (its own time, ZPCID_MONOTONIC / "monotonic", is before it).
 * Header-only: each program is one source file, cross-built alone.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>

typedef struct ErrorSignal {
	const char *kind;   /* "" when absent */
	uint64_t monotonic; /* UINT64_MAX when absent */
	uint32_t fid;
	bool second; /* same_as: completes an error already reported */
} ErrorSignal;

/* Read ErrorReported's a{sv}. Returns 0, or a negative errno when it is
 * malformed. */
static inline int error_signal_read(sd_bus_message *m, ErrorSignal *ret)
{
	const char *key;
	int r;

	*ret = (ErrorSignal){ .kind = "", .monotonic = UINT64_MAX };
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		if (strcmp(key, "fid") == 0)
			r = sd_bus_message_read(m, "v", "u", &ret->fid);
		else if (strcmp(key, "kind") == 0)
			r = sd_bus_message_read(m, "v", "s", &ret->kind);
		else if (strcmp(key, "monotonic") == 0)
			r = sd_bus_message_read(m, "v", "t", &ret->monotonic);
		else {
			ret->second = ret->second || strcmp(key, "same_as") == 0;
			r = sd_bus_message_skip(m, "v");
		}
		if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
			return r;
	}
	return r;
}

/* Whether the journal entry @j points at is the first record of an error
 * that happened at or after @since_usec. */
static inline bool journal_first_record_since(sd_journal *j, uint64_t since_usec)
{
	const void *d;
	size_t l;
	char buf[32];

	if (sd_journal_get_data(j, "ZPCID_SAME_AS", &d, &l) >= 0)
		return false;
	if (sd_journal_get_data(j, "ZPCID_MONOTONIC", &d, &l) < 0 || l <= 16 || l - 16 >= sizeof(buf))
		return true; /* no time of its own: taken as new */
	memcpy(buf, (const char *)d + 16, l - 16);
	buf[l - 16] = 0;
	return strtoull(buf, NULL, 10) >= since_usec;
}
