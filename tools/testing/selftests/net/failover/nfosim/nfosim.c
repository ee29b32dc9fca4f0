// SPDX-License-Identifier: GPL-2.0
/*
 * nfosim: simulated lower devices for the net_failover selftests.
 *
 * In the spirit of netdevsim: no device emulation, only deterministic
 * control from debugfs of what net_failover sees of its lowers. A "group"
 * is what virtio_net makes of a device with the STANDBY feature: a standby
 * netdev for which net_failover_create() is called before the standby is
 * registered, so that the failover master shares the standby's parent
 * device. Primaries are netdevs with a chosen permanent MAC address whose
 * parent is a PCI function, as net_failover requires of a primary: QEMU's
 * pci-testdev (1b36:0005, "-device pci-testdev"), shared by every
 * simulated primary; without one, or with parent=own, a primary gets a
 * parent device of its own (not PCI, so net_failover refuses it). Every
 * lower frees what it is asked to transmit and counts it in its ordinary
 * statistics.
 *
 * Control (/sys/kernel/debug/nfosim/):
 *   pci_parent    r   the PCI function primaries use ("" if none)
 *   new_group     "ID MAC [min_mtu=N] [max_mtu=N] [mtu=N] [carrier=0|1]"
 *   del_group     "ID"
 *   ID/master             r   name of the group's failover master
 *   ID/add_primary        w   "PID [mac=MAC] [type=ARPHRD] [min_mtu=N]
 *                              [max_mtu=N] [mtu=N] [carrier=0|1]
 *                              [parent=pci|own|standby]
 *                              [ops_lock=0|1] [lro=0|1]"
 *   ID/del_primary        w   "PID"
 *   ID/standby/, ID/pPID/     one directory per lower:
 *     registered  rw  1: the netdev exists; 0: unregister it (1 again
 *                     registers a new netdev with the same settings)
 *     carrier     rw  carrier of the netdev
 *     min_mtu     rw  MTU range; applies to the live netdev too
 *     max_mtu     rw
 *     fail_mtu    rw  Y: ndo_change_mtu() refuses every change (-EBUSY)
 *     ifname      r   current name ("" while unregistered)
 *     ifindex     r   current ifindex (0 while unregistered)
 *     rx          w   "COUNT [ucast|bcast|mcast|other] [SEQ]": receive
 *                     frames ("other": unicast to 02:6e:66:6f:00:99, not
 *                     ours), numbered SEQ, SEQ + 1, ... in their payload
 *                     (without SEQ: from a counter shared by all lowers,
 *                     so that every frame differs)
 *     mtu_locked  r   ndo_change_mtu() calls made under the netdev's
 *                     instance lock, and all of them: "LOCKED CALLS"
 *
 * ops_lock=1 asks the core for the instance lock around the netdev's ops
 * and its REGISTER/UP/CHANGE/... notifiers (request_ops_lock, 6.15+), as
 * mlx5 does; EOPNOTSUPP on older kernels. lro=1 gives the netdev LRO, on.
 *
 * Netdev names: the standby of group ID is nsbID, primary PID of group ID
 * is nprID_PID; the master gets the next ethN.
 *
 * Every lower has NFOSIM_TX_QUEUES transmit queues and one receive queue;
 * ethtool -L DEV tx N sets the number in use (real_num_tx_queues, 1 to
 * NFOSIM_TX_QUEUES). A lower registered again starts with all of them.
 *
 * Locking: nfosim_lock protects the groups, the lowers and their netdev
 * pointers; it is taken before RTNL. A group or lower is unlinked and
 * marked dead under the lock, its debugfs directory removed without the
 * lock (removal waits for writers, which may be waiting for the lock),
 * and then it is destroyed under the lock.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/if_arp.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/pci.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <linux/xarray.h>
#include <net/net_failover.h>
#include "compat/failover_compat.h"

#define NFOSIM_MIN_MTU		ETH_MIN_MTU
#define NFOSIM_MAX_MTU		9000
#define NFOSIM_TX_QUEUES	4
#define NFOSIM_RX_MAX		1000000
#define NFOSIM_CMD_MAX		128
#define NFOSIM_MAX_PRIMARIES	99

struct nfosim_group;

/**
 * struct nfosim_lower - one simulated lower device
 * @grp: the group it belongs to
 * @list: entry in @grp->primaries (primaries only)
 * @parent: its parent device (a standby's is the group's)
 * @netdev: the registered netdev, NULL while unregistered
 * @ddir: its debugfs directory
 * @id: primary id (0 for the standby)
 * @mac: permanent MAC address
 * @type: ARPHRD_* type of the netdev
 * @min_mtu: MTU range given to the netdev
 * @max_mtu: see @min_mtu
 * @mtu: MTU at registration (0: 1500 within the range)
 * @carrier: carrier state given to the netdev
 * @fail_mtu: ndo_change_mtu() fails
 * @ops_lock: the netdev asks for its instance lock around its ops
 * @lro: the netdev has LRO, on
 * @mtu_calls: ndo_change_mtu() calls
 * @mtu_locked: those made under the instance lock
 * @standby: this is the group's standby
 * @own_parent: @parent is ours to unregister
 * @dead: deletion in progress; the debugfs files do nothing
 */
