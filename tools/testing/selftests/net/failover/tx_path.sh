#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Which lower carries the master's traffic. Each NIC has its own slirp
# backend, so an echo to 10.0.2.2 leaves through one lower and its reply
# comes back on the same lower. The counters of both lowers tell which.

ALL_TESTS="
	primary_carries
	primary_admin_down
	primary_admin_up
	primary_carrier_off
	primary_carrier_on
	primary_removed
	primary_back
	shared_skbs
"

# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

# QEMU 7.2's e1000e does not deliver the link-change interrupt in MSI-X
# mode (the guest never notices a QMP set_link); legacy interrupts do.
# TX_PATH_E1000E_OPTS= (empty) keeps e1000e's default, TX_PATH_PINGS=N
# sends N echoes per step instead of 5.
FT_E1000E_OPTS=${TX_PATH_E1000E_OPTS-IntMode=1}
PINGS=${TX_PATH_PINGS:-5}
SLACK=3		# unrelated frames a lower may send meanwhile (IPv6 RS, MLD)
FCTL=$FT_FCTL
master=
standby=
primary=

setup()
{
	# IPv6 autoconfiguration on the lowers (ipv6.sh's topic) would add
	# frames of their own to the counters: keep it out of this test.
	ipv6_off
	fo_restore || return 1
	fo_roles
	master=$FO_MASTER standby=$FO_STANDBY primary=$FO_PRIMARY
	master_up_with_addr || return 1
	wait_primary_carrier && busywait 5000 dev_carrier "$master"
}

# measure: ping the gateway; set REPLIES and the counter deltas
# P_TX P_RX S_TX S_RX of the current primary and standby.
measure()
{
	local p=${primary:-} ptx=0 prx=0 stx srx mtp='' mts=''

	# our master's per-path transmit counters (the stock one has none)
	if [ "${FT_MODULES:-}" != stock ]; then
		mtp=$(ethtool_stat "$master" tx_primary_packets)
		mts=$(ethtool_stat "$master" tx_standby_packets)
	fi
	M_TXP='' M_TXS=''

	if dev_exists "$p"; then
		ptx=$(dev_stat "$p" tx_packets) prx=$(dev_stat "$p" rx_packets)
	fi
	stx=$(dev_stat "$standby" tx_packets)
	srx=$(dev_stat "$standby" rx_packets)
	REPLIES=$(ping_gw "$PINGS")
	REPLIES=${REPLIES:-0}
	P_TX=0 P_RX=0
	if dev_exists "$p"; then
		P_TX=$(($(dev_stat "$p" tx_packets) - ptx))
		P_RX=$(($(dev_stat "$p" rx_packets) - prx))
	fi
	S_TX=$(($(dev_stat "$standby" tx_packets) - stx))
	S_RX=$(($(dev_stat "$standby" rx_packets) - srx))
	if [ -n "$mtp" ]; then
		M_TXP=$(($(ethtool_stat "$master" tx_primary_packets) - mtp))
		M_TXS=$(($(ethtool_stat "$master" tx_standby_packets) - mts))
	fi
	ktap_info "replies $REPLIES/$PINGS; primary tx +$P_TX rx +$P_RX;" \
		"standby tx +$S_TX rx +$S_RX; in flight (BQL): standby" \
		"$(bql_inflight "$standby") primary $(bql_inflight "$p")"
}

# bql_inflight DEV: bytes handed to DEV's driver and not yet completed
# ("-" without BQL): frames a driver counts only at completion
bql_inflight()
{
	local f n=0 v any=0

	for f in /sys/class/net/"$1"/queues/tx-*/byte_queue_limits/inflight; do
		[ -r "$f" ] || continue
		read -r v < "$f" && n=$((n + v)) && any=1
	done
	[ "$any" = 1 ] && echo "$n" || echo -
}

