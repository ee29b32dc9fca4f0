/* SPDX-License-Identifier: GPL-2.0 */
/*
 * net_failover: the 3-netdev failover model used by virtio_net.
 *
 * A paravirtual driver whose device offers a "standby" role calls
 * net_failover_create() with its own (not yet registered) netdev. That
 * creates the failover master, an Ethernet device with the same MAC, which
 * the guest configures. The paravirtual netdev becomes the master's
 * standby lower; a PCI device (typically an SR-IOV VF passed through to the
 * guest) that carries the same permanent MAC becomes its primary lower.
 * Transmit uses the primary while it is usable and the standby otherwise.
 *
 * The master's private state is internal to drivers/net/net_failover.c;
 * only the two entry points below are ABI (see <net/failover.h> on CRCs).
 */

#ifndef _NET_FAILOVER_H
#define _NET_FAILOVER_H

#include <net/failover.h>

struct failover *net_failover_create(struct net_device *standby_dev);
void net_failover_destroy(struct failover *failover);

#endif /* _NET_FAILOVER_H */
