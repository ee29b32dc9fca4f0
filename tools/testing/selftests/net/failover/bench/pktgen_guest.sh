#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest half of pktgen_bench.py: transmit fast-path benchmark of the
# failover master against its lowers. Started by vm/guest_init.sh (as a
# "test" of FT_TESTDIR); parameters come from $OUT/pktgen.env, records go
# to $OUT/pktgen_results.txt, one "kind key=value ..." line each.
#
# Module sets are interleaved round by round: for each round index r,
# each module set of PG_BLOCKS in turn (reversed on odd r: stock ours,
# ours stock, ...) is loaded fresh (one "block") and measures round r of
# every configuration: each path (primary: primary up; standby: primary
# link down, or force-standby; sim-primary, sim-standby: the same on the
# simulated lowers of nfosim.ko), each lower qdisc (the kernel default,
# blackhole, ...):
#   - one timed round of each sender (PG_SENDERS: pktgen queue_xmit,
#     PG_THREADS threads; af_packet: af_packet_tx.c, AF_PACKET SOCK_RAW
#     sendmmsg from one process), master / lower-direct in ABBA order;
#   - in the first block of each module set, one fixed-count round per
#     device with hist triggers on tracepoints and kprobes: events per
#     packet;
# and in the first block of each module set, which pktgen options
# (clone_skb, burst) each device accepts, plus a check that clone_skb on
# the master really sends every copy through the master.

OUT=/ftest/out
PG=/proc/net/pktgen
T=/sys/kernel/tracing
RES=$OUT/pktgen_results.txt

PG_BLOCKS="stock ours"
PG_PATHS="primary standby"
PG_QDISCS="default blackhole"
PG_ROUNDS=3
PG_SECS=3
PG_EVENT_PKTS=20000
PG_PKT_SIZE=60
PG_STANDBY_VIA=down
PG_OURS_DIR=$OUT/ours
PG_FAILOVERCTL=
PG_EVENTS=1
PG_CLONE=1
PG_BLOCK0=0
PG_ROUND0=0
PG_THREADS=1
PG_MQ=0
PG_NFOSIM=
PG_SENDERS=pktgen
PG_AFP=$OUT/af_packet_tx
PG_AFP_BATCH=64
PG_AFP_SNDBUF=0
# shellcheck source=/dev/null
. "$OUT/pktgen.env"

[ "${PG_TRACE:-0}" = 1 ] && set -x
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log()
{
	echo "pktgen: $*"
}

rec()
{
	echo "$*" >> "$RES"
}

die()
{
	log "FATAL: $*"
	rec "fatal msg=\"$*\""
	{
		ip -s link
		tc -s qdisc
		for f in "$PG"/*; do
			[ -f "$f" ] && echo "== $f" && cat "$f"
		done
		dmesg | tail -n 30
	} 2>&1 | sed 's/^/pktgen: state: /'
	exit 1
}

# ------------------------------------------------------------ clocks

# now_ms: NOW = milliseconds since boot (no fork)
now_ms()
{
	local up

	read -r up _ < /proc/uptime
	NOW=$((${up%.*} * 1000 + 10#${up#*.} * 10))
}

# nap <seconds>: sleep without a fork (read timing out on a FIFO)
nap()
{
	if [ -z "${NAP_FD:-}" ]; then
		local fifo=/tmp/pktgen-nap.$$

		mkfifo "$fifo" && exec {NAP_FD}<>"$fifo"
		rm -f "$fifo"
	fi
	read -r -t "$1" -u "$NAP_FD" _
	return 0
}

# waitfor <timeout_ms> <cmd...>
waitfor()
{
	local deadline

	now_ms
	deadline=$((NOW + $1))
	shift
	while ! "$@"; do
		now_ms
		[ "$NOW" -ge "$deadline" ] && return 1
		nap 0.05
	done
	return 0
}

# ------------------------------------------------------------ devices

VIRTIO_DRV=/sys/bus/virtio/drivers/virtio_net
E1000E_DRV=/sys/bus/pci/drivers/e1000e

# roles: MASTER STANDBY PRIMARY from sysfs (no fork). The master has
# lower_* links; it shares the standby's parent device (an nfosim master
# has lower_* links too, but another parent).
roles()
{
	local p d l has

	MASTER='' STANDBY='' PRIMARY=''
	for p in /sys/class/net/*; do
		d=${p##*/}
		if [ "$p/device/driver" -ef "$E1000E_DRV" ]; then
			PRIMARY=$d
			continue
		fi
		has=
		for l in "$p"/lower_*; do
			[ -e "$l" ] && has=1
		done
		[ "$p/device/driver" -ef "$VIRTIO_DRV" ] || continue
		if [ -n "$has" ]; then
			MASTER=$d
		else
			STANDBY=$d
		fi
	done
}

