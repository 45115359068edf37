/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/policy-store.h"
#include "daemon/state-file.h"

static int store_path(const char *directory, char **ret)
{
	return asprintf(ret, "%s/%s", directory, POLICY_STORE_FILE) < 0 ? -ENOMEM : 0;
}

int policy_store_load(const char *directory, PolicyState **ret)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	_cleanup_(policy_state_freep) PolicyState *s = NULL;
	json_object *o;
	size_t size;
	int r;

	r = store_path(directory, &path);
	if (r < 0)
		return r;
	r = state_file_read(path, &text, &size);
	if (r >= 0) {
		o = json_tokener_parse(text);
		r = o ? policy_state_from_json(o, &s) : -EBADMSG;
		json_object_put(o);
		if (r >= 0) {
			*ret = TAKE_PTR(s);
			return 0;
		}
	}
	if (r == -ENOMEM)
		return r;
	if (policy_state_new(&s) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(s);
	return r == -ENOENT ? 0 : r;
}

/* The path of the state file in @directory and the state as its text. */
static int format_state(const char *directory, const PolicyState *s, char **ret_path, char **ret_text)
{
	_cleanup_free_ char *path = NULL;
	json_object *o = NULL;
	const char *text;
	int r;

	r = store_path(directory, &path);
	if (r < 0)
		return r;
	r = policy_state_to_json(s, &o);
	if (r < 0)
		return r;
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	*ret_text = text ? strdup(text) : NULL;
	json_object_put(o);
	if (!*ret_text)
		return -ENOMEM;
	*ret_path = TAKE_PTR(path);
	return 0;
}

int policy_store_save(const char *directory, const PolicyState *s)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	int r;

	r = format_state(directory, s, &path, &text);
	if (r < 0)
		return r;
	return state_file_write(path, text, strlen(text), 0);
}

/* FNV-1a, 64 bits; never 0 (0 means "nothing saved yet"). */
static uint64_t text_hash(const char *text)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return h ?: 1;
}

int policy_store_save_async(const char *directory, const PolicyState *s, Syncer *syncer, uint64_t *last_hash,
			    SyncerDone done, void *userdata)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	uint64_t h;
	int r;

	r = format_state(directory, s, &path, &text);
	if (r < 0)
		return r;
	h = text_hash(text);
	if (last_hash && *last_hash == h)
		return 1;
	r = syncer_replace_file(syncer, path, text, strlen(text), false, done, userdata);
	if (r < 0)
		return r;
	if (last_hash)
		*last_hash = h;
	return 0;
}
