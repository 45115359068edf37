/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/output.h"

/* 2023-11-09 01:46:09 UTC */
static const OutputMeta meta = {
	.api_level = 1, .version = "0.1.0", .host = "lpar1", .time_usec = 1699494369000000ULL
};

static const OutputColumn columns[] = { { "fid", "FID", OUTPUT_CELL_HEX8 },
					{ "slot", "SLOT", OUTPUT_CELL_TEXT },
					{ "state", "STATE", OUTPUT_CELL_TEXT },
					{ "last_error.pec", "PEC", OUTPUT_CELL_HEX4 },
					{} };

static json_object *record(unsigned fid, const char *slot, const char *state, int pec)
{
	json_object *o = json_object_new_object(), *le;

	json_object_object_add(o, "fid", json_object_new_int64(fid));
	json_object_object_add(o, "slot", json_object_new_string(slot));
	json_object_object_add(o, "state", json_object_new_string(state));
	if (pec >= 0) {
		le = json_object_new_object();
		json_object_object_add(le, "pec", json_object_new_int(pec));
		json_object_object_add(o, "last_error", le);
	}
	return o;
}

/* Run a list output of two records in @format; return what was written (caller frees). */
static char *render(OutputFormat format, bool list, bool streaming)
{
	Output *o = NULL;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	json_object *r;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(output_new(&o, f, format, &meta, list ? "functions" : "function", list, columns),
			 0);
	output_set_streaming(o, streaming);
	r = record(0x11, "0001:00:00.0", "ok", -1);
	ck_assert_int_eq(output_add(o, r), 0);
	json_object_put(r);
	if (list) {
		r = record(0x1234, "0002:00:00.0", "say \"hi\", ok", 0x3a);
		ck_assert_int_eq(output_add(o, r), 0);
		json_object_put(r);
	} else {
		r = record(1, "x", "y", 1);
		ck_assert_int_eq(output_add(o, r), -E2BIG);
		json_object_put(r);
	}
	ck_assert_int_eq(output_finish(o), 0);
	output_free(o);
	fclose(f);
	return buf;
}

static void assert_json_equal(json_object *got, const char *expected_text)
{
	json_object *expected = json_tokener_parse(expected_text);

	ck_assert_ptr_nonnull(expected);
	ck_assert_msg(json_object_equal(got, expected), "got %s\nexpected %s",
		      json_object_to_json_string(got), json_object_to_json_string(expected));
	json_object_put(expected);
}

static const char *const expected_meta =
	"{\"api_level\":1,\"version\":\"0.1.0\",\"host\":\"lpar1\",\"time_epoch\":1699494369,"
	"\"time\":\"2023-11-09 01:46:09+0000\"}";

START_TEST(test_json_list)
{
	char *out = render(OUTPUT_JSON, true, false);
	json_object *doc = json_tokener_parse(out);
	char expected[1024];

	ck_assert_ptr_nonnull(doc);
	snprintf(expected, sizeof(expected),
		 "{\"meta\":%s,\"functions\":["
		 "{\"fid\":17,\"slot\":\"0001:00:00.0\",\"state\":\"ok\"},"
		 "{\"fid\":4660,\"slot\":\"0002:00:00.0\",\"state\":\"say \\\"hi\\\", "
		 "ok\",\"last_error\":{\"pec\":58}}]}",
		 expected_meta);
	assert_json_equal(doc, expected);
	json_object_put(doc);
	free(out);
}
END_TEST

START_TEST(test_json_single_and_streaming)
{
	char *out = render(OUTPUT_JSON, false, false), *line, *save = NULL;
	json_object *doc = json_tokener_parse(out);
	char expected[1024];
	unsigned n = 0;

	ck_assert_ptr_nonnull(doc);
	snprintf(expected, sizeof(expected),
		 "{\"meta\":%s,\"function\":{\"fid\":17,\"slot\":\"0001:00:00.0\",\"state\":\"ok\"}}",
		 expected_meta);
	assert_json_equal(doc, expected);
	json_object_put(doc);
	free(out);

	/* jsonl (and json when streaming): one parseable document per line, meta first */
	for (int pass = 0; pass < 2; pass++) {
		out = pass == 0 ? render(OUTPUT_JSONL, true, false) : render(OUTPUT_JSON, true, true);
		n = 0;
		for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
			doc = json_tokener_parse(line);
			ck_assert_ptr_nonnull(doc);
			if (n == 0) {
				snprintf(expected, sizeof(expected), "{\"meta\":%s}", expected_meta);
				assert_json_equal(doc, expected);
			} else if (n == 1)
				assert_json_equal(doc,
						  "{\"functions\":{\"fid\":17,\"slot\":\"0001:00:00.0\","
						  "\"state\":\"ok\"}}");
			json_object_put(doc);
		}
		ck_assert_uint_eq(n, 3);
		free(out);
	}
}
END_TEST

