# SPDX-License-Identifier: GPL-2.0
"""Guest side of migration_bench.py: runs in the benchmark guest's
initramfs under Debian's python3.11 started with -S -I, so it uses only
modules built into that interpreter (_socket, select, _struct, gc, posix)
and the os module.

  python3.11 -S -I guest_responder.py HOST_IP HOST_PORT GUEST_PORT TTY

- receives the host's sequenced UDP stream on GUEST_PORT (through the
  failover master's address) and logs every arrival as runs of
  consecutive sequence numbers, in arrival order;
- once told to "start", sends its own sequenced stream to
  HOST_IP:HOST_PORT at a fixed rate through an ordinary UDP socket;
- polls the counters of every network device every 200 ms, so that a
  lower that disappears (unplugged primary) keeps its last values;
- keeps rewriting a RAM buffer (MemCheck) and, on "memcheck", checks
  every page of it against the generation it last wrote there: a store
  lost by a migration shows as a bad page;
- answers the host's requests on TTY (ttyS1), one line each way:
  "<id> <command> [args]" -> "R<id> <result>".
"""

import _socket
import _struct
import gc
import os
import select
import sys
import time

H2G_MAGIC = b"FOH1"
G2H_MAGIC = b"FOG1"
PKT = _struct.Struct("<4sIQ")
PAD = b"\0" * 48
NET = "/sys/class/net"
# the counters reported to the host
STATS = ("rx_packets", "tx_packets", "rx_dropped", "tx_dropped",
         "rx_nohandler", "rx_errors", "tx_errors", "rx_missed_errors",
         "rx_fifo_errors", "rx_over_errors", "tx_fifo_errors",
         "tx_carrier_errors", "tx_aborted_errors")
POLL = 0.25
# a later frame is sent late (in a burst); one later than this, skipped.
# A burst must fit the lower's queue (txqueuelen 1000, plus its ring):
# a longer one overflows the qdisc, and those frames are the bench's
# loss, not the failover's.
MAXLAG = 1.0
# sendto() errors kept per sequence number (the first ones)
MAX_SEND_ERR = 4096
# RAM check: MEM_PAGES pages, rewritten round robin at MEM_RATE pages/s,
# each filled with one 8-byte word (generation << 16 | page); the
# expected generation of each page lives in a separate small buffer.
# A store the migration loses leaves a page that differs from it.
MEM_PAGES = 1024
MEM_RATE = 500
MEM_WORD = _struct.Struct("<Q")


def js(o):
    """JSON for the few types used here (no json module in the guest)."""
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if isinstance(o, (int, float)):
        return repr(o)
    if isinstance(o, str):
        return '"' + "".join(
            c if 32 <= ord(c) < 127 and c not in '"\\' else
            "\\u%04x" % ord(c) for c in o) + '"'
    if isinstance(o, dict):
        return "{" + ",".join(js(str(k)) + ":" + js(v)
                              for k, v in o.items()) + "}"
    if isinstance(o, (list, tuple)):
        return "[" + ",".join(js(v) for v in o) + "]"
    return js(str(o))


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def link_name(path):
    try:
        return os.path.basename(os.readlink(path))
    except OSError:
        return None


def ethtool_stats(dev):
    """ethtool -S DEV as a dict (empty if the driver has none). Spawned
    with posix_spawn (vfork): a fork of this process costs a few hundred
    ms of guest time under TCG, during which the streams stall."""
    try:
        r, w = os.pipe()
        pid = os.posix_spawn("/sbin/ethtool", ["ethtool", "-S", dev],
                             {}, file_actions=[
                                 (os.POSIX_SPAWN_DUP2, w, 1),
                                 (os.POSIX_SPAWN_OPEN, 2, "/dev/null",
                                  os.O_WRONLY, 0)])
    except OSError:
        return {}
    os.close(w)
    out = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        out += chunk
    os.close(r)
    os.waitpid(pid, 0)
    res = {}
    for line in out.decode(errors="replace").splitlines():
        k, sep, v = line.strip().partition(":")
        v = v.strip()
        if sep and v.isdigit():
            res[k.strip()] = int(v)
    return res