triple_formed()
{
	roles
	[ -n "$MASTER" ] && [ -n "$STANDBY" ] && [ -n "$PRIMARY" ] &&
		[ -e "/sys/class/net/$MASTER/lower_$STANDBY" ] &&
		[ -e "/sys/class/net/$MASTER/lower_$PRIMARY" ]
}

standby_formed()
{
	roles
	[ -n "$MASTER" ] && [ -n "$STANDBY" ] &&
		[ -e "/sys/class/net/$MASTER/lower_$STANDBY" ]
}

carrier()
{
	local c

	read -r c < "/sys/class/net/$1/carrier" 2>/dev/null
	[ "$c" = 1 ]
}

primary_pci_present()
{
	local d v

	for d in /sys/bus/pci/devices/*; do
		read -r v < "$d/vendor" && [ "$v" = 0x8086 ] || continue
		read -r v < "$d/device" && [ "$v" = 0x10d3 ] && return 0
	done
	return 1
}

mod_loaded()
{
	[ -e "/sys/module/$1/refcnt" ]
}

unload_all()
{
	local m

	for m in pktgen nfosim e1000e virtio_net net_failover failover; do
		mod_loaded "$m" || continue
		log "rmmod $m"
		rmmod "$m" || return 1
	done
}

# load_set stock|ours|ours-share (ours with tx_skb_sharing=1)
load_set()
{
	local share=0

	unload_all || die "cannot unload the failover modules"
	[ "$1" = ours-share ] && share=1
	if [ "${1%-share}" = ours ]; then
		insmod "$PG_OURS_DIR/failover.ko" ||
			die "insmod ours failover.ko"
		insmod "$PG_OURS_DIR/net_failover.ko" tx_skb_sharing=$share ||
			die "insmod ours net_failover.ko tx_skb_sharing=$share"
	else
		modprobe net_failover || die "modprobe net_failover"
	fi
	modprobe virtio_net || die "modprobe virtio_net"
	waitfor 15000 standby_formed || die "no master after virtio_net"
	if [ "$PG_MQ" -gt 1 ]; then
		# virtio-net starts with as many queue pairs as CPUs
		ethtool -L "$STANDBY" combined "$PG_MQ" ||
			die "ethtool -L $STANDBY combined $PG_MQ"
	fi
	waitfor 15000 primary_pci_present || die "primary PCI never appeared"
	modprobe e1000e || die "modprobe e1000e"
	waitfor 15000 triple_formed || die "master/standby/primary not formed"
	[ -n "$PG_NFOSIM" ] && sim_load
	modprobe pktgen || die "modprobe pktgen"
	[ -e "$PG/kpktgend_$((PG_THREADS - 1))" ] ||
		die "no $PG/kpktgend_$((PG_THREADS - 1)) (CPUs: $(nproc))"
	SRCVERSION=$(cat /sys/module/net_failover/srcversion 2>/dev/null)
	TAINT=$(cat /sys/module/net_failover/taint 2>/dev/null)
}

# ------------------------------------------------------------ nfosim

# The simulated lowers (PG_NFOSIM: nfosim.ko, built against the same
# symbol CRCs as the stock net_failover.ko, so it loads over either
# module set): one group, its master SIM_MASTER, standby SIM_STANDBY and
# primary SIM_PRIMARY (parent: QEMU's pci-testdev). Every nfosim lower
# has 4 transmit queues and frees what it is given.
NFOSIM=/sys/kernel/debug/nfosim
SIM_ID=7
SIM_MAC=52:54:01:00:00:07
SIM_MASTER='' SIM_STANDBY='' SIM_PRIMARY=''

sim_formed()
{
	[ -e "/sys/class/net/$SIM_MASTER/lower_$SIM_STANDBY" ] &&
		[ -e "/sys/class/net/$SIM_MASTER/lower_$SIM_PRIMARY" ]
}

sim_load()
{
	local pci

	insmod "$PG_NFOSIM" || die "insmod $PG_NFOSIM"
	[ -w "$NFOSIM/new_group" ] || die "no $NFOSIM/new_group (debugfs)"
	read -r pci < "$NFOSIM/pci_parent"
	[ -n "$pci" ] || die "no PCI parent for nfosim primaries (pci-testdev)"
	echo "$SIM_ID $SIM_MAC" > "$NFOSIM/new_group" ||
		die "nfosim: new_group $SIM_ID"
	echo 1 > "$NFOSIM/$SIM_ID/add_primary" ||
		die "nfosim: add_primary 1 to group $SIM_ID"
	read -r SIM_MASTER < "$NFOSIM/$SIM_ID/master"
	read -r SIM_STANDBY < "$NFOSIM/$SIM_ID/standby/ifname"
	read -r SIM_PRIMARY < "$NFOSIM/$SIM_ID/p1/ifname"
	waitfor 5000 sim_formed ||
		die "nfosim: $SIM_MASTER/$SIM_STANDBY/$SIM_PRIMARY not formed"
}

links_up()
{
	local d

	for d in "$MASTER" "$STANDBY" "$PRIMARY" \
		 $SIM_MASTER $SIM_STANDBY $SIM_PRIMARY; do
		ip link set dev "$d" up || return 1
	done
	for d in "$PRIMARY" "$STANDBY" "$MASTER" \
		 $SIM_PRIMARY $SIM_STANDBY $SIM_MASTER; do
		waitfor 15000 carrier "$d" || return 1
	done
}

# txq_count DEV: TXQ, DEV's transmit queues in use (its tx-N in sysfs)
txq_count()
{
	local q

	TXQ=0
	for q in /sys/class/net/"$1"/queues/tx-*; do
		[ -e "$q" ] && TXQ=$((TXQ + 1))
	done
}

# ------------------------------------------------------------ qdiscs

# set_qdisc DEV default|KIND: on a device with several transmit queues,
# KIND under each queue of an mq root (as the kernel's default, mq with
# one fq_codel per queue), so that every queue keeps its own counts
set_qdisc()
{
	local n

	tc qdisc del dev "$1" root 2>/dev/null
	[ "$2" = default ] && return 0
	txq_count "$1"
	[ "$TXQ" -gt 1 ] || {
		tc qdisc replace dev "$1" root "$2"
		return
	}
	tc qdisc add dev "$1" root handle 1: mq || return 1
	for ((n = 1; n <= TXQ; n++)); do
		tc qdisc replace dev "$1" parent "$(printf '1:%x' $n)" "$2" ||
			return 1
	done
}

# qd_kind DEV: QDKIND, DEV's root qdisc kind ("mq/KIND" for an mq root
# with KIND under its first queue)
qd_kind()
{
	QDKIND=$(tc qdisc show dev "$1" | awk '
		$0 ~ / root/ && !root { root = $2 }
		$0 ~ / parent / && !leaf { leaf = $2 }
		END { print root (root == "mq" && leaf ? "/" leaf : "") }')
}

# queue_pkts DEV: QPKTS, the frames each transmit queue's qdisc has been
# offered (sent + dropped), comma-separated, from the classes of an mq
# root; "-" without one
queue_pkts()
{
	local line cls=0 re='^ Sent [0-9]+ bytes ([0-9]+) pkt \(dropped ([0-9]+)'
	local -a q=()

	while read -r line; do
		if [[ $line =~ ^class\ mq\ [0-9a-f]*:([0-9a-f]+) ]]; then
			cls=$((16#${BASH_REMATCH[1]}))
		elif ((cls)) && [[ " $line" =~ $re ]]; then
			q[cls - 1]=$((BASH_REMATCH[1] + BASH_REMATCH[2]))
			cls=0
		fi
	done <<< "$(tc -s class show dev "$1")"
	QPKTS=-
	((${#q[@]})) || return 0
	QPKTS=$(IFS=,; echo "${q[*]}")
}

# queue_delta BEFORE AFTER: DELTA, per-queue differences of two QPKTS
queue_delta()
{
	local -a before after
	local i

	DELTA=-
	{ [ "$1" = - ] || [ "$2" = - ]; } && return 0
	IFS=, read -r -a before <<< "$1"
	IFS=, read -r -a after <<< "$2"
	DELTA=
	for i in "${!after[@]}"; do
		DELTA+="${DELTA:+,}$((after[i] - ${before[i]:-0}))"
	done
}

# qd_pkts DEV: QD, packets offered to the root qdisc so far (sent +
# dropped); QDROP of them dropped, QREQ requeues (the driver's queue was
# stopped)
qd_pkts()
{
	local s re='Sent [0-9]+ bytes ([0-9]+) pkt \(dropped ([0-9]+)'

	QD=0 QDROP=0 QREQ=0
	s=$(tc -s qdisc show dev "$1" root) || return 1
	[[ $s =~ $re ]] || return 1
	QD=$((BASH_REMATCH[1] + BASH_REMATCH[2])) QDROP=${BASH_REMATCH[2]}
	re='requeues ([0-9]+)'
	[[ $s =~ $re ]] && QREQ=${BASH_REMATCH[1]}
	return 0
}

# irq_names DEV: IRQ_NAMES, globs of the /proc/interrupts names of DEV's
# interrupts: virtioN-input.0, virtioN-output.0 (virtio-net, virtioN its
# virtio device), DEV-rx-0, DEV-tx-0, DEV (e1000e MSI-X)
IRQ_DEV=
irq_names()
{
	local d

	[ "$IRQ_DEV" = "$1" ] && return 0
	d=$(readlink "/sys/class/net/$1/device")
	IRQ_NAMES=("$1" "$1-*")
	[ -n "$d" ] && IRQ_NAMES+=("${d##*/}-*")
	IRQ_DEV=$1
}

