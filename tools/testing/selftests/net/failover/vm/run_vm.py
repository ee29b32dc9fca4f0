#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Boot Debian's 6.1 kernel under QEMU (TCG) with a virtio-net failover pair
and run the guest selftests of tools/testing/selftests/net/failover.

The guest root is the host root, shared read-only over virtio-9p with a
tmpfs overlay on top; the per-run module tree (stock or ours) is mounted on
/lib/modules; results come back through a writable 9p share (the output
directory). The guest asks the host for QMP actions over ttyS1, one line per
request, answered by "ok ..." or "err ...".

Exit status: 0 if every test passed or skipped and the console showed no
kernel splat, 1 otherwise, 2 on a usage or setup error.

  run_vm.py [--modules stock|ours] [--hotplug acpi|native] [--tests a,b]
            [--out DIR] [--timeout S] [--keep] [--shell] [--quiet]
"""

import argparse
import json
import lzma
import os
import re
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDIR = os.path.dirname(HERE)
ROOT = os.path.abspath(os.path.join(TESTDIR, *[os.pardir] * 5))

ALL_TESTS = ["pairing", "pci_remove", "hotplug_qmp", "tx_path", "mtu",
             "modules", "ipv6", "rename", "netlink", "tracepoints",
             "knobs", "rx_filters"]

MAC = "52:54:00:12:34:56"
STANDBY_ID = "net0"
PRIMARY_ID = "hostdev0"
PRIMARY_JSON = {"driver": "e1000e", "id": PRIMARY_ID, "bus": "rp2",
                "mac": MAC, "failover_pair_id": STANDBY_ID,
                "netdev": "hn_pri", "romfile": ""}
NETDEVS = ("hn_sby", "hn_pri")

# Modules the initramfs loads to reach the host root; their dependencies
# are added from modules.dep.
INITRD_MODULES = ["virtio_pci", "9pnet_virtio", "9p", "overlay"]
OURS = {"failover": "net/core/failover.ko",
        "net_failover": "drivers/net/net_failover.ko"}
STOCK_PATH = {"failover": "kernel/net/core/failover.ko",
              "net_failover": "kernel/drivers/net/net_failover.ko"}

SPLAT_RE = re.compile(r"WARNING:|BUG:|Oops|general protection|"
                      r"unregister_netdevice: waiting|KASAN|refcount_t|"
                      r"Kernel panic|watchdog: BUG|hung_task|"
                      r"Call Trace:")
DONE_MARK = "ft-guest: done"

# Host paths the guest does not see through the root share: guest_init.sh
# mounts its own tmpfs there. A tree (or test script) below one of them is
# shared on its own and overlaid at the same path (see guest_shares).
GUEST_MASKED = ("/tmp", "/run", "/dev/shm")


def log(msg):
    sys.stderr.write("run_vm: %s\n" % msg)
    sys.stderr.flush()


def read_env():
    env = {}
    path = os.path.join(ROOT, ".cache", "env")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if "=" in line and not line.startswith("#"):
                    k, v = line.split("=", 1)
                    env[k] = v
    for k in ("KVER", "KDIR", "KIMG", "KSRC"):
        if os.environ.get(k):
            env[k] = os.environ[k]
    missing = [k for k in ("KVER", "KIMG") if not env.get(k)]
    if missing:
        raise SystemExit("run_vm: %s unset: run scripts/setup.sh first"
                         % ",".join(missing))
    return env


# ---------------------------------------------------------------- modules

def find_module(tree, relpath):
    """Return relpath as present in tree: .ko, .ko.xz, .ko.zst or .ko.gz."""
    base = relpath[:-3] if relpath.endswith(".ko") else relpath
    for ext in (".ko", ".ko.xz", ".ko.zst", ".ko.gz"):
        if os.path.exists(os.path.join(tree, base + ext)):
            return base + ext
    return None


def prepare_modules(env, out, mode):
    """Hard-link copy of the image's module tree; in 'ours' mode the two
    failover modules are replaced by the ones built at the repo root."""
    kver = env["KVER"]
    src = os.path.join(env["KIMG"], "lib", "modules", kver)
    if not find_module(src, "kernel/drivers/net/virtio_net.ko"):
        # kbuild's "make clean" with M=<repo> deletes every *.ko below it
        raise SystemExit("run_vm: %s has no virtio_net module: unpack it "
                         "again (rm %s/.done; scripts/setup.sh)"
                         % (src, env["KIMG"]))
    base = os.path.join(out, "modroot")
    tree = os.path.join(base, "lib", "modules", kver)
    if os.path.exists(base):
        shutil.rmtree(base)
    os.makedirs(os.path.dirname(tree))
    r = subprocess.run(["cp", "-al", src, tree], stderr=subprocess.PIPE)
    if r.returncode:
        log("cp -al failed (%s), copying" % r.stderr.decode().strip())
        shutil.rmtree(tree, ignore_errors=True)
        subprocess.run(["cp", "-a", src, tree], check=True)
    if mode == "ours":
        for name, built in OURS.items():
            built = os.path.join(ROOT, built)
            if not os.path.exists(built):
                raise SystemExit("run_vm: %s missing: run make" % built)
            old = find_module(tree, STOCK_PATH[name])
            if old:
                os.unlink(os.path.join(tree, old))  # break the hard link
            dst = os.path.join(tree, STOCK_PATH[name])
            shutil.copy2(built, dst)
    subprocess.run(["depmod", "-b", base, kver], check=True)
    return base, tree


def module_deps(tree):
    deps, names = {}, {}
    with open(os.path.join(tree, "modules.dep")) as f:
        for line in f:
            mod, _, rest = line.partition(":")
            deps[mod] = rest.split()
            name = os.path.basename(mod).split(".ko")[0].replace("-", "_")
            names[name] = mod
    return deps, names


def load_order(tree, wanted):
    deps, names = module_deps(tree)
    order = []

    def visit(mod):
        if mod in order:
            return
        # modules.dep lists dependencies nearest first: load them last first
        for d in reversed(deps.get(mod, [])):
            visit(d)
        order.append(mod)

    for w in wanted:
        if w not in names:
            raise SystemExit("run_vm: module %s not found in %s" % (w, tree))
        visit(names[w])
    return order


def module_bytes(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".gz"):
        import gzip
        return gzip.decompress(data)
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", path], check=True,
                              stdout=subprocess.PIPE).stdout
    return data


# -------------------------------------------------------------- initramfs

class Cpio:
    """Minimal writer for the newc format the kernel unpacks."""

    def __init__(self):
        self.buf = bytearray()
        self.ino = 1

    def _add(self, name, mode, data=b"", rdev=(0, 0)):
        name = name.encode() + b"\0"
        hdr = "070701" + "".join("%08x" % v for v in (
            self.ino, mode, 0, 0, 1, 0, len(data), 0, 0,
            rdev[0], rdev[1], len(name), 0))
        self.ino += 1
        self.buf += hdr.encode() + name
        self.buf += b"\0" * (-len(self.buf) % 4)
        self.buf += data
        self.buf += b"\0" * (-len(self.buf) % 4)

    def dir(self, name):
        self._add(name, stat.S_IFDIR | 0o755)

    def file(self, name, data, mode=0o644):
        self._add(name, stat.S_IFREG | mode, data)

    def symlink(self, name, target):
        self._add(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name, major, minor):
        self._add(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def finish(self):
        self._add("TRAILER!!!", 0)
        return bytes(self.buf)


INIT = r"""#!/bin/busybox sh
# Generated by run_vm.py: reach the host root over 9p, overlay a tmpfs,
# mount the per-run module tree, hand over to the guest test driver.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules/order); do
	insmod "/modules/$m" || echo "init: insmod $m failed"
