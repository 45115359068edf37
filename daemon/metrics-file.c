/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/io-util.h"
#include "common/pec.h"
#include "common/time-util.h"
#include "daemon/adapter-events.h"
#include "daemon/function.h"
#include "daemon/metrics-file.h"
#include "daemon/registry.h"

/* The counts of one function that the function itself does not keep. */
typedef struct FidCounts {
	uint32_t fid;
	uint64_t by_class[_PEC_CLASS_MAX];
} FidCounts;

typedef struct ActionCount {
	uint32_t fid;
	char action[EVENT_WORD_MAX];
	char result[EVENT_WORD_MAX];
	uint64_t count;
} ActionCount;

struct MetricsFile {
	MetricsFileOptions options;
	bool subscribed;
	char *directory; /* NULL: nothing is written */
	uint64_t interval_usec;
	uint64_t start_usec;      /* realtime of the start */
	uint64_t last_write_usec; /* CLOCK_MONOTONIC of the last write; 0: none */
	bool failed;              /* the last write failed (said once) */
	uint64_t due_usec;        /* CLOCK_MONOTONIC when the armed timer fires */
	uint64_t n_writes;
	struct event *timer; /* the next write */

	FidCounts *fids; /* sorted by fid */
	size_t n_fids, allocated_fids;
	ActionCount *actions;
	size_t n_actions, allocated_actions;
};

