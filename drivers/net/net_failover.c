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
 * "active" lower: the primary while it is running with carrier (and has
 * been for the hold-down time, is not marked unusable and the standby is
 * not forced), else the standby. Every change of the active lower is
 * announced to the peers (gratuitous ARP, unsolicited NA). Receive from
 * either lower is delivered on the master (unicast from both, so nothing
 * is lost while the host is still steering frames to the old path;
 * broadcast and multicast from the active lower only, as the host usually
 * floods them to both). MTU, features, VLAN filters, address
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
 *   per-CPU      path counters (u64_stats), written by the datapath only
 *
 * Work items (open, hold-down, peer notification) take RTNL themselves;
 * net_failover_destroy() cancels them after the master is unregistered,
 * and they do nothing once it is.
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
#include "compat/failover_compat.h"
/* The include set above is the stock driver's: the CRCs of the exported
 * symbols depend on which types the translation unit defines, and the
 * distribution's virtio_net.ko checks them. Anything more is hidden from
 * genksyms (which defines __GENKSYMS__) so that the CRCs stay the same.
 */
#ifndef __GENKSYMS__
#include <linux/u64_stats_sync.h>
#include <net/rtnetlink.h>
#include <uapi/linux/net_failover.h>
#define CREATE_TRACE_POINTS
#include "net_failover_trace.h"
#endif

#define NFO_DRV_NAME	"net_failover"
#define NFO_DRV_VERSION	"2.0"

#define NFO_VLAN_FEATURES	(NETIF_F_HW_CSUM | NETIF_F_SG | \
				 NETIF_F_FRAGLIST | NETIF_F_ALL_TSO | \
				 NETIF_F_HIGHDMA | NETIF_F_LRO)

#define NFO_ENC_FEATURES	(NETIF_F_HW_CSUM | NETIF_F_SG | \
				 NETIF_F_RXCSUM | NETIF_F_ALL_TSO)

/* Limits of the knobs; a larger value is refused. */
#define NFO_HOLDDOWN_MAX_MS	60000
#define NFO_PEER_NOTIFY_MAX	255
/* Spacing of repeated peer notifications. */
#define NFO_NOTIFY_INTERVAL_MS	200

static unsigned int holddown_ms;
module_param(holddown_ms, uint, 0644);
MODULE_PARM_DESC(holddown_ms,
		 "default time a new primary must be up with carrier before it carries traffic (ms, 0-60000)");

static unsigned int peer_notify = 1;
module_param(peer_notify, uint, 0644);
MODULE_PARM_DESC(peer_notify,
		 "default gratuitous ARP / unsolicited NA rounds per path change (0-255)");

static char *blocked_ids = "";
module_param(blocked_ids, charp, 0444);
MODULE_PARM_DESC(blocked_ids,
		 "PCI vendor:device list (e.g. 8086:154c,15b3:1018) of primaries never used to transmit");

static bool tx_skb_sharing;
module_param(tx_skb_sharing, bool, 0644);
MODULE_PARM_DESC(tx_skb_sharing,
		 "default for new masters: accept shared skbs (pktgen clone_skb and burst) and clone each for the lower (default off: refused, as by stock and bonding)");

static bool primary_pci_only = true;
module_param(primary_pci_only, bool, 0644);
MODULE_PARM_DESC(primary_pci_only,
		 "accept only PCI devices as primaries (default on; off only for simulated lowers in tests)");

enum nfo_path {
	NFO_PATH_PRIMARY,
	NFO_PATH_STANDBY,
	NFO_NR_PATHS,
};

/**
 * struct nfo_pcpu_stats - per-CPU path counters
 * @tx_packets: frames handed to each lower
 * @tx_bytes: bytes handed to each lower
 * @rx_packets: frames received through each lower and delivered
 * @rx_bytes: bytes received through each lower and delivered
 * @tx_drop_no_lower: frames dropped because no lower was usable
 * @rx_drop_inactive: broadcast/multicast frames of the inactive lower not
 *	delivered on the master (the active lower gets its own copy)
 * @syncp: u64_stats sequence
 */
struct nfo_pcpu_stats {
	u64_stats_t tx_packets[NFO_NR_PATHS];
	u64_stats_t tx_bytes[NFO_NR_PATHS];
	u64_stats_t rx_packets[NFO_NR_PATHS];
	u64_stats_t rx_bytes[NFO_NR_PATHS];
	u64_stats_t tx_drop_no_lower;
	u64_stats_t rx_drop_inactive;
	struct u64_stats_sync syncp;
};

/**
 * struct nfo_lower - what the master keeps about one lower device
 * @dev: the lower; RTNL (mirrors the __rcu pointer of its role)
 * @tracker: tracks our reference on @dev
 * @seen: the lower's counters already folded into the master's; stats_lock
 * @ready_since: jiffies when it last became running with carrier; RTNL
 * @activations: times it became the active lower; RTNL
 * @deactivations: times it stopped being the active lower; RTNL
 * @was_ready: it was running with carrier at the last look; RTNL
 * @going_down: it is being closed (NETDEV_GOING_DOWN seen); RTNL
 * @unbinding: its PCI driver is being unbound (remove() is about to run,
 *	and stops transmitting before the netdev goes down); RTNL
 * @needs_open: joined or failed to open while the master was up: the
 *	open work opens it (and only such lowers); RTNL
 * @reported: @link_up and @tx_enabled were reported to the stack; RTNL
 * @link_up: last reported carrier; RTNL
 * @tx_enabled: last reported "transmit goes through it"; RTNL
 * @blocked: not to be used for transmit (marked unusable); RTNL
 * @promisc: we hold a promiscuity reference on @dev; RTNL
 * @allmulti: we hold an allmulti reference on @dev; RTNL
 */
