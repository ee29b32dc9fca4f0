#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# net_failover with simulated lowers (nfosim.ko): forming groups, carrier
# failover, lowers coming and going, MTU, renames, namespace moves and
# module unloading, each checked through sysfs links and the data path
# (which lower's counter takes the frames sent on the master).

ALL_TESTS="
	group_forms
	carrier_failover
	lower_cycles
	mtu_rules
	renames
	netns_moves
	duplicate_mac_groups
	pci_unbind
	module_unload
"

source "$(dirname "$(readlink -f "$0")")/lib.sh"
source "$FT_DIR/nfosim/nfosim_lib.sh"

require_root_cmds ip ethtool python3 modinfo
nfosim_setup

CYCLES=${SIM_LIFECYCLE_CYCLES:-20}

no_carrier()
{
	! dev_carrier "$1"
}

# lower_back ID LOWER: the lower exists again (in this namespace)
lower_back()
{
	sim_d "$1" "$2"
	dev_exists "$SIM_D"
}

# new_group_up ID: a group with primary p1, master up, p1 transmitting
new_group_up()
{
	sim_new "$1" && sim_add "$1" 1 || return 1
	sim_up "$1" && sim_wait_active "$1" p1
}

group_forms()
{
	local m s p

	sim_new 1
	check_err $? "new_group 1 failed"
	m=$(sim_master 1)
	s=$(sim_dev 1 standby)
	sim_check_group 1 standby
	[ "$(dev_driver "$m")" = net_failover ] ||
		check_err 1 "$m: driver '$(dev_driver "$m")', want net_failover"
	[ "$(readlink -f "/sys/class/net/$m/device")" = \
	  "$(readlink -f "/sys/class/net/$s/device")" ]
	check_err $? "master and standby have different parents"

	sim_add 1 1
	check_err $? "add_primary failed"
	p=$(sim_dev 1 p1)
	sim_check_group 1 standby p1
	sim_mac 1
	[ "$(dev_mac "$m")" = "$SIM_MAC" ] && [ "$(dev_mac "$p")" = "$SIM_MAC" ]
	check_err $? "MACs: master $(dev_mac "$m") primary $(dev_mac "$p")"
	(($(< "/sys/class/net/$p/flags") & 0x800))
	check_err $? "$p lacks IFF_SLAVE"

	sim_up 1
	check_err $? "cannot bring $m up"
	sim_wait_active 1 p1 || check_err 1 "transmit on $SIM_ACTIVE, want p1"
	busywait 3000 dev_carrier "$m"
	check_err $? "$m has no carrier"

	sim_del 1
	check_err $? "del_group failed"
	dev_gone "$m" && dev_gone "$s" && dev_gone "$p"
	check_err $? "netdevs left after del_group: $(sim_netdevs | xargs)"
	log_test "group: master, standby and primary linked, primary active"
}

carrier_failover()
{
	local m

	new_group_up 2
	check_err $? "group 2 not formed with p1 active"
	m=$SIM_M

	sim_set 2 p1 carrier 0
	sim_wait_active 2 standby ||
		check_err 1 "primary lost carrier, transmit on $SIM_ACTIVE"
	dev_carrier "$m"
	check_err $? "master lost carrier with the standby up"

	sim_set 2 standby carrier 0
	busywait 3000 no_carrier "$m"
	check_err $? "master keeps carrier with no lower usable"
	sim_active 2
	[ "$SIM_ACTIVE" = none ]
	check_err $? "frames went out on $SIM_ACTIVE, which has no carrier"

	sim_set 2 p1 carrier 1
	sim_wait_active 2 p1 ||
		check_err 1 "primary back, transmit on $SIM_ACTIVE"
	busywait 3000 dev_carrier "$m"
	check_err $? "master has no carrier with the primary up"
	sim_set 2 standby carrier 1

	ip link set dev "$m" down
	sim_up 2
	sim_wait_active 2 p1 ||
		check_err 1 "after master down/up transmit on $SIM_ACTIVE"
	sim_del 2
	log_test "carrier: primary -> standby -> none -> primary"
}

