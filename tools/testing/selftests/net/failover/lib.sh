#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the net_failover selftests: KTAP output, deadline polling,
# roles of the three netdevs, counters, module handling and the host
# control channel (QMP actions through ttyS1, see vm/run_vm.py).
#
# A test script sets ALL_TESTS, sources this file and calls run_tests.
# Each test function sets RET=0, uses check_err/check_fail and ends with
# log_test "description".

# kselftest exit codes
ksft_pass=0
ksft_fail=1
ksft_skip=4

# shellcheck disable=SC2034 # used by the scripts that source this file
FT_DIR=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
FT_MODULES=${FT_MODULES:-}
FT_HOTPLUG=${FT_HOTPLUG:-}
FT_CTL_TTY=${FT_CTL_TTY:-/dev/ttyS1}
FT_MAC=${FT_MAC:-52:54:00:12:34:56}
# PCI ids of the QEMU devices
FT_PRIMARY_PCI_ID="0x8086:0x10d3"	# e1000e (82574L)
FT_HOST_GW=10.0.2.2
FT_ADDR=10.0.2.15/24

RET=0
RETMSG=
ft_nr=0
ft_fails=0
ft_skips=0
declare -a ft_cleanups=()

# ------------------------------------------------------------------ KTAP

ktap_print_header()
{
	echo "TAP version 13"
}

ktap_set_plan()
{
	echo "1..$1"
}

ktap_info()
{
	echo "# $*"
}

# ktap_result <0|1|4> <description> [reason]
ktap_result()
{
	local rc=$1 desc=$2 reason=${3:-}

	ft_nr=$((ft_nr + 1))
	case $rc in
	0)	echo "ok $ft_nr $desc";;
	4)	echo "ok $ft_nr $desc # SKIP${reason:+ $reason}"
		ft_skips=$((ft_skips + 1));;
	*)	echo "not ok $ft_nr $desc${reason:+ # $reason}"
		ft_fails=$((ft_fails + 1));;
	esac
}

# check_err <rc> <message>: fail the test when rc is not zero
check_err()
{
	local err=$1 msg=$2

	if [ "$RET" -eq 0 ] && [ "$err" -ne 0 ]; then
		RET=$ksft_fail
		RETMSG=$msg
	fi
}

# check_fail <rc> <message>: fail the test when rc is zero
check_fail()
{
	local err=$1 msg=$2

	if [ "$RET" -eq 0 ] && [ "$err" -eq 0 ]; then
		RET=$ksft_fail
		RETMSG=$msg
	fi
}

# log_skip <reason>: mark the current test skipped (missing precondition)
log_skip()
{
	if [ "$RET" -eq 0 ]; then
		RET=$ksft_skip
		RETMSG=$1
	fi
}

log_test()
{
	local desc=$1

	if [ "$RET" -ne 0 ] && [ "$RET" -ne "$ksft_skip" ]; then
		ktap_info "FAIL: $desc: $RETMSG"
		ft_dump_state
	fi
	ktap_result "$RET" "$desc" "$RETMSG"
	RET=0
	RETMSG=
}

# run_tests: run every function named in ALL_TESTS; exit 1 on any
# failure, 4 if every test was skipped, 0 otherwise.
run_tests()
{
	local t n=0

	for t in $ALL_TESTS; do
		n=$((n + 1))
	done
	ktap_print_header
	ktap_set_plan "$n"
	for t in $ALL_TESTS; do
		RET=0
		RETMSG=
		"$t"
	done
	if [ "$ft_fails" -gt 0 ]; then
		exit $ksft_fail
	elif [ "$ft_skips" -eq "$n" ]; then
		exit $ksft_skip
	fi
	exit $ksft_pass
}

# all_results <ktap code> <exit status> <reason>: every test of ALL_TESTS
# gets the same result, then the script exits
all_results()
{
	local t n=0

	for t in $ALL_TESTS; do
		n=$((n + 1))
	done
	ktap_print_header
	ktap_set_plan "$n"
	for t in $ALL_TESTS; do
		ktap_result "$1" "$t" "$3"
	done
	exit "$2"
}

# skip_all <reason>: the whole script cannot run
skip_all()
{
	all_results 4 "$ksft_skip" "$1"
}

