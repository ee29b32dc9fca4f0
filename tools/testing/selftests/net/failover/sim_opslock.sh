#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# net_failover with a primary whose ops run under its instance lock
# (nfosim ops_lock=1: request_ops_lock, as mlx5 and other queue-managing
# drivers get it since 6.15). Its NETDEV_REGISTER, NETDEV_UP,
# NETDEV_CHANGE, NETDEV_FEAT_CHANGE... reach net_failover with that lock
# held, and dev_set_mtu(), dev_open() and the features sync take it: a
# master that takes it again hangs for good. Every step that could hang
# runs in the background and must finish within HANG_MS; the MTU checks
# also assert that the primary's ndo_change_mtu() ran under its lock.
#
# Skips on kernels without the instance lock (before 6.15).

ALL_TESTS="
	enslave
	mtu
	hotplug
	promisc
	lro
	adopt
	release
"

source "$(dirname "$(readlink -f "$0")")/lib.sh"
source "$FT_DIR/nfosim/nfosim_lib.sh"

require_root_cmds ip ethtool python3 modinfo
nfosim_setup

HANG_MS=${SIM_OPSLOCK_HANG_MS:-20000}
G=21		# the group under test
CYCLES=3

# finishes <what> <cmd> [args...]: cmd completes within HANG_MS (in the
# background: a deadlocked writer cannot be killed) and succeeds
finishes()
{
	local what=$1 pid rc
	shift

	"$@" &
	pid=$!
	if ! busywait "$HANG_MS" _gone "$pid"; then
		check_err 1 "$what: still running after ${HANG_MS} ms (instance lock taken twice?)"
		return 124
	fi
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] || check_err 1 "$what failed ($rc)"
	return "$rc"
}

_gone()
{
	! kill -0 "$1" 2>/dev/null
}

# locked_mtu_calls LOWER: SIM_LOCKED, SIM_CALLS of group G's LOWER
locked_mtu_calls()
{
	read -r SIM_LOCKED SIM_CALLS < "$NFOSIM/$G/$1/mtu_locked"
}

dev_promisc()
{
	(($(< "/sys/class/net/$1/flags") & 0x100))
}

not_promisc()
{
	! dev_promisc "$1"
}

dev_lro()
{
	ethtool -k "$1" 2>/dev/null | grep -q '^large-receive-offload: on'
}

# Probe: does this kernel give nfosim an instance lock at all?
sim_new 20 || skip_all "cannot create an nfosim group"
if ! out=$(sim_add 20 1 ops_lock=1 2>&1); then
	sim_del 20
	[[ $out == *"not supported"* ]] &&
		skip_all "kernel $(uname -r) has no netdev instance lock (request_ops_lock, 6.15+)"
	skip_all "nfosim refused ops_lock=1: $out"
fi
sim_del 20

enslave()
{
	sim_new "$G"
	check_err $? "new_group $G failed"
	finishes "enslaving an ops-locked primary" sim_add "$G" 1 ops_lock=1 &&
		sim_check_group "$G" standby p1
	finishes "master up" sim_up "$G"
	sim_wait_active "$G" p1 || check_err 1 "transmit on $SIM_ACTIVE, want p1"
	log_test "ops-locked primary enslaved and transmitting"
}

mtu()
{
	local m p l0 c0

	sim_m "$G"
	m=$SIM_M
	p=$(sim_dev "$G" p1)
	locked_mtu_calls p1
	l0=$SIM_LOCKED c0=$SIM_CALLS
	finishes "MTU 9000 on the master" ip link set dev "$m" mtu 9000
	[ "$(dev_mtu "$p")" = 9000 ]
	check_err $? "primary MTU $(dev_mtu "$p"), want 9000"
	locked_mtu_calls p1
	[ "$SIM_CALLS" -gt "$c0" ] && [ $((SIM_LOCKED - l0)) = $((SIM_CALLS - c0)) ]
	check_err $? "primary's ndo_change_mtu: $((SIM_LOCKED - l0)) of $((SIM_CALLS - c0)) calls under its instance lock"

	# Enslaving gives a new primary the master's MTU, under its lock.
	finishes "primary unregistered" sim_set "$G" p1 registered 0
	locked_mtu_calls p1
	l0=$SIM_LOCKED c0=$SIM_CALLS
	finishes "primary registered at MTU 1500" sim_set "$G" p1 registered 1
	p=$(sim_dev "$G" p1)
	sim_check_group "$G" standby p1
	[ "$(dev_mtu "$p")" = 9000 ]
	check_err $? "new primary MTU $(dev_mtu "$p"), want the master's 9000"
	locked_mtu_calls p1
	[ "$SIM_CALLS" -gt "$c0" ] && [ $((SIM_LOCKED - l0)) = $((SIM_CALLS - c0)) ]
	check_err $? "at enslave: $((SIM_LOCKED - l0)) of $((SIM_CALLS - c0)) MTU calls under the lock"
	finishes "MTU 1500 on the master" ip link set dev "$m" mtu 1500
	[ "$(dev_mtu "$p")" = 1500 ]
	check_err $? "primary MTU $(dev_mtu "$p"), want 1500"
	log_test "MTU set on an ops-locked primary, under its lock"
}

