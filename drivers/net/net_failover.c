// SPDX-License-Identifier: GPL-2.0
/*
 * net_failover: failover master for the 3-netdev model.
 *
 * The master is an Ethernet device created by a paravirtual driver
 * (virtio_net with VIRTIO_NET_F_STANDBY). It has two lower devices, both
 * carrying its permanent MAC address:
 *
 *   standby  the paravirtual device itself (same parent device as the
 *            master); slow, but it survives live migration;
 *   primary  a PCI device, typically an SR-IOV VF passed through to the
 *            guest; fast, but unplugged before a migration and plugged
 *            again after it.
 *
 * The failover framework (net/core/failover.c) finds and enslaves the
 * lowers; this file decides what they carry. Transmit goes through the
 * "active" lower: the primary while it is running with carrier, else the
 * standby. Receive from either lower is delivered on the master (unicast
 * from both, so nothing is lost while the host is still steering frames to
 * the old path; broadcast and multicast from the active lower only, as the
 * host usually floods them to both). MTU, features, VLAN filters, address
 * lists and promiscuous/allmulti mode of the master are pushed down to both
 * lowers; the master's counters are the sum of what the lowers carried
 * while they were enslaved.
 *
 * Locking:
 *   RTNL         lower and active pointers (writers), everything that
 *                enslaves or releases a lower, the ndo/ethtool control ops
 *   RCU          lower and active pointers (readers: transmit, receive,
 *                rx mode, stats); a released lower stays valid for readers
 *                until a grace period has passed, which the core's
 *                unregister path and our tracked reference guarantee
 *   stats_lock   the folded counters and each lower's last snapshot; also
 *                taken when a lower pointer is set or cleared, so that a
 *                stats reader sees a lower and its snapshot together
 */

#include <linux/netdevice.h>
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/netpoll.h>
#include <linux/rtnetlink.h>
#include <linux/if_vlan.h>
#include <linux/pci.h>
#include <net/sch_generic.h>
#include <uapi/linux/if_arp.h>
#include <net/net_failover.h>

#define NFO_DRV_NAME	"net_failover"
#define NFO_DRV_VERSION	"2.0"

#define NFO_VLAN_FEATURES	(NETIF_F_HW_CSUM | NETIF_F_SG | \
				 NETIF_F_FRAGLIST | NETIF_F_ALL_TSO | \
				 NETIF_F_HIGHDMA | NETIF_F_LRO)

#define NFO_ENC_FEATURES	(NETIF_F_HW_CSUM | NETIF_F_SG | \
				 NETIF_F_RXCSUM | NETIF_F_ALL_TSO)

/**
 * struct nfo_lower - what the master keeps about one lower device
 * @dev: the lower; RTNL (mirrors the __rcu pointer of its role)
 * @tracker: tracks our reference on @dev
 * @seen: the lower's counters already folded into the master's; stats_lock
 * @promisc: we hold a promiscuity reference on @dev; RTNL
 * @allmulti: we hold an allmulti reference on @dev; RTNL
 */
struct nfo_lower {
	struct net_device *dev;
	netdevice_tracker tracker;
	struct rtnl_link_stats64 seen;
	bool promisc;
	bool allmulti;
};

/**
 * struct net_failover_info - private state of a failover master
 * @primary_dev: the primary lower; written under RTNL and stats_lock,
 *	read under RCU
 * @standby_dev: the standby lower; same rules as @primary_dev
 * @active_dev: the lower transmit uses (NULL: none usable); written under
 *	RTNL, read under RCU
 * @primary: bookkeeping of the primary lower
 * @standby: bookkeeping of the standby lower
 * @stats_lock: protects @folded and the lowers' @seen snapshots
 * @folded: sum of everything the lowers carried while enslaved
 * @dev: the master itself, for @open_work
 * @open_work: opens lowers that joined (or were renamed) while the master
 *	was up; deferred because a lower may register before its driver is
 *	ready to be opened (virtio_net registers before DRIVER_OK)
 * @lower_mtu_change: we are changing a lower's MTU ourselves; RTNL
 */
