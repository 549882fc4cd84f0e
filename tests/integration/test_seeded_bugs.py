"""The harness catches seeded Raft bugs (nodes/BUGS.md) in real containers, as a user runs it.

Each case runs `harness run` (its `main`, in-process) with the arguments the bug table gives
(`harness list --db raft --json`: DB options, workload, and the fault that exposes the bug, such
as `partition:leader` or the `lag-then-kill` package), plus only what a short test needs: 3
nodes, a short time limit and a fixed seed. Nothing is monkeypatched: the aim lives in the
product. A control run with the same arguments and seed but no bug must be valid, so an invalid
verdict is the bug's doing, not the faults' or the checker's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.dbs.raft import SEEDED_BUGS, without_bug

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(300)]

# The bugs a 3-node run of ~20 s catches reliably; nodes/BUGS.md has the 5-node, 60 s table for all.
# forget-vote is not among them: one kill-during-election injection plays through about half the
# time and takes 15-25 s with its 3-9 s election timeouts, so a catch needs a 60 s run (nodes/BUGS.md),
# too long here; its control still runs, so its faults never fail a correct node.
CAUGHT = ("stale-read", "early-ack", "volatile-log", "no-election-restriction", "lease-skew", "commit-old-term")
ARGS = {b["name"]: b["args"] for b in SEEDED_BUGS}
# Seconds of workload per fault: long enough for two or three injections at the fault's own rhythm.
# partition:leader is a basic fault (10 s default interval), so the test shortens its rhythm the
# way a user in a hurry would.
TIME_LIMIT = {"partition:leader": 16, "kill:all": 20, "lag-then-kill": 25, "isolate-then-skew": 20,
              "crash-after-replicate": 25, "kill-during-election": 40}
EXTRA = {"partition:leader": ["--nemesis-interval", "4", "--op-timeout", "1"]}


def _nemesis(args: list[str]) -> str:
    return args[args.index("--nemesis") + 1]


def _run(tmp_path: Path, subnet: str, args: list[str], seed: int) -> dict[str, Any]:
    nemesis = _nemesis(args)
    results = tmp_path / f"seed-{seed}"
    code = main(["run", *args, *EXTRA.get(nemesis, []), "--nodes", "3", "--time-limit", str(TIME_LIMIT[nemesis]),
                 "--seed", str(seed), "--subnet", subnet, "--results", str(results)])
    [path] = results.rglob("results.json")
    r = json.loads(path.read_text())
    assert code == {True: 0, False: 1}.get(r["valid"], 2), (code, r["valid"])
    return r


def _verdict(r: dict[str, Any], leftovers) -> bool | str:
    assert leftovers(r["run_id"]) == []
    assert r["problems"] == [], r["problems"]
    assert r["faults"], "no fault was injected"
    assert r["schedule"] and all(f.get("nodes") or f.get("grudge") for f in r["schedule"]), "each fault's aim recorded"
    return r["valid"]


# One control per fault setup (early-ack shares stale-read's).
CONTROLS = ("stale-read", "volatile-log", "no-election-restriction", "lease-skew", "commit-old-term",
            "forget-vote")
CASES = [(bug, True) for bug in CAUGHT] + [(bug, False) for bug in CONTROLS]


@pytest.mark.parametrize(("bug", "with_bug"), CASES, ids=[f"{b}-{'bug' if w else 'control'}" for b, w in CASES])
def test_harness_verdict_on_seeded_bug(
    bug: str, with_bug: bool, leftovers, node_image, free_subnet, tmp_path: Path
) -> None:
    subnet = free_subnet("10.247")
    args = ARGS[bug] if with_bug else without_bug(ARGS[bug])
    r = _run(tmp_path, subnet, args, seed=11)
    valid = _verdict(r, leftovers)
    if with_bug and valid is not False:
        # Catching a bug is a matter of chance (timing decides whether the anomaly is left
        # visible in the history); a second run with another seed makes a miss rare. A control
        # run gets no second chance: one invalid verdict without a bug is a failure.
        r = _run(tmp_path, subnet, args, seed=12)
        valid = _verdict(r, leftovers)
    checker = json.dumps(r["checkers"], indent=1)[:2000]
    if not with_bug:
        assert valid is True, checker
    else:
        assert valid is False, f"{bug} under {_nemesis(args)} was not caught in two runs: {checker}"
