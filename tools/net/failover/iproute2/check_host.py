#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host-side checks of link_net_failover.so with the system's ip, without a
net_failover kernel:

  print  RTM_NEWLINK messages built here are fed to "ip -d monitor file",
         which prints them as "ip -d link show" does;
  parse  "ip link set ... type net_failover[_slave] ..." runs in a new
         network namespace under strace, whose dump of the request is
         decoded (skipped unless root with unshare and strace).

  check_host.py [PLUGIN_DIR]     (default: this file's directory)
"""

import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile


IFLA_IFNAME, IFLA_MASTER, IFLA_LINKINFO = 3, 10, 18
INFO_KIND, INFO_DATA, INFO_SLAVE_KIND, INFO_SLAVE_DATA = 1, 2, 4, 5
RTM_NEWLINK = 16
NLA_TYPE_MASK = 0x3fff

# include/uapi/linux/net_failover.h
(NFO_PRIMARY, NFO_STANDBY, NFO_ACTIVE, NFO_SWITCHES, NFO_FORCE_STANDBY,
 NFO_HOLDDOWN_MS, NFO_PEER_NOTIFY, NFO_PRIMARY_BLOCKED,
 NFO_TX_SKB_SHARING) = range(1, 10)
(LOWER_ROLE, LOWER_ACTIVE, LOWER_LINK, LOWER_ACTIVATIONS,
 LOWER_DEACTIVATIONS, LOWER_BLOCKED) = range(1, 7)

failures = 0


def result(ok, what, detail=""):
    global failures
    print("%s %s%s" % ("ok" if ok else "FAIL", what,
                       "" if ok or not detail else ": " + detail))
    if not ok:
        failures += 1


def rta(kind, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * (-n % 4)


def u8(v):
    return struct.pack("=B", v)


def u32(v):
    return struct.pack("=I", v)


def newlink(ifindex, name, linkinfo, master=0):
    attrs = rta(IFLA_IFNAME, name.encode() + b"\0")
    if master:
        attrs += rta(IFLA_MASTER, u32(master))
    attrs += rta(IFLA_LINKINFO, linkinfo)
    body = struct.pack("=BxHiII", 0, 1, ifindex, 0x1043, 0) + attrs
    return struct.pack("=IHHII", 16 + len(body), RTM_NEWLINK, 0, 0, 0) + body


def master_info(attrs):
    return rta(INFO_KIND, b"net_failover\0") + rta(INFO_DATA, b"".join(
        rta(t, v) for t, v in attrs))


def lower_info(attrs):
    return rta(INFO_SLAVE_KIND, b"net_failover\0") + rta(
        INFO_SLAVE_DATA, b"".join(rta(t, v) for t, v in attrs))


def check_print(plugin_dir):
    # ifindex 1 is lo in any namespace; M and up name no real link: ip
    # knows them from the messages printed before (it caches their names)
    M = 4000000
    msgs = [
        (newlink(M + 1, "pri0", lower_info([
            (LOWER_ROLE, u8(0)), (LOWER_ACTIVE, u8(1)), (LOWER_LINK, u8(1)),
            (LOWER_ACTIVATIONS, u32(2)), (LOWER_DEACTIVATIONS, u32(1)),
            (LOWER_BLOCKED, u8(0))]), M),
         "net_failover_slave role primary active on link on activations 2 "
         "deactivations 1 blocked off "),
        (newlink(M + 2, "sby0", lower_info([
            (LOWER_ROLE, u8(1)), (LOWER_ACTIVE, u8(0)), (LOWER_LINK, u8(0)),
            (LOWER_ACTIVATIONS, u32(0)), (LOWER_DEACTIVATIONS, u32(4)),
            (LOWER_BLOCKED, u8(1))]), M),
         "net_failover_slave role standby active off link off activations 0 "
         "deactivations 4 blocked on "),
        (newlink(M, "fo0", master_info([
            (NFO_PRIMARY, u32(M + 1)), (NFO_STANDBY, u32(M + 2)),
            (NFO_ACTIVE, u32(M + 1)), (NFO_SWITCHES, u32(3)),
            (NFO_FORCE_STANDBY, u8(0)), (NFO_HOLDDOWN_MS, u32(0)),
            (NFO_PEER_NOTIFY, u8(1)), (NFO_PRIMARY_BLOCKED, u8(0)),
            (NFO_TX_SKB_SHARING, u8(0))])),
         "net_failover primary pri0 standby sby0 active pri0 switches 3 "
         "force_standby off holddown_ms 0 peer_notify 1 primary_blocked off "
         "tx_skb_sharing off "),
        # no primary, nothing active, limits, an attribute from the future
        (newlink(M + 3, "fo1", master_info([
            (NFO_STANDBY, u32(1)), (NFO_ACTIVE, u32(0)),
            (NFO_SWITCHES, u32(4294967295)), (NFO_FORCE_STANDBY, u8(1)),
            (NFO_HOLDDOWN_MS, u32(60000)), (NFO_PEER_NOTIFY, u8(255)),
            (NFO_PRIMARY_BLOCKED, u8(1)), (NFO_TX_SKB_SHARING, u8(1)),
            (99, u32(7))])),
         "net_failover primary none standby lo active none "
         "switches 4294967295 force_standby on holddown_ms 60000 "
         "peer_notify 255 primary_blocked on tx_skb_sharing on "),
        # a kernel from before tx_skb_sharing: the attribute is absent
        (newlink(M + 5, "fo2", master_info([
            (NFO_STANDBY, u32(1)), (NFO_ACTIVE, u32(1)),
            (NFO_SWITCHES, u32(1)), (NFO_FORCE_STANDBY, u8(0)),
            (NFO_HOLDDOWN_MS, u32(0)), (NFO_PEER_NOTIFY, u8(1)),
            (NFO_PRIMARY_BLOCKED, u8(0))])),
         "net_failover primary none standby lo active lo switches 1 "
         "force_standby off holddown_ms 0 peer_notify 1 primary_blocked off "),
        # a lower without data
        (newlink(M + 4, "x0", rta(INFO_SLAVE_KIND, b"net_failover\0"), M),
         "net_failover_slave "),
    ]
    with tempfile.NamedTemporaryFile(suffix=".nl") as f:
        f.write(b"".join(m for m, _ in msgs))
        f.flush()
        env = dict(os.environ, IP_LIB_DIR=plugin_dir)
        r = subprocess.run(["ip", "-d", "monitor", "file", f.name], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
    lines = [l.strip() for l in r.stdout.splitlines()
             if l.strip().startswith("net_failover")]
    result(r.returncode == 0, "print: ip -d monitor file exits 0",
           "rc %d: %s" % (r.returncode, r.stdout))
    for i, (_, want) in enumerate(msgs):
        got = lines[i] if i < len(lines) else "(missing)"
        result(got == want.strip(), "print: %s" % want.strip(),
               "got '%s'" % got)


def attrs(buf):
    out = []
    off = 0
    while off + 4 <= len(buf):
        n, kind = struct.unpack_from("=HH", buf, off)
        if n < 4 or off + n > len(buf):
            break
        out.append((kind & NLA_TYPE_MASK, buf[off + 4:off + n]))
        off += (n + 3) & ~3
    return out


def sent_newlink(plugin_dir, args):
    """Run ip under strace in a new netns; the RTM_NEWLINK it sent."""
    env = dict(os.environ, IP_LIB_DIR=plugin_dir)
    r = subprocess.run(["unshare", "-n", "strace", "-f", "-qq",
                        "-e", "trace=sendmsg", "-e", "write=all",
                        "ip"] + args, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True)
    dumps, cur = [], None
    for line in r.stdout.splitlines():
        if re.match(r"^\s*\* \d+ bytes in buffer", line):
            cur = bytearray()
            dumps.append(cur)
            continue
        m = re.match(r"^\s*\| [0-9a-f]{5}  ((?:[0-9a-f]{2} {1,2}){1,16})",
                     line)
        if m and cur is not None:
            cur += bytes.fromhex(m.group(1).replace(" ", ""))
    for d in dumps:
        if len(d) >= 32 and struct.unpack_from("=H", d, 4)[0] == RTM_NEWLINK:
            return bytes(d)
    return None


def check_parse(plugin_dir):
    if os.geteuid() or not shutil.which("strace") or \
            not shutil.which("unshare"):
        print("skip parse: needs root, unshare and strace")
        return
    cases = [
        (["link", "set", "dev", "lo", "type", "net_failover",
          "force_standby", "on", "holddown_ms", "500", "peer_notify", "3"],
         INFO_DATA, {NFO_FORCE_STANDBY: u8(1), NFO_HOLDDOWN_MS: u32(500),
                     NFO_PEER_NOTIFY: u8(3)}),
        (["link", "set", "dev", "lo", "type", "net_failover",
          "tx_skb_sharing", "on"],
         INFO_DATA, {NFO_TX_SKB_SHARING: u8(1)}),
        (["link", "set", "dev", "lo", "type", "net_failover",
          "tx_skb_sharing", "off", "peer_notify", "2"],
         INFO_DATA, {NFO_TX_SKB_SHARING: u8(0), NFO_PEER_NOTIFY: u8(2)}),
        (["link", "set", "dev", "lo", "type", "net_failover_slave",
          "blocked", "on"],
         INFO_SLAVE_DATA, {LOWER_BLOCKED: u8(1)}),
        (["link", "set", "dev", "lo", "type", "net_failover_slave",
          "blocked", "off"],
         INFO_SLAVE_DATA, {LOWER_BLOCKED: u8(0)}),
    ]
    for args, nest, want in cases:
        what = "parse: ip %s" % " ".join(args)
        msg = sent_newlink(plugin_dir, args)
        if msg is None:
            result(False, what, "no RTM_NEWLINK seen")
            continue
        top = dict(attrs(msg[32:]))
        info = dict(attrs(top.get(IFLA_LINKINFO, b"")))
        other = INFO_SLAVE_DATA if nest == INFO_DATA else INFO_DATA
        data = dict(attrs(info.get(nest, b"")))
        got = {k: v[:len(want[k])] for k, v in data.items() if k in want}
        result(nest in info and other not in info and got == want and
               len(data) == len(want), what,
               "linkinfo %s" % sorted(info.items()))


def main():
    plugin_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                                 os.path.dirname(os.path.abspath(__file__)))
    for so in ("link_net_failover.so", "link_net_failover_slave.so"):
        if not os.path.exists(os.path.join(plugin_dir, so)):
            sys.exit("%s missing in %s: run make" % (so, plugin_dir))
    check_print(plugin_dir)
    check_parse(plugin_dir)
    print("%d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
