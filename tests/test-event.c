/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <syslog.h>

#include "common/event.h"
#include "common/macro.h"

static ZpciEvent error_event(uint16_t pec)
{
	ZpciEvent e = {
		.seq = 7,
		.kind = EVENT_ERROR,
		.sources = EVENT_SOURCE_VFIO,
		.time_usec = 1700000000000000ULL,
		.monotonic_usec = 12345,
		.fid = 0x21,
		.uid = 0x1,
		.uid_is_unique = true,
		.pchid = 0x1c0,
		.pft = 0x05,
		.slot = "0001:00:00.0",
		.has = EVENT_HAS_UID | EVENT_HAS_UID_IS_UNIQUE | EVENT_HAS_PCHID | EVENT_HAS_PFT,
	};
	const ZpciCcdf c = {
		.fh = 0x80000021,
		.fid = 0x21,
		.ett = 2,
		.mvn = 0x10,
		.dmaas = 0,
		.q = true,
		.faddr = 0xfffffffffffff000ULL,
		.pec = pec,
	};

	event_set_ccdf(&e, &c);
	return e;
}

/* Field by field: padding bytes of the struct are not part of the record. */
static void assert_events_equal(const ZpciEvent *a, const ZpciEvent *b)
{
	ck_assert_uint_eq(a->seq, b->seq);
	ck_assert_int_eq(a->kind, b->kind);
	ck_assert_uint_eq(a->sources, b->sources);
	ck_assert_uint_eq(a->time_usec, b->time_usec);
	ck_assert_uint_eq(a->monotonic_usec, b->monotonic_usec);
	ck_assert_uint_eq(a->has, b->has);
	ck_assert_uint_eq(a->fid, b->fid);
	ck_assert_uint_eq(a->uid, b->uid);
	ck_assert_int_eq(a->uid_is_unique, b->uid_is_unique);
	ck_assert_uint_eq(a->pchid, b->pchid);
	ck_assert_uint_eq(a->pft, b->pft);
	ck_assert_str_eq(a->slot, b->slot);
	ck_assert_uint_eq(a->fh, b->fh);
	ck_assert_uint_eq(a->pec, b->pec);
	ck_assert_uint_eq(a->faddr, b->faddr);
	ck_assert_uint_eq(a->ett, b->ett);
	ck_assert_uint_eq(a->mvn, b->mvn);
	ck_assert_uint_eq(a->dmaas, b->dmaas);
	ck_assert_str_eq(a->rule, b->rule);
	ck_assert_uint_eq(a->caller_uid, b->caller_uid);
	ck_assert_str_eq(a->caller_message, b->caller_message);
	ck_assert_int_eq(a->q, b->q);
	ck_assert_int_eq(a->rw, b->rw);
	ck_assert_int_eq(a->recovery, b->recovery);
	ck_assert_int_eq(a->online, b->online);
	ck_assert_str_eq(a->action, b->action);
	ck_assert_str_eq(a->result, b->result);
	ck_assert_str_eq(a->detail, b->detail);
	ck_assert_uint_eq(a->count, b->count);
	ck_assert_str_eq(a->message, b->message);
}

static const char *field(const EventJournalFields *f, const char *key)
{
	size_t l = strlen(key);

	for (size_t i = 0; i < f->n; i++)
		if (strneq(f->fields[i], key, l) && f->fields[i][l] == '=')
			return f->fields[i] + l + 1;
	return NULL;
}

