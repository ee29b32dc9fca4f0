#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Transmit through the master respects the lower's own transmit queues
# (simulated lowers, nfosim.ko). The master has 16 queues as the stock one
# (sysfs), uses queue 0 for every frame (ndo_select_queue) and hands it to
# the active lower's dev_queue_xmit() with queue_mapping 0;
# the lower then picks one of its queues itself (flow hash: nfosim has no
# XPS map and no ndo_select_queue). An nfosim lower has NFOSIM_TX_QUEUES
# (4) queues, so its root qdisc is mq with one child per queue, and the mq
# classes count what went through each queue.
#
# pktgen sends FRAMES frames of many UDP flows (random source ports) on
# the master; on the lower that carries them the per-queue counts must add
# up to what was sent (plus at most SLACK unrelated frames), the frames
# must be spread over the queues in use, no queue at or beyond the lower's
# real_num_tx_queues may have taken any, and the kernel must not have
# logged "selects TX queue" (netdev_cap_txqueue). Then the same with the
# lower cut down to 2 queues (ethtool -L DEV tx 2), and both again on the
# standby path (primary without carrier).
#
# Environment: SIM_TXQ_FRAMES (2000) frames per run.

ALL_TESTS="
	master_queues
	primary_all_queues
	primary_two_queues
	standby_all_queues
	standby_two_queues
"

source "$(dirname "$(readlink -f "$0")")/lib.sh"
source "$FT_DIR/nfosim/nfosim_lib.sh"

require_root_cmds ip ethtool tc python3 modinfo
nfosim_setup
pktgen_ready || skip_all "pktgen not available (modprobe pktgen)"
defer pktgen_rem_all

FRAMES=${SIM_TXQ_FRAMES:-2000}
SLACK=3		# unrelated frames the master may send meanwhile (IPv6 RS, MLD)
NQ=4		# NFOSIM_TX_QUEUES
G=40		# the group of this script
CAP_MSG="selects TX queue"

# txq_group: group G with primary p1, master up, p1 transmitting; no
# IPv6 on the master, whose RS and MLD reports would add to the counts
txq_group()
{
	[ -d "$NFOSIM/$G" ] && return 0
	sim_new "$G" && defer "echo $G > $NFOSIM/del_group" || return 1
	sim_m "$G"
	echo 1 2> /dev/null > "/proc/sys/net/ipv6/conf/$SIM_M/disable_ipv6"
	sim_add "$G" 1 && sim_up "$G" && sim_wait_active "$G" p1
}

# real_txq DEV: sets REAL_TXQ, DEV's real_num_tx_queues (its tx-N
# directories in sysfs)
real_txq()
{
	local q

	REAL_TXQ=0
	for q in /sys/class/net/"$1"/queues/tx-*; do
		[ -e "$q" ] && REAL_TXQ=$((REAL_TXQ + 1))
	done
}

