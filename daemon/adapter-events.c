/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/pec.h"
#include "daemon/adapter-events.h"
#include "daemon/adapter.h"
#include "daemon/config.h"
#include "daemon/pipeline.h"
#include "daemon/registry.h"

struct AdapterEvents {
	Log *log;
	Registry *registry; /* NULL until adapter_events_set_registry() */
	Pipeline *pipeline;
	AdapterCorrelator *correlator;
};

static uint64_t now_usec(clockid_t clock)
{
	struct timespec ts;

	(void)clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / NSEC_PER_USEC;
}

static void config_of(const Config *config, AdapterConfig *ret)
{
	adapter_config_default(ret);
	if (!config)
		return;
	ret->functions = (unsigned)config->adapter.functions;
	ret->window_usec = config->adapter.window_usec;
	ret->hold_usec = config->adapter.hold_usec;
	ret->by_port = config->adapter.by_port;
}

int adapter_events_new(AdapterEvents **ret, const AdapterEventsOptions *options)
{
	_cleanup_(adapter_events_freep) AdapterEvents *a = NULL;
	AdapterConfig c;
	int r;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->log = options->log;
	a->pipeline = options->pipeline;
	config_of(options->config, &c);
	r = adapter_correlator_new(&a->correlator, &c);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(a);
	return 0;
}

AdapterEvents *adapter_events_free(AdapterEvents *a)
{
	if (!a)
		return NULL;
	adapter_correlator_free(a->correlator);
	free(a);
	return NULL;
}

void adapter_events_set_registry(AdapterEvents *a, Registry *registry)
{
	if (a)
		a->registry = registry;
}

void adapter_events_reload(AdapterEvents *a, const Config *config)
{
	AdapterConfig c;

	if (!a)
		return;
	config_of(config, &c);
	adapter_correlator_set_config(a->correlator, &c);
}

static bool key_matches(const AdapterConfig *c, const AdapterKey *key, const ZpciFunction *f)
{
	AdapterKey k;

	return f->state != FUNCTION_STATE_GONE && adapter_key_of(c, &f->attrs, &k) &&
	       adapter_key_equal(&k, key);
}

static uint32_t count_functions(AdapterEvents *a, const AdapterKey *key)
{
	ZpciFunction *f;
	uint32_t n = 0;

	if (!a->registry)
		return 0;
	REGISTRY_FOREACH (f, a->registry)
		if (key_matches(&a->correlator->config, key, f))
			n++;
	return n;
}

static bool counts_as_error(const ZpciEvent *e)
{
	PecClass c;

	if (e->kind != EVENT_ERROR)
		return false;
	if (!(e->has & EVENT_HAS_PEC))
		return true;
	c = pec_class_of(e->pec);
	return c != PEC_CLASS_INFORMATIONAL && c != PEC_CLASS_FW_RESET_DONE;
}

void adapter_events_observe(AdapterEvents *a, ZpciFunction *f, const ZpciEvent *e)
{
	AdapterFiring fire;
	ZpciEvent ev, *ae = &ev;
	size_t n = 0;
	int r;

	/* an error's full record (same_as) is the error recorded before */
	if (!a || !f || !counts_as_error(e) || e->same_as != 0)
		return;
	r = adapter_correlator_observe(a->correlator, &f->attrs, e->monotonic_usec, &fire);
	if (r < 0)
		log_oom(a->log);
	if (r <= 0)
		return;
	*ae = (ZpciEvent){
		.kind = EVENT_ADAPTER,
		.sources = EVENT_SOURCE_DAEMON,
		.has = EVENT_HAS_PCHID | EVENT_HAS_COUNT | EVENT_HAS_ADAPTER_FUNCTIONS,
		.pchid = fire.key.pchid,
		.count = (uint32_t)fire.n_fids,
		.adapter_functions = count_functions(a, &fire.key),
	};
	if (fire.key.has_port) {
		ae->has |= EVENT_HAS_PORT;
		ae->port = fire.key.port;
	}
	/* the functions that went away still count among those with errors */
	if (ae->adapter_functions < ae->count)
		ae->adapter_functions = ae->count;
	for (size_t i = 0; i < fire.n_fids; i++) {
		int k = snprintf(ae->adapter_fids + n, sizeof(ae->adapter_fids) - n, "%s0x%08" PRIx32,
				 i > 0 ? "," : "", fire.fids[i]);

		if (k < 0 || (size_t)k >= sizeof(ae->adapter_fids) - n) {
			ae->adapter_fids[n] = 0; /* the first ones, whole; count has them all */
			break;
		}
		n += (size_t)k;
	}
	(void)snprintf(ae->detail, sizeof(ae->detail), "%" PRIu32 " function(s) with errors within %llu s",
		       ae->count, (unsigned long long)(a->correlator->config.window_usec / USEC_PER_SEC));
	/* after the current event, never inside it (the pipeline logs a loss) */
	if (a->pipeline)
		(void)pipeline_defer(a->pipeline, NULL, ae);
}

