#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install, check and purge net-failover-dkms in a Debian chroot (run as
# root; the chroot is changed: use a throwaway one):
#
#   debian/checks/test-chroot.sh ROOT DEB
#
# ROOT: a Debian 12 or 13 chroot with /proc mounted and dkms, initramfs-tools,
# a linux-image and its linux-headers installed (see the report of branch
# "pkg" for the debootstrap and apt lines). DEB: dist/net-failover-dkms_*.deb.
# Checks, for every kernel of the chroot that has headers: the DKMS build
# in updates/dkms, depmod, modinfo's path and version, modprobe's install
# rules for virtio_net's dependencies, the initramfs contents and the
# fallback inside it (test-initramfs.sh); then the same after "apt-get
# purge". Ends with "N passed, N failed".
set -u

ROOT=$(realpath "${1:?usage: test-chroot.sh ROOT DEB}")
DEB=$(realpath "${2:?usage: test-chroot.sh ROOT DEB}")
[ -x "$ROOT/usr/sbin/dkms" ] || { echo "test-chroot: SKIP: no dkms in $ROOT"; exit 4; }
[ -r "$ROOT/proc/self/stat" ] || { echo "test-chroot: SKIP: /proc not mounted in $ROOT"; exit 4; }

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
nok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else nok "$what"; fi; }
in_root() { chroot "$ROOT" env PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"; }

LOG=$ROOT/tmp/test-chroot.log
cp "$DEB" "$ROOT/tmp/"
PKG=/tmp/${DEB##*/}
VERSION=$(dpkg-deb -f "$DEB" Version)

kernels=()
for b in "$ROOT"/lib/modules/*/build; do
	[ -e "$b/include" ] || continue
	k=${b%/build}
	kernels+=("${k##*/}")
done
[ ${#kernels[@]} -gt 0 ] || { echo "test-chroot: SKIP: no kernel headers in $ROOT"; exit 4; }
echo "# kernels with headers: ${kernels[*]}; package $VERSION"

start=$(date +%s)
if in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y \
	--no-install-recommends "$PKG" > "$LOG" 2>&1; then
	ok "apt-get install $PKG ($(($(date +%s) - start)) s)"
else
	nok "apt-get install $PKG"
	tail -n 30 "$LOG" | sed 's/^/#   /'
fi

# lsinitramfs "/boot/initrd.img-$1" | grep -E "$2", with the kernel name
# in $2 written as KV (it holds regex characters: 6.12.118+deb13-amd64).
initrd_has()
{
	local kre
	kre=$(printf '%s' "$1" | sed 's/[.+]/\\&/g')
	in_root lsinitramfs "/boot/initrd.img-$1" > "$ROOT/tmp/initrd.list"
	grep -qE "${2//KV/$kre}" "$ROOT/tmp/initrd.list"
}
for k in "${kernels[@]}"; do
	m=/lib/modules/$k
	check "$k: dkms status: installed" eval \
		"in_root dkms status -m net-failover -v '$VERSION' -k '$k' | grep -q ': installed'"
	for mod in failover net_failover; do
		ko=$(echo "$ROOT$m/updates/dkms/$mod".ko*)
		check "$k: $m/updates/dkms/$mod.ko* exists" test -e "$ko"
		check "$k: modinfo -n $mod names updates/dkms" eval \
			"in_root modinfo -k '$k' -n $mod | grep -q '^$m/updates/dkms/$mod\.ko'"
		check "$k: modinfo -F version $mod is $VERSION" eval \
			"[ \"\$(in_root modinfo -k '$k' -F version $mod)\" = '$VERSION' ]"
	done
	check "$k: depmod ran (modules.dep lists updates/dkms/net_failover)" \
		grep -q '^updates/dkms/net_failover\.ko' "$ROOT$m/modules.dep"
	check "$k: modprobe runs the install rules for virtio_net's dependencies" eval \
		"[ \"\$(in_root modprobe -S '$k' --show-depends virtio_net | grep -c '^install /usr/lib/net-failover/modprobe-fallback ')\" = 2 ]"
	if [ -e "$ROOT/var/lib/dkms/mok.pub" ]; then
		check "$k: signed with dkms's MOK" eval \
			"in_root modinfo -k '$k' -F signer net_failover | grep -q ."
	fi
	if [ -e "$ROOT/boot/initrd.img-$k" ]; then
		check "$k: initramfs: updates/dkms/failover" initrd_has "$k" "modules/KV/updates/dkms/failover\.ko"
		check "$k: initramfs: updates/dkms/net_failover" initrd_has "$k" "modules/KV/updates/dkms/net_failover\.ko"
		check "$k: initramfs: the kernel's own failover" initrd_has "$k" "modules/KV/kernel/net/core/failover\.ko"
		check "$k: initramfs: the kernel's own net_failover" initrd_has "$k" "modules/KV/kernel/drivers/net/net_failover\.ko"
		check "$k: initramfs: modprobe rule" initrd_has "$k" "lib/modprobe.d/net-failover\.conf$"
		check "$k: initramfs: modprobe-fallback" initrd_has "$k" "lib/net-failover/modprobe-fallback$"
		check "$k: initramfs: insmod" initrd_has "$k" "sbin/insmod$"
	fi
done

# The fallback inside each initramfs, with the initramfs's own shell.
for k in "${kernels[@]}"; do
	[ -e "$ROOT/boot/initrd.img-$k" ] || continue
	out=$("$(dirname "$0")/test-initramfs.sh" "$ROOT" "$k" 2>&1)
	sed -n 's/^\(not \)\{0,1\}ok - /&'"$k"': initramfs fallback: /p' <<< "$out"
	PASS=$((PASS + $(grep -c '^ok - ' <<< "$out")))
	FAIL=$((FAIL + $(grep -c '^not ok - ' <<< "$out")))
done

start=$(date +%s)
if in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y \
	net-failover-dkms >> "$LOG" 2>&1; then
	ok "apt-get purge net-failover-dkms ($(($(date +%s) - start)) s)"
else
	nok "apt-get purge net-failover-dkms"
	tail -n 30 "$LOG" | sed 's/^/#   /'
fi
check "purge: dkms status empty" eval \
	"[ -z \"\$(in_root dkms status -m net-failover)\" ]"
check "purge: no modprobe rule" test ! -e "$ROOT/lib/modprobe.d/net-failover.conf"
check "purge: no /usr/src/net-failover-*" eval "! ls -d '$ROOT'/usr/src/net-failover-* 2> /dev/null"
for k in "${kernels[@]}"; do
	m=/lib/modules/$k
	check "$k: purge: updates/dkms has no failover modules" eval \
		"! ls '$ROOT$m/updates/dkms/' 2> /dev/null | grep -q failover"
	check "$k: purge: modinfo -n net_failover is the kernel's own" eval \
		"in_root modinfo -k '$k' -n net_failover | grep -q '^$m/kernel/drivers/net/net_failover\.ko'"
	if [ -e "$ROOT/boot/initrd.img-$k" ]; then
		check "$k: purge: initramfs without updates/dkms" eval "! initrd_has '$k' 'updates/dkms/(net_)?failover'"
		check "$k: purge: initramfs without the rule and helper" eval "! initrd_has '$k' 'net-failover'"
	fi
done
rm -f "$ROOT$PKG"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