struct nfo_lower {
	struct net_device *dev;
	netdevice_tracker tracker;
	struct rtnl_link_stats64 seen;
	unsigned long ready_since;
	u32 activations;
	u32 deactivations;
	bool was_ready;
	bool going_down;
	bool unbinding;
	bool needs_open;
	bool reported;
	bool link_up;
	bool tx_enabled;
	bool blocked;
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
 * @pcpu: per-CPU path counters
 * @stats_lock: protects @folded and the lowers' @seen snapshots
 * @folded: sum of everything the lowers carried while enslaved
 * @list: entry in nfo_list; RTNL
 * @dev: the master itself, for the work items
 * @open_work: opens lowers that joined (or were renamed) while the master
 *	was up; deferred because a lower may register before its driver is
 *	ready to be opened (virtio_net registers before DRIVER_OK)
 * @holddown_work: re-evaluates the active lower when a primary's
 *	hold-down time has passed
 * @notify_work: sends the pending peer notifications
 * @switches: active-lower changes since creation; RTNL
 * @holddown_ms: hold-down of a new primary; RTNL
 * @peer_notify: notification rounds per path change; RTNL
 * @notify_left: notification rounds still to send; RTNL
 * @force_standby: never transmit through the primary; RTNL
 * @tx_skb_sharing: offer IFF_TX_SKB_SHARING and clone shared skbs before
 *	the lower gets them; written under RTNL, read locklessly by transmit
 * @lower_mtu_change: we are changing a lower's MTU ourselves; RTNL
 */
struct net_failover_info {
	struct net_device __rcu *primary_dev;
	struct net_device __rcu *standby_dev;
	struct net_device __rcu *active_dev;
	struct nfo_lower primary;
	struct nfo_lower standby;
	struct nfo_pcpu_stats __percpu *pcpu;
	spinlock_t stats_lock;	/* folded counters, see kernel-doc above */
	struct rtnl_link_stats64 folded;
	struct list_head list;
	struct net_device *dev;
	struct work_struct open_work;
	struct delayed_work holddown_work;
	struct delayed_work notify_work;
	u32 switches;
	u32 holddown_ms;
	u8 peer_notify;
	u8 notify_left;
	bool force_standby;
	bool tx_skb_sharing;
	bool lower_mtu_change;
};

/* All masters, for the PCI bus notifier; protected by RTNL. */
static LIST_HEAD(nfo_list);

static __always_inline bool nfo_lower_ready(const struct net_device *lower)
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

static void nfo_count(struct net_failover_info *nfo, u64_stats_t *packets,
		      u64_stats_t *bytes, unsigned int len)
{
	struct nfo_pcpu_stats *pcpu = this_cpu_ptr(nfo->pcpu);

	u64_stats_update_begin(&pcpu->syncp);
	u64_stats_inc(packets);
	if (bytes)
		u64_stats_add(bytes, len);
	u64_stats_update_end(&pcpu->syncp);
}

/* A shared skb: the sender keeps a reference and may transmit the same
 * skb on the master again (pktgen's clone_skb and burst, which
 * IFF_TX_SKB_SHARING allows). The lower gets a clone: the master must not
 * change skb->dev of the sender's skb (its next copy would bypass the
 * master), nor give the lower an skb whose fields it rewrites while the
 * lower may still hold it in a qdisc, nor let the same skb be linked into
 * a qdisc twice. Without tx_skb_sharing the master does not offer
 * IFF_TX_SKB_SHARING, so pktgen refuses clone_skb and burst (it checks
 * when they are set), and a shared skb goes to the lower as it is, as
 * bonding does.
 */
static noinline netdev_tx_t nfo_xmit_shared(struct sk_buff *skb,
					    struct net_device *dev,
					    struct net_device *lower)
{
	skb = skb_share_check(skb, GFP_ATOMIC);
	if (unlikely(!skb)) {
		dev_core_stats_tx_dropped_inc(dev);
		return NETDEV_TX_OK;
	}
	skb->dev = lower;
	return dev_queue_xmit(skb);
}

static netdev_tx_t nfo_start_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	struct nfo_pcpu_stats *pcpu = this_cpu_ptr(nfo->pcpu);
	struct net_device *lower;
	enum nfo_path path;

	lower = rcu_dereference_bh(nfo->active_dev);
	if (unlikely(!lower || !nfo_lower_ready(lower))) {
		/* The active lower lost carrier or is going away and the
		 * control path has not caught up yet: the standby is the
		 * safe choice.
		 */
		lower = rcu_dereference_bh(nfo->standby_dev);
		if (!lower || !nfo_lower_ready(lower)) {
			nfo_count(nfo, &pcpu->tx_drop_no_lower, NULL, 0);
			dev_core_stats_tx_dropped_inc(dev);
			kfree_skb(skb);
			return NETDEV_TX_OK;
		}
	}

	path = lower == rcu_access_pointer(nfo->primary_dev) ?
	       NFO_PATH_PRIMARY : NFO_PATH_STANDBY;
	nfo_count(nfo, &pcpu->tx_packets[path], &pcpu->tx_bytes[path],
		  skb->len);

	/* The lower picks its own queue: the master has a single one. */
	skb_set_queue_mapping(skb, 0);
	if (unlikely(skb_shared(skb)) && READ_ONCE(nfo->tx_skb_sharing))
		return nfo_xmit_shared(skb, dev, lower);
	skb->dev = lower;
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
	struct nfo_pcpu_stats *pcpu = this_cpu_ptr(nfo->pcpu);
	struct net_device *active;
	enum nfo_path path;

	if (skb->pkt_type != PACKET_HOST) {
		active = rcu_dereference(nfo->active_dev);
		if (active && active != skb->dev) {
			nfo_count(nfo, &pcpu->rx_drop_inactive, NULL, 0);
			return RX_HANDLER_EXACT;
		}
	}

	path = skb->dev == rcu_access_pointer(nfo->primary_dev) ?
	       NFO_PATH_PRIMARY : NFO_PATH_STANDBY;
	nfo_count(nfo, &pcpu->rx_packets[path], &pcpu->rx_bytes[path],
		  skb->len + skb->mac_len);

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
		u32 delta32 = (u32)cur[i] - (u32)seen[i];