done
mkdir -p /mnt/lower /mnt/rw /mnt/root
o=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o $o,ro,cache=loose ftroot /mnt/lower || exec sh
mount -t tmpfs -o mode=0755 ftrw /mnt/rw
mkdir -p /mnt/rw/upper /mnt/rw/work
mount -t overlay -o lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work \
	overlay /mnt/root || exec sh
mkdir -p /mnt/root/ftest/out /mnt/root/lib/modules
mount -t 9p -o $o ftout /mnt/root/ftest/out || exec sh
mount --bind /mnt/root/ftest/out/modroot/lib/modules /mnt/root/lib/modules
for d in proc sys dev; do mount --move /$d /mnt/root/$d; done
exec switch_root /mnt/root /bin/bash @GUEST_INIT@
"""


def build_initramfs(tree, out):
    bb = shutil.which("busybox") or "/bin/busybox"
    with open(bb, "rb") as f:
        busybox = f.read()
    c = Cpio()
    for d in ("bin", "dev", "proc", "sys", "mnt", "modules"):
        c.dir(d)
    c.chardev("dev/console", 5, 1)
    c.chardev("dev/null", 1, 3)
    c.file("bin/busybox", busybox, 0o755)
    c.symlink("bin/sh", "busybox")
    init = INIT.replace("@GUEST_INIT@", os.path.join(HERE, "guest_init.sh"))
    c.file("init", init.encode(), 0o755)
    order = load_order(tree, INITRD_MODULES)
    names = []
    for mod in order:
        name = os.path.basename(mod).split(".ko")[0] + ".ko"
        c.file("modules/" + name, module_bytes(os.path.join(tree, mod)))
        names.append(name)
    c.file("modules/order", ("\n".join(names) + "\n").encode())
    path = os.path.join(out, "initramfs.cpio")
    with open(path, "wb") as f:
        f.write(c.finish())
    return path


# ------------------------------------------------------------------- QMP

class Qmp:
    def __init__(self, sock):
        self.sock = sock
        self.lock = threading.Lock()
        self.cond = threading.Condition()
        self.events = []
        self.replies = {}
        self.next_id = 0
        self.closed = False
        self.rfile = sock.makefile("rb")
        json.loads(self.rfile.readline())  # greeting
        threading.Thread(target=self._reader, daemon=True).start()
        self.cmd("qmp_capabilities")

    def _reader(self):
        for line in self.rfile:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                if "event" in msg:
                    self.events.append(msg)
                elif "id" in msg:
                    self.replies[msg["id"]] = msg
                self.cond.notify_all()
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def cmd(self, execute, _timeout=30, **args):
        name = execute
        with self.lock:
            self.next_id += 1
            mid = self.next_id
        msg = {"execute": name, "id": mid}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        deadline = time.monotonic() + _timeout
        with self.cond:
            while mid not in self.replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise RuntimeError("no reply to %s" % name)
                self.cond.wait(left)
            reply = self.replies.pop(mid)
        if "error" in reply:
            raise RuntimeError(reply["error"].get("desc", "error"))
        return reply.get("return")

    def wait_event(self, name, start, timeout, match=None):
        """Wait for event NAME at index >= start; return it or None."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for ev in self.events[start:]:
                    if ev["event"] == name and (
                            match is None or match(ev.get("data", {}))):
                        return ev
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return None
                self.cond.wait(left)


