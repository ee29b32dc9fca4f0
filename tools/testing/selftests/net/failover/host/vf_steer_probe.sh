#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Selftest of the host-side probe tools/net/failover/probe/vf-steer-probe,
# without SR-IOV hardware:
#
# (a) the netlink part (VF MAC/VLAN through IFLA_VFINFO_LIST, restore,
#     errors) against netdevsim VFs, when netdevsim is available;
# (b) the capture and verdict part against a software model of the NIC:
#     a Linux bridge in its own netns stands for the embedded switch, veth
#     ports for the PF ("pf0"), the VF ("vf0") and the wire ("wire0" on the
#     host, "wire1" on a peer). Only the PF port floods unknown unicast, so
#     frames go to the PF unless the switch has an FDB entry for the MAC
#     towards the VF port. The model hook programs that entry either at
#     MAC assignment ("early", and removes it on 'state disable') or only
#     when the VF is up ("late"). "Unbinding" the VF moves vf0 to a parking
#     netns, "binding" brings it back (down). The probe's own code sends,
#     captures and judges real frames; only the VF configuration steps go
#     through the hook.
#
# KTAP output; exit 0 (pass), 1 (a failure), 4 (everything skipped).
# Everything runs in namespaces this script creates and removes on EXIT.
#
# Debian's 6.1 kernel (the one of vm/run_vm.py) is built without netdevsim:
# "vf_steer_probe.sh --build-netdevsim" builds it on the host from Debian's
# linux-source-6.1 against $KDIR of .cache/env into
# .cache/netdevsim/$KVER/netdevsim.ko, which this test loads when the
# running kernel has no netdevsim module (or give VSP_NETDEVSIM_KO=path).

ksft_pass=0
ksft_fail=1
ksft_skip=4

HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
ROOT=$(readlink -f "$HERE/../../../../../..")
SRC=$ROOT/tools/net/failover/probe
PROBE=${VSP_PROBE:-}

# Model parameters
SETTLE=${VSP_SETTLE:-150}
COUNT=20
ID=8086:154c			# what the model reports for blocked_ids
# Namespaces (names set by claim_names):
H=				# host: pf0, vf0, wire0; the probe runs here
S=				# the NIC's embedded switch: br0
P=				# peer: wire1
K=				# parking lot of an unbound vf0
N=				# netns of the netdevsim PF
NSIM_ID=			# a free netdevsim device id (setup_nsim)
NSIM_DEV=
declare -a netns_made=()
TMPD=
nsim_made=0
nsim_loaded=0
vf0_mac=
declare -a bg_pids=()

nr=0
fails=0
skips=0
PLAN=18

ktap_result()
{
	local rc=$1 desc=$2 reason=${3:-}

	nr=$((nr + 1))
	case $rc in
	0)	echo "ok $nr $desc";;
	4)	echo "ok $nr $desc # SKIP${reason:+ $reason}"
		skips=$((skips + 1));;
	*)	echo "not ok $nr $desc${reason:+ # $reason}"
		fails=$((fails + 1));;
	esac
}

info()
{
	echo "# $*"
}

# shellcheck disable=SC2317  # called through trap
cleanup()
{
	local p n

	for p in "${bg_pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for n in "${netns_made[@]}"; do
		ip netns del "$n" 2>/dev/null
	done
	if [ "$nsim_made" = 1 ]; then
		echo "$NSIM_ID" > /sys/bus/netdevsim/del_device 2>/dev/null
	fi
	[ "$nsim_loaded" = 1 ] && rmmod netdevsim 2> /dev/null
	[ -n "$TMPD" ] && rm -rf "$TMPD"
}
trap cleanup EXIT

skip_all()
{
	local i

	echo "TAP version 13"
	echo "1..$PLAN"
	for i in $(seq "$PLAN"); do
		echo "ok $i vf_steer_probe # SKIP $1"
	done
	exit $ksft_skip
}

fail_all()
{
	local i

	echo "TAP version 13"
	echo "1..$PLAN"
	for i in $(seq "$PLAN"); do
		echo "not ok $i vf_steer_probe # $1"
	done
	exit $ksft_fail
}

netns_add()
{
	ip netns add "$1" || return 1
	netns_made+=("$1")
}

