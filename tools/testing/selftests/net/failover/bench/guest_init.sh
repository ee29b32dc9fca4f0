#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the benchmark guest (initramfs built by migration_bench.py).
# Everything the guest needs is in the initramfs: no 9p share, so that
# QEMU can live-migrate the guest. Loads the NIC modules (stock or ours),
# gives the failover master the guest address, a static ARP entry for the
# host, and runs the responder until the host tells it to quit.

/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# shellcheck source=/dev/null
. /bench.env

uptime() { cut -d' ' -f1 /proc/uptime; }
echo "bench-guest: up after $(uptime)s, modules=$BENCH_MODULES"
ip link set lo up
# room for a few seconds of frames when the vCPU is starved (the host
# may be busy): a full socket would count as loss of the benchmark's own
echo 8388608 > /proc/sys/net/core/rmem_max
echo 8388608 > /proc/sys/net/core/wmem_max
for m in $(cat /modules/order); do
	insmod "/modules/$m" $(grep "^${m%.ko} " /modules/params |
			       cut -d' ' -f2-) ||
		echo "bench-guest: insmod $m failed"
done

# The master is the device with lower_* links (no udev: names are ethN).
master=
deadline=$(( $(cut -d. -f1 /proc/uptime) + 40 ))
while [ "$(cut -d. -f1 /proc/uptime)" -lt "$deadline" ]; do
	for d in /sys/class/net/*; do
		ls -d "$d"/lower_* > /dev/null 2>&1 && master=${d##*/}
	done
	[ -n "$master" ] && break
	sleep 0.1
done
if [ -z "$master" ]; then
	echo "bench-guest: no failover master after 40s"
	ls -l /sys/class/net/
	dmesg | tail -30
	stty -F /dev/ttyS1 raw -echo 2>/dev/null
	echo "fail no failover master:" \
		"$(dmesg | grep -E 'virtio_net|failover' | tail -3 | tr '\n' '|')" \
		> /dev/ttyS1
	poweroff -f
fi
ip link set "$master" up
ip addr add "$GUEST_IP/24" dev "$master"
arp -i "$master" -s "$HOST_IP" "$HOST_MAC"
echo "bench-guest: master $master up at $(uptime)s"
stty -F /dev/ttyS1 raw -echo 2>/dev/null
PYTHONHASHSEED=0 /usr/bin/python3.11 -S -I /guest_responder.py \
	"$HOST_IP" "$HOST_PORT" "$GUEST_PORT" /dev/ttyS1
echo "bench-guest: responder exited ($?) at $(uptime)s"
poweroff -f
