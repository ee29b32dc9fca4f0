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
# mount; <key2>: a hash of this whole script). Packages come from the
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

KEY1=$(sed -n '/^# stage1-begin/,/^# stage1-end/p' "$0" | sha256sum | cut -c1-12)
KEY2=$(sha256sum "$0" | cut -c1-12)
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

# The archive the host's apt uses: "URI SUITE" of its bookworm indexes.
# shellcheck disable=SC2016
sources=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' \
	'IDENTIFIER: Packages' 2>/dev/null |
	awk -v s="$SUITE" '$2 == s || $2 == s "-updates" || $2 == s "-security"' |
	sort -u)
MIRROR=${MIRROR:-$(awk -v s="$SUITE" '$2 == s { print $1; exit }' <<< "$sources")}
[ -n "$MIRROR" ] || { log "no $SUITE source in the host's apt"; exit 2; }

umount_all()
{
	local d
	for d in proc sys dev/pts dev; do
		mountpoint -q "$RFS/$d" && umount -l "$RFS/$d"
	done
	return 0
}

if [ "$FORCE" = 1 ] || [ ! -f "$RFS/.done" ]; then
	rm -rf "$OUT"/rootfs-* "$OUT"/debian12-*.img
	mkdir -p "$OUT"
	log "debootstrap $SUITE from $MIRROR into $RFS"
	debootstrap --variant=minbase --include="$BASE" "$SUITE" "$RFS" \
		"$MIRROR" > "$OUT/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$OUT/debootstrap.log" >&2; exit 1; }
	trap umount_all EXIT
	mount -t proc proc "$RFS/proc"
	mount -t sysfs sysfs "$RFS/sys"
	mount --bind /dev "$RFS/dev"
	mount --bind /dev/pts "$RFS/dev/pts"
	while read -r uri suite; do
		echo "deb $uri $suite main"
	done <<< "$sources" > "$RFS/etc/apt/sources.list"
	printf '#!/bin/sh\nexit 101\n' > "$RFS/usr/sbin/policy-rc.d"
	chmod 755 "$RFS/usr/sbin/policy-rc.d"
	log "installing $LATER"
	# shellcheck disable=SC2086
	chroot "$RFS" /bin/sh -c "export DEBIAN_FRONTEND=noninteractive &&
		apt-get update -q &&
		apt-get install -y -q --no-install-recommends $LATER &&
		apt-get clean" > "$OUT/apt.log" 2>&1 ||
		{ tail -n 20 "$OUT/apt.log" >&2; exit 1; }
	rm -f "$RFS/usr/sbin/policy-rc.d"
	umount_all
	trap - EXIT
	touch "$RFS/.done"
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
find "$RFS/etc/systemd/system" -maxdepth 1 -type l -lname /dev/null -delete
# shellcheck disable=SC2086
chroot "$RFS" systemctl mask $MASK > /dev/null 2>&1
# Hardware of the q35 machine that has nothing to do with networking and
# costs seconds to load under TCG (kvm_amd: qemu64 advertises svm).
# shellcheck disable=SC2086
printf 'blacklist %s\n' $NOLOAD > "$RFS/etc/modprobe.d/ft-guest.conf"
mkdir -p "$RFS/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' > "$RFS/etc/systemd/journald.conf.d/ft.conf"
touch "$RFS/etc/cloud/cloud-init.disabled"
echo ftguest > "$RFS/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 ftguest\n' > "$RFS/etc/hosts"
echo '/dev/vda / ext4 defaults 0 1' > "$RFS/etc/fstab"
chroot "$RFS" passwd -d root > /dev/null
# A fixed machine id: not a first boot, a stable DHCP client id.
echo 5fa1104e4d2a4c4e9f3c2d1b0a998877 > "$RFS/etc/machine-id"
# ConditionNeedsUpdate=/etc,/var (ldconfig, hwdb, catalog) is met once
touch "$RFS/etc/.updated" "$RFS/var/.updated"

log "kernel modules $KVER into the image"
rm -rf "$RFS"/usr/lib/modules/*
mkdir -p "$RFS/usr/lib/modules"
cp -a "$KIMG/lib/modules/$KVER" "$RFS/usr/lib/modules/$KVER"
chroot "$RFS" depmod "$KVER"
touch "$RFS/etc/.updated" "$RFS/var/.updated"

size=$(du -sm "$RFS" | cut -f1)
size=$((size * 3 / 2 + 512))
log "mkfs.ext4 ($size MiB)"
rm -f "$OUT"/debian12-*.img
mkfs.ext4 -q -F -L ftroot -d "$RFS" "$IMG.tmp" "${size}M"
mv "$IMG.tmp" "$IMG"
echo "$IMG"
