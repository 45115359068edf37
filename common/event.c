/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * event: the key table of ZpciEvent and everything derived from it — JSON
 * (history, zpcictl, and the a{sv} of D-Bus signals share the keys), journal
 * fields, the human message, the priority and the string tables of kinds and
 * sources. Adding a field means adding one row to event_keys[]; nothing here
 * knows about sockets, files or the bus.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "common/action.h"
#include "common/event.h"
#include "common/macro.h"
#include "common/pec.h"

typedef enum EventKeyType {
	KEY_U64,
	KEY_U32,
	KEY_U16,
	KEY_U8,
	KEY_BOOL,
	KEY_STRING,    /* char array in the struct */
	KEY_KIND,      /* EventKind as its name */
	KEY_SOURCES,   /* EventSource bits as a comma list */
	KEY_RECOVERY,  /* RecoveryPhase as its name */
	KEY_PEC_NAME,  /* derived from pec */
	KEY_PEC_CLASS, /* derived from pec */
	KEY_PFT_NAME,  /* derived from pft */
} EventKeyType;

typedef enum EventKeyPresence {
	PRESENT_ALWAYS,
	PRESENT_HAS_BIT, /* the EVENT_HAS_ bit in .has_bit */
	PRESENT_NONZERO, /* a number that is not 0, a string that is not empty */
	PRESENT_FID,     /* fid, when the record concerns a function */
} EventKeyPresence;

typedef struct EventKey {
	const char *key;
	const char *signature; /* D-Bus */
	const char *journal;   /* journal field name, NULL: not a journal field */
	const char *format;    /* journal format of a number, NULL: decimal */
	EventKeyType type;
	size_t offset;
	size_t size;
	EventKeyPresence presence;
	unsigned has_bit;
} EventKey;

#define FIELD(m) offsetof(ZpciEvent, m), sizeof(((ZpciEvent *)NULL)->m)
#define NOFIELD  0, 0