# irqs DEV: IRQS = interrupts of DEV so far (every online CPU)
irqs()
{
	local w n pat

	irq_names "$1"
	IRQS=0
	while read -r -a w; do
		[[ ${w[0]} = *: ]] || continue
		for pat in "${IRQ_NAMES[@]}"; do
			# shellcheck disable=SC2053 # pat is a glob
			[[ ${w[-1]} = $pat ]] || continue
			for n in "${w[@]:1}"; do
				[[ $n =~ ^[0-9]+$ ]] || break
				IRQS=$((IRQS + n))
			done
			break
		done
	done < /proc/interrupts
}

# ------------------------------------------------------------ pktgen

pgset()
{
	echo "$2" > "$PG/$1" 2>/dev/null
}

# pg_prepare DEV COUNT: bind DEV to each of the PG_THREADS pktgen
# threads (kpktgend_T sends on "DEV@T"; one thread: on "DEV"), COUNT
# frames in all (0: no limit), 64-byte frames, queue_xmit, every frame a
# new skb unless CLONE says otherwise. PGDEVS: pktgen's names of DEV.
# With several threads or PG_MQ (multi-queue lowers), the UDP source
# port steps through 1024-2047 frame by frame (1024 flows), so that a
# lower choosing its queue by flow hash spreads them. Stepping, not
# pktgen's UDPSRC_RND: until the guest's crng is seeded, every
# get_random_u32() runs a ChaCha block, which made early rounds 2-3x
# slower than later ones under icount.
CLONE=0
XMODE=queue_xmit
PGDEVS=()
pg_prepare()
{
	local t d

	PGDEVS=()
	for ((t = 0; t < PG_THREADS; t++)); do
		echo "rem_device_all" > "$PG/kpktgend_$t" || return 1
	done
	for ((t = 0; t < PG_THREADS; t++)); do
		d=$1
		[ "$PG_THREADS" -gt 1 ] && d=$1@$t
		echo "add_device $d" > "$PG/kpktgend_$t" || return 1
		PGDEVS+=("$d")
		pgset "$d" "xmit_mode $XMODE" &&
			pgset "$d" "count $(($2 / PG_THREADS))" &&
			pgset "$d" "pkt_size $PG_PKT_SIZE" &&
			pgset "$d" "clone_skb $CLONE" &&
			pgset "$d" "delay 0" &&
			pgset "$d" "dst 10.0.0.2" &&
			pgset "$d" "dst_mac 52:54:00:00:00:02" || return 1
		[ "$PG_THREADS" -gt 1 ] || [ "$PG_MQ" -gt 1 ] || continue
		pgset "$d" "udp_src_min 1024" &&
			pgset "$d" "udp_src_max 2048" || return 1
	done
}

