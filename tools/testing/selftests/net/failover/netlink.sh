#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The rtnetlink face of the master: link kind "net_failover" with its
# IFLA_INFO_DATA and the lowers' IFLA_INFO_SLAVE_DATA, read and written
# with tools/net/failover/failoverctl (built on the host beforehand), and
# the per-path counters of ethtool -S.

ALL_TESTS="
	kinds
	roles
	force_standby
	tx_skb_sharing
	blocked_primary
	bad_values
	no_create_delete
	ethtool_counters
"

source "$(dirname "$(readlink -f "$0")")/lib.sh"

FCTL=${FAILOVERCTL:-$(readlink -f "$FT_DIR/../../../../net/failover/failoverctl")}
PINGS=5
master=
standby=
primary=
ready=

[ "${FT_MODULES:-}" = stock ] &&
	skip_all "the stock net_failover has no rtnetlink kind"
[ -x "$FCTL" ] || skip_all "$FCTL not built (make -C tools/net/failover)"
require_root_cmds ip ethtool python3 busybox

# Turns the JSON of "failoverctl -j show" into S_* shell variables: S_<KEY>
# for the master, S_P_<KEY> and S_S_<KEY> for the primary and the standby
# lower; true/false become 1/0, null becomes empty.
FT_PY_STATE='
import json, shlex, sys
d = json.load(sys.stdin)
def emit(k, v):
	if isinstance(v, bool):
		v = int(v)
	elif v is None:
		v = ""
	print("S_%s=%s" % (k, shlex.quote(str(v))))
emit("NMASTERS", len(d))
m = d[0]
for k in ("ifname", "ifindex", "kind", "primary", "primary_ifindex",
	  "standby", "standby_ifindex", "active", "active_ifindex",
	  "switches", "force_standby", "holddown_ms", "peer_notify",
	  "primary_blocked", "tx_skb_sharing"):
	emit(k.upper(), m[k])
emit("NLOWERS", len(m["lowers"]))
for r in ("P", "S"):
	for k in ("ifname", "ifindex", "slave_kind", "role", "active", "link",
		  "activations", "deactivations", "blocked"):
		emit(r + "_" + k.upper(), "")
for l in m["lowers"]:
	r = {"primary": "P", "standby": "S"}[l["role"]]
	for k in ("ifname", "ifindex", "slave_kind", "role", "active", "link",
		  "activations", "deactivations", "blocked"):
		emit(r + "_" + k.upper(), l[k])
'

# fo_state: snapshot of the master as failoverctl -j reports it (S_*)
fo_state()
{
	local json vars

	json=$("$FCTL" -j show "$master") || return 1
	vars=$(printf '%s\n' "$json" | python3 -c "$FT_PY_STATE") || {
		ktap_info "unparsable: $json"
		return 1
	}
	eval "$vars"
}

state_line()
{
	echo "active=$S_ACTIVE switches=$S_SWITCHES" \
		"force_standby=$S_FORCE_STANDBY blocked=$S_PRIMARY_BLOCKED" \
		"tx_skb_sharing=$S_TX_SKB_SHARING holddown=$S_HOLDDOWN_MS primary act/deact=$S_P_ACTIVATIONS/$S_P_DEACTIVATIONS"
}

# active_is <lower>: failoverctl names it as the active lower (no python)
active_is()
{
	local out

	out=$("$FCTL" show "$master") || return 1
	[[ $out == *" active $1 ("* ]]
}

# Each test after the first needs the master that kinds() set up.
need_setup()
{
	[ -n "$ready" ] && return 0
	log_skip "no master set up"
	return 1
}

