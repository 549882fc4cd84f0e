"""What explaining a counterexample costs: the check with and without the shrunk, explained core.

    .venv/bin/python benchmarks/explain.py [--ops 500 2000 5000] [--seeds 5]

Each history comes from the simulated linearizable store (one key, 10 processes, 5% timed-out
ops) with one stale read planted near the end: an acknowledged write of a value, a write of
another value after it, then a read of the first. Figures are CPU seconds of `check_history`
(the machine may be shared) without and with shrinking and explaining, the core's median size,
how many cores were 1-minimal (shrinking has a wall-clock budget of SHRINK_SECONDS, which a
loaded machine eats), and how many counterexamples named the planted read.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from checkers.api import check_history  # noqa: E402
from checkers.history import Event  # noqa: E402
from checkers.simulate import simulate  # noqa: E402


def planted(seed: int, n_ops: int) -> tuple[list[Event], int]:
    """A simulated history with a stale read planted before its last tenth; the read's event index."""
    events = simulate(seed, n_ops, 10, keys=("k",), p_info=0.05, p_nemesis=0.0, concurrency=0.6)
    at = len(events) * 9 // 10
    p, a, b = 10_000, 10**9 + 1, 10**9 + 2
    story = [("invoke", "write", a), ("ok", "write", a), ("invoke", "write", b), ("ok", "write", b),
             ("invoke", "read", None), ("ok", "read", a)]
    out = events[:at] + [Event(0, 0, p, t, f, "k", v) for t, f, v in story] + events[at:]
    return [Event(i, i, e.process, e.type, e.f, e.key, e.value) for i, e in enumerate(out)], at + 4


def cpu(events: list[Event], shrink: bool) -> tuple[float, dict]:
    start = time.process_time()
    r = check_history(events, time_limit=120, shrink=shrink)
    return time.process_time() - start, r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=int, nargs="+", default=[500, 2000, 5000])
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    print(f"{'ops':>6} {'check s':>8} {'+explain s':>10} {'core ops':>9} {'minimal':>8} {'named the read':>15}")
    for n in args.ops:
        bare, full, sizes, named, minimal = [], [], [], 0, 0
        for seed in range(args.seeds):
            events, read = planted(seed, n)
            t0, r0 = cpu(events, False)
            t1, r1 = cpu(events, True)
            assert r0["valid"] is False and r1["valid"] is False, (seed, n)
            cex = r1["counterexample"]
            bare.append(t0)
            full.append(t1)
            sizes.append(len(cex.get("core") or []))
            named += cex["op"]["index"] == read
            minimal += bool(cex.get("core_minimal"))
        print(f"{n:>6} {statistics.median(bare):>8.3f} {statistics.median(full):>10.3f} "
              f"{statistics.median(sizes):>9} {minimal:>8} {named:>9} of {args.seeds}")


if __name__ == "__main__":
    main()
