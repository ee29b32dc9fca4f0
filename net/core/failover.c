// SPDX-License-Identifier: GPL-2.0
/*
 * Failover framework.
 *
 * A failover instance is an upper Ethernet device (created by a
 * paravirtual driver such as virtio_net) plus a set of callbacks. The
 * framework watches every netdev event in the system and, when an Ethernet
 * device with the instance's permanent MAC address registers in the same
 * network namespace, links it below the instance ("enslaves" it) and
 * installs the instance's rx handler on it. Devices that registered before
 * the instance are picked up when the instance registers, so the probe
 * order of the paravirtual and the passthrough driver does not matter.
 *
 * Locking: the instance hash table and everything the callbacks touch are
 * protected by RTNL. The netdev notifier runs under RTNL; the exported
 * entry points either take it (failover_register()) or require it
 * (failover_unregister(), failover_slave_unregister()).
 */

#include <linux/module.h>
#include <linux/etherdevice.h>
#include <linux/hash.h>
#include <uapi/linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <linux/if_vlan.h>
#include <net/failover.h>
#include "compat/failover_compat.h"

/* Registered instances, hashed by the permanent MAC address of their upper
 * device, each bucket in registration order; protected by RTNL. Every
 * Ethernet device that registers is looked up here, so with thousands of
 * instances a single list would be walked in full at every registration
 * and every event of a lower.
 */
#define FAILOVER_HASH_BITS	8
static struct list_head failover_hash[1 << FAILOVER_HASH_BITS];

static struct list_head *failover_bucket(const u8 *addr)
{
	return &failover_hash[hash_64(ether_addr_to_u64(addr),
				      FAILOVER_HASH_BITS)];
}

static struct net_device *failover_upper(struct failover *failover)
{
	return rtnl_dereference(failover->failover_dev);
}

/* The instance whose upper device is @upper, or NULL. */
static struct failover *failover_find_by_upper(struct net_device *upper)
{
	struct failover *failover;

	ASSERT_RTNL();

	list_for_each_entry(failover, failover_bucket(upper->perm_addr), list)
		if (failover_upper(failover) == upper)
			return failover;
	return NULL;
}

/* The instance a new lower @dev belongs to: same permanent MAC, same
 * netns. Should several instances carry that MAC, the one whose upper
 * device shares @dev's parent device (the paravirtual device that created
 * it) wins over the first registered.
 */
static struct failover *failover_find_for_lower(struct net_device *dev)
{
	struct failover *failover, *found = NULL;
	struct net_device *upper;

	ASSERT_RTNL();

	list_for_each_entry(failover, failover_bucket(dev->perm_addr), list) {
		upper = failover_upper(failover);
		if (!net_eq(dev_net(upper), dev_net(dev)) ||
		    !ether_addr_equal(upper->perm_addr, dev->perm_addr))
			continue;
		if (dev->dev.parent && upper->dev.parent == dev->dev.parent)
			return failover;
		if (!found)
			found = failover;
	}
	return found;
}

/* The instance an already enslaved lower @dev is linked to, or NULL. */
static struct failover *failover_find_for_enslaved(struct net_device *dev)
{
	struct net_device *upper;

	if (!netif_is_failover_slave(dev))
		return NULL;
	upper = netdev_master_upper_dev_get(dev);
	if (!upper)
		return NULL;
	return failover_find_by_upper(upper);
}

static void failover_lower_set_flags(struct net_device *dev, bool on)
{
	/* IFF_NO_ADDRCONF (IFF_SLAVE before 6.3) keeps IPv6 addrconf off
	 * the lower: nothing else stops a lower that shares the upper's MAC
	 * from generating the same link-local address and failing DAD
	 * against itself.
	 */
	if (on) {
		dev->priv_flags |= IFF_FAILOVER_SLAVE | IFF_NO_ADDRCONF |
				   IFF_COMPAT_LIVE_RENAME_OK;
		dev->flags |= IFF_SLAVE;
	} else {
		dev->priv_flags &= ~(IFF_FAILOVER_SLAVE | IFF_NO_ADDRCONF |
				     IFF_COMPAT_LIVE_RENAME_OK);
		dev->flags &= ~IFF_SLAVE;
	}
}

