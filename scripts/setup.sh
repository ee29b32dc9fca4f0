#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install and unpack everything the project builds and tests with, from
# Debian's archive only. Idempotent: a second run only checks.
#
#   scripts/setup.sh            install packages, fetch the kernels, unpack
#   . .cache/env                KVER, KDIR, KIMG, KSRC for other scripts
#                               (the host's kernel, Debian 12's 6.1)
#   .cache/kernels/*.env        one file per kernel built and tested for
#                               (scripts/kbuild.sh reads them)
#
# Kernels: Debian 12's (the ABI linux-headers-amd64 depends on), Debian
# 13's (trixie) and Debian 13 backports' (trixie-backports), each resolved
# through the same meta-package at setup time, never pinned. Debian 13's
# headers need gcc-14, which bookworm lacks: they are built in a trixie
# chroot made with debootstrap (.cache/d13/root). The trixie package lists
# live in a private apt state (.cache/d13/apt): the machine's own apt
# sources are never changed. FAILOVER_D13=0 skips the Debian 13 kernels.
#
# Layout of the cache (FAILOVER_CACHE, default <repo>/.cache):
#   env                         shell variables below
#   kernel/<KVER>/              dpkg -x of linux-image-<KVER> (vmlinuz, modules)
#   kernel/<KVER>/vmlinux       uncompressed ELF for a faster PVH boot
#   linux-source-6.1/           parts of Debian's kernel tree we build on
#                               (kselftest framework, checkpatch, kernel-doc)
#   kernels/<name>.env          KNAME KVER KDIR KIMG KROOT MODVERSIONS
#   d13/apt/                    private apt state for trixie(-backports)
#   d13/root/                   trixie chroot: gcc-14, sparse, the headers
#   sparse/                     sid's sparse (the 7.x headers need it)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${FAILOVER_CACHE:-$ROOT/.cache}
mkdir -p "$CACHE"

PKGS="build-essential gcc make kmod cpio xz-utils busybox-static
      qemu-system-x86 qemu-utils sparse pkg-config libnl-3-dev
      libnl-genl-3-dev iproute2 ethtool python3 python3-docutils
      linux-source-6.1 linux-headers-amd64 bc flex bison libelf-dev
      libssl-dev dwarves rsync jq debootstrap e2fsprogs zstd
      debhelper dh-dkms dpkg-dev lintian"

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
	(cd "$tmp" && { apt-get download "linux-image-$KVER" >/dev/null 2>&1 ||
		apt-get download "linux-image-$KVER-unsigned" >/dev/null; })
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

