#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host test of modprobe-fallback (not installed; run as root):
#
#   debian/checks/test-fallback.sh [HELPER]
#
# Runs the helper in a private mount namespace in which /usr/sbin holds
# only a fake modprobe and insmod, /lib/modules holds a fake kernel tree,
# /sys/module is a tmpfs (a module is "loaded" when its directory exists),
# /proc/sys/kernel/osrelease names the fake kernel, /var/lib a tmpfs (for
# dkms 3.2's original_module/) and /dev/kmsg is a pipe read into a file. The fakes do what kmod does with the install rules of
# net-failover.conf: "modprobe --ignore-install net_failover" still runs
# the install rule of its dependency failover (checked with the real
# modprobe 30 and 34, --show-depends); a loaded module is not loaded again.
# What each fake module load does comes from files in $FAKE: dkms_MOD and
# stock_MOD hold "ok" or "fail:ERROR TEXT".
#
# Ends with "N passed, N failed". HELPER defaults to the packaged script;
# give a mutated copy to see the cases that catch the mutation.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HELPER=$(realpath "${1:-$HERE/../fallback/modprobe-fallback}")
KV=6.99.0-test-amd64

[ "$(id -u)" = 0 ] || { echo "test-fallback: SKIP: needs root (mount namespace)"; exit 4; }
command -v unshare > /dev/null || { echo "test-fallback: SKIP: no unshare (util-linux)"; exit 4; }

TMP=$(mktemp -d /tmp/test-fallback.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# ------------------------------------------------------------------ fakes
mkdir -p "$TMP/bin"
cat > "$TMP/bin/modprobe" <<'EOF'
#!/bin/bash
echo "modprobe $*" >> "$FAKE/calls"
depth=${FAKE_DEPTH:-0}
if [ "$depth" -gt 4 ]; then
	echo RECURSION >> "$FAKE/calls"
	exit 99
fi
export FAKE_DEPTH=$((depth + 1))
ign=0
if [ "$1" = --ignore-install ]; then
	ign=1
	shift
fi
mod=$1
[ -d "/sys/module/$mod" ] && exit 0
# The dependency goes through its own install rule, as with kmod.
if [ "$mod" = net_failover ] && [ ! -d /sys/module/failover ]; then
	if ! "$HELPER" failover; then
		echo "modprobe: ERROR: Error running install command 'failover' for module failover: retcode 1" >&2
		echo "modprobe: ERROR: could not insert 'net_failover': Invalid argument" >&2
		exit 1
	fi
fi
[ "$ign" = 1 ] || exec "$HELPER" "$mod"
r=$(cat "$FAKE/dkms_$mod" 2> /dev/null || echo ok)
case $r in
ok)	mkdir -p "/sys/module/$mod"
	echo "$mod dkms" >> "$FAKE/loaded" ;;
*)	echo "modprobe: ERROR: could not insert '$mod': ${r#fail:}" >&2
	exit 1 ;;
esac
EOF
cat > "$TMP/bin/insmod" <<'EOF'
#!/bin/bash
echo "insmod $*" >> "$FAKE/calls"
ko=$1
[ -e "$ko" ] || { echo "insmod: ERROR: could not load module $ko: No such file or directory" >&2; exit 1; }
mod=${ko##*/}
mod=${mod%%.ko*}
r=$(cat "$FAKE/stock_$mod" 2> /dev/null || echo ok)
case $r in
ok)	[ -d "/sys/module/$mod" ] && { echo "insmod: ERROR: could not insert module $ko: File exists" >&2; exit 1; }
	mkdir -p "/sys/module/$mod"
	echo "$mod stock $ko" >> "$FAKE/loaded" ;;
race)	mkdir -p "/sys/module/$mod"	# someone else was quicker
	echo "insmod: ERROR: could not insert module $ko: File exists" >&2
	exit 1 ;;
*)	echo "insmod: ERROR: could not insert module $ko: ${r#fail:}" >&2
	exit 1 ;;
