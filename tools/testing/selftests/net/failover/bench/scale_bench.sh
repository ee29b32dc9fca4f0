#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Scale benchmark of the failover framework and net_failover: N simulated
# failover groups (nfosim.ko: a standby, its master, one primary each),
# created in steps up to the largest N, and how the cost grows with N:
# time per group creation, per primary added, per group deleted, and the
# memory each group takes (MemAvailable, slab, per-CPU).
#
# On the host it boots the test guest (vm/run_vm_ext.py, Debian's kernel
# or another one) and runs itself there, then prints the table:
#
#   bench/scale_bench.sh [N...]            default: 100 250 500 1000 2000
#   SCALE_KERNEL_DIR=DIR SCALE_KVER=KVER   another kernel (debug kernel:
#                                          .cache/debug-kernel/<KVER>)
#   SCALE_OURS_DIR=DIR SCALE_NFOSIM=KO     modules built elsewhere
#
# In the guest (FT_TESTDIR set by the runner) it runs the steps and
# prints the table as KTAP comments. Exit status 0 when every step ran.

HERE=$(dirname "$(readlink -f "$0")")
TESTDIR=$(dirname "$HERE")
ROOT=$(readlink -f "$TESTDIR/../../../../..")

# ------------------------------------------------------------------ host

if [ -z "${FT_TESTDIR:-}" ]; then
	steps=${*:-${SCALE_STEPS:-100 250 500 1000 2000}}
	nfosim=${SCALE_NFOSIM:-$TESTDIR/nfosim/nfosim.ko}
	out=${SCALE_OUT:-$ROOT/.cache/vm-runs/scale-$(date +%Y%m%d-%H%M%S)}
	args=(--add-module "nfosim=$nfosim" --mem 2G --env "SCALE_STEPS=$steps"
	      --modules ours --tests "$HERE/scale_bench.sh" --out "$out" --quiet
	      --timeout "${SCALE_TIMEOUT:-5400}"
	      --test-timeout "${SCALE_TIMEOUT:-5400}")
	[ -f "$nfosim" ] ||
		{ echo "scale_bench: no $nfosim (make -C $TESTDIR/nfosim)" >&2; exit 2; }
	[ -n "${SCALE_OURS_DIR:-}" ] && args+=(--ours-dir "$SCALE_OURS_DIR")
	if [ -n "${SCALE_KERNEL_DIR:-}" ]; then
		args+=(--kernel-dir "$SCALE_KERNEL_DIR" --kver "$SCALE_KVER")
	fi
	python3 "$TESTDIR/vm/run_vm_ext.py" "${args[@]}" > "$out.log" 2>&1
	rc=$?
	sed -n 's/^# \(|.*\)$/\1/p; s/^# \(scale: .*\)$/\1/p' \
		"$out/results/scale_bench.ktap" 2> /dev/null
	[ $rc = 0 ] || echo "scale_bench: run failed ($rc), see $out.log" >&2
	exit $rc
fi

# ----------------------------------------------------------------- guest

ALL_TESTS="scale_steps"
# shellcheck source=../lib.sh
source "$TESTDIR/lib.sh"
# shellcheck source=../nfosim/nfosim_lib.sh
source "$TESTDIR/nfosim/nfosim_lib.sh"

read -r -a STEPS <<< "${SCALE_STEPS:-100 250 500 1000 2000}"
nfosim_setup
# No IPv6 addrconf on thousands of netdevs: it is not what is measured.
echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6

# usec: set USEC to the wall clock in microseconds (no fork)
usec()
{
	USEC=${EPOCHREALTIME/./}
}

# meminfo: MEM_AVAIL, MEM_SLAB, MEM_PCPU in KiB
meminfo()
{
	local k v _

	while read -r k v _; do
		case $k in
		MemAvailable:) MEM_AVAIL=$v;;
		Slab:) MEM_SLAB=$v;;
		Percpu:) MEM_PCPU=$v;;
		esac
	done < /proc/meminfo
}

settle_memory()
{
	echo 3 > /proc/sys/vm/drop_caches
	ft_sleep 1
}

# fmt_div A B SCALE: A/B with two decimals, printed into FMT
fmt_div()
{
	local q=$(($1 * 100 / $2))

	printf -v FMT '%d.%02d' $((q / 100)) $((q % 100))
}

# Where the time of a group creation goes at this size: function_graph
# on a few functions of ours and the core while PROF_N more groups (with
# a primary) are created; average duration per call, in microseconds
# (a function inlined by the compiler is not listed).
TR=/sys/kernel/tracing
PROF_N=10
PROF_FUNCS="failover_netdev_event failover_lower_attach failover_register
	net_failover_create nfo_lower_register register_netdevice"
PROF=0

prof_setup()
{
	local f

	[ -w "$TR/set_ftrace_filter" ] &&
		grep -qw function_graph "$TR/available_tracers" || return 1
	echo nop > "$TR/current_tracer"
	: > "$TR/set_ftrace_filter"
	for f in $PROF_FUNCS; do
		# static functions may carry a suffix (.isra.0)
		echo "$f" >> "$TR/set_ftrace_filter" 2> /dev/null ||
			echo "$f.*" >> "$TR/set_ftrace_filter" 2> /dev/null
	done
	f=
	read -r f < "$TR/set_ftrace_filter"
	[ -n "$f" ] && [ "${f:0:1}" != "#" ] || return 1
	echo 0 > "$TR/tracing_on"
	echo function_graph > "$TR/current_tracer"
	PROF=1
}