struct nfosim_lower {
	struct nfosim_group *grp;
	struct list_head list;
	struct device *parent;
	struct net_device *netdev;
	struct dentry *ddir;
	u32 id;
	u8 mac[ETH_ALEN];
	u16 type;
	u32 min_mtu;
	u32 max_mtu;
	u32 mtu;
	bool carrier;
	bool fail_mtu;
	bool ops_lock;
	bool lro;
	atomic_t mtu_calls;
	atomic_t mtu_locked;
	bool standby;
	bool own_parent;
	bool dead;
};

/**
 * struct nfosim_group - a standby, its failover master and primaries
 * @id: the group id
 * @parent: parent device of the standby and of the master
 * @failover: what net_failover_create() returned
 * @standby: the standby lower
 * @primaries: the primary lowers
 * @ddir: the group's debugfs directory
 * @dead: deletion in progress
 */
struct nfosim_group {
	u32 id;
	struct device *parent;
	struct failover *failover;
	struct nfosim_lower standby;
	struct list_head primaries;
	struct dentry *ddir;
	bool dead;
};

struct nfosim_priv {
	struct nfosim_lower *lower;
};

static DEFINE_MUTEX(nfosim_lock);
static DEFINE_XARRAY(nfosim_groups);
static struct device *nfosim_root;
static struct dentry *nfosim_ddir;
/* QEMU's pci-testdev: the PCI parent of simulated primaries, or NULL. */
static struct pci_dev *nfosim_pci;

/* Where a primary's parent device comes from. */
enum nfosim_parent {
	NFOSIM_PARENT_PCI,	/* nfosim_pci (the default when present) */
	NFOSIM_PARENT_OWN,	/* a device of its own under nfosim_root */
	NFOSIM_PARENT_STANDBY,	/* the group's, as a standby has */
};

/* ---- the netdev -------------------------------------------------------- */

static netdev_tx_t nfosim_start_xmit(struct sk_buff *skb,
				     struct net_device *dev)
{
	dev_sw_netstats_tx_add(dev, 1, skb->len);
	dev_consume_skb_any(skb);
	return NETDEV_TX_OK;
}

static int nfosim_change_mtu(struct net_device *dev, int new_mtu)
{
	struct nfosim_priv *priv = netdev_priv(dev);

	atomic_inc(&priv->lower->mtu_calls);
	if (netdev_compat_instance_locked(dev))
		atomic_inc(&priv->lower->mtu_locked);
	if (READ_ONCE(priv->lower->fail_mtu))
		return -EBUSY;
	dev->mtu = new_mtu;
	return 0;
}

static int nfosim_vlan_vid(struct net_device *dev, __be16 proto, u16 vid)
{
	return 0;
}

static const struct net_device_ops nfosim_netdev_ops = {
	.ndo_start_xmit		= nfosim_start_xmit,
	.ndo_change_mtu		= nfosim_change_mtu,
	.ndo_set_mac_address	= eth_mac_addr,
	.ndo_validate_addr	= eth_validate_addr,
	.ndo_get_stats64	= dev_get_tstats64,
	.ndo_vlan_rx_add_vid	= nfosim_vlan_vid,
	.ndo_vlan_rx_kill_vid	= nfosim_vlan_vid,
};

/* One receive channel; transmit channels in use: real_num_tx_queues. */
static void nfosim_get_channels(struct net_device *dev,
				struct ethtool_channels *ch)
{
	ch->max_rx = 1;
	ch->max_tx = dev->num_tx_queues;
	ch->rx_count = 1;
	ch->tx_count = dev->real_num_tx_queues;
}

/* Under RTNL; the ethtool core has checked the counts against the maxima
 * (no combined or other channels) and that neither rx nor tx is 0.
 */
static int nfosim_set_channels(struct net_device *dev,
			       struct ethtool_channels *ch)
{
	return netif_set_real_num_tx_queues(dev, ch->tx_count);
}

static const struct ethtool_ops nfosim_ethtool_ops = {
	.get_channels		= nfosim_get_channels,
	.set_channels		= nfosim_set_channels,
};

static void nfosim_setup(struct net_device *dev)
{
	ether_setup(dev);
	dev->netdev_ops = &nfosim_netdev_ops;
	dev->ethtool_ops = &nfosim_ethtool_ops;
	dev->priv_flags |= IFF_UNICAST_FLT;
	dev->hw_features = NETIF_F_SG | NETIF_F_HW_CSUM | NETIF_F_RXCSUM |
			   NETIF_F_ALL_TSO | NETIF_F_HIGHDMA;
	dev->features = dev->hw_features | NETIF_F_HW_VLAN_CTAG_FILTER;
	dev->vlan_features = dev->hw_features;
}

static void nfosim_netdev_free(struct net_device *dev)
{
	free_percpu(dev->tstats);
	free_netdev(dev);
}