kinds()
{
	local out l

	fo_restore && master_up_with_addr && wait_primary_carrier
	check_err $? "setup failed"
	fo_roles
	master=$FO_MASTER standby=$FO_STANDBY primary=$FO_PRIMARY
	busywait 15000 active_is "$primary"
	check_err $? "primary $primary never became active"
	[ "$RET" -eq 0 ] && ready=1

	out=$("$FCTL" -j show)
	check_err $? "failoverctl -j show failed"
	printf '%s\n' "$out" | python3 -m json.tool > /dev/null
	check_err $? "json.tool refuses: $out"
	fo_state
	check_err $? "no state for $master"
	[ "$S_NMASTERS" = 1 ] && [ "$S_IFNAME" = "$master" ] &&
		[ "$S_KIND" = net_failover ]
	check_err $? "failoverctl: $S_NMASTERS master(s), '$S_IFNAME' kind '$S_KIND'"
	[ "$S_NLOWERS" = 2 ] && [ "$S_P_SLAVE_KIND" = net_failover ] &&
		[ "$S_S_SLAVE_KIND" = net_failover ]
	check_err $? "failoverctl: $S_NLOWERS lowers, slave kinds '$S_P_SLAVE_KIND' '$S_S_SLAVE_KIND'"

	ip -d -j link show dev "$master" | grep -q '"info_kind":"net_failover"'
	check_err $? "ip -d link: $master has no info_kind net_failover"
	for l in "$primary" "$standby"; do
		ip -d -j link show dev "$l" |
			grep -q '"info_slave_kind":"net_failover"'
		check_err $? "ip -d link: $l has no info_slave_kind net_failover"
	done

	# DEV may name a lower; anything else is refused with exit 1
	out=$("$FCTL" show "$primary")
	[[ $out == "$master: "* ]]
	check_err $? "show $primary does not show $master: $out"
	"$FCTL" show lo 2> /dev/null
	[ $? -eq 1 ]
	check_err $? "show lo: want exit 1"
	"$FCTL" show nosuchdev 2> /dev/null
	[ $? -eq 1 ]
	check_err $? "show nosuchdev: want exit 1"
	"$FCTL" show "$master" extra 2> /dev/null
	[ $? -eq 2 ]
	check_err $? "show with two devices: want exit 2"
	log_test "kind net_failover on $master, slave kind on its lowers"
}

roles()
{
	local pidx sidx

	need_setup || { log_test "lowers and active path"; return; }
	read -r pidx < "/sys/class/net/$primary/ifindex"
	read -r sidx < "/sys/class/net/$standby/ifindex"
	fo_state
	check_err $? "no state"
	[ "$S_PRIMARY_IFINDEX" = "$pidx" ] && [ "$S_PRIMARY" = "$primary" ]
	check_err $? "primary $S_PRIMARY ($S_PRIMARY_IFINDEX), want $primary ($pidx)"
	[ "$S_STANDBY_IFINDEX" = "$sidx" ] && [ "$S_STANDBY" = "$standby" ]
	check_err $? "standby $S_STANDBY ($S_STANDBY_IFINDEX), want $standby ($sidx)"
	[ "$S_ACTIVE_IFINDEX" = "$pidx" ] && [ "$S_ACTIVE" = "$primary" ]
	check_err $? "active $S_ACTIVE ($S_ACTIVE_IFINDEX), want the primary"
	[ "$S_P_IFNAME" = "$primary" ] && [ "$S_S_IFNAME" = "$standby" ]
	check_err $? "lower roles: primary '$S_P_IFNAME' standby '$S_S_IFNAME'"
	[ "$S_P_ACTIVE" = 1 ] && [ "$S_S_ACTIVE" = 0 ] &&
		[ "$S_P_LINK" = 1 ] && [ "$S_S_LINK" = 1 ]
	check_err $? "lower flags: active $S_P_ACTIVE/$S_S_ACTIVE link $S_P_LINK/$S_S_LINK"
	[ "$S_FORCE_STANDBY" = 0 ] && [ "$S_PRIMARY_BLOCKED" = 0 ] &&
		[ "$S_P_BLOCKED" = 0 ]
	check_err $? "knobs: $(state_line)"
	"$FCTL" show "$master" | sed 's/^/# /'
	log_test "lowers and active path: primary $primary, standby $standby"
}