struct net_failover_info {
	struct net_device __rcu *primary_dev;
	struct net_device __rcu *standby_dev;
	struct net_device __rcu *active_dev;
	struct nfo_lower primary;
	struct nfo_lower standby;
	spinlock_t stats_lock;	/* folded counters, see kernel-doc above */
	struct rtnl_link_stats64 folded;
	struct net_device *dev;
	struct work_struct open_work;
	bool lower_mtu_change;
};

static const struct net_device_ops nfo_netdev_ops;

static bool nfo_lower_ready(const struct net_device *lower)
{
	return netif_running(lower) && netif_carrier_ok(lower);
}

static bool nfo_is_standby(const struct net_device *lower,
			   const struct net_device *dev)
{
	return lower->dev.parent == dev->dev.parent;
}

static struct nfo_lower *nfo_lower_of(struct net_failover_info *nfo,
				      const struct net_device *lower)
{
	ASSERT_RTNL();

	if (nfo->primary.dev == lower)
		return &nfo->primary;
	if (nfo->standby.dev == lower)
		return &nfo->standby;
	return NULL;
}

static const char *nfo_role(struct net_failover_info *nfo,
			    const struct nfo_lower *lower)
{
	return lower == &nfo->primary ? "primary" : "standby";
}

/* ---- datapath ---------------------------------------------------------- */

static netdev_tx_t nfo_start_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	struct net_device *lower;

	lower = rcu_dereference_bh(nfo->active_dev);
	if (unlikely(!lower || !nfo_lower_ready(lower))) {
		/* The active lower lost carrier or is going away and the
		 * control path has not caught up yet: the standby is the
		 * safe choice.
		 */
		lower = rcu_dereference_bh(nfo->standby_dev);
		if (!lower || !nfo_lower_ready(lower)) {
			dev_core_stats_tx_dropped_inc(dev);
			kfree_skb(skb);
			return NETDEV_TX_OK;
		}
	}

	/* The lower picks its own queue: the master has a single one. */
	skb->dev = lower;
	skb_set_queue_mapping(skb, 0);
	return dev_queue_xmit(skb);
}

/* Runs on both lowers, under rcu_read_lock(). Unicast is delivered from
 * either lower: around a path change the host may still steer frames to
 * the old one. Broadcast and multicast usually reach both lowers, so they
 * are taken from the active lower only (or from any while none is active).
 */
static rx_handler_result_t nfo_handle_frame(struct sk_buff **pskb)
{
	struct sk_buff *skb = *pskb;
	struct net_device *dev = rcu_dereference(skb->dev->rx_handler_data);
	struct net_failover_info *nfo = netdev_priv(dev);
	struct net_device *active;

	if (skb->pkt_type != PACKET_HOST) {
		active = rcu_dereference(nfo->active_dev);
		if (active && active != skb->dev)
			return RX_HANDLER_EXACT;
	}

	skb->dev = dev;
	return RX_HANDLER_ANOTHER;
}

/* Fold the growth of @lower's counters since the last look into @nfo. */
static void nfo_fold_lower_stats(struct net_failover_info *nfo,
				 struct nfo_lower *lower,
				 struct net_device *lower_dev)
{
	const u64 *seen = (const u64 *)&lower->seen;
	struct rtnl_link_stats64 now;
	u64 *sum = (u64 *)&nfo->folded;
	const u64 *cur;
	size_t i;

	lockdep_assert_held(&nfo->stats_lock);

	dev_get_stats(lower_dev, &now);
	cur = (const u64 *)&now;
	for (i = 0; i < sizeof(now) / sizeof(u64); i++) {
		/* A counter that went backwards was reset by its driver
		 * (some do on down/up): it counts from zero again.
		 */
		if (cur[i] >= seen[i])
			sum[i] += cur[i] - seen[i];
		else
			sum[i] += cur[i];
	}
	lower->seen = now;
}

static void nfo_get_stats64(struct net_device *dev,
			    struct rtnl_link_stats64 *stats)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	struct net_device *lower;

	rcu_read_lock();
	spin_lock(&nfo->stats_lock);
	lower = rcu_dereference(nfo->primary_dev);
	if (lower)
		nfo_fold_lower_stats(nfo, &nfo->primary, lower);
	lower = rcu_dereference(nfo->standby_dev);
	if (lower)
		nfo_fold_lower_stats(nfo, &nfo->standby, lower);
	*stats = nfo->folded;
	spin_unlock(&nfo->stats_lock);
	rcu_read_unlock();
}

