// SPDX-License-Identifier: GPL-2.0
/*
 * vf-steer-probe - does this NIC steer a VF's MAC before the guest is ready?
 *
 * Host-side probe for virtio-net failover (net_failover). A failover guest
 * receives through the PF/virtio path until its VF driver is up. A PF driver
 * that programs the VF's MAC filter as soon as the MAC is assigned steers
 * the guest's frames to a VF nobody reads in that window, and they are lost.
 *
 * The probe puts a MAC on the PF as a secondary unicast address, sends
 * frames to it from a second port or a peer, and captures on the PF and
 * the VF (AF_PACKET) to see where they land, in each state of the VF:
 * before assignment (control), MAC just assigned, driver unbound, driver
 * bound with the link down, up. Every setting it changes is restored, also
 * on SIGINT/SIGTERM/SIGHUP.
 *
 * rtnetlink through libnl-3. Model mode (--model-hook) replaces only the
 * VF configuration steps (netlink VF MAC, sysfs bind/unbind) by a command,
 * so that tests can run the unchanged capture and verdict code against a
 * software switch.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP	0x10000
#endif
#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING	23
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK	11
#endif

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define __noreturn	__attribute__((noreturn))
#define __printf(a, b)	__attribute__((format(printf, a, b)))

#define VSP_VERSION	"1.0"
#define PROBE_ETHERTYPE	0x88b5		/* IEEE 802 local experimental 1 */
#define PROBE_MAGIC	"VFSTEER1"
#define MAGIC_LEN	8
#define MAX_COUNT	1000
#define MAX_ERRS	8

enum exit_code {
	EX_SAFE		= 0,	/* probe done: the NIC does not steer early */
	EX_EARLY	= 1,	/* probe done: the NIC steers early */
	EX_USAGE	= 2,	/* bad command line */
	EX_DEVICE	= 3,	/* not a PF, VF out of range, interface unusable */
	EX_PERM		= 4,	/* EPERM/EACCES: needs CAP_NET_ADMIN/root */
	EX_REFUSED	= 5,	/* the driver (or model hook) refused a VF change */
	EX_NOTRAFFIC	= 6,	/* no probe frame arrived / sender failed */
	EX_RESTORE	= 7,	/* a setting could not be restored */
	EX_SYSTEM	= 8,	/* any other failure */
};

enum state_id {
	ST_BASELINE, ST_ASSIGNED, ST_LINKDIS, ST_UNBOUND, ST_BOUND_DOWN, ST_UP,
	NR_STATES
};

static const char * const state_name[NR_STATES] = {
	"baseline", "assigned", "link-disabled", "unbound", "bound-down", "up",
};

static const char * const state_desc[NR_STATES] = {
	"VF MAC not assigned yet (control)",
	"VF MAC just assigned",
	"VF MAC assigned, VF link state 'disable'",
	"VF driver unbound",
	"VF driver bound, link down",
	"VF up",
};

/* States before the guest is ready: frames must still reach the PF. */
static bool state_pre_ready(int s)
{
	return s == ST_ASSIGNED || s == ST_UNBOUND || s == ST_BOUND_DOWN;
}

struct state_result {
	bool tested;
	char skip[160];		/* why not tested */
	int sent;
	int pf_rx;		/* distinct probe frames captured on the PF */
	int vf_rx;		/* ... on the VF netdev */
	bool vf_capture;	/* a VF netdev existed to capture on */
	char vf_dev[IF_NAMESIZE];
	long long vf_counter;	/* PF driver's VF rx counter delta, -1: n/a */
	int vf_carrier;		/* -1 n/a, 0/1 */
	const char *where;	/* "pf", "vf", "both", "none" */
	bool pf_ok;		/* >= 90 % of the frames reached the PF */
};

struct vfinfo {
	bool found;
	unsigned char mac[ETH_ALEN];
	unsigned int vlan, qos;
	unsigned short proto;	/* host order */
	bool has_vlan_list;
	bool has_linkstate;
	unsigned int linkstate;
	bool has_stats;
	unsigned long long rx_packets;
};

struct linkinfo {
	unsigned int flags;
	unsigned char addr[ETH_ALEN];
	bool has_addr;
	unsigned int promiscuity;
	int num_vf;		/* -1: attribute absent */
	bool has_vflist;
	int mac_vf;		/* VF owning the looked-up MAC, -1: none */
	struct vfinfo vf;
};

static struct opts {
	const char *pf, *tx, *send_cmd, *vf_driver, *send_only;
	const char *model_hook, *model_vf, *model_id;
	int vf;
	unsigned char mac[ETH_ALEN];
	bool mac_set;
	int vlan, qos;
	unsigned short vlan_proto;
	int count, interval_ms, settle_ms, wait_ms, link_timeout_ms;
	bool json, verbose, quiet, preflight, link_disable;
	unsigned int tag;
	bool tag_set;
} o = {
	.vf = -1, .vlan_proto = ETH_P_8021Q, .count = 20, .interval_ms = 10,
	.settle_ms = 1000, .wait_ms = 500, .link_timeout_ms = 10000,
};

static struct ctx {
	int pf_ifindex, num_vf, tx_ifindex;
	unsigned char pf_mac[ETH_ALEN], tx_mac[ETH_ALEN];
	unsigned int pf_promisc;
	char vf_pci[64], vf_id[16], vf_drv[64];
	bool bound_orig, bound_now;
	struct vfinfo orig;
	unsigned int run_id;
	int memb_fd;
	struct state_result st[NR_STATES];
	const char *verdict;	/* NULL until the probe completed */
	char error[512];
	int preflight_ok;	/* -1 not run */
	char readback[160];
} c = { .memb_fd = -1, .preflight_ok = -1 };

/* What the probe changed, for the restore. */
static struct undo {
	bool vf_mac, vf_vlan, vf_link, vfdev_known, vfdev_changed;
	bool vfdev_up;
	unsigned char vfdev_addr[ETH_ALEN];
	char vfdev_name[IF_NAMESIZE];
} u;

static volatile sig_atomic_t g_stop;
static bool g_cleaning, g_cleaned;
static struct nl_sock *nl_sk;
static char nl_extack[256];
static char restore_err[MAX_ERRS][256];
static int n_restore_err;
static char restored[256];

static void cleanup(void);
static void report(int code);

static bool model(void)
{
	return o.model_hook;
}

/* ------------------------------------------------------------ messages */

static void progress(const char *fmt, ...)
{
	va_list ap;

	if (o.json || o.quiet)
		return;
	va_start(ap, fmt);
	fputs("vf-steer-probe: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void verbose(const char *fmt, ...)
{
	va_list ap;

	if (!o.verbose)
		return;
	va_start(ap, fmt);
	fputs("vf-steer-probe: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void restore_error(const char *fmt, ...)
{
	va_list ap;

	if (n_restore_err >= MAX_ERRS)
		return;
	va_start(ap, fmt);
	vsnprintf(restore_err[n_restore_err], sizeof(restore_err[0]), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vf-steer-probe: restore: %s\n",
		restore_err[n_restore_err]);
	n_restore_err++;
}

static void note_restored(const char *what)
{
	size_t len = strlen(restored);

	snprintf(restored + len, sizeof(restored) - len, "%s%s",
		 len ? ", " : "", what);
}

/* Restore, report and exit with @code (restore failures turn a verdict
 * into EX_RESTORE: the operator has to fix something by hand).
 */
static void __noreturn finish(int code)
{
	cleanup();
	if (n_restore_err && code <= EX_EARLY)
		code = EX_RESTORE;
	report(code);
	exit(code);
}

static void __noreturn __printf(2, 3)
fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c.error, sizeof(c.error), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vf-steer-probe: error: %s\n", c.error);
	finish(code);
}

static void __noreturn __printf(1, 2) usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vf-steer-probe: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\nTry 'vf-steer-probe --help'.\n", stderr);
	va_end(ap);
	exit(EX_USAGE);
}

static void check_stop(void)
{
	int sig = g_stop;

	if (!sig || g_cleaning)
		return;
	fail(128 + sig, "interrupted by %s: restoring and exiting",
	     strsignal(sig));
}

/* Fail for a netlink/sysfs error, mapping EPERM/EACCES to EX_PERM. */
static void __noreturn
fail_errno(int code, int err, const char *what)
{
	if (err == EPERM || err == EACCES)
		fail(EX_PERM, "%s: %s: needs CAP_NET_ADMIN (run as root)",
		     what, strerror(err));
	fail(code, "%s: %s%s%s", what, strerror(err),
	     nl_extack[0] ? ": " : "", nl_extack);
}

static const char *mac_str(const unsigned char *m)
{
	static char buf[4][18];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%02x:%02x:%02x:%02x:%02x:%02x",
		 m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf[i];
}

static int parse_mac(const char *s, unsigned char *m)
{
	unsigned int b[ETH_ALEN];
	char end;
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &end) != 6)
		return -1;
	for (i = 0; i < ETH_ALEN; i++) {
		if (b[i] > 0xff)
			return -1;
		m[i] = b[i];
	}
	return 0;
}

/* Copy @src into @dst of @len bytes, truncating. */
static void copy_str(char *dst, const char *src, size_t len)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	long long end = now_ms() + ms;
	long long left;

	while (!(g_stop && !g_cleaning) && (left = end - now_ms()) > 0)
		poll(NULL, 0, left > 100 ? 100 : left);
	check_stop();
}

