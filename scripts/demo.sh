#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Demo: boot a guest with the project's failover modules, show the
# master/standby/primary triple the driver forms by itself, hot-unplug the
# primary through QMP, show the links, replug it, show them again.
#
#   scripts/demo.sh [--hotplug acpi|native] [--modules ours|stock]
#
# Takes about a minute on an idle 2-core machine (QEMU without KVM);
# bounded by a 300 s timeout.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FT=$ROOT/tools/testing/selftests/net/failover
HOTPLUG=acpi
MODULES=ours
while [ $# -gt 0 ]; do
	case $1 in
	--hotplug) HOTPLUG=$2; shift 2;;
	--modules) MODULES=$2; shift 2;;
	*) echo "usage: $0 [--hotplug acpi|native] [--modules ours|stock]" >&2
	   exit 2;;
	esac
done

echo "== setup"
# Debian 12 only: the Debian 13 kernels are for make check.
FAILOVER_D13=0 "$ROOT/scripts/setup.sh"
if [ "$MODULES" = ours ]; then
	echo "== build"
	{ make -C "$ROOT" modules && make -C "$ROOT" tools; } \
		> "$ROOT/.cache/demo-build.log" 2>&1 || {
		tail -n 30 "$ROOT/.cache/demo-build.log"
		exit 1
	}
	ls -l "$ROOT/net/core/failover.ko" "$ROOT/drivers/net/net_failover.ko"
fi

out=$ROOT/.cache/demo
rm -rf "$out"
echo "== boot the guest (modules=$MODULES, hotplug=$HOTPLUG)"
rc=0
"$FT/vm/run_vm.py" --modules "$MODULES" --hotplug "$HOTPLUG" --quiet \
	--timeout 300 --out "$out" --tests "$FT/vm/demo_guest.sh" \
	> "$out.ktap" 2>&1 || rc=$?
if [ -f "$out/results/demo_guest.ktap" ]; then
	sed -e 's/^# \{0,1\}//' -e '/^TAP version/d' -e '/^1\.\./d' \
		"$out/results/demo_guest.ktap"
fi
echo
echo "== kernel log of the failover driver"
grep -iE 'failover|net_failover|enslav|standby|primary' "$out/dmesg.txt" |
	grep -v 'ft-guest' | tail -n 20 || true
echo
echo "== result"
grep -E '^(ok|not ok)|run_vm:' "$out.ktap" || cat "$out.ktap"
echo "console log: $out/console.log"
exit $rc
