"""Checker benchmark: published histories against Porcupine's times, and generated shapes.

    .venv/bin/python benchmarks/checker.py [--repeat N] [--skip-published] [--skip-shapes]
                                           [--skip-crowded] [--large] [--time-limit S] [--jobs N]

Times are checking CPU time only (parsing excluded, as in Porcupine's benchmarks; CPU time
because the machine may be shared), best of `--repeat` runs per file. Porcupine's figures
come from tests/data/histories/porcupine-times.tsv. Each file of Porcupine's suites gets a
row with our time, Porcupine's and the ratio; then a row per set, and the target: at most
TARGET_RATIO times Porcupine's recorded time on every set it has figures for (its kv figures
are for its partitioned model, which splits by key as our checker always does; its
unpartitioned figure is shown beside).
Generated shapes (the simulated store of checkers/simulate.py, linearizable by construction)
each run in a child process, so that peak memory (max RSS) is its own: a table by keys,
processes, ops and crashed share, with the verdict, checking CPU time, reading time (the
history written as jsonl and read back, as `harness check` does) and peak RSS, checked with
one process; then the wall time with `--jobs` processes (default: one per core) and whether
its answer is the same ("-" when a time limit cut a check short). Growth with length and with
concurrency follows, from pairs of shapes that differ in that alone. `--large` adds
million-op histories.
Crowded single-key shapes (30-80 processes, 1-5% crashed, 1,000-20,000 ops) are checked as
generated (linearizable) and with each kind of violation of `checkers.simulate.plant_anomaly`
planted in their middle third (not linearizable by construction): verdict, time, peak RSS,
and whether the counterexample names the planted op.
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from checkers.api import check_file, check_history  # noqa: E402
from checkers.simulate import ANOMALIES, plant_anomaly, simulate  # noqa: E402
from checkers.workers import default_jobs  # noqa: E402

HISTORIES = ROOT / "tests" / "data" / "histories"
EXPECTED = {"linearizable": True, "not-linearizable": False}


TARGET_RATIO = 0.5
PORCUPINE_SUITES = ("porcupine/jepsen", "porcupine/kv")


def porcupine_times() -> dict[tuple[str, str], float]:
    with open(HISTORIES / "porcupine-times.tsv") as f:
        return {(r["file"], r["model"]): float(r["porcupine_seconds"]) for r in csv.DictReader(f, delimiter="\t")}


def set_name(file: str) -> str:
    return "/".join(file.split("/")[:2])


def ratio(ours: float, theirs: float | None) -> str:
    return "-" if not theirs else f"{ours / theirs:.2f}x"


def bench_published(repeat: int) -> None:
    manifest = json.loads((HISTORIES / "MANIFEST.json").read_text())
    porcupine = porcupine_times()
    totals: dict[str, float] = defaultdict(float)
    theirs: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    wrong = []
    slowest: list[tuple[float, str]] = []
    per_file: list[float] = []  # our time over Porcupine's, file by file
    print(f"{'file':34} {'ops':>5} {'expected':>16} {'ours ms':>8} {'Porcupine ms':>12} {'ratio':>7} "
          f"{'unpartitioned ms':>16}")
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
                jobs=1,
            )
            best = min(best, result["cpu_seconds"])
        assert result is not None
        if e["expected"] in EXPECTED and result["valid"] is not EXPECTED[e["expected"]]:
            wrong.append(e["file"])
        name = set_name(e["file"])
        totals[name] += best
        counts[name] += 1
        slowest.append((best, e["file"]))
        kv = e["format"] == "porcupine-kv"
        figure = porcupine.get((e["file"], "kv-partitioned" if kv else "etcd-cas-register"))
        if figure is not None:
            theirs[name] += figure
            per_file.append(best / figure)
        if name in PORCUPINE_SUITES:
            unsplit = porcupine.get((e["file"], "kv-nopartition"))
            print(f"{e['file']:34} {e['ops']:5d} {e['expected']:>16} {best * 1e3:8.3f} "
                  f"{'-' if figure is None else f'{figure * 1e3:.3f}':>12} {ratio(best, figure):>7} "
                  f"{'-' if unsplit is None else f'{unsplit * 1e3:.3f}':>16}")
    print()
    print(f"{'set':28} {'files':>5} {'ours (s)':>10} {'Porcupine (s)':>14} {'ratio':>7}")
    for name in sorted(totals):
        p = f"{theirs[name]:.4f}" if name in theirs else "-"
        print(f"{name:28} {counts[name]:5d} {totals[name]:10.4f} {p:>14} {ratio(totals[name], theirs.get(name)):>7}")
    met = {name: totals[name] <= TARGET_RATIO * theirs[name] for name in theirs}
    print(f"target: at most {TARGET_RATIO}x Porcupine's time on every set with figures: "
          f"{'met' if all(met.values()) else 'NOT met'} ("
          + ", ".join(f"{n} {ratio(totals[n], theirs[n])}" for n in sorted(met)) + ")")
    if per_file:
        per_file.sort()
        print(f"file by file: {sum(r <= TARGET_RATIO for r in per_file)} of {len(per_file)} at most {TARGET_RATIO}x, "
              f"median {per_file[len(per_file) // 2]:.2f}x (Porcupine refutes many etcd logs in 0.1 ms, "
              "under our fixed cost per check)")
    print("slowest:", ", ".join(f"{f.split('/')[-1]} {t:.3f}s" for t, f in sorted(slowest, reverse=True)[:5]))
    print("wrong verdicts:", wrong or "none")


# (ops, keys, processes, chance of a crashed op): multi-key shapes growing in length, in
# concurrency, in keys and in crashes, then crowded single-key shapes growing in concurrency.
SHAPES = [
    (10_000, 10, 10, 0.01),
    (100_000, 10, 10, 0.01),
    (10_000, 10, 50, 0.01),
    (100_000, 10, 40, 0.01),
    (100_000, 10, 50, 0.01),
    (100_000, 10, 50, 0.05),
    (100_000, 100, 50, 0.01),
    (1_000, 1, 10, 0.01),
    (1_000, 1, 30, 0.01),
    (1_000, 1, 30, 0.05),
    (1_000, 1, 80, 0.05),
]
LARGE = [(1_000_000, 10, 50, 0.01), (1_000_000, 100, 50, 0.01)]


def drop(result: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in keys}


def bench_shape(n_ops: int, keys: int, procs: int, p_info: float, time_limit: float, jobs: int) -> dict[str, Any]:
    """Generate, write, read and check one history, with one process then `jobs`; runs in the child."""
    import tempfile

    from checkers.formats import read_events

    events = simulate(seed=42, n_ops=n_ops, n_procs=procs, keys=list(range(keys)), p_info=p_info, concurrency=0.9)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for e in events:
            f.write(json.dumps(e.to_dict()) + "\n")
    cpu = time.process_time()
    read_events(f.name, "jsonl")
    read_cpu = time.process_time() - cpu
    Path(f.name).unlink()
    one = check_history(events, time_limit=time_limit, shrink=False, jobs=1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    many = check_history(events, time_limit=time_limit, shrink=False, jobs=jobs)
    timing = ("seconds", "cpu_seconds")
    # What a check gets done before its time limit depends on speed, so only complete checks compare.
    timed_out = "time limit" in (one.get("reason"), many.get("reason"))
    same = None if timed_out else drop(one, timing) == drop(many, timing)
    return {
        "ops": one["ops"],
        "valid": one["valid"],
        "reason": one.get("reason"),
        "check_cpu_seconds": one["cpu_seconds"],
        "check_seconds": one["seconds"],
        "read_cpu_seconds": read_cpu,
        "peak_rss_mib": peak,
        "jobs_seconds": many["seconds"],
        "jobs_cpu_seconds": many["cpu_seconds"],
        "jobs_worker_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "jobs_same": same,
    }


def bench_shapes(shapes: list[tuple[int, int, int, float]], time_limit: float, jobs: int) -> None:
    print(
        f"{'ops':>9} {'keys':>4} {'procs':>5} {'crashed':>7} {'verdict':>8} {'check CPU s':>11} "
        f"{'(wall)':>8} {'read CPU s':>10} {'peak MiB':>8} | {f'--jobs {jobs} wall':>13} {'CPU':>6} "
        f"{'worker MiB':>10} {'same':>4}"
    )
    rows = {}
    for shape in shapes:
        out = subprocess.run(
            [sys.executable, __file__, "--shape-child", json.dumps([*shape, time_limit, jobs])],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = rows[shape] = json.loads(out)
        n_ops, keys, procs, p_info = shape
        verdict = {True: "valid", False: "INVALID"}.get(r["valid"], f"unknown ({r['reason']})")
        print(
            f"{n_ops:9d} {keys:4d} {procs:5d} {p_info:7.0%} {verdict:>8} {r['check_cpu_seconds']:11.2f} "
            f"{r['check_seconds']:8.2f} {r['read_cpu_seconds']:10.2f} {r['peak_rss_mib']:8.0f} | "
            f"{r['jobs_seconds']:13.2f} {r['jobs_cpu_seconds']:6.2f} {r['jobs_worker_peak_mib']:10.0f} "
            f"{ {True: 'yes', False: 'NO', None: '-'}[r['jobs_same']]:>4}",
            flush=True,
        )
    growth(rows)


def growth(rows: dict[tuple[int, int, int, float], dict[str, Any]]) -> None:
    """How checking time grows with length and with concurrency: pairs of shapes differing in that alone."""
    for what, axis in (("length", 0), ("concurrency", 2)):
        for a in rows:
            for b in rows:
                if a[axis] < b[axis] and all(a[i] == b[i] for i in range(4) if i != axis):
                    ta, tb = rows[a]["check_cpu_seconds"], rows[b]["check_cpu_seconds"]
                    ma, mb = rows[a]["peak_rss_mib"], rows[b]["peak_rss_mib"]
                    print(f"growth with {what}: {a} -> {b}: x{b[axis] / a[axis]:.3g} {what}, "
                          f"x{tb / ta:.1f} check CPU, x{mb / ma:.1f} peak memory")


# (ops, processes, chance of a crashed op): one key, concurrency 0.9.
CROWDED = [
    (1_000, 30, 0.01),
    (1_000, 30, 0.05),
    (1_000, 80, 0.05),
    (5_000, 50, 0.02),
    (20_000, 30, 0.01),
    (20_000, 80, 0.05),
]


def bench_crowded_one(n_ops: int, procs: int, p_info: float, kind: str, time_limit: float) -> dict[str, Any]:
    """Generate one crowded history, plant `kind` ("valid": nothing) and check it; runs in the child."""
    seed, planted = 42, None
    while True:
        events = simulate(seed=seed, n_ops=n_ops, n_procs=procs, keys=[0], p_info=p_info, concurrency=0.9)
        if kind == "valid":
            break
        planted = plant_anomaly(events, seed, kind)
        if planted is not None:
            events = planted[0]
            break
        seed += 1  # no place for this kind in that history: the next seed's
    result = check_history(events, time_limit=time_limit, shrink=False)  # the time to a verdict, not to a core
    named = None
    if planted is not None and result["valid"] is False:
        named = (result["counterexample"].get("op") or {}).get("index") == planted[1]
    return {
        "seed": seed,
        "valid": result["valid"],
        "reason": result.get("reason"),
        "check_cpu_seconds": result["cpu_seconds"],
        "check_seconds": result["seconds"],
        "named": named,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def bench_crowded(shapes: list[tuple[int, int, float]], time_limit: float) -> None:
    print(
        f"{'ops':>7} {'procs':>5} {'crashed':>7} {'history':>14} {'verdict':>22} {'CPU s':>7} {'wall s':>7} "
        f"{'peak MiB':>8} {'names op':>8}"
    )
    for n_ops, procs, p_info in shapes:
        for kind in ("valid", *ANOMALIES):
            out = subprocess.run(
                [sys.executable, __file__, "--crowded-child", json.dumps([n_ops, procs, p_info, kind, time_limit])],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            r = json.loads(out)
            verdict = {True: "valid", False: "INVALID"}.get(r["valid"], f"unknown ({r['reason']})")
            named = {None: "-", True: "yes", False: "no"}[r["named"]]
            history = kind if kind == "valid" else f"+{kind}"
            print(
                f"{n_ops:7d} {procs:5d} {p_info:7.0%} {history:>14} {verdict:>22} {r['check_cpu_seconds']:7.2f} "
                f"{r['check_seconds']:7.2f} {r['peak_rss_mib']:8.0f} {named:>8}",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-published", action="store_true")
    ap.add_argument("--skip-shapes", action="store_true")
    ap.add_argument("--large", action="store_true", help="add million-op histories")
    ap.add_argument("--time-limit", type=float, default=60.0, help="per generated history, s (default 60)")
    ap.add_argument("--skip-crowded", action="store_true", help="skip the crowded single-key table")
    ap.add_argument("--jobs", type=int, default=default_jobs(), help="processes for the second check of each shape")
    ap.add_argument("--shape-child", help=argparse.SUPPRESS)
    ap.add_argument("--crowded-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.shape_child:
        print(json.dumps(bench_shape(*json.loads(args.shape_child))))
        return
    if args.crowded_child:
        print(json.dumps(bench_crowded_one(*json.loads(args.crowded_child))))
        return
    if not args.skip_published:
        bench_published(args.repeat)
    if not args.skip_shapes:
        bench_shapes(SHAPES + (LARGE if args.large else []), args.time_limit, args.jobs)
    if not args.skip_crowded:
        bench_crowded(CROWDED, args.time_limit)


if __name__ == "__main__":
    main()
