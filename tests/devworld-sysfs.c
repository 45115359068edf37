/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devworld: the functions in sysfs. Each zPCI function is a PCI device with
 * the kernel's attributes, its hotplug slot, iommu group and driver link;
 * binding, unbinding, hot-unplug and recovery send the kernel's uevents, and
 * a write to a driver's unbind file is played as the kernel would.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/devworld-private.h"

/* ------------------------------------------------------------------ */
/* Kinds */

const DwKindInfo dw_kinds[_DEVWORLD_KIND_MAX] = {
	[DEVWORLD_KIND_NONE] = { "none", 0x00, 0, 0, 0, NULL },
	[DEVWORLD_KIND_NVME] = { "nvme", 0x0b, 0x144d, 0xa824, 0x010802, "nvme" },
	[DEVWORLD_KIND_ROCE] = { "roce", 0x02, 0x15b3, 0x1004, 0x020000, "mlx4_core" },
	[DEVWORLD_KIND_ROCE2] = { "roce2", 0x0a, 0x15b3, 0x1016, 0x020000, "mlx5_core" },
	[DEVWORLD_KIND_ROCE3] = { "roce3", 0x0a, 0x15b3, 0x101e, 0x020000, "mlx5_core" },
	[DEVWORLD_KIND_ISM] = { "ism", 0x05, 0x1014, 0x04ed, 0x028000, "ism" },
	[DEVWORLD_KIND_NETH] = { "neth", 0x0c, 0x15b3, 0x101e, 0x020000, "mlx5_core" },
	[DEVWORLD_KIND_NETD] = { "netd", 0x0f, 0x15b3, 0x101e, 0x020000, "mlx5_core" },
	[DEVWORLD_KIND_CNW] = { "cnw", 0x0d, 0x1014, 0x0000, 0x120000, NULL },
};

const char *devworld_kind_to_string(DevworldKind k)
{
	if (k < 0 || k >= _DEVWORLD_KIND_MAX)
		return "invalid";
	return dw_kinds[k].name;
}

DevworldKind devworld_kind_from_string(const char *s)
{
	for (int k = 0; k < _DEVWORLD_KIND_MAX; k++)
		if (s && strcmp(dw_kinds[k].name, s) == 0)
			return k;
	return _DEVWORLD_KIND_INVALID;
}

/* ------------------------------------------------------------------ */
/* Functions: sysfs */

static void apply_defaults(DevworldFunction *f)
{
	const DwKindInfo *k = f->kind > 0 && f->kind < _DEVWORLD_KIND_MAX ? &dw_kinds[f->kind]
									  : &dw_kinds[0];

	if (!f->pft)
		f->pft = k->pft;
	if (!f->vendor)
		f->vendor = k->vendor;
	if (!f->device)
		f->device = k->device;
	if (!f->class_code)
		f->class_code = k->class_code;
	if (!f->subsystem_vendor)
		f->subsystem_vendor = f->vendor;
	if (!f->subsystem_device)
		f->subsystem_device = f->device;
	if (!f->driver)
		f->driver = k->driver;
	if (f->kind == DEVWORLD_KIND_ISM && !f->pfgid)
		f->pfgid = 0x02;
}

/* The device's sysfs attributes in umockdev's record format ("A:" lines;
 * values end in a newline like the kernel's) and its config space ("H:"). */