# Names of this run: a random suffix, claimed by creating $H ("ip netns
# add" fails on a name that exists), so that runs at the same time (other
# worktrees on one machine) and the leftovers of a killed run never share
# a namespace; the other names follow from it.
claim_names()
{
	local sfx

	for _ in 1 2 3 4 5 6 7 8; do
		sfx=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
		H=vsp-h-$sfx S=vsp-s-$sfx P=vsp-p-$sfx K=vsp-k-$sfx
		N=vsp-n-$sfx
		netns_add "$H" 2> /dev/null && return 0
		[ -e "/run/netns/$H" ] || return 1	# not a name clash
	done
	return 1
}

# Build netdevsim.ko for the test kernel of .cache/env (see the header).
build_netdevsim()
{
	local tar=/usr/src/linux-source-6.1.tar.xz dir out

	# shellcheck source=/dev/null
	. "$ROOT/.cache/env" || return 1
	out=$ROOT/.cache/netdevsim/$KVER
	dir=$(mktemp -d /tmp/vsp-nsim.XXXXXX) || return 1
	tar -C "$dir" -xf "$tar" --wildcards \
		'linux-source-6.1/drivers/net/netdevsim/*' || return 1
	dir=$dir/linux-source-6.1/drivers/net/netdevsim
	# shellcheck disable=SC2016  # a make variable
	sed 's/^obj-$(CONFIG_NETDEVSIM)/obj-m/' "$dir/Makefile" > "$dir/Kbuild"
	make -C "$KDIR" M="$dir" modules || return 1
	mkdir -p "$out" && cp "$dir/netdevsim.ko" "$out/" || return 1
	rm -rf "${dir%/linux-source-6.1/*}"
	echo "built $out/netdevsim.ko"
}

if [ "${1:-}" = --build-netdevsim ]; then
	build_netdevsim
	exit
fi

# ----------------------------------------------------------------- setup

[ "$(id -u)" = 0 ] || skip_all "needs root"
command -v jq > /dev/null || skip_all "needs jq"
TMPD=$(mktemp -d /tmp/vsp-test.XXXXXX) || skip_all "no temporary directory"
claim_names || skip_all "no network namespaces"

if [ -z "$PROBE" ]; then
	PROBE=$SRC/vf-steer-probe
	if [ ! -x "$PROBE" ] || [ "$SRC/vf-steer-probe.c" -nt "$PROBE" ]; then
		if ! make -s -C "$SRC" OUTPUT="$TMPD/" > "$TMPD/build.log" 2>&1
		then
			pkg-config --exists libnl-3.0 2> /dev/null ||
				skip_all "building vf-steer-probe needs libnl-3 and pkg-config (Debian: libnl-3-dev)"
			fail_all "cannot build vf-steer-probe: $(grep -m1 error "$TMPD/build.log")"
		fi
		PROBE=$TMPD/vf-steer-probe
	fi
fi

echo "TAP version 13"
echo "1..$PLAN"
info "probe: $PROBE"

modprobe -q veth 2> /dev/null
modprobe -q bridge 2> /dev/null

model_ok=1
setup_model()
{
	local n p

	for n in "$S" "$P" "$K"; do
		netns_add "$n" || return 1
	done
	for n in "$H" "$S" "$P" "$K"; do
		ip -n "$n" link set lo up
		ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 2> /dev/null
	done
	ip -n "$S" link add br0 type bridge || return 1
	ip -n "$S" link set br0 up
	for p in pf0 vf0 wire0; do
		ip -n "$H" link add name "$p" type veth \
			peer name "$p-sw" netns "$S" || return 1
	done
	ip -n "$P" link add name wire1 type veth peer name wire1-sw netns "$S" ||
		return 1
	for p in pf0 vf0 wire0 wire1; do
		ip -n "$S" link set "$p-sw" master br0 up || return 1
	done
	# Unknown unicast only to the PF port; no learning anywhere.
	for p in vf0 wire0 wire1; do
		bridge -n "$S" link set dev "$p-sw" flood off learning off ||
			return 1
	done
	bridge -n "$S" link set dev pf0-sw learning off
	for p in pf0 vf0 wire0; do
		ip -n "$H" link set "$p" up
	done
	ip -n "$P" link set wire1 up
	vf0_mac=$(ip -n "$H" -j link show dev vf0 | jq -r '.[0].address')
	for p in pf0 vf0 wire0 wire1; do
		wait_fwd "$p-sw" || return 1
	done
}

