/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The org.zpcid1.Manager object at /org/zpcid1: daemon-wide properties,
 * queries (ListFunctions, GetEvents, GetEventSummary), and the daemon-wide state changes
 * (Reload, CheckPolicy, Delegate, Inhibit). An inhibitor taken over the bus
 * is a pipe whose other end the caller holds; when every copy of that end
 * is closed, libevent sees EOF and the inhibitor is released in the action
 * runner's set (daemon/inhibit.h), which is what actions obey.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/bus-dict.h"
#include "common/time-util.h"
#include "daemon/actions.h"
#include "daemon/adapter-events.h"
#include "daemon/bus-private.h"
#include "daemon/history-summary.h"
#include "daemon/history.h"
#include "daemon/inhibit.h"
#include "daemon/ownership.h"
#include "daemon/policy.h"
#include "daemon/registry.h"

static const char *const inhibit_actions[] = { "reset", "unbind", "report", "all" };

/* --- properties ---------------------------------------------------------- */

static int property_version(sd_bus *bus, const char *path, const char *interface, const char *property,
			    sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static int property_api_level(sd_bus *bus, const char *path, const char *interface, const char *property,
			      sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	return sd_bus_message_append(reply, "u", (uint32_t)ZPCID_API_LEVEL);
}

static int property_policy_file(sd_bus *bus, const char *path, const char *interface, const char *property,
				sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	Bus *b = ASSERT_PTR(userdata);
	const Config *c = bus_config(b);

	return sd_bus_message_append(reply, "s", c && c->files && c->files[0] ? c->files[0] : "");
}

static int property_policy_load_time(sd_bus *bus, const char *path, const char *interface,
				     const char *property, sd_bus_message *reply, void *userdata,
				     sd_bus_error *error)
{
	Bus *b = ASSERT_PTR(userdata);

	return sd_bus_message_append(reply, "t", (uint64_t)(bus_config(b) ? bus_config(b)->loaded_usec : 0));
}

static int property_dry_run(sd_bus *bus, const char *path, const char *interface, const char *property,
			    sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	Bus *b = ASSERT_PTR(userdata);

	return sd_bus_message_append(reply, "b", (int)(bus_policy(b) && bus_policy(b)->dry_run));
}

static int property_loop_stall_max(sd_bus *bus, const char *path, const char *interface,
				   const char *property, sd_bus_message *reply, void *userdata,
				   sd_bus_error *error)
{
	Bus *b = ASSERT_PTR(userdata);

	return sd_bus_message_append(reply, "t",
				     (b->deps.loop_stall_max_usec ? *b->deps.loop_stall_max_usec : 0));
}

static int property_inhibitors(sd_bus *bus, const char *path, const char *interface, const char *property,
			       sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	Bus *b = ASSERT_PTR(userdata);
	Inhibitors *set = b->deps.actions ? actions_inhibitors(b->deps.actions) : NULL;
	int r;

	/* The newest first. */
	r = sd_bus_message_open_container(reply, 'a', "(sssuut)");
	for (size_t k = set ? inhibit_count(set) : 0; r >= 0 && k > 0; k--) {
		const Inhibitor *i = inhibit_get(set, k - 1);

		r = sd_bus_message_append(reply, "(sssuut)", i->who, i->why, i->what_text, (uint32_t)i->uid,
					  (uint32_t)i->pid, i->since_usec);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	return r;
}

/* --- GetEvents ----------------------------------------------------------- */

static int read_filter_value(sd_bus_message *m, const char *sig, void *value, const char *key,
			     sd_bus_error *error)
{
	int r;

	r = sd_bus_message_enter_container(m, 'v', sig);
	if (r == -ENXIO)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Filter '%s' must have type '%s'.", key, sig);
	if (r < 0)
		return r;
	r = sd_bus_message_read_basic(m, sig[0], value);
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int parse_event_filters(sd_bus_message *m, HistoryQuery *q, sd_bus_error *error)
{
	unsigned n = 0;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key;

		if (++n > 16)
			return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Too many filters.");
		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		if (streq(key, "since"))
			r = read_filter_value(m, "t", &q->since_usec, key, error);
		else if (streq(key, "until"))
			r = read_filter_value(m, "t", &q->until_usec, key, error);
		else if (streq(key, "fid")) {
			r = read_filter_value(m, "u", &q->fid, key, error);
			q->match_fid = true;
		} else if (streq(key, "pec")) {
			r = read_filter_value(m, "q", &q->pec, key, error);
			q->match_pec = true;
		} else if (streq(key, "kind")) {
			const char *s = NULL;

			r = read_filter_value(m, "s", &s, key, error);
			if (r >= 0) {
				q->kind = event_kind_from_string(s);
				if (q->kind < 0)
					return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
								 "Unknown event kind '%.64s'.", s);
			}
		} else if (streq(key, "offset"))
			r = read_filter_value(m, "t", &q->offset, key, error);
		else if (streq(key, "limit")) {
			uint32_t limit = 0;

			r = read_filter_value(m, "u", &limit, key, error);
			if (r >= 0 && limit > BUS_EVENTS_LIMIT_MAX)
				return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
							 "Limit %u is larger than %u.", limit,
							 BUS_EVENTS_LIMIT_MAX);
			q->limit = limit;
		} else if (streq(key, "newest_first")) {
			int v = 0;

			r = read_filter_value(m, "b", &v, key, error);
			q->newest_first = v;
		} else
			return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown filter '%.64s'.",
						 key);
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;
	if (q->since_usec && q->until_usec && q->until_usec <= q->since_usec)
		return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT,
					"'until' must be later than 'since'.");
	return 0;
}

