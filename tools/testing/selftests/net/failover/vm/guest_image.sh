#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build, once, the Debian 12 guest image of userspace_guest.py: a real
# bookworm root (systemd, udev, NetworkManager, systemd-networkd, ifupdown
# with isc-dhcp-client, cloud-init, python3) with Debian's kernel modules of
# the current ABI (.cache/env). Every network manager and cloud-init are
# installed but disabled: each boot enables the one it tests.
#
#   guest_image.sh          build if missing, print the image's path
#   guest_image.sh --force  rebuild from debootstrap
#
# Cache (.cache/guest-image/): rootfs-<key1>/, the debootstrap tree with
# the packages (<key1>: a hash of the stage-1 lines below, so that changing
# only the configuration or the kernel ABI does not debootstrap again), and
# debian12-<key2>-<KVER>.img, ext4 written with mkfs.ext4 -d (no loop
# mount; <key2>: a hash of this whole script and image_lib.sh, which it
# shares with package_image.sh). Packages come from the
# Debian archive the host's apt uses (apt-get indextargets). About 4
# minutes the first time, as root.
#
# The configuration trims the boot to what a networked guest runs (under
# TCG a stock boot takes ~40 s on a loaded 2-core host): systemd, journald
# (volatile), udev, dbus and the network manager under test; gettys,
# logind, timers, debug mounts and the modprobe@ units are masked, and
# drivers of the machine's non-network hardware blacklisted. Nothing that
# takes part in networking is.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../../../../.." && pwd)
CACHE=${FAILOVER_CACHE:-$ROOT/.cache}
OUT=$CACHE/guest-image
FORCE=0
[ "${1:-}" = --force ] && FORCE=1

log() { echo "guest_image: $*" >&2; }
# shellcheck source=tools/testing/selftests/net/failover/vm/image_lib.sh
. "$HERE/image_lib.sh"

[ -f "$CACHE/env" ] || { log "no $CACHE/env: run scripts/setup.sh"; exit 2; }
# shellcheck source=/dev/null
. "$CACHE/env"

for tool in debootstrap mkfs.ext4 depmod; do
	command -v "$tool" > /dev/null || {
		log "installing debootstrap e2fsprogs kmod"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends debootstrap e2fsprogs kmod >&2
		break
	}
done

image_keys ""
RFS=$OUT/rootfs-$KEY1
IMG=$OUT/debian12-$KEY2-$KVER.img
# stage1-begin
SUITE=bookworm
# Packages in the debootstrap run; NetworkManager and cloud-init come after
# it (debootstrap --include=network-manager fails configuring polkitd).
BASE=systemd-sysv,udev,dbus,iproute2,ethtool,kmod,iputils-ping,pciutils
BASE=$BASE,procps,python3,ifupdown,isc-dhcp-client
LATER="network-manager cloud-init"
# stage1-end
MASK="getty@tty1.service serial-getty@ttyS0.service systemd-logind.service
	systemd-user-sessions.service e2scrub_reap.service e2scrub_all.timer
	fstrim.timer dpkg-db-backup.timer systemd-tmpfiles-clean.timer
	modprobe@drm.service modprobe@fuse.service modprobe@loop.service
	modprobe@efi_pstore.service modprobe@configfs.service
	modprobe@dm_mod.service dev-hugepages.mount dev-mqueue.mount
	sys-kernel-debug.mount sys-kernel-tracing.mount
	sys-fs-fuse-connections.mount sys-kernel-config.mount
	proc-sys-fs-binfmt_misc.automount systemd-binfmt.service
	systemd-pstore.service systemd-remount-fs.service
	systemd-journal-flush.service systemd-update-utmp.service
	systemd-sysusers.service kmod-static-nodes.service
	systemd-random-seed.service"
NOLOAD="kvm kvm_amd kvm_intel ccp iTCO_wdt iTCO_vendor_support intel_pmc_bxt
	psmouse pcspkr serio_raw evdev i2c_i801 lpc_ich ahci"

if [ "$FORCE" = 0 ] && [ -f "$IMG" ]; then
	echo "$IMG"
	exit 0
fi

image_sources
if [ "$FORCE" = 1 ] || [ ! -f "$RFS/.done" ]; then
	rm -rf "$OUT"/rootfs-* "$OUT"/debian12-*.img
	image_debootstrap "" "$BASE" "$LATER"
	image_debootstrap_done
fi

log "configuring $RFS"
# Off at boot; each boot of the test wants the manager it checks.
chroot "$RFS" systemctl disable NetworkManager.service \
	NetworkManager-wait-online.service \
	NetworkManager-dispatcher.service networking.service \
	systemd-networkd.service systemd-networkd.socket \
	systemd-networkd-wait-online.service \
	cloud-init-local.service cloud-init.service \
	cloud-config.service cloud-final.service \
	apt-daily.timer apt-daily-upgrade.timer > /dev/null 2>&1 || true
image_trim ftguest /dev/vda 5fa1104e4d2a4c4e9f3c2d1b0a998877
touch "$RFS/etc/cloud/cloud-init.disabled"

log "kernel modules $KVER into the image"
rm -rf "$RFS"/usr/lib/modules/*
mkdir -p "$RFS/usr/lib/modules"
cp -a "$KIMG/lib/modules/$KVER" "$RFS/usr/lib/modules/$KVER"
chroot "$RFS" depmod "$KVER"
touch "$RFS/etc/.updated" "$RFS/var/.updated"

size=$(du -sm "$RFS" | cut -f1)
size=$((size * 3 / 2 + 512))
rm -f "$OUT"/debian12-*.img
image_mkfs "$IMG" "$size"
echo "$IMG"