/* --------------------------------------------------------------- sysfs */

static int sysfs_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

static int sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

/* Basename of a symlink's target; "" and an error if there is none. */
static int link_base(const char *path, char *out, size_t len)
{
	char buf[512];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	char *b;

	out[0] = 0;
	if (n < 0)
		return -errno;
	buf[n] = 0;
	b = strrchr(buf, '/');
	copy_str(out, b ? b + 1 : buf, len);
	return 0;
}

/* ------------------------------------------------------------ netlink */

static void nl_put(struct nl_msg *msg, int type, size_t len, const void *data)
{
	if (nla_put(msg, type, len, data) < 0)
		fail(EX_SYSTEM, "internal: netlink request too long");
}

static struct nlattr *nl_nest(struct nl_msg *msg, int type)
{
	struct nlattr *nest = nla_nest_start(msg, type);

	if (!nest)
		fail(EX_SYSTEM, "internal: netlink request too long");
	return nest;
}

static struct nl_msg *link_msg(int type, int ifindex, unsigned int change,
			       unsigned int flags)
{
	struct ifinfomsg ifi = {
		.ifi_family = AF_UNSPEC, .ifi_index = ifindex,
		.ifi_change = change, .ifi_flags = flags,
	};
	struct nl_msg *msg = nlmsg_alloc_simple(type, 0);

	if (!msg || nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0)
		fail(EX_SYSTEM, "out of memory");
	return msg;
}

/* A refused request: keep its errno (in @arg) and extack message. */
static int nl_error_cb(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct nlmsghdr *h = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off = sizeof(*e);

	(void)who;
	*(int *)arg = e->error;
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	off = NLMSG_ALIGN(off);
	if (off < (size_t)nlmsg_datalen(h) &&
	    !nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)e + off),
		       nlmsg_datalen(h) - off, NULL) && tb[NLMSGERR_ATTR_MSG])
		nla_strlcpy(nl_extack, tb[NLMSGERR_ATTR_MSG], sizeof(nl_extack));
	return NL_STOP;
}

static int nl_ack_cb(struct nl_msg *msg, void *arg)
{
	(void)msg;
	*(bool *)arg = true;
	return NL_STOP;
}

static int nl_reply_cb(struct nl_msg *msg, void *arg)
{
	struct nl_msg **reply = arg;

	if (!*reply) {
		nlmsg_get(msg);
		*reply = msg;
	}
	return NL_OK;
}

/*
 * Send @msg (and free it), wait for the kernel's ACK: 0 or -errno (the
 * extack message, if any, in nl_extack). The answer to a request is
 * returned in *@reply (nlmsg_free() it) when @reply is given.
 */
static int nl_talk(struct nl_msg *msg, struct nl_msg **reply)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	bool done = false;
	int kerr = 0, err;

	nl_extack[0] = 0;
	if (reply)
		*reply = NULL;
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_err(cb, NL_CB_CUSTOM, nl_error_cb, &kerr);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, nl_ack_cb, &done);
	if (reply)
		nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, nl_reply_cb, reply);
	errno = 0;
	err = nl_send_auto(nl_sk, msg);
	while (err >= 0 && !done)
		err = nl_recvmsgs(nl_sk, cb);
	nl_cb_put(cb);
	nlmsg_free(msg);
	if (err >= 0)
		return 0;
	if (reply) {
		nlmsg_free(*reply);
		*reply = NULL;
	}
	/* The kernel's errno, or that of the socket call, or the protocol. */
	return kerr ? kerr : err == -NLE_NOMEM ? -ENOMEM : -(errno ? : EPROTO);
}

static void parse_vf(struct nlattr *vi, struct vfinfo *v, int *idx)
{
	static struct nla_policy pol[IFLA_VF_MAX + 1] = {
		[IFLA_VF_MAC] = { .minlen = sizeof(struct ifla_vf_mac) },
		[IFLA_VF_VLAN] = { .minlen = sizeof(struct ifla_vf_vlan) },
		[IFLA_VF_VLAN_LIST] = { .type = NLA_NESTED },
		[IFLA_VF_LINK_STATE] = {
			.minlen = sizeof(struct ifla_vf_link_state) },
		[IFLA_VF_STATS] = { .type = NLA_NESTED },
	};
	struct nlattr *tb[IFLA_VF_MAX + 1], *st[IFLA_VF_STATS_MAX + 1], *a;

	memset(v, 0, sizeof(*v));
	v->proto = ETH_P_8021Q;
	*idx = -1;
	if (nla_parse_nested(tb, IFLA_VF_MAX, vi, pol) < 0)
		return;
	if (tb[IFLA_VF_MAC]) {
		struct ifla_vf_mac *m = nla_data(tb[IFLA_VF_MAC]);

		*idx = m->vf;
		memcpy(v->mac, m->mac, ETH_ALEN);
	}
	a = tb[IFLA_VF_VLAN_LIST] ? nla_data(tb[IFLA_VF_VLAN_LIST]) : NULL;
	if (a && nla_ok(a, nla_len(tb[IFLA_VF_VLAN_LIST])) &&
	    nla_len(a) >= (int)sizeof(struct ifla_vf_vlan_info)) {
		struct ifla_vf_vlan_info *vl = nla_data(a);

		v->vlan = vl->vlan;
		v->qos = vl->qos;
		v->proto = ntohs(vl->vlan_proto) ? : ETH_P_8021Q;
		v->has_vlan_list = true;
	} else if (tb[IFLA_VF_VLAN]) {
		struct ifla_vf_vlan *vl = nla_data(tb[IFLA_VF_VLAN]);

		v->vlan = vl->vlan;
		v->qos = vl->qos;
	}
	if (tb[IFLA_VF_LINK_STATE]) {
		struct ifla_vf_link_state *ls = nla_data(tb[IFLA_VF_LINK_STATE]);

		v->linkstate = ls->link_state;
		v->has_linkstate = true;
	}
	if (tb[IFLA_VF_STATS] &&
	    !nla_parse_nested(st, IFLA_VF_STATS_MAX, tb[IFLA_VF_STATS], NULL) &&
	    st[IFLA_VF_STATS_RX_PACKETS] &&
	    nla_len(st[IFLA_VF_STATS_RX_PACKETS]) >= 8) {
		v->rx_packets = nla_get_u64(st[IFLA_VF_STATS_RX_PACKETS]);
		v->has_stats = true;
	}
	v->found = *idx >= 0;
}

/* RTM_GETLINK with VF info; @vf/@find may be -1/NULL. 0 or -errno. */
static int get_link(int ifindex, int vf, const unsigned char *find,
		    struct linkinfo *li)
{
	static struct nla_policy pol[IFLA_MAX + 1] = {
		[IFLA_PROMISCUITY] = { .type = NLA_U32 },
		[IFLA_NUM_VF] = { .type = NLA_U32 },
		[IFLA_VFINFO_LIST] = { .type = NLA_NESTED },
	};
	struct nlattr *tb[IFLA_MAX + 1], *vi;
	struct nl_msg *msg, *reply;
	struct nlmsghdr *h;
	int err, rem;

	memset(li, 0, sizeof(*li));
	li->num_vf = -1;
	li->mac_vf = -1;
	msg = link_msg(RTM_GETLINK, ifindex, 0, 0);
	if (nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_VF) < 0)
		fail(EX_SYSTEM, "internal: netlink request too long");
	err = nl_talk(msg, &reply);
	if (err)
		return err;
	h = reply ? nlmsg_hdr(reply) : NULL;
	if (!h || h->nlmsg_type != RTM_NEWLINK ||
	    nlmsg_parse(h, sizeof(struct ifinfomsg), tb, IFLA_MAX, pol) < 0) {
		nlmsg_free(reply);
		return -EPROTO;
	}
	li->flags = ((struct ifinfomsg *)nlmsg_data(h))->ifi_flags;
	if (tb[IFLA_ADDRESS] && nla_len(tb[IFLA_ADDRESS]) == ETH_ALEN) {
		memcpy(li->addr, nla_data(tb[IFLA_ADDRESS]), ETH_ALEN);
		li->has_addr = true;
	}
	if (tb[IFLA_PROMISCUITY])
		li->promiscuity = nla_get_u32(tb[IFLA_PROMISCUITY]);
	if (tb[IFLA_NUM_VF])
		li->num_vf = nla_get_u32(tb[IFLA_NUM_VF]);
	li->has_vflist = tb[IFLA_VFINFO_LIST];
	if (li->has_vflist) {
		nla_for_each_nested(vi, tb[IFLA_VFINFO_LIST], rem) {
			struct vfinfo v;
			int idx;

			if (nla_type(vi) != IFLA_VF_INFO)
				continue;
			parse_vf(vi, &v, &idx);
			if (idx >= 0 && idx == vf)
				li->vf = v;
			if (find && idx >= 0 && !memcmp(v.mac, find, ETH_ALEN))
				li->mac_vf = idx;
		}
	}
	nlmsg_free(reply);
	return 0;
}

