/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/event.h"
#include "common/time-util.h"
#include "daemon/explain.h"
#include "daemon/owner.h"
#include "daemon/policy-store.h"
#include "daemon/policy.h"
#include "daemon/sysfs-zpci.h"

static int parse_fid(const char *s, uint32_t *ret)
{
	char *end = NULL;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno != 0 || !end || *end != 0 || end == s || v > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

/* Find the function named @name below @sysfs_root; fill @f's attributes and binding. */
static int find_function(const char *sysfs_root, const char *name, ZpciFunction *f)
{
	_cleanup_free_ char *dir = NULL;
	uint32_t fid = 0;
	bool by_fid = parse_fid(name, &fid) >= 0;
	DIR *d;
	struct dirent *de;
	int r = -ENOENT;

	if (asprintf(&dir, "%s/bus/pci/devices", sysfs_root) < 0)
		return -ENOMEM;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		ZpciAttrs a = {};
		SysfsBinding b = {};
		int fd;

		if (de->d_name[0] == '.')
			continue;
		if (!by_fid && !streq(de->d_name, name))
			continue;
		fd = sysfs_zpci_open(sysfs_root, de->d_name);
		if (fd < 0)
			continue;
		if (sysfs_zpci_read_attrs(fd, de->d_name, &a, NULL) != 0 || (by_fid && a.fid != fid)) {
			close(fd);
			continue;
		}
		if (sysfs_zpci_read_binding(fd, &b) >= 0) {
			(void)snprintf(f->driver, sizeof(f->driver), "%s", b.driver);
			if (b.iommu_group >= 0)
				f->iommu_group = b.iommu_group;
			(void)snprintf(f->vfio_cdev, sizeof(f->vfio_cdev), "%s", b.vfio_cdev);
		}
		close(fd);
		f->attrs = a;
		r = 0;
		break;
	}
	closedir(d);
	return r;
}

static void find_holder(const char *proc_root, ZpciFunction *f)
{
	char group[16] = "";
	OwnerEntry o;

	if (f->iommu_group >= 0)
		(void)snprintf(group, sizeof(group), "%d", f->iommu_group);
	if (owner_find(proc_root, NULL, getpid(), group[0] ? group : NULL,
		       f->vfio_cdev[0] ? f->vfio_cdev : NULL, &o) > 0) {
		f->owner_pid = o.pid;
		(void)snprintf(f->owner_comm, sizeof(f->owner_comm), "%s", o.comm);
	}
}

int explain_run(const Config *c, const ExplainRequest *req, FILE *out, FILE *err)
{
	_cleanup_(policy_state_freep) PolicyState *state = NULL;
	_cleanup_free_ char *text = NULL;
	json_object *explanation = NULL;
	ZpciFunction f = { .iommu_group = -1 };
	ZpciEvent e = { .kind = EVENT_ERROR, .has = EVENT_HAS_PEC };
	uint64_t now;
	int r;

	r = find_function(req->sysfs_root ? req->sysfs_root : "/sys", req->function, &f);
	if (r == -ENOENT) {
		fprintf(err, "zpcid: no zPCI function '%s' (expected a FID such as 0x21 or a PCI address)\n",
			req->function);
		return 3;
	}
	if (r < 0) {
		fprintf(err, "zpcid: failed to read the PCI functions: %s\n", strerror(-r));
		return 1;
	}
	find_holder(req->proc_root ? req->proc_root : "/proc", &f);
	f.mode = policy_choose_mode(c->policy, &f);

	r = policy_store_load(req->state_directory, &state);
	if (r == -ENOMEM) {
		fprintf(err, "zpcid: out of memory\n");
		return 1;
	}
	if (r < 0)
		fprintf(err,
			"zpcid: the saved policy state in %s is unreadable (%s); explaining with a fresh "
			"one\n",
			req->state_directory, strerror(-r));

	now = now_usec(CLOCK_REALTIME);
	e.pec = req->pec;
	e.sources = req->sources                      ? req->sources
		    : f.mode == FUNCTION_MODE_OBSERVE ? EVENT_SOURCE_KMSG
						      : EVENT_SOURCE_VFIO;
	e.time_usec = now;
	function_fill_event(&f, &e);
	event_format_message(&e);

	r = policy_explain(c->policy, state, &f, &e, now, 0, &text, &explanation);
	if (r < 0) {
		fprintf(err, "zpcid: failed to explain: %s\n", strerror(-r));
		return 1;
	}

	if (req->json) {
		json_object *o = json_object_new_object(), *ev = NULL;

		if (!o || event_to_json(&e, &ev) < 0) {
			json_object_put(o);
			json_object_put(explanation);
			fprintf(err, "zpcid: out of memory\n");
			return 1;
		}
		json_object_object_add(o, "mode", json_object_new_string(function_mode_to_string(f.mode)));
		json_object_object_add(o, "driver", json_object_new_string(f.driver));
		json_object_object_add(o, "event", ev);
		json_object_object_add(o, "explanation", explanation);
		fprintf(out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
	} else {
		if (f.owner_pid > 0)
			fprintf(out, "Holder:   %s (pid %d)\n", f.owner_comm, (int)f.owner_pid);
		fputs(text, out);
		json_object_put(explanation);
	}
	return 0;
}