static const EventKey event_keys[] = {
	{ "seq", "t", "ZPCID_SEQ", NULL, KEY_U64, FIELD(seq), PRESENT_NONZERO, 0 },
	{ "kind", "s", "ZPCID_KIND", NULL, KEY_KIND, FIELD(kind), PRESENT_ALWAYS, 0 },
	{ "source", "s", "ZPCID_SOURCE", NULL, KEY_SOURCES, FIELD(sources), PRESENT_NONZERO, 0 },
	{ "time", "t", "ZPCID_TIME", NULL, KEY_U64, FIELD(time_usec), PRESENT_NONZERO, 0 },
	{ "monotonic", "t", "ZPCID_MONOTONIC", NULL, KEY_U64, FIELD(monotonic_usec), PRESENT_NONZERO, 0 },
	{ "fid", "u", "ZPCI_FID", "0x%08" PRIx64, KEY_U32, FIELD(fid), PRESENT_FID, 0 },
	{ "uid", "u", "ZPCI_UID", "0x%" PRIx64, KEY_U32, FIELD(uid), PRESENT_HAS_BIT, EVENT_HAS_UID },
	{ "uid_is_unique", "b", "ZPCI_UID_IS_UNIQUE", NULL, KEY_BOOL, FIELD(uid_is_unique), PRESENT_HAS_BIT,
	  EVENT_HAS_UID_IS_UNIQUE },
	{ "pchid", "q", "ZPCI_PCHID", "0x%04" PRIx64, KEY_U16, FIELD(pchid), PRESENT_HAS_BIT,
	  EVENT_HAS_PCHID },
	{ "pft", "y", "ZPCI_PFT", "0x%02" PRIx64, KEY_U8, FIELD(pft), PRESENT_HAS_BIT, EVENT_HAS_PFT },
	{ "pft_name", "s", "ZPCI_PFT_NAME", NULL, KEY_PFT_NAME, NOFIELD, PRESENT_HAS_BIT, EVENT_HAS_PFT },
	{ "slot", "s", "PCI_SLOT_NAME", NULL, KEY_STRING, FIELD(slot), PRESENT_NONZERO, 0 },
	{ "fh", "u", "ZPCI_FH", "0x%08" PRIx64, KEY_U32, FIELD(fh), PRESENT_HAS_BIT, EVENT_HAS_FH },
	{ "pec", "q", "ZPCI_PEC", "0x%04" PRIx64, KEY_U16, FIELD(pec), PRESENT_HAS_BIT, EVENT_HAS_PEC },
	{ "pec_name", "s", "ZPCI_PEC_NAME", NULL, KEY_PEC_NAME, NOFIELD, PRESENT_HAS_BIT, EVENT_HAS_PEC },
	{ "pec_class", "s", "ZPCI_PEC_CLASS", NULL, KEY_PEC_CLASS, NOFIELD, PRESENT_HAS_BIT, EVENT_HAS_PEC },
	{ "faddr", "t", "ZPCI_FADDR", "0x%016" PRIx64, KEY_U64, FIELD(faddr), PRESENT_HAS_BIT,
	  EVENT_HAS_CCDF },
	{ "ett", "y", "ZPCI_ETT", NULL, KEY_U8, FIELD(ett), PRESENT_HAS_BIT, EVENT_HAS_CCDF },
	{ "mvn", "q", "ZPCI_MVN", NULL, KEY_U16, FIELD(mvn), PRESENT_HAS_BIT, EVENT_HAS_CCDF },
	{ "dmaas", "y", "ZPCI_DMAAS", NULL, KEY_U8, FIELD(dmaas), PRESENT_HAS_BIT, EVENT_HAS_CCDF },
	{ "q", "b", "ZPCI_Q", NULL, KEY_BOOL, FIELD(q), PRESENT_HAS_BIT, EVENT_HAS_CCDF },
	{ "rw", "b", "ZPCI_RW", NULL, KEY_BOOL, FIELD(rw), PRESENT_HAS_BIT, EVENT_HAS_CCDF },
	{ "recovery", "s", "ZPCI_RECOVERY", NULL, KEY_RECOVERY, FIELD(recovery), PRESENT_NONZERO, 0 },
	{ "online", "b", "ZPCI_ONLINE", NULL, KEY_BOOL, FIELD(online), PRESENT_HAS_BIT, EVENT_HAS_ONLINE },
	{ "action", "s", "ZPCID_ACTION", NULL, KEY_STRING, FIELD(action), PRESENT_NONZERO, 0 },
	{ "result", "s", "ZPCID_RESULT", NULL, KEY_STRING, FIELD(result), PRESENT_NONZERO, 0 },
	{ "detail", "s", "ZPCID_DETAIL", NULL, KEY_STRING, FIELD(detail), PRESENT_NONZERO, 0 },
	{ "rule", "s", "ZPCID_RULE", NULL, KEY_STRING, FIELD(rule), PRESENT_NONZERO, 0 },
	{ "caller_uid", "u", "ZPCID_CALLER_UID", NULL, KEY_U32, FIELD(caller_uid), PRESENT_HAS_BIT,
	  EVENT_HAS_CALLER_UID },
	{ "caller_message", "s", "ZPCID_CALLER_MESSAGE", NULL, KEY_STRING, FIELD(caller_message),
	  PRESENT_NONZERO, 0 },
	{ "count", "u", "ZPCID_COUNT", NULL, KEY_U32, FIELD(count), PRESENT_HAS_BIT, EVENT_HAS_COUNT },
	{ "message", "s", NULL, NULL, KEY_STRING, FIELD(message), PRESENT_NONZERO, 0 },
	{ "owner_pid", "u", "ZPCID_OWNER_PID", NULL, KEY_U32, FIELD(owner_pid), PRESENT_NONZERO, 0 },
	{ "owner_command", "s", "ZPCID_OWNER_COMMAND", NULL, KEY_STRING, FIELD(owner_command),
	  PRESENT_NONZERO, 0 },
	{ "owner_machine", "s", "ZPCID_OWNER_MACHINE", NULL, KEY_STRING, FIELD(owner_machine),
	  PRESENT_NONZERO, 0 },
	{ "owner_machine_class", "s", "ZPCID_OWNER_MACHINE_CLASS", NULL, KEY_STRING,
	  FIELD(owner_machine_class), PRESENT_NONZERO, 0 },
	{ "owner_unit", "s", "ZPCID_OWNER_UNIT", NULL, KEY_STRING, FIELD(owner_unit), PRESENT_NONZERO, 0 },
	{ "same_as", "t", "ZPCID_SAME_AS", NULL, KEY_U64, FIELD(same_as), PRESENT_NONZERO, 0 },
	{ "port", "u", "ZPCI_PORT", NULL, KEY_U32, FIELD(port), PRESENT_HAS_BIT, EVENT_HAS_PORT },
	{ "adapter_functions", "u", "ZPCID_ADAPTER_FUNCTIONS", NULL, KEY_U32, FIELD(adapter_functions),
	  PRESENT_HAS_BIT, EVENT_HAS_ADAPTER_FUNCTIONS },
	{ "adapter_fids", "s", "ZPCID_ADAPTER_FIDS", NULL, KEY_STRING, FIELD(adapter_fids), PRESENT_NONZERO,
	  0 },
};

