#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A Debian 13 (trixie) QEMU, without touching the machine's QEMU or its
# apt state, for what Debian 12's QEMU 7.2 cannot do: a live migration
# under TCG (7.2 loses guest stores during the live RAM copy; fixed in
# QEMU 9.0 by "physmem: Fix migration dirty bitmap coherency with TCG
# memory access"; trixie has 10.0).
#
#   scripts/qemu-d13.sh         prints the path of a qemu-system-x86_64
#                               wrapper; the first run makes the root
#
# Idempotent and cached: the first run debootstraps a minimal trixie root
# with qemu-system-x86 into .cache/qemu-d13/root (FAILOVER_CACHE, default
# <repo>/.cache; about 150 MiB, a few minutes), later runs only print.
# This root is its own: the shared build chroot (.cache/d13/root) is
# never written. The wrapper runs trixie's QEMU with trixie's dynamic
# loader and libraries and its firmware directories (-L), in the
# caller's file system: host paths, sockets and inherited file
# descriptors (-netdev dgram,local.type=fd) work as with the host's QEMU.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${FAILOVER_CACHE:-$ROOT/.cache}
DIR=$CACHE/qemu-d13
R=$DIR/root
WRAP=$DIR/qemu-system-x86_64
STAMP=$R/.qemu-d13-ready

mkdir -p "$DIR"
exec 9> "$DIR/.lock"
flock 9

if [ ! -e "$STAMP" ]; then
	command -v debootstrap > /dev/null ||
		{ echo "qemu-d13: debootstrap missing (apt-get install" \
			"debootstrap)" >&2; exit 1; }
	[ "$(id -u)" = 0 ] ||
		{ echo "qemu-d13: debootstrap needs root" >&2; exit 1; }
	# shellcheck disable=SC2016 # apt's format fields
	MIRROR=$(apt-get indextargets --format '$(SITE) $(SUITE)' \
		2>/dev/null | awk '$1 ~ /\/debian$/ &&
			$2 !~ /security|updates|backports/ { print $1; exit }')
	MIRROR=${MIRROR:-http://deb.debian.org/debian}
	echo "qemu-d13: debootstrap trixie + qemu-system-x86 into $R" \
		"($MIRROR)" >&2
	rm -rf "$R.tmp"
	if ! debootstrap --variant=minbase --include=qemu-system-x86 \
		trixie "$R.tmp" "$MIRROR" > "$DIR/debootstrap.log" 2>&1; then
		echo "qemu-d13: debootstrap failed, see $DIR/debootstrap.log" >&2
		rm -rf "$R.tmp"
		exit 1
	fi
	rm -rf "$R"
	mv "$R.tmp" "$R"
	rm -f "$WRAP"
fi

if [ ! -x "$WRAP" ]; then
	cat > "$WRAP.new" <<EOT
#!/bin/sh
# Debian 13's QEMU from $R (scripts/qemu-d13.sh)
QEMU_MODULE_DIR=$R/usr/lib/x86_64-linux-gnu/qemu
export QEMU_MODULE_DIR
exec "$R/lib64/ld-linux-x86-64.so.2" \\
	--library-path "$R/lib/x86_64-linux-gnu:$R/usr/lib/x86_64-linux-gnu" \\
	"$R/usr/bin/qemu-system-x86_64" \\
	-L "$R/usr/share/qemu" -L "$R/usr/share/seabios" "\$@"
EOT
	chmod 755 "$WRAP.new"
	mv "$WRAP.new" "$WRAP"
fi

if ! ver=$("$WRAP" --version 2>&1 | head -n 1) ||
	! echo "$ver" | grep -q '^QEMU emulator version'; then
	echo "qemu-d13: $WRAP does not run: $ver" >&2
	exit 1
fi
touch "$STAMP"
echo "$WRAP"
