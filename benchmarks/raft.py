"""Our Raft node's own speed in real containers: throughput, latency, failover.

    .venv/bin/python -m benchmarks.raft [--seconds 5] [--concurrency 1,4,16,32] [--failovers 5]

A 3-node cluster; load comes from the host straight to the leader's client port, one TCP
connection per client, each client sending its next request as soon as the previous one is
answered (closed loop; the node pipelines across connections and group-commits their fsyncs).
Prints write throughput and p50/p99 latency per concurrency, linearizable (ReadIndex) read
throughput, and the time from SIGKILL of the leader to the first write acknowledged by a new
leader. Figures, not asserts: the machine is noisy. No faults other than the kills.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import time
from collections import Counter

from harness.containers import DockerCluster, connect
from harness.dbs.base import Definite, Indeterminate
from harness.dbs.raft import CLIENT_PORT, RaftConnection, RaftDB
from harness.image import node_image


async def _client(
    addresses: dict[str, str], node: str, op: str, stop_at: float, latencies: list[float], errors: list[str]
) -> None:
    """Closed loop on one connection; follows a not-leader hint, so a leader change costs a little, not the row."""
    reader, writer = await asyncio.open_connection(addresses[node], CLIENT_PORT)
    n = 0
    try:
        while time.monotonic() < stop_at:
            n += 1
            request = {"id": n, "op": op, "key": f"k{n % 8}"} | ({"value": n} if op == "write" else {})
            started = time.monotonic()
            writer.write(json.dumps(request).encode() + b"\n")
            reply = json.loads(await reader.readline())
            if reply.get("status") == "ok":
                latencies.append(time.monotonic() - started)
                continue
            errors.append(str(reply.get("error")))
            hint = reply.get("leader")
            if reply.get("error") == "not-leader" and hint in addresses and hint != node:
                writer.close()
                node = hint
                reader, writer = await asyncio.open_connection(addresses[node], CLIENT_PORT)
            else:
                await asyncio.sleep(0.01)  # no leader known yet: do not spin
    finally:
        writer.close()


async def _load(
    addresses: dict[str, str], leader: str, op: str, clients: int, seconds: float
) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    errors: list[str] = []
    stop_at = time.monotonic() + seconds
    await asyncio.gather(*(_client(addresses, leader, op, stop_at, latencies, errors) for _ in range(clients)))
    return latencies, errors


def load_line(db: RaftDB, op: str, clients: int, seconds: float) -> str:
    """One row of the throughput table: ok ops/s and latency quantiles at one concurrency.

    Leader changes during the row are counted (from the term), since on a loaded machine an
    event-loop stall longer than the election timeout can depose a leader mid-row.
    """
    leader = db.wait_ready(60)
    term = db.statuses()[leader]["term"]
    latencies, errors = asyncio.run(_load(db.addresses, leader, op, clients, seconds))
    terms = max(s["term"] for s in db.statuses().values()) - term
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100) if len(ms) > 1 else [float("nan")] * 99
    errors_note = f"  errors: {dict(Counter(errors))}" if errors else ""
    return f"{op:5s} {clients:7d} {len(ms) / seconds:8.0f} {q[49]:8.2f} {q[98]:8.2f} {terms:6d}{errors_note}"


def failover_once(db: RaftDB, timeout: float = 30.0) -> tuple[float, str, str]:
    """SIGKILL the leader; seconds until a write is acknowledged by another node as leader.

    The clock starts just before the kill command is sent, so the figure includes the docker exec
    round trip that delivers the signal. The old leader is restarted afterwards.
    """
    old = db.wait_ready(60)
    others = [n for n in db.addresses if n != old]
    started = time.monotonic()
    db.kill(old)
    attempt = 0
    try:
        while time.monotonic() - started < timeout:
            node = others[attempt % len(others)]
            attempt += 1
            conn = RaftConnection(node, db.addresses, timeout=0.5)
            try:
                conn.write("failover", attempt)
                return time.monotonic() - started, old, conn.served_by or node
            except (Definite, Indeterminate):
                time.sleep(0.005)
            finally:
                conn.close()
        raise RuntimeError(f"no write acknowledged within {timeout:g} s of killing {old}")
    finally:
        db.start(old)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=5.0, help="per throughput row")
    p.add_argument("--concurrency", default="1,4,16,32")
    p.add_argument("--read-concurrency", default="1,16,32")
    p.add_argument("--failovers", type=int, default=5)
    p.add_argument("--subnet", default="10.238.0.0/24")
    args = p.parse_args()

    client = connect()
    tag = node_image(client)
    cluster = DockerCluster(client, f"bench-raft-{secrets.token_hex(3)}", tag, args.subnet, 3)
    try:
        db = RaftDB(cluster.create(), cluster.addresses)
        for node in cluster.nodes:
            db.setup(node)
        leader = db.wait_ready(60)
        print(f"3 nodes, leader {leader}, {args.seconds:g} s per row, one connection per client, closed loop")
        print("op    clients   ok/s    p50 ms   p99 ms  new terms")
        for c in (int(x) for x in args.concurrency.split(",")):
            print(load_line(db, "write", c, args.seconds), flush=True)
        for c in (int(x) for x in args.read_concurrency.split(",")):
            print(load_line(db, "read", c, args.seconds), flush=True)
        times = []
        for i in range(args.failovers):
            took, old, new = failover_once(db)
            times.append(took)
            print(f"failover {i + 1}: killed {old}, first write acknowledged by {new} after {took * 1000:.0f} ms",
                  flush=True)
        if times:
            print(f"failover median {statistics.median(times) * 1000:.0f} ms "
                  f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})")
    finally:
        left = cluster.remove()
        if left:
            print(f"cleanup problems: {left}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
