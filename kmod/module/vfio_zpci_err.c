// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-zpci-err - a vfio-pci variant driver that provides the zPCI error
 * interface of the companion kernel patches on a kernel without them, and
 * injects error events into it
 *
 * The driver binds to a zPCI function only through driver_override and then
 * behaves like vfio-pci, plus:
 *
 *  - VFIO_DEVICE_FEATURE_ZPCI_ERROR (GET only): copies the oldest pending
 *    error record, the raw 32-byte CCDF, to the user buffer named in struct
 *    vfio_device_feature_zpci_err and removes it.  data 0 gives -EINVAL, no
 *    pending record -ENOMSG, a buffer that cannot be written -EFAULT (the
 *    record is lost: it is taken out before the copy).
 *  - version 3 of the VFIO_DEVICE_INFO_CAP_ZPCI_BASE capability, with the
 *    __u32 ccdf_err_length at byte offset 36.
 *  - the error interrupt (VFIO_PCI_ERR_IRQ_INDEX) for functions that are not
 *    PCI Express, so that every zPCI function can signal errors.
 *  - error injection through sysfs attributes of the bound function:
 *    zpci_err_inject_pec takes a PCI event code, zpci_err_inject_ccdf a whole
 *    CCDF as 64 hex digits.  An injected event takes the path a real one
 *    takes with the patches while the vfio device is open (mediated
 *    recovery): it is logged like the kernel logs it; unless it concerns the
 *    FMB (PEC 0x2a-0x2c) its record is kept and the error eventfd signalled;
 *    a recoverable error is left to user space with the kernel's message.
 *
 * The rules for the pending records are those of the patches: at most
 * ZERR_PENDING_MAX per function, the newest dropped when full, kept only
 * between the first open and the last close of the vfio device and dropped
 * (with a message) at the last close.  A device reset keeps them.
 *
 * Real platform errors still take the stock kernel's path, which this driver
 * cannot change: they are not kept here.
 */

#define pr_fmt(fmt) "zpci: " fmt

#include <linux/ctype.h>
#include <linux/eventfd.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>
#include <linux/vfio_zdev.h>

#define ZERR_PENDING_MAX	4

#ifndef VFIO_DEVICE_FEATURE_ZPCI_ERROR
#define VFIO_DEVICE_FEATURE_ZPCI_ERROR	13
#endif

/**
 * struct zerr_feature - payload of the feature
 * @data: user address of a buffer of at least ccdf_err_length bytes that
 *        receives the oldest pending CCDF
 */
struct zerr_feature {
	__aligned_u64 data;
};

/**
 * struct zerr_ccdf - content code description of a PCI function error
 * @reserved1: reserved
 * @fh: function handle
 * @fid: function ID
 * @word: ett(4) mvn(12) dmaas(8) reserved(6) q(1) rw(1) from the MSB
 * @faddr: failing address
 * @reserved3: reserved
 * @reserved4: reserved
 * @pec: PCI event code
 *
 * The architected layout, big-endian on every host.
 */
struct zerr_ccdf {
	__be32 reserved1;
	__be32 fh;
	__be32 fid;
	__be32 word;
	__be64 faddr;
	__be32 reserved3;
	__be16 reserved4;
	__be16 pec;
} __packed;

/* ccdf_err_length, a u32, in version 3 of the ZPCI_BASE capability */
#define ZERR_BASE_V3_LEN_OFFSET	36
#define ZERR_BASE_V3_SIZE	40

/**
 * struct zerr_device - one function bound to this driver
 * @core: the vfio-pci core device, first so that vfio can allocate us
 * @lock: protects the fields below
 * @mediated: the vfio device is open, user space recovers the function
 * @head: index of the oldest record in @pending
 * @count: number of pending records
 * @dropped: records dropped because too many were pending, since probe
 * @pending: the records, oldest at @head
 */
struct zerr_device {
	struct vfio_pci_core_device core;
	struct mutex lock; /* protects the pending records and their state */
	bool mediated;
	unsigned int head;
	unsigned int count;
	unsigned long dropped;
	struct zerr_ccdf pending[ZERR_PENDING_MAX];
};

static struct zerr_device *zerr_from_vdev(struct vfio_device *vdev)
{
	return container_of(vdev, struct zerr_device, core.vdev);
}

