// SPDX-License-Identifier: GPL-2.0-only
/*
 * zpci_xmit - does a zPCI function work for the network driver bound to it?
 *
 * Loading the module looks up the zPCI function with the given FID, logs
 * whether the PCI core considers its channel offline (the state error
 * recovery puts a function in until it is reset) and, on the network device
 * the function's driver registered, brings the device up (ifup=1) or queues
 * broadcast frames of the local experimental EtherType (count=N).  The
 * guest then reads the device's statistics: a driver that believes the
 * channel offline stops reading the hardware counters, so the frames never
 * show up there.
 *
 * The guest kernel has neither IPv4 nor packet sockets, so neither "ip link
 * set up" nor a frame from user space is possible there: both are done
 * here.  The module does nothing else and stays loaded until removed.
 */
#include <linux/etherdevice.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/pci.h>
#include <linux/rtnetlink.h>

static uint fid;
module_param(fid, uint, 0444);
MODULE_PARM_DESC(fid, "Function ID of the zPCI function");

static bool ifup;
module_param(ifup, bool, 0444);
MODULE_PARM_DESC(ifup, "Bring the network device up");

static uint count;
module_param(count, uint, 0444);
MODULE_PARM_DESC(count, "Frames to queue");

static struct net_device *zxmit_netdev_of(struct pci_dev *pdev)
{
	struct net_device *dev, *found = NULL;

	rtnl_lock();
	for_each_netdev(&init_net, dev) {
		if (dev->dev.parent == &pdev->dev) {
			dev_hold(dev);
			found = dev;
			break;
		}
	}
	rtnl_unlock();
	return found;
}

static int zxmit_one(struct net_device *dev)
{
	struct sk_buff *skb;
	struct ethhdr *eth;

	skb = netdev_alloc_skb(dev, ETH_ZLEN);
	if (!skb)
		return -ENOMEM;
	skb_put_zero(skb, ETH_ZLEN);
	skb_reset_mac_header(skb);
	eth = eth_hdr(skb);
	eth_broadcast_addr(eth->h_dest);
	ether_addr_copy(eth->h_source, dev->dev_addr);
	eth->h_proto = htons(ETH_P_802_EX1);
	skb->protocol = eth->h_proto;
	skb->dev = dev;
	return dev_queue_xmit(skb);
}

static int __init zxmit_init(void)
{
	struct pci_dev *pdev = NULL;
	struct net_device *dev;
	struct zpci_dev *zdev;
	uint i, queued = 0;
	int rc;

	while ((pdev = pci_get_device(PCI_ANY_ID, PCI_ANY_ID, pdev))) {
		zdev = to_zpci(pdev);
		if (zdev && zdev->fid == fid)
			break;
	}
	if (!pdev) {
		pr_err("zpci_xmit: no zPCI function with fid 0x%x\n", fid);
		return -ENODEV;
	}
	pr_info("zpci_xmit: %s fid 0x%x: channel offline=%d error_state=%u\n",
		pci_name(pdev), fid, pci_channel_offline(pdev),
		(__force unsigned int)pdev->error_state);
	dev = zxmit_netdev_of(pdev);
	if (!dev) {
		pr_info("zpci_xmit: %s: no network device\n", pci_name(pdev));
		pci_dev_put(pdev);
		return 0;
	}
	if (ifup) {
		rtnl_lock();
		rc = dev_change_flags(dev, dev->flags | IFF_UP, NULL);
		rtnl_unlock();
		pr_info("zpci_xmit: %s: %s up rc=%d\n", pci_name(pdev),
			netdev_name(dev), rc);
	}
	if (count) {
		for (i = 0; i < count; i++)
			if (zxmit_one(dev) == NET_XMIT_SUCCESS)
				queued++;
		pr_info("zpci_xmit: %s: %s queued %u of %u frames\n",
			pci_name(pdev), netdev_name(dev), queued, count);
	}
	dev_put(dev);
	pci_dev_put(pdev);
	return 0;
}

static void __exit zxmit_exit(void)
{
}

module_init(zxmit_init);
module_exit(zxmit_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Report the channel state of a zPCI function and send frames through its driver (test only)");
