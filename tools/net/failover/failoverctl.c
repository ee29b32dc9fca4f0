// SPDX-License-Identifier: GPL-2.0
/*
 * failoverctl - show and configure net_failover masters
 *
 * Talks to the generic netlink family "net_failover" (see
 * include/uapi/linux/net_failover.h): NET_FAILOVER_CMD_GET for the state
 * of one master (named by itself or by one of its lowers) or a dump of
 * every master, NET_FAILOVER_CMD_SET for its settings, and the "events"
 * multicast group for NET_FAILOVER_CMD_NTF. The master itself is a plain
 * Ethernet device to rtnetlink, as with the stock driver.
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

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/net_failover.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK	270
#endif

/* The kernel's spelling (include/linux/compiler_attributes.h) */
#define __printf(a, b)	__attribute__((format(printf, a, b)))

#define PROG		"failoverctl"
#define EXIT_USAGE	2
#define HOLDDOWN_MAX	60000u	/* NFO_HOLDDOWN_MAX_MS in the driver */
#define PEER_NOTIFY_MAX	255u	/* the attribute is a u8 */
#define DUMP_RETRIES	5
#define SHARING_FIXED	"it is fixed when a master is created, by " \
			"net_failover's module parameter tx_skb_sharing " \
			"(modprobe net_failover tx_skb_sharing=1)"

enum { PRIMARY, STANDBY, NR_LOWERS };

static const char * const role_name[NR_LOWERS] = { "primary", "standby" };
static const int role_attr[NR_LOWERS] = {
	NET_FAILOVER_A_PRIMARY, NET_FAILOVER_A_STANDBY,
};

struct fo_lower {
	bool present;
	char name[IF_NAMESIZE];
	uint32_t seen;			/* bit n: attribute n was present */
	uint32_t val[NET_FAILOVER_A_LOWER_MAX + 1];
};

/* A master as a GET reply or an NTF describes it */
struct fo_master {
	char name[IF_NAMESIZE];
	uint32_t seen;
	uint32_t val[NET_FAILOVER_A_MAX + 1];
	struct fo_lower lower[NR_LOWERS];
};

struct fo_list {
	struct fo_master *m;
	size_t nr;
	size_t alloc;
	bool nomem;
};

/* What the kernel said in its last error acknowledgement */
struct fo_ack {
	int error;			/* negative errno, 0 if none */
	char msg[256];			/* NLMSGERR_ATTR_MSG */
	char attr[48];			/* NLMSGERR_ATTR_OFFS, by name */
	char missing[48];		/* NLMSGERR_ATTR_MISS_TYPE, by name */
	bool has_range;			/* NLMSGERR_ATTR_POLICY had a range */
	bool is_signed;
	int64_t smin, smax;
	uint64_t umin, umax;
};

static struct fo_ack ack;
static bool json;
static bool no_check;
static int family;

static const char * const master_attr_name[NET_FAILOVER_A_MAX + 1] = {
	[NET_FAILOVER_A_IFINDEX]	= "ifindex",
	[NET_FAILOVER_A_IFNAME]		= "ifname",
	[NET_FAILOVER_A_ACTIVE]		= "active",
	[NET_FAILOVER_A_SWITCHES]	= "switches",
	[NET_FAILOVER_A_FORCE_STANDBY]	= "force_standby",
	[NET_FAILOVER_A_HOLDDOWN_MS]	= "holddown_ms",
	[NET_FAILOVER_A_PEER_NOTIFY]	= "peer_notify",
	[NET_FAILOVER_A_TX_SKB_SHARING]	= "tx_skb_sharing",
	[NET_FAILOVER_A_PRIMARY]	= "primary",
	[NET_FAILOVER_A_STANDBY]	= "standby",
};

static const char * const lower_attr_name[NET_FAILOVER_A_LOWER_MAX + 1] = {
	[NET_FAILOVER_A_LOWER_IFINDEX]		= "ifindex",
	[NET_FAILOVER_A_LOWER_IFNAME]		= "ifname",
	[NET_FAILOVER_A_LOWER_ACTIVE]		= "active",
	[NET_FAILOVER_A_LOWER_LINK]		= "link",
	[NET_FAILOVER_A_LOWER_ACTIVATIONS]	= "activations",
	[NET_FAILOVER_A_LOWER_DEACTIVATIONS]	= "deactivations",
	[NET_FAILOVER_A_LOWER_BLOCKED]		= "blocked",
};

