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
 * announced to the peers (gratuitous ARP, unsolicited NA). Receive
 * delivers each unicast frame once, from whichever lower it comes (the
 * host may steer to either around a path change, or flood both), and
 * multicast from the active lower only (see nfo_handle_frame()). MTU,
 * features, VLAN filters, address
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
#include <linux/jhash.h>
#include <linux/u64_stats_sync.h>
#include <net/genetlink.h>
#include <net/sock.h>
#include <uapi/linux/net_failover.h>
#define CREATE_TRACE_POINTS
#include "net_failover_trace.h"
#endif

#define NFO_DRV_NAME	"net_failover"
/* ethtool -i reports what the stock driver reports. */
#define NFO_DRV_VERSION	"0.1"

#define NFO_VLAN_FEATURES	(NETIF_F_HW_CSUM | NETIF_F_SG | \
				 NETIF_F_FRAGLIST | NETIF_F_ALL_TSO | \
				 NETIF_F_HIGHDMA | NETIF_F_LRO)

#define NFO_ENC_FEATURES	(NETIF_F_HW_CSUM | NETIF_F_SG | \
				 NETIF_F_RXCSUM | NETIF_F_ALL_TSO)

/* Limits of the knobs; a larger value is refused. */
#define NFO_HOLDDOWN_MAX_MS	60000
/* Transmit and receive queues of the master, as many as the stock driver's. */
#define NFO_QUEUES		16
/* Spacing of repeated peer notifications. */
#define NFO_NOTIFY_INTERVAL_MS	200

/* Receive from both lowers delivers each frame once (nfo_handle_frame()):
 * once the inactive lower has received anything, the frames of both are
 * compared for NFO_DEDUP_ARM_MS; a frame is a duplicate if the other lower
 * delivered the same first NFO_DEDUP_BYTES (and length) less than
 * NFO_DEDUP_MS earlier. NFO_DEDUP_SLOTS frames are remembered.
 */
#define NFO_DEDUP_ARM_MS	10000
#define NFO_DEDUP_MS		500
#define NFO_DEDUP_BYTES		64
#define NFO_DEDUP_SLOTS		16

/* Module parameters: both are read when a master is created or a lower
 * joins, never in the datapath; neither can change after the module loads.
 */
static char *blocked_ids = "";
module_param(blocked_ids, charp, 0444);
MODULE_PARM_DESC(blocked_ids,
		 "PCI vendor:device list (e.g. 8086:154c,15b3:1018) of primaries never used to transmit");

static bool tx_skb_sharing;
module_param(tx_skb_sharing, bool, 0444);
MODULE_PARM_DESC(tx_skb_sharing,
		 "masters accept shared skbs (pktgen clone_skb and burst) and clone each for the lower (default off: refused, as by stock and bonding)");

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
 * @rx_drop_inactive: multicast frames received on the inactive lower,
 *	not delivered on the master (the active lower gets its own copy)
 * @rx_drop_duplicate: unicast frames not delivered because the other
 *	lower had just delivered the same frame
 * @syncp: u64_stats sequence
 */
struct nfo_pcpu_stats {
	u64_stats_t tx_packets[NFO_NR_PATHS];
	u64_stats_t tx_bytes[NFO_NR_PATHS];
	u64_stats_t rx_packets[NFO_NR_PATHS];
	u64_stats_t rx_bytes[NFO_NR_PATHS];
	u64_stats_t tx_drop_no_lower;
	u64_stats_t rx_drop_inactive;
	u64_stats_t rx_drop_duplicate;
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
 * @np: netpoll of @dev while the master is used by netpoll (netconsole);
 *	written under RTNL, read by netpoll transmit, which runs with
 *	interrupts off and cannot overlap __netpoll_free()'s grace period
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
#ifdef CONFIG_NET_POLL_CONTROLLER
	struct netpoll *np;
#endif
};

/**
 * struct nfo_rx_sig - a frame delivered while both lowers receive
 * @sig: hash of its first NFO_DEDUP_BYTES and its length
 * @path: the lower it came through; NFO_NR_PATHS once matched
 * @at: jiffies when it was delivered
 */
struct nfo_rx_sig {
	u32 sig;
	u8 path;
	unsigned long at;
};

/**
 * struct nfo_dedup - recent frames, to deliver each frame once
 * @lock: protects @slot and @next (receive runs on any CPU)
 * @slot: the last NFO_DEDUP_SLOTS frames recorded
 * @next: the slot to overwrite next
 * @armed_until: until then (jiffies), the active lower's frames are
 *	compared too: the inactive lower received something recently;
 *	written and read locklessly by receive
 */
