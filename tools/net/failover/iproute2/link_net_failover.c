// SPDX-License-Identifier: GPL-2.0
/*
 * iproute2 plugin for net_failover masters and their lowers.
 *
 * ip loads this file as link_net_failover.so for masters (IFLA_INFO_KIND
 * "net_failover") and as link_net_failover_slave.so for their lowers
 * (IFLA_INFO_SLAVE_KIND "net_failover", which ip looks up as kind
 * "net_failover_slave"); both names lead to the same object, which
 * exports net_failover_link_util and net_failover_slave_link_util.
 *
 *   ip -d [-j] link show dev MASTER | LOWER
 *   ip link set dev MASTER type net_failover [ force_standby on|off ]
 *	[ holddown_ms MSEC ] [ peer_notify COUNT ] [ tx_skb_sharing on|off ]
 *   ip link set dev PRIMARY type net_failover_slave blocked on|off
 *   ip link help net_failover | net_failover_slave
 *
 * Attributes: include/uapi/linux/net_failover.h. Range checks are left to
 * the kernel's netlink policy, whose error message ip prints.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/if_link.h>
#include <linux/net_failover.h>

#include "iproute2_abi.h"

#define NFO_EXPORT	__attribute__((visibility("default")))
#define __maybe_unused	__attribute__((unused))

static bool nfo_attr_u8(const struct rtattr *rta, __u8 *val)
{
	if (!rta || RTA_PAYLOAD(rta) < sizeof(__u8))
		return false;
	memcpy(val, RTA_DATA(rta), sizeof(*val));
	return true;
}

static bool nfo_attr_u32(const struct rtattr *rta, __u32 *val)
{
	if (!rta || RTA_PAYLOAD(rta) < sizeof(__u32))
		return false;
	memcpy(val, RTA_DATA(rta), sizeof(*val));
	return true;
}

/* ------------------------------------------------------------- printing */

/*
 * A lower named by ifindex: its name in text and JSON ("primary": "eth2")
 * plus the ifindex in JSON ("primary_ifindex": 3); "none" / null when the
 * kernel reports none (attribute absent, or ifindex 0).
 */
static void nfo_print_dev(const struct rtattr *rta, const char *key,
			  const char *fmt, const char *ifindex_key)
{
	__u32 ifindex;

	if (!nfo_attr_u32(rta, &ifindex) || !ifindex) {
		print_color_null(PRINT_ANY, COLOR_NONE, key, fmt, "none");
		return;
	}
	print_color_string(PRINT_ANY, COLOR_IFNAME, key, fmt,
			   ll_index_to_name(ifindex));
	print_color_uint(PRINT_JSON, COLOR_NONE, ifindex_key, NULL, ifindex);
}

static void nfo_print_uint(const struct rtattr *rta, const char *key,
			   const char *fmt)
{
	__u32 v32;
	__u8 v8;

	if (rta && RTA_PAYLOAD(rta) == sizeof(__u8)) {
		nfo_attr_u8(rta, &v8);
		print_color_uint(PRINT_ANY, COLOR_NONE, key, fmt, v8);
	} else if (nfo_attr_u32(rta, &v32)) {
		print_color_uint(PRINT_ANY, COLOR_NONE, key, fmt, v32);
	}
}

static void nfo_print_on_off(const struct rtattr *rta, const char *key,
			     const char *fmt)
{
	__u8 v;

	if (nfo_attr_u8(rta, &v))
		print_color_on_off(PRINT_ANY, COLOR_NONE, key, fmt, v);
}

static void nfo_print_opt(struct link_util *lu __maybe_unused, FILE *f __maybe_unused,
			  struct rtattr *tb[])
{
	if (!tb)
		return;

	nfo_print_dev(tb[IFLA_NET_FAILOVER_PRIMARY], "primary", "primary %s ",
		      "primary_ifindex");
	nfo_print_dev(tb[IFLA_NET_FAILOVER_STANDBY], "standby", "standby %s ",
		      "standby_ifindex");
	nfo_print_dev(tb[IFLA_NET_FAILOVER_ACTIVE], "active", "active %s ",
		      "active_ifindex");
	nfo_print_uint(tb[IFLA_NET_FAILOVER_SWITCHES], "switches",
		       "switches %u ");
	nfo_print_on_off(tb[IFLA_NET_FAILOVER_FORCE_STANDBY], "force_standby",
			 "force_standby %s ");
	nfo_print_uint(tb[IFLA_NET_FAILOVER_HOLDDOWN_MS], "holddown_ms",
		       "holddown_ms %u ");
	nfo_print_uint(tb[IFLA_NET_FAILOVER_PEER_NOTIFY], "peer_notify",
		       "peer_notify %u ");
	nfo_print_on_off(tb[IFLA_NET_FAILOVER_PRIMARY_BLOCKED],
			 "primary_blocked", "primary_blocked %s ");
	nfo_print_on_off(tb[IFLA_NET_FAILOVER_TX_SKB_SHARING],
			 "tx_skb_sharing", "tx_skb_sharing %s ");
}

