#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Bad input on the real topology (virtio_net standby, e1000e primary, and
# nfosim.ko devices where a third device is needed): every case must give
# a clear error or a documented, safe outcome, and the state afterwards
# is checked: master links and roles, the lower transmit really uses (by
# its tx counter), carrier and MTU. badinput.rst is the table of these
# cases and outcomes; keep the two in step.

ALL_TESTS="
	mtu_out_of_range
	lower_mtu_direct
	mac_changes
	enslave_elsewhere
	master_in_bridge
	lower_netns_move
	lower_down_by_hand
	second_primary
	non_ethernet_same_mac
	two_standbys
	ip_link_add
	ip_link_del
	unload_e1000e_under_traffic
	unload_virtio_under_traffic
	standby_removed_primary_active
"

# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"
# shellcheck source=nfosim/nfosim_lib.sh
source "$FT_DIR/nfosim/nfosim_lib.sh"

require_root_cmds ip python3 busybox modinfo

PEER=10.0.2.99
PEER_MAC=02:6e:66:6f:00:63
NS=badns
OUT=
ping_pid=
tx_pid=

# ------------------------------------------------------------- helpers

# run CMD...: OUT=its stdout+stderr; returns its status
run()
{
	OUT=$("$@" 2>&1)
}

_tx_on()
{
	local d=$1 a b i

	read -r a < "/sys/class/net/$d/statistics/tx_packets" || return 1
	for ((i = 0; i < 16; i++)); do
		echo x > "/dev/udp/$PEER/9"
	done 2> /dev/null
	read -r b < "/sys/class/net/$d/statistics/tx_packets" || return 1
	[ $((b - a)) -ge 16 ]
}

# active_is primary|standby [timeout_ms]: frames sent through the master
# are counted by that lower
active_is()
{
	local d

	fo_roles
	case $1 in
	primary) d=$FO_PRIMARY;;
	standby) d=$FO_STANDBY;;
	esac
	[ -n "$d" ] && busywait "${2:-5000}" _tx_on "$d"
}

# setup_triple: the triple formed, master up with an address and a
# permanent neighbour for active_is, primary with carrier and in use
setup_triple()
{
	triple_formed || fo_restore || return 1
	fo_roles
	master_up_with_addr || return 1
	ip neigh replace "$PEER" lladdr "$PEER_MAC" nud permanent \
		dev "$FO_MASTER" || return 1
	wait_primary_carrier 30000 && active_is primary 10000
}

# state_ok WHAT: the triple as set up, with the primary in use
state_ok()
{
	check_triple || return 1
	dev_carrier "$FO_MASTER" ||
		check_err 1 "$1: master $FO_MASTER has no carrier"
	active_is primary 10000 ||
		check_err 1 "$1: transmit does not go through the primary"
	if [ "$(dev_mtu "$FO_MASTER")" != "$(dev_mtu "$FO_STANDBY")" ] ||
	   [ "$(dev_mtu "$FO_MASTER")" != "$(dev_mtu "$FO_PRIMARY")" ]; then
		check_err 1 "$1: MTUs differ"
	fi
	[ "$RET" -eq 0 ]
}

# expect_error WHAT PATTERN CMD...: CMD fails and says PATTERN
expect_error()
{
	local what=$1 pat=$2
	shift 2

	if run "$@"; then
		check_err 1 "$what: '$*' succeeded"
		return 1
	fi
	ktap_info "$what: $OUT"
	grep -qiE "$pat" <<< "$OUT" ||
		check_err 1 "$what: error '$OUT' does not match '$pat'"
}

traffic_start()
{
	fo_roles
	busybox ping -q -i 0.05 "$FT_HOST_GW" > /tmp/bad_ping.txt 2>&1 &
	ping_pid=$!
	python3 "$SIM_TX" "$FO_MASTER" 0 > /tmp/bad_tx.txt 2>&1 &
	tx_pid=$!
}