struct nfo_dedup {
	spinlock_t lock;	/* see kernel-doc above */
	struct nfo_rx_sig slot[NFO_DEDUP_SLOTS];
	unsigned int next;
	unsigned long armed_until;
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
 * @list: entry in nfo_list; written under RTNL, read under RCU by the PCI
 *	bus notifier
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
 * @dedup: recent frames received, to deliver each frame once
 * @tx_skb_sharing: offer IFF_TX_SKB_SHARING and clone shared skbs before
 *	the lower gets them; set at creation, never changed
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
	struct nfo_dedup dedup;
	u32 switches;
	u32 holddown_ms;
	u8 peer_notify;
	u8 notify_left;
	bool force_standby;
	bool tx_skb_sharing;
	bool lower_mtu_change;
};

/* All masters, for the PCI bus notifier; written under RTNL, RCU list. */
static LIST_HEAD(nfo_list);

/* netif_running() && netif_carrier_ok(), with one load: it runs for every
 * frame transmitted.
 */
static __always_inline bool nfo_lower_ready(const struct net_device *lower)
{
	unsigned long state = READ_ONCE(lower->state);

	return (state & (BIT(__LINK_STATE_START) |
			 BIT(__LINK_STATE_NOCARRIER))) == BIT(__LINK_STATE_START);
}

/* The path of a lower a datapath reader holds (under RCU or RCU-bh). */
static __always_inline enum nfo_path nfo_path_of(struct net_failover_info *nfo,
						 const struct net_device *lower)
{
	return lower == rcu_access_pointer(nfo->primary_dev) ?
	       NFO_PATH_PRIMARY : NFO_PATH_STANDBY;
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
 * a qdisc twice. Without tx_skb_sharing the master never offers
 * IFF_TX_SKB_SHARING, so pktgen refuses clone_skb and burst, and a shared
 * skb (pktgen's plain queue_xmit: one reference kept, never resent) goes to
 * the lower as it is, as with bonding. The setting is fixed when the
 * master is created: a sender that was allowed to share keeps getting
 * clones for as long as the master lives.
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

#ifdef CONFIG_NET_POLL_CONTROLLER
/* netpoll (netconsole) transmits with interrupts off: the lower's queue
 * cannot be used, its own netpoll can. A lower without one (its netpoll
 * setup failed when it joined) drops the frame.
 */
static noinline netdev_tx_t nfo_netpoll_xmit(struct net_device *dev,
					     struct net_device *lower,
					     struct sk_buff *skb)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	struct nfo_pcpu_stats *pcpu = this_cpu_ptr(nfo->pcpu);
	enum nfo_path path = nfo_path_of(nfo, lower);
	struct nfo_lower *l = path == NFO_PATH_PRIMARY ? &nfo->primary :
							  &nfo->standby;
	struct netpoll *np = READ_ONCE(l->np);

	if (unlikely(!np)) {
		dev_core_stats_tx_dropped_inc(dev);
		dev_kfree_skb_any(skb);
		return NETDEV_TX_OK;
	}
	nfo_count(nfo, &pcpu->tx_packets[path], &pcpu->tx_bytes[path],
		  skb->len);
	return netpoll_send_skb(np, skb);
}
#else
static netdev_tx_t nfo_netpoll_xmit(struct net_device *dev,
				    struct net_device *lower,
				    struct sk_buff *skb)
{
	dev_core_stats_tx_dropped_inc(dev);
	dev_kfree_skb_any(skb);
	return NETDEV_TX_OK;
}
#endif

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

	if (unlikely(netpoll_tx_running(dev)))
		return nfo_netpoll_xmit(dev, lower, skb);

	path = nfo_path_of(nfo, lower);
	nfo_count(nfo, &pcpu->tx_packets[path], &pcpu->tx_bytes[path],
		  skb->len);
	/* queue_mapping is 0 (nfo_select_queue()): the lower picks its own. */
	if (unlikely(skb_shared(skb)) && nfo->tx_skb_sharing)
		return nfo_xmit_shared(skb, dev, lower);
	skb->dev = lower;
	return dev_queue_xmit(skb);
}

/* The master has as many queues as the stock driver's (16), so that the
 * queue directories and their XPS/RPS settings in sysfs are the same; as
 * with the stock driver, the master's XPS maps do not steer anything:
 * the master uses queue 0 and the lower picks its own queue. Answering
 * here spares the flow dissection netdev_pick_tx() would do. Queue 0 also
 * keeps queue_mapping 0 on the way down, where a non-zero value would
 * read as a recorded receive queue to the lower's skb_tx_hash().
 */