/* The reply to GetEvents, once the history's reader thread has the page. */
static void on_events_queried(int result, ZpciEvent *events, size_t n, uint64_t total, void *userdata)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *call = userdata;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_free_ ZpciEvent *e = events;
	int r;

	if (result < 0) {
		(void)bus_error_from_errno(&error, result, "Failed to query the history");
		(void)sd_bus_reply_method_error(call, &error);
		return;
	}
	r = sd_bus_message_new_method_return(call, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "a{sv}");
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = bus_append_event(reply, &e[i]);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_append(reply, "t", total);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	if (r < 0)
		(void)sd_bus_reply_method_errno(call, r, NULL);
}

static int method_get_events(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Bus *b = ASSERT_PTR(userdata);
	HistoryQuery q = HISTORY_QUERY_ALL;
	int r;

	r = parse_event_filters(m, &q, error);
	if (r < 0)
		return r;
	if (q.limit == 0)
		q.limit = BUS_EVENTS_LIMIT_MAX;
	if (!b->deps.history)
		return sd_bus_error_set(error, BUS_ERROR_NOT_SUPPORTED,
					"The event history is not available.");

	/* Read on the history's own thread: a large history never stalls the loop. */
	r = history_query_async(b->deps.history, &q, on_events_queried, sd_bus_message_ref(m));
	if (r < 0) {
		sd_bus_message_unref(m);
		return bus_error_from_errno(error, r, "Failed to query the history");
	}
	return 1;
}

/* --- GetEventSummary ----------------------------------------------------- */

/* A GetEventSummary in flight. The history reports every query, even those
 * cut short by its end, possibly after the bus went: bus_free() detaches the
 * calls (@bus NULL) so none reaches into a freed bus. */
struct SummaryCall {
	sd_bus_message *call;
	Bus *bus;
	HistorySummary *summary;
	SummaryCall *next;
};