traffic_stop()
{
	[ -n "$ping_pid" ] && kill -INT "$ping_pid" 2> /dev/null
	[ -n "$tx_pid" ] && kill -TERM "$tx_pid" 2> /dev/null
	wait 2> /dev/null
	ping_pid=""
	tx_pid=""
}
defer traffic_stop

gw_answers()
{
	busybox ping -c 2 -i 0.3 -W 3 "$FT_HOST_GW" > /dev/null 2>&1
}

# sim_ready: nfosim usable here (our net_failover and a matching .ko)
sim_ready()
{
	[ "${FT_MODULES:-}" != stock ] && nfosim_load &&
		[ -w "$NFOSIM/new_group" ] && [ -n "$(< "$NFOSIM/pci_parent")" ]
}

# --------------------------------------------------------------- cases

mtu_out_of_range()
{
	setup_triple
	check_err $? "setup failed"
	expect_error "MTU 65536" "maximum|mtu" \
		ip link set dev "$FO_MASTER" mtu 65536
	expect_error "MTU 67" "minimum|mtu" ip link set dev "$FO_MASTER" mtu 67
	[ "$(dev_mtu "$FO_MASTER")" = 1500 ]
	check_err $? "master MTU now $(dev_mtu "$FO_MASTER")"
	state_ok "after refused MTUs"
	log_test "MTU outside every lower's range: refused, nothing changed"
}

lower_mtu_direct()
{
	local l

	setup_triple
	check_err $? "setup failed"
	for l in "$FO_PRIMARY" "$FO_STANDBY"; do
		# PRECHANGEMTU notifiers get no extack on 6.1: the reason is
		# in the kernel log.
		expect_error "MTU on $l" "busy|master" \
			ip link set dev "$l" mtu 1400
		dmesg | tail -n 3 | grep -q "MTU change of lower $l"
		check_err $? "no log line for the refused MTU of $l"
		[ "$(dev_mtu "$l")" = 1500 ]
		check_err $? "$l MTU now $(dev_mtu "$l")"
	done
	state_ok "after refused lower MTUs"
	log_test "MTU set on a lower: refused (EBUSY, use the master)"
}

mac_changes()
{
	local l

	setup_triple
	check_err $? "setup failed"
	for l in "$FO_PRIMARY" "$FO_STANDBY"; do
		expect_error "MAC of $l" "keeps the failover MAC" \
			ip link set dev "$l" address 52:54:00:aa:bb:cc
	done
	expect_error "MAC of master" "not supported" \
		ip link set dev "$FO_MASTER" address 52:54:00:aa:bb:cc
	for l in "$FO_MASTER" "$FO_PRIMARY" "$FO_STANDBY"; do
		[ "$(dev_mac "$l")" = "$FT_MAC" ]
		check_err $? "$l has MAC $(dev_mac "$l")"
	done
	state_ok "after refused MAC changes"
	log_test "MAC change of a lower (EBUSY) or the master (EOPNOTSUPP): refused"
}

# Enslaving a lower to a bridge, bond or team must fail by every path
# (rtnetlink, bonding sysfs, bridge ioctl) and leave it ours.
enslave_elsewhere()
{
	local u l

	setup_triple
	check_err $? "setup failed"
	defer modprobe -r bonding team_mode_activebackup team
	ip link add bad_br type bridge && defer ip link del bad_br
	ip link add bad_bond type bond mode active-backup &&
		defer ip link del bad_bond
	ip link add bad_team type team 2> /dev/null &&
		defer ip link del bad_team
	for u in bad_br bad_bond bad_team; do
		dev_exists "$u" || { ktap_info "no $u here"; continue; }
		for l in "$FO_PRIMARY" "$FO_STANDBY"; do
			expect_error "$l to $u" "not supported|busy|failover" \
				ip link set dev "$l" master "$u"
			is_upper "$l" "$FO_MASTER" ||
				check_err 1 "$l left $FO_MASTER for $u"
		done
	done
	for l in "$FO_PRIMARY" "$FO_STANDBY"; do
		if [ -w /sys/class/net/bad_bond/bonding/slaves ]; then
			echo "+$l" > /sys/class/net/bad_bond/bonding/slaves 2>/dev/null
			check_fail $? "bonding sysfs enslaved $l"
		fi
		run python3 -c '
import fcntl, socket, struct, sys
s = socket.socket()
idx = socket.if_nametoindex(sys.argv[2])
fcntl.ioctl(s, 0x89a2, struct.pack("16si", sys.argv[1].encode(), idx))
' bad_br "$l"
		check_fail $? "bridge ioctl SIOCBRADDIF enslaved $l"
		expect_error "$l nomaster" "not supported" \
			ip link set dev "$l" nomaster
	done
	state_ok "after refused enslaving"
	log_test "lower to bridge/bond/team (ip, sysfs, ioctl) or nomaster: refused"
}

