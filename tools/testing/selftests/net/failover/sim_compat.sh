#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Where our master must behave as the stock one, or differs on purpose
# (Documentation/networking/net_failover.rst, "Compatibility with the
# stock driver"), on simulated lowers (nfosim.ko): which lower's frames
# reach the master in each state, the MTU the master starts with, its
# queues in sysfs, and netconsole through it.
#
# Receive rules checked here: each unicast frame is delivered once,
# through whichever lower it comes (the host may steer to either around a
# path change); the second copy of a frame that the other lower delivered
# less than 500 ms before stays on its lower (rx_nohandler, as the stock
# driver leaves the standby's frames) and counts as rx_drop_duplicate;
# multicast/broadcast on the inactive lower are never delivered
# (rx_drop_inactive); "multicast" is decided on the destination address,
# so unicast to a secondary MAC follows the unicast rule.
#
# Mutations these cases kill (each tried by hand on the driver):
#   rx_steady      no duplicate check: the standby's copies are
#                  delivered; the inactive lower's unicast dropped (stock's
#                  rule, or a window after path changes only): the frames
#                  the host steers to the standby are lost; the pkt_type
#                  test instead of the destination address: the
#                  secondary-MAC frames are lost; a copy from the same
#                  lower taken for a duplicate (rx-dedup-same-lower):
#                  the repeated frames lost
#   rx_switch      the inactive primary's unicast dropped after a switch
#   mtu_default    master MTU from the standby (host MTU 9000): the
#                  VF-like primary (max 1500) is refused
#   queues         a single-queue master: tx-15/rx-15 missing
#   netconsole     netpoll transmit through dev_queue_xmit(): the
#                  lower's qdisc counts netconsole's frames

ALL_TESTS="
	rx_steady
	rx_switch
	rx_no_primary
	mtu_default
	queues
	netconsole
"

source "$(dirname "$(readlink -f "$0")")/lib.sh"
source "$FT_DIR/nfosim/nfosim_lib.sh"

require_root_cmds ip ethtool tc
nfosim_setup

N=10

# rx_counts ID: RX[primary], RX[standby] delivered, RX[drop] multicast
# of the inactive lower, RX[dup] duplicates, from the master's ethtool
# counters; NOH[LOWER] the lowers' rx_nohandler
rx_counts()
{
	local l v

	sim_m "$1"
	declare -gA RX=() NOH=()
	while read -r l v; do
		case $l in
		rx_primary_packets:) RX[primary]=$v;;
		rx_standby_packets:) RX[standby]=$v;;
		rx_drop_inactive:) RX[drop]=$v;;
		rx_drop_duplicate:) RX[dup]=$v;;
		esac
	done <<< "$(ethtool -S "$SIM_M")"
	for l in standby p1; do
		sim_d "$1" "$l"
		[ -n "$SIM_D" ] && NOH[$l]=$(dev_stat "$SIM_D" rx_nohandler)
	done
}

# rx_snap ID LOWER: the counters before an injection on LOWER (RX0)
rx_snap()
{
	local p

	rx_counts "$1"
	declare -gA RX0=()
	for p in primary standby drop dup; do RX0[$p]=${RX[$p]}; done
	RX0[noh]=${NOH[$2]}
}

# rx_check ID LOWER WHAT COUNTER...: since rx_snap, each COUNTER (primary,
# standby: delivered; drop, dup: not delivered) grew by N and the others
# not at all; LOWER's rx_nohandler grew by N if frames were not delivered
rx_check()
{
	local id=$1 lower=$2 what=$3 p d exp
	shift 3

	rx_counts "$id"
	for p in primary standby drop dup noh; do
		exp=0
		case " $* " in
		*" $p "*) exp=$N;;
		*" drop "*|*" dup "*) [ "$p" = noh ] && exp=$N;;
		esac
		if [ "$p" = noh ]; then
			d=$((NOH[$lower] - RX0[noh]))
		else
			d=$((RX[$p] - RX0[$p]))
		fi
		[ "$d" -eq "$exp" ] ||
			check_err 1 "$what: ${p/noh/$lower rx_nohandler} +$d, want +$exp"
	done
}

# rx_expect ID LOWER "KIND [SEQ]" COUNTER: N frames of KIND (numbered from
# SEQ) received on LOWER go to COUNTER (see rx_check)
rx_expect()
{
	rx_snap "$1" "$2"
	sim_set "$1" "$2" rx "$N $3"
	check_err $? "cannot inject $3 on $2"
	rx_check "$1" "$2" "$3 on $2" "$4"
}

