#!/usr/bin/env python3
"""A userspace impairment relay for the fault tests (this kernel has no sch_netem).

Run inside one of the test's network namespaces (`ip netns exec NS impair.py ...`). UDP this
namespace sends to PEER is routed into a TUN device; the relay holds each packet for a delay
(base +- uniform jitter, so packets reorder as on a real jittery path), drops a share at random,
and writes the survivors out through a raw socket whose packets carry a firewall mark that routes
them the normal way. It touches only the namespace it runs in, exits after --seconds at the
latest, and holds at most --max-packets packets.

Control: lines on stdin, `delay MS jitter MS loss PERCENT` (any subset); `quit` ends it.
"""
import argparse
import fcntl
import heapq
import os
import random
import select
import socket
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MARK = 0x77
TABLE = "77"


def ip(*args):
    subprocess.run(["ip", *args], check=True)


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tun", required=True)
    ap.add_argument("--peer", required=True, help="the other namespace's address")
    ap.add_argument("--seconds", type=float, default=120.0, help="lifetime bound")
    ap.add_argument("--max-packets", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    fd = open_tun(a.tun)
    ip("link", "set", a.tun, "up")
    ip("route", "replace", f"{a.peer}/32", "dev", a.tun, "table", TABLE)
    # Marked packets (ours, going out for real) take the main table; other UDP to the peer the tun.
    ip("rule", "add", "fwmark", hex(MARK), "lookup", "main", "priority", "100")
    ip("rule", "add", "to", a.peer, "ipproto", "udp", "lookup", TABLE, "priority", "101")
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, MARK)
    delay, jitter, loss = 0.0, 0.0, 0.0
    held = []  # (due, n, packet)
    n = 0
    counts = {"in": 0, "out": 0, "lost": 0, "overflow": 0}
    end = time.monotonic() + a.seconds
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)
    pending_line = b""
    print("ready", flush=True)
    try:
        while time.monotonic() < end:
            now = time.monotonic()
            while held and held[0][0] <= now:
                _, _, pkt = heapq.heappop(held)
                dst = socket.inet_ntoa(pkt[16:20])
                try:
                    raw.sendto(pkt, (dst, 0))
                    counts["out"] += 1
                except OSError:
                    counts["lost"] += 1
            timeout = min(0.05, max(0.0, held[0][0] - now)) if held else 0.05
            ready, _, _ = select.select([fd, stdin], [], [], timeout)
            if stdin in ready:
                chunk = os.read(stdin, 4096)
                if not chunk:
                    stdin = -1
                pending_line += chunk
                while b"\n" in pending_line:
                    line, pending_line = pending_line.split(b"\n", 1)
                    words = line.decode().split()
                    if words[:1] == ["quit"]:
                        return
                    for k, v in zip(words[::2], words[1::2]):
                        if k == "delay":
                            delay = float(v) / 1000
                        elif k == "jitter":
                            jitter = float(v) / 1000
                        elif k == "loss":
                            loss = float(v) / 100
                    print(f"set delay {delay * 1000:.0f} ms jitter {jitter * 1000:.0f} ms loss {loss * 100:.0f}%", flush=True)
                if stdin == -1:
                    ready = [fd]
            if fd in ready:
                while True:
                    try:
                        pkt = os.read(fd, 65535)
                    except BlockingIOError:
                        break
                    if len(pkt) < 20 or pkt[0] >> 4 != 4:
                        continue
                    counts["in"] += 1
                    if rng.random() < loss:
                        counts["lost"] += 1
                        continue
                    if len(held) >= a.max_packets:
                        counts["overflow"] += 1
                        continue
                    d = max(0.0, delay + rng.uniform(-jitter, jitter))
                    n += 1
                    heapq.heappush(held, (time.monotonic() + d, n, pkt))
    finally:
        print(f"done {counts}", flush=True)
        subprocess.run(["ip", "rule", "del", "priority", "101"], check=False)
        subprocess.run(["ip", "rule", "del", "priority", "100"], check=False)


if __name__ == "__main__":
    main()