static void fn_record_attrs(DwFn *fn, GString *rec)
{
	const DevworldFunction *f = &fn->cfg;
	uint8_t cfg[64] = {};

	g_string_append_printf(rec,
			       "A: function_id=0x%08x\\n\n"
			       "A: function_handle=0x%08x\\n\n"
			       "A: pchid=0x%04x\\n\n"
			       "A: vfn=0x%04x\\n\n"
			       "A: pfgid=0x%02x\\n\n"
			       "A: pft=0x%02x\\n\n"
			       "A: fidparm=0x%02x\\n\n"
			       "A: port=%u\\n\n"
			       "A: uid=0x%x\\n\n"
			       "A: uid_is_unique=%d\\n\n"
			       "A: mio_enabled=%d\\n\n"
			       "A: vendor=0x%04x\\n\n"
			       "A: device=0x%04x\\n\n"
			       "A: subsystem_vendor=0x%04x\\n\n"
			       "A: subsystem_device=0x%04x\\n\n"
			       "A: class=0x%06x\\n\n"
			       "A: revision=0x00\\n\n"
			       "A: numa_node=-1\\n\n"
			       "A: enable=1\\n\n"
			       "A: recover=\n"
			       "A: report_error=\n"
			       "A: driver_override=\n",
			       f->fid, fn->fh, f->pchid, f->vfn, f->pfgid, f->pft, f->fidparm, f->port,
			       f->uid, f->uid_is_unique ? 1 : 0, f->mio_enabled ? 1 : 0, f->vendor,
			       f->device, f->subsystem_vendor, f->subsystem_device, f->class_code);
	cfg[0] = f->vendor & 0xff;
	cfg[1] = f->vendor >> 8;
	cfg[2] = f->device & 0xff;
	cfg[3] = f->device >> 8;
	cfg[9] = f->class_code & 0xff;
	cfg[10] = (f->class_code >> 8) & 0xff;
	cfg[11] = (f->class_code >> 16) & 0xff;
	cfg[0x2c] = f->subsystem_vendor & 0xff;
	cfg[0x2d] = f->subsystem_vendor >> 8;
	cfg[0x2e] = f->subsystem_device & 0xff;
	cfg[0x2f] = f->subsystem_device >> 8;
	g_string_append(rec, "H: config=");
	for (size_t i = 0; i < sizeof(cfg); i++)
		g_string_append_printf(rec, "%02X", cfg[i]);
	g_string_append_c(rec, '\n');
}

static void fn_apply_raw_attrs(Devworld *w, DwFn *fn, const char *const *raw)
{
	for (const char *const *a = raw; a && a[0]; a += 2) {
		g_autofree char *p = g_build_filename(w->root, fn->syspath, a[0], NULL);

		if (a[1])
			(void)dw_write_file(p, a[1]);
		else
			(void)unlink(p);
	}
}

static int fn_write_slot(Devworld *w, DwFn *fn)
{
	g_autofree char *dir = NULL, *addr = NULL, *power = NULL, *text = NULL;

	fn->slot_dir = g_strdup_printf("/sys/bus/pci/slots/%08x", fn->cfg.fid);
	dir = dw_tb_path(w, fn->slot_dir);
	if (g_mkdir_with_parents(dir, 0755) < 0)
		return -errno;
	addr = g_build_filename(dir, "address", NULL);
	text = g_strdup_printf("%04x:00:00\n", fn->domain);
	power = g_build_filename(dir, "power", NULL);
	if (dw_write_file(addr, text) < 0 || dw_write_file(power, "1\n") < 0)
		return -EIO;
	return 0;
}

/* Rewrite the udev properties of the device (the "uevent" file). */
static int fn_write_uevent(Devworld *w, DwFn *fn, const char *extra)
{
	g_autofree char *p = g_build_filename(w->root, fn->syspath, "uevent", NULL);
	g_autofree char *text = NULL;
	const DevworldFunction *f = &fn->cfg;

	text = g_strdup_printf("%s%s%s"
			       "PCI_CLASS=%X\n"
			       "PCI_ID=%04X:%04X\n"
			       "PCI_SUBSYS_ID=%04X:%04X\n"
			       "PCI_SLOT_NAME=%s\n"
			       "MODALIAS=pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n"
			       "%s",
			       fn->driver ? "DRIVER=" : "", fn->driver ?: "", fn->driver ? "\n" : "",
			       f->class_code, f->vendor, f->device, f->subsystem_vendor, f->subsystem_device,
			       fn->slot, f->vendor, f->device, f->subsystem_vendor, f->subsystem_device,
			       (f->class_code >> 16) & 0xff, (f->class_code >> 8) & 0xff,
			       f->class_code & 0xff, extra ?: "");
	return dw_write_file(p, text);
}

static const char *const driver_files[] = { "bind", "unbind", "new_id", "remove_id" };

