/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "zpcictl/client.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

int client_open(sd_bus **ret)
{
	return sd_bus_open_system(ret);
}

int client_daemon_running(sd_bus *bus)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int r, has = 0;

	r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
			       "NameHasOwner", &error, &reply, "s", BUS_NAME);
	if (r >= 0)
		r = sd_bus_message_read(reply, "b", &has);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&error);
	if (r < 0)
		return r;
	return !!has;
}

int client_connect(sd_bus **ret)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	int r;

	r = client_open(&bus);
	if (r < 0)
		return r;
	r = client_daemon_running(bus);
	if (r < 0)
		return r;
	if (r == 0)
		return -ESRCH;
	*ret = TAKE_PTR(bus);
	return 0;
}

static json_object *basic_json(char type, const void *p)
{
	switch (type) {
	case 'y':
		return json_object_new_int64(*(const uint8_t *)p);
	case 'b':
		return json_object_new_boolean(*(const int *)p);
	case 'n':
		return json_object_new_int64(*(const int16_t *)p);
	case 'q':
		return json_object_new_int64(*(const uint16_t *)p);
	case 'i':
		return json_object_new_int64(*(const int32_t *)p);
	case 'u':
	case 'h':
		return json_object_new_int64(*(const uint32_t *)p);
	case 'x':
		return json_object_new_int64(*(const int64_t *)p);
	case 't':
		return json_object_new_uint64(*(const uint64_t *)p);
	case 'd':
		return json_object_new_double(*(const double *)p);
	case 's':
	case 'o':
	case 'g':
		return json_object_new_string(*(const char *const *)p);
	default:
		return NULL;
	}
}

int client_read_json(sd_bus_message *m, json_object **ret)
{
	const char *contents = NULL;
	char type;
	int r;

	r = sd_bus_message_peek_type(m, &type, &contents);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENXIO;

	if (type == 'v' || type == 'r' || type == 'a') {
		bool dict = type == 'a' && contents[0] == '{' && (contents[1] == 's' || contents[1] == 'o');
		json_object *c = dict ? json_object_new_object()
				      : (type == 'v' ? NULL : json_object_new_array());

		r = sd_bus_message_enter_container(m, type, contents);
		if (r < 0) {
			json_object_put(c);
			return r;
		}
		if (type == 'v') {
			r = client_read_json(m, &c);
			if (r < 0)
				return r;
		} else if (dict) {
			/* contents is "{KV}": the entry's own signature is "KV", without the braces */
			char entry[256];
			size_t n = strlen(contents);

			if (n < 3 || n - 2 >= sizeof(entry) || contents[n - 1] != '}') {
				json_object_put(c);
				return -EBADMSG;
			}
			memcpy(entry, contents + 1, n - 2);
			entry[n - 2] = 0;
			while ((r = sd_bus_message_enter_container(m, 'e', entry)) > 0) {
				const char *key;
				json_object *v = NULL;

				r = sd_bus_message_read_basic(m, contents[1], &key);
				if (r >= 0)
					r = client_read_json(m, &v);
				if (r >= 0)
					r = json_object_object_add(c, key, v) < 0 ? -ENOMEM : 0;
				if (r >= 0)
					r = sd_bus_message_exit_container(m);
				if (r < 0)
					break;
			}
		} else {
			for (;;) {
				json_object *v = NULL;

				r = sd_bus_message_at_end(m, false);
				if (r != 0)
					break;
				r = client_read_json(m, &v);
				if (r < 0)
					break;
				(void)json_object_array_add(c, v);
			}
		}
		if (r < 0) {
			json_object_put(c);
			return r;
		}
		r = sd_bus_message_exit_container(m);
		if (r < 0) {
			json_object_put(c);
			return r;
		}
		*ret = c;
		return 0;
	}

	union {
		uint8_t y;
		int b;
		int16_t n;
		uint16_t q;
		int32_t i;
		uint32_t u;
		int64_t x;
		uint64_t t;
		double d;
		const char *s;
	} v;
	if (type == 'h') {
		int fd;

		r = sd_bus_message_read_basic(m, type, &fd);
		v.u = (uint32_t)fd;
	} else
		r = sd_bus_message_read_basic(m, type, &v);
	if (r < 0)
		return r;
	*ret = basic_json(type, &v);
	return *ret ? 0 : -ENOMEM;
}

