#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the pktgen benchmark guest (the initramfs of vm/run_vm.py
# switches to the host root + tmpfs overlay and execs this): mounts,
# runs pktgen_guest.sh, saves dmesg to the output share, powers off.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C LC_ALL=C
OUT=/ftest/out

mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
hostname pktgen
ip link set lo up
echo 0 > /proc/sys/kernel/panic_on_warn
echo 1 > /proc/sys/kernel/sysrq

PG_GUEST_TIMEOUT=3600
# shellcheck source=/dev/null
. "$OUT/pktgen.env"
echo "pktgen-guest: up after $(cut -d' ' -f1 /proc/uptime)s"
timeout -k 5 "$PG_GUEST_TIMEOUT" bash "$(dirname "$0")/pktgen_guest.sh" 2>&1
echo "pktgen-guest: script exit $?"

dmesg > "$OUT/dmesg.txt"
sync
echo "pktgen-guest: done after $(cut -d' ' -f1 /proc/uptime)s"
busybox poweroff -f
echo o > /proc/sysrq-trigger
while :; do read -r -t 1 <> /dev/null; done
