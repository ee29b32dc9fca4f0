#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The fallback inside a real initramfs (run as root):
#
#   debian/checks/test-initramfs.sh ROOT KVER
#
# ROOT: a chroot with net-failover-dkms installed and /boot/initrd.img-KVER
# built by initramfs-tools. Unpacks that initramfs (with the chroot's
# unmkinitramfs) into a scratch directory and checks, with the
# initramfs's own shell (klibc's sh without busybox) and file layout:
# modprobe resolves virtio_net's dependencies to the install rules and
# failover to updates/dkms; then, with modprobe and insmod replaced by
# fakes (modprobe: every DKMS module is refused with "Key was rejected by
# service"; insmod: "loads" any file that exists), that the helper loads
# the kernel's own modules that the hook copied and writes its line to
# /dev/kmsg (a plain file here). Nothing is loaded into the running
# kernel. Ends with "N passed, N failed".
set -u

ROOT=$(realpath "${1:?usage: test-initramfs.sh ROOT KVER}")
KV=${2:?usage: test-initramfs.sh ROOT KVER}
[ -e "$ROOT/boot/initrd.img-$KV" ] || { echo "test-initramfs: SKIP: no $ROOT/boot/initrd.img-$KV"; exit 4; }

PASS=0
FAIL=0
check() { local what=$1; shift; if "$@"; then PASS=$((PASS + 1)); echo "ok - $what"; else FAIL=$((FAIL + 1)); echo "not ok - $what"; fi; }

rm -rf "$ROOT/tmp/initrd-test"
chroot "$ROOT" unmkinitramfs "/boot/initrd.img-$KV" /tmp/initrd-test
I=$ROOT/tmp/initrd-test
[ -d "$I/main" ] && I=$I/main	# early microcode archive first
trap 'rm -rf "$ROOT/tmp/initrd-test"' EXIT

deps=$(chroot "$I" /usr/sbin/modprobe -S "$KV" --show-depends virtio_net 2>&1)
check "virtio_net: install rule for failover" grep -q '^install /usr/lib/net-failover/modprobe-fallback failover ' <<< "$deps"
check "virtio_net: install rule for net_failover" grep -q '^install /usr/lib/net-failover/modprobe-fallback net_failover ' <<< "$deps"
own=$(chroot "$I" /usr/sbin/modprobe -S "$KV" --show-depends --ignore-install failover 2>&1)
check "failover resolves to updates/dkms" grep -q "^insmod /lib/modules/$KV/updates/dkms/failover\.ko" <<< "$own"

rm -f "$I/usr/sbin/modprobe" "$I/usr/sbin/insmod"
cat > "$I/usr/sbin/modprobe" <<'EOF'
#!/bin/sh
echo "modprobe $*" >> /calls
[ "$1" = --ignore-install ] && shift
mod=$1
[ -d "/sys/module/$mod" ] && exit 0
if [ "$mod" = net_failover ] && [ ! -d /sys/module/failover ]; then
	/usr/lib/net-failover/modprobe-fallback failover || exit 1
fi
echo "modprobe: ERROR: could not insert '$mod': Key was rejected by service" >&2
exit 1
EOF
cat > "$I/usr/sbin/insmod" <<'EOF'
#!/bin/sh
echo "insmod $*" >> /calls
[ -e "$1" ] || { echo "insmod: ERROR: could not load module $1: No such file or directory" >&2; exit 1; }
m=${1##*/}
m=${m%%.ko*}
mkdir -p "/sys/module/$m"
EOF
chmod +x "$I/usr/sbin/modprobe" "$I/usr/sbin/insmod"
mkdir -p "$I/proc/sys/kernel" "$I/sys/module" "$I/dev"
echo "$KV" > "$I/proc/sys/kernel/osrelease"
: > "$I/dev/null"
: > "$I/calls"
: > "$I/dev/kmsg"

chroot "$I" /bin/sh /usr/lib/net-failover/modprobe-fallback net_failover 2> /dev/null
check "helper exits 0" [ $? = 0 ]
check "the kernel's own failover from the initramfs" grep -q "^insmod /lib/modules/$KV/kernel/net/core/failover\.ko" "$I/calls"
check "the kernel's own net_failover from the initramfs" grep -q "^insmod /lib/modules/$KV/kernel/drivers/net/net_failover\.ko" "$I/calls"
check "both loaded" test -d "$I/sys/module/failover" -a -d "$I/sys/module/net_failover"
check "kernel log line" grep -q "^<4>net-failover: net_failover: loaded the kernel's own /lib/modules/$KV/kernel/drivers/net/net_failover\.ko.*(could not insert 'net_failover': Key was rejected by service)$" "$I/dev/kmsg"
sed 's/^/# /' "$I/calls" "$I/dev/kmsg"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