# pg_result: PPS PKTS USEC ERRS from the pktgen files of PGDEVS: sums
# over the threads (USEC: the longest)
pg_result()
{
	local line d usec r1='^Result: OK: ([0-9]+)\(.*usec, ([0-9]+) \('
	local r2='([0-9]+)pps .*errors: ([0-9]+)'

	PPS=0 PKTS=0 USEC=0 ERRS=0
	for d in "${PGDEVS[@]}"; do
		usec=0
		while read -r line; do
			if [[ $line =~ $r1 ]]; then
				usec=${BASH_REMATCH[1]}
				PKTS=$((PKTS + BASH_REMATCH[2]))
			elif [[ $line =~ $r2 ]]; then
				PPS=$((PPS + BASH_REMATCH[1]))
				ERRS=$((ERRS + BASH_REMATCH[2]))
			fi
		done < "$PG/$d"
		[ "$usec" -gt "$USEC" ] && USEC=$usec
	done
	[ "$PKTS" -gt 0 ]
}

# pg_timed DEV SECS
pg_timed()
{
	local pid

	pg_prepare "$1" 0 || return 1
	echo start > "$PG/pgctrl" &
	pid=$!
	nap "$2"
	echo stop > "$PG/pgctrl"
	wait "$pid"
	pg_result
}

# pg_count DEV N: send exactly N frames (returns when all are freed)
pg_count()
{
	pg_prepare "$1" "$2" || return 1
	echo start > "$PG/pgctrl"
	pg_result
}

# ------------------------------------------------------------ AF_PACKET

# afp_setup: a copy of af_packet_tx (built by pktgen_bench.py into OUT)
# on the guest's tmpfs, so that no round reads it over 9p; one test run
# on lo checks that it starts (dynamic, against the host root's libc).
AFP_BIN=/tmp/af_packet_tx
afp_setup()
{
	cp "$PG_AFP" "$AFP_BIN" || die "no AF_PACKET sender $PG_AFP"
	chmod 755 "$AFP_BIN" || die "chmod $AFP_BIN"
	"$AFP_BIN" -i lo -n 64 > /dev/null || die "$AFP_BIN does not run"
}

