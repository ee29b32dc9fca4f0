#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""run_vm.py with another kernel, extra modules and debug checks.

A thin layer over run_vm.py (imported, not copied or edited): it swaps the
kernel image and module tree, the modules of ours that replace the stock
ones, adds modules to the tree, changes the guest's CPUs and command line,
passes variables to the guest tests, and for a debug kernel turns warnings
into failures:

  run_vm_ext.py [--kernel-dir DIR --kver KVER] [--ours-dir DIR]
                [--add-module NAME=PATH.ko]... [--smp N] [--mem SIZE]
                [--append ARGS] [--env NAME=VALUE]... [--device DEV]...
                [--debug-checks]
                [run_vm.py options...]

--kernel-dir    a tree laid out like Debian's unpacked image: DIR/vmlinux
                and DIR/lib/modules/KVER (scripts/build-debug-kernel.sh
                makes one); modules the image has built in are skipped in
                the initramfs
--ours-dir      where failover.ko and net_failover.ko were built
                (net/core/, drivers/net/ below it) instead of the repo root
--add-module    copied into the module tree (kernel/drivers/net/) so that
                the guest can modprobe it (nfosim; with nfosim the guest
                gets FT_NFOSIM=1: the sim tests then fail, not skip, when
                it does not load)
--env           exported to the guest's test scripts (via run.env)
--device        one more QEMU -device; with --add-module nfosim=...,
                pci-testdev is added (the PCI parent of nfosim's primaries)
--debug-checks  panic_on_warn=1 in the guest, kmemleak baseline cleared
                at boot and scanned by kmemleak.sh run last, and the console
                scan extended to lockdep, RCU and ref_tracker reports
"""

import argparse
import os
import re
import shlex
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import run_vm  # noqa: E402

# Leaks are judged by kmemleak.sh from the kmemleak file (after the boot
# baseline is cleared), not from its "new suspected" console lines.
EXTRA_SPLATS = (r"possible circular locking|suspicious RCU usage|"
                r"ref_tracker|inconsistent lock state|"
                r"possible recursive locking|BUG: sleeping function|"
                r"ODEBUG:|list_add corruption|list_del corruption")

# Run by the guest after the tests' own run.env has been read: undo
# guest_init.sh's panic_on_warn=0 and take a kmemleak baseline, so that
# the final scan reports only what the tests leaked.
DEBUG_GUEST_SETUP = r"""
echo 1 > /proc/sys/kernel/panic_on_warn
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan > /sys/kernel/debug/kmemleak
	echo clear > /sys/kernel/debug/kmemleak
	echo "ft-guest: kmemleak baseline cleared"
fi
"""


def parse(argv):
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--kernel-dir")
    ap.add_argument("--kver")
    ap.add_argument("--ours-dir")
    ap.add_argument("--add-module", action="append", default=[])
    ap.add_argument("--smp")
    ap.add_argument("--mem")
    ap.add_argument("--append", default="")
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--device", action="append", default=[])
    ap.add_argument("--debug-checks", action="store_true")
    ap.add_argument("-h", "--help", action="store_true")
    return ap.parse_known_args(argv)


def install(ext):
    if ext.kernel_dir:
        if not ext.kver:
            raise SystemExit("run_vm_ext: --kernel-dir needs --kver")
        os.environ["KIMG"] = os.path.abspath(ext.kernel_dir)
        os.environ["KVER"] = ext.kver

    if ext.ours_dir:
        for name, rel in list(run_vm.OURS.items()):
            run_vm.OURS[name] = os.path.join(os.path.abspath(ext.ours_dir),
                                             rel)
    for spec in ext.add_module:
        name, _, path = spec.partition("=")
        if not path or not os.path.exists(path):
            raise SystemExit("run_vm_ext: no module file for %s" % spec)
        run_vm.OURS[name] = os.path.abspath(path)
        run_vm.STOCK_PATH[name] = "kernel/drivers/net/%s.ko" % name

    # Modules the image has built in do not appear in modules.dep.
    build_initramfs = run_vm.build_initramfs

    def build_initramfs_ext(tree, out):
        names = run_vm.module_deps(tree)[1]
        run_vm.INITRD_MODULES[:] = [m for m in run_vm.INITRD_MODULES
                                    if m in names]
        return build_initramfs(tree, out)
    run_vm.build_initramfs = build_initramfs_ext

    qemu_cmdline = run_vm.qemu_cmdline

    def qemu_cmdline_ext(env, args, initrd, out, sock_dir):
        cmd = qemu_cmdline(env, args, initrd, out, sock_dir)
        if ext.smp:
            cmd[cmd.index("-smp") + 1] = ext.smp
        if ext.mem:
            cmd[cmd.index("-m") + 1] = ext.mem
        i = cmd.index("-append") + 1
        append = cmd[i]
        if ext.debug_checks:
            append = append.replace("panic_on_warn=0", "panic_on_warn=1")
            append += " kmemleak=on"
        if ext.append:
            append += " " + ext.append
        cmd[i] = append
        devices = list(ext.device)
        if any(m.partition("=")[0] == "nfosim" for m in ext.add_module):
            devices.append("pci-testdev")
        for d in devices:
            cmd[i + 1:i + 1] = ["-device", d]
        # run.env is sourced by guest_init.sh before the tests run.
        with open(os.path.join(out, "run.env"), "a") as f:
            for kv in ext.env:
                k, _, v = kv.partition("=")
                if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", k):
                    raise SystemExit("run_vm_ext: bad --env %s" % kv)
                f.write("export %s=%s\n" % (k, shlex.quote(v)))
            # nfosim.ko was put there on purpose: a test that cannot
            # load it fails rather than skips (nfosim_setup)
            if any(m.partition("=")[0] == "nfosim" for m in ext.add_module):
                f.write("export FT_NFOSIM=1\n")
            if ext.debug_checks:
                f.write(DEBUG_GUEST_SETUP)
        return cmd
    run_vm.qemu_cmdline = qemu_cmdline_ext

    if ext.debug_checks:
        run_vm.SPLAT_RE = re.compile(run_vm.SPLAT_RE.pattern + "|" +
                                     EXTRA_SPLATS)


def main(argv):
    ext, rest = parse(argv)
    if ext.help:
        print(__doc__)
        sys.argv = [sys.argv[0], "--help"]
        return run_vm.main()
    install(ext)
    sys.argv = [os.path.join(HERE, "run_vm.py")] + rest
    return run_vm.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
