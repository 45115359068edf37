/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devworld: LPAR files, "function key=value ..." lines that describe the
 * functions of a world (docs/simulated-lpar.md), parsed and generated.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/devworld-private.h"

/* ------------------------------------------------------------------ */
/* LPAR files */

static int parse_u32(const char *v, uint32_t *ret)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || end == v || *end || x > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)x;
	return 0;
}

static int parse_bool(const char *v, bool *ret)
{
	if (strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "true") == 0)
		*ret = true;
	else if (strcmp(v, "0") == 0 || strcmp(v, "no") == 0 || strcmp(v, "false") == 0)
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

/* Numeric keys of a "function" line: where they go and their range. */
typedef struct NumKey {
	const char *key;
	size_t offset;
	size_t size;
	uint32_t max;
} NumKey;

#define NUM(field, max)                                                                                \
	{                                                                                              \
#field, offsetof(DevworldFunction, field), sizeof(((DevworldFunction *)0)->field), max \
	}
static const NumKey num_keys[] = {
	NUM(fid, UINT32_MAX),
	NUM(fh, UINT32_MAX),
	NUM(uid, UINT32_MAX),
	NUM(pchid, 0xffff),
	NUM(vfn, 0xffff),
	NUM(pfgid, 0xff),
	NUM(pft, 0xff),
	NUM(fidparm, 0xff),
	NUM(port, UINT32_MAX),
	NUM(vendor, 0xffff),
	NUM(device, 0xffff),
	NUM(subsystem_vendor, 0xffff),
	NUM(subsystem_device, 0xffff),
	NUM(iommu_group, UINT32_MAX),
	NUM(zpci_base_version, 3),
	{ "class", offsetof(DevworldFunction, class_code), sizeof(uint32_t), 0xffffff },
	NUM(domain, UINT32_MAX),
};
#undef NUM

static int parse_key(DevworldFunction *f, const char *key, char *v)
{
	uint32_t x;
	bool b;
	int r;

	for (size_t i = 0; i < G_N_ELEMENTS(num_keys); i++) {
		const NumKey *k = &num_keys[i];
		uint8_t *dst = (uint8_t *)f + k->offset;

		if (strcmp(key, k->key) != 0)
			continue;
		r = parse_u32(v, &x);
		if (r < 0 || x > k->max)
			return -EINVAL;
		if (k->size == 1)
			*dst = (uint8_t)x;
		else if (k->size == 2) {
			uint16_t y = (uint16_t)x;
			memcpy(dst, &y, 2);
		} else
			memcpy(dst, &x, 4);
		if (strcmp(key, "domain") == 0)
			f->domain_set = true;
		return 0;
	}
	if (strcmp(key, "uid_is_unique") == 0 || strcmp(key, "mio_enabled") == 0 ||
	    strcmp(key, "err_irq") == 0 || strcmp(key, "cdev") == 0) {
		r = parse_bool(v, &b);
		if (r < 0)
			return r;
		if (key[0] == 'u')
			f->uid_is_unique = b;
		else if (key[0] == 'm')
			f->mio_enabled = b;
		else if (key[0] == 'e')
			f->no_err_irq = !b;
		else
			f->no_cdev = !b;
		return 0;
	}
	if (strcmp(key, "kind") == 0) {
		int k = devworld_kind_from_string(v);

		if (k < 0)
			return -EINVAL;
		f->kind = k;
		return 0;
	}
	if (strcmp(key, "feature") == 0) {
		if (strcmp(v, "v20") == 0)
			f->feature = DEVWORLD_FEATURE_V20;
		else if (strcmp(v, "none") == 0)
			f->feature = DEVWORLD_FEATURE_NONE;
		else
			return -EINVAL;
		return 0;
	}
	if (strcmp(key, "driver") == 0) {
		f->driver = strcmp(v, "none") == 0 ? "" : v;
		return 0;
	}
	return -EINVAL;
}

int devworld_parse_function(char *buf, DevworldFunction *f)
{
	char *save = NULL;

	*f = (DevworldFunction){};
	for (char *tok = strtok_r(buf, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		char *v = strchr(tok, '=');
		int r;

		if (!v)
			return -EINVAL;
		*v++ = 0;
		r = parse_key(f, tok, v);
		if (r < 0)
			return r;
	}
	return f->fid ? 0 : -EINVAL;
}

int devworld_load(Devworld *w, const char *path, unsigned *ret_line)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	int n = 0;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return -ENOENT;
	lines = g_strsplit(text, "\n", -1);
	for (unsigned i = 0; lines[i]; i++) {
		char *l = g_strstrip(lines[i]);
		DevworldFunction f;
		int r;

		if (!g_str_has_prefix(l, "function ") && !g_str_has_prefix(l, "function\t"))
			continue;
		r = devworld_parse_function(l + strlen("function"), &f);
		if (r == 0)
			r = devworld_add_function(w, &f);
		if (r < 0) {
			if (ret_line)
				*ret_line = i + 1;
			return r;
		}
		n++;
	}
	return n;
}

int devworld_generate(const char *path, unsigned n, uint32_t first_fid)
{
	/* a mix like a large LPAR: mostly RoCE and NVMe, some ISM and NETH */
	static const DevworldKind mix[] = {
		DEVWORLD_KIND_ROCE2, DEVWORLD_KIND_ROCE2, DEVWORLD_KIND_NVME, DEVWORLD_KIND_ROCE3,
		DEVWORLD_KIND_NVME,  DEVWORLD_KIND_ISM,   DEVWORLD_KIND_NETH, DEVWORLD_KIND_ROCE2,
	};
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fprintf(f, "# generated: %u functions\n", n);
	for (unsigned i = 0; i < n; i++) {
		DevworldKind k = mix[i % G_N_ELEMENTS(mix)];
		uint32_t fid = first_fid + i;
		bool roce = k == DEVWORLD_KIND_ROCE2 || k == DEVWORLD_KIND_ROCE3 || k == DEVWORLD_KIND_NETH;

		fprintf(f,
			"function fid=0x%08x uid=0x%x uid_is_unique=1 pchid=0x%04x vfn=0x%04x port=%u "
			"pfgid=0x%02x kind=%s driver=%s%s\n",
			fid, i + 1, 0x100 + (i / 32) * 4, roce ? (i % 32) + 1 : 0, roce ? 1 + (i % 2) : 0,
			k == DEVWORLD_KIND_ISM ? 2 : 0x10 + (unsigned)k, devworld_kind_to_string(k),
			i % 4 == 3 ? "vfio-pci" : dw_kinds[k].driver,
			k == DEVWORLD_KIND_ISM ? " err_irq=0" : "");
	}
	if (fclose(f) != 0)
		return -errno;
	return 0;
}
