#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Loading and unloading the drivers with the devices present.

ALL_TESTS="
	rmmod_primary_driver
	rmmod_standby_driver
	rmmod_in_use_refused
	full_reload
	standby_reload_cycles
"

# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

rmmod_primary_driver()
{
	local m s p

	fo_restore
	check_err $? "setup failed"
	master_up_with_addr
	fo_roles
	m=$FO_MASTER s=$FO_STANDBY p=$FO_PRIMARY
	modprobe -r e1000e
	check_err $? "rmmod e1000e failed"
	dev_gone "$p"
	check_err $? "primary $p still present"
	lowers_are "$m" "$s"
	check_err $? "lowers of $m: '$(fo_lowers "$m" | xargs)', want $s"
	busywait 5000 dev_carrier "$m"
	check_err $? "master lost carrier"
	modprobe e1000e
	check_err $? "modprobe e1000e failed"
	busywait 15000 triple_formed
	check_err $? "primary not enslaved after modprobe e1000e"
	check_triple
	log_test "rmmod/modprobe e1000e: primary leaves and comes back"
}

rmmod_standby_driver()
{
	local p

	fo_roles
	p=$FO_PRIMARY
	rmmod virtio_net
	check_err $? "rmmod virtio_net failed"
	no_master && [ -z "$FO_STANDBY" ]
	check_err $? "master '$FO_MASTER' or standby '$FO_STANDBY' still present"
	dev_exists "$p" && ! has_upper "$p"
	check_err $? "primary $p gone or still enslaved"
	mod_loaded net_failover
	check_err $? "net_failover went away with virtio_net"
	modprobe virtio_net
	check_err $? "modprobe virtio_net failed"
	busywait 15000 triple_formed
	check_err $? "no triple after modprobe virtio_net"
	check_triple
	log_test "rmmod/modprobe virtio_net: master goes, primary stays, all back"
}

rmmod_in_use_refused()
{
	local out

	out=$(rmmod net_failover 2>&1)
	check_fail $? "rmmod net_failover succeeded while virtio_net uses it"
	grep -q 'in use' <<< "$out"
	check_err $? "unexpected rmmod error: '$out'"
	out=$(rmmod failover 2>&1)
	check_fail $? "rmmod failover succeeded while net_failover uses it"
	mod_loaded net_failover && mod_loaded failover
	check_err $? "a failover module is gone"
	triple_formed
	check_err $? "triple broken by the refused rmmod"
	log_test "rmmod net_failover/failover refused while in use"
}

full_reload()
{
	local m

	fo_unload_all
	check_err $? "unloading failed"
	for m in e1000e virtio_net net_failover failover; do
		! mod_loaded "$m"
		check_err $? "$m still loaded"
	done
	no_master
	check_err $? "master $FO_MASTER survived"
	modprobe virtio_net
	check_err $? "modprobe virtio_net failed"
	mod_loaded net_failover && mod_loaded failover
	check_err $? "virtio_net did not pull in net_failover and failover"
	modprobe e1000e
	check_err $? "modprobe e1000e failed"
	busywait 15000 triple_formed
	check_err $? "no triple after reloading everything"
	check_triple
	log_test "full unload and reload of e1000e, virtio_net, net_failover, failover"
}

# Unloading the standby driver while the master is up with an address and
# traffic, three times: a leaked reference shows as a hang or a splat.
standby_reload_cycles()
{
	local i

	for i in 1 2 3; do
		master_up_with_addr
		check_err $? "cycle $i: cannot bring the master up"
		ping_gw 1 > /dev/null
		modprobe -r virtio_net
		check_err $? "cycle $i: rmmod virtio_net failed"
		modprobe -r net_failover failover
		check_err $? "cycle $i: rmmod net_failover failover failed"
		modprobe virtio_net
		check_err $? "cycle $i: modprobe virtio_net failed"
		busywait 15000 triple_formed
		check_err $? "cycle $i: no triple"
		[ "$RET" -eq 0 ] || break
	done
	log_test "3 unload/reload cycles of virtio_net with the master in use"
}

defer fo_restore
run_tests
