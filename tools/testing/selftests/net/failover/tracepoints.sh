#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The net_failover tracepoints, read from tracefs: net_failover_lower on
# every lower that joins or leaves, net_failover_active on every change of
# the active lower with its reason. Each test drives one transition and
# asserts the exact events it must leave in the trace buffer.

ALL_TESTS="
	setup_tracing
	config_switch
	link_down_up
	hot_unplug_replug
"

source "$(dirname "$(readlink -f "$0")")/lib.sh"

T=/sys/kernel/tracing
master=
standby=
primary=
ready=

[ "${FT_MODULES:-}" = stock ] &&
	skip_all "the stock net_failover has no tracepoints"
require_root_cmds ip

trace_clear()
{
	echo > "$T/trace"
}

# trace_has <egrep pattern>: the trace buffer holds a matching event
trace_has()
{
	grep -Eq "$1" "$T/trace"
}

# trace_line <egrep pattern>: line number of the first matching event
trace_line()
{
	grep -En "$1" "$T/trace" | head -n 1 | cut -d: -f1
}

need_setup()
{
	[ -n "$ready" ] && return 0
	log_skip "no master or no tracefs"
	return 1
}

setup_tracing()
{
	[ -d "$T/events" ] || mount -t tracefs tracefs "$T" 2>/dev/null
	# The events come and go with the module: load it alone, enable
	# them, then let virtio_net and e1000e build the triple.
	fo_reset && modprobe net_failover
	check_err $? "cannot load net_failover"
	if [ ! -d "$T/events/net_failover" ]; then
		log_skip "no events/net_failover in tracefs"
		log_test "registration and first activation traced"
		return
	fi
	echo 1 > "$T/events/net_failover/enable"
	check_err $? "cannot enable events/net_failover"
	defer sh -c "echo 0 > $T/events/net_failover/enable 2>/dev/null"
	trace_clear

	fo_setup && master_up_with_addr && wait_primary_carrier
	check_err $? "setup failed"
	fo_roles
	master=$FO_MASTER standby=$FO_STANDBY primary=$FO_PRIMARY
	busywait 15000 trace_has "net_failover_active: dev=$master old=[^ ]+ new=$primary "
	check_err $? "no activation of $primary in the trace"
	trace_has "net_failover_lower: dev=$master standby=$standby ifindex=[0-9]+ registered"
	check_err $? "no registration event of the standby $standby"
	trace_has "net_failover_lower: dev=$master primary=$primary ifindex=[0-9]+ registered"
	check_err $? "no registration event of the primary $primary"
	[ "$RET" -eq 0 ] && ready=1
	grep -E 'net_failover_(lower|active)' "$T/trace" | sed 's/^/# /'
	log_test "registration and first activation traced (${master:-none})"
}

config_switch()
{
	need_setup || { log_test "forced standby traced with reason config"; return; }
	if [ ! -x "$FT_FCTL" ]; then
		log_skip "$FT_FCTL not built (make -C tools/net/failover)"
		log_test "forced standby traced with reason config"
		return
	fi
	defer "$FT_FCTL" set "$master" force-standby off
	trace_clear
	"$FT_FCTL" set "$master" force-standby on
	check_err $? "force standby refused"
	trace_has "net_failover_active: dev=$master old=$primary new=$standby reason=config"
	check_err $? "no config switch to $standby in the trace"

	trace_clear
	"$FT_FCTL" set "$master" force-standby off
	check_err $? "force standby off refused"
	trace_has "net_failover_active: dev=$master old=$standby new=$primary reason=config"
	check_err $? "no config switch back to $primary in the trace"
	log_test "forced standby traced with reason config"
}

link_down_up()
{
	need_setup || { log_test "primary down/up traced"; return; }
	trace_clear
	ip link set dev "$primary" down
	trace_has "net_failover_active: dev=$master old=$primary new=$standby reason=lower_going_down"
	check_err $? "primary down: no switch with reason lower_going_down"
	ip link set dev "$primary" up
	busywait 15000 trace_has "net_failover_active: dev=$master old=$standby new=$primary reason=link_change"
	check_err $? "primary up: no switch back with reason link_change"
	log_test "primary down/up traced (lower_going_down, link_change)"
}

hot_unplug_replug()
{
	local sw rel

	need_setup || { log_test "hot-unplug and replug traced"; return; }
	host_available || {
		log_skip "no host control channel"
		log_test "hot-unplug and replug traced"
		return
	}
	trace_clear
	host_cmd device_del hostdev0 > /dev/null
	check_err $? "device_del failed"
	busywait 15000 trace_has "net_failover_lower: dev=$master primary=$primary ifindex=[0-9]+ unregistered"
	check_err $? "no unregistration event of $primary"
	# The path leaves the primary before the primary leaves the master.
	sw=$(trace_line "net_failover_active: dev=$master old=$primary new=$standby reason=lower_going_down")
	rel=$(trace_line "net_failover_lower: dev=$master primary=$primary .* unregistered")
	[ -n "$sw" ] && [ -n "$rel" ] && [ "$sw" -lt "$rel" ]
	check_err $? "switch to the standby (line ${sw:-none}) not before the release (line ${rel:-none})"

	trace_clear
	host_cmd device_add hostdev0 > /dev/null
	check_err $? "device_add failed"
	busywait 20000 trace_has "net_failover_lower: dev=$master primary=[^ ]+ ifindex=[0-9]+ registered"
	check_err $? "no registration event of the new primary"
	fo_roles
	primary=$FO_PRIMARY
	busywait 20000 trace_has "net_failover_active: dev=$master old=$standby new=$primary reason="
	check_err $? "the new primary $primary never became active in the trace"
	grep -E 'net_failover_(lower|active)' "$T/trace" | sed 's/^/# /'
	log_test "hot-unplug and replug traced (switch before release)"
}

run_tests
