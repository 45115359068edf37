/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The writers that serialise a record without json-c (the history line,
 * the journal fields, the D-Bus a{sv}) against json-c's serialisation of
 * event_to_json(), over a corpus of records: every key set and unset, all
 * string bytes (escapes), strings that fill their array, extreme numbers,
 * kinds, phases and source bits out of range.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "common/event.h"
#include "common/macro.h"
#include "daemon/bus-util.h"

/* The journal names and number formats of docs (event.h): the reference
 * the journal fields are checked against. */
static const struct {
	const char *key, *journal, *format;
} journal_spec[] = {
	{ "seq", "ZPCID_SEQ", "%" PRIu64 },
	{ "kind", "ZPCID_KIND", NULL },
	{ "source", "ZPCID_SOURCE", NULL },
	{ "time", "ZPCID_TIME", "%" PRIu64 },
	{ "monotonic", "ZPCID_MONOTONIC", "%" PRIu64 },
	{ "fid", "ZPCI_FID", "0x%08" PRIx64 },
	{ "uid", "ZPCI_UID", "0x%" PRIx64 },
	{ "uid_is_unique", "ZPCI_UID_IS_UNIQUE", "%" PRIu64 },
	{ "pchid", "ZPCI_PCHID", "0x%04" PRIx64 },
	{ "pft", "ZPCI_PFT", "0x%02" PRIx64 },
	{ "pft_name", "ZPCI_PFT_NAME", NULL },
	{ "slot", "PCI_SLOT_NAME", NULL },
	{ "fh", "ZPCI_FH", "0x%08" PRIx64 },
	{ "pec", "ZPCI_PEC", "0x%04" PRIx64 },
	{ "pec_name", "ZPCI_PEC_NAME", NULL },
	{ "pec_class", "ZPCI_PEC_CLASS", NULL },
	{ "faddr", "ZPCI_FADDR", "0x%016" PRIx64 },
	{ "ett", "ZPCI_ETT", "%" PRIu64 },
	{ "mvn", "ZPCI_MVN", "%" PRIu64 },
	{ "dmaas", "ZPCI_DMAAS", "%" PRIu64 },
	{ "q", "ZPCI_Q", "%" PRIu64 },
	{ "rw", "ZPCI_RW", "%" PRIu64 },
	{ "recovery", "ZPCI_RECOVERY", NULL },
	{ "online", "ZPCI_ONLINE", "%" PRIu64 },
	{ "action", "ZPCID_ACTION", NULL },
	{ "result", "ZPCID_RESULT", NULL },
	{ "detail", "ZPCID_DETAIL", NULL },
	{ "rule", "ZPCID_RULE", NULL },
	{ "caller_uid", "ZPCID_CALLER_UID", "%" PRIu64 },
	{ "caller_message", "ZPCID_CALLER_MESSAGE", NULL },
	{ "count", "ZPCID_COUNT", "%" PRIu64 },
	{ "message", NULL, NULL },
	{ "owner_pid", "ZPCID_OWNER_PID", "%" PRIu64 },
	{ "owner_command", "ZPCID_OWNER_COMMAND", NULL },
	{ "owner_machine", "ZPCID_OWNER_MACHINE", NULL },
	{ "owner_machine_class", "ZPCID_OWNER_MACHINE_CLASS", NULL },
	{ "owner_unit", "ZPCID_OWNER_UNIT", NULL },
	{ "same_as", "ZPCID_SAME_AS", "%" PRIu64 },
	{ "port", "ZPCI_PORT", "%" PRIu64 },
	{ "adapter_functions", "ZPCID_ADAPTER_FUNCTIONS", "%" PRIu64 },
	{ "adapter_fids", "ZPCID_ADAPTER_FIDS", NULL },
};

/* xorshift64*: the same corpus on every run */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_number(void)
{
	switch (rnd() % 6) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX;
	case 2:
		return rnd() % 16;
	case 3:
		return UINT64_MAX - rnd() % 16;
	default:
		return rnd() >> (rnd() % 64);
	}
}

