#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The master's knobs, set with Debian's own "ip" through our iproute2
# plugin: the hold-down of a primary that comes (back) up, the number of
# peer notification rounds (gratuitous ARP) per path change, whether the
# master takes shared skbs (tx_skb_sharing), and the refusal of bad
# values. Outcomes are read from the trace buffer (net_failover_active),
# from frames captured on the lowers and from what pktgen accepts.

ALL_TESTS="
	setup_knobs
	holddown
	peer_notify
	tx_skb_sharing
	bad_values
	blocked_ids
"

source "$(dirname "$(readlink -f "$0")")/lib.sh"

T=/sys/kernel/tracing
PLUGIN_DIR=$(readlink -f "$FT_DIR/../../../../net/failover/iproute2")
HOLD_MS=3000
master=
standby=
primary=
ready=

[ "${FT_MODULES:-}" = stock ] &&
	skip_all "the stock net_failover has no knobs"
[ -f "$PLUGIN_DIR/link_net_failover.so" ] ||
	skip_all "iproute2 plugin not built (make -C tools/net/failover/iproute2)"
export IP_LIB_DIR=$PLUGIN_DIR
require_root_cmds ip python3

# knob <name>: the master's value of an IFLA_INFO_DATA knob, from ip -j
knob()
{
	ip -d -j link show dev "$master" | python3 -c "
import json, sys
print(json.load(sys.stdin)[0]['linkinfo']['info_data']['$1'])"
}

active_is()
{
	[ "$(knob active)" = "$1" ]
}

need_setup()
{
	[ -n "$ready" ] && return 0
	log_skip "no master set up"
	return 1
}

setup_knobs()
{
	[ -d "$T/events" ] || mount -t tracefs tracefs "$T" 2>/dev/null
	fo_reset && modprobe net_failover
	check_err $? "cannot load net_failover"
	echo 1 > "$T/events/net_failover/net_failover_active/enable"
	check_err $? "cannot enable the net_failover_active event"
	defer sh -c "echo 0 > $T/events/net_failover/net_failover_active/enable 2>/dev/null"
	fo_setup && master_up_with_addr && wait_primary_carrier
	check_err $? "setup failed"
	fo_roles
	master=$FO_MASTER standby=$FO_STANDBY primary=$FO_PRIMARY
	busywait 15000 active_is "$primary"
	check_err $? "primary $primary never became active"
	[ "$RET" -eq 0 ] && ready=1
	log_test "knobs readable through ip -d -j link (${master:-none})"
}

# The primary goes down and up again; with a hold-down the master stays on
# the standby until the primary has had carrier for HOLD_MS.
holddown()
{
	local up_ms sw_ms line

	need_setup || { log_test "hold-down of a returning primary"; return; }
	ip link set dev "$master" type net_failover holddown_ms "$HOLD_MS"
	check_err $? "holddown_ms $HOLD_MS refused"
	defer ip link set dev "$master" type net_failover holddown_ms 0
	[ "$(knob holddown_ms)" = "$HOLD_MS" ]
	check_err $? "holddown_ms reads $(knob holddown_ms)"

	ip link set dev "$primary" down
	busywait 5000 active_is "$standby"
	check_err $? "primary down: standby not active"
	echo > "$T/trace"
	ip link set dev "$primary" up
	busywait 15000 dev_carrier "$primary"
	check_err $? "primary has no carrier after up"
	up_ms=$(uptime_ms)
	active_is "$standby"
	check_err $? "primary active right after carrier: the hold-down did not hold"
	busywait $((HOLD_MS + 15000)) active_is "$primary"
	check_err $? "primary never became active after the hold-down"
	line=$(grep -E "net_failover_active: dev=$master old=$standby new=$primary reason=primary_ready" "$T/trace")
	[ -n "$line" ]
	check_err $? "no switch with reason primary_ready in the trace"
	# the event's timestamp, in ms of the same clock as /proc/uptime
	sw_ms=$(sed -E 's/.* ([0-9]+)\.([0-9]{3})[0-9]*: net_failover_active.*/\1\2/' <<< "$line")
	ktap_info "carrier seen at ${up_ms} ms, switch at ${sw_ms:-?} ms"
	ip link set dev "$master" type net_failover holddown_ms 0
	log_test "hold-down: standby kept until the primary was stable ${HOLD_MS} ms"
}

# count_garp <dev> <ms> <command...>: run <command> once capturing on <dev>
# works, then count the gratuitous ARPs for our address seen on <dev>
# within <ms>
count_garp()
{
	python3 - "$@" "${FT_ADDR%/*}" <<'EOF'
import socket, subprocess, sys, time
dev, ms, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:-1]
addr = socket.inet_aton(sys.argv[-1])
# ETH_P_ALL: sockets of one protocol do not see outgoing frames
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind((dev, 0))
s.settimeout(0.1)
subprocess.run(cmd, check=True)
end = time.monotonic() + ms / 1000
n = 0
while time.monotonic() < end:
    try:
        f = s.recv(2048)
    except socket.timeout:
        continue
    # ARP whose sender IP == target IP == ours: gratuitous
    if (len(f) >= 42 and f[12:14] == b"\x08\x06" and
            f[28:32] == addr and f[38:42] == addr):
        n += 1
print(n)
EOF
}

