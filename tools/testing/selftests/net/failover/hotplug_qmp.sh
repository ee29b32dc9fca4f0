#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side hot-unplug and hot-plug of the primary through QMP
# (device_del, wait for DEVICE_DELETED, device_add with the same
# properties), as a hypervisor does around live migration. The runner
# runs this once with ACPI hotplug and once with native PCIe hotplug.

ALL_TESTS="
	qmp_unplug
	qmp_replug
	qmp_cycles
	qmp_cycle_under_traffic
"

# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

master=
standby=

unplug()
{
	local p=$1 reply

	reply=$(host_cmd device_del hostdev0)
	check_err $? "device_del: $reply"
	busywait 10000 dev_gone "$p"
	check_err $? "primary $p still present after DEVICE_DELETED"
	busywait 5000 primary_pci_absent
	check_err $? "primary PCI function still present"
	busywait 5000 standby_only
	check_err $? "master does not have the standby alone"
}

replug()
{
	local reply

	reply=$(host_cmd device_add hostdev0)
	check_err $? "device_add: $reply"
	busywait 20000 triple_formed
	check_err $? "re-added primary not enslaved"
}

qmp_unplug()
{
	local p

	fo_restore
	check_err $? "setup failed"
	master_up_with_addr
	fo_roles
	master=$FO_MASTER standby=$FO_STANDBY p=$FO_PRIMARY
	unplug "$p"
	is_upper "$standby" "$master"
	check_err $? "standby lost its master"
	busywait 5000 dev_carrier "$master"
	check_err $? "master has no carrier on the standby alone"
	log_test "QMP device_del ($FT_HOTPLUG): primary released, standby kept"
}

qmp_replug()
{
	replug
	check_triple
	[ "$FO_MASTER" = "$master" ]
	check_err $? "master changed: $master -> $FO_MASTER"
	busywait 5000 dev_is_up "$FO_PRIMARY"
	check_err $? "primary $FO_PRIMARY not opened under an up master"
	busywait 15000 dev_carrier "$FO_PRIMARY"
	check_err $? "primary $FO_PRIMARY got no carrier"
	log_test "QMP device_add ($FT_HOTPLUG): primary $FO_PRIMARY enslaved, up"
}

qmp_cycles()
{
	local i n=3

	[ "$FT_HOTPLUG" = native ] && n=2	# 5 s attention-button delay
	for i in $(seq "$n"); do
		fo_roles
		unplug "$FO_PRIMARY"
		replug
		[ "$RET" -eq 0 ] || break
	done
	check_triple
	log_test "$n QMP unplug/replug cycles ($FT_HOTPLUG)"
}

# An unplug/replug cycle while echoes flow through the master, 10 a
# second: the master leaves the primary before it goes (ACPI: the unplug
# request; native: the driver's unbind) and takes the new one once it
# has link, so no echo or reply is lost. The one echo that may be in
# flight when the pinger is interrupted is not counted as lost.
# Kills: a switch-over that loses frames (the standby's unicast dropped
# while a primary is enslaved, as the stock driver does; the primary
# left only after its driver stopped it).
qmp_cycle_under_traffic()
{
	local pid n sent got log=/tmp/hotplug_qmp.ping

	fo_roles
	busywait 15000 dev_carrier "$FO_PRIMARY"
	check_err $? "primary $FO_PRIMARY has no carrier"
	busybox ping -i 0.1 -W 2 "$FT_HOST_GW" > "$log" 2>&1 &
	pid=$!
	defer kill "$pid"
	unplug "$FO_PRIMARY"
	replug
	wait_primary_carrier
	check_err $? "new primary $FO_PRIMARY got no carrier"
	ft_sleep 1
	kill -INT "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	ktap_info "during the cycle: $(grep -E 'packets transmitted' "$log")"
	# (a here-string: the guest has no /dev/fd for process substitution)
	read -r sent got <<< "$(sed -n \
		's/^\([0-9]*\) packets transmitted, \([0-9]*\) packets received.*/\1 \2/p' "$log")"
	[ -n "$sent" ] && [ "$sent" -ge 10 ]
	check_err $? "background ping did not finish cleanly: '$(tail -n 1 "$log")'"
	[ -n "$got" ] && [ $((sent - got)) -le 1 ]
	check_err $? "$((${sent:-0} - ${got:-0})) of ${sent:-0} echoes lost in the switch-over"
	n=$(ping_gw 5)
	[ "${n:-0}" -eq 5 ]
	check_err $? "${n:-0} of 5 replies after the cycle"
	log_test "QMP unplug/replug under traffic ($FT_HOTPLUG): no echo lost"
}

host_available || skip_all "no host control channel on $FT_CTL_TTY"
primary_pci_present || fo_setup
defer fo_restore
run_tests
