#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Transmit fast-path benchmark of the failover master: pktgen in the test
guest (64-byte frames, queue_xmit, one thread; --mq --clock host: one per
CPU) on the master and directly on the lower that carries its traffic,
stock modules and ours in the same run, module sets interleaved round by
round (round r of every configuration for each set in turn, the order
reversed on odd rounds); prints medians, spread and the ratios
master/primary and master-via-standby/standby, the events per packet and,
on multi-queue lowers, how the frames spread over the lower's queues.
--sender af_packet (or both) adds a socket sender, af_packet_tx.c:
AF_PACKET SOCK_RAW sendmmsg() from one process, through the qdiscs.

  pktgen_bench.py [--quick] [--clock icount|host] [--layout swap|boots]
                  [--mq] [--sender pktgen|af_packet|both] [--batch N]
                  [--blocks stock,ours,...] [--rounds N] [--secs S]
                  [--paths primary,standby,sim-primary,sim-standby]
                  [--qdiscs default,blackhole] [--standby-via down|force]
                  [--ours-dir DIR] [--nfosim KO] [--out DIR]

The guest is vm/run_vm.py's (Debian 6.1 kernel, host root over 9p, its
initramfs and module tree), but its NICs have no -netdev backend (QEMU
drops the frames) and virtio-net uses tx=timer. --mq gives virtio-net 4
queue pairs (mq=on on a 4-queue tap backend whose host end stays down, so
the host kernel drops the frames), pktgen 1024 UDP flows, and
adds the paths on nfosim.ko's simulated lowers (4 transmit queues each);
with --clock host also 4 guest CPUs and 4 pktgen threads (QEMU 7.2 does
not bring up a second CPU under -icount). By default the guest clock runs
on QEMU's instruction counter (-icount), so rates measure guest
instructions per frame and do not move with the host's load; --clock host
measures wall-clock TCG speed instead. See pktgen_README.rst.

