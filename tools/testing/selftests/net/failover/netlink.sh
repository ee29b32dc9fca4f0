#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2153 # S_* variables are set by fo_state (lib.sh)
#
# The control plane of the master: no rtnetlink link kind (a plain Ethernet
# device, as with the stock driver), state and settings over the generic
# netlink family "net_failover" (include/uapi/linux/net_failover.h). Read
# and written with tools/net/failover/failoverctl (built on the host
# beforehand) and, for requests failoverctl never sends, nfo_genl.py.
#
# Each test names the mutation of drivers/net/net_failover.c it kills. The
# datapath effect of holddown and peer-notify is in knobs.sh.

ALL_TESTS="
	setup_master
	no_rtnl_kind
	get_master_or_lower
	dump_masters
	get_errors
	force_standby
	blocked_primary
	settings
	set_errors
	all_or_nothing
	events_and_no_primary
	unprivileged
	no_create_delete
"

# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

FCTL=$FT_FCTL
GENL=$FT_GENL
PINGS=5
SLACK=3		# unrelated frames a lower may send meanwhile
master=
standby=
primary=
midx=
ready=

[ "${FT_MODULES:-}" = stock ] &&
	skip_all "the stock net_failover has no generic netlink family"
[ -x "$FCTL" ] || skip_all "$FCTL not built (make -C tools/net/failover)"
require_root_cmds ip ethtool python3 busybox

state_line()
{
	echo "active=$S_ACTIVE switches=$S_SWITCHES" \
		"force_standby=$S_FORCE_STANDBY holddown=$S_HOLDDOWN_MS" \
		"peer_notify=$S_PEER_NOTIFY blocked=$S_PRIMARY_BLOCKED" \
		"tx_skb_sharing=$S_TX_SKB_SHARING" \
		"primary act/deact=$S_P_ACTIVATIONS/$S_P_DEACTIVATIONS"
}

# settings_line: what a SET may change (not the counters)
settings_line()
{
	fo_state "$master" || return 1
	echo "active=$S_ACTIVE force_standby=$S_FORCE_STANDBY" \
		"holddown=$S_HOLDDOWN_MS peer_notify=$S_PEER_NOTIFY" \
		"blocked=$S_PRIMARY_BLOCKED tx_skb_sharing=$S_TX_SKB_SHARING"
}

active_is()
{
	fo_active_is "$master" "$1"
}

ifindex_of()
{
	local v

	read -r v < "/sys/class/net/$1/ifindex"
	echo "$v"
}

# genl <args>: nfo_genl.py's answer in G_ERROR G_MSG G_BAD_ATTR
# G_MISS_TYPE G_RANGE, and its reply lines in G_REPLY
genl()
{
	local out line

	G_ERROR='' G_MSG='' G_BAD_ATTR='' G_MISS_TYPE='' G_RANGE='' G_REPLY=''
	out=$(python3 "$GENL" "$@") || { G_ERROR=tool; return 1; }
	while IFS= read -r line; do
		case $line in
		error=*)	G_ERROR=${line#error=};;
		msg=*)		G_MSG=${line#msg=};;
		bad_attr=*)	G_BAD_ATTR=${line#bad_attr=};;
		miss_type=*)	G_MISS_TYPE=${line#miss_type=};;
		range=*)	G_RANGE=${line#range=};;
		reply=*)	G_REPLY+="${line#reply=}"$'\n';;
		esac
	done <<< "$out"
}

g_line()
{
	echo "error=$G_ERROR msg='$G_MSG' bad_attr=$G_BAD_ATTR" \
		"miss_type=$G_MISS_TYPE range=$G_RANGE"
}

