// SPDX-License-Identifier: GPL-2.0
/*
 * af_packet_tx: the socket sender of pktgen_bench.py. Sends fixed
 * Ethernet frames through an AF_PACKET SOCK_RAW socket bound to one
 * interface, in batches of sendmmsg(), for a given time or frame count,
 * and prints what it sent:
 *
 *   frames=N calls=N short=N eagain=N enobufs=N usec=N pps=N ...
 *
 * usec is CLOCK_MONOTONIC from before the first sendmmsg() to after the
 * last one (under QEMU -icount: guest instructions x 2^shift ns).
 *
 * The socket is opened and bound with protocol 0, so it registers no
 * packet handler: no tap sees the frames on their way out. The qdisc is
 * not bypassed (no PACKET_QDISC_BYPASS): every frame takes
 * dev_queue_xmit() on the bound device and, below a stacked master, the
 * lower's qdisc. By default sendmmsg() is called with MSG_DONTWAIT and a
 * full send buffer (EAGAIN) or a qdisc drop (ENOBUFS) only counts and
 * retries, so the process never sleeps: under -icount an idle guest CPU
 * would let the clock follow the host's wall clock instead.
 *
 *   af_packet_tx -i IFNAME|IFINDEX (-t SECS | -n FRAMES) [-b BATCH]
 *                [-l LEN] [-d DSTMAC] [-e ETHERTYPE] [-s SNDBUF] [-w]
 */

#define _GNU_SOURCE	/* sendmmsg() */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH	1024
#define MAX_LEN		1514

static const char *prog = "af_packet_tx";

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

static void bad_usage(const char *why)
{
	if (why)
		fprintf(stderr, "%s: %s\n", prog, why);
	fprintf(stderr,
		"usage: %s -i IFNAME|IFINDEX (-t SECS | -n FRAMES) [-b BATCH]\n"
		"       [-l LEN] [-d DSTMAC] [-e ETHERTYPE] [-s SNDBUF] [-w]\n"
		"  -t SECS     send for SECS seconds (CLOCK_MONOTONIC)\n"
		"  -n FRAMES   send exactly FRAMES frames\n"
		"  -b BATCH    messages per sendmmsg() (default 64, max %d)\n"
		"  -l LEN      frame length without FCS (default 60, 14-%d)\n"
		"  -d DSTMAC   destination (default 52:54:00:00:00:02)\n"
		"  -e TYPE     ethertype (default 0x88b5, local experimental)\n"
		"  -s SNDBUF   SO_SNDBUFFORCE in bytes (default: the kernel's)\n"
		"  -w          blocking sendmmsg() (default MSG_DONTWAIT and\n"
		"              retry, counted as eagain/enobufs)\n",
		prog, MAX_BATCH, MAX_LEN);
	exit(2);
}

static unsigned long long parse_ull(const char *s, const char *opt)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-') {
		fprintf(stderr, "%s: %s: not a number: %s\n", prog, opt, s);
		exit(2);
	}
	return v;
}