hotplug()
{
	local i

	for ((i = 0; i < CYCLES && RET == 0; i++)); do
		finishes "unplug $i" sim_set "$G" p1 registered 0 || break
		sim_check_group "$G" standby || break
		sim_wait_active "$G" standby ||
			check_err 1 "unplugged: transmit on $SIM_ACTIVE"
		finishes "replug $i" sim_set "$G" p1 registered 1 || break
		sim_check_group "$G" standby p1 || break
		sim_wait_active "$G" p1 ||
			check_err 1 "replugged: transmit on $SIM_ACTIVE"
		finishes "carrier off $i" sim_set "$G" p1 carrier 0
		sim_wait_active "$G" standby ||
			check_err 1 "no carrier: transmit on $SIM_ACTIVE"
		finishes "carrier on $i" sim_set "$G" p1 carrier 1
		sim_wait_active "$G" p1 ||
			check_err 1 "carrier back: transmit on $SIM_ACTIVE"
	done
	log_test "ops-locked primary: $i x unplug, replug, carrier off/on"
}

promisc()
{
	local m p

	sim_m "$G"
	m=$SIM_M
	finishes "master promisc on" ip link set dev "$m" promisc on
	p=$(sim_dev "$G" p1)
	busywait 5000 dev_promisc "$p"
	check_err $? "primary not promiscuous with the master promiscuous"
	# A primary joining a promiscuous master (set by the open work,
	# outside the instance lock enslaving runs under)
	finishes "primary unregistered" sim_set "$G" p1 registered 0
	finishes "primary registered" sim_set "$G" p1 registered 1
	p=$(sim_dev "$G" p1)
	busywait 5000 dev_promisc "$p"
	check_err $? "new primary not promiscuous"
	finishes "master promisc off" ip link set dev "$m" promisc off
	busywait 5000 not_promisc "$p"
	check_err $? "primary still promiscuous"
	log_test "promiscuity reaches an ops-locked primary, also a new one"
}

lro()
{
	local m p

	sim_m "$G"
	m=$SIM_M
	finishes "master LRO off" ethtool -K "$m" lro off
	dev_lro "$m" && check_err 1 "master LRO still on"
	finishes "primary deleted" sim_rm "$G" 1
	# The core would turn LRO off below a master without it, under the
	# primary's instance lock, which enslaving already holds.
	finishes "enslaving a primary with LRO on" sim_add "$G" 1 ops_lock=1 lro=1 &&
		sim_check_group "$G" standby p1
	p=$(sim_dev "$G" p1)
	dev_lro "$p" && check_err 1 "primary $p kept LRO below a master without it"
	# NETDEV_FEAT_CHANGE of the primary comes under its lock too
	ethtool -K "$p" lro on > /dev/null 2>&1 &
	local pid=$!
	busywait "$HANG_MS" _gone "$pid" ||
		check_err 1 "ethtool -K $p lro on hangs (instance lock taken twice?)"
	wait "$pid" 2>/dev/null
	dev_lro "$p" && check_err 1 "primary $p has LRO on below a master without it"
	sim_wait_active "$G" p1 || check_err 1 "transmit on $SIM_ACTIVE, want p1"
	log_test "LRO off on an ops-locked primary below a master without it"
}

# A primary registered before its master: failover_register() adopts it,
# and must take its instance lock itself to do as at NETDEV_REGISTER.
adopt()
{
	local p m

	sim_new 22
	sim_mac 23	# after sim_new, which sets SIM_MAC to its own
	finishes "foreign primary" sim_add 22 1 ops_lock=1 "mac=$SIM_MAC"
	p=$(sim_dev 22 p1)
	has_upper "$p" && check_err 1 "$p enslaved with no master for its MAC"
	finishes "group 23 adopting it" sim_new 23
	m=$(sim_master 23)
	busywait 3000 is_upper "$p" "$m"
	check_err $? "$p (ops-locked, registered first) not adopted by $m: master '$(dev_upper "$p")'"
	finishes "group 23 deleted" sim_del 23
	has_upper "$p" && check_err 1 "$p still has master $(dev_upper "$p")"
	sim_del 22
	log_test "ops-locked lower registered first: adopted and released"
}

release()
{
	local m s p

	m=$(sim_master "$G") s=$(sim_dev "$G" standby) p=$(sim_dev "$G" p1)
	finishes "primary deleted" sim_rm "$G" 1
	sim_check_group "$G" standby
	finishes "group deleted" sim_del "$G"
	dev_gone "$m" && dev_gone "$s" && dev_gone "$p"
	check_err $? "netdevs left: $(sim_netdevs | xargs)"
	log_test "ops-locked primary released, group deleted"
}

run_tests