START_TEST(test_kind_and_source_strings)
{
	char buf[64];

	for (int k = 0; k < _EVENT_KIND_MAX; k++)
		ck_assert_int_eq(event_kind_from_string(event_kind_to_string(k)), k);
	ck_assert_str_eq(event_kind_to_string(EVENT_DROPPED), "dropped");
	ck_assert_str_eq(event_kind_to_string(_EVENT_KIND_MAX), "invalid");
	ck_assert_int_eq(event_kind_from_string("boom"), _EVENT_KIND_INVALID);
	ck_assert_str_eq(recovery_phase_to_string(RECOVERY_SUCCESSFUL), "successful");

	ck_assert_str_eq(event_sources_to_string(EVENT_SOURCE_VFIO | EVENT_SOURCE_KMSG, buf, sizeof(buf)),
			 "vfio,kmsg");
	ck_assert_str_eq(event_sources_to_string(0, buf, sizeof(buf)), "");
	ck_assert_str_eq(event_sources_to_string(EVENT_SOURCE_DAEMON, buf, sizeof(buf)), "daemon");
	ck_assert_int_eq(event_sources_from_string("delegated,uevent"),
			 EVENT_SOURCE_DELEGATED | EVENT_SOURCE_UEVENT);
	ck_assert_int_eq(event_sources_from_string("vfio,delegated,kmsg,uevent,daemon"), 0x1f);
	ck_assert_int_eq(event_sources_from_string(""), -EINVAL);
	ck_assert_int_eq(event_sources_from_string("vfio,"), -EINVAL);
	ck_assert_int_eq(event_sources_from_string("vfi"), -EINVAL);
	ck_assert_int_eq(event_sources_from_string("vfio,kmsgx"), -EINVAL);
	/* a short buffer truncates at a name boundary, never mid-name */
	ck_assert_str_eq(event_sources_to_string(EVENT_SOURCE_VFIO | EVENT_SOURCE_DELEGATED, buf, 8),
			 "vfio");
}
END_TEST

START_TEST(test_format_message)
{
	ZpciEvent e = error_event(0x3a);

	event_format_message(&e);
	ck_assert_str_eq(e.message,
			 "PCI function 0x00000021 (0001:00:00.0) reported error 0x003a fw-reset-done");

	/* an existing message is kept */
	e.pec = 0x3b;
	event_format_message(&e);
	ck_assert_str_eq(e.message,
			 "PCI function 0x00000021 (0001:00:00.0) reported error 0x003a fw-reset-done");

	e = (ZpciEvent){ .kind = EVENT_ERROR, .fid = 0x100 };
	event_format_message(&e);
	ck_assert_str_eq(e.message, "PCI function 0x00000100 reported an error");

	e = (ZpciEvent){ .kind = EVENT_DROPPED, .fid = 0x100, .count = 3, .has = EVENT_HAS_COUNT };
	event_format_message(&e);
	ck_assert_ptr_nonnull(strstr(e.message, "dropped 3 error event"));

	e = (ZpciEvent){ .kind = EVENT_ACTION,
			 .fid = 0x100,
			 .action = "reset",
			 .result = "failed",
			 .detail = "Device or resource busy" };
	event_format_message(&e);
	ck_assert_str_eq(e.message, "PCI function 0x00000100: action reset failed: Device or resource busy");
}
END_TEST

START_TEST(test_priority)
{
	ZpciEvent e = error_event(0x3b);

	ck_assert_int_eq(event_priority(&e), LOG_ERR);
	e.pec = 0x2b;
	ck_assert_int_eq(event_priority(&e), LOG_INFO);
	e.pec = 0x02;
	ck_assert_int_eq(event_priority(&e), LOG_WARNING);
	e.pec = 0x3a;
	ck_assert_int_eq(event_priority(&e), LOG_NOTICE);

	e = (ZpciEvent){ .kind = EVENT_ACTION, .result = "failed" };
	ck_assert_int_eq(event_priority(&e), LOG_ERR);
	snprintf(e.result, sizeof(e.result), "dry-run");
	ck_assert_int_lt(LOG_ERR, event_priority(&e));
	e = (ZpciEvent){ .kind = EVENT_RECOVERY, .recovery = RECOVERY_FAILED };
	ck_assert_int_eq(event_priority(&e), LOG_ERR);
	ck_assert_str_eq(event_message_id(&e), EVENT_MESSAGE_ID_RECOVERY);
	e.kind = EVENT_ERROR;
	ck_assert_str_eq(event_message_id(&e), EVENT_MESSAGE_ID_ERROR);
}
END_TEST

