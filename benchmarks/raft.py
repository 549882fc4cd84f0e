"""Our Raft node's speed in real containers, beside etcd's in the same setup: throughput, latency, failover.

    .venv/bin/python -m benchmarks.raft [--system raft,etcd] [--seconds 5] [--concurrency 1,4,16,32] [--failovers 5]

Each system gets a 3-node cluster of its own image on a project-created network (one after the
other, never both at once: the machine has few cores). Load comes from the host straight to the
leader's client port, one keep-alive TCP connection per client, each client sending its next
request as soon as the previous one is answered (closed loop), on 8 keys. Prints write throughput
and p50/p99 latency per concurrency, linearizable read throughput (our ReadIndex; etcd's default
range), a transport ceiling (a request that involves no consensus: our status, etcd's /version)
and the time from SIGKILL of the leader to the first write acknowledged by a new leader; then both
systems side by side with the ratio ours/etcd. "client cpu" is the host-side client's CPU time as
a share of one core: near 100 % the client, not the system, would be the limit. Figures, not
asserts: the machine is noisy. No faults other than the kills.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import signal
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import docker

from benchmarks.etcd import EtcdSystem
from contract.client import Definite, Indeterminate
from harness.containers import DockerCluster, connect
from harness.dbs.base import Nodes
from harness.dbs.raft import CLIENT_PORT, RaftConnection, RaftDB
from harness.image import etcd_image, node_image
from harness.remote.docker import DockerRemote

OPS = {"write": "write", "read": "read", "noop": "status"}  # row name -> our node's op


class System(Protocol):
    """What the runner needs from a system under benchmark (ours in this file, etcd's in benchmarks/etcd.py)."""

    name: str
    addresses: dict[str, str]

    def wait_ready(self, timeout: float) -> str: ...

    def max_term(self) -> int: ...

    async def client(self, node: str, op: str, stop_at: float, latencies: list[float], errors: list[str]) -> None: ...

    def failover_once(self, timeout: float = 30.0) -> tuple[float, str, str]: ...


class RaftSystem:
    """Our node, on its newline-delimited JSON protocol."""

    name = "raft"

    def __init__(self, remote: DockerRemote, addresses: dict[str, str]) -> None:
        self.db = RaftDB.from_pairs()
        self.db.bind(Nodes(remote, addresses))
        self.addresses = addresses

    def start_all(self) -> None:
        for node in self.addresses:
            self.db.setup(node)

    def wait_ready(self, timeout: float) -> str:
        return self.db.wait_ready(timeout)

    def max_term(self) -> int:
        return max((s["term"] for s in self.db.statuses().values()), default=0)

    async def client(self, node: str, op: str, stop_at: float, latencies: list[float], errors: list[str]) -> None:
        """Closed loop on one connection; follows a not-leader hint, so a leader change costs a little, not the row."""
        reader, writer = await asyncio.open_connection(self.addresses[node], CLIENT_PORT)
        n = 0
        try:
            while time.monotonic() < stop_at:
                n += 1
                request = {"id": n, "op": OPS[op], "key": f"k{n % 8}"} | ({"value": n} if op == "write" else {})
                started = time.monotonic()
                writer.write(json.dumps(request).encode() + b"\n")
                reply = json.loads(await reader.readline())
                if reply.get("status") == "ok":
                    latencies.append(time.monotonic() - started)
                    continue
                errors.append(str(reply.get("error")))
                hint = reply.get("leader")
                if reply.get("error") == "not-leader" and hint in self.addresses and hint != node:
                    writer.close()
                    node = hint
                    reader, writer = await asyncio.open_connection(self.addresses[node], CLIENT_PORT)
                else:
                    await asyncio.sleep(0.01)  # no leader known yet: do not spin
        finally:
            writer.close()

    def failover_once(self, timeout: float = 30.0) -> tuple[float, str, str]:
        """SIGKILL the leader; seconds until a write is acknowledged by another node as leader.

        The clock starts just before the kill command is sent, so the figure includes the docker exec
        round trip that delivers the signal. The old leader is restarted afterwards.
        """
        old = self.db.wait_ready(60)
        others = [n for n in self.addresses if n != old]
        started = time.monotonic()
        self.db.kill(old)
        attempt = 0
        try:
            while time.monotonic() - started < timeout:
                node = others[attempt % len(others)]
                attempt += 1
                conn = RaftConnection(node, self.addresses, timeout=0.5)
                try:
                    conn.write("failover", attempt)
                    return time.monotonic() - started, old, conn.served_by or node
                except (Definite, Indeterminate):
                    time.sleep(0.005)
                finally:
                    conn.close()
            raise RuntimeError(f"no write acknowledged within {timeout:g} s of killing {old}")
        finally:
            self.db.start(old)


@dataclass
class Row:
    ok_per_s: float
    p50_ms: float
    p99_ms: float
    new_terms: int
    client_cpu: float  # the client's CPU seconds per wall second (1.0 = one core busy)
    errors: Counter[str]


@dataclass
class Results:
    rows: dict[tuple[str, int], Row] = field(default_factory=dict)
    failovers: list[float] = field(default_factory=list)


def measure(system: System, op: str, clients: int, seconds: float) -> Row:
    """One row: ok ops/s and latency quantiles at one concurrency.

    Leader changes during the row are counted (from the term), since on a loaded machine a stall
    longer than the election timeout can depose a leader mid-row.
    """
    leader = system.wait_ready(60)
    term = system.max_term()
    latencies: list[float] = []
    errors: list[str] = []

    async def load() -> None:
        stop_at = time.monotonic() + seconds
        await asyncio.gather(*(system.client(leader, op, stop_at, latencies, errors) for _ in range(clients)))

    cpu, wall = time.process_time(), time.monotonic()
    asyncio.run(load())
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100) if len(ms) > 1 else [float("nan")] * 99
    return Row(len(ms) / seconds, q[49], q[98], system.max_term() - term, cpu / wall, Counter(errors))


