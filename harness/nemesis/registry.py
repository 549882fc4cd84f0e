"""Names a user can pass to --nemesis, what each needs from the system, and how each is built.

A `--nemesis` value is a comma list of specs, `NAME` or `NAME:ARG`: a basic fault with a
target (`kill:majority`, `pause:followers`, `clock:leader`, `kill:n1+n3`) or a partition shape
(`partition:leader`, `partition:bridge`, `partition:n1+n2` to cut those nodes off together),
or a fault package (`lag-then-kill`, `isolate-then-skew`, ...: a sequence of faults aimed at
one kind of bug, see the package modules). Without an argument a basic fault draws its target
or shape at random per injection, as documented in README.md.

Each kind declares the DB abilities it needs (`harness.dbs.abilities`); a leader-relative
argument adds Primaries. `check_abilities` refuses a run whose system lacks one before anything
starts, naming the nemesis, the system and the missing ability. A kind may also `prepare` the
system before its nodes start (the clock fault switches on the system's clock hook), so the run
itself never asks for a fault by name. A package may also name the rhythm it works best with
(`interval`, `op_timeout`), which a run uses unless the user gives its own.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.client_gate import ClientGate
from harness.dbs.abilities import ClockHook, Primaries, Process, missing
from harness.errors import UsageError
from harness.nemesis.base import Nemesis
from harness.nemesis.clock import ClockNemesis
from harness.nemesis.election_kill import KillDuringElection
from harness.nemesis.figure8 import CrashAfterReplicate
from harness.nemesis.grudges import LEADER_SHAPES, SHAPE_ALIASES, SHAPES, grudge_of
from harness.nemesis.isolate_skew import IsolateThenSkew
from harness.nemesis.lag_kill import LagThenKill
from harness.nemesis.packet import TARGETS as PACKET_TARGETS
from harness.nemesis.packet import PacketNemesis
from harness.nemesis.partition import PartitionNemesis
from harness.nemesis.process import KillNemesis, PauseNemesis
from harness.nemesis.storm import PartitionKillStorm
from harness.nemesis.targets import TARGETS, named_nodes, needs_leader, no_leader, normalise
from harness.nemesis.watch import ProcessWatch
from harness.remote.base import Remote


@dataclass(frozen=True)
class Cluster:
    """What a nemesis may reach: the nodes (through `remote`), the DB, the seeded random source, and
    the clients' gate (a package may let them only read, or do nothing, for a while)."""

    remote: Remote
    db: Any  # a harness.dbs.base.DB with the abilities its nemesis kind requires, maybe in a ProcessWatch
    addresses: dict[str, str]
    rng: random.Random
    clients: ClientGate = field(default_factory=ClientGate)

    @property
    def primaries(self) -> Callable[[], list[str]]:
        """Asks for the current leaders; `no_leader` if the system cannot say (targets then fall back
        to random nodes at once)."""
        system = self.db.db if isinstance(self.db, ProcessWatch) else self.db
        return system.primaries if isinstance(system, Primaries) else no_leader

    @property
    def nodes(self) -> list[str]:
        return sorted(self.addresses)


@dataclass(frozen=True)
class NemesisKind:
    """A name for --nemesis. `build(cluster, arg)` gets the part after the colon (None if absent);
    `args` lists the words it accepts there (node lists are accepted where `nodes_arg`)."""

    name: str
    description: str
    build: Callable[[Cluster, str | None], Nemesis]
    requires: tuple[type, ...] = ()
    prepare: Callable[[Any], None] | None = None
    args: tuple[str, ...] = ()
    nodes_arg: bool = False
    package: bool = False
    interval: float | None = None  # the fault/quiet period this kind works best with, s
    op_timeout: float | None = None  # the client timeout it works best with, s
    tools: tuple[str, ...] = ()  # commands the fault runs on the nodes, checked there before the system starts
    # What its heal resets on every node: two faults whose heals reset the same thing cannot overlap in a
    # schedule file (the first heal would undo the second fault). A package's heal resets everything.
    heals: str = "everything"

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "description": self.description,
                               "requires": [a.__name__ for a in self.requires], "tools": list(self.tools)}
        if self.args or self.nodes_arg:
            out["args"] = list(self.args) + (["NODE+NODE..."] if self.nodes_arg else [])
        if self.package:
            out["package"] = True
            out["rhythm"] = {"interval": self.interval, "op_timeout": self.op_timeout}
        return out


def _partition(c: Cluster, arg: str | None) -> Nemesis:
    if arg is not None and named_nodes(arg) is not None and SHAPE_ALIASES.get(arg, arg) not in SHAPES:
        apart = named_nodes(arg) or []
        _check_nodes(apart, c, arg)
        return PartitionNemesis(c.remote, c.addresses, c.db.peer_port, c.rng, c.primaries,
                                grudge=grudge_of([apart, [n for n in c.nodes if n not in apart]]))
    shapes = [SHAPE_ALIASES.get(arg, arg)] if arg is not None else None
    return PartitionNemesis(c.remote, c.addresses, c.db.peer_port, c.rng, c.primaries, shapes=shapes)


