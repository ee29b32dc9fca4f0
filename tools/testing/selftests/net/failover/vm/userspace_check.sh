#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of userspace_guest.py: runs as ft-check.service in the Debian
# 12 guest once multi-user is reached and reports what userspace sees on
# /dev/ttyS1, as "FT key=value" lines and "FT< key" ... "FT> key" blocks
# (raw command output, parsed by the host); no verdict here. Ends with
# "FT done" and powers the guest off.
#
# Phases (ft.phases= on the kernel command line), one manager each, in
# this order:
#   nm        NetworkManager, enabled at boot, with the keyfile profile
#             ft-master for the master
#   networkd  systemd-networkd with 50-ft-failover.network
#             ([Match] Driver=net_failover)
#   ifupdown  networking.service with "auto/iface inet dhcp" for the master
# Between phases the previous manager is stopped and the master is taken
# down with its addresses flushed, so that the next one finds it as at
# boot. Each phase waits (against a deadline) for its manager, records its
# view of the three devices and the addresses, and pings 10.0.2.2
# (counting DUP! replies) once the primary has carrier. udev names,
# ethtool -i and cloud-init's classification are recorded once.
#
# Under TCG every process costs: sysfs is read with builtins and each
# tool runs once per phase.
set -u

PHASES=$(sed -n 's/.*ft\.phases=\([a-z,]*\).*/\1/p' /proc/cmdline)
WAIT=40		# seconds for a manager to configure the master
GW=10.0.2.2

stty -F /dev/ttyS1 raw -echo 2> /dev/null
exec 3> /dev/ttyS1

fact() { printf 'FT %s=%s\n' "$1" "$2" >&3; }

# block <key> <command...>: the command's output and status, verbatim
block()
{
	local key=$1 rc
	shift
	printf 'FT< %s\n' "$key" >&3
	"$@" >&3 2>&1
	rc=$?
	printf '\nFT> %s %d\n' "$key" "$rc" >&3
	return $rc
}

