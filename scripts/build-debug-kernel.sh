#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the debug guest kernel (lockdep, KASAN, kmemleak, debugobjects,
# netdev refcount tracker, ...) from Debian's linux-source-6.1 once, and our
# modules (failover.ko, net_failover.ko, the nfosim test module) against it.
# Idempotent: a finished kernel is reused as long as the config fragment is
# unchanged; our modules are rebuilt incrementally every time (seconds).
#
#   scripts/build-debug-kernel.sh          build what is missing
#   scripts/build-debug-kernel.sh --print  print the env file and exit
#
# Layout (FAILOVER_CACHE, default <repo>/.cache):
#   debug-kernel/src/                 the unpacked, configured, built tree
#   debug-kernel/<KVER>/boot/vmlinuz-<KVER>  bzImage, as in Debian's image
#   debug-kernel/<KVER>/boot/vmlinux-<KVER>  the ELF, for symbols only
#   debug-kernel/<KVER>/lib/modules/  modules_install + depmod, as KIMG
#
# Unlike Debian's kernel, this one does not boot through PVH from its ELF
# vmlinux under QEMU 7.2 (the guest resets at once, no output), so no
# <KVER>/vmlinux is installed and vm/run_vm.py boots the bzImage (about
# 20 s to userspace under TCG with KASAN).
#   debug-kernel/ourmods/             copy of our sources, built against src
#   debug-kernel/ourmods/nfosim/      the simulated lower device
#   debug-kernel/env                  DKVER, DKIMG, DKSRC, DOURS
#   debug-kernel/build.log            the kernel build's output
#
# The kernel build runs at nice 19 with -j2 (JOBS overrides): the CPU is
# shared with QEMU guests.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${FAILOVER_CACHE:-$ROOT/.cache}
DK=$CACHE/debug-kernel
SRC=$DK/src
FRAGMENT=$ROOT/tools/testing/selftests/net/failover/vm/debug.config
NFOSIM=$ROOT/tools/testing/selftests/net/failover/nfosim
TARBALL=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
JOBS=${JOBS:-2}
MAKE="nice -n 19 make -j$JOBS"

if [ "${1:-}" = --print ]; then
	cat "$DK/env"
	exit
fi

t0=$(date +%s)
stamp() {
	local s=$(($(date +%s) - t0))
	printf 'build-debug-kernel: [%dm%02ds] %s\n' $((s / 60)) $((s % 60)) "$*"
}

mkdir -p "$DK"

# 1. Unpack the tarball once.
if [ ! -f "$SRC/.unpacked" ]; then
	[ -f "$TARBALL" ] || { echo "no $TARBALL: run scripts/setup.sh" >&2; exit 1; }
	stamp "unpacking $TARBALL"
	rm -rf "$SRC"
	mkdir -p "$SRC"
	nice -n 19 tar -C "$SRC" --strip-components=1 -xf "$TARBALL"
	touch "$SRC/.unpacked"
fi

# 2. Configure: x86_64_defconfig + our fragment. Redone (and the kernel
#    rebuilt incrementally) only when the fragment changes.
want=$(sha256sum "$FRAGMENT" | cut -d' ' -f1)
have=$(cat "$SRC/.fragment.sha256" 2>/dev/null || true)
if [ "$want" != "$have" ] || [ ! -f "$SRC/.config" ]; then
	stamp "configuring (x86_64_defconfig + ${FRAGMENT#"$ROOT"/})"
	rm -f "$SRC/.built"
	make -C "$SRC" -s x86_64_defconfig
	(cd "$SRC" && KCONFIG_CONFIG=.config \
		scripts/kconfig/merge_config.sh -m .config "$FRAGMENT" >/dev/null)
	make -C "$SRC" -s olddefconfig
	# Every option the fragment asks for must have survived olddefconfig.
	miss=0
	while read -r line; do
		case $line in
		CONFIG_*=*)
			grep -qxF "$line" "$SRC/.config" ||
				{ echo "  not set as asked: $line" >&2; miss=1; } ;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }; sym=${sym%% *}
			! grep -q "^$sym=" "$SRC/.config" ||
				{ echo "  still set: $sym" >&2; miss=1; } ;;
		esac
	done < "$FRAGMENT"
	[ $miss = 0 ] || { echo "debug.config not honoured" >&2; exit 1; }
	echo "$want" > "$SRC/.fragment.sha256"
