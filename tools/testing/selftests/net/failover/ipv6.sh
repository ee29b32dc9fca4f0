#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# IPv6 addressing belongs to the master only: the lowers share its MAC, so
# their link-local addresses would be duplicates of the master's (and on a
# flooding switch make its DAD fail).

ALL_TESTS="
	master_link_local
	standby_no_address
	primary_no_address
	replugged_primary_no_address
"

# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

master=
standby=
primary=

addrs6()
{
	ip -6 -o addr show dev "$1" 2>/dev/null | awk '{print $4, $5, $6, $7}' | xargs
}

has_addr6()
{
	[ -n "$(ip -6 -o addr show dev "$1" 2>/dev/null)" ]
}

master_ll_settled()
{
	local out

	out=$(ip -6 -o addr show dev "$master" scope link)
	[ -n "$out" ] && ! grep -q tentative <<< "$out"
}

master_link_local()
{
	local k out

	for k in all default; do
		sysctl -qw "net.ipv6.conf.$k.disable_ipv6=0"
	done
	fo_restore
	check_err $? "setup failed"
	fo_roles
	master=$FO_MASTER standby=$FO_STANDBY primary=$FO_PRIMARY
	ip link set dev "$master" up
	check_err $? "cannot set $master up"
	wait_primary_carrier
	check_err $? "primary got no carrier"
	busywait 10000 master_ll_settled
	check_err $? "master link-local not settled: $(addrs6 "$master")"
	out=$(ip -6 -o addr show dev "$master" scope link)
	grep -q 'inet6 fe80::' <<< "$out"
	check_err $? "master has no fe80:: address: '$out'"
	! grep -q dadfailed <<< "$out"
	check_err $? "master link-local failed DAD: $(addrs6 "$master")"
	log_test "master gets a link-local address that passes DAD"
}

# Addresses are added when a lower goes up with carrier, synchronously:
# by the time the master has settled they would be there.
standby_no_address()
{
	dev_is_up "$standby" && dev_carrier "$standby"
	check_err $? "standby $standby not up with carrier"
	! has_addr6 "$standby"
	check_err $? "standby $standby has IPv6 addresses: $(addrs6 "$standby")"
	log_test "standby has no IPv6 address"
}

primary_no_address()
{
	dev_is_up "$primary" && dev_carrier "$primary"
	check_err $? "primary $primary not up with carrier"
	! has_addr6 "$primary"
	check_err $? "primary $primary has IPv6 addresses: $(addrs6 "$primary")"
	log_test "primary has no IPv6 address"
}

replugged_primary_no_address()
{
	local pci

	pci=$(fo_primary_pci)
	check_err $? "no primary PCI function"
	echo 1 > "/sys/bus/pci/devices/$pci/remove"
	busywait 10000 standby_only
	check_err $? "primary not released"
	echo 1 > /sys/bus/pci/rescan
	busywait 15000 triple_formed
	check_err $? "primary not enslaved again"
	primary=$FO_PRIMARY
	wait_primary_carrier
	check_err $? "new primary $primary got no carrier"
	! has_addr6 "$primary"
	check_err $? "new primary $primary has IPv6 addresses: $(addrs6 "$primary")"
	! ip -6 -o addr show dev "$master" | grep -q dadfailed
	check_err $? "master address failed DAD: $(addrs6 "$master")"
	log_test "replugged primary has no IPv6 address"
}

[ -d /proc/sys/net/ipv6 ] || skip_all "kernel without IPv6"
defer fo_restore
run_tests