int metrics_file_replace(const char *directory, const char *name, const char *text)
{
	_cleanup_free_ char *tmp = NULL, *path = NULL;
	int fd, r;

	/* The collector reads "*.prom" only: the temporary name ends otherwise. */
	if (asprintf(&tmp, "%s/.%s.XXXXXX", directory, name) < 0 ||
	    asprintf(&path, "%s/%s", directory, name) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = loop_write(fd, text, strlen(text));
	if (r >= 0 && fchmod(fd, 0644) < 0)
		r = -errno;
	if (close(fd) < 0 && r >= 0)
		r = -errno;
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

static FidCounts *fid_counts(MetricsFile *mf, uint32_t fid, bool create)
{
	size_t lo = 0, hi = mf->n_fids;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mf->fids[mid].fid == fid)
			return &mf->fids[mid];
		if (mf->fids[mid].fid < fid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!create)
		return NULL;
	if (mf->n_fids == mf->allocated_fids) {
		size_t na = mf->allocated_fids ? mf->allocated_fids * 2 : 16;
		FidCounts *n = reallocarray(mf->fids, na, sizeof(*n));

		if (!n)
			return NULL;
		mf->fids = n;
		mf->allocated_fids = na;
	}
	memmove(&mf->fids[lo + 1], &mf->fids[lo], (mf->n_fids - lo) * sizeof(*mf->fids));
	mf->fids[lo] = (FidCounts){ .fid = fid };
	mf->n_fids++;
	return &mf->fids[lo];
}

static void forget_fid(MetricsFile *mf, uint32_t fid)
{
	FidCounts *c = fid_counts(mf, fid, false);
	size_t j = 0;

	if (c) {
		size_t i = (size_t)(c - mf->fids);

		memmove(c, c + 1, (mf->n_fids - i - 1) * sizeof(*c));
		mf->n_fids--;
	}
	for (size_t i = 0; i < mf->n_actions; i++)
		if (mf->actions[i].fid != fid)
			mf->actions[j++] = mf->actions[i];
	mf->n_actions = j;
}

static void count_action(MetricsFile *mf, uint32_t fid, const char *action, const char *result)
{
	for (size_t i = 0; i < mf->n_actions; i++) {
		ActionCount *a = &mf->actions[i];

		if (a->fid == fid && streq(a->action, action) && streq(a->result, result)) {
			a->count++;
			return;
		}
	}
	if (mf->n_actions == mf->allocated_actions) {
		size_t na = mf->allocated_actions ? mf->allocated_actions * 2 : 16;
		ActionCount *n = reallocarray(mf->actions, na, sizeof(*n));

		if (!n)
			return; /* not counted: the next write shows what it has */
		mf->actions = n;
		mf->allocated_actions = na;
	}
	mf->actions[mf->n_actions] = (ActionCount){ .fid = fid, .count = 1 };
	(void)snprintf(mf->actions[mf->n_actions].action, EVENT_WORD_MAX, "%s", action);
	(void)snprintf(mf->actions[mf->n_actions].result, EVENT_WORD_MAX, "%s", result);
	mf->n_actions++;
}

static int render(MetricsFile *mf, bool up, char **ret)
{
	Registry *registry = mf->options.registry;
	MetricsSnapshot s = {
		.up = up,
		.version = PACKAGE_VERSION,
		.start_time_usec = mf->start_usec,
	};
	_cleanup_free_ MetricsFunction *fns = NULL;
	_cleanup_free_ MetricsAction *acts = NULL;
	_cleanup_free_ MetricsAdapter *adapters = NULL;
	size_t n = 0;
	int r;

	if (up && registry) {
		ZpciFunction *f;

		fns = calloc(registry_count(registry) + 1, sizeof(*fns));
		if (!fns)
			return -ENOMEM;
		REGISTRY_FOREACH (f, registry) {
			MetricsFunction *x = &fns[n++];
			const FidCounts *c = fid_counts(mf, f->attrs.fid, false);

			*x = (MetricsFunction){
				.fid = f->attrs.fid,
				.slot = f->attrs.slot,
				/* as the bus has it: no name without a PFT */
				.type = (f->attrs.has & ZPCI_ATTR_HAS_PFT) ? zpci_pft_to_string(f->attrs.pft)
									   : "",
				.state = function_state_to_string(f->state),
				.errors = f->counters.errors,
				.dropped = f->counters.dropped,
				.recoveries = f->counters.recoveries,
				.actions = f->counters.actions,
				.resets = f->counters.resets,
				.has_owner = f->owner_pid > 0,
				.owner_command = f->owner_comm,
				.owner_machine = f->owner_machine,
				.owner_machine_class = f->owner_machine_class,
				.owner_unit = f->owner_unit,
			};
			if (c)
				memcpy(x->errors_by_class, c->by_class, sizeof(x->errors_by_class));
		}
		s.functions = fns;
		s.n_functions = n;
	}
	if (up) {
		acts = calloc(mf->n_actions + 1, sizeof(*acts));
		if (!acts)
			return -ENOMEM;
		for (size_t i = 0; i < mf->n_actions; i++)
			acts[i] = (MetricsAction){ .fid = mf->actions[i].fid,
						   .action = mf->actions[i].action,
						   .result = mf->actions[i].result,
						   .count = mf->actions[i].count };
		s.actions = acts;
		s.n_actions = mf->n_actions;
		if (mf->options.daemon_figures)
			mf->options.daemon_figures(mf->options.userdata, &s);
		r = adapter_events_metrics(mf->options.adapter_events, &adapters, &s.n_adapters);
		if (r < 0)
			return r;
		s.adapters = adapters;
	}
	return metrics_render_string(&s, ret);
}

int metrics_file_write_now(MetricsFile *mf, bool up)
{
	_cleanup_free_ char *text = NULL;
	int r;

	if (!mf->directory)
		return -ENOENT;
	r = render(mf, up, &text);
	if (r >= 0)
		r = metrics_file_replace(mf->directory, METRICS_FILE_NAME, text);
	mf->last_write_usec = now_usec(CLOCK_MONOTONIC);
	mf->n_writes++;
	if (r < 0) {
		if (!mf->failed)
			log_warning_errno(mf->options.log, r,
					  "Failed to write the metrics to %s/%s, retrying: %m",
					  mf->directory, METRICS_FILE_NAME);
		mf->failed = true;
	} else if (mf->failed) {
		log_info(mf->options.log, "Wrote the metrics to %s/%s again.", mf->directory,
			 METRICS_FILE_NAME);
		mf->failed = false;
	}
	return r;
}

static void arm(MetricsFile *mf, uint64_t delay_usec)
{
	struct timeval tv = { .tv_sec = (time_t)(delay_usec / USEC_PER_SEC),
			      .tv_usec = (suseconds_t)(delay_usec % USEC_PER_SEC) };

	mf->due_usec = now_usec(CLOCK_MONOTONIC) + delay_usec;
	(void)evtimer_add(mf->timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *userdata)
{
	MetricsFile *mf = ASSERT_PTR(userdata);

	(void)metrics_file_write_now(mf, true);
	/* The heartbeat; a change brings the next write forward. A failed write is retried then too. */
	if (mf->directory)
		arm(mf, mf->failed ? mf->interval_usec : METRICS_FILE_HEARTBEAT_USEC);
}

void metrics_file_changed(MetricsFile *mf)
{
	uint64_t now, due;

	if (!mf || !mf->directory)
		return;
	now = now_usec(CLOCK_MONOTONIC);
	due = mf->last_write_usec ? mf->last_write_usec + mf->interval_usec : now;
	if (due < now)
		due = now;
	/* A write already due by then takes this change along. */
	if (evtimer_pending(mf->timer, NULL) && mf->due_usec <= due)
		return;
	arm(mf, due - now);
}

void metrics_file_observe(MetricsFile *mf, ZpciFunction *f, const ZpciEvent *e)
{
	if (!mf)
		return;
	if (e->kind == EVENT_ERROR && (e->has & EVENT_HAS_PEC)) {
		FidCounts *c = fid_counts(mf, e->fid, true);
		PecClass k = pec_class_of(e->pec);

		if (c && k >= 0 && k < _PEC_CLASS_MAX)
			c->by_class[k]++;
	} else if (e->kind == EVENT_ACTION && !isempty(e->action) && !isempty(e->result))
		count_action(mf, e->fid, e->action, e->result);
	metrics_file_changed(mf);
}

static void on_registry_change(Registry *r, RegistryChange change, ZpciFunction *f, void *userdata)
{
	MetricsFile *mf = ASSERT_PTR(userdata);

	if (change == REGISTRY_FUNCTION_REMOVED)
		forget_fid(mf, f->attrs.fid);
	metrics_file_changed(mf);
}

int metrics_file_new(MetricsFile **ret, const MetricsFileOptions *options)
{
	_cleanup_(metrics_file_freep) MetricsFile *mf = NULL;

	mf = calloc(1, sizeof(*mf));
	if (!mf)
		return -ENOMEM;
	mf->options = *options;
	mf->start_usec = now_usec(CLOCK_REALTIME);
	mf->interval_usec = 5 * USEC_PER_SEC;
	mf->timer = evtimer_new(options->event_base, on_timer, mf);
	if (!mf->timer)
		return -ENOMEM;
	if (options->registry) {
		int r = registry_subscribe(options->registry, on_registry_change, mf);

		if (r < 0)
			return r;
		mf->subscribed = true;
	}
	*ret = TAKE_PTR(mf);
	return 0;
}

int metrics_file_configure(MetricsFile *mf, const char *directory, uint64_t interval_usec)
{
	char *d = NULL;

	if (directory) {
		d = strdup(directory);
		if (!d)
			return -ENOMEM;
	}
	if (mf->directory && (!d || !streq(d, mf->directory)))
		(void)metrics_file_write_now(mf, false); /* the old place says so */
	free(mf->directory);
	mf->directory = d;
	mf->interval_usec = interval_usec;
	mf->failed = false;
	if (!d) {
		(void)event_del(mf->timer);
		return 0;
	}
	mf->last_write_usec = 0;
	metrics_file_changed(mf);
	return 0;
}

uint64_t metrics_file_n_writes(const MetricsFile *mf)
{
	return mf->n_writes;
}

MetricsFile *metrics_file_free(MetricsFile *mf)
{
	if (!mf)
		return NULL;
	if (mf->directory)
		(void)metrics_file_write_now(mf, false);
	if (mf->subscribed)
		(void)registry_unsubscribe(mf->options.registry, on_registry_change, mf);
	if (mf->timer)
		event_free(mf->timer);
	free(mf->directory);
	free(mf->fids);
	free(mf->actions);
	free(mf);
	return NULL;
}
