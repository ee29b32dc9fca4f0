#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host test: the built failover.ko and net_failover.ko load where Debian's
# stock virtio_net.ko of the same kernel does and it binds to them. With
# MODVERSIONS, they export their symbols with the kernel's CRCs: the CRC
# is read from each module's __kcrctab* section and compared with
# $KDIR/Module.symvers and with what the stock importers record in their
# __versions. Without it (Debian's 7.x), the modules must carry no
# versions either, and on every kernel the vermagic must be the stock
# modules'.
#
#   symvers.sh [repo root]      (KDIR, KIMG, KVER from .cache/env: 6.1)
#   symvers.sh --kernel NAME    a kernel of .cache/kernels/ (6.1, 6.12,
#                               7.3), modules of .cache/build/NAME
#                               (scripts/kbuild.sh NAME)

CRC_TESTS="
	crc_failover_register
	crc_failover_unregister
	crc_failover_slave_unregister
	crc_net_failover_create
	crc_net_failover_destroy
	stock_virtio_net_imports
	net_failover_imports
"

# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"
FT_DUMP_STATE=0		# a host test: the host's netdevs say nothing

KNAME=
if [ "${1:-}" = --kernel ]; then
	KNAME=${2:?--kernel needs a name}
	shift 2
fi
ROOT=${1:-$(cd "$FT_DIR/../../../../.." && pwd)}
BUILD=$ROOT
KROOT=
MODVERSIONS=y
if [ -n "$KNAME" ]; then
	[ -f "$ROOT/.cache/kernels/$KNAME.env" ] ||
		skip_all "no kernel $KNAME in .cache/kernels (scripts/setup.sh)"
	# shellcheck source=/dev/null
	source "$ROOT/.cache/kernels/$KNAME.env"
	BUILD=$ROOT/.cache/build/$KNAME
	KDIR=$KROOT$KDIR	# headers of a chroot's kernel, seen from here
elif [ -f "$ROOT/.cache/env" ]; then
	# shellcheck source=/dev/null
	source "$ROOT/.cache/env"
fi
KDIR=${KDIR:-}
KIMG=${KIMG:-}
KVER=${KVER:-}
FAILOVER_KO=$BUILD/net/core/failover.ko
NET_FAILOVER_KO=$BUILD/drivers/net/net_failover.ko
if [ "$MODVERSIONS" = y ]; then
	ALL_TESTS="$CRC_TESTS vermagic"
else
	ALL_TESTS="no_modversions vermagic"
fi

# symvers_crc <symbol>: the CRC the kernel's headers record (0x%08x)
symvers_crc()
{
	awk -v s="$1" '$2 == s { print $1; exit }' "$KDIR/Module.symvers"
}

# ko_crc <module.ko> <symbol>: the CRC stored in the module's kcrctab
ko_crc()
{
	local ko=$1 sym=$2 sec val off

	read -r sec val < <(objdump -t "$ko" |
		awk -v s="__crc_$sym" '$NF == s { print $(NF - 2), $1; exit }')
	[ -n "$sec" ] || return 1
	off=$(readelf -S -W "$ko" |
		awk -v s="$sec" '{ sub(/^ *\[ *[0-9]+\] */, "") }
			$1 == s { print $4; exit }')
	[ -n "$off" ] || return 1
	printf '0x%08x\n' "0x$(od -An -tx4 -j $((0x$off + 0x$val)) -N4 "$ko" |
		tr -d ' ')"
}

# import_crc <module.ko> <symbol>: the CRC a module expects of an import
import_crc()
{
	modprobe --dump-modversions "$1" 2>/dev/null |
		awk -v s="$2" '$2 == s { print tolower($1); exit }'
}

check_export()
{
	local ko=$1 sym=$2 want got

	want=$(symvers_crc "$sym")
	[ -n "$want" ]
	check_err $? "$sym missing from $KDIR/Module.symvers"
	got=$(ko_crc "$ko" "$sym")
	check_err $? "no __crc_$sym in ${ko#"$ROOT"/}"
	[ "$got" = "$want" ]
	check_err $? "$sym: module has ${got:-none}, kernel has ${want:-none}"
	log_test "CRC of $sym matches Module.symvers (${want:-?})"
}

crc_failover_register()
{
	check_export "$FAILOVER_KO" failover_register
}

crc_failover_unregister()
{
	check_export "$FAILOVER_KO" failover_unregister
}