# ------------------------------------------------------- control channel

class Control:
    """Serves the guest's requests arriving on ttyS1."""

    def __init__(self, qmp, verbose):
        self.qmp = qmp
        self.verbose = verbose
        self.primary_present = None  # unknown until the guest negotiates
        self.log = []

    def handle(self, line):
        words = line.split()
        if not words:
            return "err empty request"
        op, args = words[0], words[1:]
        try:
            fn = getattr(self, "op_" + op.replace("-", "_"))
        except AttributeError:
            return "err unknown request %s" % op
        try:
            return fn(*args)
        except TypeError as e:
            return "err bad arguments: %s" % e
        except RuntimeError as e:
            return "err %s" % e

    def op_ping(self):
        return "ok pong"

    def op_log(self, *words):
        log("guest: " + " ".join(words))
        return "ok"

    def op_device_del(self, dev=PRIMARY_ID, timeout="60"):
        start = len(self.qmp.events)
        self.qmp.cmd("device_del", id=dev)
        ev = self.qmp.wait_event(
            "DEVICE_DELETED", start, float(timeout),
            lambda d: d.get("device") == dev)
        if not ev:
            return "err no DEVICE_DELETED for %s" % dev
        if dev == PRIMARY_ID:
            self.primary_present = False
        return "ok deleted %s" % dev

    def op_device_add(self, dev=PRIMARY_ID):
        if dev != PRIMARY_ID:
            return "err only %s can be re-added" % PRIMARY_ID
        self.qmp.cmd("device_add", **PRIMARY_JSON)
        self.primary_present = True
        return "ok added %s" % dev

    def op_set_link(self, name, state):
        if state not in ("on", "off"):
            return "err state must be on or off"
        self.qmp.cmd("set_link", name=name, up=(state == "on"))
        return "ok %s %s" % (name, state)

    def op_primary_state(self):
        if self.primary_present is None:
            present = any(e["event"] == "FAILOVER_NEGOTIATED"
                          for e in self.qmp.events)
            return "ok %s" % ("present" if present else "hidden")
        return "ok %s" % ("present" if self.primary_present else "deleted")

    def op_events(self, name=None):
        """Count of events (of one name) since boot."""
        n = sum(1 for e in self.qmp.events
                if name is None or e["event"] == name)
        return "ok %d" % n

    def op_wait_event(self, name, count="1", timeout="30"):
        """Wait until at least COUNT events NAME have been seen."""
        deadline = time.monotonic() + float(timeout)
        with self.qmp.cond:
            while True:
                n = sum(1 for e in self.qmp.events if e["event"] == name)
                if n >= int(count):
                    return "ok %d" % n
                left = deadline - time.monotonic()
                if left <= 0:
                    return "err %d %s events after %ss" % (n, name, timeout)
                self.qmp.cond.wait(left)

    def op_qmp(self, *words):
        """Raw QMP: qmp <command> [json-arguments]; reply as one line."""
        if not words:
            return "err qmp needs a command"
        args = json.loads(" ".join(words[1:])) if len(words) > 1 else {}
        ret = self.qmp.cmd(words[0], **args)
        return "ok " + json.dumps(ret, separators=(",", ":"))

    def serve(self, conn):
        buf = b""
        while True:
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode(errors="replace").strip("\r\0 ")
                if not line:
                    continue
                reply = self.handle(line)
                self.log.append((line, reply))
                if self.verbose:
                    log("ctl: %s -> %s" % (line, reply))
                try:
                    conn.sendall(reply.encode() + b"\n")
                except OSError:
                    return