static u16 nfo_select_queue(struct net_device *dev, struct sk_buff *skb,
			    struct net_device *sb_dev)
{
	return 0;
}

/* The inactive lower received something: compare frames for a while. At
 * most one write per second, as the active lower's CPUs read it.
 */
static void nfo_dedup_arm(struct nfo_dedup *d)
{
	unsigned long until = jiffies + msecs_to_jiffies(NFO_DEDUP_ARM_MS);

	if (time_after(until, READ_ONCE(d->armed_until) + HZ))
		WRITE_ONCE(d->armed_until, until);
}

/* Did the other lower deliver this frame less than NFO_DEDUP_MS ago? If
 * not, remember it as delivered through @path.
 */
static noinline bool nfo_dedup_seen(struct nfo_dedup *d, struct sk_buff *skb,
				    enum nfo_path path)
{
	unsigned int len = min_t(unsigned int, skb->len, NFO_DEDUP_BYTES);
	unsigned long now = jiffies, recent = msecs_to_jiffies(NFO_DEDUP_MS);
	u8 buf[NFO_DEDUP_BYTES];
	struct nfo_rx_sig *e;
	bool seen = false;
	const void *data;
	u32 sig;
	int i;

	data = skb_header_pointer(skb, 0, len, buf);
	if (!data)
		return false;
	sig = jhash(data, len, skb->len ^ (__force u32)skb->protocol);

	spin_lock_bh(&d->lock);
	for (i = 0; i < NFO_DEDUP_SLOTS; i++) {
		e = &d->slot[i];
		if (e->sig == sig && e->path != path &&
		    e->path != NFO_NR_PATHS && time_before(now, e->at + recent)) {
			e->path = NFO_NR_PATHS;	/* a third copy is new */
			seen = true;
			break;
		}
	}
	if (!seen) {
		e = &d->slot[d->next];
		e->sig = sig;
		e->path = path;
		e->at = now;
		d->next = (d->next + 1) % NFO_DEDUP_SLOTS;
	}
	spin_unlock_bh(&d->lock);
	return seen;
}

/* Runs on both lowers, under rcu_read_lock(). Every unicast frame is
 * delivered once, whichever lower it comes through: around a path change
 * the host may be steering to either lower before the guest has switched
 * (native PCIe hotplug gives the host a 5 s head start), and some hosts
 * flood frames to both (a hub, a bridge that lost its FDB entry). Once the
 * inactive lower receives anything, frames are compared (nfo_dedup_seen())
 * and the second copy of a frame stays on its lower, where the core counts
 * it in rx_nohandler, as the stock driver leaves the standby's frames.
 * Multicast and broadcast (by destination address) are taken from the
 * active lower only: a host that floods them sends it its own copy. With
 * no active lower (the master is down or has no usable lower), both
 * lowers' frames are delivered, second copies excepted while armed.
 */
