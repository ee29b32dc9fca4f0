// SPDX-License-Identifier: GPL-2.0
/*
 * failoverctl - show and configure net_failover masters over rtnetlink
 *
 * The state comes from the IFLA_INFO_DATA of a link of kind "net_failover"
 * (the master) and from the IFLA_INFO_SLAVE_DATA of its lowers; changes go
 * out as RTM_NEWLINK on the master (IFLA_INFO_DATA) or on a lower
 * (IFLA_INFO_SLAVE_DATA). See include/uapi/linux/net_failover.h.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/socket.h>

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/net_failover.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/route/link.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK	270
#endif

#define PROG		"failoverctl"
#define EXIT_USAGE	2
#define HOLDDOWN_MAX	60000u	/* NFO_HOLDDOWN_MAX_MS in the driver */
#define PEER_NOTIFY_MAX	255u	/* the attribute is a u8 */
#define DUMP_RETRIES	5

/* One link of an RTM_GETLINK dump, with the failover state if any */
struct fo_link {
	int ifindex;
	int master;			/* IFLA_MASTER, 0 if none */
	char name[IF_NAMESIZE];
	bool is_master;			/* IFLA_INFO_KIND "net_failover" */
	bool is_lower;			/* IFLA_INFO_SLAVE_KIND "net_failover" */
	uint32_t seen;			/* bit n: attribute n was present */
	uint32_t val[32];		/* IFLA_NET_FAILOVER(_LOWER)_* values */
};

struct fo_table {
	struct fo_link *links;
	size_t nr;
	size_t alloc;
	bool nomem;
};

/* What the kernel said in its last error acknowledgement */
struct fo_ack {
	int error;			/* negative errno, 0 if none */
	char msg[256];			/* NLMSGERR_ATTR_MSG */
	bool has_range;			/* NLMSGERR_ATTR_POLICY had a range */
	bool is_signed;
	int64_t smin, smax;
	uint64_t umin, umax;
};

static struct fo_ack ack;
static bool json;
static bool no_check;

static struct nla_policy master_policy[IFLA_NET_FAILOVER_MAX + 1] = {
	[IFLA_NET_FAILOVER_PRIMARY]		= { .type = NLA_U32 },
	[IFLA_NET_FAILOVER_STANDBY]		= { .type = NLA_U32 },
	[IFLA_NET_FAILOVER_ACTIVE]		= { .type = NLA_U32 },
	[IFLA_NET_FAILOVER_SWITCHES]		= { .type = NLA_U32 },
	[IFLA_NET_FAILOVER_FORCE_STANDBY]	= { .type = NLA_U8 },
	[IFLA_NET_FAILOVER_HOLDDOWN_MS]		= { .type = NLA_U32 },
	[IFLA_NET_FAILOVER_PEER_NOTIFY]		= { .type = NLA_U8 },
	[IFLA_NET_FAILOVER_PRIMARY_BLOCKED]	= { .type = NLA_U8 },
	[IFLA_NET_FAILOVER_TX_SKB_SHARING]	= { .type = NLA_U8 },
};

static struct nla_policy lower_policy[IFLA_NET_FAILOVER_LOWER_MAX + 1] = {
	[IFLA_NET_FAILOVER_LOWER_ROLE]		= { .type = NLA_U8 },
	[IFLA_NET_FAILOVER_LOWER_ACTIVE]	= { .type = NLA_U8 },
	[IFLA_NET_FAILOVER_LOWER_LINK]		= { .type = NLA_U8 },
	[IFLA_NET_FAILOVER_LOWER_ACTIVATIONS]	= { .type = NLA_U32 },
	[IFLA_NET_FAILOVER_LOWER_DEACTIVATIONS]	= { .type = NLA_U32 },
	[IFLA_NET_FAILOVER_LOWER_BLOCKED]	= { .type = NLA_U8 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [-j] show [DEV]\n"
		"       " PROG " [-n] set MASTER [force-standby on|off] [holddown MS]\n"
		"                         [peer-notify N] [tx-skb-sharing on|off]\n"
		"       " PROG " [-n] set-lower LOWER blocked on|off\n"
		"       " PROG " -h\n"
		"\n"
		"Options:\n"
		"  -j, --json      show: print one JSON array of masters\n"
		"  -n, --no-check  set, set-lower: send values without checking\n"
		"                  their range (the kernel checks them)\n"
		"  -h, --help      print this help\n"
		"\n"
		"Ranges: holddown 0..%u ms, peer-notify 0..%u.\n",
		HOLDDOWN_MAX, PEER_NOTIFY_MAX);
}

