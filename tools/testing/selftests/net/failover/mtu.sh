#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# MTU of the master and its lowers: a change reaches both lowers, a value
# a lower cannot take is refused with nothing changed, and a primary that
# cannot take the master's MTU is not enslaved (and the log says why).

ALL_TESTS="
	mtu_propagates
	mtu_above_lower_max
	replug_mtu_too_big
	replug_mtu_fits
"

# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

master=
standby=
primary=
primary_max=

mtus()
{
	echo "$master=$(dev_mtu "$master") $standby=$(dev_mtu "$standby")" \
		"${primary:-none}=$(dev_mtu "$primary" 2>/dev/null)"
}

mtu_propagates()
{
	fo_restore
	check_err $? "setup failed"
	fo_roles
	master=$FO_MASTER standby=$FO_STANDBY primary=$FO_PRIMARY
	ip link set dev "$master" up
	ip link set dev "$master" mtu 9000
	check_err $? "ip link set $master mtu 9000 failed"
	[ "$(dev_mtu "$master")" = 9000 ] &&
		[ "$(dev_mtu "$standby")" = 9000 ] &&
		[ "$(dev_mtu "$primary")" = 9000 ]
	check_err $? "MTUs after setting 9000: $(mtus)"
	log_test "master MTU 9000 reaches both lowers"
}

mtu_above_lower_max()
{
	local out want

	# every netdev reports IFLA_MAX_MTU; none means no primary or a
	# broken setup, not a missing precondition
	primary_max=$(dev_link_attr "$primary" max_mtu)
	if [ -z "$primary_max" ]; then
		check_err 1 "no max_mtu for primary '$primary' in ip -d -j link"
		log_test "MTU above the primary's maximum is refused"
		return
	fi
	want=$((primary_max + 100))
	out=$(ip link set dev "$master" mtu "$want" 2>&1)
	check_fail $? "MTU $want accepted though $primary's max_mtu is $primary_max"
	ktap_info "ip link set $master mtu $want: $out"
	grep -qi 'mtu' <<< "$out"
	check_err $? "error text does not name the MTU: '$out'"
	[ "$(dev_mtu "$master")" = 9000 ] &&
		[ "$(dev_mtu "$standby")" = 9000 ] &&
		[ "$(dev_mtu "$primary")" = 9000 ]
	check_err $? "MTUs changed by a refused request: $(mtus)"
	log_test "MTU $want above $primary's max $primary_max is refused, nothing changes"
}

# With the primary unplugged the master may take an MTU only the standby
# supports; the primary plugged later must stay out, with a log line.
# mtu_logged <dmesg lines to skip> <dev>: a new log line names MTU and dev
mtu_logged()
{
	dmesg | tail -n +$(($1 + 1)) | grep -i mtu | grep -qw "$2"
}

replug_mtu_too_big()
{
	local pci want p before out

	[ -n "$primary_max" ] || primary_max=$(dev_link_attr "$primary" max_mtu)
	if [ -z "$primary_max" ]; then
		check_err 1 "no max_mtu for primary '$primary' in ip -d -j link"
		log_test "primary that cannot take the master's MTU stays out"
		return
	fi
	want=$((primary_max + 100))
	pci=$(fo_primary_pci)
	check_err $? "no primary PCI function"
	echo 1 > "/sys/bus/pci/devices/$pci/remove"
	busywait 10000 standby_only
	check_err $? "primary not released"
	# The master's range is the standby's (virtio: up to 65535, as
	# stock's), so without the primary it must take the MTU
	if ! out=$(ip link set dev "$master" mtu "$want" 2>&1); then
		check_err 1 "master refuses MTU $want without the primary (standby $standby max_mtu $(dev_link_attr "$standby" max_mtu)): $out"
		echo 1 > /sys/bus/pci/rescan
		log_test "primary that cannot take the master's MTU stays out"
		return
	fi
	[ "$(dev_mtu "$standby")" = "$want" ]
	check_err $? "standby did not follow MTU $want: $(mtus)"

	before=$(dmesg | wc -l)
	echo 1 > /sys/bus/pci/rescan
	busywait 15000 primary_pci_netdev > /dev/null
	check_err $? "replugged primary has no netdev"
	p=$(primary_pci_netdev)
	# the refusal is logged when the primary registers
	busywait 5000 mtu_logged "$before" "$p"
	check_err $? "no log line naming MTU and $p"
	ktap_info "log: $(dmesg | tail -n +$((before + 1)) | grep -i mtu | grep -w "$p" | head -n 1)"
	# ours says why, with the lower's range, before trying anything.
	# Kills: mtu-enslave-unchecked (the range check gone, the refusal
	# only comes from the failed MTU change, as "-22")
	if [ "${FT_MODULES:-}" != stock ]; then
		dmesg | tail -n +$((before + 1)) |
			grep -q "$p not enslaved: cannot take MTU $want (its range is [0-9]*-$primary_max)"
		check_err $? "no 'cannot take MTU $want (its range is ...-$primary_max)' for $p"
	fi
	! has_upper "$p" && lowers_are "$master" "$standby"
	check_err $? "$p enslaved with MTU $(dev_mtu "$p") under master MTU $want"
	primary=$p
	log_test "primary that cannot take MTU $want stays out, log names it"
}

replug_mtu_fits()
{
	local pci

	ip link set dev "$master" mtu 1500
	check_err $? "cannot set master MTU back to 1500"
	[ "$(dev_mtu "$standby")" = 1500 ]
	check_err $? "standby did not follow MTU 1500: $(mtus)"
	pci=$(fo_primary_pci)
	check_err $? "no primary PCI function"
	echo 1 > "/sys/bus/pci/devices/$pci/remove"
	busywait 10000 primary_pci_absent
	echo 1 > /sys/bus/pci/rescan
	busywait 15000 triple_formed
	check_err $? "primary not enslaved once the MTU fits"
	fo_roles
	primary=$FO_PRIMARY
	[ "$(dev_mtu "$primary")" = 1500 ]
	check_err $? "MTUs: $(mtus)"
	log_test "with MTU 1500 the replugged primary is enslaved again"
}

defer fo_restore
run_tests
