/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Failover framework: pairs "lower" Ethernet devices with a failover
 * instance by permanent MAC address and enslaves them as they appear.
 *
 * ABI note: struct failover and struct failover_ops are reached by the
 * prototypes of exported symbols (failover_register(), and through
 * <net/net_failover.h> net_failover_create()). With CONFIG_MODVERSIONS the
 * symbol CRCs cover their full definitions, member names included, so a
 * distribution's prebuilt virtio_net.ko only binds to us if both structures
 * stay token for token as the kernel defines them. New behaviour therefore
 * lives in the implementations, never in new members here. The callback
 * names keep the kernel's historic "slave" wording for the same reason.
 */

#ifndef _FAILOVER_H
#define _FAILOVER_H

#include <linux/netdevice.h>

/**
 * struct failover_ops - what a failover user is told about its lowers
 * @slave_pre_register: may this lower join? Non-zero refuses it.
 * @slave_register: the lower has been linked below the failover device and
 *	its rx handler installed; set it up. Non-zero undoes the enslaving.
 * @slave_pre_unregister: is this lower really ours? Non-zero skips release.
 * @slave_unregister: the lower has been unlinked; forget it.
 * @slave_link_change: the lower went up, down or changed carrier.
 * @slave_name_change: the lower was renamed.
 * @slave_handle_frame: rx handler installed on every lower.
 *
 * All callbacks but @slave_handle_frame run under RTNL.
 */
struct failover_ops {
	int (*slave_pre_register)(struct net_device *slave_dev,
				  struct net_device *failover_dev);
	int (*slave_register)(struct net_device *slave_dev,
			      struct net_device *failover_dev);
	int (*slave_pre_unregister)(struct net_device *slave_dev,
				    struct net_device *failover_dev);
	int (*slave_unregister)(struct net_device *slave_dev,
				struct net_device *failover_dev);
	int (*slave_link_change)(struct net_device *slave_dev,
				 struct net_device *failover_dev);
	int (*slave_name_change)(struct net_device *slave_dev,
				 struct net_device *failover_dev);
	rx_handler_result_t (*slave_handle_frame)(struct sk_buff **pskb);
};

/**
 * struct failover - one registered failover instance
 * @list: entry in the framework's instance hash table; protected by RTNL
 * @failover_dev: the failover (upper) device; set once at registration,
 *	read under RTNL
 * @dev_tracker: tracks the reference held on @failover_dev
 * @ops: the user's callbacks; set once at registration, read under RTNL
 */
struct failover {
	struct list_head list;
	struct net_device __rcu *failover_dev;
	netdevice_tracker	dev_tracker;
	struct failover_ops __rcu *ops;
};

struct failover *failover_register(struct net_device *dev,
				   struct failover_ops *ops);
void failover_unregister(struct failover *failover);
int failover_slave_unregister(struct net_device *slave_dev);

#endif /* _FAILOVER_H */