/* A string field: empty, short, full without a NUL, of any byte but NUL
 * (@ascii: 1..127 only, valid UTF-8 for the bus). */
static void rnd_string(char *s, size_t size, bool ascii)
{
	static const char special[] = "\"\\/\b\f\n\r\t\x01\x1f\x7f";
	size_t n;

	memset(s, 0, size);
	switch (rnd() % 5) {
	case 0:
		return;
	case 1:
		n = size; /* fills the array: no NUL */
		break;
	default:
		n = rnd() % size;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned c = rnd() % 3 == 0 ? (unsigned char)special[rnd() % (sizeof(special) - 1)]
					    : 1 + (unsigned)(rnd() % (ascii ? 127 : 255));
		s[i] = (char)c;
	}
}

static ZpciEvent rnd_event(bool ascii)
{
	static const uint16_t pecs[] = { 0x0002, 0x0003, 0x0040, 0x003a, 0x0100, 0x0702, 0xffff };
	ZpciEvent e = {};

	e.seq = rnd_number();
	e.kind = (EventKind)(rnd() % (_EVENT_KIND_MAX + 1)); /* one past the end: "invalid" */
	e.sources = (unsigned)(rnd() % 128);                 /* bits past the known sources too */
	e.time_usec = rnd_number();
	e.monotonic_usec = rnd_number();
	e.has = (unsigned)(rnd() % 16384); /* bits past the known ones too */
	e.fid = rnd() % 4 == 0 ? 0 : (uint32_t)rnd_number();
	e.uid = (uint32_t)rnd_number();
	e.uid_is_unique = rnd() % 2;
	e.pchid = (uint16_t)rnd_number();
	e.pft = rnd() % 2 ? (uint8_t)(rnd() % 16) : (uint8_t)rnd_number();
	rnd_string(e.slot, sizeof(e.slot), ascii);
	e.fh = (uint32_t)rnd_number();
	e.pec = rnd() % 2 ? pecs[rnd() % ELEMENTSOF(pecs)] : (uint16_t)rnd_number();
	e.faddr = rnd_number();
	e.ett = (uint8_t)rnd_number();
	e.mvn = (uint16_t)rnd_number();
	e.dmaas = (uint8_t)rnd_number();
	e.q = rnd() % 2;
	e.rw = rnd() % 2;
	e.recovery = (RecoveryPhase)(rnd() % 5); /* 4: "invalid" */
	e.online = rnd() % 2;
	rnd_string(e.action, sizeof(e.action), ascii);
	rnd_string(e.result, sizeof(e.result), ascii);
	rnd_string(e.detail, sizeof(e.detail), ascii);
	rnd_string(e.rule, sizeof(e.rule), ascii);
	e.caller_uid = (uint32_t)rnd_number();
	rnd_string(e.caller_message, sizeof(e.caller_message), ascii);
	e.count = (uint32_t)rnd_number();
	rnd_string(e.message, sizeof(e.message), ascii);
	e.owner_pid = rnd() % 2 ? 0 : (uint32_t)rnd_number();
	rnd_string(e.owner_command, sizeof(e.owner_command), ascii);
	rnd_string(e.owner_machine, sizeof(e.owner_machine), ascii);
	rnd_string(e.owner_machine_class, sizeof(e.owner_machine_class), ascii);
	rnd_string(e.owner_unit, sizeof(e.owner_unit), ascii);
	e.same_as = rnd() % 2 ? 0 : rnd_number();
	e.port = (uint32_t)rnd_number();
	e.adapter_functions = (uint32_t)rnd_number();
	rnd_string(e.adapter_fids, sizeof(e.adapter_fids), ascii);
	return e;
}

/* Every key set, every string at its longest and full of escapes (@ascii:
 * bytes 1..127 only). */