		if (cur[i] >= seen[i])
			sum[i] += cur[i] - seen[i];
		else if (!((cur[i] | seen[i]) >> 32) && delta32 < BIT(31))
			sum[i] += delta32;	/* a 32-bit counter wrapped */
		else
			sum[i] += cur[i];	/* reset by its driver */
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

/* Tell the stack (NETDEV_CHANGELOWERSTATE) when a lower's state changed. */
static void nfo_report_lower_state(struct nfo_lower *l, bool active)
{
	struct netdev_lag_lower_state_info info = {
		.link_up = netif_carrier_ok(l->dev),
		.tx_enabled = active,
	};

	if (l->reported && info.link_up == l->link_up &&
	    info.tx_enabled == l->tx_enabled)
		return;
	l->reported = true;
	l->link_up = info.link_up;
	l->tx_enabled = info.tx_enabled;
	netdev_lower_state_changed(l->dev, &info);
}

/* Is the lower running with carrier and not on its way down? Tracks when
 * it became so, for the hold-down.
 */
static bool nfo_lower_usable(struct nfo_lower *l)
{
	bool ready = l->dev && !l->going_down && !l->unbinding &&
		     nfo_lower_ready(l->dev);

	if (ready && !l->was_ready)
		l->ready_since = jiffies;
	l->was_ready = ready;
	return ready;
}

static bool nfo_primary_eligible(struct net_failover_info *nfo)
{
	struct nfo_lower *l = &nfo->primary;
	unsigned long until;

	if (!nfo_lower_usable(l) || l->blocked || nfo->force_standby)
		return false;
	if (!nfo->holddown_ms ||
	    rtnl_dereference(nfo->active_dev) == l->dev)
		return true;

	until = l->ready_since + msecs_to_jiffies(nfo->holddown_ms);
	if (time_after_eq(jiffies, until))
		return true;
	mod_delayed_work(system_wq, &nfo->holddown_work, until - jiffies);
	return false;
}

static void nfo_count_switch(struct net_failover_info *nfo,
			     struct net_device *old, struct net_device *new)
{
	struct nfo_lower *l;

	nfo->switches++;
	l = old ? nfo_lower_of(nfo, old) : NULL;
	if (l)
		l->deactivations++;
	l = new ? nfo_lower_of(nfo, new) : NULL;
	if (l)
		l->activations++;
}

/* Pick the lower transmit uses and set the master's carrier accordingly. */
static void nfo_update_active(struct net_device *dev, enum nfo_reason reason)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	bool standby_ok = nfo_lower_usable(&nfo->standby);
	bool primary_ok = nfo_primary_eligible(nfo);
	struct net_device *old, *new = NULL;

	ASSERT_RTNL();

	old = rtnl_dereference(nfo->active_dev);
	if (netif_running(dev)) {
		if (primary_ok)
			new = nfo->primary.dev;
		else if (standby_ok)
			new = nfo->standby.dev;
	}

	if (new != old) {
		rcu_assign_pointer(nfo->active_dev, new);
		nfo_count_switch(nfo, old, new);
		trace_net_failover_active(dev, old, new, reason);
		if (new)
			netdev_info(dev, "transmitting through %s %s\n",
				    new == nfo->primary.dev ? "primary" : "standby",
				    new->name);
		else if (netif_running(dev))
			netdev_info(dev, "no usable lower device\n");
		if (new && nfo->peer_notify) {
			nfo->notify_left = nfo->peer_notify;
			mod_delayed_work(system_wq, &nfo->notify_work, 0);
		}
	}

	if (new)
		netif_carrier_on(dev);
	else
		netif_carrier_off(dev);

	if (nfo->primary.dev)
		nfo_report_lower_state(&nfo->primary, new == nfo->primary.dev);
	if (nfo->standby.dev)
		nfo_report_lower_state(&nfo->standby, new == nfo->standby.dev);

	/* Netlink listeners follow IFLA_NET_FAILOVER_ACTIVE. */
	if (new != old)
		call_netdevice_notifiers(NETDEV_CHANGEINFODATA, dev);
}

static void nfo_holddown_work(struct work_struct *work)
{
	struct net_failover_info *nfo = container_of(to_delayed_work(work),
						     struct net_failover_info,
						     holddown_work);

	rtnl_lock();
	if (nfo->dev->reg_state == NETREG_REGISTERED)
		nfo_update_active(nfo->dev, NFO_REASON_PRIMARY_READY);
	rtnl_unlock();
}

/* Gratuitous ARP and unsolicited NA for the master's addresses, through
 * the active lower, peer_notify times NFO_NOTIFY_INTERVAL_MS apart.
 */
static void nfo_notify_work(struct work_struct *work)
{
	struct net_failover_info *nfo = container_of(to_delayed_work(work),
						     struct net_failover_info,
						     notify_work);
	struct net_device *dev = nfo->dev;

	rtnl_lock();
	if (dev->reg_state == NETREG_REGISTERED && netif_running(dev) &&
	    netif_carrier_ok(dev) && nfo->notify_left) {
		__netdev_notify_peers(dev);
		if (--nfo->notify_left)
			schedule_delayed_work(&nfo->notify_work,
					      msecs_to_jiffies(NFO_NOTIFY_INTERVAL_MS));
	}
	rtnl_unlock();
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
	unsigned int sharing = IFF_TX_SKB_SHARING;
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
		sharing &= lower->priv_flags;
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
	/* pktgen's clone_skb and burst with tx_skb_sharing on, where every
	 * lower allows them.
	 */
	dev->priv_flags &= ~IFF_TX_SKB_SHARING;
	if (nfo->tx_skb_sharing && (nfo->primary.dev || nfo->standby.dev))
		dev->priv_flags |= sharing;

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
	/* With no lower, keep the current range. */
	if (any) {
		dev->min_mtu = min_mtu;
		dev->max_mtu = max_mtu;
	}
}

/* Under the lower's instance lock (netdev_lock_ops()). */
static int nfo_lower_set_mtu(struct net_failover_info *nfo,
			     struct net_device *lower, unsigned int mtu)
{
	int err;

	ASSERT_RTNL();

	if (lower->mtu == mtu)
		return 0;
	nfo->lower_mtu_change = true;
	err = netif_set_mtu(lower, mtu);
	nfo->lower_mtu_change = false;
	return err;
}