static void zerr_mediated_start(struct zerr_device *zd)
{
	mutex_lock(&zd->lock);
	zd->head = 0;
	zd->count = 0;
	zd->mediated = true;
	mutex_unlock(&zd->lock);
}

static void zerr_mediated_stop(struct zerr_device *zd)
{
	mutex_lock(&zd->lock);
	if (zd->count)
		pr_info("Unhandled PCI error events count=%u for PCI function 0x%x\n",
			zd->count, to_zpci(zd->core.pdev)->fid);
	zd->count = 0;
	zd->mediated = false;
	mutex_unlock(&zd->lock);
}

/*
 * Keep @ccdf if user space has the device open, unless too many records are
 * pending; tell whether the device is open.
 */
static bool zerr_keep(struct zerr_device *zd, const struct zerr_ccdf *ccdf)
{
	struct pci_dev *pdev = zd->core.pdev;
	bool mediated;

	mutex_lock(&zd->lock);
	mediated = zd->mediated;
	if (!mediated) {
		pci_dbg(pdev, "Device not open, error event 0x%x not kept\n",
			be16_to_cpu(ccdf->pec));
	} else if (zd->count == ZERR_PENDING_MAX) {
		zd->dropped++;
		pr_warn_ratelimited("%s: Maximum number (%d) of pending error events queued\n",
				    pci_name(pdev), ZERR_PENDING_MAX);
	} else {
		zd->pending[(zd->head + zd->count) % ZERR_PENDING_MAX] = *ccdf;
		zd->count++;
	}
	mutex_unlock(&zd->lock);

	return mediated;
}

/* Take the oldest pending record out into @ccdf: 0, or -ENOMSG if none. */
static int zerr_take(struct zerr_device *zd, struct zerr_ccdf *ccdf)
{
	int ret = -ENOMSG;

	mutex_lock(&zd->lock);
	if (zd->count) {
		*ccdf = zd->pending[zd->head];
		zd->head = (zd->head + 1) % ZERR_PENDING_MAX;
		zd->count--;
		ret = 0;
	}
	mutex_unlock(&zd->lock);

	return ret;
}

static int zerr_device_feature(struct vfio_device *vdev, u32 flags,
			       void __user *arg, size_t argsz)
{
	struct zerr_device *zd = zerr_from_vdev(vdev);
	struct zerr_feature req;
	struct zerr_ccdf ccdf;
	int ret;

	if ((flags & VFIO_DEVICE_FEATURE_MASK) != VFIO_DEVICE_FEATURE_ZPCI_ERROR)
		return vfio_pci_core_ioctl_feature(vdev, flags, arg, argsz);

	if (!to_zpci(zd->core.pdev))
		return -ENODEV;

	ret = vfio_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_GET, sizeof(req));
	if (ret != 1)
		return ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (!req.data)
		return -EINVAL;

	/* taken out under the lock, copied after it: a failed copy loses it */
	ret = zerr_take(zd, &ccdf);
	if (ret)
		return ret;
	if (copy_to_user(u64_to_user_ptr(req.data), &ccdf, sizeof(ccdf)))
		return -EFAULT;

	return 0;
}

/*
 * The core answers VFIO_DEVICE_GET_INFO with version 2 of the ZPCI_BASE
 * capability.  Version 3 has the same size (the new u32 takes the tail
 * padding), so it is upgraded in place in the reply.
 */
static int zerr_upgrade_base_cap(struct vfio_device_info __user *uinfo)
{
	struct vfio_info_cap_header hdr;
	struct vfio_device_info info;
	u8 __user *base = (u8 __user *)uinfo;
	u32 __user *len;
	unsigned int off, hops;

	if (copy_from_user(&info, uinfo, sizeof(info)))
		return -EFAULT;
	if (!(info.flags & VFIO_DEVICE_FLAGS_CAPS) || !info.cap_offset)
		return 0;

	off = info.cap_offset;
	for (hops = 0; off && hops < 16; hops++) {
		if (off < sizeof(info) || off + sizeof(hdr) > info.argsz)
			return 0;
		if (copy_from_user(&hdr, base + off, sizeof(hdr)))
			return -EFAULT;
		if (hdr.id == VFIO_DEVICE_INFO_CAP_ZPCI_BASE) {
			if (hdr.version != 2 || off + ZERR_BASE_V3_SIZE > info.argsz)
				return 0;
			len = (u32 __user *)(base + off + ZERR_BASE_V3_LEN_OFFSET);
			if (put_user((u32)sizeof(struct zerr_ccdf), len) ||
			    put_user((u16)3, (u16 __user *)(base + off) + 1))
				return -EFAULT;
			return 0;
		}
		if (hdr.next <= off)
			return 0;
		off = hdr.next;
	}
	return 0;
}