static rx_handler_result_t nfo_handle_frame(struct sk_buff **pskb)
{
	struct sk_buff *skb = *pskb;
	struct net_device *dev = rcu_dereference(skb->dev->rx_handler_data);
	struct net_failover_info *nfo = netdev_priv(dev);
	struct nfo_pcpu_stats *pcpu = this_cpu_ptr(nfo->pcpu);
	struct net_device *active;
	enum nfo_path path;

	path = nfo_path_of(nfo, skb->dev);
	active = rcu_dereference(nfo->active_dev);
	if (unlikely(active && active != skb->dev)) {
		nfo_dedup_arm(&nfo->dedup);
		if (is_multicast_ether_addr(eth_hdr(skb)->h_dest)) {
			nfo_count(nfo, &pcpu->rx_drop_inactive, NULL, 0);
			return RX_HANDLER_EXACT;
		}
		if (nfo_dedup_seen(&nfo->dedup, skb, path))
			goto duplicate;
	} else if (unlikely(time_before(jiffies,
					READ_ONCE(nfo->dedup.armed_until))) &&
		   !is_multicast_ether_addr(eth_hdr(skb)->h_dest) &&
		   nfo_dedup_seen(&nfo->dedup, skb, path)) {
		goto duplicate;
	}

	nfo_count(nfo, &pcpu->rx_packets[path], &pcpu->rx_bytes[path],
		  skb->len + skb->mac_len);
	skb->dev = dev;
	return RX_HANDLER_ANOTHER;

duplicate:
	nfo_count(nfo, &pcpu->rx_drop_duplicate, NULL, 0);
	return RX_HANDLER_EXACT;
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

/* ---- generic netlink: messages -------------------------------------------- */

static struct genl_family nfo_genl_family;

enum nfo_mcgrp {
	NFO_MCGRP_EVENTS,
};

static int nfo_nl_put_lower(struct sk_buff *msg, int attrtype,
			    struct net_failover_info *nfo, struct nfo_lower *l)
{
	struct nlattr *nest;

	if (!l->dev)
		return 0;
	nest = nla_nest_start(msg, attrtype);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(msg, NET_FAILOVER_A_LOWER_IFINDEX, l->dev->ifindex) ||
	    nla_put_string(msg, NET_FAILOVER_A_LOWER_IFNAME, l->dev->name) ||
	    nla_put_u8(msg, NET_FAILOVER_A_LOWER_ACTIVE,
		       rtnl_dereference(nfo->active_dev) == l->dev) ||
	    nla_put_u8(msg, NET_FAILOVER_A_LOWER_LINK,
		       nfo_lower_ready(l->dev)) ||
	    nla_put_u32(msg, NET_FAILOVER_A_LOWER_ACTIVATIONS,
			l->activations) ||
	    nla_put_u32(msg, NET_FAILOVER_A_LOWER_DEACTIVATIONS,
			l->deactivations) ||
	    nla_put_u8(msg, NET_FAILOVER_A_LOWER_BLOCKED, l->blocked)) {
		nla_nest_cancel(msg, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return 0;
}

/* One master's state and settings, as a GET reply, a dump entry or an
 * NTF event.
 */
static int nfo_nl_fill(struct sk_buff *msg, struct net_device *dev,
		       u32 portid, u32 seq, int flags, u8 cmd)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	struct net_device *active = rtnl_dereference(nfo->active_dev);
	void *hdr;

	ASSERT_RTNL();

	hdr = genlmsg_put(msg, portid, seq, &nfo_genl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(msg, NET_FAILOVER_A_IFINDEX, dev->ifindex) ||
	    nla_put_string(msg, NET_FAILOVER_A_IFNAME, dev->name) ||
	    nla_put_u32(msg, NET_FAILOVER_A_ACTIVE,
			active ? active->ifindex : 0) ||
	    nla_put_u32(msg, NET_FAILOVER_A_SWITCHES, nfo->switches) ||
	    nla_put_u8(msg, NET_FAILOVER_A_FORCE_STANDBY,
		       nfo->force_standby) ||
	    nla_put_u32(msg, NET_FAILOVER_A_HOLDDOWN_MS, nfo->holddown_ms) ||
	    nla_put_u8(msg, NET_FAILOVER_A_PEER_NOTIFY, nfo->peer_notify) ||
	    nla_put_u8(msg, NET_FAILOVER_A_TX_SKB_SHARING,
		       nfo->tx_skb_sharing) ||
	    nfo_nl_put_lower(msg, NET_FAILOVER_A_PRIMARY, nfo, &nfo->primary) ||
	    nfo_nl_put_lower(msg, NET_FAILOVER_A_STANDBY, nfo, &nfo->standby)) {
		genlmsg_cancel(msg, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return 0;
}

/* Tell the "events" group that @dev's state or settings changed. */
static void nfo_nl_notify(struct net_device *dev)
{
	struct sk_buff *msg;

	ASSERT_RTNL();

	if (!genl_has_listeners(&nfo_genl_family, dev_net(dev),
				NFO_MCGRP_EVENTS))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	if (nfo_nl_fill(msg, dev, 0, 0, 0, NET_FAILOVER_CMD_NTF)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_multicast_netns(&nfo_genl_family, dev_net(dev), msg, 0,
				NFO_MCGRP_EVENTS, GFP_KERNEL);
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

/* Pick the lower transmit uses and set the master's carrier accordingly.
 * Return: true if the active lower changed (and "events" was told).
 */
static bool nfo_update_active(struct net_device *dev, enum nfo_reason reason)
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

	if (new != old)
		nfo_nl_notify(dev);
	return new != old;
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
	if (dev->reg_state != NETREG_REGISTERED)
		goto unlock;
	/* Lowers that joined since: promiscuity and allmulti. */
	if (nfo->standby.dev)
		nfo_lower_sync_flags(dev, &nfo->standby);
	if (nfo->primary.dev)
		nfo_lower_sync_flags(dev, &nfo->primary);
	if (netif_running(dev)) {
		if (nfo->standby.dev && nfo->standby.needs_open)
			nfo_open_lower(dev, &nfo->standby);
		if (nfo->primary.dev && nfo->primary.needs_open)
			nfo_open_lower(dev, &nfo->primary);
		nfo_update_active(dev, NFO_REASON_LINK_CHANGE);
	}
unlock:
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

#ifdef CONFIG_NET_POLL_CONTROLLER
static int nfo_lower_netpoll_enable(struct net_device *dev,
				    struct nfo_lower *l)
{
	struct netpoll *np;
	int err;

	ASSERT_RTNL();

	np = kzalloc(sizeof(*np), GFP_KERNEL);
	if (!np)
		return -ENOMEM;
	err = __netpoll_setup(np, l->dev);
	if (err) {
		netdev_warn(dev, "netpoll cannot use %s: %d\n", l->dev->name,
			    err);
		kfree(np);
		return err;
	}
	WRITE_ONCE(l->np, np);
	return 0;
}

static void nfo_lower_netpoll_disable(struct nfo_lower *l)
{
	struct netpoll *np = l->np;

	ASSERT_RTNL();

	if (!np)
		return;
	WRITE_ONCE(l->np, NULL);
	__netpoll_free(np);	/* waits for netpoll transmit to finish */
}

static void nfo_netpoll_cleanup(struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);

	nfo_lower_netpoll_disable(&nfo->primary);
	nfo_lower_netpoll_disable(&nfo->standby);
}

/* netconsole on the master: each lower gets a netpoll of its own. */
static int nfo_netpoll_setup(struct net_device *dev)
{
	struct net_failover_info *nfo = netdev_priv(dev);
	int err;

	if (nfo->standby.dev) {
		err = nfo_lower_netpoll_enable(dev, &nfo->standby);
		if (err)
			return err;
	}
	if (nfo->primary.dev) {
		err = nfo_lower_netpoll_enable(dev, &nfo->primary);
		if (err) {
			nfo_netpoll_cleanup(dev);
			return err;
		}
	}
	return 0;
}

NETDEV_COMPAT_NETPOLL_SETUP(nfo_netpoll_setup);

/* A lower that joins a master in use by netpoll; failure only costs
 * netconsole that lower.
 */
static void nfo_lower_netpoll_join(struct net_device *dev,
				   struct nfo_lower *l)
{
	if (dev->npinfo)
		nfo_lower_netpoll_enable(dev, l);
}
#else
static void nfo_lower_netpoll_join(struct net_device *dev,
				   struct nfo_lower *l)
{
}

static void nfo_lower_netpoll_disable(struct nfo_lower *l)
{
}
#endif

static const struct net_device_ops nfo_netdev_ops = {
	.ndo_open		= nfo_open,
	.ndo_stop		= nfo_stop,
	.ndo_start_xmit		= nfo_start_xmit,
	.ndo_select_queue	= nfo_select_queue,
	.ndo_get_stats64	= nfo_get_stats64,
	.ndo_change_mtu		= nfo_change_mtu,
	.ndo_set_rx_mode	= nfo_set_rx_mode,
	.ndo_change_rx_flags	= nfo_change_rx_flags,
	.ndo_vlan_rx_add_vid	= nfo_vlan_rx_add_vid,
	.ndo_vlan_rx_kill_vid	= nfo_vlan_rx_kill_vid,
	.ndo_validate_addr	= eth_validate_addr,
	/* No ndo_features_check: the core's default (which only restricts
	 * multi-tagged VLAN frames) costs no indirect call per frame.
	 */
#ifdef CONFIG_NET_POLL_CONTROLLER
	.ndo_netpoll_setup	= netdev_compat_netpoll_setup(nfo_netpoll_setup),
	.ndo_netpoll_cleanup	= nfo_netpoll_cleanup,
#endif
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
	"rx_drop_inactive",
	"rx_drop_duplicate",
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
	u64 sum[11] = {};
	unsigned int start;
	int cpu, p;

	ASSERT_RTNL();

	for_each_possible_cpu(cpu) {
		const struct nfo_pcpu_stats *s = per_cpu_ptr(nfo->pcpu, cpu);
		u64 v[11];

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
			v[10] = u64_stats_read(&s->rx_drop_duplicate);
		} while (u64_stats_fetch_retry(&s->syncp, start));
		for (p = 0; p < ARRAY_SIZE(v); p++)
			sum[p] += v[p];
	}
	memcpy(data, sum, sizeof(sum));
	data[11] = nfo->switches;
	data[12] = nfo->primary.activations;
	data[13] = nfo->standby.activations;
}

static const struct ethtool_ops nfo_ethtool_ops = {
	.get_drvinfo		= nfo_get_drvinfo,
	.get_link		= ethtool_op_get_link,
	.get_link_ksettings	= nfo_get_link_ksettings,
	.get_sset_count		= nfo_get_sset_count,
	.get_strings		= nfo_get_strings,
	.get_ethtool_stats	= nfo_get_ethtool_stats,
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
	/* As the stock driver: a primary is a PCI function (a VF). */
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

	nfo_lower_netpoll_join(dev, l);
	nfo_compute_mtu_range(dev);
	nfo_compute_features(dev);
	if (!nfo_update_active(dev, NFO_REASON_LOWER_REGISTER))
		nfo_nl_notify(dev);
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
	nfo_lower_netpoll_disable(l);

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
	if (!nfo_update_active(dev, NFO_REASON_LOWER_UNREGISTER))
		nfo_nl_notify(dev);

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

#ifdef CONFIG_PCI
/* Is @pdev the parent of an enslaved primary? Lockless, so that the PCI
 * bus notifier does not take RTNL for every driver unbind in the guest. A
 * primary enslaved while we look is missed; it is then left at
 * NETDEV_GOING_DOWN, as without this notifier.
 */
static bool nfo_pci_is_primary(struct device *pdev)
{
	struct net_failover_info *nfo;
	struct net_device *lower;
	bool found = false;

	rcu_read_lock();
	list_for_each_entry_rcu(nfo, &nfo_list, list) {
		lower = rcu_dereference(nfo->primary_dev);
		if (lower && lower->dev.parent == pdev) {
			found = true;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

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
	if (!nfo_pci_is_primary(pdev))
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

static int nfo_pci_notifier_register(void)
{
	return bus_register_notifier(&pci_bus_type, &nfo_pci_notifier);
}

static void nfo_pci_notifier_unregister(void)
{
	bus_unregister_notifier(&pci_bus_type, &nfo_pci_notifier);
}
#else
/* Without PCI there is no primary (see nfo_lower_pre_register()). */
static int nfo_pci_notifier_register(void)
{
	return 0;
}

static void nfo_pci_notifier_unregister(void)
{
}
#endif

/* ---- generic netlink: requests -------------------------------------------- */

/* State, not settings: refused in a SET request. */
#define NFO_NL_RO	{ .type = NLA_REJECT, .reject_message = "read-only attribute" }

/* 6.1's nla_policy keeps .max in an s16: larger bounds need a range. */
static struct netlink_range_validation nfo_holddown_range = {
	.max = NFO_HOLDDOWN_MAX_MS,
};

static const struct nla_policy nfo_nl_get_policy[NET_FAILOVER_A_IFINDEX + 1] = {
	[NET_FAILOVER_A_IFINDEX]	= { .type = NLA_U32 },
};

/* Of a lower, only "blocked" can be set; everything else is state. */
static const struct nla_policy nfo_nl_lower_policy[NET_FAILOVER_A_LOWER_MAX + 1] = {
	[NET_FAILOVER_A_LOWER_IFINDEX]	= NFO_NL_RO,
	[NET_FAILOVER_A_LOWER_IFNAME]	= NFO_NL_RO,
	[NET_FAILOVER_A_LOWER_ACTIVE]	= NFO_NL_RO,
	[NET_FAILOVER_A_LOWER_LINK]	= NFO_NL_RO,
	[NET_FAILOVER_A_LOWER_ACTIVATIONS]	= NFO_NL_RO,
	[NET_FAILOVER_A_LOWER_DEACTIVATIONS]	= NFO_NL_RO,
	[NET_FAILOVER_A_LOWER_BLOCKED]	= NLA_POLICY_MAX(NLA_U8, 1),
};

static const struct nla_policy nfo_nl_set_policy[NET_FAILOVER_A_MAX + 1] = {
	[NET_FAILOVER_A_IFINDEX]	= { .type = NLA_U32 },
	[NET_FAILOVER_A_IFNAME]		= NFO_NL_RO,
	[NET_FAILOVER_A_ACTIVE]		= NFO_NL_RO,
	[NET_FAILOVER_A_SWITCHES]	= NFO_NL_RO,
	[NET_FAILOVER_A_FORCE_STANDBY]	= NLA_POLICY_MAX(NLA_U8, 1),
	[NET_FAILOVER_A_HOLDDOWN_MS]	=
		NLA_POLICY_FULL_RANGE(NLA_U32, &nfo_holddown_range),
	[NET_FAILOVER_A_PEER_NOTIFY]	= { .type = NLA_U8 },
	[NET_FAILOVER_A_TX_SKB_SHARING]	= {
		.type = NLA_REJECT,
		.reject_message = "tx_skb_sharing is fixed at creation (module parameter)",
	},
	[NET_FAILOVER_A_PRIMARY]	= NLA_POLICY_NESTED(nfo_nl_lower_policy),
	[NET_FAILOVER_A_STANDBY]	= NLA_POLICY_NESTED(nfo_nl_lower_policy),
};

/* The master that NET_FAILOVER_A_IFINDEX names, itself or through one of
 * its lowers; NULL with the reason in extack.
 */
static struct net_device *nfo_nl_master(struct genl_info *info)
{
	struct nlattr *attr = info->attrs[NET_FAILOVER_A_IFINDEX];
	struct net_device *dev, *master;

	ASSERT_RTNL();

	if (GENL_REQ_ATTR_CHECK(info, NET_FAILOVER_A_IFINDEX))
		return ERR_PTR(-EINVAL);
	dev = __dev_get_by_index(genl_info_net(info), nla_get_u32(attr));
	if (!dev) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "no such device");
		return ERR_PTR(-ENODEV);
	}
	master = dev->netdev_ops == &nfo_netdev_ops ? dev : nfo_master_of(dev);
	if (!master) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr,
				    "not a net_failover master or lower");
		return ERR_PTR(-ENODEV);
	}
	return master;
}

static int nfo_nl_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net_device *dev;
	struct sk_buff *msg;
	int err;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	rtnl_lock();
	dev = nfo_nl_master(info);
	err = IS_ERR(dev) ? PTR_ERR(dev) :
	      nfo_nl_fill(msg, dev, info->snd_portid, info->snd_seq, 0,
			  NET_FAILOVER_CMD_GET);
	rtnl_unlock();
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

/* Every master of the namespace; cb->args[0] counts the masters already
 * dumped (a master that comes or goes between two parts of the dump may
 * be missed or repeated, as in rtnetlink's own dumps).
 */
static int nfo_nl_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct net *net = sock_net(skb->sk);
	struct net_device *dev;
	long idx = 0;
	int err = 0;

	rtnl_lock();
	for_each_netdev(net, dev) {
		if (dev->netdev_ops != &nfo_netdev_ops)
			continue;
		if (idx++ < cb->args[0])
			continue;
		err = nfo_nl_fill(skb, dev, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, NLM_F_MULTI,
				  NET_FAILOVER_CMD_GET);
		if (err)
			break;
		cb->args[0] = idx;
	}
	rtnl_unlock();
	/* A full message: the rest comes in the next one. */
	if (err == -EMSGSIZE && skb->len)
		return skb->len;
	return err ?: skb->len;
}

static int nfo_nl_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[NET_FAILOVER_A_LOWER_MAX + 1];
	struct nlattr **attrs = info->attrs;
	struct net_failover_info *nfo;
	struct net_device *dev;
	int blocked = -1;
	int err = 0;

	rtnl_lock();
	dev = nfo_nl_master(info);
	if (IS_ERR(dev)) {
		err = PTR_ERR(dev);
		goto unlock;
	}
	nfo = netdev_priv(dev);

	/* Check everything before changing anything. */
	if (attrs[NET_FAILOVER_A_STANDBY]) {
		err = nla_parse_nested(tb, NET_FAILOVER_A_LOWER_MAX,
				       attrs[NET_FAILOVER_A_STANDBY],
				       nfo_nl_lower_policy, info->extack);
		if (err)
			goto unlock;
		if (tb[NET_FAILOVER_A_LOWER_BLOCKED]) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    tb[NET_FAILOVER_A_LOWER_BLOCKED],
					    "only a primary can be marked unusable; use force_standby to keep traffic on the standby");
			err = -EINVAL;
			goto unlock;
		}
	}
	if (attrs[NET_FAILOVER_A_PRIMARY]) {
		err = nla_parse_nested(tb, NET_FAILOVER_A_LOWER_MAX,
				       attrs[NET_FAILOVER_A_PRIMARY],
				       nfo_nl_lower_policy, info->extack);
		if (err)
			goto unlock;
		if (!nfo->primary.dev) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    attrs[NET_FAILOVER_A_PRIMARY],
					    "no primary");
			err = -ENODEV;
			goto unlock;
		}
		if (tb[NET_FAILOVER_A_LOWER_BLOCKED])
			blocked = nla_get_u8(tb[NET_FAILOVER_A_LOWER_BLOCKED]);
	}

	if (attrs[NET_FAILOVER_A_FORCE_STANDBY])
		nfo->force_standby =
			nla_get_u8(attrs[NET_FAILOVER_A_FORCE_STANDBY]);
	if (attrs[NET_FAILOVER_A_HOLDDOWN_MS])
		nfo->holddown_ms =
			nla_get_u32(attrs[NET_FAILOVER_A_HOLDDOWN_MS]);
	if (attrs[NET_FAILOVER_A_PEER_NOTIFY]) {
		nfo->peer_notify =
			nla_get_u8(attrs[NET_FAILOVER_A_PEER_NOTIFY]);
		nfo->notify_left = min(nfo->notify_left, nfo->peer_notify);
	}
	if (blocked >= 0 && nfo->primary.blocked != blocked) {
		nfo->primary.blocked = blocked;
		netdev_info(dev, "primary %s %s for failover\n",
			    nfo->primary.dev->name,
			    blocked ? "marked unusable" : "usable again");
	}
	if (!nfo_update_active(dev, NFO_REASON_CONFIG))
		nfo_nl_notify(dev);