Exit status: 0 when every boot completed without a kernel splat (whatever
the numbers), 1 otherwise.
"""

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDIR = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTDIR, "vm"))
import run_vm as rv  # noqa: E402  (vm/run_vm.py, owned by the VM runner)

ROOT = rv.ROOT
GUEST_INIT = os.path.join(HERE, "pktgen_init.sh")
AFP_SRC = os.path.join(HERE, "af_packet_tx.c")
AFP_BIN = "af_packet_tx"
DONE_MARK = "pktgen-guest: done"
# --mq: virtio-net queue pairs (and with --clock host guest CPUs and
# pktgen threads); nfosim's lowers have NFOSIM_TX_QUEUES (4) transmit
# queues
MQ_QUEUES = 4
SIM_PATHS = ("sim-primary", "sim-standby")
PATHS = ("primary", "standby") + SIM_PATHS
# Module sets: Debian's; ours with its defaults (the master refuses
# clone_skb and burst, as stock does, and forwards pktgen's shared skbs
# without cloning them: the path ordinary traffic takes); ours with
# tx_skb_sharing=1 (clone_skb and burst accepted, every shared skb cloned).
BLOCK_KINDS = ("stock", "ours", "ours-share")
# Senders, in the order of their tables: pktgen queue_xmit in the kernel;
# af_packet_tx.c, an AF_PACKET SOCK_RAW socket and sendmmsg() in a process.
SENDERS = ("pktgen", "af_packet")

# Events the guest counts; order of the columns of the events table.
EVENT_COLS = [
    ("net_dev_queue", "dev_queue"),
    ("net_dev_start_xmit", "start_xmit"),
    ("net_dev_xmit", "dev_xmit"),
    ("__dev_queue_xmit", "__dqx"),
    ("validate_xmit_skb", "validate"),
    ("netif_skb_features", "skb_feat"),
    ("dev_hard_start_xmit", "hard_start"),
    ("sch_direct_xmit", "sch_direct"),
    ("netdev_pick_tx", "pick_tx"),
    ("skb_tx_hash", "tx_hash"),
    ("__skb_flow_dissect", "dissect"),
]


def log(msg):
    sys.stderr.write("pktgen_bench: %s\n" % msg)
    sys.stderr.flush()


# ------------------------------------------------------------ QEMU

def bench_cmdline(env, initrd, out, sock_dir, virtio_tx, icount=None,
                  mq=False, testdev=False, cpus=None):
    """run_vm's command line with the NIC backends taken out: no -netdev,
    virtio-net with tx=VIRTIO_TX, the primary without netdev. MQ:
    virtio-net with MQ_QUEUES queue pairs on a tap backend of as many
    queues (QEMU takes a NIC's queue pairs from its backend; the tap's host
    end stays down, and the host kernel drops what QEMU writes to it).
    TESTDEV: QEMU's pci-testdev, the PCI parent of nfosim's primaries.
    CPUS: the guest's CPUs (default run_vm's)."""
    ns = argparse.Namespace(shell=False, hotplug="acpi", modules="stock")
    cmd = rv.qemu_cmdline(env, ns, initrd, out, sock_dir)
    res = []
    i = 0
    seen = set()
    while i < len(cmd):
        a = cmd[i]
        if a == "-netdev":
            i += 2
            continue
        if a == "-device" and i + 1 < len(cmd):
            v = cmd[i + 1]
            if v.startswith("virtio-net-pci"):
                opts = [o for o in v.split(",") if not o.startswith("netdev=")]
                if virtio_tx != "bh":
                    opts.append("tx=%s" % virtio_tx)
                if mq:
                    res += ["-netdev", "tap,id=pgmq,queues=%d,script=no,"
                            "downscript=no,vhost=off" % MQ_QUEUES]
                    opts += ["netdev=pgmq", "mq=on",
                             "vectors=%d" % (2 * MQ_QUEUES + 2)]
                res += [a, ",".join(opts)]
                seen.add("standby")
                i += 2
                continue
            if v.startswith("{"):
                d = json.loads(v)
                if d.get("failover_pair_id"):
                    d.pop("netdev", None)
                    res += [a, json.dumps(d, separators=(",", ":"))]
                    seen.add("primary")
                    i += 2
                    continue
        res.append(a)
        i += 1
    if cpus:
        if "-smp" not in res:
            raise SystemExit("pktgen_bench: run_vm.qemu_cmdline() has no "
                             "-smp to change")
        res[res.index("-smp") + 1] = str(cpus)
    if testdev:
        res += ["-device", "pci-testdev"]
    if icount is not None:
        res += ["-icount", "shift=%d,sleep=on" % icount]
    if seen != {"standby", "primary"}:
        raise SystemExit("pktgen_bench: run_vm.qemu_cmdline() has no "
                         "virtio-net/primary pair I can rewrite")
    return res


class Vm:
    """One boot: QEMU with run_vm's initramfs; pktgen_init.sh runs
    pktgen_guest.sh and powers off."""

    def __init__(self, cmd, out, verbose):
        self.cmd = cmd
        self.out = out
        self.verbose = verbose
        self.qemu = None
        self.splats = []
        self.done = False
        self.fatal = None

    def run(self, timeout):
        sock_dir = tempfile.mkdtemp(prefix="pktgen-vm-")
        # run_vm's command line names its sockets sock_dir/ctl and qmp
        cmd = [c.replace("@SOCKDIR@", sock_dir) for c in self.cmd]
        listeners = []
        for name in ("ctl", "qmp"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(os.path.join(sock_dir, name))
            s.listen(1)
            listeners.append(s)
        console = open(os.path.join(self.out, "console.log"), "ab")
        t0 = time.monotonic()
        self.qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        conns = []
        reader = threading.Thread(target=self._reader, args=(console,),
                                  daemon=True)
        reader.start()
        status = "ok"
        try:
            for s in listeners:
                s.settimeout(20)
                try:
                    conns.append(s.accept()[0])
                except socket.timeout:
                    raise RuntimeError("QEMU did not connect")
            # Drain the control serial line; nothing is asked over it.
            threading.Thread(target=self._drain, args=(conns[0],),
                             daemon=True).start()
            while self.qemu.poll() is None:
                if time.monotonic() - t0 > timeout:
                    status = "timeout"
                    log("timeout after %.0fs: killing QEMU" % timeout)
                    break
                time.sleep(0.2)
        except RuntimeError as e:
            status = "error: %s" % e
            log(status)
        finally:
            self.kill()
            reader.join(5)
            console.close()
            for c in conns + listeners:
                c.close()
            shutil.rmtree(sock_dir, ignore_errors=True)
        return status

    @staticmethod
    def _drain(conn):
        try:
            while conn.recv(4096):
                pass
        except OSError:
            pass

    def _reader(self, console):
        pending = b""
        fd = self.qemu.stdout.fileno()
        for chunk in iter(lambda: os.read(fd, 4096), b""):
            console.write(chunk)
            console.flush()
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                line = raw.decode(errors="replace").rstrip("\r")
                if rv.SPLAT_RE.search(line):
                    self.splats.append(line.strip())
                if "pktgen: FATAL" in line:
                    self.fatal = line.split("FATAL:", 1)[1].strip()
                if DONE_MARK in line:
                    self.done = True
                if self.verbose and ("pktgen:" in line or
                                     rv.SPLAT_RE.search(line)):
                    sys.stderr.write(line[line.find("pktgen:"):] + "\n"
                                     if "pktgen:" in line else line + "\n")
                    sys.stderr.flush()

    def kill(self):
        if self.qemu and self.qemu.poll() is None:
            try:
                os.killpg(self.qemu.pid, signal.SIGKILL)
            except OSError:
                self.qemu.kill()
        if self.qemu:
            self.qemu.wait()


# ------------------------------------------------------------ parsing

def parse_records(path):
    recs = []
    if not os.path.exists(path):
        return recs
    with open(path, errors="replace") as f:
        for line in f:
            words = line.split()
            if not words:
                continue
            r = {"kind": words[0]}
            for w in words[1:]:
                if "=" in w:
                    k, v = w.split("=", 1)
                    try:
                        v = int(v)
                    except ValueError:
                        pass
                    r[k] = v
            recs.append(r)
    return recs


def spread(xs):
    xs = sorted(xs)
    if not xs:
        return None
    if len(xs) >= 4:
        q = statistics.quantiles(xs, n=4, method="inclusive")
        q1, q3 = q[0], q[2]
    else:
        q1, q3 = xs[0], xs[-1]
    return {"median": statistics.median(xs), "min": xs[0], "max": xs[-1],
            "q1": q1, "q3": q3, "n": len(xs)}


def sender_key(sender):
    return SENDERS.index(sender) if sender in SENDERS else len(SENDERS)


def summarize(recs):
    rounds = [r for r in recs if r["kind"] == "round"]
    groups = {}
    for r in rounds:
        # records of runs before --sender have no sender: pktgen
        key = (r.get("sender", "pktgen"), r["mods"], r["path"], r["qdisc"])
        g = groups.setdefault(key, {"master": [], "lower": [],
                                    "master_sx": [], "pairs": {},
                                    "short": 0, "errors": 0, "eagain": 0,
                                    "irqs": {}, "queues": {},
                                    "lower_qdisc": r.get("lower_qdisc"),
                                    "how": r.get("how")})
        g[r["role"]].append(r["pps"])
        g["pairs"].setdefault((r["block"], r["r"]), {})[r["role"]] = r["pps"]
        g["errors"] += r.get("errors", 0)
        g["eagain"] += r.get("eagain", 0)
        lq = str(r.get("lower_q", "-"))
        if lq != "-":
            per = [int(x) for x in lq.split(",")]
            tot = g["queues"].setdefault(r["role"], [0] * len(per))
            for i, n in enumerate(per[:len(tot)]):
                tot[i] += n
        if "lower_irqs" in r and r.get("pkts"):
            g["irqs"].setdefault(r["role"], []).append(
                r["lower_irqs"] / r["pkts"])
        # every frame the sender counted must have reached the lower's qdisc
        if r.get("lower_pkts", 0) < 0.98 * r.get("pkts", 0):
            g["short"] += 1
    summary = []
    for (sender, mods, path, qdisc), g in sorted(
            groups.items(), key=lambda kv: (sender_key(kv[0][0]),) + kv[0]):
        ratios = [p["master"] / p["lower"] for p in g["pairs"].values()
                  if p.get("master") and p.get("lower")]
        summary.append({
            "sender": sender,
            "mods": mods, "path": path, "qdisc": qdisc,
            "lower_qdisc": g["lower_qdisc"], "standby_how": g["how"],
            "master_pps": spread(g["master"]),
            "lower_pps": spread(g["lower"]),
            "master_start_xmit_pps": spread(g["master_sx"]),
            "ratio": spread(ratios),
            "rounds_not_via_lower": g["short"],
            # pktgen: frames its xmit counted as errors; af_packet:
            # sendmmsg() calls that failed with ENOBUFS or stopped short
            "sender_errors": g["errors"],
            # af_packet: sendmmsg() calls that found the send buffer full
            "sender_eagain": g["eagain"],
            # the lower's interrupts per frame sent, median by role
            "lower_irqs_per_frame": {role: statistics.median(v)
                                     for role, v in g["irqs"].items()},
            # frames each transmit queue of the lower was offered (its mq
            # class: sent + dropped), summed over the rounds, by role
            "lower_queue_pkts": g["queues"],
        })
    cross = []
    by = {(s["sender"], s["mods"], s["path"], s["qdisc"]): s
          for s in summary}
    for (sender, mods, path, qdisc), s in by.items():
        if mods == "stock" or (sender, "stock", path, qdisc) not in by:
            continue
        st = by[(sender, "stock", path, qdisc)]
        if not (s["master_pps"] and st["master_pps"]):
            continue
        cross.append({
            "sender": sender,
            "mods": mods, "path": path, "qdisc": qdisc,
            "master_ours_over_stock": s["master_pps"]["median"] /
            st["master_pps"]["median"],
            "lower_ours_over_stock": s["lower_pps"]["median"] /
            st["lower_pps"]["median"],
            "ratio_ours_over_stock": s["ratio"]["median"] /
            st["ratio"]["median"],
        })
    return summary, cross


def events_table(recs):
    out = {}
    for r in recs:
        if r["kind"] != "ev" or not r.get("pkts") or r.get("test"):
            continue
        key = (r["mods"], r["path"], r["qdisc"], r["role"])
        e = out.setdefault(key, {"pkts": r["pkts"], "dev": r["dev"],
                                 "per_packet": {}, "perdev": {}})
        e["per_packet"][r["event"]] = r["hits"] / r["pkts"]
        e["perdev"][r["event"]] = r["perdev"]
    return out


# ------------------------------------------------------------ output

def k(x):
    return "%.1f" % (x / 1000.0)


def fmt_spread(s, scale=k, digits=None):
    if not s:
        return "-"
    f = scale if digits is None else (lambda v: "%.*f" % (digits, v))
    return "%s [%s-%s]" % (f(s["median"]), f(s["min"]), f(s["max"]))


SENDER_TITLE = {
    "pktgen": "pktgen queue_xmit, %(size)d-byte frames (+FCS), "
              "%(threads)s",
    "af_packet": "AF_PACKET SOCK_RAW sendmmsg() (af_packet_tx), batches of "
                 "%(batch)d, %(size)d-byte frames (+FCS), 1 process, "
                 "qdisc not bypassed",
}


def instr(ns, pps):
    """Guest instructions per frame at PPS under -icount (NS per instr)."""
    return 1e9 / ns / pps


def print_rates(summary, cross, opts, sender):
    ns = opts.get("ns_per_instr")
    w = sys.stdout.write
    summary = [s for s in summary if s["sender"] == sender]
    cross = [c for c in cross if c["sender"] == sender]
    if not summary:
        return
    title = SENDER_TITLE.get(sender, sender) % {
        "size": opts["pkt_size"], "batch": opts["batch"],
        "threads": "%d thread%s%s" % (
            opts["threads"], "s" if opts["threads"] > 1 else "",
            ", 1024 UDP flows" if opts["mq"] else "")}
    w("\n[%s] %s, %s; kpps median [min-max] over %s rounds of %ss\n"
      % (sender, title, opts["clock"], opts["rounds_total"], opts["secs"]))
    split = any(s.get("master_start_xmit_pps") for s in summary)
    hdr = ("%-12s %-11s %-9s %-13s %-22s %-22s %-20s %-3s%s\n"
           % ("mods", "path", "qdisc", "lower_qd", "master kpps",
              "lower kpps", "master/lower", "n",
              (" instr/frame lower +master" +
               (" (master pass in the core, driver's ndo_start_xmit)"
                if split else "")) if ns else ""))
    w(hdr)
    w("-" * (len(hdr) - 1) + "\n")
    for s in summary:
        flag = ""
        if s["rounds_not_via_lower"]:
            flag += " !%d rounds missed the lower" % s["rounds_not_via_lower"]
        if s["sender_errors"]:
            flag += " !%d %s errors" % (s["sender_errors"], sender)
        if s["sender_eagain"]:
            flag += " !%d EAGAIN (send buffer full)" % s["sender_eagain"]
        ins = ""
        if ns and s["master_pps"] and s["lower_pps"]:
            il = instr(ns, s["lower_pps"]["median"])
            im = instr(ns, s["master_pps"]["median"])
            ins = " %11.0f %+7.0f" % (il, im - il)
            if s.get("master_start_xmit_pps"):
                isx = instr(ns, s["master_start_xmit_pps"]["median"])
                ins += " = core %+4.0f + ndo %+4.0f" % (im - isx, isx - il)
        w("%-12s %-11s %-9s %-13s %-22s %-22s %-20s %-3s%s%s\n" % (
            s["mods"], s["path"], s["qdisc"], s["lower_qdisc"] or "-",
            fmt_spread(s["master_pps"]), fmt_spread(s["lower_pps"]),
            fmt_spread(s["ratio"], digits=3),
            s["master_pps"]["n"] if s["master_pps"] else 0, ins, flag))
    if cross:
        w("\n[%s] ours/stock (medians; the lower-direct column is the "
          "control: ~1.00 if the two module sets saw the same machine)\n"
          % sender)
        w("%-12s %-11s %-9s %-14s %-14s %s\n" % (
            "mods", "path", "qdisc", "master", "lower(ctrl)",
            "master/lower"))
        for c in cross:
            w("%-12s %-11s %-9s %-14.3f %-14.3f %.3f\n" % (
                c["mods"], c["path"], c["qdisc"], c["master_ours_over_stock"],
                c["lower_ours_over_stock"], c["ratio_ours_over_stock"]))


def print_queues(summary):
    """How the frames spread over a multi-queue lower's transmit queues."""
    rows = [s for s in summary if s["lower_queue_pkts"]]
    if not rows:
        return
    w = sys.stdout.write
    w("\nlower's transmit queues: share of the frames each queue's qdisc "
      "was offered (its mq class), queue 0/1/2/..., all rounds of a role\n")
    roles = ("master", "master_sx", "lower")
    w(("%-10s %-12s %-11s %-9s" % ("sender", "mods", "path", "qdisc") +
       "".join(" %-24s" % r for r in roles)).rstrip() + "\n")
    for s in rows:
        cells = []
        for role in roles:
            q = s["lower_queue_pkts"].get(role)
            tot = sum(q) if q else 0
            cells.append("/".join("%.2f" % (n / tot) for n in q)
                         if tot else "-")
        w(("%-10s %-12s %-11s %-9s" % (s["sender"], s["mods"], s["path"],
                                      s["qdisc"]) +
           "".join(" %-24s" % c for c in cells)).rstrip() + "\n")