START_TEST(test_journal_fields)
{
	ZpciEvent e = error_event(0x3a);
	EventJournalFields f;

	event_journal_fields(&e, &f);
	ck_assert_str_eq(field(&f, "ZPCI_FID"), "0x00000021");
	ck_assert_str_eq(field(&f, "ZPCI_FH"), "0x80000021");
	ck_assert_str_eq(field(&f, "ZPCI_PEC"), "0x003a");
	ck_assert_str_eq(field(&f, "ZPCI_PCHID"), "0x01c0");
	ck_assert_str_eq(field(&f, "ZPCI_PFT"), "0x05");
	ck_assert_str_eq(field(&f, "ZPCI_PFT_NAME"), "ISM");
	ck_assert_str_eq(field(&f, "ZPCI_FADDR"), "0xfffffffffffff000");
	ck_assert_str_eq(field(&f, "ZPCI_PEC_NAME"), "fw-reset-done");
	ck_assert_str_eq(field(&f, "ZPCI_PEC_CLASS"), "fw-reset-done");
	ck_assert_str_eq(field(&f, "PCI_SLOT_NAME"), "0001:00:00.0");
	ck_assert_str_eq(field(&f, "ZPCID_KIND"), "error");
	ck_assert_str_eq(field(&f, "ZPCID_SOURCE"), "vfio");
	ck_assert_str_eq(field(&f, "ZPCID_SEQ"), "7");
	ck_assert_str_eq(field(&f, "ZPCI_Q"), "1");
	ck_assert_str_eq(field(&f, "ZPCI_RW"), "0");
	ck_assert_str_eq(field(&f, "ZPCI_MVN"), "16");
	/* not set: absent */
	ck_assert_ptr_null(field(&f, "ZPCI_ONLINE"));
	ck_assert_ptr_null(field(&f, "ZPCID_ACTION"));
	ck_assert_ptr_null(field(&f, "ZPCID_COUNT"));
	ck_assert_ptr_null(field(&f, "ZPCI_RECOVERY"));
	ck_assert_ptr_null(field(&f, "MESSAGE"));

	/* a daemon-wide record has no function fields at all */
	e = (ZpciEvent){ .kind = EVENT_SUMMARY, .count = 5, .has = EVENT_HAS_COUNT };
	event_journal_fields(&e, &f);
	ck_assert_ptr_null(field(&f, "ZPCI_FID"));
	ck_assert_ptr_null(field(&f, "ZPCI_PEC"));
	ck_assert_str_eq(field(&f, "ZPCID_COUNT"), "5");
	ck_assert_uint_eq(f.n, 2);
}
END_TEST

/* The rule of an action, and who asked for a manual one: the same key in
 * the journal, JSON (and so the history) and the D-Bus a{sv}. */