static void sink_adapter_events_event(void *userdata, ZpciFunction *f, const ZpciEvent *e, bool emit)
{
	adapter_events_observe(ASSERT_PTR(userdata), f, e);
}

const PipelineSinkVtable sink_adapter_events = {
	.name = "adapter-events",
	.order = PIPELINE_SINK_OBSERVE,
	.event = sink_adapter_events_event,
};

bool adapter_events_holds(AdapterEvents *a, const ZpciFunction *f, uint64_t now_usec)
{
	return a && f && adapter_correlator_holds(a->correlator, &f->attrs, now_usec, NULL);
}

ZpciFunction *adapter_events_policy_function(AdapterEvents *a, const ZpciEvent *e)
{
	AdapterKey key = { .pchid = e->pchid, .has_port = !!(e->has & EVENT_HAS_PORT), .port = e->port };
	ZpciFunction *f, *lowest = NULL;

	if (!a || e->kind != EVENT_ADAPTER || !a->registry)
		return NULL;
	for (const char *p = e->adapter_fids; *p;) {
		char *end;
		unsigned long fid = strtoul(p, &end, 16);

		if (end == p)
			break;
		f = registry_get_by_fid(a->registry, (uint32_t)fid);
		if (f && f->state != FUNCTION_STATE_GONE)
			return f; /* the list is in ascending order */
		p = *end == ',' ? end + 1 : end;
	}
	REGISTRY_FOREACH (f, a->registry)
		if (key_matches(&a->correlator->config, &key, f) &&
		    (!lowest || f->attrs.fid < lowest->attrs.fid))
			lowest = f;
	return lowest;
}

/* --- ListAdapters -------------------------------------------------------- */

static int append_function(sd_bus_message *reply, const ZpciFunction *f, bool recent)
{
	int r;

	r = sd_bus_message_open_container(reply, 'a', "{sv}");
	if (r >= 0)
		r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}{sv}", "fid", "u", f->attrs.fid, "slot",
					  "s", f->attrs.slot, "state", "s",
					  function_state_to_string(f->state), "errors", "t",
					  f->counters.errors, "recent_error", "b", recent);
	if (r >= 0 && (f->attrs.has & ZPCI_ATTR_HAS_PORT))
		r = sd_bus_message_append(reply, "{sv}", "port", "u", f->attrs.port);
	/* the guest that holds it, as systemd-machined names it (daemon/machine.h) */
	if (r >= 0 && f->owner_pid > 0 && !isempty(f->owner_machine))
		r = sd_bus_message_append(reply, "{sv}", "owner_machine", "s", f->owner_machine);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	return r;
}

static bool fid_recent(const AdapterCorrelator *c, const Adapter *ad, uint32_t fid, uint64_t now)
{
	if (!ad)
		return false;
	for (size_t i = 0; i < ad->n_recent; i++)
		if (ad->recent[i].fid == fid)
			return ad->recent[i].usec <= now && now - ad->recent[i].usec < c->config.window_usec;
	return false;
}

