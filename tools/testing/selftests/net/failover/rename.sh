#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Renaming the lowers while they are up, as udev does after the master
# enslaved them: they stay enslaved and traffic still flows.

ALL_TESTS="
	rename_primary
	rename_standby
	traffic_after_rename
	standby_path_after_rename
"

# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

master=

rename_primary()
{
	local p out

	# the lowers' own IPv6 frames would blur the counters below
	sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	fo_restore
	check_err $? "setup failed"
	master_up_with_addr
	fo_roles
	master=$FO_MASTER p=$FO_PRIMARY
	dev_is_up "$p"
	check_err $? "primary $p not up"
	out=$(ip link set dev "$p" name fo_pri 2>&1)
	check_err $? "renaming up primary $p failed: $out"
	dev_exists fo_pri && is_upper fo_pri "$master"
	check_err $? "renamed primary fo_pri not enslaved to $master"
	lowers_are "$master" fo_pri "$FO_STANDBY"
	check_err $? "lowers of $master: $(fo_lowers "$master" | xargs)"
	dev_is_up fo_pri
	check_err $? "fo_pri went down"
	log_test "rename the up primary $p to fo_pri"
}

rename_standby()
{
	local s out

	fo_roles
	s=$FO_STANDBY
	out=$(ip link set dev "$s" name fo_sby 2>&1)
	check_err $? "renaming up standby $s failed: $out"
	dev_exists fo_sby && is_upper fo_sby "$master"
	check_err $? "renamed standby fo_sby not enslaved to $master"
	lowers_are "$master" fo_pri fo_sby
	check_err $? "lowers of $master: $(fo_lowers "$master" | xargs)"
	log_test "rename the up standby $s to fo_sby"
}

traffic_after_rename()
{
	local tx n

	busywait 15000 dev_carrier fo_pri
	check_err $? "fo_pri has no carrier"
	tx=$(dev_stat fo_pri tx_packets)
	n=$(ping_gw 3)
	[ "${n:-0}" -eq 3 ]
	check_err $? "${n:-0} of 3 replies"
	[ $(($(dev_stat fo_pri tx_packets) - tx)) -ge 3 ]
	check_err $? "fo_pri did not carry the echoes"
	log_test "traffic flows through the renamed primary"
}

standby_path_after_rename()
{
	local pci tx n

	pci=$(fo_primary_pci)
	echo 1 > "/sys/bus/pci/devices/$pci/remove"
	busywait 10000 lowers_are "$master" fo_sby
	check_err $? "primary not released"
	tx=$(dev_stat fo_sby tx_packets)
	n=$(ping_gw 3)
	[ "${n:-0}" -eq 3 ]
	check_err $? "${n:-0} of 3 replies"
	[ $(($(dev_stat fo_sby tx_packets) - tx)) -ge 3 ]
	check_err $? "fo_sby did not carry the echoes"
	echo 1 > /sys/bus/pci/rescan
	busywait 15000 triple_formed
	check_err $? "rescanned primary not enslaved next to fo_sby"
	[ "$FO_STANDBY" = fo_sby ]
	check_err $? "standby is $FO_STANDBY"
	log_test "renamed standby carries, new primary joins it"
}

ipv6_restore()
{
	sysctl -qw net.ipv6.conf.all.disable_ipv6=0
	sysctl -qw net.ipv6.conf.default.disable_ipv6=0
}

defer ipv6_restore
defer fo_restore
run_tests