static void __attribute__((format(printf, 1, 2), noreturn))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" PROG " --help'.\n");
	exit(EXIT_USAGE);
}

/* ---- netlink plumbing -------------------------------------------------- */

static void ack_parse_policy(struct nlattr *pol)
{
	static struct nla_policy policy[NL_POLICY_TYPE_ATTR_MAX + 1] = {
		[NL_POLICY_TYPE_ATTR_MIN_VALUE_S] = { .type = NLA_U64 },
		[NL_POLICY_TYPE_ATTR_MAX_VALUE_S] = { .type = NLA_U64 },
		[NL_POLICY_TYPE_ATTR_MIN_VALUE_U] = { .type = NLA_U64 },
		[NL_POLICY_TYPE_ATTR_MAX_VALUE_U] = { .type = NLA_U64 },
	};
	struct nlattr *tb[NL_POLICY_TYPE_ATTR_MAX + 1];

	if (nla_parse_nested(tb, NL_POLICY_TYPE_ATTR_MAX, pol, policy) < 0)
		return;
	if (tb[NL_POLICY_TYPE_ATTR_MIN_VALUE_U] &&
	    tb[NL_POLICY_TYPE_ATTR_MAX_VALUE_U]) {
		ack.umin = nla_get_u64(tb[NL_POLICY_TYPE_ATTR_MIN_VALUE_U]);
		ack.umax = nla_get_u64(tb[NL_POLICY_TYPE_ATTR_MAX_VALUE_U]);
		ack.has_range = true;
	} else if (tb[NL_POLICY_TYPE_ATTR_MIN_VALUE_S] &&
		   tb[NL_POLICY_TYPE_ATTR_MAX_VALUE_S]) {
		ack.smin = nla_get_u64(tb[NL_POLICY_TYPE_ATTR_MIN_VALUE_S]);
		ack.smax = nla_get_u64(tb[NL_POLICY_TYPE_ATTR_MAX_VALUE_S]);
		ack.has_range = true;
		ack.is_signed = true;
	}
}

/*
 * Error acknowledgements: keep the errno and the extended ack (message,
 * policy of the rejected attribute) for fo_print_ack(). With
 * NETLINK_CAP_ACK the request is not echoed; without it, skip it.
 */
static int ack_err_cb(struct sockaddr_nl *nla, struct nlmsgerr *err,
		      void *arg)
{
	struct nlmsghdr *nlh = (void *)((char *)err - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off = sizeof(*err);

	(void)nla;
	(void)arg;
	memset(&ack, 0, sizeof(ack));
	ack.error = err->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - NLMSG_HDRLEN;
	off = NLMSG_ALIGN(off);
	if (off >= (size_t)nlmsg_datalen(nlh))
		return NL_STOP;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)err + off),
		      nlmsg_datalen(nlh) - off, NULL) < 0)
		return NL_STOP;
	if (tb[NLMSGERR_ATTR_MSG])
		nla_strlcpy(ack.msg, tb[NLMSGERR_ATTR_MSG], sizeof(ack.msg));
	if (tb[NLMSGERR_ATTR_POLICY])
		ack_parse_policy(tb[NLMSGERR_ATTR_POLICY]);
	return NL_STOP;
}