static void nfo_lower_print_opt(struct link_util *lu __maybe_unused,
				FILE *f __maybe_unused, struct rtattr *tb[])
{
	__u8 role;

	if (!tb)
		return;

	if (nfo_attr_u8(tb[IFLA_NET_FAILOVER_LOWER_ROLE], &role)) {
		switch (role) {
		case NET_FAILOVER_ROLE_PRIMARY:
			print_color_string(PRINT_ANY, COLOR_NONE, "role",
					   "role %s ", "primary");
			break;
		case NET_FAILOVER_ROLE_STANDBY:
			print_color_string(PRINT_ANY, COLOR_NONE, "role",
					   "role %s ", "standby");
			break;
		default:
			print_color_uint(PRINT_ANY, COLOR_NONE, "role",
					 "role %u ", role);
			break;
		}
	}
	nfo_print_on_off(tb[IFLA_NET_FAILOVER_LOWER_ACTIVE], "active",
			 "active %s ");
	nfo_print_on_off(tb[IFLA_NET_FAILOVER_LOWER_LINK], "link", "link %s ");
	nfo_print_uint(tb[IFLA_NET_FAILOVER_LOWER_ACTIVATIONS], "activations",
		       "activations %u ");
	nfo_print_uint(tb[IFLA_NET_FAILOVER_LOWER_DEACTIVATIONS],
		       "deactivations", "deactivations %u ");
	nfo_print_on_off(tb[IFLA_NET_FAILOVER_LOWER_BLOCKED], "blocked",
			 "blocked %s ");
}

/* ----------------------------------------------------------------- help */

static void nfo_explain(FILE *f)
{
	fprintf(f,
		"Usage: ... net_failover [ force_standby { on | off } ]\n"
		"                        [ holddown_ms MSEC ]\n"
		"                        [ peer_notify COUNT ]\n"
		"                        [ tx_skb_sharing { on | off } ]\n"
		"\n"
		"force_standby on: never transmit through the primary\n"
		"MSEC:  how long a primary that came (back) up must stay up\n"
		"       before it carries traffic again; 0 to 60000\n"
		"COUNT: gratuitous ARP / unsolicited NA rounds sent after each\n"
		"       change of the transmitting lower; 0 to 255\n"
		"tx_skb_sharing on: accept shared skbs (pktgen clone_skb, burst)\n"
		"       and clone each before the lower gets it; off (default):\n"
		"       pktgen refuses clone_skb and burst on the master\n"
		"\n"
		"Masters are created by virtio_net for a device with the STANDBY\n"
		"feature; \"ip link set\" changes an existing one. Per-lower\n"
		"settings: ip link help net_failover_slave\n");
}

static void nfo_lower_explain(FILE *f)
{
	fprintf(f,
		"Usage: ... net_failover_slave [ blocked { on | off } ]\n"
		"\n"
		"blocked on: the primary is not used, the standby carries the\n"
		"traffic; only a primary can be blocked\n");
}

static void nfo_print_help(struct link_util *lu __maybe_unused, int argc __maybe_unused,
			   char **argv __maybe_unused, FILE *f)
{
	nfo_explain(f);
}

static void nfo_lower_print_help(struct link_util *lu __maybe_unused,
				 int argc __maybe_unused, char **argv __maybe_unused,
				 FILE *f)
{
	nfo_lower_explain(f);
}

/* -------------------------------------------------------------- parsing */

static int nfo_get_on_off(const char *key, const char *arg, __u8 *val)
{
	if (!strcmp(arg, "on")) {
		*val = 1;
	} else if (!strcmp(arg, "off")) {
		*val = 0;
	} else {
		fprintf(stderr,
			"Error: argument of \"%s\" must be \"on\" or \"off\", not \"%s\"\n",
			key, arg);
		return -1;
	}
	return 0;
}

static int nfo_bad_value(const char *key, const char *arg, const char *what)
{
	fprintf(stderr, "Error: argument \"%s\" of \"%s\" is not %s\n",
		arg, key, what);
	return -1;
}

static int nfo_unknown(const char *kind, const char *arg, FILE *f,
		       void (*explain)(FILE *f))
{
	fprintf(stderr, "%s: unknown option \"%s\"\n", kind, arg);
	explain(f);
	return -1;
}

static int nfo_parse_opt(struct link_util *lu __maybe_unused, int argc, char **argv,
			 struct nlmsghdr *n)
{
	__u32 v32;
	__u8 v8;

