/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zpcid: PCI error monitoring and recovery for zPCI functions on s390x.
 * This file only parses the command line and hands over to the Manager.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/event.h"
#include "daemon/config.h"
#include "daemon/explain.h"
#include "daemon/manager.h"
#include "daemon/policy.h"

enum {
	ARG_VERSION = 0x100,
	ARG_CHECK_CONFIG,
	ARG_LOG_LEVEL,
	ARG_LOG_TARGET,
	ARG_DROPIN_DIR,
	ARG_EXPLAIN,
	ARG_PEC,
	ARG_SOURCE,
	ARG_SYSFS,
	ARG_JSON,
};

static void help(void)
{
	printf("Usage: zpcid [OPTION...]\n"
	       "\n"
	       "Watch zPCI functions, collect and decode their PCI error events, apply\n"
	       "the recovery policy and report every event to the journal and D-Bus.\n"
	       "\n"
	       "  -c --config=FILE         Read the configuration from FILE\n"
	       "                           (default " CONFIG_DEFAULT_FILE ")\n"
	       "     --config-dropins=DIR  Read drop-ins from DIR (default " CONFIG_DEFAULT_DROPIN ")\n"
	       "     --check-config        Validate the configuration and exit (0 valid, 1 invalid)\n"
	       "     --log-level=LEVEL     err, warning, notice, info or debug\n"
	       "     --log-target=TARGET   journal, console or auto\n"
	       "     --explain=FUNCTION    Explain what the policy would do now if FUNCTION (a FID\n"
	       "                           or PCI address) reported --pec=PEC, and exit\n"
	       "     --pec=PEC             The event code for --explain (e.g. 0x3a)\n"
	       "     --source=SOURCES      The event's source(s) for --explain: vfio, delegated,\n"
	       "                           kmsg, uevent (default: what the function's mode gives)\n"
	       "     --sysfs=DIR           Read functions from a saved sysfs tree for --explain\n"
	       "     --json                Print the explanation as JSON\n"
	       "  -h --help                Show this help\n"
	       "     --version             Show the version\n"
	       "\n"
	       "See zpcid(8).\n");
}

static int check_config(const ManagerOptions *o)
{
	_cleanup_(config_diagnostics_done) ConfigDiagnostics diag = {};
	_cleanup_(config_freep) Config *c = NULL;
	int r;

	r = config_load(&c, o->config_file, o->dropin_dir, o->config_file != NULL, &diag);
	if (r < 0) {
		for (size_t i = 0; i < diag.n; i++)
			fprintf(stderr, "%s\n", diag.lines[i]);
		if (diag.n == 0)
			fprintf(stderr, "zpcid: failed to load the configuration: %s\n", strerror(-r));
		fprintf(stderr, "zpcid: configuration is invalid\n");
		return EXIT_FAILURE;
	}
	for (char **f = c->files; f && *f; f++)
		printf("%s: ok\n", *f);
	if (c->policy) {
		char budget[RATE_SPEC_STR_MAX], cooldown[24];

		printf("policy: %zu rule(s), budget %s, cooldown %s, default mode %s%s\n",
		       c->policy->n_rules,
		       c->policy->has_budget ? rate_spec_format(&c->policy->budget, budget, sizeof(budget))
					     : "none",
		       duration_format(c->policy->cooldown_usec, cooldown, sizeof(cooldown)),
		       function_mode_to_string(c->policy->default_mode),
		       c->policy->dry_run ? ", dry run" : "");
	}
	printf("zpcid: configuration is valid%s\n", c->files && c->files[0] ? "" : " (built-in defaults)");
	return EXIT_SUCCESS;
}