# afp_timed DEV SECS: AF_PACKET SOCK_RAW frames bound to DEV for SECS
# seconds (the sender's CLOCK_MONOTONIC), PG_AFP_BATCH per sendmmsg(),
# a send buffer of PG_AFP_SNDBUF bytes (0: the kernel's default).
# PPS PKTS USEC; ERRS: calls that failed with ENOBUFS (qdisc drop) or
# stopped short; EAGAIN: calls that found the send buffer full.
afp_timed()
{
	local out re='frames=([0-9]+) calls=[0-9]+ short=([0-9]+) '
	local sb=()

	re+='eagain=([0-9]+) enobufs=([0-9]+) usec=([0-9]+) pps=([0-9]+)'
	PPS=0 PKTS=0 USEC=0 ERRS=0 EAGAIN=0
	[ "$PG_AFP_SNDBUF" != 0 ] && sb=(-s "$PG_AFP_SNDBUF")
	out=$("$AFP_BIN" -i "$1" -t "$2" -b "$PG_AFP_BATCH" \
		-l "$PG_PKT_SIZE" "${sb[@]}") || return 1
	[[ $out =~ $re ]] || return 1
	PKTS=${BASH_REMATCH[1]} EAGAIN=${BASH_REMATCH[3]}
	ERRS=$((BASH_REMATCH[2] + BASH_REMATCH[4]))
	USEC=${BASH_REMATCH[5]} PPS=${BASH_REMATCH[6]}
}

# Which lower takes the master's frames: probe with a few hundred.
VIA=
probe_via()
{
	local p0 s0 p1 s1 n=300

	qd_pkts "$CUR_P" && p0=$QD || return 1
	qd_pkts "$CUR_S" && s0=$QD || return 1
	pg_count "$CUR_M" $n || return 1
	qd_pkts "$CUR_P" && p1=$QD || return 1
	qd_pkts "$CUR_S" && s1=$QD || return 1
	VIA=none
	[ $((p1 - p0)) -ge $((n * 9 / 10)) ] && VIA=primary
	[ $((s1 - s0)) -ge $((n * 9 / 10)) ] && VIA=standby
	[ "$VIA" = "$WANT_VIA" ]
}

# ------------------------------------------------------------ events

# kprobes: the device each function works on (skb->dev is at offset 16,
# net_device.name at offset 0 in 6.1).
KPROBES="
dqx __dev_queue_xmit dev=+0(+16(%di)):string
vxs validate_xmit_skb dev=+0(%si):string
nsf netif_skb_features dev=+0(+16(%di)):string
hsx dev_hard_start_xmit dev=+0(%si):string
sdx sch_direct_xmit dev=+0(%dx):string
npt netdev_pick_tx dev=+0(%di):string
sth skb_tx_hash dev=+0(%di):string
fd __skb_flow_dissect dev=+0(+16(%si)):string
"
# name event-dir key
EVENTS=
setup_events()
{
	local name fn args

	[ -d "$T/events/net" ] || mount -t tracefs tracefs "$T" 2>/dev/null
	[ -w "$T/kprobe_events" ] || { log "no tracefs"; return 1; }
	echo 0 > "$T/tracing_on"
	echo > "$T/kprobe_events" 2>/dev/null
	EVENTS="net_dev_queue:net/net_dev_queue:name"
	EVENTS+=" net_dev_start_xmit:net/net_dev_start_xmit:name"
	EVENTS+=" net_dev_xmit:net/net_dev_xmit:name"
	while read -r name fn args; do
		[ -n "$name" ] || continue
		if echo "p:pgb/$name $fn $args" >> "$T/kprobe_events" 2>/dev/null; then
			EVENTS+=" $fn:pgb/$name:dev"
		else
			log "kprobe on $fn not available"
			rec "kprobe_missing fn=$fn"
		fi
	done <<< "$KPROBES"
}

# count_events ROLE DEV: one fixed-count round with hist triggers
count_events()
{
	local role=$1 dev=$2 e label dir key line total per
	local re='\{ *[a-z]+: *([^ }]*) *\} hitcount: *([0-9]+)'

	for e in $EVENTS; do
		IFS=: read -r label dir key <<< "$e"
		echo "hist:keys=$key:vals=hitcount" > "$T/events/$dir/trigger" ||
			log "hist trigger on $dir failed"
	done
	pg_count "$dev" "$PG_EVENT_PKTS" || log "event round on $dev failed"
	local pkts=$PKTS
	for e in $EVENTS; do
		IFS=: read -r label dir key <<< "$e"
		total=0 per=
		while read -r line; do
			if [[ $line =~ $re ]]; then
				total=$((total + BASH_REMATCH[2]))
				per+="${per:+,}${BASH_REMATCH[1]}:${BASH_REMATCH[2]}"
			fi
		done < "$T/events/$dir/hist"
		echo "!hist:keys=$key:vals=hitcount" > "$T/events/$dir/trigger"
		rec "ev $CTX role=$role dev=$dev pkts=$pkts event=$label" \
		    "hits=$total perdev=${per:--}"
	done
	log "events $CTX role=$role: $pkts frames"
}

