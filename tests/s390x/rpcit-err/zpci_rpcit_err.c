// SPDX-License-Identifier: GPL-2.0-only
/*
 * zpci_rpcit_err - make the platform raise a real PCI function error event
 *
 * Loading the module issues one RPCIT (Refresh PCI Translations) for the
 * zPCI function with the given FID, naming a range that lies outside the
 * function's DMA aperture.  QEMU's zPCI emulation answers such a request
 * with an error event for the function (out-of-range address, PEC 0x2),
 * which the guest kernel then handles like any other platform error event:
 * it logs it and, for a function bound to a driver, runs its recovery.
 *
 * The module does nothing else and stays loaded until removed, so that it
 * can be loaded again for another FID only after rmmod.
 */
#include <linux/module.h>
#include <linux/pci.h>

static uint fid;
module_param(fid, uint, 0444);
MODULE_PARM_DESC(fid, "Function ID of the zPCI function to hit");

static ulong addr = 0x1000;
module_param(addr, ulong, 0444);
MODULE_PARM_DESC(addr, "Start of the range to refresh (default below the aperture)");

/* RPCIT: R1 holds the function handle in its high word, R2/R2+1 the range. */
static u8 zrpcit(u32 fh, u64 start, u64 len, u8 *status)
{
	union register_pair range = { .even = start, .odd = len };
	u64 req = (u64)fh << 32;
	int cc;

	asm volatile("	.insn	rre,0xb9d30000,%[req],%[range]\n"
		     "	ipm	%[cc]\n"
		     "	srl	%[cc],28\n"
		     : [cc] "=d"(cc), [req] "+d"(req)
		     : [range] "d"(range.pair)
		     : "cc", "memory");
	*status = (req >> 24) & 0xff;
	return cc;
}

static int __init zrpcit_init(void)
{
	struct pci_dev *pdev = NULL;
	struct zpci_dev *zdev;
	u8 cc, status = 0;

	while ((pdev = pci_get_device(PCI_ANY_ID, PCI_ANY_ID, pdev))) {
		zdev = to_zpci(pdev);
		if (zdev && zdev->fid == fid)
			break;
	}
	if (!pdev) {
		pr_err("zpci_rpcit_err: no zPCI function with fid 0x%x\n", fid);
		return -ENODEV;
	}
	zdev = to_zpci(pdev);
	pr_info("zpci_rpcit_err: %s fid 0x%x: RPCIT 0x%lx outside the aperture 0x%llx-0x%llx\n",
		pci_name(pdev), zdev->fid, addr, zdev->start_dma, zdev->end_dma);
	cc = zrpcit(zdev->fh, addr, PAGE_SIZE, &status);
	pr_info("zpci_rpcit_err: RPCIT cc %u status 0x%x\n", cc, status);
	pci_dev_put(pdev);
	return 0;
}

static void __exit zrpcit_exit(void)
{
}

module_init(zrpcit_init);
module_exit(zrpcit_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Raise a zPCI error event with an out-of-range RPCIT (test only)");
