#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The Debian packages in real Debian guests: install the DKMS and tools
packages (`make deb`, dist/) with apt from local files in a Debian 12
(6.1) and a Debian 13 (6.12) guest that boot Debian's own kernel and
initramfs (package_image.sh), reboot, and check that our modules are the
ones on disk, in the initramfs and loaded, that the failover triple forms
at boot, networkd gets DHCP on the master and a QMP unplug/replug of the
primary keeps the master connected; boot once with module.sig_enforce=1
(the closest this test bed comes to Secure Boot: the kernel trusts only
its build key, not the DKMS key) and check that ours is refused and the
stock modules keep the guest networked; purge the packages and check
that the next boot runs the stock modules from disk and initramfs. In
the Debian 13 guest, before the purge, the trixie-backports 7.3 kernel is
installed from the packages staged in the image: DKMS builds ours for
it and the guest reboots into 7.3 with ours.

Topology as userspace_guest.py: q35; virtio-net-pci failover=on (standby)
on root port rp1, an e1000e primary with failover_pair_id and the same
MAC on rp2 (given as JSON, romfile=""), both and a `-netdev user` (slirp:
DHCP, 10.0.2.2) on one hub.

Boots: a copy of the cached image (.cache/pkg-image/) is the guest's
persistent disk for one run (deleted at the end unless --keep). Before
each boot the host reads /boot out of the powered-off disk (debugfs),
takes the newest vmlinuz-KV there and its initrd.img-KV, and boots them
with -kernel/-initrd and root=LABEL=ftroot: this stands in for GRUB, whose
default entry is the newest kernel. The initramfs is thus the one the
guest's update-initramfs (run by the packages and by dkms) wrote, so a
stale initramfs shows. A "reboot" is the guest powering off and the host
booting it again.

In the guest, ft-step.service runs the step script of the boot from a
second disk (serial ftstep, a tar holding the script and the .debs) and
reports on ttyS1: "FT key=value" facts and "FT< key" .. "FT> key rc"
blocks of raw output. The script asks for the QMP unplug/replug by a line
"FT hotplug-go" and watches the master's lowers itself. Boots, per guest:

  Debian 12: stock (checks, apt install) - ours (checks,
    unplug/replug, dkms signer) - module.sig_enforce=1 (ours refused,
    stock loaded, network; apt purge) - purged (stock from disk and
    initramfs, network)
  Debian 13: stock 6.12 (checks, apt install) - ours 6.12
    (checks, unplug/replug, signer; apt install of the 7.3 kernel) - ours
    7.3 (checks, unplug/replug; apt purge) - purged 7.3

Output: KTAP, one line per check of each boot, with the guest's and the
host's timings of every phase in comments; exit status 1 if anything
failed. Logs in OUT/d<N>/<boot>/: console.log, facts.txt (ttyS1),
qemu.cmdline; OUT/results.ktap.

  package_guest.py [--dist 12,13] [--debs DIR] [--no-build] [--out DIR]
                   [--timeout S] [--boot-timeout S] [--keep]
  package_guest.py --recheck OUT [--dist ...]  (no boot: judge the
                   OUT/d<N>/*/result.json of an earlier run again)
"""

import argparse
import atexit
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_vm as rv  # noqa: E402  (QMP client, splat patterns)
import userspace_guest as ug  # noqa: E402  (the guest report's parser)

ROOT = rv.ROOT
MAC = "52:54:00:12:34:56"
MASTER = "enp1s0"  # as udev names it; the image's networkd file matches it
PRIMARY = {"driver": "e1000e", "id": "hostdev0", "bus": "rp2", "mac": MAC,
           "failover_pair_id": "net0", "netdev": "hp2", "romfile": ""}
BPO_KV = "7.3.4+deb13-amd64"
KMSG_RE = re.compile(r"^\[\s*\d+\.\d+\]")
SIG_RE = re.compile(r"Loading of .* is rejected|Key was rejected")
QEMUS = []  # Popen objects still running, killed on exit

# The step script's library (POSIX sh, run by ft-step.service as root).
GUEST_LIB = r"""
export DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin
KV=$(uname -r)
M=/lib/modules/$KV
MASTER=MASTER_NAME
fact() { echo "FT $1=$2"; }
up() { cut -d' ' -f1 /proc/uptime; }
block() {
	_k=$1; shift
	echo "FT< $_k"; "$@" 2>&1; _rc=$?; echo "FT> $_k $_rc"
	return $_rc
}
# timed KEY CMD...: a block, and KEY.secs the seconds it took
timed() {
	_t=$(up); block "$@"; _r=$?
	fact "$1.secs" "$(awk -v a="$(up)" -v b="$_t" 'BEGIN {printf "%.1f", a - b}')"
	return $_r
}
# until_ok SECONDS CMD...: poll CMD every 0.2 s (deadline on the uptime;
# shell built-ins where the loop can: forks are slow under TCG)
secs() { read -r _u _x < /proc/uptime; echo "${_u%.*}"; }
until_ok() {
	_end=$(($(secs) + $1)); shift
	while ! "$@"; do
		[ "$(secs)" -gt "$_end" ] && return 1
		sleep 0.2
	done
}
kocat() {
	case "$1" in
	*.xz) xz -dc "$1" ;;
	*.zst) zstd -qdc "$1" ;;
	*) cat "$1" ;;
	esac
}
hexof() { od -An -tx1 -v | tr -d ' \n'; }
lowers() {
	_n=0
	for _l in /sys/class/net/$MASTER/lower_*; do
		[ -e "$_l" ] && _n=$((_n + 1))
	done
	echo $_n
}
triple() { [ "$(lowers)" = 2 ]; }
has_ipv4() { ip -4 -o addr show dev $MASTER 2>/dev/null | grep -q inet; }
# the lower of the master that is not the standby (virtio_net)
primary() {
	for l in /sys/class/net/$MASTER/lower_*; do
		[ -e "$l" ] || continue
		n=${l##*/lower_}
		[ -e "/sys/class/net/$n/device/driver/module/drivers/pci:e1000e" ] &&
			echo "$n"
	done
}

