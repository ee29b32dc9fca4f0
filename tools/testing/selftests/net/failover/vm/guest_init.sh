#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the test guest (started by the initramfs of run_vm.py after
# switch_root onto the host root + tmpfs overlay). Runs the selected test
# scripts, stores each one's KTAP output and exit status in the output
# share, dumps dmesg there and powers the guest off.
#
# No udev runs here: nothing loads virtio_net or e1000e; the tests do.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C LC_ALL=C
OUT=/ftest/out

mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
hostname ftguest
ip link set lo up
echo 0 > /proc/sys/kernel/panic_on_warn
echo 1 > /proc/sys/kernel/sysrq

FT_TESTS="" FT_TEST_TIMEOUT=150 FT_SHELL=0
FT_SHARES=
# shellcheck source=/dev/null
. "$OUT/run.env"
# The tree when it lives below /tmp, /run or /dev/shm of the host, which
# the tmpfs mounts above hide: its own read-only 9p export (TAG:PATH),
# with a tmpfs overlay as for the root
for s in $FT_SHARES; do
	d=/run/ftshare/${s%%:*}
	mkdir -p "$d/lower" "$d/upper" "$d/work" "${s#*:}"
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,ro,cache=loose \
		"${s%%:*}" "$d/lower" &&
		mount -t overlay -o "lowerdir=$d/lower,upperdir=$d/upper,workdir=$d/work" \
			overlay "${s#*:}" ||
		echo "ft-guest: cannot mount ${s%%:*} at ${s#*:}"
done
export FT_MODULES FT_HOTPLUG FT_TESTDIR
stty -F /dev/ttyS1 raw -echo 2>/dev/null

echo "ft-guest: up after $(cut -d' ' -f1 /proc/uptime)s," \
	"modules=$FT_MODULES hotplug=$FT_HOTPLUG"
# FT_TESTS holds script paths; results are named after the script
for path in $FT_TESTS; do
	t=${path##*/}
	t=${t%.sh}
	echo "ft-guest: start $t" > /dev/kmsg
	echo "ft-guest: running $t"
	timeout -k 5 "$FT_TEST_TIMEOUT" bash "$path" 2>&1 |
		tee "$OUT/results/$t.ktap"
	rc=${PIPESTATUS[0]}
	echo "$rc" > "$OUT/results/$t.rc"
	echo "ft-guest: end $t rc=$rc" > /dev/kmsg
done

dmesg > "$OUT/dmesg.txt"
sync
if [ "$FT_SHELL" = 1 ]; then
	echo "ft-guest: shell (exit to power off)"
	setsid -c bash -i <> /dev/ttyS0 >&0 2>&1
fi
touch "$OUT/guest.done"
sync
echo "ft-guest: done after $(cut -d' ' -f1 /proc/uptime)s"
# Power off synchronously; PID 1 must not exit (that panics the guest).
busybox poweroff -f
echo o > /proc/sysrq-trigger
while :; do read -r -t 1 <> /dev/null; done