# ------------------------------------------------------------------- run

def guest_shares(paths):
    """(host path, guest path) for each of PATHS the guest's tmpfs mounts
    would hide: shared read-only as its own 9p export, overlaid with a
    tmpfs at the same path by guest_init.sh."""
    shares = []
    for p in paths:
        p = os.path.abspath(p)
        if not any(p == m or p.startswith(m + "/") for m in GUEST_MASKED):
            continue
        if any(p == g or p.startswith(g + "/") for _, g in shares):
            continue
        shares.append((os.path.realpath(p), p))
    return shares


def qemu_cmdline(env, args, initrd, out, sock_dir):
    kimg = env["KIMG"]
    kernel = os.path.join(kimg, "vmlinux")
    if not os.path.exists(kernel):
        kernel = os.path.join(kimg, "boot", "vmlinuz-" + env["KVER"])
    append = ("console=ttyS0 panic=-1 panic_on_warn=0 tsc=reliable "
              "mitigations=off rdinit=/init loglevel=5 "
              "net.ifnames=0 printk.devkmsg=on")
    cmd = [
        "qemu-system-x86_64", "-machine", "q35", "-accel", "tcg",
        "-m", "1G", "-smp", "1,maxcpus=2", "-nodefaults", "-no-reboot",
        "-display", "none", "-vga", "none",
        "-kernel", kernel, "-initrd", initrd, "-append", append,
        "-chardev", "stdio,id=con,mux=%s" % ("on" if args.shell else "off"),
        "-serial", "chardev:con",
        "-chardev", "socket,id=ctl,path=%s" % os.path.join(sock_dir, "ctl"),
        "-serial", "chardev:ctl",
        "-chardev", "socket,id=qmp,path=%s" % os.path.join(sock_dir, "qmp"),
        "-mon", "chardev=qmp,mode=control",
        "-fsdev", "local,id=fsroot,path=/,security_model=none,readonly=on,"
                  "multidevs=remap",
        "-device", "virtio-9p-pci,fsdev=fsroot,mount_tag=ftroot",
        "-fsdev", "local,id=fsout,path=%s,security_model=none,"
                  "multidevs=remap" % out,
        "-device", "virtio-9p-pci,fsdev=fsout,mount_tag=ftout",
        "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,addr=0x10",
        "-device", "pcie-root-port,id=rp2,bus=pcie.0,chassis=2,addr=0x11",
        "-netdev", "user,id=hn_sby",
        "-netdev", "user,id=hn_pri",
        "-device", "virtio-net-pci,netdev=hn_sby,failover=on,id=%s,mac=%s,"
                   "bus=rp1,romfile=" % (STANDBY_ID, MAC),
        "-device", json.dumps(PRIMARY_JSON, separators=(",", ":")),
    ]
    for i, (host, _) in enumerate(getattr(args, "shares", [])):
        cmd += ["-fsdev", "local,id=fsx%d,path=%s,security_model=none,"
                          "readonly=on,multidevs=remap" % (i, host),
                "-device", "virtio-9p-pci,fsdev=fsx%d,mount_tag=ftx%d"
                           % (i, i)]
    if args.shell:
        cmd += ["-mon", "chardev=con,mode=readline"]
    if args.hotplug == "native":
        cmd += ["-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"]
    return cmd


