#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Where our master must behave as the stock one, or differs on purpose
# (Documentation/networking/net_failover.rst, "Compatibility with the
# stock driver"), on simulated lowers (nfosim.ko): which lower's frames
# reach the master in each state, the MTU the master starts with, its
# queues in sysfs, and netconsole through it.
#
# Receive rules checked here: frames on the active lower are delivered;
# on the inactive lower, unicast is delivered only for the window after a
# path change (NFO_RX_WINDOW_MS, 2 s) and stays on the lower otherwise
# (counted in its rx_nohandler, as the stock driver leaves them);
# multicast/broadcast on the inactive lower never; "multicast" is decided
# on the destination address, so unicast to a secondary MAC follows the
# unicast rule.
#
# Mutations these cases kill (each tried by hand on the driver):
#   rx_steady      unicast taken from both lowers at all times (the
#                  previous rule): standby unicast is delivered
#   rx_window      no window (inactive unicast always dropped): the
#                  unicast right after the switch is lost; the pkt_type
#                  test instead of the destination address: the
#                  secondary-MAC frames in the window are lost; an
#                  endless window: unicast after it is delivered
#   mtu_default    master MTU from the standby (host MTU 9000): the
#                  VF-like primary (max 1500) is refused
#   queues         a single-queue master: tx-15/rx-15 missing
#   netconsole     netpoll transmit through dev_queue_xmit(): the
#                  lower's qdisc counts netconsole's frames

ALL_TESTS="
	rx_steady
	rx_window
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

# rx_counts ID: RX[primary], RX[standby], RX[drop] of the master's path
# counters, NOH[LOWER] the lowers' rx_nohandler
rx_counts()
{
	local l

	sim_m "$1"
	declare -gA RX=() NOH=()
	RX[primary]=$(ethtool_stat "$SIM_M" rx_primary_packets)
	RX[standby]=$(ethtool_stat "$SIM_M" rx_standby_packets)
	RX[drop]=$(ethtool_stat "$SIM_M" rx_drop_inactive)
	for l in standby p1; do
		sim_d "$1" "$l"
		[ -n "$SIM_D" ] && NOH[$l]=$(dev_stat "$SIM_D" rx_nohandler)
	done
}

# rx_expect ID LOWER KIND PATH: N frames of KIND received on LOWER are
# delivered through PATH (primary|standby) or, with PATH "drop", stay on
# the lower (rx_nohandler) and count as rx_drop_inactive
rx_expect()
{
	local id=$1 lower=$2 kind=$3 want=$4 p
	local -A b=() bn=()

	rx_counts "$id"
	for p in primary standby drop; do b[$p]=${RX[$p]}; done
	bn[$lower]=${NOH[$lower]}
	sim_set "$id" "$lower" rx "$N $kind"
	check_err $? "cannot inject $kind on $lower"
	rx_counts "$id"
	for p in primary standby drop; do
		local d=$((RX[$p] - b[$p])) exp=0

		[ "$p" = "$want" ] && exp=$N
		[ "$d" -eq "$exp" ] ||
			check_err 1 "$kind on $lower: $p +$d, want +$exp"
	done
	local dn=$((NOH[$lower] - bn[$lower])) expn=0
	[ "$want" = drop ] && expn=$N
	[ "$dn" -eq "$expn" ] ||
		check_err 1 "$kind on $lower: its rx_nohandler +$dn, want +$expn"
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
	# outside the window of the last path change
	ft_sleep 2.5
	rx_expect 20 p1 ucast primary
	rx_expect 20 p1 other primary
	rx_expect 20 p1 mcast primary
	rx_expect 20 standby ucast drop
	rx_expect 20 standby other drop
	rx_expect 20 standby bcast drop
	rx_expect 20 standby mcast drop
	sim_del 20
	log_test "receive, primary active: primary delivered, standby left on the lower (as stock)"
}

rx_window()
{
	local m s0 t0 p0 d0 n0

	sim_new 21 && sim_add 21 1 && sim_up 21 && sim_wait_active 21 p1
	check_err $? "group 21 not transmitting through p1"
	sim_m 21
	m=$SIM_M
	s0=$(ethtool_stat "$m" path_switches)
	rx_counts 21
	p0=${RX[primary]} d0=${RX[drop]} n0=${NOH[p1]}
	# p1 loses carrier: the standby becomes active, p1 is inactive but
	# the host may still be sending to it. The frames go in at once
	# (each counter read forks ethtool: slow under TCG).
	sim_set 21 p1 carrier 0
	busywait 5000 switches_above "$m" "$s0"
	check_err $? "no path change after p1 lost carrier"
	ft_now
	t0=$FT_NOW
	sim_set 21 p1 rx "$N ucast"
	sim_set 21 p1 rx "$N other"
	sim_set 21 p1 rx "$N bcast"
	ft_now
	ktap_info "window: frames injected $((FT_NOW - t0)) ms after the switch was seen"
	rx_counts 21
	[ $((RX[primary] - p0)) -eq $((2 * N)) ]
	check_err $? "inactive p1 in the window: $((RX[primary] - p0)) delivered, want $((2 * N)) (unicast and secondary-MAC unicast)"
	[ $((RX[drop] - d0)) -eq "$N" ] && [ $((NOH[p1] - n0)) -eq "$N" ]
	check_err $? "inactive p1 in the window: $((RX[drop] - d0)) dropped, $((NOH[p1] - n0)) rx_nohandler, want $N broadcasts each"
	rx_expect 21 standby ucast standby
	ft_sleep 2.5
	rx_expect 21 p1 ucast drop
	rx_expect 21 p1 other drop
	rx_expect 21 standby ucast standby
	sim_del 21
	log_test "receive, after a path change: inactive unicast only within 2 s, multicast never"
}

rx_no_primary()
{
	sim_new 22 && sim_up 22 && sim_wait_active 22 standby
	check_err $? "group 22 not transmitting through the standby"
	ft_sleep 2.5
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