static const char *const kind_names[_EVENT_KIND_MAX] = {
	[EVENT_ERROR] = "error",   [EVENT_DROPPED] = "dropped", [EVENT_RECOVERY] = "recovery",
	[EVENT_ACTION] = "action", [EVENT_SUMMARY] = "summary", [EVENT_ADAPTER] = "adapter",
};

static const char *const recovery_names[] = {
	[RECOVERY_NONE] = "none",
	[RECOVERY_BEGIN] = "begin",
	[RECOVERY_SUCCESSFUL] = "successful",
	[RECOVERY_FAILED] = "failed",
};

/* In bit order of EventSource. */
static const char *const source_names[] = { "vfio", "delegated", "kmsg", "uevent", "daemon" };

/* PCI function types (the pft attribute), as s390-tools names them. */
static const struct {
	uint8_t pft;
	const char *name;
} pft_names[] = {
	{ 0x00, "unclassified" }, { 0x02, "RoCE Express" }, { 0x05, "ISM" }, { 0x0a, "RoCE Express2" },
	{ 0x0b, "NVMe" },         { 0x0c, "NETH" },         { 0x0d, "CNW" }, { 0x0f, "NETD" },
};

const char *event_pft_to_string(uint8_t pft)
{
	for (size_t i = 0; i < ELEMENTSOF(pft_names); i++)
		if (pft_names[i].pft == pft)
			return pft_names[i].name;
	return "unknown";
}

const char *event_kind_to_string(EventKind k)
{
	if (k < 0 || k >= _EVENT_KIND_MAX)
		return "invalid";
	return kind_names[k];
}

EventKind event_kind_from_string(const char *s)
{
	if (!s)
		return _EVENT_KIND_INVALID;
	for (int i = 0; i < _EVENT_KIND_MAX; i++)
		if (streq(s, kind_names[i]))
			return (EventKind)i;
	return _EVENT_KIND_INVALID;
}

const char *recovery_phase_to_string(RecoveryPhase p)
{
	if ((unsigned)p >= ELEMENTSOF(recovery_names))
		return "invalid";
	return recovery_names[p];
}

static int recovery_phase_from_string(const char *s)
{
	for (size_t i = 0; i < ELEMENTSOF(recovery_names); i++)
		if (streq(s, recovery_names[i]))
			return (int)i;
	return -EINVAL;
}

const char *event_sources_to_string(unsigned sources, char *buf, size_t size)
{
	size_t n = 0;

	if (!buf || size == 0)
		return buf;
	for (size_t i = 0; i < ELEMENTSOF(source_names); i++) {
		size_t len = strlen(source_names[i]), sep = n > 0;

		if (!(sources & (1u << i)))
			continue;
		if (n + sep + len >= size)
			break; /* never half a name */
		if (sep)
			buf[n++] = ',';
		memcpy(buf + n, source_names[i], len);
		n += len;
	}
	buf[n] = 0;
	return buf;
}

int event_sources_from_string(const char *s)
{
	unsigned bits = 0;

	if (isempty(s))
		return -EINVAL;
	for (const char *p = s;;) {
		size_t len = strcspn(p, ",");
		bool found = false;

		for (size_t i = 0; i < ELEMENTSOF(source_names); i++)
			if (strlen(source_names[i]) == len && strneq(p, source_names[i], len)) {
				bits |= 1u << i;
				found = true;
				break;
			}
		if (!found)
			return -EINVAL;
		if (p[len] == 0)
			break;
		p += len + 1;
	}
	return (int)bits;
}