force_standby()
{
	local sw

	need_setup || { log_test "force-standby on/off"; return; }
	defer "$FCTL" set "$master" force-standby off
	fo_state
	sw=$S_SWITCHES
	"$FCTL" set "$master" force-standby on
	check_err $? "set force-standby on failed"
	fo_state
	check_err $? "no state"
	[ "$S_ACTIVE" = "$standby" ] && [ "$S_S_ACTIVE" = 1 ] &&
		[ "$S_P_ACTIVE" = 0 ]
	check_err $? "force-standby on: $(state_line)"
	[ "$S_FORCE_STANDBY" = 1 ]
	check_err $? "force_standby reads $S_FORCE_STANDBY"
	[ "$S_SWITCHES" -eq $((sw + 1)) ]
	check_err $? "switches $sw -> $S_SWITCHES, want +1"
	[ "$S_P_DEACTIVATIONS" = 1 ]
	check_err $? "primary deactivations $S_P_DEACTIVATIONS, want 1"

	"$FCTL" set "$master" force-standby off
	check_err $? "set force-standby off failed"
	fo_state
	check_err $? "no state"
	[ "$S_ACTIVE" = "$primary" ] && [ "$S_FORCE_STANDBY" = 0 ]
	check_err $? "force-standby off: $(state_line)"
	[ "$S_SWITCHES" -eq $((sw + 2)) ]
	check_err $? "switches $sw -> $S_SWITCHES, want +2"
	log_test "force-standby on moves to the standby, off back to the primary"
}

# pg_expect yes|no: pktgen's clone_skb and burst on the master are taken
# (yes) or refused (no); nothing to check without pktgen
pg_expect()
{
	local out

	[ -n "$pg" ] || return 0
	out=$(pktgen_sharing "$master")
	[ "$out" = "$1" ]
	check_err $? "tx_skb_sharing $S_TX_SKB_SHARING: pktgen on $master: $out, want $1"
}

# fctl_sharing on|off VALUE PKTGEN: failoverctl set tx-skb-sharing; the
# attribute then reads VALUE, show prints it, the primary stays active and
# pktgen's clone_skb/burst answer PKTGEN
fctl_sharing()
{
	"$FCTL" set "$master" tx-skb-sharing "$1"
	check_err $? "set tx-skb-sharing $1 failed"
	fo_state
	[ "$S_TX_SKB_SHARING" = "$2" ] && [ "$S_ACTIVE" = "$primary" ]
	check_err $? "tx-skb-sharing $1: $(state_line)"
	"$FCTL" show "$master" | grep -q " tx_skb_sharing $1$"
	check_err $? "text output does not show tx_skb_sharing $1"
	pg_expect "$3"
}

tx_skb_sharing()
{
	local err rc pg=

	need_setup || { log_test "tx-skb-sharing on/off"; return; }
	if pktgen_ready; then
		pg=1
	else
		ktap_info "no pktgen: IFF_TX_SKB_SHARING not checked"
	fi
	defer "$FCTL" set "$master" tx-skb-sharing off
	fo_state
	check_err $? "no state"
	[ "$S_TX_SKB_SHARING" = 0 ]
	check_err $? "tx_skb_sharing reads '$S_TX_SKB_SHARING' by default"
	"$FCTL" show "$master" | grep -q " tx_skb_sharing off$"
	check_err $? "text output does not show tx_skb_sharing off"
	pg_expect no

	fctl_sharing on 1 yes

	# The kernel's policy (NLA_POLICY_MAX) refuses 2 and changes nothing
	err=$("$FCTL" --no-check set "$master" tx-skb-sharing 2 2>&1)
	rc=$?
	ktap_info "kernel, tx-skb-sharing 2: $err"
	[ "$rc" -eq 1 ] && [[ $err == *"out of range"*"0..1"* ]]
	check_err $? "kernel tx-skb-sharing 2: rc $rc, '$err'"
	"$FCTL" set "$master" tx-skb-sharing 2 2> /dev/null
	[ $? -eq 2 ]
	check_err $? "tx-skb-sharing 2 without --no-check: want exit 2"
	fo_state
	[ "$S_TX_SKB_SHARING" = 1 ]
	check_err $? "tx-skb-sharing 2 changed it: $(state_line)"
	pg_expect yes

	fctl_sharing off 0 no
	log_test "tx-skb-sharing on/off, 2 refused; pktgen clone_skb and burst follow"
}