static int parse_mac(const char *s, unsigned char *mac)
{
	unsigned int b[ETH_ALEN];
	char tail;
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != ETH_ALEN)
		return -1;
	for (i = 0; i < ETH_ALEN; i++) {
		if (b[i] > 0xff)
			return -1;
		mac[i] = b[i];
	}
	return 0;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts))
		die("clock_gettime(CLOCK_MONOTONIC)");
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static struct mmsghdr msgs[MAX_BATCH];
	static unsigned char frame[MAX_LEN];
	unsigned long long frames = 0, calls = 0, shorts = 0, eagain = 0;
	unsigned long long enobufs = 0, count = 0, t0, t1, deadline = 0;
	unsigned char dst[ETH_ALEN] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x02 };
	unsigned int batch = 64, len = 60, ethertype = 0x88b5;
	const char *ifarg = NULL;
	struct sockaddr_ll sll;
	struct ethhdr *eth;
	double secs = 0;
	bool wait = false;
	struct ifreq ifr;
	struct iovec iov;
	int sndbuf = 0;
	int ifindex;
	char *end;
	int fd, c;
	unsigned int i;

	while ((c = getopt(argc, argv, "i:t:n:b:l:d:e:s:wh")) != -1) {
		switch (c) {
		case 'i':
			ifarg = optarg;
			break;
		case 't':
			errno = 0;
			secs = strtod(optarg, &end);
			if (errno || end == optarg || *end || secs <= 0)
				bad_usage("-t takes a positive number of seconds");
			break;
		case 'n':
			count = parse_ull(optarg, "-n");
			if (!count)
				bad_usage("-n takes a positive frame count");
			break;
		case 'b':
			batch = parse_ull(optarg, "-b");
			if (!batch || batch > MAX_BATCH)
				bad_usage("-b out of range");
			break;
		case 'l':
			len = parse_ull(optarg, "-l");
			if (len < ETH_HLEN || len > MAX_LEN)
				bad_usage("-l out of range");
			break;
		case 'd':
			if (parse_mac(optarg, dst))
				bad_usage("-d takes a MAC address aa:bb:cc:dd:ee:ff");
			break;
		case 'e':
			ethertype = parse_ull(optarg, "-e");
			if (ethertype < ETH_P_802_3_MIN || ethertype > 0xffff)
				bad_usage("-e takes an ethertype 0x0600-0xffff");
			break;
		case 's':
			if (parse_ull(optarg, "-s") > INT_MAX / 2)
				bad_usage("-s too large");
			sndbuf = parse_ull(optarg, "-s");
			break;
		case 'w':
			wait = true;
			break;
		default:
			bad_usage(NULL);
		}
	}
	if (optind != argc)
		bad_usage("stray arguments");
	if (!ifarg)
		bad_usage("-i is required");
	if (!secs == !count)
		bad_usage("give one of -t and -n");

	ifindex = if_nametoindex(ifarg);
	if (!ifindex) {
		unsigned long long v = strtoull(ifarg, &end, 10);

		if (*ifarg < '0' || *ifarg > '9' || *end || !v || v > INT_MAX) {
			fprintf(stderr, "%s: no interface %s: %s\n", prog,
				ifarg, strerror(ENODEV));
			return 1;
		}
		ifindex = v;
	}

	/* protocol 0: a send-only socket, no packet handler registered */
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0)
		die("socket(AF_PACKET, SOCK_RAW)");
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = 0;
	sll.sll_ifindex = ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, "%s: bind to ifindex %d: %s\n", prog, ifindex,
			strerror(errno));
		return 1;
	}
	if (sndbuf && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf,
				 sizeof(sndbuf)))
		die("setsockopt(SO_SNDBUFFORCE)");

	/* source: the device's own address, as pktgen uses */
	memset(&ifr, 0, sizeof(ifr));
	if (!if_indextoname(ifindex, ifr.ifr_name))
		die("if_indextoname");
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		die("ioctl(SIOCGIFHWADDR)");

	eth = (struct ethhdr *)frame;
	memcpy(eth->h_dest, dst, ETH_ALEN);
	memcpy(eth->h_source, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	eth->h_proto = htons(ethertype);
	for (i = ETH_HLEN; i < len; i++)
		frame[i] = i;

	/* every message the same frame; the socket's binding names the device */
	iov.iov_base = frame;
	iov.iov_len = len;
	for (i = 0; i < batch; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	t0 = now_ns();
	if (secs)
		deadline = t0 + (unsigned long long)(secs * 1e9);
	for (;;) {
		unsigned int n = batch;
		int ret;

		if (count) {
			if (frames >= count)
				break;
			if (count - frames < n)
				n = count - frames;
		}
		ret = sendmmsg(fd, msgs, n, wait ? 0 : MSG_DONTWAIT);
		calls++;
		if (ret < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				eagain++;
			else if (errno == ENOBUFS)
				enobufs++;
			else if (errno != EINTR)
				die("sendmmsg");
		} else {
			frames += ret;
			/* the error of the message that stopped it is lost */
			if ((unsigned int)ret < n)
				shorts++;
		}
		if (secs && now_ns() >= deadline)
			break;
	}
	t1 = now_ns();

	printf("frames=%llu calls=%llu short=%llu eagain=%llu enobufs=%llu ",
	       frames, calls, shorts, eagain, enobufs);
	printf("usec=%llu pps=%llu ifindex=%d batch=%u len=%u\n",
	       (t1 - t0) / 1000,
	       t1 > t0 ? frames * 1000000000ULL / (t1 - t0) : 0, ifindex,
	       batch, len);
	if (fflush(stdout) || ferror(stdout))
		die("stdout");
	close(fd);
	if (!frames) {
		fprintf(stderr, "%s: no frame sent in %llu calls\n", prog,
			calls);
		return 1;
	}
	return 0;
}