static ZpciEvent full_event(bool ascii)
{
	ZpciEvent e = {
		.seq = UINT64_MAX,
		.kind = EVENT_ACTION,
		.sources = 0x1f,
		.time_usec = UINT64_MAX - 1,
		.monotonic_usec = 1,
		.has = 0xfff,
		.fid = UINT32_MAX,
		.uid = UINT32_MAX,
		.uid_is_unique = true,
		.pchid = UINT16_MAX,
		.pft = 0x0b,
		.fh = 0x80000021,
		.pec = 0x3a,
		.faddr = UINT64_MAX,
		.ett = UINT8_MAX,
		.mvn = UINT16_MAX,
		.dmaas = UINT8_MAX,
		.q = true,
		.rw = true,
		.recovery = RECOVERY_FAILED,
		.online = true,
		.caller_uid = UINT32_MAX,
		.count = UINT32_MAX,
		.owner_pid = UINT32_MAX,
		.same_as = UINT64_MAX,
		.port = UINT32_MAX,
		.adapter_functions = UINT32_MAX,
	};
	char *strings[] = {
		e.slot,           e.action,      e.result,        e.detail,        e.rule,
		e.caller_message, e.message,     e.owner_command, e.owner_machine, e.owner_machine_class,
		e.owner_unit,     e.adapter_fids
	};
	size_t sizes[] = { sizeof(e.slot),          sizeof(e.action),
			   sizeof(e.result),        sizeof(e.detail),
			   sizeof(e.rule),          sizeof(e.caller_message),
			   sizeof(e.message),       sizeof(e.owner_command),
			   sizeof(e.owner_machine), sizeof(e.owner_machine_class),
			   sizeof(e.owner_unit),    sizeof(e.adapter_fids) };

	for (size_t k = 0; k < ELEMENTSOF(strings); k++)
		for (size_t i = 0; i < sizes[k]; i++)
			strings[k][i] = (char)(1 + (i * 7 + k) % (ascii ? 127 : 255));
	return e;
}

static void check_json(const ZpciEvent *e)
{
	char buf[16384];
	json_object *o = NULL;
	const char *ref;
	int len;

	ck_assert_int_eq(event_to_json(e, &o), 0);
	ref = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	ck_assert_ptr_nonnull(ref);
	len = event_json_format(e, buf, sizeof(buf));
	ck_assert_int_eq(len, (int)strlen(ref));
	ck_assert_str_eq(buf, ref);
	/* exactly the room it needs: the line and its NUL */
	ck_assert_int_eq(event_json_format(e, buf, (size_t)len + 1), len);
	ck_assert_str_eq(buf, ref);
	ck_assert_int_eq(event_json_format(e, buf, (size_t)len), -ENOBUFS);
	ck_assert_int_eq(event_json_format(e, buf, 1), -ENOBUFS);
	json_object_put(o);
}

static void check_journal(const ZpciEvent *e)
{
	json_object *o = NULL;
	EventJournalFields f;
	size_t n = 0;

	ck_assert_int_eq(event_to_json(e, &o), 0);
	event_journal_fields(e, &f);
	json_object_object_foreach (o, key, v) {
		char want[1024];
		size_t k;

		for (k = 0; k < ELEMENTSOF(journal_spec); k++)
			if (streq(journal_spec[k].key, key))
				break;
		ck_assert_msg(k < ELEMENTSOF(journal_spec), "key %s is not in the journal spec", key);
		if (!journal_spec[k].journal)
			continue;
		if (json_object_is_type(v, json_type_string))
			(void)snprintf(want, sizeof(want), "%s=%s", journal_spec[k].journal,
				       json_object_get_string(v));
		else {
			char num[64];
			uint64_t x = json_object_is_type(v, json_type_boolean)
					     ? (uint64_t)json_object_get_boolean(v)
					     : json_object_get_uint64(v);

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
			(void)snprintf(num, sizeof(num), journal_spec[k].format, x);
#pragma GCC diagnostic pop
			(void)snprintf(want, sizeof(want), "%s=%s", journal_spec[k].journal, num);
		}
		ck_assert_uint_lt(n, f.n);
		ck_assert_str_eq(f.fields[n], want);
		n++;
	}
	ck_assert_uint_eq(n, f.n);
	json_object_put(o);
}

