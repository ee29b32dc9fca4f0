#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Raw client of the generic netlink family "net_failover", for the tests.

failoverctl only sends well-formed requests; this sends whatever it is told
(no IFINDEX, read-only attributes, any value of any width) and prints the
kernel's answer as key=value lines:

  error=0 or error=EINVAL      the acknowledgement (errno name)
  msg=TEXT                     NLMSGERR_ATTR_MSG
  bad_attr=NAME                NLMSGERR_ATTR_OFFS, as the attribute sent
  miss_type=NAME               NLMSGERR_ATTR_MISS_TYPE
  range=MIN..MAX               NLMSGERR_ATTR_POLICY's range
  reply={json}                 one per GET reply (decoded attributes)

  nfo_genl.py get [IFINDEX]          doit (without IFINDEX: none sent)
  nfo_genl.py dump
  nfo_genl.py set IFINDEX|- [ATTR=VALUE...]
      ATTR: a master attribute (ifindex, ifname, active, switches,
      force_standby, holddown_ms, peer_notify, tx_skb_sharing), or
      primary.X / standby.X for a lower attribute (ifindex, ifname, active,
      link, activations, deactivations, blocked); "primary" or "standby"
      alone sends an empty nest. VALUE:WIDTH (8, 16, 32) overrides the width.