# Which files are failover/net_failover: what modinfo resolves, what is
# loaded (the file whose build-id note equals the loaded module's).
modules() {
	_p=$1
	for m in failover net_failover; do
		f=$(modinfo -n $m 2>/dev/null)
		f=${f#/usr}
		fact "$_p.$m.file" "${f#"$M"/}"
		fact "$_p.$m.signer" "$(modinfo -F signer $m 2>/dev/null)"
		if [ ! -d /sys/module/$m ]; then
			fact "$_p.$m.loaded" "not loaded"
			continue
		fi
		fact "$_p.$m.taint" "$(cat /sys/module/$m/taint)"
		id=$(hexof < /sys/module/$m/notes/.note.gnu.build-id)
		which=""
		for c in $(find "$M"/ -name "$m.ko*"); do
			kocat "$c" | hexof | grep -q "$id" &&
				which="$which ${c#"$M"/}"
		done
		fact "$_p.$m.loaded" "${which# }"
	done
}

netstate() {
	_p=$1
	for d in /sys/class/net/*; do
		n=${d##*/}
		[ "$n" = lo ] && continue
		drv=$(ethtool -i "$n" 2>/dev/null | sed -n 's/^driver: //p')
		mst=none
		[ -e "$d/master" ] && mst=$(basename "$(readlink "$d/master")")
		a=$(ip -4 -o addr show dev "$n" | awk '{print $4}' | tr '\n' ' ')
		fact "$_p.$n" "$drv master=$mst ipv4=${a% }"
	done
}

