"""Transactional checker benchmark: list-append histories of growing length.

    .venv/bin/python -m benchmarks.elle [--sizes 10000,100000] [--million] [--workload W] [--broken] [--huge-scc PATH]

Each size runs in a child process so its peak memory (max RSS) is its own. Histories come from
the simulated strict-serializable store (checkers/txn/simulate.py): 4 micro-ops per txn, 100
active keys (each retired after 256 appends, as Elle's generator does), 50 processes, 5% failed
and 5% info txns. Figures: wall and CPU seconds of the check alone (generation excluded), txns
per CPU second, peak RSS of the child and the RSS the check added on top of the generated history.
CPU time is the steadier figure on a shared machine. `--broken` corrupts 1% of the txns' reads
so the cycle search has work to do. `--huge-scc` also checks Elle's
histories/huge-scc.edn (not in this repository) with a 30 s budget.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(n: int, workload: str, broken: bool = False) -> dict[str, float | int | str | bool]:
    import random

    from checkers.txn import check
    from checkers.txn.simulate import simulate

    events = simulate(n, workload, processes=50, keys=100, mops=4, max_writes_per_key=256, seed=n,
                      fail_rate=0.05, info_rate=0.05)
    if broken:  # 1% of ok txns read every list without its last element: cycles everywhere
        rng = random.Random(n)
        for e in events:
            if e.type == "ok" and rng.random() < 0.01:
                e.value = [[f, k, v[:-1] if f == "r" and isinstance(v, list) and v else v] for f, k, v in e.value]
    before = _rss_mb()
    r = check(events, workload, "strict-serializable")
    found = sum(r.get("anomaly_counts", {}).values())
    return {"txns": n, "valid": r["valid"], "anomalies": found, "seconds": r["seconds"],
            "cpu_seconds": r["cpu_seconds"], "peak_rss_mb": _rss_mb(), "check_rss_mb": _rss_mb() - before}


def run_file(path: str) -> dict[str, object]:
    from checkers.txn import check, read_txn_history

    events = read_txn_history(path)
    r = check(events, "list-append", "strict-serializable", time_limit=30)
    return {"file": path, "valid": r["valid"], "anomaly_types": r.get("anomaly_types"), "not": r.get("not"),
            "seconds": r["seconds"], "cpu_seconds": r["cpu_seconds"], "peak_rss_mb": _rss_mb()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000")
    p.add_argument("--million", action="store_true", help="also 1,000,000 txns (minutes, several GB)")
    p.add_argument("--workload", default="list-append", choices=("list-append", "rw-register"))
    p.add_argument("--huge-scc", metavar="PATH", help="also check Elle's huge-scc.edn")
    p.add_argument("--broken", action="store_true", help="corrupt 1%% of the txns' reads (invalid histories)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        kind, _, arg = a.child.partition(":")
        out = run_file(arg) if kind == "file" else run_one(int(arg), a.workload, a.broken)
        print(json.dumps(out))
        return
    sizes = [int(s) for s in a.sizes.split(",") if s] + ([1_000_000] if a.million else [])
    title = f"{a.workload}{' (broken)' if a.broken else ''}"
    print(f"{title}: txns, valid, wall s, CPU s, txns per CPU s, peak RSS MB, RSS added by the check MB")
    prev = None
    for n in sizes:
        r = _child(f"size:{n}", a.workload, a.broken)
        rate = n / r["cpu_seconds"] if r["cpu_seconds"] else float("inf")
        growth = f"  (x{r['cpu_seconds'] / prev[1]:.1f} CPU for x{n / prev[0]:.0f} txns)" if prev else ""
        print(f"{n:>9}  {r['valid']!s:>7}  {r['seconds']:7.2f}  {r['cpu_seconds']:7.2f}  {rate:9.0f}  "
              f"{r['peak_rss_mb']:7.0f}  {r['check_rss_mb']:7.0f}{growth}")
        prev = (n, r["cpu_seconds"])
    if a.huge_scc:
        print(json.dumps(_child(f"file:{a.huge_scc}", a.workload, False)))


def _child(arg: str, workload: str, broken: bool) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.elle", "--child", arg, "--workload", workload]
    proc = subprocess.run(cmd + (["--broken"] if broken else []), cwd=ROOT, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        sys.exit(f"benchmark child {arg} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