# Unregister and register each lower CYCLES times; after each step the
# links must be right at once (registration is synchronous).
lower_cycles()
{
	local i

	new_group_up 3
	check_err $? "group 3 not formed with p1 active"
	for ((i = 0; i < CYCLES && RET == 0; i++)); do
		sim_set 3 p1 registered 0
		sim_check_group 3 standby || break
		sim_set 3 p1 registered 1
		sim_check_group 3 standby p1 || break
		sim_set 3 standby registered 0
		sim_check_group 3 p1 || break
		sim_set 3 standby registered 1
		sim_check_group 3 standby p1 || break
	done
	sim_wait_active 3 p1 ||
		check_err 1 "after $i cycles transmit on $SIM_ACTIVE"

	# Primary deleted and added under another id: same MAC, new parent.
	sim_rm 3 1
	sim_add 3 2
	sim_check_group 3 standby p2
	sim_wait_active 3 p2 || check_err 1 "new primary p2 not used: $SIM_ACTIVE"
	sim_del 3
	log_test "lower cycles: $i x (primary, standby) unregister/register"
}

mtu_rules()
{
	local m s p

	new_group_up 5
	check_err $? "group 5 not formed with p1 active"
	m=$(sim_master 5) s=$(sim_dev 5 standby) p=$(sim_dev 5 p1)

	ip link set dev "$m" mtu 9000
	check_err $? "master refused MTU 9000"
	[ "$(dev_mtu "$s")" = 9000 ] && [ "$(dev_mtu "$p")" = 9000 ]
	check_err $? "lowers' MTU $(dev_mtu "$s")/$(dev_mtu "$p"), want 9000"

	ip link set dev "$p" mtu 1400 2> /dev/null
	check_fail $? "a lower's MTU was changed directly"
	[ "$(dev_mtu "$p")" = 9000 ]
	check_err $? "$p MTU $(dev_mtu "$p") after a refused change"

	# The primary refuses: the standby must be rolled back.
	sim_set 5 p1 fail_mtu Y
	ip link set dev "$m" mtu 1500 2> /dev/null
	check_fail $? "master MTU changed although the primary refused"
	[ "$(dev_mtu "$m")" = 9000 ] && [ "$(dev_mtu "$s")" = 9000 ] &&
		[ "$(dev_mtu "$p")" = 9000 ]
	check_err $? "after a refused change: $(dev_mtu "$m")/$(dev_mtu "$s")/$(dev_mtu "$p")"
	sim_set 5 p1 fail_mtu N

	# A primary that cannot take the master's MTU is not enslaved.
	sim_rm 5 1
	sim_add 5 2 max_mtu=1500
	check_err $? "add_primary max_mtu=1500 failed"
	sim_check_group 5 standby
	has_upper "$(sim_dev 5 p2)"
	check_fail $? "primary with max_mtu 1500 enslaved under MTU 9000"

	ip link set dev "$m" mtu 1500
	check_err $? "master refused MTU 1500"
	[ "$(dev_mtu "$s")" = 1500 ]
	check_err $? "standby MTU $(dev_mtu "$s"), want 1500"
	sim_del 5
	log_test "MTU: pushed down, rolled back, lower changes refused"
}