/* "PROG: what: kernel message, valid range A..B (strerror)" */
static void fo_print_ack(const char *what, int nlerr)
{
	int err = ack.error ? -ack.error : 0;

	fprintf(stderr, PROG ": %s: ", what);
	if (ack.msg[0]) {
		fputs(ack.msg, stderr);
		if (ack.has_range && ack.is_signed)
			fprintf(stderr, ", valid range %" PRId64 "..%" PRId64,
				ack.smin, ack.smax);
		else if (ack.has_range)
			fprintf(stderr, ", valid range %" PRIu64 "..%" PRIu64,
				ack.umin, ack.umax);
		fprintf(stderr, " (%s)\n", err ? strerror(err) :
			nl_geterror(nlerr));
	} else {
		fprintf(stderr, "%s\n", err ? strerror(err) :
			nl_geterror(nlerr));
	}
}

static struct nl_sock *fo_socket(void)
{
	struct nl_sock *sk;
	int one = 1, err;

	sk = nl_socket_alloc();
	if (!sk) {
		fprintf(stderr, PROG ": out of memory\n");
		exit(EXIT_FAILURE);
	}
	err = nl_connect(sk, NETLINK_ROUTE);
	if (err < 0) {
		fprintf(stderr, PROG ": cannot open a netlink socket: %s\n",
			nl_geterror(err));
		exit(EXIT_FAILURE);
	}
	/* Best effort: older kernels just give no extended ack. */
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, ack_err_cb, NULL);
	return sk;
}

/* ---- state: RTM_GETLINK dump ------------------------------------------- */

static void fo_store(struct fo_link *l, struct nlattr **tb, int max)
{
	int i;

	for (i = 1; i <= max && i < 32; i++) {
		if (!tb[i])
			continue;
		l->seen |= 1u << i;
		l->val[i] = nla_len(tb[i]) >= 4 ? nla_get_u32(tb[i]) :
						  nla_get_u8(tb[i]);
	}
}

static void fo_parse_linkinfo(struct fo_link *l, struct nlattr *linkinfo)
{
	struct nlattr *li[IFLA_INFO_MAX + 1];
	struct nlattr *mtb[IFLA_NET_FAILOVER_MAX + 1];
	struct nlattr *ltb[IFLA_NET_FAILOVER_LOWER_MAX + 1];

	if (nla_parse_nested(li, IFLA_INFO_MAX, linkinfo, NULL) < 0)
		return;
	if (li[IFLA_INFO_KIND] &&
	    !nla_strcmp(li[IFLA_INFO_KIND], NET_FAILOVER_KIND)) {
		l->is_master = true;
		if (li[IFLA_INFO_DATA] &&
		    !nla_parse_nested(mtb, IFLA_NET_FAILOVER_MAX,
				      li[IFLA_INFO_DATA], master_policy))
			fo_store(l, mtb, IFLA_NET_FAILOVER_MAX);
	}
	if (li[IFLA_INFO_SLAVE_KIND] &&
	    !nla_strcmp(li[IFLA_INFO_SLAVE_KIND], NET_FAILOVER_KIND)) {
		l->is_lower = true;
		if (li[IFLA_INFO_SLAVE_DATA] &&
		    !nla_parse_nested(ltb, IFLA_NET_FAILOVER_LOWER_MAX,
				      li[IFLA_INFO_SLAVE_DATA], lower_policy))
			fo_store(l, ltb, IFLA_NET_FAILOVER_LOWER_MAX);
	}
}