/* Allocate the netdev of @l, not registered yet; ERR_PTR() on failure. */
static struct net_device *nfosim_netdev_alloc(struct nfosim_lower *l)
{
	struct nfosim_priv *priv;
	struct net_device *dev;
	char name[IFNAMSIZ];
	int err;

	if (l->standby)
		snprintf(name, sizeof(name), "nsb%u", l->grp->id);
	else
		snprintf(name, sizeof(name), "npr%u_%u", l->grp->id, l->id);

	dev = alloc_netdev_mqs(sizeof(*priv), name, NET_NAME_PREDICTABLE,
			       nfosim_setup, NFOSIM_TX_QUEUES, 1);
	if (!dev)
		return ERR_PTR(-ENOMEM);
	dev->tstats = netdev_alloc_pcpu_stats(struct pcpu_sw_netstats);
	if (!dev->tstats) {
		free_netdev(dev);
		return ERR_PTR(-ENOMEM);
	}
	if (l->ops_lock) {
		err = netdev_compat_request_ops_lock(dev);
		if (err) {
			nfosim_netdev_free(dev);
			return ERR_PTR(err);
		}
	}
	if (l->lro) {
		dev->hw_features |= NETIF_F_LRO;
		dev->features |= NETIF_F_LRO;
	}
	priv = netdev_priv(dev);
	priv->lower = l;
	SET_NETDEV_DEV(dev, l->parent);
	dev->type = l->type;
	/* NET_ADDR_PERM: register_netdevice() copies it into perm_addr. */
	dev->addr_assign_type = NET_ADDR_PERM;
	eth_hw_addr_set(dev, l->mac);
	dev->min_mtu = l->min_mtu;
	dev->max_mtu = l->max_mtu;
	dev->mtu = clamp_t(u32, l->mtu ?: ETH_DATA_LEN, l->min_mtu,
			   l->max_mtu);
	if (!l->carrier)
		netif_carrier_off(dev);
	return dev;
}

static int nfosim_lower_register(struct nfosim_lower *l)
{
	struct net_device *dev;
	int err;

	lockdep_assert_held(&nfosim_lock);

	if (l->netdev)
		return 0;
	dev = nfosim_netdev_alloc(l);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	err = register_netdev(dev);
	if (err) {
		nfosim_netdev_free(dev);
		return err;
	}
	l->netdev = dev;
	return 0;
}

static void nfosim_lower_unregister(struct nfosim_lower *l)
{
	struct net_device *dev = l->netdev;

	lockdep_assert_held(&nfosim_lock);

	if (!dev)
		return;
	l->netdev = NULL;
	unregister_netdev(dev);
	nfosim_netdev_free(dev);
}

/* ---- parent devices ----------------------------------------------------- */

static void nfosim_parent_release(struct device *dev)
{
	kfree(dev);
}

static struct device *nfosim_parent_new(u32 grp, u32 id, bool standby)
{
	struct device *dev;
	int err;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return ERR_PTR(-ENOMEM);
	device_initialize(dev);
	dev->parent = nfosim_root;
	dev->release = nfosim_parent_release;
	if (standby)
		err = dev_set_name(dev, "g%u", grp);
	else
		err = dev_set_name(dev, "g%u-p%u", grp, id);
	if (!err)
		err = device_add(dev);
	if (err) {
		put_device(dev);
		return ERR_PTR(err);
	}
	return dev;
}

/* ---- command parsing ------------------------------------------------------ */

/* Options of new_group and add_primary; unknown keys are an error. */
static int nfosim_parse_opts(char *p, struct nfosim_lower *l,
			     enum nfosim_parent *parent)
{
	char *tok, *val;
	u32 v;

	while ((tok = strsep(&p, " \t\n"))) {
		if (!*tok)
			continue;
		val = strchr(tok, '=');
		if (!val)
			return -EINVAL;
		*val++ = '\0';
		if (!strcmp(tok, "mac")) {
			if (!mac_pton(val, l->mac))
				return -EINVAL;
			continue;
		}
		if (!strcmp(tok, "parent")) {
			if (!parent)
				return -EINVAL;
			if (!strcmp(val, "standby"))
				*parent = NFOSIM_PARENT_STANDBY;
			else if (!strcmp(val, "own"))
				*parent = NFOSIM_PARENT_OWN;
			else if (!strcmp(val, "pci") && nfosim_pci)
				*parent = NFOSIM_PARENT_PCI;
			else
				return -EINVAL;
			continue;
		}
		if (kstrtou32(val, 0, &v))
			return -EINVAL;
		if (!strcmp(tok, "min_mtu"))
			l->min_mtu = v;
		else if (!strcmp(tok, "max_mtu"))
			l->max_mtu = v;
		else if (!strcmp(tok, "mtu"))
			l->mtu = v;
		else if (!strcmp(tok, "carrier"))
			l->carrier = !!v;
		else if (!strcmp(tok, "type") && v <= U16_MAX)
			l->type = v;
		else if (!strcmp(tok, "ops_lock"))
			l->ops_lock = !!v;
		else if (!strcmp(tok, "lro"))
			l->lro = !!v;
		else
			return -EINVAL;
	}
	if (l->min_mtu > l->max_mtu)
		return -EINVAL;
	return 0;
}