@contextmanager
def cluster_of(
    client: docker.DockerClient, name: str, image: str, subnet: str
) -> Iterator[tuple[DockerRemote, DockerCluster]]:
    """A 3-container cluster that is removed on the way out, whatever happens (Ctrl-C included)."""
    cluster = DockerCluster(client, f"bench-{name}-{secrets.token_hex(3)}", image, subnet, 3)
    try:
        yield cluster.create(), cluster
    finally:
        left = cluster.remove()
        if left:
            print(f"cleanup problems: {left}", file=sys.stderr)


def run_system(system: System, args: argparse.Namespace, log: Callable[[str], None]) -> Results:
    """Every row and failover for one running system, printed as it goes."""
    results = Results()
    leader = system.wait_ready(60)
    log(f"{system.name}: 3 nodes, leader {leader}, {args.seconds:g} s per row")
    log(f"{system.name}: op    clients   ok/s   p50 ms   p99 ms  new terms  client cpu")
    plan = [("write", c) for c in args.concurrency] + [("read", c) for c in args.read_concurrency]
    plan += [("noop", c) for c in args.noop_concurrency]
    for op, c in plan:
        row = results.rows[op, c] = measure(system, op, c, args.seconds)
        errors = f"  errors: {dict(row.errors)}" if row.errors else ""
        log(
            f"{system.name}: {op:5s} {c:7d} {row.ok_per_s:7.0f} {row.p50_ms:8.2f} {row.p99_ms:8.2f} "
            f"{row.new_terms:10d} {row.client_cpu:10.0%}{errors}"
        )
    for i in range(args.failovers):
        took, old, new = system.failover_once()
        results.failovers.append(took)
        log(
            f"{system.name}: failover {i + 1}: killed {old}, first write acknowledged with {new} as leader "
            f"after {took * 1000:.0f} ms"
        )
    return results


def _fmt_row(row: Row | None) -> str:
    if row is None:
        return f"{'-':>7} {'-':>7} {'-':>7} {'-':>4}"
    return f"{row.ok_per_s:7.0f} {row.p50_ms:7.2f} {row.p99_ms:7.2f} {row.client_cpu:4.0%}"


def _fmt_failover(times: list[float]) -> str:
    if not times:
        return f"{'-':>7} {'-':>7} {'-':>7}"
    return f"{statistics.median(times) * 1000:7.0f} {min(times) * 1000:7.0f} {max(times) * 1000:7.0f}"


