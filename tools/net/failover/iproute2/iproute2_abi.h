/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The part of the ip binary's plugin interface that link_net_failover.so
 * uses, written out for iproute2 6.1.0 (Debian bookworm, /usr/bin/ip).
 *
 * ip dlopen()s $IP_LIB_DIR/link_<kind>.so and looks up "<kind>_link_util";
 * the plugin then calls helpers that the ip executable exports (nm -D
 * /usr/bin/ip lists them). Nothing here is checked by a compiler against
 * iproute2, so every layout and value below was matched against the 6.1
 * sources (ip/ip_common.h, include/json_print.h, include/color.h,
 * include/libnetlink.h, include/utils.h, include/ll_map.h) and the 6.1
 * binary itself:
 *
 *  - struct link_util is 0x48 bytes (nm -S of any *_link_util object);
 *  - color_fprintf() treats color 6 as "no color" (COLOR_NONE is last);
 *  - print_color_*() test type & 6 for JSON and type & 5 for plain text
 *    (PRINT_FP 1, PRINT_JSON 2, PRINT_ANY 4);
 *  - print_color_uint() takes a 32-bit value.
 *
 * Only the members and helpers used by the plugin are declared.
 */
#ifndef _FAILOVER_IPROUTE2_ABI_H
#define _FAILOVER_IPROUTE2_ABI_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

/* ip/ip_common.h: one per link kind ("bond", "bond_slave", ...) */
struct link_util {
	struct link_util	*next;
	const char		*id;
	int			maxattr;
	int			(*parse_opt)(struct link_util *lu, int argc,
					     char **argv, struct nlmsghdr *n);
	void			(*print_opt)(struct link_util *lu, FILE *f,
					     struct rtattr *tb[]);
	void			(*print_xstats)(struct link_util *lu, FILE *f,
						struct rtattr *xstats);
	void			(*print_help)(struct link_util *lu, int argc,
					      char **argv, FILE *f);
	int			(*parse_ifla_xstats)(struct link_util *lu,
						     int argc, char **argv);
	int			(*print_ifla_xstats)(struct nlmsghdr *n,
						     void *arg);
};

/*
 * ip/iplink.c builds "ip link set ... type KIND ARGS" in a struct
 * iplink_req (nlmsghdr, ifinfomsg, 1024 bytes of attributes); plugins
 * bound their attributes by 1024 like the built-in link types do.
 */
#define IPLINK_REQ_MAXLEN	1024

/* include/json_print.h */
enum output_type {
	PRINT_FP	= 1,
	PRINT_JSON	= 2,
	PRINT_ANY	= 4,
};

/* include/color.h */
enum color_attr {
	COLOR_IFNAME,		/* 0 */
	COLOR_MAC,
	COLOR_INET,
	COLOR_INET6,
	COLOR_OPERSTATE_UP,
	COLOR_OPERSTATE_DOWN,
	COLOR_NONE,		/* 6 */
};

/*
 * include/json_print.h: in JSON context the value goes under key, in
 * plain-text context fmt is printed with the value; PRINT_ANY does
 * whichever applies. print_color_null() prints null in JSON and the
 * string in text. The int results (characters printed) are not used.
 */
int print_color_string(enum output_type t, enum color_attr color,
		       const char *key, const char *fmt, const char *value);
int print_color_uint(enum output_type t, enum color_attr color,
		     const char *key, const char *fmt, unsigned int value);
int print_color_on_off(enum output_type t, enum color_attr color,
		       const char *key, const char *fmt, bool value);
int print_color_null(enum output_type t, enum color_attr color,
		     const char *key, const char *fmt, const char *value);

/* include/ll_map.h: cached name of an ifindex ("if%u" if unknown) */
const char *ll_index_to_name(unsigned int idx);

/* include/utils.h: 0 on success, -1 if arg is not a number in range */
int get_u32(__u32 *val, const char *arg, int base);
int get_u8(__u8 *val, const char *arg, int base);

/* include/libnetlink.h: append an attribute; -1 if maxlen is exceeded */
int addattr8(struct nlmsghdr *n, int maxlen, int type, __u8 data);
int addattr32(struct nlmsghdr *n, int maxlen, int type, __u32 data);

#endif /* _FAILOVER_IPROUTE2_ABI_H */