static int nfosim_read_cmd(char *buf, const char __user *ubuf, size_t count,
			   loff_t *ppos)
{
	ssize_t n;

	if (*ppos || count >= NFOSIM_CMD_MAX)
		return -EINVAL;
	n = simple_write_to_buffer(buf, NFOSIM_CMD_MAX - 1, ppos, ubuf, count);
	if (n < 0)
		return n;
	buf[n] = '\0';
	return 0;
}

/* ---- per-lower debugfs files ---------------------------------------------- */

static ssize_t nfosim_bool_read(char __user *ubuf, size_t count,
				loff_t *ppos, bool v)
{
	char buf[3] = { v ? '1' : '0', '\n', '\0' };

	return simple_read_from_buffer(ubuf, count, ppos, buf, 2);
}

static ssize_t nfosim_registered_read(struct file *file, char __user *ubuf,
				      size_t count, loff_t *ppos)
{
	struct nfosim_lower *l = file->private_data;
	bool v;

	mutex_lock(&nfosim_lock);
	v = l->netdev;
	mutex_unlock(&nfosim_lock);
	return nfosim_bool_read(ubuf, count, ppos, v);
}

static ssize_t nfosim_registered_write(struct file *file,
				       const char __user *ubuf, size_t count,
				       loff_t *ppos)
{
	struct nfosim_lower *l = file->private_data;
	bool v;
	int err;

	err = kstrtobool_from_user(ubuf, count, &v);
	if (err)
		return err;
	mutex_lock(&nfosim_lock);
	if (l->dead)
		err = -ENODEV;
	else if (v)
		err = nfosim_lower_register(l);
	else
		nfosim_lower_unregister(l);
	mutex_unlock(&nfosim_lock);
	return err ? err : count;
}

static const struct file_operations nfosim_registered_fops = {
	.open = simple_open,
	.read = nfosim_registered_read,
	.write = nfosim_registered_write,
	.llseek = default_llseek,
	.owner = THIS_MODULE,
};

static ssize_t nfosim_carrier_read(struct file *file, char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	struct nfosim_lower *l = file->private_data;
	bool v;

	mutex_lock(&nfosim_lock);
	v = l->carrier;
	mutex_unlock(&nfosim_lock);
	return nfosim_bool_read(ubuf, count, ppos, v);
}

static ssize_t nfosim_carrier_write(struct file *file,
				    const char __user *ubuf, size_t count,
				    loff_t *ppos)
{
	struct nfosim_lower *l = file->private_data;
	bool v;
	int err;

	err = kstrtobool_from_user(ubuf, count, &v);
	if (err)
		return err;
	mutex_lock(&nfosim_lock);
	if (l->dead) {
		err = -ENODEV;
	} else {
		l->carrier = v;
		if (l->netdev && v)
			netif_carrier_on(l->netdev);
		else if (l->netdev)
			netif_carrier_off(l->netdev);
	}
	mutex_unlock(&nfosim_lock);
	return err ? err : count;
}

static const struct file_operations nfosim_carrier_fops = {
	.open = simple_open,
	.read = nfosim_carrier_read,
	.write = nfosim_carrier_write,
	.llseek = default_llseek,
	.owner = THIS_MODULE,
};