# ------------------------------------------------------------ options

# accepts DEV MODE PARAM VALUE: does pktgen take PARAM on DEV in MODE?
accepts()
{
	pg_prepare "$1" 1000 || return 1
	pgset "${PGDEVS[0]}" "xmit_mode $2" || return 1
	pgset "${PGDEVS[0]}" "$3 $4"
}

clone_check()
{
	local dev role ok p

	for role in master primary standby; do
		case $role in
		master) dev=$MASTER ;;
		primary) dev=$PRIMARY ;;
		standby) dev=$STANDBY ;;
		esac
		for p in "queue_xmit clone_skb 8" "start_xmit clone_skb 8" \
			 "start_xmit burst 8"; do
			set -- $p
			if accepts "$dev" "$1" "$2" "$3"; then ok=yes; else ok=no; fi
			rec "opt mods=$MODS role=$role dev=$dev mode=$1 param=$2" \
			    "accepted=$ok"
		done
	done
	# Where do clone_skb copies go? pktgen queue_xmit resends the same
	# skb, and dev_queue_xmit() follows skb->dev, which the master has
	# pointed at the lower by then. Counted on the master (if it takes
	# clone_skb) and on the primary for reference, with a blackhole on
	# the lowers: it frees every copy at once, so no qdisc ever holds
	# the shared skb (a list-based qdisc such as fq_codel must not).
	[ "$PG_EVENTS" = 1 ] && [ -n "$EVENTS" ] || return 0
	set_qdisc "$PRIMARY" blackhole
	set_qdisc "$STANDBY" blackhole
	local saved=$EVENTS
	EVENTS="net_dev_queue:net/net_dev_queue:name"
	EVENTS+=" net_dev_start_xmit:net/net_dev_start_xmit:name"
	CTX="block=$bi mods=$MODS path=primary qdisc=blackhole test=clone8"
	CLONE=8
	for role in master primary; do
		[ $role = master ] && dev=$MASTER || dev=$PRIMARY
		accepts "$dev" queue_xmit clone_skb 8 || continue
		count_events "$role" "$dev"
	done
	CLONE=0
	EVENTS=$saved
	set_qdisc "$PRIMARY" default
	set_qdisc "$STANDBY" default
}

# graph ROLE DEV: one frame's call graph below __dev_queue_xmit (the
# function_graph tracer; under icount its times are guest instructions
# times 2^shift ns, plus the tracer's own cost)
graph()
{
	local f=$OUT/pktgen_graph.$MODS.$path.$qd.$1.txt

	[ -w "$T/current_tracer" ] || return 0
	echo 0 > "$T/tracing_on"
	echo function_graph > "$T/current_tracer" || return 0
	echo __dev_queue_xmit > "$T/set_graph_function"
	# Hook only the transmit path: patching every function under TCG
	# takes long.
	{
		echo ':mod:net_failover'
		for g in '*xmit*' '*qdisc*' '*pick_tx*' '*skb*' '*features*' \
			 '*flow*' '*hash*' '*rcu_read*' '*bh*' '*spin*' '*e1000*' \
			 '*virtnet*' '*virtqueue*' '*fq_codel*' '*blackhole*'; do
			echo "$g"
		done
	} > "$T/set_ftrace_filter" 2>/dev/null
	echo 0 > "$T/max_graph_depth"
	echo 1024 > "$T/buffer_size_kb"
	echo 0 > "$T/options/funcgraph-irqs" 2>/dev/null
	echo > "$T/trace"
	echo 1 > "$T/tracing_on"
	pg_count "$2" 20
	echo 0 > "$T/tracing_on"
	# the last complete top-level __dev_queue_xmit block
	awk -v ctx="$CTX role=$1 dev=$2" '
		/__dev_queue_xmit\(\) \{/ && depth == 0 { cur = ""; on = 1 }
		on { cur = cur $0 "\n"
		     if ($0 ~ /\{ *$/) depth++
		     else if ($0 ~ /\} *(\/\*.*)?$/) depth--
		     if (depth == 0) { last = cur; on = 0 } }
		END { printf "# %s\n%s", ctx, last }' "$T/trace" > "$f"
	echo nop > "$T/current_tracer"
	echo > "$T/set_graph_function"
	echo > "$T/set_ftrace_filter"
	log "graph: $f"
}

# ------------------------------------------------------------ paths

# go_path primary|standby|sim-primary|sim-standby: CUR_M, CUR_P, CUR_S
# the master and lowers of the path's group (virtio-net/e1000e, or
# nfosim's), CUR_L the lower that must carry the master's frames
go_path()
{
	case $1 in
	primary | standby)
		CUR_M=$MASTER CUR_P=$PRIMARY CUR_S=$STANDBY ;;
	sim-primary | sim-standby)
		CUR_M=$SIM_MASTER CUR_P=$SIM_PRIMARY CUR_S=$SIM_STANDBY ;;
	*)
		return 1 ;;
	esac
	[ -n "$CUR_M" ] || return 1
	WANT_VIA=${1#sim-}
	if [ "$WANT_VIA" = primary ]; then
		CUR_L=$CUR_P
		[ -n "$PG_FAILOVERCTL" ] && [ "$MODS" != stock ] &&
			"$PG_FAILOVERCTL" set "$CUR_M" force-standby off
		ip link set dev "$CUR_P" up
		waitfor 15000 carrier "$CUR_P" || return 1
	else
		CUR_L=$CUR_S
		if [ "$PG_STANDBY_VIA" = force ] && [ -n "$PG_FAILOVERCTL" ] &&
		   [ "$MODS" != stock ]; then
			"$PG_FAILOVERCTL" set "$CUR_M" force-standby on ||
				return 1
			STANDBY_HOW=force-standby
		else
			ip link set dev "$CUR_P" down || return 1
			STANDBY_HOW=primary-down
		fi
	fi
	waitfor 20000 probe_via
}