# A failover master may itself be a bridge port: allowed and working.
master_in_bridge()
{
	setup_triple
	check_err $? "setup failed"
	ip link add bad_br2 type bridge && defer ip link del bad_br2
	ip link set dev "$FO_MASTER" master bad_br2
	check_err $? "cannot bridge the master"
	ip link set dev bad_br2 up
	is_upper "$FO_MASTER" bad_br2
	check_err $? "master not in the bridge"
	ip link set dev "$FO_MASTER" nomaster
	check_err $? "cannot take the master out of the bridge"
	ip link del bad_br2
	setup_triple
	state_ok "after bridging the master"
	log_test "master as a bridge port: allowed (documented), lowers unaffected"
}

lower_netns_move()
{
	local m p s

	setup_triple
	check_err $? "setup failed"
	m=$FO_MASTER p=$FO_PRIMARY s=$FO_STANDBY
	ip netns del "$NS" 2> /dev/null
	ip netns add "$NS" && defer ip -all netns del

	ip link set dev "$p" netns "$NS"
	check_err $? "cannot move $p to $NS"
	standby_only
	check_err $? "primary moved away: lowers '$(fo_lowers "$m" | xargs)'"
	ip -n "$NS" -j link show dev "$p" | grep -q '"master"'
	check_fail $? "$p keeps a master in $NS"
	active_is standby
	check_err $? "transmit not on the standby with the primary away"
	ip -n "$NS" link set dev "$p" netns 1
	check_err $? "cannot move $p back"
	busywait 5000 triple_formed
	check_err $? "primary not enslaved again on return"

	ip link set dev "$s" netns "$NS"
	check_err $? "cannot move $s to $NS"
	lowers_are "$m" "$p"
	check_err $? "standby moved away: lowers '$(fo_lowers "$m" | xargs)'"
	ip -n "$NS" link set dev "$s" netns 1
	busywait 5000 triple_formed
	check_err $? "standby not enslaved again on return"

	# EINVAL; 6.12+ says why in an extack message
	expect_error "master to $NS" "invalid argument|netns is immutable" \
		ip link set dev "$m" netns "$NS"
	ip netns del "$NS"
	setup_triple
	state_ok "after netns moves"
	log_test "lower to another netns: released, taken back on return; master: refused"
}

lower_down_by_hand()
{
	setup_triple
	check_err $? "setup failed"
	ip link set dev "$FO_PRIMARY" down
	active_is standby
	check_err $? "primary down, transmit not on the standby"
	dev_carrier "$FO_MASTER"
	check_err $? "master lost carrier"
	ip link set dev "$FO_PRIMARY" up
	wait_primary_carrier 30000
	state_ok "after primary down/up"
	log_test "lower set down by hand: transmit on the other, back when up"
}

