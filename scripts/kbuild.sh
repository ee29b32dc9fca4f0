#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the modules for one of the kernels scripts/setup.sh prepared, each
# in its own output tree, so that builds for different kernels never
# overwrite each other's objects:
#
#   scripts/kbuild.sh NAME [modules|sparse|nfosim]...
#	NAME     a kernel of .cache/kernels/ (6.1, 6.12, 7.3), or "list"
#	modules  failover.ko, net_failover.ko (W=1; a warning fails)
#	sparse   the same with C=2 (a sparse warning fails; exit 4 when the
#	         kernel's make finds no usable sparse). Debian 13's sparse
#	         0.6.4 cannot parse 7.x headers (__typeof_unqual__): kernels
#	         built in a chroot use sid's from .cache/sparse (setup.sh)
#	nfosim   the simulated lower of the selftests, against our symbols
#
# The sources are copied to .cache/build/NAME/ and built there with
# "make -C KDIR M=.cache/build/NAME"; the modules end up in
# .cache/build/NAME/net/core/failover.ko, drivers/net/net_failover.ko and
# nfosim/nfosim.ko. Kernels that need another toolchain (Debian 13's need
# gcc-14) are built in their chroot (KROOT), in a private mount namespace
# that gives it /proc and the build tree at the same path as here.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${FAILOVER_CACHE:-$ROOT/.cache}
NFOSIM_SRC=tools/testing/selftests/net/failover/nfosim

if [ "${1:-}" = list ] || [ $# -lt 1 ]; then
	find "$CACHE/kernels" -name '*.env' -printf '%f\n' 2>/dev/null |
		sed 's/\.env$//' | sort -V
	[ $# -ge 1 ] || exit 2
	exit 0
fi
NAME=$1
shift
[ -f "$CACHE/kernels/$NAME.env" ] ||
	{ echo "kbuild: no kernel $NAME (scripts/setup.sh)" >&2; exit 2; }
KROOT=
# shellcheck source=/dev/null
. "$CACHE/kernels/$NAME.env"
OUT=$CACHE/build/$NAME
[ $# -gt 0 ] || set -- modules

# Sources only: objects built at the top (make) are for another kernel.
mkdir -p "$OUT/nfosim"
(cd "$ROOT" && rsync -a --include='*/' --include='*.[ch]' \
	--include=Kbuild --exclude='*' Kbuild compat include net drivers "$OUT/")
rsync -a "$ROOT/$NFOSIM_SRC/Kbuild" "$ROOT/$NFOSIM_SRC/nfosim.c" "$OUT/nfosim/"

# kmake <args>: make against KDIR, in KROOT when the kernel has one
kmake()
{
	if [ -z "$KROOT" ]; then
		make -C "$KDIR" "$@"
		return
	fi
	mkdir -p "$KROOT$CACHE/build"
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m /bin/sh -c '
		mount -t proc proc "$1/proc" &&
		mount --bind "$2" "$1$2" &&
		shift 2 && exec chroot "$@"' sh \
		"$KROOT" "$CACHE/build" "$KROOT" make -C "$KDIR" "$@"
}

# kroot_run <command...>: run in KROOT when the kernel has one
kroot_run()
{
	if [ -n "$KROOT" ]; then
		chroot "$KROOT" "$@"
	else
		"$@"
	fi
}

# warnings_fail <log>: a build that printed a warning did not succeed
warnings_fail()
{
	if grep -E 'warning:|error:' "$1"; then
		echo "kbuild: $NAME: warnings above" >&2
		return 1
	fi
}

for target; do
	log=$OUT/$target.log
	case $target in
	modules)
		kmake M="$OUT" W=1 modules 2>&1 | tee "$log"
		warnings_fail "$log"
		;;
	sparse)
		# every object again, so that sparse sees all of them
		touch "$OUT/net/core/failover.c" "$OUT/drivers/net/net_failover.c"
		check=()
		if [ -n "$KROOT" ] && [ -x "$CACHE/sparse/usr/bin/sparse" ]; then
			# sid's sparse (setup.sh), in the build tree that
			# kmake binds into the chroot. KBUILD_CHECKSRC=2:
			# the 7.x make validates sparse with
			# scripts/checker-valid.sh, which Debian's headers
			# lack, and would turn any sparse off.
			cp "$CACHE/sparse/usr/bin/sparse" "$OUT/.sparse"
			check=(CHECK="$OUT/.sparse" KBUILD_CHECKSRC=2)
		fi
		kmake M="$OUT" W=1 C=2 "${check[@]}" modules 2>&1 | tee "$log"
		if [ ${#check[@]} -eq 0 ] &&
		   grep -q 'C=2 specified, but .* not available or not up to date' \
			"$log"; then
			echo "kbuild: $NAME: SKIP sparse: the kernel's make" \
				"refuses sparse $(kroot_run sparse --version 2>&1)" \
				"as too old for its headers" >&2
			exit 4
		fi
		warnings_fail "$log"
		;;
	nfosim)
		kmake M="$OUT/nfosim" W=1 NFOSIM_INCLUDE="$OUT/include" \
			KBUILD_EXTRA_SYMBOLS="$OUT/Module.symvers" modules 2>&1 |
			tee "$log"
		warnings_fail "$log"
		;;
	*)
		echo "kbuild: unknown target $target" >&2
		exit 2
		;;
	esac
done
