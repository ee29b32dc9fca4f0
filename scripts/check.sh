#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run every test from a fresh machine: setup, build, lint, the CRC check of
# the built modules on the host, then the guest selftests with our modules
# (ACPI hotplug: every script; native PCIe hotplug: the hotplug scripts;
# a third guest with the simulated lowers of nfosim.ko: SIM_TESTS), then,
# alone, the real Debian 12 userspace on stock and on our modules
# (vm/userspace_guest.py; its image is built once into .cache/guest-image).
# Every KTAP result is counted; the last line is
#
#   N passed, N failed, N skipped
#
# and the exit status is non-zero when anything failed.
#
#   scripts/check.sh [--serial] [--stock]
#	--serial   run the guests one after the other (default: all at
#	           once)
#	--stock    also run the guest suite with Debian's stock modules, for
#	           comparison (reported, not counted)
#
# Logs: .cache/check/ (console, dmesg and KTAP of each guest run).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FT=$ROOT/tools/testing/selftests/net/failover
LOG=$ROOT/.cache/check
SERIAL=0
STOCK=0
SIM_TESTS=badinput,sim_lifecycle,sim_txqueues,sim_compat,sim_stress
SIM_STRESS_SECS=${SIM_STRESS_SECS:-30}
for a in "$@"; do
	case $a in
	--serial) SERIAL=1;;
	--stock) STOCK=1;;
	*) echo "usage: $0 [--serial] [--stock]" >&2; exit 2;;
	esac
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

rm -rf "$LOG"
mkdir -p "$LOG"

note "setup"
step setup "$ROOT/scripts/setup.sh" || {
	echo "$pass passed, $fail failed, $skip skipped"
	exit 1
}
# shellcheck source=/dev/null
. "$ROOT/.cache/env"

# From clean: an object whose .cmd lost its genksyms output (two builds
# racing in the tree) stays "up to date" with unversioned exports. Not
# "make clean": kbuild's clean deletes every *.ko and modules.order under
# M=, which includes the kernel image unpacked in .cache/.
note "build"
built=1
find "$ROOT/net" "$ROOT/drivers" -type f \( -name '*.o' -o -name '*.ko' \
	-o -name '.*.cmd' -o -name '*.mod' -o -name '*.mod.c' \) -delete \
	2>/dev/null
rm -f "$ROOT/Module.symvers" "$ROOT/modules.order"
step build make -C "$ROOT" modules || built=0

step build-nopci make -C "$ROOT" nopci

if make -C "$ROOT" -n lint > /dev/null 2>&1; then
	note "lint"
	step lint make -C "$ROOT" lint
fi

note "tools and documentation"
step tools make -C "$ROOT" tools
step docs make -C "$ROOT" docs

note "host tests"
# The VF steering probe against its software model (netns, veth, bridge).
"$FT/host/vf_steer_probe.sh" > "$LOG/vf_steer_probe.ktap" 2>&1
grep -E '^(ok|not ok)' "$LOG/vf_steer_probe.ktap" | sed 's/^/  /'
count_ktap "$LOG/vf_steer_probe.ktap"

note "symvers (host)"
"$FT/symvers.sh" "$ROOT" > "$LOG/symvers.ktap" 2>&1
sed 's/^/  /' "$LOG/symvers.ktap" | grep -E '^  (ok|not ok)|FAIL'
count_ktap "$LOG/symvers.ktap"
# virtio_net refuses a net_failover whose CRCs differ: no guest run then
if grep -q '^not ok .*CRC of net_failover_\|^not ok .*stock virtio_net' \
	"$LOG/symvers.ktap"; then
	built=0
fi

if [ "$built" = 1 ]; then
	# netdevsim for the probe's netlink tests (Debian's 6.1 has none)
	step netdevsim "$FT/host/vf_steer_probe.sh" --build-netdevsim
	runs=("acpi:all" "native:hotplug_qmp,pci_remove,vf_steer_probe_nsim")
	[ "$STOCK" = 1 ] && runs+=("acpi:all:stock")
	# The tests on simulated lowers (nfosim.ko, 2 CPUs), sim_stress cut
	# to SIM_STRESS_SECS; the full 300 s run is in check-debug.sh.
	if step nfosim make -C "$FT/nfosim"; then
		runs+=("acpi:$SIM_TESTS:ours:sim")
	fi
	pids=()
	for r in "${runs[@]}"; do
		IFS=: read -r hp tests mods kind <<< "$r"
		mods=${mods:-ours}
		out=$LOG/vm-$mods-$hp${kind:+-$kind}
		runner=("$FT/vm/run_vm.py")
		args=(--modules "$mods" --hotplug "$hp" --quiet --out "$out"
		      --timeout 1200 --test-timeout 400)
		[ "$tests" = all ] || args+=(--tests "$tests")
		if [ "$kind" = sim ]; then
			runner=(python3 "$FT/vm/run_vm_ext.py"
				--add-module "nfosim=$FT/nfosim/nfosim.ko"
				--smp 2 --env "SIM_STRESS_SECS=$SIM_STRESS_SECS")
		fi
		note "guest: modules=$mods hotplug=$hp tests=$tests"
		if [ "$SERIAL" = 1 ]; then
			"${runner[@]}" "${args[@]}" > "$out.log" 2>&1
			echo $? > "$out.rc"
		else
			("${runner[@]}" "${args[@]}" > "$out.log" 2>&1
			 echo $? > "$out.rc") &
			pids+=($!)
		fi
	done
	for pid in "${pids[@]}"; do
		wait "$pid"
	done
	for r in "${runs[@]}"; do
		IFS=: read -r hp tests mods kind <<< "$r"
		mods=${mods:-ours}
		out=$LOG/vm-$mods-$hp${kind:+-$kind}
		if [ "$mods" = stock ]; then	# for comparison only
			grep -E '^# run_vm:' "$out/results.ktap" 2>/dev/null |
				sed 's/^# /  (not counted) /'
			continue
		fi
		count_vm "$out" "$(cat "$out.rc" 2>/dev/null || echo 1)"
	done
	# After the others, alone: one guest at a time, ~4 minutes (plus
	# ~4 for the image the first time).
	note "guest: real Debian 12 userspace, stock and ours (userspace_guest)"
	"$FT/vm/userspace_guest.py" --no-build --out "$LOG/userspace" \
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
else
	echo "not ok - guest selftests (modules did not build or virtio_net" \
		"would refuse them)"
	fail=$((fail + 1))
fi

note "done in $(($(date +%s) - start)) s, logs in $LOG"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