static sd_bus *test_bus(void)
{
	sd_bus *bus = NULL;
	int fds[2];

	/* messages are built on a bus that has started (not connected to anything) */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), 0);
	ck_assert_int_ge(sd_bus_new(&bus), 0);
	ck_assert_int_ge(sd_bus_set_fd(bus, fds[0], fds[0]), 0);
	ck_assert_int_ge(sd_bus_start(bus), 0);
	(void)close(fds[1]);
	return bus;
}

/* The a{sv} of @e as bus_append_event() writes it against event_to_json():
 * the same keys in the same order, each with its table signature and value. */
static void check_bus(sd_bus *bus, const ZpciEvent *e)
{
	sd_bus_message *m = NULL;
	json_object *o = NULL;
	unsigned i = 0;

	ck_assert_int_eq(event_to_json(e, &o), 0);
	ck_assert_int_ge(
		sd_bus_message_new_signal(bus, &m, "/org/zpcid1", "org.zpcid1.Manager", "ErrorReported"), 0);
	ck_assert_int_ge(bus_append_event(m, e), 0);
	ck_assert_int_ge(sd_bus_message_seal(m, 1, 0), 0);
	ck_assert_int_ge(sd_bus_message_rewind(m, true), 0);
	ck_assert_int_gt(sd_bus_message_enter_container(m, 'a', "{sv}"), 0);
	json_object_object_foreach (o, key, v) {
		const char *got_key, *contents, *want_key, *sig;
		uint64_t t;
		uint32_t u;
		uint16_t q;
		uint8_t y;
		int b;
		const char *s;

		/* the table's next key the record has */
		do
			ck_assert(event_key_get(i++, &want_key, &sig));
		while (!streq(want_key, key));
		ck_assert_int_gt(sd_bus_message_enter_container(m, 'e', "sv"), 0);
		ck_assert_int_gt(sd_bus_message_read_basic(m, 's', &got_key), 0);
		ck_assert_str_eq(got_key, key);
		ck_assert_int_gt(sd_bus_message_peek_type(m, NULL, &contents), 0);
		ck_assert_str_eq(contents, sig);
		ck_assert_int_gt(sd_bus_message_enter_container(m, 'v', sig), 0);
		switch (sig[0]) {
		case 't':
			ck_assert_int_gt(sd_bus_message_read_basic(m, 't', &t), 0);
			ck_assert_uint_eq(t, json_object_get_uint64(v));
			break;
		case 'u':
			ck_assert_int_gt(sd_bus_message_read_basic(m, 'u', &u), 0);
			ck_assert_uint_eq(u, json_object_get_uint64(v));
			break;
		case 'q':
			ck_assert_int_gt(sd_bus_message_read_basic(m, 'q', &q), 0);
			ck_assert_uint_eq(q, json_object_get_uint64(v));
			break;
		case 'y':
			ck_assert_int_gt(sd_bus_message_read_basic(m, 'y', &y), 0);
			ck_assert_uint_eq(y, json_object_get_uint64(v));
			break;
		case 'b':
			ck_assert_int_gt(sd_bus_message_read_basic(m, 'b', &b), 0);
			ck_assert_int_eq(b, json_object_get_boolean(v));
			break;
		case 's':
			ck_assert_int_gt(sd_bus_message_read_basic(m, 's', &s), 0);
			ck_assert_str_eq(s, json_object_get_string(v));
			break;
		default:
			ck_abort_msg("signature %s", sig);
		}
		ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
		ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
	}
	ck_assert_int_eq(sd_bus_message_at_end(m, false), 1);
	ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
	ck_assert_int_eq(sd_bus_message_at_end(m, true), 1);
	sd_bus_message_unref(m);
	json_object_put(o);
}

