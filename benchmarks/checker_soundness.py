"""A long sweep of the soundness property tests: the checker against the plain definition.

    .venv/bin/python -m benchmarks.checker_soundness [--histories 20000] [--seed 1]

Each history is drawn as in tests/checkers/test_soundness.py (every model and semantics, 2-80
processes, 0-10% crashed, 1-3 keys, planted violations or none) and checked three ways against
`checkers.reference.brute_force`: the whole checker with default budgets, the whole checker with
budgets so small that it takes its round-robin, window refutations and (every other history)
its plain first search, and every refutation of
a window `refute` finds. It prints how many histories were compared, how many disagreed (with
the first few seeds to reproduce them), and how often each shortcut decided.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checkers.api import check_history
from checkers.models import get_model
from checkers.operations import operations
from checkers.reference import (
    MODEL_NAMES,
    brute_force,
    forced_shortcuts,
    linearizable_history,
    plant_violation,
)
from checkers.refute import refute

SEMANTICS = ("harness", "knossos", "porcupine")


def draw(seed: int) -> tuple[str, str, list]:
    rng = random.Random(seed)
    model = rng.choice(MODEL_NAMES)
    procs = rng.choice([2, 3, 4, 6, 10, 20, 40, 80])
    events = linearizable_history(
        rng.getrandbits(32),
        model,
        rng.randint(1, 12 if procs <= 10 else 9),
        procs,
        p_crash=rng.choice([0.0, 0.02, 0.05, 0.1]),
        values=rng.randint(1, 3),
        keys=rng.choice([1, 1, 2, 3]),
        overlap=rng.choice([0.3, 0.7, 0.95]),
    )
    for _ in range(rng.choice([0, 1, 1, 2])):
        events = plant_violation(events, rng.getrandbits(32), model)
    return model, rng.choice(SEMANTICS), events


def compare(seed: int, counts: Counter) -> list[str]:
    """The ways this history's verdicts disagree with the brute force (none, one hopes)."""
    model, semantics, events = draw(seed)
    m = get_model(model)
    ops = operations(events, semantics)
    truth = brute_force(ops, m)
    counts["valid" if truth else "invalid"] += 1
    wrong = []
    if check_history(events, model, semantics=semantics, shrink=False)["valid"] is not truth:
        wrong.append("default budgets")
    with forced_shortcuts(random.Random(seed).choice([2, 3, 4, 6, 8]), plain_first=seed % 2 == 0):
        r = check_history(events, model, semantics=semantics, shrink=False)
    if r["valid"] is not truth:
        wrong.append("forced shortcuts")
    if r["valid"] is False and "window" in (r.get("counterexample") or {}):
        counts["decided by a window refutation"] += 1
    for part in m.partition(ops):
        if m.possible_states(part) is None:
            continue
        for stuck in part:
            if stuck.completed and refute(part, m, stuck, None, 1 << 26) is not None:
                counts["window refutations (direct)"] += 1
                if brute_force(part, m):
                    wrong.append(f"refute at op {stuck.id}")
    return wrong


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--histories", type=int, default=20_000)
    p.add_argument("--seed", type=int, default=1, help="the first history's seed; the rest follow")
    args = p.parse_args()
    counts: Counter = Counter()
    disagreements: list[tuple[int, list[str]]] = []
    start, cpu = time.monotonic(), time.process_time()
    for seed in range(args.seed, args.seed + args.histories):
        wrong = compare(seed, counts)
        if wrong:
            disagreements.append((seed, wrong))
    print(f"histories compared: {args.histories} (seeds {args.seed}..{args.seed + args.histories - 1})")
    print(f"  linearizable: {counts['valid']}, not linearizable: {counts['invalid']} (brute force)")
    print(f"  decided INVALID by a window refutation (forced budgets): {counts['decided by a window refutation']}")
    print(f"  window refutations checked directly: {counts['window refutations (direct)']}")
    print(f"disagreements: {len(disagreements)}")
    for seed, wrong in disagreements[:10]:
        print(f"  seed {seed}: {', '.join(wrong)}")
    print(f"{time.monotonic() - start:.0f} s wall, {time.process_time() - cpu:.0f} s CPU")
    sys.exit(1 if disagreements else 0)


if __name__ == "__main__":
    main()
