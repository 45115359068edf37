/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <time.h>

#include "common/macro.h"
#include "daemon/bus-util.h"

static int resolve_group(const char *name, gid_t *ret)
{
	struct group grp, *result = NULL;
	char buf[4096];
	int r;

	r = getgrnam_r(name, &grp, buf, sizeof(buf), &result);
	if (r != 0)
		return -r;
	if (!result)
		return -ESRCH;
	*ret = result->gr_gid;
	return 0;
}

/* The groups of the sender as the bus daemon saw them when it connected
 * ("UnixGroupIDs" of GetConnectionCredentials, from SO_PEERGROUPS); where
 * the bus daemon does not say, the user's groups in the user database.
 * Returns > 0 when @gid is among them, 0 when not, -errno. */
static int sender_in_group(sd_bus_message *message, uid_t uid, gid_t gid)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	const char *sender = sd_bus_message_get_sender(message);
	int r;

	if (!sender)
		return -ENXIO;
	r = sd_bus_call_method(sd_bus_message_get_bus(message), "org.freedesktop.DBus",
			       "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetConnectionCredentials",
			       &error, &reply, "s", sender);
	sd_bus_error_free(&error);
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(reply, 'a', "{sv}");
	while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
		const char *key;

		r = sd_bus_message_read(reply, "s", &key);
		if (r < 0)
			return r;
		if (streq(key, "UnixGroupIDs")) {
			const uint32_t *ids;
			size_t size;

			r = sd_bus_message_enter_container(reply, 'v', "au");
			if (r >= 0)
				r = sd_bus_message_read_array(reply, 'u', (const void **)&ids, &size);
			if (r < 0)
				return r;
			for (size_t i = 0; i < size / sizeof(uint32_t); i++)
				if (ids[i] == gid)
					return 1;
			return 0;
		}
		r = sd_bus_message_skip(reply, "v");
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
	}
	if (r < 0)
		return r;

	/* No group list from the bus: the user database. */
	{
		struct passwd pw, *result = NULL;
		char buf[4096];
		gid_t groups[256];
		int ngroups = ELEMENTSOF(groups);

		if (getpwuid_r(uid, &pw, buf, sizeof(buf), &result) != 0 || !result)
			return 0;
		if (getgrouplist(result->pw_name, result->pw_gid, groups, &ngroups) < 0)
			return 0;
		for (int i = 0; i < ngroups; i++)
			if (groups[i] == gid)
				return 1;
	}
	return 0;
}

int bus_sender_uid(sd_bus_message *message, uid_t *ret)
{
	_cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
	int r;

	r = sd_bus_query_sender_creds(message, SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID, &creds);
	if (r < 0)
		return r;
	r = sd_bus_creds_get_euid(creds, ret);
	if (r < 0)
		r = sd_bus_creds_get_uid(creds, ret);
	return r;
}

int bus_check_admin(sd_bus_message *message, const char *admin_group, sd_bus_error *error)
{
	_cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
	const gid_t *gids = NULL;
	uid_t uid;
	gid_t gid, admin_gid;
	int r, n;

	r = sd_bus_query_sender_creds(message,
				      SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID | SD_BUS_CREDS_GID |
					      SD_BUS_CREDS_SUPPLEMENTARY_GIDS,
				      &creds);
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Failed to get the caller's credentials: %s",
					       strerror(-r));

	/* Over a dbus-daemon connection the "uid" is the peer's uid at connect
	 * time (SO_PEERCRED), which is its effective uid. */
	r = sd_bus_creds_get_euid(creds, &uid);
	if (r < 0)
		r = sd_bus_creds_get_uid(creds, &uid);
	if (r < 0)
		return sd_bus_error_set(error, BUS_ERROR_ACCESS_DENIED, "The caller's user is unknown.");
	if (uid == 0)
		return 0;

	if (!isempty(admin_group) && resolve_group(admin_group, &admin_gid) >= 0) {
		if (sd_bus_creds_get_gid(creds, &gid) >= 0 && gid == admin_gid)
			return 0;
		n = sd_bus_creds_get_supplementary_gids(creds, &gids);
		for (int i = 0; i < n; i++)
			if (gids[i] == admin_gid)
				return 0;
		if (n < 0 && sender_in_group(message, uid, admin_gid) > 0)
			return 0;
	}
	if (isempty(admin_group))
		return sd_bus_error_set(error, BUS_ERROR_ACCESS_DENIED,
					"Changing state needs root (no admin_group is configured).");
	return sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED,
				 "Changing state needs root or membership of group '%s'.", admin_group);
}

int bus_check_string(const char *s, const char *what, sd_bus_error *error)
{
	if (strnlen(s, BUS_STRING_MAX + 1) > BUS_STRING_MAX)
		return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "%s is longer than %d bytes.",
					 what, BUS_STRING_MAX);
	return 0;
}