/* Change VF @vf of the PF: MAC and/or VLAN and/or link state. */
static int set_vf(const unsigned char *mac, const struct vfinfo *vlan,
		  int linkstate)
{
	struct nl_msg *msg = link_msg(RTM_SETLINK, c.pf_ifindex, 0, 0);
	struct nlattr *list, *info, *vl;

	list = nl_nest(msg, IFLA_VFINFO_LIST);
	info = nl_nest(msg, IFLA_VF_INFO);
	if (mac) {
		struct ifla_vf_mac m = { .vf = o.vf };

		memcpy(m.mac, mac, ETH_ALEN);
		nl_put(msg, IFLA_VF_MAC, sizeof(m), &m);
	}
	if (vlan) {
		struct ifla_vf_vlan_info vi = {
			.vf = o.vf, .vlan = vlan->vlan, .qos = vlan->qos,
			.vlan_proto = htons(vlan->proto),
		};

		vl = nl_nest(msg, IFLA_VF_VLAN_LIST);
		nl_put(msg, IFLA_VF_VLAN_INFO, sizeof(vi), &vi);
		nla_nest_end(msg, vl);
	}
	if (linkstate >= 0) {
		struct ifla_vf_link_state ls = {
			.vf = o.vf, .link_state = linkstate,
		};

		nl_put(msg, IFLA_VF_LINK_STATE, sizeof(ls), &ls);
	}
	nla_nest_end(msg, info);
	nla_nest_end(msg, list);
	return nl_talk(msg, NULL);
}

/* Admin state (@up: 0/1, -1 unchanged) and/or MAC of a netdev. */
static int set_link(int ifindex, int up, const unsigned char *addr)
{
	struct nl_msg *msg = link_msg(RTM_SETLINK, ifindex,
				      up >= 0 ? IFF_UP : 0, up > 0 ? IFF_UP : 0);

	if (addr)
		nl_put(msg, IFLA_ADDRESS, ETH_ALEN, addr);
	return nl_talk(msg, NULL);
}

/* ----------------------------------------------------- child commands */

/*
 * Run "sh -c 'CMD "$@"' vf-steer-probe ARGS..." with stdout on stderr;
 * a @step (model hook) in a process group of its own, which a signal for
 * the probe, Ctrl-C at the terminal too, does not reach.
 */
static pid_t spawn(const char *cmd, const char *const args[], int nargs,
		   const char *const env[], bool step)
{
	const char *argv[16];
	char script[4096];
	pid_t pid;
	int i, n = 0;

	snprintf(script, sizeof(script), "%s \"$@\"", cmd);
	argv[n++] = "sh";
	argv[n++] = "-c";
	argv[n++] = script;
	argv[n++] = "vf-steer-probe";
	for (i = 0; i < nargs && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (step)
			setpgid(0, 0);
		dup2(STDERR_FILENO, STDOUT_FILENO);
		for (i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execv("/bin/sh", (char **)argv);
		_exit(127);
	}
	if (step)
		setpgid(pid, pid);
	return pid;
}

/*
 * Exit status of @pid (-1 timeout/killed); SIGTERM it if told to stop,
 * unless it is a @step of spawn(): a configuration step runs to its end,
 * or the probe would not know what to restore (the caller's next
 * check_stop() stops then). A step that times out is killed, all of it.
 */
static int reap(pid_t pid, int timeout_ms, void (*tick)(void), bool step)
{
	long long end = now_ms() + timeout_ms;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		bool stop = g_stop && !g_cleaning && !step;

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (r < 0 && errno != EINTR)
			return -1;
		if (stop || now_ms() > end) {
			kill(step ? -pid : pid, step ? SIGKILL : SIGTERM);
			waitpid(pid, &status, 0);
			check_stop();
			return -1;
		}
		if (tick)
			tick();
		else
			poll(NULL, 0, 20);
	}
}

/* Model mode: tell the hook about EVENT. Returns its exit status. */
static int hook(const char *event)
{
	char vlan[16];
	const char *args[3] = { event, mac_str(o.mac), vlan };
	pid_t pid;
	int rc;

	snprintf(vlan, sizeof(vlan), "%d", o.vlan);
	verbose("model hook: %s", event);
	pid = spawn(o.model_hook, args, 3, NULL, true);
	if (pid < 0)
		return -1;
	rc = reap(pid, 60000, NULL, true);
	if (rc)
		fprintf(stderr, "vf-steer-probe: model hook '%s' exited %d\n",
			event, rc);
	return rc;
}

/* ------------------------------------------------------ the VF and PF */

/* The VF's netdev in this namespace: ifindex (name in @name) or 0. */
static int vf_netdev(char *name)
{
	char path[256];
	struct dirent *d;
	DIR *dir;
	int idx = 0;

	name[0] = 0;
	if (model()) {
		idx = if_nametoindex(o.model_vf);
		if (idx)
			copy_str(name, o.model_vf, IF_NAMESIZE);
		return idx;
	}
	if (!c.vf_pci[0])
		return 0;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/net", c.vf_pci);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		copy_str(name, d->d_name, IF_NAMESIZE);
		idx = if_nametoindex(name);
		break;
	}
	closedir(dir);
	return idx;
}

static int wait_vf_netdev(bool present, char *name)
{
	long long end = now_ms() + o.link_timeout_ms;
	int idx;

	for (;;) {
		idx = vf_netdev(name);
		if (!!idx == present || now_ms() > end)
			return idx;
		if (g_cleaning)
			poll(NULL, 0, 50);
		else
			sleep_ms(50);
	}
}

static void read_vf_driver(void)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver",
		 c.vf_pci);
	if (link_base(path, c.vf_drv, sizeof(c.vf_drv)) < 0)
		c.vf_drv[0] = 0;
}

/* Bind (@bind) or unbind the VF's driver. 0 or -errno. */
static int vf_bind(bool bind)
{
	char path[256];
	int err;

	if (model()) {
		err = hook(bind ? "bind" : "unbind") ? -EIO : 0;
		if (!err)
			c.bound_now = bind;
		return err;
	}
	if (!bind) {
		snprintf(path, sizeof(path),
			 "/sys/bus/pci/devices/%s/driver/unbind", c.vf_pci);
		err = sysfs_write(path, c.vf_pci);
	} else {
		const char *drv = o.vf_driver ? o.vf_driver : c.vf_drv;

		if (drv[0])
			snprintf(path, sizeof(path),
				 "/sys/bus/pci/drivers/%s/bind", drv);
		else
			snprintf(path, sizeof(path),
				 "/sys/bus/pci/drivers_probe");
		err = sysfs_write(path, c.vf_pci);
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver",
		 c.vf_pci);
	c.bound_now = access(path, F_OK) == 0;
	if (!err && c.bound_now != bind)
		err = -ENODEV;
	return err;
}

/* Set the VF netdev's admin state (model: then tell the hook). */
static int vfdev_set_up(int idx, bool up)
{
	int err = set_link(idx, up, NULL);

	if (!err && model())
		hook(up ? "up" : "down");
	return err;
}

static long long vf_counter(void)
{
	struct linkinfo li;

	if (model() || get_link(c.pf_ifindex, o.vf, NULL, &li) ||
	    !li.vf.found || !li.vf.has_stats)
		return -1;
	return li.vf.rx_packets;
}

/* ------------------------------------------------------ packet sockets */

static int pkt_socket(void)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0 && (errno == EPERM || errno == EACCES))
		fail(EX_PERM, "cannot open a packet socket: %s: needs CAP_NET_RAW and CAP_NET_ADMIN (run as root)",
		     strerror(errno));
	if (fd < 0)
		fail(EX_SYSTEM, "packet socket: %s", strerror(errno));
	return fd;
}

/* Capture socket on @ifindex that only takes probe frames. */
static int cap_open(int ifindex)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROBE_ETHERTYPE, 4, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_8021Q, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_8021AD, 0, 3),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 16),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROBE_ETHERTYPE, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = {
		.len = ARRAY_SIZE(code), .filter = code,
	};
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = ifindex,
	};
	int fd = pkt_socket(), one = 1, rcvbuf = 1 << 20;

	/* Filter first, then bind: nothing unfiltered gets queued. */
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))
		fail(EX_SYSTEM, "SO_ATTACH_FILTER: %s", strerror(errno));
	setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		fail(EX_SYSTEM, "bind packet socket to ifindex %d: %s",
		     ifindex, strerror(errno));
	return fd;
}

static unsigned int get16(const unsigned char *p)
{
	return p[0] << 8 | p[1];
}

