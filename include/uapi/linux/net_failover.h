/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Generic netlink family "net_failover": state and settings of the
 * net_failover masters (the 3-netdev failover model of virtio_net).
 *
 * The master stays a plain Ethernet device to rtnetlink (no
 * IFLA_INFO_KIND, as with the stock driver), so that network managers
 * treat it as they always have; everything specific to failover is here.
 *
 * Commands:
 *   NET_FAILOVER_CMD_GET  request: NET_FAILOVER_A_IFINDEX of a master or of
 *                         one of its lowers; reply: the master's attributes.
 *                         Dump (no attributes): every master of the
 *                         caller's network namespace.
 *   NET_FAILOVER_CMD_SET  NET_FAILOVER_A_IFINDEX of the master (or of one
 *                         of its lowers) and any of the writable
 *                         attributes; a lower's writable attributes go in
 *                         its nest (NET_FAILOVER_A_PRIMARY). Needs
 *                         CAP_NET_ADMIN. Either every attribute is
 *                         applied or none is.
 *   NET_FAILOVER_CMD_NTF  sent to the "events" multicast group after any
 *                         change of a master's state or settings; same
 *                         attributes as a GET reply.
 *
 * Numbering is stable: new attributes and commands are only ever appended.
 */
#ifndef _UAPI_LINUX_NET_FAILOVER_H
#define _UAPI_LINUX_NET_FAILOVER_H

#define NET_FAILOVER_GENL_NAME		"net_failover"
#define NET_FAILOVER_GENL_VERSION	1
#define NET_FAILOVER_MCGRP_EVENTS	"events"

enum net_failover_cmd {
	NET_FAILOVER_CMD_UNSPEC,
	NET_FAILOVER_CMD_GET,
	NET_FAILOVER_CMD_SET,
	NET_FAILOVER_CMD_NTF,
	__NET_FAILOVER_CMD_MAX,
};

#define NET_FAILOVER_CMD_MAX	(__NET_FAILOVER_CMD_MAX - 1)

/* Master attributes ("rw": accepted by NET_FAILOVER_CMD_SET). */
enum {
	NET_FAILOVER_A_UNSPEC,
	NET_FAILOVER_A_IFINDEX,		/* u32: the master (request: or a lower) */
	NET_FAILOVER_A_IFNAME,		/* string: the master's name */
	NET_FAILOVER_A_ACTIVE,		/* u32: ifindex transmit uses; 0: none */
	NET_FAILOVER_A_SWITCHES,	/* u32: active-path changes since creation */
	NET_FAILOVER_A_FORCE_STANDBY,	/* u8 rw: 1 = never transmit via primary */
	NET_FAILOVER_A_HOLDDOWN_MS,	/* u32 rw: primary must be stable this long */
	NET_FAILOVER_A_PEER_NOTIFY,	/* u8 rw: gratuitous ARP / NA rounds per change */
	NET_FAILOVER_A_TX_SKB_SHARING,	/* u8: shared skbs accepted (fixed at creation) */
	NET_FAILOVER_A_PRIMARY,		/* nest: NET_FAILOVER_A_LOWER_*; absent if none */
	NET_FAILOVER_A_STANDBY,		/* nest: NET_FAILOVER_A_LOWER_*; absent if none */
	__NET_FAILOVER_A_MAX,
};

#define NET_FAILOVER_A_MAX	(__NET_FAILOVER_A_MAX - 1)

/* Attributes of a lower, nested in NET_FAILOVER_A_PRIMARY / _STANDBY. */
enum {
	NET_FAILOVER_A_LOWER_UNSPEC,
	NET_FAILOVER_A_LOWER_IFINDEX,	/* u32 */
	NET_FAILOVER_A_LOWER_IFNAME,	/* string */
	NET_FAILOVER_A_LOWER_ACTIVE,	/* u8: transmit goes through it */
	NET_FAILOVER_A_LOWER_LINK,	/* u8: running with carrier */
	NET_FAILOVER_A_LOWER_ACTIVATIONS,	/* u32: times it became active */
	NET_FAILOVER_A_LOWER_DEACTIVATIONS,	/* u32: times it stopped being active */
	NET_FAILOVER_A_LOWER_BLOCKED,	/* u8 rw (primary only): not used for transmit */
	__NET_FAILOVER_A_LOWER_MAX,
};

#define NET_FAILOVER_A_LOWER_MAX	(__NET_FAILOVER_A_LOWER_MAX - 1)

#endif /* _UAPI_LINUX_NET_FAILOVER_H */