# wait_fwd PORT: until the switch forwards on PORT. A port that got its
# carrier forwards only once the link watch has run (up to a second
# later, more on a loaded host): frames sent before are lost.
wait_fwd()
{
	local end=$((SECONDS + 20))

	until bridge -n "$S" link show dev "$1" | grep -q "state forwarding"
	do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# wait_event EVENT SECONDS: until the model hook has logged EVENT
wait_event()
{
	local end=$((SECONDS + $2))

	until grep -qx "$1" "$TMPD/events" 2> /dev/null; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# The model hook: $1 = early|late|refuse, then EVENT MAC VLAN. It logs
# EVENT, and EVENT-done once the step has ended; while a file
# hold-EVENT exists it logs EVENT-held and waits before doing the step.
# "up" ends when the switch forwards to the VF (its carrier, in the model).
cat > "$TMPD/hook.sh" << EOF
#!/bin/bash
mode=\$1 ev=\$2 mac=\$3 S=$S
$(declare -f wait_fwd)
echo "\$ev" >> "$TMPD/events"
if [ -e "$TMPD/hold-\$ev" ]; then
	echo "\$ev-held" >> "$TMPD/events"
	while [ -e "$TMPD/hold-\$ev" ]; do sleep 0.05; done
fi
fdb_add() { bridge -n $S fdb replace "\$mac" dev vf0-sw master static; }
fdb_del() { bridge -n $S fdb del "\$mac" dev vf0-sw master 2> /dev/null; true; }
case \$mode:\$ev in
refuse:assign) echo "model: MAC change refused" >&2; exit 1;;
early:assign|early:link-restore|late:up) fdb_add;;
*:unassign|early:link-disable|late:down) fdb_del;;
esac
case \$ev in
assign)
	bridge -n $H fdb show dev pf0 > "$TMPD/pf_addrs_at_assign"
	ip -n $H link set dev vf0 address "\$mac" 2> /dev/null; true;;
unbind) ip -n $H link set dev vf0 netns $K;;
bind) ip -n $K link set dev vf0 netns $H &&
	ip -n $H link set dev vf0 address "\$mac";;
up) wait_fwd vf0-sw;;
esac
rc=\$?
echo "\$ev-done" >> "$TMPD/events"
exit \$rc
EOF
chmod +x "$TMPD/hook.sh"

SEND_CMD="ip netns exec $P $PROBE --send-only wire1 --mac \$VSP_MAC --tag \$VSP_TAG --count \$VSP_COUNT --interval \$VSP_INTERVAL --vlan \$VSP_VLAN --vlan-proto \$VSP_VLAN_PROTO"

# probe_model MODE [probe options...]: run the probe on the model
probe_model()
{
	local mode=$1

	shift
	rm -f "$TMPD/events" "$TMPD/pf_addrs_at_assign"
	ip netns exec "$H" "$PROBE" --pf pf0 \
		--model-hook "$TMPD/hook.sh $mode" --model-vf vf0 \
		--model-id "$ID" --count "$COUNT" --settle "$SETTLE" \
		--wait 200 --link-timeout 3000 "$@"
}

# check_restored: nothing of the probe left in the model
check_restored()
{
	local mac=$1 what=""

	ip -n "$H" -br link show dev vf0 > /dev/null 2>&1 || what+=" vf0-missing"
	[ "$(ip -n "$H" -j link show dev vf0 2> /dev/null |
	     jq -r '.[0].address')" = "$vf0_mac" ] || what+=" vf0-mac"
	ip -n "$H" link show dev vf0 2> /dev/null | grep -q "[<,]UP[,>]" ||
		what+=" vf0-down"
	bridge -n "$H" fdb show dev pf0 | grep -qi "$mac" && what+=" pf0-addr"
	bridge -n "$S" fdb show | grep -qi "$mac" && what+=" switch-fdb"
	echo "$what"
}

# jstate FILE STATE FIELD
jstate()
{
	jq -r --arg s "$2" ".states[] | select(.state == \$s) | .$3" "$1"
}

setup_model > "$TMPD/setup.log" 2>&1 || model_ok=0
[ "$model_ok" = 1 ] || info "model setup failed: $(tail -n 3 "$TMPD/setup.log")"

model_test()
{
	if [ "$model_ok" != 1 ]; then
		ktap_result 4 "$1" "no veth/bridge model"
		return 1
	fi
	return 0
}

# ----------------------------------------------------------------- tests

