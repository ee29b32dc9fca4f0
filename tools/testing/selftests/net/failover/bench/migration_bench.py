#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Loss benchmark of virtio-net failover around primary hot-unplug/replug
and live migration: the stock Debian modules against ours, same run.

Each QEMU NIC (virtio-net standby, e1000e primary) has its own backend, an
AF_UNIX datagram socketpair; a host-side switch process holds the other
ends and plays the NIC's embedded switch for the guest's MAC, with a
steering policy:

  managed  host->guest frames go to the standby until the guest transmits
           through the primary (first guest frame on the primary's port
           after the primary was plugged: what a learning switch does),
           and back to the standby as soon as the host decides to remove
           the primary (device_del / migrate issued);
  early    as managed, but frames go to the primary as soon as it is
           plugged (a PF driver that programs the VF MAC filter at VF
           creation).

Sequence-numbered UDP both ways at a fixed rate; per QMP device_del +
device_add cycle and per live migration (source -> destination QEMU on
this machine, the source unplugging the primary itself in wait-unplug),
it reports per direction lost, duplicated and reordered frames, where the
lost ones went, the time from device_add (or destination RESUME) until
the guest transmits through the primary, and the guest's per-lower drop
counters.

Migrations are live with QEMU 9.0 or later (--qemu d13: Debian 13's
10.0 from scripts/qemu-d13.sh); their loss is split by the source's stop
window (STOP to the destination's RESUME), the guest's gratuitous ARPs
and QEMU's RARPs are counted, the guest checks its RAM, and the checks
are printed as KTAP.

  migration_bench.py [--cycles N] [--migrations M] [--rounds R] [--quick]
                     [--rate PPS] [--modules stock,ours]
                     [--hotplug acpi,native|none] [--policies managed,early]
                     [--qemu PATH|d13] [--timeout S] [--json F]
                     [--summary F]

Exit status: 0 if every scenario ran and every check passed, 1
otherwise, 2 on setup errors.
"""

import argparse
import array
import bisect
import errno
import gc
import json
import os
import select
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDIR = os.path.dirname(HERE)
VMDIR = os.path.join(TESTDIR, "vm")
ROOT = os.path.abspath(os.path.join(TESTDIR, *[os.pardir] * 5))

GUEST_MAC = "52:54:00:12:34:56"
HOST_MAC = "02:00:00:00:00:01"
GUEST_IP = "10.77.0.2"
HOST_IP = "10.77.0.1"
GUEST_PORT = 7000
HOST_PORT = 7001
STANDBY_ID = "net0"
PRIMARY_ID = "hostdev0"
PRIMARY_JSON = {"driver": "e1000e", "id": PRIMARY_ID, "bus": "rp2",
                "mac": GUEST_MAC, "failover_pair_id": STANDBY_ID,
                "netdev": "hn_pri", "romfile": ""}
GUEST_MODULES = ["virtio_pci", "virtio_net", "e1000e"]
PYTHON = "/usr/bin/python3.11"
PY_STDLIB = "/usr/lib/python3.11"
PY_FILES = ["os.py", "encodings/__init__.py", "encodings/aliases.py",
            "encodings/utf_8.py"]

H2G = struct.Struct("<4sIQ")
PAD = b"\0" * 48

# send status in the switch log
ST_OK, ST_EAGAIN, ST_ERR, ST_NOPORT, ST_SKIP = 0, 1, 2, 3, 4
MAXBURST = 20
# the standby's receive ring (rx_queue_size of the virtio-net device)
RX_RING = 1024


def log(msg):
    sys.stderr.write("[%7.1f] bench: %s\n" % (time.monotonic() - T0, msg))
    sys.stderr.flush()


T0 = time.monotonic()


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def ip_bytes(ip):
    return socket.inet_aton(ip)


def ip_csum(hdr):
    s = 0
    for i in range(0, len(hdr), 2):
        s += (hdr[i] << 8) | hdr[i + 1]
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


# ===================================================================
# Switch: a child process owning the host ends of every NIC backend.
# ===================================================================

class SwitchChild:
    """Embedded switch of the NICs for one guest MAC, plus the host side
    of the two sequenced streams. Everything is logged with
    time.monotonic() (the same clock as the parent's)."""

    def __init__(self, ctl):
        self.ctl = ctl
        self.ports = {}         # pid -> dict(vm, role, sock)
        self.port_of = {}       # (vm, role) -> pid
        self.by_fd = {}         # fileno -> pid
        self.next_pid = 0
        self.policy = "managed"
        self.active = None      # vm the guest runs in (as learned/told)
        self.pstate = {}        # vm -> absent | plugged | learned
        self.t_plug = {}        # vm -> time of the last plug
        self.first_pri = {}     # vm -> first guest frame on primary port
        self.rate = 0.0
        self.t0 = 0.0
        self.seq = 0
        self.h_t = array.array("d")
        self.h_port = array.array("h")
        self.h_st = array.array("b")
        self.g_t = array.array("d")
        self.g_port = array.array("h")
        self.g_seq = array.array("q")
        self.g_gt = array.array("d")   # guest's send time (its clock)
        self.frames = {}        # pid -> {kind: n}
        self.events = []        # [t, text]
        self.cur_target = None
        self.guest_mac = mac_bytes(GUEST_MAC)
        self.host_mac = mac_bytes(HOST_MAC)
        self.host_ip = ip_bytes(HOST_IP)
        ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0,
                                   20 + 8 + H2G.size + len(PAD), 0,
                                   0x4000, 64, 17, 0, self.host_ip,
                                   ip_bytes(GUEST_IP)))
        struct.pack_into("!H", ip, 10, ip_csum(ip))
        udp = struct.pack("!HHHH", HOST_PORT, GUEST_PORT,
                          8 + H2G.size + len(PAD), 0)
        self.h2g_hdr = (self.guest_mac + self.host_mac + b"\x08\x00" +
                        bytes(ip) + udp)

    def event(self, now, text):
        self.events.append([now, text])

    def target(self):
        vm = self.active
        if vm is None:
            return None
        st = self.pstate.get(vm)
        pri = st == "learned" or (self.policy == "early" and st == "plugged")
        return self.port_of.get((vm, "primary" if pri else "standby"))

    def retarget(self, now, why):
        t = self.target()
        if t != self.cur_target:
            p = self.ports.get(t)
            self.event(now, "steer h2g -> %s (%s)" % (
                "%s/%s" % (p["vm"], p["role"]) if p else "nowhere", why))
            self.cur_target = t

    # ------------------------------------------------------------ rx
    def on_frame(self, pid, data, now):
        p = self.ports[pid]
        if len(data) < 14 or data[6:12] != self.guest_mac:
            self.count(pid, "foreign")
            return
        et = (data[12] << 8) | data[13]
        kind = "other"
        seq = None
        if et == 0x0800 and len(data) >= 34 and data[23] == 17:
            ihl = (data[14] & 15) * 4
            u = 14 + ihl
            if (len(data) >= u + 8 + H2G.size and
                    ((data[u + 2] << 8) | data[u + 3]) == HOST_PORT and
                    data[u + 8:u + 12] == b"FOG1"):
                kind = "data"
                _, seq, gns = H2G.unpack_from(data, u + 8)
            else:
                kind = "udp"
        elif et == 0x0806:
            kind = "arp"
            if len(data) >= 42:
                op = (data[20] << 8) | data[21]
                spa, tpa = data[28:32], data[38:42]
                if spa == tpa:
                    kind = "garp"
                elif op == 1 and tpa == self.host_ip:
                    self.arp_reply(pid, data, now)
        elif et == 0x8035:
            kind = "rarp"
        elif et == 0x86dd:
            kind = "ipv6"
        self.count(pid, kind)
        vm, role = p["vm"], p["role"]
        if kind in ("garp", "rarp"):
            # who announced what where: QEMU's RARPs carry no IP
            # address, the guest's gratuitous ARPs its own
            self.event(now, "announce %s on %s/%s%s" % (
                kind, vm, role, "" if kind == "rarp" else
                " " + socket.inet_ntoa(data[28:32])))
        if vm != self.active:
            self.active = vm
            self.event(now, "learned: guest runs in %s (%s on %s)"
                       % (vm, kind, role))
            self.retarget(now, "guest moved")
        # QEMU itself announces the destination's NICs after a
        # migration (RARP, also from an emulated primary): that is not
        # the guest transmitting through the primary.
        if (role == "primary" and kind != "rarp" and
                self.pstate.get(vm) == "plugged"):
            self.pstate[vm] = "learned"
            self.first_pri[vm] = now
            self.event(now, "learned: guest transmits through %s/primary "
                       "(%s)" % (vm, kind))
            self.retarget(now, "primary learned")
        if seq is not None:
            self.g_t.append(now)
            self.g_port.append(pid)
            self.g_seq.append(seq)
            self.g_gt.append(gns / 1e9)

    def count(self, pid, kind):
        c = self.frames.setdefault(pid, {})
        c[kind] = c.get(kind, 0) + 1

    def arp_reply(self, pid, req, now):
        rep = (req[6:12] + self.host_mac + b"\x08\x06" +
               struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) +
               self.host_mac + self.host_ip + req[22:28] + req[28:32])
        try:
            self.ports[pid]["sock"].send(rep)
        except OSError:
            pass
        self.count(pid, "arp_replied")

    # ------------------------------------------------------------ tx
    def send_due(self, now):
        due = int((now - self.t0) * self.rate) + 1
        while self.seq < due:
            pid = self.cur_target
            st = ST_NOPORT
            if due - self.seq > MAXBURST:
                # the switch itself did not run in time: not sent
                pid, st = None, ST_SKIP
            elif pid is not None:
                frame = self.h2g_hdr + H2G.pack(b"FOH1", self.seq,
                                               int(now * 1e9)) + PAD
                try:
                    self.ports[pid]["sock"].send(frame)
                    st = ST_OK
                except BlockingIOError:
                    st = ST_EAGAIN
                except OSError:
                    st = ST_ERR
            self.h_t.append(now)
            self.h_port.append(-1 if pid is None else pid)
            self.h_st.append(st)
            self.seq += 1

    # ------------------------------------------------------------ control
    def reply(self, obj):
        self.ctl.send(json.dumps(obj).encode())

    def command(self, msg, fds, now):
        op = msg["op"]
        if op == "add_port":
            s = socket.socket(fileno=fds[0])
            s.setblocking(False)
            pid = self.next_pid
            self.next_pid += 1
            self.ports[pid] = {"vm": msg["vm"], "role": msg["role"],
                               "sock": s}
            self.port_of[(msg["vm"], msg["role"])] = pid
            self.by_fd[s.fileno()] = pid
            self.event(now, "port %d = %s/%s" % (pid, msg["vm"],
                                                 msg["role"]))
            self.retarget(now, "port added")
            return self.reply({"pid": pid})
        if op == "drop_vm":
            for pid, p in list(self.ports.items()):
                if p["vm"] == msg["vm"] and p["sock"] is not None:
                    del self.by_fd[p["sock"].fileno()]
                    p["sock"].close()
                    p["sock"] = None
                    del self.port_of[(p["vm"], p["role"])]
            if self.active == msg["vm"]:
                self.active = None
            self.event(now, "dropped %s" % msg["vm"])
            self.retarget(now, "vm dropped")
            return self.reply({})
        if op == "policy":
            self.policy = msg["policy"]
            self.event(now, "policy %s" % self.policy)
            self.retarget(now, "policy")
            return self.reply({})
        if op == "activate":
            if self.active != msg["vm"]:
                self.active = msg["vm"]
                self.event(now, "host: guest runs in %s" % msg["vm"])
            self.retarget(now, "host activate")
            return self.reply({})
        if op == "plug":
            vm = msg["vm"]
            self.pstate[vm] = "plugged"
            self.t_plug[vm] = now
            self.first_pri.pop(vm, None)
            self.event(now, "host: primary of %s plugged" % vm)
            self.retarget(now, "primary plugged")
            return self.reply({"t": now})
        if op == "unplug":
            vm = msg["vm"]
            self.pstate[vm] = "absent"
            self.event(now, "host: primary of %s to be removed" % vm)
            self.retarget(now, "primary leaving")
            return self.reply({"t": now})
        if op == "tx":
            self.rate = float(msg["rate"])
            self.t0 = now - self.seq / self.rate if self.rate else now
            self.event(now, "h2g rate %g" % self.rate)
            return self.reply({"seq": self.seq})
        if op == "state":
            return self.reply(self.state(now))
        if op == "dump":
            h0, g0, e0 = msg["h_from"], msg["g_from"], msg["e_from"]
            d = self.state(now)
            d.update({
                "h_base": h0, "h_t": self.h_t[h0:].tolist(),
                "h_port": self.h_port[h0:].tolist(),
                "h_st": self.h_st[h0:].tolist(),
                "g_base": g0, "g_t": self.g_t[g0:].tolist(),
                "g_port": self.g_port[g0:].tolist(),
                "g_seq": self.g_seq[g0:].tolist(),
                "g_gt": self.g_gt[g0:].tolist(),
                "e_base": e0, "events": self.events[e0:]})
            with open(msg["path"], "w") as f:
                json.dump(d, f)
            return self.reply({"path": msg["path"]})
        if op == "quit":
            self.reply({})
            raise SystemExit(0)
        return self.reply({"error": "unknown op %s" % op})

    def state(self, now):
        return {"now": now, "seq": self.seq, "g_len": len(self.g_t),
                "e_len": len(self.events), "active": self.active,
                "policy": self.policy, "pstate": self.pstate,
                "t_plug": self.t_plug, "first_pri": self.first_pri,
                "ports": {str(k): {"vm": v["vm"], "role": v["role"]}
                          for k, v in self.ports.items()},
                "frames": {str(k): v for k, v in self.frames.items()}}

    def run(self):
        gc.disable()
        while True:
            now = time.monotonic()
            timeout = 0.5
            if self.rate:
                self.send_due(now)
                timeout = max(0.0, self.t0 + self.seq / self.rate -
                              time.monotonic())
            rl = [self.ctl] + [p["sock"] for p in self.ports.values()
                               if p["sock"] is not None]
            r, _, _ = select.select(rl, [], [], timeout)
            now = time.monotonic()
            for s in r:
                if s is self.ctl:
                    try:
                        data, fds, _, _ = socket.recv_fds(s, 1 << 16, 4)
                    except OSError:
                        return
                    if not data:
                        return
                    self.command(json.loads(data), fds, now)
                    continue
                pid = self.by_fd.get(s.fileno())
                if pid is None:
                    continue
                for _ in range(64):
                    try:
                        data = s.recv(65536)
                    except OSError:
                        break
                    self.on_frame(pid, data, now)