# struct rtnl_link_stats64 (6.1), IFLA_STATS64 of RTM_NEWLINK
STATS64 = ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors",
           "tx_errors", "rx_dropped", "tx_dropped", "multicast",
           "collisions", "rx_length_errors", "rx_over_errors",
           "rx_crc_errors", "rx_frame_errors", "rx_fifo_errors",
           "rx_missed_errors", "tx_aborted_errors", "tx_carrier_errors",
           "tx_fifo_errors", "tx_heartbeat_errors", "tx_window_errors",
           "rx_compressed", "tx_compressed", "rx_nohandler")
NLMSG = _struct.Struct("=IHHII")
IFINFO = _struct.Struct("=BxHiII")
RTA = _struct.Struct("=HH")
U64S = _struct.Struct("=%dQ" % len(STATS64))
RTM_NEWLINK, RTM_GETLINK, NLMSG_DONE, NLMSG_ERROR = 16, 18, 3, 2
IFLA_IFNAME, IFLA_MASTER, IFLA_STATS64 = 3, 10, 23


class Devices:
    """Counters of all network devices; gone ones keep their last values.
    One RTM_GETLINK dump reads them all (one ndo_get_stats64 per device;
    a sysfs file per counter would cost one each, and e1000e reads its
    statistics registers every time)."""

    def __init__(self):
        self.devs = {}  # ifindex -> dict
        self.drivers = {}
        self.nl = _socket.socket(_socket.AF_NETLINK, _socket.SOCK_RAW, 0)
        self.nl.bind((0, 0))
        self.seq = 0

    def links(self):
        self.seq += 1
        self.nl.send(NLMSG.pack(NLMSG.size + IFINFO.size, RTM_GETLINK,
                                0x301, self.seq, 0) +
                     IFINFO.pack(0, 0, 0, 0, 0))
        out = []
        while True:
            data = self.nl.recv(1 << 16)
            off = 0
            while off + NLMSG.size <= len(data):
                ln, typ, _, seq, _ = NLMSG.unpack_from(data, off)
                if ln < NLMSG.size:
                    return out
                if typ in (NLMSG_DONE, NLMSG_ERROR):
                    return out
                if typ == RTM_NEWLINK and seq == self.seq:
                    idx = IFINFO.unpack_from(data, off + NLMSG.size)[2]
                    link = {"ifindex": idx}
                    a = off + NLMSG.size + IFINFO.size
                    while a + RTA.size <= off + ln:
                        alen, atyp = RTA.unpack_from(data, a)
                        if alen < RTA.size:
                            break
                        body = data[a + RTA.size:a + alen]
                        if atyp == IFLA_IFNAME:
                            link["name"] = body.rstrip(b"\0").decode()
                        elif atyp == IFLA_MASTER:
                            link["master"] = _struct.unpack("=i", body)[0]
                        elif atyp == IFLA_STATS64 and len(body) >= U64S.size:
                            link["stats"] = dict(zip(STATS64,
                                                     U64S.unpack_from(body)))
                        a += (alen + 3) & ~3
                    out.append(link)
                off += (ln + 3) & ~3

    def poll(self, now):
        links = [l for l in self.links() if l.get("name") != "lo"]
        masters = set(l["master"] for l in links if "master" in l)
        seen = set()
        for l in links:
            idx = l["ifindex"]
            d = self.devs.get(idx)
            if d is None or d["name"] != l.get("name"):
                d = self.devs.setdefault(idx, {"ifindex": idx,
                                               "first": now, "stats": {}})
                d["name"] = l.get("name")
                d["driver"] = link_name(NET + "/" + d["name"] +
                                        "/device/driver")
            if "master" in l:
                d["role"] = ("standby" if d["driver"] == "virtio_net"
                             else "primary")
            elif idx in masters:
                d["role"] = "master"
            elif "role" not in d:
                d["role"] = "unenslaved"
            d["stats"] = l.get("stats", d["stats"])
            d["last"] = now
            d["gone"] = False
            seen.add(idx)
        for idx, d in self.devs.items():
            if idx not in seen:
                d["gone"] = True

    def report(self):
        out = [dict(d) for d in self.devs.values()]
        for d in out:
            d["stats"] = {k: v for k, v in d["stats"].items()
                          if k in STATS}
            # one spawn per report: the lowers' drops are in their stats
            if not d["gone"] and d["role"] == "master":
                d["ethtool"] = ethtool_stats(d["name"])
        # a gone device is reported once more, then forgotten
        for idx in [i for i, d in self.devs.items() if d["gone"]]:
            if self.devs[idx].get("reported_gone"):
                del self.devs[idx]
            else:
                self.devs[idx]["reported_gone"] = True
        return out