# 1: usage
t="usage: --help, bad options"
{
	"$PROBE" --help > "$TMPD/help" &&
	grep -q "blocked_ids" "$TMPD/help" &&
	grep -q "Exit status" "$TMPD/help" &&
	grep -q "CAP_NET_ADMIN" "$TMPD/help"
} && rc=0 || rc=1
"$PROBE" --pf x --vf 0 --tx y --mac 01:00:5e:00:00:01 2> /dev/null
[ $? = 2 ] || rc=1
"$PROBE" --pf x --vf 0 2> /dev/null
[ $? = 2 ] || rc=1
ktap_result "$rc" "$t"

# 2, 3: early steering, human-readable output
t="model early: verdict 'steers early' from real frames"
if model_test "$t"; then
	probe_model early --tx wire0 --with-link-disable \
		> "$TMPD/early.txt" 2> "$TMPD/early.err"
	rc=$?
	sed 's/^/#   /' "$TMPD/early.txt"
	res=0
	[ $rc = 1 ] || { res=1; info "exit $rc, expected 1"; }
	grep -q "verdict: steers early: not safe as failover primary" \
		"$TMPD/early.txt" || res=1
	grep -q "net_failover blocked_ids=$ID" "$TMPD/early.txt" || res=1
	grep -q "'state disable' keeps the frames on the PF" \
		"$TMPD/early.txt" || res=1
	grep -q "^  up .*20/20 .*reach the VF" "$TMPD/early.txt" || res=1
	mac=$(sed -n 's/.*probe MAC \([0-9a-f:]*\).*/\1/p' "$TMPD/early.txt")
	grep -qi "$mac" "$TMPD/pf_addrs_at_assign" 2> /dev/null ||
		{ res=1; info "PF had no secondary address $mac"; }
	ktap_result $res "$t"

	t="model early: everything restored"
	left=$(check_restored "$mac")
	if [ -z "$left" ]; then
		ktap_result 0 "$t"
	else
		ktap_result 1 "$t" "left:$left"
	fi
else
	ktap_result 4 "model early: everything restored" "no model"
fi

# 4, 5: early steering, JSON, with a VLAN
t="model early --json --vlan: per-state results"
if model_test "$t"; then
	probe_model early --tx wire0 --vlan 100 --mac 02:00:00:5e:00:42 \
		--json > "$TMPD/early.json" 2> "$TMPD/early-json.err"
	rc=$?
	res=0
	jq -e . "$TMPD/early.json" > /dev/null || res=1
	[ $rc = 1 ] || res=1
	[ "$(jq -r .verdict "$TMPD/early.json")" = steers-early ] || res=1
	[ "$(jq -r .blocked_ids "$TMPD/early.json")" = "$ID" ] || res=1
	[ "$(jq -r .exit_code "$TMPD/early.json")" = 1 ] || res=1
	[ "$(jstate "$TMPD/early.json" baseline pf_rx)" = $COUNT ] || res=1
	for s in assigned unbound bound-down; do
		[ "$(jstate "$TMPD/early.json" "$s" pf_rx)" = 0 ] || res=1
		[ "$(jstate "$TMPD/early.json" "$s" reaches_pf)" = false ] ||
			res=1
	done
	[ "$(jstate "$TMPD/early.json" unbound vf_netdev)" = null ] || res=1
	# the probe keeps the VF netdev down before 'up': nothing on it
	for s in assigned bound-down; do
		[ "$(jstate "$TMPD/early.json" "$s" vf_rx)" = 0 ] || res=1
	done
	[ "$(jstate "$TMPD/early.json" up vf_rx)" = $COUNT ] || res=1
	info "$(jq -c '[.states[] | [.state, .pf_rx, .vf_rx]]' "$TMPD/early.json")"
	ktap_result $res "$t"
	t="model early --json: restored"
	left=$(check_restored 02:00:00:5e:00:42)
	if [ -z "$left" ]; then
		ktap_result 0 "$t"
	else
		ktap_result 1 "$t" "left:$left"
	fi
else
	ktap_result 4 "model early --json: restored" "no model"
fi