crc_failover_slave_unregister()
{
	check_export "$FAILOVER_KO" failover_slave_unregister
}

crc_net_failover_create()
{
	check_export "$NET_FAILOVER_KO" net_failover_create
}

crc_net_failover_destroy()
{
	check_export "$NET_FAILOVER_KO" net_failover_destroy
}

# stock_ko <name>: the stock module of that name, uncompressed, on stdout
stock_ko()
{
	local ko

	ko=$(find "$KIMG/lib/modules/$KVER/kernel/drivers/net" -maxdepth 1 \
		-name "$1.ko*" | head -n 1)
	[ -n "$ko" ] || return 1
	case $ko in
	*.xz) xz -dc "$ko" > "$tmpdir/$1.ko" && ko=$tmpdir/$1.ko;;
	*.zst) zstd -qdc "$ko" > "$tmpdir/$1.ko" && ko=$tmpdir/$1.ko;;
	esac
	echo "$ko"
}

# The stock virtio_net.ko records the CRCs it will accept.
stock_virtio_net_imports()
{
	local vnet sym want got

	vnet=$(stock_ko virtio_net)
	if [ -z "$vnet" ]; then
		log_skip "no virtio_net.ko in $KIMG"
		log_test "stock virtio_net accepts the built net_failover"
		return
	fi
	for sym in net_failover_create net_failover_destroy; do
		want=$(import_crc "$vnet" "$sym")
		got=$(ko_crc "$NET_FAILOVER_KO" "$sym")
		[ -n "$want" ] && [ "$got" = "$want" ]
		check_err $? "$sym: virtio_net wants ${want:-none}, built ${got:-none}"
	done
	log_test "stock virtio_net accepts the built net_failover"
}

net_failover_imports()
{
	local sym want got

	for sym in failover_register failover_unregister \
		   failover_slave_unregister; do
		want=$(import_crc "$NET_FAILOVER_KO" "$sym")
		[ -z "$want" ] && continue	# not every export need be used
		got=$(ko_crc "$FAILOVER_KO" "$sym")
		[ "$got" = "$want" ]
		check_err $? "$sym: net_failover wants $want, failover has ${got:-none}"
	done
	log_test "built net_failover's imports match the built failover"
}

# A kernel without MODVERSIONS refuses a module that carries versions
# ("no symbol version" is only a taint the other way round, but a
# consistent build has none) and exports carry no CRC.
no_modversions()
{
	local ko

	! grep -q '^CONFIG_MODVERSIONS=y' "$KDIR/include/config/auto.conf"
	check_err $? "$KDIR has CONFIG_MODVERSIONS=y"
	for ko in "$FAILOVER_KO" "$NET_FAILOVER_KO"; do
		! objdump -h "$ko" | grep -q '__versions\|__kcrctab'
		check_err $? "${ko#"$ROOT"/} carries symbol versions"
	done
	log_test "kernel $KVER and the built modules: no symbol versions"
}

# The module loader compares vermagic strings: ours must equal stock's.
vermagic()
{
	local vnet want ko got

	vnet=$(stock_ko virtio_net)
	[ -n "$vnet" ]
	check_err $? "no stock virtio_net.ko in $KIMG"
	want=$(modinfo -F vermagic "$vnet" 2>/dev/null)
	[ -n "$want" ]
	check_err $? "no vermagic in the stock virtio_net.ko"
	for ko in "$FAILOVER_KO" "$NET_FAILOVER_KO"; do
		got=$(modinfo -F vermagic "$ko" 2>/dev/null)
		[ "$got" = "$want" ]
		check_err $? "${ko##*/}: vermagic '$got', stock '$want'"
	done
	log_test "vermagic of the built modules is stock's (${want%% *})"
}

if [ -z "$KDIR" ] || [ ! -f "$KDIR/Module.symvers" ]; then
	skip_all "no Module.symvers in KDIR '$KDIR' (run scripts/setup.sh)"
fi
if [ ! -f "$FAILOVER_KO" ] || [ ! -f "$NET_FAILOVER_KO" ]; then
	skip_all "modules not built (run make)"
fi
for c in objdump readelf od modprobe modinfo xz; do
	command -v "$c" > /dev/null || skip_all "command $c missing"
done
tmpdir=$(mktemp -d)
defer rm -rf "$tmpdir"
run_tests
