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
# (vm/userspace_guest.py; its image is built once into .cache/) and the
# smoke subset of the mutation tests (scripts/mutants.sh --smoke). Every
# KTAP result is counted, per kernel and in total; the last line is
#
#   N passed, N failed, N skipped
#
# and the exit status is non-zero when anything failed.
#
# A skip passes only when it is listed in
# tools/testing/selftests/net/failover/expected-skips (kernel, test, reason
# pattern); any other skip is a failure ("unexpected skip"). An expected
# skip that did not happen is reported as a note (the test ran instead and
# counts as passed or failed by itself). A host-side KTAP script whose
# results do not match its plan, or which exits non-zero with no failed
# result, is a failure too.
#
#   scripts/check.sh [--serial] [--jobs N] [--kernels A,B] [--stock]
#                    [--repeat N]
#	--serial   one guest at a time (same as --jobs 1)
#	--jobs N   guests run at once (default 2: one per core of CI)
#	--kernels  only these kernels (default: every one setup prepared)
#	--stock    also run the guest suite with Debian's stock modules, for
#	           comparison (reported, not counted)
#	--repeat N setup, lint, builds, sparse and the CRC check once, then N
#	           rounds of the host tests and every guest run; each round
#	           prints its summary, then "rounds: N passed of M"; the exit
#	           status is non-zero unless every round passed (make check
#	           REPEAT=N)
#
# Logs: .cache/check/ (console, dmesg and KTAP of each guest run; with
# --repeat, each round's in .cache/check/round-N/).
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
EXPECTED_SKIPS=$FT/expected-skips
REPEAT=1
usage()
{
	echo "usage: $0 [--serial] [--jobs N] [--kernels A,B] [--stock]" \
		"[--repeat N]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--serial) JOBS=1;;
	--jobs) JOBS=${2:?}; shift;;
	--kernels) KERNELS=${2:?}; shift;;
	--stock) STOCK=1;;
	--repeat) REPEAT=${2:-}; shift;;
	*) usage;;
	esac
	shift
done
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] ||
	{ echo "check: --repeat wants a count of rounds, 1 or more" >&2; usage; }
[[ $JOBS =~ ^[1-9][0-9]*$ ]] ||
	{ echo "check: --jobs wants 1 or more" >&2; usage; }
[ -r "$EXPECTED_SKIPS" ] ||
	{ echo "check: no $EXPECTED_SKIPS" >&2; exit 2; }

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

# skips_of <kernel> <test prefix> <KTAP file>: record the skips of a
# script (its top-level "ok N ... # SKIP reason" lines, or the reason of a
# "1..0 # SKIP reason" plan) in $SKIPS as KERNEL<tab>PREFIX: CASE<tab>REASON
skips_of()
{
	local k=$1 prefix=$2 line desc reason

	while IFS= read -r line; do
		desc=$(sed -E 's/^ok [0-9]+ *//; s/ *# *[Ss][Kk][Ii][Pp].*//' <<< "$line")
		reason=$(sed -E 's/.*# *[Ss][Kk][Ii][Pp] *//' <<< "$line")
		printf '%s\t%s: %s\t%s\n' "$k" "$prefix" "$desc" "$reason"
	done < <(grep -E '^ok [0-9]+.*# *[Ss][Kk][Ii][Pp]' "$3") >> "$SKIPS"
	if ! grep -qE '^(not )?ok [0-9]+' "$3"; then
		line=$(grep -E '^1\.\.0 *# *[Ss][Kk][Ii][Pp]' "$3" | head -n 1)
		[ -n "$line" ] && printf '%s\t%s\t%s\n' "$k" "$prefix" \
			"$(sed -E 's/.*# *[Ss][Kk][Ii][Pp] *//' <<< "$line")" >> "$SKIPS"
	fi
}

