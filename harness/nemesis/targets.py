"""Which nodes a fault hits: one, a minority, a majority, all, the leader, its followers, named nodes.

Pure and seeded, like the partition shapes, so `--seed` reproduces the choice. The leader is
asked for only when a leader-relative target is drawn or named, through a callable, because
asking costs a round trip to every node; it is resolved at injection time (the leader *then*)
and recorded beside the nodes it gave, so a reader of the history sees who led when the fault
hit, and a replay can aim at the same nodes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

# What `kill:TARGET` (and pause, clock, packet) accept, besides a named node list such as n1+n3.
TARGETS = ("one", "minority", "majority", "all", "leader", "followers", "random")
# Drawn at random when no target is named: today's mix (the leader now and then, when known).
DEFAULT_TARGETS = ("one", "minority", "majority", "all", "leader", "random")
LEADER_TARGETS = ("leader", "followers")
ALIASES = {"primaries": "leader", "primary": "leader"}


def normalise(target: str) -> str:
    """The canonical name of a target word ("primaries" is "leader"); node lists pass through."""
    return ALIASES.get(target, target)


def named_nodes(target: str) -> list[str] | None:
    """The nodes of a named list ("n1+n3" -> ["n1", "n3"]), or None if `target` is a target word."""
    if normalise(target) in TARGETS:
        return None
    return sorted({n for n in target.split("+") if n})


def needs_leader(target: str | None) -> bool:
    """Whether resolving `target` asks the system for its leader (so the system needs Primaries)."""
    return target is not None and normalise(target) in LEADER_TARGETS


def no_leader() -> list[str]:
    """The `primaries` of a system that cannot say who leads: leader-relative choices do not wait."""
    return []


def wait_leader(primaries: Callable[[], list[str]], nodes: Sequence[str], timeout: float = 3.0) -> list[str]:
    """The current leaders among `nodes`, polled until one answers or `timeout` runs out (an
    election in progress); [] if none does."""
    if primaries is no_leader:
        return []
    deadline = time.monotonic() + timeout
    while True:
        leaders = sorted(set(primaries()) & set(nodes))
        if leaders or time.monotonic() >= deadline:
            return leaders
        time.sleep(0.1)


def pick(kind: str, nodes: Sequence[str], rng: random.Random, primaries: Callable[[], list[str]]) -> list[str]:
    """The nodes a fault of target `kind` hits, sorted; never empty (see `resolve` for the record)."""
    return resolve(kind, nodes, rng, primaries)["nodes"]


def resolve(target: str, nodes: Sequence[str], rng: random.Random,
            primaries: Callable[[], list[str]]) -> dict[str, Any]:
    """Resolve a target now: {"target", "nodes"} plus "leader" for leader-relative targets.

    "leader" falls back to one random node when no leader is known within a few seconds (an
    election that does not end), and "followers" then to every node but a random one, so an
    injection always does something; "leader": null in the record says so.
    """
    pool = sorted(nodes)
    n = len(pool)
    kind = normalise(target)
    named = named_nodes(kind)
    if named is not None:
        unknown = sorted(set(named) - set(pool))
        if unknown or not named:
            raise ValueError(f"unknown nodes {', '.join(unknown) or repr(target)}; nodes are {', '.join(pool)}")
        return {"target": target, "nodes": named}
    if kind == "one":
        chosen = [rng.choice(pool)]
    elif kind == "minority":
        chosen = rng.sample(pool, max(1, (n - 1) // 2))
    elif kind == "majority":
        chosen = rng.sample(pool, n // 2 + 1)
    elif kind == "all":
        chosen = pool
    elif kind == "random":
        chosen = rng.sample(pool, rng.randint(1, n))
    elif kind in LEADER_TARGETS:
        leaders = wait_leader(primaries, pool)
        leader = leaders[0] if leaders else rng.choice(pool)
        chosen = [leader] if kind == "leader" else [x for x in pool if x != leader]
        return {"target": kind, "nodes": sorted(chosen), "leader": leaders[0] if leaders else None}
    else:
        raise ValueError(f"unknown target {target!r}; known: {', '.join(TARGETS)}, or nodes such as n1+n3")
    return {"target": kind, "nodes": sorted(chosen)}


def choose(targets: Sequence[str], nodes: Sequence[str], rng: random.Random,
           primaries: Callable[[], list[str]]) -> dict[str, Any]:
    """Draw one of `targets` (a single one is simply used), then resolve it."""
    target = targets[0] if len(targets) == 1 else rng.choice(list(targets))
    return resolve(target, nodes, rng, primaries)


def pick_any(nodes: Sequence[str], rng: random.Random, primaries: Callable[[], list[str]],
             kinds: Sequence[str] = DEFAULT_TARGETS) -> tuple[str, list[str]]:
    """Draw a target kind, then its nodes; returns both so the history can say which was meant."""
    done = choose(kinds, nodes, rng, primaries)
    return done["target"], done["nodes"]