static SummaryCall *summary_call_free(SummaryCall *c)
{
	if (!c)
		return NULL;
	if (c->bus)
		for (SummaryCall **p = &c->bus->summary_calls; *p; p = &(*p)->next)
			if (*p == c) {
				*p = c->next;
				break;
			}
	sd_bus_message_unref(c->call);
	history_summary_free(c->summary);
	free(c);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(SummaryCall *, summary_call_free);

static int parse_summary_options(sd_bus_message *m, HistorySummaryQuery *q, sd_bus_error *error)
{
	unsigned seen = 0;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		static const char *const keys[] = { "since", "until", "bucket", "top", "fid" };
		const char *key;
		unsigned bit = 0;

		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		for (unsigned i = 0; i < ELEMENTSOF(keys); i++)
			if (streq(key, keys[i]))
				bit = 1u << i;
		if (bit == 0)
			return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%.64s'.",
						 key);
		if (seen & bit)
			return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
						 "Option '%s' given twice.", key);
		seen |= bit;
		if (streq(key, "since"))
			r = read_filter_value(m, "t", &q->since_usec, key, error);
		else if (streq(key, "until"))
			r = read_filter_value(m, "t", &q->until_usec, key, error);
		else if (streq(key, "bucket"))
			r = read_filter_value(m, "t", &q->bucket_usec, key, error);
		else if (streq(key, "top")) {
			uint32_t top = 0;

			r = read_filter_value(m, "u", &top, key, error);
			if (r >= 0 && top > HISTORY_SUMMARY_TOP_MAX)
				return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
							 "Top %u is larger than %u.", top,
							 HISTORY_SUMMARY_TOP_MAX);
			q->top = top;
		} else {
			r = read_filter_value(m, "u", &q->fid, key, error);
			q->match_fid = true;
		}
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;
	if (q->since_usec && q->until_usec && q->until_usec <= q->since_usec)
		return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT,
					"'until' must be later than 'since'.");
	if (q->bucket_usec && q->bucket_usec < USEC_PER_SEC)
		return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT,
					"'bucket' must be at least one second.");
	return 0;
}

static int append_series(sd_bus_message *m, const char *key, const uint64_t *series, unsigned n)
{
	int r;

	r = sd_bus_message_open_container(m, 'e', "sv");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", key);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', "at");
	if (r >= 0)
		r = sd_bus_message_append_array(m, 't', series, n * sizeof(uint64_t));
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r;
}

/* Open "{sv}" entry @key holding an aa{sv}. */
static int open_list(sd_bus_message *m, const char *key)
{
	int r;

	r = sd_bus_message_open_container(m, 'e', "sv");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", key);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', "aa{sv}");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "a{sv}");
	return r;
}

static int close_list(sd_bus_message *m)
{
	int r;

	r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r;
}