def print_senders(summary, opts):
    """The two senders side by side: what the master adds to a frame,
    and how much that is of each sender's frame."""
    ns = opts.get("ns_per_instr")
    by = {(s["sender"], s["mods"], s["path"], s["qdisc"]): s
          for s in summary if s["master_pps"] and s["lower_pps"]}
    keys = sorted({kk[1:] for kk in by if kk[0] == "pktgen"} &
                  {kk[1:] for kk in by if kk[0] == "af_packet"})
    if not keys:
        return
    w = sys.stdout.write
    w("\nsenders compared (medians): master/lower of each sender%s\n"
      % ("; instructions per frame on the lower and what the master adds"
         if ns else ""))
    w("%-12s %-8s %-9s %-13s %-13s%s\n" % (
        "mods", "path", "qdisc", "pktgen m/l", "af_pkt m/l",
        " %-12s %-12s %-12s %s" % ("pktgen lower", "+master",
                                   "af_pkt lower", "+master")
        if ns else ""))
    for kk in keys:
        pg, af = by[("pktgen",) + kk], by[("af_packet",) + kk]
        ins = ""
        if ns:
            vals = []
            for s in (pg, af):
                il = instr(ns, s["lower_pps"]["median"])
                im = instr(ns, s["master_pps"]["median"])
                vals += ["%.0f" % il, "%+.0f" % (im - il)]
            ins = " %-12s %-12s %-12s %s" % tuple(vals)
        w("%-12s %-8s %-9s %-13.3f %-13.3f%s\n" % (
            kk[0], kk[1], kk[2], pg["ratio"]["median"],
            af["ratio"]["median"], ins))