unlock:
	rtnl_unlock();
	return err;
}

static const struct genl_ops nfo_nl_ops[] = {
	{
		.cmd		= NET_FAILOVER_CMD_GET,
		.doit		= nfo_nl_get_doit,
		.dumpit		= nfo_nl_get_dumpit,
		.policy		= nfo_nl_get_policy,
		.maxattr	= ARRAY_SIZE(nfo_nl_get_policy) - 1,
	},
	{
		.cmd		= NET_FAILOVER_CMD_SET,
		.doit		= nfo_nl_set_doit,
		.policy		= nfo_nl_set_policy,
		.maxattr	= ARRAY_SIZE(nfo_nl_set_policy) - 1,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
};

static const struct genl_multicast_group nfo_nl_mcgrps[] = {
	[NFO_MCGRP_EVENTS] = { .name = NET_FAILOVER_MCGRP_EVENTS },
};

static struct genl_family nfo_genl_family __ro_after_init = {
	.name		= NET_FAILOVER_GENL_NAME,
	.version	= NET_FAILOVER_GENL_VERSION,
	.netnsok	= true,
	.module		= THIS_MODULE,
	.ops		= nfo_nl_ops,
	.n_ops		= ARRAY_SIZE(nfo_nl_ops),
	.mcgrps		= nfo_nl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(nfo_nl_mcgrps),
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

	/* As many queues as the stock driver: see nfo_select_queue(). */
	dev = alloc_etherdev_mq(sizeof(*nfo), NFO_QUEUES);
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
	spin_lock_init(&nfo->dedup.lock);
	INIT_WORK(&nfo->open_work, nfo_open_work);
	INIT_DELAYED_WORK(&nfo->holddown_work, nfo_holddown_work);
	INIT_DELAYED_WORK(&nfo->notify_work, nfo_notify_work);
	nfo->peer_notify = 1;
	nfo->tx_skb_sharing = tx_skb_sharing;

	dev_net_set(dev, dev_net(standby_dev));
	SET_NETDEV_DEV(dev, parent);
	dev->netdev_ops = &nfo_netdev_ops;
	dev->ethtool_ops = &nfo_ethtool_ops;

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
	/* The stock driver's MTU (1500), or the host's MTU where it is
	 * lower: the standby cannot take more. A larger host MTU is the
	 * user's to set, within what every lower takes.
	 */
	dev->mtu = min_t(unsigned int, standby_dev->mtu, ETH_DATA_LEN);
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
	list_add_tail_rcu(&nfo->list, &nfo_list);
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
	list_del_rcu(&nfo->list);
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
	/* unregister_netdevice() waits for the notifier's RCU readers. */
	list_del_rcu(&nfo->list);
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

	err = genl_register_family(&nfo_genl_family);
	if (err)
		return err;
	err = register_netdevice_notifier(&nfo_notifier);
	if (err)
		goto unregister_family;
	err = nfo_pci_notifier_register();
	if (err)
		goto unregister_netdev_notifier;
	return 0;

unregister_netdev_notifier:
	unregister_netdevice_notifier(&nfo_notifier);
unregister_family:
	genl_unregister_family(&nfo_genl_family);
	return err;
}
module_init(nfo_init);

static void __exit nfo_exit(void)
{
	nfo_pci_notifier_unregister();
	unregister_netdevice_notifier(&nfo_notifier);
	genl_unregister_family(&nfo_genl_family);
}
module_exit(nfo_exit);

MODULE_DESCRIPTION("Failover master for paravirtual devices (3-netdev model)");
MODULE_LICENSE("GPL v2");
MODULE_VERSION(FAILOVER_VERSION);
MODULE_ALIAS_GENL_FAMILY(NET_FAILOVER_GENL_NAME);
