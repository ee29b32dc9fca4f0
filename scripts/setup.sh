#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install and unpack everything the project builds and tests with, from
# Debian's archive only. Idempotent: a second run only checks.
#
#   scripts/setup.sh            install packages, fetch the kernel, unpack
#   . .cache/env                KVER, KDIR, KIMG, KSRC for other scripts
#
# Layout of the cache (FAILOVER_CACHE, default <repo>/.cache):
#   env                         shell variables below
#   kernel/<KVER>/              dpkg -x of linux-image-<KVER> (vmlinuz, modules)
#   kernel/<KVER>/vmlinux       uncompressed ELF for a faster PVH boot
#   linux-source-6.1/           parts of Debian's kernel tree we build on
#                               (kselftest framework, checkpatch, kernel-doc)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${FAILOVER_CACHE:-$ROOT/.cache}
mkdir -p "$CACHE"

PKGS="build-essential gcc make kmod cpio xz-utils busybox-static
      qemu-system-x86 qemu-utils sparse pkg-config libnl-3-dev
      libnl-genl-3-dev iproute2 ethtool python3 python3-docutils
      linux-source-6.1 linux-headers-amd64 bc flex bison libelf-dev
      libssl-dev dwarves rsync jq debootstrap e2fsprogs"

need_install=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		need_install="$need_install $p"
done
if [ -n "$need_install" ]; then
	echo "setup: installing:$need_install"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $need_install >/dev/null
fi

# The kernel ABI the headers meta-package points to: never pin it.
KABI=$(apt-cache depends linux-headers-amd64 2>/dev/null |
	sed -n 's/.*Depends: linux-headers-\(.*-amd64\)$/\1/p' | head -1)
if [ -z "$KABI" ]; then
	KABI=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 |
		sed -n 's/.*linux-headers-\([^ ,]*-amd64\).*/\1/p')
fi
[ -n "$KABI" ] || { echo "setup: cannot resolve the kernel ABI" >&2; exit 1; }
KVER=$KABI
KDIR=/usr/src/linux-headers-$KVER
if [ ! -d "$KDIR" ]; then
	apt-get install -y -q --no-install-recommends "linux-headers-$KVER" >/dev/null
fi

KIMG=$CACHE/kernel/$KVER
# The marker alone is not trusted: the module tree must be complete.
if [ ! -f "$KIMG/.done" ] ||
   [ -z "$(find "$KIMG/lib/modules/$KVER/kernel/drivers/net" -name 'virtio_net.ko*' 2>/dev/null)" ]; then
	echo "setup: fetching linux-image-$KVER"
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download "linux-image-$KVER" >/dev/null 2>&1 ||
		apt-get download "linux-image-$KVER-unsigned" >/dev/null)
	rm -rf "$KIMG"
	mkdir -p "$KIMG"
	dpkg -x "$tmp"/linux-image-*.deb "$KIMG"
	rm -rf "$tmp"
	depmod -b "$KIMG" "$KVER"
	touch "$KIMG/.done"
fi

KSRC=$CACHE/linux-source-6.1
if [ ! -f "$KSRC/.done" ]; then
	echo "setup: unpacking linux-source-6.1 (selected parts)"
	rm -rf "$KSRC"
	mkdir -p "$CACHE"
	tar -C "$CACHE" -xf /usr/src/linux-source-6.1.tar.xz \
		linux-source-6.1/scripts \
		linux-source-6.1/tools/testing/selftests/lib.mk \
		linux-source-6.1/tools/testing/selftests/kselftest.h \
		linux-source-6.1/tools/testing/selftests/kselftest \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/net/lib.sh \
		linux-source-6.1/tools/testing/selftests/net/forwarding/lib.sh \
		linux-source-6.1/tools/testing/selftests/Makefile \
		linux-source-6.1/tools/scripts \
		linux-source-6.1/Documentation/doc-guide 2>/dev/null || true
	[ -f "$KSRC/scripts/checkpatch.pl" ] ||
		{ echo "setup: linux-source-6.1 unpack failed" >&2; exit 1; }
	touch "$KSRC/.done"
fi

if [ ! -f "$KIMG/vmlinux" ]; then
	"$KSRC/scripts/extract-vmlinux" "$KIMG/boot/vmlinuz-$KVER" \
		> "$KIMG/vmlinux.tmp" && mv "$KIMG/vmlinux.tmp" "$KIMG/vmlinux"
fi

cat > "$CACHE/env" <<EOT
KVER=$KVER
KDIR=$KDIR
KIMG=$KIMG
KSRC=$KSRC
EOT
echo "setup: ready (KVER=$KVER)"