static unsigned int get32(const unsigned char *p)
{
	return (unsigned int)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static void put16(unsigned char *p, unsigned int v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(unsigned char *p, unsigned int v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static size_t build_frame(unsigned char *f, const unsigned char *src,
			  unsigned int tag, unsigned int seq)
{
	size_t off = 12;

	memset(f, 0, 64);
	memcpy(f, o.mac, ETH_ALEN);
	memcpy(f + ETH_ALEN, src, ETH_ALEN);
	if (o.vlan) {
		put16(f + off, o.vlan_proto);
		put16(f + off + 2, o.vlan);
		off += 4;
	}
	put16(f + off, PROBE_ETHERTYPE);
	off += 2;
	memcpy(f + off, PROBE_MAGIC, MAGIC_LEN);
	put32(f + off + MAGIC_LEN, tag);
	put16(f + off + MAGIC_LEN + 4, seq);
	return 64;
}

/* Sequence number of a probe frame carrying @tag, or -1. */
static int frame_seq(const unsigned char *f, ssize_t n, unsigned int tag)
{
	size_t off = 12;
	unsigned int type;

	if (n < 14)
		return -1;
	type = get16(f + off);
	if ((type == ETH_P_8021Q || type == ETH_P_8021AD) && n >= 18) {
		off += 4;
		type = get16(f + off);
	}
	off += 2;
	if (type != PROBE_ETHERTYPE || (size_t)n < off + MAGIC_LEN + 6 ||
	    memcmp(f + off, PROBE_MAGIC, MAGIC_LEN) ||
	    get32(f + off + MAGIC_LEN) != tag)
		return -1;
	return get16(f + off + MAGIC_LEN + 4);
}

struct cap {
	int fd;
	int got;
	unsigned char seen[MAX_COUNT / 8 + 1];
};

static struct cap caps[2];
static int ncaps;
static unsigned int cur_tag;

static void cap_drain(struct cap *cp)
{
	unsigned char buf[2048];
	struct sockaddr_ll from;
	socklen_t fl;
	ssize_t n;
	int seq;

	for (;;) {
		fl = sizeof(from);
		n = recvfrom(cp->fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EINTR || errno == ENETDOWN)
				continue;
			return;
		}
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		seq = frame_seq(buf, n, cur_tag);
		if (seq < 0 || seq >= o.count ||
		    cp->seen[seq / 8] & (1 << (seq % 8)))
			continue;
		cp->seen[seq / 8] |= 1 << (seq % 8);
		cp->got++;
	}
}

/* Collect probe frames for @ms milliseconds. */
static void pump_for(int ms, bool stop)
{
	long long end = now_ms() + ms;
	struct pollfd pfd[2];
	long long left;
	int i;

	for (i = 0; i < ncaps; i++) {
		pfd[i].fd = caps[i].fd;
		pfd[i].events = POLLIN;
	}
	while (!g_stop && (left = end - now_ms()) > 0) {
		poll(pfd, ncaps, left);
		for (i = 0; i < ncaps; i++)
			cap_drain(&caps[i]);
	}
	for (i = 0; i < ncaps; i++)
		cap_drain(&caps[i]);
	if (stop)
		check_stop();
}

static void pump(int ms)
{
	pump_for(ms, true);
}

/* While a sender child runs: reap() handles a stop request. */
static void pump_tick(void)
{
	pump_for(20, false);
}

static int tx_open(int ifindex)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET, .sll_ifindex = ifindex,
	};
	int fd = pkt_socket();

	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		fail(EX_SYSTEM, "bind sender socket: %s", strerror(errno));
	return fd;
}

/* Send the probe burst from @ifindex; @between runs after each frame. */
static int send_burst(int fd, int ifindex, const unsigned char *src,
		      unsigned int tag, void (*between)(int))
{
	struct sockaddr_ll to = {
		.sll_family = AF_PACKET, .sll_ifindex = ifindex,
		.sll_halen = ETH_ALEN,
		.sll_protocol = htons(o.vlan ? o.vlan_proto : PROBE_ETHERTYPE),
	};
	unsigned char f[64];
	int i, sent = 0;

	memcpy(to.sll_addr, o.mac, ETH_ALEN);
	for (i = 0; i < o.count; i++) {
		size_t len = build_frame(f, src, tag, i);

		if (sendto(fd, f, len, 0, (struct sockaddr *)&to,
			   sizeof(to)) == (ssize_t)len)
			sent++;
		else
			verbose("send frame %d: %s", i, strerror(errno));
		between(o.interval_ms);
	}
	return sent;
}

/* ------------------------------------------------------------- states */

static void run_sender(struct state_result *r)
{
	if (o.tx) {
		int fd = tx_open(c.tx_ifindex);

		r->sent = send_burst(fd, c.tx_ifindex, c.tx_mac, cur_tag, pump);
		close(fd);
		if (!r->sent)
			fail(EX_NOTRAFFIC, "could not send any probe frame on %s",
			     o.tx);
	} else {
		char e_mac[40], e_tag[40], e_cnt[40], e_int[40], e_vlan[40],
		     e_proto[40];
		const char *env[] = { e_mac, e_tag, e_cnt, e_int, e_vlan,
				      e_proto, NULL };
		long long limit = 30000LL + (long long)o.count *
				  (o.interval_ms + 10);
		pid_t pid;
		int rc;

		snprintf(e_mac, sizeof(e_mac), "VSP_MAC=%s", mac_str(o.mac));
		snprintf(e_tag, sizeof(e_tag), "VSP_TAG=%08x", cur_tag);
		snprintf(e_cnt, sizeof(e_cnt), "VSP_COUNT=%d", o.count);
		snprintf(e_int, sizeof(e_int), "VSP_INTERVAL=%d",
			 o.interval_ms);
		snprintf(e_vlan, sizeof(e_vlan), "VSP_VLAN=%d", o.vlan);
		snprintf(e_proto, sizeof(e_proto), "VSP_VLAN_PROTO=%s",
			 o.vlan_proto == ETH_P_8021AD ? "802.1ad" : "802.1Q");
		pid = spawn(o.send_cmd, NULL, 0, env, false);
		if (pid < 0)
			fail(EX_SYSTEM, "fork: %s", strerror(errno));
		rc = reap(pid, limit, pump_tick, false);
		if (rc)
			fail(EX_NOTRAFFIC, "the sender command failed (exit status %d): %s",
			     rc, o.send_cmd);
		r->sent = o.count;
	}
	pump(o.wait_ms);
}

static void measure(int s)
{
	struct state_result *r = &c.st[s];
	long long before, after;
	char vfname[IF_NAMESIZE];
	struct linkinfo li;
	int vfidx, i;

	check_stop();
	progress("[%s] %s: sending %d frames", state_name[s], state_desc[s],
		 o.count);
	sleep_ms(o.settle_ms);
	r->tested = true;
	r->vf_carrier = -1;
	memset(caps, 0, sizeof(caps));
	caps[0].fd = cap_open(c.pf_ifindex);
	ncaps = 1;
	vfidx = vf_netdev(vfname);
	if (vfidx) {
		caps[1].fd = cap_open(vfidx);
		ncaps = 2;
		r->vf_capture = true;
		copy_str(r->vf_dev, vfname, sizeof(r->vf_dev));
		if (!get_link(vfidx, -1, NULL, &li))
			r->vf_carrier = !!(li.flags & IFF_LOWER_UP);
	}
	cur_tag = (c.run_id & ~0xffu) | s;
	before = vf_counter();
	run_sender(r);
	after = vf_counter();
	r->vf_counter = before >= 0 && after >= before ? after - before : -1;
	r->pf_rx = caps[0].got;
	r->vf_rx = ncaps > 1 ? caps[1].got : 0;
	for (i = 0; i < ncaps; i++)
		close(caps[i].fd);
	ncaps = 0;
	r->pf_ok = r->pf_rx * 10 >= r->sent * 9;
	r->where = r->pf_rx && r->vf_rx ? "both" : r->vf_rx ? "vf" :
		   r->pf_rx ? "pf" : "none";
	progress("[%s] PF %d/%d, VF %s%d%s", state_name[s], r->pf_rx, r->sent,
		 r->vf_capture ? "" : "(no netdev) ", r->vf_rx,
		 r->vf_counter > 0 ? " (VF rx counter moved)" : "");
}

static void skip_state(int s, const char *why)
{
	copy_str(c.st[s].skip, why, sizeof(c.st[s].skip));
	progress("[%s] skipped: %s", state_name[s], why);
}

static void assign_mac(void)
{
	int err;

	u.vf_mac = true;
	u.vf_vlan = o.vlan != 0;
	if (model()) {
		if (hook("assign"))
			fail(EX_REFUSED, "the model hook refused to assign MAC %s",
			     mac_str(o.mac));
		return;
	}
	if (o.vlan) {
		struct vfinfo v = { .vlan = o.vlan, .qos = o.qos,
				    .proto = o.vlan_proto };

		err = set_vf(o.mac, &v, -1);
	} else {
		err = set_vf(o.mac, NULL, -1);
	}
	if (err == -EPERM || err == -EACCES)
		fail_errno(EX_PERM, -err, "set VF MAC");
	if (err)
		fail(EX_REFUSED, "the %s driver refused to set VF %d MAC %s%s: %s (errno %d)%s%s",
		     o.pf, o.vf, mac_str(o.mac), o.vlan ? " with a VLAN" : "",
		     strerror(-err), -err, nl_extack[0] ? ": " : "", nl_extack);
}

static void link_disable_state(void)
{
	int err;

	u.vf_link = true;
	if (model()) {
		if (hook("link-disable"))
			fail(EX_REFUSED, "the model hook refused link-disable");
	} else {
		err = set_vf(NULL, NULL, IFLA_VF_LINK_STATE_DISABLE);
		if (err) {
			u.vf_link = false;
			if (err == -EPERM)
				fail_errno(EX_PERM, EPERM, "set VF link state");
			skip_state(ST_LINKDIS, "the driver refused 'state disable'");
			return;
		}
	}
	measure(ST_LINKDIS);
	if (model())
		err = hook("link-restore") ? -EIO : 0;
	else
		err = set_vf(NULL, NULL, c.orig.has_linkstate ?
			     (int)c.orig.linkstate : IFLA_VF_LINK_STATE_AUTO);
	if (!err)
		u.vf_link = false;
}

