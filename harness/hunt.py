"""`harness hunt`: search fault schedules for one that makes a run INVALID, then shrink it.

A fault schedule (timed faults with targets, as a schedule file holds) is a hypothesis
strategy; each example is a short real run in containers, and the property is "the verdict is
not INVALID". Hypothesis explores, and when a run is INVALID shrinks the schedule (fewer faults,
shorter ones, earlier, simpler specs) with its own machinery; nothing here
shrinks by hand. A real cluster is not deterministic: a schedule that failed may pass when run
again, and hypothesis, which reruns a failing example to confirm it and re-checks shrink
candidates it has already seen, would call that Flaky and stop. So a schedule that failed once
counts as failing from then on (remembered by its exact faults) and is not run again; one that
did not fail is not remembered, and is run for real if drawn again. How often the smallest
schedule fails again is measured after the search, by replaying it (`harness hunt --confirm`).
The smallest schedule that failed is kept also when the budget runs out or the user stops.
An example run ends a tail after its schedule's last heal has finished (at most `run_time`),
so shrinking a schedule (fewer, earlier, shorter faults) also shortens its run; it waits for
the heal itself, not its planned time, since a fault can take seconds to apply on a busy host.
A bug's exposing faults can be the search's focus: half the faults are drawn from it, the rest
from the whole pool, and shrinking prefers the focus.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.database import InMemoryExampleDatabase
from hypothesis.errors import Flaky, NoSuchExample
from hypothesis.internal.conjecture import engine

from harness.errors import UsageError
from harness.nemesis.registry import KINDS, check_abilities
from harness.nemesis.schedule_file import TimedFault, clash


def fault_pool(db: Any) -> list[str]:
    """Every spec the system can take: each basic fault bare and with each target or shape it
    names, then each package. Simplest first, since hypothesis shrinks a choice towards the first."""
    pool = []
    for kind in KINDS.values():
        for spec in [kind.name] if kind.package else [kind.name, *(f"{kind.name}:{a}" for a in kind.args)]:
            try:
                check_abilities([spec], db)
            except UsageError:
                continue
            pool.append(spec)
    return pool


def _lay_out(drawn: list[tuple[int, str, int]], run_time: float) -> list[TimedFault]:
    """(gap, spec, duration) triples as faults, those starting in the run. Each starts `gap` after
    the previous one's end: a negative gap overlaps it (never starting before it). A fault that
    would overlap one it clashes with (`clash`: two partitions, a kill and a pause, a package and
    anything) is shifted to start when that one ends, so every schedule is one the file reader takes."""
    faults: list[TimedFault] = []
    for gap, spec, duration in drawn:
        at = float(max(faults[-1].at, faults[-1].end + gap)) if faults else float(max(gap, 0))
        fault = TimedFault(at, spec, float(duration))
        fault = replace(fault, at=max([at, *(f.end for f in faults if clash(f, fault))]))
        if fault.at >= run_time - 1:
            break
        faults.append(fault)
    return faults


def specs(pool: Sequence[str], focus: Sequence[str] = ()) -> st.SearchStrategy[str]:
    """A fault spec: from `focus` half of the time, else from the whole `pool`. Hypothesis shrinks
    towards the first branch of `one_of`, so a shrunk schedule keeps to the focus where it can."""
    if not focus:
        return st.sampled_from(list(pool))
    return st.one_of(st.sampled_from(list(focus)), st.sampled_from(list(pool)))


def schedules(pool: Sequence[str], run_time: float, max_faults: int,
              focus: Sequence[str] = ()) -> st.SearchStrategy[list[TimedFault]]:
    """Schedules of 1..`max_faults` faults drawn from `pool` (half from `focus`, if given), whole
    seconds, starting within `run_time`, overlapping where a gap is negative. Gaps shrink towards
    0 (one fault right after another), durations towards 1 s, lists towards one fault."""
    if not pool:
        raise UsageError("harness hunt: no fault to draw from (--nemesis names none this system can take)")
    longest = max(1, int(run_time // 2))
    triple = st.tuples(st.integers(-longest, longest), specs(pool, focus), st.integers(1, longest))
    return (st.lists(triple, min_size=1, max_size=max_faults)
            .map(lambda drawn: _lay_out(drawn, run_time)).filter(bool))


def size(faults: Sequence[TimedFault]) -> tuple[int, float, float, float]:
    """How big a schedule is, for keeping the smallest that failed: faults, seconds of fault, seconds
    of overlap (the same faults one after another are simpler), length."""
    overlap = sum(max(0.0, min(a.end, b.end) - b.at) for i, a in enumerate(faults) for b in faults[i + 1:])
    return len(faults), sum(f.duration for f in faults), overlap, max(f.end for f in faults)


class BudgetSpent(Exception):
    """The hunt's time is up (raised inside the property, caught around the search)."""


@dataclass
class Tried:
    faults: list[TimedFault]
    valid: Any
    run_dir: Path


@dataclass
class Outcome:
    """What a hunt found: the smallest schedule that failed (and its run), what was tried, why it stopped."""

    tried: list[Tried] = field(default_factory=list)
    smallest: Tried | None = None
    stopped: str = "searched"  # searched | shrunk | flaky | budget | interrupted