static void fn_set_driver_link(Devworld *w, DwFn *fn)
{
	g_autofree char *link = g_build_filename(w->root, fn->syspath, "driver", NULL);
	g_autofree char *drvdir = NULL, *back = NULL, *target = NULL;

	(void)unlink(link);
	if (!fn->driver)
		return;
	drvdir = g_strdup_printf("%s/sys/bus/pci/drivers/%s", w->root, fn->driver);
	(void)g_mkdir_with_parents(drvdir, 0755);
	/* the driver's write-only control files (devworld_complete_unbinds() reads "unbind") */
	for (size_t i = 0; i < G_N_ELEMENTS(driver_files); i++) {
		g_autofree char *p = g_build_filename(drvdir, driver_files[i], NULL);

		if (access(p, F_OK) < 0)
			(void)dw_write_file(p, "");
	}
	target = g_strdup_printf("../../../bus/pci/drivers/%s", fn->driver);
	(void)symlink(target, link);
	back = g_build_filename(drvdir, fn->slot, NULL);
	(void)unlink(back);
	target = (g_free(target),
		  g_strdup_printf("../../../../devices/pci%04x:00/%s", fn->domain, fn->slot));
	(void)symlink(target, back);
}

int devworld_add_function(Devworld *w, const DevworldFunction *desc)
{
	g_autofree char *grpdir = NULL, *devlink = NULL, *target = NULL, *driver = NULL;
	g_autoptr(GString) rec = g_string_new(NULL);
	DevworldFunction f = *desc;
	DwFn *fn;
	int r;

	if (f.kind < 0 || f.kind >= _DEVWORLD_KIND_MAX || f.feature < 0 ||
	    f.feature >= _DEVWORLD_FEATURE_MAX || f.zpci_base_version > 3)
		return -EINVAL;
	if (dw_fn_get(w, f.fid))
		return -EEXIST;
	apply_defaults(&f);
	driver = f.driver && *f.driver ? g_strdup(f.driver) : NULL;
	f.driver = NULL;
	f.raw_attrs = NULL;

	fn = g_new0(DwFn, 1);
	fn->world = w;
	fn->cfg = f;
	fn->err_efd = fn->req_efd = fn->holder_pipe = -1;
	fn->cdev = -1;
	fn->oplog = g_string_new(NULL);
	fn->fh = f.fh ?: 0x80000000u | (f.fid & 0xffffff);
	if (f.domain_set || f.domain)
		fn->domain = f.domain;
	else if (f.uid_is_unique)
		fn->domain = f.uid;
	else {
		for (;;) {
			GHashTableIter it;
			gpointer k, v;
			bool used = false;

			g_hash_table_iter_init(&it, w->fns);
			while (g_hash_table_iter_next(&it, &k, &v))
				if (((DwFn *)v)->domain == w->next_domain)
					used = true;
			if (!used)
				break;
			w->next_domain++;
		}
		fn->domain = w->next_domain++;
	}
	fn->group = f.iommu_group ?: w->next_group++;
	snprintf(fn->slot, sizeof(fn->slot), "%04x:00:00.0", fn->domain);
	fn->syspath = g_strdup_printf("/sys/devices/pci%04x:00/%s", fn->domain, fn->slot);

	/* the slot and the iommu group exist before the device is announced */
	r = fn_write_slot(w, fn);
	if (r < 0) {
		dw_fn_free(fn);
		return r;
	}
	grpdir = g_strdup_printf("%s/sys/kernel/iommu_groups/%u/devices", w->root, fn->group);
	(void)g_mkdir_with_parents(grpdir, 0755);
	devlink = g_build_filename(grpdir, fn->slot, NULL);
	target = g_strdup_printf("../../../../devices/pci%04x:00/%s", fn->domain, fn->slot);
	(void)symlink(target, devlink);

	/* one record: every attribute and link is in place when "add" goes out */
	g_string_append_printf(rec,
			       "P: %s\n"
			       "E: SUBSYSTEM=pci\n"
			       "E: PCI_CLASS=%X\n"
			       "E: PCI_ID=%04X:%04X\n"
			       "E: PCI_SUBSYS_ID=%04X:%04X\n"
			       "E: PCI_SLOT_NAME=%s\n"
			       "L: iommu_group=../../../kernel/iommu_groups/%u\n",
			       fn->syspath + strlen("/sys"), f.class_code, f.vendor, f.device,
			       f.subsystem_vendor, f.subsystem_device, fn->slot, fn->group);
	fn_record_attrs(fn, rec);
	if (!umockdev_testbed_add_from_string(w->tb, rec->str, NULL)) {
		dw_fn_free(fn);
		return -EIO;
	}
	fn_apply_raw_attrs(w, fn, desc->raw_attrs);
	(void)fn_write_uevent(w, fn, NULL);

	g_mutex_lock(&w->lock);
	g_hash_table_insert(w->fns, GUINT_TO_POINTER(f.fid), fn);
	g_mutex_unlock(&w->lock);

	if (driver)
		return devworld_bind(w, f.fid, driver);
	return 0;
}