def print_tables(summary, cross, events, opts, roles):
    w = sys.stdout.write
    for sender in SENDERS:
        print_rates(summary, cross, opts, sender)
    print_senders(summary, opts)
    print_queues(summary)
    if events:
        w("\n[pktgen] events per packet (one round of %d frames per row; "
          "hist triggers on tracepoints and kprobes)\n" % opts["event_pkts"])
        cols = [c for c in EVENT_COLS
                if any(c[0] in e["per_packet"] for e in events.values())]
        w("%-12s %-11s %-9s %-7s" % ("mods", "path", "qdisc", "role") +
          "".join(" %10s" % c[1] for c in cols) + "\n")
        for key in sorted(events):
            mods, path, qdisc, role = key
            e = events[key]
            w("%-12s %-11s %-9s %-7s" % (mods, path, qdisc, role) +
              "".join(" %10s" % ("%.2f" % e["per_packet"][c[0]]
                                 if c[0] in e["per_packet"] else "-")
                      for c in cols) + "\n")
    sys.stdout.flush()


def clone_share(recs):
    """pktgen clone_skb 8 rounds: share of the frames that really went
    through the device pktgen was bound to (net_dev_queue on it)."""
    res = []
    for r in recs:
        if (r["kind"] != "ev" or r.get("test") != "clone8" or
                r["event"] != "net_dev_queue" or not r.get("pkts")):
            continue
        per = {}
        for item in str(r["perdev"]).split(","):
            if ":" in item:
                name, n = item.rsplit(":", 1)
                per[name] = int(n)
        res.append({"mods": r["mods"], "role": r["role"], "dev": r["dev"],
                    "pkts": r["pkts"], "net_dev_queue": per,
                    "share_on_dev": per.get(r["dev"], 0) / r["pkts"]})
    return res


def print_how(summary):
    hows = sorted({(s["mods"], s["standby_how"]) for s in summary
                   if s["path"] == "standby"})
    if hows:
        sys.stdout.write("standby path: %s\n" % ", ".join(
            "%s by %s" % h for h in hows))