void event_set_ccdf(ZpciEvent *e, const ZpciCcdf *c)
{
	e->fh = c->fh;
	e->pec = c->pec;
	e->faddr = c->faddr;
	e->ett = c->ett;
	e->mvn = c->mvn;
	e->dmaas = c->dmaas;
	e->q = c->q;
	e->rw = c->rw;
	e->has |= EVENT_HAS_FH | EVENT_HAS_PEC | EVENT_HAS_CCDF;
}

const char *event_message_id(const ZpciEvent *e)
{
	switch (e->kind) {
	case EVENT_DROPPED:
		return EVENT_MESSAGE_ID_DROPPED;
	case EVENT_RECOVERY:
		return EVENT_MESSAGE_ID_RECOVERY;
	case EVENT_ACTION:
		return EVENT_MESSAGE_ID_ACTION;
	case EVENT_SUMMARY:
		return EVENT_MESSAGE_ID_SUMMARY;
	case EVENT_ADAPTER:
		return EVENT_MESSAGE_ID_ADAPTER;
	case EVENT_ERROR:
	default:
		return EVENT_MESSAGE_ID_ERROR;
	}
}

int event_priority(const ZpciEvent *e)
{
	switch (e->kind) {
	case EVENT_ERROR:
		if (!(e->has & EVENT_HAS_PEC))
			return LOG_WARNING;
		switch (pec_class_of(e->pec)) {
		case PEC_CLASS_PERMANENT:
			return LOG_ERR;
		case PEC_CLASS_INFORMATIONAL:
			return LOG_INFO;
		case PEC_CLASS_FW_RESET_DONE:
			return LOG_NOTICE;
		default:
			return LOG_WARNING;
		}
	case EVENT_DROPPED:
		return LOG_WARNING;
	case EVENT_RECOVERY:
		return e->recovery == RECOVERY_FAILED ? LOG_ERR : LOG_NOTICE;
	case EVENT_ACTION:
		switch (action_result_from_string(e->result)) {
		case ACTION_RESULT_FAILED:
		case ACTION_RESULT_TIMEOUT:
			return LOG_ERR;
		case ACTION_RESULT_DONE:
			return LOG_NOTICE;
		default:
			return LOG_INFO;
		}
	case EVENT_SUMMARY:
		return LOG_NOTICE;
	case EVENT_ADAPTER:
		return LOG_WARNING;
	default:
		return LOG_INFO;
	}
}

static bool event_concerns_function(const ZpciEvent *e)
{
	return e->fid != 0 || e->slot[0] != 0;
}

/* Messages are cut at the buffer size on purpose. */
_printf_(2, 3) static void message_printf(ZpciEvent *e, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	(void)vsnprintf(e->message, sizeof(e->message), format, ap);
	va_end(ap);
}

void event_format_message(ZpciEvent *e)
{
	char subject[64];

	if (e->message[0])
		return;

	if (!event_concerns_function(e))
		snprintf(subject, sizeof(subject), "zpcid");
	else if (e->slot[0])
		snprintf(subject, sizeof(subject), "PCI function 0x%08" PRIx32 " (%.*s)", e->fid,
			 (int)sizeof(e->slot), e->slot);
	else
		snprintf(subject, sizeof(subject), "PCI function 0x%08" PRIx32, e->fid);

	switch (e->kind) {
	case EVENT_ERROR:
		if ((e->has & EVENT_HAS_PEC) && e->same_as != 0) /* one "reported error" per error */
			message_printf(e, "%s: full record of error 0x%04" PRIx16 " %s (event %" PRIu64 ")",
				       subject, e->pec, pec_lookup(e->pec)->name, e->same_as);
		else if (e->has & EVENT_HAS_PEC)
			message_printf(e, "%s reported error 0x%04" PRIx16 " %s", subject, e->pec,
				       pec_lookup(e->pec)->name);
		else
			message_printf(e, "%s reported an error", subject);
		break;
	case EVENT_DROPPED:
		message_printf(e, "%s: the kernel dropped %" PRIu32 " error event(s), its queue was full",
			       subject, (e->has & EVENT_HAS_COUNT) ? e->count : 1);
		break;
	case EVENT_RECOVERY:
		message_printf(e, "%s: kernel recovery %s%s", subject,
			       e->recovery == RECOVERY_BEGIN        ? "began"
			       : e->recovery == RECOVERY_SUCCESSFUL ? "succeeded"
			       : e->recovery == RECOVERY_FAILED     ? "failed"
								    : "progressed",
			       (e->has & EVENT_HAS_ONLINE)
				       ? (e->online ? ", device online" : ", device offline")
				       : "");
		break;
	case EVENT_ACTION:
		message_printf(e, "%s: action %s %s%s%.*s", subject, e->action[0] ? e->action : "(none)",
			       e->result[0] ? e->result : "requested", e->detail[0] ? ": " : "",
			       (int)sizeof(e->detail), e->detail);
		break;
	case EVENT_SUMMARY:
		message_printf(e, "%s: %" PRIu32 " further event(s) recorded in the history only", subject,
			       (e->has & EVENT_HAS_COUNT) ? e->count : 0);
		break;
	case EVENT_ADAPTER:
		if (e->has & EVENT_HAS_PORT)
			message_printf(e,
				       "adapter PCHID 0x%04" PRIx16 " port %" PRIu32 ": %" PRIu32
				       " of %" PRIu32 " functions reported errors",
				       e->pchid, e->port, e->count, e->adapter_functions);
		else
			message_printf(e,
				       "adapter PCHID 0x%04" PRIx16 ": %" PRIu32 " of %" PRIu32
				       " functions reported errors",
				       e->pchid, e->count, e->adapter_functions);
		break;
	default:
		message_printf(e, "%s: event", subject);
		break;
	}
}