int bus_read_options(sd_bus_message *m, const BusOption *table, sd_bus_error *error)
{
	uint64_t seen = 0; /* bit i: table[i] was given */
	unsigned n = 0;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const BusOption *o = NULL;
		const char *key, *contents = NULL;
		char type[2];
		size_t i;

		if (++n > BUS_OPTIONS_MAX)
			return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
						 "Too many options (at most %d).", BUS_OPTIONS_MAX);
		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		for (i = 0; table && table[i].key; i++)
			if (streq(table[i].key, key)) {
				o = &table[i];
				break;
			}
		if (!o)
			return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%.64s'.",
						 key);
		if (i < 64 && (seen & (UINT64_C(1) << i)))
			return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
						 "Option '%s' is given more than once.", o->key);
		if (i < 64)
			seen |= UINT64_C(1) << i;
		type[0] = o->type;
		type[1] = 0;
		r = sd_bus_message_peek_type(m, NULL, &contents);
		if (r < 0)
			return r;
		if (!contents || !streq(contents, type))
			return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
						 "Option '%s' must have type '%s'.", o->key, type);
		r = sd_bus_message_enter_container(m, 'v', type);
		if (r >= 0)
			r = sd_bus_message_read_basic(m, o->type, o->value);
		if (r >= 0)
			r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
		if (o->type == 's' && strnlen(*(const char **)o->value, BUS_STRING_MAX + 1) > BUS_STRING_MAX)
			return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
						 "Option '%s' is longer than %d bytes.", o->key,
						 BUS_STRING_MAX);
		if (o->present)
			*o->present = true;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

int bus_error_from_errno(sd_bus_error *error, int r, const char *what)
{
	const char *name;

	switch (r) {
	case -ENOENT:
	case -ENODEV:
	case -ENXIO:
		name = BUS_ERROR_NO_SUCH_FUNCTION;
		break;
	case -EINVAL:
	case -E2BIG:
	case -ERANGE:
		name = BUS_ERROR_INVALID_ARGUMENT;
		break;
	case -EPERM:
	case -EACCES:
		name = BUS_ERROR_ACCESS_DENIED;
		break;
	case -EBUSY:
	case -EALREADY:
	case -EAGAIN:
		name = BUS_ERROR_BUSY;
		break;
	case -EOPNOTSUPP:
	case -ENOTTY:
	case -ENOSYS:
		name = BUS_ERROR_NOT_SUPPORTED;
		break;
	default:
		name = BUS_ERROR_FAILED;
	}
	(void)sd_bus_error_setf(error, name, "%s: %s", what, strerror(-r));
	return r;
}

static int append_value(sd_bus_message *m, const EventValue *v)
{
	_cleanup_free_ char *copy = NULL;

	switch (v->signature[0]) {
	case 't':
		return sd_bus_message_append_basic(m, 't', &v->number);
	case 'u': {
		uint32_t x = (uint32_t)v->number;
		return sd_bus_message_append_basic(m, 'u', &x);
	}
	case 'q': {
		uint16_t x = (uint16_t)v->number;
		return sd_bus_message_append_basic(m, 'q', &x);
	}
	case 'y': {
		uint8_t x = (uint8_t)v->number;
		return sd_bus_message_append_basic(m, 'y', &x);
	}
	case 'b': {
		int x = v->number != 0;
		return sd_bus_message_append_basic(m, 'b', &x);
	}
	case 's':
		if (!v->is_string)
			return -EINVAL;
		if (!v->terminated) { /* a field that fills its array */
			copy = strndup(v->string, v->length);
			if (!copy)
				return -ENOMEM;
		}
		return sd_bus_message_append_basic(m, 's', copy ?: v->string);
	default:
		return -EINVAL;
	}
}

int bus_append_event(sd_bus_message *m, const ZpciEvent *e)
{
	EventView v;
	int r;

	/* straight from the record: no JSON object in between, and no
	 * signature string parsed per value */
	event_view(e, &v);
	r = sd_bus_message_open_container(m, 'a', "{sv}");
	for (size_t i = 0; r >= 0 && i < v.n; i++) {
		r = sd_bus_message_open_container(m, 'e', "sv");
		if (r >= 0)
			r = sd_bus_message_append_basic(m, 's', v.values[i].key);
		if (r >= 0)
			r = sd_bus_message_open_container(m, 'v', v.values[i].signature);
		if (r >= 0)
			r = append_value(m, &v.values[i]);
		if (r >= 0)
			r = sd_bus_message_close_container(m);
		if (r >= 0)
			r = sd_bus_message_close_container(m);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r;
}