static int zerr_get_irq_info(struct vfio_pci_core_device *vdev, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;

	info.flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;
	info.count = 1;

	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

static void zerr_eventfd_free(struct rcu_head *rcu)
{
	struct vfio_pci_eventfd *efd = container_of(rcu, struct vfio_pci_eventfd, rcu);

	eventfd_ctx_put(efd->ctx);
	kfree(efd);
}

static int zerr_replace_err_trigger(struct vfio_pci_core_device *vdev,
				    struct eventfd_ctx *ctx)
{
	struct vfio_pci_eventfd *new = NULL, *old;

	lockdep_assert_held(&vdev->igate);

	if (ctx) {
		new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
		if (!new)
			return -ENOMEM;
		new->ctx = ctx;
	}
	old = rcu_replace_pointer(vdev->err_trigger, new,
				  lockdep_is_held(&vdev->igate));
	if (old)
		call_rcu(&old->rcu, zerr_eventfd_free);
	return 0;
}

static int zerr_set_err_trigger(struct vfio_pci_core_device *vdev,
				struct vfio_irq_set *hdr, void *data)
{
	struct vfio_pci_eventfd *cur;
	struct eventfd_ctx *ctx;
	s32 fd;
	int ret;

	if ((hdr->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK) != VFIO_IRQ_SET_ACTION_TRIGGER)
		return -ENOTTY;
	if (hdr->start != 0 || hdr->count > 1)
		return -EINVAL;

	cur = rcu_dereference_protected(vdev->err_trigger,
					lockdep_is_held(&vdev->igate));

	switch (hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		if (!cur)
			return -EINVAL;
		if (!hdr->count)
			return zerr_replace_err_trigger(vdev, NULL);
		eventfd_signal(cur->ctx);
		return 0;
	case VFIO_IRQ_SET_DATA_BOOL:
		if (!hdr->count)
			return -EINVAL;
		if (*(u8 *)data && cur)
			eventfd_signal(cur->ctx);
		return 0;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		if (!hdr->count)
			return -EINVAL;
		fd = *(s32 *)data;
		if (fd == -1)
			return zerr_replace_err_trigger(vdev, NULL);
		if (fd < 0)
			return -EINVAL;
		ctx = eventfd_ctx_fdget(fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
		ret = zerr_replace_err_trigger(vdev, ctx);
		if (ret)
			eventfd_ctx_put(ctx);
		return ret;
	}
	return -EINVAL;
}

static int zerr_set_irqs(struct vfio_pci_core_device *vdev, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_set, count);
	struct vfio_irq_set hdr;
	size_t data_size = 0;
	void *data = NULL;
	int ret;

	if (copy_from_user(&hdr, arg, minsz))
		return -EFAULT;
	ret = vfio_set_irqs_validate_and_prepare(&hdr, 1, VFIO_PCI_NUM_IRQS, &data_size);
	if (ret)
		return ret;
	if (data_size) {
		data = memdup_user(arg + minsz, data_size);
		if (IS_ERR(data))
			return PTR_ERR(data);
	}

	mutex_lock(&vdev->igate);
	ret = zerr_set_err_trigger(vdev, &hdr, data);
	mutex_unlock(&vdev->igate);
	kfree(data);

	return ret;
}

/* Does this ioctl address the error IRQ of a function that is not PCIe? */
static bool zerr_is_own_err_irq(struct vfio_pci_core_device *vdev, void __user *arg)
{
	u32 index;

	if (pci_is_pcie(vdev->pdev))
		return false;
	if (copy_from_user(&index, arg + offsetof(struct vfio_irq_info, index),
			   sizeof(index)))
		return false;
	return index == VFIO_PCI_ERR_IRQ_INDEX;
}

static long zerr_ioctl(struct vfio_device *vdev, unsigned int cmd, unsigned long arg)
{
	struct vfio_pci_core_device *core = &zerr_from_vdev(vdev)->core;
	void __user *uarg = (void __user *)arg;
	long ret;

	BUILD_BUG_ON(offsetof(struct vfio_irq_info, index) !=
		     offsetof(struct vfio_irq_set, index));

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		ret = vfio_pci_core_ioctl(vdev, cmd, arg);
		if (!ret)
			ret = zerr_upgrade_base_cap(uarg);
		return ret;
	case VFIO_DEVICE_GET_IRQ_INFO:
		if (zerr_is_own_err_irq(core, uarg))
			return zerr_get_irq_info(core, uarg);
		break;
	case VFIO_DEVICE_SET_IRQS:
		if (zerr_is_own_err_irq(core, uarg))
			return zerr_set_irqs(core, uarg);
		break;
	}
	return vfio_pci_core_ioctl(vdev, cmd, arg);
}

