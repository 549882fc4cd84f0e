"""Checker benchmark: published histories against Porcupine's times, and one large history.

    .venv/bin/python benchmarks/checker.py [--repeat N] [--skip-big] [--big-ops N]

Times are checking CPU time only (parsing excluded, as in Porcupine's benchmarks; CPU time
because the machine may be shared), best of `--repeat` runs per file. Porcupine's figures
come from tests/data/histories/porcupine-times.tsv.
The large history (100,000 ops, 100 keys, 50 processes from the simulated store) runs in a
child process so its peak memory (max RSS) is its own.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from checkers.api import check_file, check_history  # noqa: E402
from checkers.simulate import simulate  # noqa: E402

HISTORIES = ROOT / "tests" / "data" / "histories"
EXPECTED = {"linearizable": True, "not-linearizable": False}


def porcupine_times() -> dict[tuple[str, str], float]:
    with open(HISTORIES / "porcupine-times.tsv") as f:
        return {(r["file"], r["model"]): float(r["porcupine_seconds"]) for r in csv.DictReader(f, delimiter="\t")}


def set_name(file: str) -> str:
    return "/".join(file.split("/")[:2])


def bench_published(repeat: int) -> None:
    manifest = json.loads((HISTORIES / "MANIFEST.json").read_text())
    porcupine = porcupine_times()
    totals: dict[str, float] = defaultdict(float)
    theirs: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    wrong = []
    slowest: list[tuple[float, str]] = []
    for e in manifest:
        if e["ops"] == 0:
            continue  # no client operation: `check_file` refuses it (nothing to check)
        best = float("inf")
        result = None
        for _ in range(repeat):
            result = check_file(
                HISTORIES / e["file"],
                format=e["format"],
                model=e["model"],
                init=e["initial_state"],
                time_limit=60,
                shrink=False,
            )
            best = min(best, result["cpu_seconds"])
        assert result is not None
        if e["expected"] in EXPECTED and result["valid"] is not EXPECTED[e["expected"]]:
            wrong.append(e["file"])
        name = set_name(e["file"])
        totals[name] += best
        counts[name] += 1
        slowest.append((best, e["file"]))
        model = "kv-partitioned" if e["format"] == "porcupine-kv" else "etcd-cas-register"
        if (e["file"], model) in porcupine:
            theirs[name] += porcupine[(e["file"], model)]
        if e["file"].endswith("etcd_002.log"):
            print(f"etcd_002.log: {best:.4f} s   (Porcupine {porcupine[(e['file'], model)]:.4f} s)")
    print(f"{'set':28} {'files':>5} {'ours (s)':>10} {'Porcupine (s)':>14}")
    for name in sorted(totals):
        p = f"{theirs[name]:.4f}" if name in theirs else "-"
        print(f"{name:28} {counts[name]:5d} {totals[name]:10.4f} {p:>14}")
    print("slowest:", ", ".join(f"{f.split('/')[-1]} {t:.3f}s" for t, f in sorted(slowest, reverse=True)[:5]))
    print("wrong verdicts:", wrong or "none")


def bench_big(n_ops: int) -> dict[str, float]:
    """Generate and check the large history; runs in the child process."""
    t0 = time.monotonic()
    events = simulate(seed=42, n_ops=n_ops, n_procs=50, keys=list(range(100)), p_info=0.01, concurrency=0.9)
    generated = time.monotonic() - t0
    invoked = sum(e.type == "invoke" and e.process != "nemesis" for e in events)
    result = check_history(events, time_limit=600)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "invoked": invoked,
        "ops": result["ops"],
        "keys": result["keys"],
        "valid": result["valid"],
        "generate_seconds": generated,
        "check_seconds": result["seconds"],
        "check_cpu_seconds": result["cpu_seconds"],
        "peak_rss_mib": rss,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--big-ops", type=int, default=100_000)
    ap.add_argument("--big-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.big_child:
        print(json.dumps(bench_big(args.big_ops)))
        return
    bench_published(args.repeat)
    if not args.skip_big:
        out = subprocess.run(
            [sys.executable, __file__, "--big-child", "--big-ops", str(args.big_ops)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        big = json.loads(out)
        print(
            f"generated: {big['invoked']} ops invoked ({big['ops']} left once failed cas are dropped), "
            f"{big['keys']} keys, 50 processes: valid={big['valid']} "
            f"check {big['check_cpu_seconds']:.2f} s CPU ({big['check_seconds']:.2f} s wall), "
            f"peak RSS {big['peak_rss_mib']:.0f} MiB "
            f"(generation {big['generate_seconds']:.2f} s, not counted)"
        )


if __name__ == "__main__":
    main()