static int run_explain(const ManagerOptions *o, ExplainRequest *req)
{
	_cleanup_(config_diagnostics_done) ConfigDiagnostics diag = {};
	_cleanup_(config_freep) Config *c = NULL;
	_cleanup_free_ char *state = NULL, *runtime = NULL;
	int r;

	r = config_load(&c, o->config_file, o->dropin_dir, o->config_file != NULL, &diag);
	if (r < 0) {
		for (size_t i = 0; i < diag.n; i++)
			fprintf(stderr, "%s\n", diag.lines[i]);
		fprintf(stderr, "zpcid: configuration is invalid\n");
		return EXIT_FAILURE;
	}
	r = manager_resolve_directories(c, &state, &runtime);
	if (r < 0) {
		fprintf(stderr, "zpcid: out of memory\n");
		return EXIT_FAILURE;
	}
	req->state_directory = state;
	return explain_run(c, req, stdout, stderr);
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{ "config", required_argument, NULL, 'c' },
		{ "config-dropins", required_argument, NULL, ARG_DROPIN_DIR },
		{ "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
		{ "log-level", required_argument, NULL, ARG_LOG_LEVEL },
		{ "log-target", required_argument, NULL, ARG_LOG_TARGET },
		{ "explain", required_argument, NULL, ARG_EXPLAIN },
		{ "pec", required_argument, NULL, ARG_PEC },
		{ "source", required_argument, NULL, ARG_SOURCE },
		{ "sysfs", required_argument, NULL, ARG_SYSFS },
		{ "json", no_argument, NULL, ARG_JSON },
		{},
	};
	ManagerOptions o = { .log_level = -1, .log_target = _LOG_TARGET_INVALID };
	_cleanup_(manager_freep) Manager *m = NULL;
	bool arg_check_config = false, have_pec = false;
	ExplainRequest explain = {};
	int c, r;

	while ((c = getopt_long(argc, argv, "hc:", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			help();
			return EXIT_SUCCESS;
		case ARG_VERSION:
			printf("zpcid %s\n", PACKAGE_VERSION);
			return EXIT_SUCCESS;
		case 'c':
			o.config_file = optarg;
			break;
		case ARG_DROPIN_DIR:
			o.dropin_dir = optarg;
			break;
		case ARG_CHECK_CONFIG:
			arg_check_config = true;
			break;
		case ARG_LOG_LEVEL:
			o.log_level = log_level_from_string(optarg);
			if (o.log_level < 0) {
				fprintf(stderr,
					"zpcid: invalid log level '%s' (expected err, warning, notice, info "
					"or debug)\n",
					optarg);
				return EXIT_FAILURE;
			}
			break;
		case ARG_LOG_TARGET:
			o.log_target = log_target_from_string(optarg);
			if (o.log_target < 0 || o.log_target == LOG_TARGET_MEMORY) {
				fprintf(stderr,
					"zpcid: invalid log target '%s' (expected journal, console or "
					"auto)\n",
					optarg);
				return EXIT_FAILURE;
			}
			break;
		case ARG_EXPLAIN:
			explain.function = optarg;
			break;
		case ARG_PEC: {
			char *end = NULL;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 0);
			if (errno != 0 || !end || *end != 0 || end == optarg || v > UINT16_MAX) {
				fprintf(stderr, "zpcid: invalid PEC '%s' (expected a number such as 0x3a)\n",
					optarg);
				return EXIT_FAILURE;
			}
			explain.pec = (uint16_t)v;
			have_pec = true;
			break;
		}
		case ARG_SOURCE:
			r = event_sources_from_string(optarg);
			if (r <= 0) {
				fprintf(stderr,
					"zpcid: invalid source '%s' (expected vfio, delegated, kmsg or "
					"uevent)\n",
					optarg);
				return EXIT_FAILURE;
			}
			explain.sources = (unsigned)r;
			break;
		case ARG_SYSFS:
			explain.sysfs_root = optarg;
			break;
		case ARG_JSON:
			explain.json = true;
			break;
		case '?':
			return EXIT_FAILURE;
		default:
			abort();
		}
	}
	if (optind < argc) {
		fprintf(stderr, "zpcid: unexpected argument '%s' (see --help)\n", argv[optind]);
		return EXIT_FAILURE;
	}

	if (arg_check_config)
		return check_config(&o);
	if (explain.function || have_pec) {
		if (!explain.function || !have_pec) {
			fprintf(stderr, "zpcid: --explain needs both a FUNCTION and --pec\n");
			return EXIT_FAILURE;
		}
		return run_explain(&o, &explain);
	}

	r = manager_new(&m, &o);
	if (r < 0)
		return EXIT_FAILURE;
	r = manager_start(m);
	if (r < 0)
		return EXIT_FAILURE;
	/* The stop signals stay blocked after the loop (manager_new() blocked
	 * them for the signalfd): a second SIGTERM during the final flush of
	 * the history and the state waits, and dies with the process. */
	r = manager_run(m);
	return r;
}
