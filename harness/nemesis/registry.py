"""Names a user can pass to --nemesis, what each needs from the system, and how each is built.

Each kind declares the DB abilities it needs (`harness.dbs.abilities`); `check_abilities`
refuses a run whose system lacks one before anything starts, naming the nemesis, the system and
the missing ability. A kind may also `prepare` the system before its nodes start (the clock
fault switches on the system's clock hook), so the run itself never asks for a fault by name.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.dbs.abilities import ClockHook, Primaries, Process, missing
from harness.errors import UsageError
from harness.nemesis.base import Nemesis
from harness.nemesis.clock import ClockNemesis
from harness.nemesis.packet import PacketNemesis
from harness.nemesis.partition import PartitionNemesis
from harness.nemesis.process import KillNemesis, PauseNemesis
from harness.remote.base import Remote


@dataclass(frozen=True)
class Cluster:
    """What a nemesis may reach: the nodes (through `remote`), the DB, and the seeded random source."""

    remote: Remote
    db: Any  # a harness.dbs.base.DB with the abilities its nemesis kind requires
    addresses: dict[str, str]
    rng: random.Random

    def primaries(self) -> list[str]:
        """The current leaders, or none if the system cannot say (targets then fall back to random nodes)."""
        return self.db.primaries() if isinstance(self.db, Primaries) else []


@dataclass(frozen=True)
class NemesisKind:
    name: str
    description: str
    build: Callable[[Cluster], Nemesis]
    requires: tuple[type, ...] = ()
    prepare: Callable[[Any], None] | None = None
    tools: tuple[str, ...] = ()  # commands the fault runs on the nodes, checked there before the system starts

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "requires": [a.__name__ for a in self.requires],
                "tools": list(self.tools)}


KINDS: dict[str, NemesisKind] = {k.name: k for k in (
    NemesisKind("partition", "network partitions between nodes (iptables), shapes drawn per fault, verified by probes",
                lambda c: PartitionNemesis(c.remote, c.addresses, c.db.peer_port, c.rng, c.primaries),
                tools=("iptables", "python3")),
    NemesisKind("packet", "delay, loss, duplication, reordering, corruption or bandwidth limits between nodes",
                lambda c: PacketNemesis(c.remote, c.addresses, c.db.peer_port, c.rng, c.primaries),
                tools=("ip", "tc", "iptables", "python3")),
    NemesisKind("kill", "SIGKILL node processes; the heal restarts them on their data",
                lambda c: KillNemesis(c.db, list(c.addresses), c.rng, primaries=c.primaries), requires=(Process,)),
    NemesisKind("pause", "SIGSTOP node processes; the heal sends SIGCONT",
                lambda c: PauseNemesis(c.db, list(c.addresses), c.rng, primaries=c.primaries), requires=(Process,)),
    NemesisKind("clock", "bump, strobe or reset node wall clocks (libfaketime), measured on the node",
                lambda c: ClockNemesis(c.remote, c.db, list(c.addresses), c.rng, primaries=c.primaries),
                requires=(Process, ClockHook), prepare=lambda db: db.enable_clock_hook()),
)}


def parse_nemesis(spec: str) -> list[str]:
    """Split a comma list, checking every name; "all" means every nemesis, "none" means no faults."""
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if names == ["none"]:
        return []
    if names == ["all"]:
        return list(KINDS)
    if not names:
        raise UsageError("--nemesis needs a name (or 'all', or 'none')")
    unknown = [n for n in names if n not in KINDS]
    if unknown:
        raise UsageError(f"unknown nemesis {', '.join(unknown)}; known: {', '.join(KINDS)}, all, none")
    return list(dict.fromkeys(names))


def check_abilities(names: list[str], db: Any) -> None:
    """Refuse (UsageError) a nemesis whose abilities the DB does not declare, saying which and why."""
    for name in names:
        for ability in missing(db, KINDS[name].requires):
            why = getattr(db, "lacks", {}).get(ability.__name__)
            raise UsageError(f"nemesis {name} needs the {ability.label} ability ({ability.__name__}), which db "
                             f"{db.name} does not have" + (f": {why}" if why else ""))


# Prints each command given as an argument that the node cannot find.
_MISSING = 'for t in "$@"; do command -v "$t" >/dev/null 2>&1 || echo "$t"; done'


def check_tools(names: list[str], remote: Remote, nodes: list[str]) -> None:
    """Refuse (UsageError) nodes that lack a command a chosen fault runs, naming the node, the tool and
    the fault: a user's own image or host may not have them, and the fault would fail half-way (a
    partition that cannot be healed) with a far less clear message."""
    tools = list(dict.fromkeys(t for n in names for t in KINDS[n].tools))
    if not tools:
        return
    for node in nodes:
        r = remote.exec(node, ["sh", "-c", _MISSING, "sh", *tools], timeout=15)
        lacking = r.stdout.split() if r.exit_code == 0 else tools
        if lacking:
            faults = ", ".join(n for n in names if set(KINDS[n].tools) & set(lacking))
            raise UsageError(f"node {node} has no {', '.join(lacking)}, which nemesis {faults} runs there: install "
                             "it in the nodes' image or host (the harness base image has it), or leave that fault out")


def prepare(names: list[str], db: Any) -> None:
    """Let each nemesis ready the system before its nodes start."""
    for name in names:
        if KINDS[name].prepare is not None:
            KINDS[name].prepare(db)


def build_nemesis(
    names: list[str], remote: Remote, db: Any, addresses: dict[str, str], rng: random.Random
) -> list[Nemesis]:
    """One nemesis per name, in the given order (the order the final heal heals them in)."""
    cluster = Cluster(remote, db, addresses, rng)
    return [KINDS[name].build(cluster) for name in names]