/* ---- choosing the active lower ------------------------------------------ */

static void nfo_report_lower_state(struct net_device *lower, bool active)
{
	struct netdev_lag_lower_state_info info = {
		.link_up = netif_carrier_ok(lower),
		.tx_enabled = active,
	};

	netdev_lower_state_changed(lower, &info);
}

/* Pick the lower transmit uses and set the master's carrier accordingly. */
static void nfo_update_active(struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	struct net_device *primary, *standby, *old, *new = NULL;

	ASSERT_RTNL();

	primary = rtnl_dereference(nfo->primary_dev);
	standby = rtnl_dereference(nfo->standby_dev);
	old = rtnl_dereference(nfo->active_dev);

	if (netif_running(dev)) {
		if (primary && nfo_lower_ready(primary))
			new = primary;
		else if (standby && nfo_lower_ready(standby))
			new = standby;
	}

	if (new != old) {
		rcu_assign_pointer(nfo->active_dev, new);
		if (new)
			netdev_info(dev, "transmitting through %s %s\n",
				    new == primary ? "primary" : "standby",
				    new->name);
		else if (netif_running(dev))
			netdev_info(dev, "no usable lower device\n");
	}

	if (new)
		netif_carrier_on(dev);
	else
		netif_carrier_off(dev);

	if (primary)
		nfo_report_lower_state(primary, new == primary);
	if (standby)
		nfo_report_lower_state(standby, new == standby);
}

/* ---- control path: features, MTU range ----------------------------------- */

static void nfo_compute_features(struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	netdev_features_t vlan_features = NFO_VLAN_FEATURES & NETIF_F_ALL_FOR_ALL;
	netdev_features_t enc_features = NFO_ENC_FEATURES;
	unsigned int dst_release = IFF_XMIT_DST_RELEASE |
				   IFF_XMIT_DST_RELEASE_PERM;
	unsigned int tso_max_size = GSO_MAX_SIZE;
	u16 tso_max_segs = GSO_MAX_SEGS;
	unsigned short hard_header_len = ETH_HLEN;
	unsigned short headroom = 0, tailroom = 0;
	struct nfo_lower *lowers[] = { &nfo->primary, &nfo->standby };
	struct net_device *lower;
	size_t i;

	ASSERT_RTNL();

	for (i = 0; i < ARRAY_SIZE(lowers); i++) {
		lower = lowers[i]->dev;
		if (!lower)
			continue;
		vlan_features = netdev_increment_features(vlan_features,
							  lower->vlan_features,
							  NFO_VLAN_FEATURES);
		enc_features = netdev_increment_features(enc_features,
							 lower->hw_enc_features,
							 NFO_ENC_FEATURES);
		dst_release &= lower->priv_flags;
		hard_header_len = max(hard_header_len, lower->hard_header_len);
		headroom = max(headroom, lower->needed_headroom);
		tailroom = max(tailroom, lower->needed_tailroom);
		tso_max_size = min(tso_max_size, lower->tso_max_size);
		tso_max_segs = min(tso_max_segs, lower->tso_max_segs);
	}

	dev->vlan_features = vlan_features;
	dev->hw_enc_features = enc_features | NETIF_F_GSO_ENCAP_ALL;
	dev->hard_header_len = hard_header_len;
	dev->needed_headroom = headroom;
	dev->needed_tailroom = tailroom;
	netif_set_tso_max_size(dev, tso_max_size);
	netif_set_tso_max_segs(dev, tso_max_segs);

	dev->priv_flags &= ~IFF_XMIT_DST_RELEASE;
	if (dst_release == (IFF_XMIT_DST_RELEASE | IFF_XMIT_DST_RELEASE_PERM))
		dev->priv_flags |= IFF_XMIT_DST_RELEASE;

	netdev_change_features(dev);
}

