/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of the net_failover master, in tracefs under
 * events/net_failover/.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM net_failover

#if !defined(_NET_FAILOVER_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _NET_FAILOVER_TRACE_H

#include <linux/netdevice.h>
#include <linux/tracepoint.h>

#ifndef NFO_REASON_DEFINED
#define NFO_REASON_DEFINED
/* Why the active lower was (re)considered. */
enum nfo_reason {
	NFO_REASON_LOWER_REGISTER,
	NFO_REASON_LOWER_UNREGISTER,
	NFO_REASON_LOWER_GOING_DOWN,
	NFO_REASON_LINK_CHANGE,
	NFO_REASON_MASTER_UP,
	NFO_REASON_MASTER_DOWN,
	NFO_REASON_PRIMARY_READY,
	NFO_REASON_CONFIG,
};
#endif

TRACE_DEFINE_ENUM(NFO_REASON_LOWER_REGISTER);
TRACE_DEFINE_ENUM(NFO_REASON_LOWER_UNREGISTER);
TRACE_DEFINE_ENUM(NFO_REASON_LOWER_GOING_DOWN);
TRACE_DEFINE_ENUM(NFO_REASON_LINK_CHANGE);
TRACE_DEFINE_ENUM(NFO_REASON_MASTER_UP);
TRACE_DEFINE_ENUM(NFO_REASON_MASTER_DOWN);
TRACE_DEFINE_ENUM(NFO_REASON_PRIMARY_READY);
TRACE_DEFINE_ENUM(NFO_REASON_CONFIG);

/* Names in fixed IFNAMSIZ arrays, as the bridge's events keep them: the
 * same code on every kernel (__assign_str() lost its source argument in
 * 6.10).
 */
TRACE_EVENT(net_failover_lower,
	    TP_PROTO(const struct net_device *dev,
		     const struct net_device *lower, bool standby,
		     bool joined),
	    TP_ARGS(dev, lower, standby, joined),
	    TP_STRUCT__entry(__array(char, dev, IFNAMSIZ)
			     __array(char, lower, IFNAMSIZ)
			     __field(int, lower_ifindex)
			     __field(bool, standby)
			     __field(bool, joined)),
	    TP_fast_assign(strscpy(__entry->dev, dev->name, IFNAMSIZ);
			   strscpy(__entry->lower, lower->name, IFNAMSIZ);
			   __entry->lower_ifindex = lower->ifindex;
			   __entry->standby = standby;
			   __entry->joined = joined;),
	    TP_printk("dev=%s %s=%s ifindex=%d %s", __entry->dev,
		      __entry->standby ? "standby" : "primary",
		      __entry->lower, __entry->lower_ifindex,
		      __entry->joined ? "registered" : "unregistered"));

TRACE_EVENT(net_failover_active,
	    TP_PROTO(const struct net_device *dev,
		     const struct net_device *old,
		     const struct net_device *new, int reason),
	    TP_ARGS(dev, old, new, reason),
	    TP_STRUCT__entry(__array(char, dev, IFNAMSIZ)
			     __array(char, old, IFNAMSIZ)
			     __array(char, new, IFNAMSIZ)
			     __field(int, reason)),
	    TP_fast_assign(strscpy(__entry->dev, dev->name, IFNAMSIZ);
			   strscpy(__entry->old, old ? old->name : "none",
				   IFNAMSIZ);
			   strscpy(__entry->new, new ? new->name : "none",
				   IFNAMSIZ);
			   __entry->reason = reason;),
	    TP_printk("dev=%s old=%s new=%s reason=%s", __entry->dev,
		      __entry->old, __entry->new,
		      __print_symbolic(__entry->reason,
				       { NFO_REASON_LOWER_REGISTER, "lower_register" },
				       { NFO_REASON_LOWER_UNREGISTER, "lower_unregister" },
				       { NFO_REASON_LOWER_GOING_DOWN, "lower_going_down" },
				       { NFO_REASON_LINK_CHANGE, "link_change" },
				       { NFO_REASON_MASTER_UP, "master_up" },
				       { NFO_REASON_MASTER_DOWN, "master_down" },
				       { NFO_REASON_PRIMARY_READY, "primary_ready" },
				       { NFO_REASON_CONFIG, "config" })));

#endif /* _NET_FAILOVER_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE net_failover_trace
#include <trace/define_trace.h>
