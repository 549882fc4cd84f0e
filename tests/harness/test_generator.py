from __future__ import annotations

import random

from workloads.generator import Generator
from workloads.register import Register

REGISTER = Register.from_pairs()


def ops_of(seed: int, worker: int, n: int = 50) -> list:
    g = Generator(REGISTER.next_op, seed=seed, concurrency=4, rate=100)
    return [g.next(worker) for _ in range(n)]


def test_same_seed_same_operations_per_worker() -> None:
    assert ops_of(7, 2) == ops_of(7, 2)
    assert ops_of(7, 2) != ops_of(8, 2)
    assert ops_of(7, 1) != ops_of(7, 2)


def test_register_ops_are_well_formed_and_mixed() -> None:
    ops = [op for _, op in ops_of(1, 0, 400)]
    assert {op.f for op in ops} == {"read", "write", "cas"}
    assert {op.key for op in ops} == {"r0", "r1", "r2"}
    for op in ops:
        if op.f == "read":
            assert op.value is None
        elif op.f == "cas":
            assert isinstance(op.value, list) and len(op.value) == 2


def test_mean_gap_matches_rate() -> None:
    g = Generator(REGISTER.next_op, seed=3, concurrency=10, rate=100)
    gaps = [g.next(0)[0] for _ in range(4000)]
    assert 0.08 < sum(gaps) / len(gaps) < 0.12  # 10 workers at 100 ops/s: 0.1 s each


def test_workload_options_shape_the_operations() -> None:
    workload = Register.from_pairs(["keys=7", "values=2"])
    ops = [workload.next_op(random.Random(i)) for i in range(500)]
    assert {op.key for op in ops} == {f"r{i}" for i in range(7)}
    assert {op.value for op in ops if op.f == "write"} == {0, 1}