START_TEST(test_rule_and_caller)
{
	ZpciEvent e = { .kind = EVENT_ACTION, .fid = 0x22, .sources = EVENT_SOURCE_DAEMON }, back;
	EventJournalFields f;
	json_object *o = NULL, *v;
	const char *key, *sig;
	bool rule = false, uid = false, msg = false;

	snprintf(e.action, sizeof(e.action), "reset");
	snprintf(e.result, sizeof(e.result), "done");
	snprintf(e.rule, sizeof(e.rule), "first-aid");
	event_journal_fields(&e, &f);
	ck_assert_str_eq(field(&f, "ZPCID_RULE"), "first-aid");
	ck_assert_ptr_null(field(&f, "ZPCID_CALLER_UID"));
	ck_assert_ptr_null(field(&f, "ZPCID_CALLER_MESSAGE"));
	ck_assert_int_eq(event_to_json(&e, &o), 0);
	ck_assert(json_object_object_get_ex(o, "rule", &v));
	ck_assert_str_eq(json_object_get_string(v), "first-aid");
	ck_assert(!json_object_object_get_ex(o, "caller_uid", NULL));
	json_object_put(o);

	/* by hand: uid 0 is a caller too */
	e.rule[0] = '\0';
	e.caller_uid = 0;
	e.has |= EVENT_HAS_CALLER_UID;
	snprintf(e.caller_message, sizeof(e.caller_message), "replacing the card");
	event_journal_fields(&e, &f);
	ck_assert_ptr_null(field(&f, "ZPCID_RULE"));
	ck_assert_str_eq(field(&f, "ZPCID_CALLER_UID"), "0");
	ck_assert_str_eq(field(&f, "ZPCID_CALLER_MESSAGE"), "replacing the card");
	ck_assert_int_eq(event_to_json(&e, &o), 0);
	ck_assert(json_object_object_get_ex(o, "caller_uid", &v));
	ck_assert_int_eq(json_object_get_int(v), 0);
	ck_assert(json_object_object_get_ex(o, "caller_message", &v));
	ck_assert_str_eq(json_object_get_string(v), "replacing the card");
	ck_assert_int_eq(event_from_json(o, &back), 0);
	assert_events_equal(&back, &e);
	json_object_put(o);

	for (unsigned i = 0; event_key_get(i, &key, &sig); i++) {
		rule |= streq(key, "rule") && streq(sig, "s");
		uid |= streq(key, "caller_uid") && streq(sig, "u");
		msg |= streq(key, "caller_message") && streq(sig, "s");
	}
	ck_assert(rule && uid && msg);
}
END_TEST

START_TEST(test_json_round_trip)
{
	ZpciEvent e = error_event(0x40), back;
	json_object *o = NULL, *v;

	snprintf(e.detail, sizeof(e.detail), "rule permanent");
	event_format_message(&e);
	ck_assert_int_eq(event_to_json(&e, &o), 0);

	ck_assert(json_object_object_get_ex(o, "pec", &v));
	ck_assert_int_eq(json_object_get_int(v), 0x40);
	ck_assert(json_object_object_get_ex(o, "pec_class", &v));
	ck_assert_str_eq(json_object_get_string(v), "permanent");
	ck_assert(json_object_object_get_ex(o, "source", &v));
	ck_assert_str_eq(json_object_get_string(v), "vfio");
	ck_assert(json_object_object_get_ex(o, "q", &v));
	ck_assert(json_object_is_type(v, json_type_boolean));
	ck_assert(!json_object_object_get_ex(o, "online", NULL));
	ck_assert(!json_object_object_get_ex(o, "count", NULL));
	ck_assert(!json_object_object_get_ex(o, "action", NULL));

	ck_assert_int_eq(event_from_json(o, &back), 0);
	assert_events_equal(&back, &e);
	json_object_put(o);

	/* through text, as the history stores it */
	e = (ZpciEvent){ .kind = EVENT_RECOVERY,
			 .sources = EVENT_SOURCE_UEVENT | EVENT_SOURCE_KMSG,
			 .fid = 7,
			 .recovery = RECOVERY_SUCCESSFUL,
			 .online = true,
			 .has = EVENT_HAS_ONLINE };
	ck_assert_int_eq(event_to_json(&e, &o), 0);
	{
		json_object *p = json_tokener_parse(json_object_to_json_string(o));

		ck_assert_ptr_nonnull(p);
		ck_assert_int_eq(event_from_json(p, &back), 0);
		json_object_put(p);
	}
	assert_events_equal(&back, &e);
	json_object_put(o);
}
END_TEST

START_TEST(test_json_rejects_bad_types)
{
	static const char *const bad[] = {
		"{\"pec\":\"0x3a\"}",
		"{\"pec\":70000}",
		"{\"pec\":-1}",
		"{\"kind\":\"boom\"}",
		"{\"kind\":1}",
		"{\"source\":\"vfio,x\"}",
		"{\"q\":1}",
		"{\"slot\":5}",
		"{\"recovery\":\"maybe\"}",
		"{\"fid\":4294967296}",
		"{\"pec_name\":3}",
		"[]",
	};
	ZpciEvent e;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		json_object *o = json_tokener_parse(bad[i]);

		ck_assert_ptr_nonnull(o);
		ck_assert_msg(event_from_json(o, &e) == -EBADMSG, "accepted %s", bad[i]);
		json_object_put(o);
	}

	/* unknown keys are ignored; derived keys are not read back */
	{
		json_object *o = json_tokener_parse(
			"{\"kind\":\"error\",\"future\":1,\"pec_name\":\"x\",\"fid\":33}");

		ck_assert_int_eq(event_from_json(o, &e), 0);
		ck_assert_uint_eq(e.fid, 33);
		ck_assert_uint_eq(e.has, 0);
		json_object_put(o);
	}
}
END_TEST