static struct nla_policy master_policy[NET_FAILOVER_A_MAX + 1] = {
	[NET_FAILOVER_A_IFINDEX]	= { .type = NLA_U32 },
	[NET_FAILOVER_A_IFNAME]		= { .type = NLA_STRING },
	[NET_FAILOVER_A_ACTIVE]		= { .type = NLA_U32 },
	[NET_FAILOVER_A_SWITCHES]	= { .type = NLA_U32 },
	[NET_FAILOVER_A_FORCE_STANDBY]	= { .type = NLA_U8 },
	[NET_FAILOVER_A_HOLDDOWN_MS]	= { .type = NLA_U32 },
	[NET_FAILOVER_A_PEER_NOTIFY]	= { .type = NLA_U8 },
	[NET_FAILOVER_A_TX_SKB_SHARING]	= { .type = NLA_U8 },
	[NET_FAILOVER_A_PRIMARY]	= { .type = NLA_NESTED },
	[NET_FAILOVER_A_STANDBY]	= { .type = NLA_NESTED },
};

static struct nla_policy lower_policy[NET_FAILOVER_A_LOWER_MAX + 1] = {
	[NET_FAILOVER_A_LOWER_IFINDEX]		= { .type = NLA_U32 },
	[NET_FAILOVER_A_LOWER_IFNAME]		= { .type = NLA_STRING },
	[NET_FAILOVER_A_LOWER_ACTIVE]		= { .type = NLA_U8 },
	[NET_FAILOVER_A_LOWER_LINK]		= { .type = NLA_U8 },
	[NET_FAILOVER_A_LOWER_ACTIVATIONS]	= { .type = NLA_U32 },
	[NET_FAILOVER_A_LOWER_DEACTIVATIONS]	= { .type = NLA_U32 },
	[NET_FAILOVER_A_LOWER_BLOCKED]		= { .type = NLA_U8 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [-j] show [DEV]\n"
		"       " PROG " [-n] set MASTER [force-standby on|off] [holddown MS]\n"
		"                         [peer-notify N]\n"
		"       " PROG " [-n] set-lower LOWER blocked on|off\n"
		"       " PROG " [-j] monitor\n"
		"       " PROG " -h\n"
		"\n"
		"Options:\n"
		"  -j, --json      show, monitor: JSON (show: one array of masters;\n"
		"                  monitor: one object per line and event)\n"
		"  -n, --no-check  set, set-lower: send what is given without\n"
		"                  checking it (the kernel checks it)\n"
		"  -h, --help      print this help\n"
		"\n"
		"Ranges: holddown 0..%u ms, peer-notify 0..%u. tx_skb_sharing is\n"
		"read-only: net_failover's module parameter fixes it for each master\n"
		"when the master is created.\n",
		HOLDDOWN_MAX, PEER_NOTIFY_MAX);
}

static _Noreturn void __printf(1, 2)
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

static _Noreturn void out_of_memory(void)
{
	fprintf(stderr, PROG ": out of memory\n");
	exit(EXIT_FAILURE);
}

/* ---- extended acks ----------------------------------------------------- */

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

static const char *attr_name(bool lower, int type)
{
	if (lower)
		return type > 0 && type <= NET_FAILOVER_A_LOWER_MAX &&
		       lower_attr_name[type] ? lower_attr_name[type] : "?";
	return type > 0 && type <= NET_FAILOVER_A_MAX &&
	       master_attr_name[type] ? master_attr_name[type] : "?";
}

/*
 * Name the attribute that starts @off bytes into @req (the request the
 * kernel answers), as "name" or "nest.name", in @buf.
 */
static void name_attr_at(struct nl_msg *req, uint32_t off, char *buf,
			 size_t len)
{
	struct nlmsghdr *nlh = nlmsg_hdr(req);
	struct nlattr *nla, *inner;
	int rem, irem;

	nla_for_each_attr(nla, genlmsg_attrdata(nlmsg_data(nlh), 0),
			  genlmsg_attrlen(nlmsg_data(nlh), 0), rem) {
		uint32_t at = (char *)nla - (char *)nlh;

		if (at == off) {
			snprintf(buf, len, "%s", attr_name(false, nla_type(nla)));
			return;
		}
		if (off < at || off >= at + nla->nla_len ||
		    (nla_type(nla) != NET_FAILOVER_A_PRIMARY &&
		     nla_type(nla) != NET_FAILOVER_A_STANDBY))
			continue;
		nla_for_each_nested(inner, nla, irem) {
			if ((uint32_t)((char *)inner - (char *)nlh) != off)
				continue;
			snprintf(buf, len, "%s.%s",
				 attr_name(false, nla_type(nla)),
				 attr_name(true, nla_type(inner)));
			return;
		}
	}
}