static int append_adapter(AdapterEvents *a, sd_bus_message *reply, const AdapterKey *key, uint64_t mono,
			  uint64_t real)
{
	const AdapterCorrelator *c = a->correlator;
	const Adapter *ad = adapter_correlator_find(c, key);
	uint64_t errors = 0;
	uint32_t n = 0;
	ZpciFunction *f;
	int r;

	REGISTRY_FOREACH (f, a->registry) {
		if (key_matches(&c->config, key, f)) {
			errors += f->counters.errors;
			n++;
		}
	}

	r = sd_bus_message_open_container(reply, 'a', "{sv}");
	if (r >= 0)
		r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}{sv}", "pchid", "q", key->pchid,
					  "function_count", "u", n, "errors", "t", errors,
					  "recent_functions", "u",
					  (uint32_t)(ad ? adapter_recent_count(c, ad, mono) : 0),
					  "adapter_events", "t", ad ? ad->events : 0);
	if (r >= 0 && key->has_port)
		r = sd_bus_message_append(reply, "{sv}", "port", "u", key->port);
	if (r >= 0 && ad && ad->events > 0 && mono >= ad->last_event_usec)
		r = sd_bus_message_append(reply, "{sv}", "last_adapter_event", "t",
					  real - (mono - ad->last_event_usec));
	if (r >= 0 && c->config.hold_usec > 0 && ad && ad->events > 0 && mono >= ad->last_event_usec &&
	    mono - ad->last_event_usec < c->config.hold_usec)
		r = sd_bus_message_append(reply, "{sv}", "held_until", "t",
					  real + (ad->last_event_usec + c->config.hold_usec - mono));
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'e', "sv");
	if (r >= 0)
		r = sd_bus_message_append(reply, "s", "functions");
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'v', "aa{sv}");
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "a{sv}");
	REGISTRY_FOREACH (f, a->registry) {
		if (r >= 0 && key_matches(&c->config, key, f))
			r = append_function(reply, f, fid_recent(c, ad, f->attrs.fid, mono));
	}
	for (unsigned i = 0; r >= 0 && i < 3; i++)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	return r;
}

/* Every adapter: those of the functions present (in the order of their
 * lowest FID: the registry is in FID order), then those only the
 * correlator remembers (their functions went away). */
static int collect_keys(AdapterEvents *a, AdapterKey **ret, size_t *ret_n)
{
	const AdapterCorrelator *c = a->correlator;
	_cleanup_free_ AdapterKey *keys = NULL;
	size_t n = 0;
	ZpciFunction *f;

	keys = calloc((a->registry ? registry_count(a->registry) : 0) + c->n_adapters + 1,
		      sizeof(AdapterKey));
	if (!keys)
		return -ENOMEM;
	if (a->registry)
		REGISTRY_FOREACH (f, a->registry) {
			AdapterKey k;
			bool seen = false;

			if (f->state == FUNCTION_STATE_GONE || !adapter_key_of(&c->config, &f->attrs, &k))
				continue;
			for (size_t i = 0; i < n && !seen; i++)
				seen = adapter_key_equal(&keys[i], &k);
			if (!seen)
				keys[n++] = k;
		}
	for (size_t j = 0; j < c->n_adapters; j++) {
		bool seen = false;

		for (size_t i = 0; i < n && !seen; i++)
			seen = adapter_key_equal(&keys[i], &c->adapters[j].key);
		if (!seen)
			keys[n++] = c->adapters[j].key;
	}
	*ret = TAKE_PTR(keys);
	*ret_n = n;
	return 0;
}

int adapter_events_append_list(AdapterEvents *a, sd_bus_message *reply)
{
	uint64_t mono = now_usec(CLOCK_MONOTONIC), real = now_usec(CLOCK_REALTIME);
	_cleanup_free_ AdapterKey *keys = NULL;
	size_t n = 0;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "a{sv}");
	if (r < 0)
		return r;
	if (a) {
		r = collect_keys(a, &keys, &n);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = append_adapter(a, reply, &keys[i], mono, real);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	return r;
}

int adapter_events_metrics(AdapterEvents *a, MetricsAdapter **ret, size_t *ret_n)
{
	_cleanup_free_ AdapterKey *keys = NULL;
	MetricsAdapter *l;
	size_t n = 0;
	int r;

	*ret = NULL;
	*ret_n = 0;
	if (!a)
		return 0;
	r = collect_keys(a, &keys, &n);
	if (r < 0 || n == 0)
		return r;
	l = calloc(n, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const Adapter *ad = adapter_correlator_find(a->correlator, &keys[i]);

		l[i] = (MetricsAdapter){ .pchid = keys[i].pchid,
					 .has_port = keys[i].has_port,
					 .port = keys[i].port,
					 .events = ad ? ad->events : 0 };
	}
	*ret = l;
	*ret_n = n;
	return 0;
}