START_TEST(test_key_table)
{
	const char *key, *sig;
	unsigned n = 0;
	bool saw_pec = false, saw_message = false;

	for (; event_key_get(n, &key, &sig); n++) {
		ck_assert_int_gt(strlen(key), 0);
		ck_assert_int_eq(strlen(sig), 1);
		ck_assert_ptr_nonnull(strchr("tsubqy", sig[0]));
		if (streq(key, "pec")) {
			ck_assert_str_eq(sig, "q");
			saw_pec = true;
		}
		if (streq(key, "message"))
			saw_message = true;
	}
	ck_assert(saw_pec && saw_message);
	ck_assert_uint_le(n, EVENT_JOURNAL_FIELDS_MAX);
	ck_assert(!event_key_get(n, &key, &sig));
	ck_assert_str_eq(event_pft_to_string(0x0b), "NVMe");
	ck_assert_str_eq(event_pft_to_string(0xee), "unknown");
}
END_TEST

/* The holder of the function: the same five keys in the JSON, the journal
 * and (through the key table) the D-Bus a{sv}, appended after the others. */
START_TEST(test_owner_fields)
{
	ZpciEvent e = error_event(0x3a), back;
	EventJournalFields f;
	json_object *o, *v;
	const char *key, *sig;
	unsigned n;

	e.owner_pid = 4242;
	snprintf(e.owner_command, sizeof(e.owner_command), "qemu-system-s39");
	snprintf(e.owner_machine, sizeof(e.owner_machine), "guest-7");
	snprintf(e.owner_machine_class, sizeof(e.owner_machine_class), "vm");
	snprintf(e.owner_unit, sizeof(e.owner_unit), "machine-qemu\\x2d1\\x2dguest\\x2d7.scope");

	event_journal_fields(&e, &f);
	ck_assert_str_eq(field(&f, "ZPCID_OWNER_PID"), "4242");
	ck_assert_str_eq(field(&f, "ZPCID_OWNER_COMMAND"), "qemu-system-s39");
	ck_assert_str_eq(field(&f, "ZPCID_OWNER_MACHINE"), "guest-7");
	ck_assert_str_eq(field(&f, "ZPCID_OWNER_MACHINE_CLASS"), "vm");
	ck_assert_str_eq(field(&f, "ZPCID_OWNER_UNIT"), "machine-qemu\\x2d1\\x2dguest\\x2d7.scope");

	/* the longest values all fit beside every other field */
	memset(e.owner_unit, 'u', sizeof(e.owner_unit) - 1);
	memset(e.owner_machine, 'm', sizeof(e.owner_machine) - 1);
	memset(e.detail, 'd', sizeof(e.detail) - 1);
	memset(e.caller_message, 'c', sizeof(e.caller_message) - 1);
	memset(e.rule, 'r', sizeof(e.rule) - 1);
	event_journal_fields(&e, &f);
	ck_assert_uint_eq(strlen(field(&f, "ZPCID_OWNER_UNIT")), sizeof(e.owner_unit) - 1);
	ck_assert_uint_eq(strlen(field(&f, "ZPCID_OWNER_MACHINE")), sizeof(e.owner_machine) - 1);
	e.detail[0] = e.caller_message[0] = e.rule[0] = '\0';
	snprintf(e.owner_unit, sizeof(e.owner_unit), "libvirtd.service");
	snprintf(e.owner_machine, sizeof(e.owner_machine), "guest-7");

	ck_assert_int_eq(event_to_json(&e, &o), 0);
	ck_assert(json_object_object_get_ex(o, "owner_machine", &v));
	ck_assert_str_eq(json_object_get_string(v), "guest-7");
	ck_assert(json_object_object_get_ex(o, "owner_pid", &v));
	ck_assert_int_eq(json_object_get_int(v), 4242);
	ck_assert_int_eq(event_from_json(o, &back), 0);
	ck_assert_uint_eq(back.owner_pid, 4242);
	ck_assert_str_eq(back.owner_command, "qemu-system-s39");
	ck_assert_str_eq(back.owner_machine, "guest-7");
	ck_assert_str_eq(back.owner_machine_class, "vm");
	ck_assert_str_eq(back.owner_unit, "libvirtd.service");
	json_object_put(o);

	/* the keys come after "message": records written before read the same */
	for (n = 0; event_key_get(n, &key, &sig) && !streq(key, "message"); n++)
		;
	ck_assert(event_key_get(n + 1, &key, &sig));
	ck_assert_str_eq(key, "owner_pid");

	/* nobody holds it: no owner key anywhere */
	e.owner_pid = 0;
	e.owner_command[0] = e.owner_machine[0] = e.owner_machine_class[0] = e.owner_unit[0] = '\0';
	event_journal_fields(&e, &f);
	ck_assert_ptr_null(field(&f, "ZPCID_OWNER_PID"));
	ck_assert_ptr_null(field(&f, "ZPCID_OWNER_MACHINE"));
	ck_assert_ptr_null(field(&f, "ZPCID_OWNER_UNIT"));
	ck_assert_int_eq(event_to_json(&e, &o), 0);
	ck_assert(!json_object_object_get_ex(o, "owner_pid", &v));
	ck_assert(!json_object_object_get_ex(o, "owner_machine", &v));
	json_object_put(o);
}
END_TEST