/*
 * Error acknowledgements: keep the errno and the extended ack (message,
 * offending or missing attribute, policy of the rejected attribute) for
 * fo_print_ack(). @arg is the request (for attribute offsets), or NULL.
 * With NETLINK_CAP_ACK the request is not echoed; without it, skip it.
 */
static int ack_err_cb(struct sockaddr_nl *nla, struct nlmsgerr *err,
		      void *arg)
{
	struct nlmsghdr *nlh = (void *)((char *)err - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	struct nl_msg *req = arg;
	size_t off = sizeof(*err);

	(void)nla;
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
	if (tb[NLMSGERR_ATTR_OFFS] && req)
		name_attr_at(req, nla_get_u32(tb[NLMSGERR_ATTR_OFFS]),
			     ack.attr, sizeof(ack.attr));
	if (tb[NLMSGERR_ATTR_MISS_TYPE])
		snprintf(ack.missing, sizeof(ack.missing), "%s",
			 attr_name(!!tb[NLMSGERR_ATTR_MISS_NEST],
				   nla_get_u32(tb[NLMSGERR_ATTR_MISS_TYPE])));
	return NL_STOP;
}

/*
 * "PROG: what: message (attribute A, valid range B..C): strerror", each
 * part only when the kernel gave it.
 */
static void fo_print_ack(const char *what, int nlerr)
{
	int err = ack.error ? -ack.error : 0;
	bool any = false;

	fprintf(stderr, PROG ": %s: ", what);
	if (ack.msg[0]) {
		fputs(ack.msg, stderr);
		any = true;
	}
	if (ack.missing[0]) {
		fprintf(stderr, "%smissing attribute %s", any ? ", " : "",
			ack.missing);
		any = true;
	}
	if (ack.attr[0] || ack.has_range) {
		fputs(any ? " (" : "(", stderr);
		if (ack.attr[0])
			fprintf(stderr, "attribute %s%s", ack.attr,
				ack.has_range ? ", " : "");
		if (ack.has_range && ack.is_signed)
			fprintf(stderr, "valid range %" PRId64 "..%" PRId64,
				ack.smin, ack.smax);
		else if (ack.has_range)
			fprintf(stderr, "valid range %" PRIu64 "..%" PRIu64,
				ack.umin, ack.umax);
		fputc(')', stderr);
		any = true;
	}
	fprintf(stderr, "%s%s\n", any ? ": " : "",
		err ? strerror(err) : nl_geterror(nlerr));
}

/* ---- netlink plumbing -------------------------------------------------- */

static struct nl_sock *fo_socket(void)
{
	struct nl_sock *sk;
	int one = 1, err;

	sk = nl_socket_alloc();
	if (!sk)
		out_of_memory();
	err = genl_connect(sk);
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
	family = genl_ctrl_resolve(sk, NET_FAILOVER_GENL_NAME);
	if (family < 0) {
		if (family == -NLE_OBJ_NOTFOUND)
			fprintf(stderr, PROG ": no generic netlink family "
				NET_FAILOVER_GENL_NAME
				": is this net_failover loaded?\n");
		else
			fo_print_ack("cannot resolve the generic netlink family "
				     NET_FAILOVER_GENL_NAME, family);
		exit(EXIT_FAILURE);
	}
	return sk;
}

static struct nl_msg *fo_msg(int cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
				 flags, cmd, NET_FAILOVER_GENL_VERSION))
		out_of_memory();
	return msg;
}

static int done_cb(struct nl_msg *msg, void *arg)
{
	(void)msg;
	*(bool *)arg = true;
	return NL_STOP;
}

/*
 * Send @msg and receive until its acknowledgement (or the end of a dump);
 * replies go to @valid. Frees @msg. Returns 0 or a negative libnl error,
 * with the kernel's extended ack in ack.
 */