# rx_pair ID FIRST SECOND SEQ PATH: the same N frames (numbered from SEQ)
# on FIRST, then at once on SECOND (a host flooding both lowers; counters
# are read before and after, not in between: a fork takes long under TCG
# and copies count only within 500 ms): FIRST's are delivered through PATH,
# SECOND's stay on it as duplicates
rx_pair()
{
	rx_snap "$1" "$3"
	sim_set "$1" "$2" rx "$N ucast $4" && sim_set "$1" "$3" rx "$N ucast $4"
	check_err $? "cannot inject frames $4 on $2 and $3"
	rx_check "$1" "$3" "frames $4 on $2, then $3" "$5" dup
}

# rx_twice ID LOWER SEQ PATH: the same N frames (numbered from SEQ) twice
# on LOWER at once (well within the 500 ms a copy is looked for): all 2N
# are delivered through PATH, none is a duplicate. Kills:
# rx-dedup-same-lower (a frame seen on the same lower taken for a copy).
rx_twice()
{
	local N=$((N * 2))

	rx_snap "$1" "$2"
	sim_set "$1" "$2" rx "$((N / 2)) ucast $3" &&
		sim_set "$1" "$2" rx "$((N / 2)) ucast $3"
	check_err $? "cannot inject frames $3 twice on $2"
	rx_check "$1" "$2" "frames $3 twice on $2" "$4"
}

# switches_above M N: path_switches of master M is above N
switches_above()
{
	[ "$(ethtool_stat "$1" path_switches)" -gt "$2" ]
}

rx_steady()
{
	sim_new 20 && sim_add 20 1 && sim_up 20 && sim_wait_active 20 p1
	check_err $? "group 20 not transmitting through p1"
	rx_expect 20 p1 ucast primary
	rx_expect 20 p1 mcast primary
	rx_expect 20 standby bcast drop
	rx_expect 20 standby mcast drop
	# the host steers to the standby (unplug announced, not done yet)
	rx_expect 20 standby ucast standby
	rx_expect 20 standby other standby
	# a host that floods both lowers: the second copy stays on its lower
	rx_pair 20 p1 standby 5000 primary
	rx_pair 20 standby p1 6000 standby
	# the same frames again on the same lower are new frames
	rx_twice 20 standby 9000 standby
	# a copy after more than 500 ms is a new frame
	rx_expect 20 p1 "ucast 7000" primary
	ft_sleep 0.7
	rx_expect 20 standby "ucast 7000" standby
	sim_del 20
	log_test "receive, primary active: unicast once from either lower, multicast from the primary"
}

rx_switch()
{
	local m s0

	sim_new 21 && sim_add 21 1 && sim_up 21 && sim_wait_active 21 p1
	check_err $? "group 21 not transmitting through p1"
	sim_m 21
	m=$SIM_M
	s0=$(ethtool_stat "$m" path_switches)
	# p1 loses carrier: the standby becomes active, p1 is inactive but
	# the host may still be sending to it (or be sending to it already,
	# before the guest switches back)
	sim_set 21 p1 carrier 0
	busywait 5000 switches_above "$m" "$s0"
	check_err $? "no path change after p1 lost carrier"
	rx_expect 21 p1 ucast primary
	rx_expect 21 p1 other primary
	rx_expect 21 p1 bcast drop
	rx_expect 21 standby ucast standby
	rx_expect 21 standby mcast standby
	rx_pair 21 standby p1 8000 standby
	rx_pair 21 p1 standby 8100 primary
	sim_del 21
	log_test "receive, standby active: unicast once from either lower, multicast from the standby"
}

rx_no_primary()
{
	sim_new 22 && sim_up 22 && sim_wait_active 22 standby
	check_err $? "group 22 not transmitting through the standby"
	rx_expect 22 standby ucast standby
	rx_expect 22 standby mcast standby
	rx_expect 22 standby other standby
	sim_del 22
	log_test "receive, standby alone: everything delivered"
}

mtu_default()
{
	local m p

	# a host MTU of 9000 on the standby, as virtio_net reports one
	sim_new 23 mtu=9000 max_mtu=9000
	sim_m 23
	m=$SIM_M
	ip -d -j link show dev "$(sim_dev 23 standby)" | grep -q '"max_mtu":9000'
	check_err $? "the simulated standby's maximum MTU is not 9000"
	[ "$(dev_mtu "$m")" = 1500 ]
	check_err $? "master MTU $(dev_mtu "$m"), want 1500 (stock's)"
	sim_check_group 23 standby
	[ "$(dev_mtu "$(sim_dev 23 standby)")" = 1500 ]
	check_err $? "standby not brought to the master's 1500"
	# a VF whose maximum is below the host MTU: enslaved, as stock would
	sim_add 23 1 max_mtu=1500
	sim_check_group 23 standby p1
	ip link set dev "$m" mtu 9000 2> /dev/null
	check_fail $? "MTU 9000 accepted although p1 takes at most 1500"
	[ "$(dev_mtu "$m")" = 1500 ]
	check_err $? "master MTU changed by a refused request"
	# without the VF, the user may raise it up to the standby's maximum
	sim_rm 23 1
	ip link set dev "$m" mtu 9000
	check_err $? "MTU 9000 refused with only the standby"
	# a VF that cannot take the user's MTU is refused, as by stock
	sim_add 23 2 max_mtu=1500
	p=$(sim_dev 23 p2)
	has_upper "$p"
	check_fail $? "$p enslaved although it cannot take MTU 9000"
	dmesg | tail -n 5 | grep -q "$p not enslaved: cannot take MTU 9000"
	check_err $? "no log line for the refused p2"
	sim_del 23

	# a host MTU below 1500 is honoured: the standby cannot take more
	sim_new 24 mtu=1400 max_mtu=1400
	sim_m 24
	[ "$(dev_mtu "$SIM_M")" = 1400 ]
	check_err $? "master MTU $(dev_mtu "$SIM_M"), want the host's 1400"
	sim_check_group 24 standby
	sim_del 24
	log_test "MTU: 1500 as stock, a VF below the host MTU enslaved, a host MTU below 1500 honoured"
}