# expect_genl ERRNO MSG BAD_ATTR -- ARGS: nfo_genl.py ARGS is answered
# with ERRNO, the extack message MSG (a glob; "" = any) and BAD_ATTR
# ("" = not checked)
expect_genl()
{
	local err=$1 msg=$2 bad=$3

	shift 4
	genl "$@"
	ktap_info "$*: $(g_line)"
	[ "$G_ERROR" = "$err" ]
	check_err $? "$*: error $G_ERROR, want $err"
	# shellcheck disable=SC2053 # MSG is a glob
	[ -z "$msg" ] || [[ $G_MSG == $msg ]]
	check_err $? "$*: extack '$G_MSG', want '$msg'"
	[ -z "$bad" ] || [ "$G_BAD_ATTR" = "$bad" ]
	check_err $? "$*: bad attribute '$G_BAD_ATTR', want '$bad'"
}

# tx_delta <command...>: run it; TX_P / TX_S are the growth of the
# master's per-path transmit counters (ethtool -S) meanwhile
tx_delta()
{
	local p0 s0

	p0=$(ethtool_stat "$master" tx_primary_packets)
	s0=$(ethtool_stat "$master" tx_standby_packets)
	"$@" > /dev/null
	TX_P=$(($(ethtool_stat "$master" tx_primary_packets) - p0))
	TX_S=$(($(ethtool_stat "$master" tx_standby_packets) - s0))
}

need_setup()
{
	[ -n "$ready" ] && return 0
	log_skip "no master set up"
	return 1
}

setup_master()
{
	fo_restore && master_up_with_addr && wait_primary_carrier
	check_err $? "setup failed"
	fo_roles
	master=$FO_MASTER standby=$FO_STANDBY primary=$FO_PRIMARY
	[ -n "$master" ] && midx=$(ifindex_of "$master")
	busywait 15000 active_is "$primary"
	check_err $? "primary $primary never became active"
	[ "$RET" -eq 0 ] && ready=1
	log_test "master ${master:-none} with primary ${primary:-none} active"
}

