#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the tests that drive net_failover through nfosim.ko, the
# simulated lower devices (see nfosim.c for the debugfs interface).
# Source after lib.sh.
#
# A group ID has a master, a standby (lower "standby") and primaries
# (lowers "p1", "p2", ...); lowers are named by group and lower:
# sim_set 3 p1 carrier 0.
#
# Under TCG every fork costs tens of milliseconds, so the helpers used in
# loops return through variables instead of printing: sim_m ID sets SIM_M
# (the master), sim_d ID LOWER sets SIM_D (its ifname), sim_v ID LOWER FILE
# sets SIM_V, sim_active ID sets SIM_ACTIVE. The printing forms (sim_master,
# sim_dev, sim_get) are for messages and one-off use.

NFOSIM=/sys/kernel/debug/nfosim
SIM_DIR=$FT_DIR/nfosim
SIM_TX=$SIM_DIR/sim_tx.py
SIM_PEER_MAC=02:6e:66:6f:00:02
SIM_M=
SIM_D=
SIM_V=
SIM_ACTIVE=
SIM_SENT=0
declare -a SIM_SENDERS=()
declare -A SIM_IP_ON=()

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
	SIM_IP_ON=()
	rmmod nfosim
}

# nfosim_setup: our net_failover and nfosim, whose primaries have a PCI
# parent (QEMU's pci-testdev). When that is impossible the whole script
# skips, unless the runner put nfosim.ko in the guest (FT_NFOSIM=1, set by
# run_vm_ext.py --add-module nfosim=...): then it must work, and every
# test fails instead.
nfosim_setup()
{
	local cannot=skip_all

	[ "${FT_MODULES:-}" = stock ] &&
		skip_all "these tests check our net_failover (FT_MODULES=stock)"
	[ "${FT_NFOSIM:-0}" = 1 ] && cannot=fail_all
	[ -d /sys/kernel/debug/tracing ] ||
		mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	modprobe net_failover || $cannot "cannot load net_failover"
	nfosim_load ||
		$cannot "nfosim does not load on $(uname -r) (modprobe nfosim; or $SIM_DIR/nfosim.ko: make -C $SIM_DIR)"
	defer nfosim_unload
	[ -w "$NFOSIM/new_group" ] || $cannot "no $NFOSIM/new_group"
	[ -n "$(< "$NFOSIM/pci_parent")" ] ||
		$cannot "no PCI parent for simulated primaries (QEMU -device pci-testdev)"
}

# sim_mac ID: sets SIM_MAC, the permanent MAC of group ID
sim_mac()
{
	printf -v SIM_MAC '52:54:01:%02x:%02x:%02x' $((($1 >> 16) & 255)) \
		$((($1 >> 8) & 255)) $(($1 & 255))
}

# sim_new ID [key=value...]: a group with the standby registered
sim_new()
{
	local id=$1
	shift

	sim_mac "$id"
	echo "$id $SIM_MAC $*" > "$NFOSIM/new_group"
}

sim_del()
{
	unset "SIM_IP_ON[$1]"
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

sim_v()
{
	SIM_V=
	read -r SIM_V < "$NFOSIM/$1/$2/$3"
}

sim_get()
{
	sim_v "$@"
	echo "$SIM_V"
}

sim_m()
{
	SIM_M=
	read -r SIM_M < "$NFOSIM/$1/master"
}

sim_master()
{
	sim_m "$1"
	echo "$SIM_M"
}

sim_d()
{
	SIM_D=
	read -r SIM_D < "$NFOSIM/$1/$2/ifname"
}

sim_dev()
{
	sim_d "$1" "$2"
	echo "$SIM_D"
}

# sim_lower_names ID: sets SIM_LOWERS to the group's lowers ("standby p1 ..")
sim_lower_names()
{
	local dir

	SIM_LOWERS=()
	for dir in "$NFOSIM/$1"/*/; do
		dir=${dir%/}
		SIM_LOWERS+=("${dir##*/}")
	done
}

# sim_lowers_are ID LOWER...: the master's lowers are exactly these
sim_lowers_are()
{
	local id=$1 l
	local -a devs=()
	shift

	for l in "$@"; do
		sim_d "$id" "$l"
		devs+=("$SIM_D")
	done
	sim_m "$id"
	lowers_are "$SIM_M" "${devs[@]}"
}

# sim_check_group ID LOWER...: master links and lowers as listed, in detail
sim_check_group()
{
	local id=$1 m l
	shift

	sim_m "$id"
	m=$SIM_M
	if ! dev_exists "$m"; then
		check_err 1 "group $id: no master"
		return 1
	fi
	sim_lowers_are "$id" "$@" ||
		check_err 1 "group $id: lowers of $m are '$(fo_lowers "$m" | xargs)', want $*"
	for l in "$@"; do
		sim_d "$id" "$l"
		is_upper "$SIM_D" "$m" ||
			check_err 1 "group $id: $l ($SIM_D) has master '$(dev_upper "$SIM_D")', want $m"
	done
	[ "$RET" -eq 0 ]
}