esac
EOF
chmod +x "$TMP/bin/modprobe" "$TMP/bin/insmod"
echo "$KV" > "$TMP/osrelease"

# One case: $1 name, $2 suffix of the stock modules (.ko, .ko.xz), then
# NAME=VALUE lines for $FAKE files, then "--", the module to load; the
# checks run on $FAKE afterwards (see below).
run_case()
{
	local suffix=$1
	shift
	rm -rf "$TMP/case"
	FAKE=$TMP/case
	local lib=$FAKE/modules/$KV
	mkdir -p "$lib/kernel/net/core" "$lib/kernel/drivers/net" \
		"$lib/updates/dkms"
	if [ -n "$suffix" ]; then
		touch "$lib/kernel/net/core/failover$suffix" \
		      "$lib/kernel/drivers/net/net_failover$suffix"
	fi
	while [ "$1" != -- ]; do
		echo "${1#*=}" > "$FAKE/${1%%=*}"
		shift
	done
	shift
	: > "$FAKE/calls"
	: > "$FAKE/loaded"
	: > "$FAKE/kmsg.log"
	mkfifo "$FAKE/kmsg"
	# shellcheck disable=SC2016 # expanded by the inner shell
	FAKE=$FAKE HELPER=$HELPER unshare -m --propagation private bash -c '
		set -e
		mount --bind "$FAKE/modules" /lib/modules
		mount -t tmpfs fake /sys/module
		mount --bind '"$TMP"'/osrelease /proc/sys/kernel/osrelease
		mount -t tmpfs fake /usr/sbin
		cp '"$TMP"'/bin/modprobe '"$TMP"'/bin/insmod /usr/sbin/
		mount --bind "$FAKE/kmsg" /dev/kmsg
		mount -t tmpfs fake /var/lib
		if [ -e "$FAKE/orig" ]; then
			o=/var/lib/dkms/net-failover/original_module/'"$KV"'/x86_64
			mkdir -p "$o"
			touch "$o/failover.ko.xz" "$o/net_failover.ko.xz"
		fi
		cat "$FAKE/kmsg" >> "$FAKE/kmsg.log" &
		exec 3> "$FAKE/kmsg"
		set +e
		/usr/sbin/modprobe "$@" > "$FAKE/stdout" 2> "$FAKE/stderr"
		echo $? > "$FAKE/rc"
		exec 3>&-
		wait
	' fake "$@"
}

PASS=0
FAIL=0
check()
{
	local what=$1
	shift
	if "$@"; then
		PASS=$((PASS + 1))
		echo "ok - $what"
	else
		FAIL=$((FAIL + 1))
		echo "not ok - $what"
		sed 's/^/#   /' "$FAKE/calls" "$FAKE/stderr" "$FAKE/kmsg.log"
	fi
}
rc_is() { [ "$(cat "$FAKE/rc")" = "$1" ]; }
rc_not0() { ! rc_is 0; }
loaded_is() { [ "$(cat "$FAKE/loaded")" = "$1" ]; }
kmsg_lines() { [ "$(grep -c . "$FAKE/kmsg.log")" = "$1" ]; }
kmsg_has() { grep -qF -- "$1" "$FAKE/kmsg.log"; }
stderr_has() { grep -qF -- "$1" "$FAKE/stderr"; }
no_recursion() { ! grep -q RECURSION "$FAKE/calls"; }
S=/lib/modules/$KV/kernel

# 1. The DKMS modules load: nothing else happens.
run_case .ko -- net_failover
check "dkms loads: exit 0" rc_is 0
check "dkms loads: both DKMS modules, nothing stock" \
	loaded_is "$(printf 'failover dkms\nnet_failover dkms')"
check "dkms loads: kernel log untouched" kmsg_lines 0

