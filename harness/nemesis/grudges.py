"""Partition shapes: pure functions from nodes (and a seeded random source) to a grudge.

A grudge maps each node to the peers it must not exchange packets with. Keeping the shapes
pure makes them testable without Docker and reproducible from `--seed`: the same seed and the
same node list always give the same cut.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from harness.nemesis.targets import wait_leader

Grudge = dict[str, list[str]]


def grudge_of(components: list[list[str]]) -> Grudge:
    """Each node's grudge: every node outside its own component."""
    everyone = [n for c in components for n in c]
    return {n: sorted(set(everyone) - set(c)) for c in components for n in c}


def random_halves(nodes: list[str], rng: random.Random) -> list[list[str]]:
    """Shuffle the nodes and cut them into a minority and a majority."""
    shuffled = nodes[:]
    rng.shuffle(shuffled)
    cut = len(shuffled) // 2
    return [sorted(shuffled[:cut]), sorted(shuffled[cut:])]


def isolate(nodes: list[str], node: str) -> list[list[str]]:
    """One node alone, the rest together."""
    return [[node], sorted(n for n in nodes if n != node)]


def majorities_ring(nodes: list[str], rng: random.Random) -> Grudge:
    """Every node sees a majority, but no two nodes see the same majority.

    The nodes are shuffled into a ring and each keeps only its nearest neighbours on both sides,
    just enough of them to make a majority. The result is symmetric, so it can be enforced in
    both directions. It needs at least 5 nodes: with fewer, every node would see everyone.
    """
    n = len(nodes)
    if n < 5:
        raise ValueError(f"a majorities ring needs at least 5 nodes, got {n}")
    ring = nodes[:]
    rng.shuffle(ring)
    reach = -(-(n // 2) // 2)  # ceil(floor(n/2) / 2): neighbours per side for a majority
    grudge = {}
    for i, node in enumerate(ring):
        near = {ring[(i + d) % n] for d in range(-reach, reach + 1)}
        grudge[node] = sorted(set(nodes) - near)
    return grudge


def bridge(nodes: list[str], rng: random.Random) -> Grudge:
    """Two halves that cannot talk to each other, and one node that both sides still reach."""
    shuffled = nodes[:]
    rng.shuffle(shuffled)
    middle = shuffled[len(shuffled) // 2]
    left = shuffled[: len(shuffled) // 2]
    right = shuffled[len(shuffled) // 2 + 1 :]
    grudge = {n: sorted(right) for n in left} | {n: sorted(left) for n in right}
    grudge[middle] = []
    return grudge


def check_grudge(grudge: Grudge, nodes: list[str]) -> Grudge:
    """Validate an explicit grudge (unknown nodes, self-grudges) and make it symmetric.

    Cuts are enforced in both directions, so a one-way grudge would silently become two-way;
    making that explicit keeps the recorded grudge equal to what is in force.
    """
    known = set(nodes)
    unknown = sorted((set(grudge) | {e for es in grudge.values() for e in es}) - known)
    if unknown:
        raise ValueError(f"grudge names unknown nodes: {', '.join(unknown)}")
    full: dict[str, set[str]] = {n: set() for n in nodes}
    for node, enemies in grudge.items():
        if node in enemies:
            raise ValueError(f"{node} cannot hold a grudge against itself")
        for enemy in enemies:
            full[node].add(enemy)
            full[enemy].add(node)
    return {n: sorted(es) for n, es in full.items()}


Shape = Callable[[list[str], random.Random, Callable[[], list[str]]], tuple[Grudge, dict]]


def shape_halves(nodes: list[str], rng: random.Random, primaries: Callable[[], list[str]]) -> tuple[Grudge, dict]:
    components = random_halves(nodes, rng)
    return grudge_of(components), {"components": components}


def shape_one(nodes: list[str], rng: random.Random, primaries: Callable[[], list[str]]) -> tuple[Grudge, dict]:
    components = isolate(nodes, rng.choice(sorted(nodes)))
    return grudge_of(components), {"components": components}


def shape_leader(nodes: list[str], rng: random.Random, primaries: Callable[[], list[str]]) -> tuple[Grudge, dict]:
    """Isolate the node that leads now; with no leader known within a few seconds, a random node
    instead (and say so)."""
    leaders = wait_leader(primaries, nodes)
    node = rng.choice(leaders) if leaders else rng.choice(sorted(nodes))
    components = isolate(nodes, node)
    return grudge_of(components), {"components": components, "leader": leaders[0] if leaders else None}


def shape_ring(nodes: list[str], rng: random.Random, primaries: Callable[[], list[str]]) -> tuple[Grudge, dict]:
    return majorities_ring(nodes, rng), {}


def shape_bridge(nodes: list[str], rng: random.Random, primaries: Callable[[], list[str]]) -> tuple[Grudge, dict]:
    grudge = bridge(nodes, rng)
    return grudge, {"bridge": next(n for n, es in grudge.items() if not es)}


SHAPES: dict[str, Shape] = {
    "halves": shape_halves,
    "one": shape_one,
    "leader": shape_leader,
    "majorities-ring": shape_ring,
    "bridge": shape_bridge,
}


SHAPE_ALIASES = {"primary": "leader", "primaries": "leader"}
LEADER_SHAPES = ("leader",)


def shapes_for(count: int) -> list[str]:
    """The shapes that make sense for a cluster of `count` nodes (a ring needs 5)."""
    return [s for s in SHAPES if s != "majorities-ring" or count >= 5]
