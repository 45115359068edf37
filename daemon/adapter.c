/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * adapter: the correlator's bookkeeping. A host has tens of adapters with a
 * handful of functions each, so plain arrays searched linearly do.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/adapter.h"

void adapter_config_default(AdapterConfig *ret)
{
	*ret = (AdapterConfig){
		.functions = ADAPTER_DEFAULT_FUNCTIONS,
		.window_usec = 10 * USEC_PER_SEC,
	};
}

bool adapter_key_of(const AdapterConfig *c, const ZpciAttrs *a, AdapterKey *ret)
{
	/* PCHID 0: a virtual function (ISM) on no physical adapter */
	if (!(a->has & ZPCI_ATTR_HAS_PCHID) || a->pchid == 0)
		return false;
	*ret = (AdapterKey){ .pchid = a->pchid };
	if (c->by_port && (a->has & ZPCI_ATTR_HAS_PORT)) {
		ret->has_port = true;
		ret->port = a->port;
	}
	return true;
}

bool adapter_key_equal(const AdapterKey *a, const AdapterKey *b)
{
	return a->pchid == b->pchid && a->has_port == b->has_port && (!a->has_port || a->port == b->port);
}

int adapter_correlator_new(AdapterCorrelator **ret, const AdapterConfig *config)
{
	AdapterCorrelator *c;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (config)
		c->config = *config;
	else
		adapter_config_default(&c->config);
	*ret = c;
	return 0;
}

static void forget_all(AdapterCorrelator *c)
{
	for (size_t i = 0; i < c->n_adapters; i++)
		free(c->adapters[i].recent);
	free(c->adapters);
	c->adapters = NULL;
	c->n_adapters = 0;
}

AdapterCorrelator *adapter_correlator_free(AdapterCorrelator *c)
{
	if (!c)
		return NULL;
	forget_all(c);
	free(c);
	return NULL;
}

void adapter_correlator_set_config(AdapterCorrelator *c, const AdapterConfig *config)
{
	if (config->by_port != c->config.by_port)
		forget_all(c);
	c->config = *config;
}

const Adapter *adapter_correlator_find(const AdapterCorrelator *c, const AdapterKey *key)
{
	for (size_t i = 0; i < c->n_adapters; i++)
		if (adapter_key_equal(&c->adapters[i].key, key))
			return &c->adapters[i];
	return NULL;
}

static Adapter *get_adapter(AdapterCorrelator *c, const AdapterKey *key)
{
	Adapter *a;

	a = (Adapter *)adapter_correlator_find(c, key);
	if (a)
		return a;
	a = reallocarray(c->adapters, c->n_adapters + 1, sizeof(Adapter));
	if (!a)
		return NULL;
	c->adapters = a;
	a = &c->adapters[c->n_adapters++];
	*a = (Adapter){ .key = *key };
	return a;
}

static bool in_window(const AdapterCorrelator *c, uint64_t t, uint64_t now_usec)
{
	return t <= now_usec && now_usec - t < c->config.window_usec;
}

size_t adapter_recent_count(const AdapterCorrelator *c, const Adapter *ad, uint64_t now_usec)
{
	size_t n = 0;

	for (size_t i = 0; i < ad->n_recent; i++)
		if (in_window(c, ad->recent[i].usec, now_usec))
			n++;
	return n;
}

/* Drop functions whose latest error is out of the window at @now_usec. */
static void prune(const AdapterCorrelator *c, Adapter *ad, uint64_t now_usec)
{
	size_t j = 0;

	for (size_t i = 0; i < ad->n_recent; i++)
		if (in_window(c, ad->recent[i].usec, now_usec) || ad->recent[i].usec > now_usec)
			ad->recent[j++] = ad->recent[i];
	ad->n_recent = j;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int adapter_correlator_observe(AdapterCorrelator *c, const ZpciAttrs *a, uint64_t now_usec,
			       AdapterFiring *ret)
{
	AdapterKey key;
	Adapter *ad;
	size_t i, n;

	if (c->config.functions == 0 || !adapter_key_of(&c->config, a, &key))
		return 0;
	ad = get_adapter(c, &key);
	if (!ad)
		return -ENOMEM;
	ad->errors++;
	prune(c, ad, now_usec);

	for (i = 0; i < ad->n_recent; i++)
		if (ad->recent[i].fid == a->fid)
			break;
	if (i < ad->n_recent) {
		if (now_usec > ad->recent[i].usec)
			ad->recent[i].usec = now_usec;
	} else {
		AdapterRecent *r;

		if (ad->n_recent >= ADAPTER_FIDS_MAX)
			return 0; /* enough to fire already; the newcomer is not needed */
		r = reallocarray(ad->recent, ad->n_recent + 1, sizeof(AdapterRecent));
		if (!r)
			return -ENOMEM;
		ad->recent = r;
		ad->recent[ad->n_recent++] = (AdapterRecent){ .fid = a->fid, .usec = now_usec };
	}

	n = adapter_recent_count(c, ad, now_usec);
	if (n < c->config.functions)
		return 0;
	/* once per window per adapter */
	if (ad->events > 0 && now_usec >= ad->last_event_usec &&
	    now_usec - ad->last_event_usec < c->config.window_usec)
		return 0;
	if (ad->events > 0 && now_usec < ad->last_event_usec)
		return 0;

	ad->events++;
	ad->last_event_usec = now_usec;
	if (ret) {
		*ret = (AdapterFiring){ .key = key };
		for (i = 0; i < ad->n_recent; i++)
			if (in_window(c, ad->recent[i].usec, now_usec))
				ret->fids[ret->n_fids++] = ad->recent[i].fid;
		qsort_safe(ret->fids, ret->n_fids, sizeof(uint32_t), cmp_u32);
	}
	return 1;
}

bool adapter_correlator_holds(const AdapterCorrelator *c, const ZpciAttrs *a, uint64_t now_usec,
			      uint64_t *ret_until)
{
	const Adapter *ad;
	AdapterKey key;

	if (c->config.hold_usec == 0 || !adapter_key_of(&c->config, a, &key))
		return false;
	ad = adapter_correlator_find(c, &key);
	if (!ad || ad->events == 0 || now_usec < ad->last_event_usec ||
	    now_usec - ad->last_event_usec >= c->config.hold_usec)
		return false;
	if (ret_until)
		*ret_until = ad->last_event_usec + c->config.hold_usec;
	return true;
}
