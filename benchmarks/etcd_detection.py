"""Does the harness judge etcd right? Repeated CLI runs with fresh seeds, and a table of verdicts.

    .venv/bin/python -m benchmarks.etcd_detection [--runs 10] [--time-limit 60] [--nodes 5]
        [--cases linearizable,serializable] [--subnet 10.245.9.0/24]

Cases, each run `--runs` times through `harness run` (so exactly what a user gets):
- linearizable: `--db etcd --nemesis partition,kill`: etcd's default reads are linearizable, so
  every run should be VALID (exit 0). An INVALID here is a false alarm (or a bug in etcd).
- every-fault: the same under `--nemesis partition,kill,pause,packet` (not run by default).
- serializable: `--db etcd --db-opt serializable-reads=true --nemesis partition`: a member cut
  off from the majority keeps answering reads from its own state, so the harness should find a
  stale read and say INVALID (exit 1). A VALID here is a miss.
- serializable-quiet: the same with `--nemesis none` (not run by default): followers apply a
  write a moment after the leader acknowledged it, so stale reads happen without any fault.
Every run gets a fresh random seed (printed, so any row can be replayed with --seed). For an
INVALID run, "impossible op" says what the checker could not linearize and whether it was
invoked while a fault was in force. Figures, not asserts: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checkers.history import read_history
from harness.report.data import fault_windows

CASES = {
    "linearizable": (["--nemesis", "partition,kill"], True),
    "every-fault": (["--nemesis", "partition,kill,pause,packet"], True),
    "serializable": (["--db-opt", "serializable-reads=true", "--nemesis", "partition"], False),
    "serializable-quiet": (["--db-opt", "serializable-reads=true", "--nemesis", "none"], False),
}
VERDICTS = {0: "VALID", 1: "INVALID", 2: "unknown"}


def impossible_op(run_dir: Path, results: dict) -> str | None:
    """The counterexample's operation, and the faults in force when it was invoked ("no fault" if none)."""
    example = (results.get("checkers", {}).get("linearizable") or {}).get("counterexample") or {}
    op = example.get("op")
    if not op:
        return None
    events = read_history(run_dir / "history.jsonl")
    at = next((e.time for e in events if e.index == op.get("index")), None)
    if at is None:
        return op.get("f")
    during = sorted({w.name for w in fault_windows(events)
                     if (w.applied or w.start) <= at and (w.end is None or at <= w.end)})
    return f"{op.get('f')} at {at / 1e9:.1f} s, {', '.join(during) if during else 'no fault'}"


def one_run(case: str, args: argparse.Namespace, results: Path) -> dict:
    """One `harness run` of `case` with a fresh seed: its verdict, exit code, operation count, wall time."""
    flags, _ = CASES[case]
    seed = secrets.randbelow(2**31)
    argv = [sys.executable, "-m", "harness.cli", "run", "--db", "etcd", *flags, "--nodes", str(args.nodes),
            "--time-limit", str(args.time_limit), "--seed", str(seed), "--subnet", args.subnet,
            "--results", str(results), "--test-name", f"{case}-{seed}"]
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True)
    took = time.monotonic() - started
    row = {"case": case, "seed": seed, "exit": proc.returncode, "verdict": VERDICTS.get(proc.returncode, "error"),
           "seconds": round(took, 1), "ops": None, "problems": None, "impossible": None}
    found = sorted((results / f"{case}-{seed}").glob("*/results.json"))
    if found:
        r = json.loads(found[-1].read_text())
        row["ops"] = sum(sum(c.values()) for c in r.get("counts", {}).values())
        row["problems"] = r.get("problems") or r.get("failure")
        row["impossible"] = impossible_op(found[-1].parent, r)
    if row["verdict"] == "error":
        row["problems"] = (proc.stderr.strip().splitlines() or ["?"])[-1]
    return row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=10, help="runs per case")
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds of workload per run")
    p.add_argument("--nodes", type=int, default=5)
    p.add_argument("--cases", default="linearizable,serializable", help=f"comma list of {', '.join(CASES)}")
    p.add_argument("--subnet", default="10.245.9.0/24")
    p.add_argument("--results", type=Path, default=None, help="keep run folders here (default: a temp dir)")
    args = p.parse_args()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        p.error(f"unknown case {', '.join(unknown)}; known: {', '.join(CASES)}")

    with tempfile.TemporaryDirectory(prefix="etcd-detection-") as tmp:
        results = args.results or Path(tmp)
        rows = []
        print(f"{'case':<18} {'run':>3} {'seed':>10} {'verdict':<8} {'ops':>6} {'wall s':>7}  "
              "impossible op / problems", flush=True)
        for case in cases:
            for i in range(1, args.runs + 1):
                row = one_run(case, args, results)
                rows.append(row)
                print(f"{case:<18} {i:>3} {row['seed']:>10} {row['verdict']:<8} {row['ops'] or '-':>6} "
                      f"{row['seconds']:>7}  {row['impossible'] or ''} {row['problems'] or ''}", flush=True)

    print(f"\n{args.runs} run(s) per case, {args.time_limit:g} s of workload, {args.nodes} nodes:")
    for case in cases:
        mine = [r for r in rows if r["case"] == case]
        expected = "VALID" if CASES[case][1] else "INVALID"
        hits = sum(r["verdict"] == expected for r in mine)
        print(f"  {case:<18} {expected} in {hits} of {len(mine)}"
              + "".join(f"; {v} in {n}" for v in ("VALID", "INVALID", "unknown", "error")
                        if v != expected and (n := sum(r["verdict"] == v for r in mine))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
