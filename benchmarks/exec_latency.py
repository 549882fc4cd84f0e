"""How long a command on a node takes to run: a fresh `docker exec` against the standing shell.

    .venv/bin/python -m benchmarks.exec_latency [--count 40] [--burn 0,4,8] [--subnet 10.210.9.0/24]

Starts one container from the node image, runs `true` `--count` times each way while `--burn`
busy processes load the host (one row per figure), and prints median, 90th percentile and
worst times. Fault packages aim at windows of a few hundred milliseconds (a vote's flight, a
leader's first append), so these figures are what decides whether they land. Figures, not
asserts.
"""

from __future__ import annotations

import argparse
import multiprocessing
import secrets
import statistics
import time
from collections.abc import Callable

import docker

from harness.containers import DockerCluster
from harness.image import node_image


def _burn() -> None:
    while True:
        pass


def _times(run: Callable[[], object], count: int) -> list[float]:
    out = []
    for _ in range(count):
        t = time.monotonic()
        run()
        out.append(time.monotonic() - t)
    return sorted(out)


def _row(name: str, times: list[float]) -> str:
    p90 = times[int(len(times) * 0.9) - 1]
    return f"{name:16} median {statistics.median(times) * 1000:8.1f} ms   p90 {p90 * 1000:8.1f} ms   " \
           f"worst {times[-1] * 1000:8.1f} ms"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=40, help="commands each way per load level (default 40)")
    p.add_argument("--burn", default="0,4,8", help="busy processes on the host, a comma list (default 0,4,8)")
    p.add_argument("--subnet", default="10.210.9.0/24", help="the container's network (default 10.210.9.0/24)")
    o = p.parse_args()
    client = docker.from_env()
    cluster = DockerCluster(client, f"bench-exec-{secrets.token_hex(4)}", node_image(client), o.subnet, 1)
    try:
        remote = cluster.create()
        for burners in (int(b) for b in o.burn.split(",")):
            procs = [multiprocessing.Process(target=_burn, daemon=True) for _ in range(burners)]
            for proc in procs:
                proc.start()
            try:
                shell = _times(lambda: remote.exec("n1", ["true"]), o.count)
                fresh = _times(lambda: remote._fresh_exec("n1", ["true"], 30), o.count)
            finally:
                for proc in procs:
                    proc.terminate()
            print(f"{burners} busy processes on {multiprocessing.cpu_count()} cores, {o.count} commands each:")
            print("  " + _row("standing shell", shell))
            print("  " + _row("fresh exec", fresh), flush=True)
    finally:
        cluster.remove()


if __name__ == "__main__":
    main()