static const struct {
	const char *property, *key;
} property_keys[] = {
	{ "FID", "fid" },
	{ "UID", "uid" },
	{ "UIDIsUnique", "uid_is_unique" },
	{ "PCHID", "pchid" },
	{ "PFT", "pft" },
	{ "PFTName", "pft_name" },
	{ "VFN", "vfn" },
	{ "Port", "port" },
	{ "FunctionHandle", "fh" },
	{ "Slot", "slot" },
	{ "VendorName", "vendor_name" },
	{ "DeviceName", "device_name" },
	{ "Driver", "driver" },
	{ "Mode", "mode" },
	{ "State", "state" },
	{ "OwnerPID", "owner_pid" },
	{ "OwnerCommand", "owner_command" },
	{ "Errors", "errors" },
	{ "Dropped", "dropped" },
	{ "Recoveries", "recoveries" },
	{ "Actions", "actions" },
	{ "Resets", "resets" },
	{ "Coalesced", "coalesced" },
	{ "LastError", "last_error" },
	{ "OwnerMachine", "owner_machine" },
	{ "OwnerMachineClass", "owner_machine_class" },
	{ "OwnerUnit", "owner_unit" },
};

/* The index of a Function property in property_keys, or
 * ELEMENTSOF(property_keys) for one without a key of its own. */
static size_t property_index(const char *property)
{
	size_t i;

	for (i = 0; i < ELEMENTSOF(property_keys); i++)
		if (streq(property, property_keys[i].property))
			break;
	return i;
}

/* Whether a property value means "not set": machine output leaves such keys
 * out (zpcictl(8): a key that is not set is absent, never 0 or ""). */
static bool property_unset(const char *key, json_object *v)
{
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string_len(v) == 0;
	if (json_object_is_type(v, json_type_object))
		return json_object_object_length(v) == 0;
	return streq(key, "owner_pid") && json_object_get_uint64(v) == 0;
}

/* Read the properties a{sv} of the function object @path from @m into a
 * record {"fid": 17, ...}: the known properties under their keys in the
 * order of the key table (unset ones left out), then any others under
 * their D-Bus names, then "object". Returns 0 or -errno. */
static int function_record(sd_bus_message *m, const char *path, json_object **ret)
{
	json_object *known[ELEMENTSOF(property_keys)] = {};
	_cleanup_(json_object_putp) json_object *o = NULL, *other = NULL;
	int r;

	o = json_object_new_object();
	other = json_object_new_object();
	if (!o || !other)
		return -ENOMEM;
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *name;
		json_object *v = NULL;
		size_t i;

		r = sd_bus_message_read_basic(m, 's', &name);
		if (r >= 0)
			r = client_read_json(m, &v);
		if (r >= 0)
			r = sd_bus_message_exit_container(m);
		if (r < 0) {
			json_object_put(v);
			break;
		}
		i = property_index(name);
		if (i < ELEMENTSOF(property_keys)) {
			json_object_put(known[i]);
			known[i] = v;
		} else if (json_object_object_add(other, name, v) < 0) {
			json_object_put(v);
			r = -ENOMEM;
		}
	}
	if (r >= 0)
		r = sd_bus_message_exit_container(m);
	for (size_t i = 0; i < ELEMENTSOF(property_keys); i++) {
		if (r >= 0 && known[i] && !property_unset(property_keys[i].key, known[i]))
			r = json_object_object_add(o, property_keys[i].key, TAKE_PTR(known[i])) < 0 ? -ENOMEM
												    : 0;
		json_object_put(known[i]);
	}
	if (r < 0)
		return r;
	json_object_object_foreach (other, k, val)
		(void)json_object_object_add(o, k, json_object_get(val));
	(void)json_object_object_add(o, "object", json_object_new_string(path));
	*ret = TAKE_PTR(o);
	return 0;
}

static int compare_fid(const void *a, const void *b)
{
	json_object *const *x = a, *const *y = b, *fx = NULL, *fy = NULL;
	uint64_t u, v;

	(void)json_object_object_get_ex(*x, "fid", &fx);
	(void)json_object_object_get_ex(*y, "fid", &fy);
	u = json_object_get_uint64(fx);
	v = json_object_get_uint64(fy);
	return u < v ? -1 : u > v;
}

/* The interfaces a{sa{sv}} of the object @path: the function records of
 * the Function interface go to @list, everything else is skipped. */
