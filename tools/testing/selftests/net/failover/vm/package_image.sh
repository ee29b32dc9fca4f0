#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build, once, the bootable Debian guest images of package_guest.py: a real
# Debian root (systemd, udev, systemd-networkd, apt, dkms with gcc and make,
# initramfs-tools) with Debian's kernel installed as a Debian system has it
# (linux-image-amd64 and linux-headers-amd64 from the archive: /boot holds
# vmlinuz and the initrd.img that update-initramfs made), so that the guest
# boots its own kernel and initramfs and the package under test is
# installed, rebuilt and purged by the guest's own apt, dkms and
# update-initramfs.
#
#   package_image.sh 12|13          build if missing, print the image's path
#   package_image.sh 12|13 --force  rebuild from debootstrap
#
# Debian 12 (bookworm, kernel 6.1) or Debian 13 (trixie, kernel 6.12). The
# Debian 13 image also holds, in /var/cache/local-debs/, the trixie-backports
# packages that install the 7.3 kernel and its headers offline (what apt
# downloads for linux-image-7.3.4+deb13-amd64 and
# linux-headers-7.3.4+deb13-amd64 in the image; the guest has no network
# beyond the test's slirp).
#
# Cache (.cache/pkg-image/): rootfs-<dist>-<key1>/, the debootstrap tree
# with the packages (<key1>: a hash of the stage-1 lines below), and
# debian<dist>-<key2>.img, ext4 written with mkfs.ext4 -d with 3 GiB free
# (no loop mount; <key2>: a hash of this whole script). Packages come from
# the Debian archive the host's apt uses. About 5 minutes per image the
# first time, as root.
#
# The configuration trims the boot as guest_image.sh does (gettys, logind,
# timers masked; drivers of non-network hardware blacklisted) and adds:
# systemd-networkd with DHCP on the failover master, matched by the name
# udev gives it (enp1s0), and ft-step.service, which runs the step script
# package_guest.py passes on a second disk (serial ftstep, a tar) and sends
# its output to ttyS1.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../../../../.." && pwd)
CACHE=${FAILOVER_CACHE:-$ROOT/.cache}
OUT=$CACHE/pkg-image
DIST=${1:-}
FORCE=0
[ "${2:-}" = --force ] && FORCE=1

log() { echo "package_image: $*" >&2; }
# shellcheck source=tools/testing/selftests/net/failover/vm/image_lib.sh
. "$HERE/image_lib.sh"

case "$DIST" in
12) SUITE=bookworm ;;
13) SUITE=trixie ;;
*) log "usage: package_image.sh 12|13 [--force]"; exit 2 ;;
esac

for tool in debootstrap mkfs.ext4; do
	command -v "$tool" > /dev/null || {
		log "installing debootstrap e2fsprogs"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends debootstrap e2fsprogs >&2
		break
	}
done

# stage1-begin
BASE=systemd-sysv,udev,dbus,iproute2,ethtool,kmod,iputils-ping,pciutils
BASE=$BASE,procps,initramfs-tools,zstd,xz-utils,openssl,ca-certificates
# What a DKMS package needs and what an admin installs with it; the
# kernel through Debian's meta packages (update-initramfs runs in the
# chroot and writes /boot/initrd.img-KV).
LATER="dkms gcc make libc6-dev linux-image-amd64 linux-headers-amd64
	libnl-3-200 libnl-genl-3-200 apt-utils"
# Debian 13 only: the backports kernel, downloaded for an offline install
BPO_KV=7.3.4+deb13-amd64
# stage1-end
image_keys "$DIST"
RFS=$OUT/rootfs-$DIST-$KEY1
IMG=$OUT/debian$DIST-$KEY2.img
MASK="getty@tty1.service serial-getty@ttyS0.service systemd-logind.service
	systemd-user-sessions.service e2scrub_reap.service e2scrub_all.timer
	fstrim.timer dpkg-db-backup.timer systemd-tmpfiles-clean.timer
	apt-daily.timer apt-daily-upgrade.timer
	modprobe@drm.service modprobe@fuse.service modprobe@loop.service
	modprobe@efi_pstore.service modprobe@configfs.service
	modprobe@dm_mod.service dev-hugepages.mount dev-mqueue.mount
	sys-kernel-debug.mount sys-kernel-tracing.mount
	sys-fs-fuse-connections.mount sys-kernel-config.mount
	proc-sys-fs-binfmt_misc.automount systemd-binfmt.service
	systemd-pstore.service systemd-journal-flush.service
	systemd-update-utmp.service systemd-random-seed.service
	systemd-networkd-wait-online.service"
NOLOAD="kvm kvm_amd kvm_intel ccp iTCO_wdt iTCO_vendor_support intel_pmc_bxt
	psmouse pcspkr serio_raw evdev i2c_i801 lpc_ich ahci"

