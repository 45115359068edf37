/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include <libudev.h>

#include "daemon/manager.h"
#include "daemon/pipeline.h"
#include "daemon/recovery-uevent.h"

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
	Manager *m = ASSERT_PTR(userdata);
	const char *what;
	ZpciEvent e;
	int r;

	if (!streq(action, "change"))
		return;
	what = udev_device_get_property_value(d, "ERROR_EVENT");
	r = recovery_uevent_parse(what, udev_device_get_property_value(d, "DEVICE_ONLINE"), &e);
	if (r == -EINVAL)
		log_debug(m->log, "Ignoring ERROR_EVENT=%s of %s.", what, f->attrs.slot);
	if (r < 0)
		return;
	(void)pipeline_submit(m->pipeline, f, &e);
}

static const RegistryHooks recovery_uevent_hooks = {
	.uevent = on_uevent,
};

int recovery_uevent_attach(Registry *r, Manager *m)
{
	return registry_add_hooks(r, &recovery_uevent_hooks, m);
}
