#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of scripts/demo.sh: let the failover triple form on its own,
# then have the host unplug and replug the primary through QMP, showing
# the links at each step. Prints KTAP so run_vm.py can judge the run.

# shellcheck source=../lib.sh
source "$(dirname "$(readlink -f "$0")")/../lib.sh"

# failoverctl, built on the host before the boot, shows the net_failover
# state (the master is a plain Ethernet device to "ip -d link", as stock).

banner()
{
	echo
	echo "# ==== $* ===="
}

show()
{
	local m l

	echo "# \$ ip -br link"
	ip -br link | sed 's/^/#   /'
	fo_roles
	m=$FO_MASTER
	if [ -n "$m" ]; then
		echo "# master $m ($(dev_driver "$m")), lowers:"
		for l in $(fo_lowers "$m"); do
			echo "#   $l: driver $(dev_driver "$l"), master -> $(dev_upper "$l")," \
				"carrier $(cat "/sys/class/net/$l/carrier" 2>/dev/null)"
		done
	else
		echo "# no failover master"
	fi
	[ -n "$m" ] || return 0
	echo "# \$ ethtool -S $m"
	ethtool -S "$m" | sed 's/^/#   /'
	if [ -x "$FT_FCTL" ]; then
		echo "# \$ failoverctl show"
		"$FT_FCTL" show | sed 's/^/#   /'
	fi
}

ktap_print_header
ktap_set_plan 3

banner "load virtio_net and e1000e; the driver pairs them by MAC"
modprobe virtio_net && busywait 15000 standby_only
fo_ensure_primary_pci
modprobe e1000e
busywait 15000 triple_formed
rc=$?
master_up_with_addr
wait_primary_carrier
ping -c 3 -i 0.3 -W 2 10.0.2.2 > /dev/null 2>&1
show
ktap_result $rc "master/standby/primary formed automatically"

banner "host: QMP device_del hostdev0 (primary hot-unplug, $FT_HOTPLUG)"
echo "# host: $(host_cmd device_del hostdev0)"
busywait 10000 standby_only
rc=$?
ping -c 3 -i 0.3 -W 2 10.0.2.2 > /dev/null 2>&1
show
ktap_result $rc "primary unplugged, master keeps the standby"

banner "host: QMP device_add hostdev0 (primary hot-plug)"
echo "# host: $(host_cmd device_add hostdev0)"
busywait 20000 triple_formed
rc=$?
wait_primary_carrier
ping -c 3 -i 0.3 -W 2 10.0.2.2 > /dev/null 2>&1
show
ktap_result $rc "primary replugged and enslaved again"
[ "$ft_fails" -eq 0 ]
