/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "common/metrics.h"

const char *const metrics_function_states[] = {
	"ok", "error", "recovering", "failed", "quarantined", "gone", NULL,
};

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped as the format wants. */
static void label(FILE *f, const char *name, const char *value, bool first)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	for (const char *c = value ?: ""; *c; c++) {
		if (*c == '\\' || *c == '"')
			fputc('\\', f);
		if (*c == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*c, f);
	}
	fputc('"', f);
}

static void function_labels(FILE *f, const MetricsFunction *fn)
{
	char fid[16];

	(void)snprintf(fid, sizeof(fid), "0x%08" PRIx32, fn->fid);
	label(f, "fid", fid, true);
	label(f, "slot", fn->slot, false);
	label(f, "type", fn->type, false);
}

static const MetricsFunction *find_function(const MetricsSnapshot *s, uint32_t fid)
{
	for (size_t i = 0; i < s->n_functions; i++)
		if (s->functions[i].fid == fid)
			return &s->functions[i];
	return NULL;
}

static void per_function(FILE *f, const MetricsSnapshot *s, const char *name, const char *type,
			 const char *help, size_t offset)
{
	if (s->n_functions == 0)
		return;
	family(f, name, type, help);
	for (size_t i = 0; i < s->n_functions; i++) {
		const MetricsFunction *fn = &s->functions[i];

		fprintf(f, "%s{", name);
		function_labels(f, fn);
		fprintf(f, "} %" PRIu64 "\n", *(const uint64_t *)((const char *)fn + offset));
	}
}