second_primary()
{
	local d

	setup_triple
	check_err $? "setup failed"
	if ! sim_ready; then
		log_skip "nfosim not available"
		log_test "second primary with the failover MAC: not enslaved"
		return
	fi
	defer nfosim_unload
	sim_new 50
	sim_add 50 1 "mac=$FT_MAC" parent=own
	d=$(sim_dev 50 p1)
	has_upper "$d"
	check_fail $? "non-PCI $d enslaved"
	dmesg | tail -n 5 | grep -qE "$d not enslaved: (a primary must be a PCI device|primary $FO_PRIMARY already enslaved)"
	check_err $? "no log line for the refused non-PCI primary"

	sim_rm 50 1
	sim_add 50 2 "mac=$FT_MAC"
	d=$(sim_dev 50 p2)
	has_upper "$d"
	check_fail $? "second primary $d enslaved"
	dmesg | tail -n 5 | grep -q "$d not enslaved: primary $FO_PRIMARY already enslaved"
	check_err $? "no log line for the refused second primary"
	state_ok "with a second primary around"
	sim_del 50
	log_test "second primary with the failover MAC: not enslaved, logged"
}

non_ethernet_same_mac()
{
	local d

	setup_triple
	check_err $? "setup failed"
	if ! sim_ready; then
		log_skip "nfosim not available"
		log_test "non-Ethernet device with the failover MAC: ignored"
		return
	fi
	defer nfosim_unload
	sim_new 51
	# ARPHRD_IEEE802 (6): 6-byte addresses, not Ethernet
	sim_add 51 1 "mac=$FT_MAC" type=6
	d=$(sim_dev 51 p1)
	[ "$(< "/sys/class/net/$d/type")" = 6 ]
	check_err $? "$d has type $(< "/sys/class/net/$d/type")"
	has_upper "$d"
	check_fail $? "non-Ethernet $d enslaved"
	state_ok "with a non-Ethernet twin"
	sim_del 51
	log_test "non-Ethernet device with the failover MAC: ignored"
}

# Masters (driver net_failover) in MASTERS, in name order.
list_masters()
{
	local p

	MASTERS=()
	for p in /sys/class/net/*; do
		[ "$(dev_driver "${p##*/}")" = net_failover ] &&
			MASTERS+=("${p##*/}")
	done
}

two_masters()
{
	list_masters
	[ "${#MASTERS[@]}" -eq 2 ]
}

# A second virtio-net device with the STANDBY feature and the same MAC
# (in the primary's slot): it gets its own master with its own standby,
# and neither is taken by the first master.
two_standbys()
{
	local m1 s1 m2 s2 p dev reply rc

	host_available || {
		log_skip "no host control channel"
		log_test "second standby with the failover MAC: kept apart"
		return
	}
	setup_triple
	check_err $? "setup failed"
	m1=$FO_MASTER s1=$FO_STANDBY
	reply=$(host_cmd device_del hostdev0)
	check_err $? "device_del hostdev0: $reply"
	busywait 10000 standby_only
	check_err $? "primary not released"
	dev="{\"driver\":\"virtio-net-pci\",\"id\":\"net1\",\"bus\":\"rp2\","
	dev+="\"mac\":\"$FT_MAC\",\"failover\":true,\"netdev\":\"hn_pri\","
	dev+="\"romfile\":\"\"}"
	reply=$(host_cmd qmp device_add "$dev")
	check_err $? "device_add net1: $reply"
	# a debug kernel under TCG needs far longer than 15 s to probe
	busywait 60000 two_masters
	rc=$?
	check_err $rc "no second master (masters: ${MASTERS[*]})"
	[ $rc = 0 ] || dmesg | tail -n 8 | sed 's/^/# dmesg: /'
	for p in "${MASTERS[@]}"; do
		[ "$p" != "$m1" ] && m2=$p
	done
	s2=
	for p in /sys/class/net/*; do
		p=${p##*/}
		[ "$p" != "$s1" ] && [ "$p" != "$m2" ] && dev_is_virtio "$p" &&
			[ "$(dev_driver "$p")" = virtio_net ] && s2=$p
	done
	ktap_info "first: $m1/$s1, second: $m2/${s2:-?}"
	lowers_are "$m1" "$s1"
	check_err $? "first master's lowers: '$(fo_lowers "$m1" | xargs)'"
	has_upper "$m2"
	check_fail $? "second master $m2 enslaved to $(dev_upper "$m2")"
	[ -n "$s2" ] && is_upper "$s2" "$m2"
	check_err $? "second standby '$s2' has master '$(dev_upper "$s2")', want $m2"
	active_is standby
	check_err $? "first master does not transmit through its standby"

	reply=$(host_cmd device_del net1)
	check_err $? "device_del net1: $reply"
	[ -z "$m2" ] || busywait 10000 dev_gone "$m2"
	check_err $? "second master $m2 still there"
	reply=$(host_cmd device_add hostdev0)
	check_err $? "device_add hostdev0: $reply"
	busywait 20000 triple_formed
	check_err $? "triple not formed again"
	setup_triple
	state_ok "after the second standby"
	log_test "second standby with the failover MAC: own master and standby"
}