# expect_primary_path / expect_standby_path: assert on the last measure
expect_primary_path()
{
	[ "$REPLIES" -eq "$PINGS" ]
	check_err $? "$REPLIES of $PINGS echo replies"
	[ "$P_TX" -ge "$PINGS" ] && [ "$P_RX" -ge "$REPLIES" ]
	check_err $? "primary counters: tx +$P_TX rx +$P_RX"
	[ "$S_TX" -le "$SLACK" ] && [ "$S_RX" -le "$SLACK" ]
	check_err $? "standby carried traffic: tx +$S_TX rx +$S_RX"
	expect_master_counted "$M_TXP" "$M_TXS"
}

# expect_master_counted ON OFF: the master counted the echoes on the path
# that carried them (ON) and not on the other (OFF); nothing to check
# with the stock modules. Kills: tx-path-miscounted.
expect_master_counted()
{
	[ -n "$1" ] || return 0
	[ "$1" -ge "$PINGS" ] && [ "$2" -le "$SLACK" ]
	check_err $? "master's per-path counters: +$1 on the carrying path, +$2 on the other"
}

expect_standby_path()
{
	[ "$S_TX" -ge "$PINGS" ]
	check_err $? "standby tx +$S_TX, want >= $PINGS"
	[ "$P_TX" -le "$SLACK" ]
	check_err $? "primary still sent: tx +$P_TX"
	[ "$S_RX" -ge "$PINGS" ] && [ "$REPLIES" -eq "$PINGS" ]
	check_err $? "replies through the standby: $REPLIES of $PINGS (standby rx +$S_RX)"
	expect_master_counted "$M_TXS" "$M_TXP"
}

primary_carries()
{
	setup
	check_err $? "setup failed"
	measure
	expect_primary_path
	log_test "master traffic goes through the primary"
}

primary_admin_down()
{
	ip link set dev "$primary" down
	check_err $? "cannot set $primary down"
	busywait 5000 dev_carrier "$master"
	check_err $? "master lost carrier with the standby up"
	measure
	expect_standby_path
	log_test "primary administratively down: the standby carries"
}

primary_admin_up()
{
	ip link set dev "$primary" up
	check_err $? "cannot set $primary up"
	wait_primary_carrier
	check_err $? "primary got no carrier back"
	measure
	expect_primary_path
	log_test "primary up again: the primary carries"
}

primary_no_carrier()
{
	! dev_carrier "$primary"
}

primary_carrier_off()
{
	local reply

	if ! host_available; then
		log_skip "no host control channel"
		log_test "primary carrier off (QMP set_link): the standby carries"
		return
	fi
	reply=$(host_cmd set_link hn_pri off)
	check_err $? "set_link off: $reply"
	busywait 10000 primary_no_carrier
	check_err $? "primary carrier still on after set_link off"
	dev_is_up "$primary"
	check_err $? "primary no longer administratively up"
	measure
	expect_standby_path
	log_test "primary carrier off (QMP set_link): the standby carries"
}

primary_carrier_on()
{
	local reply

	if ! host_available; then
		log_skip "no host control channel"
		log_test "primary carrier on again: the primary carries"
		return
	fi
	reply=$(host_cmd set_link hn_pri on)
	check_err $? "set_link on: $reply"
	wait_primary_carrier
	check_err $? "primary carrier did not come back"
	measure
	expect_primary_path
	log_test "primary carrier on again: the primary carries"
}

primary_removed()
{
	local pci

	pci=$(fo_primary_pci)
	check_err $? "no primary PCI function"
	echo 1 > "/sys/bus/pci/devices/$pci/remove"
	busywait 10000 standby_only
	check_err $? "primary not released"
	primary=
	measure
	expect_standby_path
	log_test "primary removed: the standby carries"
}

primary_back()
{
	echo 1 > /sys/bus/pci/rescan
	busywait 15000 triple_formed
	check_err $? "primary not enslaved again"
	primary=$FO_PRIMARY
	wait_primary_carrier
	check_err $? "new primary $primary got no carrier"
	measure
	expect_primary_path
	log_test "primary back: the primary carries again"
}