# queue_pkts DEV: QPKTS[i] = packets that went through DEV's transmit
# queue i, from the mq class :i+1 (hex minor) of `tc -s class show`; every
# queue has a class, in use or not.
queue_pkts()
{
	local cls pk

	declare -gA QPKTS=()
	# a here-string: the guest has no /dev/fd for process substitution
	while read -r cls pk; do
		[ -n "$cls" ] && QPKTS[$((16#${cls#:} - 1))]=$pk
	done <<< "$(tc -s class show dev "$1" | awk '
		$1 == "class" && $2 == "mq" { q = $3; next }
		$1 == "Sent" && q != "" { print q, $4; q = "" }')"
}

cap_warnings()
{
	dmesg | grep -c "$CAP_MSG"
}

# pktgen_flows DEV N: N frames of random UDP source ports from pktgen on
# DEV in queue_xmit mode (through DEV's dev_queue_xmit, as the stack's
# frames go); sets PG_SENT and PG_ERRORS from DEV's finished run (see
# pktgen_run in lib.sh: pktgen's own "start" may return before the run)
pktgen_flows()
{
	local dev=$1 n=$2 res

	PG_SENT='' PG_ERRORS=''
	pktgen_add "$dev" || return 1
	{
		echo "count $n"
		echo "pkt_size 60"
		echo "delay 0"
		echo "dst 10.0.$G.2"
		echo "dst_mac $SIM_PEER_MAC"
		echo "udp_src_min 1024"
		echo "udp_src_max 65000"
		echo "flag UDPSRC_RND"
		echo "xmit_mode queue_xmit"
	} > "$FT_PG/$dev" || return 1
	pktgen_run "$dev" 120000 || return 1
	res=$(< "$FT_PG/$dev")
	# "Current:" line: "pkts-sofar: N  errors: N"
	PG_SENT=$(sed -n 's/.*pkts-sofar: \([0-9]*\).*/\1/p' <<< "$res")
	PG_ERRORS=$(sed -n 's/.*pkts-sofar: [0-9]* *errors: \([0-9]*\).*/\1/p' <<< "$res")
	pktgen_rem_all
}

# check_spread LOWER WANT: pktgen's frames on the master go out through
# group G's LOWER ("p1" or "standby"), which must have WANT transmit
# queues in use, spread over exactly those queues, all accounted for
check_spread()
{
	local l=$1 want=$2 other dev odev path i d total=0 used=0 spread=
	local warn0 warn1 ltx0 ltx1 mtx0 mtx1 otx0 otx1
	local -A before=()

	if [ "$l" = p1 ]; then other=standby path=primary; else other=p1 path=standby; fi
	sim_m "$G"
	sim_d "$G" "$l"
	dev=$SIM_D
	sim_d "$G" "$other"
	odev=$SIM_D

	real_txq "$dev"
	[ "$REAL_TXQ" -eq "$want" ]
	check_err $? "$dev has $REAL_TXQ transmit queues in use, want $want"
	tc qdisc show dev "$dev" | grep -q '^qdisc mq 0: root'
	check_err $? "$dev: root qdisc is not mq: $(tc qdisc show dev "$dev" | head -n 1)"

	queue_pkts "$dev"
	[ "${#QPKTS[@]}" -eq "$NQ" ]
	check_err $? "$dev: ${#QPKTS[@]} mq classes, want $NQ: $(tc class show dev "$dev" | xargs)"
	for i in "${!QPKTS[@]}"; do
		before[$i]=${QPKTS[$i]}
	done
	warn0=$(cap_warnings)
	ltx0=$(dev_stat "$dev" tx_packets)
	otx0=$(dev_stat "$odev" tx_packets)
	mtx0=$(ethtool_stat "$SIM_M" "tx_${path}_packets")

	pktgen_flows "$SIM_M" "$FRAMES"
	check_err $? "pktgen on $SIM_M: not set up or run not finished: $(grep -E '^(Result|Current)' "$FT_PG/$SIM_M" 2>&1 | xargs)"

	queue_pkts "$dev"
	ltx1=$(dev_stat "$dev" tx_packets)
	otx1=$(dev_stat "$odev" tx_packets)
	mtx1=$(ethtool_stat "$SIM_M" "tx_${path}_packets")
	warn1=$(cap_warnings)

	for ((i = 0; i < NQ; i++)); do
		d=$((${QPKTS[$i]:-0} - ${before[$i]:-0}))
		spread+="${spread:+ }q$i=$d"
		total=$((total + d))
		[ "$d" -gt 0 ] && used=$((used + 1))
		if [ "$i" -ge "$want" ] && [ "$d" -ne 0 ]; then
			check_err 1 "$dev: $d frames on queue $i, beyond its $want queues in use"
		fi
	done
	ktap_info "$l $dev, $want queues in use: pktgen sent ${PG_SENT:-?}" \
		"(errors ${PG_ERRORS:-?}); per queue: $spread; total $total;" \
		"$dev tx +$((ltx1 - ltx0)), master tx_${path}_packets +$((mtx1 - mtx0))," \
		"$odev tx +$((otx1 - otx0))"

	[ "${PG_SENT:-0}" -eq "$FRAMES" ] && [ "${PG_ERRORS:-1}" -eq 0 ]
	check_err $? "pktgen sent ${PG_SENT:-0} of $FRAMES (errors ${PG_ERRORS:-?})"
	[ "$total" -ge "$FRAMES" ] && [ "$total" -le $((FRAMES + SLACK)) ]
	check_err $? "$dev's queues took $total frames ($spread), want $FRAMES"
	[ $((ltx1 - ltx0)) -eq "$total" ]
	check_err $? "$dev sent $((ltx1 - ltx0)) frames, its queues counted $total"
	[ $((mtx1 - mtx0)) -ge "$FRAMES" ] && [ $((mtx1 - mtx0)) -le $((FRAMES + SLACK)) ]
	check_err $? "master's tx_${path}_packets +$((mtx1 - mtx0)), want $FRAMES"
	[ "$otx1" -eq "$otx0" ]
	check_err $? "the inactive $other ($odev) sent $((otx1 - otx0)) frames"
	[ "$used" -gt 1 ]
	check_err $? "$dev put every frame on one queue ($spread): it did not pick its own"
	[ "$used" -eq "$want" ]
	check_err $? "$dev used $used of its $want queues ($spread)"
	[ "$warn1" -eq "$warn0" ]
	check_err $? "kernel log: $((warn1 - warn0)) new '$CAP_MSG' warnings: $(dmesg | grep "$CAP_MSG" | tail -n 1)"
}

# set_txq LOWER N: group G's LOWER uses N transmit queues
set_txq()
{
	local ch

	sim_d "$G" "$1"
	ethtool -L "$SIM_D" tx "$2"
	check_err $? "ethtool -L $SIM_D tx $2 failed"
	ch=$(ethtool -l "$SIM_D" | awk '/^Current/ { c = 1 } c && $1 == "TX:" { print $2 }')
	[ "$ch" = "$2" ]
	check_err $? "ethtool -l $SIM_D: TX $ch, want $2"
}

master_queues()
{
	local dev

	txq_group
	check_err $? "group $G not formed with p1 active"
	sim_m "$G"
	real_txq "$SIM_M"
	[ "$REAL_TXQ" -eq 16 ]
	check_err $? "master $SIM_M has $REAL_TXQ transmit queues, want 16 (stock's)"
	tc qdisc show dev "$SIM_M" | grep -q '^qdisc noqueue '
	check_err $? "master $SIM_M qdisc: $(tc qdisc show dev "$SIM_M" | head -n 1), want noqueue"
	for dev in "$(sim_dev "$G" standby)" "$(sim_dev "$G" p1)"; do
		real_txq "$dev"
		[ "$REAL_TXQ" -eq "$NQ" ]
		check_err $? "lower $dev has $REAL_TXQ transmit queues, want $NQ"
	done
	log_test "master: 16 transmit queues (as stock), noqueue; lowers: $NQ queues each"
}

primary_all_queues()
{
	txq_group
	check_err $? "group $G not formed with p1 active"
	check_spread p1 "$NQ"
	log_test "primary: $FRAMES frames spread by the primary over its $NQ queues"
}

primary_two_queues()
{
	txq_group
	check_err $? "group $G not formed with p1 active"
	set_txq p1 2
	[ "$RET" -eq 0 ] && check_spread p1 2
	log_test "primary cut to 2 queues: frames on queues 0-1 only, all counted"
}

standby_all_queues()
{
	txq_group
	check_err $? "group $G not formed"
	sim_set "$G" p1 carrier 0
	sim_wait_active "$G" standby ||
		check_err 1 "primary without carrier, transmit on $SIM_ACTIVE"
	[ "$RET" -eq 0 ] && check_spread standby "$NQ"
	log_test "standby: $FRAMES frames spread by the standby over its $NQ queues"
}

standby_two_queues()
{
	txq_group
	check_err $? "group $G not formed"
	sim_set "$G" p1 carrier 0
	sim_wait_active "$G" standby ||
		check_err 1 "primary without carrier, transmit on $SIM_ACTIVE"
	set_txq standby 2
	[ "$RET" -eq 0 ] && check_spread standby 2
	log_test "standby cut to 2 queues: frames on queues 0-1 only, all counted"
}

run_tests