static int append_summary(sd_bus_message *m, const HistorySummaryResult *s)
{
	int r;

	r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r >= 0)
		r = bus_dict_append(m, "since", "t", s->since_usec);
	if (r >= 0)
		r = bus_dict_append(m, "until", "t", s->until_usec);
	if (r >= 0)
		r = bus_dict_append(m, "bucket", "t", s->bucket_usec);
	if (r >= 0)
		r = bus_dict_append(m, "records", "t", s->records);
	if (r >= 0)
		r = bus_dict_append(m, "errors", "t", s->errors);
	if (r >= 0)
		r = bus_dict_append(m, "dropped", "t", s->dropped);
	if (r >= 0)
		r = bus_dict_append(m, "actions", "t", s->decisions);
	if (r >= 0)
		r = append_series(m, "series", s->series, s->n_buckets);
	if (r >= 0)
		r = bus_dict_append(m, "functions_total", "u", (uint32_t)s->functions_total);
	if (r >= 0)
		r = open_list(m, "functions");
	for (size_t i = 0; r >= 0 && i < s->n_functions; i++) {
		const HistorySummaryFunction *f = &s->functions[i];

		r = sd_bus_message_open_container(m, 'a', "{sv}");
		if (r >= 0)
			r = bus_dict_append(m, "fid", "u", f->fid);
		if (r >= 0 && f->has_pchid)
			r = bus_dict_append(m, "pchid", "q", f->pchid);
		if (r >= 0 && f->slot[0])
			r = bus_dict_append(m, "slot", "s", f->slot);
		if (r >= 0)
			r = bus_dict_append(m, "errors", "t", f->errors);
		if (r >= 0)
			r = bus_dict_append(m, "dropped", "t", f->dropped);
		if (r >= 0)
			r = bus_dict_append(m, "last", "t", f->last_usec);
		if (r >= 0)
			r = bus_dict_append(m, "peak", "t", f->peak);
		if (r >= 0)
			r = append_series(m, "series", f->series, s->n_buckets);
		if (r >= 0)
			r = sd_bus_message_close_container(m);
	}
	if (r >= 0)
		r = close_list(m);
	if (r >= 0)
		r = bus_dict_append(m, "adapters_total", "u", (uint32_t)s->adapters_total);
	if (r >= 0)
		r = open_list(m, "adapters");
	for (size_t i = 0; r >= 0 && i < s->n_adapters; i++) {
		const HistorySummaryAdapter *a = &s->adapters[i];

		r = sd_bus_message_open_container(m, 'a', "{sv}");
		if (r >= 0)
			r = bus_dict_append(m, "pchid", "q", a->pchid);
		if (r >= 0)
			r = bus_dict_append(m, "functions", "u", a->functions);
		if (r >= 0)
			r = bus_dict_append(m, "errors", "t", a->errors);
		if (r >= 0)
			r = bus_dict_append(m, "dropped", "t", a->dropped);
		if (r >= 0)
			r = bus_dict_append(m, "last", "t", a->last_usec);
		if (r >= 0)
			r = sd_bus_message_close_container(m);
	}
	if (r >= 0)
		r = close_list(m);
	if (r >= 0)
		r = open_list(m, "decisions");
	for (size_t i = 0; r >= 0 && i < s->n_decisions; i++) {
		const HistorySummaryDecision *d = &s->decisions_list[i];

		r = sd_bus_message_open_container(m, 'a', "{sv}");
		if (r >= 0)
			r = bus_dict_append(m, "rule", "s", d->rule);
		if (r >= 0)
			r = bus_dict_append(m, "action", "s", d->action);
		if (r >= 0)
			r = bus_dict_append(m, "result", "s", d->result);
		if (r >= 0)
			r = bus_dict_append(m, "count", "t", d->count);
		if (r >= 0)
			r = bus_dict_append(m, "last", "t", d->last_usec);
		if (r >= 0)
			r = sd_bus_message_close_container(m);
	}
	if (r >= 0)
		r = close_list(m);
	if (r >= 0)
		r = bus_dict_append(m, "files", "u", s->walk.files);
	if (r >= 0)
		r = bus_dict_append(m, "files_read", "u", s->walk.files_read);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r;
}

/* Functions whose records carry no PCHID: the registry may know it. */
static bool registry_pchid(uint32_t fid, uint16_t *ret, void *userdata)
{
	Bus *b = userdata; /* NULL: the bus is gone */
	ZpciFunction *f = b && b->deps.registry ? registry_get_by_fid(b->deps.registry, fid) : NULL;

	if (!f || !(f->attrs.has & ZPCI_ATTR_HAS_PCHID))
		return false;
	*ret = f->attrs.pchid;
	return true;
}

/* The reply to GetEventSummary, once the reader thread has walked the window. */
static void on_summary_walked(int result, const HistoryWalkStats *stats, void *userdata)
{
	_cleanup_(summary_call_freep) SummaryCall *c = userdata;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	HistorySummaryResult *s = NULL;
	int r;

	if (result >= 0)
		result = history_summary_finish(c->summary, registry_pchid, c->bus, &s);
	if (result < 0) {
		if (result == -ERANGE)
			(void)sd_bus_error_setf(
				&error, BUS_ERROR_INVALID_ARGUMENT,
				"The window holds more than %u buckets; give a larger bucket.",
				HISTORY_SUMMARY_BUCKETS_MAX);
		else
			(void)bus_error_from_errno(&error, result, "Failed to summarise the history");
		(void)sd_bus_reply_method_error(c->call, &error);
		return;
	}
	s->walk = *stats;
	r = sd_bus_message_new_method_return(c->call, &reply);
	if (r >= 0)
		r = append_summary(reply, s);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	if (r < 0)
		(void)sd_bus_reply_method_errno(c->call, r, NULL);
}