	for (; argc > 0; argc--, argv++) {
		const char *key = argv[0];

		if (!strcmp(key, "help")) {
			nfo_explain(stderr);
			return -1;
		}
		if (strcmp(key, "force_standby") &&
		    strcmp(key, "holddown_ms") && strcmp(key, "peer_notify") &&
		    strcmp(key, "tx_skb_sharing"))
			return nfo_unknown("net_failover", key, stderr,
					   nfo_explain);
		if (argc < 2) {
			fprintf(stderr, "Error: \"%s\" needs a value\n", key);
			return -1;
		}
		argc--, argv++;

		if (!strcmp(key, "force_standby")) {
			if (nfo_get_on_off(key, argv[0], &v8) ||
			    addattr8(n, IPLINK_REQ_MAXLEN,
				     IFLA_NET_FAILOVER_FORCE_STANDBY, v8))
				return -1;
		} else if (!strcmp(key, "tx_skb_sharing")) {
			if (nfo_get_on_off(key, argv[0], &v8) ||
			    addattr8(n, IPLINK_REQ_MAXLEN,
				     IFLA_NET_FAILOVER_TX_SKB_SHARING, v8))
				return -1;
		} else if (!strcmp(key, "holddown_ms")) {
			if (get_u32(&v32, argv[0], 0))
				return nfo_bad_value(key, argv[0],
						     "a number of milliseconds");
			if (addattr32(n, IPLINK_REQ_MAXLEN,
				      IFLA_NET_FAILOVER_HOLDDOWN_MS, v32))
				return -1;
		} else {
			if (get_u8(&v8, argv[0], 0))
				return nfo_bad_value(key, argv[0],
						     "a count from 0 to 255");
			if (addattr8(n, IPLINK_REQ_MAXLEN,
				     IFLA_NET_FAILOVER_PEER_NOTIFY, v8))
				return -1;
		}
	}
	return 0;
}

/*
 * iproute2 6.1 (ip/iplink.c, iplink_modify()) nests the options of
 * "type KIND" in IFLA_INFO_SLAVE_DATA only when the text after the first
 * '_' of KIND is "_slave": right for "bond_slave", not for
 * "net_failover_slave", whose options would land in IFLA_INFO_DATA, where
 * the kernel refuses them (the lower is no net_failover device). When
 * parse_opt runs, the message ends with the open nests it built:
 *
 *   IFLA_LINKINFO (empty so far), IFLA_INFO_KIND, IFLA_INFO_DATA (empty)
 *
 * Find that tail and retype the data nest; leave any other layout (an ip
 * that already picks IFLA_INFO_SLAVE_DATA) alone.
 */
static void nfo_fix_lower_nest(struct nlmsghdr *n)
{
	static const char kind[] = NET_FAILOVER_KIND "_slave";
	struct rtattr *prev[3] = { NULL, NULL, NULL };
	unsigned int off, end = n->nlmsg_len;
	struct rtattr *rta;

	off = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	while (off + RTA_LENGTH(0) <= end) {
		rta = (struct rtattr *)((char *)n + off);
		if (rta->rta_len < RTA_LENGTH(0) ||
		    off + rta->rta_len > end)
			return;
		prev[0] = prev[1];
		prev[1] = prev[2];
		prev[2] = rta;
		off += RTA_ALIGN(rta->rta_len);
	}
	if (off != end || !prev[0])
		return;
	if ((prev[0]->rta_type & NLA_TYPE_MASK) != IFLA_LINKINFO ||
	    prev[0]->rta_len != RTA_LENGTH(0))
		return;
	if ((prev[1]->rta_type & NLA_TYPE_MASK) != IFLA_INFO_KIND ||
	    RTA_PAYLOAD(prev[1]) < sizeof(kind) - 1 ||
	    memcmp(RTA_DATA(prev[1]), kind, sizeof(kind) - 1))
		return;
	if ((prev[2]->rta_type & NLA_TYPE_MASK) != IFLA_INFO_DATA ||
	    prev[2]->rta_len != RTA_LENGTH(0))
		return;
	prev[2]->rta_type = (prev[2]->rta_type & ~NLA_TYPE_MASK) |
			    IFLA_INFO_SLAVE_DATA;
}

static int nfo_lower_parse_opt(struct link_util *lu __maybe_unused, int argc,
			       char **argv, struct nlmsghdr *n)
{
	__u8 v8;

	nfo_fix_lower_nest(n);

	for (; argc > 0; argc--, argv++) {
		const char *key = argv[0];

		if (!strcmp(key, "help")) {
			nfo_lower_explain(stderr);
			return -1;
		}
		if (strcmp(key, "blocked"))
			return nfo_unknown("net_failover_slave", key, stderr,
					   nfo_lower_explain);
		if (argc < 2) {
			fprintf(stderr, "Error: \"%s\" needs a value\n", key);
			return -1;
		}
		argc--, argv++;
		if (nfo_get_on_off(key, argv[0], &v8) ||
		    addattr8(n, IPLINK_REQ_MAXLEN,
			     IFLA_NET_FAILOVER_LOWER_BLOCKED, v8))
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- exports */

NFO_EXPORT struct link_util net_failover_link_util = {
	.id		= NET_FAILOVER_KIND,
	.maxattr	= IFLA_NET_FAILOVER_MAX,
	.parse_opt	= nfo_parse_opt,
	.print_opt	= nfo_print_opt,
	.print_help	= nfo_print_help,
};

NFO_EXPORT struct link_util net_failover_slave_link_util = {
	.id		= NET_FAILOVER_KIND "_slave",
	.maxattr	= IFLA_NET_FAILOVER_LOWER_MAX,
	.parse_opt	= nfo_lower_parse_opt,
	.print_opt	= nfo_lower_print_opt,
	.print_help	= nfo_lower_print_help,
};
