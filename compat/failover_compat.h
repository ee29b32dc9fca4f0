/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the kernels older than the newest one we build for need, so that the
 * driver itself stays in the newest kernel's shape. Kbuild force-includes
 * this file into every object of the project (-include): no source file
 * includes it, and dropping an old kernel means deleting lines here only.
 *
 * Kernels built for and tested: Debian 12's 6.1, Debian 13's 6.12 and
 * Debian 13 backports' 7.3. Keyed on LINUX_VERSION_CODE, never on a
 * distribution's version string.
 *
 * Being read before anything else, it includes no header that defines a
 * default (printk.h's pr_fmt, for one): its helpers are macros, expanded
 * where the including file already has the types they touch.
 */
#ifndef _FAILOVER_COMPAT_H
#define _FAILOVER_COMPAT_H

#include <linux/version.h>

/*
 * mac_pton() and the other hex helpers: <linux/kernel.h> in 6.1, then
 * <linux/hex.h> (6.12 has it), which <linux/kernel.h> no longer includes
 * in 7.x. Only declarations: the exports' CRCs do not depend on it.
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
 * 6.12 turned the NETIF_F_LLTX and NETIF_F_NETNS_LOCAL features into the
 * device fields lltx and netns_local; 6.13 renamed the latter
 * netns_immutable, and 6.12's stable series (Debian's 6.12.117 included)
 * took the rename: early 6.12.y releases are not supported.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#define netdev_compat_set_lltx(dev)		((dev)->lltx = true)
#define netdev_compat_set_netns_immutable(dev)	((dev)->netns_immutable = true)
#else
#define netdev_compat_set_lltx(dev)		((dev)->features |= NETIF_F_LLTX)
#define netdev_compat_set_netns_immutable(dev) \
	((dev)->features |= NETIF_F_NETNS_LOCAL)
#endif

#endif /* _FAILOVER_COMPAT_H */