def _check_nodes(named: list[str], c: Cluster, arg: str) -> None:
    unknown = sorted(set(named) - set(c.nodes))
    if unknown or not named:
        raise UsageError(f"--nemesis ...:{arg}: {arg!r} is not a known word nor nodes of this cluster "
                         f"({', '.join(c.nodes)})")


def _targets(c: Cluster, arg: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if arg is None:
        return default
    named = named_nodes(arg)
    if named is not None:
        _check_nodes(named, c, arg)
    return (normalise(arg),)


NETWORK_TOOLS = ("iptables", "python3")  # rules, and the probe that shows a cut is in force
PACKET_TOOLS = ("ip", "tc", "iptables", "python3")
# kill and pause share one heal (`process.revive`): either restarts every dead node and resumes every paused one
PROCESSES = "every node process (restarts the dead, resumes the paused)"

KINDS: dict[str, NemesisKind] = {k.name: k for k in (
    NemesisKind("partition", "network partitions between nodes (iptables), verified by probes; "
                "shape drawn per fault unless named",
                _partition, args=tuple(SHAPES), nodes_arg=True, tools=NETWORK_TOOLS,
                heals="every cut (it flushes the filter table)"),
    NemesisKind("packet", "delay, loss, duplication, reordering, corruption or bandwidth limits between nodes",
                lambda c, a: PacketNemesis(c.remote, c.addresses, c.db.peer_port, c.rng, c.primaries,
                                           targets=_targets(c, a, PACKET_TARGETS)),
                args=(*PACKET_TARGETS, "leader", "followers"), nodes_arg=True, tools=PACKET_TOOLS,
                heals="every delay, loss and limit (qdiscs and the mangle table)"),
    NemesisKind("kill", "SIGKILL node processes; the heal restarts them on their data",
                lambda c, a: KillNemesis(c.db, c.nodes, c.rng, primaries=c.primaries,
                                         **({"targets": _targets(c, a, ())} if a else {})),
                requires=(Process,), args=TARGETS, nodes_arg=True, heals=PROCESSES),
    NemesisKind("pause", "SIGSTOP node processes; the heal sends SIGCONT",
                lambda c, a: PauseNemesis(c.db, c.nodes, c.rng, primaries=c.primaries,
                                          **({"targets": _targets(c, a, ())} if a else {})),
                requires=(Process,), args=TARGETS, nodes_arg=True, heals=PROCESSES),
    NemesisKind("clock", "bump, strobe or reset node wall clocks (libfaketime), measured on the node",
                lambda c, a: ClockNemesis(c.remote, c.db, c.nodes, c.rng, primaries=c.primaries,
                                          **({"targets": _targets(c, a, ())} if a else {})),
                requires=(Process, ClockHook), prepare=lambda db: db.enable_clock_hook(), args=TARGETS,
                nodes_arg=True, heals="every clock (offsets to zero, strobes stopped)"),
    # op_timeout 3 s: the majority's writes during the stale window must come back ok, not as
    # timeouts (an unknown write explains any stale read of its value); on a loaded machine commits
    # took 0.8-1.3 s, and at 1 s nine writes in ten were unknown.
    NemesisKind("isolate-then-skew", IsolateThenSkew.summary, lambda c, a: IsolateThenSkew(c),
                requires=(Process, Primaries, ClockHook), prepare=lambda db: db.enable_clock_hook(),
                package=True, interval=5.0, op_timeout=3.0, tools=NETWORK_TOOLS),
    NemesisKind("lag-then-kill", LagThenKill.summary, lambda c, a: LagThenKill(c),
                requires=(Process, Primaries), package=True, interval=3.0, op_timeout=2.0, tools=NETWORK_TOOLS),
    NemesisKind("crash-after-replicate", CrashAfterReplicate.summary, lambda c, a: CrashAfterReplicate(c),
                requires=(Process, Primaries), package=True, interval=3.0, op_timeout=1.0,
                tools=(*NETWORK_TOOLS, "iptables-restore")),  # regroup: one atomic switch per node
    NemesisKind("kill-during-election", KillDuringElection.summary, lambda c, a: KillDuringElection(c),
                requires=(Process, Primaries), package=True, interval=3.0, op_timeout=1.0, tools=PACKET_TOOLS),
    NemesisKind("partition-kill-storm", PartitionKillStorm.summary, lambda c, a: PartitionKillStorm(c),
                requires=(Process, Primaries), package=True, interval=5.0, op_timeout=2.0, tools=NETWORK_TOOLS),
)}
# `--nemesis all`: every basic fault, drawn at random (packages are asked for by name).
BASIC = ("partition", "packet", "kill", "pause", "clock")


def split(spec: str) -> tuple[str, str | None]:
    """"kill:leader" -> ("kill", "leader"); "kill" -> ("kill", None)."""
    name, _, arg = spec.partition(":")
    return name, (arg or None)


def parse_nemesis(spec: str) -> list[str]:
    """Split a comma list, checking every name and argument; "all" means every basic fault, "none" no faults."""
    specs = [n.strip() for n in spec.split(",") if n.strip()]
    if specs == ["none"]:
        return []
    if specs == ["all"]:
        return list(BASIC)
    if not specs:
        raise UsageError("--nemesis needs a name (or 'all', or 'none')")
    for s in specs:
        name, arg = split(s)
        kind = KINDS.get(name)
        if kind is None:
            raise UsageError(f"unknown nemesis {name}; known: {', '.join(KINDS)}, all, none")
        if arg is None:
            continue
        accepted = SHAPE_ALIASES.get(arg, normalise(arg))
        if accepted not in kind.args and not (kind.nodes_arg and named_nodes(arg) is not None
                                              and accepted not in SHAPES and accepted not in TARGETS):
            words = ", ".join(kind.args) + (", or nodes such as n1+n3" if kind.nodes_arg else "")
            raise UsageError(f"--nemesis {s}: {name} " + (f"takes {words}" if words else "takes no argument")
                             + f", not {arg!r}")
    return list(dict.fromkeys(specs))


def _requires(spec: str) -> tuple[type, ...]:
    name, arg = split(spec)
    kind = KINDS[name]
    leader = arg is not None and (needs_leader(arg) or SHAPE_ALIASES.get(arg, arg) in LEADER_SHAPES)
    return kind.requires + ((Primaries,) if leader and Primaries not in kind.requires else ())


def check_abilities(names: list[str], db: Any) -> None:
    """Refuse (UsageError) a nemesis whose abilities the DB does not declare, saying which and why."""
    for spec in names:
        for ability in missing(db, _requires(spec)):
            why = getattr(db, "lacks", {}).get(ability.__name__)
            raise UsageError(f"nemesis {spec} needs the {ability.label} ability ({ability.__name__}), which db "
                             f"{db.name} does not have" + (f": {why}" if why else ""))


def check_nodes(names: list[str], nodes: list[str]) -> None:
    """Refuse an argument that is neither a word the nemesis knows nor nodes of the cluster (before
    anything starts, where the node names are known: n1..nN in Docker)."""
    for spec in names:
        name, arg = split(spec)
        named = named_nodes(arg) if arg is not None and SHAPE_ALIASES.get(arg, arg) not in SHAPES else None
        if named and set(named) - set(nodes):
            raise UsageError(f"--nemesis {spec}: {arg!r} is neither one of {', '.join(KINDS[name].args)} nor nodes "
                             f"of this cluster ({', '.join(nodes)}; join several with +, e.g. n1+n3)")


# Prints each command given as an argument that the node cannot find.
_MISSING = 'for t in "$@"; do command -v "$t" >/dev/null 2>&1 || echo "$t"; done'


def check_tools(names: list[str], remote: Remote, nodes: list[str]) -> None:
    """Refuse (UsageError) nodes that lack a command a chosen fault runs, naming the node, the tool and
    the fault: a user's own image or host may not have them, and the fault would fail half-way (a
    partition that cannot be healed) with a far less clear message."""
    kinds = {spec: KINDS[split(spec)[0]] for spec in names}
    tools = list(dict.fromkeys(t for k in kinds.values() for t in k.tools))
    if not tools:
        return
    for node in nodes:
        r = remote.exec(node, ["sh", "-c", _MISSING, "sh", *tools], timeout=15)
        lacking = r.stdout.split() if r.exit_code == 0 else tools
        if lacking:
            faults = ", ".join(spec for spec, k in kinds.items() if set(k.tools) & set(lacking))
            raise UsageError(f"node {node} has no {', '.join(lacking)}, which nemesis {faults} runs there: install "
                             "it in the nodes' image or host (the harness base image has it), or leave that fault out")


def rhythm(names: list[str]) -> dict[str, float]:
    """The interval and client timeout the named packages work best with (the shortest asked)."""
    out: dict[str, float] = {}
    for spec in names:
        kind = KINDS[split(spec)[0]]
        for key, value in (("interval", kind.interval), ("op_timeout", kind.op_timeout)):
            if value is not None:
                out[key] = min(out.get(key, value), value)
    return out


def prepare(names: list[str], db: Any) -> None:
    """Let each nemesis ready the system before its nodes start."""
    for spec in names:
        kind = KINDS[split(spec)[0]]
        if kind.prepare is not None:
            kind.prepare(db)


def build_nemesis(
    names: list[str], remote: Remote, db: Any, addresses: dict[str, str], rng: random.Random,
    watch: ProcessWatch | None = None, clients: ClientGate | None = None,
) -> list[Nemesis]:
    """One nemesis per spec, in the given order (the order the final heal heals them in). A nemesis
    built with an argument is named by its spec ("kill:leader"), so its history events say so.
    With a `watch`, every kill and restart goes through it (see `harness.nemesis.watch`); `clients`
    is the gate the run's workers obey (a package's own, which nobody obeys, if not given)."""
    cluster = Cluster(remote, watch if watch is not None else db, addresses, rng, clients or ClientGate())
    built = []
    for spec in names:
        name, arg = split(spec)
        nemesis = KINDS[name].build(cluster, arg)
        if arg is not None:
            nemesis.name = spec
        built.append(nemesis)
    return built