class Kmsg:
    """Kernel log records since the responder started."""

    def __init__(self):
        try:
            self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
            os.lseek(self.fd, 0, os.SEEK_END)
            self.wfd = os.open("/dev/kmsg", os.O_WRONLY)
        except OSError:
            self.fd = None

    def read(self):
        """Records as [guest CLOCK_MONOTONIC, text]: a record written
        here gives the offset of the log's clock."""
        out = []
        off = 0.0
        if self.fd is not None:
            try:
                os.write(self.wfd, b"bench-sync %.6f" % time.monotonic())
            except OSError:
                pass
        while self.fd is not None:
            try:
                rec = os.read(self.fd, 8192)
            except BlockingIOError:
                break
            except OSError:  # EPIPE: overwritten records
                continue
            if not rec:
                break
            head, _, text = rec.decode(errors="replace").partition(";")
            f = head.split(",")
            if len(f) >= 3 and f[2].isdigit():
                text = text.split("\n")[0]
                if text.startswith("bench-sync "):
                    off = float(text.split()[1]) - int(f[2]) / 1e6
                    continue
                out.append([int(f[2]) / 1e6, text])
        for r in out:
            r[0] = round(r[0] + off, 6)
        return out


class MemCheck:
    """Guest RAM that the guest keeps writing, and its check."""

    def __init__(self):
        self.buf = bytearray(MEM_PAGES * 4096)
        self.gen = bytearray(MEM_PAGES * 8)
        self.pos = 0
        self.writes = 0
        self.t0 = None
        self.done = 0

    def page(self, i, g):
        return MEM_WORD.pack((g << 16) | i) * 512

    def write_due(self, now):
        if self.t0 is None:
            self.t0 = now
        due = int((now - self.t0) * MEM_RATE)
        # a stalled guest catches up with at most one sweep
        if due - self.done > MEM_PAGES:
            self.done = due - MEM_PAGES
        while self.done < due:
            i = self.pos
            g = MEM_WORD.unpack_from(self.gen, i * 8)[0] + 1
            self.buf[i * 4096:(i + 1) * 4096] = self.page(i, g)
            MEM_WORD.pack_into(self.gen, i * 8, g)
            self.pos = (i + 1) % MEM_PAGES
            self.done += 1
            self.writes += 1

    def check(self):
        bad = []
        for i in range(MEM_PAGES):
            g = MEM_WORD.unpack_from(self.gen, i * 8)[0]
            if self.buf[i * 4096:(i + 1) * 4096] != self.page(i, g):
                bad.append(i)
        return {"pages": MEM_PAGES, "bad": len(bad), "bad_pages": bad[:16],
                "writes": self.writes}


def snmp_udp():
    txt = read("/proc/net/snmp", "")
    rows = [l.split() for l in txt.splitlines() if l.startswith("Udp:")]
    if len(rows) >= 2:
        return {k: int(v) for k, v in zip(rows[0][1:], rows[1][1:])}
    return {}


