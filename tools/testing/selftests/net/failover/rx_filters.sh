#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What the master's receive filters ask of its lowers: promiscuous mode
# and allmulti (tcpdump, a bridge above the master) reach both lowers and
# leave them again, a multicast group and a secondary unicast address
# joined on the master are programmed into both lowers, and a primary
# plugged in while they are set gets them too. The stock driver does the
# same; this runs with either module set. Each test names the mutation of
# drivers/net/net_failover.c it kills.

ALL_TESTS="
	promisc_follows_master
	allmulti_follows_master
	addresses_follow_master
	replugged_primary_gets_filters
"

# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

MC=01:00:5e:7f:01:02
UC=52:54:00:aa:bb:cc
IFF_PROMISC=0x100
IFF_ALLMULTI=0x200
master=
standby=
primary=

# has_flag <dev> <flag>: the flag is set in the device's flags
has_flag()
{
	local v

	read -r v < "/sys/class/net/$1/flags" 2>/dev/null || return 1
	(( v & $2 ))
}

no_flag()
{
	! has_flag "$@"
}

# has_mc <dev> <mac>: the multicast address is in the device's list
has_mc()
{
	ip maddr show dev "$1" | grep -q "link  *$2"
}

# has_uc <dev> <mac>: the unicast address is in the device's list (the
# core's fdb dump lists a device's secondary unicast addresses)
has_uc()
{
	bridge fdb show dev "$1" | grep -q "^$2 .*self"
}

no_mc()
{
	! has_mc "$@"
}

no_uc()
{
	! has_uc "$@"
}

# both <predicate> <args...>: true for the standby and the primary
both()
{
	local f=$1
	shift

	"$f" "$standby" "$@" && "$f" "$primary" "$@"
}

setup()
{
	fo_roles
	master=$FO_MASTER standby=$FO_STANDBY primary=$FO_PRIMARY
	[ -n "$master" ] && [ -n "$standby" ] && [ -n "$primary" ]
}

# Kills: promisc-not-propagated (nfo_lower_sync_flags() never calls
# dev_set_promiscuity()).
promisc_follows_master()
{
	setup
	check_err $? "no triple"
	ip link set dev "$master" promisc on
	busywait 5000 both has_flag "$IFF_PROMISC"
	check_err $? "master promiscuous, lowers not: $(cat "/sys/class/net/$standby/flags") $(cat "/sys/class/net/$primary/flags")"
	ip link set dev "$master" promisc off
	busywait 5000 both no_flag "$IFF_PROMISC"
	check_err $? "master no longer promiscuous, a lower still is"
	log_test "promiscuous mode of the master reaches both lowers and leaves them"
}

# Kills: the allmulti half of nfo_lower_sync_flags() made a no-op.
allmulti_follows_master()
{
	setup
	check_err $? "no triple"
	ip link set dev "$master" allmulticast on
	busywait 5000 both has_flag "$IFF_ALLMULTI"
	check_err $? "master allmulti, lowers not"
	ip link set dev "$master" allmulticast off
	busywait 5000 both no_flag "$IFF_ALLMULTI"
	check_err $? "master no longer allmulti, a lower still is"
	log_test "allmulti of the master reaches both lowers and leaves them"
}

# Kills: rx-mode-not-synced (nfo_set_rx_mode() does nothing).
addresses_follow_master()
{
	setup
	check_err $? "no triple"
	ip maddr add "$MC" dev "$master"
	check_err $? "cannot join $MC on $master"
	bridge fdb add "$UC" dev "$master" self permanent
	check_err $? "cannot add unicast address $UC on $master"
	busywait 5000 both has_mc "$MC"
	check_err $? "multicast $MC joined on $master is not on both lowers"
	busywait 5000 both has_uc "$UC"
	check_err $? "unicast $UC added on $master is not on both lowers"
	ip maddr del "$MC" dev "$master"
	bridge fdb del "$UC" dev "$master" self
	busywait 5000 both no_mc "$MC"
	check_err $? "multicast $MC left on a lower after leaving it on $master"
	busywait 5000 both no_uc "$UC"
	check_err $? "unicast $UC left on a lower after deleting it on $master"
	log_test "multicast and unicast addresses of the master are on both lowers"
}

# A primary that joins a master already promiscuous, with a multicast
# group: it gets both when enslaved (from the open work, see
# nfo_open_work()). Kills: promisc-not-propagated, rx-mode-not-synced,
# and a lower_register that forgets dev_uc/mc_sync_multiple().
replugged_primary_gets_filters()
{
	local reply

	setup
	check_err $? "no triple"
	if ! host_available; then
		log_skip "no host control channel on $FT_CTL_TTY"
		log_test "a replugged primary gets the master's filters"
		return
	fi
	ip link set dev "$master" promisc on
	ip maddr add "$MC" dev "$master"
	reply=$(host_cmd device_del hostdev0)
	check_err $? "device_del: $reply"
	busywait 10000 standby_only
	check_err $? "primary not released"
	reply=$(host_cmd device_add hostdev0)
	check_err $? "device_add: $reply"
	busywait 20000 triple_formed
	check_err $? "re-added primary not enslaved"
	setup
	busywait 5000 has_flag "$primary" "$IFF_PROMISC"
	check_err $? "new primary $primary not promiscuous under a promiscuous master"
	busywait 5000 has_mc "$primary" "$MC"
	check_err $? "new primary $primary lacks multicast $MC of the master"
	ip link set dev "$master" promisc off
	ip maddr del "$MC" dev "$master"
	busywait 5000 no_flag "$primary" "$IFF_PROMISC"
	check_err $? "new primary still promiscuous after promisc off"
	log_test "a replugged primary gets the master's promiscuity and groups"
}

require_root_cmds ip bridge
primary_pci_present || fo_setup
fo_restore
master_up_with_addr
defer fo_restore
run_tests