/* From the master's own ops, where no lower's instance lock is held. */
static int nfo_lower_lock_set_mtu(struct net_failover_info *nfo,
				  struct net_device *lower, unsigned int mtu)
{
	int err;

	netdev_lock_ops(lower);
	err = nfo_lower_set_mtu(nfo, lower, mtu);
	netdev_unlock_ops(lower);
	return err;
}

/* Under the lower's instance lock: LRO off on @lower when @dev has it off,
 * so that computing @dev's features has nothing to turn off below it.
 */
static void nfo_lower_drop_lro(struct net_device *dev, struct net_device *lower)
{
	if ((dev->features & NETIF_F_LRO) || !(lower->features & NETIF_F_LRO))
		return;
	lower->wanted_features &= ~NETIF_F_LRO;
	netdev_update_features(lower);
}

/* Not under the lower's instance lock: dev_set_*() take it. */
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

/* ---- net_device_ops ------------------------------------------------------ */

/* Open one lower for the master; on failure it stays marked needs_open. */
static int nfo_open_lower(struct net_device *dev, struct nfo_lower *l)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	int err = 0;

	ASSERT_RTNL();

	if (!(l->dev->flags & IFF_UP))
		err = dev_open(l->dev, NULL);
	l->needs_open = !!err;
	if (err)
		netdev_warn(dev, "cannot open %s %s: %d\n", nfo_role(nfo, l),
			    l->dev->name, err);
	return err;
}

/* Bringing the master up brings both lowers up; the standby is required,
 * a primary that fails to open leaves the master on the standby.
 */
static int nfo_open(struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	int err;

	if (nfo->standby.dev) {
		err = nfo_open_lower(dev, &nfo->standby);
		if (err)
			return err;
	}
	if (nfo->primary.dev)
		nfo_open_lower(dev, &nfo->primary);
	nfo_update_active(dev, NFO_REASON_MASTER_UP);
	return 0;
}

