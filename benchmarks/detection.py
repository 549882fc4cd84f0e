"""Detection power: how often a plain `harness run` catches each seeded Raft bug, and how often the
correct node is (wrongly) found invalid under the same faults.

    .venv/bin/python -m benchmarks.detection --runs 10 --time-limit 60 --nodes 5 [--bugs a,b] [--no-controls]
    .venv/bin/python -m benchmarks.detection --table results/detection.jsonl ...   (the table of past runs)

The bugs and the arguments that expose each come from `harness list --db raft --json` (the table
lives beside the bugs, in harness/dbs/raft.py), so this measures exactly what a user would run.
For each bug, `--runs` runs of `harness run ARGS --nodes N --time-limit T --seed S` with fresh
seeds; for each fault package, as many control runs of the same arguments without the bug. Runs
go round-robin (every configuration once, then again), so a run stopped early is still balanced,
and each finished run is appended to `--out` (JSON lines) as it ends. Exit codes are the
verdict: 1 invalid (caught, or a false alarm in a control), 0 valid, 2 unknown, 255 the harness
failed. Prints a table; figures, not asserts (the machine is shared and timing decides).
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from harness.dbs.raft import without_bug

VERDICT = {0: "valid", 1: "invalid", 2: "unknown"}


def bug_table(harness: str) -> list[dict[str, Any]]:
    out = subprocess.run([harness, "list", "--db", "raft", "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["bugs"]


def configurations(bugs: list[dict[str, Any]], controls: bool) -> list[tuple[str, list[str]]]:
    """(label, args): each bug, then one control per distinct fault setup (args without the bug)."""
    configs = [(b["name"], b["args"]) for b in bugs]
    if controls:
        seen: dict[tuple[str, ...], None] = {}
        for b in bugs:
            seen.setdefault(tuple(without_bug(b["args"])), None)
        configs += [("control", list(a)) for a in seen]
    return configs


def package(args: list[str]) -> str:
    nemesis = args[args.index("--nemesis") + 1] if "--nemesis" in args else "?"
    opts = [args[i + 1] for i, a in enumerate(args) if a == "--db-opt" and not args[i + 1].startswith("bug=")]
    return nemesis + (f" ({', '.join(opts)})" if opts else "")


def run_one(harness: str, args: list[str], o: argparse.Namespace, seed: int) -> dict[str, Any]:
    argv = [harness, "run", *args, "--nodes", str(o.nodes), "--time-limit", str(o.time_limit), "--seed", str(seed),
            "--subnet", o.subnet, "--results", str(o.results)]
    started = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True)
    last = (p.stdout.strip().splitlines() or [""])[-1]
    return {"argv": argv[1:], "seed": seed, "exit": p.returncode, "verdict": VERDICT.get(p.returncode, "failed"),
            "seconds": round(time.monotonic() - started, 1), "line": last,
            "stderr": p.stderr.strip()[-500:] if p.returncode not in VERDICT else ""}


def table(done: list[dict[str, Any]]) -> str:
    rows: dict[tuple[str, str], list[str]] = defaultdict(list)
    for d in done:
        rows[(d["label"], package(d["args"]))].append(d["verdict"])
    lines = ["| bug | exposed by | caught (invalid) | valid | unknown | harness failed |",
             "|---|---|---|---|---|---|"]
    for (label, pkg), verdicts in rows.items():
        n = len(verdicts)
        mark = "false alarms" if label == "control" else "caught"
        lines.append(f"| {label} | `{pkg}` | {verdicts.count('invalid')}/{n} {mark} | {verdicts.count('valid')} | "
                     f"{verdicts.count('unknown')} | {verdicts.count('failed')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="benchmarks.detection", description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=10, help="runs per bug and per control (default 10)")
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds of workload per run (default 60)")
    p.add_argument("--nodes", type=int, default=5, help="cluster size (default 5)")
    p.add_argument("--bugs", help="only these bugs (comma list; default all)")
    p.add_argument("--no-controls", action="store_true", help="skip the control runs")
    p.add_argument("--subnet", default="10.247.200.0/24", help="the clusters' subnet (runs are one at a time)")
    p.add_argument("--results", type=Path, default=Path("results/detection"), help="where runs keep their results")
    p.add_argument("--out", type=Path, default=Path("results/detection.jsonl"), help="one JSON line per finished run")
    p.add_argument("--harness", default=str(Path(sys.executable).with_name("harness")), help="the harness command")
    p.add_argument("--table", nargs="+", type=Path, metavar="JSONL",
                   help="run nothing: print the table of runs already recorded in these --out files")
    o = p.parse_args(argv)
    if o.table:
        missing = [str(path) for path in o.table if not path.is_file()]
        if missing:
            p.error(f"--table: no such file: {', '.join(missing)}")
        done = [json.loads(line) for path in o.table for line in path.read_text().splitlines() if line.strip()]
        print(table(done))
        return 0
    bugs = bug_table(o.harness)
    if o.bugs:
        wanted = set(o.bugs.split(","))
        bugs = [b for b in bugs if b["name"] in wanted]
    configs = configurations(bugs, not o.no_controls)
    o.out.parent.mkdir(parents=True, exist_ok=True)
    done: list[dict[str, Any]] = []
    for i in range(o.runs):
        for label, args in configs:
            result = {"label": label, "args": args, **run_one(o.harness, args, o, secrets.randbelow(2**31))}
            done.append(result)
            with o.out.open("a") as f:
                f.write(json.dumps(result) + "\n")
            print(f"[{i + 1}/{o.runs}] {label:24} {package(args):40} {result['verdict']:8} seed {result['seed']} "
                  f"{result['seconds']:.0f} s {result['stderr'][:200]}", flush=True)
    print()
    print(f"{o.runs} runs per row, {o.nodes} nodes, {o.time_limit:g} s each, fresh seeds")
    print(table(done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