# ------------------------------------------------------------ rounds

# reversed WORD...: the words in reverse order (ABBA rounds)
reversed()
{
	local out='' w

	for w; do
		out="$w${out:+ $out}"
	done
	echo "$out"
}

# sender_rounds SND R MASTERDEV LOWERDEV: round R of sender SND, its
# roles in ABBA order (reversed when R is odd)
sender_rounds()
{
	local snd=$1 r=$2 mdev=$3 ldev=$4 order role dev q0 d0 rq0 i0 qp0

	order="master lower"
	[ "$snd" = pktgen ] && [ "${PG_SX:-1}" = 1 ] &&
		order="master master_sx lower"
	# shellcheck disable=SC2086 # one argument per word
	((r % 2)) && order=$(reversed $order)
	for role in $order; do
		[ $role = lower ] && dev=$ldev || dev=$mdev
		[ $role = master_sx ] && XMODE=start_xmit
		qd_pkts "$ldev"
		q0=$QD d0=$QDROP rq0=$QREQ
		irqs "$ldev"
		i0=$IRQS
		queue_pkts "$ldev"
		qp0=$QPKTS
		EAGAIN=0
		if [ "$snd" = af_packet ]; then
			afp_timed "$dev" "$PG_SECS" ||
				log "af_packet round on $dev failed"
		else
			pg_timed "$dev" "$PG_SECS" || log "round on $dev failed"
		fi
		XMODE=queue_xmit
		qd_pkts "$ldev"
		irqs "$ldev"
		queue_pkts "$ldev"
		queue_delta "$qp0" "$QPKTS"
		rec "round $CTX sender=$snd role=$role dev=$dev r=$r" \
		    "pps=$PPS pkts=$PKTS usec=$USEC" \
		    "errors=$ERRS eagain=$EAGAIN lower_pkts=$((QD - q0))" \
		    "lower_drops=$((QDROP - d0)) lower_requeues=$((QREQ - rq0))" \
		    "lower_irqs=$((IRQS - i0)) lower_q=$DELTA"
		log "$MODS $path $qd r$r $snd $role $dev:" \
		    "$PPS pps ($PKTS in ${USEC}us," \
		    "$ERRS errors, lower saw $((QD - q0)))"
	done
}

# measure MASTERDEV LOWERDEV R: event counts (once per module set, path
# and qdisc), then round R: one timed master/lower pair per sender in
# ABBA order (the senders' order is reversed every other round too).
# Uses CTX, MODS, path, qd.
measure()
{
	local mdev=$1 ldev=$2 r=$3 snd senders

	if [ -z "${EVENTS_DONE[$MODS/$path/$qd]:-}" ] && [ "$PG_EVENTS" = 1 ]
	then
		count_events master "$mdev"
		count_events lower "$ldev"
		if [ "${PG_GRAPH:-0}" = 1 ] && [ "$qd" = blackhole ]; then
			graph master "$mdev"
			graph lower "$ldev"
		fi
		EVENTS_DONE[$MODS/$path/$qd]=1
	fi
	# master_sx (pktgen only): pktgen start_xmit on the master, which
	# calls its ndo_start_xmit directly: the difference to "master" is
	# the core's pass over the master, the difference to "lower" the
	# driver's.
	senders=$PG_SENDERS
	# shellcheck disable=SC2086 # one argument per word
	((r % 2)) && senders=$(reversed $PG_SENDERS)
	for snd in $senders; do
		sender_rounds "$snd" "$r" "$mdev" "$ldev"
	done
}

