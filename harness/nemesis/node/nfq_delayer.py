"""Runs on a node: delays, reorders, duplicates and corrupts packets from an NFQUEUE queue.

This is the packet nemesis's fallback for kernels without tc netem. An iptables rule sends the
node's outgoing peer packets to queue `--queue` (with --queue-bypass, so packets flow when this
program is not running); this program holds each one for delay ± jitter (uniform, like netem's
default) and then lets it go. A `--reorder` fraction of packets skips the delay and overtakes the
ones held. `--duplicate` sends a copy of a packet through a raw socket, marked so that the
queue rule lets the copy pass. `--corrupt` flips one random bit after the IP header, so the
receiver's checksum check drops it, as netem's corruption does. Counters go to `--stats` every
second and at exit (SIGTERM releases every held packet first).

Standard library only (ctypes over libnetfilter_queue.so.1), because it runs in the node image.
"""

import argparse
import ctypes
import errno
import heapq
import json
import os
import random
import select
import signal
import socket
import struct
import time

NF_ACCEPT = 1
NFQNL_COPY_PACKET = 2
SO_MARK = 36
CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)


def load() -> ctypes.CDLL:
    lib = ctypes.CDLL("libnetfilter_queue.so.1", use_errno=True)
    vp, u32 = ctypes.c_void_p, ctypes.c_uint32
    for name, res, args in (
        ("nfq_open", vp, []),
        ("nfq_close", ctypes.c_int, [vp]),
        ("nfq_create_queue", vp, [vp, ctypes.c_uint16, CALLBACK, vp]),
        ("nfq_destroy_queue", ctypes.c_int, [vp]),
        ("nfq_set_mode", ctypes.c_int, [vp, ctypes.c_uint8, ctypes.c_uint]),
        ("nfq_set_queue_maxlen", ctypes.c_int, [vp, u32]),
        ("nfq_fd", ctypes.c_int, [vp]),
        ("nfq_handle_packet", ctypes.c_int, [vp, ctypes.c_char_p, ctypes.c_int]),
        ("nfq_get_msg_packet_hdr", vp, [vp]),
        ("nfq_get_payload", ctypes.c_int, [vp, ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte))]),
        ("nfq_set_verdict", ctypes.c_int, [vp, u32, u32, u32, ctypes.c_char_p]),
    ):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--queue", type=int, required=True)
    p.add_argument("--mark", type=int, required=True, help="mark on duplicates, which the queue rule skips")
    p.add_argument("--delay-ms", type=float, default=0.0)
    p.add_argument("--jitter-ms", type=float, default=0.0)
    p.add_argument("--reorder", type=float, default=0.0, help="probability a packet skips the delay")
    p.add_argument("--duplicate", type=float, default=0.0, help="probability a packet is sent twice")
    p.add_argument("--corrupt", type=float, default=0.0, help="probability a packet gets one bit flipped")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stats", required=True, help="JSON counters, rewritten every second")
    a = p.parse_args()

    rng = random.Random(a.seed)
    lib = load()
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    raw.setsockopt(socket.SOL_SOCKET, SO_MARK, a.mark)
    held: list[tuple[float, int, int, bytes | None]] = []  # (due, seq, packet id, payload to send twice)
    stats = {"packets": 0, "delayed": 0, "reordered": 0, "duplicated": 0, "corrupted": 0, "overruns": 0}
    seq = 0

    def on_packet(qh: int, _msg: int, nfad: int, _data: int) -> int:
        nonlocal seq
        packet_id = struct.unpack("!I", ctypes.string_at(lib.nfq_get_msg_packet_hdr(nfad), 4))[0]
        ptr = ctypes.POINTER(ctypes.c_ubyte)()
        size = lib.nfq_get_payload(nfad, ctypes.byref(ptr))
        payload = ctypes.string_at(ptr, size) if size > 0 else b""
        stats["packets"] += 1
        now = time.monotonic()
        if a.reorder and rng.random() < a.reorder:
            due = now
            stats["reordered"] += 1
        else:
            due = now + max(0.0, a.delay_ms + rng.uniform(-a.jitter_ms, a.jitter_ms)) / 1000
            stats["delayed"] += due > now
        if a.corrupt and payload and rng.random() < a.corrupt:
            header = (payload[0] & 0x0F) * 4
            if len(payload) > header:
                data = bytearray(payload)
                data[rng.randrange(header, len(data))] ^= 1 << rng.randrange(8)
                lib.nfq_set_verdict(qh, packet_id, NF_ACCEPT, len(data), bytes(data))
                stats["corrupted"] += 1
                return 0
        copy = payload if a.duplicate and payload and rng.random() < a.duplicate else None
        seq += 1
        heapq.heappush(held, (due, seq, packet_id, copy))
        return 0

    callback = CALLBACK(on_packet)
    handle = lib.nfq_open()
    if not handle:
        raise SystemExit(f"nfq_open failed: {os.strerror(ctypes.get_errno())}")
    queue = lib.nfq_create_queue(handle, a.queue, callback, None)
    if not queue:
        raise SystemExit(f"nfq_create_queue {a.queue} failed: {os.strerror(ctypes.get_errno())}")
    lib.nfq_set_mode(queue, NFQNL_COPY_PACKET, 0xFFFF)
    lib.nfq_set_queue_maxlen(queue, 8192)
    fd = lib.nfq_fd(handle)

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def release(until: float) -> None:
        while held and held[0][0] <= until:
            _, _, packet_id, copy = heapq.heappop(held)
            lib.nfq_set_verdict(queue, packet_id, NF_ACCEPT, 0, None)
            if copy is not None:
                try:
                    raw.sendto(copy, (socket.inet_ntoa(copy[16:20]), 0))
                    stats["duplicated"] += 1
                except OSError:
                    pass

    def write_stats() -> None:
        tmp = a.stats + ".tmp"
        with open(tmp, "w") as f:
            json.dump(stats, f)
        os.replace(tmp, a.stats)

    write_stats()  # tells the nemesis the queue is bound
    next_stats = time.monotonic() + 1
    while not stopping:
        now = time.monotonic()
        timeout = min(max(0.0, held[0][0] - now) if held else 1.0, max(0.0, next_stats - now))
        try:
            ready, _, _ = select.select([fd], [], [], timeout)
            if ready:
                data = os.read(fd, 262144)
                lib.nfq_handle_packet(handle, data, len(data))
        except InterruptedError:
            pass
        except OSError as e:
            if e.errno != errno.ENOBUFS:
                raise
            stats["overruns"] += 1
        release(time.monotonic())
        if time.monotonic() >= next_stats:
            write_stats()
            next_stats += 1
    release(float("inf"))
    write_stats()
    lib.nfq_destroy_queue(queue)
    lib.nfq_close(handle)


if __name__ == "__main__":
    main()
