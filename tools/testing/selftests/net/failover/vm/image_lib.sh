# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Sourced by guest_image.sh and package_image.sh: the steps both Debian
# guest images share. The caller sets OUT (the cache directory), RFS (the
# root tree), SUITE and a log() function, then calls, in this order:
#
#   image_keys [EXTRA]   KEY1 (the caller's stage-1 lines and
#                        image_debootstrap: a new KEY1 debootstraps
#                        again) and KEY2 (the caller's script, this file
#                        and EXTRA: a new KEY2 configures again)
#   image_sources        $sources, "URI SUITE" of the archive the host's
#                        apt uses, and $MIRROR
#   image_debootstrap TAG BASE LATER    (when RFS is not done yet)
#   image_debootstrap_done
#   image_trim HOSTNAME ROOTDEV MACHINE_ID
#   image_mkfs IMG SIZE_MB
#
# and in_root CMD... runs a command in the root with a clean environment.

in_root()
{
	chroot "$RFS" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# shellcheck disable=SC2034 # KEY1, KEY2: the caller's
image_keys()
{
	local script=$0 lib="${BASH_SOURCE[0]}"

	KEY1=$({ sed -n '/^# stage1-begin/,/^# stage1-end/p' "$script"
		 sed -n '/^image_debootstrap()/,/^}/p' "$lib"; } |
	       sha256sum | cut -c1-12)
	KEY2=$({ cat "$script" "$lib"; echo "${1:-}"; } | sha256sum |
	       cut -c1-12)
}

# The host's apt indexes of bookworm, bookworm-updates and
# bookworm-security; the same URIs serve trixie and its -updates,
# -security and -backports (testbed.md).
# shellcheck disable=SC2153 # SUITE: the caller's
image_sources()
{
	# shellcheck disable=SC2016
	sources=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' \
		'IDENTIFIER: Packages' 2>/dev/null |
		awk '$2 ~ /^bookworm(-updates|-security)?$/' | sort -u |
		sed "s/ bookworm/ $SUITE/")
	MIRROR=${MIRROR:-$(awk -v s="$SUITE" '$2 == s { print $1; exit }' \
		<<< "$sources")}
	[ -n "$MIRROR" ] || { log "no bookworm source in the host's apt"; exit 2; }
}

image_umount()
{
	local d

	for d in proc sys dev/pts dev; do
		mountpoint -q "$RFS/$d" && umount -l "$RFS/$d"
	done
	return 0
}

# image_debootstrap TAG BASE LATER: debootstrap SUITE into RFS with BASE
# (comma-separated), then apt-get install LATER in it, without
# recommends and with services kept from starting; logs in
# OUT/debootstrap$TAG.log and OUT/apt$TAG.log. The root stays mounted
# (proc, sys, dev) until image_debootstrap_done.
image_debootstrap()
{
	local tag=$1 base=$2 later=$3 uri suite

	mkdir -p "$OUT"
	log "debootstrap $SUITE from $MIRROR into $RFS"
	debootstrap --variant=minbase --include="$base" "$SUITE" "$RFS" \
		"$MIRROR" > "$OUT/debootstrap$tag.log" 2>&1 ||
		{ tail -n 20 "$OUT/debootstrap$tag.log" >&2; exit 1; }
	trap image_umount EXIT
	mount -t proc proc "$RFS/proc"
	mount -t sysfs sysfs "$RFS/sys"
	mount --bind /dev "$RFS/dev"
	mount --bind /dev/pts "$RFS/dev/pts"
	while read -r uri suite; do
		echo "deb $uri $suite main"
	done <<< "$sources" > "$RFS/etc/apt/sources.list"
	printf '#!/bin/sh\nexit 101\n' > "$RFS/usr/sbin/policy-rc.d"
	chmod 755 "$RFS/usr/sbin/policy-rc.d"
	log "installing the packages (apt$tag.log)"
	# shellcheck disable=SC2086
	{ in_root apt-get update -q &&
	  in_root apt-get install -y -q --no-install-recommends $later &&
	  in_root apt-get clean; } > "$OUT/apt$tag.log" 2>&1 ||
		{ tail -n 20 "$OUT/apt$tag.log" >&2; exit 1; }
}

image_debootstrap_done()
{
	rm -f "$RFS/usr/sbin/policy-rc.d"
	image_umount
	trap - EXIT
	touch "$RFS/.done"
}

# image_trim HOSTNAME ROOTDEV MACHINE_ID: what trims a guest's boot under
# TCG (a stock boot takes ~40 s on a loaded 2-core host): the units in
# MASK masked, the drivers in NOLOAD (hardware of the q35 machine that
# has nothing to do with networking; kvm_amd: qemu64 advertises svm)
# blacklisted, a volatile journal; a host name, the root in fstab, root
# without a password and a fixed machine id (not a first boot, a stable
# DHCP client id). Nothing that takes part in networking is masked.
image_trim()
{
	find "$RFS/etc/systemd/system" -maxdepth 1 -type l -lname /dev/null \
		-delete
	# shellcheck disable=SC2086
	in_root systemctl mask $MASK > /dev/null 2>&1
	# shellcheck disable=SC2086
	printf 'blacklist %s\n' $NOLOAD > "$RFS/etc/modprobe.d/ft-guest.conf"
	mkdir -p "$RFS/etc/systemd/journald.conf.d"
	printf '[Journal]\nStorage=volatile\n' \
		> "$RFS/etc/systemd/journald.conf.d/ft.conf"
	echo "$1" > "$RFS/etc/hostname"
	printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "$1" > "$RFS/etc/hosts"
	echo "$2 / ext4 defaults 0 1" > "$RFS/etc/fstab"
	in_root passwd -d root > /dev/null
	echo "$3" > "$RFS/etc/machine-id"
	# ConditionNeedsUpdate=/etc,/var (ldconfig, hwdb, catalog) is met once
	touch "$RFS/etc/.updated" "$RFS/var/.updated"
}

# image_mkfs IMG SIZE_MB: the root as an ext4 image labelled ftroot,
# written with mkfs.ext4 -d (no loop mount)
image_mkfs()
{
	log "mkfs.ext4 ($2 MiB)"
	mkfs.ext4 -q -F -L ftroot -d "$RFS" "$1.tmp" "$2M"
	mv "$1.tmp" "$1"
}