static int method_get_event_summary(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Bus *b = ASSERT_PTR(userdata);
	_cleanup_(summary_call_freep) SummaryCall *c = NULL;
	HistorySummaryQuery q = {};
	int r;

	r = parse_summary_options(m, &q, error);
	if (r < 0)
		return r;
	if (!b->deps.history)
		return sd_bus_error_set(error, BUS_ERROR_NOT_SUPPORTED,
					"The event history is not available.");
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->bus = b;
	r = history_summary_new(&c->summary, &q, now_usec(CLOCK_REALTIME));
	if (r == -ERANGE)
		return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
					 "The window holds more than %u buckets; give a larger bucket.",
					 HISTORY_SUMMARY_BUCKETS_MAX);
	if (r < 0)
		return bus_error_from_errno(error, r, "Failed to summarise the history");
	c->call = sd_bus_message_ref(m);

	/* Walked on the history's own thread: a long window never stalls the loop. */
	c->next = b->summary_calls;
	b->summary_calls = c;
	r = history_walk_async(b->deps.history, history_summary_walk(c->summary), c->summary,
			       on_summary_walked, c);
	if (r < 0)
		return bus_error_from_errno(error, r, "Failed to summarise the history");
	TAKE_PTR(c);
	return 1;
}

/* --- ListFunctions ------------------------------------------------------- */