static int nfo_stop(struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);

	nfo_update_active(dev, NFO_REASON_MASTER_DOWN);
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
	/* Lowers that joined since: promiscuity and allmulti. */
	if (dev->reg_state == NETREG_REGISTERED) {
		if (nfo->standby.dev)
			nfo_lower_sync_flags(dev, &nfo->standby);
		if (nfo->primary.dev)
			nfo_lower_sync_flags(dev, &nfo->primary);
	}
	if (dev->reg_state == NETREG_REGISTERED && netif_running(dev)) {
		if (nfo->standby.dev && nfo->standby.needs_open)
			nfo_open_lower(dev, &nfo->standby);
		if (nfo->primary.dev && nfo->primary.needs_open)
			nfo_open_lower(dev, &nfo->primary);
		nfo_update_active(dev, NFO_REASON_LINK_CHANGE);
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
		err = nfo_lower_lock_set_mtu(nfo, standby, new_mtu);
		if (err) {
			netdev_err(dev, "standby %s refused MTU %d: %d\n",
				   standby->name, new_mtu, err);
			return err;
		}
	}
	if (primary) {
		err = nfo_lower_lock_set_mtu(nfo, primary, new_mtu);
		if (err) {
			netdev_err(dev, "primary %s refused MTU %d: %d\n",
				   primary->name, new_mtu, err);
			if (standby)
				nfo_lower_lock_set_mtu(nfo, standby, dev->mtu);
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

/* ethtool -S: the order of this table is the order of nfo_get_ethtool_stats */
static const char nfo_stat_names[][ETH_GSTRING_LEN] = {
	"tx_primary_packets",
	"tx_primary_bytes",
	"tx_standby_packets",
	"tx_standby_bytes",
	"rx_primary_packets",
	"rx_primary_bytes",
	"rx_standby_packets",
	"rx_standby_bytes",
	"tx_drop_no_lower",
	"rx_drop_inactive_mcast",
	"path_switches",
	"primary_activations",
	"standby_activations",
};

static int nfo_get_sset_count(struct net_device *dev, int sset)
{
	return sset == ETH_SS_STATS ? ARRAY_SIZE(nfo_stat_names) : -EOPNOTSUPP;
}

static void nfo_get_strings(struct net_device *dev, u32 sset, u8 *data)
{
	if (sset == ETH_SS_STATS)
		memcpy(data, nfo_stat_names, sizeof(nfo_stat_names));
}

static void nfo_get_ethtool_stats(struct net_device *dev,
				  struct ethtool_stats *estats, u64 *data)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	u64 sum[10] = {};
	unsigned int start;
	int cpu, p;

	ASSERT_RTNL();

	for_each_possible_cpu(cpu) {
		const struct nfo_pcpu_stats *s = per_cpu_ptr(nfo->pcpu, cpu);
		u64 v[10];

		do {
			start = u64_stats_fetch_begin(&s->syncp);
			for (p = 0; p < NFO_NR_PATHS; p++) {
				v[2 * p] = u64_stats_read(&s->tx_packets[p]);
				v[2 * p + 1] = u64_stats_read(&s->tx_bytes[p]);
				v[4 + 2 * p] = u64_stats_read(&s->rx_packets[p]);
				v[5 + 2 * p] = u64_stats_read(&s->rx_bytes[p]);
			}
			v[8] = u64_stats_read(&s->tx_drop_no_lower);
			v[9] = u64_stats_read(&s->rx_drop_inactive);
		} while (u64_stats_fetch_retry(&s->syncp, start));
		for (p = 0; p < ARRAY_SIZE(v); p++)
			sum[p] += v[p];
	}
	memcpy(data, sum, sizeof(sum));
	data[10] = nfo->switches;
	data[11] = nfo->primary.activations;
	data[12] = nfo->standby.activations;
}

static const struct ethtool_ops nfo_ethtool_ops = {
	.get_drvinfo		= nfo_get_drvinfo,
	.get_link		= ethtool_op_get_link,
	.get_link_ksettings	= nfo_get_link_ksettings,
	.get_sset_count		= nfo_get_sset_count,
	.get_strings		= nfo_get_strings,
	.get_ethtool_stats	= nfo_get_ethtool_stats,
};

/* ---- rtnetlink: kind "net_failover" ------------------------------------- */

/* 6.1's nla_policy keeps .max in an s16: larger bounds need a range. */
static struct netlink_range_validation nfo_holddown_range = {
	.max = NFO_HOLDDOWN_MAX_MS,
};

static const struct nla_policy nfo_policy[IFLA_NET_FAILOVER_MAX + 1] = {
	[IFLA_NET_FAILOVER_PRIMARY]		= { .type = NLA_REJECT },
	[IFLA_NET_FAILOVER_STANDBY]		= { .type = NLA_REJECT },
	[IFLA_NET_FAILOVER_ACTIVE]		= { .type = NLA_REJECT },
	[IFLA_NET_FAILOVER_SWITCHES]		= { .type = NLA_REJECT },
	[IFLA_NET_FAILOVER_FORCE_STANDBY]	= NLA_POLICY_MAX(NLA_U8, 1),
	[IFLA_NET_FAILOVER_HOLDDOWN_MS]		=
		NLA_POLICY_FULL_RANGE(NLA_U32, &nfo_holddown_range),
	[IFLA_NET_FAILOVER_PEER_NOTIFY]		= { .type = NLA_U8 },
	[IFLA_NET_FAILOVER_PRIMARY_BLOCKED]	= { .type = NLA_REJECT },
	[IFLA_NET_FAILOVER_TX_SKB_SHARING]	= NLA_POLICY_MAX(NLA_U8, 1),
};

static const struct nla_policy nfo_lower_policy[IFLA_NET_FAILOVER_LOWER_MAX + 1] = {
	[IFLA_NET_FAILOVER_LOWER_ROLE]		= { .type = NLA_REJECT },
	[IFLA_NET_FAILOVER_LOWER_ACTIVE]	= { .type = NLA_REJECT },
	[IFLA_NET_FAILOVER_LOWER_LINK]		= { .type = NLA_REJECT },
	[IFLA_NET_FAILOVER_LOWER_ACTIVATIONS]	= { .type = NLA_REJECT },
	[IFLA_NET_FAILOVER_LOWER_DEACTIVATIONS]	= { .type = NLA_REJECT },
	[IFLA_NET_FAILOVER_LOWER_BLOCKED]	= NLA_POLICY_MAX(NLA_U8, 1),
};

/* Masters come from the paravirtual driver: "ip link add" finds no setup
 * callback and fails with -EOPNOTSUPP. validate() runs before that (for
 * creations and changes alike) and leaves the reason in extack;
 * changelink() clears it again, so a successful change carries no
 * warning.
 */
static int nfo_validate(struct nlattr *tb[], struct nlattr *data[],
			struct netlink_ext_ack *extack)
{
	NL_SET_ERR_MSG(extack,
		       "net_failover masters are created and deleted by virtio_net (STANDBY feature), not by ip link");
	return 0;
}

static int nfo_changelink(struct net_device *dev, struct nlattr *tb[],
			  struct nlattr *data[],
			  struct netlink_ext_ack *extack)
{
	struct net_failover_info *nfo = netdev_priv(dev);

	ASSERT_RTNL();

	if (extack)
		extack->_msg = NULL;	/* see nfo_validate() */
	if (!data)
		return 0;
	if (data[IFLA_NET_FAILOVER_FORCE_STANDBY])
		nfo->force_standby =
			nla_get_u8(data[IFLA_NET_FAILOVER_FORCE_STANDBY]);
	if (data[IFLA_NET_FAILOVER_HOLDDOWN_MS])
		nfo->holddown_ms =
			nla_get_u32(data[IFLA_NET_FAILOVER_HOLDDOWN_MS]);
	if (data[IFLA_NET_FAILOVER_PEER_NOTIFY]) {
		nfo->peer_notify =
			nla_get_u8(data[IFLA_NET_FAILOVER_PEER_NOTIFY]);
		nfo->notify_left = min(nfo->notify_left, nfo->peer_notify);
	}
	if (data[IFLA_NET_FAILOVER_TX_SKB_SHARING]) {
		WRITE_ONCE(nfo->tx_skb_sharing,
			   nla_get_u8(data[IFLA_NET_FAILOVER_TX_SKB_SHARING]));
		nfo_compute_features(dev);
	}
	nfo_update_active(dev, NFO_REASON_CONFIG);
	return 0;
}

static size_t nfo_get_size(const struct net_device *dev)
{
	return nla_total_size(sizeof(u32)) +	/* PRIMARY */
	       nla_total_size(sizeof(u32)) +	/* STANDBY */
	       nla_total_size(sizeof(u32)) +	/* ACTIVE */
	       nla_total_size(sizeof(u32)) +	/* SWITCHES */
	       nla_total_size(sizeof(u8)) +	/* FORCE_STANDBY */
	       nla_total_size(sizeof(u32)) +	/* HOLDDOWN_MS */
	       nla_total_size(sizeof(u8)) +	/* PEER_NOTIFY */
	       nla_total_size(sizeof(u8)) +	/* PRIMARY_BLOCKED */
	       nla_total_size(sizeof(u8)) +	/* TX_SKB_SHARING */
	       0;
}

static int nfo_fill_info(struct sk_buff *skb, const struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	struct net_device *active = rtnl_dereference(nfo->active_dev);

	ASSERT_RTNL();

	if (nfo->primary.dev &&
	    nla_put_u32(skb, IFLA_NET_FAILOVER_PRIMARY,
			nfo->primary.dev->ifindex))
		return -EMSGSIZE;
	if (nfo->standby.dev &&
	    nla_put_u32(skb, IFLA_NET_FAILOVER_STANDBY,
			nfo->standby.dev->ifindex))
		return -EMSGSIZE;
	if (nla_put_u32(skb, IFLA_NET_FAILOVER_ACTIVE,
			active ? active->ifindex : 0) ||
	    nla_put_u32(skb, IFLA_NET_FAILOVER_SWITCHES, nfo->switches) ||
	    nla_put_u8(skb, IFLA_NET_FAILOVER_FORCE_STANDBY,
		       nfo->force_standby) ||
	    nla_put_u32(skb, IFLA_NET_FAILOVER_HOLDDOWN_MS, nfo->holddown_ms) ||
	    nla_put_u8(skb, IFLA_NET_FAILOVER_PEER_NOTIFY, nfo->peer_notify) ||
	    nla_put_u8(skb, IFLA_NET_FAILOVER_PRIMARY_BLOCKED,
		       nfo->primary.dev && nfo->primary.blocked) ||
	    nla_put_u8(skb, IFLA_NET_FAILOVER_TX_SKB_SHARING,
		       nfo->tx_skb_sharing))
		return -EMSGSIZE;
	return 0;
}

static size_t nfo_get_lower_size(const struct net_device *dev,
				 const struct net_device *lower)
{
	return nla_total_size(sizeof(u8)) +	/* ROLE */
	       nla_total_size(sizeof(u8)) +	/* ACTIVE */
	       nla_total_size(sizeof(u8)) +	/* LINK */
	       nla_total_size(sizeof(u32)) +	/* ACTIVATIONS */
	       nla_total_size(sizeof(u32)) +	/* DEACTIVATIONS */
	       nla_total_size(sizeof(u8)) +	/* BLOCKED */
	       0;
}

static int nfo_fill_lower_info(struct sk_buff *skb,
			       const struct net_device *dev,
			       const struct net_device *lower)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	struct nfo_lower *l = nfo_lower_of(nfo, lower);

	if (!l)
		return 0;
	if (nla_put_u8(skb, IFLA_NET_FAILOVER_LOWER_ROLE,
		       l == &nfo->primary ? NET_FAILOVER_ROLE_PRIMARY :
					    NET_FAILOVER_ROLE_STANDBY) ||
	    nla_put_u8(skb, IFLA_NET_FAILOVER_LOWER_ACTIVE,
		       rtnl_dereference(nfo->active_dev) == lower) ||
	    nla_put_u8(skb, IFLA_NET_FAILOVER_LOWER_LINK,
		       nfo_lower_ready(lower)) ||
	    nla_put_u32(skb, IFLA_NET_FAILOVER_LOWER_ACTIVATIONS,
			l->activations) ||
	    nla_put_u32(skb, IFLA_NET_FAILOVER_LOWER_DEACTIVATIONS,
			l->deactivations) ||
	    nla_put_u8(skb, IFLA_NET_FAILOVER_LOWER_BLOCKED, l->blocked))
		return -EMSGSIZE;
	return 0;
}