const char *devworld_syspath(Devworld *w, uint32_t fid)
{
	DwFn *fn = dw_fn_get(w, fid);
	return fn ? fn->syspath : NULL;
}

const char *devworld_slot(Devworld *w, uint32_t fid)
{
	DwFn *fn = dw_fn_get(w, fid);
	return fn ? fn->slot : NULL;
}

int devworld_group(Devworld *w, uint32_t fid)
{
	DwFn *fn = dw_fn_get(w, fid);
	return fn ? (int)fn->group : -ENOENT;
}

int devworld_cdev(Devworld *w, uint32_t fid)
{
	DwFn *fn = dw_fn_get(w, fid);
	return fn ? fn->cdev : -ENOENT;
}

int devworld_set_attr(Devworld *w, uint32_t fid, const char *name, const char *value)
{
	DwFn *fn = dw_fn_get(w, fid);
	g_autofree char *p = NULL;

	if (!fn)
		return -ENOENT;
	p = g_build_filename(w->root, fn->syspath, name, NULL);
	if (!value)
		return unlink(p) < 0 ? -errno : 0;
	return dw_write_file(p, value);
}

/* ------------------------------------------------------------------ */
/* Binding */

int devworld_bind(Devworld *w, uint32_t fid, const char *driver)
{
	DwFn *fn = dw_fn_get(w, fid);
	int r;

	if (!fn)
		return -ENOENT;
	if (!driver || !*driver)
		return -EINVAL;
	if (fn->driver)
		return -EBUSY;
	fn->driver = g_strdup(driver);
	if (strcmp(driver, "vfio-pci") == 0) {
		r = dw_vfio_nodes_create(w, fn);
		if (r < 0)
			return r;
	}
	fn_set_driver_link(w, fn);
	r = fn_write_uevent(w, fn, NULL);
	if (r < 0)
		return r;
	g_mutex_lock(&w->lock);
	dw_fn_log(fn, "BIND %s", driver);
	g_mutex_unlock(&w->lock);
	umockdev_testbed_uevent(w->tb, fn->syspath, "bind");
	return 0;
}

int devworld_unbind(Devworld *w, uint32_t fid)
{
	DwFn *fn = dw_fn_get(w, fid);
	g_autofree char *old = NULL;
	int r;

	if (!fn)
		return -ENOENT;
	if (!fn->driver)
		return -ENODEV;
	if (fn->group_node[0])
		dw_vfio_nodes_remove(w, fn);
	old = g_steal_pointer(&fn->driver);
	{
		g_autofree char *back = g_strdup_printf("%s/sys/bus/pci/drivers/%s/%s", w->root, old,
							fn->slot);
		(void)unlink(back);
	}
	fn_set_driver_link(w, fn);
	r = fn_write_uevent(w, fn, NULL);
	if (r < 0)
		return r;
	g_mutex_lock(&w->lock);
	dw_fn_log(fn, "UNBIND %s", old);
	g_mutex_unlock(&w->lock);
	umockdev_testbed_uevent(w->tb, fn->syspath, "unbind");
	return 0;
}