# 6, 7: late steering, frames from a peer through --send-cmd
t="model late (peer sender, VLAN): verdict 'safe' from real frames"
if model_test "$t"; then
	probe_model late --send-cmd "$SEND_CMD" --vlan 100 --json \
		--mac 02:00:00:5e:00:43 > "$TMPD/late.json" 2> "$TMPD/late.err"
	rc=$?
	res=0
	[ $rc = 0 ] || { res=1; info "exit $rc: $(tail -n 2 "$TMPD/late.err")"; }
	[ "$(jq -r .verdict "$TMPD/late.json")" = safe ] || res=1
	for s in baseline assigned unbound bound-down; do
		[ "$(jstate "$TMPD/late.json" "$s" pf_rx)" = $COUNT ] || res=1
		[ "$(jstate "$TMPD/late.json" "$s" vf_rx)" = 0 ] || res=1
	done
	[ "$(jstate "$TMPD/late.json" up vf_rx)" = $COUNT ] || res=1
	[ "$(jstate "$TMPD/late.json" up pf_rx)" = 0 ] || res=1
	info "$(jq -c '[.states[] | [.state, .pf_rx, .vf_rx]]' "$TMPD/late.json")"
	ktap_result $res "$t"
	t="model late: restored"
	left=$(check_restored 02:00:00:5e:00:43)
	if [ -z "$left" ]; then
		ktap_result 0 "$t"
	else
		ktap_result 1 "$t" "left:$left"
	fi
else
	ktap_result 4 "model late: restored" "no model"
fi

# 8, 9: interrupted runs restore everything. SIGTERM while the 'unbind'
# step runs: the hook holds it until the signal has been sent and the
# probe has had a second to act on it; the probe must let the step end
# (a step it abandons still ends, and changes the model after the
# restore), then undo it. SIGINT in the 'assigned' state: sent once the
# 'assign' step has ended, inside that state's SETTLE of 6 s.
for sig in TERM INT; do
	case $sig in
	TERM) at=unbind-held hold=unbind settle=$SETTLE code=143
	      t="model: SIGTERM during the 'unbind' step exits 143 with everything restored";;
	INT) at=assign-done hold='' settle=6000 code=130
	     t="model: SIGINT in the 'assigned' state exits 130 with everything restored";;
	esac
	model_test "$t" || continue
	res=0
	# no events of an earlier run: the wait below must see this one's
	rm -f "$TMPD/events"
	[ -z "$hold" ] || touch "$TMPD/hold-$hold"
	SETTLE=$settle probe_model early --tx wire0 --mac 02:00:00:5e:00:44 \
		--json > "$TMPD/sig.json" 2> "$TMPD/sig.err" &
	pid=$!
	bg_pids+=("$pid")
	# a loaded host can take long to get there
	wait_event "$at" 60 ||
		{ res=1; info "the probe never reached '$at' within 60 s"; }
	# the probe is the one child of this subshell ("ip netns exec"
	# execs it), whatever its name ($VSP_PROBE)
	ppid=$(pgrep -P "$pid" | head -n 1)
	ppid=${ppid:-$pid}
	kill -"$sig" "$ppid"
	if [ -n "$hold" ]; then
		sleep 1
		rm -f "$TMPD/hold-$hold"
	fi
	wait "$pid"
	rc=$?
	if [ -n "$hold" ] && ! wait_event "$hold-done" 20; then
		res=1
		info "the '$hold' step never ended"
	fi
	[ "$rc" = "$code" ] || { res=1; info "exit $rc, expected $code"; }
	grep -qx unassign "$TMPD/events" || res=1
	[ $sig = TERM ] && { grep -qx bind "$TMPD/events" || res=1; }
	left=$(check_restored 02:00:00:5e:00:44)
	[ -z "$left" ] || { res=1; info "left:$left"; }
	info "events: $(tr '\n' ' ' < "$TMPD/events")"
	ktap_result $res "$t"
done

# 10: no traffic
t="model: cable pulled -> exit 6 'no probe frame arrived anywhere'"
if model_test "$t"; then
	ip -n "$S" link set wire0-sw down
	probe_model early --tx wire0 -q > /dev/null 2> "$TMPD/notraffic.err"
	rc=$?
	ip -n "$S" link set wire0-sw up
	res=0
	wait_fwd wire0-sw || { res=1; info "wire0-sw does not forward again"; }
	[ $rc = 6 ] || res=1
	grep -q "no probe frame arrived anywhere: check the sender/peer cabling" \
		"$TMPD/notraffic.err" || res=1
	ktap_result $res "$t"
fi