# The master is a plain Ethernet device to rtnetlink, as stock: no
# IFLA_INFO_KIND on it, no IFLA_INFO_SLAVE_KIND on its lowers, and
# "ip link ... type net_failover" is an unknown kind.
# Kills: rtnl_link_ops (or only the slave part) put back on the master.
no_rtnl_kind()
{
	local d out

	need_setup || { log_test "no rtnetlink link kind"; return; }
	for d in "$master" "$primary" "$standby"; do
		out=$(ip -d -j link show dev "$d" | python3 -c '
import json, sys
li = json.load(sys.stdin)[0].get("linkinfo", {})
print(li.get("info_kind", "") + "/" + li.get("info_slave_kind", ""))')
		[ "$out" = / ]
		check_err $? "ip -d -j link show $d: kind/slave kind '$out', want none"
	done
	out=$(ip link set dev "$master" type net_failover force_standby on 2>&1)
	check_fail $? "ip link set type net_failover succeeded: $out"
	ktap_info "ip link set type net_failover: $out"
	fo_state "$master" && [ "$S_FORCE_STANDBY" = 0 ] &&
		[ "$S_ACTIVE" = "$primary" ]
	check_err $? "changed by ip link: $(state_line)"
	log_test "no link kind on $master, no slave kind on its lowers (as stock)"
}

# GET names the master by itself or by either lower; the reply is always
# the master's whole state.
# Kills: nfo_nl_master() without the lower lookup (a lower gives ENODEV),
# a reply filled for the lower, a nest left out or swapped.
get_master_or_lower()
{
	local d pidx sidx

	need_setup || { log_test "GET by master or lower"; return; }
	pidx=$(ifindex_of "$primary") sidx=$(ifindex_of "$standby")
	for d in "$master" "$primary" "$standby"; do
		fo_state "$d"
		check_err $? "failoverctl -j show $d failed"
		[ "$S_IFNAME" = "$master" ] && [ "$S_IFINDEX" = "$midx" ]
		check_err $? "show $d: master '$S_IFNAME' ($S_IFINDEX), want $master ($midx)"
		[ "$S_PRIMARY" = "$primary" ] && [ "$S_PRIMARY_IFINDEX" = "$pidx" ] &&
			[ "$S_P_IFNAME" = "$primary" ] && [ "$S_P_IFINDEX" = "$pidx" ]
		check_err $? "show $d: primary $S_PRIMARY ($S_PRIMARY_IFINDEX), want $primary ($pidx)"
		[ "$S_STANDBY" = "$standby" ] && [ "$S_STANDBY_IFINDEX" = "$sidx" ] &&
			[ "$S_S_IFNAME" = "$standby" ] && [ "$S_S_IFINDEX" = "$sidx" ]
		check_err $? "show $d: standby $S_STANDBY ($S_STANDBY_IFINDEX), want $standby ($sidx)"
		[ "$S_ACTIVE" = "$primary" ] && [ "$S_ACTIVE_IFINDEX" = "$pidx" ] &&
			[ "$S_P_ACTIVE" = 1 ] && [ "$S_S_ACTIVE" = 0 ]
		check_err $? "show $d: active $S_ACTIVE, lower flags $S_P_ACTIVE/$S_S_ACTIVE"
		[ "$S_P_LINK" = 1 ] && [ "$S_S_LINK" = 1 ]
		check_err $? "show $d: links $S_P_LINK/$S_S_LINK"
		[ "$S_FORCE_STANDBY" = 0 ] && [ "$S_HOLDDOWN_MS" = 0 ] &&
			[ "$S_PEER_NOTIFY" = 1 ] && [ "$S_PRIMARY_BLOCKED" = 0 ] &&
			[ "$S_S_BLOCKED" = 0 ] && [ "$S_TX_SKB_SHARING" = 0 ]
		check_err $? "show $d: defaults: $(state_line)"
	done
	# The same through the raw client, by the standby's ifindex
	genl get "$sidx"
	[ "$G_ERROR" = 0 ] && [[ $G_REPLY == *"\"ifindex\": $midx,"* ]]
	check_err $? "raw GET $sidx: $(g_line) $G_REPLY"
	"$FCTL" show "$standby" | sed 's/^/# /'
	log_test "GET by $master, $primary or $standby: the master's state"
}

# Kills: a dumpit that skips masters (or stops after none).
dump_masters()
{
	local out

	need_setup || { log_test "dump lists the master"; return; }
	out=$("$FCTL" -j show)
	check_err $? "failoverctl -j show failed"
	printf '%s\n' "$out" | python3 -m json.tool > /dev/null
	check_err $? "json.tool refuses: $out"
	out=$(printf '%s\n' "$out" | python3 -c '
import json, sys
print(" ".join(m["ifname"] for m in json.load(sys.stdin)))')
	[ "$out" = "$master" ]
	check_err $? "dump lists '$out', want $master"
	genl dump
	[ "$G_ERROR" = 0 ] && [ "$(grep -c . <<< "$G_REPLY")" = 1 ] &&
		[[ $G_REPLY == *"\"ifindex\": $midx,"* ]]
	check_err $? "raw dump: $(g_line) $G_REPLY"
	log_test "dump: exactly the master $master"
}

# Kills: the GENL_REQ_ATTR_CHECK, the "no such device" or the "not a
# net_failover master or lower" branch of nfo_nl_master() (errno or text).
get_errors()
{
	local err rc

	need_setup || { log_test "GET errors"; return; }
	genl get
	ktap_info "GET without ifindex: $(g_line)"
	[ "$G_ERROR" = EINVAL ] && { [ "$G_MISS_TYPE" = ifindex ] ||
		[[ ${G_MSG,,} == *missing*ifindex* ]]; }
	check_err $? "GET without ifindex: $(g_line)"
	expect_genl ENODEV "no such device" ifindex -- get 2147483647
	expect_genl ENODEV "not a net_failover master or lower" ifindex -- get 1

	err=$("$FCTL" show lo 2>&1)
	rc=$?
	ktap_info "failoverctl show lo: $err"
	[ "$rc" -eq 1 ] && [[ $err == *"not a net_failover master or lower"*"No such device"* ]]
	check_err $? "show lo: rc $rc, '$err'"
	"$FCTL" show nosuchdev 2> /dev/null
	[ $? -eq 1 ]
	check_err $? "show nosuchdev: want exit 1"
	"$FCTL" show "$master" extra 2> /dev/null
	[ $? -eq 2 ]
	check_err $? "show with two devices: want exit 2"
	log_test "GET: missing ifindex EINVAL, unknown or foreign device ENODEV, with extack"
}

# force-standby moves transmit to the standby (the master's per-path
# counters say so) and back.
# Kills: FORCE_STANDBY not applied by SET, not reported by GET, or not
# obeyed by the active-lower choice.
force_standby()
{
	local sw s

	need_setup || { log_test "force-standby on/off"; return; }
	for s in tx_primary_packets tx_primary_bytes tx_standby_packets \
		 tx_standby_bytes rx_primary_packets rx_standby_packets \
		 path_switches primary_activations standby_activations; do
		[ -n "$(ethtool_stat "$master" "$s")" ]
		check_err $? "ethtool -S $master has no $s"
	done
	defer "$FCTL" set "$master" force-standby off
	fo_state "$master"
	sw=$S_SWITCHES
	tx_delta ping_gw "$PINGS"
	ktap_info "force-standby off: tx primary +$TX_P standby +$TX_S"
	[ "$TX_P" -ge "$PINGS" ] && [ "$TX_S" -le "$SLACK" ]
	check_err $? "off: tx primary +$TX_P standby +$TX_S"

	"$FCTL" set "$master" force-standby on
	check_err $? "set force-standby on failed"
	fo_state "$master"
	check_err $? "no state"
	[ "$S_FORCE_STANDBY" = 1 ] && [ "$S_ACTIVE" = "$standby" ] &&
		[ "$S_S_ACTIVE" = 1 ] && [ "$S_P_ACTIVE" = 0 ]
	check_err $? "force-standby on: $(state_line)"
	[ "$S_SWITCHES" -eq $((sw + 1)) ]
	check_err $? "switches $sw -> $S_SWITCHES, want +1"
	"$FCTL" show "$master" | grep -q " force_standby on "
	check_err $? "text output does not show force_standby on"
	tx_delta ping_gw "$PINGS"
	ktap_info "force-standby on: tx primary +$TX_P standby +$TX_S"
	[ "$TX_S" -ge "$PINGS" ] && [ "$TX_P" -le "$SLACK" ]
	check_err $? "on: tx primary +$TX_P standby +$TX_S"

	"$FCTL" set "$master" force-standby off
	check_err $? "set force-standby off failed"
	fo_state "$master"
	[ "$S_FORCE_STANDBY" = 0 ] && [ "$S_ACTIVE" = "$primary" ] &&
		[ "$S_SWITCHES" -eq $((sw + 2)) ]
	check_err $? "force-standby off: $(state_line)"
	tx_delta ping_gw "$PINGS"
	[ "$TX_P" -ge "$PINGS" ]
	check_err $? "off again: tx primary +$TX_P standby +$TX_S"
	log_test "force-standby on: transmit through the standby; off: the primary"
}

# Kills: BLOCKED in the primary nest ignored, not reported, or a blocked
# primary still chosen; the standby refusal's errno or text changed.
blocked_primary()
{
	local err rc

	need_setup || { log_test "primary blocked on/off"; return; }
	defer "$FCTL" set-lower "$primary" blocked off
	"$FCTL" set-lower "$primary" blocked on
	check_err $? "set-lower $primary blocked on failed"
	fo_state "$master"
	[ "$S_P_BLOCKED" = 1 ] && [ "$S_PRIMARY_BLOCKED" = 1 ] &&
		[ "$S_S_BLOCKED" = 0 ] && [ "$S_ACTIVE" = "$standby" ]
	check_err $? "blocked on: $(state_line)"
	"$FCTL" show "$master" | grep -q "lower $primary .* blocked yes"
	check_err $? "text output does not show $primary blocked"
	tx_delta ping_gw "$PINGS"
	[ "$TX_S" -ge "$PINGS" ] && [ "$TX_P" -le "$SLACK" ]
	check_err $? "blocked: tx primary +$TX_P standby +$TX_S"

	# Only a primary can be blocked: the kernel says so (failoverctl
	# sends the standby's nest as asked and prints the extack)
	err=$("$FCTL" set-lower "$standby" blocked on 2>&1)
	rc=$?
	ktap_info "set-lower $standby: $err"
	[ "$rc" -eq 1 ] && [[ $err == *"only a primary can be marked unusable; use force_standby to keep traffic on the standby"*"attribute standby.blocked"*"Invalid argument" ]]
	check_err $? "blocking the standby: rc $rc, '$err'"
	expect_genl EINVAL "only a primary can be marked unusable; use force_standby to keep traffic on the standby" \
		standby.blocked -- set "$midx" standby.blocked=1
	"$FCTL" set-lower "$master" blocked on 2> /dev/null
	[ $? -eq 1 ]
	check_err $? "set-lower on the master: want exit 1"

	"$FCTL" set-lower "$primary" blocked off
	check_err $? "set-lower $primary blocked off failed"
	fo_state "$master"
	[ "$S_P_BLOCKED" = 0 ] && [ "$S_ACTIVE" = "$primary" ]
	check_err $? "blocked off: $(state_line)"
	log_test "a blocked primary carries nothing; the standby cannot be blocked"
}

# holddown and peer-notify as GET reports them, set through the master
# or (the kernel takes it) through a lower's ifindex.
# Kills: HOLDDOWN_MS or PEER_NOTIFY not applied or not reported; SET by a
# lower's ifindex refused.
settings()
{
	need_setup || { log_test "holddown and peer-notify"; return; }
	defer "$FCTL" set "$master" holddown 0 peer-notify 1
	"$FCTL" set "$master" holddown 250 peer-notify 3
	check_err $? "set holddown 250 peer-notify 3 failed"
	fo_state "$master"
	[ "$S_HOLDDOWN_MS" = 250 ] && [ "$S_PEER_NOTIFY" = 3 ] &&
		[ "$S_ACTIVE" = "$primary" ]
	check_err $? "after holddown 250 peer-notify 3: $(state_line)"
	"$FCTL" show "$master" | grep -q " holddown_ms 250 peer_notify 3 "
	check_err $? "text output does not show holddown_ms 250 peer_notify 3"

	# failoverctl wants the master; the kernel takes a lower too
	"$FCTL" set "$standby" holddown 5 2> /dev/null
	[ $? -eq 1 ]
	check_err $? "failoverctl set on a lower: want exit 1"
	"$FCTL" -n set "$standby" holddown 60000 peer-notify 0
	check_err $? "SET by the standby's ifindex refused"
	fo_state "$master"
	[ "$S_HOLDDOWN_MS" = 60000 ] && [ "$S_PEER_NOTIFY" = 0 ]
	check_err $? "after SET by $standby: $(state_line)"
	"$FCTL" set "$master" holddown 0 peer-notify 1
	log_test "holddown and peer-notify: SET by master or lower, GET reports them"
}

# Every refusal with its errno and extack, and nothing changed.
# Kills: any read-only attribute made writable in nfo_nl_set_policy or
# nfo_nl_lower_policy, a range or type check dropped, the SET's missing
# IFINDEX check.
set_errors()
{
	local before after a err rc

	need_setup || { log_test "SET errors"; return; }
	before=$(settings_line)

	genl set - force_standby=1
	ktap_info "SET without ifindex: $(g_line)"
	[ "$G_ERROR" = EINVAL ] && { [ "$G_MISS_TYPE" = ifindex ] ||
		[[ ${G_MSG,,} == *missing*ifindex* ]]; }
	check_err $? "SET without ifindex: $(g_line)"
	expect_genl ENODEV "no such device" ifindex -- set 2147483647 force_standby=1
	expect_genl ENODEV "not a net_failover master or lower" ifindex -- \
		set 1 force_standby=1

	# Read-only: rejected by the policy, which names the attribute
	for a in ifname=x active=1 switches=0 \
		 primary.ifindex=1 primary.ifname=x primary.active=1 \
		 primary.link=1 primary.activations=0 \
		 primary.deactivations=0 standby.active=1; do
		expect_genl EINVAL "?*" "${a%%=*}" -- set "$midx" "$a"
	done
	expect_genl EINVAL "*tx_skb_sharing*" tx_skb_sharing -- \
		set "$midx" tx_skb_sharing=0

	# Ranges: the policy's bounds come back in the extack
	for a in force_standby=2:0..1 holddown_ms=60001:0..60000 \
		 primary.blocked=2:0..1 standby.blocked=2:0..1; do
		genl set "$midx" "${a%:*}"
		ktap_info "${a%:*}: $(g_line)"
		{ [ "$G_ERROR" = ERANGE ] || [ "$G_ERROR" = EINVAL ]; } &&
			[ "$G_RANGE" = "${a##*:}" ] &&
			[ "$G_BAD_ATTR" = "${a%%=*}" ]
		check_err $? "${a%:*}: $(g_line), want range ${a##*:}"
	done
	# A u8 sent as a u32: strict validation refuses its length
	expect_genl EINVAL "" peer_notify -- set "$midx" peer_notify=3:32

	# failoverctl prints what the kernel said
	err=$("$FCTL" -n set "$master" holddown 70000 2>&1)
	rc=$?
	ktap_info "failoverctl -n set holddown 70000: $err"
	[ "$rc" -eq 1 ] && [[ $err == *"out of range"*"attribute holddown_ms"*"valid range 0..60000"* ]]
	check_err $? "kernel holddown 70000: rc $rc, '$err'"
	err=$("$FCTL" -n set "$master" force-standby 2 2>&1)
	rc=$?
	[ "$rc" -eq 1 ] && [[ $err == *"out of range"*"valid range 0..1"* ]]
	check_err $? "kernel force-standby 2: rc $rc, '$err'"
	err=$("$FCTL" -n set "$master" tx-skb-sharing on 2>&1)
	rc=$?
	ktap_info "failoverctl -n set tx-skb-sharing on: $err"
	[ "$rc" -eq 1 ] && [[ $err == *"attribute tx_skb_sharing"*"Invalid argument" ]]
	check_err $? "kernel tx-skb-sharing: rc $rc, '$err'"
	# and refuses by itself what it knows to be wrong
	err=$("$FCTL" set "$master" holddown 70000 2>&1)
	[ $? -eq 2 ] && [[ $err == *"0..60000"* ]]
	check_err $? "failoverctl holddown 70000: '$err'"
	err=$("$FCTL" set "$master" tx-skb-sharing on 2>&1)
	[ $? -eq 2 ] && [[ $err == *"read-only"*"module parameter tx_skb_sharing"* ]]
	check_err $? "failoverctl tx-skb-sharing: '$err'"

	after=$(settings_line)
	[ "$before" = "$after" ]
	check_err $? "state changed: '$before' -> '$after'"
	log_test "SET refusals: errno, extack, attribute and range; nothing changed"
}

# A SET either applies every attribute or none: valid settings in the
# same request as a refused one stay unapplied.
# Kills: settings applied before the nests are checked in
# nfo_nl_set_doit() (the checks moved after the first assignment).
all_or_nothing()
{
	local before after

	need_setup || { log_test "SET is all-or-nothing"; return; }
	before=$(settings_line)
	expect_genl EINVAL "only a primary can be marked unusable*" \
		standby.blocked -- set "$midx" force_standby=1 holddown_ms=777 \
		peer_notify=9 primary.blocked=1 standby.blocked=1
	after=$(settings_line)
	[ "$before" = "$after" ]
	check_err $? "refused SET changed: '$before' -> '$after'"
	expect_genl ERANGE "" holddown_ms -- set "$midx" force_standby=1 \
		holddown_ms=60001
	after=$(settings_line)
	[ "$before" = "$after" ]
	check_err $? "refused SET changed: '$before' -> '$after'"
	# and the same request without the bad part applies all of it
	defer "$FCTL" set "$master" force-standby off holddown 0 peer-notify 1
	defer "$FCTL" set-lower "$primary" blocked off
	expect_genl 0 "" "" -- set "$midx" force_standby=1 holddown_ms=777 \
		peer_notify=9 primary.blocked=1
	fo_state "$master"
	[ "$S_FORCE_STANDBY" = 1 ] && [ "$S_HOLDDOWN_MS" = 777 ] &&
		[ "$S_PEER_NOTIFY" = 9 ] && [ "$S_P_BLOCKED" = 1 ] &&
		[ "$S_ACTIVE" = "$standby" ]
	check_err $? "accepted SET: $(state_line)"
	"$FCTL" set "$master" force-standby off holddown 0 peer-notify 1 &&
		"$FCTL" set-lower "$primary" blocked off
	check_err $? "cannot restore the settings"
	busywait 5000 active_is "$primary"
	check_err $? "primary not active again"
	log_test "a refused SET changes nothing; the valid part alone applies"
}

# monitor_has <file> <from> <glob>: an event line of the monitor after
# line <from> matches
monitor_has()
{
	local l lines

	# (no process substitution: the guest has no /dev/fd)
	lines=$(tail -n +$(($2 + 1)) "$1")
	while IFS= read -r l; do
		# shellcheck disable=SC2053 # a glob
		[[ $l == $3 ]] && return 0
	done <<< "$lines"
	return 1
}

monitor_ready()
{
	grep -q "monitoring" "$1"
}

# failoverctl monitor sees NTF events for a setting and for the primary
# leaving and coming back; a SET for the primary's nest while there is
# none is refused (ENODEV "no primary") with nothing changed.
# Kills: nfo_nl_notify() dropped from SET, from the release or the
# enslavement of a lower, or sent twice for one change (SET that switches);
# the "no primary" check in nfo_nl_set_doit().
events_and_no_primary()
{
	local dir pid pci p n n0 before after

	need_setup || { log_test "events; SET without a primary"; return; }
	dir=$(mktemp -d)
	"$FCTL" monitor > "$dir/out" 2> "$dir/err" &
	pid=$!
	defer kill "$pid"
	busywait 5000 monitor_ready "$dir/err"
	check_err $? "monitor did not start: $(cat "$dir/err")"

	# One event per change: a setting, a switch of the active lower
	n=$(wc -l < "$dir/out")
	"$FCTL" set "$master" holddown 11
	check_err $? "set holddown 11 failed"
	busywait 3000 monitor_has "$dir/out" "$n" "$master: *holddown_ms 11 *"
	check_err $? "no event for holddown 11"
	n=$((n + 1))
	"$FCTL" set "$master" holddown 0 force-standby on
	check_err $? "set holddown 0 force-standby on failed"
	busywait 3000 monitor_has "$dir/out" "$n" "$master: * active $standby (*"
	check_err $? "no event for the switch to $standby"
	ft_sleep 0.5
	[ "$(wc -l < "$dir/out")" -eq $((n + 1)) ]
	check_err $? "$(($(wc -l < "$dir/out") - n)) events for one SET, want 1"
	"$FCTL" set "$master" force-standby off
	busywait 5000 active_is "$primary"
	check_err $? "primary not active after force-standby off"

	pci=$(fo_primary_pci)
	check_err $? "no primary PCI function"
	n0=$(wc -l < "$dir/out")
	n=$n0
	echo 1 > "/sys/bus/pci/devices/$pci/remove"
	busywait 10000 standby_only
	check_err $? "primary not released"
	busywait 3000 monitor_has "$dir/out" "$n" "$master: * primary none standby $standby * active $standby *"
	check_err $? "no event for the primary's release"

	# No primary: its nest is refused, with the valid rest
	fo_state "$master"
	[ "$S_PRIMARY" = "" ] && [ "$S_NLOWERS" = 1 ] && [ "$S_PRIMARY_BLOCKED" = "" ]
	check_err $? "without a primary: primary '$S_PRIMARY', $S_NLOWERS lower(s)"
	before=$(settings_line)
	expect_genl ENODEV "no primary" primary -- set "$midx" force_standby=1 \
		primary.blocked=1
	after=$(settings_line)
	[ "$before" = "$after" ]
	check_err $? "refused SET changed: '$before' -> '$after'"

	n=$(wc -l < "$dir/out")
	echo 1 > /sys/bus/pci/rescan
	busywait 15000 triple_formed
	check_err $? "primary not enslaved again"
	p=$FO_PRIMARY
	busywait 3000 monitor_has "$dir/out" "$n" "$master: * primary $p (*"
	check_err $? "no event for the new primary $p"
	busywait 15000 monitor_has "$dir/out" "$n" "$master: * active $p (*"
	check_err $? "no event for $p becoming active"
	primary=$p
	ktap_info "$(($(wc -l < "$dir/out") - n0)) events during unplug/replug:"
	tail -n +$((n0 + 1)) "$dir/out" | cut -c1-110 | sed 's/^/#   /'
	[ -s "$dir/err" ] && sed 's/^/# monitor: /' "$dir/err"
	kill "$pid" 2> /dev/null
	rm -rf "$dir"
	log_test "monitor: events for a setting, the primary's release and return"
}

# SET needs CAP_NET_ADMIN; an unprivileged one changes nothing.
# Kills: GENL_UNS_ADMIN_PERM dropped from the SET operation.
unprivileged()
{
	local dir err rc before after run

	need_setup || { log_test "unprivileged SET refused"; return; }
	if command -v setpriv > /dev/null; then
		run="setpriv --reuid=65534 --regid=65534 --clear-groups"
	else
		log_skip "no setpriv"
		log_test "unprivileged SET refused with EPERM"
		return
	fi
	busywait 15000 active_is "$primary"
	check_err $? "primary $primary not active"
	# a copy nobody can execute, whatever the shared tree's modes
	dir=$(mktemp -d)
	cp "$FCTL" "$GENL" "$dir/" && chmod 755 "$dir" "$dir"/*
	before=$(settings_line)
	err=$($run "$dir/failoverctl" set "$master" holddown 5 2>&1)
	rc=$?
	ktap_info "as nobody: failoverctl set: rc $rc: $err"
	[ "$rc" -eq 1 ] && [[ $err == *"Operation not permitted"* ]]
	check_err $? "unprivileged failoverctl set: rc $rc, '$err'"
	err=$($run python3 "$dir/nfo_genl.py" set "$midx" holddown_ms=5)
	[[ $err == *"error=EPERM"* ]]
	check_err $? "unprivileged raw SET: $err"
	after=$(settings_line)
	[ "$before" = "$after" ]
	check_err $? "unprivileged SET changed: '$before' -> '$after'"
	err=$($run "$dir/failoverctl" show "$master" 2>&1 | head -n 1)
	ktap_info "as nobody: failoverctl show: $err"
	rm -rf "$dir"
	log_test "unprivileged SET refused with EPERM, nothing changed"
}

# Masters come and go with virtio_net: ip link can neither add nor delete
# one (as stock, with no link kind at all).
# Kills: rtnl_link_ops with .newlink/.dellink put back.
no_create_delete()
{
	local err

	need_setup || { log_test "no creation or deletion by ip link"; return; }
	err=$(ip link add ftfoo type net_failover 2>&1)
	check_fail $? "ip link add type net_failover succeeded"
	ktap_info "ip link add: $err"
	! dev_exists ftfoo
	check_err $? "ftfoo exists"
	ip link del ftfoo 2> /dev/null

	err=$(ip link del "$master" 2>&1)
	check_fail $? "ip link del $master succeeded"
	ktap_info "ip link del: $err"
	dev_exists "$master" && triple_formed
	check_err $? "$master or its lowers are gone"
	log_test "ip link can neither add nor delete a master"
}

run_tests