static void run_states(void)
{
	char name[IF_NAMESIZE];
	struct linkinfo li;
	int idx, err;

	/* Quiesce the VF's own netdev: "assigned" must not mean "up". */
	idx = vf_netdev(name);
	if (idx && !get_link(idx, -1, NULL, &li)) {
		u.vfdev_known = true;
		u.vfdev_up = li.flags & IFF_UP;
		memcpy(u.vfdev_addr, li.addr, ETH_ALEN);
		copy_str(u.vfdev_name, name, sizeof(u.vfdev_name));
		if (u.vfdev_up) {
			err = vfdev_set_up(idx, false);
			if (err)
				fail_errno(EX_SYSTEM, -err, "set VF netdev down");
			u.vfdev_changed = true;
		}
	}

	measure(ST_BASELINE);
	if (!c.st[ST_BASELINE].pf_ok) {
		struct state_result *b = &c.st[ST_BASELINE];

		if (!b->pf_rx && !b->vf_rx)
			fail(EX_NOTRAFFIC, "no probe frame arrived anywhere: check the sender/peer cabling (0 of %d frames on %s before the VF MAC was assigned)",
			     b->sent, o.pf);
		fail(EX_NOTRAFFIC, "only %d of %d probe frames reached %s before the VF MAC was assigned (%d on the VF): lossy link, or the PF does not accept its secondary unicast address; no verdict",
		     b->pf_rx, b->sent, o.pf, b->vf_rx);
	}

	assign_mac();
	measure(ST_ASSIGNED);

	if (o.link_disable)
		link_disable_state();

	if (!model() && !c.vf_pci[0]) {
		const char *why = "no PCI function for the VF in sysfs (virtfn link missing)";

		skip_state(ST_UNBOUND, why);
		skip_state(ST_BOUND_DOWN, why);
		skip_state(ST_UP, why);
		return;
	}

	if (c.bound_now) {
		err = vf_bind(false);
		if (err == -EPERM || err == -EACCES)
			fail(EX_PERM, "unbind the VF driver: %s: needs root",
			     strerror(-err));
		if (err)
			fail(EX_SYSTEM, "could not unbind the VF driver: %s",
			     strerror(-err));
		wait_vf_netdev(false, name);
	}
	measure(ST_UNBOUND);

	err = vf_bind(true);
	if (err == -EPERM || err == -EACCES)
		fail(EX_PERM, "bind the VF driver: %s: needs root",
		     strerror(-err));
	idx = err ? 0 : wait_vf_netdev(true, name);
	if (!idx) {
		const char *why = err ? "could not bind a driver to the VF (give --vf-driver)" :
				  "no VF netdev appeared after binding its driver";

		skip_state(ST_BOUND_DOWN, why);
		skip_state(ST_UP, why);
		return;
	}
	if (!get_link(idx, -1, NULL, &li) && li.flags & IFF_UP) {
		u.vfdev_changed = true;
		vfdev_set_up(idx, false);
	}
	measure(ST_BOUND_DOWN);

	u.vfdev_changed = true;
	err = vfdev_set_up(idx, true);
	if (err)
		fail_errno(EX_SYSTEM, -err, "set the VF netdev up");
	{
		long long end = now_ms() + o.link_timeout_ms;

		while (now_ms() < end && !get_link(idx, -1, NULL, &li) &&
		       !(li.flags & IFF_LOWER_UP))
			sleep_ms(100);
	}
	measure(ST_UP);
}

static bool verdict_early(void)
{
	int s;

	for (s = 0; s < NR_STATES; s++)
		if (state_pre_ready(s) && c.st[s].tested && !c.st[s].pf_ok)
			return true;
	return false;
}

/* ------------------------------------------------------------- restore */

static void cleanup(void)
{
	char name[IF_NAMESIZE], vlan[32];
	struct linkinfo li;
	int err, idx;

	if (g_cleaned)
		return;
	g_cleaned = true;
	g_cleaning = true;
	if (ncaps) {
		while (ncaps)
			close(caps[--ncaps].fd);
	}
	if (c.memb_fd >= 0) {
		struct packet_mreq mr = {
			.mr_ifindex = c.pf_ifindex, .mr_type = PACKET_MR_UNICAST,
			.mr_alen = ETH_ALEN,
		};

		memcpy(mr.mr_address, o.mac, ETH_ALEN);
		if (setsockopt(c.memb_fd, SOL_PACKET, PACKET_DROP_MEMBERSHIP,
			       &mr, sizeof(mr)))
			verbose("drop PF address: %s (closing the socket drops it)",
				strerror(errno));
		close(c.memb_fd);
		c.memb_fd = -1;
		note_restored("PF secondary address removed");
	}
	if (!nl_sk)
		return;
	if (u.vf_link) {
		if (model())
			err = hook("link-restore") ? -EIO : 0;
		else
			err = set_vf(NULL, NULL, c.orig.has_linkstate ?
				     (int)c.orig.linkstate :
				     IFLA_VF_LINK_STATE_AUTO);
		if (err)
			restore_error("VF link state: %s; run: ip link set %s vf %d state auto",
				      strerror(-err), o.pf, o.vf);
		else
			note_restored("VF link state");
	}
	if (u.vf_mac) {
		if (model()) {
			err = hook("unassign") ? -EIO : 0;
		} else {
			err = set_vf(c.orig.mac, u.vf_vlan ? &c.orig : NULL,
				     -1);
			if (!err && !get_link(c.pf_ifindex, o.vf, NULL, &li) &&
			    li.vf.found &&
			    (memcmp(li.vf.mac, c.orig.mac, ETH_ALEN) ||
			     (u.vf_vlan && li.vf.vlan != c.orig.vlan)))
				err = -EAGAIN;
		}
		snprintf(vlan, sizeof(vlan), " vlan %u qos %u", c.orig.vlan,
			 c.orig.qos);
		if (err && model())
			restore_error("model hook 'unassign' failed");
		else if (err)
			restore_error("VF %d MAC %s%s: %s%s%s; run: ip link set %s vf %d mac %s%s",
				      o.vf, mac_str(c.orig.mac),
				      u.vf_vlan ? " and VLAN" : "",
				      err == -EAGAIN ? "the driver reports other values" : strerror(-err),
				      nl_extack[0] ? ": " : "", nl_extack,
				      o.pf, o.vf, mac_str(c.orig.mac),
				      u.vf_vlan ? vlan : "");
		else
			note_restored(u.vf_vlan ? "VF MAC and VLAN" : "VF MAC");
	}
	if (c.bound_now != c.bound_orig) {
		err = vf_bind(c.bound_orig);
		if (err && model())
			restore_error("model hook '%s' failed",
				      c.bound_orig ? "bind" : "unbind");
		else if (err)
			restore_error("VF driver binding: %s; run: echo %s > /sys/bus/pci/drivers/%s/%s",
				      strerror(-err), c.vf_pci[0] ? c.vf_pci : "VF",
				      c.vf_drv[0] ? c.vf_drv : "DRIVER",
				      c.bound_orig ? "bind" : "unbind");
		else
			note_restored(c.bound_orig ? "VF driver bound again" :
				      "VF driver unbound again");
		if (!err && c.bound_orig && u.vfdev_known)
			wait_vf_netdev(true, name);
	}
	if (u.vfdev_known && c.bound_orig) {
		idx = vf_netdev(name);
		if (!idx) {
			restore_error("VF netdev %s did not come back",
				      u.vfdev_name);
		} else if (!get_link(idx, -1, NULL, &li)) {
			if (li.has_addr &&
			    memcmp(li.addr, u.vfdev_addr, ETH_ALEN)) {
				err = set_link(idx, -1, u.vfdev_addr);
				if (err)
					restore_error("VF netdev %s MAC %s: %s; run: ip link set %s address %s",
						      name, mac_str(u.vfdev_addr),
						      strerror(-err), name,
						      mac_str(u.vfdev_addr));
				else
					note_restored("VF netdev MAC");
			}
			if (!!(li.flags & IFF_UP) != u.vfdev_up) {
				err = vfdev_set_up(idx, u.vfdev_up);
				if (err)
					restore_error("VF netdev %s %s: %s",
						      name, u.vfdev_up ? "up" : "down",
						      strerror(-err));
			}
			if (u.vfdev_changed)
				note_restored(u.vfdev_up ? "VF netdev up" :
					      "VF netdev down");
		}
	}
}

static void cleanup_atexit(void)
{
	cleanup();
}

static void on_signal(int sig)
{
	if (!g_stop)
		g_stop = sig;
}

/* -------------------------------------------------------------- report */

static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char ch = *s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static const char *blocked_ids(void)
{
	return c.vf_id[0] ? c.vf_id : NULL;
}

static const char *state_text(int s, char *buf, size_t len)
{
	struct state_result *r = &c.st[s];

	if (s == ST_UP) {
		if (r->vf_rx * 10 >= r->sent * 9)
			snprintf(buf, len, "reach the VF (expected once it is up)");
		else if (r->pf_ok)
			snprintf(buf, len, "still reach only the PF: the NIC did not steer to the VF");
		else
			snprintf(buf, len, "%d of %d reach the VF%s", r->vf_rx,
				 r->sent, r->vf_carrier == 0 ? " (VF has no carrier)" : "");
		return buf;
	}
	if (r->pf_ok && r->vf_rx)
		snprintf(buf, len, "reach the PF (copies on the VF too)");
	else if (r->pf_ok)
		snprintf(buf, len, "reach the PF");
	else if (r->vf_rx)
		snprintf(buf, len, "STEERED to the VF (%d of %d not on the PF)",
			 r->sent - r->pf_rx, r->sent);
	else
		snprintf(buf, len, "LOST: %d of %d not on the PF%s",
			 r->sent - r->pf_rx, r->sent,
			 r->vf_counter > 0 ? " (the VF's rx counter moved)" :
			 r->vf_capture ? "" : " (gone to the VF, which has no netdev)");
	return buf;
}