static int method_list_functions(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Bus *b = ASSERT_PTR(userdata);
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = bus_function_append_list(b, reply);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

/* --- ListAdapters -------------------------------------------------------- */

static int method_list_adapters(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Bus *b = ASSERT_PTR(userdata);
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = adapter_events_append_list(b->deps.adapter_events, reply);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

/* --- Reload, CheckPolicy ------------------------------------------------- */

static int method_reload(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Bus *b = ASSERT_PTR(userdata);
	int r;

	r = bus_read_options(m, NULL, error);
	if (r < 0)
		return r;
	r = bus_check_admin(m, bus_config(b)->admin_group, error);
	if (r < 0)
		return r;
	if (!b->deps.reload)
		return sd_bus_error_set(error, BUS_ERROR_NOT_SUPPORTED, "This daemon cannot reload.");
	r = b->deps.reload(b->deps.userdata);
	if (r < 0)
		return sd_bus_error_setf(
			error, BUS_ERROR_FAILED,
			"The configuration is invalid, the running one is kept (see the journal).");
	bus_manager_changed(b);
	return sd_bus_reply_method_return(m, NULL);
}

/* The caller sends the text it read with its own rights: zpcid opens no file
 * for it, so the diagnostics can only quote what the caller already has, and
 * checking changes nothing, so anybody may ask. The drop-ins of the running
 * daemon are not merged in: the text is checked as a main file on its own. */
static int method_check_policy(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(config_diagnostics_done) ConfigDiagnostics diag = {};
	_cleanup_(config_freep) Config *c = NULL;
	const char *name = "(text)";
	const void *text;
	size_t size;
	const BusOption options[] = { { "name", 's', &name, NULL }, {} };
	int r, valid;

	r = sd_bus_message_read_array(m, 'y', &text, &size);
	if (r < 0)
		return r;
	r = bus_read_options(m, options, error);
	if (r < 0)
		return r;
	if (size > BUS_POLICY_TEXT_MAX)
		return sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
					 "The configuration is larger than %d bytes.", BUS_POLICY_TEXT_MAX);
	if (isempty(name) || strchr(name, '\n'))
		return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
					"Option 'name' must be one non-empty line.");

	r = config_load_string(&c, text, size, name, &diag);
	if (r == -ENOMEM)
		return r;
	valid = r >= 0;
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_append(reply, "b", valid);
	if (r >= 0)
		r = sd_bus_message_append_strv(reply, valid ? NULL : diag.lines);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

/* --- Delegate ------------------------------------------------------------ */

/* Whether @fd is a vfio device: an fd from VFIO_GROUP_GET_DEVICE_FD (an
 * anonymous inode "[vfio-device]") or an open vfio device cdev
 * (/dev/vfio/devices/vfioN, class vfio-dev). */
static bool fd_is_vfio_device(int fd)
{
	char link[PATH_MAX], target[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return false;
	(void)snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = 0;
	if (streq(target, "anon_inode:[vfio-device]"))
		return true;
	if (!S_ISCHR(st.st_mode))
		return false;
	(void)snprintf(link, sizeof(link), "/sys/dev/char/%u:%u/subsystem", major(st.st_rdev),
		       minor(st.st_rdev));
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = 0;
	return n >= 9 && streq(target + n - 9, "/vfio-dev");
}

static int method_delegate(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Bus *b = ASSERT_PTR(userdata);
	ZpciFunction *f;
	char path[64];
	uint32_t fid = 0;
	bool have_fid = false;
	const BusOption delegate_options[] = { { "fid", 'u', &fid, &have_fid }, {} };
	int fd, copy, r;

	r = sd_bus_message_read(m, "h", &fd);
	if (r < 0)
		return r;
	r = bus_read_options(m, delegate_options, error);
	if (r < 0)
		return r;

	r = bus_check_admin(m, bus_config(b)->admin_group, error);
	if (r < 0)
		return r;
	if (!fd_is_vfio_device(fd))
		return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT,
					"The file descriptor is not a vfio device.");
	if (!have_fid)
		return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, "The option 'fid' is required.");
	f = bus_lookup_function(b, fid);
	if (!f)
		return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_FUNCTION, "No function 0x%08x.", fid);
	if (f->vfio)
		return sd_bus_error_set(error, BUS_ERROR_BUSY, "zpcid already holds this function.");
	if (!b->deps.ownership)
		return sd_bus_error_set(error, BUS_ERROR_NOT_SUPPORTED, "This daemon holds no functions.");

	/* The vfio layer takes ownership of its own copy. */
	copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (copy < 0)
		return bus_error_from_errno(error, negative_errno(),
					    "Failed to duplicate the file descriptor");
	/* Released when the owner leaves the bus (zpcid's copy would otherwise
	 * keep the device open), also when it left before this call is done. */
	r = ownership_delegate(b->deps.ownership, f, copy, sd_bus_message_get_bus(m),
			       sd_bus_message_get_sender(m));
	if (r == -ESRCH)
		return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, "The caller has left the bus.");
	if (r == -EINVAL || r == -ENXIO)
		return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
					 "The file descriptor is not the vfio device of function 0x%08x.",
					 fid);
	if (r == -ENOTTY)
		return sd_bus_error_set(error, BUS_ERROR_NOT_SUPPORTED,
					"The kernel lacks the zPCI error feature.");
	if (r == -EALREADY)
		return sd_bus_error_set(error, BUS_ERROR_BUSY, "zpcid already holds this function.");
	if (r < 0)
		return bus_error_from_errno(error, r, "Failed to adopt the device");
	bus_function_changed(b, f);
	(void)bus_function_path(fid, path, sizeof(path));
	return sd_bus_reply_method_return(m, "o", path);
}

/* --- Inhibit ------------------------------------------------------------- */

static BusInhibitGuard *guard_free(BusInhibitGuard *g)
{
	if (!g)
		return NULL;
	if (g->event)
		event_free(g->event);
	if (g->fd >= 0)
		(void)close(g->fd);
	free(g);
	return NULL;
}

/* The caller closed its end: release the inhibitor. */
static void guard_closed(BusInhibitGuard *g)
{
	Bus *b = g->bus;
	Inhibitors *set = actions_inhibitors(b->deps.actions);

	for (BusInhibitGuard **p = &b->inhibit_guards; *p; p = &(*p)->next)
		if (*p == g) {
			*p = g->next;
			break;
		}
	b->inhibitors_generation++;
	for (size_t k = 0; k < inhibit_count(set); k++) {
		const Inhibitor *i = inhibit_get(set, k);
		_cleanup_free_ char *what = NULL, *who = NULL;

		if (i->handle != g->handle)
			continue;
		/* Released first: postponed actions start before the record says so. */
		what = strdup(i->what_text);
		who = strdup(i->who);
		(void)inhibit_release(set, g->handle);
		log_info(b->deps.log, "Inhibitor of '%s' by %s released.", what ?: "?", who ?: "?");
		break;
	}
	guard_free(g);
	bus_manager_changed(b);
}

