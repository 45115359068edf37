/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/bus-dict.h"
#include "common/macro.h"
#include "zpcictl/client.h"
#include "zpcictl/events-summary.h"

int events_parse_duration(const char *s, uint64_t *ret_usec)
{
	unsigned long long v;
	uint64_t unit = 1;
	char *end;

	if (isempty(s) || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end) {
		if (end[1])
			return -EINVAL;
		unit = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 0;
		if (!unit)
			return -EINVAL;
	}
	if (v == 0 || v > UINT64_MAX / USEC_PER_SEC / unit)
		return -EINVAL;
	*ret_usec = (uint64_t)v * unit * USEC_PER_SEC;
	return 0;
}

bool events_locale_is_utf8(void)
{
	const char *codeset;

	if (!setlocale(LC_CTYPE, ""))
		return false;
	codeset = nl_langinfo(CODESET);
	return codeset && (streq(codeset, "UTF-8") || streq(codeset, "utf8"));
}

char *events_sparkline(const uint64_t *series, size_t n, bool utf8)
{
	static const char *const blocks[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
	static const char ascii[] = "_-~=+*%#";
	uint64_t peak = 0;
	char *s, *p;

	for (size_t i = 0; i < n; i++)
		peak = MAX(peak, series[i]);
	s = malloc(n * 3 + 1); /* each block and "·" is at most 3 bytes */
	if (!s)
		return NULL;
	p = s;
	for (size_t i = 0; i < n; i++) {
		/* 1..8: the smallest count still shows, the peak is the full block */
		unsigned level = series[i] == 0 ? 0 : (unsigned)((series[i] * 8 + peak - 1) / peak);
		const char *c = level == 0 ? (utf8 ? "·" : ".") : NULL;

		if (!c && utf8)
			c = blocks[level - 1];
		if (c) {
			size_t len = strlen(c);

			memcpy(p, c, len);
			p += len;
		} else
			*p++ = ascii[level - 1];
	}
	*p = 0;
	return s;
}

static int summary_fail(const EventsSummaryArgs *a, int exit_code, const char *name, const char *format, ...)
	_printf_(4, 5);
static int summary_fail(const EventsSummaryArgs *a, int exit_code, const char *name, const char *format, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, format);
	(void)vsnprintf(buf, sizeof(buf), format, ap);
	va_end(ap);
	return output_error(stdout, a->format, a->meta, exit_code, name, buf);
}

static int query(sd_bus *bus, const EventsSummaryArgs *a, json_object **ret)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_message_new_method_call(bus, &call, BUS_NAME, BUS_PATH, BUS_MANAGER_INTERFACE,
					   "GetEventSummary");
	if (r >= 0)
		r = sd_bus_message_open_container(call, 'a', "{sv}");
	if (r >= 0 && a->since_usec)
		r = bus_dict_append(call, "since", "t", a->since_usec);
	if (r >= 0 && a->until_usec)
		r = bus_dict_append(call, "until", "t", a->until_usec);
	if (r >= 0 && a->bucket_usec)
		r = bus_dict_append(call, "bucket", "t", a->bucket_usec);
	if (r >= 0 && a->top)
		r = bus_dict_append(call, "top", "u", (uint32_t)a->top);
	if (r >= 0 && a->has_fid)
		r = bus_dict_append(call, "fid", "u", a->fid);
	if (r >= 0)
		r = sd_bus_message_close_container(call);
	if (r < 0)
		return summary_fail(a, EXIT_FAIL, NULL, "Failed to build the query: %s", strerror(-r));
	r = sd_bus_call(bus, call, 0, &error, &reply);
	if (r < 0) {
		const char *hint = client_error_hint(&error);

		if (sd_bus_error_is_set(&error))
			r = summary_fail(a, client_exit_code(&error), error.name,
					 "Failed to summarise the events: %s%s%s", error.message,
					 hint ? " " : "", strempty(hint));
		else
			r = summary_fail(a, EXIT_FAIL, NULL, "Failed to summarise the events: %s",
					 strerror(-r));
		sd_bus_error_free(&error);
		return r;
	}
	r = client_read_json(reply, ret);
	if (r < 0)
		return summary_fail(a, EXIT_FAIL, NULL, "Failed to read the summary: %s", strerror(-r));
	return EXIT_OK;
}

static const OutputColumn function_columns[] = { { "fid", "FID", OUTPUT_CELL_HEX8 },
						 { "pchid", "PCHID", OUTPUT_CELL_HEX4 },
						 { "slot", "SLOT", OUTPUT_CELL_MINUS },
						 { "errors", "ERRORS", OUTPUT_CELL_TEXT },
						 { "dropped", "DROPPED", OUTPUT_CELL_TEXT },
						 { "last", "LAST", OUTPUT_CELL_TIME },
						 {} };

