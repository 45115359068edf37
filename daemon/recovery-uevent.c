/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libudev.h>

#include "daemon/pipeline.h"
#include "daemon/recovery-uevent.h"

struct RecoveryUevents {
	Registry *registry;
	Pipeline *pipeline;
	Log *log;
};

int recovery_uevent_parse(const char *error_event, const char *device_online, ZpciEvent *ret)
{
	ZpciEvent e = { .kind = EVENT_RECOVERY, .sources = EVENT_SOURCE_UEVENT };

	if (!error_event)
		return -ENOMSG;
	if (streq(error_event, "BEGIN_RECOVERY"))
		e.recovery = RECOVERY_BEGIN;
	else if (streq(error_event, "SUCCESSFUL_RECOVERY"))
		e.recovery = RECOVERY_SUCCESSFUL;
	else if (streq(error_event, "FAILED_RECOVERY"))
		e.recovery = RECOVERY_FAILED;
	else
		return -EINVAL;
	if (device_online && (streq(device_online, "0") || streq(device_online, "1"))) {
		e.online = streq(device_online, "1");
		e.has |= EVENT_HAS_ONLINE;
	}
	*ret = e;
	return 0;
}

static void on_uevent(void *userdata, ZpciFunction *f, const char *action, struct udev_device *d)
{
	RecoveryUevents *u = ASSERT_PTR(userdata);
	const char *what;
	ZpciEvent e;
	int r;

	if (!streq(action, "change"))
		return;
	what = udev_device_get_property_value(d, "ERROR_EVENT");
	r = recovery_uevent_parse(what, udev_device_get_property_value(d, "DEVICE_ONLINE"), &e);
	if (r == -EINVAL)
		log_debug(u->log, "Ignoring ERROR_EVENT=%s of %s.", what, f->attrs.slot);
	if (r < 0)
		return;
	(void)pipeline_submit(u->pipeline, f, &e);
}

static const RegistryHooks recovery_uevent_hooks = {
	.uevent = on_uevent,
};

int recovery_uevents_new(RecoveryUevents **ret, Registry *registry, Pipeline *pipeline, Log *log)
{
	_cleanup_(recovery_uevents_freep) RecoveryUevents *u = NULL;
	int r;

	if (!registry || !pipeline || !log)
		return -EINVAL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->pipeline = pipeline;
	u->log = log;
	r = registry_add_hooks(registry, &recovery_uevent_hooks, u);
	if (r < 0)
		return r;
	u->registry = registry;
	*ret = TAKE_PTR(u);
	return 0;
}

RecoveryUevents *recovery_uevents_free(RecoveryUevents *u)
{
	if (!u)
		return NULL;
	if (u->registry)
		(void)registry_remove_hooks(u->registry, &recovery_uevent_hooks, u);
	free(u);
	return NULL;
}