# pktgen_send MODE OPT: COUNT frames from pktgen on the master in xmit_mode
# MODE with OPT ("clone_skb 8" or "burst 4"): every copy of a shared skb
# must go through the master (its primary path counter) to the primary.
PG=/proc/net/pktgen
COUNT=400

# qdisc_backlog DEV: frames queued in DEV's qdiscs
qdisc_backlog()
{
	tc -s qdisc show dev "$1" |
		awk '$1 == "backlog" { n += $3 + 0 } END { print n + 0 }'
}

qdisc_drained()
{
	[ "$(qdisc_backlog "$1")" -eq 0 ]
}

# primary_sent_since N: the primary's tx_packets has grown by COUNT since N
primary_sent_since()
{
	[ $(($(dev_stat "$primary" tx_packets) - $1)) -ge "$COUNT" ]
}

pktgen_send()
{
	local mode=$1 opt=$2 ptx mtx m0 sent

	pktgen_add "$master"
	{
		echo "count $COUNT"
		echo "pkt_size 60"
		echo "dst 10.0.2.99"
		echo "dst_mac 02:6e:66:6f:00:63"
		echo "xmit_mode $mode"
	} > "$PG/$master"
	if ! echo "$opt" > "$PG/$master" 2> /dev/null; then
		check_err 1 "$mode: pktgen refused '$opt' on the master"
		return
	fi
	ptx=$(dev_stat "$primary" tx_packets)
	m0=$(ethtool_stat "$master" tx_primary_packets)
	[ -n "$m0" ]
	check_err $? "$mode $opt: no tx_primary_packets from ethtool -S $master"
	pktgen_run "$master" 30000
	sent=$(sed -n 's/.*pkts-sofar: \([0-9]*\).*/\1/p' "$PG/$master")
	# e1000e counts a frame when its transmit completes, after pktgen is
	# done (seconds later on a loaded TCG host): wait for the count
	# rather than read it at once. The wait ends as soon as it is there.
	busywait 20000 primary_sent_since "$ptx"
	ptx=$(($(dev_stat "$primary" tx_packets) - ptx))
	mtx=$(ethtool_stat "$master" tx_primary_packets)
	ktap_info "$mode $opt: pktgen sent $sent; master's primary path" \
		"$m0 -> $mtx; primary tx +$ptx"
	mtx=$((mtx - m0))
	[ "$mtx" -le $((COUNT + SLACK)) ] ||
		grep -E 'pkts-sofar|Result' "$PG/$master" | sed 's/^/# pktgen: /'
	# The lower's qdisc must drain: an skb linked into it twice, or
	# changed while it is queued, leaves a backlog that never empties.
	busywait 5000 qdisc_drained "$primary"
	check_err $? "$mode $opt: $primary's qdisc keeps a backlog of $(qdisc_backlog "$primary") frames"
	[ "${sent:-0}" -eq "$COUNT" ]
	check_err $? "$mode $opt: pktgen sent ${sent:-0} of $COUNT"
	[ "$mtx" -ge "$COUNT" ] && [ "$mtx" -le $((COUNT + SLACK)) ]
	check_err $? "$mode $opt: $mtx of $COUNT frames counted by the master"
	[ "$ptx" -ge "$COUNT" ] && [ "$ptx" -le $((COUNT + SLACK)) ]
	check_err $? "$mode $opt: primary sent $ptx, want $COUNT"
}

# pktgen_refused MODE OPT: pktgen on the master in xmit_mode MODE refuses
# OPT ("clone_skb 8" or "burst 4"): the master does not offer
# IFF_TX_SKB_SHARING, the write fails (ENOTSUPP) and the value stays.
pktgen_refused()
{
	local mode=$1 opt=$2 err rc

	pktgen_add "$master"
	echo "xmit_mode $mode" > "$PG/$master"
	err=$( { echo "$opt" > "$PG/$master"; } 2>&1 )
	rc=$?
	ktap_info "$mode $opt: rc $rc${err:+: $err}"
	[ "$rc" -ne 0 ]
	check_err $? "$mode: pktgen took '$opt' on the master"
	grep -q 'clone_skb: 0 ' "$PG/$master" && ! grep -q 'burst: ' "$PG/$master"
	check_err $? "$mode $opt: pktgen's device changed: $(grep -Eo 'clone_skb: [0-9]+|burst: [0-9]+' "$PG/$master" | xargs)"
}

