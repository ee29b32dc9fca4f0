#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The master's settings, set with failoverctl over generic netlink: the
# hold-down of a primary that comes (back) up and the number of peer
# notification rounds (gratuitous ARP) per path change; tx_skb_sharing,
# read-only at runtime and fixed for each master at its creation by the
# module parameter; the refusal of bad values; the blocked_ids parameter.
# Outcomes are read from the trace buffer (net_failover_active), from
# frames captured on the lowers and from what pktgen accepts. Each test
# names the mutation of drivers/net/net_failover.c it kills.

ALL_TESTS="
	setup_knobs
	holddown
	peer_notify
	announce
	sharing_read_only
	sharing_param
	bad_values
	blocked_ids
"

# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

T=/sys/kernel/tracing
FCTL=$FT_FCTL
SHARING_PARAM=/sys/module/net_failover/parameters/tx_skb_sharing
HOLD_MS=3000
master=
standby=
primary=
ready=

[ "${FT_MODULES:-}" = stock ] &&
	skip_all "the stock net_failover has no knobs"
[ -x "$FCTL" ] || skip_all "$FCTL not built (make -C tools/net/failover)"
require_root_cmds ip python3

active_is()
{
	fo_active_is "$master" "$1"
}

need_setup()
{
	[ -n "$ready" ] && return 0
	log_skip "no master set up"
	return 1
}

# setup_roles: the triple is up, with an address, the primary active
setup_roles()
{
	master_up_with_addr && wait_primary_carrier || return 1
	fo_roles
	master=$FO_MASTER standby=$FO_STANDBY primary=$FO_PRIMARY
	busywait 15000 active_is "$primary"
}

setup_knobs()
{
	[ -d "$T/events" ] || mount -t tracefs tracefs "$T" 2>/dev/null
	fo_reset && modprobe net_failover
	check_err $? "cannot load net_failover"
	echo 1 > "$T/events/net_failover/net_failover_active/enable"
	check_err $? "cannot enable the net_failover_active event"
	defer sh -c "echo 0 > $T/events/net_failover/net_failover_active/enable 2>/dev/null"
	fo_setup
	check_err $? "setup failed"
	setup_roles
	check_err $? "primary ${primary:-none} never became active"
	[ "$RET" -eq 0 ] && ready=1
	log_test "knobs readable through failoverctl (${master:-none})"
}

