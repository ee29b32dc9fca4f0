/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Netlink attributes of the net_failover master (IFLA_INFO_KIND
 * "net_failover") and of its lowers (IFLA_INFO_SLAVE_KIND "net_failover").
 *
 * Numbering is stable: new attributes are only ever appended.
 */
#ifndef _UAPI_LINUX_NET_FAILOVER_H
#define _UAPI_LINUX_NET_FAILOVER_H

#define NET_FAILOVER_KIND	"net_failover"

/* Roles of a lower device (IFLA_NET_FAILOVER_LOWER_ROLE). */
enum net_failover_role {
	NET_FAILOVER_ROLE_PRIMARY,	/* the passthrough (PCI) device */
	NET_FAILOVER_ROLE_STANDBY,	/* the paravirtual device */
};

/* Master attributes, nested in IFLA_INFO_DATA. */
enum {
	IFLA_NET_FAILOVER_UNSPEC,
	IFLA_NET_FAILOVER_PRIMARY,	/* u32 ifindex of the primary; absent if none */
	IFLA_NET_FAILOVER_STANDBY,	/* u32 ifindex of the standby; absent if none */
	IFLA_NET_FAILOVER_ACTIVE,	/* u32 ifindex transmit uses; 0: none */
	IFLA_NET_FAILOVER_SWITCHES,	/* u32 active-path changes since creation */
	IFLA_NET_FAILOVER_FORCE_STANDBY,	/* u8 rw: 1 = never transmit via primary */
	IFLA_NET_FAILOVER_HOLDDOWN_MS,	/* u32 rw: primary must be stable this long */
	IFLA_NET_FAILOVER_PEER_NOTIFY,	/* u8 rw: gratuitous ARP / NA per change */
	IFLA_NET_FAILOVER_PRIMARY_BLOCKED,	/* u8: the primary is marked unusable */
	IFLA_NET_FAILOVER_TX_SKB_SHARING,	/* u8 rw: accept shared skbs, clone each */
	__IFLA_NET_FAILOVER_MAX,
};

#define IFLA_NET_FAILOVER_MAX	(__IFLA_NET_FAILOVER_MAX - 1)

/* Lower attributes, nested in IFLA_INFO_SLAVE_DATA. */
enum {
	IFLA_NET_FAILOVER_LOWER_UNSPEC,
	IFLA_NET_FAILOVER_LOWER_ROLE,	/* u8 enum net_failover_role */
	IFLA_NET_FAILOVER_LOWER_ACTIVE,	/* u8: transmit goes through it */
	IFLA_NET_FAILOVER_LOWER_LINK,	/* u8: running with carrier */
	IFLA_NET_FAILOVER_LOWER_ACTIVATIONS,	/* u32: times it became active */
	IFLA_NET_FAILOVER_LOWER_DEACTIVATIONS,	/* u32: times it stopped being active */
	IFLA_NET_FAILOVER_LOWER_BLOCKED,	/* u8 rw: not usable for failover */
	__IFLA_NET_FAILOVER_LOWER_MAX,
};

#define IFLA_NET_FAILOVER_LOWER_MAX	(__IFLA_NET_FAILOVER_LOWER_MAX - 1)

#endif /* _UAPI_LINUX_NET_FAILOVER_H */
