#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Concurrent churn on simulated failover groups (nfosim.ko) while frames
# are sent through the masters from every CPU (pktgen threads and an
# AF_PACKET sender) and received on the lowers: lower registration,
# carrier, MTU (with refusals), renames, namespace moves, master up/down,
# promiscuity, VLANs on the master, and whole groups created and deleted.
# Afterwards every group must settle into a coherent state, everything
# must unload, and the kernel must not have complained (the runner scans
# the console; a debug kernel adds lockdep, KASAN, kmemleak, refcount
# tracking).
#
# Environment: SIM_STRESS_SECS (60) how long the churn runs,
# SIM_STRESS_GROUPS (4) persistent groups, SIM_STRESS_CPUS (2) CPUs to
# have online (vCPUs are hot-added through the host when missing).

ALL_TESTS="
	stress_setup
	stress_churn
	stress_settle
	stress_teardown
"

source "$(dirname "$(readlink -f "$0")")/lib.sh"
source "$FT_DIR/nfosim/nfosim_lib.sh"

require_root_cmds ip python3 modinfo
nfosim_setup

SECS=${SIM_STRESS_SECS:-60}
NGROUPS=${SIM_STRESS_GROUPS:-4}
NCPUS=${SIM_STRESS_CPUS:-2}
FIRST=11
CHURN_ID=99
NS=simstress
STATE=/tmp/simstress
MTUS=(1280 1500 4000 9000 1500)
declare -a GROUPS_=()
declare -a WORKERS=()
PKTGEN=0
PKTGEN_SHARED=0
PKTGEN_SHARED_WANT=0
# Masters take pktgen's clone_skb and burst only with tx_skb_sharing on
# (off by default, fixed when net_failover loads): the run reloads the
# module with it.
SHARING_PARAM=/sys/module/net_failover/parameters/tx_skb_sharing
FCTL=${FAILOVERCTL:-$(readlink -f "$FT_DIR/../../../../net/failover/failoverctl")}

for ((g = FIRST; g < FIRST + NGROUPS; g++)); do
	GROUPS_+=("$g")
done

# ---------------------------------------------------------------- workers

# Each worker loops until the deadline and counts what it did in
# $STATE/NAME (attempts; refusals are expected and not counted apart).
worker_begin()
{
	ft_now
	W_END=$((FT_NOW + SECS * 1000))
	W_N=0
}

worker_more()
{
	((W_N % 8)) || ft_now
	[ "$FT_NOW" -lt "$W_END" ]
}

worker_end()
{
	echo "$W_N" > "$STATE/$1"
}

pick_group()
{
	W_G=${GROUPS_[RANDOM % NGROUPS]}
}

pick_lower()
{
	local l=(standby p1 p2)

	pick_group
	W_L=${l[RANDOM % 3]}
}

w_register()
{
	local name=register$1

	worker_begin
	while worker_more; do
		pick_lower
		sim_set "$W_G" "$W_L" registered 0
		sim_set "$W_G" "$W_L" registered 1
		W_N=$((W_N + 2))
	done 2> /dev/null
	worker_end "$name"
}

w_carrier()
{
	local name=carrier$1

	worker_begin
	while worker_more; do
		pick_lower
		sim_set "$W_G" "$W_L" carrier $((RANDOM % 2))
		W_N=$((W_N + 1))
	done 2> /dev/null
	worker_end "$name"
}

w_rx()
{
	local k=(ucast bcast mcast)

	worker_begin
	while worker_more; do
		pick_lower
		sim_set "$W_G" "$W_L" rx "64 ${k[RANDOM % 3]}"
		W_N=$((W_N + 64))
	done 2> /dev/null
	worker_end rx
}

