"""Names a user can pass to --nemesis, and how each becomes a Nemesis for a cluster."""

from __future__ import annotations

import random
from collections.abc import Callable

from harness.errors import UsageError
from harness.nemesis.base import Nemesis
from harness.nemesis.partition import PartitionNemesis
from harness.remote.base import Remote

Builder = Callable[[Remote, dict[str, str], int, random.Random], Nemesis]

NEMESES: dict[str, Builder] = {
    "partition": PartitionNemesis,
}


def parse_nemesis(spec: str) -> list[str]:
    """Split a comma list, checking every name; "none" means no faults."""
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if names == ["none"]:
        return []
    if not names:
        raise UsageError("--nemesis needs a name (or 'none')")
    unknown = [n for n in names if n not in NEMESES]
    if unknown:
        raise UsageError(f"unknown nemesis {', '.join(unknown)}; known: {', '.join(sorted(NEMESES))}, none")
    return names


def build_nemesis(
    names: list[str], remote: Remote, addresses: dict[str, str], peer_port: int, rng: random.Random
) -> Nemesis | None:
    if not names:
        return None
    if len(names) > 1:
        raise UsageError("combining several nemeses is not supported yet; pass one name")
    return NEMESES[names[0]](remote, addresses, peer_port, rng)