static int fo_transact(struct nl_sock *sk, struct nl_msg *msg,
		       nl_recvmsg_msg_cb_t valid, void *arg)
{
	struct nl_cb *cb;
	bool done = false;
	int err;

	memset(&ack, 0, sizeof(ack));
	cb = nl_cb_clone(nl_socket_get_cb(sk));
	if (!cb)
		out_of_memory();
	nl_cb_err(cb, NL_CB_CUSTOM, ack_err_cb, msg);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, done_cb, &done);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, done_cb, &done);
	if (valid)
		nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid, arg);
	err = nl_send_auto(sk, msg);
	while (err >= 0 && !done)
		err = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	nlmsg_free(msg);
	return err < 0 ? err : 0;
}

/* ---- state ------------------------------------------------------------- */

static void store(uint32_t *seen, uint32_t *val, struct nlattr **tb,
		  struct nla_policy *pol, int max)
{
	int i;

	for (i = 1; i <= max; i++) {
		if (!tb[i] || (pol[i].type != NLA_U8 && pol[i].type != NLA_U32))
			continue;
		*seen |= 1u << i;
		val[i] = pol[i].type == NLA_U8 ? nla_get_u8(tb[i]) :
						 nla_get_u32(tb[i]);
	}
}

/* Fill @m from a GET reply or an NTF; 0 or a negative libnl error */
static int fo_parse(struct nl_msg *msg, struct fo_master *m)
{
	struct nlattr *tb[NET_FAILOVER_A_MAX + 1];
	struct nlattr *ltb[NET_FAILOVER_A_LOWER_MAX + 1];
	int err, r;

	memset(m, 0, sizeof(*m));
	err = genlmsg_parse(nlmsg_hdr(msg), 0, tb, NET_FAILOVER_A_MAX,
			    master_policy);
	if (err < 0)
		return err;
	if (!tb[NET_FAILOVER_A_IFINDEX])
		return -NLE_MISSING_ATTR;
	store(&m->seen, m->val, tb, master_policy, NET_FAILOVER_A_MAX);
	if (tb[NET_FAILOVER_A_IFNAME])
		nla_strlcpy(m->name, tb[NET_FAILOVER_A_IFNAME], sizeof(m->name));
	for (r = 0; r < NR_LOWERS; r++) {
		struct fo_lower *l = &m->lower[r];

		if (!tb[role_attr[r]])
			continue;
		err = nla_parse_nested(ltb, NET_FAILOVER_A_LOWER_MAX,
				       tb[role_attr[r]], lower_policy);
		if (err < 0)
			return err;
		l->present = true;
		store(&l->seen, l->val, ltb, lower_policy,
		      NET_FAILOVER_A_LOWER_MAX);
		if (ltb[NET_FAILOVER_A_LOWER_IFNAME])
			nla_strlcpy(l->name, ltb[NET_FAILOVER_A_LOWER_IFNAME],
				    sizeof(l->name));
	}
	return 0;
}

static int list_cb(struct nl_msg *msg, void *arg)
{
	struct fo_list *list = arg;

	if (list->nr == list->alloc) {
		size_t n = list->alloc ? 2 * list->alloc : 4;
		struct fo_master *p = realloc(list->m, n * sizeof(*p));

		if (!p) {
			list->nomem = true;
			return NL_STOP;
		}
		list->m = p;
		list->alloc = n;
	}
	if (fo_parse(msg, &list->m[list->nr]) < 0)
		return NL_SKIP;
	list->nr++;
	return NL_OK;
}

/* The master of @ifindex (itself or one of its lowers), into @m */
static int fo_get(struct nl_sock *sk, uint32_t ifindex, struct fo_master *m)
{
	struct fo_list list = { 0 };
	struct nl_msg *msg;
	int err;

	msg = fo_msg(NET_FAILOVER_CMD_GET, 0);
	if (nla_put_u32(msg, NET_FAILOVER_A_IFINDEX, ifindex) < 0)
		out_of_memory();
	err = fo_transact(sk, msg, list_cb, &list);
	if (list.nomem)
		out_of_memory();
	if (!err && list.nr != 1)
		err = -NLE_PARSE_ERR;
	if (!err)
		*m = list.m[0];
	free(list.m);
	return err;
}