/* The master accepts the MTUs every lower accepts. */
static void nfo_compute_mtu_range(struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	struct nfo_lower *lowers[] = { &nfo->primary, &nfo->standby };
	unsigned int min_mtu = ETH_MIN_MTU, max_mtu = ETH_MAX_MTU;
	struct net_device *lower;
	bool any = false;
	size_t i;

	ASSERT_RTNL();

	for (i = 0; i < ARRAY_SIZE(lowers); i++) {
		lower = lowers[i]->dev;
		if (!lower)
			continue;
		any = true;
		min_mtu = max(min_mtu, lower->min_mtu);
		if (lower->max_mtu)
			max_mtu = min(max_mtu, lower->max_mtu);
	}
	/* With no lower, keep the range the standby had at creation. */
	if (any) {
		dev->min_mtu = min_mtu;
		dev->max_mtu = max_mtu;
	}
}

static int nfo_lower_set_mtu(struct net_failover_info *nfo,
			     struct net_device *lower, unsigned int mtu)
{
	int err;

	ASSERT_RTNL();

	if (lower->mtu == mtu)
		return 0;
	nfo->lower_mtu_change = true;
	err = dev_set_mtu(lower, mtu);
	nfo->lower_mtu_change = false;
	return err;
}

/* ---- net_device_ops ------------------------------------------------------ */

/* Open the lowers that are not up; a primary that fails is left out. */
static int nfo_open_lowers(struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	struct net_device *primary = nfo->primary.dev;
	struct net_device *standby = nfo->standby.dev;
	int err;

	ASSERT_RTNL();

	if (standby && !(standby->flags & IFF_UP)) {
		err = dev_open(standby, NULL);
		if (err) {
			netdev_err(dev, "cannot open standby %s: %d\n",
				   standby->name, err);
			return err;
		}
	}
	if (primary && !(primary->flags & IFF_UP)) {
		err = dev_open(primary, NULL);
		if (err)
			netdev_warn(dev, "cannot open primary %s (%d); using the standby\n",
				    primary->name, err);
	}
	return 0;
}

static int nfo_open(struct net_device *dev)
{
	int err;

	err = nfo_open_lowers(dev);
	if (err)
		return err;
	nfo_update_active(dev);
	return 0;
}

static int nfo_stop(struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);

	nfo_update_active(dev);
	if (nfo->primary.dev)
		dev_close(nfo->primary.dev);
	if (nfo->standby.dev)
		dev_close(nfo->standby.dev);
	return 0;
}

static void nfo_open_work(struct work_struct *work)
{
	struct net_failover_info *nfo = container_of(work,
						     struct net_failover_info,
						     open_work);
	struct net_device *dev = nfo->dev;

	rtnl_lock();
	if (dev->reg_state == NETREG_REGISTERED && netif_running(dev)) {
		nfo_open_lowers(dev);
		nfo_update_active(dev);
	}
	rtnl_unlock();
}

static int nfo_change_mtu(struct net_device *dev, int new_mtu)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	struct net_device *primary = nfo->primary.dev;
	struct net_device *standby = nfo->standby.dev;
	int err;

	ASSERT_RTNL();

	if (standby) {
		err = nfo_lower_set_mtu(nfo, standby, new_mtu);
		if (err) {
			netdev_err(dev, "standby %s refused MTU %d: %d\n",
				   standby->name, new_mtu, err);
			return err;
		}
	}
	if (primary) {
		err = nfo_lower_set_mtu(nfo, primary, new_mtu);
		if (err) {
			netdev_err(dev, "primary %s refused MTU %d: %d\n",
				   primary->name, new_mtu, err);
			if (standby)
				nfo_lower_set_mtu(nfo, standby, dev->mtu);
			return err;
		}
	}
	dev->mtu = new_mtu;
	return 0;
}

/* Address lists: may run in any context, under the master's addr lock. */
static void nfo_set_rx_mode(struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	struct net_device *lower;

	rcu_read_lock();
	lower = rcu_dereference(nfo->primary_dev);
	if (lower) {
		dev_uc_sync_multiple(lower, dev);
		dev_mc_sync_multiple(lower, dev);
	}
	lower = rcu_dereference(nfo->standby_dev);
	if (lower) {
		dev_uc_sync_multiple(lower, dev);
		dev_mc_sync_multiple(lower, dev);
	}
	rcu_read_unlock();
}