static void recommendation(FILE *f)
{
	const char *ids = blocked_ids();

	fprintf(f, "  - Guest: mark the VF unusable as failover primary:\n");
	if (ids)
		fprintf(f, "      net_failover blocked_ids=%s\n"
			"      ('options net_failover blocked_ids=%s' in /etc/modprobe.d/,\n"
			"      or net_failover.blocked_ids=%s on the kernel command line),\n"
			"      or per device at run time through netlink.\n",
			ids, ids, ids);
	else
		fprintf(f, "      net_failover blocked_ids=<vendor:device of the VF> (unknown here:\n"
			"      the VF has no PCI function in sysfs), or per device through netlink.\n");
	fprintf(f, "  - Host: program the VF MAC late: not when the VF is created or the VM\n"
		"      starts, but just before the VF is plugged into the guest (QEMU's\n"
		"      FAILOVER_NEGOTIATED event); the guest's VF driver must still find\n"
		"      it when it probes. Or keep 'ip link set %s vf %d state disable'\n"
		"      until the guest's VF driver is up and 'state auto' after.\n",
		o.pf, o.vf);
	if (c.st[ST_LINKDIS].tested)
		fprintf(f, "      On this NIC 'state disable' %s.\n",
			c.st[ST_LINKDIS].pf_ok ? "keeps the frames on the PF: that works" :
			"does NOT keep the frames on the PF: use a late MAC or blocked_ids");
	else
		fprintf(f, "      (--with-link-disable tells whether this NIC honours 'state disable'.)\n");
}

static void report_json(int code)
{
	int s, i;

	printf("{\"tool\":\"vf-steer-probe\",\"version\":\"%s\",\"pf\":", VSP_VERSION);
	json_str(o.pf);
	printf(",\"vf\":%d,\"vf_pci\":", o.vf);
	json_str(c.vf_pci);
	printf(",\"vf_id\":");
	json_str(c.vf_id);
	printf(",\"vf_driver\":");
	json_str(c.vf_drv);
	printf(",\"model\":%s,\"mac\":\"%s\",\"vlan\":%d,\"count\":%d,\"sender\":",
	       model() ? "true" : "false", mac_str(o.mac), o.vlan, o.count);
	json_str(o.tx ? o.tx : o.send_cmd ? "command" : "");
	printf(",\"pf_promiscuous\":%s", c.pf_promisc ? "true" : "false");
	if (c.preflight_ok >= 0) {
		printf(",\"preflight\":{\"ok\":%s,\"readback\":",
		       c.preflight_ok ? "true" : "false");
		json_str(c.readback);
		printf("}");
	}
	printf(",\"states\":[");
	for (s = 0, i = 0; s < NR_STATES; s++) {
		struct state_result *r = &c.st[s];
		char buf[160];

		if (!r->tested && !r->skip[0])
			continue;
		printf("%s{\"state\":\"%s\",\"tested\":%s", i++ ? "," : "",
		       state_name[s], r->tested ? "true" : "false");
		if (!r->tested) {
			printf(",\"skipped\":");
			json_str(r->skip);
			printf("}");
			continue;
		}
		printf(",\"sent\":%d,\"pf_rx\":%d,\"vf_rx\":%d,\"vf_netdev\":",
		       r->sent, r->pf_rx, r->vf_rx);
		if (r->vf_capture)
			json_str(r->vf_dev);
		else
			printf("null");
		printf(",\"vf_counter_rx\":");
		if (r->vf_counter >= 0)
			printf("%lld", r->vf_counter);
		else
			printf("null");
		printf(",\"where\":\"%s\",\"reaches_pf\":%s,\"pre_ready\":%s,\"result\":",
		       r->where, r->pf_ok ? "true" : "false",
		       state_pre_ready(s) ? "true" : "false");
		json_str(state_text(s, buf, sizeof(buf)));
		printf("}");
	}
	printf("],\"verdict\":");
	if (c.verdict)
		json_str(c.verdict);
	else
		printf("null");
	printf(",\"verdict_text\":");
	json_str(!c.verdict ? "" : strcmp(c.verdict, "steers-early") ?
		 "safe" : "steers early: not safe as failover primary");
	printf(",\"blocked_ids\":");
	if (blocked_ids())
		json_str(blocked_ids());
	else
		printf("null");
	if (c.st[ST_LINKDIS].tested)
		printf(",\"link_disable_helps\":%s",
		       c.st[ST_LINKDIS].pf_ok ? "true" : "false");
	printf(",\"restored\":");
	json_str(restored);
	printf(",\"restore_errors\":[");
	for (i = 0; i < n_restore_err; i++) {
		if (i)
			putchar(',');
		json_str(restore_err[i]);
	}
	printf("],\"error\":");
	if (c.error[0])
		json_str(c.error);
	else
		printf("null");
	printf(",\"exit_code\":%d}\n", code);
}

static void report(int code)
{
	bool any = false;
	int s;

	if (o.json) {
		report_json(code);
		fflush(stdout);
		return;
	}
	for (s = 0; s < NR_STATES; s++)
		any |= c.st[s].tested;
	if (c.preflight_ok >= 0)
		printf("preflight: %s\n  %s\n", c.preflight_ok ? "ok" : "FAILED",
		       c.readback);
	if (any) {
		printf("\nvf-steer-probe: PF %s, VF %d", o.pf, o.vf);
		if (c.vf_pci[0] || c.vf_id[0])
			printf(" (%s%s%s%s%s)", c.vf_pci,
			       c.vf_pci[0] && c.vf_id[0] ? ", " : "", c.vf_id,
			       c.vf_drv[0] ? ", driver " : "", c.vf_drv);
		printf(", probe MAC %s", mac_str(o.mac));
		if (o.vlan)
			printf(" VLAN %d", o.vlan);
		printf(", %d frames per state\n\n", o.count);
		printf("  %-14s %-7s %-9s %s\n", "state", "on PF", "on VF",
		       "probe frames");
		for (s = 0; s < NR_STATES; s++) {
			struct state_result *r = &c.st[s];
			char pf[16], vf[24], buf[160];

			if (!r->tested && !r->skip[0])
				continue;
			if (!r->tested) {
				printf("  %-14s %-7s %-9s skipped: %s\n",
				       state_name[s], "-", "-", r->skip);
				continue;
			}
			snprintf(pf, sizeof(pf), "%d/%d", r->pf_rx, r->sent);
			if (r->vf_capture)
				snprintf(vf, sizeof(vf), "%d/%d", r->vf_rx,
					 r->sent);
			else
				snprintf(vf, sizeof(vf), "no dev");
			printf("  %-14s %-7s %-9s %s\n", state_name[s], pf, vf,
			       state_text(s, buf, sizeof(buf)));
		}
		putchar('\n');
	}
	if (c.verdict && !strcmp(c.verdict, "steers-early")) {
		printf("verdict: steers early: not safe as failover primary\n");
		printf("  Frames for the VF's MAC leave the PF before the VF is up: a failover\n"
		       "  guest loses them until its VF driver has taken over.\n");
		printf("recommended action (one of):\n");
		recommendation(stdout);
	} else if (c.verdict) {
		printf("verdict: safe\n  Frames for the VF's MAC keep reaching the PF until the VF is up.\n");
		if (c.st[ST_UP].tested && c.st[ST_UP].vf_rx * 10 < c.st[ST_UP].sent * 9)
			printf("  note: they did not reach the VF once it was up either: check the\n"
			       "  VF's link (state auto/enable) before relying on it as primary.\n");
	}
	if (restored[0])
		printf("restored: %s\n", restored);
	if (n_restore_err)
		printf("NOT restored (fix by hand): %d setting(s), see above\n",
		       n_restore_err);
	fflush(stdout);
}

/* ------------------------------------------------------------- setup */

static int ifindex_of(const char *name, const char *what)
{
	int idx;

	if (strlen(name) >= IF_NAMESIZE)
		fail(EX_DEVICE, "%s %s: name too long", what, name);
	idx = if_nametoindex(name);
	if (!idx)
		fail(EX_DEVICE, "%s %s: no such interface in this network namespace",
		     what, name);
	return idx;
}

