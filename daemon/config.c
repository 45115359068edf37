/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/config.h"

int config_new_default(Config **ret)
{
	_cleanup_(config_freep) Config *c = NULL;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->log_level = LOG_INFO;
	c->log_target = LOG_TARGET_AUTO;
	c->state_directory = strdup(LOCALSTATEDIR "/lib/zpcid");
	c->runtime_directory = strdup(RUNSTATEDIR "/zpcid");
	c->files = calloc(1, sizeof(char *));
	if (!c->state_directory || !c->runtime_directory || !c->files)
		return -ENOMEM;
	*ret = TAKE_PTR(c);
	return 0;
}

int config_load(Config **ret, const char *path, const char *dropin_dir, bool path_explicit,
		ConfigDiagnostics *diag)
{
	return config_new_default(ret);
}

Config *config_free(Config *c)
{
	if (!c)
		return NULL;
	strv_free(c->files);
	free(c->state_directory);
	free(c->runtime_directory);
	free(c->admin_group);
	free(c);
	return NULL;
}

void config_diagnostics_done(ConfigDiagnostics *d)
{
	d->lines = strv_free(d->lines);
	d->n = 0;
}