if [ "$FORCE" = 0 ] && [ -f "$IMG" ]; then
	echo "$IMG"
	exit 0
fi

image_sources
if [ "$FORCE" = 1 ] || [ ! -f "$RFS/.done" ]; then
	rm -rf "$OUT/rootfs-$DIST-"* "$OUT/debian$DIST-"*.img
	image_debootstrap "-$DIST" "$BASE" "$LATER"
	if [ "$DIST" = 13 ]; then
		log "downloading the $BPO_KV kernel packages (trixie-backports)"
		echo "deb $MIRROR $SUITE-backports main" \
			> "$RFS/etc/apt/sources.list.d/bpo.list"
		{ in_root apt-get update -q &&
		  in_root apt-get install -y -q --no-install-recommends \
			--download-only -t "$SUITE-backports" \
			"linux-image-$BPO_KV" "linux-headers-$BPO_KV"; } \
			>> "$OUT/apt-$DIST.log" 2>&1 ||
			{ tail -n 20 "$OUT/apt-$DIST.log" >&2; exit 1; }
		mkdir -p "$RFS/var/cache/local-debs"
		mv "$RFS"/var/cache/apt/archives/*.deb "$RFS/var/cache/local-debs/"
		rm "$RFS/etc/apt/sources.list.d/bpo.list"
		in_root apt-get update -q >> "$OUT/apt-$DIST.log" 2>&1
		in_root apt-get clean
		ls "$RFS/var/cache/local-debs" >&2
	fi
	image_debootstrap_done
fi

log "configuring $RFS"
image_trim "ftguest$DIST" LABEL=ftroot "5fa1104e4d2a4c4e9f3c2d1b0a9988$DIST"
in_root systemctl enable systemd-networkd.service > /dev/null 2>&1
# The master as an admin names it: by the name udev gives it (the three
# devices share one MAC). IPv4 only: on a flooding hub the stock master's
# link-local address fails DAD (testbed.md).
cat > "$RFS/etc/systemd/network/50-ft-master.network" <<-EOF
	[Match]
	Name=enp1s0

	[Network]
	DHCP=ipv4
	LinkLocalAddressing=no
	IPv6AcceptRA=no
EOF
cat > "$RFS/usr/local/sbin/ft-step" <<-'EOF'
	#!/bin/sh
	# package_guest.py: run the step script of this boot from the disk
	# with serial ftstep (a tar), its output to ttyS1 (/run is noexec).
	disk=/dev/disk/by-id/virtio-ftstep
	i=0
	while [ ! -b $disk ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	[ -b $disk ] || exit 0
	rm -rf /run/ft && mkdir -p /run/ft && tar -xf $disk -C /run/ft || exit 1
	cd /run/ft && exec sh ./step.sh > /dev/ttyS1 2>&1
EOF
chmod 755 "$RFS/usr/local/sbin/ft-step"
cat > "$RFS/etc/systemd/system/ft-step.service" <<-EOF
	[Unit]
	Description=package_guest.py step
	After=multi-user.target systemd-networkd.service

	[Service]
	Type=simple
	ExecStart=/usr/local/sbin/ft-step
	StandardOutput=journal

	[Install]
	WantedBy=multi-user.target
EOF
in_root systemctl enable ft-step.service > /dev/null 2>&1
# ConditionNeedsUpdate=/etc,/var (ldconfig, hwdb, catalog) is met once
touch "$RFS/etc/.updated" "$RFS/var/.updated"
log "update-initramfs (the configuration is in the initramfs)"
trap image_umount EXIT
mount -t proc proc "$RFS/proc"
in_root update-initramfs -u -k all > "$OUT/initramfs-$DIST.log" 2>&1 ||
	{ tail -n 20 "$OUT/initramfs-$DIST.log" >&2; exit 1; }
image_umount
trap - EXIT
ls -l "$RFS/boot" >&2
# The guest's own update-initramfs: MODULES=most copies ~1000 modules, a
# fork each, and took over 10 minutes under TCG; MODULES=dep (the root
# device's drivers, found in the guest) plus virtio_net, which pulls in
# failover and net_failover as modprobe resolves them, takes little. The
# image's first initramfs above is MODULES=most: dep cannot be worked
# out in a chroot.
sed -i 's/^MODULES=.*/MODULES=dep/' "$RFS/etc/initramfs-tools/initramfs.conf"
echo virtio_net >> "$RFS/etc/initramfs-tools/modules"

size=$(du -sm "$RFS" | cut -f1)
size=$((size + 3072))
rm -f "$OUT/debian$DIST-"*.img
image_mkfs "$IMG" "$size"
echo "$IMG"