# The primary goes down and up again; with a hold-down the master stays on
# the standby until the primary has had carrier for HOLD_MS, and takes it
# then. The switch is timed from the carrier as the test saw it (at or
# after the driver's): it must come no earlier than HOLD_MS minus the
# polling step and within twice HOLD_MS (a hold-down counted in jiffies
# instead of milliseconds is 4 times as long at HZ=250).
# Kills: holddown_ms not applied by SET, or ignored when the primary's
# carrier comes back (holddown-ignored: primary active at once), the
# hold-down counted in jiffies (holddown-in-jiffies), no re-evaluation
# when it ends (holddown-never-ends), the work without RTNL
# (holddown-work-unlocked: the console splat).
holddown()
{
	local up_ms sw_ms waited line

	need_setup || { log_test "hold-down of a returning primary"; return; }
	"$FCTL" set "$master" holddown "$HOLD_MS"
	check_err $? "holddown $HOLD_MS refused"
	defer "$FCTL" set "$master" holddown 0
	fo_state "$master"
	[ "$S_HOLDDOWN_MS" = "$HOLD_MS" ]
	check_err $? "holddown_ms reads $S_HOLDDOWN_MS"

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
	busywait $((HOLD_MS * 4 + 15000)) active_is "$primary"
	check_err $? "primary never became active after the hold-down"
	sw_ms=$(uptime_ms)
	waited=$((sw_ms - up_ms))
	ktap_info "carrier seen at ${up_ms} ms, primary active at ${sw_ms} ms: ${waited} ms"
	[ "$waited" -ge $((HOLD_MS - 500)) ] && [ "$waited" -le $((HOLD_MS * 2)) ]
	check_err $? "primary active ${waited} ms after its carrier, want ${HOLD_MS} ms (at most $((HOLD_MS * 2)))"
	line=$(grep -E "net_failover_active: dev=$master old=$standby new=$primary reason=primary_ready" "$T/trace")
	[ -n "$line" ]
	check_err $? "no switch with reason primary_ready in the trace"
	"$FCTL" set "$master" holddown 0
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

# Kills: peer_notify not applied by SET (a fixed number of rounds per
# path change), or the rounds not sent.
peer_notify()
{
	local n out

	need_setup || { log_test "peer notification rounds per path change"; return; }
	defer "$FCTL" set "$master" peer-notify 1 force-standby off
	for n in 1 3; do
		"$FCTL" set "$master" peer-notify "$n"
		check_err $? "peer-notify $n refused"
		out=$(count_garp "$standby" 3000 \
			"$FCTL" set "$master" force-standby on)
		[ "$out" = "$n" ]
		check_err $? "peer-notify $n: $out gratuitous ARPs on $standby"
		ktap_info "peer-notify $n: $out gratuitous ARP(s) through $standby"
		"$FCTL" set "$master" force-standby off
		busywait 5000 active_is "$primary"
	done
	"$FCTL" set "$master" peer-notify 1
	log_test "peer notification: peer-notify gratuitous ARPs per path change"
}

# After a migration the hypervisor asks virtio_net to announce the guest
# (QMP announce-self: VIRTIO_NET_S_ANNOUNCE); virtio_net notifies peers of
# the standby, which has no address. The master must send its peer_notify
# gratuitous ARPs through the active lower. The stock driver sends none.
# Kills: notify-peers-ignored (NETDEV_NOTIFY_PEERS of the standby not
# turned into the master's notification).
announce()
{
	local desc="announce-self after a migration: the master sends gratuitous ARPs"
	local out ready=/tmp/knobs.garp.ready reply

	need_setup || { log_test "$desc"; return; }
	if ! host_available; then
		log_skip "no host control channel on $FT_CTL_TTY"
		log_test "$desc"
		return
	fi
	"$FCTL" set "$master" peer-notify 2
	check_err $? "peer-notify 2 refused"
	defer "$FCTL" set "$master" peer-notify 1
	rm -f "$ready" /tmp/knobs.garp.count
	count_garp "$primary" 4000 touch "$ready" > /tmp/knobs.garp.count &
	busywait 10000 test -e "$ready"
	check_err $? "capture on $primary did not start"
	reply=$(host_cmd qmp announce-self \
		'{"initial": 50, "max": 100, "rounds": 1, "step": 50}')
	check_err $? "announce-self: $reply"
	wait $!
	read -r out < /tmp/knobs.garp.count
	ktap_info "announce-self: ${out:-?} gratuitous ARP(s) through $primary"
	[ "$out" = 2 ]
	check_err $? "announce-self with peer-notify 2: ${out:-no} gratuitous ARPs on $primary, want 2"
	"$FCTL" set "$master" peer-notify 1
	log_test "$desc"
}

# sharing_is 0|1 on|off yes|no: GET reports tx_skb_sharing 0|1, show says
# on|off and pktgen takes clone_skb and burst on the master (yes|no)
sharing_is()
{
	local out

	fo_state "$master"
	[ "$S_TX_SKB_SHARING" = "$1" ]
	check_err $? "tx_skb_sharing reads '$S_TX_SKB_SHARING', want $1"
	"$FCTL" show "$master" | grep -q " tx_skb_sharing $2$"
	check_err $? "failoverctl show does not say tx_skb_sharing $2"
	out=$(pktgen_sharing "$master")
	[ "$out" = "$3" ]
	check_err $? "tx_skb_sharing $2: pktgen clone_skb/burst on $master: $out, want $3"
}

# tx_skb_sharing cannot change at runtime: the parameter is 0444 (even
# root cannot write it) and a SET carrying it is refused, nothing changed.
# Kills: the parameter made writable again (0644), or
# NET_FAILOVER_A_TX_SKB_SHARING taken by SET.
sharing_read_only()
{
	local desc="tx_skb_sharing read-only at runtime: parameter 0444, SET refused"
	local mode v out rc

	need_setup || { log_test "$desc"; return; }
	if ! pktgen_ready; then
		log_skip "pktgen not available (modprobe pktgen)"
		log_test "$desc"
		return
	fi
	mode=$(stat -c %a "$SHARING_PARAM")
	[ "$mode" = 444 ]
	check_err $? "$SHARING_PARAM has mode $mode, want 444"
	read -r v < "$SHARING_PARAM"
	[ "$v" = N ]
	check_err $? "tx_skb_sharing parameter reads '$v' by default"
	( echo Y > "$SHARING_PARAM" ) 2> /dev/null
	check_fail $? "root could write $SHARING_PARAM"
	read -r v < "$SHARING_PARAM"
	[ "$v" = N ]
	check_err $? "tx_skb_sharing parameter reads '$v' after a write"
	sharing_is 0 off no

	out=$("$FCTL" set "$master" tx-skb-sharing on 2>&1)
	rc=$?
	[ "$rc" -eq 2 ] && [[ $out == *"read-only"* ]]
	check_err $? "failoverctl set tx-skb-sharing on: rc $rc, '$out'"
	out=$("$FCTL" -n set "$master" tx-skb-sharing on 2>&1)
	rc=$?
	ktap_info "kernel: $out"
	[ "$rc" -eq 1 ] && [[ $out == *"attribute tx_skb_sharing"* ]]
	check_err $? "kernel took tx-skb-sharing on: rc $rc, '$out'"
	sharing_is 0 off no
	log_test "$desc"
}

# tx_skb_sharing=1 when the module is loaded: the masters it creates take
# shared skbs (pktgen clone_skb and burst); loaded without: refused.
# Kills: the parameter ignored at creation (never or always
# IFF_TX_SKB_SHARING), or not reported by GET.
sharing_param()
{
	local desc="tx_skb_sharing=1 at load: new masters take pktgen clone_skb and burst"
	local v

	need_setup || { log_test "$desc"; return; }
	if ! pktgen_ready; then
		log_skip "pktgen not available (modprobe pktgen)"
		log_test "$desc"
		return
	fi
	# pktgen lets go of its devices when they unregister: none is held
	fo_reload_with tx_skb_sharing=1 && setup_roles
	check_err $? "reload with tx_skb_sharing=1 failed"
	read -r v < "$SHARING_PARAM"
	[ "$v" = Y ]
	check_err $? "tx_skb_sharing parameter reads '$v'"
	sharing_is 1 on yes
	ktap_info "tx_skb_sharing=1: $("$FCTL" show "$master" | sed -n 2,3p | xargs)"

	fo_reload_with && setup_roles
	check_err $? "reload without parameters failed"
	sharing_is 0 off no
	log_test "$desc"
}

# Kills: a range check dropped from the SET policy, the standby refusal.
bad_values()
{
	local out before after

	need_setup || { log_test "bad knob values refused, nothing changed"; return; }
	fo_state "$master"
	before=$(state_line)
	out=$("$FCTL" -n set "$master" holddown 70000 2>&1)
	[ $? -eq 1 ] && [[ $out == *"out of range"*"0..60000"* ]]
	check_err $? "holddown 70000: '$out'"
	out=$("$FCTL" -n set "$master" force-standby 2 2>&1)
	[ $? -eq 1 ] && [[ $out == *"out of range"*"0..1"* ]]
	check_err $? "force-standby 2: '$out'"
	out=$("$FCTL" set-lower "$standby" blocked on 2>&1)
	[ $? -eq 1 ] && [[ $out == *"only a primary"* ]]
	check_err $? "blocking the standby: '$out'"
	fo_state "$master"
	after=$(state_line)
	[ "$before" = "$after" ] && [ "$S_HOLDDOWN_MS" = 0 ] &&
		[ "$S_FORCE_STANDBY" = 0 ] && [ "$S_S_BLOCKED" = 0 ]
	check_err $? "state changed: '$before' -> '$after'"
	log_test "bad knob values refused with a message, nothing changed"
}

state_line()
{
	echo "active=$S_ACTIVE force_standby=$S_FORCE_STANDBY" \
		"holddown=$S_HOLDDOWN_MS peer_notify=$S_PEER_NOTIFY" \
		"blocked=$S_PRIMARY_BLOCKED/$S_S_BLOCKED tx_skb_sharing=$S_TX_SKB_SHARING"
}

# The blocked_ids module parameter: a primary of a listed PCI
# vendor:device is enslaved but never carries traffic.
# Kills: blocked_ids not matched at enslavement, or the mark not
# reported, or not liftable by SET.
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
	fo_state "$master"
	[ "$S_PRIMARY_BLOCKED" = 1 ] && [ "$S_P_BLOCKED" = 1 ]
	check_err $? "primary_blocked reads '$S_PRIMARY_BLOCKED'"
	dmesg | grep -q "primary $primary enslaved (marked unusable: blocked_ids)"
	check_err $? "no log line for the blocked primary"
	# per device, the mark can be lifted
	"$FCTL" set-lower "$primary" blocked off
	check_err $? "blocked off refused"
	busywait 5000 active_is "$primary"
	check_err $? "primary not active after blocked off"
	fo_restore
	log_test "blocked_ids=$id keeps the primary enslaved but unused"
}

run_tests
