#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The iproute2 plugin of tools/net/failover/iproute2 with the distribution's
# own ip: "ip -d [-j] link show" reports the net_failover attributes of the
# master and of its lowers, "ip link set ... type net_failover" and
# "... type net_failover_slave" change them, and traffic follows (and
# pktgen's clone_skb and burst, for tx_skb_sharing). Each NIC
# has its own slirp backend, so the lowers' counters during an echo to
# 10.0.2.2 tell which lower carries the master's traffic.

ALL_TESTS="
	plugin_help
	master_attrs
	lower_attrs
	force_standby_on
	force_standby_off
	holddown_out_of_range
	holddown_peer_notify_set
	tx_skb_sharing_on
	tx_skb_sharing_off
	bad_arguments
	block_primary
	block_standby_refused
	unblock_primary
"

source "$(dirname "$(readlink -f "$0")")/lib.sh"

PLUGIN_DIR=$(readlink -f "$FT_DIR/../../../../net/failover/iproute2")
export IP_LIB_DIR=$PLUGIN_DIR

PINGS=5
SLACK=3		# unrelated frames a lower may send meanwhile (IPv6 RS, MLD)
master=
standby=
primary=
ready=
orig_holddown=
orig_notify=

require_root_cmds ip jq busybox
[ "${FT_MODULES:-}" = stock ] &&
	skip_all "the stock net_failover has no rtnetlink kind"
if [ ! -e "$PLUGIN_DIR/link_net_failover.so" ] ||
   [ ! -e "$PLUGIN_DIR/link_net_failover_slave.so" ]; then
	skip_all "plugin not built: make -C tools/net/failover/iproute2"
fi

