/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the kernels older than the newest one we build for need, so that the
 * code stays in the newest kernel's shape: dropping an old kernel means
 * deleting lines here only. Each source file includes it after its kernel
 * headers. Kernels built for and tested: Debian 12's 6.1, Debian 13's 6.12
 * and Debian 13 backports' 7.3; keyed on LINUX_VERSION_CODE.
 *
 * Invisible to genksyms: the CRCs of the exported symbols depend on the
 * types a translation unit defines, and must stay the distribution's.
 */
#ifndef _FAILOVER_COMPAT_H
#define _FAILOVER_COMPAT_H
#ifndef __GENKSYMS__

#include <linux/version.h>
#include <linux/netdevice.h>

/*
 * mac_pton() and the other hex helpers: <linux/kernel.h> in 6.1, then
 * <linux/hex.h> (6.12 has it), which <linux/kernel.h> no longer includes
 * in 7.x.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/hex.h>
#endif

/*
 * 6.2 lets every device be renamed while it is up and dropped
 * IFF_LIVE_RENAME_OK; before, udev cannot rename a lower once it is up in
 * the failover group unless the lower carries that flag.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define IFF_COMPAT_LIVE_RENAME_OK	IFF_LIVE_RENAME_OK
#else
#define IFF_COMPAT_LIVE_RENAME_OK	0
#endif

/*
 * 6.3 stopped IPv6 addrconf on devices with IFF_NO_ADDRCONF instead of
 * IFF_SLAVE (which the lowers carry as well).
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
#define IFF_NO_ADDRCONF			0
#endif

/*
 * 6.12 turned the NETIF_F_LLTX and NETIF_F_NETNS_LOCAL features into the
 * device fields lltx and netns_local; 6.13 renamed the latter
 * netns_immutable, and 6.12's stable series (Debian's 6.12.117 included)
 * took the rename: early 6.12.y releases are not supported.
 */
static inline void netdev_compat_set_lltx(struct net_device *dev)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	dev->lltx = true;
#else
	dev->features |= NETIF_F_LLTX;
#endif
}

static inline void netdev_compat_set_netns_immutable(struct net_device *dev)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	dev->netns_immutable = true;
#else
	dev->features |= NETIF_F_NETNS_LOCAL;
#endif
}

/*
 * ndo_netpoll_setup() lost its struct netpoll_info argument: 6.12 has it,
 * 7.3 has not (keyed on 7.0; the releases in between were not checked).
 * NETDEV_COMPAT_NETPOLL_SETUP(fn) after the newest-style fn(dev) gives
 * older kernels a wrapper with their signature, which
 * netdev_compat_netpoll_setup(fn) names in the ops.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 0, 0)
#define NETDEV_COMPAT_NETPOLL_SETUP(fn)					\
static int fn##_compat(struct net_device *dev,				\
		       struct netpoll_info *npinfo)			\
{									\
	return fn(dev);							\
}									\
static_assert(true)
#define netdev_compat_netpoll_setup(fn)	fn##_compat
#else
#define NETDEV_COMPAT_NETPOLL_SETUP(fn)	static_assert(true)
#define netdev_compat_netpoll_setup(fn)	fn
#endif

/*
 * Since 6.15 the ops of an "ops locked" device (request_ops_lock, queue
 * management or shaper ops: mlx5 among others) and its NETDEV_REGISTER,
 * NETDEV_UP, NETDEV_CHANGE, ... notifiers run under the device's instance
 * lock; dev_open(), dev_set_mtu() and the like take it, the netif_*()
 * variants expect the caller to hold it. Before, there is no such lock:
 * the netif_*() calls are the dev_*() ones and taking it does nothing.
 * 6.12 has none of it; 7.3 has all of it (kernels in between untested).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
#include <net/netdev_lock.h>

static inline int netdev_compat_request_ops_lock(struct net_device *dev)
{
	dev->request_ops_lock = true;
	return 0;
}

/* Somebody holds @dev's instance lock (for the simulated lowers' checks). */
static inline bool netdev_compat_instance_locked(struct net_device *dev)
{
	return mutex_is_locked(&dev->lock);
}
#else
static inline void netdev_lock_ops(struct net_device *dev)
{
}

static inline void netdev_unlock_ops(struct net_device *dev)
{
}

static inline int netif_set_mtu(struct net_device *dev, int new_mtu)
{
	return dev_set_mtu(dev, new_mtu);
}

static inline void netif_close(struct net_device *dev)
{
	dev_close(dev);
}

/* No instance lock to ask for. */
static inline int netdev_compat_request_ops_lock(struct net_device *dev)
{
	return -EOPNOTSUPP;
}

static inline bool netdev_compat_instance_locked(struct net_device *dev)
{
	return false;
}
#endif

#endif /* __GENKSYMS__ */
#endif /* _FAILOVER_COMPAT_H */
