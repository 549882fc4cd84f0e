"""Partition shapes and fault targets: right shape, reproducible from a seed, no Docker needed."""

from __future__ import annotations

import random
from itertools import combinations

import pytest

from harness.nemesis.grudges import (
    SHAPES,
    bridge,
    check_grudge,
    grudge_of,
    isolate,
    majorities_ring,
    random_halves,
    shapes_for,
)
from harness.nemesis.targets import DEFAULT_TARGETS, no_leader, pick, pick_any

NODES = ["n1", "n2", "n3", "n4", "n5"]


def visible(grudge: dict[str, list[str]], node: str) -> set[str]:
    return set(grudge) - set(grudge[node])


def symmetric(grudge: dict[str, list[str]]) -> bool:
    return all(a in grudge[b] for a, es in grudge.items() for b in es)


def test_random_halves_is_a_minority_and_a_majority_and_seeded() -> None:
    minority, majority = random_halves(NODES, random.Random(3))
    assert len(minority) == 2 and len(majority) == 3 and set(minority) | set(majority) == set(NODES)
    assert random_halves(NODES, random.Random(3)) == [minority, majority]


def test_isolate_cuts_one_node_from_all_others() -> None:
    grudge = grudge_of(isolate(NODES, "n4"))
    assert grudge["n4"] == ["n1", "n2", "n3", "n5"]
    assert all(grudge[n] == ["n4"] for n in NODES if n != "n4")


@pytest.mark.parametrize("n", [5, 6, 7, 9])
def test_majorities_ring_every_node_sees_a_distinct_majority(n: int) -> None:
    nodes = [f"n{i}" for i in range(1, n + 1)]
    grudge = majorities_ring(nodes, random.Random(n))
    assert symmetric(grudge)
    views = [frozenset(visible(grudge, node)) for node in nodes]
    assert all(len(v) > n // 2 for v in views), "every node must still see a majority"
    assert len(set(views)) == n, "no two nodes may see the same majority"
    assert all(grudge[node] for node in nodes), "every node must lose someone"


def test_majorities_ring_refuses_small_clusters() -> None:
    with pytest.raises(ValueError):
        majorities_ring(NODES[:3], random.Random(1))
    assert "majorities-ring" not in shapes_for(3) and "majorities-ring" in shapes_for(5)


@pytest.mark.parametrize("n", [3, 4, 5, 7])
def test_bridge_one_node_sees_both_sides_which_do_not_see_each_other(n: int) -> None:
    nodes = [f"n{i}" for i in range(1, n + 1)]
    grudge = bridge(nodes, random.Random(n))
    assert symmetric(grudge)
    middle = [node for node, es in grudge.items() if not es]
    assert len(middle) == 1
    others = [node for node in nodes if node != middle[0]]
    assert all(grudge[a] for a in others)
    left = set(visible(grudge, others[0])) - set(middle)
    right = set(others) - left
    assert left and right
    assert all(b in grudge[a] for a in left for b in right)


def test_explicit_grudge_is_checked_and_made_symmetric() -> None:
    assert check_grudge({"n1": ["n2"]}, NODES[:3]) == {"n1": ["n2"], "n2": ["n1"], "n3": []}
    with pytest.raises(ValueError, match="unknown"):
        check_grudge({"n1": ["n9"]}, NODES[:3])
    with pytest.raises(ValueError, match="itself"):
        check_grudge({"n1": ["n1"]}, NODES[:3])


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_shape_is_reproducible_from_the_seed(shape: str) -> None:
    def draw(seed: int) -> tuple:
        return SHAPES[shape](NODES, random.Random(seed), lambda: ["n2"])

    assert draw(11) == draw(11)
    grudge, _ = draw(11)
    assert set(grudge) == set(NODES) and symmetric(grudge)


def test_leader_shape_isolates_the_leader_or_says_there_was_none() -> None:
    _, detail = SHAPES["leader"](NODES, random.Random(1), lambda: ["n3"])
    assert detail == {"components": [["n3"], ["n1", "n2", "n4", "n5"]], "leader": "n3"}
    _, detail = SHAPES["leader"](NODES, random.Random(1), no_leader)
    assert detail["leader"] is None and len(detail["components"][0]) == 1


@pytest.mark.parametrize(("kind", "sizes"), [
    ("one", {1}), ("minority", {2}), ("majority", {3}), ("all", {5}), ("random", {1, 2, 3, 4, 5}),
])
def test_target_sizes(kind: str, sizes: set[int]) -> None:
    seen = {len(pick(kind, NODES, random.Random(seed), list)) for seed in range(200)}
    assert seen == sizes


def test_minority_of_three_is_one_node() -> None:
    assert len(pick("minority", NODES[:3], random.Random(0), list)) == 1


def test_primaries_target_asks_for_the_leader_only_when_drawn() -> None:
    asked = []

    def primaries() -> list[str]:
        asked.append(1)
        return ["n5"]

    assert pick("primaries", NODES, random.Random(0), primaries) == ["n5"]
    assert pick("one", NODES, random.Random(0), primaries) and len(asked) == 1
    assert len(pick("primaries", NODES, random.Random(0), no_leader)) == 1, "no leader: one random node"


def test_targets_are_reproducible_and_cover_every_kind() -> None:
    draws = [pick_any(NODES, random.Random(f"7:{i}"), lambda: ["n1"]) for i in range(100)]
    assert draws == [pick_any(NODES, random.Random(f"7:{i}"), lambda: ["n1"]) for i in range(100)]
    assert {kind for kind, _ in draws} == set(DEFAULT_TARGETS)
    assert all(nodes == sorted(set(nodes)) and nodes for _, nodes in draws)
    with pytest.raises(ValueError):
        pick("bogus", NODES, random.Random(0), list)


def test_halves_over_seeds_hit_every_two_node_minority() -> None:
    minorities = {tuple(random_halves(NODES, random.Random(s))[0]) for s in range(300)}
    assert minorities == set(combinations(NODES, 2))
