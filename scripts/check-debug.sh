#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the failover selftests on the debug kernel (lockdep, KASAN, kmemleak,
# debugobjects, netdev refcount tracker, panic_on_warn) with our modules
# built against it. Builds what is missing first (scripts/
# build-debug-kernel.sh: hours the first time on 2 shared cores, seconds
# afterwards). Any splat on the console, leak or refcount report fails.
#
#   scripts/check-debug.sh                 the runner's default tests, then
#                                          badinput, sim_*, stress_hotplug,
#                                          then kmemleak.sh
#   scripts/check-debug.sh sim_stress ...  these tests, then kmemleak.sh
#
# Environment: DEBUG_TIMEOUT (whole run, s; 14400), DEBUG_TEST_TIMEOUT
# (per script, s; 3600), STRESS_HOTPLUG_CYCLES (100), SIM_STRESS_SECS
# (300), DEBUG_OUT (output directory).
#
# Exit status: that of vm/run_vm.py (0 pass, 1 fail, 2 setup error).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${FAILOVER_CACHE:-$ROOT/.cache}
TESTDIR=$ROOT/tools/testing/selftests/net/failover
# After the runner's default list: the bad-input and stress tests, last
# (just before the leak scan) so that a splat in them, which ends the
# run under panic_on_warn, does not hide the functional results.
LAST="badinput sim_lifecycle sim_txqueues sim_opslock sim_stress stress_hotplug"

bash "$ROOT/scripts/build-debug-kernel.sh" >&2
# shellcheck source=/dev/null
. "$CACHE/debug-kernel/env"

if [ $# -gt 0 ]; then
	tests="$*"
else
	# The runner's default list (the guest suite), then the stress tests.
	tests=$(PYTHONDONTWRITEBYTECODE=1 python3 -c 'import sys; sys.path.insert(0, sys.argv[1])
import run_vm; print(" ".join(run_vm.ALL_TESTS))' "$TESTDIR/vm")
	for t in $LAST; do
		case " $tests " in
		*" $t "*) ;;
		*) [ -f "$TESTDIR/$t.sh" ] && tests="$tests $t";;
		esac
	done
fi
tests=$(echo "$tests kmemleak" | xargs | tr ' ' ',')

out=${DEBUG_OUT:-$CACHE/vm-runs/debug-$(date +%Y%m%d-%H%M%S)}
nfosim=$DOURS/nfosim/nfosim.ko
[ -f "$nfosim" ] || { echo "check-debug: $nfosim missing" >&2; exit 2; }

echo "check-debug: kernel $DKVER, tests: $tests" >&2
rc=0
python3 "$TESTDIR/vm/run_vm_ext.py" \
	--kernel-dir "$DKIMG" --kver "$DKVER" --ours-dir "$DOURS" \
	--add-module "nfosim=$nfosim" --smp 2 --debug-checks \
	--env "STRESS_HOTPLUG_CYCLES=${STRESS_HOTPLUG_CYCLES:-100}" \
	--env "SIM_STRESS_SECS=${SIM_STRESS_SECS:-300}" \
	--modules ours --tests "$tests" --out "$out" --quiet \
	--timeout "${DEBUG_TIMEOUT:-14400}" \
	--test-timeout "${DEBUG_TEST_TIMEOUT:-3600}" || rc=$?

# The first report of each kind, with its context, for the reader.
pat='WARNING:|BUG:|KASAN|possible circular locking|suspicious RCU usage'
pat="$pat|refcount_t|unregister_netdevice: waiting|ref_tracker|ODEBUG:"
pat="$pat|inconsistent lock state|possible recursive locking|Kernel panic"
if [ -f "$out/console.log" ] &&
   grep -Eq "$pat" "$out/console.log"; then
	echo "check-debug: kernel reports (first 60 lines of each):" >&2
	grep -En "$pat" "$out/console.log" | cut -d: -f1 | head -5 |
	while read -r n; do
		echo "---- console.log line $n" >&2
		sed -n "${n},$((n + 60))p" "$out/console.log" >&2
	done
fi
[ -f "$out/kmemleak.txt" ] &&
	echo "check-debug: leaks in $out/kmemleak.txt" >&2
echo "check-debug: results in $out (exit $rc)" >&2
exit $rc