static void check_pf(void)
{
	char path[256], val[64];
	struct linkinfo li;
	bool sriov;
	int err;

	c.pf_ifindex = ifindex_of(o.pf, "PF");
	err = get_link(c.pf_ifindex, o.vf, o.mac, &li);
	if (err)
		fail_errno(EX_SYSTEM, -err, "read PF link info");
	if (!(li.flags & IFF_UP))
		fail(EX_DEVICE, "PF %s is down: ip link set %s up", o.pf, o.pf);
	memcpy(c.pf_mac, li.addr, ETH_ALEN);
	c.pf_promisc = li.promiscuity;
	if (c.pf_promisc)
		progress("warning: %s is promiscuous: frames may reach it whatever its filters say",
			 o.pf);
	if (!memcmp(o.mac, c.pf_mac, ETH_ALEN))
		usage_error("--mac %s is the PF's own address", mac_str(o.mac));
	if (model())
		return;

	snprintf(path, sizeof(path), "/sys/class/net/%s/device/sriov_numvfs",
		 o.pf);
	sriov = sysfs_read(path, val, sizeof(val)) == 0;
	if (!sriov && li.num_vf <= 0 && !li.has_vflist)
		fail(EX_DEVICE, "%s is not an SR-IOV PF: it has no device/sriov_numvfs in sysfs and its driver reports no VF info",
		     o.pf);
	if (li.num_vf <= 0)
		fail(EX_DEVICE, "%s has no VFs enabled: echo N > /sys/class/net/%s/device/sriov_numvfs",
		     o.pf, o.pf);
	c.num_vf = li.num_vf;
	if (o.vf >= c.num_vf)
		fail(EX_DEVICE, "VF index %d out of range: %s has %d VF%s (0-%d)",
		     o.vf, o.pf, c.num_vf, c.num_vf == 1 ? "" : "s",
		     c.num_vf - 1);
	if (!li.vf.found)
		fail(EX_DEVICE, "the %s driver reports no info for VF %d (IFLA_VFINFO_LIST): it cannot set VF MACs",
		     o.pf, o.vf);
	if (li.mac_vf >= 0)
		usage_error("--mac %s is already VF %d's MAC: pick another probe MAC",
			    mac_str(o.mac), li.mac_vf);
	c.orig = li.vf;

	snprintf(path, sizeof(path), "/sys/class/net/%s/device/virtfn%d",
		 o.pf, o.vf);
	if (link_base(path, c.vf_pci, sizeof(c.vf_pci)) == 0) {
		char v[16] = "", d[16] = "";

		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor",
			 c.vf_pci);
		sysfs_read(path, v, sizeof(v));
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device",
			 c.vf_pci);
		sysfs_read(path, d, sizeof(d));
		if (v[0] && d[0])
			snprintf(c.vf_id, sizeof(c.vf_id), "%s:%s",
				 v + (strncmp(v, "0x", 2) ? 0 : 2),
				 d + (strncmp(d, "0x", 2) ? 0 : 2));
		read_vf_driver();
		c.bound_orig = c.vf_drv[0] != 0;
		c.bound_now = c.bound_orig;
		if (!strcmp(c.vf_drv, "vfio-pci"))
			fail(EX_DEVICE, "VF %d (%s) is bound to vfio-pci: assigned to a VM? Shut the VM down or unbind it first",
			     o.vf, c.vf_pci);
	} else {
		progress("VF %d has no PCI function in sysfs: driver states cannot be tested",
			 o.vf);
	}
}

static void check_tx(void)
{
	struct linkinfo li;
	int err;

	if (!o.tx)
		return;
	c.tx_ifindex = ifindex_of(o.tx, "sender");
	if (c.tx_ifindex == c.pf_ifindex)
		usage_error("--tx must be another port than the PF");
	err = get_link(c.tx_ifindex, -1, NULL, &li);
	if (err)
		fail_errno(EX_SYSTEM, -err, "read sender link info");
	if (!(li.flags & IFF_UP))
		fail(EX_DEVICE, "sender %s is down: ip link set %s up", o.tx, o.tx);
	if (!(li.flags & IFF_LOWER_UP))
		progress("warning: sender %s has no carrier", o.tx);
	if (!li.has_addr)
		fail(EX_DEVICE, "sender %s has no Ethernet address", o.tx);
	memcpy(c.tx_mac, li.addr, ETH_ALEN);
	if (!memcmp(c.tx_mac, o.mac, ETH_ALEN))
		usage_error("--mac is the sender's own address");
}

static void add_pf_address(void)
{
	struct packet_mreq mr = {
		.mr_ifindex = c.pf_ifindex, .mr_type = PACKET_MR_UNICAST,
		.mr_alen = ETH_ALEN,
	};

	memcpy(mr.mr_address, o.mac, ETH_ALEN);
	c.memb_fd = pkt_socket();
	if (setsockopt(c.memb_fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr,
		       sizeof(mr))) {
		int err = errno;

		close(c.memb_fd);
		c.memb_fd = -1;
		fail_errno(EX_DEVICE, err, "add the probe MAC as a secondary unicast address of the PF");
	}
	verbose("%s: secondary unicast address %s added", o.pf, mac_str(o.mac));
}

static void preflight(void)
{
	struct linkinfo li;
	int err;

	add_pf_address();
	assign_mac();
	err = get_link(c.pf_ifindex, o.vf, NULL, &li);
	if (err)
		fail_errno(EX_SYSTEM, -err, "read VF info back");
	snprintf(c.readback, sizeof(c.readback),
		 "VF %d reports MAC %s VLAN %u qos %u proto %s (was MAC %s VLAN %u)",
		 o.vf, mac_str(li.vf.mac), li.vf.vlan, li.vf.qos,
		 li.vf.proto == ETH_P_8021AD ? "802.1ad" : "802.1Q",
		 mac_str(c.orig.mac), c.orig.vlan);
	c.preflight_ok = !memcmp(li.vf.mac, o.mac, ETH_ALEN) &&
			 (!o.vlan || li.vf.vlan == (unsigned int)o.vlan);
	finish(c.preflight_ok ? EX_SAFE : EX_REFUSED);
}

/* ------------------------------------------------------------- sender */

static int send_only(void)
{
	struct linkinfo li;
	int idx, fd, sent;

	if (!o.mac_set || !o.tag_set)
		usage_error("--send-only needs --mac and --tag");
	o.json = false;
	if (!nl_sk)
		return EX_SYSTEM;
	idx = if_nametoindex(o.send_only);
	if (!idx) {
		fprintf(stderr, "vf-steer-probe: %s: no such interface\n",
			o.send_only);
		return EX_DEVICE;
	}
	if (get_link(idx, -1, NULL, &li) || !li.has_addr) {
		fprintf(stderr, "vf-steer-probe: %s: no Ethernet address\n",
			o.send_only);
		return EX_DEVICE;
	}
	c.memb_fd = -1;
	g_cleaned = true;	/* nothing to restore */
	fd = tx_open(idx);
	sent = send_burst(fd, idx, li.addr, o.tag, sleep_ms);
	close(fd);
	if (sent < o.count)
		fprintf(stderr, "vf-steer-probe: sent %d of %d frames\n", sent,
			o.count);
	return sent ? 0 : EX_NOTRAFFIC;
}

/* -------------------------------------------------------------- main */

static void help(void)
{
	printf(
"Usage: vf-steer-probe --pf PF --vf N (--tx IFACE | --send-cmd CMD) [options]\n"
"       vf-steer-probe --pf PF --vf N --preflight [--vlan ID]\n"
"       vf-steer-probe --send-only IFACE --mac MAC --tag TAG [--count N]\n"
"\n"
"Does this NIC steer a VF's MAC to the VF before the guest is ready?\n"
"\n"
"For virtio-net failover the host's NIC must keep delivering a guest's\n"
"frames to the PF (and so to the virtio path) until the guest's VF driver\n"
"is up. This probe assigns a MAC to VF N of PF, adds the same MAC to the\n"
"PF as a secondary unicast address, sends frames to it from a second\n"
"port (--tx) or a peer (--send-cmd) and watches where they arrive, in\n"
"each state of the VF:\n"
"  baseline     MAC not assigned yet (control: must reach the PF)\n"
"  assigned     MAC just assigned to the VF\n"
"  unbound      VF driver unbound (as when passed to a guest)\n"
"  bound-down   VF driver bound, VF netdev down\n"
"  up           VF netdev up (frames are expected on the VF now)\n"
"If frames leave the PF in any state before 'up', the NIC steers early\n"
"and the VF is not safe as a failover primary. Everything changed\n"
"(VF MAC, VLAN, link state, driver binding, VF netdev state, the PF's\n"
"secondary address) is restored at the end, also on Ctrl-C.\n"
"\n"
"Run it as root on an idle VF (not assigned to a running VM), with the sender\n"
"cabled to the PF's port (through a switch or directly). The probe\n"
"unbinds and rebinds the VF's host driver.\n"
"\n"
"Options:\n"
"  -p, --pf PF            the physical function's netdev\n"
"  -n, --vf N             VF index (as in 'ip link set PF vf N ...')\n"
"  -t, --tx IFACE         send from this local port (not the PF itself)\n"
"  -s, --send-cmd CMD     run CMD (sh) to send each burst from a peer;\n"
"                         it gets VSP_MAC VSP_TAG VSP_COUNT VSP_INTERVAL\n"
"                         VSP_VLAN VSP_VLAN_PROTO in its environment, e.g.\n"
"                         'ssh peer vf-steer-probe --send-only eth1 --mac\n"
"                          $VSP_MAC --tag $VSP_TAG --count $VSP_COUNT'\n"
"  -m, --mac MAC          probe MAC (default: random locally administered)\n"
"      --vlan ID          also give the VF VLAN ID (1-4094, 0: none); frames\n"
"                         are sent tagged\n"
"      --qos N            VLAN priority for the VF (0-7)\n"
"      --vlan-proto P     802.1Q (default) or 802.1ad\n"
"      --vf-driver NAME   driver to bind the VF to if it has none now\n"
"      --with-link-disable  also test 'ip link set PF vf N state disable'\n"
"                         as a mitigation (extra state link-disabled)\n"
"      --preflight        only check the PF/VF and that the driver takes\n"
"                         and restores the VF MAC (and VLAN); no traffic\n"
"  -c, --count N          frames per state (default 20, max %d)\n"
"      --interval MS      between frames (default 10)\n"
"      --settle MS        after each change, before sending (default 1000)\n"
"      --wait MS          after the last frame (default 500)\n"
"      --link-timeout MS  for the VF netdev and its carrier (default 10000)\n"
"  -j, --json             print the result as one JSON object\n"
"  -q, --quiet            no progress messages\n"
"  -v, --verbose          more progress messages\n"
"  -h, --help             this text\n"
"  -V, --version          version\n"
"\n"
"Sender mode (on a peer, for --send-cmd):\n"
"      --send-only IFACE  send COUNT probe frames to --mac with --tag and exit\n"
"      --tag HEX          the tag given in VSP_TAG\n"
"\n"
"Test mode (selftests only; replaces the VF configuration steps, not the\n"
"capture):\n"
"      --model-hook CMD   run 'CMD EVENT MAC VLAN' instead of netlink/sysfs\n"
"                         for EVENT assign, unassign, unbind, bind, up, down,\n"
"                         link-disable, link-restore\n"
"      --model-vf NAME    the netdev standing for the VF while 'bound'\n"
"      --model-id V:D     vendor:device to report for blocked_ids\n"
"\n"
"Exit status:\n"
"  0  safe: frames reach the PF until the VF is up (or --preflight passed)\n"
"  1  steers early: not safe as failover primary\n"
"  2  usage error\n"
"  3  unsuitable device: not a PF, no VFs, VF index out of range, interface\n"
"     missing or down, VF bound to vfio-pci\n"
"  4  permission denied: needs CAP_NET_ADMIN and CAP_NET_RAW (root)\n"
"  5  the driver refused the VF MAC/VLAN change (errno and message printed)\n"
"  6  no probe frame arrived anywhere, or too few reached the PF before\n"
"     the MAC was assigned, or the sender failed: no verdict\n"
"  7  a setting could not be restored (what to run is printed)\n"
"  8  other error\n"
"  128+N  interrupted by signal N (settings restored)\n"
"\n"
"For an early-steering NIC the output gives the guest-side setting\n"
"net_failover blocked_ids=VENDOR:DEVICE for the VF. See vf-steer-probe(8).\n",
	       MAX_COUNT);
}

