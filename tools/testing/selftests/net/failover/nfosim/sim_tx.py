#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Transmit minimal Ethernet frames on a netdev through AF_PACKET.

  sim_tx.py DEV COUNT        send COUNT frames, print how many were sent
  sim_tx.py DEV 0 [SECONDS]  send until killed (or SECONDS), surviving the
                             device going away: rebind by name, or by an
                             nfosim group's master when DEV is @ID

Used by the nfosim selftests as one of several concurrent senders on a
failover master; errors (device down, gone, renamed) are counted, not fatal.
"""

import gc
import signal
import socket
import sys
import time

NFOSIM = "/sys/kernel/debug/nfosim"
FRAME = (b"\x02\x6e\x66\x6f\xff\xff" + b"\x02\x6e\x66\x6f\x00\x02" +
         b"\x88\xb5" + bytes(46))


def resolve(dev):
    if dev.startswith("@"):
        try:
            with open("%s/%s/master" % (NFOSIM, dev[1:])) as f:
                return f.read().strip()
        except OSError:
            return None
    return dev


def bind(dev):
    name = resolve(dev)
    if not name:
        return None
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    try:
        s.bind((name, 0))
    except OSError:
        s.close()
        return None
    return s


def send_loop(dev, count, end):
    """Send; return (sent, errors). Prints them even when interrupted."""
    sent = errors = 0
    s = bind(dev)
    try:
        while count == 0 or sent < count:
            if s is None:
                if count:
                    break
                time.sleep(0.02)
                s = bind(dev)
                continue
            try:
                s.send(FRAME)
                sent += 1
            except OSError:
                errors += 1
                s.close()
                s = None
            if end and not sent % 256 and time.monotonic() > end:
                break
    finally:
        print("%d %d" % (sent, errors))
        sys.stdout.flush()
    return sent, errors


def main():
    dev, count = sys.argv[1], int(sys.argv[2])
    limit = float(sys.argv[3]) if len(sys.argv) > 3 else 0
    gc.disable()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    end = time.monotonic() + limit if limit else None
    sent, _ = send_loop(dev, count, end)
    return 0 if count == 0 or sent == count else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