# sim_ip ID: give the master an IPv4 address and a permanent neighbour, so
# that sim_send can transmit through it from the shell, without a fork
sim_ip()
{
	local id=$1 net

	net=10.$((($1 >> 8) & 255)).$(($1 & 255))
	sim_m "$id"
	ip addr add "$net.1/24" dev "$SIM_M" 2>/dev/null
	ip neigh replace "$net.2" lladdr "$SIM_PEER_MAC" nud permanent \
		dev "$SIM_M" && SIM_IP_ON[$id]=$SIM_M
}

# sim_up ID: master up, with the address and neighbour of sim_ip (a
# master going down loses its neighbours, so this is needed after each up)
sim_up()
{
	sim_m "$1"
	ip link set dev "$SIM_M" up && sim_ip "$1"
}

# sim_master_tx_grows ID N: the master's tx_packets grows by N while we
# watch (up to 60 s: Python starts slowly under TCG over 9p)
sim_master_tx_grows()
{
	local a b

	sim_m "$1"
	read -r a < "/sys/class/net/$SIM_M/statistics/tx_packets" || return 1
	_sim_tx_above()
	{
		read -r b < "/sys/class/net/$SIM_M/statistics/tx_packets" &&
			[ "$b" -ge "$1" ]
	}
	busywait 60000 _sim_tx_above $((a + $2))
}

# sim_send ID N: transmit N frames through the master (UDP to the
# permanent neighbour of sim_ip; AF_PACKET from Python without one)
sim_send()
{
	local id=$1 n=$2 i dst

	dst=10.$((($1 >> 8) & 255)).$(($1 & 255)).2
	sim_m "$id"
	if [ "${SIM_IP_ON[$id]:-}" = "$SIM_M" ]; then
		for ((i = 0; i < n; i++)); do
			echo x > "/dev/udp/$dst/9"
		done 2>/dev/null
	else
		python3 "$SIM_TX" "$SIM_M" "$n" > /dev/null 2>&1
	fi
}

# sim_tx_counts ID: SIM_TX_COUNT[LOWER]=tx_packets of the registered lowers
sim_tx_counts()
{
	local l v

	declare -gA SIM_TX_COUNT=()
	sim_lower_names "$1"
	for l in "${SIM_LOWERS[@]}"; do
		sim_d "$1" "$l"
		[ -n "$SIM_D" ] || continue
		v=
		read -r v 2>/dev/null < "/sys/class/net/$SIM_D/statistics/tx_packets"
		[ -n "$v" ] && SIM_TX_COUNT[$l]=$v
	done
}

# sim_active ID [N]: which lower transmit uses, from the data path: send N
# (16) frames on the master and see whose tx counter took them. Sets
# SIM_ACTIVE to the lower ("standby", "p1", ...) or "none".
sim_active()
{
	local id=$1 n=${2:-16} l
	local -A before=()

	sim_tx_counts "$id"
	for l in "${!SIM_TX_COUNT[@]}"; do
		before[$l]=${SIM_TX_COUNT[$l]}
	done
	sim_send "$id" "$n"
	sim_tx_counts "$id"
	SIM_ACTIVE=none
	for l in "${!SIM_TX_COUNT[@]}"; do
		[ -n "${before[$l]:-}" ] || continue
		if [ $((SIM_TX_COUNT[$l] - before[$l])) -ge "$n" ]; then
			SIM_ACTIVE=$l
			return 0
		fi
	done
}

_sim_active_is()
{
	sim_active "$1"
	[ "$SIM_ACTIVE" = "$2" ]
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

# sim_senders_stop: stop them; SIM_SENT is the total of frames they sent
# (not in a subshell: only this shell can wait for them)
sim_senders_stop()
{
	local pid i s

	for pid in "${SIM_SENDERS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${SIM_SENDERS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	SIM_SENT=0
	for ((i = 0; i < ${#SIM_SENDERS[@]}; i++)); do
		s=
		read -r s _ < "/tmp/sim_tx.$i" 2>/dev/null || continue
		SIM_SENT=$((SIM_SENT + ${s:-0}))
	done
	SIM_SENDERS=()
}

_sim_cpus_present()
{
	local c n=0

	for c in /sys/devices/system/cpu/cpu[0-9]*; do
		n=$((n + 1))
	done
	[ "$n" -ge "$1" ]
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
		busywait 5000 _sim_cpus_present "$n"
	fi
	for c in /sys/devices/system/cpu/cpu[0-9]*/online; do
		[ -w "$c" ] && echo 1 > "$c" 2>/dev/null
	done
	grep -c ^processor /proc/cpuinfo
}