"""

import errno
import json
import os
import socket
import struct
import sys

NETLINK_GENERIC = 16
GENL_ID_CTRL = 16
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
SOL_NETLINK, NETLINK_EXT_ACK, NETLINK_CAP_ACK = 270, 11, 10
NLA_F_NESTED = 0x8000

CMD_GET, CMD_SET = 1, 2
# name: (type, width or "str" or "nest")
MASTER = {"ifindex": (1, 32), "ifname": (2, "str"), "active": (3, 32),
          "switches": (4, 32), "force_standby": (5, 8),
          "holddown_ms": (6, 32), "peer_notify": (7, 8),
          "tx_skb_sharing": (8, 8), "primary": (9, "nest"),
          "standby": (10, "nest")}
LOWER = {"ifindex": (1, 32), "ifname": (2, "str"), "active": (3, 8),
         "link": (4, 8), "activations": (5, 32), "deactivations": (6, 32),
         "blocked": (7, 8)}
FMT = {8: "B", 16: "H", 32: "I", 64: "Q"}


def attr(atype, payload):
    hdr = struct.pack("HH", 4 + len(payload), atype)
    return hdr + payload + b"\0" * ((4 - len(payload) % 4) % 4)


def value(spec, width, text):
    if ":" in text:
        text, w = text.rsplit(":", 1)
        width = int(w)
    if width == "str":
        return text.encode() + b"\0"
    return struct.pack(FMT[width], int(text, 0))


def parse_attrs(data):
    out = []
    off = 0
    while off + 4 <= len(data):
        ln, at = struct.unpack_from("HH", data, off)
        if ln < 4:
            break
        out.append((at & 0x3fff, data[off + 4:off + ln], off))
        off += (ln + 3) & ~3
    return out


class Genl:
    def __init__(self):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                               NETLINK_GENERIC)
        self.s.bind((0, 0))
        self.s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.s.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.seq = 0

    def request(self, family, cmd, payload, flags=NLM_F_ACK):
        self.seq += 1
        body = struct.pack("BBH", cmd, 1, 0) + payload
        msg = struct.pack("IHHII", 16 + len(body), family,
                          NLM_F_REQUEST | flags, self.seq, 0) + body
        self.s.send(msg)
        replies, ack = [], None
        while ack is None:
            data = self.s.recv(65536)
            off = 0
            while off + 16 <= len(data):
                ln, typ, fl, seq, _ = struct.unpack_from("IHHII", data, off)
                m = data[off:off + ln]
                off += (ln + 3) & ~3
                if seq != self.seq:
                    continue
                if typ == NLMSG_DONE:
                    ack = {"error": 0}
                elif typ == NLMSG_ERROR:
                    ack = self.parse_ack(m, fl, msg)
                else:
                    replies.append(m[20:])
        return replies, ack

    @staticmethod
    def parse_ack(m, flags, req):
        err = struct.unpack_from("i", m, 16)[0]
        ack = {"error": err}
        if not flags & NLM_F_ACK_TLVS:
            return ack
        off = 16 + 4 + 16
        if not flags & NLM_F_CAPPED:
            off += struct.unpack_from("I", req, 0)[0] - 16
        for at, payload, _ in parse_attrs(m[(off + 3) & ~3:]):
            if at == 1:
                ack["msg"] = payload.rstrip(b"\0").decode()
            elif at == 2:
                ack["offs"] = struct.unpack("I", payload)[0]
            elif at == 4:
                pol = {a: p for a, p, _ in parse_attrs(payload)}
                # NL_POLICY_TYPE_ATTR_{MIN,MAX}_VALUE_{S,U}: 2 3 4 5
                for lo, hi, f in ((4, 5, "Q"), (2, 3, "q")):
                    if lo in pol and hi in pol:
                        ack["range"] = "%d..%d" % (
                            struct.unpack(f, pol[lo])[0],
                            struct.unpack(f, pol[hi])[0])
                        break
            elif at == 5:
                ack["miss_type"] = struct.unpack("I", payload)[0]
            elif at == 6:
                ack["miss_nest"] = struct.unpack("I", payload)[0]
        return ack

    def family(self, name):
        replies, ack = self.request(
            GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
            attr(CTRL_ATTR_FAMILY_NAME, name.encode() + b"\0"))
        if ack["error"]:
            raise SystemExit("no generic netlink family %s: %s" %
                             (name, os.strerror(-ack["error"])))
        for at, payload, _ in parse_attrs(replies[0]):
            if at == CTRL_ATTR_FAMILY_ID:
                return struct.unpack("H", payload)[0]
        raise SystemExit("no family id in the reply")


def name_of(table, at):
    for k, (t, _) in table.items():
        if t == at:
            return k
    return str(at)


def decode(payload):
    out = {}
    for at, p, _ in parse_attrs(payload):
        name = name_of(MASTER, at)
        if MASTER.get(name, (0, 0))[1] == "nest":
            out[name] = {}
            for lat, lp, _ in parse_attrs(p):
                lname = name_of(LOWER, lat)
                out[name][lname] = decode_val(LOWER.get(lname), lp)
        else:
            out[name] = decode_val(MASTER.get(name), p)
    return out


def decode_val(spec, p):
    if spec and spec[1] == "str":
        return p.rstrip(b"\0").decode()
    if spec and spec[1] in FMT:
        return struct.unpack(FMT[spec[1]], p[:spec[1] // 8])[0]
    return p.hex()


def build_set(args):
    payload = b""
    nests = {}
    order = []
    if args and args[0] != "-":
        payload += attr(1, struct.pack("I", int(args[0])))
    for a in args[1:]:
        k, _, v = a.partition("=")
        if k in ("primary", "standby") and not v:
            nests.setdefault(k, b"")
            order.append(k)
        elif "." in k:
            n, lk = k.split(".", 1)
            t, w = LOWER[lk]
            nests[n] = nests.get(n, b"") + attr(t, value(lk, w, v))
            order.append(n)
        else:
            t, w = MASTER[k]
            payload += attr(t, value(k, w, v))
    for n in dict.fromkeys(order):
        payload += attr(MASTER[n][0] | NLA_F_NESTED, nests[n])
    return payload


def attr_at(payload, offs):
    """Name the attribute at offset offs of the request (20 = genl hdr
    end)."""
    for at, p, o in parse_attrs(payload):
        if 20 + o == offs:
            return name_of(MASTER, at)
        if name_of(MASTER, at) in ("primary", "standby"):
            for lat, _, lo in parse_attrs(p):
                if 20 + o + 4 + lo == offs:
                    return "%s.%s" % (name_of(MASTER, at),
                                      name_of(LOWER, lat))
    return "offset %d" % offs


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("get", "dump", "set"):
        sys.stderr.write(__doc__)
        return 2
    g = Genl()
    fam = g.family("net_failover")
    cmd, args = sys.argv[1], sys.argv[2:]
    flags = NLM_F_ACK
    if cmd == "get":
        payload = attr(1, struct.pack("I", int(args[0]))) if args else b""
        op = CMD_GET
    elif cmd == "dump":
        payload, op, flags = b"", CMD_GET, NLM_F_DUMP
    else:
        payload, op = build_set(args), CMD_SET
    replies, ack = g.request(fam, op, payload, flags)
    err = -ack["error"]
    print("error=%s" % (errno.errorcode.get(err, err) if err else 0))
    if "msg" in ack:
        print("msg=%s" % ack["msg"])
    if "offs" in ack:
        print("bad_attr=%s" % attr_at(payload, ack["offs"]))
    if "miss_type" in ack:
        print("miss_type=%s" % name_of(
            LOWER if "miss_nest" in ack else MASTER, ack["miss_type"]))
    if "range" in ack:
        print("range=%s" % ack["range"])
    for r in replies:
        print("reply=%s" % json.dumps(decode(r), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