renames()
{
	local i m

	new_group_up 6
	check_err $? "group 6 not formed with p1 active"
	m=$SIM_M
	for ((i = 0; i < CYCLES && RET == 0; i++)); do
		sim_d 6 p1
		ip link set dev "$SIM_D" name "ren6p$((i % 2))"
		check_err $? "cannot rename up primary $SIM_D"
		sim_d 6 standby
		ip link set dev "$SIM_D" name "ren6s$((i % 2))"
		check_err $? "cannot rename up standby $SIM_D"
		sim_check_group 6 standby p1
	done
	dev_is_up "$(sim_dev 6 p1)" && dev_is_up "$(sim_dev 6 standby)"
	check_err $? "a lower went down across renames"
	sim_wait_active 6 p1 || check_err 1 "after renames transmit on $SIM_ACTIVE"
	if kernel_at_least 6 2; then
		# 6.2 renames any device while up, the master included
		ip link set dev "$m" name simmaster6
		check_err $? "cannot rename the master while up"
		ip link set dev simmaster6 name "$m"
	else
		ip link set dev "$m" name simmaster6 2> /dev/null
		check_fail $? "renamed the master while up (only lowers may be)"
	fi
	ip link set dev "$m" down
	ip link set dev "$m" name simmaster6
	check_err $? "cannot rename the master while down"
	sim_del 6
	log_test "renames: $i x both lowers while up; the master while down" \
		"(and up on 6.2+)"
}

netns_moves()
{
	local ns=simns7 m s p

	ip netns del "$ns" 2> /dev/null
	ip netns add "$ns"
	defer ip netns del "$ns"
	new_group_up 7
	check_err $? "group 7 not formed with p1 active"
	m=$(sim_master 7) s=$(sim_dev 7 standby) p=$(sim_dev 7 p1)

	ip link set dev "$p" netns "$ns"
	check_err $? "cannot move the primary to $ns"
	sim_check_group 7 standby
	ip -n "$ns" -j link show dev "$p" | grep -q '"master"'
	check_fail $? "moved primary still has a master"
	sim_wait_active 7 standby ||
		check_err 1 "primary moved away, transmit on $SIM_ACTIVE"

	ip -n "$ns" link set dev "$p" netns 1
	check_err $? "cannot move the primary back"
	sim_check_group 7 standby p1
	sim_wait_active 7 p1 || check_err 1 "primary back, transmit on $SIM_ACTIVE"

	ip link set dev "$s" netns "$ns"
	check_err $? "cannot move the standby to $ns"
	sim_check_group 7 p1
	ip -n "$ns" link set dev "$s" netns 1
	sim_check_group 7 standby p1

	ip link set dev "$m" netns "$ns" 2> /dev/null
	check_fail $? "the master moved to another namespace"

	# A namespace that dies gives its devices back to init_net (renamed
	# devN): the primary must be enslaved again.
	ip link set dev "$p" netns "$ns"
	ip netns del "$ns"
	busywait 10000 lower_back 7 p1
	check_err $? "primary did not come back from the deleted namespace"
	sim_check_group 7 standby p1
	sim_wait_active 7 p1 ||
		check_err 1 "returned primary $(sim_dev 7 p1) not used: $SIM_ACTIVE"

	# A group deleted while its primary is in another namespace.
	ip netns add "$ns"
	ip link set dev "$(sim_dev 7 p1)" netns "$ns"
	sim_del 7
	check_err $? "del_group with the primary in $ns failed"
	! ip -n "$ns" -o link | grep -q ': np[rb]'
	check_err $? "nfosim devices left in $ns: $(ip -n "$ns" -o link | xargs)"
	log_test "netns: lowers released when moved, taken back on return"
}

# Two groups with the same MAC (two paravirtual devices misconfigured
# with one address): each master keeps its own standby, and no master
# becomes a lower of the other.
duplicate_mac_groups()
{
	local m1 m2 s2

	sim_new 10
	check_err $? "group 10 not created"
	sim_mac 10
	echo "11 $SIM_MAC" > "$NFOSIM/new_group"
	check_err $? "group 11 (same MAC) not created"
	m1=$(sim_master 10) m2=$(sim_master 11) s2=$(sim_dev 11 standby)
	has_upper "$m2"
	check_fail $? "master $m2 of group 11 is a lower of $(dev_upper "$m2")"
	has_upper "$m1"
	check_fail $? "master $m1 of group 10 is a lower of $(dev_upper "$m1")"
	sim_check_group 10 standby
	is_upper "$s2" "$m2"
	check_err $? "standby $s2 of group 11 has master '$(dev_upper "$s2")', want $m2"
	sim_del 11
	sim_del 10
	log_test "two groups with one MAC: each master keeps its own standby"
}