static void nfo_lower_sync_flags(struct net_device *dev,
				 struct nfo_lower *lower)
{
	bool promisc = dev->flags & IFF_PROMISC;
	bool allmulti = dev->flags & IFF_ALLMULTI;

	ASSERT_RTNL();

	if (promisc != lower->promisc &&
	    !dev_set_promiscuity(lower->dev, promisc ? 1 : -1))
		lower->promisc = promisc;
	if (allmulti != lower->allmulti &&
	    !dev_set_allmulti(lower->dev, allmulti ? 1 : -1))
		lower->allmulti = allmulti;
}

static void nfo_change_rx_flags(struct net_device *dev, int change)
{
	struct net_failover_info *nfo = netdev_priv(dev);

	if (!(change & (IFF_PROMISC | IFF_ALLMULTI)))
		return;
	if (nfo->primary.dev)
		nfo_lower_sync_flags(dev, &nfo->primary);
	if (nfo->standby.dev)
		nfo_lower_sync_flags(dev, &nfo->standby);
}

static int nfo_vlan_rx_add_vid(struct net_device *dev, __be16 proto, u16 vid)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	struct net_device *primary = nfo->primary.dev;
	struct net_device *standby = nfo->standby.dev;
	int err;

	ASSERT_RTNL();

	if (primary) {
		err = vlan_vid_add(primary, proto, vid);
		if (err)
			return err;
	}
	if (standby) {
		err = vlan_vid_add(standby, proto, vid);
		if (err) {
			if (primary)
				vlan_vid_del(primary, proto, vid);
			return err;
		}
	}
	return 0;
}

static int nfo_vlan_rx_kill_vid(struct net_device *dev, __be16 proto, u16 vid)
{
	struct net_failover_info *nfo = netdev_priv(dev);

	ASSERT_RTNL();

	if (nfo->primary.dev)
		vlan_vid_del(nfo->primary.dev, proto, vid);
	if (nfo->standby.dev)
		vlan_vid_del(nfo->standby.dev, proto, vid);
	return 0;
}

static const struct net_device_ops nfo_netdev_ops = {
	.ndo_open		= nfo_open,
	.ndo_stop		= nfo_stop,
	.ndo_start_xmit		= nfo_start_xmit,
	.ndo_get_stats64	= nfo_get_stats64,
	.ndo_change_mtu		= nfo_change_mtu,
	.ndo_set_rx_mode	= nfo_set_rx_mode,
	.ndo_change_rx_flags	= nfo_change_rx_flags,
	.ndo_vlan_rx_add_vid	= nfo_vlan_rx_add_vid,
	.ndo_vlan_rx_kill_vid	= nfo_vlan_rx_kill_vid,
	.ndo_validate_addr	= eth_validate_addr,
	.ndo_features_check	= passthru_features_check,
};

/* ---- ethtool --------------------------------------------------------------- */

static void nfo_get_drvinfo(struct net_device *dev,
			    struct ethtool_drvinfo *info)
{
	strscpy(info->driver, NFO_DRV_NAME, sizeof(info->driver));
	strscpy(info->version, NFO_DRV_VERSION, sizeof(info->version));
}

static int nfo_get_link_ksettings(struct net_device *dev,
				  struct ethtool_link_ksettings *cmd)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	struct net_device *active = rtnl_dereference(nfo->active_dev);

	if (active)
		return __ethtool_get_link_ksettings(active, cmd);

	cmd->base.speed = SPEED_UNKNOWN;
	cmd->base.duplex = DUPLEX_UNKNOWN;
	cmd->base.port = PORT_OTHER;
	return 0;
}

static const struct ethtool_ops nfo_ethtool_ops = {
	.get_drvinfo		= nfo_get_drvinfo,
	.get_link		= ethtool_op_get_link,
	.get_link_ksettings	= nfo_get_link_ksettings,
};

/* ---- failover_ops: the lowers' lifecycle ---------------------------------- */

