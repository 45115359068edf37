/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON with positions (common/jsonpos.c): every value parsed has a position
 * inside the text. */
#include "common/jsonpos.h"
#include "fuzz/fuzz-util.h"

static void walk(json_object *o, unsigned lines, unsigned depth)
{
	JsonLoc loc;

	if (!o || depth > 64)
		return;
	if (json_pos_get(o, &loc))
		FUZZ_CHECK(loc.line >= 1 && loc.line <= lines && loc.column >= 1);
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach (o, key, v) {
			JsonLoc k, val;

			(void)json_pos_get_member(o, key, &k, &val);
			walk(v, lines, depth + 1);
		}
	} else if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			(void)json_pos_get_element(o, i, &loc);
			walk(json_object_array_get_idx(o, i), lines, depth + 1);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *o = NULL;
	JsonPosError err = {};
	unsigned lines = 1;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (json_pos_parse((const char *)data, size, "fuzz.json", 0, &o, &err) == 0) {
		walk(o, lines, 0);
		json_object_put(o);
	}
	return 0;
}