# read_master: M_* from the master's linkinfo in `ip -d -j link show`
read_master()
{
	local out

	out=$(ip -d -j link show dev "$master" | jq -r '.[0].linkinfo |
		[.info_kind] + (.info_data | [.primary, .primary_ifindex,
		 .standby, .standby_ifindex, .active, .active_ifindex,
		 .switches, .force_standby, .holddown_ms, .peer_notify,
		 .primary_blocked, .tx_skb_sharing]) | map(tostring) |
		join(" ")') || return 1
	read -r M_KIND M_PRIMARY M_PRIMARY_IDX M_STANDBY M_STANDBY_IDX \
		M_ACTIVE M_ACTIVE_IDX M_SWITCHES M_FORCE M_HOLDDOWN M_NOTIFY \
		M_BLOCKED M_SHARING <<< "$out"
}

# read_lower <dev>: L_* from the lower's linkinfo
read_lower()
{
	local out

	out=$(ip -d -j link show dev "$1" | jq -r '.[0].linkinfo |
		[.info_slave_kind] + (.info_slave_data | [.role, .active,
		 .link, .activations, .deactivations, .blocked]) |
		map(tostring) | join(" ")') || return 1
	read -r L_KIND L_ROLE L_ACTIVE L_LINK L_ACT L_DEACT L_BLOCKED <<< "$out"
}

active_is()
{
	read_master && [ "$M_ACTIVE" = "$1" ]
}

is_uint()
{
	[[ $1 =~ ^[0-9]+$ ]]
}

ifindex()
{
	local v

	read -r v < "/sys/class/net/$1/ifindex"
	echo "$v"
}

# setup: the triple, the master up with slirp's address, the primary
# carrying; done once, by the first test that needs it
setup()
{
	[ -n "$ready" ] && return 0
	fo_restore || return 1
	fo_roles
	master=$FO_MASTER standby=$FO_STANDBY primary=$FO_PRIMARY
	master_up_with_addr || return 1
	wait_primary_carrier && busywait 5000 dev_carrier "$master" &&
		busywait 5000 active_is "$primary" || return 1
	orig_holddown=$M_HOLDDOWN orig_notify=$M_NOTIFY
	ready=1
}

restore_settings()
{
	[ -n "$ready" ] || return 0
	ip link set dev "$primary" type net_failover_slave blocked off
	ip link set dev "$master" type net_failover force_standby off \
		holddown_ms "$orig_holddown" peer_notify "$orig_notify" \
		tx_skb_sharing off
}

# baseline: setup, then the settings found by setup and the primary
# carrying, whatever an earlier (failed) test left behind
baseline()
{
	setup || return 1
	read_master || return 1
	if [ "$M_FORCE" != false ] || [ "$M_BLOCKED" != false ] ||
	   [ "$M_HOLDDOWN" != "$orig_holddown" ] ||
	   [ "$M_NOTIFY" != "$orig_notify" ] || [ "$M_SHARING" != false ]; then
		ktap_info "restoring the settings an earlier test left"
		restore_settings > /dev/null 2>&1
	fi
	busywait 5000 active_is "$primary"
}

# measure: ping the gateway; set REPLIES and the counter deltas
# P_TX P_RX S_TX S_RX of the primary and the standby
measure()
{
	local ptx prx stx srx

	ptx=$(dev_stat "$primary" tx_packets)
	prx=$(dev_stat "$primary" rx_packets)
	stx=$(dev_stat "$standby" tx_packets)
	srx=$(dev_stat "$standby" rx_packets)
	REPLIES=$(ping_gw "$PINGS")
	REPLIES=${REPLIES:-0}
	P_TX=$(($(dev_stat "$primary" tx_packets) - ptx))
	P_RX=$(($(dev_stat "$primary" rx_packets) - prx))
	S_TX=$(($(dev_stat "$standby" tx_packets) - stx))
	S_RX=$(($(dev_stat "$standby" rx_packets) - srx))
	ktap_info "replies $REPLIES/$PINGS; primary tx +$P_TX rx +$P_RX;" \
		"standby tx +$S_TX rx +$S_RX"
}

expect_primary_path()
{
	[ "$REPLIES" -eq "$PINGS" ]
	check_err $? "$REPLIES of $PINGS echo replies"
	[ "$P_TX" -ge "$PINGS" ] && [ "$P_RX" -ge "$REPLIES" ]
	check_err $? "primary counters: tx +$P_TX rx +$P_RX"
	[ "$S_TX" -le "$SLACK" ] && [ "$S_RX" -le "$SLACK" ]
	check_err $? "standby carried traffic: tx +$S_TX rx +$S_RX"
}

expect_standby_path()
{
	[ "$REPLIES" -eq "$PINGS" ]
	check_err $? "$REPLIES of $PINGS echo replies"
	[ "$S_TX" -ge "$PINGS" ] && [ "$S_RX" -ge "$REPLIES" ]
	check_err $? "standby counters: tx +$S_TX rx +$S_RX"
	[ "$P_TX" -le "$SLACK" ]
	check_err $? "primary still sent: tx +$P_TX"
}

# Run ip, keeping its status in IP_RC and what it printed in IP_OUT.
ip_run()
{
	IP_OUT=$(ip "$@" 2>&1)
	IP_RC=$?
	[ -n "$IP_OUT" ] && ktap_info "ip $*: rc $IP_RC: ${IP_OUT//$'\n'/ | }"
	return "$IP_RC"
}

plugin_help()
{
	local out

	out=$(ip link help net_failover 2>&1)
	[[ $out == *"force_standby { on | off }"* &&
	   $out == *"holddown_ms MSEC"* && $out == *"peer_notify COUNT"* &&
	   $out == *"tx_skb_sharing { on | off }"* ]]
	check_err $? "ip link help net_failover: '$out'"
	out=$(ip link help net_failover_slave 2>&1)
	[[ $out == *"blocked { on | off }"* ]]
	check_err $? "ip link help net_failover_slave: '$out'"
	log_test "ip link help net_failover / net_failover_slave"
}

master_attrs()
{
	local out re

	setup
	check_err $? "setup failed"
	read_master
	check_err $? "ip -d -j link show dev $master failed"
	[ "$M_KIND" = net_failover ]
	check_err $? "info_kind '$M_KIND'"
	[ "$M_PRIMARY" = "$primary" ] &&
		[ "$M_PRIMARY_IDX" = "$(ifindex "$primary")" ]
	check_err $? "primary '$M_PRIMARY' ($M_PRIMARY_IDX), want $primary"
	[ "$M_STANDBY" = "$standby" ] &&
		[ "$M_STANDBY_IDX" = "$(ifindex "$standby")" ]
	check_err $? "standby '$M_STANDBY' ($M_STANDBY_IDX), want $standby"
	[ "$M_ACTIVE" = "$primary" ] && [ "$M_ACTIVE_IDX" = "$M_PRIMARY_IDX" ]
	check_err $? "active '$M_ACTIVE' ($M_ACTIVE_IDX), want $primary"
	is_uint "$M_SWITCHES" && [ "$M_SWITCHES" -ge 1 ]
	check_err $? "switches '$M_SWITCHES'"
	[ "$M_FORCE" = false ] && [ "$M_BLOCKED" = false ] &&
		[ "$M_SHARING" = false ]
	check_err $? "force_standby '$M_FORCE' primary_blocked '$M_BLOCKED' tx_skb_sharing '$M_SHARING'"
	is_uint "$M_HOLDDOWN" && is_uint "$M_NOTIFY"
	check_err $? "holddown_ms '$M_HOLDDOWN' peer_notify '$M_NOTIFY'"

	out=$(ip -d link show dev "$master")
	re="net_failover primary $primary standby $standby active $primary"
	re+=" switches $M_SWITCHES force_standby off holddown_ms $M_HOLDDOWN"
	re+=" peer_notify $M_NOTIFY primary_blocked off tx_skb_sharing off"
	[[ $out == *"$re"* ]]
	check_err $? "ip -d link show: no '$re' in: ${out//$'\n'/ | }"
	log_test "master attributes in ip -d [-j] link show"
}

lower_attrs()
{
	local out re

	setup
	check_err $? "setup failed"
	read_lower "$primary"
	check_err $? "ip -d -j link show dev $primary failed"
	[ "$L_KIND" = net_failover ] && [ "$L_ROLE" = primary ]
	check_err $? "$primary: slave kind '$L_KIND' role '$L_ROLE'"
	[ "$L_ACTIVE" = true ] && [ "$L_LINK" = true ] &&
		[ "$L_BLOCKED" = false ]
	check_err $? "$primary: active $L_ACTIVE link $L_LINK blocked $L_BLOCKED"
	is_uint "$L_ACT" && [ "$L_ACT" -ge 1 ] && is_uint "$L_DEACT"
	check_err $? "$primary: activations '$L_ACT' deactivations '$L_DEACT'"
	out=$(ip -d link show dev "$primary")
	re="net_failover_slave role primary active on link on"
	re+=" activations $L_ACT deactivations $L_DEACT blocked off"
	[[ $out == *"$re"* ]]
	check_err $? "ip -d link show: no '$re' in: ${out//$'\n'/ | }"

	read_lower "$standby"
	check_err $? "ip -d -j link show dev $standby failed"
	[ "$L_KIND" = net_failover ] && [ "$L_ROLE" = standby ] &&
		[ "$L_ACTIVE" = false ] && [ "$L_LINK" = true ] &&
		[ "$L_BLOCKED" = false ]
	check_err $? "$standby: kind '$L_KIND' role '$L_ROLE' active $L_ACTIVE link $L_LINK blocked $L_BLOCKED"
	out=$(ip -d link show dev "$standby")
	re="net_failover_slave role standby active off link on"
	[[ $out == *"$re"* ]]
	check_err $? "ip -d link show: no '$re' in: ${out//$'\n'/ | }"
	log_test "lower attributes in ip -d [-j] link show"
}

force_standby_on()
{
	local sw act

	baseline
	check_err $? "setup failed"
	read_master
	sw=$M_SWITCHES
	read_lower "$standby"
	act=$L_ACT
	ip_run link set dev "$master" type net_failover force_standby on
	check_err $? "ip link set force_standby on failed"
	busywait 5000 active_is "$standby"
	check_err $? "active '$M_ACTIVE', want $standby"
	[ "$M_FORCE" = true ] && [ "$M_SWITCHES" -eq $((sw + 1)) ]
	check_err $? "force_standby '$M_FORCE' switches $sw -> $M_SWITCHES"
	read_lower "$standby"
	[ "$L_ACTIVE" = true ] && [ "$L_ACT" -eq $((act + 1)) ]
	check_err $? "$standby: active $L_ACTIVE activations $act -> $L_ACT"
	read_lower "$primary"
	[ "$L_ACTIVE" = false ]
	check_err $? "$primary still active"
	measure
	expect_standby_path
	log_test "force_standby on: the standby carries"
}

force_standby_off()
{
	setup
	check_err $? "setup failed"
	ip_run link set dev "$master" type net_failover force_standby off
	check_err $? "ip link set force_standby off failed"
	busywait 5000 active_is "$primary"
	check_err $? "active '$M_ACTIVE', want $primary"
	[ "$M_FORCE" = false ]
	check_err $? "force_standby '$M_FORCE'"
	measure
	expect_primary_path
	log_test "force_standby off: the primary carries again"
}

# The kernel's policy refuses it; the whole request, so force_standby in
# the same command does not change either.
holddown_out_of_range()
{
	local hd fs pn

	baseline
	check_err $? "setup failed"
	read_master
	hd=$M_HOLDDOWN fs=$M_FORCE pn=$M_NOTIFY
	ip_run link set dev "$master" type net_failover holddown_ms 70000
	check_fail $? "holddown_ms 70000 accepted"
	[ -n "$IP_OUT" ]
	check_err $? "holddown_ms 70000 refused without a message"
	ip_run link set dev "$master" type net_failover force_standby on \
		holddown_ms 70000
	check_fail $? "force_standby on holddown_ms 70000 accepted"
	read_master
	[ "$M_HOLDDOWN" = "$hd" ] && [ "$M_FORCE" = "$fs" ] &&
		[ "$M_NOTIFY" = "$pn" ] && [ "$M_ACTIVE" = "$primary" ]
	check_err $? "changed: holddown_ms $hd -> $M_HOLDDOWN force_standby $fs -> $M_FORCE peer_notify $pn -> $M_NOTIFY active $M_ACTIVE"
	log_test "holddown_ms 70000 is refused and changes nothing"
}

holddown_peer_notify_set()
{
	local out

	baseline
	check_err $? "setup failed"
	ip_run link set dev "$master" type net_failover holddown_ms 500 \
		peer_notify 3
	check_err $? "holddown_ms 500 peer_notify 3 refused"
	read_master
	[ "$M_HOLDDOWN" = 500 ] && [ "$M_NOTIFY" = 3 ]
	check_err $? "holddown_ms $M_HOLDDOWN peer_notify $M_NOTIFY, want 500 3"
	out=$(ip -d link show dev "$master")
	[[ $out == *"holddown_ms 500 peer_notify 3 "* ]]
	check_err $? "ip -d link show: ${out//$'\n'/ | }"
	ip_run link set dev "$master" type net_failover holddown_ms 60000
	check_err $? "holddown_ms 60000 refused"
	read_master
	[ "$M_HOLDDOWN" = 60000 ] && [ "$M_ACTIVE" = "$primary" ]
	check_err $? "holddown_ms $M_HOLDDOWN active $M_ACTIVE, want 60000 $primary"
	ip_run link set dev "$master" type net_failover \
		holddown_ms "$orig_holddown" peer_notify "$orig_notify"
	check_err $? "cannot restore holddown_ms $orig_holddown peer_notify $orig_notify"
	read_master
	[ "$M_HOLDDOWN" = "$orig_holddown" ] && [ "$M_NOTIFY" = "$orig_notify" ]
	check_err $? "holddown_ms $M_HOLDDOWN peer_notify $M_NOTIFY after restore"
	log_test "holddown_ms and peer_notify set and read back"
}

# set_sharing on|off JSON PKTGEN: ip link set tx_skb_sharing on|off; the
# JSON attribute then reads JSON (true/false), ip -d link shows it, the
# primary stays active and pktgen's clone_skb/burst answer PKTGEN (yes/no)
set_sharing()
{
	local out

	ip_run link set dev "$master" type net_failover tx_skb_sharing "$1"
	check_err $? "ip link set tx_skb_sharing $1 failed"
	read_master
	[ "$M_SHARING" = "$2" ] && [ "$M_ACTIVE" = "$primary" ]
	check_err $? "tx_skb_sharing $1: reads '$M_SHARING' active '$M_ACTIVE'"
	out=$(ip -d link show dev "$master")
	[[ $out == *" primary_blocked off tx_skb_sharing $1 "* ]]
	check_err $? "ip -d link show: ${out//$'\n'/ | }"
	if mod_loaded pktgen; then
		out=$(pktgen_sharing "$master")
		[ "$out" = "$3" ]
		check_err $? "tx_skb_sharing $1: pktgen on $master: $out"
	fi
}

# tx_skb_sharing on: the master offers IFF_TX_SKB_SHARING, so pktgen takes
# clone_skb and burst on it (refused before, with the default off)
tx_skb_sharing_on()
{
	local out

	baseline
	check_err $? "setup failed"
	read_master
	[ "$M_SHARING" = false ]
	check_err $? "tx_skb_sharing '$M_SHARING' by default, want false"
	if pktgen_ready; then
		out=$(pktgen_sharing "$master")
		[ "$out" = no ]
		check_err $? "tx_skb_sharing off: pktgen on $master: $out"
	else
		ktap_info "no pktgen: IFF_TX_SKB_SHARING not checked"
	fi
	set_sharing on true yes
	# not on/off: the plugin refuses it, nothing changes
	ip_run link set dev "$master" type net_failover tx_skb_sharing 2
	check_fail $? "tx_skb_sharing 2 accepted"
	[[ $IP_OUT == *'"on" or "off"'* ]]
	check_err $? "tx_skb_sharing 2: message '$IP_OUT'"
	read_master
	[ "$M_SHARING" = true ]
	check_err $? "tx_skb_sharing 2 changed it: '$M_SHARING'"
	measure
	expect_primary_path
	log_test "tx_skb_sharing on: pktgen takes clone_skb and burst on the master"
}

# Runs after tx_skb_sharing_on: off again, refused again
tx_skb_sharing_off()
{
	setup
	check_err $? "setup failed"
	set_sharing off false no
	measure
	expect_primary_path
	log_test "tx_skb_sharing off: pktgen refuses clone_skb and burst again"
}

bad_arguments()
{
	baseline
	check_err $? "setup failed"
	ip_run link set dev "$master" type net_failover force_standby maybe
	check_fail $? "force_standby maybe accepted"
	[[ $IP_OUT == *'"on" or "off"'* ]]
	check_err $? "force_standby maybe: message '$IP_OUT'"
	ip_run link set dev "$master" type net_failover peer_notify 256
	check_fail $? "peer_notify 256 accepted"
	ip_run link set dev "$master" type net_failover holddown_ms
	check_fail $? "holddown_ms without a value accepted"
	ip_run link set dev "$master" type net_failover no_such_option 1
	check_fail $? "unknown option accepted"
	ip_run link set dev "$primary" type net_failover_slave blocked maybe
	check_fail $? "blocked maybe accepted"
	read_master
	[ "$M_FORCE" = false ] && [ "$M_NOTIFY" = "$orig_notify" ] &&
		[ "$M_BLOCKED" = false ] && [ "$M_ACTIVE" = "$primary" ]
	check_err $? "changed: force_standby $M_FORCE peer_notify $M_NOTIFY primary_blocked $M_BLOCKED active $M_ACTIVE"
	log_test "malformed arguments are refused by the plugin"
}

block_primary()
{
	baseline
	check_err $? "setup failed"
	ip_run link set dev "$primary" type net_failover_slave blocked on
	check_err $? "ip link set $primary type net_failover_slave blocked on failed"
	read_lower "$primary"
	[ "$L_BLOCKED" = true ]
	check_err $? "$primary: blocked '$L_BLOCKED'"
	busywait 5000 active_is "$standby"
	check_err $? "active '$M_ACTIVE', want $standby"
	[ "$M_BLOCKED" = true ] && [ "$M_FORCE" = false ]
	check_err $? "primary_blocked '$M_BLOCKED' force_standby '$M_FORCE'"
	measure
	expect_standby_path
	log_test "net_failover_slave blocked on: the standby carries"
}

# Runs while the primary is blocked (block_primary): the standby carries.
block_standby_refused()
{
	local was

	setup
	check_err $? "setup failed"
	read_lower "$standby"
	was=$L_ACTIVE
	ip_run link set dev "$standby" type net_failover_slave blocked on
	check_fail $? "blocking the standby accepted"
	[[ $IP_OUT == *"only a primary"* ]]
	check_err $? "message '$IP_OUT'"
	read_lower "$standby"
	[ "$L_BLOCKED" = false ] && [ "$L_ACTIVE" = "$was" ]
	check_err $? "$standby: blocked $L_BLOCKED active $was -> $L_ACTIVE"
	log_test "the standby cannot be blocked"
}

unblock_primary()
{
	setup
	check_err $? "setup failed"
	ip_run link set dev "$primary" type net_failover_slave blocked off
	check_err $? "ip link set $primary type net_failover_slave blocked off failed"
	busywait 5000 active_is "$primary"
	check_err $? "active '$M_ACTIVE', want $primary"
	[ "$M_BLOCKED" = false ]
	check_err $? "primary_blocked '$M_BLOCKED'"
	read_lower "$primary"
	[ "$L_BLOCKED" = false ] && [ "$L_ACTIVE" = true ]
	check_err $? "$primary: blocked $L_BLOCKED active $L_ACTIVE"
	measure
	expect_primary_path
	log_test "net_failover_slave blocked off: the primary carries again"
}

defer restore_settings
run_tests