def switch_child_main(fd):
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    except (OSError, AttributeError):
        try:
            os.nice(-10)
        except OSError:
            pass
    ctl = socket.socket(fileno=fd)
    try:
        SwitchChild(ctl).run()
    except SystemExit:
        pass
    return 0


class Switch:
    """Parent side of the switch process."""

    def __init__(self, sndbuf):
        self.sndbuf = sndbuf
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--switch-child",
             str(b.fileno())], pass_fds=[b.fileno()],
            start_new_session=True)
        b.close()
        self.sock = a
        self.sock.settimeout(20)
        self.lock = threading.Lock()

    def cmd(self, op, fds=None, **kw):
        kw["op"] = op
        data = json.dumps(kw).encode()
        with self.lock:
            if fds:
                socket.send_fds(self.sock, [data], fds)
            else:
                self.sock.send(data)
            rep = json.loads(self.sock.recv(1 << 20))
        if "error" in rep:
            raise RuntimeError("switch: %s" % rep["error"])
        return rep

    def add_port(self, vm, role, sock):
        try:
            # root may go past net.core.wmem_max
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUFFORCE,
                            self.sndbuf)
        except (OSError, AttributeError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF,
                            self.sndbuf)
        return self.cmd("add_port", fds=[sock.fileno()], vm=vm, role=role)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.cmd("quit")
            except (OSError, RuntimeError, ValueError):
                pass
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


# ===================================================================
# Guest image
# ===================================================================

def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError):
        return None


def check_crcs(env, kodir):
    """Symbols of KODIR's Module.symvers whose CRC differs from the
    kernel headers' (the stock virtio_net checks them at load time)."""
    def read(path):
        crcs = {}
        try:
            with open(path) as f:
                for line in f:
                    w = line.split("\t")
                    if len(w) >= 2:
                        crcs[w[1]] = w[0]
        except OSError:
            pass
        return crcs
    ours = read(os.path.join(kodir, "Module.symvers"))
    kern = read(os.path.join(env.get("KDIR", ""), "Module.symvers"))
    return sorted(s for s, c in ours.items() if s in kern and kern[s] != c)


def import_run_vm():
    sys.path.insert(0, VMDIR)
    try:
        import run_vm  # noqa: E402  (owned by the VM runner)
    finally:
        sys.path.pop(0)
    return run_vm


