"""Cluster start time and the register workload's op rate, in real containers.

    .venv/bin/python -m benchmarks.cluster [--nodes 3] [--seconds 10] [--concurrency 1,5,10,20]

Prints the image lookup, cluster-ready time, and for each concurrency the recorded ops/s and
latency quantiles with no faults and no rate limit. Figures, not asserts: the machine is noisy.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

from checkers.history import HistoryWriter, read_history
from harness.containers import DockerCluster, connect
from harness.dbs.base import Nodes
from harness.dbs.raft import RaftDB
from harness.image import node_image
from harness.interpreter import Interpreter
from harness.report.html import spans
from workloads.generator import Generator
from workloads.register import Register


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--concurrency", default="1,5,10,20")
    p.add_argument("--subnet", default="10.239.0.0/24")
    args = p.parse_args()

    client = connect()
    t = time.monotonic()
    tag = node_image(client)
    print(f"image lookup/build: {time.monotonic() - t:.2f} s ({tag})")
    cluster = DockerCluster(client, f"bench-{secrets.token_hex(3)}", tag, args.subnet, args.nodes)
    try:
        t = time.monotonic()
        remote = cluster.create()
        created = time.monotonic() - t
        db = RaftDB.from_pairs()
        db.bind(Nodes(remote, cluster.addresses))
        workload = Register.from_pairs()
        for node in cluster.nodes:
            db.setup(node)
        leader = db.wait_ready(60)
        print(f"cluster of {args.nodes}: containers {created:.2f} s, ready (leader {leader}) "
              f"{time.monotonic() - t:.2f} s")
        print("concurrency  ops/s   ok%   p50 ms  p99 ms")
        for c in (int(x) for x in args.concurrency.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "history.jsonl"
                with HistoryWriter(path) as history:
                    interp = Interpreter(history, Generator(workload.next_op, 1, c, rate=1e6),
                                         workload.invoke, lambda n: db.connect(n, 5.0), cluster.nodes)
                    interp.start(args.seconds)
                    interp.join(args.seconds + 30)
                done = [s for s in spans(read_history(path)) if s.end is not None]
            lat = sorted((s.end - s.start) / 1e6 for s in done)
            ok = sum(s.type == "ok" for s in done)
            q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [0.0] * 99
            print(f"{c:11d} {len(done) / args.seconds:7.0f} {100 * ok / max(len(done), 1):5.0f} "
                  f"{q[49]:8.1f} {q[98]:7.1f}")
    finally:
        cluster.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