queues()
{
	local m q v

	sim_new 25 && sim_add 25 1 && sim_up 25 && sim_wait_active 25 p1
	check_err $? "group 25 not transmitting through p1"
	sim_m 25
	m=$SIM_M
	for q in 0 15; do
		[ -d "/sys/class/net/$m/queues/tx-$q" ] ||
			check_err 1 "no queues/tx-$q (stock has 16)"
		[ -d "/sys/class/net/$m/queues/rx-$q" ] ||
			check_err 1 "no queues/rx-$q (stock has 16)"
	done
	[ -d "/sys/class/net/$m/queues/tx-16" ] &&
		check_err 1 "queues/tx-16 (stock has 16)"
	echo 1 > "/sys/class/net/$m/queues/tx-3/xps_cpus"
	check_err $? "writing xps_cpus of tx-3 failed"
	v=
	read -r v < "/sys/class/net/$m/queues/tx-3/xps_cpus"
	[[ $v =~ ^[0,]*1$ ]]
	check_err $? "xps_cpus of tx-3 reads '$v', want 1"
	echo 1 > "/sys/class/net/$m/queues/rx-3/rps_cpus"
	check_err $? "writing rps_cpus of rx-3 failed"
	v=
	read -r v < "/sys/class/net/$m/queues/rx-3/rps_cpus"
	[[ $v =~ ^[0,]*1$ ]]
	check_err $? "rps_cpus of rx-3 reads '$v', want 1"
	sim_active 25
	[ "$SIM_ACTIVE" = p1 ]
	check_err $? "with XPS set, transmit went through '$SIM_ACTIVE', want p1"
	sim_del 25
	log_test "queues: tx-0..15 and rx-0..15 as stock, XPS/RPS settable, transmit unchanged"
}

# qdisc_sent DEV: packets the root qdisc of DEV sent
qdisc_sent()
{
	tc -s qdisc show dev "$1" | sed -n 's/^ *Sent [0-9]* bytes \([0-9]*\) pkt.*/\1/p' |
		head -n 1
}

netconsole()
{
	local m p t0 q0 t1 q1 i

	modinfo netconsole > /dev/null 2>&1 || {
		log_skip "no netconsole module in $(uname -r)"
		log_test "netconsole on the master"
		return
	}
	sim_new 26 && sim_add 26 1 && sim_up 26 && sim_wait_active 26 p1
	check_err $? "group 26 not transmitting through p1"
	sim_m 26
	m=$SIM_M
	p=$(sim_dev 26 p1)
	tc qdisc replace dev "$p" root pfifo
	check_err $? "cannot give $p a qdisc"
	# nothing else of ours on the wire while we count
	sysctl -qw "net.ipv6.conf.$m.disable_ipv6=1"
	modprobe netconsole \
		"netconsole=6665@10.0.26.1/$m,6666@10.0.26.2/$SIM_PEER_MAC"
	check_err $? "netconsole refused $m"
	defer "rmmod netconsole"
	t0=$(dev_stat "$p" tx_packets)
	q0=$(qdisc_sent "$p")
	for ((i = 0; i < N; i++)); do
		echo "<3>net_failover selftest $i" > /dev/kmsg
	done
	t1=$(dev_stat "$p" tx_packets)
	q1=$(qdisc_sent "$p")
	[ $((t1 - t0)) -ge "$N" ]
	check_err $? "$p transmitted $((t1 - t0)) frames for $N messages"
	# through dev_queue_xmit() every message would pass the qdisc
	[ $((q1 - q0)) -lt "$N" ]
	check_err $? "netconsole's frames went through $p's qdisc ($q0 -> $q1): not netpoll"
	rmmod netconsole
	check_err $? "cannot unload netconsole"
	sim_del 26
	log_test "netconsole on the master: through the active lower's netpoll"
}

run_tests
