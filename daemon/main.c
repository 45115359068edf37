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

#include "daemon/config.h"
#include "daemon/manager.h"
#include "daemon/policy.h"

enum {
	ARG_VERSION = 0x100,
	ARG_CHECK_CONFIG,
	ARG_LOG_LEVEL,
	ARG_LOG_TARGET,
	ARG_DROPIN_DIR,
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

int main(int argc, char *argv[])
{
	static const struct option options[] = { { "help", no_argument, NULL, 'h' },
						 { "version", no_argument, NULL, ARG_VERSION },
						 { "config", required_argument, NULL, 'c' },
						 { "config-dropins", required_argument, NULL,
						   ARG_DROPIN_DIR },
						 { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
						 { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
						 { "log-target", required_argument, NULL, ARG_LOG_TARGET },
						 {} };
	ManagerOptions o = { .log_level = -1, .log_target = _LOG_TARGET_INVALID };
	_cleanup_(manager_freep) Manager *m = NULL;
	bool arg_check_config = false;
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

	r = manager_new(&m, &o);
	if (r < 0)
		return EXIT_FAILURE;
	r = manager_start(m);
	if (r < 0)
		return EXIT_FAILURE;
	return manager_run(m);
}
