#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the tests that drive net_failover through nfosim.ko, the
# simulated lower devices (see nfosim.c for the debugfs interface).
# Source after lib.sh.
#
# A group ID has a master (sim_master ID), a standby (lower "standby") and
# primaries (lowers "p1", "p2", ...). Lowers are addressed by group and
# lower name: sim_set 3 p1 carrier 0.

NFOSIM=/sys/kernel/debug/nfosim
SIM_DIR=$FT_DIR/nfosim
SIM_TX=$SIM_DIR/sim_tx.py
SIM_PARAM=/sys/module/net_failover/parameters/primary_pci_only

# nfosim_ko: an nfosim.ko built for the running kernel ($NFOSIM_KO first)
nfosim_ko()
{
	local ko kver v

	kver=$(uname -r)
	for ko in ${NFOSIM_KO:-} "$SIM_DIR/nfosim.ko"; do
		[ -f "$ko" ] || continue
		v=$(modinfo -F vermagic "$ko" 2>/dev/null)
		[ "${v%% *}" = "$kver" ] && echo "$ko" && return 0
	done
	return 1
}

nfosim_load()
{
	local ko

	mod_loaded nfosim && return 0
	modprobe -q nfosim 2>/dev/null && return 0
	ko=$(nfosim_ko) || return 1
	insmod "$ko"
}

# nfosim_unload: remove nfosim (and with it every group)
nfosim_unload()
{
	mod_loaded nfosim || return 0
	rmmod nfosim
}

# nfosim_setup: our net_failover accepting non-PCI primaries, and nfosim;
# skips the whole script when that is impossible.
nfosim_setup()
{
	[ "${FT_MODULES:-}" = stock ] &&
		skip_all "the stock net_failover only takes PCI primaries"
	[ -d /sys/kernel/debug/tracing ] || [ -d "$NFOSIM" ] ||
		mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	modprobe net_failover || skip_all "cannot load net_failover"
	[ -w "$SIM_PARAM" ] ||
		skip_all "this net_failover has no primary_pci_only parameter"
	echo 0 > "$SIM_PARAM"
	defer "echo 1 > $SIM_PARAM"
	nfosim_load ||
		skip_all "no nfosim.ko for $(uname -r) (make -C $SIM_DIR)"
	defer nfosim_unload
	[ -w "$NFOSIM/new_group" ] || skip_all "no $NFOSIM/new_group"
}

# sim_mac ID: the permanent MAC of group ID
sim_mac()
{
	printf '52:54:01:%02x:%02x:%02x\n' $((($1 >> 16) & 255)) \
		$((($1 >> 8) & 255)) $(($1 & 255))
}

# sim_new ID [key=value...]: a group with the standby registered
sim_new()
{
	local id=$1
	shift

	echo "$id $(sim_mac "$id") $*" > "$NFOSIM/new_group"
}

sim_del()
{
	echo "$1" > "$NFOSIM/del_group"
}

# sim_add ID PID [key=value...]: a primary (by default with the group MAC)
sim_add()
{
	local id=$1 pid=$2
	shift 2

	echo "$pid $*" > "$NFOSIM/$id/add_primary"
}

sim_rm()
{
	echo "$2" > "$NFOSIM/$1/del_primary"
}

# sim_set ID LOWER FILE VALUE
sim_set()
{
	echo "$4" > "$NFOSIM/$1/$2/$3"
}

# sim_get ID LOWER FILE
sim_get()
{
	local v=

	read -r v < "$NFOSIM/$1/$2/$3"
	echo "$v"
}

sim_master()
{
	local v=

	read -r v < "$NFOSIM/$1/master"
	echo "$v"
}

# sim_dev ID LOWER: current ifname of a lower ("" while unregistered)
sim_dev()
{
	sim_get "$1" "$2" ifname
}

# sim_lowers_are ID LOWER...: the master's lowers are exactly these
sim_lowers_are()
{
	local id=$1 l
	local -a devs=()
	shift

	for l in "$@"; do
		devs+=("$(sim_dev "$id" "$l")")
	done
	lowers_are "$(sim_master "$id")" "${devs[@]}"
}

# sim_check_group ID LOWER...: master links and lowers as listed, in detail
sim_check_group()
{
	local id=$1 m l d
	shift

	m=$(sim_master "$id")
	if ! dev_exists "$m"; then
		check_err 1 "group $id: no master"
		return 1
	fi
	sim_lowers_are "$id" "$@"
	check_err $? "group $id: lowers of $m are '$(fo_lowers "$m" | xargs)', want $*"
	for l in "$@"; do
		d=$(sim_dev "$id" "$l")
		is_upper "$d" "$m"
		check_err $? "group $id: $l ($d) has master '$(dev_upper "$d")', want $m"
	done
	[ "$RET" -eq 0 ]
}