# 11: refusal of the MAC change (the hook stands for the driver)
t="model: MAC change refused -> exit 5, restored"
if model_test "$t"; then
	probe_model refuse --tx wire0 --mac 02:00:00:5e:00:45 -q \
		> /dev/null 2> "$TMPD/refuse.err"
	rc=$?
	res=0
	[ $rc = 5 ] || res=1
	grep -q "refused" "$TMPD/refuse.err" || res=1
	left=$(check_restored 02:00:00:5e:00:45)
	[ -z "$left" ] || { res=1; info "left:$left"; }
	ktap_result $res "$t"
fi

# 12: permissions
# shellcheck disable=SC2317  # run through "declare -f"
drop_caps()
{
	local caps=$1

	shift
	if command -v capsh > /dev/null; then
		capsh --drop="$caps" -- -c '"$@"' sh "$@"
	else
		caps=${caps//cap_/}
		setpriv --bounding-set="-${caps//,/,-}" "$@"
	fi
}

t="model: without CAP_NET_ADMIN -> exit 4 'needs CAP_NET_ADMIN'"
if model_test "$t"; then
	ip netns exec "$H" bash -c "$(declare -f drop_caps); drop_caps cap_net_admin $PROBE --pf pf0 --tx wire0 --model-hook '$TMPD/hook.sh early' --model-vf vf0 -q" \
		> /dev/null 2> "$TMPD/perm.err"
	rc=$?
	res=0
	[ $rc = 4 ] || res=1
	grep -q "needs CAP_NET_ADMIN" "$TMPD/perm.err" || res=1
	left=$(check_restored 02:00:00:5e:00:46)
	[ -z "$left" ] || { res=1; info "left:$left"; }
	ktap_result $res "$t"
fi

# 13: not a PF
t="not a PF (veth) -> exit 3"
if model_test "$t"; then
	ip netns exec "$H" "$PROBE" --pf pf0 --vf 0 --tx wire0 -q \
		> /dev/null 2> "$TMPD/notpf.err"
	rc=$?
	if [ $rc = 3 ] && grep -q "not an SR-IOV PF" "$TMPD/notpf.err"; then
		ktap_result 0 "$t"
	else
		ktap_result 1 "$t" "exit $rc"
	fi
fi

# -------------------------------------------------------- (a) netdevsim

nsim_ok=1
nsim_pf=
setup_nsim()
{
	local ko=${VSP_NETDEVSIM_KO:-$ROOT/.cache/netdevsim/$(uname -r)/netdevsim.ko}

	modprobe -q netdevsim 2> /dev/null
	if [ ! -e /sys/bus/netdevsim/new_device ] && [ -f "$ko" ]; then
		modprobe -q psample 2> /dev/null
		insmod "$ko" && nsim_loaded=1
		info "netdevsim: loaded $ko ($nsim_loaded)"
	fi
	[ -w /sys/bus/netdevsim/new_device ] || return 1
	# a free device id (new_device refuses one in use)
	for _ in $(seq 20); do
		NSIM_ID=$((1000 + RANDOM % 30000))
		echo "$NSIM_ID 1" > /sys/bus/netdevsim/new_device 2> /dev/null &&
			nsim_made=1 && break
	done
	[ "$nsim_made" = 1 ] || return 1
	NSIM_DEV=/sys/bus/netdevsim/devices/netdevsim$NSIM_ID
	for _ in $(seq 50); do
		nsim_pf=$(find "$NSIM_DEV/net" -mindepth 1 -maxdepth 1 \
			-printf '%f\n' 2> /dev/null | head -n 1)
		[ -n "$nsim_pf" ] && break
		sleep 0.1
	done
	[ -n "$nsim_pf" ] || return 1
	netns_add "$N" || return 1
	ip link set dev "$nsim_pf" netns "$N" || return 1
	ip -n "$N" link set dev "$nsim_pf" up
}
setup_nsim 2> /dev/null || nsim_ok=0

nsim_test()
{
	if [ "$nsim_ok" != 1 ]; then
		ktap_result 4 "$1" "no netdevsim"
		return 1
	fi
	return 0
}

# vfinfo VF FIELD: from ip -j link show
vfinfo()
{
	ip -n "$N" -j link show dev "$nsim_pf" |
		jq -r ".[0].vfinfo_list[] | select(.vf == $1) | .$2"
}

# 14: a PF with SR-IOV but no VFs enabled
t="netdevsim: no VFs enabled -> exit 3"
if nsim_test "$t"; then
	ip netns exec "$N" "$PROBE" --pf "$nsim_pf" --vf 0 --preflight -q \
		> /dev/null 2> "$TMPD/novf.err"
	rc=$?
	if [ $rc = 3 ] && grep -q "has no VFs enabled" "$TMPD/novf.err"; then
		ktap_result 0 "$t"
	else
		ktap_result 1 "$t" "exit $rc"
	fi
fi

if [ "$nsim_ok" = 1 ]; then
	echo 2 > "$NSIM_DEV/sriov_numvfs" || nsim_ok=0
	ip -n "$N" link set dev "$nsim_pf" vf 1 mac 02:11:22:33:44:55
fi

# 15: preflight sets MAC + VLAN through netlink, reads back, restores
t="netdevsim: --preflight sets VF MAC+VLAN via netlink and restores them"
if nsim_test "$t"; then
	ip netns exec "$N" "$PROBE" --pf "$nsim_pf" --vf 1 --preflight \
		--mac 02:00:00:5e:00:47 --vlan 10 --qos 3 --json \
		> "$TMPD/nsim.json" 2> "$TMPD/nsim.err"
	rc=$?
	res=0
	[ $rc = 0 ] || { res=1; info "exit $rc: $(cat "$TMPD/nsim.err")"; }
	[ "$(jq -r .preflight.ok "$TMPD/nsim.json")" = true ] || res=1
	rb=$(jq -r .preflight.readback "$TMPD/nsim.json")
	info "$rb"
	case $rb in
	*"MAC 02:00:00:5e:00:47 VLAN 10 qos 3"*) ;;
	*) res=1;;
	esac
	[ "$(vfinfo 1 address)" = 02:11:22:33:44:55 ] ||
		{ res=1; info "VF 1 MAC now $(vfinfo 1 address)"; }
	vlan=$(vfinfo 1 'vlan_list[0].vlan // 0')
	[ "$vlan" = 0 ] || { res=1; info "VF 1 VLAN now $vlan"; }
	[ "$(vfinfo 0 address)" = 00:00:00:00:00:00 ] || res=1
	ktap_result $res "$t"
