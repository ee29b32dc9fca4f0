#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End-of-run checks for a debug kernel: unload the failover stack and the
# test modules, let kmemleak scan (twice: an object must stay unreferenced
# across scans and be older than 5 s) and fail on any entry; and check
# that lockdep was still armed (it turns itself off after a report).
# vm/run_vm_ext.py --debug-checks clears kmemleak's boot-time baseline, so
# entries are what the tests leaked; scripts/check-debug.sh runs this
# last. Skips on kernels without kmemleak.

ALL_TESTS="
	unload_all
	kmemleak_scan
	lockdep_armed
"

# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

KMEMLEAK=/sys/kernel/debug/kmemleak

[ -d /sys/kernel/debug/tracing ] ||
	mount -t debugfs debugfs /sys/kernel/debug 2> /dev/null
[ -w "$KMEMLEAK" ] || skip_all "no $KMEMLEAK (kernel without kmemleak)"

# Freed objects of unloaded modules are what we want kmemleak to judge.
unload_all()
{
	local m

	ip -all netns del 2> /dev/null
	for m in nfosim pktgen bonding team_mode_activebackup team bridge \
		 8021q e1000e virtio_net net_failover failover; do
		mod_loaded "$m" || continue
		rmmod "$m" 2> /dev/null || modprobe -r "$m" 2> /dev/null
		mod_loaded "$m" && check_err 1 "cannot unload $m"
	done
	log_test "unload the failover stack and test modules"
}

kmemleak_scan()
{
	local n out=${FT_OUT:-/ftest/out}/kmemleak.txt

	echo scan > "$KMEMLEAK"
	ft_sleep 6
	echo scan > "$KMEMLEAK"
	cat "$KMEMLEAK" > /tmp/kmemleak.txt
	n=$(grep -c '^unreferenced object' /tmp/kmemleak.txt)
	if [ "$n" -gt 0 ]; then
		cp /tmp/kmemleak.txt "$out" 2> /dev/null
		sed -n '1,40s/^/# kmemleak: /p' /tmp/kmemleak.txt
		check_err 1 "$n unreferenced object(s), see kmemleak.txt"
	fi
	log_test "kmemleak: no unreferenced object after the tests"
}

# Lockdep switches itself off after its first report (or when its tables
# overflow): a run is only clean if it was still watching at the end.
lockdep_armed()
{
	local v

	if [ ! -r /proc/lockdep_stats ]; then
		log_skip "no lockdep in this kernel"
	else
		v=$(sed -n 's/^ *debug_locks: *//p' /proc/lockdep_stats)
		[ "$v" = 1 ]
		check_err $? "lockdep switched itself off (debug_locks=$v)"
		ktap_info "lockdep: $(grep -E 'lock-classes:|direct dependencies:|dependency chains:' \
			/proc/lockdep_stats | xargs)"
	fi
	log_test "lockdep still armed at the end of the run"
}

run_tests