w_mtu()
{
	worker_begin
	while worker_more; do
		pick_group
		sim_m "$W_G"
		case $((RANDOM % 6)) in
		0)	sim_set "$W_G" p1 fail_mtu Y;;
		1)	sim_set "$W_G" p1 fail_mtu N;;
		2)	sim_set "$W_G" p2 max_mtu $((RANDOM % 2 ? 1500 : 9000));;
		3)	sim_d "$W_G" p1
			ip link set dev "$SIM_D" mtu 1400;;
		*)	ip link set dev "$SIM_M" mtu "${MTUS[RANDOM % 5]}";;
		esac
		W_N=$((W_N + 1))
	done > /dev/null 2>&1
	worker_end mtu
}

w_rename()
{
	worker_begin
	while worker_more; do
		pick_lower
		sim_d "$W_G" "$W_L"
		[ -n "$SIM_D" ] &&
			ip link set dev "$SIM_D" name "r${W_G}${W_L}x$((W_N % 3))"
		W_N=$((W_N + 1))
	done > /dev/null 2>&1
	worker_end rename
}

w_netns()
{
	worker_begin
	while worker_more; do
		pick_lower
		sim_d "$W_G" "$W_L"
		if [ -n "$SIM_D" ] && ip link set dev "$SIM_D" netns "$NS"; then
			ip -n "$NS" link set dev "$SIM_D" netns 1
		fi
		W_N=$((W_N + 1))
	done > /dev/null 2>&1
	worker_end netns
}

w_master()
{
	local onoff=(on off)

	worker_begin
	while worker_more; do
		pick_group
		sim_m "$W_G"
		case $((RANDOM % 9)) in
		0)	ip link set dev "$SIM_M" down
			sim_up "$W_G";;
		1)	ip link set dev "$SIM_M" promisc "${onoff[RANDOM % 2]}";;
		2)	ip link set dev "$SIM_M" allmulticast "${onoff[RANDOM % 2]}";;
		3)	ip link add link "$SIM_M" name "v$W_G" type vlan id "$W_G";;
		4)	ip link del "v$W_G";;
		# every transmit setting, while pktgen sends shared skbs
		5)	"$FCTL" set "$SIM_M" force-standby "${onoff[RANDOM % 2]}";;
		6)	"$FCTL" set "$SIM_M" holddown $((RANDOM % 3 * 50));;
		7)	"$FCTL" set "$SIM_M" peer-notify $((RANDOM % 3));;
		8)	"$FCTL" set-lower "$(sim_dev "$W_G" p1)" blocked \
				"${onoff[RANDOM % 2]}";;
		esac
		W_N=$((W_N + 1))
	done > /dev/null 2>&1
	worker_end master
}

# A group created and deleted over and over, with a primary and traffic.
w_churn()
{
	worker_begin
	while worker_more; do
		sim_new "$CHURN_ID" && sim_add "$CHURN_ID" 1 &&
			sim_up "$CHURN_ID"
		sim_set "$CHURN_ID" p1 rx "32 bcast"
		sim_del "$CHURN_ID"
		W_N=$((W_N + 1))
	done > /dev/null 2>&1
	worker_end churn
}

start_worker()
{
	"$@" &
	WORKERS+=($!)
}

# ---------------------------------------------------------------- traffic

pktgen_setup()
{
	local t c g i=0

	modprobe pktgen 2> /dev/null && [ -w /proc/net/pktgen/pgctrl ] ||
		return 1
	for t in /proc/net/pktgen/kpktgend_*; do
		c=${t##*_}
		echo rem_device_all > "$t"
		for g in "${GROUPS_[@]}"; do
			# every thread sends on every other master
			[ $(((g + c) % 2)) = 0 ] || continue
			sim_m "$g"
			echo "add_device $SIM_M@$c" > "$t" || continue
			case $((i % 4)) in
			1|2)	PKTGEN_SHARED_WANT=$((PKTGEN_SHARED_WANT + 1));;
			esac
			{
				echo "count 0"
				echo "clone_skb 0"
				echo "pkt_size 64"
				echo "delay 0"
				echo "dst_mac $SIM_PEER_MAC"
				echo "dst 10.0.$g.2"
				# both modes, each also with the same skb sent
				# several times (the master takes shared skbs
				# with tx_skb_sharing on)
				case $((i++ % 4)) in
				0)	echo "xmit_mode queue_xmit";;
				1)	echo "xmit_mode queue_xmit"
					echo "clone_skb 8";;
				2)	echo "burst 4";;
				esac
			} > "/proc/net/pktgen/$SIM_M@$c" 2> /dev/null
			grep -Eq 'clone_skb: 8|burst: 4' \
				"/proc/net/pktgen/$SIM_M@$c" &&
				PKTGEN_SHARED=$((PKTGEN_SHARED + 1))
		done
	done
}