blocked_primary()
{
	local err rc

	need_setup || { log_test "primary blocked on/off"; return; }
	defer "$FCTL" set-lower "$primary" blocked off
	"$FCTL" set-lower "$primary" blocked on
	check_err $? "set-lower $primary blocked on failed"
	fo_state
	check_err $? "no state"
	[ "$S_ACTIVE" = "$standby" ]
	check_err $? "blocked primary still used: $(state_line)"
	[ "$S_PRIMARY_BLOCKED" = 1 ] && [ "$S_P_BLOCKED" = 1 ] &&
		[ "$S_S_BLOCKED" = 0 ]
	check_err $? "blocked: master $S_PRIMARY_BLOCKED, lowers $S_P_BLOCKED/$S_S_BLOCKED"
	"$FCTL" show "$master" | grep -q "lower $primary .* blocked yes"
	check_err $? "text output does not show $primary blocked"

	# Only a primary can be blocked: the kernel says so through extack
	err=$("$FCTL" set-lower "$standby" blocked on 2>&1)
	rc=$?
	ktap_info "set-lower $standby: $err"
	[ "$rc" -eq 1 ] && [[ $err == *"only a primary can be marked unusable"* ]]
	check_err $? "blocking the standby: rc $rc, '$err'"
	"$FCTL" set-lower "$master" blocked on 2> /dev/null
	[ $? -eq 1 ]
	check_err $? "set-lower on the master: want exit 1"

	"$FCTL" set-lower "$primary" blocked off
	check_err $? "set-lower $primary blocked off failed"
	fo_state
	[ "$S_ACTIVE" = "$primary" ] && [ "$S_PRIMARY_BLOCKED" = 0 ]
	check_err $? "unblocked: $(state_line)"
	log_test "a blocked primary is not used; the standby cannot be blocked"
}

bad_values()
{
	local before after err rc

	need_setup || { log_test "out-of-range values refused"; return; }
	defer "$FCTL" set "$master" holddown 0 peer-notify 1
	"$FCTL" set "$master" holddown 250 peer-notify 3
	check_err $? "set holddown 250 peer-notify 3 failed"
	fo_state
	[ "$S_HOLDDOWN_MS" = 250 ] && [ "$S_PEER_NOTIFY" = 3 ]
	check_err $? "holddown $S_HOLDDOWN_MS peer_notify $S_PEER_NOTIFY, want 250 3"
	before=$(state_line)

	# The tool's own check
	err=$("$FCTL" set "$master" holddown 70000 2>&1)
	rc=$?
	ktap_info "holddown 70000: $err"
	[ "$rc" -ne 0 ] && [[ $err == *"0..60000"* ]]
	check_err $? "holddown 70000: rc $rc, '$err'"
	err=$("$FCTL" set "$master" peer-notify 256 2>&1)
	rc=$?
	[ "$rc" -ne 0 ] && [[ $err == *"0..255"* ]]
	check_err $? "peer-notify 256: rc $rc, '$err'"
	"$FCTL" set "$master" force-standby maybe 2> /dev/null
	[ $? -eq 2 ]
	check_err $? "force-standby maybe: want exit 2"

	# The kernel's: its policy (NLA_POLICY_MAX) and the range it reports
	# in the extended ack
	err=$("$FCTL" --no-check set "$master" force-standby 2 2>&1)
	rc=$?
	ktap_info "kernel, force-standby 2: $err"
	[ "$rc" -eq 1 ] && [[ $err == *"out of range"*"0..1"* ]]
	check_err $? "kernel force-standby 2: rc $rc, '$err'"
	err=$("$FCTL" --no-check set "$master" holddown 70000 2>&1)
	rc=$?
	ktap_info "kernel, holddown 70000: rc $rc: $err"
	[ "$rc" -eq 1 ] && [[ $err == *"out of range"*"0..60000"* ]]
	check_err $? "kernel holddown 70000: rc $rc, '$err'"

	"$FCTL" set "$standby" holddown 5 2> /dev/null
	[ $? -eq 1 ]
	check_err $? "set on a lower: want exit 1"

	fo_state
	after=$(state_line)
	ktap_info "after: $after"
	[ "$before" = "$after" ]
	check_err $? "state changed: '$before' -> '$after'"
	log_test "out-of-range values refused, state unchanged"
}