# The PCI driver of a primary starts to unbind: the master leaves the
# primary before the driver's remove() runs (BUS_NOTIFY_UNBIND_DRIVER),
# and takes it back when the driver is gone but the netdev stayed
# (BUS_NOTIFY_UNBOUND_DRIVER). nfosim's primaries hang below QEMU's
# pci-testdev; binding pci-stub to it and unbinding gives the bus events
# while the netdev stays up with carrier, so only the bus notifier can
# move the traffic. Kills: unbind-hook-off (the notifier ignores the
# unbind; NETDEV_GOING_DOWN never comes).
pci_unbind()
{
	local bdf m p sw0 sb0 sw1 sb1 dev=/sys/bus/pci/devices drv=/sys/bus/pci/drivers

	bdf=$(< "$NFOSIM/pci_parent")
	new_group_up 12
	check_err $? "group 12 not formed with p1 active"
	m=$SIM_M p=$(sim_dev 12 p1)
	modprobe pci-stub
	check_err $? "cannot load pci-stub"
	if [ -e "$dev/$bdf/driver" ]; then
		check_err 1 "$bdf already has a driver: $(readlink "$dev/$bdf/driver")"
	else
		echo pci-stub > "$dev/$bdf/driver_override" &&
			echo "$bdf" > "$drv/pci-stub/bind"
		check_err $? "cannot bind pci-stub to $bdf"
	fi
	defer sh -c "echo > $dev/$bdf/driver_override"
	sw0=$(ethtool_stat "$m" path_switches)
	sb0=$(ethtool_stat "$m" standby_activations)
	echo "$bdf" > "$drv/pci-stub/unbind"
	check_err $? "cannot unbind pci-stub from $bdf"
	sim_wait_active 12 p1 ||
		check_err 1 "after the unbind transmit on $SIM_ACTIVE, want p1"
	sw1=$(ethtool_stat "$m" path_switches)
	sb1=$(ethtool_stat "$m" standby_activations)
	[ $((sb1 - sb0)) -eq 1 ] && [ $((sw1 - sw0)) -eq 2 ]
	check_err $? "unbind of $bdf: standby activations $sb0 -> $sb1, switches $sw0 -> $sw1 (want +1, +2)"
	dev_is_up "$p" && dev_carrier "$p"
	check_err $? "$p went down: the switch did not come from the unbind alone"
	sim_del 12
	log_test "PCI unbind of a primary's parent: primary left before remove(), taken back after"
}

module_unload()
{
	local i sent

	for i in 8 9; do
		new_group_up "$i"
		check_err $? "group $i not formed"
	done
	sim_senders_start 2 @8
	sim_master_tx_grows 8 200
	check_err $? "the senders on group 8 do not transmit"

	rmmod net_failover 2> /dev/null
	check_fail $? "net_failover unloaded while masters exist"
	mod_loaded net_failover
	check_err $? "net_failover gone"
	rmmod failover 2> /dev/null
	check_fail $? "failover unloaded while net_failover uses it"
	sim_check_group 8 standby p1

	nfosim_unload
	check_err $? "cannot unload nfosim with groups present"
	sim_senders_stop
	sent=$SIM_SENT
	sim_no_leftovers
	check_err $? "left after unloading nfosim: $(sim_netdevs | xargs)"

	nfosim_load
	check_err $? "cannot load nfosim again"
	new_group_up 8
	check_err $? "group 8 not formed after reloading nfosim"
	sim_del 8
	log_test "modules: nfosim unloads with groups ($sent frames sent), net_failover refuses"
}

run_tests