/* Inlined: every writer asks this of every key of every record. */
__attribute__((always_inline)) static inline bool key_present(const EventKey *k, const ZpciEvent *e)
{
	const char *p = (const char *)e + k->offset;

	switch (k->presence) {
	case PRESENT_ALWAYS:
		return true;
	case PRESENT_HAS_BIT:
		return (e->has & k->has_bit) != 0;
	case PRESENT_FID:
		return event_concerns_function(e);
	case PRESENT_NONZERO:
		if (k->type == KEY_STRING)
			return p[0] != 0;
		for (size_t i = 0; i < k->size; i++)
			if (p[i])
				return true;
		return false;
	}
	return false;
}

__attribute__((always_inline)) static inline uint64_t key_get_uint(const EventKey *k, const ZpciEvent *e)
{
	const char *p = (const char *)e + k->offset;

	switch (k->type) {
	case KEY_U64: {
		uint64_t v;
		memcpy(&v, p, sizeof(v));
		return v;
	}
	case KEY_U32: {
		uint32_t v;
		memcpy(&v, p, sizeof(v));
		return v;
	}
	case KEY_U16: {
		uint16_t v;
		memcpy(&v, p, sizeof(v));
		return v;
	}
	case KEY_U8:
		return (uint8_t)p[0];
	case KEY_BOOL: {
		bool v;
		memcpy(&v, p, sizeof(v));
		return v;
	}
	default:
		return 0;
	}
}

static void key_set_uint(const EventKey *k, ZpciEvent *e, uint64_t v)
{
	char *p = (char *)e + k->offset;

	switch (k->type) {
	case KEY_U64:
		memcpy(p, &v, sizeof(v));
		break;
	case KEY_U32: {
		uint32_t x = (uint32_t)v;
		memcpy(p, &x, sizeof(x));
		break;
	}
	case KEY_U16: {
		uint16_t x = (uint16_t)v;
		memcpy(p, &x, sizeof(x));
		break;
	}
	case KEY_U8:
		p[0] = (char)(uint8_t)v;
		break;
	case KEY_BOOL: {
		bool x = v != 0;
		memcpy(p, &x, sizeof(x));
		break;
	}
	default:
		break;
	}
}

static uint64_t key_max(const EventKey *k)
{
	switch (k->type) {
	case KEY_U32:
		return UINT32_MAX;
	case KEY_U16:
		return UINT16_MAX;
	case KEY_U8:
		return UINT8_MAX;
	default:
		return UINT64_MAX;
	}
}