static int nfo_lower_pre_register(struct net_device *lower,
				  struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	bool standby = nfo_is_standby(lower, dev);
	struct net_device *taken = standby ? nfo->standby.dev : nfo->primary.dev;

	ASSERT_RTNL();

	if (taken) {
		netdev_err(dev, "%s not enslaved: %s %s already enslaved\n",
			   lower->name, standby ? "standby" : "primary",
			   taken->name);
		return -EEXIST;
	}
	/* A VF cannot be told from other PCI functions; require PCI. */
	if (!standby && (!lower->dev.parent || !dev_is_pci(lower->dev.parent))) {
		netdev_info(dev, "%s not enslaved: a primary must be a PCI device\n",
			    lower->name);
		return -EINVAL;
	}
	if ((lower->features & NETIF_F_VLAN_CHALLENGED) && vlan_uses_dev(dev)) {
		netdev_err(dev, "%s not enslaved: it cannot do VLANs and %s has VLANs\n",
			   lower->name, dev->name);
		return -EINVAL;
	}
	if (dev->mtu < lower->min_mtu ||
	    (lower->max_mtu && dev->mtu > lower->max_mtu)) {
		netdev_err(dev, "%s not enslaved: cannot take MTU %u (its range is %u-%u)\n",
			   lower->name, dev->mtu, lower->min_mtu,
			   lower->max_mtu);
		return -ERANGE;
	}
	return 0;
}

static int nfo_lower_register(struct net_device *lower, struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	bool standby = nfo_is_standby(lower, dev);
	struct nfo_lower *l = standby ? &nfo->standby : &nfo->primary;
	int err;

	ASSERT_RTNL();

	err = nfo_lower_set_mtu(nfo, lower, dev->mtu);
	if (err) {
		netdev_err(dev, "%s not enslaved: cannot take MTU %u (%d)\n",
			   lower->name, dev->mtu, err);
		return err;
	}

	/* A lower that was up before it joined may hold addresses that IPv6
	 * addrconf gave it with the shared MAC; closing it drops them, and
	 * open_work reopens it under the master.
	 */
	if (lower->flags & IFF_UP)
		dev_close(lower);

	l->dev = lower;
	l->promisc = false;
	l->allmulti = false;
	netdev_hold(lower, &l->tracker, GFP_KERNEL);

	err = vlan_vids_add_by_dev(lower, dev);
	if (err) {
		netdev_err(dev, "%s not enslaved: cannot add the VLAN filters (%d)\n",
			   lower->name, err);
		goto undo_hold;
	}

	netif_addr_lock_bh(dev);
	dev_uc_sync_multiple(lower, dev);
	dev_mc_sync_multiple(lower, dev);
	netif_addr_unlock_bh(dev);
	nfo_lower_sync_flags(dev, l);

	spin_lock(&nfo->stats_lock);
	dev_get_stats(lower, &l->seen);
	if (standby)
		rcu_assign_pointer(nfo->standby_dev, lower);
	else
		rcu_assign_pointer(nfo->primary_dev, lower);
	spin_unlock(&nfo->stats_lock);

	nfo_compute_mtu_range(dev);
	nfo_compute_features(dev);
	nfo_update_active(dev);
	call_netdevice_notifiers(NETDEV_JOIN, lower);

	netdev_info(dev, "%s %s enslaved\n", nfo_role(nfo, l), lower->name);

	if (netif_running(dev))
		schedule_work(&nfo->open_work);
	return 0;

undo_hold:
	netdev_put(lower, &l->tracker);
	l->dev = NULL;
	return err;
}

static int nfo_lower_pre_unregister(struct net_device *lower,
				    struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);

	return nfo_lower_of(nfo, lower) ? 0 : -ENODEV;
}