static int read_object(sd_bus_message *m, const char *path, json_object *list)
{
	bool function = strneq(path, BUS_FUNCTION_PREFIX "/", strlen(BUS_FUNCTION_PREFIX "/"));
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
	while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
		const char *iface;
		json_object *record = NULL;

		r = sd_bus_message_read_basic(m, 's', &iface);
		if (r < 0)
			break;
		if (function && streq(iface, BUS_FUNCTION_INTERFACE)) {
			r = function_record(m, path, &record);
			if (r >= 0 && json_object_array_add(list, record) < 0) {
				json_object_put(record);
				r = -ENOMEM;
			}
		} else
			r = sd_bus_message_skip(m, "a{sv}");
		if (r >= 0)
			r = sd_bus_message_exit_container(m);
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

/* GetManagedObjects is read straight from the message: at thousands of
 * functions a JSON copy of the whole reply would cost more than the call. */
int client_get_functions(sd_bus *bus, json_object **ret, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(json_object_putp) json_object *list = NULL;
	int r;

	r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, "org.freedesktop.DBus.ObjectManager",
			       "GetManagedObjects", error, &reply, NULL);
	if (r < 0)
		return r;
	list = json_object_new_array();
	if (!list)
		return -ENOMEM;
	r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
	while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
		const char *path;

		r = sd_bus_message_read_basic(reply, 'o', &path);
		if (r >= 0)
			r = read_object(reply, path, list);
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
	}
	if (r >= 0)
		r = sd_bus_message_exit_container(reply);
	if (r < 0)
		return r == -ENXIO ? -EBADMSG : r;
	json_object_array_sort(list, compare_fid);
	*ret = TAKE_PTR(list);
	return 0;
}

static bool parse_number(const char *s, uint64_t *ret)
{
	char *end;

	if (isempty(s))
		return false;
	errno = 0;
	*ret = strtoull(s, &end, 0);
	return errno == 0 && *end == 0 && s[0] != '-';
}

static uint64_t get_u64(json_object *o, const char *key, bool *found)
{
	json_object *v = NULL;

	*found = json_object_object_get_ex(o, key, &v);
	return json_object_get_uint64(v);
}

json_object *client_find_function(json_object *functions, const char *spec)
{
	uint64_t n;
	bool by_uid = false, found;
	size_t len = json_object_array_length(functions);

	if (strneq(spec, "uid:", 4)) {
		by_uid = true;
		spec += 4;
	}
	for (size_t i = 0; !by_uid && i < len; i++) {
		json_object *f = json_object_array_get_idx(functions, i), *slot = NULL;

		if (json_object_object_get_ex(f, "slot", &slot) && streq(json_object_get_string(slot), spec))
			return f;
	}
	if (!parse_number(spec, &n))
		return NULL;
	for (size_t i = 0; !by_uid && i < len; i++) {
		json_object *f = json_object_array_get_idx(functions, i);

		if (get_u64(f, "fid", &found) == n && found)
			return f;
	}
	for (size_t i = 0; i < len; i++) {
		json_object *f = json_object_array_get_idx(functions, i), *unique = NULL;

		if (json_object_object_get_ex(f, "uid_is_unique", &unique) &&
		    json_object_get_boolean(unique) && get_u64(f, "uid", &found) == n && found)
			return f;
	}
	return NULL;
}

static bool hex_run(const char **p, size_t min, size_t max)
{
	size_t n = 0;

	while (n < max && strchr("0123456789abcdefABCDEF", (*p)[n]) && (*p)[n])
		n++;
	*p += n;
	return n >= min;
}

bool client_function_spec_valid(const char *spec)
{
	const char *p = spec;
	uint64_t n;

	if (strneq(spec, "uid:", 4))
		return parse_number(spec + 4, &n) && n <= UINT32_MAX;
	if (parse_number(spec, &n))
		return n <= UINT32_MAX;
	/* dddd:bb:dd.f */
	return hex_run(&p, 4, 8) && *p++ == ':' && hex_run(&p, 2, 2) && *p++ == ':' && hex_run(&p, 2, 2) &&
	       *p++ == '.' && *p >= '0' && *p <= '7' && p[1] == 0;
}

const char *client_error_hint(const sd_bus_error *error)
{
	if (sd_bus_error_has_name(error, SD_BUS_ERROR_ACCESS_DENIED))
		return "This needs root or membership of group '" ZPCID_ADMIN_GROUP
		       "' (the bus policy of org.zpcid1 refuses other users): run it with sudo, or as a "
		       "member of '" ZPCID_ADMIN_GROUP "'.";
	return NULL;
}

int client_exit_code(const sd_bus_error *error)
{
	if (sd_bus_error_has_names(error, BUS_ERROR_NO_SUCH_FUNCTION,
				   "org.freedesktop.DBus.Error.UnknownObject"))
		return EXIT_NOT_FOUND;
	return EXIT_FAIL;
}
