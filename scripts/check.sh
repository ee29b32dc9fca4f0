#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run every test from a fresh machine: setup, then for each kernel of
# .cache/kernels/ (Debian 12's 6.1, Debian 13's 6.12, Debian 13
# backports' 7.3) the build (W=1), sparse, the CRC/vermagic check of the
# built modules against that kernel, and the guest selftests on that
# kernel with its stock virtio_net and e1000e and our modules (ACPI
# hotplug: every script; native PCIe hotplug: the hotplug scripts; a
# guest with the simulated lowers of nfosim.ko: SIM_TESTS); once:
# checkpatch, kernel-doc, the tools, the docs and the host tests, and, on
# 6.1, a real Debian 12 userspace on stock and on our modules
# (vm/userspace_guest.py; its image is built once into .cache/). Every
# KTAP result is counted, per kernel and in total; the last line is
#
#   N passed, N failed, N skipped
#
# and the exit status is non-zero when anything failed.
#
#   scripts/check.sh [--serial] [--jobs N] [--kernels A,B] [--stock]
#	--serial   one guest at a time (same as --jobs 1)
#	--jobs N   guests run at once (default 2: one per core of CI)
#	--kernels  only these kernels (default: every one setup prepared)
#	--stock    also run the guest suite with Debian's stock modules, for
#	           comparison (reported, not counted)
#
# Logs: .cache/check/ (console, dmesg and KTAP of each guest run).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FT=$ROOT/tools/testing/selftests/net/failover
LOG=$ROOT/.cache/check
JOBS=2
STOCK=0
KERNELS=
SIM_TESTS=badinput,sim_lifecycle,sim_txqueues,sim_compat,sim_opslock,sim_stress
SIM_STRESS_SECS=${SIM_STRESS_SECS:-30}
HOTPLUG_TESTS=hotplug_qmp,pci_remove
while [ $# -gt 0 ]; do
	case $1 in
	--serial) JOBS=1;;
	--jobs) JOBS=${2:?}; shift;;
	--kernels) KERNELS=${2:?}; shift;;
	--stock) STOCK=1;;
	*) echo "usage: $0 [--serial] [--jobs N] [--kernels A,B] [--stock]" >&2
	   exit 2;;
	esac
	shift
done

pass=0
fail=0
skip=0
start=$(date +%s)

note()
{
	echo "check: $*"
}

# step <name> <command...>: one result, from the command's exit status
step()
{
	local name=$1 log=$LOG/$1.log rc
	shift

	"$@" > "$log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "ok - $name"
		pass=$((pass + 1))
	else
		echo "not ok - $name (exit $rc, last lines of $log:)"
		tail -n 15 "$log" | sed 's/^/#   /'
		fail=$((fail + 1))
	fi
	return "$rc"
}

# count_ktap <file>: add the leaf results of a KTAP file to the totals
count_ktap()
{
	local p f s

	p=$(grep -cE '^ok [0-9]+' "$1" | head -n 1)
	s=$(grep -cE '^ok [0-9]+ .*# *SKIP' "$1" | head -n 1)
	f=$(grep -cE '^not ok [0-9]+' "$1" | head -n 1)
	pass=$((pass + p - s))
	skip=$((skip + s))
	fail=$((fail + f))
}

# count_vm <out dir> <run_vm exit status>: add a guest run's totals (its
# summary counts each test case, a crashed script and the console check)
count_vm()
{
	local out=$1 rc=$2 line p f s

	line=$(grep -E '^# run_vm: .* passed, ' "$out/results.ktap" 2>/dev/null)
	if [ -z "$line" ]; then
		echo "not ok - guest run $out produced no summary (exit $rc)"
		fail=$((fail + 1))
		return
	fi
	read -r p f s < <(sed -E \
		's/.*: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/' \
		<<< "$line")
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
	if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
		grep -E '^(# )?not ok|^#   ' "$out/results.ktap" | sed 's/^/  /'
		if [ "$f" -eq 0 ]; then	# non-zero exit with nothing failed
			fail=$((fail + 1))
		fi
	fi
	echo "${line#\# }"
}

# runs_for <kernel>: the guest runs of one kernel, hotplug:tests:modules:kind
# (6.1 also runs the probe's netdevsim test: its netdevsim.ko is built
# from linux-source-6.1)
runs_for()
{
	local native=$HOTPLUG_TESTS

	[ "$1" = 6.1 ] && native=$native,vf_steer_probe_nsim
	echo "acpi:all:ours:"
	echo "native:$native:ours:"
	[ "$nfosim_ok" = 1 ] && echo "acpi:$SIM_TESTS:ours:sim"
	[ "$STOCK" = 1 ] && echo "acpi:all:stock:"
}

