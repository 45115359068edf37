/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The function state machine: the table in daemon/function.c against the
 * one in docs/state-machine.md, cell by cell, and the inputs the event
 * records are.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/function.h"

static char *trim(char *s)
{
	char *e;

	while (*s == ' ')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* Every cell of the docs' table is what function_state_next() says, and the
 * table has a row per state and a column per input. */
START_TEST(test_table_matches_docs)
{
	const char *top = getenv("ZPCID_TOP_SRCDIR");
	char path[4096], line[2048];
	FunctionInput columns[_FUNCTION_INPUT_MAX];
	unsigned n_columns = 0, rows = 0, cells = 0;
	bool in_table = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/docs/state-machine.md", top ? top : ".");
	f = fopen(path, "re");
	ck_assert_msg(f, "cannot open %s", path);
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *cell;
		unsigned i = 0;
		FunctionState from;

		if (strncmp(line, "| state \\ input |", 17) == 0) {
			in_table = true;
			cell = strtok_r(line + 17, "|", &save);
			for (; cell; cell = strtok_r(NULL, "|", &save)) {
				char *name = trim(cell);

				if (!*name)
					continue;
				ck_assert_uint_lt(n_columns, _FUNCTION_INPUT_MAX);
				columns[n_columns] = function_input_from_string(name);
				ck_assert_msg(columns[n_columns] >= 0, "docs: unknown input %s", name);
				ck_assert_int_eq(columns[n_columns],
						 n_columns); /* in the order of the enum */
				n_columns++;
			}
			continue;
		}
		if (!in_table || strncmp(line, "|---", 4) == 0)
			continue;
		if (line[0] != '|')
			break;
		cell = strtok_r(line, "|", &save);
		from = function_state_from_string(trim(cell));
		ck_assert_msg(from >= 0, "docs: unknown state %s", cell);
		for (cell = strtok_r(NULL, "|", &save); cell; cell = strtok_r(NULL, "|", &save)) {
			char *v = trim(cell);
			FunctionState want;

			if (!*v)
				continue;
			ck_assert_uint_lt(i, n_columns);
			want = streq(v, "=") ? from : function_state_from_string(v);
			ck_assert_msg(want >= 0, "docs: unknown state %s", v);
			ck_assert_msg(function_state_next(from, columns[i]) == want,
				      "%s + %s: code says %s, docs %s", function_state_to_string(from),
				      function_input_to_string(columns[i]),
				      function_state_to_string(function_state_next(from, columns[i])), v);
			i++;
			cells++;
		}
		ck_assert_uint_eq(i, n_columns);
		rows++;
	}
	fclose(f);
	ck_assert_uint_eq(n_columns, _FUNCTION_INPUT_MAX);
	/* every state but gone (which nothing leaves) has its row */
	ck_assert_uint_eq(rows, _FUNCTION_STATE_MAX - 1);
	ck_assert_uint_eq(cells, (_FUNCTION_STATE_MAX - 1) * _FUNCTION_INPUT_MAX);
	for (int i = 0; i < _FUNCTION_INPUT_MAX; i++)
		ck_assert_int_eq(function_state_next(FUNCTION_STATE_GONE, i), FUNCTION_STATE_GONE);
}
END_TEST

static ZpciEvent action(const char *name, const char *result)
{
	ZpciEvent e = { .kind = EVENT_ACTION };

	snprintf(e.action, sizeof(e.action), "%s", name);
	snprintf(e.result, sizeof(e.result), "%s", result);
	return e;
}

START_TEST(test_inputs_of_events)
{
	ZpciEvent e = { .kind = EVENT_ERROR, .pec = 0x12, .has = EVENT_HAS_PEC };

	ck_assert_int_eq(function_input_of_event(&e), FUNCTION_INPUT_ERROR);
	e.pec = 0x40;
	ck_assert_int_eq(function_input_of_event(&e), FUNCTION_INPUT_PERMANENT_ERROR);
	e.pec = 0x3a;
	ck_assert_int_eq(function_input_of_event(&e), FUNCTION_INPUT_FW_RESET_DONE);
	e.has = 0;
	ck_assert_int_lt(function_input_of_event(&e), 0);
	e = (ZpciEvent){ .kind = EVENT_RECOVERY, .recovery = RECOVERY_BEGIN };
	ck_assert_int_eq(function_input_of_event(&e), FUNCTION_INPUT_RECOVERY_BEGIN);
	e.recovery = RECOVERY_SUCCESSFUL;
	ck_assert_int_eq(function_input_of_event(&e), FUNCTION_INPUT_RECOVERY_DONE);
	e.recovery = RECOVERY_FAILED;
	ck_assert_int_eq(function_input_of_event(&e), FUNCTION_INPUT_RECOVERY_FAILED);

	e = action("reset", "done");
	ck_assert_int_eq(function_input_of_event(&e), FUNCTION_INPUT_RESET_DONE);
	e = action("recover", "confirmed");
	ck_assert_int_eq(function_input_of_event(&e), FUNCTION_INPUT_RESET_CONFIRMED);
	e = action("reset", "unconfirmed");
	ck_assert_int_eq(function_input_of_event(&e), FUNCTION_INPUT_RESET_UNCONFIRMED);
	e = action("recover", "no-confirmation");
	ck_assert_int_eq(function_input_of_event(&e), FUNCTION_INPUT_RESET_UNCONFIRMED);
	e = action("reset", "timeout");
	ck_assert_int_eq(function_input_of_event(&e), FUNCTION_INPUT_RESET_FAILED);
	e = action("unbind", "done");
	ck_assert_int_eq(function_input_of_event(&e), FUNCTION_INPUT_UNBOUND);
	/* what does not touch the function's state */
	e = action("unbind", "failed");
	ck_assert_int_lt(function_input_of_event(&e), 0);
	e = action("reset", "dry-run");
	ck_assert_int_lt(function_input_of_event(&e), 0);
	e = action("alert", "done");
	ck_assert_int_lt(function_input_of_event(&e), 0);
	e = (ZpciEvent){ .kind = EVENT_DROPPED, .count = 3, .has = EVENT_HAS_COUNT };
	ck_assert_int_lt(function_input_of_event(&e), 0);
}
END_TEST

START_TEST(test_names)
{
	for (int i = 0; i < _FUNCTION_INPUT_MAX; i++)
		ck_assert_int_eq(function_input_from_string(function_input_to_string(i)), i);
	ck_assert_int_lt(function_input_from_string("nonsense"), 0);
	ck_assert_str_eq(function_state_to_string(FUNCTION_STATE_QUARANTINED), "quarantined");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("function");
	TCase *tc = tcase_create("state-machine");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_table_matches_docs);
	tcase_add_test(tc, test_inputs_of_events);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
