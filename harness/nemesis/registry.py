"""Names a user can pass to --nemesis, and how each becomes a Nemesis for a cluster."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.errors import UsageError
from harness.nemesis.base import Nemesis
from harness.nemesis.clock import ClockNemesis
from harness.nemesis.packet import PacketNemesis
from harness.nemesis.partition import PartitionNemesis
from harness.nemesis.process import KillNemesis, PauseNemesis
from harness.remote.base import Remote


@dataclass(frozen=True)
class Cluster:
    """What a nemesis may reach: the nodes (through `remote`), the DB's hooks, and the seeded random source."""

    remote: Remote
    db: Any  # a harness.dbs.base.DB; process and clock faults also use its pid and process_state
    addresses: dict[str, str]
    rng: random.Random


NEMESES: dict[str, Callable[[Cluster], Nemesis]] = {
    "partition": lambda c: PartitionNemesis(c.remote, c.addresses, c.db.peer_port(), c.rng, c.db.primaries),
    "packet": lambda c: PacketNemesis(c.remote, c.addresses, c.db.peer_port(), c.rng, c.db.primaries),
    "kill": lambda c: KillNemesis(c.db, list(c.addresses), c.rng),
    "pause": lambda c: PauseNemesis(c.db, list(c.addresses), c.rng),
    "clock": lambda c: ClockNemesis(c.remote, c.db, list(c.addresses), c.rng),
}


def parse_nemesis(spec: str) -> list[str]:
    """Split a comma list, checking every name; "all" means every nemesis, "none" means no faults."""
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if names == ["none"]:
        return []
    if names == ["all"]:
        return list(NEMESES)
    if not names:
        raise UsageError("--nemesis needs a name (or 'all', or 'none')")
    unknown = [n for n in names if n not in NEMESES]
    if unknown:
        raise UsageError(f"unknown nemesis {', '.join(unknown)}; known: {', '.join(NEMESES)}, all, none")
    return list(dict.fromkeys(names))


def build_nemesis(
    names: list[str], remote: Remote, db: Any, addresses: dict[str, str], rng: random.Random
) -> list[Nemesis]:
    """One nemesis per name, in the given order (the order the final heal heals them in)."""
    cluster = Cluster(remote, db, addresses, rng)
    return [NEMESES[name](cluster) for name in names]