# pktgen stops a device when it loses carrier or goes down: restart it
# until the deadline.
w_pktgen()
{
	worker_begin
	while worker_more; do
		echo start > /proc/net/pktgen/pgctrl
		W_N=$((W_N + 8))
		ft_sleep 0.05
	done 2> /dev/null
	echo $((W_N / 8)) > "$STATE/pktgen_runs"
}

# Stop pktgen (its worker may be blocked in a run) and wait for the worker.
pktgen_stop()
{
	local i

	for ((i = 0; i < 50; i++)); do
		echo stop > /proc/net/pktgen/pgctrl
		kill -0 "$1" 2> /dev/null || break
		ft_sleep 0.2
	done
	wait "$1"
}

# ------------------------------------------------------------------ tests

stress_setup()
{
	local g n share

	rm -rf "$STATE"
	mkdir -p "$STATE"
	ip netns del "$NS" 2> /dev/null
	ip netns add "$NS"
	defer ip netns del "$NS"
	n=$(sim_online_cpus "$NCPUS")
	read -r share < "$SHARING_PARAM"
	if [ "$share" != Y ]; then
		nfosim_unload && fo_unload_all &&
			modprobe net_failover tx_skb_sharing=1 && nfosim_load
		check_err $? "cannot reload net_failover with tx_skb_sharing=1"
		defer "nfosim_unload; fo_restore"
	fi
	for g in "${GROUPS_[@]}"; do
		sim_new "$g" && sim_add "$g" 1 && sim_add "$g" 2 && sim_up "$g"
		check_err $? "group $g not set up"
		sim_check_group "$g" standby p1 || break
		has_upper "$(sim_dev "$g" p2)"
		check_fail $? "group $g: second primary p2 enslaved"
	done
	if pktgen_setup; then
		PKTGEN=1
		[ "$PKTGEN_SHARED" -gt 0 ] &&
			[ "$PKTGEN_SHARED" -eq "$PKTGEN_SHARED_WANT" ]
		check_err $? "the masters refused pktgen's clone_skb and burst ($PKTGEN_SHARED of $PKTGEN_SHARED_WANT devices took them)"
	fi
	ktap_info "pktgen devices sending shared skbs: $PKTGEN_SHARED of" \
		"$PKTGEN_SHARED_WANT"
	log_test "setup: $NGROUPS groups, $n CPUs, pktgen $PKTGEN"
}

stress_churn()
{
	local tx0=0 tx1=0 g v f summary="" total=0 sent pktgen_pid=

	for g in "${GROUPS_[@]}"; do
		tx0=$((tx0 + $(dev_stat "$(sim_master "$g")" tx_packets)))
	done
	if [ "$PKTGEN" = 1 ]; then
		w_pktgen &
		pktgen_pid=$!
	fi
	sim_senders_start 1 "@${GROUPS_[0]}"
	for f in "w_register 1" "w_register 2" "w_carrier 1" "w_carrier 2" \
		 w_rx w_mtu w_rename w_netns w_master w_churn; do
		# shellcheck disable=SC2086 # function and its argument
		start_worker $f
	done
	for v in "${WORKERS[@]}"; do
		wait "$v"
	done
	[ -n "$pktgen_pid" ] && pktgen_stop "$pktgen_pid"
	sim_senders_stop
	sent=$SIM_SENT
	WORKERS=()
	for f in "$STATE"/*; do
		read -r v < "$f"
		summary+=" ${f##*/}=$v"
		[ "${f##*/}" = pktgen_runs ] || [ "${f##*/}" = rx ] ||
			total=$((total + v))
	done
	for g in "${GROUPS_[@]}"; do
		tx1=$((tx1 + $(dev_stat "$(sim_master "$g")" tx_packets)))
	done
	ktap_info "churn for ${SECS}s:$summary"
	ktap_info "frames through the masters: $((tx1 - tx0)) (AF_PACKET $sent)"
	[ "$total" -gt 0 ]
	check_err $? "no operation was carried out"
	[ $((tx1 - tx0)) -gt 0 ]
	check_err $? "no frame went through the masters"
	log_test "churn: $total control operations under traffic"
}