static const OutputColumn adapter_columns[] = {
	{ "pchid", "PCHID", OUTPUT_CELL_HEX4 },   { "functions", "FUNCTIONS", OUTPUT_CELL_TEXT },
	{ "errors", "ERRORS", OUTPUT_CELL_TEXT }, { "dropped", "DROPPED", OUTPUT_CELL_TEXT },
	{ "last", "LAST", OUTPUT_CELL_TIME },     {}
};

static const OutputColumn rate_columns[] = { { "fid", "FID", OUTPUT_CELL_HEX8 },
					     { "pchid", "PCHID", OUTPUT_CELL_HEX4 },
					     { "errors", "ERRORS", OUTPUT_CELL_TEXT },
					     { "peak", "PEAK", OUTPUT_CELL_TEXT },
					     { "sparkline", "ERRORS OVER TIME", OUTPUT_CELL_TEXT },
					     {} };

static const OutputColumn decision_columns[] = {
	{ "rule", "RULE", OUTPUT_CELL_MINUS },    { "action", "ACTION", OUTPUT_CELL_TEXT },
	{ "result", "RESULT", OUTPUT_CELL_TEXT }, { "count", "COUNT", OUTPUT_CELL_TEXT },
	{ "last", "LAST", OUTPUT_CELL_TIME },     {}
};

static void copy_key(json_object *to, json_object *from, const char *key)
{
	json_object *v = NULL;

	if (json_object_object_get_ex(from, key, &v))
		(void)json_object_object_add(to, key, json_object_get(v));
}

/* A rate record: the function, its series with the window it cuts, and
 * (for the table) its sparkline. */
static json_object *rate_record(json_object *summary, json_object *function, bool table, bool utf8)
{
	json_object *r = json_object_new_object(), *series = NULL;

	if (!r)
		return NULL;
	copy_key(r, function, "fid");
	copy_key(r, function, "pchid");
	copy_key(r, function, "slot");
	copy_key(r, function, "errors");
	copy_key(r, function, "peak");
	copy_key(r, summary, "since");
	copy_key(r, summary, "until");
	copy_key(r, summary, "bucket");
	copy_key(r, function, "series");
	if (table && json_object_object_get_ex(function, "series", &series)) {
		size_t n = json_object_array_length(series);
		_cleanup_free_ uint64_t *v = calloc(n ? n : 1, sizeof(uint64_t));
		_cleanup_free_ char *line = NULL;

		for (size_t i = 0; v && i < n; i++)
			v[i] = json_object_get_uint64(json_object_array_get_idx(series, i));
		line = v ? events_sparkline(v, n, utf8) : NULL;
		if (!line) {
			json_object_put(r);
			return NULL;
		}
		(void)json_object_object_add(r, "sparkline", json_object_new_string(line));
	}
	return r;
}

int events_summary_run(sd_bus *bus, const EventsSummaryArgs *a, FILE *f)
{
	static const struct {
		const char *list, *name;
		const OutputColumn *columns;
	} views[] = {
		[EVENTS_SUMMARY_TOP_FUNCTIONS] = { "functions", "top_functions", function_columns },
		[EVENTS_SUMMARY_TOP_ADAPTERS] = { "adapters", "top_adapters", adapter_columns },
		[EVENTS_SUMMARY_RATE] = { "functions", "rates", rate_columns },
		[EVENTS_SUMMARY_DECISIONS] = { "decisions", "decisions", decision_columns },
	};
	_cleanup_(output_freep) Output *o = NULL;
	json_object *summary = NULL, *list = NULL;
	bool table = a->format == OUTPUT_TABLE, utf8 = table && events_locale_is_utf8();
	size_t n = 0;
	int r;

	r = query(bus, a, &summary);
	if (r != EXIT_OK)
		return r;
	r = output_new(&o, f, a->format, a->meta, views[a->view].name, true, views[a->view].columns);
	if (r < 0) {
		json_object_put(summary);
		return summary_fail(a, EXIT_FAIL, NULL, "Failed to set up the output: %s", strerror(-r));
	}
	output_set_no_header(o, a->no_header);
	if (json_object_object_get_ex(summary, views[a->view].list, &list))
		n = json_object_array_length(list);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		json_object *rec = json_object_array_get_idx(list, i);

		if (a->view == EVENTS_SUMMARY_RATE) {
			rec = rate_record(summary, rec, table, utf8);
			if (!rec) {
				r = -ENOMEM;
				break;
			}
			r = output_add(o, rec);
			json_object_put(rec);
		} else {
			if (a->view == EVENTS_SUMMARY_TOP_FUNCTIONS)
				json_object_object_del(rec, "series"); /* that is what rate shows */
			r = output_add(o, rec);
		}
	}
	if (r >= 0)
		r = output_finish(o);
	json_object_put(summary);
	if (r < 0)
		return summary_fail(a, EXIT_FAIL, NULL, "Failed to write the output: %s", strerror(-r));
	return n == 0 ? EXIT_NOTHING : EXIT_OK;
}