int metrics_render(FILE *f, const MetricsSnapshot *s)
{
	family(f, "zpcid_up", "gauge", "Whether zpcid is running (0 after it stopped).");
	fprintf(f, "zpcid_up %d\n", s->up);
	family(f, "zpcid_build_info", "gauge", "zpcid's version, in the label; always 1.");
	fputs("zpcid_build_info{", f);
	label(f, "version", s->version, true);
	fputs("} 1\n", f);
	if (!s->up)
		goto done;

	if (s->start_time_usec > 0) {
		family(f, "zpcid_start_time_seconds", "gauge",
		       "When zpcid started, seconds since the epoch.");
		fprintf(f, "zpcid_start_time_seconds %" PRIu64 ".%06" PRIu64 "\n",
			(uint64_t)(s->start_time_usec / USEC_PER_SEC),
			(uint64_t)(s->start_time_usec % USEC_PER_SEC));
	}
	family(f, "zpcid_functions", "gauge", "zPCI functions zpcid knows.");
	fprintf(f, "zpcid_functions %zu\n", s->n_functions);
	if (s->has_inhibitors) {
		family(f, "zpcid_inhibitors", "gauge", "Inhibitors of disruptive actions held.");
		fprintf(f, "zpcid_inhibitors %" PRIu64 "\n", s->n_inhibitors);
	}
	if (s->has_kmsg) {
		family(f, "zpcid_kmsg_missed_records_total", "counter",
		       "Kernel log records overwritten before zpcid read them.");
		fprintf(f, "zpcid_kmsg_missed_records_total %" PRIu64 "\n", s->kmsg_missed);
	}
	if (s->has_loop_stall) {
		family(f, "zpcid_loop_stall_max_seconds", "gauge",
		       "The longest iteration of zpcid's event loop since it started, CPU seconds.");
		fprintf(f, "zpcid_loop_stall_max_seconds %" PRIu64 ".%06" PRIu64 "\n",
			(uint64_t)(s->loop_stall_max_usec / USEC_PER_SEC),
			(uint64_t)(s->loop_stall_max_usec % USEC_PER_SEC));
	}

	if (s->n_adapters > 0)
		family(f, "zpcid_adapter_events_total", "counter",
		       "Adapter events: functions of one adapter (PCHID) that reported errors together.");
	for (size_t i = 0; i < s->n_adapters; i++) {
		const MetricsAdapter *a = &s->adapters[i];

		fprintf(f, "zpcid_adapter_events_total{pchid=\"0x%04" PRIx16 "\"", a->pchid);
		if (a->has_port)
			fprintf(f, ",port=\"%" PRIu32 "\"", a->port);
		fprintf(f, "} %" PRIu64 "\n", a->events);
	}

	/* A family without series is left out: the format has no use for it. */
	if (s->n_functions > 0)
		family(f, "zpcid_function_state", "gauge",
		       "State of the function: 1 for the current state, 0 for the others.");
	for (size_t i = 0; i < s->n_functions; i++)
		for (size_t st = 0; metrics_function_states[st]; st++) {
			const MetricsFunction *fn = &s->functions[i];

			fputs("zpcid_function_state{", f);
			function_labels(f, fn);
			label(f, "state", metrics_function_states[st], false);
			fprintf(f, "} %d\n", streq(fn->state ?: "", metrics_function_states[st]));
		}

	/* An info metric: joined on fid, it names the guest of any series. */
	for (size_t i = 0, n = 0; i < s->n_functions; i++) {
		const MetricsFunction *fn = &s->functions[i];

		if (!fn->has_owner)
			continue;
		if (n++ == 0)
			family(f, "zpcid_function_owner_info", "gauge",
			       "The process holding the function: its machine (systemd-machined), machine "
			       "class, unit and command, in the labels; always 1.");
		fputs("zpcid_function_owner_info{", f);
		function_labels(f, fn);
		label(f, "machine", fn->owner_machine, false);
		label(f, "machine_class", fn->owner_machine_class, false);
		label(f, "unit", fn->owner_unit, false);
		label(f, "command", fn->owner_command, false);
		fputs("} 1\n", f);
	}

	per_function(f, s, "zpcid_function_errors_total", "counter",
		     "PCI error events recorded for the function.", offsetof(MetricsFunction, errors));
	per_function(f, s, "zpcid_function_dropped_errors_total", "counter",
		     "Error events the kernel dropped for the function (its queue was full).",
		     offsetof(MetricsFunction, dropped));
	per_function(f, s, "zpcid_function_recoveries_total", "counter",
		     "Recovery events of the kernel seen for the function.",
		     offsetof(MetricsFunction, recoveries));
	per_function(f, s, "zpcid_function_actions_total", "counter",
		     "Actions zpcid took on the function, any result.", offsetof(MetricsFunction, actions));
	per_function(f, s, "zpcid_function_resets_total", "counter",
		     "Resets zpcid completed on the function.", offsetof(MetricsFunction, resets));

	if (s->n_functions > 0)
		family(f, "zpcid_errors_total", "counter", "PCI error events by function and PEC class.");
	for (size_t i = 0; i < s->n_functions; i++)
		for (PecClass c = 0; c < _PEC_CLASS_MAX; c++) {
			const MetricsFunction *fn = &s->functions[i];

			fputs("zpcid_errors_total{", f);
			function_labels(f, fn);
			label(f, "pec_class", pec_class_to_string(c), false);
			fprintf(f, "} %" PRIu64 "\n", fn->errors_by_class[c]);
		}

	if (s->n_actions > 0)
		family(f, "zpcid_actions_total", "counter", "Actions by function, action and result.");
	for (size_t i = 0; i < s->n_actions; i++) {
		const MetricsAction *a = &s->actions[i];
		const MetricsFunction *fn = find_function(s, a->fid);
		MetricsFunction unknown = { .fid = a->fid, .slot = "", .type = "" };

		fputs("zpcid_actions_total{", f);
		function_labels(f, fn ?: &unknown);
		label(f, "action", a->action, false);
		label(f, "result", a->result, false);
		fprintf(f, "} %" PRIu64 "\n", a->count);
	}
done:
	return ferror(f) ? -EIO : 0;
}

int metrics_render_string(const MetricsSnapshot *s, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0;
	FILE *f;
	int r;

	f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	r = metrics_render(f, s);
	if (fclose(f) != 0 || r < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(buf);
	return 0;
}