def parse_ktap(path):
    """(pass, fail, skip, complete) over the leaf results of one script."""
    p = f = s = 0
    plan = None
    n = 0
    with open(path, errors="replace") as fh:
        for line in fh:
            m = re.match(r"^1\.\.(\d+)", line)
            if m:
                plan = int(m.group(1))
                continue
            m = re.match(r"^(not ok|ok) (\d+)\b(.*)", line)
            if not m:
                continue
            n += 1
            if m.group(1) == "not ok":  # "not ok ... # SKIP" too
                f += 1
            elif re.search(r"#\s*SKIP", m.group(3), re.I):
                s += 1
            else:
                p += 1
    return p, f, s, plan is not None and plan == n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modules", choices=("stock", "ours"), default="stock")
    ap.add_argument("--hotplug", choices=("acpi", "native"), default="acpi")
    ap.add_argument("--tests", default=",".join(ALL_TESTS),
                    help="comma-separated test names (default: all)")
    ap.add_argument("--out", help="output directory")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--test-timeout", type=int, default=150,
                    help="per-script limit inside the guest")
    ap.add_argument("--keep", action="store_true",
                    help="keep the module tree and initramfs")
    ap.add_argument("--shell", action="store_true",
                    help="interactive shell in the guest after the tests")
    ap.add_argument("--quiet", action="store_true",
                    help="do not echo the console")
    ap.add_argument("--verbose", action="store_true",
                    help="log control-channel requests")
    args = ap.parse_args()

    env = read_env()
    tests = []  # (name, path)
    for t in args.tests.replace(" ", ",").split(","):
        t = t.strip()
        if not t:
            continue
        if "/" in t:  # a script given by path (e.g. the demo)
            path = os.path.abspath(t)
        else:
            path = os.path.join(TESTDIR, t if t.endswith(".sh") else t + ".sh")
        if not os.path.isfile(path):
            ap.error("no test script %s" % path)
        tests.append((os.path.basename(path)[:-3] if path.endswith(".sh")
                      else os.path.basename(path), path))

    out = os.path.abspath(args.out or os.path.join(
        ROOT, ".cache", "vm-runs",
        "%s-%s-%s" % (time.strftime("%Y%m%d-%H%M%S"), args.modules,
                      args.hotplug)))
    os.makedirs(out, exist_ok=True)
    results = os.path.join(out, "results")
    shutil.rmtree(results, ignore_errors=True)
    os.makedirs(results)
    for stale in ("console.log", "dmesg.txt", "guest.done"):
        if os.path.exists(os.path.join(out, stale)):
            os.unlink(os.path.join(out, stale))

    t0 = time.monotonic()
    _, tree = prepare_modules(env, out, args.modules)
    initrd = build_initramfs(tree, out)
    # The tree and the scripts, where the guest's tmpfs would hide them
    args.shares = guest_shares([ROOT] + [os.path.dirname(p)
                                         for _, p in tests])
    with open(os.path.join(out, "run.env"), "w") as f:
        f.write("FT_TESTS='%s'\nFT_MODULES=%s\nFT_HOTPLUG=%s\n"
                "FT_TESTDIR='%s'\nFT_TEST_TIMEOUT=%d\nFT_SHELL=%d\n"
                "FT_SHARES='%s'\n"
                % (" ".join(p for _, p in tests), args.modules,
                   args.hotplug, TESTDIR,
                   args.test_timeout, int(args.shell),
                   " ".join("ftx%d:%s" % (i, g)
                            for i, (_, g) in enumerate(args.shares))))
    log("out=%s modules=%s hotplug=%s tests=%s (prepared in %.1fs)"
        % (out, args.modules, args.hotplug, ",".join(n for n, _ in tests),
           time.monotonic() - t0))

    sock_dir = tempfile.mkdtemp(prefix="ftvm-")
    listeners = {}
    for name in ("ctl", "qmp"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(os.path.join(sock_dir, name))
        s.listen(1)
        listeners[name] = s

    cmd = qemu_cmdline(env, args, initrd, out, sock_dir)
    with open(os.path.join(out, "qemu.cmdline"), "w") as f:
        f.write(" ".join("'%s'" % c if any(ch in c for ch in " {}\"")
                         else c for c in cmd) + "\n")
    console_path = os.path.join(out, "console.log")
    console = open(console_path, "wb")
    qemu = subprocess.Popen(
        cmd, stdin=None if args.shell else subprocess.DEVNULL,
        stdout=None if args.shell else subprocess.PIPE,
        stderr=subprocess.STDOUT if not args.shell else None,
        start_new_session=not args.shell)

    splats = []
    state = {"done": False}

    def console_reader():
        pending = b""
        for chunk in iter(lambda: os.read(qemu.stdout.fileno(), 4096), b""):
            console.write(chunk)
            console.flush()
            if not args.quiet:
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                line = raw.decode(errors="replace")
                if SPLAT_RE.search(line):
                    splats.append(line.strip())
                if DONE_MARK in line:
                    state["done"] = True

    status = "ok"
    ctl = None
    try:
        conns = {}
        deadline = time.monotonic() + 20
        for name, s in listeners.items():
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                conns[name], _ = s.accept()
            except socket.timeout:
                raise RuntimeError("QEMU did not connect to %s" % name)
        qmp = Qmp(conns["qmp"])
        ctl = Control(qmp, args.verbose)
        threading.Thread(target=ctl.serve, args=(conns["ctl"],),
                         daemon=True).start()
        reader = None
        if not args.shell:
            reader = threading.Thread(target=console_reader, daemon=True)
            reader.start()
        limit = t0 + args.timeout if not args.shell else None
        while qemu.poll() is None:
            if limit and time.monotonic() > limit:
                status = "timeout"
                log("timeout after %.0fs: killing QEMU" % args.timeout)
                break
            time.sleep(0.2)
        if reader:
            if qemu.poll() is None:
                qemu.kill()
            reader.join(5)
    except (RuntimeError, OSError) as e:
        status = "error"
        log("error: %s" % e)
    finally:
        if qemu.poll() is None:
            try:
                os.killpg(qemu.pid, signal.SIGKILL)
            except OSError:
                qemu.kill()
        qemu.wait()
        console.close()
        shutil.rmtree(sock_dir, ignore_errors=True)
    elapsed = time.monotonic() - t0

    # The guest's dmesg covers what a quiet console did not print.
    dmesg = os.path.join(out, "dmesg.txt")
    if os.path.exists(dmesg):
        with open(dmesg, errors="replace") as f:
            for line in f:
                if SPLAT_RE.search(line) and line.strip() not in splats:
                    splats.append(line.strip())
    if ctl:
        with open(os.path.join(out, "control.log"), "w") as f:
            for req, rep in ctl.log:
                f.write("%s -> %s\n" % (req, rep))

    # KTAP over the scripts, each script's own KTAP nested as "# " lines.
    total = {"pass": 0, "fail": 0, "skip": 0}
    lines = ["TAP version 13", "1..%d" % (len(tests) + 1)]
    failed_any = False
    for i, (t, _) in enumerate(tests, 1):
        path = os.path.join(results, t + ".ktap")
        rcpath = os.path.join(results, t + ".rc")
        rc = None
        if os.path.exists(rcpath):
            with open(rcpath) as f:
                try:
                    rc = int(f.read().strip())
                except ValueError:
                    rc = None
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                lines += ["# " + l.rstrip("\n") for l in f]
            p, fl, s, complete = parse_ktap(path)
        else:
            p = fl = s = 0
            complete = False
        total["pass"] += p
        total["fail"] += fl
        total["skip"] += s
        if rc == 4 and fl == 0 and complete:
            # a script that skipped all its tests says why in its leaf
            # results; one that printed none (plan 1..0) counts once
            if p + s == 0:
                total["skip"] += 1
            lines.append("ok %d selftests: net/failover: %s.sh # SKIP"
                         % (i, t))
        elif rc == 0 and fl == 0 and complete:
            lines.append("ok %d selftests: net/failover: %s.sh" % (i, t))
        else:
            failed_any = True
            why = ("did not run" if rc is None else
                   "timeout" if rc == 124 else
                   "exit %d, results do not match the plan" % rc
                   if rc in (0, 4) and fl == 0 else "exit %d" % rc)
            if fl == 0:  # died before reporting: count it once
                total["fail"] += 1
            lines.append("not ok %d selftests: net/failover: %s.sh # %s"
                         % (i, t, why))
    n = len(tests) + 1
    if splats:
        failed_any = True
        total["fail"] += 1
        lines.append("# kernel splats on the console:")
        lines += ["#   " + s for s in splats[:20]]
        lines.append("not ok %d console: no kernel splat" % n)
    elif status != "ok" or not state["done"] and not args.shell:
        failed_any = True
        total["fail"] += 1
        lines.append("not ok %d console: guest finished (%s)" % (
            n, status if status != "ok" else "no completion mark"))
    else:
        total["pass"] += 1
        lines.append("ok %d console: no kernel splat" % n)
    summary = ("# run_vm: modules=%s hotplug=%s: %d passed, %d failed, "
               "%d skipped in %.1fs" % (args.modules, args.hotplug,
                                         total["pass"], total["fail"],
                                         total["skip"], elapsed))
    lines.append(summary)
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "results.ktap"), "w") as f:
        f.write(text)
    sys.stdout.write(text)
    sys.stdout.flush()
    if not args.keep:
        shutil.rmtree(os.path.join(out, "modroot"), ignore_errors=True)
        try:
            os.unlink(initrd)
        except OSError:
            pass
    log("console log: %s" % console_path)
    return 1 if failed_any else 0


def on_sigterm(signum, frame):
    raise SystemExit(1)  # unwinds through main()'s cleanup: QEMU is killed


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_sigterm)
    sys.exit(main())