static int int_arg(const char *s, const char *opt, int min, int max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || *end || end == s || v < min || v > max)
		usage_error("%s: '%s' is not a number in %d-%d", opt, s, min,
			    max);
	return v;
}

enum {
	OPT_VLAN = 256, OPT_QOS, OPT_PROTO, OPT_VFDRV, OPT_LINKDIS,
	OPT_PREFLIGHT, OPT_INTERVAL, OPT_SETTLE, OPT_WAIT, OPT_LINKTMO,
	OPT_SENDONLY, OPT_TAG, OPT_HOOK, OPT_MVF, OPT_MID,
};

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "pf", required_argument, NULL, 'p' },
		{ "vf", required_argument, NULL, 'n' },
		{ "tx", required_argument, NULL, 't' },
		{ "send-cmd", required_argument, NULL, 's' },
		{ "mac", required_argument, NULL, 'm' },
		{ "vlan", required_argument, NULL, OPT_VLAN },
		{ "qos", required_argument, NULL, OPT_QOS },
		{ "vlan-proto", required_argument, NULL, OPT_PROTO },
		{ "vf-driver", required_argument, NULL, OPT_VFDRV },
		{ "with-link-disable", no_argument, NULL, OPT_LINKDIS },
		{ "preflight", no_argument, NULL, OPT_PREFLIGHT },
		{ "count", required_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "settle", required_argument, NULL, OPT_SETTLE },
		{ "wait", required_argument, NULL, OPT_WAIT },
		{ "link-timeout", required_argument, NULL, OPT_LINKTMO },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "send-only", required_argument, NULL, OPT_SENDONLY },
		{ "tag", required_argument, NULL, OPT_TAG },
		{ "model-hook", required_argument, NULL, OPT_HOOK },
		{ "model-vf", required_argument, NULL, OPT_MVF },
		{ "model-id", required_argument, NULL, OPT_MID },
		{ }
	};
	unsigned int v, d;
	char *end, junk;
	int ch;

	while ((ch = getopt_long(argc, argv, "p:n:t:s:m:c:jqvhV", lo,
				 NULL)) != -1) {
		switch (ch) {
		case 'p':
			o.pf = optarg;
			break;
		case 'n':
			o.vf = int_arg(optarg, "--vf", 0, 65535);
			break;
		case 't':
			o.tx = optarg;
			break;
		case 's':
			o.send_cmd = optarg;
			break;
		case 'm':
			if (parse_mac(optarg, o.mac))
				usage_error("--mac: '%s' is not a MAC address",
					    optarg);
			if (o.mac[0] & 1 || !(o.mac[0] | o.mac[1] | o.mac[2] |
					      o.mac[3] | o.mac[4] | o.mac[5]))
				usage_error("--mac %s: must be a unicast, non-zero address",
					    optarg);
			o.mac_set = true;
			break;
		case OPT_VLAN:
			o.vlan = int_arg(optarg, "--vlan", 0, 4094);
			break;
		case OPT_QOS:
			o.qos = int_arg(optarg, "--qos", 0, 7);
			break;
		case OPT_PROTO:
			if (!strcasecmp(optarg, "802.1q"))
				o.vlan_proto = ETH_P_8021Q;
			else if (!strcasecmp(optarg, "802.1ad"))
				o.vlan_proto = ETH_P_8021AD;
			else
				usage_error("--vlan-proto: 802.1Q or 802.1ad");
			break;
		case OPT_VFDRV:
			o.vf_driver = optarg;
			break;
		case OPT_LINKDIS:
			o.link_disable = true;
			break;
		case OPT_PREFLIGHT:
			o.preflight = true;
			break;
		case 'c':
			o.count = int_arg(optarg, "--count", 1, MAX_COUNT);
			break;
		case OPT_INTERVAL:
			o.interval_ms = int_arg(optarg, "--interval", 0, 10000);
			break;
		case OPT_SETTLE:
			o.settle_ms = int_arg(optarg, "--settle", 0, 600000);
			break;
		case OPT_WAIT:
			o.wait_ms = int_arg(optarg, "--wait", 0, 600000);
			break;
		case OPT_LINKTMO:
			o.link_timeout_ms = int_arg(optarg, "--link-timeout", 0,
						    600000);
			break;
		case 'j':
			o.json = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			help();
			exit(0);
		case 'V':
			printf("vf-steer-probe %s\n", VSP_VERSION);
			exit(0);
		case OPT_SENDONLY:
			o.send_only = optarg;
			break;
		case OPT_TAG:
			errno = 0;
			o.tag = strtoul(optarg, &end, 16);
			if (errno || *end || end == optarg)
				usage_error("--tag: hex number expected");
			o.tag_set = true;
			break;
		case OPT_HOOK:
			o.model_hook = optarg;
			break;
		case OPT_MVF:
			o.model_vf = optarg;
			break;
		case OPT_MID:
			if (sscanf(optarg, "%x:%x%c", &v, &d, &junk) != 2 ||
			    v > 0xffff || d > 0xffff)
				usage_error("--model-id: VENDOR:DEVICE in hex");
			snprintf(c.vf_id, sizeof(c.vf_id), "%04x:%04x", v, d);
			break;
		default:
			usage_error("unknown option");
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (o.send_only)
		return;
	if (!o.pf)
		usage_error("--pf is required");
	if (model()) {
		if (!o.model_vf)
			usage_error("--model-hook needs --model-vf");
		if (o.preflight)
			usage_error("--preflight tests the driver: not with --model-hook");
		if (o.vf < 0)
			o.vf = 0;
	} else if (o.vf < 0) {
		usage_error("--vf is required");
	}
	if (!o.preflight && !o.tx == !o.send_cmd)
		usage_error("give one sender: --tx IFACE or --send-cmd CMD");
	if (o.qos && !o.vlan)
		usage_error("--qos needs --vlan");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int one = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv);

	nl_sk = nl_socket_alloc();
	if (!nl_sk || nl_connect(nl_sk, NETLINK_ROUTE) < 0) {
		fprintf(stderr, "vf-steer-probe: netlink: %s\n",
			strerror(nl_sk ? errno : ENOMEM));
		return EX_SYSTEM;
	}
	nl_socket_enable_msg_peek(nl_sk);
	setsockopt(nl_socket_get_fd(nl_sk), SOL_NETLINK, NETLINK_EXT_ACK, &one,
		   sizeof(one));
	setsockopt(nl_socket_get_fd(nl_sk), SOL_NETLINK, NETLINK_CAP_ACK, &one,
		   sizeof(one));
	if (o.send_only)
		return send_only();

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	atexit(cleanup_atexit);

	if (getrandom(&c.run_id, sizeof(c.run_id), 0) != sizeof(c.run_id))
		c.run_id = getpid() ^ time(NULL);
	if (!o.mac_set) {
		if (getrandom(o.mac, ETH_ALEN, 0) != ETH_ALEN)
			memcpy(o.mac, &c.run_id, 4);
		o.mac[0] = (o.mac[0] & 0xfc) | 0x02;	/* local, unicast */
	}

	check_pf();
	check_tx();
	if (model()) {
		c.bound_orig = if_nametoindex(o.model_vf) != 0;
		c.bound_now = c.bound_orig;
	}
	if (o.preflight)
		preflight();

	add_pf_address();
	run_states();
	c.verdict = verdict_early() ? "steers-early" : "safe";
	finish(verdict_early() ? EX_EARLY : EX_SAFE);
}