static int nfo_lower_unregister(struct net_device *lower,
				struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	struct nfo_lower *l = nfo_lower_of(nfo, lower);
	bool standby;

	ASSERT_RTNL();

	if (WARN_ON_ONCE(!l))
		return -ENODEV;
	standby = l == &nfo->standby;

	/* Stop transmitting through it before anything else. */
	if (rtnl_dereference(nfo->active_dev) == lower)
		RCU_INIT_POINTER(nfo->active_dev, NULL);

	spin_lock(&nfo->stats_lock);
	nfo_fold_lower_stats(nfo, l, lower);
	if (standby)
		RCU_INIT_POINTER(nfo->standby_dev, NULL);
	else
		RCU_INIT_POINTER(nfo->primary_dev, NULL);
	spin_unlock(&nfo->stats_lock);

	nfo_update_active(dev);

	vlan_vids_del_by_dev(lower, dev);
	dev_uc_unsync(lower, dev);
	dev_mc_unsync(lower, dev);
	if (l->promisc)
		dev_set_promiscuity(lower, -1);
	if (l->allmulti)
		dev_set_allmulti(lower, -1);
	dev_close(lower);

	l->dev = NULL;
	netdev_put(lower, &l->tracker);

	nfo_compute_mtu_range(dev);
	nfo_compute_features(dev);

	netdev_info(dev, "%s %s released\n", standby ? "standby" : "primary",
		    lower->name);
	return 0;
}

static int nfo_lower_link_change(struct net_device *lower,
				 struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);

	if (!nfo_lower_of(nfo, lower))
		return -ENODEV;
	nfo_update_active(dev);
	return 0;
}

static int nfo_lower_name_change(struct net_device *lower,
				 struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);

	if (!nfo_lower_of(nfo, lower))
		return -ENODEV;
	/* A rename (udev) may follow a failed open: retry it. */
	if (netif_running(dev) && !(lower->flags & IFF_UP))
		schedule_work(&nfo->open_work);
	return 0;
}

static struct failover_ops nfo_failover_ops = {
	.slave_pre_register	= nfo_lower_pre_register,
	.slave_register		= nfo_lower_register,
	.slave_pre_unregister	= nfo_lower_pre_unregister,
	.slave_unregister	= nfo_lower_unregister,
	.slave_link_change	= nfo_lower_link_change,
	.slave_name_change	= nfo_lower_name_change,
	.slave_handle_frame	= nfo_handle_frame,
};

/* ---- events the framework does not forward -------------------------------- */

/* The master of @lower if it is one of ours, else NULL. */
static struct net_device *nfo_master_of(struct net_device *lower)
{
	struct net_device *dev;

	if (!netif_is_failover_slave(lower))
		return NULL;
	dev = netdev_master_upper_dev_get(lower);
	if (!dev || dev->netdev_ops != &nfo_netdev_ops)
		return NULL;
	return dev;
}