# NOW: uptime in centiseconds
now() { local a b; IFS='. ' read -r a b _ < /proc/uptime; NOW=$((10#$a * 100 + 10#$b)); }
stamp() { now; fact "$1" "$((NOW / 100)).$((NOW % 100))"; }

# until_deadline <seconds> <command...>: poll until the command succeeds
until_deadline()
{
	local limit
	now
	limit=$((NOW + $1 * 100))
	shift
	while ! "$@"; do
		now
		[ "$NOW" -ge "$limit" ] && return 1
		sleep 0.3
	done
	return 0
}

sysfs() { V=''; read -r V < "/sys/class/net/$1/$2" 2> /dev/null; }

# The three devices by their place, not by name or by the master's
# driver: the lowers have a master link; the standby is virtio_net's.
find_devices()
{
	local d n drv
	MASTER='' STANDBY='' PRIMARY=''
	for d in /sys/class/net/*; do
		n=${d##*/}
		[ -e "$d/master" ] || continue
		drv=$(readlink "$d/device/driver")
		case ${drv##*/} in
		virtio_net) STANDBY=$n;;
		*) PRIMARY=$n;;
		esac
	done
	if [ -n "$STANDBY" ]; then
		MASTER=$(readlink "/sys/class/net/$STANDBY/master")
		MASTER=${MASTER##*/}
	fi
	[ -n "$MASTER" ] && [ -n "$STANDBY" ] && [ -n "$PRIMARY" ]
}

master_has_ipv4() { [[ $(ip -4 -o addr show dev "$MASTER" 2> /dev/null) == *inet* ]]; }
primary_carrier() { sysfs "$PRIMARY" carrier; [ "$V" = 1 ]; }
nm_gave_up() { [[ $(nmcli -g GENERAL.STATE device show "$MASTER" 2>&1) == *unmanaged* ]]; }
nm_done() { master_has_ipv4 || nm_gave_up; }

# phase_state <phase>: addresses, link state and counters of the devices
phase_state()
{
	local p=$1 role dev
	block "$p.ip" ip -j addr show
	for role in master standby primary; do
		eval "dev=\$${role^^}"
		sysfs "$dev" operstate
		local op=$V
		sysfs "$dev" carrier
		fact "$p.link.$role" "$op carrier=$V"
	done
}

# phase_settle <phase> <ready test>: wait for the manager's address on the
# master, then for the primary's carrier (steady state)
phase_settle()
{
	local p=$1
	until_deadline "$WAIT" "$2"
	stamp "$p.t.configured"
	master_has_ipv4 && until_deadline 20 primary_carrier
	stamp "$p.t.steady"
}

# phase_ping <phase>: 20 echo requests to the slirp gateway; the lowers'
# receive counters tell who carried the replies (stock counts what it
# refuses on the standby as rx_nohandler)
phase_ping()
{
	local p=$1 role dev rx
	master_has_ipv4 || return 0
	block "$p.ping" ping -c 20 -i 0.2 -W 2 -w 30 "$GW"
	for role in standby primary; do
		eval "dev=\$${role^^}"
		sysfs "$dev" statistics/rx_packets
		rx=$V
		sysfs "$dev" statistics/rx_nohandler
		fact "$p.stats.$role" "rx_packets $rx rx_nohandler $V"
	done
}

# the next manager finds the master as at boot: down, no addresses
reset_master()
{
	local d
	ip link set dev "$MASTER" down
	for d in "$MASTER" "$STANDBY" "$PRIMARY"; do
		ip addr flush dev "$d"
	done
}

phase_nm()
{
	nm-online -s -q -t "$WAIT"
	fact nm.online "$?"
	phase_settle nm nm_done
	block nm.devices nmcli -t -f \
		GENERAL.DEVICE,GENERAL.TYPE,GENERAL.STATE,GENERAL.CONNECTION \
		device show
	block nm.active nmcli -t -f NAME,DEVICE,TYPE connection show --active
	phase_state nm
	phase_ping nm
	timeout 60 systemctl stop NetworkManager.service
	reset_master
}

phase_networkd()
{
	timeout "$WAIT" systemctl start systemd-networkd.service
	/lib/systemd/systemd-networkd-wait-online -i "$MASTER" \
		--timeout="$WAIT" > /dev/null 2>&1
	fact networkd.wait_online "$?"
	phase_settle networkd master_has_ipv4
	block networkd.list networkctl list --no-legend --no-pager
	block networkd.status networkctl status --no-pager -n 0 \
		"$MASTER" "$STANDBY" "$PRIMARY"
	phase_state networkd
	phase_ping networkd
	common_facts	# master up: find_fallback_nic looks at carrier
	timeout 60 systemctl stop systemd-networkd.service systemd-networkd.socket
	reset_master
}

phase_ifupdown()
{
	mv /etc/network/interfaces.ft /etc/network/interfaces
	timeout "$WAIT" systemctl start networking.service
	fact ifupdown.start "$?"
	phase_settle ifupdown master_has_ipv4
	fact ifupdown.networking "$(systemctl is-active networking.service)"
	block ifupdown.state ifquery --state
	phase_state ifupdown
	phase_ping ifupdown
}

# udev names, ethtool -i, cloud-init's classification; once
common_facts()
{
	local dev
	[ -n "${COMMON_DONE:-}" ] && return
	COMMON_DONE=1
	for dev in "$MASTER" "$STANDBY" "$PRIMARY"; do
		block "udev.$dev" udevadm info -q property "/sys/class/net/$dev"
	done
	block ethtool ethtool -i "$MASTER"
	# called as cloud-init calls them: the driver from its own
	# device_driver(), or None and let it look
	block cloudinit timeout 120 python3 - "$MASTER" "$STANDBY" "$PRIMARY" <<'EOF'
import json, sys
from cloudinit import net
roles = dict(zip(("master", "standby", "primary"), sys.argv[1:]))
for role, dev in roles.items():
    drv = net.device_driver(dev)
    res = {"driver": drv}
    for fn in ("is_netfail_master", "is_netfail_primary",
               "is_netfail_standby", "is_netfailover"):
        res[fn] = getattr(net, fn)(dev, drv)
        if getattr(net, fn)(dev) != res[fn]:
            res[fn + "(driver=None)"] = getattr(net, fn)(dev)
    print("%s=%s" % (role, json.dumps(res, sort_keys=True)))
try:
    print("fallback_nic=%s" % net.find_fallback_nic())
except Exception as e:
    print("fallback_nic=error %r" % e)
EOF
}

fact phases "$PHASES"
stamp t.start
if grep -q 'ft\.debug' /proc/cmdline; then
	block debug.analyze systemd-analyze blame
	block debug.lsmod lsmod
fi
if until_deadline 30 find_devices; then
	fact name.master "$MASTER"
	fact name.standby "$STANDBY"
	fact name.primary "$PRIMARY"
	for m in failover net_failover; do
		V=''
		read -r V < "/sys/module/$m/taint"
		fact "module.$m" "taint '$V'"
	done
	for p in ${PHASES//,/ }; do
		stamp "$p.t.start"
		"phase_$p"
		stamp "$p.t.end"
	done
	common_facts
else
	fact error "no master/standby/primary after 30 s: $(cd /sys/class/net && echo *)"
fi
stamp t.end
block journal timeout 60 journalctl -b --no-pager -o short-monotonic -u NetworkManager \
	-u systemd-networkd -u networking -u ft-check
printf 'FT done\n' >&3
exec 3>&-
systemctl poweroff --force --force