static int failover_lower_attach(struct failover *failover,
				 struct net_device *dev)
{
	struct netdev_lag_upper_info lag_info = {
		.tx_type = NETDEV_LAG_TX_TYPE_ACTIVEBACKUP,
		.hash_type = NETDEV_LAG_HASH_NONE,
	};
	struct net_device *upper = failover_upper(failover);
	struct failover_ops *ops = rtnl_dereference(failover->ops);
	int err;

	ASSERT_RTNL();

	if (netdev_master_upper_dev_get(dev)) {
		netdev_info(upper, "%s has the failover MAC but already has a master; not enslaved\n",
			    dev->name);
		return -EBUSY;
	}

	if (ops->slave_pre_register) {
		err = ops->slave_pre_register(dev, upper);
		if (err)
			return err;
	}

	err = netdev_rx_handler_register(dev, ops->slave_handle_frame, upper);
	if (err) {
		netdev_err(upper, "%s not enslaved: rx handler busy (%d)\n",
			   dev->name, err);
		return err;
	}

	err = netdev_master_upper_dev_link(dev, upper, NULL, &lag_info, NULL);
	if (err) {
		netdev_err(upper, "%s not enslaved: cannot link below %s (%d)\n",
			   dev->name, upper->name, err);
		goto undo_rx_handler;
	}

	failover_lower_set_flags(dev, true);

	if (ops->slave_register) {
		err = ops->slave_register(dev, upper);
		if (err)
			goto undo_link;
	}
	return 0;

undo_link:
	failover_lower_set_flags(dev, false);
	netdev_upper_dev_unlink(dev, upper);
undo_rx_handler:
	netdev_rx_handler_unregister(dev);
	return err;
}

static int failover_lower_register(struct net_device *dev)
{
	struct failover *failover;

	ASSERT_RTNL();

	if (dev->type != ARPHRD_ETHER || netif_is_failover(dev))
		return NOTIFY_DONE;

	failover = failover_find_for_lower(dev);
	if (!failover)
		return NOTIFY_DONE;

	failover_lower_attach(failover, dev);
	return NOTIFY_DONE;
}

/**
 * failover_slave_unregister() - release a lower device from its instance
 * @slave_dev: the lower device
 *
 * Undoes what enslaving did: removes the rx handler, unlinks the lower from
 * the failover device and calls the instance's unregister callbacks. Called
 * by the framework when the lower unregisters, and by failover users that
 * tear an instance down. A device that is not a failover lower is ignored.
 *
 * Context: RTNL held.
 * Return: 0 when @slave_dev was released, -ENODEV when it was not a lower of
 * a registered instance, or the error of the pre-unregister callback.
 */
int failover_slave_unregister(struct net_device *slave_dev)
{
	struct failover *failover;
	struct failover_ops *ops;
	struct net_device *upper;
	int err;

	ASSERT_RTNL();

	failover = failover_find_for_enslaved(slave_dev);
	if (!failover)
		return -ENODEV;
	upper = failover_upper(failover);
	ops = rtnl_dereference(failover->ops);

	if (ops->slave_pre_unregister) {
		err = ops->slave_pre_unregister(slave_dev, upper);
		if (err)
			return err;
	}

	netdev_rx_handler_unregister(slave_dev);
	netdev_upper_dev_unlink(slave_dev, upper);
	failover_lower_set_flags(slave_dev, false);

	if (ops->slave_unregister)
		ops->slave_unregister(slave_dev, upper);
	return 0;
}
EXPORT_SYMBOL_GPL(failover_slave_unregister);

static int failover_lower_event(struct net_device *dev, unsigned long event)
{
	struct failover *failover;
	struct failover_ops *ops;
	struct net_device *upper;

	failover = failover_find_for_enslaved(dev);
	if (!failover)
		return NOTIFY_DONE;
	upper = failover_upper(failover);
	ops = rtnl_dereference(failover->ops);

	switch (event) {
	case NETDEV_UP:
	case NETDEV_DOWN:
	case NETDEV_CHANGE:
		if (ops->slave_link_change)
			ops->slave_link_change(dev, upper);
		break;
	case NETDEV_CHANGENAME:
		if (ops->slave_name_change)
			ops->slave_name_change(dev, upper);
		break;
	}
	return NOTIFY_DONE;
}