def print_options(recs):
    opts = [r for r in recs if r["kind"] == "opt"]
    if not opts:
        return
    w = sys.stdout.write
    w("\npktgen options accepted (clone_skb 8, burst 8)\n")
    table = {}
    for r in opts:
        table.setdefault((r["mods"], r["role"]), {})[
            "%s:%s" % (r["mode"], r["param"])] = r["accepted"]
    cols = ["queue_xmit:clone_skb", "start_xmit:clone_skb",
            "start_xmit:burst"]
    w("%-12s %-8s" % ("mods", "device") + "".join(" %21s" % c for c in cols)
      + "\n")
    for (mods, role), v in sorted(table.items()):
        w("%-12s %-8s" % (mods, role) +
          "".join(" %21s" % v.get(c, "-") for c in cols) + "\n")
    for c in clone_share(recs):
        w("clone_skb 8, queue_xmit, %s on the %s (%s): %.0f%% of %d frames "
          "entered %s (net_dev_queue per device: %s)\n" % (
              c["mods"], c["role"], c["dev"], 100 * c["share_on_dev"],
              c["pkts"], c["dev"], ", ".join(
                  "%s %d" % kv for kv in sorted(c["net_dev_queue"].items()))))


# ------------------------------------------------------------ main

def crc_mismatch(env, ko):
    """Exported symbols of KO whose MODVERSIONS CRC differs from the
    kernel headers' Module.symvers (the stock virtio_net.ko would refuse
    to load against it); [] if they match or cannot be checked."""
    symvers = os.path.join(env.get("KDIR", ""), "Module.symvers")
    if not os.path.exists(symvers):
        return []
    want = {}
    with open(symvers) as f:
        for line in f:
            w = line.split()
            if len(w) >= 2:
                want[w[1]] = int(w[0], 16)
    try:
        nm = subprocess.run(["nm", ko], stdout=subprocess.PIPE, text=True,
                            check=True).stdout
        secs = {}
        for sec in ("__kcrctab", "__kcrctab_gpl"):
            dump = subprocess.run(["objdump", "-s", "-j", sec, ko],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL,
                                  text=True).stdout
            data = b""
            for line in dump.splitlines():
                # " 0000 c24a338c 399b6ad1            .J3.9.j."
                w = line.split()
                if not w or len(w[0]) < 4 or not all(
                        c in "0123456789abcdef" for c in w[0]):
                    continue
                hexpart = line[len(line) - len(line.lstrip()):]
                hexpart = hexpart[len(w[0]):len(w[0]) + 36]
                data += bytes.fromhex(hexpart.replace(" ", ""))
            secs[sec] = data
    except (OSError, subprocess.CalledProcessError):
        return []
    bad = []
    for line in nm.splitlines():
        w = line.split()
        if len(w) != 3 or not w[2].startswith("__crc_"):
            continue
        sym, off = w[2][len("__crc_"):], int(w[0], 16)
        for data in secs.values():
            if off + 4 <= len(data):
                crc = int.from_bytes(data[off:off + 4], "little")
                break
        else:
            continue
        if sym in want and want[sym] != crc:
            bad.append("%s 0x%08x (headers 0x%08x)" % (sym, crc, want[sym]))
    return bad


def find_nfosim(env, given, ours_dir):
    """The nfosim.ko to use: GIVEN, or the first candidate built for the
    guest's kernel (vermagic)."""
    if given and not os.path.isfile(given):
        raise SystemExit("pktgen_bench: --nfosim %s: no such file" % given)
    cands = [given] if given else [
        os.path.join(ours_dir, "nfosim", "nfosim.ko") if ours_dir else "",
        os.path.join(ROOT, ".cache", "build", "6.1", "nfosim", "nfosim.ko"),
        os.path.join(TESTDIR, "nfosim", "nfosim.ko")]
    seen = []
    for ko in [c for c in cands if c]:
        if not os.path.exists(ko):
            continue
        vm = subprocess.run(["modinfo", "-F", "vermagic", ko],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True).stdout.split()
        if vm and vm[0] == env["KVER"]:
            return ko
        seen.append("%s (vermagic %s)" % (ko, vm[0] if vm else "?"))
    raise SystemExit("pktgen_bench: no nfosim.ko for %s%s: build it with "
                     "scripts/kbuild.sh 6.1 nfosim, or give --nfosim"
                     % (env["KVER"], "; found " + ", ".join(seen)
                        if seen else ""))