static int fo_dump_cb(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[IFLA_MAX + 1];
	struct fo_table *t = arg;
	struct ifinfomsg *ifi;
	struct fo_link *l;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nlmsg_parse(nlh, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return NL_SKIP;
	if (t->nr == t->alloc) {
		size_t n = t->alloc ? 2 * t->alloc : 16;
		struct fo_link *p = realloc(t->links, n * sizeof(*p));

		if (!p) {
			t->nomem = true;
			return NL_STOP;
		}
		t->links = p;
		t->alloc = n;
	}
	ifi = nlmsg_data(nlh);
	l = &t->links[t->nr++];
	memset(l, 0, sizeof(*l));
	l->ifindex = ifi->ifi_index;
	if (tb[IFLA_IFNAME])
		nla_strlcpy(l->name, tb[IFLA_IFNAME], sizeof(l->name));
	if (tb[IFLA_MASTER] && nla_len(tb[IFLA_MASTER]) >= 4)
		l->master = nla_get_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_LINKINFO])
		fo_parse_linkinfo(l, tb[IFLA_LINKINFO]);
	return NL_OK;
}

static int fo_dump_once(struct nl_sock *sk, struct fo_table *t)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct nl_msg *msg;
	int err;

	t->nr = 0;
	msg = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_DUMP);
	if (!msg)
		return -NLE_NOMEM;
	err = nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO);
	if (!err)
		err = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (err < 0)
		return err;
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, fo_dump_cb, t);
	err = nl_recvmsgs_default(sk);
	if (t->nomem)
		return -NLE_NOMEM;
	return err < 0 ? err : 0;
}

static void fo_dump(struct nl_sock *sk, struct fo_table *t)
{
	int err, i;

	for (i = 0; i < DUMP_RETRIES; i++) {
		err = fo_dump_once(sk, t);
		if (err != -NLE_DUMP_INTR)
			break;
	}
	if (err < 0) {
		fo_print_ack("cannot list links", err);
		exit(EXIT_FAILURE);
	}
}

static struct fo_link *fo_by_index(struct fo_table *t, int ifindex)
{
	size_t i;

	for (i = 0; i < t->nr; i++)
		if (t->links[i].ifindex == ifindex)
			return &t->links[i];
	return NULL;
}

static struct fo_link *fo_by_name(struct fo_table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nr; i++)
		if (!strcmp(t->links[i].name, name))
			return &t->links[i];
	return NULL;
}

/* ---- show -------------------------------------------------------------- */