# The initramfs of the running kernel: its listing, and whether its copy
# of each module is the file at the same place on disk ("same"), or, for
# the kernel's own module while dkms 3.2 keeps it in its original_module
# directory (the package's hook puts it back in place in the initramfs),
# that file ("original"); else "differs", or "absent" from the disk.
ORIG=/var/lib/dkms/net-failover/original_module
initramfs() {
	i=/boot/initrd.img-$KV
	timed initrd.list sh -c "lsinitramfs $i | grep -E '/(failover|net_failover|virtio_net)\.ko|modprobe\.d/'"
	rm -rf /var/tmp/ft-initrd
	timed initrd.unpack sh -c "unmkinitramfs $i /var/tmp/ft-initrd > /dev/null"
	for m in failover net_failover; do
		got=""
		for c in $(find /var/tmp/ft-initrd -name "$m.ko*"); do
			r=${c#/var/tmp/ft-initrd/}
			r=${r#main/}
			r=${r#*/modules/"$KV"/}
			h=$(kocat "$c" | sha256sum)
			o=$(ls "$ORIG/$KV"/*/"${r##*/}" 2>/dev/null | head -n 1)
			if [ -e "$M/$r" ]; then
				[ "$(kocat "$M/$r" | sha256sum)" = "$h" ] &&
					v=same || v=differs
			elif [ -n "$o" ]; then
				[ "$(kocat "$o" | sha256sum)" = "$h" ] &&
					v=original || v=differs
			else
				v=absent
			fi
			got="$got $r=$v"
		done
		fact "initrd.$m" "${got# }"
	done
	rm -rf /var/tmp/ft-initrd
}

check_boot() {
	fact t.step "$(up)"
	fact kver "$KV"
	block cmdline cat /proc/cmdline
	until_ok 60 triple
	fact t.triple "$(up)"
	# the names as udev leaves them (a lower may be mid-rename)
	udevadm settle --timeout=30 2>/dev/null
	netstate net0
	modules mod
	until_ok 90 has_ipv4
	fact t.ipv4 "$(up)"
	netstate net
	block networkctl networkctl list --no-pager --no-legend
	block ping ping -c 5 -i 0.5 -W 2 10.0.2.2
	block dmesg sh -c "dmesg | grep -E 'rejected|failover|virtio_net|e1000e|taint|Key|signature' | grep -v 'Command line'"
	block dkms dkms status
	initramfs
}

# The host unplugs the primary (QMP device_del, DEVICE_DELETED), waits 3 s
# and plugs it back (device_add) when it reads "FT hotplug-go". The guest
# pings through it at 5/s and logs each change of (lowers, primary,
# its ifindex, carrier) until a primary with a new ifindex is enslaved
# with carrier, so a short unplug is not missed between two polls.
hotplug() {
	p0=$(primary)
	i0=$(cat "/sys/class/net/$p0/ifindex" 2>/dev/null)
	fact hp.before "$p0 ifindex $i0"
	ping -q -i 0.2 -W 1 10.0.2.2 > /run/ft/hp.ping 2>&1 &
	pp=$!
	sleep 1
	t=$(secs)
	echo "FT hotplug-go"
	last=""
	while [ "$(secs)" -le $((t + 240)) ]; do
		p=$(primary)
		i=""; c=""
		if [ -n "$p" ]; then
			read -r i < "/sys/class/net/$p/ifindex"
			read -r c < "/sys/class/net/$p/carrier" 2>/dev/null
		fi
		st="lowers $(lowers) primary ${p:-none} ifindex ${i:--} carrier ${c:--}"
		if [ "$st" != "$last" ]; then
			echo "FT hp.at.$(up)=$st"
			last=$st
		fi
		[ -n "$i" ] && [ "$i" != "$i0" ] && [ "$c" = 1 ] && break
		sleep 0.2
	done
	fact hp.secs "$(($(secs) - t))"
	sleep 3
	kill -INT $pp
	wait $pp
	block hp.ping cat /run/ft/hp.ping
	fact hp.ipv4 "$(ip -4 -o addr show dev $MASTER | awk '{print $4}')"
	netstate hp.net
	block hp.after ping -c 3 -i 0.5 -W 2 10.0.2.2
}

install_pkgs() {
	timed install apt-get install -q -y /run/ft/debs/*.deb
	block install.dkms dkms status
	fact install.net_failover "$(modinfo -n net_failover 2>/dev/null)"
}

signing() {
	f=$(modinfo -n net_failover)
	fact sign.dkms "$(dpkg-query -W -f '${Version}' dkms)"
	for k in /var/lib/dkms/mok.pub /var/lib/shim-signed/mok/MOK.der; do
		[ -f $k ] && fact sign.key "$k $(openssl x509 -inform DER -in $k -noout -subject 2>/dev/null || openssl x509 -in $k -noout -subject)"
	done
	fact sign.signer "$(modinfo -F signer "$f")"
	block sign.conf sh -c "grep -rhE '^[^#]*(sign|mok)' /etc/dkms/ 2>/dev/null"
}

install_bpo() {
	timed bpo apt-get install -q -y /var/cache/local-debs/*.deb
	block bpo.dkms dkms status
	fact bpo.net_failover "$(modinfo -k BPO_KV -n net_failover 2>/dev/null)"
	block bpo.boot ls /boot
}

purge_pkgs() {
	# shellcheck disable=SC2046
	timed purge apt-get purge -q -y $(cat /run/ft/pkgs)
	block purge.dkms dkms status
	fact purge.left "$(find /lib/modules/ -path '*updates*' -name '*failover*' | tr '\n' ' ')"
	fact purge.net_failover "$(modinfo -n net_failover 2>/dev/null)"
}

finish() {
	fact t.end "$(up)"
	echo "FT done"
	sync
	# not "systemctl poweroff": it asks logind first, which the image masks
	systemctl start poweroff.target
}
""".replace("BPO_KV", BPO_KV).replace("MASTER_NAME", MASTER)

# The scenario: per guest, its boots. Each boot: name, extra kernel
# arguments, the step functions the guest runs (after check_boot), and
# what the checks expect of it: "mods" where modinfo resolves and what is
# loaded (kernel/ or updates/), "kv" the kernel it must run ("" = the
# image's own).
SCENARIO = {
    "12": [
        dict(name="stock", args="", steps=["install_pkgs"],
             mods="kernel", loaded="kernel"),
        dict(name="ours", args="", steps=["hotplug", "signing"],
             mods="updates", loaded="updates"),
        dict(name="sig_enforce", args="module.sig_enforce=1",
             steps=["purge_pkgs"], mods="updates", loaded="kernel"),
        dict(name="purged", args="", steps=[], mods="kernel",
             loaded="kernel"),
    ],
    "13": [
        dict(name="stock", args="", steps=["install_pkgs"],
             mods="kernel", loaded="kernel"),
        dict(name="ours", args="", steps=["hotplug", "signing",
                                          "install_bpo"],
             mods="updates", loaded="updates"),
        dict(name="ours-7.3", args="", steps=["hotplug", "purge_pkgs"],
             mods="updates", loaded="updates", kv=BPO_KV),
        dict(name="purged-7.3", args="", steps=[], mods="kernel",
             loaded="kernel", kv=BPO_KV),
    ],
}


def log(msg):
    sys.stderr.write("package_guest: %s\n" % msg)
    sys.stderr.flush()


def kill_qemus():
    for q in QEMUS:
        if q.poll() is None:
            os.killpg(q.pid, signal.SIGKILL)
            q.wait()


# ---------------------------------------------------------- the "GRUB"

def debugfs(disk, req):
    r = subprocess.run(["debugfs", "-R", req, disk], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL,
                       env=dict(os.environ, DEBUGFS_PAGER="__none__"))
    return r.stdout.decode(errors="replace")


def resolve(disk, path):
    """Follow symlinks on the ext4 disk (absolute and relative)."""
    for _ in range(8):
        st = debugfs(disk, "stat " + path)
        m = re.search(r'Fast link dest: "([^"]*)"', st)
        if "Type: symlink" not in st:
            return path
        if not m:  # slow symlink: its target is the file's data
            target = debugfs(disk, "cat " + path).strip()
        else:
            target = m.group(1)
        path = target if target.startswith("/") else os.path.normpath(
            os.path.join(os.path.dirname(path), target))
    return path


def vkey(kv):
    return [int(x) if x.isdigit() else x for x in re.split(r"[.+~-]", kv)]


def pick_kernel(disk, out):
    """The newest vmlinuz-KV in the disk's /boot and its initrd.img-KV,
    dumped into OUT: (kv, vmlinuz, initrd) or a reason."""
    names = re.findall(r"\bvmlinuz-(\S+)", debugfs(disk, "ls /boot"))
    kvs = sorted(set(names), key=vkey)
    if not kvs:
        return None, "no /boot/vmlinuz-* on the disk"
    kv = kvs[-1]
    files = []
    for f in ("vmlinuz", "initrd.img"):
        src = resolve(disk, "/boot/%s-%s" % (f, kv))
        dst = os.path.join(out, f)
        if os.path.exists(dst):
            os.unlink(dst)
        debugfs(disk, "dump %s %s" % (src, dst))
        if not os.path.exists(dst) or os.path.getsize(dst) < 4096:
            return None, "cannot read %s-%s (%s) from the disk" % (f, kv, src)
        files.append(dst)
    return kv, files


# ------------------------------------------------------------ one boot

def step_tar(out, boot, debs, pkgs):
    script = "#!/bin/sh\n. ./lib.sh\ncheck_boot\n%s\nfinish\n" % "\n".join(
        boot["steps"])
    path = os.path.join(out, "step.tar")
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as t:
        for name, data, mode in (("lib.sh", GUEST_LIB, 0o644),
                                 ("step.sh", script, 0o755),
                                 ("pkgs", " ".join(pkgs) + "\n", 0o644)):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, time.time()
            t.addfile(info, io.BytesIO(data.encode()))
        for d in debs:
            t.add(d, "debs/" + os.path.basename(d))
    # a whole number of 512-byte sectors (tar pads to 10 KiB already)
    return path


def qemu_cmdline(disk, kernel, initrd, tarpath, args, out, qmp):
    append = ("root=LABEL=ftroot ro console=ttyS0 panic=-1 tsc=reliable "
              "mitigations=off loglevel=5 systemd.show_status=1 " + args)
    return [
        "qemu-system-x86_64", "-machine", "q35", "-accel", "tcg",
        "-m", "2048", "-smp", "2", "-nodefaults", "-no-reboot",
        "-display", "none", "-vga", "none",
        "-kernel", kernel, "-initrd", initrd, "-append", append.strip(),
        "-chardev", "file,id=con,path=%s" % os.path.join(out, "console.log"),
        "-serial", "chardev:con",
        "-chardev", "file,id=res,path=%s" % os.path.join(out, "facts.txt"),
        "-serial", "chardev:res",
        "-qmp", "unix:%s,server=on,wait=off" % qmp,
        "-drive", "file=%s,if=none,id=root,format=raw,cache=unsafe" % disk,
        "-device", "virtio-blk-pci,drive=root,bus=pcie.0,addr=0x4",
        "-drive", "file=%s,if=none,id=step,format=raw,readonly=on" % tarpath,
        "-device", "virtio-blk-pci,drive=step,serial=ftstep,bus=pcie.0,"
                   "addr=0x5",
        "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,addr=0x10",
        "-device", "pcie-root-port,id=rp2,bus=pcie.0,chassis=2,addr=0x11",
        "-netdev", "user,id=slirp",
        "-netdev", "hubport,id=hslirp,hubid=0,netdev=slirp",
        "-netdev", "hubport,id=hp1,hubid=0",
        "-netdev", "hubport,id=hp2,hubid=0",
        "-device", "virtio-net-pci,netdev=hp1,failover=on,id=net0,mac=%s,"
                   "bus=rp1,romfile=" % MAC,
        "-device", json.dumps(PRIMARY, separators=(",", ":")),
    ]


def connect_qmp(path, deadline):
    while time.monotonic() < deadline:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            return rv.Qmp(s)
        except OSError:
            s.close()
            time.sleep(0.1)
    raise RuntimeError("no QMP socket")


def do_hotplug(qmp, host):
    """device_del of the primary, DEVICE_DELETED, 3 s, device_add; the
    seconds since the guest's request in HOST."""
    t0 = time.monotonic()
    try:
        time.sleep(2)
        start = len(qmp.events)
        qmp.cmd("device_del", id=PRIMARY["id"])
        ev = qmp.wait_event("DEVICE_DELETED", start, 120,
                            lambda d: d.get("device") == PRIMARY["id"])
        host["hp.deleted"] = ("%.1f" % (time.monotonic() - t0)) if ev \
            else "no"
        time.sleep(3)
        qmp.cmd("device_add", **PRIMARY)
        host["hp.added"] = "%.1f" % (time.monotonic() - t0)
    except RuntimeError as e:
        host["hp.deleted"] = host.get("hp.deleted", "error")
        host["hp.error"] = str(e)


def boot(disk, boot_def, debs, pkgs, out, timeout):
    """One boot of the persistent disk: a dict of what happened."""
    os.makedirs(out, exist_ok=True)
    for stale in ("console.log", "facts.txt"):
        if os.path.exists(os.path.join(out, stale)):
            os.unlink(os.path.join(out, stale))
    res = {"host": {}, "status": "ok"}
    t0 = time.monotonic()
    # replays the journal if the last shutdown left one (a clean file
    # system is not checked)
    subprocess.run(["e2fsck", "-p", disk], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    kv, files = pick_kernel(disk, out)
    if kv is None:
        res["status"] = files
        return res
    res["kv"] = kv
    res["host"]["initrd.bytes"] = str(os.path.getsize(files[1]))
    tarpath = step_tar(out, boot_def, debs, pkgs)
    qsock = os.path.join(out, "qmp.sock")
    if os.path.exists(qsock):
        os.unlink(qsock)
    cmd = qemu_cmdline(disk, files[0], files[1], tarpath, boot_def["args"],
                       out, qsock)
    with open(os.path.join(out, "qemu.cmdline"), "w") as f:
        f.write(" ".join("'%s'" % c if any(ch in c for ch in " {}\"")
                         else c for c in cmd) + "\n")
    qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=open(os.path.join(out, "qemu.log"), "wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    QEMUS.append(qemu)
    deadline = t0 + timeout
    hp_thread = None
    try:
        qmp = connect_qmp(qsock, time.monotonic() + 30)
        factsfile = os.path.join(out, "facts.txt")
        while qemu.poll() is None and time.monotonic() < deadline:
            if hp_thread is None and os.path.exists(factsfile):
                with open(factsfile, errors="replace") as f:
                    if "FT hotplug-go" in f.read():
                        hp_thread = threading.Thread(
                            target=do_hotplug, args=(qmp, res["host"]),
                            daemon=True)
                        hp_thread.start()
            time.sleep(0.3)
        if qemu.poll() is None:
            res["status"] = "timeout after %ds" % timeout
    except RuntimeError as e:
        res["status"] = "QMP: %s" % e
    finally:
        if qemu.poll() is None:
            os.killpg(qemu.pid, signal.SIGKILL)
            qemu.wait()
        QEMUS.remove(qemu)
    res["secs"] = time.monotonic() - t0
    for f in files + [tarpath, qsock]:
        if os.path.exists(f):
            os.unlink(f)
    res["f"], blocks = ug.parse_ft(os.path.join(out, "facts.txt"))
    res["b"] = {k: list(v) for k, v in blocks.items()}
    if res["status"] == "ok" and "done" not in res["f"]:
        res["status"] = "guest stopped before the end of its step (exit %s)" \
            % qemu.returncode
    res["splats"] = []
    console = os.path.join(out, "console.log")
    if os.path.exists(console):
        with open(console, errors="replace") as f:
            for line in f:
                if KMSG_RE.match(line) and rv.SPLAT_RE.search(line):
                    res["splats"].append(line.strip())
    with open(os.path.join(out, "result.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    log("%s: %s in %.0fs (kernel %s)" % (out, res["status"], res["secs"], kv))
    return res


# ---------------------------------------------------------- the checks

def want(cond, why):
    return [] if cond else [why]


def block_text(r, key):
    return r.get("b", {}).get(key, ["", "no data"])


def ping_counts(text):
    m = re.search(r"(\d+) packets transmitted, (\d+) received", text)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def where(path):
    """kernel/..., updates/..., or the path as it is."""
    return path.split("/")[0] if path else "none"


def checks_for(dist, b):
    """[(name, fn(result) -> (view, [problems]))] for one boot."""
    checks = []
    kv_want = b.get("kv")

    def finished(r):
        bad = want(r["status"] == "ok", r["status"])
        bad += r.get("splats", [])[:5]
        if kv_want:
            bad += want(r.get("kv") == kv_want, "want kernel %s" % kv_want)
        bad += want(r["f"].get("kver") == r.get("kv"),
                    "guest runs %s, host booted %s" % (
                        r["f"].get("kver"), r.get("kv")))
        return "kernel %s, %s, %.0f s" % (r.get("kv"), r["status"],
                                          r.get("secs", 0)), bad
    checks.append(("boots kernel %s and runs its step" % (
        kv_want or "of the image"), finished))

    def modfiles(r):
        f = r["f"]
        view = "; ".join("%s: modinfo -n %s, loaded %s, taint '%s'" % (
            m, f.get("mod.%s.file" % m, "?"), f.get("mod.%s.loaded" % m, "?"),
            f.get("mod.%s.taint" % m, "")) for m in ("failover",
                                                      "net_failover"))
        bad = []
        for m in ("failover", "net_failover"):
            fl = f.get("mod.%s.file" % m, "")
            ld = f.get("mod.%s.loaded" % m, "")
            bad += want(where(fl) == b["mods"],
                        "%s: want modinfo -n in %s/" % (m, b["mods"]))
            bad += want(len(ld.split()) == 1 and where(ld) == b["loaded"],
                        "%s: want loaded the file in %s/" % (m, b["loaded"]))
            if b["loaded"] == b["mods"]:
                bad += want(ld == fl, "%s: loaded is not modinfo's" % m)
            # ours is out of tree: taint O
            bad += want(("O" in f.get("mod.%s.taint" % m, "")) ==
                        (b["loaded"] == "updates"),
                        "%s: taint does not match %s" % (m, b["loaded"]))
        return view, bad
    checks.append(("modinfo -n in %s/, loaded from %s/" % (
        b["mods"], b["loaded"]), modfiles))

    def triple(r):
        f = r["f"]
        nets = {k[5:]: v for k, v in f.items() if k.startswith("net0.")}
        view = "; ".join("%s: %s" % kv for kv in sorted(nets.items()))
        # a device listed without a driver was being renamed by udev as
        # the snapshot read it (runs before udevadm settle was added
        # there): take the snapshot after DHCP instead, and say so
        if any(v.startswith(" ") for v in nets.values()):
            nets = {k[4:]: v for k, v in f.items() if k.startswith("net.")}
            view += " | caught a rename; after DHCP: " + "; ".join(
                "%s: %s" % kv for kv in sorted(nets.items()))
        bad = want(nets.get(MASTER, "").startswith("net_failover "),
                   "want %s driven by net_failover" % MASTER)
        lows = sorted(v.split()[0] for n, v in nets.items()
                      if "master=%s " % MASTER in v + " ")
        bad += want(lows == ["e1000e", "virtio_net"],
                    "want lowers e1000e and virtio_net under %s" % MASTER)
        return view or "no data", bad
    checks.append(("the triple forms at boot (%s: virtio_net + e1000e)"
                   % MASTER, triple))

    def dhcp(r):
        f = r["f"]
        nets = {k[4:]: v for k, v in f.items() if k.startswith("net.")}
        addrs = {n: re.sub(r".*ipv4=", "", v) for n, v in nets.items()}
        nd = block_text(r, "networkctl")[0]
        st = re.search(r"%s\s+\S+\s+(\S+\s+\S+)" % MASTER, nd)
        tx, rx = ping_counts(block_text(r, "ping")[0])
        view = "master %s, lowers [%s], networkd %s, ping %d/%d" % (
            addrs.get(MASTER) or "none",
            " ".join(a for n, a in addrs.items() if n != MASTER),
            st.group(1) if st else "?", rx, tx)
        bad = want(re.fullmatch(r"10\.0\.2\.\d+/24", addrs.get(MASTER, "")),
                   "want 10.0.2.x/24 on %s" % MASTER)
        bad += want(not any(a for n, a in addrs.items() if n != MASTER),
                    "want no IPv4 on the lowers")
        bad += want(st and st.group(1) == "routable configured",
                    "want networkd routable configured")
        bad += want(tx and rx == tx, "want every echo reply")
        return view, bad
    checks.append(("networkd: DHCP on the master, ping 10.0.2.2", dhcp))

    def initrd(r):
        f = r["f"]
        lst = block_text(r, "initrd.list")[0]
        view = "; ".join("%s: %s" % (m, f.get("initrd." + m, "none"))
                         for m in ("failover", "net_failover"))
        view += " (list %ss, unpack %ss)" % (
            f.get("initrd.list.secs", "?"), f.get("initrd.unpack.secs", "?"))
        bad = []
        for m in ("failover", "net_failover"):
            got = dict(x.rsplit("=", 1) for x in
                       f.get("initrd." + m, "").split())
            disk = f.get("mod.%s.file" % m, "")
            bad += want(got.get(disk) == "same",
                        "%s: want %s in the initramfs, identical to the file "
                        "on disk" % (m, disk or "modinfo's file"))
            # dkms 3.2 (Debian 13) keeps the kernel's own module in its
            # original_module directory while ours is installed: the
            # initramfs has it in kernel/ for the fallback
            bad += want(all(v == "same" or (v == "original" and
                                            where(k) == "kernel")
                            for k, v in got.items()),
                        "%s: a copy differs from the disk's" % m)
            if b["mods"] == "kernel":
                bad += want(not any(where(k) == "updates" for k in got),
                            "%s: want no updates/ copy" % m)
            bad += want(re.search(r"/%s/.*/%s\.ko" % (b["mods"], m), lst),
                        "%s: lsinitramfs does not list %s/" % (m, b["mods"]))
        return view, bad
    checks.append(("initramfs holds the modules on disk (%s/)" % b["mods"],
                   initrd))

    if b["args"]:
        def sig(r):
            d = block_text(r, "dmesg")[0]
            lines = [l for l in d.splitlines() if SIG_RE.search(l)]
            cmd = block_text(r, "cmdline")[0]
            view = " | ".join(lines[:3]) or "no rejection in dmesg"
            bad = want(b["args"] in cmd, "not on the command line")
            bad += want(lines, "want 'Loading of ... is rejected' in dmesg")
            return view, bad
        checks.append(("%s: ours refused (dmesg)" % b["args"], sig))

    if "hotplug" in b["steps"]:
        def hp(r):
            f, h = r["f"], r["host"]
            tx, rx = ping_counts(block_text(r, "hp.ping")[0])
            atx, arx = ping_counts(block_text(r, "hp.after")[0])
            line = sorted((float(k[6:]), v) for k, v in f.items()
                          if k.startswith("hp.at."))
            i0 = f.get("hp.before", "").split()[-1:]
            final = line[-1][1] if line else ""
            m = re.match(r"lowers (\d) primary (\S+) ifindex (\S+) "
                         r"carrier (\S+)", final)
            view = ("QMP deleted at %ss, added at %ss; guest (%s): %s; "
                    "pings %d/%d (%d lost), after %d/%d; master %s" % (
                        h.get("hp.deleted", "?"), h.get("hp.added", "?"),
                        f.get("hp.before", "?"), " | ".join(
                            "%.1f %s" % x for x in line), rx, tx, tx - rx,
                        arx, atx, f.get("hp.ipv4", "?")))
            bad = want(h.get("hp.deleted", "no") not in ("no", "error"),
                       "no DEVICE_DELETED: %s" % h.get("hp.error", ""))
            bad += want("hp.added" in h, "no device_add")
            bad += want(m and m.group(1) == "2" and m.group(4) == "1" and
                        [m.group(3)] != i0,
                        "want a new primary (new ifindex) enslaved, "
                        "carrier on")
            bad += want(f.get("hp.ipv4") and f.get("hp.ipv4") ==
                        f.get("net." + MASTER, "").split("ipv4=")[-1],
                        "want the master's address kept")
            lows = sorted(v.split()[0] for k, v in f.items()
                          if k.startswith("hp.net.") and
                          "master=%s " % MASTER in v + " ")
            bad += want(lows == ["e1000e", "virtio_net"],
                        "want e1000e and virtio_net under %s after" % MASTER)
            # a loaded TCG host loses a few echoes with no unplug at all
            bad += want(tx >= 20 and tx - rx <= max(5, tx // 20),
                        "want at most 5 or 5% of >= 20 pings lost (5/s)")
            bad += want(atx and arx == atx, "want every reply after")
            return view, bad
        checks.append(("QMP unplug/replug of the primary keeps the master "
                       "connected", hp))

    def apt_dkms(r, key, kv, what):
        """An apt install step (block KEY, its KEY.dkms status and the
        fact KEY.net_failover, modinfo -n): apt succeeded, dkms says
        installed for KV, modinfo finds ours in updates/."""
        f = r["f"]
        out, rc = block_text(r, key)
        st = block_text(r, key + ".dkms")[0]
        view = "apt rc %s in %ss; dkms status: %s; modinfo -n%s %s" % (
            rc, f.get(key + ".secs", "?"),
            " | ".join(st.splitlines()) or "empty",
            "" if kv == r.get("kv") else " -k " + kv,
            f.get(key + ".net_failover", "?"))
        bad = want(rc == "0", "apt install failed: %s" % " | ".join(
            out.splitlines()[-3:]))
        bad += want(re.search(r"%s.*: installed" % re.escape(kv), st),
                    "want dkms installed for %s" % kv)
        bad += want("/updates/" in f.get(key + ".net_failover", ""),
                    "want modinfo -n in updates/ after %s" % what)
        return view, bad

    if "install_pkgs" in b["steps"]:
        checks.append(("apt install of the packages from local files, "
                       "dkms builds and installs",
                       lambda r: apt_dkms(r, "install", r.get("kv", "?"),
                                          "install")))

    if "signing" in b["steps"]:
        def signing(r):
            f = r["f"]
            key = f.get("sign.key", "")
            signer = f.get("sign.signer", "")
            view = "dkms %s; key %s; signer '%s'; conf %s" % (
                f.get("sign.dkms", "?"), key or "none", signer,
                block_text(r, "sign.conf")[0].replace("\n", " | ") or "-")
            if not key:
                return view, ["SKIP dkms %s made no signing key (no "
                              "mok.pub): it does not sign" %
                              f.get("sign.dkms", "?")]
            cn = re.search(r"CN\s*=\s*(.*)", key)
            return view, want(signer and cn and
                              signer.strip() == cn.group(1).strip(),
                              "want our module signed by the dkms key")
        checks.append(("dkms signed our module (modinfo signer)", signing))

    if "install_bpo" in b["steps"]:
        checks.append(("the backports %s kernel installs offline, dkms "
                       "builds ours for it" % BPO_KV,
                       lambda r: apt_dkms(r, "bpo", BPO_KV,
                                          "the kernel's install")))

    if "purge_pkgs" in b["steps"]:
        def purge(r):
            f = r["f"]
            out, rc = block_text(r, "purge")
            st = block_text(r, "purge.dkms")[0]
            view = "apt rc %s in %ss; dkms status '%s'; left: '%s'; " \
                "modinfo -n %s" % (rc, f.get("purge.secs", "?"),
                                   st.replace("\n", " | "),
                                   f.get("purge.left", ""),
                                   f.get("purge.net_failover", "?"))
            bad = want(rc == "0", "apt purge failed: %s" % " | ".join(
                out.splitlines()[-3:]))
            # dkms 3.0's status may also print its own "echo: write
            # error: Broken pipe" (an internal pipeline) when it has no
            # module left: what counts is that ours is not listed
            bad += want("net-failover" not in st,
                        "want net-failover gone from dkms status")
            bad += want(not f.get("purge.left", "").strip(),
                        "want no failover module under updates/")
            bad += want("/kernel/" in f.get("purge.net_failover", ""),
                        "want modinfo -n in kernel/")
            return view, bad
        checks.append(("apt purge removes ours everywhere", purge))
    return checks


def timings(r):
    f = r.get("f", {})
    parts = ["boot+step %.0f s" % r.get("secs", 0)]
    for k, label in (("t.step", "step starts"), ("t.triple", "triple"),
                     ("t.ipv4", "ipv4"), ("t.end", "step ends")):
        if k in f:
            parts.append("%s at %s" % (label, f[k]))
    for k in sorted(f):
        if k.endswith(".secs"):
            parts.append("%s %s s" % (k[:-5], f[k]))
    return ", ".join(parts)


# ---------------------------------------------------------------- main

def build_debs(args):
    if args.debs:
        d = os.path.abspath(args.debs)
    else:
        d = os.path.join(ROOT, "dist")
        if not args.no_build:
            r = subprocess.run(["make", "-C", ROOT, "deb"],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
            if r.returncode:
                sys.stderr.write(r.stderr.decode(errors="replace")[-3000:])
                return None, "make deb failed"
    debs = sorted(os.path.join(d, x) for x in os.listdir(d)
                  if x.endswith(".deb")) if os.path.isdir(d) else []
    if not any("dkms" in os.path.basename(x) for x in debs):
        return None, "no *dkms*.deb in %s" % d
    pkgs = []
    for x in debs:
        r = subprocess.run(["dpkg-deb", "-f", x, "Package"],
                           stdout=subprocess.PIPE)
        pkgs.append(r.stdout.decode().strip())
    return (debs, pkgs), None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dist", default="12,13",
                    help="guests, in this order (default 12,13)")
    ap.add_argument("--debs", help="directory of the .debs to install "
                    "(default: make deb, then dist/)")
    ap.add_argument("--no-build", action="store_true",
                    help="do not run make deb; use dist/ as it is")
    ap.add_argument("--out", help="output directory (default "
                    ".cache/pkg-runs/<date>)")
    ap.add_argument("--timeout", type=int, default=2400,
                    help="seconds for the whole run (default 2400)")
    ap.add_argument("--boot-timeout", type=int, default=900,
                    help="seconds for one boot and its step (default 900)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the guests' disks in OUT")
    ap.add_argument("--recheck", metavar="OUT",
                    help="no boot: judge the result.json files of an "
                    "earlier run again")
    args = ap.parse_args()
    dists = [d for d in args.dist.split(",") if d]
    if not dists or set(dists) - set(SCENARIO):
        ap.error("--dist: 12, 13 or both")
    t0 = time.monotonic()
    end = t0 + args.timeout
    print("TAP version 13", flush=True)
    if args.recheck:
        pass
    elif os.geteuid() != 0:
        print("1..0 # SKIP needs root (debootstrap and chroot for the "
              "images)")
        return 4
    for tool in ("qemu-system-x86_64", "debugfs", "dpkg-deb"):
        if not shutil.which(tool) and not args.recheck:
            print("1..0 # SKIP %s not installed" % tool)
            return 4
    plan = [(d, i, b, checks_for(d, b)) for d in dists
            for i, b in enumerate(SCENARIO[d])]
    print("1..%d" % (len(dists) + sum(len(p[3]) for p in plan)), flush=True)
    out = os.path.abspath(args.recheck or args.out or os.path.join(
        ROOT, ".cache", "pkg-runs", time.strftime("%Y%m%d-%H%M%S")))
    os.makedirs(out, exist_ok=True)
    lines = []

    def emit(text):
        lines.append(text)
        print(text, flush=True)

    n = failed = skipped = 0
    debs, why = ((None, None), None) if args.recheck else build_debs(args)
    for d in dists:
        n += 1
        t1 = time.monotonic()
        img = None
        if args.recheck:
            img = os.path.join(out, "d%s" % d)
            why = "no %s" % img
            img = img if os.path.isdir(img) else None
        elif debs:
            r = subprocess.run([os.path.join(HERE, "package_image.sh"), d],
                               stdout=subprocess.PIPE)
            cand = (r.stdout.decode().split() or [""])[-1]
            img = cand if r.returncode == 0 and os.path.exists(cand) else None
            why = None if img else "package_image.sh %s exit %d" % (
                d, r.returncode)
        disk = os.path.join(out, "d%s" % d, "disk.img")
        if img and not args.recheck:
            os.makedirs(os.path.dirname(disk), exist_ok=True)
            subprocess.run(["cp", "--sparse=always", img, disk], check=True)
        emit("# debian %s: image %s, packages %s (%.0f s)" % (
            d, img or why, " ".join(debs[1] or ["-"]) if debs else "-",
            time.monotonic() - t1))
        emit("%s %d debian %s: image and disk ready" % (
            "ok" if img else "not ok", n, d))
        failed += not img
        dead = not img
        for dd, i, b, checks in [p for p in plan if p[0] == d]:
            name = "d%s %d-%s" % (d, i + 1, b["name"])
            left = end - time.monotonic()
            bdir = os.path.join(out, "d%s" % d, "%d-%s" % (i + 1,
                                                           b["name"]))
            if args.recheck:
                r, reason = None, "no %s/result.json" % bdir
                if os.path.exists(os.path.join(bdir, "result.json")):
                    with open(os.path.join(bdir, "result.json")) as f:
                        r = json.load(f)
                    emit("# %s: %s" % (name, timings(r)))
            elif dead or left < 60:
                r = None
                reason = why or ("earlier boot failed" if dead else
                                 "out of time (--timeout %d)" % args.timeout)
            else:
                r = boot(disk, b, debs[0], debs[1], bdir,
                         min(args.boot_timeout, left))
                emit("# %s: %s" % (name, timings(r)))
                # a guest that did not power off cleanly leaves the next
                # boot nothing to test
                dead = r["status"] != "ok"
                reason = r["status"]
            for cname, fn in checks:
                n += 1
                if r is None:
                    emit("not ok %d %s: %s # %s" % (n, name, cname, reason))
                    failed += 1
                    continue
                try:
                    view, bad = fn(r)
                except (KeyError, IndexError, ValueError, TypeError) as e:
                    view, bad = "check error", ["%r" % e]
                emit("#   %s" % view)
                if bad and all(p.startswith("SKIP ") for p in bad):
                    emit("ok %d %s: %s # %s" % (n, name, cname, bad[0]))
                    skipped += 1
                    continue
                for p in bad:
                    emit("#   %s" % p)
                emit("%s %d %s: %s" % ("not ok" if bad else "ok", n, name,
                                       cname))
                failed += bool(bad)
        if os.path.exists(disk) and not args.keep:
            os.unlink(disk)
    emit("# package_guest: %d passed, %d failed, %d skipped in %.0f s "
         "(logs %s)" % (n - failed - skipped, failed, skipped,
                        time.monotonic() - t0, out))
    with open(os.path.join(out, "results.ktap"), "w") as f:
        f.write("TAP version 13\n" + "\n".join(lines) + "\n")
    return 1 if failed else 0


def on_sigterm(signum, frame):
    raise SystemExit(1)  # unwinds: QEMU killed by kill_qemus


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_sigterm)
    atexit.register(kill_qemus)
    sys.exit(main())
