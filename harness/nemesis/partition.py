"""Network partitions with iptables inside each node's own network namespace.

Each injection draws a shape (random halves, one node alone, the leader alone, a majorities
ring, a bridge; see grudges.py) or uses an explicit grudge. A grudge maps each node to the
peers it must not hear from; it is enforced with DROP rules in the filter table's INPUT and
OUTPUT, so neither side's packets cross the cut. Traffic from the host (the
clients) is untouched: a partition splits the cluster, not the clients from it. After each
injection the nemesis probes one cut link and one intact link with a TCP connect to the peer
port, so the history records that the cut was really in force, not just that rules were added.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from harness.nemesis.base import HealError
from harness.nemesis.grudges import SHAPE_ALIASES, SHAPES, Grudge, check_grudge, shapes_for
from harness.nemesis.parallel import on_nodes
from harness.nemesis.targets import no_leader
from harness.remote.base import Remote, RemoteError, shell

# A refused connection proves the link as well as an accepted one: the peer's kernel answered.
# So the probe works on any port, including a closed one for systems that name no peer port,
# and a killed node's port still shows its link intact. Only silence (a timeout) means a cut.
PROBE = (
    "import socket,sys\n"
    "try:\n"
    "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()\n"
    "except ConnectionRefusedError:\n"
    "    pass\n"
    "except OSError:\n"
    "    sys.exit(1)\n"
)
CLOSED_PORT = 9  # discard: nothing listens on it in a node, so a reachable peer refuses at once

FLUSH = "iptables -w 5 -F INPUT && iptables -w 5 -F OUTPUT"


class PartitionNemesis:
    name = "partition"

    def __init__(
        self,
        remote: Remote,
        addresses: dict[str, str],
        peer_port: int | None,
        rng: random.Random,
        primaries: Callable[[], list[str]] = no_leader,
        shapes: Sequence[str] | None = None,
        grudge: Grudge | None = None,
    ) -> None:
        """`primaries` names the current leader(s) for the "leader" shape; `grudge`, if given,
        replaces the random shapes with that one cut every time."""
        self.remote = remote
        self.addresses = addresses
        self.peer_port = peer_port or CLOSED_PORT
        self.rng = rng
        self.primaries = primaries
        self.shapes = [SHAPE_ALIASES.get(s, s) for s in shapes] if shapes is not None else shapes_for(len(addresses))
        unknown = [s for s in self.shapes if s not in SHAPES]
        if unknown or not self.shapes:
            raise ValueError(f"unknown partition shapes {unknown}; known: {', '.join(SHAPES)}")
        self.grudge = check_grudge(grudge, list(addresses)) if grudge is not None else None

    def _drops(self, enemies: list[str]) -> list[str]:
        """The DROP rules cutting a node off from `enemies`, both ways, as iptables arguments."""
        rules = []
        for enemy in enemies:
            addr = self.addresses[enemy]
            rules.append(["-A", "INPUT", "-s", addr, "-j", "DROP"])
            rules.append(["-A", "OUTPUT", "-d", addr, "-j", "DROP"])
        return rules

    def cut(self, grudge: Grudge) -> None:
        """Enforce a grudge: one remote command per node, all nodes at once."""

        def one(node: str) -> None:
            r = self.remote.exec(node, ["sh", "-c", self.cut_script(grudge, node)], timeout=30)
            if not r.ok:
                raise HealError(f"{node}: adding iptables rules failed: {r.stderr.strip()}")

        on_nodes([n for n in sorted(grudge) if grudge[n]], one)

    def regroup(self, grudge: Grudge) -> None:
        """Replace the cut in force by `grudge`, each node's INPUT and OUTPUT in one atomic
        iptables-restore transaction, all nodes at once.

        Unlike heal-then-cut (or a flush then adds), no moment has a link open that neither grudge
        leaves open: every node holds either its old rules or its new ones, and both ends of a link
        drop its packets. A package that moves nodes from one side to another uses this, so nodes
        never meant to meet cannot hold an election, nor receive what a dead node's kernel still
        retransmits, in between."""

        def one(node: str) -> None:
            drops = [" ".join(rule) for rule in self._drops(grudge.get(node, []))]
            lines = ["*filter", "-F INPUT", "-F OUTPUT", *drops, "COMMIT"]
            script = f"printf '%s\\n' {' '.join(shell([line]) for line in lines)} | iptables-restore --noflush"
            r = self.remote.exec(node, ["sh", "-c", script], timeout=30)
            if not r.ok:
                raise HealError(f"{node}: replacing iptables rules failed: {r.stderr.strip()}")

        on_nodes(sorted(self.addresses), one)

    def cut_script(self, grudge: Grudge, node: str) -> str:
        """The shell command that enforces `node`'s side of a grudge, for a package that must run
        it together with another step in one remote command."""
        return " && ".join(shell(["iptables", "-w", "5", *rule]) for rule in self._drops(grudge[node]))

    def uncut(self, a: str, b: str) -> None:
        """Delete one pair of DROP rules each way between two nodes, leaving every other cut (and any
        second copy of this one, added by an overlapping grudge) in force."""

        def one(pair: tuple[str, str]) -> None:
            node, peer = pair
            addr = self.addresses[peer]
            rules = [shell(["iptables", "-w", "5", "-D", chain, flag, addr, "-j", "DROP"])
                     for chain, flag in (("INPUT", "-s"), ("OUTPUT", "-d"))]
            r = self.remote.exec(node, ["sh", "-c", " && ".join(rules)], timeout=30)
            if not r.ok:
                raise HealError(f"{node}: deleting the cut to {peer} failed: {r.stderr.strip()}")

        on_nodes([(a, b), (b, a)], one)  # type: ignore[arg-type]

    def can_reach(self, source: str, target: str, timeout: float = 1.0) -> bool:
        """Whether `source` can open a TCP connection to `target`'s peer port right now."""
        r = self.remote.exec(
            source,
            ["python3", "-c", PROBE, self.addresses[target], str(self.peer_port), str(timeout)],
            timeout=timeout + 10,
        )
        return r.ok

    def inject(self) -> dict[str, Any]:
        nodes = list(self.addresses)
        if self.grudge is not None:
            shape, grudge, detail = "grudge", self.grudge, {}
        else:
            shape = self.rng.choice(self.shapes)
            grudge, detail = SHAPES[shape](nodes, self.rng, self.primaries)
        self.cut(grudge)
        return {"kind": "partition", "shape": shape, **detail, "grudge": grudge, "probe": self.probe(grudge)}

    def probe(self, grudge: Grudge) -> dict[str, Any]:
        """Probe one link the grudge cuts and one it keeps, to show the cut is really in force."""
        verified: dict[str, Any] = {}
        cut = next(((a, b) for a, es in sorted(grudge.items()) for b in es), None)
        kept = next(((a, b) for a, es in sorted(grudge.items()) for b in sorted(self.addresses)
                     if b != a and b not in es and es), None)
        for name, link in (("cut", cut), ("intact", kept)):
            if link is not None:
                verified[name] = {"from": link[0], "to": link[1], "reachable": self.can_reach(*link)}
        return verified

    def rules(self, node: str) -> list[str]:
        r = self.remote.exec(node, ["iptables", "-w", "5", "-S"], timeout=15)
        if not r.ok:
            raise HealError(f"{node}: cannot list iptables rules: {r.stderr.strip()}")
        return [line for line in r.stdout.splitlines() if line.startswith("-A")]

    def heal(self) -> dict[str, Any]:
        def one(node: str) -> str | None:
            try:
                r = self.remote.exec(node, ["sh", "-c", FLUSH], timeout=30)
                if not r.ok:
                    return f"{node}: flushing iptables failed: {r.stderr.strip()}"
                left = self.rules(node)
                return f"{node}: rules left: {'; '.join(left)}" if left else None
            except (HealError, RemoteError) as e:
                return str(e)

        problems = [p for p in on_nodes(list(self.addresses), one).values() if p]
        if problems:
            raise HealError("partition heal failed: " + " | ".join(problems))
        return {"kind": "heal-partition", "nodes": list(self.addresses), "verified": True}