START_TEST(test_pairs)
{
	char *out = render(OUTPUT_PAIRS, true, false);

	ck_assert_str_eq(out, "meta.api_level=1\n"
			      "meta.version=\"0.1.0\"\n"
			      "meta.host=\"lpar1\"\n"
			      "meta.time_epoch=1699494369\n"
			      "meta.time=\"2023-11-09 01:46:09+0000\"\n"
			      "functions[0].fid=17\n"
			      "functions[0].slot=\"0001:00:00.0\"\n"
			      "functions[0].state=\"ok\"\n"
			      "functions[1].fid=4660\n"
			      "functions[1].slot=\"0002:00:00.0\"\n"
			      "functions[1].state=\"say \\\"hi\\\", ok\"\n"
			      "functions[1].last_error.pec=58\n");
	free(out);

	out = output_pairs_quote("a\\b\n\tc\"");
	ck_assert_str_eq(out, "\"a\\\\b\\n\\tc\\\"\"");
	free(out);

	/* util_fmt's escapes: " $ ` \ by a backslash; \a \b \e \f \n \r \t \v; other bytes
	 * below 0x20 and from 0x7f as \xhh */
	out = output_pairs_quote("$(x)`y`\a\b\033\f\r\v\001\177\303\251");
	ck_assert_str_eq(out, "\"\\$(x)\\`y\\`\\a\\b\\e\\f\\r\\v\\x01\\x7f\\xc3\\xa9\"");
	free(out);
}
END_TEST

START_TEST(test_csv)
{
	char *out = render(OUTPUT_CSV, true, false);
	const char *meta_cells = "1,\"0.1.0\",\"lpar1\",1699494369,\"2023-11-09 01:46:09+0000\"";
	char expected[1024];

	/* util_fmt's rules: key names bare, strings quoted, numbers bare, no value as "" */
	snprintf(expected, sizeof(expected),
		 "meta.api_level,meta.version,meta.host,meta.time_epoch,meta.time,"
		 "fid,slot,state,last_error.pec\n"
		 "%s,17,\"0001:00:00.0\",\"ok\",\"\"\n"
		 "%s,4660,\"0002:00:00.0\",\"say \"\"hi\"\", ok\",58\n",
		 meta_cells, meta_cells);
	ck_assert_str_eq(out, expected);
	free(out);

	out = output_csv_quote("a,\"b\"\nc");
	ck_assert_str_eq(out, "\"a,\"\"b\"\"\nc\"");
	free(out);
}
END_TEST

START_TEST(test_table)
{
	char *out = render(OUTPUT_TABLE, true, false);

	ck_assert_str_eq(out, "FID         SLOT          STATE         PEC\n"
			      "0x00000011  0001:00:00.0  ok            \n"
			      "0x00001234  0002:00:00.0  say \"hi\", ok  0x003a\n");
	free(out);
}
END_TEST

START_TEST(test_errors_and_names)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	json_object *doc;
	char expected[1024];
	Output *o = NULL;

	ck_assert_int_eq(output_error(f, OUTPUT_JSON, &meta, 3, "org.zpcid1.Error.NoSuchFunction",
				      "no such function"),
			 3);
	fclose(f);
	doc = json_tokener_parse(buf);
	ck_assert_ptr_nonnull(doc);
	snprintf(expected, sizeof(expected),
		 "{\"meta\":%s,\"error\":{\"message\":\"no such function\","
		 "\"name\":\"org.zpcid1.Error.NoSuchFunction\",\"exit_code\":3}}",
		 expected_meta);
	assert_json_equal(doc, expected);
	json_object_put(doc);
	free(buf);

	ck_assert_int_eq(output_format_from_string("json"), OUTPUT_JSON);
	ck_assert_int_eq(output_format_from_string("jsonl"), OUTPUT_JSONL);
	ck_assert_int_eq(output_format_from_string("pairs"), OUTPUT_PAIRS);
	ck_assert_int_eq(output_format_from_string("csv"), OUTPUT_CSV);
	ck_assert_int_eq(output_format_from_string("json-seq"), OUTPUT_JSON_SEQ);
	ck_assert_int_eq(output_format_from_string("JSON"), OUTPUT_JSON);
	ck_assert_int_eq(output_format_from_string("Json-Seq"), OUTPUT_JSON_SEQ);
	ck_assert_int_eq(output_format_from_string("PAIRS"), OUTPUT_PAIRS);
	ck_assert(output_format_is_json(OUTPUT_JSON_SEQ));
	ck_assert_int_eq(output_format_from_string("xml"), _OUTPUT_FORMAT_INVALID);
	ck_assert_str_eq(output_format_to_string(OUTPUT_TABLE), "table");
	ck_assert(output_format_is_json(OUTPUT_JSONL));
	ck_assert(!output_format_is_json(OUTPUT_CSV));
	/* the table format needs columns */
	ck_assert_int_eq(output_new(&o, stdout, OUTPUT_TABLE, &meta, "x", true, NULL), -EINVAL);
}
END_TEST

static Suite *output_suite(void)
{
	Suite *s = suite_create("output");
	TCase *tc = tcase_create("output");

	tcase_add_test(tc, test_json_list);
	tcase_add_test(tc, test_json_single_and_streaming);
	tcase_add_test(tc, test_pairs);
	tcase_add_test(tc, test_csv);
	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_errors_and_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	setenv("TZ", "UTC", 1);
	tzset();
	sr = srunner_create(output_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