static int nfo_netdev_event(struct notifier_block *nb, unsigned long event,
			    void *ptr)
{
	struct net_device *lower = netdev_notifier_info_to_dev(ptr);
	struct netlink_ext_ack *extack;
	struct net_failover_info *nfo;
	struct net_device *dev;

	dev = nfo_master_of(lower);
	if (!dev)
		return NOTIFY_DONE;
	nfo = netdev_priv(dev);
	extack = netdev_notifier_info_to_extack(ptr);

	switch (event) {
	case NETDEV_PRECHANGEMTU:
		if (nfo->lower_mtu_change)
			break;
		NL_SET_ERR_MSG(extack,
			       "net_failover: set the MTU on the failover master");
		netdev_warn(dev, "refusing MTU change of lower %s: set it on %s\n",
			    lower->name, dev->name);
		return notifier_from_errno(-EBUSY);
	case NETDEV_PRE_CHANGEADDR:
		NL_SET_ERR_MSG(extack,
			       "net_failover: a failover lower keeps the failover MAC address");
		return notifier_from_errno(-EBUSY);
	case NETDEV_FEAT_CHANGE:
		nfo_compute_features(dev);
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block nfo_notifier = {
	.notifier_call = nfo_netdev_event,
};

/* ---- creation and destruction ---------------------------------------------- */

/**
 * net_failover_create() - create a failover master for a standby device
 * @standby_dev: the paravirtual netdev that will be the standby lower;
 *	allocated and given its MAC address, not necessarily registered yet
 *
 * Allocates and registers the failover master (an Ethernet device with
 * @standby_dev's MAC address and parent device) and a failover instance
 * for it. @standby_dev, once registered, becomes the master's standby
 * lower; a PCI device with the same permanent MAC becomes its primary,
 * whether it registers before or after the master.
 *
 * Context: process context, RTNL not held.
 * Return: the failover instance, or an ERR_PTR() on failure.
 */
struct failover *net_failover_create(struct net_device *standby_dev)
{
	struct device *parent = standby_dev->dev.parent;
	struct net_failover_info *nfo;
	struct failover *failover;
	struct net_device *dev;
	int err;

	dev = alloc_etherdev_mqs(sizeof(*nfo), 1, 1);
	if (!dev) {
		dev_err(parent, "net_failover: cannot allocate the master\n");
		return ERR_PTR(-ENOMEM);
	}

	nfo = netdev_priv(dev);
	nfo->dev = dev;
	spin_lock_init(&nfo->stats_lock);
	INIT_WORK(&nfo->open_work, nfo_open_work);

	dev_net_set(dev, dev_net(standby_dev));
	SET_NETDEV_DEV(dev, parent);
	dev->netdev_ops = &nfo_netdev_ops;
	dev->ethtool_ops = &nfo_ethtool_ops;

	dev->priv_flags |= IFF_UNICAST_FLT | IFF_NO_QUEUE;
	dev->priv_flags &= ~(IFF_XMIT_DST_RELEASE | IFF_TX_SKB_SHARING);
	/* Transmit takes no lock of ours: the lowers have their own. */
	dev->features |= NETIF_F_LLTX;
	/* The lowers belong to this namespace; so does the master. */
	dev->features |= NETIF_F_NETNS_LOCAL;
	dev->hw_features = NFO_VLAN_FEATURES | NETIF_F_HW_VLAN_CTAG_TX |
			   NETIF_F_HW_VLAN_CTAG_RX | NETIF_F_HW_VLAN_CTAG_FILTER |
			   NETIF_F_GSO_ENCAP_ALL;
	dev->features |= dev->hw_features;

	eth_hw_addr_set(dev, standby_dev->dev_addr);
	dev->min_mtu = standby_dev->min_mtu;
	dev->max_mtu = standby_dev->max_mtu;

	err = register_netdev(dev);
	if (err) {
		dev_err(parent, "net_failover: cannot register the master: %d\n",
			err);
		goto free_dev;
	}
	netif_carrier_off(dev);

	failover = failover_register(dev, &nfo_failover_ops);
	if (IS_ERR(failover)) {
		err = PTR_ERR(failover);
		netdev_err(dev, "cannot register the failover instance: %d\n",
			   err);
		goto unregister_dev;
	}
	return failover;

unregister_dev:
	unregister_netdev(dev);
free_dev:
	free_netdev(dev);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_GPL(net_failover_create);

/**
 * net_failover_destroy() - tear down a failover master
 * @failover: the instance returned by net_failover_create(), or NULL
 *
 * Releases the lower devices (they stay registered, closed), unregisters
 * the failover instance and the master and frees the master.
 *
 * Context: process context, RTNL not held.
 */
void net_failover_destroy(struct failover *failover)
{
	struct net_failover_info *nfo;
	struct net_device *dev;

	if (!failover)
		return;

	rtnl_lock();
	dev = rtnl_dereference(failover->failover_dev);
	nfo = netdev_priv(dev);
	netif_device_detach(dev);
	if (nfo->primary.dev)
		failover_slave_unregister(nfo->primary.dev);
	if (nfo->standby.dev)
		failover_slave_unregister(nfo->standby.dev);
	failover_unregister(failover);
	unregister_netdevice(dev);
	rtnl_unlock();

	cancel_work_sync(&nfo->open_work);
	free_netdev(dev);
}
EXPORT_SYMBOL_GPL(net_failover_destroy);

static int __init nfo_init(void)
{
	return register_netdevice_notifier(&nfo_notifier);
}
module_init(nfo_init);

static void __exit nfo_exit(void)
{
	unregister_netdevice_notifier(&nfo_notifier);
}
module_exit(nfo_exit);

MODULE_DESCRIPTION("Failover master for paravirtual devices (3-netdev model)");
MODULE_LICENSE("GPL v2");
MODULE_VERSION(NFO_DRV_VERSION);