static void on_guard_fd(evutil_socket_t fd, short what, void *userdata)
{
	BusInhibitGuard *g = ASSERT_PTR(userdata);
	char buf[64];
	ssize_t n;

	n = read(fd, buf, sizeof(buf));
	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return; /* somebody wrote into the guard: ignore it */
	guard_closed(g);
}

void bus_inhibitors_free(Bus *b)
{
	while (b->inhibit_guards) {
		BusInhibitGuard *g = b->inhibit_guards;

		b->inhibit_guards = g->next;
		guard_free(g);
	}
}

static int check_inhibit_what(const char *what, sd_bus_error *error)
{
	_cleanup_free_ char *copy = strdup(what);
	char *save = NULL;
	unsigned n = 0;

	if (!copy)
		return -ENOMEM;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save), n++) {
		bool ok = false;

		for (size_t k = 0; k < ELEMENTSOF(inhibit_actions); k++)
			ok = ok || streq(tok, inhibit_actions[k]);
		if (!ok)
			return sd_bus_error_setf(
				error, BUS_ERROR_INVALID_ARGUMENT,
				"Unknown action '%.64s' (expected reset, unbind, report or all).", tok);
	}
	if (n == 0)
		return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, "Nothing to inhibit.");
	return 0;
}

static int method_inhibit(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Bus *b = ASSERT_PTR(userdata);
	_cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
	_cleanup_close_ int guard = -EBADF;
	const char *who, *why, *what;
	BusInhibitGuard *g;
	Inhibitors *set;
	uid_t uid = 0;
	pid_t pid = 0;
	uint64_t handle = 0;
	int pipefd[2], r;

	r = sd_bus_message_read(m, "sss", &who, &why, &what);
	if (r < 0)
		return r;
	r = bus_read_options(m, NULL, error);
	if (r < 0)
		return r;
	if ((r = bus_check_string(who, "'who'", error)) < 0 ||
	    (r = bus_check_string(why, "'why'", error)) < 0 ||
	    (r = bus_check_string(what, "'what'", error)) < 0)
		return r;
	if (isempty(who))
		return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, "'who' must not be empty.");
	r = check_inhibit_what(what, error);
	if (r < 0)
		return r;
	r = bus_check_admin(m, bus_config(b)->admin_group, error);
	if (r < 0)
		return r;
	if (!b->deps.actions)
		return sd_bus_error_set(error, BUS_ERROR_NOT_SUPPORTED,
					"No action runner: nothing to inhibit.");
	set = actions_inhibitors(b->deps.actions);

	if (sd_bus_query_sender_creds(m, SD_BUS_CREDS_UID | SD_BUS_CREDS_PID, &creds) >= 0) {
		(void)sd_bus_creds_get_uid(creds, &uid);
		(void)sd_bus_creds_get_pid(creds, &pid);
	}
	r = inhibit_acquire_as(set, who, why, what, uid, pid, &handle);
	if (r == -EUSERS)
		return sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
					 "Too many inhibitors (at most %d).", INHIBIT_MAX);
	if (r < 0)
		return bus_error_from_errno(error, r, "Failed to take the inhibitor");

	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = negative_errno();
		(void)inhibit_release(set, handle);
		return bus_error_from_errno(error, r, "Failed to create the guard pipe");
	}
	guard = pipefd[1];

	g = calloc(1, sizeof(*g));
	if (!g) {
		(void)close(pipefd[0]);
		(void)inhibit_release(set, handle);
		return -ENOMEM;
	}
	g->bus = b;
	g->handle = handle;
	g->fd = pipefd[0];
	g->event = event_new(b->deps.event_base, g->fd, EV_READ | EV_PERSIST, on_guard_fd, g);
	r = !g->event || event_add(g->event, NULL) < 0 ? -ENOMEM : 0;
	if (r >= 0)
		r = sd_bus_reply_method_return(m, "h", guard);
	if (r < 0) {
		(void)inhibit_release(set, handle);
		guard_free(g);
		return r;
	}
	/* sd-bus duplicated the fd into the message; ours closes on return. */
	g->next = b->inhibit_guards;
	b->inhibit_guards = g;
	b->inhibitors_generation++;
	log_info(b->deps.log, "Inhibitor of '%s' taken by %s (uid %u, pid %u): %s", what, who, (unsigned)uid,
		 (unsigned)pid, why);
	bus_manager_changed(b);
	return 1;
}