/* Every master of the network namespace, into @list */
static int fo_dump(struct nl_sock *sk, struct fo_list *list)
{
	int err, i;

	for (i = 0; i < DUMP_RETRIES; i++) {
		list->nr = 0;
		err = fo_transact(sk, fo_msg(NET_FAILOVER_CMD_GET, NLM_F_DUMP),
				  list_cb, list);
		if (list->nomem)
			out_of_memory();
		if (err != -NLE_DUMP_INTR)
			break;
	}
	return err;
}

/* The ifindex of @name; exits 1 when there is no such device */
static uint32_t fo_ifindex(const char *name)
{
	unsigned int ifindex = 0;

	if (strlen(name) < IF_NAMESIZE)
		ifindex = if_nametoindex(name);
	if (!ifindex) {
		fprintf(stderr, PROG ": %s: no such device\n", name);
		exit(EXIT_FAILURE);
	}
	return ifindex;
}

/* ---- output ------------------------------------------------------------ */

static bool has(uint32_t seen, int attr)
{
	return seen & (1u << attr);
}

/* The lower of @m whose ifindex is @ifindex, or NULL */
static const struct fo_lower *lower_by_index(const struct fo_master *m,
					     uint32_t ifindex)
{
	int r;

	for (r = 0; r < NR_LOWERS; r++) {
		const struct fo_lower *l = &m->lower[r];

		if (l->present && has(l->seen, NET_FAILOVER_A_LOWER_IFINDEX) &&
		    l->val[NET_FAILOVER_A_LOWER_IFINDEX] == ifindex)
			return l;
	}
	return NULL;
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

/* "key":N, "key":true/false or "key":null */
static void json_val(const char *key, uint32_t seen, const uint32_t *val,
		     int attr, bool boolean, bool *first)
{
	json_key(key, first);
	if (!has(seen, attr))
		printf("null");
	else if (boolean)
		printf("%s", val[attr] ? "true" : "false");
	else
		printf("%" PRIu32, val[attr]);
}

/* "key":"name","key_ifindex":N for a lower, null for none */
static void json_ref(const char *key, const struct fo_lower *l,
		     uint32_t ifindex, bool *first)
{
	char ikey[32];

	json_key(key, first);
	if (l && l->name[0])
		json_string(l->name);
	else
		printf("null");
	snprintf(ikey, sizeof(ikey), "%s_ifindex", key);
	json_key(ikey, first);
	if (ifindex)
		printf("%" PRIu32, ifindex);
	else
		printf("null");
}

static uint32_t lower_ifindex(const struct fo_lower *l)
{
	return l->present && has(l->seen, NET_FAILOVER_A_LOWER_IFINDEX) ?
	       l->val[NET_FAILOVER_A_LOWER_IFINDEX] : 0;
}

static uint32_t active_ifindex(const struct fo_master *m)
{
	return has(m->seen, NET_FAILOVER_A_ACTIVE) ?
	       m->val[NET_FAILOVER_A_ACTIVE] : 0;
}

static void show_json(const struct fo_master *m)
{
	const struct fo_lower *p = &m->lower[PRIMARY];
	bool first = true, lfirst = true;
	int r;

	putchar('{');
	json_key("ifname", &first);
	json_string(m->name);
	json_val("ifindex", m->seen, m->val, NET_FAILOVER_A_IFINDEX, false,
		 &first);
	json_ref("primary", p->present ? p : NULL, lower_ifindex(p), &first);
	json_ref("standby", m->lower[STANDBY].present ? &m->lower[STANDBY] :
		 NULL, lower_ifindex(&m->lower[STANDBY]), &first);
	json_ref("active", lower_by_index(m, active_ifindex(m)),
		 active_ifindex(m), &first);
	json_val("switches", m->seen, m->val, NET_FAILOVER_A_SWITCHES, false,
		 &first);
	json_val("force_standby", m->seen, m->val,
		 NET_FAILOVER_A_FORCE_STANDBY, true, &first);
	json_val("holddown_ms", m->seen, m->val, NET_FAILOVER_A_HOLDDOWN_MS,
		 false, &first);
	json_val("peer_notify", m->seen, m->val, NET_FAILOVER_A_PEER_NOTIFY,
		 false, &first);
	json_key("primary_blocked", &first);
	if (p->present && has(p->seen, NET_FAILOVER_A_LOWER_BLOCKED))
		printf("%s", p->val[NET_FAILOVER_A_LOWER_BLOCKED] ?
		       "true" : "false");
	else
		printf("null");
	json_val("tx_skb_sharing", m->seen, m->val,
		 NET_FAILOVER_A_TX_SKB_SHARING, true, &first);
	json_key("lowers", &first);
	putchar('[');
	for (r = 0; r < NR_LOWERS; r++) {
		const struct fo_lower *l = &m->lower[r];
		bool f = true;

		if (!l->present)
			continue;
		printf("%s{", lfirst ? "" : ",");
		lfirst = false;
		json_key("ifname", &f);
		json_string(l->name);
		json_val("ifindex", l->seen, l->val,
			 NET_FAILOVER_A_LOWER_IFINDEX, false, &f);
		json_key("role", &f);
		json_string(role_name[r]);
		json_val("active", l->seen, l->val,
			 NET_FAILOVER_A_LOWER_ACTIVE, true, &f);
		json_val("link", l->seen, l->val, NET_FAILOVER_A_LOWER_LINK,
			 true, &f);
		json_val("activations", l->seen, l->val,
			 NET_FAILOVER_A_LOWER_ACTIVATIONS, false, &f);
		json_val("deactivations", l->seen, l->val,
			 NET_FAILOVER_A_LOWER_DEACTIVATIONS, false, &f);
		json_val("blocked", l->seen, l->val,
			 NET_FAILOVER_A_LOWER_BLOCKED, true, &f);
		putchar('}');
	}
	printf("]}");
}

static void text_ref(const char *label, const struct fo_lower *l,
		     uint32_t ifindex)
{
	printf(" %s ", label);
	if (!ifindex)
		printf("none");
	else
		printf("%s (%" PRIu32 ")", l && l->name[0] ? l->name : "?",
		       ifindex);
}

static void text_val(const char *label, uint32_t seen, const uint32_t *val,
		     int attr, const char *yes, const char *no)
{
	if (!has(seen, attr))
		printf(" %s ?", label);
	else if (yes)
		printf(" %s %s", label, val[attr] ? yes : no);
	else
		printf(" %s %" PRIu32, label, val[attr]);
}

/*
 * One master: @sep goes between its lines ("\n   " for show, where every
 * item starts with a space; " |" for monitor, one line per event).
 */
static void show_text(const struct fo_master *m, const char *sep)
{
	const struct fo_lower *p = &m->lower[PRIMARY];
	int r;

	printf("%s: ifindex %" PRIu32 "%s", m->name,
	       m->val[NET_FAILOVER_A_IFINDEX], sep);
	text_ref("primary", p, lower_ifindex(p));
	text_ref("standby", &m->lower[STANDBY],
		 lower_ifindex(&m->lower[STANDBY]));
	text_ref("active", lower_by_index(m, active_ifindex(m)),
		 active_ifindex(m));
	fputs(sep, stdout);
	text_val("switches", m->seen, m->val, NET_FAILOVER_A_SWITCHES,
		 NULL, NULL);
	text_val("force_standby", m->seen, m->val,
		 NET_FAILOVER_A_FORCE_STANDBY, "on", "off");
	text_val("holddown_ms", m->seen, m->val, NET_FAILOVER_A_HOLDDOWN_MS,
		 NULL, NULL);
	text_val("peer_notify", m->seen, m->val, NET_FAILOVER_A_PEER_NOTIFY,
		 NULL, NULL);
	if (p->present)
		text_val("primary_blocked", p->seen, p->val,
			 NET_FAILOVER_A_LOWER_BLOCKED, "yes", "no");
	else
		printf(" primary_blocked no");
	text_val("tx_skb_sharing", m->seen, m->val,
		 NET_FAILOVER_A_TX_SKB_SHARING, "on", "off");
	for (r = 0; r < NR_LOWERS; r++) {
		const struct fo_lower *l = &m->lower[r];

		if (!l->present)
			continue;
		printf("%s lower %s (%" PRIu32 "): role %s", sep, l->name,
		       lower_ifindex(l), role_name[r]);
		text_val("active", l->seen, l->val,
			 NET_FAILOVER_A_LOWER_ACTIVE, "yes", "no");
		text_val("link", l->seen, l->val, NET_FAILOVER_A_LOWER_LINK,
			 "up", "down");
		text_val("activations", l->seen, l->val,
			 NET_FAILOVER_A_LOWER_ACTIVATIONS, NULL, NULL);
		text_val("deactivations", l->seen, l->val,
			 NET_FAILOVER_A_LOWER_DEACTIVATIONS, NULL, NULL);
		text_val("blocked", l->seen, l->val,
			 NET_FAILOVER_A_LOWER_BLOCKED, "yes", "no");
	}
	putchar('\n');
}

/* ---- show, monitor ----------------------------------------------------- */

static int cmd_show(int argc, char **argv)
{
	struct fo_list list = { 0 };
	struct nl_sock *sk;
	size_t i;
	int err;

	if (argc > 1)
		usage_error("show: unexpected argument '%s'", argv[1]);
	sk = fo_socket();
	if (argc == 1) {
		list.m = malloc(sizeof(*list.m));
		if (!list.m)
			out_of_memory();
		err = fo_get(sk, fo_ifindex(argv[0]), list.m);
		list.nr = 1;
	} else {
		err = fo_dump(sk, &list);
	}
	if (err < 0) {
		fo_print_ack(argc ? argv[0] : "cannot list the masters", err);
		free(list.m);
		return EXIT_FAILURE;
	}
	if (json)
		putchar('[');
	for (i = 0; i < list.nr; i++) {
		if (json) {
			if (i)
				putchar(',');
			show_json(&list.m[i]);
		} else {
			if (i)
				putchar('\n');
			show_text(&list.m[i], "\n   ");
		}
	}
	if (json)
		printf("]\n");
	free(list.m);
	return fflush(stdout) ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int event_cb(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gnlh = nlmsg_data(nlmsg_hdr(msg));
	struct fo_master m;

	(void)arg;
	if (nlmsg_hdr(msg)->nlmsg_type != family ||
	    gnlh->cmd != NET_FAILOVER_CMD_NTF)
		return NL_SKIP;
	if (fo_parse(msg, &m) < 0) {
		fprintf(stderr, PROG ": unparsable event\n");
		return NL_SKIP;
	}
	if (json) {
		show_json(&m);
		putchar('\n');
	} else {
		show_text(&m, " |");
	}
	fflush(stdout);
	return NL_OK;
}

static int cmd_monitor(int argc, char **argv)
{
	struct nl_sock *sk;
	int grp, err;

	if (argc)
		usage_error("monitor: unexpected argument '%s'", argv[0]);
	sk = fo_socket();
	grp = genl_ctrl_resolve_grp(sk, NET_FAILOVER_GENL_NAME,
				    NET_FAILOVER_MCGRP_EVENTS);
	if (grp < 0) {
		fo_print_ack("no multicast group " NET_FAILOVER_MCGRP_EVENTS,
			     grp);
		return EXIT_FAILURE;
	}
	err = nl_socket_add_membership(sk, grp);
	if (err < 0) {
		fo_print_ack("cannot join " NET_FAILOVER_MCGRP_EVENTS, err);
		return EXIT_FAILURE;
	}
	nl_socket_disable_seq_check(sk);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, event_cb, NULL);
	/* Tells a caller (a test) that no event can be missed from here on */
	fprintf(stderr, PROG ": monitoring " NET_FAILOVER_GENL_NAME "/"
		NET_FAILOVER_MCGRP_EVENTS "\n");
	for (;;) {
		err = nl_recvmsgs_default(sk);
		if (err == -NLE_NOMEM) {	/* ENOBUFS: events were lost */
			fprintf(stderr, PROG ": events lost (receive buffer overrun)\n");
			continue;
		}
		if (err < 0) {
			fo_print_ack("monitor", err);
			return EXIT_FAILURE;
		}
	}
}

/* ---- set, set-lower ---------------------------------------------------- */

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

/* Send a SET built by the caller; 0 or EXIT_FAILURE after a message */
static int fo_set(struct nl_sock *sk, struct nl_msg *msg, const char *name)
{
	int err = fo_transact(sk, msg, NULL, NULL);

	if (err < 0) {
		fo_print_ack(name, err);
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

static int cmd_set(int argc, char **argv)
{
	bool has_fs = false, has_hd = false, has_pn = false, has_ts = false;
	uint32_t hd = 0, pn = 0, ifindex;
	uint8_t fs = 0, ts = 0;
	struct fo_master m;
	struct nl_sock *sk;
	struct nl_msg *msg;
	int i, err;

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
			if (!no_check)
				usage_error("tx-skb-sharing is read-only: %s",
					    SHARING_FIXED);
			/* --no-check: let the kernel refuse it */
			ts = parse_onoff(argv[i], val);
			has_ts = true;
		} else {
			usage_error("set: unknown or repeated setting '%s'",
				    argv[i]);
		}
	}
	ifindex = fo_ifindex(argv[0]);
	sk = fo_socket();
	if (!no_check) {
		/* The kernel takes a lower too; the command line says MASTER */
		err = fo_get(sk, ifindex, &m);
		if (err < 0) {
			fo_print_ack(argv[0], err);
			return EXIT_FAILURE;
		}
		if (m.val[NET_FAILOVER_A_IFINDEX] != ifindex) {
			fprintf(stderr, PROG ": %s: not a net_failover master (a lower of %s)\n",
				argv[0], m.name);
			return EXIT_FAILURE;
		}
	}

	msg = fo_msg(NET_FAILOVER_CMD_SET, 0);
	if (nla_put_u32(msg, NET_FAILOVER_A_IFINDEX, ifindex) ||
	    (has_fs && nla_put_u8(msg, NET_FAILOVER_A_FORCE_STANDBY, fs)) ||
	    (has_hd && nla_put_u32(msg, NET_FAILOVER_A_HOLDDOWN_MS, hd)) ||
	    (has_pn && nla_put_u8(msg, NET_FAILOVER_A_PEER_NOTIFY, pn)) ||
	    (has_ts && nla_put_u8(msg, NET_FAILOVER_A_TX_SKB_SHARING, ts)))
		out_of_memory();
	return fo_set(sk, msg, argv[0]);
}

static int cmd_set_lower(int argc, char **argv)
{
	const struct fo_lower *l;
	struct fo_master m;
	struct nl_sock *sk;
	struct nlattr *nest;
	struct nl_msg *msg;
	uint32_t ifindex;
	uint8_t blocked;
	int err;

	if (argc < 1)
		usage_error("set-lower: missing LOWER");
	if (argc < 2)
		usage_error("set-lower: nothing to change");
	if (strcmp(argv[1], "blocked"))
		usage_error("set-lower: unknown setting '%s'", argv[1]);
	blocked = parse_onoff(argv[1], argc > 2 ? argv[2] : NULL);
	if (argc > 3)
		usage_error("set-lower: unexpected argument '%s'", argv[3]);
	ifindex = fo_ifindex(argv[0]);
	sk = fo_socket();

	/* Which nest: the lower's role, as its master reports it */
	err = fo_get(sk, ifindex, &m);
	if (err < 0) {
		fo_print_ack(argv[0], err);
		return EXIT_FAILURE;
	}
	l = lower_by_index(&m, ifindex);
	if (!l) {
		fprintf(stderr, PROG ": %s: not a net_failover lower\n",
			argv[0]);
		return EXIT_FAILURE;
	}

	/* A standby is sent as asked: the kernel explains the refusal. */
	msg = fo_msg(NET_FAILOVER_CMD_SET, 0);
	if (nla_put_u32(msg, NET_FAILOVER_A_IFINDEX, ifindex))
		out_of_memory();
	nest = nla_nest_start(msg, l == &m.lower[PRIMARY] ?
				   NET_FAILOVER_A_PRIMARY :
				   NET_FAILOVER_A_STANDBY);
	if (!nest || nla_put_u8(msg, NET_FAILOVER_A_LOWER_BLOCKED, blocked))
		out_of_memory();
	nla_nest_end(msg, nest);
	return fo_set(sk, msg, argv[0]);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json",	no_argument,	NULL, 'j' },
		{ "no-check",	no_argument,	NULL, 'n' },
		{ "help",	no_argument,	NULL, 'h' },
		{ NULL,		0,		NULL, 0 },
	};
	int (*fn)(int argc, char **argv);
	const char *cmd;
	int c;

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
		fn = cmd_show;
	} else if (!strcmp(cmd, "set")) {
		fn = cmd_set;
	} else if (!strcmp(cmd, "set-lower")) {
		fn = cmd_set_lower;
	} else if (!strcmp(cmd, "monitor")) {
		fn = cmd_monitor;
	} else {
		usage_error("unknown command '%s'", cmd);
	}
	/* The socket goes with the process */
	return fn(argc, argv);
}