no_create_delete()
{
	local err

	need_setup || { log_test "no creation or deletion by ip link"; return; }
	err=$(ip link add ftfoo type net_failover 2>&1)
	check_fail $? "ip link add type net_failover succeeded"
	ktap_info "ip link add: $err"
	[[ $err == *"Error: net_failover masters are created"*"virtio_net"* ]]
	check_err $? "no explanation from the kernel: '$err'"
	! dev_exists ftfoo
	check_err $? "ftfoo exists"
	ip link del ftfoo 2> /dev/null

	err=$(ip link del "$master" 2>&1)
	check_fail $? "ip link del $master succeeded"
	ktap_info "ip link del: $err"
	dev_exists "$master" && triple_formed
	check_err $? "$master or its lowers are gone"
	fo_state
	[ "$S_ACTIVE" = "$primary" ]
	check_err $? "after the attempts: $(state_line)"
	log_test "ip link can neither add nor delete a master"
}

ethtool_counters()
{
	local s n p0 s0 p1 s1

	need_setup || { log_test "ethtool -S path counters"; return; }
	for s in tx_primary_packets tx_primary_bytes tx_standby_packets \
		 tx_standby_bytes rx_primary_packets rx_standby_packets \
		 path_switches primary_activations standby_activations; do
		[ -n "$(ethtool_stat "$master" "$s")" ]
		check_err $? "ethtool -S $master has no $s"
	done

	p0=$(ethtool_stat "$master" tx_primary_packets)
	s0=$(ethtool_stat "$master" tx_standby_packets)
	n=$(ping_gw "$PINGS")
	p1=$(ethtool_stat "$master" tx_primary_packets)
	s1=$(ethtool_stat "$master" tx_standby_packets)
	ktap_info "force-standby off: $n replies; tx_primary +$((p1 - p0))" \
		"tx_standby +$((s1 - s0))"
	[ "${n:-0}" -ge 1 ] && [ $((p1 - p0)) -ge "$PINGS" ]
	check_err $? "via the primary: $n replies, tx_primary_packets $p0 -> $p1"

	defer "$FCTL" set "$master" force-standby off
	"$FCTL" set "$master" force-standby on
	check_err $? "set force-standby on failed"
	p0=$p1 s0=$s1
	n=$(ping_gw "$PINGS")
	p1=$(ethtool_stat "$master" tx_primary_packets)
	s1=$(ethtool_stat "$master" tx_standby_packets)
	ktap_info "force-standby on: $n replies; tx_primary +$((p1 - p0))" \
		"tx_standby +$((s1 - s0))"
	[ "${n:-0}" -ge 1 ] && [ $((s1 - s0)) -ge "$PINGS" ]
	check_err $? "via the standby: $n replies, tx_standby_packets $s0 -> $s1"
	"$FCTL" set "$master" force-standby off
	check_err $? "set force-standby off failed"
	log_test "ethtool -S: tx_primary_packets / tx_standby_packets follow the path"
}

run_tests