/* The string value of a string-like key, or NULL for a number. */
static const char *key_get_string(const EventKey *k, const ZpciEvent *e, char *buf, size_t size)
{
	switch (k->type) {
	case KEY_STRING:
		snprintf(buf, size, "%.*s", (int)k->size, (const char *)e + k->offset);
		return buf;
	case KEY_KIND:
		return event_kind_to_string(e->kind);
	case KEY_SOURCES:
		return event_sources_to_string(e->sources, buf, size);
	case KEY_RECOVERY:
		return recovery_phase_to_string(e->recovery);
	case KEY_PEC_NAME:
		return pec_lookup(e->pec)->name;
	case KEY_PEC_CLASS:
		return pec_class_to_string(pec_class_of(e->pec));
	case KEY_PFT_NAME:
		return event_pft_to_string(e->pft);
	default:
		return NULL;
	}
}

int event_to_json(const ZpciEvent *e, json_object **ret)
{
	json_object *o;

	o = json_object_new_object();
	if (!o)
		return -ENOMEM;

	for (size_t i = 0; i < ELEMENTSOF(event_keys); i++) {
		const EventKey *k = &event_keys[i];
		char buf[EVENT_MESSAGE_MAX];
		const char *s;
		json_object *v;

		if (!key_present(k, e))
			continue;
		if (k->type == KEY_STRING) {
			/* straight from the field: no formatted copy first */
			const char *p = (const char *)e + k->offset;

			v = json_object_new_string_len(p, (int)strnlen(p, k->size));
		} else if ((s = key_get_string(k, e, buf, sizeof(buf))))
			v = json_object_new_string(s);
		else if (k->type == KEY_BOOL)
			v = json_object_new_boolean(key_get_uint(k, e) != 0);
		else
			v = json_object_new_uint64(key_get_uint(k, e));
		/* every key of the table once, each a constant string: neither a
		 * lookup nor a copy of the key is needed */
		if (!v || json_object_object_add_ex(o, k->key, v,
						    JSON_C_OBJECT_ADD_KEY_IS_NEW |
							    JSON_C_OBJECT_KEY_IS_CONSTANT) < 0) {
			json_object_put(v);
			json_object_put(o);
			return -ENOMEM;
		}
	}
	*ret = o;
	return 0;
}

static int key_read_json(const EventKey *k, json_object *v, ZpciEvent *e)
{
	const char *s;
	int r;

	switch (k->type) {
	case KEY_U64:
	case KEY_U32:
	case KEY_U16:
	case KEY_U8: {
		uint64_t x;

		if (!json_object_is_type(v, json_type_int))
			return -EBADMSG;
		if (k->type != KEY_U64 && json_object_get_int64(v) < 0)
			return -EBADMSG;
		x = json_object_get_uint64(v);
		if (x > key_max(k))
			return -EBADMSG;
		key_set_uint(k, e, x);
		break;
	}
	case KEY_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return -EBADMSG;
		key_set_uint(k, e, json_object_get_boolean(v));
		break;
	case KEY_PEC_NAME:
	case KEY_PEC_CLASS:
	case KEY_PFT_NAME:
		/* Derived from another key: nothing to store. */
		return json_object_is_type(v, json_type_string) ? 0 : -EBADMSG;
	default:
		if (!json_object_is_type(v, json_type_string))
			return -EBADMSG;
		s = json_object_get_string(v);
		if (k->type == KEY_STRING)
			snprintf((char *)e + k->offset, k->size, "%s", s);
		else if (k->type == KEY_KIND) {
			EventKind kind = event_kind_from_string(s);

			if (kind < 0)
				return -EBADMSG;
			e->kind = kind;
		} else if (k->type == KEY_SOURCES) {
			r = event_sources_from_string(s);
			if (r < 0)
				return -EBADMSG;
			e->sources = (unsigned)r;
		} else if (k->type == KEY_RECOVERY) {
			r = recovery_phase_from_string(s);
			if (r < 0)
				return -EBADMSG;
			e->recovery = (RecoveryPhase)r;
		}
		return 0;
	}
	if (k->presence == PRESENT_HAS_BIT)
		e->has |= k->has_bit;
	return 0;
}

int event_from_json(json_object *o, ZpciEvent *ret)
{
	ZpciEvent e = {};

	if (!o || !json_object_is_type(o, json_type_object))
		return -EBADMSG;

	for (size_t i = 0; i < ELEMENTSOF(event_keys); i++) {
		json_object *v;
		int r;

		if (!json_object_object_get_ex(o, event_keys[i].key, &v))
			continue;
		r = key_read_json(&event_keys[i], v, &e);
		if (r < 0)
			return r;
	}
	*ret = e;
	return 0;
}