START_TEST(test_json_fixed)
{
	ZpciEvent e = {};
	char buf[64];

	ck_assert_int_eq(event_json_format(&e, buf, sizeof(buf)), 16);
	ck_assert_str_eq(buf, "{\"kind\":\"error\"}");
	check_json(&e);
	e = full_event(false);
	check_json(&e);

	/* every byte but NUL in a string, alone and between others */
	for (unsigned c = 1; c < 256; c++) {
		e = (ZpciEvent){ .kind = EVENT_ACTION };
		e.detail[0] = (char)c;
		check_json(&e);
		(void)snprintf(e.detail, sizeof(e.detail), "a%cb%c%c", c, c, c);
		check_json(&e);
	}
}
END_TEST

START_TEST(test_json_corpus)
{
	for (unsigned i = 0; i < 5000; i++) {
		ZpciEvent e = rnd_event(false);

		check_json(&e);
	}
}
END_TEST

START_TEST(test_journal_corpus)
{
	ZpciEvent e = full_event(false);

	check_journal(&e);
	e = (ZpciEvent){};
	check_journal(&e);
	for (unsigned i = 0; i < 5000; i++) {
		e = rnd_event(false);
		check_journal(&e);
	}
}
END_TEST

START_TEST(test_format_number)
{
	static const char *const formats[] = {
		"0x%08" PRIx64,  "0x%" PRIx64, "0x%04" PRIx64, "0x%02" PRIx64,
		"0x%016" PRIx64, "%" PRIu64,   "%" PRIx64,     "0x%20" PRIx64
	};

	for (unsigned i = 0; i < 5000; i++) {
		uint64_t v = rnd_number();

		for (size_t k = 0; k < ELEMENTSOF(formats); k++) {
			char want[64], got[64];
			int n;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
			n = snprintf(want, sizeof(want), formats[k], v);
#pragma GCC diagnostic pop
			ck_assert_uint_eq(event_format_number(formats[k], v, got, sizeof(got)), (size_t)n);
			ck_assert_str_eq(got, want);
			/* cut as snprintf() cuts */
			ck_assert_uint_eq(event_format_number(formats[k], v, got, 5), (size_t)n);
			ck_assert_int_eq(strncmp(got, want, 4), 0);
			ck_assert_uint_eq(strlen(got), MIN(4, (size_t)n));
		}
		{
			char got[32], want[32];

			(void)snprintf(want, sizeof(want), "%" PRIu64, v);
			ck_assert_uint_eq(event_format_number(NULL, v, got, sizeof(got)), strlen(want));
			ck_assert_str_eq(got, want);
		}
	}
}
END_TEST

START_TEST(test_bus_corpus)
{
	sd_bus *bus = test_bus();
	sd_bus_message *m = NULL;
	ZpciEvent e = full_event(false);

	/* invalid UTF-8 is refused by sd-bus, as it was */
	ck_assert_int_ge(
		sd_bus_message_new_signal(bus, &m, "/org/zpcid1", "org.zpcid1.Manager", "ErrorReported"), 0);
	ck_assert_int_lt(bus_append_event(m, &e), 0);
	m = sd_bus_message_unref(m);

	e = full_event(true);
	memset(e.slot, 'x', sizeof(e.slot)); /* full arrays: no NUL */
	memset(e.message, 'y', sizeof(e.message));
	memset(e.owner_unit, 'z', sizeof(e.owner_unit)); /* the last string */
	check_bus(bus, &e);
	e = (ZpciEvent){};
	check_bus(bus, &e);
	(void)snprintf(e.detail, sizeof(e.detail), "grüße, 错误 \xf0\x9f\x94\xa5");
	check_bus(bus, &e);
	for (unsigned i = 0; i < 2000; i++) {
		e = rnd_event(true);
		check_bus(bus, &e);
	}
	sd_bus_flush_close_unref(bus);
}
END_TEST

static Suite *encode_suite(void)
{
	Suite *s = suite_create("event-encode");
	TCase *tc = tcase_create("encode");

	/* thousands of records, and valgrind in the memcheck tier */
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_json_fixed);
	tcase_add_test(tc, test_json_corpus);
	tcase_add_test(tc, test_journal_corpus);
	tcase_add_test(tc, test_format_number);
	tcase_add_test(tc, test_bus_corpus);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(encode_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