/* --- vtable -------------------------------------------------------------- */

static int property_function_count(sd_bus *bus, const char *path, const char *interface,
				   const char *property, sd_bus_message *reply, void *userdata,
				   sd_bus_error *error)
{
	return sd_bus_message_append(reply, "u", (uint32_t)bus_function_count(ASSERT_PTR(userdata)));
}

static const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("APILevel", "u", property_api_level, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("FunctionCount", "u", property_function_count, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("PolicyFile", "s", property_policy_file, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("PolicyLoadTime", "t", property_policy_load_time, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("DryRun", "b", property_dry_run, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("LoopStallMaxUSec", "t", property_loop_stall_max, 0, 0),
	SD_BUS_PROPERTY("Inhibitors", "a(sssuut)", property_inhibitors, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_METHOD_WITH_ARGS("ListFunctions", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ussso)", functions),
				method_list_functions, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetEvents", SD_BUS_ARGS("a{sv}", filters),
				SD_BUS_RESULT("aa{sv}", events, "t", total), method_get_events,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_ARGS("a{sv}", options), SD_BUS_NO_RESULT, method_reload,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("CheckPolicy", SD_BUS_ARGS("ay", text, "a{sv}", options),
				SD_BUS_RESULT("b", valid, "as", diagnostics), method_check_policy,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Delegate", SD_BUS_ARGS("h", fd, "a{sv}", options),
				SD_BUS_RESULT("o", function), method_delegate, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Inhibit", SD_BUS_ARGS("s", who, "s", why, "s", what, "a{sv}", options),
				SD_BUS_RESULT("h", guard), method_inhibit, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetEventSummary", SD_BUS_ARGS("a{sv}", options),
				SD_BUS_RESULT("a{sv}", summary), method_get_event_summary,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_ARGS("ErrorReported", SD_BUS_ARGS("a{sv}", event), 0),
	SD_BUS_SIGNAL_WITH_ARGS("RecoveryReported", SD_BUS_ARGS("a{sv}", event), 0),
	SD_BUS_SIGNAL_WITH_ARGS("ActionTaken", SD_BUS_ARGS("a{sv}", event), 0),
	SD_BUS_SIGNAL_WITH_ARGS("Alert", SD_BUS_ARGS("a{sv}", event), 0),
	SD_BUS_METHOD_WITH_ARGS("ListAdapters", SD_BUS_NO_ARGS, SD_BUS_RESULT("aa{sv}", adapters),
				method_list_adapters, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_ARGS(
		"AdapterEvent",
		SD_BUS_ARGS("q", pchid, "i", port, "au", fids, "u", functions, "a{sv}", event), 0),
	SD_BUS_VTABLE_END
};

void bus_summary_calls_detach(Bus *b)
{
	while (b->summary_calls) {
		SummaryCall *c = b->summary_calls;

		b->summary_calls = c->next;
		c->bus = NULL;
		c->next = NULL;
	}
}

int bus_manager_register(Bus *b)
{
	return sd_bus_add_object_vtable(b->bus, &b->manager_slot, BUS_PATH, BUS_MANAGER_INTERFACE,
					manager_vtable, b);
}
