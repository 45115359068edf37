/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * output-dump: common/output for the shell tests. Reads a JSON array of
 * records on stdin and writes them as zpcictl does:
 *   output-dump FORMAT NAME list|single|stream
 * The meta object is fixed (api_level 1, version "1.0", host "lpar1",
 * time 2023-11-09 01:46:09 UTC) so that the output can be compared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/output.h"

static const OutputColumn columns[] = {
	{ "fid", "FID", OUTPUT_CELL_HEX8 },
	{ "who", "WHO", OUTPUT_CELL_TEXT },
	{},
};

int main(int argc, char **argv)
{
	static const OutputMeta meta = {
		.api_level = 1, .version = "1.0", .host = "lpar1", .time_usec = 1699494369000000ULL
	};
	_cleanup_(output_freep) Output *o = NULL;
	json_object *records;
	OutputFormat f;
	int r;

	if (argc != 4) {
		fprintf(stderr, "usage: output-dump FORMAT NAME list|single|stream\n");
		return 2;
	}
	f = output_format_from_string(argv[1]);
	records = json_object_from_fd(0);
	if (f < 0 || !records || !json_object_is_type(records, json_type_array)) {
		fprintf(stderr, "output-dump: bad format or input\n");
		return 2;
	}
	r = output_new(&o, stdout, f, &meta, argv[2], !streq(argv[3], "single"), columns);
	if (r >= 0)
		output_set_streaming(o, streq(argv[3], "stream"));
	for (size_t i = 0; r >= 0 && i < json_object_array_length(records); i++)
		r = output_add(o, json_object_array_get_idx(records, i));
	if (r >= 0)
		r = output_finish(o);
	json_object_put(records);
	if (r < 0) {
		fprintf(stderr, "output-dump: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}