# fail_all <reason>: the whole script cannot run though it must (e.g.
# the runner added nfosim.ko and it does not load): every test fails
fail_all()
{
	all_results 1 "$ksft_fail" "$1"
}

# ------------------------------------------------------------- cleanup

defer()
{
	ft_cleanups+=("$*")
}

ft_run_cleanups()
{
	local i

	for ((i = ${#ft_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${ft_cleanups[i]}" > /dev/null 2>&1
	done
	ft_cleanups=()
}
trap ft_run_cleanups EXIT

# ------------------------------------------------------------- polling

# Under TCG every exec costs ~60 ms and sleep loops run slow, so the
# helpers below avoid forks and every wait is bounded by a deadline on
# the uptime clock.

# ft_now: set FT_NOW to milliseconds since boot
ft_now()
{
	local up

	read -r up _ < /proc/uptime
	FT_NOW=$((${up%.*} * 1000 + 10#${up#*.} * 10))
}

uptime_ms()
{
	ft_now
	echo "$FT_NOW"
}

# ft_sleep <seconds>: sleep without a fork (read timing out on a FIFO)
ft_sleep()
{
	if [ -z "${FT_SLEEP_FD:-}" ]; then
		local fifo

		fifo=$(mktemp -u /tmp/ft-sleep.XXXXXX)
		mkfifo "$fifo" && exec {FT_SLEEP_FD}<>"$fifo"
		rm -f "$fifo"
	fi
	read -r -t "$1" -u "$FT_SLEEP_FD" _
	return 0
}

# kernel_at_least MAJOR MINOR: the running kernel is MAJOR.MINOR or later
kernel_at_least()
{
	local v maj min

	v=$(uname -r)
	maj=${v%%.*}
	v=${v#*.}
	min=${v%%[!0-9]*}
	[ "$maj" -gt "$1" ] || { [ "$maj" -eq "$1" ] && [ "$min" -ge "$2" ]; }
}

# busywait <timeout_ms> <cmd> [args...]: run cmd until it succeeds
busywait()
{
	local timeout=$1 deadline
	shift

	ft_now
	deadline=$((FT_NOW + timeout))
	while true; do
		"$@" && return 0
		ft_now
		[ "$FT_NOW" -ge "$deadline" ] && return 1
		ft_sleep 0.05
	done
}

# ------------------------------------------------------- netdev roles

FT_VIRTIO_DRV=/sys/bus/virtio/drivers/virtio_net
FT_E1000E_DRV=/sys/bus/pci/drivers/e1000e

# Driver behind a netdev as ethtool reports it.
dev_driver()
{
	ethtool -i "$1" 2>/dev/null | sed -n 's/^driver: //p'
}

dev_is_virtio()
{
	[ "/sys/class/net/$1/device/driver" -ef "$FT_VIRTIO_DRV" ]
}

dev_is_e1000e()
{
	[ "/sys/class/net/$1/device/driver" -ef "$FT_E1000E_DRV" ]
}

# fo_roles: set FO_MASTER, FO_STANDBY and FO_PRIMARY from sysfs without
# forking. The master is the netdev with lower_* links to a virtio_net
# lower (it shares the standby's parent device, so device/driver cannot
# tell them apart); the standby is the other virtio_net netdev; the
# primary is the e1000e netdev.
fo_roles()
{
	local p d l lower

	FO_MASTER=
	FO_STANDBY=
	FO_PRIMARY=
	for p in /sys/class/net/*; do
		d=${p##*/}
		if [ "$p/device/driver" -ef "$FT_E1000E_DRV" ]; then
			FO_PRIMARY=${FO_PRIMARY:-$d}
			continue
		fi
		lower=
		for l in "$p"/lower_*; do
			[ -e "$l" ] || continue
			[ "$l/device/driver" -ef "$FT_VIRTIO_DRV" ] && lower=1
		done
		if [ -n "$lower" ]; then
			FO_MASTER=${FO_MASTER:-$d}
		elif [ "$p/device/driver" -ef "$FT_VIRTIO_DRV" ]; then
			FO_STANDBY=${FO_STANDBY:-$d}
		fi
	done
}

fo_master()
{
	fo_roles
	echo "$FO_MASTER"
}

fo_standby()
{
	fo_roles
	echo "$FO_STANDBY"
}

fo_primary()
{
	fo_roles
	echo "$FO_PRIMARY"
}

# Names of the netdevs that list $1 as their upper device (sorted: globs
# expand in order).
fo_lowers()
{
	local l

	for l in /sys/class/net/"$1"/lower_*; do
		[ -e "$l" ] || continue
		l=${l##*/}
		echo "${l#lower_}"
	done
}

# lowers_are <master> [lower...]: the master's lowers are exactly these
lowers_are()
{
	local m=$1 l n=0
	shift

	for l in /sys/class/net/"$m"/lower_*; do
		[ -e "$l" ] && n=$((n + 1))
	done
	[ "$n" -eq $# ] || return 1
	for l in "$@"; do
		[ -n "$l" ] && [ -e "/sys/class/net/$m/lower_$l" ] || return 1
	done
}

# is_upper <lower> <master>: the lower's "master" link points at master
is_upper()
{
	[ -e "/sys/class/net/$1/master" ] &&
		[ "/sys/class/net/$1/master" -ef "/sys/class/net/$2" ]
}

has_upper()
{
	[ -e "/sys/class/net/$1/master" ]
}

# The master of a netdev (empty when none).
dev_upper()
{
	local m

	m=$(readlink "/sys/class/net/$1/master" 2>/dev/null) || return 0
	echo "${m##*/}"
}

dev_stat()
{
	local v

	read -r v < "/sys/class/net/$1/statistics/$2"
	echo "$v"
}

# ethtool_stat DEV NAME: the value of counter NAME in ethtool -S DEV
ethtool_stat()
{
	ethtool -S "$1" 2> /dev/null | sed -n "s/^ *$2: *//p"
}

dev_mac()
{
	local v

	read -r v < "/sys/class/net/$1/address"
	echo "$v"
}

dev_carrier()
{
	local v

	read -r v < "/sys/class/net/$1/carrier" 2>/dev/null
	[ "$v" = 1 ]
} 2>/dev/null

# dev_is_up <dev>: IFF_UP is set (administratively up)
dev_is_up()
{
	local v

	read -r v < "/sys/class/net/$1/flags" 2>/dev/null || return 1
	(( v & 1 ))
} 2>/dev/null

dev_gone()
{
	[ ! -e "/sys/class/net/$1" ]
}

dev_exists()
{
	[ -n "$1" ] && [ -e "/sys/class/net/$1" ]
}

dev_mtu()
{
	local v

	read -r v < "/sys/class/net/$1/mtu"
	echo "$v"
}

# dev_link_attr <dev> <json key>: a numeric value from `ip -d -j link`,
# for the generic link attributes (max_mtu, ...): net_failover's own state
# is not there (the master has no link kind), see fo_state below.
dev_link_attr()
{
	ip -d -j link show dev "$1" | sed -n "s/.*\"$2\":\\([0-9]*\\).*/\\1/p"
}

# -------------------------------------------------- net_failover state

# failoverctl, built on the host (make -C tools/net/failover), and the raw
# generic netlink client for requests failoverctl does not send.
FT_FCTL=${FAILOVERCTL:-$(readlink -f "$FT_DIR/../../../../net/failover/failoverctl")}
FT_GENL=$FT_DIR/nfo_genl.py

# Turns the JSON of "failoverctl -j show" into S_* shell variables: S_<KEY>
# for the (first) master, S_P_<KEY> and S_S_<KEY> for its primary and
# standby lower; true/false become 1/0, null and absent become empty.
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
m = d[0] if d else {"lowers": []}
for k in ("ifname", "ifindex", "primary", "primary_ifindex",
	  "standby", "standby_ifindex", "active", "active_ifindex",
	  "switches", "force_standby", "holddown_ms", "peer_notify",
	  "primary_blocked", "tx_skb_sharing"):
	emit(k.upper(), m.get(k))
emit("NLOWERS", len(m["lowers"]))
keys = ("ifname", "ifindex", "role", "active", "link", "activations",
	"deactivations", "blocked")
for r in ("P", "S"):
	for k in keys:
		emit(r + "_" + k.upper(), "")
for l in m["lowers"]:
	r = {"primary": "P", "standby": "S"}[l["role"]]
	for k in keys:
		emit(r + "_" + k.upper(), l[k])
'

# fo_state <dev>: the state of the master of <dev> (itself or a lower) as
# "failoverctl -j show" reports it, in S_* variables
fo_state()
{
	local json vars

	json=$("$FT_FCTL" -j show "$1") || return 1
	vars=$(printf '%s\n' "$json" | python3 -c "$FT_PY_STATE") || {
		ktap_info "unparsable: $json"
		return 1
	}
	eval "$vars"
}

# fo_active_is <master> <lower>: failoverctl names <lower> as the active
# lower (no python: cheap enough to poll)
fo_active_is()
{
	local out

	out=$("$FT_FCTL" show "$1") || return 1
	[[ $out == *" active $2 ("* ]]
}

# fo_reload_with <module parameters...>: every failover module unloaded,
# net_failover loaded with the parameters, then the triple formed again
fo_reload_with()
{
	fo_reset || return 1
	modprobe net_failover "$@" || return 1
	fo_setup
}

# PCI address of the first device with the given vendor:device id.
pci_dev_by_id()
{
	local d v i

	for d in /sys/bus/pci/devices/*; do
		read -r v < "$d/vendor"
		read -r i < "$d/device"
		[ "$v:$i" = "$1" ] || continue
		echo "${d##*/}"
		return 0
	done
	return 1
}

fo_primary_pci()
{
	pci_dev_by_id "$FT_PRIMARY_PCI_ID"
}

primary_pci_present()
{
	local d v i

	for d in /sys/bus/pci/devices/*; do
		read -r v < "$d/vendor"
		read -r i < "$d/device"
		[ "$v:$i" = "$FT_PRIMARY_PCI_ID" ] && return 0
	done
	return 1
}

primary_pci_absent()
{
	! primary_pci_present
}

# The netdev of the primary's PCI function, whoever drives it.
primary_pci_netdev()
{
	local pci n

	pci=$(fo_primary_pci) || return 1
	for n in "/sys/bus/pci/devices/$pci/net"/*; do
		[ -e "$n" ] && echo "${n##*/}" && return 0
	done
	return 1
}

# True when the triple is formed: the master's lowers are exactly the
# virtio_net standby and the e1000e primary.
triple_formed()
{
	fo_roles
	[ -n "$FO_MASTER" ] && [ -n "$FO_STANDBY" ] && [ -n "$FO_PRIMARY" ] &&
		lowers_are "$FO_MASTER" "$FO_STANDBY" "$FO_PRIMARY"
}

# True when the master exists with the standby as its only lower.
standby_only()
{
	fo_roles
	[ -n "$FO_MASTER" ] && [ -n "$FO_STANDBY" ] &&
		lowers_are "$FO_MASTER" "$FO_STANDBY"
}

no_master()
{
	fo_roles
	[ -z "$FO_MASTER" ]
}

# check_triple: assert the triple in detail (lowers, uppers, roles, MAC)
check_triple()
{
	local m s p

	fo_roles
	m=$FO_MASTER
	s=$FO_STANDBY
	p=$FO_PRIMARY
	if [ -z "$m" ] || [ -z "$s" ] || [ -z "$p" ]; then
		check_err 1 "roles missing: master='$m' standby='$s' primary='$p'"
		return 1
	fi
	lowers_are "$m" "$s" "$p"
	check_err $? "lowers of $m are '$(fo_lowers "$m" | xargs)', want $s $p"
	is_upper "$s" "$m" && is_upper "$p" "$m"
	check_err $? "master links: $s->'$(dev_upper "$s")' $p->'$(dev_upper "$p")'"
	[ "$(dev_mac "$m")" = "$(dev_mac "$s")" ] &&
		[ "$(dev_mac "$m")" = "$(dev_mac "$p")" ]
	check_err $? "MACs differ: $(dev_mac "$m") $(dev_mac "$s") $(dev_mac "$p")"
	[ "$RET" -eq 0 ]
}

ft_dump_state()
{
	local d

	[ "${FT_DUMP_STATE:-1}" = 1 ] || return 0
	ktap_info "state: modules: $(lsmod | awk 'NR > 1 &&
		/^(failover|net_failover|virtio_net|e1000e) / {print $1}' | xargs)"
	for d in /sys/class/net/*; do
		d=${d##*/}
		[ "$d" = lo ] && continue
		ktap_info "state: $d driver=$(dev_driver "$d")" \
			"upper=$(dev_upper "$d") lowers=$(fo_lowers "$d" | xargs)" \
			"carrier=$(cat "/sys/class/net/$d/carrier" 2>/dev/null)" \
			"mtu=$(dev_mtu "$d")" \
			"tx=$(dev_stat "$d" tx_packets) rx=$(dev_stat "$d" rx_packets)"
	done
	ktap_info "state: primary pci: $(fo_primary_pci || echo absent)"
	dmesg | tail -n 8 | sed 's/^/# dmesg: /'
}

# --------------------------------------------------------------- modules

mod_loaded()
{
	[ -d "/sys/module/$1" ] && [ -e "/sys/module/$1/refcnt" ]
}

# Unload e1000e, virtio_net, net_failover and failover, in that order.
fo_unload_all()
{
	local m

	for m in e1000e virtio_net net_failover failover; do
		mod_loaded "$m" || continue
		modprobe -r "$m" 2>/dev/null || rmmod "$m" || return 1
	done
}

# Make sure the primary's PCI function exists (host re-add or rescan).
fo_ensure_primary_pci()
{
	local st

	primary_pci_present && return 0
	echo 1 > /sys/bus/pci/rescan
	busywait 2000 primary_pci_present && return 0
	st=$(host_cmd primary_state) || return 1
	if [ "$st" = "ok deleted" ]; then
		host_cmd device_add hostdev0 > /dev/null || return 1
	fi
	busywait 15000 primary_pci_present
}

# Load virtio_net, then e1000e, and wait for the triple; needs the primary
# to have been negotiated once (always the case after virtio_net ran).
fo_setup()
{
	modprobe virtio_net || return 1
	busywait 15000 standby_only || busywait 100 triple_formed || return 1
	fo_ensure_primary_pci || return 1
	# shellcheck disable=SC2086 # options are words
	modprobe e1000e ${FT_E1000E_OPTS:-} || return 1
	busywait 15000 triple_formed
}

# Start from nothing loaded, primary PCI device present if known.
fo_reset()
{
	fo_unload_all || return 1
	ip link set dev lo up
}

# Restore the standard triple, whatever state a test left.
fo_restore()
{
	local m

	m=$(fo_master)
	[ -n "$m" ] && ip link set dev "$m" mtu 1500 2>/dev/null
	fo_reset && fo_setup
}

# wait_primary_carrier: e1000e gets link seconds after registering (TCG)
wait_primary_carrier()
{
	fo_roles
	busywait 15000 dev_carrier "$FO_PRIMARY"
}

# ---------------------------------------------------------------- pktgen

FT_PG=/proc/net/pktgen

# pktgen_ready: pktgen is loaded (its unload deferred) and usable
pktgen_ready()
{
	if ! mod_loaded pktgen; then
		modprobe pktgen 2> /dev/null || return 1
		defer rmmod pktgen
	fi
	[ -w "$FT_PG/pgctrl" ]
}

# pktgen acts on thread and run requests asynchronously: a write of
# "rem_device_all" to kpktgend_N or of "start" to pgctrl only sets a flag
# for the thread and sleeps 125 ms; the thread looks at its flags when it
# next wakes (every 100 ms when idle), which under TCG on a loaded host can
# be later. So a rem_device_all may remove the device added right after
# it, and "start" may return before the run has begun (pktgen then reports
# "Idle" or "Starting" with pkts-sofar 0). The helpers below wait for the
# outcome instead.

_pktgen_thread_empty()
{
	! grep -qE '^(Running|Stopped): *[^ ]' "$FT_PG/kpktgend_0"
}

# pktgen_rem_all: thread 0 has no device (waits for the thread to act)
pktgen_rem_all()
{
	echo "rem_device_all" > "$FT_PG/kpktgend_0" || return 1
	busywait 10000 _pktgen_thread_empty
}

# pktgen_add DEV: DEV is thread 0's only device
pktgen_add()
{
	pktgen_rem_all || return 1
	echo "add_device $1" > "$FT_PG/kpktgend_0"
}

_pktgen_done()
{
	grep -q '^Result: OK:' "$FT_PG/$1"
}

# pktgen_run DEV TIMEOUT_MS: start thread 0 (DEV given by pktgen_add and
# configured) and wait until DEV's run has ended ("Result: OK: ..." in
# /proc/net/pktgen/DEV, set when a run stops: count reached, or the
# device went down or lost carrier)
pktgen_run()
{
	timeout $(($2 / 1000 + 1)) bash -c "echo start > $FT_PG/pgctrl"
	busywait "$2" _pktgen_done "$1"
}

# pktgen_takes DEV MODE OPT: pktgen, given DEV in xmit_mode MODE, takes
# OPT ("clone_skb 8", "burst 4"). It takes clone_skb and burst only on a
# device with IFF_TX_SKB_SHARING (burst never in queue_xmit); otherwise the
# write fails (ENOTSUPP). 0: taken, 1: refused, 2: DEV not given to pktgen.
# Thread 0 has no device afterwards.
pktgen_takes()
{
	local rc=0

	pktgen_add "$1" || return 2
	echo "xmit_mode $2" > "$FT_PG/$1"
	echo "$3" 2> /dev/null > "$FT_PG/$1" || rc=1
	pktgen_rem_all
	return "$rc"
}

# pktgen_sharing DEV: "yes" when pktgen takes clone_skb 8 (queue_xmit and
# start_xmit) and burst 4 (start_xmit) on DEV, "no" when it refuses all
# three, otherwise what each gave (pktgen_takes' status)
pktgen_sharing()
{
	local c rc all=

	for c in "queue_xmit clone_skb 8" "start_xmit clone_skb 8" \
		 "start_xmit burst 4"; do
		pktgen_takes "$1" "${c%% *}" "${c#* }"
		rc=$?
		all+="${all:+, }$c: $rc"
	done
	case $all in
	*": 1"* | *": 2"*)
		[[ $all == *": 0"* || $all == *": 2"* ]] || all=no;;
	*)
		all=yes;;
	esac
	echo "$all"
}

# ---------------------------------------------------------- host channel

# host_cmd <request...>: ask the runner for a QMP action; prints its
# answer ("ok ..." or "err ...") and fails unless it starts with "ok".
host_cmd()
{
	local reply

	if [ -z "${FT_CTL_FD:-}" ]; then
		[ -c "$FT_CTL_TTY" ] || { echo "err no $FT_CTL_TTY"; return 1; }
		stty -F "$FT_CTL_TTY" raw -echo 2>/dev/null
		exec {FT_CTL_FD}<>"$FT_CTL_TTY"
	fi
	printf '%s\n' "$*" >&"$FT_CTL_FD"
	if ! read -r -t 120 -u "$FT_CTL_FD" reply; then
		echo "err no answer from host to '$*'"
		return 1
	fi
	reply=${reply%$'\r'}
	echo "$reply"
	[ "${reply%% *}" = ok ]
}

host_available()
{
	[ -c "$FT_CTL_TTY" ] && host_cmd ping > /dev/null
}

# ----------------------------------------------------------- traffic

# ping_gw <count>: ICMP echo to slirp's gateway through the master; prints
# the number of replies received
ping_gw()
{
	local out

	out=$(busybox ping -c "$1" -i 0.2 -W 2 "$FT_HOST_GW" 2>&1)
	echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p'
}

# master_up_with_addr: bring the master up with slirp's address
master_up_with_addr()
{
	local m

	m=$(fo_master)
	[ -n "$m" ] || return 1
	ip addr flush dev "$m" 2>/dev/null
	ip addr add "$FT_ADDR" dev "$m" || return 1
	ip link set dev "$m" up
}

require_root_cmds()
{
	local c

	for c in "$@"; do
		command -v "$c" > /dev/null || skip_all "command $c missing"
	done
}