# The same measurement on an in-tree stacked device, for scale: a
# bonding master (active-backup) over a dummy lower with a blackhole
# root qdisc. Independent of the failover modules: once per boot.
reference()
{
	local b=pgbond0 d=pgdummy0

	modprobe dummy numdummies=0 && modprobe bonding max_bonds=0 || {
		log "no dummy/bonding module: no reference"
		return 0
	}
	ip link add "$d" type dummy &&
		ip link add "$b" type bond mode active-backup miimon 100 &&
		ip link set "$d" master "$b" &&
		ip link set "$d" up && ip link set "$b" up &&
		waitfor 5000 carrier "$b" || {
			log "bond over dummy did not come up: no reference"
			return 0
		}
	local MODS=ref path=bond qd=blackhole r
	set_qdisc "$d" blackhole
	CTX="block=$bi mods=ref path=bond how=active-backup qdisc=blackhole"
	CTX+=" lower_qdisc=blackhole"
	for ((r = 0; r < PG_ROUNDS; r++)); do
		measure "$b" "$d" "$r"
	done
	ip link del "$b"
	ip link del "$d"
	rmmod bonding dummy 2>/dev/null
}

# ------------------------------------------------------------ main

: > "$RES"
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6
echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6
rec "meta kernel=$(uname -r) cpus=$(nproc)" \
    "qdisc_default=$(cat /proc/sys/net/core/default_qdisc)"
log "blocks=\"$PG_BLOCKS\" paths=\"$PG_PATHS\" qdiscs=\"$PG_QDISCS\"" \
    "rounds=$PG_ROUNDS secs=$PG_SECS"

declare -A EVENTS_DONE CLONE_DONE
[[ " $PG_SENDERS " = *" af_packet "* ]] && afp_setup
bi=$PG_BLOCK0
# Module sets interleaved: round r of every configuration for each set
# in turn, the sets' order reversed on odd r (ABBA across rounds)
for ((ri = 0; ri < PG_ROUNDS; ri++)); do
	r=$((PG_ROUND0 + ri))
	sets=$PG_BLOCKS
	# shellcheck disable=SC2086 # one argument per word
	((r % 2)) && sets=$(reversed $PG_BLOCKS)
	for MODS in $sets; do
		bi=$((bi + 1))
		now_ms
		t0=$NOW
		load_set "$MODS"
		links_up || die "links did not come up"
		txq_count "$STANDBY"
		sby_txq=$TXQ
		sim_txq=0
		if [ -n "$SIM_PRIMARY" ]; then
			txq_count "$SIM_PRIMARY"
			sim_txq=$TXQ
		fi
		rec "block n=$bi r=$r mods=$MODS master=$MASTER" \
		    "standby=$STANDBY primary=$PRIMARY standby_txq=$sby_txq" \
		    "sim_master=${SIM_MASTER:--} sim_standby=${SIM_STANDBY:--}" \
		    "sim_primary=${SIM_PRIMARY:--} sim_txq=$sim_txq" \
		    "threads=$PG_THREADS cpus=$(nproc)" \
		    "srcversion=$SRCVERSION taint=$TAINT"
		sim=
		[ -n "$SIM_MASTER" ] && sim="nfosim $SIM_MASTER/$SIM_STANDBY/"
		[ -n "$SIM_MASTER" ] && sim+="$SIM_PRIMARY ($sim_txq tx queues)"
		log "block $bi (round $r): $MODS master=$MASTER" \
		    "standby=$STANDBY ($sby_txq tx queues) primary=$PRIMARY" \
		    "$sim srcversion=$SRCVERSION taint=$TAINT"
		if [ "$PG_EVENTS" = 1 ] && [ -z "$EVENTS" ]; then
			setup_events
		fi
		if [ -z "${CLONE_DONE[$MODS]:-}" ] && [ "$PG_CLONE" = 1 ]; then
			go_path primary ||
				die "master does not send via the primary"
			clone_check
			CLONE_DONE[$MODS]=1
		fi
		for path in $PG_PATHS; do
			go_path "$path" ||
				die "master does not send via the $path (via $VIA)"
			[ "$WANT_VIA" = primary ] && how=primary-up ||
				how=$STANDBY_HOW
			for qd in $PG_QDISCS; do
				set_qdisc "$CUR_L" "$qd" ||
					die "cannot set qdisc $qd on $CUR_L"
				qd_kind "$CUR_L"
				CTX="block=$bi mods=$MODS path=$path how=$how"
				CTX+=" qdisc=$qd lower_qdisc=$QDKIND"
				measure "$CUR_M" "$CUR_L" "$r"
				set_qdisc "$CUR_L" default
			done
		done
		if [ "$bi" = 1 ] && [ "${PG_REFERENCE:-1}" = 1 ]; then
			reference
		fi
		now_ms
		rec "block_end n=$bi mods=$MODS secs=$(((NOW - t0) / 1000))"
	done
done
echo > "$T/kprobe_events" 2>/dev/null
unload_all
rec "done"
log "done"