static bool has(const struct fo_link *l, int attr)
{
	return l->seen & (1u << attr);
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_key(const char *key, bool *first)
{
	printf("%s\"%s\":", *first ? "" : ",", key);
	*first = false;
}

/* "key":N or "key":null */
static void json_num(const char *key, const struct fo_link *l, int attr,
		     bool *first)
{
	json_key(key, first);
	if (has(l, attr))
		printf("%" PRIu32, l->val[attr]);
	else
		printf("null");
}

static void json_bool(const char *key, const struct fo_link *l, int attr,
		      bool *first)
{
	json_key(key, first);
	if (has(l, attr))
		printf("%s", l->val[attr] ? "true" : "false");
	else
		printf("null");
}

/* "key":"name","key_ifindex":N for a lower referenced by ifindex */
static void json_ref(struct fo_table *t, const char *key,
		     const struct fo_link *m, int attr, bool *first)
{
	char ikey[32];
	struct fo_link *l = NULL;

	if (has(m, attr) && m->val[attr])
		l = fo_by_index(t, m->val[attr]);
	json_key(key, first);
	if (l)
		json_string(l->name);
	else
		printf("null");
	snprintf(ikey, sizeof(ikey), "%s_ifindex", key);
	json_key(ikey, first);
	if (has(m, attr) && m->val[attr])
		printf("%" PRIu32, m->val[attr]);
	else
		printf("null");
}

static const char *role_name(const struct fo_link *l)
{
	if (!has(l, IFLA_NET_FAILOVER_LOWER_ROLE))
		return "unknown";
	switch (l->val[IFLA_NET_FAILOVER_LOWER_ROLE]) {
	case NET_FAILOVER_ROLE_PRIMARY:
		return "primary";
	case NET_FAILOVER_ROLE_STANDBY:
		return "standby";
	}
	return "unknown";
}

static void show_json(struct fo_table *t, struct fo_link *m)
{
	bool first = true, lfirst;
	size_t i;

	putchar('{');
	json_key("ifname", &first);
	json_string(m->name);
	json_key("ifindex", &first);
	printf("%d", m->ifindex);
	json_key("kind", &first);
	json_string(NET_FAILOVER_KIND);
	json_ref(t, "primary", m, IFLA_NET_FAILOVER_PRIMARY, &first);
	json_ref(t, "standby", m, IFLA_NET_FAILOVER_STANDBY, &first);
	json_ref(t, "active", m, IFLA_NET_FAILOVER_ACTIVE, &first);
	json_num("switches", m, IFLA_NET_FAILOVER_SWITCHES, &first);
	json_bool("force_standby", m, IFLA_NET_FAILOVER_FORCE_STANDBY, &first);
	json_num("holddown_ms", m, IFLA_NET_FAILOVER_HOLDDOWN_MS, &first);
	json_num("peer_notify", m, IFLA_NET_FAILOVER_PEER_NOTIFY, &first);
	json_bool("primary_blocked", m, IFLA_NET_FAILOVER_PRIMARY_BLOCKED,
		  &first);
	json_bool("tx_skb_sharing", m, IFLA_NET_FAILOVER_TX_SKB_SHARING,
		  &first);
	json_key("lowers", &first);
	putchar('[');
	lfirst = true;
	for (i = 0; i < t->nr; i++) {
		struct fo_link *l = &t->links[i];
		bool f = true;

		if (!l->is_lower || l->master != m->ifindex)
			continue;
		printf("%s{", lfirst ? "" : ",");
		lfirst = false;
		json_key("ifname", &f);
		json_string(l->name);
		json_key("ifindex", &f);
		printf("%d", l->ifindex);
		json_key("slave_kind", &f);
		json_string(NET_FAILOVER_KIND);
		json_key("role", &f);
		json_string(role_name(l));
		json_bool("active", l, IFLA_NET_FAILOVER_LOWER_ACTIVE, &f);
		json_bool("link", l, IFLA_NET_FAILOVER_LOWER_LINK, &f);
		json_num("activations", l, IFLA_NET_FAILOVER_LOWER_ACTIVATIONS,
			 &f);
		json_num("deactivations", l,
			 IFLA_NET_FAILOVER_LOWER_DEACTIVATIONS, &f);
		json_bool("blocked", l, IFLA_NET_FAILOVER_LOWER_BLOCKED, &f);
		putchar('}');
	}
	printf("]}");
}

static void text_ref(struct fo_table *t, const char *label,
		     const struct fo_link *m, int attr)
{
	struct fo_link *l = NULL;

	printf(" %s ", label);
	if (!has(m, attr) || !m->val[attr]) {
		printf("none");
		return;
	}
	l = fo_by_index(t, m->val[attr]);
	printf("%s (%" PRIu32 ")", l ? l->name : "?", m->val[attr]);
}

static void text_num(const char *label, const struct fo_link *l, int attr)
{
	if (has(l, attr))
		printf(" %s %" PRIu32, label, l->val[attr]);
	else
		printf(" %s ?", label);
}

static void text_bool(const char *label, const struct fo_link *l, int attr,
		      const char *yes, const char *no)
{
	if (has(l, attr))
		printf(" %s %s", label, l->val[attr] ? yes : no);
	else
		printf(" %s ?", label);
}

static void show_text(struct fo_table *t, struct fo_link *m)
{
	size_t i;

	/* Every item starts with a space: three more make the indent. */
	printf("%s: ifindex %d kind %s\n   ", m->name, m->ifindex,
	       NET_FAILOVER_KIND);
	text_ref(t, "primary", m, IFLA_NET_FAILOVER_PRIMARY);
	text_ref(t, "standby", m, IFLA_NET_FAILOVER_STANDBY);
	text_ref(t, "active", m, IFLA_NET_FAILOVER_ACTIVE);
	printf("\n   ");
	text_num("switches", m, IFLA_NET_FAILOVER_SWITCHES);
	text_bool("force_standby", m, IFLA_NET_FAILOVER_FORCE_STANDBY,
		  "on", "off");
	text_num("holddown_ms", m, IFLA_NET_FAILOVER_HOLDDOWN_MS);
	text_num("peer_notify", m, IFLA_NET_FAILOVER_PEER_NOTIFY);
	text_bool("primary_blocked", m, IFLA_NET_FAILOVER_PRIMARY_BLOCKED,
		  "yes", "no");
	text_bool("tx_skb_sharing", m, IFLA_NET_FAILOVER_TX_SKB_SHARING,
		  "on", "off");
	putchar('\n');
	for (i = 0; i < t->nr; i++) {
		struct fo_link *l = &t->links[i];

		if (!l->is_lower || l->master != m->ifindex)
			continue;
		printf("    lower %s (%d): role %s", l->name, l->ifindex,
		       role_name(l));
		text_bool("active", l, IFLA_NET_FAILOVER_LOWER_ACTIVE,
			  "yes", "no");
		text_bool("link", l, IFLA_NET_FAILOVER_LOWER_LINK,
			  "up", "down");
		text_num("activations", l, IFLA_NET_FAILOVER_LOWER_ACTIVATIONS);
		text_num("deactivations", l,
			 IFLA_NET_FAILOVER_LOWER_DEACTIVATIONS);
		text_bool("blocked", l, IFLA_NET_FAILOVER_LOWER_BLOCKED,
			  "yes", "no");
		putchar('\n');
	}
}

static int cmd_show(struct nl_sock *sk, int argc, char **argv)
{
	struct fo_table t = { 0 };
	struct fo_link *only = NULL;
	bool first = true;
	size_t i;

	if (argc > 1)
		usage_error("show: unexpected argument '%s'", argv[1]);
	fo_dump(sk, &t);
	if (argc == 1) {
		only = fo_by_name(&t, argv[0]);
		if (!only) {
			fprintf(stderr, PROG ": %s: no such device\n", argv[0]);
			return EXIT_FAILURE;
		}
		if (!only->is_master && only->is_lower && only->master)
			only = fo_by_index(&t, only->master);
		if (!only || !only->is_master) {
			fprintf(stderr,
				PROG ": %s: not a net_failover master or lower\n",
				argv[0]);
			return EXIT_FAILURE;
		}
	}
	if (json)
		putchar('[');
	for (i = 0; i < t.nr; i++) {
		struct fo_link *m = &t.links[i];

		if (!m->is_master || (only && m != only))
			continue;
		if (json) {
			if (!first)
				putchar(',');
			show_json(&t, m);
		} else {
			if (!first)
				putchar('\n');
			show_text(&t, m);
		}
		first = false;
	}
	if (json)
		printf("]\n");
	free(t.links);
	return fflush(stdout) ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ---- set, set-lower ---------------------------------------------------- */

/*
 * Look up @name; exit 1 unless it is a net_failover master (@lower false)
 * or a lower of one (@lower true). Returns the ifindex.
 */
static int fo_resolve(struct nl_sock *sk, const char *name, bool lower)
{
	struct rtnl_link *link = NULL;
	const char *kind;
	int err, ifindex;

	if (strlen(name) >= IF_NAMESIZE) {
		fprintf(stderr, PROG ": %s: no such device\n", name);
		exit(EXIT_FAILURE);
	}
	err = rtnl_link_get_kernel(sk, 0, name, &link);
	if (err < 0) {
		/* rtnl_link_get_kernel() has its own error callback */
		if (err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND)
			fprintf(stderr, PROG ": %s: no such device\n", name);
		else
			fo_print_ack(name, err);
		exit(EXIT_FAILURE);
	}
	kind = lower ? rtnl_link_get_slave_type(link) :
		       rtnl_link_get_type(link);
	if (!kind || strcmp(kind, NET_FAILOVER_KIND)) {
		fprintf(stderr, PROG ": %s: not a net_failover %s\n", name,
			lower ? "lower" : "master");
		rtnl_link_put(link);
		exit(EXIT_FAILURE);
	}
	ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	return ifindex;
}

/* Send @msg (built by fo_newlink()) and wait for the kernel's answer. */
static int fo_commit(struct nl_sock *sk, struct nl_msg *msg,
		     const char *name)
{
	int err;

	memset(&ack, 0, sizeof(ack));
	err = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (err >= 0)
		err = nl_wait_for_ack(sk);
	if (err < 0) {
		fo_print_ack(name, err);
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

static struct nl_msg *fo_newlink(int ifindex)
{
	struct ifinfomsg ifi = {
		.ifi_family = AF_UNSPEC,
		.ifi_index = ifindex,
	};
	struct nl_msg *msg;

	msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
	if (!msg || nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0) {
		fprintf(stderr, PROG ": out of memory\n");
		exit(EXIT_FAILURE);
	}
	return msg;
}

/* A decimal number in 0..@max, @unit for messages */
static uint32_t parse_num(const char *what, const char *s, uint32_t max,
			  const char *unit)
{
	unsigned long long v;
	char *end;

	if (!s)
		usage_error("%s: missing value", what);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v > UINT32_MAX)
		usage_error("%s: '%s' is not a number in 0..%u%s", what, s,
			    max, unit);
	if (v > max)
		usage_error("%s: %llu is out of range, valid range 0..%u%s",
			    what, v, max, unit);
	return v;
}

/* on: 1, off: 0; with --no-check also any number 0..255, sent as is */
static uint8_t parse_onoff(const char *what, const char *s)
{
	if (!s)
		usage_error("%s: missing value (on or off)", what);
	if (!strcmp(s, "on"))
		return 1;
	if (!strcmp(s, "off"))
		return 0;
	if (no_check && *s >= '0' && *s <= '9')
		return parse_num(what, s, UINT8_MAX, "");
	usage_error("%s: '%s' is not on or off", what, s);
}

static int cmd_set(struct nl_sock *sk, int argc, char **argv)
{
	struct nlattr *linkinfo, *data;
	bool has_fs = false, has_hd = false, has_pn = false, has_ts = false;
	uint32_t hd = 0, pn = 0;
	uint8_t fs = 0, ts = 0;
	struct nl_msg *msg;
	int i, ifindex;

	if (argc < 1)
		usage_error("set: missing MASTER");
	if (argc < 2)
		usage_error("set: nothing to change");
	for (i = 1; i < argc; i += 2) {
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "force-standby") && !has_fs) {
			fs = parse_onoff(argv[i], val);
			has_fs = true;
		} else if (!strcmp(argv[i], "holddown") && !has_hd) {
			hd = parse_num(argv[i], val,
				       no_check ? UINT32_MAX : HOLDDOWN_MAX,
				       " ms");
			has_hd = true;
		} else if (!strcmp(argv[i], "peer-notify") && !has_pn) {
			pn = parse_num(argv[i], val, PEER_NOTIFY_MAX, "");
			has_pn = true;
		} else if (!strcmp(argv[i], "tx-skb-sharing") && !has_ts) {
			ts = parse_onoff(argv[i], val);
			has_ts = true;
		} else {
			usage_error("set: unknown or repeated setting '%s'",
				    argv[i]);
		}
	}
	ifindex = fo_resolve(sk, argv[0], false);

	msg = fo_newlink(ifindex);
	linkinfo = nla_nest_start(msg, IFLA_LINKINFO);
	if (!linkinfo || nla_put_string(msg, IFLA_INFO_KIND, NET_FAILOVER_KIND))
		goto nomem;
	data = nla_nest_start(msg, IFLA_INFO_DATA);
	if (!data ||
	    (has_fs && nla_put_u8(msg, IFLA_NET_FAILOVER_FORCE_STANDBY, fs)) ||
	    (has_hd && nla_put_u32(msg, IFLA_NET_FAILOVER_HOLDDOWN_MS, hd)) ||
	    (has_pn && nla_put_u8(msg, IFLA_NET_FAILOVER_PEER_NOTIFY, pn)) ||
	    (has_ts && nla_put_u8(msg, IFLA_NET_FAILOVER_TX_SKB_SHARING, ts)))
		goto nomem;
	nla_nest_end(msg, data);
	nla_nest_end(msg, linkinfo);
	return fo_commit(sk, msg, argv[0]);
nomem:
	fprintf(stderr, PROG ": message too large\n");
	nlmsg_free(msg);
	return EXIT_FAILURE;
}

static int cmd_set_lower(struct nl_sock *sk, int argc, char **argv)
{
	struct nlattr *linkinfo, *data;
	struct nl_msg *msg;
	uint8_t blocked;
	int ifindex;

	if (argc < 1)
		usage_error("set-lower: missing LOWER");
	if (argc < 2)
		usage_error("set-lower: nothing to change");
	if (strcmp(argv[1], "blocked"))
		usage_error("set-lower: unknown setting '%s'", argv[1]);
	blocked = parse_onoff(argv[1], argc > 2 ? argv[2] : NULL);
	if (argc > 3)
		usage_error("set-lower: unexpected argument '%s'", argv[3]);
	ifindex = fo_resolve(sk, argv[0], true);

	/*
	 * rtnetlink hands IFLA_INFO_SLAVE_DATA to the slave_changelink of
	 * the device's master; the slave kind is not required but names
	 * what the data is for, as iproute2 does.
	 */
	msg = fo_newlink(ifindex);
	linkinfo = nla_nest_start(msg, IFLA_LINKINFO);
	if (!linkinfo ||
	    nla_put_string(msg, IFLA_INFO_SLAVE_KIND, NET_FAILOVER_KIND))
		goto nomem;
	data = nla_nest_start(msg, IFLA_INFO_SLAVE_DATA);
	if (!data || nla_put_u8(msg, IFLA_NET_FAILOVER_LOWER_BLOCKED, blocked))
		goto nomem;
	nla_nest_end(msg, data);
	nla_nest_end(msg, linkinfo);
	return fo_commit(sk, msg, argv[0]);
nomem:
	fprintf(stderr, PROG ": message too large\n");
	nlmsg_free(msg);
	return EXIT_FAILURE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json",	no_argument,	NULL, 'j' },
		{ "no-check",	no_argument,	NULL, 'n' },
		{ "help",	no_argument,	NULL, 'h' },
		{ NULL,		0,		NULL, 0 },
	};
	struct nl_sock *sk;
	const char *cmd;
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+jnh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'n':
			no_check = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		usage_error("missing command");
	cmd = argv[optind++];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return EXIT_SUCCESS;
	}
	if (!strcmp(cmd, "show")) {
		/* "show -j DEV" reads as well as "-j show DEV" */
		if (argc && (!strcmp(argv[0], "-j") ||
			     !strcmp(argv[0], "--json"))) {
			json = true;
			argc--;
			argv++;
		}
		sk = fo_socket();
		ret = cmd_show(sk, argc, argv);
	} else if (!strcmp(cmd, "set")) {
		sk = fo_socket();
		ret = cmd_set(sk, argc, argv);
	} else if (!strcmp(cmd, "set-lower")) {
		sk = fo_socket();
		ret = cmd_set_lower(sk, argc, argv);
	} else {
		usage_error("unknown command '%s'", cmd);
	}
	nl_socket_free(sk);
	return ret;
}