peer_notify()
{
	local n out

	need_setup || { log_test "peer notification rounds per path change"; return; }
	for n in 1 3; do
		ip link set dev "$master" type net_failover peer_notify "$n"
		out=$(count_garp "$standby" 3000 \
			ip link set dev "$master" type net_failover force_standby on)
		[ "$out" = "$n" ]
		check_err $? "peer_notify $n: $out gratuitous ARPs on $standby"
		ktap_info "peer_notify $n: $out gratuitous ARP(s) through $standby"
		ip link set dev "$master" type net_failover force_standby off
		busywait 5000 active_is "$primary"
	done
	ip link set dev "$master" type net_failover peer_notify 1
	log_test "peer notification: peer_notify gratuitous ARPs per path change"
}

# sharing_set on|off KNOB PKTGEN: set tx_skb_sharing; it then reads KNOB
# (True/False) and pktgen's clone_skb/burst on the master answer PKTGEN
sharing_set()
{
	local v out

	ip link set dev "$master" type net_failover tx_skb_sharing "$1"
	check_err $? "tx_skb_sharing $1 refused"
	v=$(knob tx_skb_sharing)
	[ "$v" = "$2" ]
	check_err $? "tx_skb_sharing $1: reads $v"
	out=$(pktgen_sharing "$master")
	[ "$out" = "$3" ]
	check_err $? "tx_skb_sharing $1: pktgen on $master: $out"
}

# tx_skb_sharing: off by default (pktgen's clone_skb and burst refused on
# the master, as by stock and bonding); on, they are taken; 2 is refused
# and changes nothing; off again, refused again.
tx_skb_sharing()
{
	local desc="tx_skb_sharing: pktgen clone_skb and burst on the master only when on"
	local v out

	need_setup || { log_test "$desc"; return; }
	v=$(knob tx_skb_sharing)
	[ "$v" = False ]
	check_err $? "tx_skb_sharing reads $v by default"
	if ! pktgen_ready; then
		log_skip "pktgen not available (modprobe pktgen)"
		log_test "$desc"
		return
	fi
	out=$(pktgen_sharing "$master")
	[ "$out" = no ]
	check_err $? "tx_skb_sharing off: pktgen on $master: $out"

	defer ip link set dev "$master" type net_failover tx_skb_sharing off
	sharing_set on True yes

	out=$(ip link set dev "$master" type net_failover tx_skb_sharing 2 2>&1)
	check_fail $? "tx_skb_sharing 2 accepted"
	[[ $out == *'"on" or "off"'* ]]
	check_err $? "tx_skb_sharing 2: unclear error '$out'"
	v=$(knob tx_skb_sharing)
	[ "$v" = True ]
	check_err $? "tx_skb_sharing 2 changed it: reads $v"

	sharing_set off False no
	log_test "$desc"
}

bad_values()
{
	local out before

	need_setup || { log_test "bad knob values refused, nothing changed"; return; }
	before=$(ip -d -j link show dev "$master")
	out=$(ip link set dev "$master" type net_failover holddown_ms 70000 2>&1)
	[ $? -ne 0 ]
	check_err $? "holddown_ms 70000 accepted"
	[[ $out == *"out of range"* ]]
	check_err $? "holddown_ms 70000: unclear error '$out'"
	out=$(ip link set dev "$master" type net_failover force_standby 2 2>&1)
	[ $? -ne 0 ]
	check_err $? "force_standby 2 accepted"
	out=$(ip link set dev "$standby" type net_failover_slave blocked on 2>&1)
	[ $? -ne 0 ]
	check_err $? "blocking the standby accepted"
	[[ $out == *"only a primary"* ]]
	check_err $? "blocking the standby: unclear error '$out'"
	[ "$(ip -d -j link show dev "$master" | python3 -c '
import json, sys; d = json.load(sys.stdin)[0]["linkinfo"]["info_data"]
print(d["holddown_ms"], d["force_standby"], d["tx_skb_sharing"],
      d["active"])')" = "0 False False $primary" ]
	check_err $? "state changed: $before"
	log_test "bad knob values refused with a message, nothing changed"
}

# The blocked_ids module parameter: a primary of a listed PCI
# vendor:device is enslaved but never carries traffic.
blocked_ids()
{
	local id

	need_setup || { log_test "blocked_ids keeps a listed primary unused"; return; }
	id=$(sed 's/^0x//' "/sys/class/net/$primary/device/vendor"):$(sed 's/^0x//' "/sys/class/net/$primary/device/device")
	fo_reset && modprobe net_failover "blocked_ids=1234:5678,$id"
	check_err $? "cannot load net_failover blocked_ids=1234:5678,$id"
	fo_setup && master_up_with_addr && wait_primary_carrier
	check_err $? "setup failed"
	fo_roles
	master=$FO_MASTER standby=$FO_STANDBY primary=$FO_PRIMARY
	busywait 5000 active_is "$standby"
	check_err $? "standby not active"
	ft_sleep 1
	active_is "$standby"
	check_err $? "the listed primary $primary ($id) became active"
	[ "$(knob primary_blocked)" = True ]
	check_err $? "primary_blocked reads $(knob primary_blocked)"
	dmesg | grep -q "primary $primary enslaved (marked unusable: blocked_ids)"
	check_err $? "no log line for the blocked primary"
	# per device, the mark can be lifted
	ip link set dev "$primary" type net_failover_slave blocked off
	check_err $? "blocked off refused"
	busywait 5000 active_is "$primary"
	check_err $? "primary not active after blocked off"
	fo_restore
	log_test "blocked_ids=$id keeps the primary enslaved but unused"
}

run_tests