class Hunt:
    """`run(faults, run_time)` runs one real test and returns (verdict, run folder, interrupted)."""

    def __init__(self, run: Callable[[list[TimedFault], float], tuple[Any, Path, bool]], run_time: float,
                 budget_s: float, say: Callable[[str], None] = print) -> None:
        self.run = run
        self.run_time = run_time
        self.budget_s = budget_s
        self.say = say
        self.outcome = Outcome()
        self._deadline = 0.0
        self._failed: set[tuple[TimedFault, ...]] = set()
        self._spent = False

    def _fails(self, faults: list[TimedFault]) -> bool:
        """The property, negated: True when this schedule's run is INVALID, or an earlier run of it was."""
        if tuple(faults) in self._failed:
            return True  # hypothesis's confirmation or re-check: the same answer, so no Flaky
        if time.monotonic() >= self._deadline:
            self._spent = True
            raise BudgetSpent  # ends hypothesis at once, whatever phase it is in
        valid, run_dir, interrupted = self.run(faults, self.run_time)
        if interrupted:
            raise KeyboardInterrupt
        tried = Tried(faults, valid, run_dir)
        self.outcome.tried.append(tried)
        word = {True: "VALID", False: "INVALID"}.get(valid, "UNKNOWN")
        self.say(f"hunt: try {len(self.outcome.tried)}: {word} with "
                 + ", ".join(f"{f.nemesis}@{f.at:g}+{f.duration:g}s" for f in faults))
        if valid is not False:
            return False
        self._failed.add(tuple(faults))
        best = self.outcome.smallest
        if best is None or size(faults) <= size(best.faults):
            self.outcome.smallest = tried
        return True

    def search(self, pool: Sequence[str], seed: int, max_faults: int = 4, focus: Sequence[str] = ()) -> Outcome:
        """Search and shrink until done, the budget runs out or the user interrupts (Ctrl-C).

        Hypothesis's shrinker drops a candidate that passed, and with a bug caught only some of the
        time many candidates pass by chance. So once it settles, shrinking starts again from the
        smallest failure (kept in an in-memory example database): the candidates that passed are
        run again. The hunt ends when such a round finds nothing smaller."""
        self._deadline = time.monotonic() + self.budget_s
        strategy = schedules(pool, self.run_time, max_faults, focus)
        options = settings(max_examples=10_000, deadline=None, database=InMemoryExampleDatabase(),
                           suppress_health_check=list(HealthCheck),
                           phases=(Phase.generate, Phase.target, Phase.shrink))
        # Hypothesis stops shrinking after 5 minutes; with real runs of 20-60 s that is a handful of
        # candidates, so let the budget end it instead (the engine reads this module constant).
        shrink_cap, engine.MAX_SHRINKING_SECONDS = engine.MAX_SHRINKING_SECONDS, math.ceil(self.budget_s) + 1
        try:
            while True:
                before = self.outcome.smallest
                find(strategy, self._fails, settings=options, random=random.Random(seed), database_key=b"hunt")
                self.outcome.stopped = "shrunk"
                after = self.outcome.smallest
                if before is not None and after is not None and size(after.faults) >= size(before.faults):
                    break
                # Again from the smallest in the database (generate draws nothing once reuse has a failure).
                options = settings(options, phases=(Phase.reuse, Phase.generate, Phase.shrink))
        except NoSuchExample:
            self.outcome.stopped = "searched"
        except BudgetSpent:
            pass
        except Flaky:  # hypothesis found its own record inconsistent (a choice sequence that passed, now failing)
            self.outcome.stopped = "flaky"
        except KeyboardInterrupt:
            self.outcome.stopped = "interrupted"
        finally:
            engine.MAX_SHRINKING_SECONDS = shrink_cap
        if self._spent and self.outcome.stopped != "interrupted":
            self.outcome.stopped = "budget"  # also when hypothesis went on with remembered failures and ended
        return self.outcome


@dataclass
class Replays:
    """How the smallest failing schedule fared when replayed: each replay's verdict and folder."""

    runs: list[tuple[Any, Path]] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> int:
        return sum(valid is False for valid, _ in self.runs)

    def to_json(self) -> dict[str, Any]:
        """As schedule.json's `replays` field (docs/schedule-file.md)."""
        return {"invalid": self.failed, "of": len(self.runs), "runs": [str(d) for _, d in self.runs]}


def replay(run: Callable[[], tuple[Any, Path, bool]], times: int, say: Callable[[str], None] = print) -> Replays:
    """Replay the smallest failure `times` times (`run` replays it once, as `harness replay` does), to say
    how often it reproduces: hypothesis never reruns a remembered failure, so the search cannot tell."""
    out = Replays()
    for i in range(times):
        valid, run_dir, interrupted = run()
        if interrupted:
            out.interrupted = True
            break
        out.runs.append((valid, run_dir))
        word = {True: "VALID", False: "INVALID"}.get(valid, "UNKNOWN")
        say(f"hunt: replay {i + 1} of {times}: {word}, results in {run_dir}")
    return out