def main():
    host_ip, host_port, guest_port, tty = (sys.argv[1], int(sys.argv[2]),
                                           int(sys.argv[3]), sys.argv[4])
    gc.disable()
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_RCVBUF, 8 << 20)
    sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_SNDBUF, 4 << 20)
    # without IP_RECVERR a frame the lower's qdisc drops (ENOBUFS) is
    # "sent" for sendto() and counted only in Udp SndbufErrors: with it,
    # sendto() fails and the frame's sequence number is recorded
    sock.setsockopt(_socket.IPPROTO_IP, getattr(_socket, "IP_RECVERR", 11),
                    1)
    sock.bind(("0.0.0.0", guest_port))
    sock.setblocking(False)
    # non-blocking both ways: a long reply drains through the emulated
    # UART for a while, the streams must not wait for it
    ctl = os.open(tty, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    out = bytearray()
    dest = (host_ip, host_port)

    devs = Devices()
    kmsg = Kmsg()
    mem = MemCheck()
    rate = 0.0
    t0 = 0.0
    txseq = 0
    tx_err = {}
    send_err = []  # [txseq, errno]: the guest's stack refused the frame
    skipped = []
    seen = bytearray(1 << 16)
    run_s, run_n = [], []
    reported_run = 0
    rx = dups = reord = 0
    rxmax = -1
    buf = b""
    next_poll = 0.0

    def say(line):
        out.extend((line + "\n").encode())
        flush()

    def flush():
        while out:
            try:
                n = os.write(ctl, out)
            except BlockingIOError:
                return
            del out[:n]

    def handle(line):
        nonlocal rate, t0, txseq, reported_run
        words = line.split()
        if len(words) < 2:
            return
        rid, cmd, args = words[0], words[1], words[2:]
        if cmd == "start":
            rate = float(args[0])
            t0 = time.monotonic()
            txseq = 0
            del skipped[:]
            del send_err[:]
            say("R%s ok" % rid)
        elif cmd == "mark":
            say("R%s %s" % (rid, js({"txseq": txseq, "rx": rx,
                                     "rxmax": rxmax, "dups": dups,
                                     "reord": reord,
                                     "t": time.monotonic()})))
        elif cmd == "stats":
            t_req = time.monotonic()
            devs.poll(t_req)
            t_poll = time.monotonic()
            report = devs.report()
            t_report = time.monotonic()
            base = max(0, reported_run - 1)
            runs = [[run_s[i], run_n[i]] for i in range(base, len(run_s))]
            reported_run = len(run_s)
            say("R%s %s" % (rid, js({
                "txseq": txseq, "rx": rx, "dups": dups, "reord": reord,
                "tx_err": {str(k): v for k, v in tx_err.items()},
                "skipped": skipped, "send_err": send_err,
                "run_base": base, "runs": runs,
                "devs": report, "udp": snmp_udp(),
                "kmsg": kmsg.read(), "t_req": t_req,
                "cost": [round(t_poll - t_req, 3),
                         round(t_report - t_poll, 3)],
                "t": time.monotonic()})))
        elif cmd == "memcheck":
            t = time.monotonic()
            res = mem.check()
            res["cost"] = round(time.monotonic() - t, 3)
            say("R%s %s" % (rid, js(res)))
        elif cmd == "ping":
            say("R%s pong" % rid)
        elif cmd == "quit":
            say("R%s bye" % rid)
            raise SystemExit(0)
        else:
            say("R%s err unknown %s" % (rid, cmd))

    say("ready")
    while True:
        now = time.monotonic()
        timeout = POLL
        if rate:
            due = int((now - t0) * rate) + 1
            if due - txseq > MAXLAG * rate:
                # this process did not run for a long while (VM paused,
                # vCPU starved): skip what is overdue; a shorter delay
                # is caught up with a burst
                skipped.append([txseq, due - 1])
                txseq = due - 1
            while txseq < due:
                try:
                    sock.sendto(PKT.pack(G2H_MAGIC, txseq,
                                         int(now * 1e9)) + PAD, dest)
                except OSError as e:
                    tx_err[e.errno] = tx_err.get(e.errno, 0) + 1
                    if len(send_err) < MAX_SEND_ERR:
                        send_err.append([txseq, e.errno])
                txseq += 1
            timeout = max(0.0, t0 + txseq / rate - time.monotonic())
        mem.write_due(now)
        if now >= next_poll:
            devs.poll(now)
            next_poll = now + POLL
        timeout = min(timeout, max(0.0, next_poll - time.monotonic()),
                      1.0 / MEM_RATE * 8)
        r, w, _ = select.select([sock, ctl], [ctl] if out else [], [],
                                timeout)
        if w:
            flush()
        if sock in r:
            while True:
                try:
                    data = sock.recv(2048)
                except OSError:
                    break
                if len(data) < 16 or data[:4] != H2G_MAGIC:
                    continue
                seq = PKT.unpack_from(data)[1]
                rx += 1
                if seq >= len(seen):
                    seen.extend(bytearray(max(seq + 1 - len(seen),
                                              len(seen))))
                if seen[seq]:
                    dups += 1
                elif seq < rxmax:
                    reord += 1
                seen[seq] = 1
                if seq > rxmax:
                    rxmax = seq
                if run_s and seq == run_s[-1] + run_n[-1]:
                    run_n[-1] += 1
                else:
                    run_s.append(seq)
                    run_n.append(1)
        if ctl in r:
            try:
                buf += os.read(ctl, 4096)
            except BlockingIOError:
                pass
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode(errors="replace").strip("\r\0 ")
                if line:
                    handle(line)


if __name__ == "__main__":
    main()