# sim_tx_all ID: "LOWER=tx_packets ..." of the group's registered lowers
sim_tx_all()
{
	local id=$1 dir l d out=

	for dir in "$NFOSIM/$id"/*/; do
		l=${dir%/}
		l=${l##*/}
		d=$(sim_dev "$id" "$l")
		[ -n "$d" ] && out+="$l=$(dev_stat "$d" tx_packets) "
	done
	echo "$out"
}

# sim_active ID [N]: which lower transmit uses, from the data path: send
# N (64) frames on the master and see whose tx counter took them.
# Prints the lower ("standby", "p1", ...) or "none".
sim_active()
{
	local id=$1 n=${2:-64} m before after b a l

	m=$(sim_master "$id")
	before=$(sim_tx_all "$id")
	python3 "$SIM_TX" "$m" "$n" > /dev/null 2>&1
	after=$(sim_tx_all "$id")
	for a in $after; do
		l=${a%%=*}
		for b in $before; do
			[ "${b%%=*}" = "$l" ] || continue
			if [ $((${a#*=} - ${b#*=})) -ge "$n" ]; then
				echo "$l"
				return 0
			fi
		done
	done
	echo none
}

_sim_active_is()
{
	[ "$(sim_active "$1" 16)" = "$2" ]
}

# sim_wait_active ID LOWER [timeout_ms]: until transmit goes through LOWER
sim_wait_active()
{
	busywait "${3:-5000}" _sim_active_is "$1" "$2"
}

# sim_netdevs: the nfosim netdevs of this namespace, by their names
sim_netdevs()
{
	local p

	for p in /sys/class/net/nsb* /sys/class/net/npr*; do
		[ -e "$p" ] && echo "${p##*/}"
	done
}

# sim_no_leftovers: no netdev of this namespace (lower or master) hangs
# below an nfosim parent device, and no nfosim parent device is left
sim_no_leftovers()
{
	local p

	for p in /sys/class/net/*; do
		case $(readlink -f "$p/device" 2>/dev/null) in
		*/nfosim/*) return 1;;
		esac
	done
	! ls -d /sys/devices/nfosim/g* > /dev/null 2>&1
}

# sim_senders_start N DEV|@ID [seconds]: N background AF_PACKET senders;
# their "sent errors" lines go to /tmp/sim_tx.N
sim_senders_start()
{
	local n=$1 dev=$2 secs=${3:-0} i

	SIM_SENDERS=()
	for ((i = 0; i < n; i++)); do
		python3 "$SIM_TX" "$dev" 0 "$secs" > "/tmp/sim_tx.$i" 2>&1 &
		SIM_SENDERS+=($!)
	done
}

# sim_senders_stop: stop them; prints the total frames sent
sim_senders_stop()
{
	local pid i total=0 s

	for pid in "${SIM_SENDERS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${SIM_SENDERS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	for ((i = 0; i < ${#SIM_SENDERS[@]}; i++)); do
		read -r s _ < "/tmp/sim_tx.$i" 2>/dev/null || continue
		total=$((total + ${s:-0}))
	done
	SIM_SENDERS=()
	echo "$total"
}

# sim_online_cpus N: bring CPUs online up to N (hot-adding vCPUs through
# the host when the guest has fewer); prints how many are online
sim_online_cpus()
{
	local want=$1 c n props

	n=$(grep -c ^processor /proc/cpuinfo)
	if [ "$n" -lt "$want" ] && host_available; then
		props=$(host_cmd qmp query-hotpluggable-cpus 2>/dev/null |
			sed 's/^ok //' | python3 -c '
import json, sys
for c in json.load(sys.stdin):
	if "qom-path" not in c:
		a = dict(c["props"]); a["driver"] = c["type"]
		a["id"] = "simcpu%d" % c["props"].get("socket-id", 0)
		print(json.dumps(a, separators=(",", ":")))' 2>/dev/null)
		for c in $props; do
			[ "$n" -ge "$want" ] && break
			host_cmd qmp device_add "$c" > /dev/null && n=$((n + 1))
		done
	fi
	for c in /sys/devices/system/cpu/cpu[0-9]*/online; do
		[ -w "$c" ] && echo 1 > "$c" 2>/dev/null
	done
	grep -c ^processor /proc/cpuinfo
}