void event_journal_fields(const ZpciEvent *e, EventJournalFields *f)
{
	EventView v;
	size_t used = 0;

	event_view(e, &v);
	f->n = 0;
	for (size_t i = 0; i < v.n && f->n < EVENT_JOURNAL_FIELDS_MAX; i++) {
		const EventValue *x = &v.values[i];
		char num[32];
		const char *s;
		size_t name_len, len;

		if (!x->journal)
			continue;
		if (x->is_string) {
			s = x->string;
			len = x->length;
		} else {
			s = num;
			len = MIN(event_format_number(x->journal_format, x->number, num, sizeof(num)),
				  sizeof(num) - 1);
		}
		/* "NAME=value" and its NUL, without a format string per field */
		name_len = strlen(x->journal);
		if (name_len + 1 + len >= sizeof(f->storage) - used)
			break; /* out of room: the remaining fields are left out */
		memcpy(f->storage + used, x->journal, name_len);
		f->storage[used + name_len] = '=';
		memcpy(f->storage + used + name_len + 1, s, len);
		f->storage[used + name_len + 1 + len] = '\0';
		f->fields[f->n++] = f->storage + used;
		used += name_len + 1 + len + 1;
	}
}

bool event_key_get(unsigned i, const char **ret_key, const char **ret_dbus_signature)
{
	if (i >= ELEMENTSOF(event_keys))
		return false;
	if (ret_key)
		*ret_key = event_keys[i].key;
	if (ret_dbus_signature)
		*ret_dbus_signature = event_keys[i].signature;
	return true;
}

/* ---- writing a record without building objects ---- */

/* Two digits at a time: half the divisions of a digit loop. */
static const char decimal_pairs[] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

static size_t format_decimal(uint64_t v, char buf[static 21])
{
	char tmp[20], *p = tmp + sizeof(tmp);
	size_t n;

	while (v >= 100) {
		p -= 2;
		memcpy(p, decimal_pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, decimal_pairs + 2 * v, 2);
	} else
		*--p = (char)('0' + v);
	n = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(buf, p, n);
	buf[n] = '\0';
	return n;
}

/* "0x%" [ "0" width ] PRIx64: the hex formats of the key table; the width,
 * or -1 for another format. Read by hand: this runs for every number of
 * every journal record. */
static int hex_format_width(const char *format)
{
	static const char prix64[] = PRIx64;
	int width = 0;
	size_t i;

	if (format[0] != '0' || format[1] != 'x' || format[2] != '%')
		return -1;
	format += 3;
	if (format[0] == '0')
		for (format++; *format >= '0' && *format <= '9'; format++)
			width = width * 10 + (*format - '0');
	for (i = 0; i < sizeof(prix64); i++) /* with the NUL */
		if (format[i] != prix64[i])
			return -1;
	return width <= 16 ? width : -1;
}

size_t event_format_number(const char *format, uint64_t v, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[24];
	size_t n = 0;
	int width, r;

	if (!format)
		n = format_decimal(v, tmp);
	else if ((width = hex_format_width(format)) >= 0) {
		size_t digits = v ? (size_t)(64 - __builtin_clzll(v) + 3) / 4 : 1;

		if (digits < (size_t)width)
			digits = (size_t)width;
		tmp[n++] = '0';
		tmp[n++] = 'x';
		for (size_t i = digits; i > 0; i--)
			tmp[n++] = hex[(v >> (4 * (i - 1))) & 0xf];
		tmp[n] = '\0';
	} else {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		r = snprintf(buf, size, format, v);
#pragma GCC diagnostic pop
		return r < 0 ? 0 : (size_t)r;
	}
	if (size > 0) {
		size_t k = MIN(n, size - 1);

		memcpy(buf, tmp, k);
		buf[k] = '\0';
	}
	return n;
}