static int zerr_open_device(struct vfio_device *vdev)
{
	struct zerr_device *zd = zerr_from_vdev(vdev);
	int ret;

	ret = vfio_pci_core_enable(&zd->core);
	if (ret)
		return ret;
	vfio_pci_core_finish_enable(&zd->core);
	zerr_mediated_start(zd);

	return 0;
}

static void zerr_close_device(struct vfio_device *vdev)
{
	struct zerr_device *zd = zerr_from_vdev(vdev);

	zerr_mediated_stop(zd);
	vfio_pci_core_close_device(vdev);
}

static int zerr_init_dev(struct vfio_device *vdev)
{
	struct zerr_device *zd = zerr_from_vdev(vdev);

	mutex_init(&zd->lock);
	return vfio_pci_core_init_dev(vdev);
}

static void zerr_release_dev(struct vfio_device *vdev)
{
	struct zerr_device *zd = zerr_from_vdev(vdev);

	mutex_destroy(&zd->lock);
	vfio_pci_core_release_dev(vdev);
}

static const struct vfio_device_ops zerr_vfio_ops = {
	.name		= "vfio-zpci-err",
	.init		= zerr_init_dev,
	.release	= zerr_release_dev,
	.open_device	= zerr_open_device,
	.close_device	= zerr_close_device,
	.ioctl		= zerr_ioctl,
	.device_feature	= zerr_device_feature,
	.read		= vfio_pci_core_read,
	.write		= vfio_pci_core_write,
	.mmap		= vfio_pci_core_mmap,
	.request	= vfio_pci_core_request,
	.match		= vfio_pci_core_match,
	.bind_iommufd	= vfio_iommufd_physical_bind,
	.unbind_iommufd	= vfio_iommufd_physical_unbind,
	.attach_ioas	= vfio_iommufd_physical_attach_ioas,
	.detach_ioas	= vfio_iommufd_physical_detach_ioas,
};

static bool zerr_pec_concerns_fmb(u16 pec)
{
	return pec >= 0x2a && pec <= 0x2c;
}

static bool zerr_pec_is_permanent(u16 pec)
{
	return pec == 0x3b || pec == 0x40;
}

/*
 * Take the steps the patched kernel takes for an error event of a function
 * whose vfio device is open: log it; unless it concerns the FMB, keep the
 * record and report the error to the driver, which signals the error
 * eventfd; leave the recovery of a recoverable error to user space.
 */
static void zerr_inject(struct zerr_device *zd, const struct zerr_ccdf *ccdf)
{
	struct pci_dev *pdev = zd->core.pdev;
	u16 pec = be16_to_cpu(ccdf->pec);

	pr_err("%s: Event 0x%x reports an error for PCI function 0x%x\n",
	       pci_name(pdev), pec, be32_to_cpu(ccdf->fid));
	if (zerr_pec_concerns_fmb(pec) || !zerr_keep(zd, ccdf))
		return;
	if (zerr_pec_is_permanent(pec)) {
		vfio_pci_core_aer_err_detected(pdev, pci_channel_io_perm_failure);
		return;
	}
	vfio_pci_core_aer_err_detected(pdev, pci_channel_io_frozen);
	pr_info("%s: Leaving recovery of pass-through device to user-space\n",
		pci_name(pdev));
}

static struct zerr_device *zerr_from_dev(struct device *dev)
{
	struct vfio_pci_core_device *core = dev_get_drvdata(dev);

	return container_of(core, struct zerr_device, core);
}