# guest <kernel> <run spec>: one guest run, results in $LOG/vm-...
guest()
{
	local k=$1 hp tests mods kind out args runner

	IFS=: read -r hp tests mods kind <<< "$2"
	out=$LOG/vm-$k-$mods-$hp${kind:+-$kind}
	# shellcheck source=/dev/null
	. "$ROOT/.cache/kernels/$k.env"
	runner=(python3 "$FT/vm/run_vm_ext.py" --kernel-dir "$KIMG"
		--kver "$KVER" --ours-dir "$ROOT/.cache/build/$k")
	args=(--modules "$mods" --hotplug "$hp" --quiet --out "$out"
	      --timeout 1500 --test-timeout 400)
	[ "$tests" = all ] || args+=(--tests "$tests")
	if [ "$kind" = sim ]; then
		runner+=(--add-module "nfosim=$ROOT/.cache/build/$k/nfosim/nfosim.ko"
			 --smp 2 --env "SIM_STRESS_SECS=$SIM_STRESS_SECS")
	fi
	"${runner[@]}" "${args[@]}" > "$out.log" 2>&1
	echo $? > "$out.rc"
}

# Per kernel: results, seconds of its host steps, seconds of its guests
# (guests of different kernels overlap in time with --jobs > 1)
declare -A kpass=() kfail=() kskip=() khost=() kguest=()

# snap, then since <kernel> <host|guest> [seconds]: attribute what was
# counted since the snap to a kernel
snap()
{
	snap_p=$pass snap_f=$fail snap_s=$skip snap_t=$(date +%s)
}

since()
{
	local k=$1 secs=${3:-$(($(date +%s) - snap_t))}

	kpass[$k]=$(( ${kpass[$k]:-0} + pass - snap_p ))
	kfail[$k]=$(( ${kfail[$k]:-0} + fail - snap_f ))
	kskip[$k]=$(( ${kskip[$k]:-0} + skip - snap_s ))
	if [ "$2" = host ]; then
		khost[$k]=$(( ${khost[$k]:-0} + secs ))
	else
		kguest[$k]=$(( ${kguest[$k]:-0} + secs ))
	fi
}

rm -rf "$LOG"
mkdir -p "$LOG"

note "setup"
step setup "$ROOT/scripts/setup.sh" || {
	echo "$pass passed, $fail failed, $skip skipped"
	exit 1
}
# shellcheck source=/dev/null
. "$ROOT/.cache/env"
if [ -z "$KERNELS" ]; then
	KERNELS=$("$ROOT/scripts/kbuild.sh" list | tr '\n' ',')
fi
IFS=, read -r -a kernels <<< "${KERNELS%,}"
note "kernels: ${kernels[*]}"

note "lint (checkpatch, kernel-doc; sparse per kernel below)"
step checkpatch make -C "$ROOT" checkpatch
step kerneldoc make -C "$ROOT" kerneldoc
# A kernel without CONFIG_PCI (6.1's headers, CONFIG_PCI undefined)
step build-nopci make -C "$ROOT" nopci

note "tools and documentation"
step tools make -C "$ROOT" tools
step docs make -C "$ROOT" docs

note "host tests"
# The VF steering probe against its software model (netns, veth, bridge).
"$FT/host/vf_steer_probe.sh" > "$LOG/vf_steer_probe.ktap" 2>&1
grep -E '^(ok|not ok)' "$LOG/vf_steer_probe.ktap" | sed 's/^/  /'
count_ktap "$LOG/vf_steer_probe.ktap"