# count_host <kernel> <name> <KTAP file> <exit status>: a host-side KTAP
# script's results (count_ktap), its skips (skips_of), and one failure
# more when its results do not match its plan, or when it exited non-zero
# without a failed result (4 is a skip: only with every result a skip)
count_host()
{
	local k=$1 name=$2 file=$3 rc=$4 plan n nf ns

	count_ktap "$file"
	skips_of "$k" "$name" "$file"
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$file" | head -n 1)
	n=$(grep -cE '^(not )?ok [0-9]+' "$file")
	nf=$(grep -cE '^not ok [0-9]+' "$file")
	ns=$(grep -cE '^ok [0-9]+.*# *[Ss][Kk][Ii][Pp]' "$file")
	if [ -z "$plan" ] || [ "$plan" -ne "$n" ]; then
		echo "not ok - $name: plan ${plan:+1..}${plan:-missing}, $n results" \
			"(see $file)"
		fail=$((fail + 1))
	fi
	if [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ] &&
	   ! { [ "$rc" -eq 4 ] && [ "$ns" -eq "$n" ]; }; then
		echo "not ok - $name: exit $rc, but no failed result (see $file)"
		fail=$((fail + 1))
	fi
	if [ "$plan" = 0 ] && [ "$rc" -eq 4 ]; then	# skipped as a whole
		skip=$((skip + 1))
	fi
}

# count_vm <out dir> <run_vm exit status> <kernel> <run>: add a guest run's
# totals (its summary counts each test case, a crashed script and the
# console check) and record its skips (as RUN/SCRIPT: CASE)
count_vm()
{
	local out=$1 rc=$2 k=$3 run=$4 line p f s r n0 t

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
	n0=$(wc -l < "$SKIPS")
	for r in "$out"/results/*.ktap; do
		[ -e "$r" ] || continue
		t=${r##*/}
		skips_of "$k" "$run/${t%.ktap}" "$r"
	done
	# every skip the summary counted must be one recorded for the check
	if [ $(($(wc -l < "$SKIPS") - n0)) -ne "$s" ]; then
		echo "not ok - guest run $out: $s skips counted," \
			"$(($(wc -l < "$SKIPS") - n0)) found in its results"
		fail=$((fail + 1))
	fi
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

