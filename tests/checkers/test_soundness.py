"""Every shortcut of the checker agrees with the plain definition of linearizability.

The soundness rule (design.md): a shortcut may end a search with INVALID only if it agrees with
the plain search on every history it can reach. Here the plain search is
`checkers.reference.brute_force`, and the histories are small enough for it but reach every
shortcut: built linearizable (each op takes effect inside its interval, crashed ones at their
point or never) or with a violation planted, 2 to 80 processes (few ops when many), 0-10%
crashed, every model, every semantics, one to three keys. Tiny configuration budgets and window
sizes force the round-robin, window refutations and the relaxed search onto histories of a
dozen ops; each test then asserts that the shortcut was in fact taken in some examples.
"""

from __future__ import annotations

from collections import Counter
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import checkers.linearizable
import checkers.refute
from checkers.api import check_history
from checkers.models import get_model
from checkers.operations import operations
from checkers.reference import MODEL_NAMES, brute_force, forced_shortcuts, linearizable_history, plant_violation
from checkers.refute import refute, sweep
from checkers.search import Budget, _Search, check_part

SEMANTICS = ("harness", "knossos", "porcupine")


def profile(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def histories(draw: st.DrawFn, models: tuple[str, ...] = MODEL_NAMES, plant: tuple[int, ...] = (0, 1, 1, 2)):
    model = draw(st.sampled_from(models))
    # sampled_from draws uniformly, where integers() favours the small end.
    procs = draw(st.sampled_from([2, 3, 4, 6, 10, 20, 40, 80]))
    n_ops = draw(st.sampled_from(range(1, 13 if procs <= 10 else 10)))
    events = linearizable_history(
        draw(st.integers(0, 2**32 - 1)),
        model,
        n_ops,
        procs,
        p_crash=draw(st.sampled_from([0.0, 0.02, 0.05, 0.1])),
        values=draw(st.sampled_from([1, 2, 3])),
        keys=draw(st.sampled_from([1, 1, 2, 3])),
        overlap=draw(st.sampled_from([0.3, 0.7, 0.95])),
    )
    for _ in range(draw(st.sampled_from(plant))):
        events = plant_violation(events, draw(st.integers(0, 2**32 - 1)), model)
    return model, draw(st.sampled_from(SEMANTICS)), events


def _counting_dead_ends(counts: Counter):
    """`_Search._dead_ends` with each test counting the states it condemns."""
    original = _Search._dead_ends

    def wrapped(self, number):
        tests = original(self, number)

        def counted(unusable):
            def test(state):
                hit = unusable(state)
                counts["dead-end test fired"] += hit
                return hit

            return test

        return [None if t is None else (counted(t[0]), t[1], t[2]) for t in tests]

    return mock.patch.object(_Search, "_dead_ends", wrapped)


def _counting_plain_searches(counts: Counter):
    """`_Search.run` counting the searches without dead-end tests, and their verdicts."""
    original = _Search.run

    def wrapped(self, init, relaxed, dead_ends=True):
        r = original(self, init, relaxed, dead_ends)
        if not dead_ends:
            counts[f"plain first search: {r.valid}"] += 1
        return r

    return mock.patch.object(_Search, "run", wrapped)


def _check_forced(
    model: str, semantics: str, events: list, first_round: int, counts: Counter, sweeping: bool = True
) -> dict:
    """check_history with budgets so small that the round-robin and refutations run."""
    real_refute = checkers.refute.refute

    real_sweep = checkers.refute.sweep

    def counting_refute(*args, **kwargs):
        counts["refutation tried"] += 1
        r = real_refute(*args, **kwargs)
        counts["refutation succeeded"] += r is not None
        return r

    def counting_sweep(*args, **kwargs):
        r = real_sweep(*args, **kwargs) if sweeping else None
        counts["sweep refuted"] += r is not None
        return r

    with (
        forced_shortcuts(first_round, plain_first=first_round % 2 == 0),
        mock.patch.object(checkers.linearizable, "refute", counting_refute),
        mock.patch.object(checkers.linearizable, "sweep", counting_sweep),
        _counting_dead_ends(counts),
        _counting_plain_searches(counts),
    ):
        # One process: the counters above count calls in this one, not in forked workers.
        return check_history(events, model, semantics=semantics, shrink=False, jobs=1)


def _agree_forced(case, first_round: int, counts: Counter, sweeping: bool = True) -> None:
    model, semantics, events = case
    ops = operations(events, semantics)
    m = get_model(model)
    truth = brute_force(ops, m)
    r = _check_forced(model, semantics, events, first_round, counts, sweeping)
    assert r["valid"] is truth, (model, semantics, r.get("counterexample"))
    counts["invalid" if not truth else "valid"] += 1
    counts["keys > 1"] += r["keys"] > 1
    counts["op dropped by essential()"] += any(len(m.essential(p)) < len(p) for p in m.partition(ops))


def test_checker_agrees_with_brute_force():
    counts: Counter = Counter()

    @profile(700)
    @given(histories(), st.sampled_from([3, 4, 5, 6, 8, 20_000, 20_001]))
    def agree(case, first_round):
        _agree_forced(case, first_round, counts)

    agree()
    # The shortcuts were reached, and both verdicts were seen, not just one.
    paths = ("valid", "invalid", "keys > 1", "op dropped by essential()", "dead-end test fired")
    paths += ("plain first search: True", "plain first search: False", "plain first search: unknown")
    for path in paths:
        assert counts[path] >= 20, counts


def test_checker_with_window_refutations_agrees_with_brute_force():
    """The models that can refute by windows, violations planted, budgets that force it."""
    counts: Counter = Counter()

    # Half the examples without the sweep, so that refute() at the stuck op decides too. Few
    # drawn histories reach either (tens in a thousand), so the draw is fixed: the counts below
    # would otherwise depend on luck.
    @settings(max_examples=1200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
    @given(
        histories(("register", "cas-register", "mutex"), (1, 2)), st.sampled_from([2, 3, 4, 5, 6, 8]), st.booleans()
    )
    def agree(case, first_round, sweeping):
        _agree_forced(case, first_round, counts, sweeping)

    agree()
    assert counts["refutation succeeded"] >= 5 and counts["sweep refuted"] >= 5 and counts["invalid"] >= 50, counts


def test_part_search_from_any_state_agrees_with_brute_force():
    """check_part from each state a window may start in, exact and relaxed, against brute force."""
    counts: Counter = Counter()

    # A fixed draw: with a random one the counts asserted below depend on luck (19 of 20 once).
    @settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
    @given(histories())
    def agree(case):
        model, semantics, events = case
        m = get_model(model)
        for part in m.partition(operations(events, semantics)):
            for state in m.possible_states(part) or [m.init()]:
                truth = brute_force(part, m, state)
                exact = check_part(part, m, Budget(), init=state)
                assert exact.valid is truth, (model, semantics, state)
                if m.possible_states(part) is None:
                    continue  # relaxed search is only for finite-state models (it may not end)
                relaxed = check_part(part, m, Budget(), init=state, relaxed=True)
                if relaxed.valid is False:
                    assert truth is False, (model, semantics, state)
                    counts["relaxed refuted"] += 1
                counts["dropped, from another state"] += state != m.init() and len(m.essential(part)) < len(part)

    agree()
    assert counts["relaxed refuted"] >= 20 and counts["dropped, from another state"] >= 20, counts


def test_window_refutations_only_refute_what_is_not_linearizable():
    counts: Counter = Counter()

    @profile(400)
    @given(histories())
    def sound(case):
        model, semantics, events = case
        m = get_model(model)
        for part in m.partition(operations(events, semantics)):
            truth = None
            for stuck in part:
                if not stuck.completed:
                    continue
                with mock.patch.object(checkers.refute, "WINDOW_SIZES", (1, 2, 3, 5)):
                    refuted = refute(part, m, stuck, None, 1 << 26)
                if refuted is not None:
                    truth = brute_force(part, m) if truth is None else truth
                    assert truth is False, (model, semantics, stuck)
                    counts["refuted"] += 1
                    counts["window smaller than part"] += len(refuted.ops) < len(part)
                    narrowed = len(refuted.states) < len(m.possible_states(part))
                    counts["refuted from fewer states than possible_states"] += narrowed

    sound()
    assert counts["refuted"] >= 20 and counts["window smaller than part"] >= 5, counts
    assert counts["refuted from fewer states than possible_states"] >= 5, counts


def test_sweep_only_refutes_what_is_not_linearizable():
    """Every window the sweep refutes a part by, from the narrowed and collapsed states and with
    the pending ops the model chose, belongs to a part the brute force finds not linearizable."""
    counts: Counter = Counter()

    @profile(500)
    @given(histories(("register", "cas-register", "mutex"), (0, 1, 1, 2)))
    def sound(case):
        model, semantics, events = case
        m = get_model(model)
        for part in m.partition(operations(events, semantics)):
            with mock.patch.object(checkers.refute, "SWEEP_SIZES", (1, 2, 4)):
                refuted = sweep(part, m, None, 1 << 26, 10**6)
            truth = brute_force(part, m)
            if refuted is not None:
                assert truth is False, (model, semantics)
                counts["refuted"] += 1
                counts["by a window smaller than the part"] += len(refuted.ops) < len(part)
            counts["missed" if truth is False and refuted is None else "agreed"] += 1

    sound()
    assert counts["refuted"] >= 50 and counts["by a window smaller than the part"] >= 10, counts


def test_window_states_and_pending_settle_windows_as_every_state_and_op_would():
    """A window searched from `Model.window_states` with `Model.pending_for_windows`'s ops is
    refuted exactly when it is refuted from every state `possible_states_at` allows with every
    pending op: the collapsed states and the left-out ops change no verdict."""
    counts: Counter = Counter()

    @profile(400)
    @given(histories(("register", "cas-register")), st.randoms(use_true_random=False))
    def same(case, rng):
        model, semantics, events = case
        m = get_model(model)
        for part in m.partition(operations(events, semantics)):
            completed = [op for op in part if op.completed]
            if not completed:
                continue
            pending = [op for op in part if not op.completed]
            last = rng.choice(completed)
            start = min(op.call for op in rng.sample(completed, rng.randint(1, len(completed))))
            start = min(start, last.call)
            full = checkers.refute._window(part, start, last.ret)
            others = [op for op in full if not any(op is p for p in pending)]
            chosen = others + m.pending_for_windows(pending)(others, last.ret)
            states = m.window_states(part)(start, chosen)
            everything = m.possible_states_at(part, start)

            def refuted(ops, starts):
                return bool(starts) and all(
                    check_part(ops, m, Budget(), init=s, relaxed=True).valid is False for s in starts
                )

            assert refuted(chosen, states) == refuted(full, everything), (model, semantics)
            counts["states collapsed"] += len(states) < len(everything)
            counts["pending left out"] += len(chosen) < len(full)
            counts["refuted"] += refuted(full, everything)

    same()
    assert counts["states collapsed"] >= 5 and counts["pending left out"] >= 10 and counts["refuted"] >= 20, counts