static ssize_t nfosim_mtu_read(struct file *file, char __user *ubuf,
			       size_t count, loff_t *ppos, bool max)
{
	struct nfosim_lower *l = file->private_data;
	char buf[16];
	int len;

	mutex_lock(&nfosim_lock);
	len = scnprintf(buf, sizeof(buf), "%u\n", max ? l->max_mtu : l->min_mtu);
	mutex_unlock(&nfosim_lock);
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static ssize_t nfosim_mtu_write(struct file *file, const char __user *ubuf,
				size_t count, loff_t *ppos, bool max)
{
	struct nfosim_lower *l = file->private_data;
	u32 v;
	int err;

	err = kstrtou32_from_user(ubuf, count, 0, &v);
	if (err)
		return err;
	mutex_lock(&nfosim_lock);
	if (l->dead) {
		err = -ENODEV;
	} else if (max ? v < l->min_mtu : v > l->max_mtu) {
		err = -EINVAL;
	} else {
		if (max)
			l->max_mtu = v;
		else
			l->min_mtu = v;
		if (l->netdev) {
			rtnl_lock();
			l->netdev->min_mtu = l->min_mtu;
			l->netdev->max_mtu = l->max_mtu;
			rtnl_unlock();
		}
	}
	mutex_unlock(&nfosim_lock);
	return err ? err : count;
}

static ssize_t nfosim_min_mtu_read(struct file *file, char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	return nfosim_mtu_read(file, ubuf, count, ppos, false);
}

static ssize_t nfosim_min_mtu_write(struct file *file,
				    const char __user *ubuf, size_t count,
				    loff_t *ppos)
{
	return nfosim_mtu_write(file, ubuf, count, ppos, false);
}

static ssize_t nfosim_max_mtu_read(struct file *file, char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	return nfosim_mtu_read(file, ubuf, count, ppos, true);
}

static ssize_t nfosim_max_mtu_write(struct file *file,
				    const char __user *ubuf, size_t count,
				    loff_t *ppos)
{
	return nfosim_mtu_write(file, ubuf, count, ppos, true);
}

static const struct file_operations nfosim_min_mtu_fops = {
	.open = simple_open,
	.read = nfosim_min_mtu_read,
	.write = nfosim_min_mtu_write,
	.llseek = default_llseek,
	.owner = THIS_MODULE,
};

static const struct file_operations nfosim_max_mtu_fops = {
	.open = simple_open,
	.read = nfosim_max_mtu_read,
	.write = nfosim_max_mtu_write,
	.llseek = default_llseek,
	.owner = THIS_MODULE,
};

static ssize_t nfosim_ifname_read(struct file *file, char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	struct nfosim_lower *l = file->private_data;
	char buf[IFNAMSIZ + 1] = "";
	int len = 0;

	mutex_lock(&nfosim_lock);
	if (l->netdev) {
		rtnl_lock();
		len = scnprintf(buf, sizeof(buf), "%s\n", l->netdev->name);
		rtnl_unlock();
	}
	mutex_unlock(&nfosim_lock);
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static const struct file_operations nfosim_ifname_fops = {
	.open = simple_open,
	.read = nfosim_ifname_read,
	.llseek = default_llseek,
	.owner = THIS_MODULE,
};

static ssize_t nfosim_ifindex_read(struct file *file, char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	struct nfosim_lower *l = file->private_data;
	char buf[16];
	int len;

	mutex_lock(&nfosim_lock);
	len = scnprintf(buf, sizeof(buf), "%d\n",
			l->netdev ? l->netdev->ifindex : 0);
	mutex_unlock(&nfosim_lock);
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static const struct file_operations nfosim_ifindex_fops = {
	.open = simple_open,
	.read = nfosim_ifindex_read,
	.llseek = default_llseek,
	.owner = THIS_MODULE,
};

static ssize_t nfosim_mtu_locked_read(struct file *file, char __user *ubuf,
				      size_t count, loff_t *ppos)
{
	struct nfosim_lower *l = file->private_data;
	char buf[32];
	int len;

	len = scnprintf(buf, sizeof(buf), "%d %d\n",
			atomic_read(&l->mtu_locked),
			atomic_read(&l->mtu_calls));
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static const struct file_operations nfosim_mtu_locked_fops = {
	.open = simple_open,
	.read = nfosim_mtu_locked_read,
	.llseek = default_llseek,
	.owner = THIS_MODULE,
};

enum nfosim_rx_kind {
	NFOSIM_RX_UCAST,
	NFOSIM_RX_BCAST,
	NFOSIM_RX_MCAST,
	NFOSIM_RX_OTHER,
};

/* "other": unicast to a secondary address of the master (a macvlan's),
 * which the lower sees as PACKET_OTHERHOST.
 */
static const u8 nfosim_rx_other[ETH_ALEN] = { 0x02, 0x6e, 0x66, 0x6f, 0x00, 0x99 };

/* Receive @count minimal frames of an experimental EtherType on @dev,
 * numbered from @seq.
 */
static int nfosim_rx(struct net_device *dev, u32 count,
		     enum nfosim_rx_kind kind, u32 seq)
{
	static const u8 mcast[ETH_ALEN] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	static const u8 src[ETH_ALEN] = { 0x02, 0x6e, 0x66, 0x6f, 0x00, 0x01 };
	const u8 *dst = kind == NFOSIM_RX_BCAST ? dev->broadcast :
			kind == NFOSIM_RX_MCAST ? mcast :
			kind == NFOSIM_RX_OTHER ? nfosim_rx_other : dev->dev_addr;
	struct sk_buff *skb;
	struct ethhdr *eth;
	__be32 nseq;
	u32 i;

	for (i = 0; i < count; i++) {
		skb = netdev_alloc_skb(dev, ETH_ZLEN);
		if (!skb)
			return -ENOMEM;
		eth = skb_put_zero(skb, ETH_ZLEN);
		ether_addr_copy(eth->h_dest, dst);
		ether_addr_copy(eth->h_source, src);
		eth->h_proto = htons(ETH_P_802_EX1);
		nseq = cpu_to_be32(seq + i);
		memcpy(eth + 1, &nseq, sizeof(nseq));
		skb->protocol = eth_type_trans(skb, dev);
		/* As a driver's NAPI poll would: per-CPU counters and the
		 * backlog with bottom halves off.
		 */
		local_bh_disable();
		dev_sw_netstats_rx_add(dev, ETH_ZLEN);
		netif_rx(skb);
		local_bh_enable();
		if (!(i % 64))
			cond_resched();
	}
	return 0;
}

static ssize_t nfosim_rx_write(struct file *file, const char __user *ubuf,
			       size_t count, loff_t *ppos)
{
	enum nfosim_rx_kind kind = NFOSIM_RX_UCAST;
	struct nfosim_lower *l = file->private_data;
	char buf[NFOSIM_CMD_MAX], how[8] = "ucast";
	static u32 next_seq = 1U << 31;	/* under nfosim_lock */
	u32 n, seq;
	int err, args;

	err = nfosim_read_cmd(buf, ubuf, count, ppos);
	if (err)
		return err;
	args = sscanf(buf, "%u %7s %u", &n, how, &seq);
	if (args < 1 || n > NFOSIM_RX_MAX)
		return -EINVAL;
	if (!strcmp(how, "bcast"))
		kind = NFOSIM_RX_BCAST;
	else if (!strcmp(how, "mcast"))
		kind = NFOSIM_RX_MCAST;
	else if (!strcmp(how, "other"))
		kind = NFOSIM_RX_OTHER;
	else if (strcmp(how, "ucast"))
		return -EINVAL;

	mutex_lock(&nfosim_lock);
	if (l->dead || !l->netdev) {
		err = -ENODEV;
	} else {
		if (args < 3) {
			seq = next_seq;
			next_seq += n;
		}
		err = nfosim_rx(l->netdev, n, kind, seq);
	}
	mutex_unlock(&nfosim_lock);
	return err ? err : count;
}

static const struct file_operations nfosim_rx_fops = {
	.open = simple_open,
	.write = nfosim_rx_write,
	.llseek = default_llseek,
	.owner = THIS_MODULE,
};

static void nfosim_lower_debugfs(struct nfosim_lower *l, const char *name)
{
	struct dentry *d = debugfs_create_dir(name, l->grp->ddir);

	l->ddir = d;
	debugfs_create_file("registered", 0600, d, l, &nfosim_registered_fops);
	debugfs_create_file("carrier", 0600, d, l, &nfosim_carrier_fops);
	debugfs_create_file("min_mtu", 0600, d, l, &nfosim_min_mtu_fops);
	debugfs_create_file("max_mtu", 0600, d, l, &nfosim_max_mtu_fops);
	debugfs_create_bool("fail_mtu", 0600, d, &l->fail_mtu);
	debugfs_create_file("ifname", 0400, d, l, &nfosim_ifname_fops);
	debugfs_create_file("ifindex", 0400, d, l, &nfosim_ifindex_fops);
	debugfs_create_file("rx", 0200, d, l, &nfosim_rx_fops);
	debugfs_create_file("mtu_locked", 0400, d, l, &nfosim_mtu_locked_fops);
}

/* ---- primaries ------------------------------------------------------------ */

static struct nfosim_lower *nfosim_primary_find(struct nfosim_group *grp,
						u32 id)
{
	struct nfosim_lower *l;

	list_for_each_entry(l, &grp->primaries, list)
		if (l->id == id)
			return l;
	return NULL;
}

static void nfosim_primary_free(struct nfosim_lower *l)
{
	lockdep_assert_held(&nfosim_lock);

	nfosim_lower_unregister(l);
	if (l->own_parent)
		device_unregister(l->parent);
	kfree(l);
}

static ssize_t nfosim_add_primary_write(struct file *file,
					const char __user *ubuf, size_t count,
					loff_t *ppos)
{
	struct nfosim_group *grp = file->private_data;
	enum nfosim_parent parent = nfosim_pci ? NFOSIM_PARENT_PCI :
						 NFOSIM_PARENT_OWN;
	char buf[NFOSIM_CMD_MAX], name[16];
	struct nfosim_lower *l;
	char *p = buf, *tok;
	u32 id;
	int err;

	err = nfosim_read_cmd(buf, ubuf, count, ppos);
	if (err)
		return err;
	tok = strsep(&p, " \t\n");
	if (!tok || kstrtou32(tok, 0, &id) || !id ||
	    id > NFOSIM_MAX_PRIMARIES)
		return -EINVAL;

	l = kzalloc(sizeof(*l), GFP_KERNEL);
	if (!l)
		return -ENOMEM;
	l->id = id;
	l->grp = grp;
	l->type = ARPHRD_ETHER;
	l->min_mtu = NFOSIM_MIN_MTU;
	l->max_mtu = NFOSIM_MAX_MTU;
	l->carrier = true;

	mutex_lock(&nfosim_lock);
	ether_addr_copy(l->mac, grp->standby.mac);
	err = p ? nfosim_parse_opts(p, l, &parent) : 0;
	if (err)
		goto unlock;
	if (grp->dead) {
		err = -ENODEV;
		goto unlock;
	}
	if (nfosim_primary_find(grp, id)) {
		err = -EEXIST;
		goto unlock;
	}
	if (parent == NFOSIM_PARENT_STANDBY) {
		l->parent = grp->parent;
	} else if (parent == NFOSIM_PARENT_PCI) {
		l->parent = &nfosim_pci->dev;
	} else {
		l->parent = nfosim_parent_new(grp->id, id, false);
		if (IS_ERR(l->parent)) {
			err = PTR_ERR(l->parent);
			goto unlock;
		}
		l->own_parent = true;
	}
	err = nfosim_lower_register(l);
	if (err)
		goto unregister_parent;
	list_add_tail(&l->list, &grp->primaries);
	snprintf(name, sizeof(name), "p%u", id);
	nfosim_lower_debugfs(l, name);
	mutex_unlock(&nfosim_lock);
	return count;

unregister_parent:
	if (l->own_parent)
		device_unregister(l->parent);
unlock:
	mutex_unlock(&nfosim_lock);
	kfree(l);
	return err;
}

static const struct file_operations nfosim_add_primary_fops = {
	.open = simple_open,
	.write = nfosim_add_primary_write,
	.llseek = default_llseek,
	.owner = THIS_MODULE,
};

static ssize_t nfosim_del_primary_write(struct file *file,
					const char __user *ubuf, size_t count,
					loff_t *ppos)
{
	struct nfosim_group *grp = file->private_data;
	struct nfosim_lower *l;
	u32 id;
	int err;

	err = kstrtou32_from_user(ubuf, count, 0, &id);
	if (err)
		return err;

	mutex_lock(&nfosim_lock);
	l = grp->dead ? NULL : nfosim_primary_find(grp, id);
	if (l) {
		list_del(&l->list);
		l->dead = true;
	}
	mutex_unlock(&nfosim_lock);
	if (!l)
		return -ENOENT;

	debugfs_remove_recursive(l->ddir);
	mutex_lock(&nfosim_lock);
	nfosim_primary_free(l);
	mutex_unlock(&nfosim_lock);
	return count;
}

static const struct file_operations nfosim_del_primary_fops = {
	.open = simple_open,
	.write = nfosim_del_primary_write,
	.llseek = default_llseek,
	.owner = THIS_MODULE,
};

static ssize_t nfosim_master_read(struct file *file, char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	struct nfosim_group *grp = file->private_data;
	char buf[IFNAMSIZ + 1] = "";
	struct net_device *master;
	int len = 0;

	mutex_lock(&nfosim_lock);
	if (!grp->dead) {
		rtnl_lock();
		master = rtnl_dereference(grp->failover->failover_dev);
		len = scnprintf(buf, sizeof(buf), "%s\n", master->name);
		rtnl_unlock();
	}
	mutex_unlock(&nfosim_lock);
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static const struct file_operations nfosim_master_fops = {
	.open = simple_open,
	.read = nfosim_master_read,
	.llseek = default_llseek,
	.owner = THIS_MODULE,
};

/* ---- groups --------------------------------------------------------------- */

/* Tear down in virtio_net's order: the standby, the master, then the
 * primaries (which, like a VF, outlive the master).
 */
static void nfosim_group_free(struct nfosim_group *grp)
{
	struct nfosim_lower *l, *tmp;

	lockdep_assert_held(&nfosim_lock);

	nfosim_lower_unregister(&grp->standby);
	net_failover_destroy(grp->failover);
	list_for_each_entry_safe(l, tmp, &grp->primaries, list) {
		list_del(&l->list);
		nfosim_primary_free(l);
	}
	device_unregister(grp->parent);
	kfree(grp);
}

static int nfosim_group_new(u32 id, const u8 *mac, char *opts)
{
	struct nfosim_lower *sb;
	struct nfosim_group *grp;
	struct net_device *dev;
	char name[16];
	int err;

	lockdep_assert_held(&nfosim_lock);

	grp = kzalloc(sizeof(*grp), GFP_KERNEL);
	if (!grp)
		return -ENOMEM;
	grp->id = id;
	INIT_LIST_HEAD(&grp->primaries);
	sb = &grp->standby;
	sb->grp = grp;
	sb->standby = true;
	sb->type = ARPHRD_ETHER;
	sb->min_mtu = NFOSIM_MIN_MTU;
	sb->max_mtu = NFOSIM_MAX_MTU;
	sb->carrier = true;
	ether_addr_copy(sb->mac, mac);
	err = opts ? nfosim_parse_opts(opts, sb, NULL) : 0;
	if (err || sb->type != ARPHRD_ETHER)
		goto free_grp;

	err = xa_insert(&nfosim_groups, id, grp, GFP_KERNEL);
	if (err)
		goto free_grp;

	grp->parent = nfosim_parent_new(id, 0, true);
	if (IS_ERR(grp->parent)) {
		err = PTR_ERR(grp->parent);
		goto erase;
	}
	sb->parent = grp->parent;

	/* As virtio_net does: the master first, then the standby. */
	dev = nfosim_netdev_alloc(sb);
	if (IS_ERR(dev)) {
		err = PTR_ERR(dev);
		goto unregister_parent;
	}
	grp->failover = net_failover_create(dev);
	if (IS_ERR(grp->failover)) {
		err = PTR_ERR(grp->failover);
		goto free_netdev;
	}
	err = register_netdev(dev);
	if (err)
		goto destroy_failover;
	sb->netdev = dev;

	snprintf(name, sizeof(name), "%u", id);
	grp->ddir = debugfs_create_dir(name, nfosim_ddir);
	debugfs_create_file("master", 0400, grp->ddir, grp, &nfosim_master_fops);
	debugfs_create_file("add_primary", 0200, grp->ddir, grp,
			    &nfosim_add_primary_fops);
	debugfs_create_file("del_primary", 0200, grp->ddir, grp,
			    &nfosim_del_primary_fops);
	nfosim_lower_debugfs(sb, "standby");
	return 0;

destroy_failover:
	net_failover_destroy(grp->failover);
free_netdev:
	nfosim_netdev_free(dev);
unregister_parent:
	device_unregister(grp->parent);
erase:
	xa_erase(&nfosim_groups, id);
free_grp:
	kfree(grp);
	return err ? err : -EINVAL;
}

static ssize_t nfosim_new_group_write(struct file *file,
				      const char __user *ubuf, size_t count,
				      loff_t *ppos)
{
	char buf[NFOSIM_CMD_MAX];
	char *p = buf, *id_s, *mac_s;
	u8 mac[ETH_ALEN];
	u32 id;
	int err;

	err = nfosim_read_cmd(buf, ubuf, count, ppos);
	if (err)
		return err;
	id_s = strsep(&p, " \t\n");
	mac_s = p ? strsep(&p, " \t\n") : NULL;
	if (!id_s || kstrtou32(id_s, 0, &id) || id > 99999 ||
	    !mac_s || !mac_pton(mac_s, mac) || !is_valid_ether_addr(mac))
		return -EINVAL;

	mutex_lock(&nfosim_lock);
	err = nfosim_group_new(id, mac, p);
	mutex_unlock(&nfosim_lock);
	return err ? err : count;
}

static const struct file_operations nfosim_new_group_fops = {
	.open = simple_open,
	.write = nfosim_new_group_write,
	.llseek = default_llseek,
	.owner = THIS_MODULE,
};

static ssize_t nfosim_del_group_write(struct file *file,
				      const char __user *ubuf, size_t count,
				      loff_t *ppos)
{
	struct nfosim_group *grp;
	struct nfosim_lower *l;
	u32 id;
	int err;

	err = kstrtou32_from_user(ubuf, count, 0, &id);
	if (err)
		return err;

	mutex_lock(&nfosim_lock);
	grp = xa_erase(&nfosim_groups, id);
	if (grp) {
		grp->dead = true;
		grp->standby.dead = true;
		list_for_each_entry(l, &grp->primaries, list)
			l->dead = true;
	}
	mutex_unlock(&nfosim_lock);
	if (!grp)
		return -ENOENT;

	debugfs_remove_recursive(grp->ddir);
	mutex_lock(&nfosim_lock);
	nfosim_group_free(grp);
	mutex_unlock(&nfosim_lock);
	return count;
}

static const struct file_operations nfosim_del_group_fops = {
	.open = simple_open,
	.write = nfosim_del_group_write,
	.llseek = default_llseek,
	.owner = THIS_MODULE,
};

/* ---- module ------------------------------------------------------------- */

static ssize_t nfosim_pci_parent_read(struct file *file, char __user *ubuf,
				      size_t count, loff_t *ppos)
{
	char buf[32] = "\n";

	if (nfosim_pci)
		snprintf(buf, sizeof(buf), "%s\n", pci_name(nfosim_pci));
	return simple_read_from_buffer(ubuf, count, ppos, buf, strlen(buf));
}

static const struct file_operations nfosim_pci_parent_fops = {
	.open = simple_open,
	.read = nfosim_pci_parent_read,
	.llseek = default_llseek,
	.owner = THIS_MODULE,
};

static int __init nfosim_init(void)
{
	nfosim_root = root_device_register("nfosim");
	if (IS_ERR(nfosim_root))
		return PTR_ERR(nfosim_root);
	/* QEMU's pci-testdev, Red Hat's vendor id. */
	nfosim_pci = pci_get_device(0x1b36, 0x0005, NULL);

	nfosim_ddir = debugfs_create_dir("nfosim", NULL);
	debugfs_create_file("pci_parent", 0400, nfosim_ddir, NULL,
			    &nfosim_pci_parent_fops);
	debugfs_create_file("new_group", 0200, nfosim_ddir, NULL,
			    &nfosim_new_group_fops);
	debugfs_create_file("del_group", 0200, nfosim_ddir, NULL,
			    &nfosim_del_group_fops);
	return 0;
}
module_init(nfosim_init);

static void __exit nfosim_exit(void)
{
	struct nfosim_group *grp;
	unsigned long id;

	/* No file operation runs past this point. */
	debugfs_remove_recursive(nfosim_ddir);

	mutex_lock(&nfosim_lock);
	xa_for_each(&nfosim_groups, id, grp) {
		xa_erase(&nfosim_groups, id);
		nfosim_group_free(grp);
	}
	mutex_unlock(&nfosim_lock);
	xa_destroy(&nfosim_groups);
	pci_dev_put(nfosim_pci);
	root_device_unregister(nfosim_root);
}
module_exit(nfosim_exit);

MODULE_DESCRIPTION("Simulated lower devices for the net_failover selftests");
MODULE_LICENSE("GPL v2");