# Put everything back and check that every group is coherent: the master
# has the standby and exactly one of the two primaries (the other one was
# refused as a second primary), transmit uses that primary, MTUs agree.
find_primary()
{
	local l

	P=
	for l in p1 p2; do
		sim_d "$1" "$l"
		is_upper "$SIM_D" "$SIM_M" && P=$l
	done
}

stress_settle()
{
	local g l m p other orphans=0

	ip netns del "$NS"
	for g in "${GROUPS_[@]}"; do
		for l in standby p1 p2; do
			sim_set "$g" "$l" fail_mtu N
			sim_set "$g" "$l" max_mtu 9000
			sim_set "$g" "$l" carrier 1
			sim_set "$g" "$l" registered 1
		done
		sim_m "$g"
		m=$SIM_M
		ip link set dev "$m" promisc off allmulticast off
		ip link del "v$g" 2> /dev/null
		ip link set dev "$m" mtu 1500 || check_err 1 "$m refuses MTU 1500"
		# w_master's settings back to the defaults
		"$FCTL" set "$m" force-standby off holddown 0 peer-notify 1 ||
			check_err 1 "failoverctl set $m failed"
		sim_up "$g"
		find_primary "$g"
		if [ -z "$P" ]; then
			# Both primaries registered, neither enslaved: the one
			# that was refused while the other held the slot is not
			# taken when the slot frees. Registering again does it.
			orphans=$((orphans + 1))
			sim_set "$g" p1 registered 0
			sim_set "$g" p1 registered 1
			find_primary "$g"
		fi
		p=$P
		other=p1
		[ "$p" = p1 ] && other=p2
		if [ -z "$p" ]; then
			check_err 1 "group $g: no primary enslaved after settling"
		else
			sim_d "$g" "$p"
			"$FCTL" set-lower "$SIM_D" blocked off ||
				check_err 1 "failoverctl set-lower $SIM_D blocked off failed"
			sim_check_group "$g" standby "$p"
			sim_d "$g" "$other"
			has_upper "$SIM_D" &&
				check_err 1 "group $g: $other ($SIM_D) has master $(dev_upper "$SIM_D")"
			sim_wait_active "$g" "$p" ||
				check_err 1 "group $g: transmit on $SIM_ACTIVE, want $p"
		fi
		for l in standby "$p"; do
			sim_d "$g" "$l"
			[ "$(dev_mtu "$SIM_D")" = 1500 ] ||
				check_err 1 "group $g: $l MTU $(dev_mtu "$SIM_D")"
		done
		[ "$RET" = 0 ] || break
	done
	[ "$orphans" = 0 ] ||
		ktap_info "$orphans group(s) had an eligible primary left unenslaved"
	log_test "settle: every group has its standby and one primary, in use"
}

stress_teardown()
{
	local g

	for g in "${GROUPS_[@]}"; do
		sim_del "$g"
		check_err $? "cannot delete group $g"
	done
	sim_del "$CHURN_ID" 2> /dev/null
	[ "$PKTGEN" = 1 ] && rmmod pktgen
	nfosim_unload
	check_err $? "cannot unload nfosim"
	sim_no_leftovers
	check_err $? "left over: $(sim_netdevs | xargs)"
	dmesg | grep -q 'unregister_netdevice: waiting'
	check_fail $? "a netdev was waited for: $(dmesg | grep -m1 'unregister_netdevice: waiting')"
	log_test "teardown: groups deleted, nfosim unloaded, nothing left"
}

run_tests