# kernel_env <KVER> <KDIR> <KIMG> <chroot or empty>: .cache/kernels/<x.y>.env
kernel_env()
{
	local name mv

	name=$(echo "$1" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
	mv=n
	grep -q '^CONFIG_MODVERSIONS=y' "$4$2/include/config/auto.conf" && mv=y
	mkdir -p "$CACHE/kernels"
	cat > "$CACHE/kernels/$name.env" <<EOT
KNAME=$name
KVER=$1
KDIR=$2
KIMG=$3
KROOT=$4
MODVERSIONS=$mv
EOT
	echo "setup: kernel $name: $1 (MODVERSIONS=$mv${4:+, built in $4})"
}

rm -rf "$CACHE/kernels"
kernel_env "$KVER" "$KDIR" "$KIMG" ""

[ "${FAILOVER_D13:-1}" = 0 ] && { echo "setup: ready (KVER=$KVER)"; exit 0; }

# ---------------------------------------------------------------- Debian 13
D13=$CACHE/d13
# shellcheck disable=SC2016 # apt's format fields, not shell variables
MIRROR=$(apt-get indextargets --format '$(SITE) $(SUITE)' 2>/dev/null |
	awk '$1 ~ /\/debian$/ && $2 !~ /security|updates|backports/ \
		{ print $1; exit }')
MIRROR=${MIRROR:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# private_apt VAR DIR SUITE...: an apt state of its own in DIR (sources,
# lists, cache; never the machine's) for these suites of MIRROR; the
# array VAR gets the options that make apt-get use it
private_apt()
{
	local -n opts=$1
	local dir=$2 suite

	shift 2
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	for suite in "$@"; do
		echo "deb [signed-by=$KEYRING] $MIRROR $suite main"
	done > "$dir/sources.list.new"
	mv "$dir/sources.list.new" "$dir/sources.list"
	# shellcheck disable=SC2034 # a nameref: the caller's array
	opts=(-o "Dir::Etc::SourceList=$dir/sources.list"
	      -o Dir::Etc::SourceParts=/dev/null
	      -o "Dir::State::Lists=$dir/lists"
	      -o "Dir::Cache=$dir/cache"
	      -o Dir::State::Status=/dev/null
	      -o APT::Sandbox::User=root)
}

private_apt APT_D13 "$D13/apt" trixie trixie-backports
# Lists older than a day are refreshed: Debian drops superseded ABIs.
if [ -z "$(find "$D13/apt/lists" -name '*trixie-backports*Packages' \
	-mmin -1440 2>/dev/null)" ]; then
	echo "setup: apt update (trixie, trixie-backports, private state)"
	apt-get "${APT_D13[@]}" update -qq ||
		{ echo "setup: apt update for trixie failed" >&2; exit 1; }
fi

ROOTFS=$D13/root
# pahole (dwarves): Debian 13's headers generate BTF for modules
if [ ! -f "$ROOTFS/.done" ] || [ ! -x "$ROOTFS/usr/bin/pahole" ]; then
	echo "setup: debootstrap trixie (gcc-14, sparse, pahole) into $ROOTFS"
	rm -rf "$ROOTFS" "$ROOTFS.tmp"
	debootstrap --variant=minbase \
		--include=gcc-14,make,libc6-dev,libelf-dev,bc,flex,bison,kmod,sparse,xz-utils,dwarves \
		trixie "$ROOTFS.tmp" "$MIRROR" > "$D13/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$D13/debootstrap.log" >&2; exit 1; }
	mv "$ROOTFS.tmp" "$ROOTFS"
	touch "$ROOTFS/.done"
fi

# d13_kernel <suite>: the ABI of that suite's linux-headers-amd64, its
# headers unpacked in the chroot, its image in .cache/kernel/<KVER>
d13_kernel()
{
	local suite=$1 kv pkgs p tmp kimg kz

	kv=$(apt-cache "${APT_D13[@]}" -o "APT::Default-Release=$suite" \
		depends linux-headers-amd64 2>/dev/null |
		sed -n 's/.*Depends: linux-headers-\([^ ]*-amd64\)$/\1/p' |
		head -n 1)
	[ -n "$kv" ] || { echo "setup: no kernel ABI in $suite" >&2; return 1; }

	# Headers: the package and its linux-headers-*/linux-kbuild-*
	# dependencies, unpacked (not installed: the 6.12 headers depend on
	# the image, whose initramfs hook is of no use here).
	if [ ! -f "$ROOTFS/usr/src/linux-headers-$kv/.done" ]; then
		pkgs="linux-headers-$kv $(apt-cache "${APT_D13[@]}" depends \
			"linux-headers-$kv" 2>/dev/null | sed -n \
			's/^ *|\{0,1\}Depends: \(linux-\(headers\|kbuild\)-[^ ]*\)$/\1/p' |
			sort -u | tr '\n' ' ')"
		echo "setup: headers $kv ($pkgs)"
		tmp=$(mktemp -d)
		# shellcheck disable=SC2086
		(cd "$tmp" && apt-get "${APT_D13[@]}" download $pkgs \
			> /dev/null) || { rm -rf "$tmp"; return 1; }
		for p in "$tmp"/*.deb; do
			dpkg -x "$p" "$ROOTFS"
		done
		rm -rf "$tmp"
		[ -f "$ROOTFS/usr/src/linux-headers-$kv/Module.symvers" ] ||
			{ echo "setup: headers $kv incomplete" >&2; return 1; }
		touch "$ROOTFS/usr/src/linux-headers-$kv/.done"
	fi

	# Image: linux-image-<kv> and, since 7.x, the linux-binary and
	# linux-modules packages it depends on. Merged /usr: the module tree
	# is moved to lib/modules, where the 6.1 image keeps it.
	kimg=$CACHE/kernel/$kv
	if [ ! -f "$kimg/.done" ] ||
	   [ -z "$(find "$kimg/lib/modules/$kv/kernel/drivers/net" \
		-name 'virtio_net.ko*' 2>/dev/null)" ]; then
		echo "setup: fetching linux-image-$kv"
		pkgs="linux-image-$kv"
		for p in linux-binary-$kv linux-modules-$kv; do
			apt-cache "${APT_D13[@]}" show "$p" > /dev/null 2>&1 &&
				pkgs="$pkgs $p"
		done
		tmp=$(mktemp -d)
		# shellcheck disable=SC2086
		(cd "$tmp" && apt-get "${APT_D13[@]}" download $pkgs \
			> /dev/null) || { rm -rf "$tmp"; return 1; }
		rm -rf "$kimg"
		mkdir -p "$kimg/lib"
		for p in "$tmp"/*.deb; do
			dpkg -x "$p" "$kimg"
		done
		rm -rf "$tmp"
		if [ -d "$kimg/usr/lib/modules" ] && [ ! -d "$kimg/lib/modules" ]; then
			mv "$kimg/usr/lib/modules" "$kimg/lib/modules"
		fi
		depmod -b "$kimg" "$kv"
		touch "$kimg/.done"
	fi
	if [ ! -f "$kimg/vmlinux" ]; then
		kz=$kimg/boot/vmlinuz-$kv
		[ -f "$kz" ] || kz=$kimg/lib/modules/$kv/vmlinuz
		# PVH boot of the ELF; the payload is zstd on Debian 13
		"$KSRC/scripts/extract-vmlinux" "$kz" > "$kimg/vmlinux.tmp" &&
			mv "$kimg/vmlinux.tmp" "$kimg/vmlinux"
	fi
	kernel_env "$kv" "/usr/src/linux-headers-$kv" "$kimg" "$ROOTFS"
}

# sparse for the 7.x headers: they use __typeof_unqual__, which Debian
# 13's sparse 0.6.4 cannot parse; sid's 0.6.5~rc1 can. Unpacked (not
# installed) into .cache/sparse with its own apt state; it needs trixie's
# libc, so kbuild.sh runs it in the chroot. Without it sparse on 7.x skips.
SPARSE=$CACHE/sparse
if [ ! -x "$SPARSE/usr/bin/sparse" ]; then
	echo "setup: sparse from sid (for the 7.x headers) into $SPARSE"
	private_apt APT_SID "$SPARSE/apt" sid
	tmp=$(mktemp -d)
	if apt-get "${APT_SID[@]}" update -qq &&
	   (cd "$tmp" && apt-get "${APT_SID[@]}" download sparse > /dev/null); then
		dpkg -x "$tmp"/sparse_*.deb "$SPARSE"
	else
		echo "setup: no sparse from sid: sparse on 7.x will skip" >&2
	fi
	rm -rf "$tmp"
fi

d13_kernel trixie || exit 1
d13_kernel trixie-backports || exit 1
echo "setup: ready (KVER=$KVER; kernels: $("$ROOT/scripts/kbuild.sh" list |
	tr '\n' ' '))"
