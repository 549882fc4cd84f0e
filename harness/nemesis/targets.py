"""Which nodes a process or clock fault hits: one, a minority, a majority, all, the leader, a random subset.

Pure and seeded, like the partition shapes, so `--seed` reproduces the choice. The leader is
asked for only when the "primaries" target is drawn, through a callable, because asking costs a
round trip to every node.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

TARGETS = ("one", "minority", "majority", "all", "primaries", "random")


def pick(kind: str, nodes: Sequence[str], rng: random.Random, primaries: Callable[[], list[str]]) -> list[str]:
    """The nodes a fault of target `kind` hits, sorted; never empty.

    "primaries" falls back to one random node when no leader is known (e.g. during an election),
    so an injection always does something; callers record the kind and the result.
    """
    pool = sorted(nodes)
    n = len(pool)
    if kind == "one":
        return [rng.choice(pool)]
    if kind == "minority":
        return sorted(rng.sample(pool, max(1, (n - 1) // 2)))
    if kind == "majority":
        return sorted(rng.sample(pool, n // 2 + 1))
    if kind == "all":
        return pool
    if kind == "primaries":
        leaders = sorted(set(primaries()) & set(pool))
        return leaders or [rng.choice(pool)]
    if kind == "random":
        return sorted(rng.sample(pool, rng.randint(1, n)))
    raise ValueError(f"unknown target {kind!r}; known: {', '.join(TARGETS)}")


def pick_any(
    nodes: Sequence[str], rng: random.Random, primaries: Callable[[], list[str]], kinds: Sequence[str] = TARGETS
) -> tuple[str, list[str]]:
    """Draw a target kind, then its nodes; returns both so the history can say which was meant."""
    kind = rng.choice(list(kinds))
    return kind, pick(kind, nodes, rng, primaries)