/* A record of the history written before the owner keys existed (a line of
 * history.log of that version, its JSON part) reads back whole, owner unset. */
START_TEST(test_old_record_reads)
{
	static const char old[] =
		"{\"seq\":12,\"kind\":\"error\",\"source\":\"vfio,kmsg\",\"time\":1764880000000000,"
		"\"monotonic\":5000000,\"fid\":33,\"pchid\":320,\"pft\":10,\"pft_name\":\"RoCE Express2\","
		"\"slot\":\"0021:00:00.0\",\"fh\":2147483681,\"pec\":58,\"pec_name\":\"fw-reset-done\","
		"\"pec_class\":\"fw-reset-done\",\"message\":\"PCI function 0x00000021 (0021:00:00.0) "
		"reported "
		"error 0x003a fw-reset-done\"}";
	json_object *o = json_tokener_parse(old), *again;
	ZpciEvent e;

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(event_from_json(o, &e), 0);
	ck_assert_uint_eq(e.seq, 12);
	ck_assert_uint_eq(e.fid, 0x21);
	ck_assert_uint_eq(e.pec, 0x3a);
	ck_assert_uint_eq(e.owner_pid, 0);
	ck_assert_str_eq(e.owner_machine, "");
	ck_assert_str_eq(e.owner_unit, "");
	/* and is written the same way again */
	ck_assert_int_eq(event_to_json(&e, &again), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(again, JSON_C_TO_STRING_PLAIN),
			 json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(again);
	json_object_put(o);
}
END_TEST

static Suite *event_suite(void)
{
	Suite *s = suite_create("event");
	TCase *tc = tcase_create("event");

	tcase_add_test(tc, test_kind_and_source_strings);
	tcase_add_test(tc, test_format_message);
	tcase_add_test(tc, test_priority);
	tcase_add_test(tc, test_journal_fields);
	tcase_add_test(tc, test_rule_and_caller);
	tcase_add_test(tc, test_json_round_trip);
	tcase_add_test(tc, test_json_rejects_bad_types);
	tcase_add_test(tc, test_key_table);
	tcase_add_test(tc, test_owner_fields);
	tcase_add_test(tc, test_old_record_reads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(event_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