def ldd_libs(binary):
    out = subprocess.run(["ldd", binary], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        for w in line.split():
            if w.startswith("/") and os.path.exists(w):
                libs.append(w)
    return libs


def build_initramfs(rv, env, out, mode, params, kodir):
    """Self-contained initramfs: busybox, python3.11 (builtins + os),
    ethtool, the NIC modules (stock or ours, from KODIR) and the
    responder."""
    _, tree = rv.prepare_modules(env, out, "stock")
    if mode == "ours":
        for name, built in rv.OURS.items():
            old = rv.find_module(tree, rv.STOCK_PATH[name])
            if old:
                os.unlink(os.path.join(tree, old))
            shutil.copy2(os.path.join(kodir, built),
                         os.path.join(tree, rv.STOCK_PATH[name]))
        subprocess.run(["depmod", "-b", os.path.join(out, "modroot"),
                        env["KVER"]], check=True)
    c = rv.Cpio()
    dirs = set()

    def mkdirs(path):
        parts = path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in dirs:
                dirs.add(d)
                c.dir(d)

    def add(path, data, mode=0o644):
        mkdirs(path)
        c.file(path.lstrip("/"), data, mode)

    def add_host(src, dst=None, mode=0o755):
        with open(src, "rb") as f:
            add(dst or src, f.read(), mode)

    for d in ("dev", "proc", "sys", "tmp", "run", "modules"):
        mkdirs(d + "/x")
    c.chardev("dev/console", 5, 1)
    c.chardev("dev/null", 1, 3)
    add_host(shutil.which("busybox") or "/bin/busybox", "/bin/busybox")
    c.symlink("bin/sh", "busybox")
    add_host(PYTHON)
    add_host(shutil.which("ethtool") or "/usr/sbin/ethtool", "/sbin/ethtool")
    libs = set(ldd_libs(PYTHON)) | set(ldd_libs(
        shutil.which("ethtool") or "/usr/sbin/ethtool"))
    for lib in sorted(libs):
        add_host(lib)
    mkdirs(PY_STDLIB + "/lib-dynload/x")
    for f in PY_FILES:
        add_host(os.path.join(PY_STDLIB, f), mode=0o644)
    add_host(os.path.join(HERE, "guest_init.sh"), "/init")
    add_host(os.path.join(HERE, "guest_responder.py"), "/guest_responder.py")
    add("/bench.env", ("BENCH_MODULES=%s\nGUEST_IP=%s\nHOST_IP=%s\n"
                       "HOST_MAC=%s\nHOST_PORT=%d\nGUEST_PORT=%d\n" % (
                           mode, GUEST_IP, HOST_IP, HOST_MAC, HOST_PORT,
                           GUEST_PORT)).encode())
    names = []
    for mod in rv.load_order(tree, GUEST_MODULES):
        name = os.path.basename(mod).split(".ko")[0] + ".ko"
        add("/modules/" + name, rv.module_bytes(os.path.join(tree, mod)))
        names.append(name)
    add("/modules/order", ("\n".join(names) + "\n").encode())
    add("/modules/params", "".join(
        "%s %s\n" % (m, p) for m, p in params.items()).encode())
    path = os.path.join(out, "initramfs-%s.cpio" % mode)
    with open(path, "wb") as f:
        f.write(c.finish())
    shutil.rmtree(os.path.join(out, "modroot"), ignore_errors=True)
    return path


# ===================================================================
# VMs
# ===================================================================

def make_qmp_class(rv):
    class Qmp(rv.Qmp):
        """run_vm's QMP client, with each event stamped on arrival."""

        def _reader(self):
            for line in self.rfile:
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                msg["_t"] = time.monotonic()
                ts = msg.get("timestamp")
                if isinstance(ts, dict) and ts.get("seconds", -1) >= 0:
                    # QEMU stamps events with the real-time clock when
                    # it emits them: on the monotonic clock, by the
                    # offset between the two clocks now
                    msg["_qt"] = (ts["seconds"] + ts["microseconds"] / 1e6
                                  - time.time() + time.monotonic())
                with self.cond:
                    if "event" in msg:
                        self.events.append(msg)
                    elif "id" in msg:
                        self.replies[msg["id"]] = msg
                    self.cond.notify_all()
            with self.cond:
                self.closed = True
                self.cond.notify_all()
    return Qmp


class GuestCtl:
    """Requests to the guest responder over its ttyS1."""

    def __init__(self, conn, name):
        self.conn = conn
        self.name = name
        self.cond = threading.Condition()
        self.replies = {}
        self.ready = False
        self.failed = None
        self.closed = False
        self.next_id = 0
        self.lines = []
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        buf = b""
        while True:
            try:
                data = self.conn.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            buf += data
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode(errors="replace").strip("\r\0 ")
                with self.cond:
                    if line == "ready":
                        self.ready = True
                    elif line.startswith("fail "):
                        self.failed = line[5:]
                    elif line.startswith("R") and " " in line:
                        rid, _, rest = line.partition(" ")
                        self.replies[rid[1:]] = (rest, time.monotonic())
                    elif line:
                        self.lines.append(line)
                    self.cond.notify_all()
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.ready:
                left = deadline - time.monotonic()
                if left <= 0 or self.closed or self.failed:
                    return False
                self.cond.wait(left)
        return True

    def call(self, cmd, timeout=60, stamp=False):
        with self.cond:
            self.next_id += 1
            rid = str(self.next_id)
        self.conn.sendall(("%s %s\n" % (rid, cmd)).encode())
        deadline = time.monotonic() + timeout
        with self.cond:
            while rid not in self.replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise RuntimeError("%s: no reply from the guest to %s"
                                       % (self.name, cmd))
                self.cond.wait(left)
            rest, t = self.replies.pop(rid)
        return (rest, t) if stamp else rest

    def call_json(self, cmd, timeout=60):
        """Reply as a dict, with "_host_t": when it arrived."""
        rest, t = self.call(cmd, timeout, stamp=True)
        d = json.loads(rest)
        d["_host_t"] = t
        return d


class Vm:
    """One QEMU process: the failover pair on two backends of the switch."""

    def __init__(self, bench, name, mode, hotplug, incoming=None):
        self.bench = bench
        self.name = name
        self.mode = mode
        self.hotplug = hotplug
        self.proc = None
        self.sock_dir = tempfile.mkdtemp(prefix="fobench-")
        listeners = {}
        for n in ("qmp", "ctl"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(os.path.join(self.sock_dir, n))
            s.listen(1)
            listeners[n] = s
        qfds = {}
        for role in ("standby", "primary"):
            h, q = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
            bench.sw.add_port(name, role, h)
            h.close()
            qfds[role] = q
        cmd = self.cmdline(qfds["standby"].fileno(),
                           qfds["primary"].fileno(), incoming)
        out = bench.out
        with open(os.path.join(out, "qemu-%s.cmdline" % name), "w") as f:
            f.write(" ".join(cmd) + "\n")
        self.qlog = open(os.path.join(out, "qemu-%s.log" % name), "wb")
        # on a shared host the vCPU thread competes with everything
        # else: QEMU (all its threads) at nice -10 when allowed
        nice = ["nice", "-n", "-10"] if os.geteuid() == 0 else []
        self.proc = subprocess.Popen(
            nice + cmd, stdin=subprocess.DEVNULL, stdout=self.qlog,
            stderr=subprocess.STDOUT, start_new_session=True,
            pass_fds=[q.fileno() for q in qfds.values()])
        bench.procs.append(self.proc)
        # QEMU's ends stay open here too: what QEMU never read from them
        # is read back once it has exited (unread())
        self.qside = qfds
        self.unread_seqs = None
        conns = {}
        for n, s in listeners.items():
            s.settimeout(30)
            try:
                conns[n], _ = s.accept()
            except socket.timeout:
                raise RuntimeError("%s: QEMU did not connect to %s (see %s)"
                                   % (name, n, self.qlog.name))
            s.close()
        self.qmp = bench.Qmp(conns["qmp"])
        self.ctl = GuestCtl(conns["ctl"], name)

    def cmdline(self, fd_sby, fd_pri, incoming):
        env = self.bench.env
        kernel = os.path.join(env["KIMG"], "vmlinux")
        if not os.path.exists(kernel):
            kernel = os.path.join(env["KIMG"], "boot",
                                  "vmlinuz-" + env["KVER"])
        append = ("console=ttyS0 panic=-1 tsc=reliable mitigations=off "
                  "rdinit=/init loglevel=7 net.ifnames=0 ipv6.disable=1 "
                  "printk.time=1 " + self.bench.args.append).strip()
        con = os.path.join(self.bench.out, "console-%s.log" % self.name)
        cmd = [
            self.bench.qemu, "-machine", "q35", "-accel", "tcg",
            "-m", self.bench.args.mem, "-smp", "1,maxcpus=2",
            "-nodefaults", "-no-reboot", "-display", "none", "-vga", "none",
            "-kernel", kernel, "-initrd", self.bench.initrd[self.mode],
            "-append", append,
            "-chardev", "file,id=con,path=%s" % con,
            "-serial", "chardev:con",
            "-chardev", "socket,id=ctl,path=%s" %
            os.path.join(self.sock_dir, "ctl"),
            "-serial", "chardev:ctl",
            "-chardev", "socket,id=qmp,path=%s" %
            os.path.join(self.sock_dir, "qmp"),
            "-mon", "chardev=qmp,mode=control",
            "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,addr=0x10",
            "-device", "pcie-root-port,id=rp2,bus=pcie.0,chassis=2,addr=0x11",
            "-netdev", "dgram,id=hn_sby,local.type=fd,local.str=%d" % fd_sby,
            "-netdev", "dgram,id=hn_pri,local.type=fd,local.str=%d" % fd_pri,
            "-device", "virtio-net-pci,netdev=hn_sby,failover=on,id=%s,"
                       "mac=%s,bus=rp1,romfile=,rx_queue_size=%d"
                       % (STANDBY_ID, GUEST_MAC, RX_RING),
            "-device", json.dumps(PRIMARY_JSON, separators=(",", ":")),
        ]
        if self.hotplug == "native":
            cmd += ["-global",
                    "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"]
        if incoming:
            cmd += ["-incoming", incoming]
        return cmd + shlex.split(self.bench.args.qemu_args)

    def event_index(self):
        with self.qmp.cond:
            return len(self.qmp.events)

    def wait_event(self, name, start, timeout, match=None):
        return self.qmp.wait_event(name, start, timeout, match)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()
        if self.unread_seqs is None:
            self.unread_seqs = self.unread()
        for q in self.qside.values():
            q.close()
        self.qlog.close()
        shutil.rmtree(self.sock_dir, ignore_errors=True)

    def unread(self):
        """Sequence numbers of the host->guest frames still queued in
        QEMU's ends of the backends: sent to this QEMU, never read by
        it (call once QEMU has exited)."""
        seqs = set()
        for q in self.qside.values():
            q.setblocking(False)
            while True:
                try:
                    data = q.recv(65536)
                except OSError:
                    break
                if len(data) >= 42 + H2G.size and \
                        data[42:46] == b"FOH1":
                    seqs.add(H2G.unpack_from(data, 42)[1])
        return seqs


# ===================================================================
# Measurement
# ===================================================================

def console_splats(rv, path):
    """Kernel splats in a console log (run_vm's pattern)."""
    out = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if rv.SPLAT_RE.search(line):
                    out.append(line.strip())
    except OSError:
        pass
    return out


class Timeout(Exception):
    pass


class Session:
    """One guest, from boot to power-off; it may move between QEMUs."""

    def __init__(self, mode, hotplug):
        self.mode = mode
        self.hotplug = hotplug
        self.runs = []          # guest's h2g arrival runs [start, n]

    def add_runs(self, st):
        base = st["run_base"]
        del self.runs[base:]
        self.runs.extend(st["runs"])


def counter_deltas(st0, st1):
    """Per-role sum of (end - start) of the guest's device counters;
    a device absent at the start counts from 0."""
    before = {d["ifindex"]: d for d in st0["devs"]}
    res = {}
    for d in st1["devs"]:
        role = d.get("role", "?")
        if role == "unenslaved":
            role = "primary"
        b = before.get(d["ifindex"], {})
        for src, prefix in (("stats", ""), ("ethtool", "ethtool:")):
            for k, v in d.get(src, {}).items():
                v0 = b.get(src, {}).get(k, 0)
                key = "%s %s%s" % (role, prefix, k)
                res[key] = res.get(key, 0) + v - v0
    u0, u1 = st0.get("udp", {}), st1.get("udp", {})
    for k in ("RcvbufErrors", "SndbufErrors", "InErrors", "NoPorts"):
        res["udp " + k] = u1.get(k, 0) - u0.get(k, 0)
    e0, e1 = st0.get("tx_err", {}), st1.get("tx_err", {})
    res["sendto errors"] = sum(e1.values()) - sum(e0.values())
    return res


def seq_stats(arrivals, lo, hi):
    """lost, dup, reordered of sequence numbers [lo, hi) given the
    arrival order; plus the lost ones."""
    seen = set()
    dup = reord = 0
    mx = -1
    for s in arrivals:
        if not lo <= s < hi:
            continue
        if s in seen:
            dup += 1
            continue
        if s < mx:
            reord += 1
        seen.add(s)
        mx = max(mx, s)
    lost = [s for s in range(lo, hi) if s not in seen]
    return lost, dup, reord


def expand_runs(runs):
    out = []
    for s, n in runs:
        out.extend(range(s, s + n))
    return out


class Bench:
    def __init__(self, args, env, rv):
        self.args = args
        self.env = env
        self.rv = rv
        self.Qmp = make_qmp_class(rv)
        self.procs = []
        self.vms = []
        self.sw = None
        self.out = None
        self.initrd = {}
        self.results = {"scenarios": [], "sessions": []}
        self.dump_n = 0
        self.mig_port = 0
        self.qemu = "qemu-system-x86_64"
        self.live = False

    # --------------------------------------------------------- plumbing
    def cleanup(self):
        for vm in self.vms:
            try:
                vm.kill()
                self.check_console(vm)
            except OSError:
                pass
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass
        if self.sw:
            self.sw.close()

    def new_vm(self, name, mode, hotplug, incoming=None):
        vm = Vm(self, name, mode, hotplug, incoming)
        self.vms.append(vm)
        return vm

    def check_console(self, vm):
        splats = console_splats(self.rv, os.path.join(
            self.out, "console-%s.log" % vm.name))
        if splats:
            self.results.setdefault("splats", {})[vm.name] = splats[:40]
            log("%s: KERNEL SPLAT on the console: %s" % (vm.name,
                                                         splats[0]))
        return splats

    def drop_vm(self, vm, quit_qmp=True):
        if quit_qmp and vm.proc.poll() is None:
            try:
                vm.qmp.cmd("quit", timeout=5)
            except RuntimeError:
                pass
            try:
                vm.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        vm.kill()
        self.check_console(vm)
        self.sw.cmd("drop_vm", vm=vm.name)
        if vm in self.vms:
            self.vms.remove(vm)

    def free_port(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return port

    def wait_switch(self, cond, timeout, step=0.05):
        deadline = time.monotonic() + timeout
        while True:
            st = self.sw.cmd("state")
            if cond(st):
                return st
            if time.monotonic() > deadline:
                return None
            time.sleep(step)

    def wait_primary_learned(self, vm, since, timeout):
        st = self.wait_switch(
            lambda s: s["first_pri"].get(vm.name, 0) > since, timeout)
        return st["first_pri"][vm.name] if st else None

    # --------------------------------------------------------- windows
    def begin(self, sess, vm):
        t = time.monotonic()
        sw = self.sw.cmd("state")
        st = vm.ctl.call_json("stats")
        sess.add_runs(st)
        mark = vm.ctl.call_json("mark")
        return {"t": t, "h_seq": sw["seq"],
                "off": min(x["_host_t"] - x["t"] for x in (mark, st)),
                "g_len": sw["g_len"], "e_len": sw["e_len"],
                "g_seq": st["txseq"], "stats": st}

    def end(self, sess, vm, w0, kind, policy, extra, phases=(), split=None):
        """Close the window opened by begin() and analyse it. PHASES:
        [(name, t)] in time order: lost frames are also counted per
        interval between them. SPLIT (migrations): lost frames split by
        the source's stop window, see split()."""
        def phase(t):
            name = "before the event"
            for n, tp in phases:
                if tp is not None and t >= tp:
                    name = "after " + n
            return name
        sw = self.sw.cmd("state")
        mark = vm.ctl.call_json("mark")
        t_end = time.monotonic()
        time.sleep(self.args.grace)
        st = vm.ctl.call_json("stats")
        sess.add_runs(st)
        self.dump_n += 1
        path = os.path.join(self.out, "switch-%03d.json" % self.dump_n)
        self.sw.cmd("dump", path=path, h_from=w0["h_seq"],
                    g_from=w0["g_len"], e_from=w0["e_len"])
        with open(path) as f:
            d = json.load(f)
        h_lo, h_hi = w0["h_seq"], sw["seq"]
        g_lo, g_hi = w0["g_seq"], mark["txseq"]
        ports = d["ports"]

        def pname(pid, cur_vm):
            p = ports.get(str(pid))
            if not p:
                return "nowhere"
            return p["role"] + ("" if p["vm"] == cur_vm else "(old vm)")

        # host -> guest (frames the switch skipped were never sent)
        lost, dup, reord = seq_stats(expand_runs(sess.runs), h_lo, h_hi)
        h_skip = set(i + d["h_base"] for i, x in enumerate(d["h_st"])
                     if x == ST_SKIP)
        lost = [x for x in lost if x not in h_skip]
        where = {}
        for s in lost:
            i = s - d["h_base"]
            st_ = d["h_st"][i]
            pid = d["h_port"][i]
            k = ("lost: %s" % pname(pid, vm.name) +
                 {ST_OK: " (delivered to QEMU)",
                  ST_EAGAIN: " not receiving (EAGAIN)",
                  ST_ERR: " (send error)", ST_NOPORT: ""}[st_])
            where[k] = where.get(k, 0) + 1
        sent_to = {}
        for i in range(h_lo - d["h_base"], h_hi - d["h_base"]):
            k = pname(d["h_port"][i], vm.name)
            sent_to[k] = sent_to.get(k, 0) + 1
        h_ns = sum(1 for x in h_skip if h_lo <= x < h_hi)
        h2g = {"sent": h_hi - h_lo - h_ns, "not_sent": h_ns,
               "lost": len(lost), "dup": dup,
               "reord": reord, "where": where, "sent_to": sent_to,
               "lost_first_last": [lost[0], lost[-1]] if lost else None}
        if lost:
            ts = [d["h_t"][s - d["h_base"]] for s in lost]
            h2g["lost_t"] = [round(min(ts) - w0["t"], 3),
                             round(max(ts) - w0["t"], 3)]
            by = {}
            for t, s in zip(ts, lost):
                i = s - d["h_base"]
                k = "%s: %s%s" % (phase(t), pname(d["h_port"][i], vm.name),
                                  " EAGAIN" if d["h_st"][i] == ST_EAGAIN
                                  else "")
                by[k] = by.get(k, 0) + 1
            h2g["lost_by_phase"] = by
        # guest -> host
        arr = [s for s in d["g_seq"]]
        glost, gdup, greord = seq_stats(arr, g_lo, g_hi)
        g_skip = set()
        for a, b in st.get("skipped", []):
            g_skip.update(range(max(a, g_lo), min(b, g_hi)))
        glost = [x for x in glost if x not in g_skip]
        via = {}
        for pid, s in zip(d["g_port"], d["g_seq"]):
            if g_lo <= s < g_hi:
                k = pname(pid, vm.name)
                via[k] = via.get(k, 0) + 1
        g2h_skips = [[a, b] for a, b in st.get("skipped", [])
                     if b > g_lo and a < g_hi]
        # frames the guest's own stack refused (sendto() errno, e.g.
        # ENOBUFS: the lower's qdisc was full): lost, and said so
        refused = {s: e for s, e in st.get("send_err", [])
                   if g_lo <= s < g_hi}
        g2h = {"sent": g_hi - g_lo - len(g_skip), "skips": g2h_skips,
               "not_sent": len(g_skip), "lost": len(glost), "dup": gdup,
               "reord": greord, "via": via,
               "send_err": len(refused),
               "lost_send_err": sum(1 for x in glost if x in refused)}
        if glost:
            g2h["lost_seq"] = [glost[0], glost[-1]]
            g2h["lost_seqs"] = glost[:64]
            # host time a lost guest frame would have arrived: from the
            # nearest earlier arrival, at the nominal rate
            # and between the ports of the nearest frames around it that
            # did arrive (primary->standby: lost while the guest moved)
            pairs = sorted((s, t, pname(pid, vm.name)) for s, t, pid in
                           zip(d["g_seq"], d["g_t"], d["g_port"]))
            by, j, ref = {}, 0, (g_lo, w0["t"], "?")
            for s in glost:
                while j < len(pairs) and pairs[j][0] < s:
                    ref = pairs[j]
                    j += 1
                nxt = pairs[j][2] if j < len(pairs) else "?"
                k = "%s: %s%s" % (
                    phase(ref[1] + (s - ref[0]) / self.args.rate),
                    ref[2] if ref[2] == nxt else "%s->%s" % (ref[2], nxt),
                    " (sendto %s)" % errno.errorcode.get(refused[s],
                                                         refused[s])
                    if s in refused else "")
                by[k] = by.get(k, 0) + 1
            g2h["lost_by_phase"] = by
        res = {"kind": kind, "policy": policy, "mode": sess.mode,
               "loadavg": loadavg(),
               "hotplug": sess.hotplug, "vm": vm.name,
               "duration": round(t_end - w0["t"], 2),
               "h2g": h2g, "g2h": g2h,
               "guest": counter_deltas(w0["stats"], st),
               "switch_events": [[round(t - w0["t"], 3), e]
                                 for t, e in d["events"]],
               "frames": {ports.get(k, {}).get("vm", "?") + "/" +
                          ports.get(k, {}).get("role", "?"): v
                          for k, v in d["frames"].items()}}
        # time of the first/last guest data frame per port in the window
        first, last = {}, {}
        for t, pid in zip(d["g_t"], d["g_port"]):
            k = pname(pid, vm.name)
            first.setdefault(k, round(t - w0["t"], 3))
            last[k] = round(t - w0["t"], 3)
        res["g2h_first"] = first
        res["g2h_last"] = last
        # the guest's kernel log on the host's clock (offset from the
        # fastest reply: the guest stamps it, the host receives it)
        # The guest's clock stands still while the VM is paused: before
        # the source's STOP, use the offset from the window's start.
        off = min(x["_host_t"] - x["t"] for x in (mark, st))
        t_stop = extra.get("t_src_stop")

        def host_t(t):
            if t_stop is not None and t + w0["off"] <= t_stop:
                return t + w0["off"]
            return t + off
        res["guest_log"] = [[round(host_t(t) - w0["t"], 3), m]
                            for t, m in st.get("kmsg", [])]
        res["guest_stats_s"] = round(st["t"] - st["t_req"], 3)
        res["guest_stats_cost"] = st.get("cost")
        e0, e1 = w0["stats"].get("tx_err", {}), st.get("tx_err", {})
        res["guest_sendto_errno"] = {k: v - e0.get(k, 0)
                                     for k, v in e1.items()
                                     if v - e0.get(k, 0)}
        res["guest_devs"] = {"start": w0["stats"]["devs"],
                             "end": st["devs"]}
        # sender rates: the switch's sends and the guest's arrivals
        hts = d["h_t"][h_lo - d["h_base"]:h_hi - d["h_base"]]
        if len(hts) > 1:
            h2g["rate"] = round((len(hts) - 1) / (hts[-1] - hts[0]), 1)
            h2g["max_send_gap_ms"] = round(1000 * max(
                b - a for a, b in zip(hts, hts[1:])), 1)
        if split:
            split = dict(split, refused=set(refused),
                         master_tx_dropped=res["guest"].get(
                             "master tx_dropped", 0))
            res["split"] = self.split(d, split, vm.name, lost, glost,
                                      h_lo, h_hi, g_lo, g_hi, w0)
        res.update(extra)
        for k in list(res):
            if k.startswith("t_") and isinstance(res[k], float):
                res[k] = round(res[k] - w0["t"], 3)
        return res

    def split(self, d, sp, new_vm, lost, glost, h_lo, h_hi, g_lo, g_hi,
              w0):
        """A migration window's lost frames by when they were sent.

        host->guest, by the switch's send time:
          downtime   sent between the source's STOP and the destination's
                     RESUME (QEMU's event timestamps);
          in_flight  sent to the source before STOP, lost, and never
                     delivered by it: still unread in its backend sockets
                     when it exited, or later than the last frame sent to
                     the source that the guest received (the tail the
                     source had taken but not yet put into the guest's
                     receive ring when it stopped: QEMU holds a frame its
                     NIC cannot take at once, and it dies with the
                     source). A frame the guest lost with later ones
                     received is never in flight;
          to_source_after_resume  sent to the source after RESUME (the
                     switch had not yet learned the move);
          outside    all others.
        guest->host (the guest does not run between STOP and RESUME, and
        its clock stands still meanwhile):
          downtime   between the last frame received from the source and
                     the first received from the destination;
          outside    all others."""
        t0, t1, old = sp["t_stop"], sp["t_resume"], sp["src"]
        ta = sp.get("t_active")
        ports = d["ports"]

        def vm_of(pid):
            return ports.get(str(pid), {}).get("vm")
        hb = d["h_base"]
        h = {"sent_downtime": 0, "sent_outside": 0, "downtime": 0,
             "in_flight": 0, "to_source_after_resume": 0, "outside": 0,
             "outside_seq": [], "in_flight_before_stop_ms": None,
             "sent_during_ram_copy": 0}
        for i in range(h_lo - hb, h_hi - hb):
            if d["h_st"][i] == ST_SKIP:
                continue
            t = d["h_t"][i]
            h["sent_downtime" if t0 <= t <= t1 else "sent_outside"] += 1
            if ta is not None and ta <= t < t0:
                h["sent_during_ram_copy"] += 1
        # the last frame sent to the source that the guest received
        lostset = set(lost)
        last_rx = -1
        for i in range(h_lo - hb, h_hi - hb):
            s = i + hb
            if (d["h_st"][i] == ST_OK and s not in lostset and
                    vm_of(d["h_port"][i]) == old):
                last_rx = s
        h["last_received_from_source"] = last_rx
        # frames sent to the source during the RAM copy that the guest
        # received: more than its receive ring holds (RX_RING) means it
        # refilled the ring, i.e. ran, during the copy
        h["received_sent_during_ram_copy"] = sum(
            1 for i in range(h_lo - hb, h_hi - hb)
            if ta is not None and ta <= d["h_t"][i] < t0 and
            d["h_st"][i] == ST_OK and i + hb not in lostset and
            vm_of(d["h_port"][i]) == old)
        for s in lost:
            i = s - hb
            t = d["h_t"][i]
            if t0 <= t <= t1:
                k = "downtime"
            elif (t < t0 and vm_of(d["h_port"][i]) == old and
                  (s in sp["unread"] or s > last_rx)):
                k = "in_flight"
                age = round((t0 - t) * 1000, 1)
                h["in_flight_before_stop_ms"] = max(
                    h["in_flight_before_stop_ms"] or 0, age)
            elif t > t1 and vm_of(d["h_port"][i]) == old:
                k = "to_source_after_resume"
            else:
                k = "outside"
                if len(h["outside_seq"]) < 20:
                    h["outside_seq"].append([s, round(t - w0["t"], 3)])
            h[k] += 1
        rec = sorted((s, t, vm_of(pid), gt, pid) for s, t, pid, gt in
                     zip(d["g_seq"], d["g_t"], d["g_port"], d["g_gt"])
                     if g_lo <= s < g_hi)
        seqs = [r[0] for r in rec]
        refused = sp.get("refused", set())
        g = {"downtime": 0, "outside": 0, "outside_seq": [],
             "outside_one_lower": 0, "outside_one_lower_seq": []}
        for s in glost:
            j = bisect.bisect_left(seqs, s)
            prev = rec[j - 1] if j > 0 else None
            nxt = rec[j] if j < len(rec) else None
            if prev and nxt and prev[2] == old and nxt[2] != old:
                g["downtime"] += 1
                continue
            g["outside"] += 1
            if len(g["outside_seq"]) < 20:
                g["outside_seq"].append(s)
            # between two frames one lower delivered, accepted by the
            # guest's stack, no drop counted by the master: the master
            # was on that lower, the frame went there and was lost below
            # the guest's driver (the NIC model, its backend)
            if (prev and nxt and prev[4] == nxt[4] and s not in refused
                    and not sp.get("master_tx_dropped")):
                g["outside_one_lower"] += 1
                if len(g["outside_one_lower_seq"]) < 20:
                    g["outside_one_lower_seq"].append(s)
        olds = [r for r in rec if r[2] == old]
        news = [r for r in rec if r[2] != old]
        last_old = max(olds, key=lambda r: r[1]) if olds else None
        first_new = min(news, key=lambda r: r[1]) if news else None
        if last_old and first_new:
            # downtime as the traffic sees it: the guest's stream stops
            # arriving from the source and resumes from the destination
            g["gap_ms"] = round((first_new[1] - last_old[1]) * 1000, 1)
            g["sent_downtime"] = max(0, first_new[0] - last_old[0] - 1)
        g["received_during_ram_copy"] = sum(
            1 for r in olds if ta is not None and ta <= r[1] < t0)
        ann = {}
        for _, e in d["events"]:
            w = e.split()
            if len(w) >= 4 and w[0] == "announce":
                v, _, role = w[3].partition("/")
                k = "%s %s/%s" % (w[1], "source" if v == old else
                                  "destination" if v == new_vm else v, role)
                ann[k] = ann.get(k, 0) + 1
        return {"h2g": h, "g2h": g, "announce": ann,
                "guest_garps": sum(n for k, n in ann.items()
                                   if k.startswith("garp "))}

    # --------------------------------------------------------- scenarios
    def boot(self, sess, name):
        vm = self.new_vm(name, sess.mode, sess.hotplug)
        self.sw.cmd("policy", policy="managed")
        self.sw.cmd("activate", vm=name)
        self.sw.cmd("plug", vm=name)
        t = time.monotonic()
        if not vm.ctl.wait_ready(self.args.boot_timeout):
            if vm.ctl.failed:
                raise RuntimeError("%s: guest: %s" % (name, vm.ctl.failed))
            raise RuntimeError("%s: guest not ready after %ss (see "
                               "console-%s.log)" % (name,
                                                    self.args.boot_timeout,
                                                    name))
        log("%s: responder ready after %.1fs" % (name,
                                                 time.monotonic() - t))
        vm.ctl.call("start %g" % self.args.rate)
        t1 = self.wait_primary_learned(vm, 0, 60)
        if t1 is None:
            raise RuntimeError("%s: guest never transmitted through the "
                               "primary" % name)
        log("%s: guest transmits through the primary %.1fs after boot"
            % (name, t1 - t))
        time.sleep(1.0)
        return vm

    def baseline(self, sess, vm):
        w0 = self.begin(sess, vm)
        time.sleep(self.args.baseline)
        return self.end(sess, vm, w0, "baseline", "-", {})

    def hotplug_cycle(self, sess, vm, policy):
        self.sw.cmd("policy", policy=policy)
        w0 = self.begin(sess, vm)
        ev0 = vm.event_index()
        t_del = self.sw.cmd("unplug", vm=vm.name)["t"]
        vm.qmp.cmd("device_del", id=PRIMARY_ID)
        ev = vm.wait_event("DEVICE_DELETED", ev0, 40,
                           lambda x: x.get("device") == PRIMARY_ID)
        if not ev:
            raise RuntimeError("%s: no DEVICE_DELETED" % vm.name)
        t_deleted = ev["_t"]
        time.sleep(self.args.settle_unplugged)
        vm.qmp.cmd("device_add", **PRIMARY_JSON)
        t_add = self.sw.cmd("plug", vm=vm.name)["t"]
        t_pri = self.wait_primary_learned(vm, t_add, 40)
        if t_pri is None:
            raise RuntimeError("%s: guest not transmitting through the new "
                               "primary 40s after device_add" % vm.name)
        time.sleep(self.args.settle)
        return self.end(sess, vm, w0, "hotplug", policy, {
            "t_del": t_del, "t_deleted": t_deleted, "t_add": t_add,
            "t_tx_primary": t_pri,
            "unplug_s": round(t_deleted - t_del, 3),
            "add_to_tx_primary_s": round(t_pri - t_add, 3)}, [
                ("device_del", t_del), ("DEVICE_DELETED", t_deleted),
                ("device_add", t_add), ("tx via primary", t_pri)])

    def migration(self, sess, src, policy, name):
        """Migration src -> a new QEMU. QEMU unplugs the primary in the
        source (wait-unplug) and re-plugs it in the destination.

        With QEMU 9.0 or later it is a live migration: RAM is copied
        while the source runs (QEMU's default bandwidth and downtime
        limit), the source stops only for the last dirty pages and the
        device state, and the destination resumes by itself. QEMU 7.2's
        TCG loses guest stores during a live RAM copy (its dirty-bitmap
        sync does not re-arm the TCG TLB's dirty tracking; fixed in 9.0
        by "physmem: Fix migration dirty bitmap coherency with TCG memory
        access") and the destination guest then crashes now and then:
        with an older QEMU the source is paused as soon as wait-unplug is
        over and RAM moves while it is paused (stop-and-copy; until the
        pause almost nothing is sent, max-bandwidth 4 KiB/s)."""
        live = self.live
        self.sw.cmd("policy", policy=policy)
        port = self.free_port()
        dst = self.new_vm(name, sess.mode, sess.hotplug,
                          incoming="tcp:127.0.0.1:%d" % port)
        for vm in (src, dst):
            vm.qmp.cmd("migrate-set-capabilities", capabilities=[
                {"capability": "events", "state": True}])
        if not live:
            src.qmp.cmd("migrate-set-parameters", **{"max-bandwidth": 4096})
        params = dst.qmp.cmd("query-migrate-parameters")
        mem0 = self.memcheck(src)
        w0 = self.begin(sess, src)
        ev_s, ev_d = src.event_index(), dst.event_index()
        t_mig = self.sw.cmd("unplug", vm=src.name)["t"]
        src.qmp.cmd("migrate", uri="tcp:127.0.0.1:%d" % port)

        def mig_event(vm, start, statuses, timeout):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and vm.proc.poll() is None:
                ev = vm.wait_event("MIGRATION", start, 0.5,
                                   lambda x: x.get("status") in statuses)
                if ev:
                    return ev
            return None
        bad = ("failed", "cancelled")
        if not live:
            ev = mig_event(src, ev_s, ("active",) + bad, 90)
            if ev and ev["data"]["status"] == "active":
                src.qmp.cmd("stop")
                src.qmp.cmd("migrate-set-parameters",
                            **{"max-bandwidth": 1 << 30})
        done = mig_event(src, ev_s, ("completed",) + bad, 90)
        if not done or done["data"]["status"] != "completed":
            raise RuntimeError("%s -> %s: migration %s" % (
                src.name, name, done["data"]["status"] if done
                else "did not complete in 90s"))
        # the destination resumes by itself after a live migration; it
        # stays paused when the source was paused
        deadline = time.monotonic() + 30
        resume = None
        while time.monotonic() < deadline and not resume:
            resume = dst.wait_event("RESUME", ev_d, 0.05)
            if not resume and not live:
                st = dst.qmp.cmd("query-status")
                if st.get("status") == "paused":
                    dst.qmp.cmd("cont")
                    resume = dst.wait_event("RESUME", ev_d, 10)
        if not resume:
            raise RuntimeError("%s: no RESUME" % name)
        t_resume = resume["_t"]
        self.sw.cmd("activate", vm=name)
        self.sw.cmd("plug", vm=name)
        info = src.qmp.cmd("query-migrate")
        evs, qevs = {}, {}
        for who, vm, start in (("src", src, ev_s), ("dst", dst, ev_d)):
            for e in vm.qmp.events[start:]:
                k = e["event"]
                if k == "MIGRATION":
                    k = "mig_" + e["data"]["status"].replace("-", "_")
                k = "t_%s_%s" % (who, k.lower())
                evs.setdefault(k, e["_t"])
                if "_qt" in e:
                    qevs.setdefault(k, e["_qt"])
        t_pri = self.wait_primary_learned(dst, t_resume - 1, 40)
        if t_pri is None:
            raise RuntimeError("%s: guest not transmitting through the "
                               "destination's primary 40s after RESUME"
                               % name)
        time.sleep(self.args.settle)
        self.drop_vm(src)
        t_stop = evs.get("t_src_stop", t_resume)
        # the stop window on QEMU's own clock: from the source's STOP
        # (emitted once its vCPUs are paused) to the destination's
        # RESUME (emitted just before its vCPUs run)
        q_stop = qevs.get("t_src_stop", t_stop)
        q_resume = qevs.get("t_dst_resume", t_resume)
        ram = info.get("ram", {})
        extra = dict(
            evs, t_mig=t_mig, t_resume=t_resume, t_tx_primary=t_pri,
            ram_copy="live" if live else "source paused",
            add_to_tx_primary_s=round(t_pri - t_resume, 3),
            migrate_s=round(done["_t"] - t_mig, 3),
            wait_unplug_s=round(evs.get("t_src_mig_active", t_mig) -
                                evs.get("t_src_mig_wait_unplug", t_mig), 3),
            qemu_downtime_ms=info.get("downtime"),
            qemu_total_ms=info.get("total-time"),
            qemu_setup_ms=info.get("setup-time"),
            qemu_ram={k: ram.get(k) for k in (
                "dirty-sync-count", "transferred", "total", "normal",
                "duplicate", "postcopy-requests", "precopy-bytes",
                "downtime-bytes", "dirty-pages-rate", "mbps")
                if k in ram},
            announce_rounds=params.get("announce-rounds"),
            stop_to_resume_ms=round((t_resume - t_stop) * 1000, 1),
            q_stop_to_resume_ms=round((q_resume - q_stop) * 1000, 1),
            ram_copy_s=round(qevs.get("t_src_stop", q_stop) -
                             qevs.get("t_src_mig_active", q_stop), 3),
            memcheck_before=mem0)
        res = self.end(sess, dst, w0, "migration", policy, extra,
                       [("migrate", t_mig),
                        ("UNPLUG_PRIMARY", evs.get("t_src_unplug_primary")),
                        ("wait-unplug done", evs.get("t_src_mig_active")),
                        ("src STOP", q_stop),
                        ("dst RESUME", q_resume), ("tx via primary", t_pri)],
                       split={"t_stop": q_stop, "t_resume": q_resume,
                              "t_active": qevs.get("t_src_mig_active"),
                              "src": src.name,
                              "unread": src.unread_seqs or set()})
        res["memcheck_after"] = self.memcheck(dst)
        return dst, res

    def memcheck(self, vm):
        """The guest's check of the RAM it keeps writing; then a pause
        for its streams to catch up (the check stalls them)."""
        r = vm.ctl.call_json("memcheck")
        r.pop("_host_t", None)
        time.sleep(1.0)
        return r

    def session(self, mode, hotplug, migrations, rtag=""):
        a = self.args
        sess = Session(mode, hotplug)
        rec = {"mode": mode, "hotplug": hotplug, "error": None}
        self.results["sessions"].append(rec)
        tag = "%s-%s%s" % (mode, hotplug, rtag)
        vm = None
        self.sw.cmd("tx", rate=a.rate)
        try:
            vm = self.boot(sess, "%s-1" % tag)
            r = self.baseline(sess, vm)
            self.add_result(r)
            for policy in a.policies:
                for _ in range(a.cycles):
                    r = self.hotplug_cycle(sess, vm, policy)
                    self.add_result(r)
            n = 1
            for policy in a.policies:
                for _ in range(migrations):
                    n += 1
                    vm, r = self.migration(sess, vm, policy,
                                           "%s-%d" % (tag, n))
                    self.add_result(r)
        except (RuntimeError, OSError, ValueError) as e:
            rec["error"] = str(e)
            log("ERROR %s: %s" % (tag, e))
        finally:
            self.sw.cmd("tx", rate=0)
            for v in list(self.vms):
                try:
                    if v is vm and v.proc.poll() is None:
                        try:
                            v.ctl.call("quit", timeout=3)
                        except RuntimeError:
                            pass
                    self.drop_vm(v)
                except (RuntimeError, OSError):
                    v.kill()
        return rec["error"] is None

    def add_result(self, r):
        self.results["scenarios"].append(r)
        h, g = r["h2g"], r["g2h"]
        extra = ""
        if "add_to_tx_primary_s" in r:
            extra = " tx-primary after %.2fs" % r["add_to_tx_primary_s"]
        nz = {k: v for k, v in r["guest"].items()
              if v and any(x in k for x in ("drop", "nohandler", "miss",
                                            "err", "Errors", "no_lower"))}
        log("%s %s/%s: h2g lost %d/%d dup %d reord %d %s | g2h lost %d/%d "
            "dup %d reord %d%s | %s" % (
                r["mode"], r["kind"] if r["kind"] != "hotplug"
                else r["hotplug"], r["policy"], h["lost"], h["sent"],
                h["dup"], h["reord"], h["where"] or "", g["lost"],
                g["sent"], g["dup"], g["reord"], extra, nz or ""))


# ===================================================================
# Report
# ===================================================================

def scen_key(r):
    if r["kind"] == "baseline":
        return "baseline %s" % r["hotplug"]
    if r["kind"] == "hotplug":
        return "%s hotplug, %s" % (r["hotplug"], r["policy"])
    return "migration (%s), %s" % (r["hotplug"], r["policy"])


COUNTER_ROWS = [
    ("standby rx_nohandler", "guest standby rx_nohandler"),
    ("standby rx_dropped", "guest standby rx_dropped"),
    ("primary rx_nohandler", "guest primary rx_nohandler"),
    ("primary rx_dropped", "guest primary rx_dropped"),
    ("primary rx_missed_errors", "guest primary rx_missed_errors"),
    ("master rx_dropped", "guest master rx_dropped"),
    ("master tx_dropped", "guest master tx_dropped"),
    ("standby tx_dropped", "guest standby tx_dropped"),
    ("primary tx_dropped", "guest primary tx_dropped"),
    ("master ethtool:tx_drop_no_lower", "guest master tx_drop_no_lower"),
    ("udp RcvbufErrors", "guest udp RcvbufErrors"),
    ("sendto errors", "guest sendto errors"),
]


PHASES = ["before the event", "after device_del", "after DEVICE_DELETED",
          "after device_add", "after migrate", "after UNPLUG_PRIMARY",
          "after wait-unplug done", "after src STOP", "after dst RESUME",
          "after tx via primary"]


def phase_order(label):
    for i, p in enumerate(PHASES):
        if label.startswith(p):
            return (i, label)
    return (len(PHASES), label)


# counter rows printed even when zero (the others only when they moved)
ALWAYS_ROWS = ("standby rx_nohandler", "primary rx_dropped",
               "master tx_dropped")


def aggregate(results):
    """{scenario: {mode: {...}}} with totals over cycles."""
    agg = {}
    order = []
    for r in results:
        k = scen_key(r)
        if k not in agg:
            agg[k] = {}
            order.append(k)
        a = agg[k].setdefault(r["mode"], {
            "n": 0, "h2g_sent": 0, "h2g_lost": 0, "h2g_dup": 0,
            "h2g_reord": 0, "g2h_sent": 0, "g2h_lost": 0, "g2h_dup": 0,
            "g2h_reord": 0, "h2g_not_sent": 0, "g2h_not_sent": 0,
            "where": {}, "guest": {}, "phase": {}, "gphase": {}})
        a["n"] += 1
        for d in ("h2g", "g2h"):
            for f in ("sent", "lost", "dup", "reord", "not_sent"):
                a["%s_%s" % (d, f)] += r[d].get(f, 0)
        for w, n in r["h2g"]["where"].items():
            a["where"][w] = a["where"].get(w, 0) + n
        for w, n in r["h2g"].get("lost_by_phase", {}).items():
            a["phase"][w] = a["phase"].get(w, 0) + n
        for w, n in r["g2h"].get("lost_by_phase", {}).items():
            a["gphase"][w] = a["gphase"].get(w, 0) + n
        for c, n in r["guest"].items():
            a["guest"][c] = a["guest"].get(c, 0) + n
        for k in ("add_to_tx_primary_s", "unplug_s", "wait_unplug_s",
                  "stop_to_resume_ms"):
            if r.get(k) is not None:
                a.setdefault(k, []).append(r[k])
    return order, agg


def fmt_ratio(s, o):
    if s is None or o is None:
        return "", ""
    if isinstance(s, str) or isinstance(o, str):
        return "", ""
    diff = o - s
    dtxt = ("%+.2f" % diff) if isinstance(diff, float) else "%+d" % diff
    if s == 0:
        return ("-" if o == 0 else "inf"), dtxt
    return "%.2f" % (o / s), dtxt


def table(results, modes, rate):
    order, agg = aggregate(results)
    loads = [r["loadavg"] for r in results if r.get("loadavg") is not None]
    rows = []
    for k in order:
        a = agg[k]
        n = {m: a[m]["n"] if m in a else 0 for m in modes}
        rows.append(("%s (cycles: %s)" % (k, "/".join(
            str(n[m]) for m in modes)), None, None, True))

        def val(m, f):
            return a[m][f] if m in a else None
        for f, label in (("h2g_lost", "host->guest lost"),
                         ("h2g_dup", "host->guest duplicated"),
                         ("h2g_reord", "host->guest reordered"),
                         ("g2h_lost", "guest->host lost"),
                         ("g2h_dup", "guest->host duplicated"),
                         ("g2h_reord", "guest->host reordered")):
            rows.append(("  " + label, val("stock", f), val("ours", f),
                         False))
        for f, label in (("h2g_not_sent", "host->guest not sent (switch "
                          "late)"),
                         ("g2h_not_sent", "guest->host not sent (guest "
                          "stalled)")):
            if any(val(m, f) for m in modes):
                rows.append(("  " + label, val("stock", f), val("ours", f),
                             False))
        for key, label in (("phase", "h2g lost "), ("gphase",
                                                     "g2h lost ")):
            wheres = sorted(set(w for m in modes if m in a
                                for w in a[m][key]), key=phase_order)
            for w in wheres:
                rows.append(("    " + label + w, *[
                    a[m][key].get(w, 0) if m in a else None
                    for m in ("stock", "ours")], False))
        mig = k.startswith("migration")
        for key, label in (
                ("unplug_s", "device_del -> DEVICE_DELETED, s (mean)"),
                ("wait_unplug_s", "source wait-unplug, s (mean)"),
                ("stop_to_resume_ms", "source STOP -> destination RESUME, "
                                      "ms (mean)"),
                ("add_to_tx_primary_s", "%s -> guest tx via primary, s "
                 "(mean)" % ("RESUME" if mig else "device_add"))):
            def mean(m):
                v = a.get(m, {}).get(key)
                return sum(v) / len(v) if v else None
            if any(mean(m) is not None for m in modes):
                rows.append(("  " + label, mean("stock"), mean("ours"),
                             False))
        for key, label in COUNTER_ROWS:
            vs = [a[m]["guest"].get(key, 0) if m in a else None
                  for m in ("stock", "ours")]
            if any(vs) or key in ALWAYS_ROWS:
                rows.append(("  " + label, vs[0], vs[1], False))
        rows.append(("  frames sent host->guest/guest->host", "%d/%d" % (
            a["stock"]["h2g_sent"], a["stock"]["g2h_sent"])
            if "stock" in a else None, "%d/%d" % (
                a["ours"]["h2g_sent"], a["ours"]["g2h_sent"])
            if "ours" in a else None, False))

    def cell(v):
        if v is None:
            return "n/a"
        if isinstance(v, float):
            return "%.2f" % v
        return str(v)
    if not rows:
        return "(no scenario completed)"
    w0 = max(len(r[0]) for r in rows) + 2
    lines = ["Failover loss benchmark: %g frames/s each way; totals over "
             "the cycles of each scenario" % rate,
             "host load average (1 min) at the end of the windows: "
             "min %.1f, max %.1f (2 cores)" % (min(loads), max(loads))
             if loads else "",
             "%-*s %10s %10s %10s %10s" % (w0, "scenario / metric", "stock",
                                          "ours", "ours/stock", "ours-stock"),
             "-" * (w0 + 44)]
    for label, s, o, head in rows:
        if head:
            lines.append(label)
            continue
        ratio, diff = fmt_ratio(s, o)
        lines.append("%-*s %10s %10s %10s %10s" % (w0, label, cell(s),
                                                  cell(o), ratio, diff))
    return "\n".join(lines)


# ===================================================================
# Live migration: per-run figures, medians and the checks
# ===================================================================

MIG_COLS = [
    # key, header, how to get it from a migration result
    ("h2g_sent_stop", "h2g sent in stop",
     lambda r: r["split"]["h2g"]["sent_downtime"]),
    ("h2g_lost_stop", "h2g lost in stop",
     lambda r: r["split"]["h2g"]["downtime"]),
    ("h2g_in_flight", "h2g in flight",
     lambda r: r["split"]["h2g"]["in_flight"]),
    ("h2g_after_resume", "h2g to src after resume",
     lambda r: r["split"]["h2g"]["to_source_after_resume"]),
    ("h2g_lost_outside", "h2g lost outside",
     lambda r: r["split"]["h2g"]["outside"]),
    ("g2h_lost_move", "g2h lost at move",
     lambda r: r["split"]["g2h"]["downtime"]),
    ("g2h_lost_outside", "g2h lost outside",
     lambda r: r["split"]["g2h"]["outside"]),
    ("g2h_lost_one_lower", "g2h lost in one lower",
     lambda r: r["split"]["g2h"].get("outside_one_lower", 0)),
    ("qemu_downtime_ms", "QEMU downtime ms",
     lambda r: r.get("qemu_downtime_ms")),
    ("stop_resume_ms", "STOP->RESUME ms",
     lambda r: r.get("q_stop_to_resume_ms")),
    ("g2h_gap_ms", "g2h gap ms",
     lambda r: r["split"]["g2h"].get("gap_ms")),
    ("dirty_syncs", "dirty syncs",
     lambda r: r.get("qemu_ram", {}).get("dirty-sync-count")),
    ("ram_copy_s", "RAM copy s", lambda r: r.get("ram_copy_s")),
    ("g2h_during_copy", "g2h rx in copy",
     lambda r: r["split"]["g2h"]["received_during_ram_copy"]),
    ("h2g_during_copy", "h2g rx in copy",
     lambda r: r["split"]["h2g"]["received_sent_during_ram_copy"]),
    ("guest_garps", "guest GARPs", lambda r: r["split"]["guest_garps"]),
    ("qemu_rarps", "QEMU RARPs",
     lambda r: sum(n for k, n in r["split"]["announce"].items()
                   if k.startswith("rarp "))),
    ("mem_bad", "bad RAM pages",
     lambda r: r.get("memcheck_after", {}).get("bad")),
    ("h2g_rate", "h2g rate/s", lambda r: r["h2g"].get("rate")),
    ("g2h_not_sent", "g2h not sent", lambda r: r["g2h"]["not_sent"]),
]


def median(vals):
    v = sorted(x for x in vals if x is not None)
    if not v:
        return None
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def expected_garps(r):
    """Gratuitous ARPs ours sends in a migration window, at most, by
    design (peer_notify 1, the default): one round per announce request
    of virtio-net (QEMU's announce-rounds, each a VIRTIO_NET_S_ANNOUNCE:
    NETDEV_NOTIFY_PEERS on the standby, answered on the master) and one
    per change of the active lower (the master's path_switches counter:
    to the standby when the source's primary leaves, to the
    destination's primary once it is up). A request that comes while
    the announcement of an earlier one is still pending (a slow guest)
    is served by that same announcement, sent after both through the
    lower active then: fewer, never none. The guest has no IPv6
    (ipv6.disable=1): no NA."""
    return (r.get("announce_rounds") or 0) + r["guest"].get(
        "master ethtool:path_switches", 0)


def garps_ok(x):
    """What must hold of the guest's gratuitous ARPs in a migration: one
    through the source's standby (the source's primary left), one
    through the destination's primary (the last path change), at least
    one more through the destination for its announce requests, and no
    more than one per request (expected_garps())."""
    a = x["announce"]
    return (a.get("garp source/standby", 0) >= 1 and
            a.get("garp destination/primary", 0) >= 1 and
            x["guest_garps"] >= 3 and
            x["guest_garps"] <= x["expected_guest_garps"])


def migration_summary(results, modes):
    runs = []
    for r in results["scenarios"]:
        if r["kind"] != "migration" or "split" not in r:
            continue
        row = {"run": r["vm"], "modules": r["mode"], "policy": r["policy"],
               "ram_copy": r.get("ram_copy")}
        for key, _, get in MIG_COLS:
            try:
                row[key] = get(r)
            except (KeyError, TypeError):
                row[key] = None
        row["announce"] = r["split"]["announce"]
        row["in_flight_before_stop_ms"] = \
            r["split"]["h2g"]["in_flight_before_stop_ms"]
        row["expected_guest_garps"] = expected_garps(r)
        row["h2g_sent"] = r["h2g"]["sent"]
        row["g2h_sent"] = r["g2h"]["sent"]
        row["h2g_lost"] = r["h2g"]["lost"]
        row["g2h_lost"] = r["g2h"]["lost"]
        row["g2h_send_err"] = r["g2h"].get("send_err")
        row["g2h_lost_send_err"] = r["g2h"].get("lost_send_err")
        row["h2g_max_send_gap_ms"] = r["h2g"].get("max_send_gap_ms")
        row["wait_unplug_s"] = r.get("wait_unplug_s")
        row["resume_to_tx_primary_s"] = r.get("add_to_tx_primary_s")
        row["qemu_total_ms"] = r.get("qemu_total_ms")
        row["standby_rx_nohandler"] = r["guest"].get(
            "standby rx_nohandler", 0)
        row["mem_before_bad"] = r.get("memcheck_before", {}).get("bad")
        runs.append(row)
    med = {}
    for m in modes:
        rs = [x for x in runs if x["modules"] == m]
        if rs:
            med[m] = {key: median([x[key] for x in rs])
                      for key, _, _ in MIG_COLS}
            med[m]["runs"] = len(rs)
    return {"runs": runs, "medians": med}


def migration_checks(summary, live):
    """[(ok, text)]: what must hold for each migration."""
    out = []
    for x in summary["runs"]:
        n = "%s (%s)" % (x["run"], x["modules"])
        if live:
            ok = (x["dirty_syncs"] or 0) > 1 and (
                (x["g2h_during_copy"] or 0) > 0 or
                (x["h2g_during_copy"] or 0) > RX_RING + 1)
            out.append((ok, "%s: live, RAM copied while the source ran: "
                        "%s dirty-bitmap syncs, %s guest frames from the "
                        "source during the copy, %s frames sent then "
                        "received by the guest (its ring holds %d)" % (
                            n, x["dirty_syncs"], x["g2h_during_copy"],
                            x["h2g_during_copy"], RX_RING)))
        out.append((x["mem_bad"] == 0 and x["mem_before_bad"] == 0,
                    "%s: guest RAM check: %s bad pages before, %s after"
                    % (n, x["mem_before_bad"], x["mem_bad"])))
        if x["modules"] != "ours" or x["policy"] != "managed":
            continue
        out.append((x["h2g_lost_outside"] == 0,
                    "%s: host->guest lost outside the stop window: %s "
                    "(in the stop window %s of %s sent, in flight at "
                    "STOP %s, to the source after RESUME %s)" % (
                        n, x["h2g_lost_outside"], x["h2g_lost_stop"],
                        x["h2g_sent_stop"], x["h2g_in_flight"],
                        x["h2g_after_resume"])))
        out.append((x["g2h_lost_outside"] == x["g2h_lost_one_lower"],
                    "%s: guest->host lost outside the move, but between "
                    "two frames one lower delivered: %s (outside the move "
                    "%s, of which %s between two frames of one lower, "
                    "accepted by the guest's stack, no master drop: lost "
                    "below the guest's driver; at the move %s; refused "
                    "by the guest's stack %s)" % (
                        n, x["g2h_lost_outside"] - x["g2h_lost_one_lower"],
                        x["g2h_lost_outside"], x["g2h_lost_one_lower"],
                        x["g2h_lost_move"], x.get("g2h_lost_send_err"))))
        out.append((garps_ok(x),
                    "%s: gratuitous ARPs from the guest: %s, expected 3 "
                    "to %s, one through the source's standby and one "
                    "through the destination's primary at least (%s)" % (
                        n, x["guest_garps"],
                              x["expected_guest_garps"],
                              ", ".join("%s %d" % kv for kv in
                                        sorted(x["announce"].items())))))
    return out


def migration_table(summary, modes, meta):
    cols = MIG_COLS
    head = ["run", "mods"] + [c[1] for c in cols]
    rows = []
    for x in summary["runs"]:
        rows.append([x["run"], x["modules"]] + [x[c[0]] for c in cols])
    for m in modes:
        md = summary["medians"].get(m)
        if md:
            rows.append(["median (%d)" % md["runs"], m] +
                        [md[c[0]] for c in cols])

    def cell(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return "%.1f" % v
        return str(v)
    # one column per line of the header: names are long
    lines = ["Live migration: %s" % meta,
             "columns: " + "; ".join("%d %s" % (i + 1, h)
                                     for i, h in enumerate(head[2:]))]
    w = [max(len(cell(r[i])) for r in rows + [["run", "mods"] + [
        str(j + 1) for j in range(len(cols))]]) for i in range(len(head))]
    lines.append("  ".join(("%-*s" if i < 2 else "%*s") % (w[i], h)
                           for i, h in enumerate(
                               ["run", "mods"] +
                               [str(j + 1) for j in range(len(cols))])))
    for r in rows:
        lines.append("  ".join(("%-*s" if i < 2 else "%*s") % (w[i], cell(v))
                               for i, v in enumerate(r)))
    return "\n".join(lines)


def ktap(checks):
    lines = ["KTAP version 1", "1..%d" % len(checks)]
    for i, (ok, text) in enumerate(checks):
        lines.append("%s %d %s" % ("ok" if ok else "not ok", i + 1, text))
    return "\n".join(lines)


# ===================================================================

def parse_args(argv):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=3,
                    help="device_del/device_add cycles per policy, "
                         "per hotplug kind, per modules (default 3)")
    ap.add_argument("--migrations", type=int, default=2,
                    help="live migrations per policy per modules "
                         "(default 2)")
    ap.add_argument("--quick", action="store_true",
                    help="1 cycle, 1 migration, short baseline")
    ap.add_argument("--rate", type=float, default=200,
                    help="frames per second each way (default 200)")
    ap.add_argument("--modules", default="stock,ours")
    ap.add_argument("--hotplug", default="acpi,native",
                    help="hotplug kinds of the device_del/add cycles "
                         "(acpi, native; none: migrations only)")
    ap.add_argument("--migration-hotplug", default="acpi",
                    help="hotplug kinds under which to migrate "
                         "(acpi, native, both or none)")
    ap.add_argument("--policies", default="managed,early")
    ap.add_argument("--baseline", type=float, default=8.0,
                    help="seconds of traffic with no event (default 8)")
    ap.add_argument("--settle", type=float, default=1.5,
                    help="seconds after the guest transmits through the "
                         "new primary before a window closes")
    ap.add_argument("--settle-unplugged", type=float, default=1.0,
                    help="seconds between DEVICE_DELETED and device_add")
    ap.add_argument("--grace", type=float, default=0.7,
                    help="seconds for frames in flight at a window's end")
    ap.add_argument("--sndbuf", type=int, default=16384,
                    help="SO_SNDBUF of the switch's ends (default 16384)")
    ap.add_argument("--qemu-args", default="",
                    help="more QEMU arguments (e.g. '-trace e1000e_rx_*')")
    ap.add_argument("--qemu", default="qemu-system-x86_64",
                    help="QEMU binary, or d13: Debian 13's QEMU 10.0 from "
                         "scripts/qemu-d13.sh (made on first use). Live "
                         "migration needs QEMU 9.0 or later; with an "
                         "older one the source is paused for the RAM copy")
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat the plan N times, modules sets "
                         "alternating (stock, ours, stock, ...)")
    ap.add_argument("--mem", default="384M")
    ap.add_argument("--append", default="",
                    help="more guest kernel parameters (e.g. "
                         "'slub_debug=FZPU page_poison=1')")
    ap.add_argument("--boot-timeout", type=float, default=300,
                    help="seconds for a guest to boot (default 300: a "
                         "loaded host slows TCG guests a lot)")
    ap.add_argument("--timeout", type=float, default=1500,
                    help="global limit in seconds (default 1500)")
    ap.add_argument("--ko-dir", default=ROOT,
                    help="tree holding ours (net/core/failover.ko, "
                         "drivers/net/net_failover.ko, Module.symvers); "
                         "default: the repository root after make")
    ap.add_argument("--keep", action="store_true",
                    help="keep the initramfs images in the output directory")
    ap.add_argument("--out", help="output directory")
    ap.add_argument("--json", help="result file (default OUT/results.json)")
    ap.add_argument("--summary",
                    help="also write the migrations' summary (per-run "
                         "figures, medians, checks, what was measured) to "
                         "this JSON file and the tables to FILE.txt "
                         "(FILE without .json)")
    args = ap.parse_args(argv)
    if args.rounds < 1:
        ap.error("--rounds: at least 1")
    if args.rate <= 0:
        ap.error("--rate: frames per second, more than 0")
    if args.quick:
        args.cycles = min(args.cycles, 1)
        args.migrations = min(args.migrations, 1)
        args.baseline = min(args.baseline, 4.0)
    args.modules = [m for m in args.modules.split(",") if m]
    args.hotplug = [h for h in args.hotplug.split(",")
                    if h and h != "none"]
    args.policies = [p for p in args.policies.split(",") if p]
    mh = args.migration_hotplug
    args.migration_hotplug = (["acpi", "native"] if mh == "both" else
                              [] if mh == "none" else mh.split(","))
    for m in args.modules:
        if m not in ("stock", "ours"):
            ap.error("--modules: stock and/or ours")
    for h in args.hotplug + args.migration_hotplug:
        if h not in ("acpi", "native"):
            ap.error("hotplug kinds: acpi, native")
    for p in args.policies:
        if p not in ("managed", "early"):
            ap.error("--policies: managed and/or early")
    return args


def find_qemu(spec):
    """(path, version tuple) of the QEMU to run; d13 makes or finds
    Debian 13's (scripts/qemu-d13.sh)."""
    if spec == "d13":
        script = os.path.join(ROOT, "scripts", "qemu-d13.sh")
        r = subprocess.run([script], stdout=subprocess.PIPE,
                           universal_newlines=True)
        if r.returncode or not r.stdout.strip():
            raise RuntimeError("%s failed (%d)" % (script, r.returncode))
        spec = r.stdout.strip().splitlines()[-1]
    path = shutil.which(spec)
    if not path:
        raise RuntimeError("--qemu %s: not found" % spec)
    try:
        out = subprocess.run([path, "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=30,
                             universal_newlines=True).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RuntimeError("--qemu %s: %s" % (spec, e))
    w = out.split()
    if len(w) < 4 or w[:3] != ["QEMU", "emulator", "version"]:
        raise RuntimeError("--qemu %s: not a QEMU (%s)" % (
            spec, out.strip()[:80]))
    try:
        version = tuple(int(x) for x in w[3].split(".")[:3])
    except ValueError:
        raise RuntimeError("--qemu %s: version %s" % (spec, w[3]))
    return path, version


def main(argv):
    if len(argv) == 2 and argv[0] == "--switch-child":
        return switch_child_main(int(argv[1]))
    args = parse_args(argv)
    try:
        rv = import_run_vm()
        env = rv.read_env()
    except (ImportError, SystemExit) as e:
        log("setup: %s" % e)
        return 2
    for p in (PYTHON,) + tuple(os.path.join(PY_STDLIB, f)
                               for f in PY_FILES):
        if not os.path.exists(p):
            log("setup: %s missing (Debian's python3.11)" % p)
            return 2
    if "ours" in args.modules:
        for f in rv.OURS.values():
            if not os.path.exists(os.path.join(args.ko_dir, f)):
                log("setup: %s missing: run make" % f)
                return 2
        bad = check_crcs(env, args.ko_dir)
        if bad:
            log("setup: ours exports %s with CRCs other than the kernel's "
                "(stock virtio_net would refuse them): rebuild with make"
                % ", ".join(bad))
            return 2

    try:
        bench_qemu, qemu_version = find_qemu(args.qemu)
    except RuntimeError as e:
        log("setup: %s" % e)
        return 2
    bench = Bench(args, env, rv)
    bench.results["command"] = " ".join(
        shlex.quote(a) for a in [os.path.relpath(os.path.abspath(__file__),
                                                 ROOT)] + argv)
    bench.results["date"] = time.strftime("%Y-%m-%d %H:%M UTC",
                                          time.gmtime())
    bench.results["tree"] = subprocess.run(
        ["git", "-C", ROOT, "describe", "--always", "--dirty"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        universal_newlines=True).stdout.strip() or "unknown"
    bench.qemu = bench_qemu
    bench.live = qemu_version >= (9, 0)
    bench.results["qemu"] = {"path": bench_qemu,
                             "version": ".".join(map(str, qemu_version)),
                             "ram_copy": "live" if bench.live
                             else "source paused"}
    log("QEMU %s (%s): %s migration" % (
        bench.results["qemu"]["version"], bench_qemu,
        "live" if bench.live else "stop-and-copy"))
    out = os.path.abspath(args.out or os.path.join(
        ROOT, ".cache", "bench-runs", time.strftime("%Y%m%d-%H%M%S")))
    os.makedirs(out, exist_ok=True)
    bench.out = out
    json_path = args.json or os.path.join(out, "results.json")

    def on_signal(signum, frame):
        raise Timeout("signal %d" % signum)

    def on_alarm(signum, frame):
        raise Timeout("global timeout of %ss" % args.timeout)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(args.timeout))

    failed = False
    plan = []
    for rnd in range(args.rounds):
        for hp in args.hotplug + [h for h in args.migration_hotplug
                                  if h not in args.hotplug]:
            for mode in args.modules:
                plan.append((mode, hp, args.migrations
                             if hp in args.migration_hotplug else 0,
                             hp in args.hotplug,
                             "-r%d" % (rnd + 1) if args.rounds > 1
                             else ""))
    try:
        t = time.monotonic()
        params = {}
        for mode in args.modules:
            bench.initrd[mode] = build_initramfs(
                rv, env, out, mode, params if mode == "ours" else {},
                args.ko_dir)
        log("initramfs ready in %.1fs; out=%s" % (time.monotonic() - t,
                                                    out))
        bench.sw = Switch(args.sndbuf)
        for mode, hp, migs, cycles, rtag in plan:
            saved = args.cycles
            if not cycles:
                args.cycles = 0
            log("=== %s modules, %s hotplug: %d cycles x %s, %d migrations"
                % (mode, hp, args.cycles, "/".join(args.policies), migs))
            ok = bench.session(mode, hp, migs, rtag)
            args.cycles = saved
            failed |= not ok
    except Timeout as e:
        log("stopping: %s" % e)
        bench.results["aborted"] = str(e)
        failed = True
    finally:
        signal.alarm(0)
        bench.cleanup()
        if not args.keep:
            for path in bench.initrd.values():
                try:
                    os.unlink(path)
                except OSError:
                    pass
    bench.results["config"] = {k: v for k, v in vars(args).items()}
    bench.results["elapsed_s"] = round(time.monotonic() - T0, 1)
    txt = table(bench.results["scenarios"], args.modules, args.rate)
    bench.results["table"] = txt
    summ = migration_summary(bench.results, args.modules)
    checks = migration_checks(summ, bench.live)
    meta = "QEMU %s (%s RAM copy), guest kernel %s, %g frames/s each " \
        "way, tree %s, %s" % (
            bench.results["qemu"]["version"],
            bench.results["qemu"]["ram_copy"], env.get("KVER"), args.rate,
            bench.results["tree"], bench.results["date"])
    if summ["runs"]:
        txt += "\n\n" + migration_table(summ, args.modules, meta)
    if checks:
        txt += "\n\n" + ktap(checks)
        failed |= not all(ok for ok, _ in checks)
    bench.results["migration_summary"] = summ
    bench.results["migration_checks"] = [[ok, t] for ok, t in checks]
    with open(json_path, "w") as f:
        json.dump(bench.results, f, indent=1)
    if args.summary:
        base = args.summary[:-5] if args.summary.endswith(".json") \
            else args.summary
        with open(base + ".json", "w") as f:
            json.dump({
                "what": "migration_bench.py: virtio-net failover, stock "
                        "vs ours, frames lost around live migrations",
                "command": bench.results["command"],
                "date": bench.results["date"],
                "tree": bench.results["tree"],
                "qemu": bench.results["qemu"],
                "guest_kernel": env.get("KVER"),
                "host_load": [min(r["loadavg"] for r in
                                  bench.results["scenarios"]
                                  if r.get("loadavg") is not None),
                              max(r["loadavg"] for r in
                                  bench.results["scenarios"]
                                  if r.get("loadavg") is not None)]
                if bench.results["scenarios"] else None,
                "config": bench.results["config"],
                "columns": {k: h for k, h, _ in MIG_COLS},
                "runs": summ["runs"], "medians": summ["medians"],
                "checks": [[ok, t] for ok, t in checks],
                "errors": [s for s in bench.results["sessions"]
                           if s["error"]],
                "splats": bench.results.get("splats", {}),
                "table": txt}, f, indent=1)
        with open(base + ".txt", "w") as f:
            f.write("# %s\n# %s\n" % (bench.results["command"], meta))
            f.write(txt + "\n")
    print(txt)
    for name, lines in bench.results.get("splats", {}).items():
        print("KERNEL SPLAT in %s (console-%s.log): %s" % (name, name,
                                                        lines[0]))
        failed = True
    for s in bench.results["sessions"]:
        if s["error"]:
            print("ERROR %s/%s: %s" % (s["mode"], s["hotplug"], s["error"]))
    print("elapsed %.0fs; results: %s" % (bench.results["elapsed_s"],
                                          json_path))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