static ssize_t zpci_err_inject_pec_store(struct device *dev,
					 struct device_attribute *attr,
					 const char *buf, size_t count)
{
	struct zerr_device *zd = zerr_from_dev(dev);
	struct zpci_dev *zdev = to_zpci(zd->core.pdev);
	struct zerr_ccdf ccdf = {};
	u16 pec;
	int ret;

	ret = kstrtou16(buf, 0, &pec);
	if (ret)
		return ret;
	if (!pec)
		return -EINVAL;

	ccdf.fh = cpu_to_be32(zdev->fh);
	ccdf.fid = cpu_to_be32(zdev->fid);
	ccdf.pec = cpu_to_be16(pec);
	zerr_inject(zd, &ccdf);

	return count;
}
static DEVICE_ATTR_WO(zpci_err_inject_pec);

static ssize_t zpci_err_inject_ccdf_store(struct device *dev,
					  struct device_attribute *attr,
					  const char *buf, size_t count)
{
	struct zerr_device *zd = zerr_from_dev(dev);
	char hex[2 * sizeof(struct zerr_ccdf)];
	struct zerr_ccdf ccdf;
	size_t i, n = 0;

	for (i = 0; i < count; i++) {
		if (isspace(buf[i]))
			continue;
		if (n == sizeof(hex))
			return -EINVAL;
		hex[n++] = buf[i];
	}
	if (n != sizeof(hex) || hex2bin((u8 *)&ccdf, hex, sizeof(ccdf)))
		return -EINVAL;

	zerr_inject(zd, &ccdf);

	return count;
}
static DEVICE_ATTR_WO(zpci_err_inject_ccdf);

static ssize_t zpci_err_pending_show(struct device *dev,
				     struct device_attribute *attr, char *buf)
{
	struct zerr_device *zd = zerr_from_dev(dev);
	unsigned int n;

	mutex_lock(&zd->lock);
	n = zd->count;
	mutex_unlock(&zd->lock);

	return sysfs_emit(buf, "%u\n", n);
}
static DEVICE_ATTR_RO(zpci_err_pending);

static ssize_t zpci_err_dropped_show(struct device *dev,
				     struct device_attribute *attr, char *buf)
{
	struct zerr_device *zd = zerr_from_dev(dev);
	unsigned long n;

	mutex_lock(&zd->lock);
	n = zd->dropped;
	mutex_unlock(&zd->lock);

	return sysfs_emit(buf, "%lu\n", n);
}
static DEVICE_ATTR_RO(zpci_err_dropped);

static struct attribute *zerr_attrs[] = {
	&dev_attr_zpci_err_inject_pec.attr,
	&dev_attr_zpci_err_inject_ccdf.attr,
	&dev_attr_zpci_err_pending.attr,
	&dev_attr_zpci_err_dropped.attr,
	NULL,
};
ATTRIBUTE_GROUPS(zerr);

static int zerr_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct zerr_device *zd;
	int ret;

	if (!to_zpci(pdev))
		return -ENODEV;

	zd = vfio_alloc_device(zerr_device, core.vdev, &pdev->dev, &zerr_vfio_ops);
	if (IS_ERR(zd))
		return PTR_ERR(zd);

	dev_set_drvdata(&pdev->dev, &zd->core);
	ret = vfio_pci_core_register_device(&zd->core);
	if (ret) {
		vfio_put_device(&zd->core.vdev);
		return ret;
	}
	pci_info(pdev, "zPCI error feature and error injection provided\n");

	return 0;
}

static void zerr_remove(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *core = dev_get_drvdata(&pdev->dev);

	vfio_pci_core_unregister_device(core);
	vfio_put_device(&core->vdev);
}

/* Bind only on request, through driver_override. */
static const struct pci_device_id zerr_table[] = {
	{ PCI_DRIVER_OVERRIDE_DEVICE_VFIO(PCI_ANY_ID, PCI_ANY_ID) },
	{}
};

static struct pci_driver zerr_driver = {
	.name			= "vfio-zpci-err",
	.id_table		= zerr_table,
	.probe			= zerr_probe,
	.remove			= zerr_remove,
	.err_handler		= &vfio_pci_core_err_handlers,
	.dev_groups		= zerr_groups,
	.driver_managed_dma	= true,
};

static int __init zerr_init(void)
{
	return pci_register_driver(&zerr_driver);
}

static void __exit zerr_exit(void)
{
	pci_unregister_driver(&zerr_driver);
	/* wait for eventfd contexts released through zerr_eventfd_free() */
	rcu_barrier();
}

module_init(zerr_init);
module_exit(zerr_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfio-pci variant driver providing the zPCI error feature for testing");