# As with the stock modules, net_failover is no rtnetlink link kind:
# masters come from virtio_net. (Mutation: rtnl_link_ops back on the
# master makes iproute2 find the kind.)
ip_link_add()
{
	expect_error "ip link add" "Unknown device type" \
		ip link add bad_fo type net_failover
	dev_gone bad_fo
	check_err $? "bad_fo exists"
	log_test "ip link add type net_failover: unknown kind, as with stock"
}

ip_link_del()
{
	setup_triple
	check_err $? "setup failed"
	expect_error "ip link del" "not supported" ip link del "$FO_MASTER"
	state_ok "after ip link del"
	log_test "ip link del MASTER: refused (EOPNOTSUPP), master intact"
}

unload_e1000e_under_traffic()
{
	setup_triple
	check_err $? "setup failed"
	traffic_start
	modprobe -r e1000e
	check_err $? "cannot unload e1000e"
	standby_only
	check_err $? "after unloading e1000e: lowers '$(fo_lowers "$FO_MASTER" | xargs)'"
	active_is standby
	check_err $? "transmit not on the standby"
	gw_answers
	check_err $? "no answer from the gateway through the standby"
	modprobe e1000e
	busywait 20000 triple_formed
	check_err $? "primary not enslaved after reloading e1000e"
	traffic_stop
	setup_triple
	state_ok "after e1000e reload"
	log_test "unload e1000e under traffic: standby carries on, primary back"
}

unload_virtio_under_traffic()
{
	local p

	setup_triple
	check_err $? "setup failed"
	p=$FO_PRIMARY
	traffic_start
	modprobe -r virtio_net
	check_err $? "cannot unload virtio_net"
	traffic_stop
	busywait 5000 no_master
	check_err $? "a master is left"
	dev_exists "$p" && ! has_upper "$p"
	check_err $? "primary $p gone or still enslaved"
	(($(< "/sys/class/net/$p/flags") & 0x800))
	check_fail $? "$p keeps IFF_SLAVE"
	modprobe virtio_net
	busywait 20000 triple_formed
	check_err $? "existing primary not taken by the new master"
	setup_triple
	state_ok "after virtio_net reload"
	log_test "unload virtio_net under traffic: master gone, primary released, retaken"
}

standby_removed_primary_active()
{
	local p pci

	setup_triple
	check_err $? "setup failed"
	p=$FO_PRIMARY
	pci=$(basename "$(readlink -f "/sys/class/net/$FO_STANDBY/device/..")")
	traffic_start
	echo 1 > "/sys/bus/pci/devices/$pci/remove"
	busywait 10000 no_master
	check_err $? "master still there after removing the standby $pci"
	traffic_stop
	dev_exists "$p" && ! has_upper "$p"
	check_err $? "primary $p gone or still enslaved"
	dev_is_up "$p"
	ktap_info "released primary $p is $(dev_is_up "$p" && echo up || echo down)"
	echo 1 > /sys/bus/pci/rescan
	busywait 20000 triple_formed
	check_err $? "triple not formed after rescan"
	setup_triple
	state_ok "after standby remove and rescan"
	log_test "standby removed while the primary is active: master gone, primary kept"
}

host_available || [ -n "$(fo_primary)" ] || primary_pci_present ||
	skip_all "no failover topology"
defer fo_restore
run_tests
