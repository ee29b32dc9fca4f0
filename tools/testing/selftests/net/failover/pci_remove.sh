#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Surprise-free removal of a lower's PCI function from inside the guest
# (sysfs "remove") and its return with a bus rescan.

ALL_TESTS="
	primary_remove
	primary_rescan
	primary_cycles
	standby_remove_rescan
"

# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

master=
standby=

setup()
{
	fo_restore || return 1
	fo_roles
	master=$FO_MASTER
	standby=$FO_STANDBY
	master_up_with_addr
}

remove_primary_pci()
{
	local pci

	pci=$(fo_primary_pci) || return 1
	echo 1 > "/sys/bus/pci/devices/$pci/remove"
	busywait 10000 primary_pci_absent
}

# The master keeps the standby and its carrier when the primary goes.
primary_remove()
{
	local p

	setup
	check_err $? "setup failed"
	p=$FO_PRIMARY
	remove_primary_pci
	check_err $? "primary PCI function still present"
	busywait 5000 dev_gone "$p"
	check_err $? "primary netdev $p still present"
	dev_exists "$master" && dev_exists "$standby"
	check_err $? "master $master or standby $standby vanished"
	lowers_are "$master" "$standby"
	check_err $? "lowers of $master: '$(fo_lowers "$master" | xargs)', want $standby"
	is_upper "$standby" "$master"
	check_err $? "standby lost its master link"
	busywait 5000 dev_carrier "$master"
	check_err $? "master $master has no carrier with the standby alone"
	dev_is_up "$master"
	check_err $? "master $master went down"
	log_test "PCI remove of the primary: master keeps standby and carrier"
}

# The rescanned function is enslaved again and opened (the master is up).
primary_rescan()
{
	local p

	primary_pci_absent || remove_primary_pci
	echo 1 > /sys/bus/pci/rescan
	busywait 15000 triple_formed
	check_err $? "rescanned primary not enslaved"
	check_triple
	p=$FO_PRIMARY
	busywait 5000 dev_is_up "$p"
	check_err $? "new primary $p not opened under an up master"
	[ "$FO_MASTER" = "$master" ]
	check_err $? "master changed: $master -> $FO_MASTER"
	busywait 15000 dev_carrier "$p"
	check_err $? "new primary $p got no carrier"
	log_test "PCI rescan: the new primary $p is enslaved and up"
}

primary_cycles()
{
	local i p

	for i in 1 2 3; do
		p=$(fo_primary)
		remove_primary_pci
		check_err $? "cycle $i: primary PCI function not removed"
		busywait 5000 standby_only
		check_err $? "cycle $i: master does not have the standby alone"
		busywait 5000 dev_gone "$p"
		check_err $? "cycle $i: $p still present"
		echo 1 > /sys/bus/pci/rescan
		busywait 15000 triple_formed
		check_err $? "cycle $i: primary not enslaved after rescan"
		[ "$RET" -eq 0 ] || break
	done
	check_triple
	log_test "3 remove/rescan cycles of the primary"
}

# Removing the standby's function destroys the master; the primary stays
# as a plain netdev and the rescanned standby builds a new master around it.
standby_remove_rescan()
{
	local p pci

	triple_formed || setup
	check_err $? "setup failed"
	fo_roles
	p=$FO_PRIMARY
	pci=$(readlink -f "/sys/class/net/$FO_STANDBY/device/..")
	[ -e "$pci/remove" ]
	check_err $? "no PCI function behind standby $FO_STANDBY ($pci)"
	pci=${pci##*/}
	echo 1 > "/sys/bus/pci/devices/$pci/remove"
	busywait 10000 no_master
	check_err $? "master survived the removal of its standby"
	dev_exists "$p" && ! has_upper "$p"
	check_err $? "primary $p gone or still enslaved"
	echo 1 > /sys/bus/pci/rescan
	busywait 15000 triple_formed
	check_err $? "no triple after rescanning the standby"
	check_triple
	[ "$FO_PRIMARY" = "$p" ]
	check_err $? "primary changed: $p -> $FO_PRIMARY"
	log_test "PCI remove/rescan of the standby: new master takes the primary"
}

defer fo_restore
run_tests