void event_view(const ZpciEvent *e, EventView *ret)
{
	const PecInfo *pec = NULL;

	ret->n = 0;
	ret->sources[0] = '\0';
	for (size_t i = 0; i < ELEMENTSOF(event_keys) && ret->n < EVENT_KEYS_MAX; i++) {
		const EventKey *k = &event_keys[i];
		EventValue *v;

		if (!key_present(k, e))
			continue;
		v = &ret->values[ret->n++];
		*v = (EventValue){
			.key = k->key,
			.signature = k->signature,
			.journal = k->journal,
			.journal_format = k->format,
			.terminated = true,
			.is_string = true,
		};
		switch (k->type) {
		case KEY_STRING:
			v->string = (const char *)e + k->offset;
			v->length = strnlen(v->string, k->size);
			v->terminated = v->length < k->size;
			continue;
		case KEY_KIND:
			v->string = event_kind_to_string(e->kind);
			break;
		case KEY_SOURCES:
			v->string = event_sources_to_string(e->sources, ret->sources, sizeof(ret->sources));
			break;
		case KEY_RECOVERY:
			v->string = recovery_phase_to_string(e->recovery);
			break;
		case KEY_PEC_NAME:
		case KEY_PEC_CLASS:
			/* one lookup of the code for its name and class */
			if (!pec)
				pec = pec_lookup(e->pec);
			v->string = k->type == KEY_PEC_NAME ? pec->name
							    : pec_class_to_string(pec->pec_class);
			break;
		case KEY_PFT_NAME:
			v->string = event_pft_to_string(e->pft);
			break;
		default:
			v->is_string = false;
			v->is_bool = k->type == KEY_BOOL;
			v->number = key_get_uint(k, e);
			continue;
		}
		v->length = strlen(v->string);
	}
}

/* What json-c writes for each byte of a string: 0 the byte itself, 'u'
 * \u00XX, else a backslash and this character. */
static const char json_escapes[256] = {
	['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',  [0x01] = 'u', [0x02] = 'u',
	[0x03] = 'u', [0x04] = 'u', [0x05] = 'u', [0x06] = 'u', [0x07] = 'u',  [0x0b] = 'u', [0x0e] = 'u',
	[0x0f] = 'u', [0x10] = 'u', [0x11] = 'u', [0x12] = 'u', [0x13] = 'u',  [0x14] = 'u', [0x15] = 'u',
	[0x16] = 'u', [0x17] = 'u', [0x18] = 'u', [0x19] = 'u', [0x1a] = 'u',  [0x1b] = 'u', [0x1c] = 'u',
	[0x1d] = 'u', [0x1e] = 'u', [0x1f] = 'u', ['"'] = '"',  ['\\'] = '\\', ['/'] = '/',
};

typedef struct JsonOut {
	char *p, *end; /* end: the last byte, kept for the NUL */
	bool full;
} JsonOut;

static void json_put(JsonOut *o, const char *s, size_t n)
{
	if (_unlikely_((size_t)(o->end - o->p) < n)) {
		o->full = true;
		return;
	}
	memcpy(o->p, s, n);
	o->p += n;
}

static void json_put_string(JsonOut *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = 0;

	json_put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e = json_escapes[c];

		if (_likely_(!e))
			continue;
		json_put(o, s + start, i - start);
		if (e == 'u') {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };

			json_put(o, u, sizeof(u));
		} else {
			char b[2] = { '\\', e };

			json_put(o, b, sizeof(b));
		}
		start = i + 1;
	}
	json_put(o, s + start, n - start);
	json_put(o, "\"", 1);
}

int event_view_json_format(const EventView *v, char *buf, size_t size)
{
	JsonOut o = { .p = buf, .end = buf + size - 1 };

	if (size == 0)
		return -ENOBUFS;
	json_put(&o, "{", 1);
	for (size_t i = 0; i < v->n; i++) {
		const EventValue *x = &v->values[i];

		if (i > 0)
			json_put(&o, ",", 1);
		/* the keys are plain words: nothing to escape */
		json_put(&o, "\"", 1);
		json_put(&o, x->key, strlen(x->key));
		json_put(&o, "\":", 2);
		if (x->is_string)
			json_put_string(&o, x->string, x->length);
		else if (x->is_bool)
			json_put(&o, x->number ? "true" : "false", x->number ? 4 : 5);
		else {
			char num[21];

			json_put(&o, num, format_decimal(x->number, num));
		}
	}
	json_put(&o, "}", 1);
	if (o.full)
		return -ENOBUFS;
	*o.p = '\0';
	return (int)(o.p - buf);
}

int event_json_format(const ZpciEvent *e, char *buf, size_t size)
{
	EventView v;

	event_view(e, &v);
	return event_view_json_format(&v, buf, size);
}