def side_by_side(results: dict[str, Results], etcd_version: str) -> list[str]:
    """The summary table: ours and etcd's figures per row, and ours/etcd for throughput and failover."""
    ours, theirs = results.get("raft"), results.get("etcd")
    keys = list(dict.fromkeys(k for r in results.values() for k in r.rows))
    lines = [
        f"{'':14s}  {'raft (ours)':^28s}  {'etcd ' + etcd_version:^28s}",
        f"{'op':5s} {'clients':>8s}  {'ok/s':>7s} {'p50 ms':>7s} {'p99 ms':>7s} {'cpu':>4s}  "
        f"{'ok/s':>7s} {'p50 ms':>7s} {'p99 ms':>7s} {'cpu':>4s}  ours/etcd",
    ]
    for op, c in keys:
        a = ours.rows.get((op, c)) if ours else None
        b = theirs.rows.get((op, c)) if theirs else None
        ratio = f"{a.ok_per_s / b.ok_per_s:9.2f}" if a and b and b.ok_per_s else f"{'-':>9s}"
        lines.append(f"{op:5s} {c:8d}  {_fmt_row(a)}  {_fmt_row(b)}  {ratio}")
    heading = f"{'median':>7s} {'min':>7s} {'max':>7s}"
    lines.append(f"{'failover ms':14s}  {heading:28s}  {heading:28s}")
    ratio = "-"
    if ours and theirs and ours.failovers and theirs.failovers:
        ratio = f"{statistics.median(ours.failovers) / statistics.median(theirs.failovers):.2f}"
    mine, etcd = (_fmt_failover(r.failovers if r else []) for r in (ours, theirs))
    lines.append(f"{'':14s}  {mine:28s}  {etcd:28s}  {ratio:>9s}")
    lines.append("cpu: the host-side client's CPU time per wall second, as a share of one core")
    return lines


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--system", default="raft,etcd", help="comma-separated: raft (ours), etcd")
    p.add_argument("--seconds", type=float, default=5.0, help="per throughput row")
    p.add_argument("--concurrency", type=_ints, default=[1, 4, 16, 32])
    p.add_argument("--read-concurrency", type=_ints, default=[1, 16, 32])
    p.add_argument(
        "--noop-concurrency",
        type=_ints,
        default=[16],
        help="rows of a request with no consensus, the client+transport ceiling (empty: none)",
    )
    p.add_argument("--failovers", type=int, default=5)
    p.add_argument("--etcd-heartbeat-ms", type=int, default=100, help="etcd's default: 100")
    p.add_argument(
        "--etcd-election-ms",
        type=int,
        default=1000,
        help="etcd's default: 1000. etcd randomises its election timeout in [T, 2T); with 300 (and a heartbeat of "
        "at most 60, etcd refuses more than T/5) it matches our node's default of 300-600 ms",
    )
    p.add_argument("--subnet", default="10.238.0.0/24")
    args = p.parse_args()
    systems = [s for s in args.system.split(",") if s]
    unknown = set(systems) - {"raft", "etcd"}
    if unknown:
        p.error(f"unknown --system {', '.join(sorted(unknown))}; known: raft, etcd")

    def log(line: str) -> None:
        print(line, flush=True)

    # A plain `kill` must tear the clusters down too: SystemExit unwinds through the same finally blocks as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    client = connect()
    results: dict[str, Results] = {}
    etcd_version = "(not run)"
    for name in systems:
        if name == "raft":
            with cluster_of(client, name, node_image(client), args.subnet) as (remote, cluster):
                raft = RaftSystem(remote, cluster.addresses)
                raft.start_all()
                results[name] = run_system(raft, args, log)
        else:
            with cluster_of(client, name, etcd_image(client), args.subnet) as (remote, cluster):
                etcd = EtcdSystem(
                    remote, cluster.addresses, cluster.run_id, args.etcd_heartbeat_ms, args.etcd_election_ms
                )
                for node in cluster.nodes:
                    etcd.start(node)
                etcd.wait_ready(60)
                etcd_version = etcd.version(cluster.nodes[0])
                results[name] = run_system(etcd, args, log)
    print()
    print("\n".join(side_by_side(results, etcd_version)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