# 2. Signature rejected (module.sig_enforce=1): the kernel's own, one line
#    per module, saying why and which file.
run_case .ko dkms_failover="fail:Key was rejected by service" \
	dkms_net_failover="fail:Key was rejected by service" -- net_failover
check "rejected: exit 0" rc_is 0
check "rejected: both stock modules, failover first" \
	loaded_is "$(printf 'failover stock %s\nnet_failover stock %s' \
		"$S/net/core/failover.ko" "$S/drivers/net/net_failover.ko")"
check "rejected: one kernel log line per module" kmsg_lines 2
check "rejected: the line names the reason and the file" kmsg_has \
	"<4>net-failover: failover: loaded the kernel's own $S/net/core/failover.ko: the DKMS module did not load (could not insert 'failover': Key was rejected by service)"
check "rejected: no recursion" no_recursion

# 3. Only net_failover fails (built for another kernel): stock
#    net_failover on top of the DKMS failover (same symbols and CRCs).
run_case .ko dkms_net_failover="fail:Exec format error" -- net_failover
check "net_failover only: exit 0" rc_is 0
check "net_failover only: DKMS failover, stock net_failover" \
	loaded_is "$(printf 'failover dkms\nnet_failover stock %s' \
		"$S/drivers/net/net_failover.ko")"
check "net_failover only: one line" kmsg_lines 1
check "net_failover only: reason" kmsg_has "(could not insert 'net_failover': Exec format error)"

# 4. Debian 13 layout: the kernel's own modules are .ko.xz.
run_case .ko.xz dkms_failover="fail:Key was rejected by service" -- failover
check "xz: exit 0" rc_is 0
check "xz: the .ko.xz is loaded" loaded_is "failover stock $S/net/core/failover.ko.xz"

# 5. The kernel's own module fails too: the error is not hidden.
run_case .ko dkms_failover="fail:Key was rejected by service" \
	stock_failover="fail:Invalid module format" -- failover
check "stock fails: exit non-zero" rc_not0
check "stock fails: nothing loaded" loaded_is ""
check "stock fails: the DKMS error on stderr" stderr_has "Key was rejected by service"
check "stock fails: the stock error on stderr" stderr_has "Invalid module format"
check "stock fails: the kernel log says neither loaded" kmsg_has \
	"failover: neither the DKMS module (could not insert 'failover': Key was rejected by service) nor the kernel's own $S/net/core/failover.ko (Invalid module format) loaded"

# 6. No module of the kernel's own: error, not success.
run_case "" dkms_failover="fail:Key was rejected by service" -- failover
check "no stock module: exit non-zero" rc_not0
check "no stock module: said so" kmsg_has "and the kernel's own kernel/net/core/failover.ko* is not there"

# 6b. Debian 13's dkms moved the kernel's own module aside: found there.
run_case "" orig=1 dkms_failover="fail:Key was rejected by service" -- failover
check "moved by dkms 3.2: exit 0" rc_is 0
check "moved by dkms 3.2: loaded from /var/lib/dkms" loaded_is \
	"failover stock /var/lib/dkms/net-failover/original_module/$KV/x86_64/failover.ko.xz"

# 7. Another loader was quicker: the module is there, success.
run_case .ko dkms_failover="fail:Key was rejected by service" \
	stock_failover=race -- failover
check "race: exit 0" rc_is 0

# 8. Through virtio_net's dependencies as modprobe resolves them: the
#    helper is also what "modprobe failover" runs; an already loaded
#    module is left alone.
run_case .ko dkms_failover="fail:Key was rejected by service" -- failover
check "modprobe failover: exit 0" rc_is 0
check "modprobe failover: one line" kmsg_lines 1

# 9. Not ours to load.
run_case .ko -- failover
FAKE=$TMP/case
"$HELPER" virtio_net > /dev/null 2> "$FAKE/stderr"
echo $? > "$FAKE/rc"
check "other module: exit 2" rc_is 2
check "other module: says so" stderr_has "'virtio_net' is not failover or net_failover"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