# tx_skb_sharing_is on|off: the master's setting, as failoverctl shows it
tx_skb_sharing_is()
{
	local out

	out=$("$FCTL" show "$master") || return 1
	[[ $out == *" tx_skb_sharing $1"* ]]
}

# pktgen's clone_skb and burst send one skb several times. By default the
# master refuses them, as stock and bonding do; loaded with
# tx_skb_sharing=1 (fixed for each master when it is created) it takes
# them, as its lowers do, and every copy goes through it.
shared_skbs()
{
	local desc="shared skbs: pktgen clone_skb and burst on the master only with tx_skb_sharing=1"

	if ! pktgen_ready; then
		log_skip "pktgen not available (modprobe pktgen)"
		log_test "$desc"
		return
	fi
	if [ "${FT_MODULES:-}" != stock ]; then
		[ -x "$FCTL" ] || {
			log_skip "$FCTL not built (make -C tools/net/failover)"
			log_test "$desc"
			return
		}
		tx_skb_sharing_is off
		check_err $? "tx_skb_sharing is not off by default: $("$FCTL" show "$master" | xargs)"
	fi
	pktgen_refused queue_xmit "clone_skb 8"
	pktgen_refused start_xmit "clone_skb 8"
	pktgen_refused start_xmit "burst 4"
	pktgen_rem_all
	if [ "${FT_MODULES:-}" = stock ]; then
		log_skip "refused as expected; the stock net_failover has no tx_skb_sharing"
		log_test "$desc"
		return
	fi

	# A new master with the module parameter: reload everything
	fo_reload_with tx_skb_sharing=1 && setup_after_reload
	check_err $? "reload with tx_skb_sharing=1 failed"
	tx_skb_sharing_is on
	check_err $? "tx_skb_sharing does not read on: $("$FCTL" show "$master" | xargs)"
	ethtool_stat "$master" tx_primary_packets | grep -q .
	check_err $? "$master has no ethtool counter tx_primary_packets"
	pktgen_send queue_xmit "clone_skb 8"
	pktgen_send start_xmit "clone_skb 8"
	pktgen_send start_xmit "burst 4"
	pktgen_rem_all

	# Loaded again without it (pktgen has let go of the master):
	# refused again
	fo_reload_with && setup_after_reload
	check_err $? "reload without parameters failed"
	tx_skb_sharing_is off
	check_err $? "tx_skb_sharing does not read off after the reload"
	pktgen_refused queue_xmit "clone_skb 8"
	pktgen_rem_all
	log_test "$desc"
}

# setup_after_reload: new roles, the master up, the primary with carrier
setup_after_reload()
{
	fo_roles
	master=$FO_MASTER standby=$FO_STANDBY primary=$FO_PRIMARY
	master_up_with_addr || return 1
	wait_primary_carrier && busywait 5000 dev_carrier "$master"
}

ipv6_off()
{
	local k

	for k in all default; do
		[ -e "/proc/sys/net/ipv6/conf/$k/disable_ipv6" ] || continue
		echo 1 > "/proc/sys/net/ipv6/conf/$k/disable_ipv6"
	done
}

ipv6_on()
{
	local k

	for k in all default; do
		[ -e "/proc/sys/net/ipv6/conf/$k/disable_ipv6" ] || continue
		echo 0 > "/proc/sys/net/ipv6/conf/$k/disable_ipv6"
	done
}

defer ipv6_on
defer host_cmd set_link hn_pri on
defer fo_restore
run_tests