fi

# 16: VF index out of range
t="netdevsim: VF index out of range -> exit 3"
if nsim_test "$t"; then
	ip netns exec "$N" "$PROBE" --pf "$nsim_pf" --vf 5 --preflight -q \
		> /dev/null 2> "$TMPD/range.err"
	rc=$?
	if [ $rc = 3 ] &&
	   grep -q "VF index 5 out of range: .* has 2 VFs" "$TMPD/range.err"; then
		ktap_result 0 "$t"
	else
		ktap_result 1 "$t" "exit $rc"
	fi
fi

# 17: probe MAC already on another VF
t="netdevsim: probe MAC owned by another VF -> exit 2"
if nsim_test "$t"; then
	ip netns exec "$N" "$PROBE" --pf "$nsim_pf" --vf 0 --preflight -q \
		--mac 02:11:22:33:44:55 > /dev/null 2> "$TMPD/owned.err"
	rc=$?
	if [ $rc = 2 ] && grep -q "already VF 1's MAC" "$TMPD/owned.err"; then
		ktap_result 0 "$t"
	else
		ktap_result 1 "$t" "exit $rc"
	fi
fi

# 18: EPERM on RTM_SETLINK
t="netdevsim: without CAP_NET_ADMIN -> exit 4, VF unchanged"
if nsim_test "$t"; then
	ip netns exec "$N" bash -c "$(declare -f drop_caps); drop_caps cap_net_admin $PROBE --pf $nsim_pf --vf 1 --preflight --mac 02:00:00:5e:00:48 -q" \
		> /dev/null 2> "$TMPD/nsimperm.err"
	rc=$?
	res=0
	[ $rc = 4 ] || res=1
	grep -q "needs CAP_NET_ADMIN" "$TMPD/nsimperm.err" || res=1
	[ "$(vfinfo 1 address)" = 02:11:22:33:44:55 ] || res=1
	ktap_result $res "$t" "$( [ $res = 0 ] || cat "$TMPD/nsimperm.err")"
fi

echo "# vf_steer_probe: $((nr - fails - skips)) passed, $fails failed, $skips skipped"
[ "$nr" = "$PLAN" ] || { echo "# plan mismatch: $nr of $PLAN"; exit $ksft_fail; }
[ "$fails" = 0 ] || exit $ksft_fail
[ "$skips" = "$nr" ] && exit $ksft_skip
exit $ksft_pass