# guest <kernel> <run spec>: one guest run, results in $RLOG/vm-...
guest()
{
	local k=$1 hp tests mods kind out args runner

	IFS=: read -r hp tests mods kind <<< "$2"
	out=$RLOG/vm-$k-$mods-$hp${kind:+-$kind}
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

# check_skips: every skip recorded in $SKIPS since line $1 must match an
# entry of $EXPECTED_SKIPS (KERNEL | TEST | REASON: shell globs over the
# kernel and "SCRIPT: CASE", an extended regex over the reason); one that
# does not turns from a skip into a failure. Matched entries are noted in
# $SKIPS_SEEN.
check_skips()
{
	local from=$1 k t r ek et er hit i
	local -a eks=() ets=() ers=()

	while IFS='|' read -r ek et er; do
		ek=$(xargs <<< "$ek") et=$(sed -E 's/^ +| +$//g' <<< "$et")
		er=$(sed -E 's/^ +| +$//g' <<< "$er")
		[ -n "$ek" ] || continue
		eks+=("$ek") ets+=("$et") ers+=("$er")
	done < <(grep -vE '^[[:space:]]*(#|$)' "$EXPECTED_SKIPS")
	while IFS=$'\t' read -r k t r; do
		hit=
		for i in "${!eks[@]}"; do
			# shellcheck disable=SC2053 # globs on purpose
			if [[ $k == ${eks[i]} && $t == ${ets[i]} && $r =~ ${ers[i]} ]]; then
				hit=$i
				break
			fi
		done
		if [ -n "$hit" ]; then
			echo "$hit" >> "$SKIPS_SEEN"
		else
			echo "not ok - unexpected skip: kernel $k: $t # SKIP $r"
			fail=$((fail + 1))
			skip=$((skip - 1))
			if [ "$k" != host ]; then
				kfail[$k]=$(( ${kfail[$k]:-0} + 1 ))
				kskip[$k]=$(( ${kskip[$k]:-0} - 1 ))
			fi
		fi
	done < <(tail -n +"$((from + 1))" "$SKIPS")
}

# stale_skips: the entries of $EXPECTED_SKIPS for a kernel of this run (or
# the host) that matched no skip: reported, not counted
stale_skips()
{
	local ek et er i=-1 k ran

	while IFS='|' read -r ek et er; do
		ek=$(xargs <<< "$ek")
		[ -n "$ek" ] || continue
		i=$((i + 1))
		grep -qx "$i" "$SKIPS_SEEN" 2> /dev/null && continue
		ran=0
		for k in host "${kernels[@]}"; do
			# shellcheck disable=SC2053
			[[ $k == $ek ]] && ran=1
		done
		[ "$ran" = 1 ] && echo "# note: expected skip did not happen:" \
			"$ek |$et |$er"
	done < <(grep -vE '^[[:space:]]*(#|$)' "$EXPECTED_SKIPS")
}

rm -rf "$LOG"
mkdir -p "$LOG"
SKIPS=$LOG/skips.tsv
SKIPS_SEEN=$LOG/skips.seen
: > "$SKIPS"
: > "$SKIPS_SEEN"

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
# The Debian packages (lintian-clean) and their modprobe fallback to the
# kernel's own modules (fakes in a mount namespace)
step deb make -C "$ROOT" deb
step deb-fallback "$ROOT/debian/checks/test-fallback.sh"

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
	4) r=$(tail -n 1 "$LOG/sparse-$k.log" | sed 's/.*SKIP sparse: //')
	   echo "ok - sparse-$k # SKIP $r"
	   printf '%s\tsparse\t%s\n' "$k" "$r" >> "$SKIPS"
	   skip=$((skip + 1));;
	*) echo "not ok - sparse-$k (last lines of $LOG/sparse-$k.log:)"
	   grep -E 'warning:|error:' "$LOG/sparse-$k.log" | tail -n 15 |
		sed 's/^/#   /'
	   fail=$((fail + 1));;
	esac
	"$FT/symvers.sh" --kernel "$k" "$ROOT" > "$LOG/symvers-$k.ktap" 2>&1
	rc=$?
	sed 's/^/  /' "$LOG/symvers-$k.ktap" | grep -E '^  (ok|not ok)|FAIL'
	count_host "$k" symvers "$LOG/symvers-$k.ktap" "$rc"
	# virtio_net refuses a net_failover whose CRCs differ: no guest run
	if grep -q '^not ok' "$LOG/symvers-$k.ktap"; then
		built=0
	fi
	nfosim_ok=0
	if [ "$built" = 1 ]; then
		# the sim guest runs only with nfosim.ko: not building it fails
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
check_skips 0
build_fail=$fail