prof_teardown()
{
	[ "$PROF" = 1 ] || return 0
	echo 0 > "$TR/tracing_on"
	echo nop > "$TR/current_tracer"
	: > "$TR/set_ftrace_filter"
}

# prof_step N: create groups N+1..N+PROF_N traced, delete them; sets PROF_ROW
prof_step()
{
	local n=$1 g

	: > "$TR/trace"
	echo 1 > "$TR/tracing_on"
	for ((g = n + 1; g <= n + PROF_N; g++)); do
		sim_new "$g" && sim_add "$g" 1
	done
	echo 0 > "$TR/tracing_on"
	for ((g = n + 1; g <= n + PROF_N; g++)); do
		sim_del "$g"
	done
	PROF_ROW=$(python3 -c '
import re, sys
want = sys.argv[1].split()
tot, cnt, stack = {}, {}, []
name = r"\s*([A-Za-z_0-9.]+)(?: \[\w+\])?\(\)"
opening = re.compile(r"\|" + name + r" \{")
leaf = re.compile(r"([0-9.]+) us\s+\|" + name + ";")
closing = re.compile(r"([0-9.]+) us\s+\|\s*\}")


def add(f, us):
    f = f.split(".")[0]
    if f in want:
        tot[f] = tot.get(f, 0) + us
        cnt[f] = cnt.get(f, 0) + 1


for line in open(sys.argv[2], errors="replace"):
    m = leaf.search(line)
    if m:
        add(m.group(2), float(m.group(1)))
        continue
    m = opening.search(line)
    if m:
        stack.append(m.group(1))
        continue
    m = closing.search(line)
    if m and stack:
        add(stack.pop(), float(m.group(1)))
print(" ".join("%s=%.1f/%d" % (f, tot[f] / cnt[f], cnt[f])
               for f in want if f in cnt))
' "$PROF_FUNCS" "$TR/trace")
}

scale_steps()
{
	local n=0 target g t0 t1 a0 s0 p0 k row first_create=""
	local c_us p_us batch ratio
	local -a PROFS=()

	prof_setup || ktap_info "scale: no function_graph tracer: no profile"

	ktap_info "scale: $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPU(s)," \
		"primaries' PCI parent $(< "$NFOSIM/pci_parent")"
	ktap_info "| groups | create ms/group | x first | add primary ms | delete ms/group | KiB/group avail | slab | percpu |"
	ktap_info "|--------|-----------------|---------|----------------|-----------------|-----------------|------|--------|"
	for target in "${STEPS[@]}"; do
		[ "$target" -gt "$n" ] || continue
		batch=$((target - n))
		settle_memory
		meminfo
		a0=$MEM_AVAIL s0=$MEM_SLAB p0=$MEM_PCPU

		usec
		t0=$USEC
		for ((g = n + 1; g <= target; g++)); do
			sim_new "$g" ||
				{ check_err 1 "group $g not created"; break; }
		done
		usec
		c_us=$(((USEC - t0) / batch))

		usec
		t0=$USEC
		for ((g = n + 1; g <= target; g++)); do
			sim_add "$g" 1 ||
				{ check_err 1 "group $g: primary not added"; break; }
		done
		usec
		p_us=$(((USEC - t0) / batch))
		[ "$RET" = 0 ] || break

		# All of them really formed?
		for g in $((n + 1)) $(((n + target) / 2)) "$target"; do
			sim_check_group "$g" standby p1 || break 2
		done

		settle_memory
		meminfo
		n=$target

		# Marginal cost of deleting a group at this size: delete and
		# recreate the last tenth.
		k=$((batch / 10 + 1))
		usec
		t0=$USEC
		for ((g = n - k + 1; g <= n; g++)); do
			sim_del "$g"
		done
		usec
		t1=$(((USEC - t0) / k))
		for ((g = n - k + 1; g <= n; g++)); do
			sim_new "$g" && sim_add "$g" 1
		done

		if [ "$PROF" = 1 ]; then
			prof_step "$n"
			PROFS+=("$n: $PROF_ROW")
		fi

		[ -n "$first_create" ] || first_create=$c_us
		fmt_div "$c_us" 1000
		row="| $(printf '%6d' "$n") | $(printf '%15s' "$FMT")"
		fmt_div "$c_us" "$first_create"
		ratio=$FMT
		fmt_div "$p_us" 1000
		row+=" | $(printf '%7s' "$ratio") | $(printf '%14s' "$FMT")"
		fmt_div "$t1" 1000
		row+=" | $(printf '%15s' "$FMT")"
		row+=" | $(printf '%15d' $(((a0 - MEM_AVAIL) / batch)))"
		row+=" | $(printf '%4d' $(((MEM_SLAB - s0) / batch)))"
		row+=" | $(printf '%6d' $(((MEM_PCPU - p0) / batch))) |"
		ktap_info "$row"
	done

	if [ "${#PROFS[@]}" -gt 0 ]; then
		ktap_info "scale: function_graph, us per call/calls while creating" \
			"$PROF_N groups with a primary at each size:"
		for row in "${PROFS[@]}"; do
			ktap_info "scale:   $row"
		done
	fi
	prof_teardown

	usec
	t0=$USEC
	nfosim_unload
	check_err $? "cannot unload nfosim with $n groups"
	usec
	[ "$n" -gt 0 ] && ktap_info "scale: unloading nfosim with $n groups:" \
		"$(((USEC - t0) / 1000)) ms ($(((USEC - t0) / n)) us/group)"
	sim_no_leftovers
	check_err $? "left over after unloading nfosim"
	log_test "scale: up to $n groups"
}

run_tests
