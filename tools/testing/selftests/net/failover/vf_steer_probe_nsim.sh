#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The host-side probe's selftest (host/vf_steer_probe.sh) run inside the
# guest, where netdevsim (built by "host/vf_steer_probe.sh
# --build-netdevsim" into .cache/netdevsim/) gives it SR-IOV VFs to drive
# through netlink. Without that module the netdevsim cases skip.
exec "$(dirname "$(readlink -f "$0")")/host/vf_steer_probe.sh" "$@"
