#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Many QMP unplug/replug cycles of the primary (device_del, wait for
# DEVICE_DELETED, device_add) under traffic through the master: an ICMP
# flood to slirp's gateway and an AF_PACKET sender. Every cycle checks
# that the primary is released and taken back; every tenth waits for its
# carrier and checks that transmit really moved back to it. At the end
# the triple must be intact and no netdev may wait for its references.
# Run it on the debug kernel (scripts/check-debug.sh) for lockdep, KASAN,
# kmemleak and refcount tracking.
#
#   stress_hotplug.sh [CYCLES]     (or STRESS_HOTPLUG_CYCLES; default 100)

ALL_TESTS="
	hotplug_setup
	hotplug_cycles
	hotplug_end_state
"

# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

CYCLES=${1:-${STRESS_HOTPLUG_CYCLES:-100}}
CHECK_EVERY=${STRESS_HOTPLUG_CHECK_EVERY:-10}
PEER=10.0.2.99
PEER_MAC=02:6e:66:6f:00:63
SIM_TX=$FT_DIR/nfosim/sim_tx.py
ping_pid=
tx_pid=
done_cycles=0

require_root_cmds ip python3 busybox
host_available || skip_all "no host control channel on $FT_CTL_TTY"

# tx_through_primary: frames sent on the master are counted by e1000e
_primary_tx()
{
	local p=$1 a b i

	read -r a < "/sys/class/net/$p/statistics/tx_packets" || return 1
	for ((i = 0; i < 32; i++)); do
		echo x > "/dev/udp/$PEER/9"
	done 2> /dev/null
	read -r b < "/sys/class/net/$p/statistics/tx_packets" || return 1
	[ $((b - a)) -ge 32 ]
}

tx_through_primary()
{
	busywait "${2:-5000}" _primary_tx "$1"
}

traffic_start()
{
	local m=$1

	ip neigh replace "$PEER" lladdr "$PEER_MAC" nud permanent dev "$m"
	busybox ping -q -i 0.02 "$FT_HOST_GW" > /tmp/stress_ping.txt 2>&1 &
	ping_pid=$!
	python3 "$SIM_TX" "$m" 0 > /tmp/stress_tx.txt 2>&1 &
	tx_pid=$!
	defer traffic_stop
}

traffic_stop()
{
	[ -n "$ping_pid" ] && kill -INT "$ping_pid" 2> /dev/null &&
		wait "$ping_pid" 2> /dev/null
	[ -n "$tx_pid" ] && kill -TERM "$tx_pid" 2> /dev/null &&
		wait "$tx_pid" 2> /dev/null
	ping_pid=""
	tx_pid=""
}

hotplug_setup()
{
	fo_restore
	check_err $? "triple not formed"
	master_up_with_addr
	check_err $? "cannot configure the master"
	fo_roles
	wait_primary_carrier
	check_err $? "primary $FO_PRIMARY has no carrier"
	traffic_start "$FO_MASTER"
	tx_through_primary "$FO_PRIMARY" 10000
	check_err $? "transmit does not go through the primary"
	log_test "setup: triple with traffic through $FO_MASTER"
}

hotplug_cycles()
{
	local i m s p reply t0 t1

	fo_roles
	m=$FO_MASTER s=$FO_STANDBY
	ft_now
	t0=$FT_NOW
	for ((i = 1; i <= CYCLES; i++)); do
		p=$FO_PRIMARY
		reply=$(host_cmd device_del hostdev0) ||
			{ check_err 1 "cycle $i: device_del: $reply"; break; }
		if ! busywait 10000 dev_gone "$p" ||
		   ! busywait 5000 standby_only; then
			check_err 1 "cycle $i: primary $p not released"
			break
		fi
		is_upper "$s" "$m" ||
			{ check_err 1 "cycle $i: standby lost its master"; break; }
		reply=$(host_cmd device_add hostdev0) ||
			{ check_err 1 "cycle $i: device_add: $reply"; break; }
		busywait 20000 triple_formed ||
			{ check_err 1 "cycle $i: primary not enslaved again"; break; }
		[ "$FO_MASTER" = "$m" ] ||
			{ check_err 1 "cycle $i: master changed to $FO_MASTER"; break; }
		if ! ((i % CHECK_EVERY)); then
			wait_primary_carrier 30000 ||
				{ check_err 1 "cycle $i: no carrier on $FO_PRIMARY"; break; }
			tx_through_primary "$FO_PRIMARY" ||
				{ check_err 1 "cycle $i: transmit not back on $FO_PRIMARY"; break; }
		fi
		done_cycles=$i
	done
	ft_now
	t1=$FT_NOW
	ktap_info "$done_cycles cycles in $(((t1 - t0) / 1000)) s"
	log_test "$done_cycles/$CYCLES QMP unplug/replug cycles under traffic"
}

hotplug_end_state()
{
	local sent rcvd

	fo_roles
	check_triple
	wait_primary_carrier 30000
	check_err $? "primary $FO_PRIMARY has no carrier"
	tx_through_primary "$FO_PRIMARY"
	check_err $? "transmit not on the primary at the end"
	traffic_stop
	read -r sent _ < /tmp/stress_tx.txt
	rcvd=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' /tmp/stress_ping.txt)
	ktap_info "AF_PACKET frames sent: ${sent:-?}; ICMP replies: ${rcvd:-?}"
	busybox ping -c 3 -i 0.2 -W 2 "$FT_HOST_GW" > /dev/null
	check_err $? "no ICMP reply from $FT_HOST_GW at the end"
	dmesg | grep -q 'unregister_netdevice: waiting'
	check_fail $? "$(dmesg | grep -m1 'unregister_netdevice: waiting')"
	log_test "end: triple intact, primary in use, no netdev waited for"
}

primary_pci_present || fo_setup
defer fo_restore
run_tests