static int nfo_lower_changelink(struct net_device *dev,
				struct net_device *lower,
				struct nlattr *tb[], struct nlattr *data[],
				struct netlink_ext_ack *extack)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	struct nfo_lower *l = nfo_lower_of(nfo, lower);

	if (!data)
		return 0;
	if (!l) {
		NL_SET_ERR_MSG(extack, "not a lower of this failover master");
		return -ENODEV;
	}
	if (data[IFLA_NET_FAILOVER_LOWER_BLOCKED]) {
		if (l != &nfo->primary) {
			NL_SET_ERR_MSG_ATTR(extack,
					    data[IFLA_NET_FAILOVER_LOWER_BLOCKED],
					    "only a primary can be marked unusable; use force_standby to keep traffic on the standby");
			return -EINVAL;
		}
		l->blocked = nla_get_u8(data[IFLA_NET_FAILOVER_LOWER_BLOCKED]);
		netdev_info(dev, "primary %s %s for failover\n", lower->name,
			    l->blocked ? "marked unusable" : "usable again");
	}
	nfo_update_active(dev, NFO_REASON_CONFIG);
	return 0;
}

/* No .setup, no .dellink: masters are neither created nor deleted over
 * rtnetlink (both answer -EOPNOTSUPP). The module cannot be unloaded while
 * a master exists (virtio_net holds a reference), so rtnl_link_unregister()
 * never meets one of ours.
 */
static struct rtnl_link_ops nfo_link_ops __read_mostly = {
	.kind			= NET_FAILOVER_KIND,
	.priv_size		= sizeof(struct net_failover_info),
	.maxtype		= IFLA_NET_FAILOVER_MAX,
	.policy			= nfo_policy,
	.validate		= nfo_validate,
	.changelink		= nfo_changelink,
	.get_size		= nfo_get_size,
	.fill_info		= nfo_fill_info,
	.slave_maxtype		= IFLA_NET_FAILOVER_LOWER_MAX,
	.slave_policy		= nfo_lower_policy,
	.slave_changelink	= nfo_lower_changelink,
	.get_slave_size		= nfo_get_lower_size,
	.fill_slave_info	= nfo_fill_lower_info,
};

/* ---- failover_ops: the lowers' lifecycle ---------------------------------- */

