/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * history-write DIRECTORY: append the events of stdin (one JSON object per
 * line, the keys of the history's records) to the history in DIRECTORY,
 * through the history's own writer. Tests use it to give zpcid a history
 * of known events at known times.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/history.h"

int main(int argc, char *argv[])
{
	_cleanup_(history_freep) History *h = NULL;
	_cleanup_free_ char *line = NULL;
	size_t alloc = 0, n = 0;
	int r;

	if (argc != 2) {
		fprintf(stderr, "Usage: %s DIRECTORY < EVENTS.jsonl\n", argv[0]);
		return EXIT_FAILURE;
	}
	r = history_open(&h, argv[1], NULL, NULL);
	if (r < 0) {
		fprintf(stderr, "Failed to open the history in %s: %s\n", argv[1], strerror(-r));
		return EXIT_FAILURE;
	}
	while (getline(&line, &alloc, stdin) > 0) {
		json_object *o = json_tokener_parse(line);
		ZpciEvent e;

		n++;
		r = o ? event_from_json(o, &e) : -EBADMSG;
		json_object_put(o);
		if (r >= 0) {
			event_format_message(&e);
			r = history_append(h, &e);
		}
		if (r < 0) {
			fprintf(stderr, "Event %zu: %s\n", n, strerror(-r));
			return EXIT_FAILURE;
		}
	}
	return EXIT_SUCCESS;
}
