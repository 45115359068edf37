/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The record's own writers (common/event.c) against json-c: the input is
 * the bytes of a record, whatever they hold (strings without a NUL, any
 * byte, kinds and phases out of range). The JSON line must be json-c's
 * serialisation of event_to_json() byte for byte and must not need more
 * room than it says; the journal fields must stay within their storage.
 */
#include <errno.h>

#include <json-c/json.h>

#include "common/event.h"
#include "common/macro.h"
#include "fuzz/fuzz-util.h"

/* A bool member holds 0 or 1: anything else is not a value of the type. */
#define FIX_BOOL(m)                   \
	do {                          \
		uint8_t _b;           \
		memcpy(&_b, &(m), 1); \
		(m) = (_b & 1) != 0;  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[32768];
	ZpciEvent e = {};
	EventJournalFields f;
	json_object *o = NULL;
	const char *ref;
	int len;

	memcpy(&e, data, MIN(size, sizeof(e)));
	FIX_BOOL(e.uid_is_unique);
	FIX_BOOL(e.q);
	FIX_BOOL(e.rw);
	FIX_BOOL(e.online);

	if (event_to_json(&e, &o) < 0)
		abort();
	ref = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	len = event_json_format(&e, buf, sizeof(buf));
	if (len < 0 || (size_t)len != strlen(ref) || memcmp(buf, ref, (size_t)len + 1) != 0) {
		fprintf(stderr, "invariant failed: JSON differs\n json-c: %s\n ours:   %.*s\n", ref,
			len < 0 ? 0 : len, buf);
		abort();
	}
	if (event_json_format(&e, buf, (size_t)len) != -ENOBUFS)
		abort();
	json_object_put(o);

	event_journal_fields(&e, &f);
	if (f.n > EVENT_JOURNAL_FIELDS_MAX)
		abort();
	for (size_t i = 0; i < f.n; i++)
		if (f.fields[i] < f.storage ||
		    f.fields[i] + strlen(f.fields[i]) >= f.storage + sizeof(f.storage) ||
		    !strchr(f.fields[i], '='))
			abort();
	return 0;
}