fi
# 3. Build vmlinux and the modules.
if [ ! -f "$SRC/.built" ]; then
	stamp "building with $MAKE (log: $DK/build.log)"
	b0=$(date +%s)
	if ! $MAKE -C "$SRC" vmlinux bzImage modules > "$DK/build.log" 2>&1; then
		tail -30 "$DK/build.log" >&2
		echo "kernel build failed: $DK/build.log" >&2
		exit 1
	fi
	echo $(($(date +%s) - b0)) > "$SRC/.built"
	rm -f "$DK"/*/.done
	stamp "kernel built in $(($(cat "$SRC/.built") / 60)) min"
fi

# The release string comes from include/config/auto.conf, which the build
# (re)generates: only ask for it after building.
KVER=$(make -C "$SRC" -s kernelrelease)
OUT=$DK/$KVER

# 4. Install in the same layout as the Debian image (KIMG).
if [ ! -f "$OUT/.done" ] || [ ! -f "$OUT/boot/vmlinuz-$KVER" ]; then
	[ -f "$SRC/arch/x86/boot/bzImage" ] ||
		$MAKE -C "$SRC" bzImage > "$DK/bzimage.log" 2>&1
	stamp "installing into $OUT"
	rm -rf "$OUT"
	mkdir -p "$OUT"
	make -C "$SRC" -s modules_install INSTALL_MOD_PATH="$OUT" \
		INSTALL_MOD_STRIP=1 DEPMOD=true >/dev/null
	rm -f "$OUT/lib/modules/$KVER/build" "$OUT/lib/modules/$KVER/source"
	mkdir -p "$OUT/boot"
	cp "$SRC/arch/x86/boot/bzImage" "$OUT/boot/vmlinuz-$KVER"
	cp "$SRC/vmlinux" "$OUT/boot/vmlinux-$KVER"
	cp "$SRC/System.map" "$OUT/boot/System.map-$KVER"
	cp "$SRC/.config" "$OUT/boot/config-$KVER"
	depmod -b "$OUT" "$KVER"
	touch "$OUT/.done"
fi

# 5. Our modules, from a copy of the sources so that the objects of the
#    normal build (against Debian's headers) are left alone. -g: the
#    kernel has no debug info, our modules do (for faddr2line on splats).
#    Built from scratch every time (seconds): objects left by a build
#    against another kernel (Debian's headers, say) would otherwise be
#    linked with that kernel's symbol CRCs.
OURS=$DK/ourmods
stamp "building our modules against $KVER"
rm -rf "$OURS"
mkdir -p "$OURS/nfosim"
rsync -a --include='*/' --include='*.c' --include='*.h' \
	--include='Kbuild' --exclude='*' --prune-empty-dirs \
	"$ROOT/Kbuild" "$ROOT/net" "$ROOT/drivers" "$ROOT/include" "$OURS/"
make -C "$SRC" M="$OURS" KCFLAGS=-g W=1 modules > "$OURS/build.log" 2>&1 ||
	{ cat "$OURS/build.log" >&2; exit 1; }
cp "$NFOSIM/nfosim.c" "$NFOSIM/Kbuild" "$OURS/nfosim/"
make -C "$SRC" M="$OURS/nfosim" KCFLAGS=-g W=1 \
	NFOSIM_INCLUDE="$OURS/include" \
	KBUILD_EXTRA_SYMBOLS="$OURS/Module.symvers" modules \
	> "$OURS/nfosim/build.log" 2>&1 ||
	{ cat "$OURS/nfosim/build.log" >&2; exit 1; }

# The modules must carry this kernel's CRCs (module_layout stands for all).
want=$(awk '$2 == "module_layout" { print $1 }' "$SRC/Module.symvers")
for ko in "$OURS/net/core/failover.ko" "$OURS/drivers/net/net_failover.ko" \
	  "$OURS/nfosim/nfosim.ko"; do
	have=$(modprobe --dump-modversions "$ko" |
		awk '$2 == "module_layout" { print $1 }')
	[ "$((have))" = "$((want))" ] || {
		echo "$ko: module_layout CRC $have, kernel has $want" >&2
		exit 1
	}
done

cat > "$DK/env" <<EOT
DKVER=$KVER
DKIMG=$OUT
DKSRC=$SRC
DOURS=$OURS
EOT
stamp "ready: $KVER (the kernel build itself took $(($(cat "$SRC/.built") / 60)) min)"