/* Is @lower a PCI function listed in the blocked_ids module parameter? */
static bool nfo_pci_blocked(struct net_device *lower)
{
	const char *p = blocked_ids;
	struct pci_dev *pdev;
	unsigned int vendor, device;
	int n;

	if (!lower->dev.parent || !dev_is_pci(lower->dev.parent))
		return false;
	pdev = to_pci_dev(lower->dev.parent);
	while (p && *p) {
		if (sscanf(p, "%x:%x%n", &vendor, &device, &n) == 2 &&
		    vendor == pdev->vendor && device == pdev->device)
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

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
	if (!standby && primary_pci_only &&
	    (!lower->dev.parent || !dev_is_pci(lower->dev.parent))) {
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
	unsigned int orig_mtu = lower->mtu;
	int err;

	ASSERT_RTNL();

	err = nfo_lower_set_mtu(nfo, lower, dev->mtu);
	if (err) {
		netdev_err(dev, "%s not enslaved: cannot take MTU %u (%d)\n",
			   lower->name, dev->mtu, err);
		return err;
	}

	err = vlan_vids_add_by_dev(lower, dev);
	if (err) {
		netdev_err(dev, "%s not enslaved: cannot add the VLAN filters (%d)\n",
			   lower->name, err);
		nfo_lower_set_mtu(nfo, lower, orig_mtu);
		return err;
	}

	/* Nothing below fails. A lower that was up before it joined may
	 * hold addresses that IPv6 addrconf gave it with the shared MAC;
	 * closing it drops them, and the open work reopens it under the
	 * master.
	 */
	if (lower->flags & IFF_UP)
		netif_close(lower);
	/* With LRO off on the master, the core turns it off on a lower
	 * when the master's features are computed, taking the lower's
	 * instance lock, which our caller holds: turn it off here.
	 */
	nfo_lower_drop_lro(dev, lower);

	l->dev = lower;
	l->activations = 0;
	l->deactivations = 0;
	l->was_ready = false;
	l->going_down = false;
	l->unbinding = false;
	l->promisc = false;
	l->allmulti = false;
	l->reported = false;
	l->needs_open = netif_running(dev);
	l->blocked = !standby && nfo_pci_blocked(lower);
	netdev_hold(lower, &l->tracker, GFP_KERNEL);

	netif_addr_lock_bh(dev);
	dev_uc_sync_multiple(lower, dev);
	dev_mc_sync_multiple(lower, dev);
	netif_addr_unlock_bh(dev);
	/* Promiscuity and allmulti by the open work: a module can only set
	 * them with dev_set_*(), which take the instance lock we are under.
	 */

	spin_lock(&nfo->stats_lock);
	dev_get_stats(lower, &l->seen);
	if (standby)
		rcu_assign_pointer(nfo->standby_dev, lower);
	else
		rcu_assign_pointer(nfo->primary_dev, lower);
	spin_unlock(&nfo->stats_lock);

	nfo_compute_mtu_range(dev);
	nfo_compute_features(dev);
	nfo_update_active(dev, NFO_REASON_LOWER_REGISTER);
	call_netdevice_notifiers(NETDEV_JOIN, lower);

	trace_net_failover_lower(dev, lower, standby, true);
	netdev_info(dev, "%s %s enslaved%s\n", nfo_role(nfo, l), lower->name,
		    l->blocked ? " (marked unusable: blocked_ids)" : "");

	schedule_work(&nfo->open_work);
	return 0;
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
	l->going_down = true;
	nfo_update_active(dev, NFO_REASON_LOWER_UNREGISTER);

	spin_lock(&nfo->stats_lock);
	nfo_fold_lower_stats(nfo, l, lower);
	if (standby)
		RCU_INIT_POINTER(nfo->standby_dev, NULL);
	else
		RCU_INIT_POINTER(nfo->primary_dev, NULL);
	spin_unlock(&nfo->stats_lock);

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
	nfo_update_active(dev, NFO_REASON_LOWER_UNREGISTER);

	trace_net_failover_lower(dev, lower, standby, false);
	netdev_info(dev, "%s %s released\n", standby ? "standby" : "primary",
		    lower->name);
	return 0;
}

static int nfo_lower_link_change(struct net_device *lower,
				 struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	struct nfo_lower *l = nfo_lower_of(nfo, lower);

	if (!l)
		return -ENODEV;
	l->going_down = false;
	nfo_update_active(dev, NFO_REASON_LINK_CHANGE);
	return 0;
}

static int nfo_lower_name_change(struct net_device *lower,
				 struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	struct nfo_lower *l = nfo_lower_of(nfo, lower);

	if (!l)
		return -ENODEV;
	/* A rename (udev) may follow a failed open: retry it. */
	if (netif_running(dev) && l->needs_open)
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
	struct nfo_lower *l;
	struct net_device *dev;

	dev = nfo_master_of(lower);
	if (!dev)
		return NOTIFY_DONE;
	nfo = netdev_priv(dev);
	l = nfo_lower_of(nfo, lower);
	if (!l)
		return NOTIFY_DONE;
	extack = netdev_notifier_info_to_extack(ptr);

	switch (event) {
	case NETDEV_GOING_DOWN:
		/* Leave it before its driver stops it, not after. */
		l->going_down = true;
		nfo_update_active(dev, NFO_REASON_LOWER_GOING_DOWN);
		break;
	case NETDEV_PRECHANGEMTU:
		if (nfo->lower_mtu_change)
			break;
		/* 6.1 gives this event no extack: the log says why. */
		netdev_warn(dev, "refusing MTU change of lower %s: set the MTU on %s\n",
			    lower->name, dev->name);
		return notifier_from_errno(-EBUSY);
	case NETDEV_PRE_CHANGEADDR:
		NL_SET_ERR_MSG(extack,
			       "net_failover: a failover lower keeps the failover MAC address");
		return notifier_from_errno(-EBUSY);
	case NETDEV_PRECHANGEUPPER: {
		struct netdev_notifier_changeupper_info *info = ptr;

		if (info->linking && info->master) {
			NL_SET_ERR_MSG(extack,
				       "net_failover: device is a failover lower and cannot have another master");
			return notifier_from_errno(-EBUSY);
		}
		break;
	}
	case NETDEV_FEAT_CHANGE:
		/* Under the lower's instance lock, if it has one. */
		nfo_lower_drop_lro(dev, lower);
		nfo_compute_features(dev);
		break;
	case NETDEV_NOTIFY_PEERS:
		/* The standby is asked to announce itself (virtio_net does
		 * after a migration): the addresses live on the master.
		 */
		if (l == &nfo->standby && nfo->peer_notify &&
		    netif_running(dev)) {
			nfo->notify_left = nfo->peer_notify;
			mod_delayed_work(system_wq, &nfo->notify_work, 0);
		}
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block nfo_notifier = {
	.notifier_call = nfo_netdev_event,
};

/* A PCI driver's remove() may stop its device long before it unregisters
 * the netdev (e1000e marks itself down first and then drops every frame
 * it is given). The driver core announces the unbind before remove()
 * runs: leave the primary then. Lock order device_lock -> RTNL, as in
 * every network driver's remove().
 */
static int nfo_pci_bus_event(struct notifier_block *nb, unsigned long action,
			     void *data)
{
	struct device *pdev = data;
	struct net_failover_info *nfo;
	struct nfo_lower *l;

	if (action != BUS_NOTIFY_UNBIND_DRIVER &&
	    action != BUS_NOTIFY_UNBOUND_DRIVER)
		return NOTIFY_DONE;

	rtnl_lock();
	list_for_each_entry(nfo, &nfo_list, list) {
		l = &nfo->primary;
		if (!l->dev || l->dev->dev.parent != pdev)
			continue;
		/* UNBOUND with the netdev still here: remove() kept it. */
		l->unbinding = action == BUS_NOTIFY_UNBIND_DRIVER;
		nfo_update_active(nfo->dev, NFO_REASON_LOWER_GOING_DOWN);
	}
	rtnl_unlock();
	return NOTIFY_DONE;
}

static struct notifier_block nfo_pci_notifier = {
	.notifier_call = nfo_pci_bus_event,
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
	nfo->pcpu = netdev_alloc_pcpu_stats(struct nfo_pcpu_stats);
	if (!nfo->pcpu) {
		err = -ENOMEM;
		goto free_dev;
	}
	spin_lock_init(&nfo->stats_lock);
	INIT_WORK(&nfo->open_work, nfo_open_work);
	INIT_DELAYED_WORK(&nfo->holddown_work, nfo_holddown_work);
	INIT_DELAYED_WORK(&nfo->notify_work, nfo_notify_work);
	nfo->holddown_ms = min_t(unsigned int, holddown_ms,
				 NFO_HOLDDOWN_MAX_MS);
	nfo->peer_notify = min_t(unsigned int, peer_notify,
				 NFO_PEER_NOTIFY_MAX);
	nfo->tx_skb_sharing = READ_ONCE(tx_skb_sharing);

	dev_net_set(dev, dev_net(standby_dev));
	SET_NETDEV_DEV(dev, parent);
	dev->netdev_ops = &nfo_netdev_ops;
	dev->ethtool_ops = &nfo_ethtool_ops;
	dev->rtnl_link_ops = &nfo_link_ops;

	/* Marked before it registers, so that the framework never takes a
	 * master for somebody else's lower (two masters may share a MAC).
	 */
	dev->priv_flags |= IFF_FAILOVER | IFF_UNICAST_FLT | IFF_NO_QUEUE;
	dev->priv_flags &= ~(IFF_XMIT_DST_RELEASE | IFF_TX_SKB_SHARING);
	/* Transmit takes no lock of ours: the lowers have their own. */
	netdev_compat_set_lltx(dev);
	/* The lowers belong to this namespace; so does the master. */
	netdev_compat_set_netns_immutable(dev);
	dev->hw_features = NFO_VLAN_FEATURES | NETIF_F_HW_VLAN_CTAG_TX |
			   NETIF_F_HW_VLAN_CTAG_RX | NETIF_F_HW_VLAN_CTAG_FILTER |
			   NETIF_F_GSO_ENCAP_ALL;
	dev->features |= dev->hw_features;

	eth_hw_addr_set(dev, standby_dev->dev_addr);
	/* Start where the standby is: a host MTU below 1500 must not keep
	 * the standby out, nor one above it cut the standby down.
	 */
	dev->mtu = standby_dev->mtu;
	dev->min_mtu = standby_dev->min_mtu;
	dev->max_mtu = standby_dev->max_mtu;

	err = register_netdev(dev);
	if (err) {
		dev_err(parent, "net_failover: cannot register the master: %d\n",
			err);
		goto free_pcpu;
	}
	netif_carrier_off(dev);

	rtnl_lock();
	list_add_tail(&nfo->list, &nfo_list);
	rtnl_unlock();

	failover = failover_register(dev, &nfo_failover_ops);
	if (IS_ERR(failover)) {
		err = PTR_ERR(failover);
		netdev_err(dev, "cannot register the failover instance: %d\n",
			   err);
		goto unregister_dev;
	}
	return failover;

unregister_dev:
	rtnl_lock();
	list_del(&nfo->list);
	unregister_netdevice(dev);
	rtnl_unlock();
free_pcpu:
	free_percpu(nfo->pcpu);
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
	/* Close first: 8021q drops VLAN 0 at NETDEV_DOWN, which fails with
	 * "failed to kill vid" on a device that is no longer present.
	 */
	dev_close(dev);
	netif_device_detach(dev);
	if (nfo->primary.dev)
		failover_slave_unregister(nfo->primary.dev);
	if (nfo->standby.dev)
		failover_slave_unregister(nfo->standby.dev);
	failover_unregister(failover);
	list_del(&nfo->list);
	unregister_netdevice(dev);
	rtnl_unlock();

	cancel_work_sync(&nfo->open_work);
	cancel_delayed_work_sync(&nfo->holddown_work);
	cancel_delayed_work_sync(&nfo->notify_work);
	free_percpu(nfo->pcpu);
	free_netdev(dev);
}
EXPORT_SYMBOL_GPL(net_failover_destroy);

static int __init nfo_init(void)
{
	int err;

	err = rtnl_link_register(&nfo_link_ops);
	if (err)
		return err;
	err = register_netdevice_notifier(&nfo_notifier);
	if (err)
		goto unregister_link_ops;
	err = bus_register_notifier(&pci_bus_type, &nfo_pci_notifier);
	if (err)
		goto unregister_netdev_notifier;
	return 0;

unregister_netdev_notifier:
	unregister_netdevice_notifier(&nfo_notifier);
unregister_link_ops:
	rtnl_link_unregister(&nfo_link_ops);
	return err;
}
module_init(nfo_init);

static void __exit nfo_exit(void)
{
	bus_unregister_notifier(&pci_bus_type, &nfo_pci_notifier);
	unregister_netdevice_notifier(&nfo_notifier);
	rtnl_link_unregister(&nfo_link_ops);
}
module_exit(nfo_exit);

MODULE_DESCRIPTION("Failover master for paravirtual devices (3-netdev model)");
MODULE_LICENSE("GPL v2");
MODULE_VERSION(NFO_DRV_VERSION);
MODULE_ALIAS_RTNL_LINK(NET_FAILOVER_KIND);