static int failover_netdev_event(struct notifier_block *nb,
				 unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);

	/* Events of the failover devices themselves are their owner's. */
	if (netif_is_failover(dev))
		return NOTIFY_DONE;

	switch (event) {
	case NETDEV_REGISTER:
		return failover_lower_register(dev);
	case NETDEV_UNREGISTER:
		failover_slave_unregister(dev);
		return NOTIFY_DONE;
	case NETDEV_UP:
	case NETDEV_DOWN:
	case NETDEV_CHANGE:
	case NETDEV_CHANGENAME:
		return failover_lower_event(dev, event);
	}
	return NOTIFY_DONE;
}

static struct notifier_block failover_notifier = {
	.notifier_call = failover_netdev_event,
};

/* Enslave the devices that registered before @failover did. */
static void failover_adopt_existing(struct failover *failover)
{
	struct net_device *upper = failover_upper(failover);
	struct net_device *dev;

	ASSERT_RTNL();

	for_each_netdev(dev_net(upper), dev) {
		if (dev == upper || netif_is_failover(dev) ||
		    netif_is_failover_slave(dev) || dev->type != ARPHRD_ETHER)
			continue;
		if (!ether_addr_equal(upper->perm_addr, dev->perm_addr))
			continue;
		/* As at its NETDEV_REGISTER: under its instance lock. */
		netdev_lock_ops(dev);
		failover_lower_attach(failover, dev);
		netdev_unlock_ops(dev);
	}
}

/**
 * failover_register() - register a failover instance
 * @dev: the failover (upper) device, registered and of type Ethernet
 * @ops: callbacks for the lower devices' lifecycle; must stay valid until
 *	failover_unregister()
 *
 * Creates an instance for @dev, enslaves any device of the same network
 * namespace that already carries @dev's permanent MAC address, and from
 * then on every such device that registers.
 *
 * Context: process context; takes RTNL, so the caller must not hold it.
 * Return: the instance, or ERR_PTR(-EINVAL) when @dev is not Ethernet or
 * @ops is NULL or has no slave_handle_frame, ERR_PTR(-ENOMEM) when out of
 * memory.
 */
struct failover *failover_register(struct net_device *dev,
				   struct failover_ops *ops)
{
	struct failover *failover;

	if (dev->type != ARPHRD_ETHER || !ops || !ops->slave_handle_frame)
		return ERR_PTR(-EINVAL);

	failover = kzalloc(sizeof(*failover), GFP_KERNEL);
	if (!failover)
		return ERR_PTR(-ENOMEM);

	rtnl_lock();
	rcu_assign_pointer(failover->ops, ops);
	rcu_assign_pointer(failover->failover_dev, dev);
	netdev_hold(dev, &failover->dev_tracker, GFP_KERNEL);
	dev->priv_flags |= IFF_FAILOVER;
	list_add_tail(&failover->list, failover_bucket(dev->perm_addr));
	netdev_info(dev, "failover instance registered for %pM\n",
		    dev->perm_addr);
	failover_adopt_existing(failover);
	rtnl_unlock();

	return failover;
}
EXPORT_SYMBOL_GPL(failover_register);

/**
 * failover_unregister() - unregister and free a failover instance
 * @failover: the instance returned by failover_register()
 *
 * The caller releases the lower devices first (failover_slave_unregister());
 * afterwards no new lower is enslaved to the instance's device.
 *
 * Context: RTNL held.
 */
void failover_unregister(struct failover *failover)
{
	struct net_device *dev;

	ASSERT_RTNL();

	dev = failover_upper(failover);
	list_del(&failover->list);
	dev->priv_flags &= ~IFF_FAILOVER;
	netdev_info(dev, "failover instance unregistered\n");
	netdev_put(dev, &failover->dev_tracker);
	kfree(failover);
}
EXPORT_SYMBOL_GPL(failover_unregister);

static int __init failover_init(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(failover_hash); i++)
		INIT_LIST_HEAD(&failover_hash[i]);
	return register_netdevice_notifier(&failover_notifier);
}
module_init(failover_init);

static void __exit failover_exit(void)
{
	unregister_netdevice_notifier(&failover_notifier);
}
module_exit(failover_exit);

MODULE_DESCRIPTION("Failover framework: pairs lower devices with paravirtual failover devices");
MODULE_LICENSE("GPL v2");
MODULE_VERSION(FAILOVER_VERSION);