# Per kernel: build from clean (an object whose .cmd lost its genksyms
# output stays "up to date" with unversioned exports), sparse, the
# CRC/vermagic check, nfosim.
declare -a jobs_k=() jobs_r=()
for k in "${kernels[@]}"; do
	note "kernel $k: build, sparse, symvers"
	snap
	rm -rf "$ROOT/.cache/build/$k"
	built=1
	step "build-$k" "$ROOT/scripts/kbuild.sh" "$k" modules || built=0
	"$ROOT/scripts/kbuild.sh" "$k" sparse > "$LOG/sparse-$k.log" 2>&1
	case $? in
	0) echo "ok - sparse-$k"; pass=$((pass + 1));;
	4) echo "ok - sparse-$k # SKIP $(tail -n 1 "$LOG/sparse-$k.log" |
		sed 's/.*SKIP sparse: //')"
	   skip=$((skip + 1));;
	*) echo "not ok - sparse-$k (last lines of $LOG/sparse-$k.log:)"
	   grep -E 'warning:|error:' "$LOG/sparse-$k.log" | tail -n 15 |
		sed 's/^/#   /'
	   fail=$((fail + 1));;
	esac
	"$FT/symvers.sh" --kernel "$k" "$ROOT" > "$LOG/symvers-$k.ktap" 2>&1
	sed 's/^/  /' "$LOG/symvers-$k.ktap" | grep -E '^  (ok|not ok)|FAIL'
	count_ktap "$LOG/symvers-$k.ktap"
	# virtio_net refuses a net_failover whose CRCs differ: no guest run
	if grep -q '^not ok' "$LOG/symvers-$k.ktap"; then
		built=0
	fi
	nfosim_ok=0
	if [ "$built" = 1 ]; then
		step "nfosim-$k" "$ROOT/scripts/kbuild.sh" "$k" nfosim &&
			nfosim_ok=1
		if [ "$k" = 6.1 ]; then
			# netdevsim for the probe's netlink tests (Debian's 6.1
			# has none)
			step netdevsim "$FT/host/vf_steer_probe.sh" --build-netdevsim
		fi
		while read -r r; do
			jobs_k+=("$k")
			jobs_r+=("$r")
		done < <(runs_for "$k")
	else
		echo "not ok - guest selftests on $k (modules did not build or" \
			"virtio_net would refuse them)"
		fail=$((fail + 1))
	fi
	since "$k" host
done

# The guests, JOBS at a time, in the order above (6.1's first).
running=()
for i in "${!jobs_k[@]}"; do
	while [ "${#running[@]}" -ge "$JOBS" ]; do
		wait -n "${running[@]}" 2> /dev/null
		alive=()
		for pid in "${running[@]}"; do
			kill -0 "$pid" 2> /dev/null && alive+=("$pid")
		done
		running=("${alive[@]}")
	done
	note "guest: kernel ${jobs_k[$i]} ${jobs_r[$i]}"
	(t0=$(date +%s)
	 guest "${jobs_k[$i]}" "${jobs_r[$i]}"
	 echo $(($(date +%s) - t0)) > "$LOG/job-$i.secs") &
	running+=($!)
done
for pid in "${running[@]}"; do
	wait "$pid"
done

for i in "${!jobs_k[@]}"; do
	k=${jobs_k[$i]}
	IFS=: read -r hp tests mods kind <<< "${jobs_r[$i]}"
	out=$LOG/vm-$k-$mods-$hp${kind:+-$kind}
	secs=$(cat "$LOG/job-$i.secs" 2> /dev/null || echo 0)
	if [ "$mods" = stock ]; then	# for comparison only
		grep -E '^# run_vm:' "$out/results.ktap" 2>/dev/null |
			sed "s/^# /  (not counted) kernel $k: /"
		continue
	fi
	snap
	echo -n "kernel $k: "
	count_vm "$out" "$(cat "$out.rc" 2>/dev/null || echo 1)"
	since "$k" guest "$secs"
done

# After the others, alone (one guest at a time, ~4 minutes, plus ~4 for
# the image the first time): a real Debian 12 guest (NetworkManager,
# systemd-networkd, ifupdown, cloud-init) on Debian's 6.1, with the stock
# modules and with ours (built at the top for 6.1).
if [[ " ${kernels[*]} " == *" 6.1 "* ]]; then
	note "guest: real Debian 12 userspace, stock and ours (userspace_guest)"
	"$FT/vm/userspace_guest.py" --out "$LOG/userspace" \
		> "$LOG/userspace.ktap" 2> "$LOG/userspace.log"
	rc=$?
	grep -E '^(ok|not ok)' "$LOG/userspace.ktap" | sed 's/^/  /'
	count_ktap "$LOG/userspace.ktap"
	if grep -qE '^1\.\.0 # SKIP' "$LOG/userspace.ktap"; then
		grep -E '^1\.\.0' "$LOG/userspace.ktap" | sed 's/^/  /'
		skip=$((skip + 1))
	elif [ "$rc" -ne 0 ] && ! grep -qE '^not ok' "$LOG/userspace.ktap"; then
		echo "not ok - userspace_guest (exit $rc, see $LOG/userspace.log)"
		fail=$((fail + 1))
	fi
	grep -E '^# userspace_guest:' "$LOG/userspace.ktap" | sed 's/^# /  /'
fi

note "done in $(($(date +%s) - start)) s, logs in $LOG"
for k in "${kernels[@]}"; do
	echo "kernel $k: ${kpass[$k]:-0} passed, ${kfail[$k]:-0} failed," \
		"${kskip[$k]:-0} skipped (host steps ${khost[$k]:-0} s," \
		"guests ${kguest[$k]:-0} s)"
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