int devworld_remove(Devworld *w, uint32_t fid)
{
	DwFn *fn = dw_fn_get(w, fid);
	g_autofree char *slotdir = NULL, *grpdir = NULL, *parent = NULL;

	if (!fn)
		return -ENOENT;
	dw_holder_stop(fn);
	if (fn->driver)
		(void)devworld_unbind(w, fid);
	/* umockdev 0.17 does not send "remove" itself */
	umockdev_testbed_uevent(w->tb, fn->syspath, "remove");
	umockdev_testbed_remove_device(w->tb, fn->syspath);
	parent = g_strdup_printf("%s/sys/devices/pci%04x:00", w->root, fn->domain);
	(void)rmdir(parent);
	slotdir = dw_tb_path(w, fn->slot_dir);
	{
		g_autofree char *a = g_build_filename(slotdir, "address", NULL);
		g_autofree char *p = g_build_filename(slotdir, "power", NULL);
		(void)unlink(a);
		(void)unlink(p);
		(void)rmdir(slotdir);
	}
	grpdir = g_strdup_printf("%s/sys/kernel/iommu_groups/%u", w->root, fn->group);
	{
		g_autofree char *l = g_strdup_printf("%s/devices/%s", grpdir, fn->slot);
		g_autofree char *d = g_build_filename(grpdir, "devices", NULL);
		(void)unlink(l);
		(void)rmdir(d);
		(void)rmdir(grpdir);
	}
	g_mutex_lock(&w->lock);
	g_hash_table_remove(w->fns, GUINT_TO_POINTER(fid));
	g_mutex_unlock(&w->lock);
	return 0;
}

int devworld_recovery_uevent(Devworld *w, uint32_t fid, const char *event, bool online)
{
	DwFn *fn = dw_fn_get(w, fid);
	g_autofree char *extra = NULL;
	int r;

	if (!fn)
		return -ENOENT;
	/* the properties exist only in this event, not in the device's record */
	extra = g_strdup_printf("ERROR_EVENT=%s\nDEVICE_ONLINE=%d\n", event, online ? 1 : 0);
	r = fn_write_uevent(w, fn, extra);
	if (r < 0)
		return r;
	umockdev_testbed_uevent(w->tb, fn->syspath, "change");
	g_mutex_lock(&w->lock);
	dw_fn_log(fn, "UEVENT change ERROR_EVENT=%s DEVICE_ONLINE=%d", event, online ? 1 : 0);
	g_mutex_unlock(&w->lock);
	return fn_write_uevent(w, fn, NULL);
}

/* ------------------------------------------------------------------ */
/* sysfs writes the kernel acts on */

char *devworld_read_file(Devworld *w, const char *path)
{
	g_autofree char *p = dw_tb_path(w, path);
	char *text = NULL;

	if (!g_file_get_contents(p, &text, NULL, NULL))
		return NULL;
	return text;
}

const char *devworld_driver(Devworld *w, uint32_t fid)
{
	DwFn *fn = dw_fn_get(w, fid);

	return fn ? fn->driver ?: "" : NULL;
}

static bool pred_closed(DwFn *fn, const void *arg)
{
	return !fn->device_owner;
}

int devworld_complete_unbinds(Devworld *w, unsigned timeout_ms)
{
	g_autoptr(GArray) fids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	GHashTableIter it;
	gpointer k, v;
	int n = 0;

	g_mutex_lock(&w->lock);
	g_hash_table_iter_init(&it, w->fns);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		DwFn *fn = v;
		g_autofree char *p = NULL, *text = NULL;

		if (!fn->driver)
			continue;
		p = g_strdup_printf("%s/sys/bus/pci/drivers/%s/unbind", w->root, fn->driver);
		if (g_file_get_contents(p, &text, NULL, NULL) && g_str_has_prefix(text, fn->slot)) {
			uint32_t fid = fn->cfg.fid;

			g_array_append_val(fids, fid);
			(void)dw_write_file(p, "");
		}
	}
	g_mutex_unlock(&w->lock);

	for (guint i = 0; i < fids->len; i++) {
		uint32_t fid = g_array_index(fids, uint32_t, i);
		DwFn *fn = dw_fn_get(w, fid);

		/* the kernel asks the user of the device to release it and waits */
		g_mutex_lock(&w->lock);
		if (fn->device_owner && fn->req_efd >= 0) {
			dw_signal_efd(fn->req_efd);
			dw_fn_log(fn, "REQUEST signalled (unbind pending)");
		}
		g_mutex_unlock(&w->lock);
		(void)dw_wait_cond(w, fn, pred_closed, NULL, timeout_ms);
		if (devworld_unbind(w, fid) >= 0)
			n++;
	}
	return n;
}