# round <n>: the host tests, the guests (JOBS at a time, 6.1's first) and
# the real-userspace guest, logs in $RLOG; sets round_pass/fail/skip
round()
{
	local r0=$1 i k hp tests mods kind out secs rc n0 pid p0=$pass f0=$fail s0=$skip
	local -a running alive

	n0=$(wc -l < "$SKIPS")
	note "host tests"
	# The VF steering probe against its software model (netns, veth,
	# bridge).
	"$FT/host/vf_steer_probe.sh" > "$RLOG/vf_steer_probe.ktap" 2>&1
	rc=$?
	grep -E '^(ok|not ok)' "$RLOG/vf_steer_probe.ktap" | sed 's/^/  /'
	count_host host vf_steer_probe "$RLOG/vf_steer_probe.ktap" "$rc"

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
		 echo $(($(date +%s) - t0)) > "$RLOG/job-$i.secs") &
		running+=($!)
	done
	for pid in "${running[@]}"; do
		wait "$pid"
	done

	for i in "${!jobs_k[@]}"; do
		k=${jobs_k[$i]}
		IFS=: read -r hp tests mods kind <<< "${jobs_r[$i]}"
		out=$RLOG/vm-$k-$mods-$hp${kind:+-$kind}
		secs=$(cat "$RLOG/job-$i.secs" 2> /dev/null || echo 0)
		if [ "$mods" = stock ]; then	# for comparison only
			grep -E '^# run_vm:' "$out/results.ktap" 2>/dev/null |
				sed "s/^# /  (not counted) kernel $k: /"
			continue
		fi
		snap
		echo -n "kernel $k: "
		count_vm "$out" "$(cat "$out.rc" 2>/dev/null || echo 1)" "$k" \
			"$hp${kind:+-$kind}"
		since "$k" guest "$secs"
	done

	# After the others, alone (one guest at a time, ~4 minutes, plus ~4
	# for the image the first time): a real Debian 12 guest
	# (NetworkManager, systemd-networkd, ifupdown, cloud-init) on
	# Debian's 6.1, with the stock modules and with ours (built at the
	# top for 6.1).
	if [[ " ${kernels[*]} " == *" 6.1 "* ]]; then
		note "guest: real Debian 12 userspace, stock and ours" \
			"(userspace_guest)"
		snap
		"$FT/vm/userspace_guest.py" --out "$RLOG/userspace" \
			> "$RLOG/userspace.ktap" 2> "$RLOG/userspace.log"
		rc=$?
		grep -E '^(ok|not ok)|^1\.\.0' "$RLOG/userspace.ktap" |
			sed 's/^/  /'
		count_host 6.1 userspace_guest "$RLOG/userspace.ktap" "$rc"
		grep -E '^# userspace_guest:' "$RLOG/userspace.ktap" |
			sed 's/^# /  /'
		since 6.1 guest
	fi
	# Mutation testing, the smoke subset (scripts/mutants.txt, "smoke:
	# yes"): a baseline on the unbroken tree, then each mutation, built
	# for 6.1, must fail its tests (~10 minutes, two guests at a time).
	if [[ " ${kernels[*]} " == *" 6.1 "* ]]; then
		note "mutation testing, smoke subset (scripts/mutants.sh --smoke)"
		snap
		"$ROOT/scripts/mutants.sh" --smoke --ktap --jobs "$JOBS" \
			> "$RLOG/mutants.ktap" 2>&1
		rc=$?
		grep -E '^(ok|not ok)|^mutants:' "$RLOG/mutants.ktap" |
			sed 's/^/  /'
		count_host 6.1 mutants "$RLOG/mutants.ktap" "$rc"
		since 6.1 guest
	fi
	check_skips "$n0"
	round_pass=$((pass - p0)) round_fail=$((fail - f0))
	round_skip=$((skip - s0))
	[ "$REPEAT" -gt 1 ] &&
		echo "round $r0 of $REPEAT: $round_pass passed, $round_fail" \
			"failed, $round_skip skipped"
	return 0
}

rounds_ok=0
for ((rn = 1; rn <= REPEAT; rn++)); do
	RLOG=$LOG
	if [ "$REPEAT" -gt 1 ]; then
		RLOG=$LOG/round-$rn
		mkdir -p "$RLOG"
		note "round $rn of $REPEAT"
	fi
	round "$rn"
	[ "$round_fail" -eq 0 ] && rounds_ok=$((rounds_ok + 1))
done

note "done in $(($(date +%s) - start)) s, logs in $LOG"
stale_skips
for k in "${kernels[@]}"; do
	echo "kernel $k: ${kpass[$k]:-0} passed, ${kfail[$k]:-0} failed," \
		"${kskip[$k]:-0} skipped (host steps ${khost[$k]:-0} s," \
		"guests ${kguest[$k]:-0} s)"
done
if [ "$REPEAT" -gt 1 ]; then
	[ "$build_fail" -eq 0 ] || echo "setup, lint and builds: $build_fail failed"
	echo "rounds: $rounds_ok passed of $REPEAT"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$rounds_ok" -eq "$REPEAT" ]
