#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Forming the master/standby/primary triple, whatever comes first: the
# standby driver, the primary driver, or a primary netdev that already
# exists when the master is created.

ALL_TESTS="
	primary_driver_first
	standby_driver_first
	existing_primary
	modules_under_test
"

# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

# link_kinds <dev>: "KIND/SLAVE_KIND" of <dev> in ip -d -j link ("/" for
# none)
link_kinds()
{
	ip -d -j link show dev "$1" | python3 -c '
import json, sys
li = json.load(sys.stdin)[0].get("linkinfo", {})
print(li.get("info_kind", "") + "/" + li.get("info_slave_kind", ""))'
}

# The same relations as iproute2 and ethtool report them. As with stock,
# no link kind on the master and no slave kind on its lowers: a kind makes
# NetworkManager take the master for an unknown device (issue 13).
check_ip_view()
{
	local m s p d k

	fo_roles
	m=$FO_MASTER s=$FO_STANDBY p=$FO_PRIMARY
	ip -j -d link show dev "$s" | grep -q "\"master\":\"$m\""
	check_err $? "ip -d link: $s has no master $m"
	ip -j -d link show dev "$p" | grep -q "\"master\":\"$m\""
	check_err $? "ip -d link: $p has no master $m"
	for d in "$m" "$s" "$p"; do
		k=$(link_kinds "$d")
		[ "$k" = / ]
		check_err $? "ip -d link: $d has kind/slave kind '$k', stock has none"
	done
	[ "$(dev_driver "$m")" = net_failover ]
	check_err $? "ethtool -i $m: driver '$(dev_driver "$m")', want net_failover"
	[ "$(dev_driver "$s")" = virtio_net ]
	check_err $? "ethtool -i $s: driver '$(dev_driver "$s")', want virtio_net"
	[ "$(dev_driver "$p")" = e1000e ]
	check_err $? "ethtool -i $p: driver '$(dev_driver "$p")', want e1000e"
}

# e1000e is loaded before virtio_net. When nothing negotiated the STANDBY
# feature yet, QEMU hides the primary until virtio_net does; otherwise the
# primary's PCI function is removed first and comes back with a rescan
# once the master exists, so the primary netdev registers after it.
primary_driver_first()
{
	local pci how=hidden m

	fo_reset
	check_err $? "cannot unload the drivers"
	if pci=$(fo_primary_pci); then
		how=rescan
		echo 1 > "/sys/bus/pci/devices/$pci/remove"
		busywait 10000 primary_pci_absent
		check_err $? "primary $pci not removed"
	fi
	modprobe e1000e
	check_err $? "modprobe e1000e failed"
	[ -z "$(fo_primary)" ]
	check_err $? "an e1000e netdev exists before its device is present"

	modprobe virtio_net
	check_err $? "modprobe virtio_net failed"
	if [ "$how" = rescan ]; then
		busywait 15000 standby_only
		check_err $? "master with the standby alone did not appear"
		echo 1 > /sys/bus/pci/rescan
	fi
	busywait 20000 triple_formed
	check_err $? "triple not formed (primary appeared by $how)"
	check_triple
	check_ip_view
	m=$(fo_master)
	if [ "$how" = hidden ]; then
		host_cmd wait_event FAILOVER_NEGOTIATED 1 10 > /dev/null
		check_err $? "host saw no FAILOVER_NEGOTIATED"
	fi
	log_test "e1000e before virtio_net (primary $how): master $m"
}

standby_driver_first()
{
	local s

	fo_reset
	check_err $? "cannot unload the drivers"
	fo_ensure_primary_pci
	check_err $? "primary PCI function missing"
	modprobe virtio_net
	check_err $? "modprobe virtio_net failed"
	busywait 15000 standby_only
	check_err $? "master with the standby as only lower did not appear"
	s=$(fo_standby)
	[ "$(dev_upper "$s")" = "$(fo_master)" ]
	check_err $? "standby $s not linked to master"
	modprobe e1000e
	check_err $? "modprobe e1000e failed"
	busywait 15000 triple_formed
	check_err $? "primary not enslaved"
	check_triple
	log_test "virtio_net before e1000e"
}

# The primary netdev exists, standalone, before virtio_net creates the
# master: it must work on its own, then be picked up.
existing_primary()
{
	local p n

	fo_restore
	check_err $? "setup failed"
	p=$(fo_primary)
	modprobe -r virtio_net
	check_err $? "rmmod virtio_net failed"
	busywait 5000 no_master
	check_err $? "master still present without virtio_net"
	dev_exists "$p"
	check_err $? "primary $p vanished with the master"
	! has_upper "$p"
	check_err $? "primary $p still has upper $(dev_upper "$p")"
	[ -z "$(fo_lowers "$p")" ]
	check_err $? "primary $p still has lowers"
	# net_failover no longer knows it (stock has no such interface)
	if [ "${FT_MODULES:-}" != stock ] && [ -x "$FT_FCTL" ]; then
		"$FT_FCTL" show "$p" 2>&1 |
			grep -q "not a net_failover master or lower"
		check_err $? "failoverctl show $p: $("$FT_FCTL" show "$p" 2>&1 | head -n 1)"
	fi

	# Left alone means usable on its own: traffic to the gateway
	ip addr add "$FT_ADDR" dev "$p" && ip link set dev "$p" up
	check_err $? "cannot configure $p"
	busywait 15000 dev_carrier "$p"
	check_err $? "standalone $p got no carrier"
	n=$(ping_gw 3)
	[ "${n:-0}" -ge 1 ]
	check_err $? "standalone $p: no ping reply from $FT_HOST_GW"
	ip addr flush dev "$p"
	ip link set dev "$p" down

	modprobe virtio_net
	check_err $? "modprobe virtio_net failed"
	busywait 15000 triple_formed
	check_err $? "existing primary not picked up by the new master"
	check_triple
	[ "$(fo_primary)" = "$p" ]
	check_err $? "primary changed name: $p -> $(fo_primary)"
	log_test "primary netdev existing before the master is picked up"
}

# The running failover modules are the ones the run asked for.
modules_under_test()
{
	local m taint

	for m in failover net_failover; do
		taint=$(cat "/sys/module/$m/taint" 2>/dev/null)
		case ${FT_MODULES:-} in
		ours)	[[ $taint == *O* ]]
			check_err $? "$m is not out-of-tree (taint '$taint')";;
		stock)	[[ $taint != *O* ]]
			check_err $? "$m is out-of-tree (taint '$taint')";;
		*)	log_skip "FT_MODULES unset";;
		esac
	done
	log_test "loaded failover modules: ${FT_MODULES:-?}"
}

run_tests