def md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="~3 min: 2 rounds per configuration, short rounds "
                    "(icount 0.3 s, host 1.5 s), 2000-frame event rounds")
    ap.add_argument("--layout", choices=("swap", "boots"), default="swap",
                    help="swap: one boot, module sets swapped (rmmod/insmod)"
                    " between blocks, one block per round and set; boots: "
                    "one boot per block")
    ap.add_argument("--mq", action="store_true",
                    help="multi-queue lowers: virtio-net with %d queue "
                    "pairs, pktgen 1024 UDP flows, and the paths "
                    "on nfosim's 4-queue lowers (default paths standby,"
                    "sim-primary,sim-standby; no clone_skb check, no "
                    "bonding reference); with --clock host also %d guest "
                    "CPUs and pktgen threads" % (MQ_QUEUES, MQ_QUEUES))
    ap.add_argument("--sender", choices=("pktgen", "af_packet", "both"),
                    default="pktgen",
                    help="pktgen (default): pktgen queue_xmit; af_packet: "
                    "af_packet_tx, an AF_PACKET SOCK_RAW socket sending "
                    "with sendmmsg() through the qdiscs (built with the "
                    "host's cc into OUT); both: both, rounds interleaved, "
                    "one table each. Event counts, the start_xmit split "
                    "and the pktgen option checks are pktgen's only")
    ap.add_argument("--batch", type=int, default=64,
                    help="af_packet: messages per sendmmsg() (default 64)")
    ap.add_argument("--sndbuf", type=int, default=4 << 20,
                    help="af_packet: SO_SNDBUFFORCE in bytes (default 4 "
                    "MiB, so that frames the standby holds until its tx "
                    "timer do not fill the send buffer; 0: the kernel's "
                    "default)")
    ap.add_argument("--blocks",
                    help="module sets, loaded fresh in this order for "
                    "each even round and in reverse for each odd one: "
                    "stock, ours, ours-share (ours with tx_skb_sharing=1); "
                    "default stock,ours,ours-share (--quick: stock,ours;"
                    " --clock host: stock,ours,ours,stock)")
    ap.add_argument("--rounds", type=int,
                    help="rounds (master+lower pairs) per configuration "
                    "and module set (default 3, --quick 2)")
    ap.add_argument("--secs", type=float,
                    help="guest seconds per round (default: icount 1, "
                    "host 2; --quick 0.3 / 1.5)")
    ap.add_argument("--paths",
                    help="primary: primary up; standby: see --standby-via; "
                    "sim-primary, sim-standby: the same on nfosim's "
                    "simulated lowers (4 transmit queues each). Default "
                    "primary,standby (--mq: standby,sim-primary,"
                    "sim-standby)")
    ap.add_argument("--qdiscs", default="default,blackhole",
                    help="root qdisc on the lower: default (the kernel's, "
                    "fq_codel in Debian) or any tc qdisc kind")
    ap.add_argument("--standby-via", choices=("down", "force"),
                    default="down",
                    help="standby path: primary link down (both) or "
                    "failoverctl force-standby (ours, if built)")
    ap.add_argument("--event-pkts", type=int,
                    help="frames in each event-count round "
                    "(default 20000, --quick 2000)")
    ap.add_argument("--no-events", action="store_true")
    ap.add_argument("--no-start-xmit", action="store_true",
                    help="skip the rounds with pktgen start_xmit on the "
                    "master (they split its cost into the core's pass "
                    "and the driver's ndo_start_xmit)")
    ap.add_argument("--no-reference", action="store_true",
                    help="skip the bonding (active-backup) over dummy "
                    "reference (first boot only)")
    ap.add_argument("--no-options", action="store_true",
                    help="skip the clone_skb/burst acceptance check")
    ap.add_argument("--virtio-tx", default="timer",
                    choices=("timer", "bh"))
    ap.add_argument("--clock", choices=("icount", "host"),
                    default="icount",
                    help="icount (default): the guest clock counts guest "
                    "instructions (QEMU -icount shift=3, 8 ns each), so a "
                    "rate is instructions per frame and does not depend on "
                    "the host's load; host: wall clock (TCG speed, noisy "
                    "on a shared host)")
    ap.add_argument("--icount-shift", type=int, default=3,
                    help=argparse.SUPPRESS)
    ap.add_argument("--pkt-size", type=int, default=60,
                    help="frame length without the FCS: pktgen pkt_size, "
                    "af_packet_tx -l (60 = 64-byte frames with FCS)")
    ap.add_argument("--ours-dir", metavar="DIR",
                    help="take failover.ko and net_failover.ko from DIR "
                    "(flat, or laid out as the repo root: net/core/, "
                    "drivers/net/, as scripts/kbuild.sh builds them) "
                    "instead of the build at the repo root")
    ap.add_argument("--nfosim", metavar="KO",
                    help="nfosim.ko for the sim-* paths (default: the "
                    "first of OURS_DIR/nfosim/nfosim.ko, "
                    ".cache/build/6.1/nfosim/nfosim.ko, "
                    "nfosim/nfosim.ko whose vermagic is the guest's)")
    ap.add_argument("--out", help="output directory")
    ap.add_argument("--json", help="results file (default OUT/results.json)")
    ap.add_argument("--timeout", type=float,
                    help="limit per boot in seconds (default: estimated)")
    ap.add_argument("--graph", action="store_true",
                    help="also save one frame's function_graph below "
                    "__dev_queue_xmit per device and configuration "
                    "(OUT/pktgen_graph.*.txt)")
    ap.add_argument("--trace", action="store_true",
                    help="set -x in the guest script (console.log)")
    ap.add_argument("--quiet", action="store_true",
                    help="no per-round progress on stderr")
    args = ap.parse_args()

    icount = args.clock == "icount"
    # With icount the rates are deterministic: short rounds and one block
    # per module set are enough; on the wall clock, more of everything,
    # and the module sets in ABBA order against drifting host load.
    blocks = (args.blocks or ("stock,ours" if args.quick else
                              "stock,ours,ours-share" if icount else
                              "stock,ours,ours,stock")).split(",")
    blocks = [b.strip() for b in blocks if b.strip()]
    if any(b not in BLOCK_KINDS for b in blocks):
        ap.error("--blocks takes %s" % ", ".join(BLOCK_KINDS))
    rounds = args.rounds or (2 if args.quick else 3)
    secs = args.secs or ((0.3 if args.quick else 1.0) if icount else
                         (1.5 if args.quick else 2.0))
    event_pkts = args.event_pkts or (2000 if args.quick else 20000)
    paths = [p for p in (args.paths or (
        ",".join(("standby",) + SIM_PATHS) if args.mq else
        "primary,standby")).split(",") if p]
    if not paths or any(p not in PATHS for p in paths):
        ap.error("--paths takes %s" % ", ".join(PATHS))
    sim = any(p in SIM_PATHS for p in paths)
    if args.mq and not os.access("/dev/net/tun", os.R_OK | os.W_OK):
        ap.error("--mq needs /dev/net/tun (and CAP_NET_ADMIN): QEMU "
                 "creates the 4-queue tap backend of virtio-net")
    # QEMU 7.2 hangs bringing up a second CPU under -icount: one CPU and
    # one pktgen thread there.
    threads = MQ_QUEUES if args.mq and not icount else 1
    qdiscs = [q for q in args.qdiscs.split(",") if q]
    senders = list(SENDERS) if args.sender == "both" else [args.sender]
    pktgen = "pktgen" in senders
    if not 1 <= args.batch <= 1024:
        ap.error("--batch takes 1-1024")
    if not 0 <= args.sndbuf <= 1 << 30:
        ap.error("--sndbuf takes 0-1073741824")

    env = rv.read_env()
    nfosim = find_nfosim(env, args.nfosim, args.ours_dir) if sim else ""
    out = os.path.abspath(args.out or os.path.join(
        ROOT, ".cache", "pktgen-runs", time.strftime("%Y%m%d-%H%M%S")))
    os.makedirs(out, exist_ok=True)
    for stale in ("console.log", "pktgen_results.txt", "dmesg.txt"):
        if os.path.exists(os.path.join(out, stale)):
            os.unlink(os.path.join(out, stale))

    # Our modules: a copy, so that a rebuild during the run changes nothing.
    has_ours = any(b != "stock" for b in blocks)
    ours_dir = os.path.join(out, "ours")
    os.makedirs(ours_dir, exist_ok=True)
    ours = {}
    for name, rel in rv.OURS.items():
        src = os.path.join(ROOT, rel)
        if args.ours_dir:
            src = os.path.join(args.ours_dir, rel)
            if not os.path.exists(src):
                src = os.path.join(args.ours_dir, os.path.basename(rel))
        if has_ours and not os.path.exists(src):
            raise SystemExit("pktgen_bench: %s missing: run make" % src)
        if os.path.exists(src):
            bad = crc_mismatch(env, src)
            if bad and has_ours:
                raise SystemExit("pktgen_bench: %s: CRCs differ from "
                                 "Module.symvers, virtio_net.ko would not "
                                 "load it: %s" % (src, "; ".join(bad)))
            shutil.copy2(src, os.path.join(ours_dir, name + ".ko"))
            ours[name] = {"md5": md5(src), "mtime": time.strftime(
                "%Y-%m-%dT%H:%M:%S", time.localtime(os.path.getmtime(src)))}
    if sim:
        shutil.copy2(nfosim, os.path.join(ours_dir, "nfosim.ko"))
        ours["nfosim"] = {"path": os.path.relpath(nfosim, ROOT),
                          "md5": md5(nfosim)}
    afp = ""
    if "af_packet" in senders:
        # Built with the host's compiler: the guest runs the host root,
        # so a dynamic binary finds its libc there.
        afp = os.path.join(out, AFP_BIN)
        cc = os.environ.get("CC", "cc")
        res = subprocess.run([cc, "-O2", "-Wall", "-Wextra", "-o", afp,
                              AFP_SRC], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        if res.returncode:
            raise SystemExit("pktgen_bench: %s %s failed:\n%s"
                             % (cc, AFP_SRC, res.stdout))
        if res.stdout.strip():
            log("%s warnings:\n%s" % (AFP_SRC, res.stdout.rstrip()))
    fctl = os.path.join(ROOT, "tools", "net", "failover", "failoverctl")
    fctl = fctl if os.access(fctl, os.X_OK) else ""
    if args.standby_via == "force" and not fctl:
        log("failoverctl not built: standby path by primary link down")

    t0 = time.monotonic()
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    command = " ".join(["pktgen_bench.py"] + sys.argv[1:])
    tree = subprocess.run(["git", "-C", ROOT, "describe", "--always",
                           "--dirty"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True).stdout.strip()
    _, modtree = rv.prepare_modules(env, out, "stock")
    # run_vm's initramfs, handing over to our PID 1 instead of its own
    if "@GUEST_INIT@" not in getattr(rv, "INIT", ""):
        raise SystemExit("pktgen_bench: run_vm.INIT has no @GUEST_INIT@")
    saved = rv.INIT
    rv.INIT = saved.replace("@GUEST_INIT@", GUEST_INIT)
    try:
        initrd = rv.build_initramfs(modtree, out)
    finally:
        rv.INIT = saved
    cmd = bench_cmdline(env, initrd, out, "@SOCKDIR@", args.virtio_tx,
                        args.icount_shift if args.clock == "icount"
                        else None, mq=args.mq, testdev=sim,
                        cpus=threads if threads > 1 else None)
    with open(os.path.join(out, "qemu.cmdline"), "w") as f:
        f.write(" ".join("'%s'" % c if any(ch in c for ch in " {}\"")
                         else c for c in cmd) + "\n")

    # Module sets interleaved: round r of every configuration for each set
    # in turn, the sets' order reversed on odd r. swap: one boot, the
    # guest loops over rounds and sets; boots: one boot per round and set.
    if args.layout == "swap":
        boots = [(blocks, 0, rounds)]
    else:
        boots = [([b], r, 1) for r in range(rounds)
                 for b in (blocks if r % 2 == 0 else blocks[::-1])]
    # Guest seconds per block (one round of each configuration), and a
    # generous limit per boot: under icount and on a loaded host a guest
    # second can take several.
    per_round = ((3 if pktgen else 0) +
                 (2 if "af_packet" in senders else 0)) * (secs + 0.5)
    per_block = (len(paths) * len(qdiscs) *
                 (per_round + (0 if args.no_events or not pktgen else
                               4 + event_pkts / 2000.0))
                 + 40)
    slowdown = 6 if icount else 2
    results_path = os.path.join(out, "pktgen_results.txt")
    recs = []
    statuses = []
    splats = []
    vm = None
    load_before = open("/proc/loadavg").read().split()[:3]

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        nblocks = 0
        for bi, (bl, r0, nr) in enumerate(boots):
            limit = args.timeout or 120 + per_block * len(bl) * nr * slowdown
            genv = {
                "PG_BLOCKS": " ".join(bl), "PG_PATHS": " ".join(paths),
                "PG_QDISCS": " ".join(qdiscs),
                "PG_SECS": secs, "PG_EVENT_PKTS": event_pkts,
                "PG_PKT_SIZE": args.pkt_size,
                "PG_STANDBY_VIA": args.standby_via,
                "PG_OURS_DIR": "/ftest/out/ours", "PG_FAILOVERCTL": fctl,
                "PG_SENDERS": " ".join(senders),
                "PG_AFP": "/ftest/out/" + AFP_BIN if afp else "",
                "PG_AFP_BATCH": args.batch, "PG_AFP_SNDBUF": args.sndbuf,
                "PG_EVENTS": int(pktgen and not args.no_events),
                "PG_CLONE": int(pktgen and not args.no_options and
                                not args.mq),
                "PG_REFERENCE": int(not args.no_reference and not args.mq),
                "PG_SX": int(not args.no_start_xmit),
                "PG_BLOCK0": nblocks, "PG_ROUND0": r0, "PG_ROUNDS": nr,
                "PG_THREADS": threads,
                "PG_MQ": MQ_QUEUES if args.mq else 0,
                "PG_NFOSIM": "/ftest/out/ours/nfosim.ko" if sim else "",
                "PG_TRACE": int(args.trace), "PG_GRAPH": int(args.graph),
                "PG_GUEST_TIMEOUT": int(limit),
            }
            with open(os.path.join(out, "pktgen.env"), "w") as f:
                f.write("".join("%s='%s'\n" % kv for kv in genv.items()))
            if os.path.exists(results_path):
                os.unlink(results_path)
            nblocks += len(bl) * nr
            log("boot %d/%d: rounds %d-%d of %s (limit %.0fs), out=%s"
                % (bi + 1, len(boots), r0, r0 + nr - 1, ",".join(bl),
                   limit, out))
            vm = Vm(cmd, out, not args.quiet)
            st = vm.run(limit)
            vm = None if st == "ok" else vm
            got = parse_records(results_path)
            if os.path.exists(results_path):
                os.rename(results_path,
                          os.path.join(out, "pktgen_results.%d.txt" % bi))
            if os.path.exists(os.path.join(out, "dmesg.txt")):
                os.rename(os.path.join(out, "dmesg.txt"),
                          os.path.join(out, "dmesg.%d.txt" % bi))
            recs += got
            complete = any(r["kind"] == "done" for r in got)
            statuses.append({"boot": bi, "blocks": bl, "round0": r0,
                             "rounds": nr, "status": st,
                             "complete": complete})
            if not complete:
                fatal = [r for r in got if r["kind"] == "fatal"]
                log("boot %d incomplete (%s)%s" % (
                    bi, st, ": see console.log" if not fatal else ""))
            splats += [s for s in (vm.splats if vm else [])]
    except KeyboardInterrupt:
        log("interrupted")
        statuses.append({"status": "interrupted"})
    finally:
        if vm:
            vm.kill()
        shutil.rmtree(os.path.join(out, "modroot"), ignore_errors=True)
        if os.path.exists(initrd):
            os.unlink(initrd)
    elapsed = time.monotonic() - t0

    summary, cross = summarize(recs)
    events = events_table(recs)
    roles = [r for r in recs if r["kind"] == "block"]
    opts = {"pkt_size": args.pkt_size, "secs": secs, "batch": args.batch,
            "threads": threads, "mq": args.mq,
            "rounds_total": rounds * blocks.count(blocks[0]) if len(
                {blocks.count(b) for b in set(blocks)}) == 1 else
            "%d/block" % rounds,
            "event_pkts": event_pkts,
            "ns_per_instr": 2 ** args.icount_shift if icount else None,
            "clock": ("TCG guest, icount clock (guest instructions)" if icount
                      else "TCG guest, wall clock")}
    sys.stdout.write("# %s\n# %s UTC, tree %s (git describe --always "
                     "--dirty), ours %s\n" % (
                         command, started, tree, ", ".join(
                             "%s.ko md5 %s" % (n, v["md5"][:12])
                             for n, v in sorted(ours.items()))))
    print_tables(summary, cross, events, opts, roles)
    print_how(summary)
    print_options(recs)
    for b in roles:
        sys.stdout.write("block %s: round %s %s master=%s standby=%s "
                         "(%s tx queues) primary=%s%s srcversion=%s\n" % (
                             b["n"], b.get("r", "-"), b["mods"], b["master"],
                             b["standby"], b.get("standby_txq", "?"),
                             b["primary"],
                             "" if b.get("sim_master", "-") == "-" else
                             " nfosim %s/%s/%s (%s tx queues)" % (
                                 b["sim_master"], b["sim_standby"],
                                 b["sim_primary"], b["sim_txq"]),
                             b["srcversion"]))
    load_after = open("/proc/loadavg").read().split()[:3]
    sys.stdout.write("host load %s -> %s; %.0fs in all; out %s\n"
                     % ("/".join(load_before), "/".join(load_after),
                        elapsed, out))
    if splats:
        sys.stdout.write("kernel splats:\n" +
                         "".join("  %s\n" % s for s in splats[:10]))

    doc = {
        "command": command, "date_utc": started, "tree": tree,
        "config": {"blocks": blocks, "layout": args.layout, "mq": args.mq,
                   "threads": threads,
                   "rounds_per_block": rounds, "secs": secs,
                   "paths": paths, "qdiscs": qdiscs,
                   "pkt_size": args.pkt_size, "xmit_mode": "queue_xmit",
                   "senders": senders,
                   "af_packet_batch": args.batch if afp else None,
                   "af_packet_sndbuf": args.sndbuf if afp else None,
                   "virtio_tx": args.virtio_tx, "clock": args.clock,
                   "icount_shift": args.icount_shift if icount else None,
                   "standby_via": args.standby_via,
                   "event_pkts": event_pkts, "git_head": tree,
                   "ours": ours, "qemu": cmd},
        "host_load": {"before": load_before, "after": load_after},
        "elapsed_s": elapsed,
        "boots": statuses,
        "summary": summary,
        "ours_over_stock": cross,
        "events_per_packet": [
            {"mods": kk[0], "path": kk[1], "qdisc": kk[2], "role": kk[3],
             **v} for kk, v in sorted(events.items())],
        "clone_skb": clone_share(recs),
        "options": [r for r in recs if r["kind"] == "opt"],
        "blocks": roles,
        "records": recs,
        "splats": splats,
    }
    jpath = args.json or os.path.join(out, "results.json")
    with open(jpath, "w") as f:
        json.dump(doc, f, indent=1)
    sys.stdout.write("json: %s\n" % jpath)
    ok = all(s.get("complete") for s in statuses) and not splats
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
