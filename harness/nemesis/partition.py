"""Network partitions with iptables inside each node's own network namespace.

A grudge maps each node to the peers it must not hear from; it is enforced with DROP rules in
both INPUT and OUTPUT, so neither side's packets cross the cut. Traffic from the host (the
clients) is untouched: a partition splits the cluster, not the clients from it. After each
injection the nemesis probes one cut link and one intact link with a TCP connect to the peer
port, so the history records that the cut was really in force, not just that rules were added.
"""

from __future__ import annotations

import random
from typing import Any

from harness.nemesis.base import HealError
from harness.remote.base import Remote, RemoteError

PROBE = (
    "import socket,sys\n"
    "try:\n"
    "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()\n"
    "except OSError:\n"
    "    sys.exit(1)\n"
)


def random_halves(nodes: list[str], rng: random.Random) -> list[list[str]]:
    """Shuffle the nodes and cut them into a minority and a majority."""
    shuffled = nodes[:]
    rng.shuffle(shuffled)
    cut = len(shuffled) // 2
    return [sorted(shuffled[:cut]), sorted(shuffled[cut:])]


def grudge_of(components: list[list[str]]) -> dict[str, list[str]]:
    """Each node's grudge: every node outside its own component."""
    everyone = [n for c in components for n in c]
    return {n: sorted(set(everyone) - set(c)) for c in components for n in c}


class PartitionNemesis:
    name = "partition"

    def __init__(self, remote: Remote, addresses: dict[str, str], peer_port: int, rng: random.Random) -> None:
        self.remote = remote
        self.addresses = addresses
        self.peer_port = peer_port
        self.rng = rng

    def _iptables(self, node: str, *args: str) -> None:
        r = self.remote.exec(node, ["iptables", "-w", "5", *args], timeout=15)
        if not r.ok:
            raise HealError(f"{node}: iptables {' '.join(args)} failed: {r.stderr.strip()}")

    def cut(self, grudge: dict[str, list[str]]) -> None:
        for node, enemies in grudge.items():
            for enemy in enemies:
                addr = self.addresses[enemy]
                self._iptables(node, "-A", "INPUT", "-s", addr, "-j", "DROP")
                self._iptables(node, "-A", "OUTPUT", "-d", addr, "-j", "DROP")

    def can_reach(self, source: str, target: str, timeout: float = 1.0) -> bool:
        """Whether `source` can open a TCP connection to `target`'s peer port right now."""
        r = self.remote.exec(
            source,
            ["python3", "-c", PROBE, self.addresses[target], str(self.peer_port), str(timeout)],
            timeout=timeout + 10,
        )
        return r.ok

    def inject(self) -> dict[str, Any]:
        components = random_halves(list(self.addresses), self.rng)
        grudge = grudge_of(components)
        self.cut(grudge)
        minority, majority = components
        verified = {
            "cut": {"from": majority[0], "to": minority[0], "reachable": self.can_reach(majority[0], minority[0])},
        }
        if len(majority) > 1:
            verified["intact"] = {
                "from": majority[0], "to": majority[1], "reachable": self.can_reach(majority[0], majority[1]),
            }
        return {"kind": "partition", "components": components, "grudge": grudge, "probe": verified}

    def rules(self, node: str) -> list[str]:
        r = self.remote.exec(node, ["iptables", "-w", "5", "-S"], timeout=15)
        if not r.ok:
            raise HealError(f"{node}: cannot list iptables rules: {r.stderr.strip()}")
        return [line for line in r.stdout.splitlines() if line.startswith("-A")]

    def heal(self) -> dict[str, Any]:
        problems = []
        for node in self.addresses:
            try:
                self._iptables(node, "-F", "INPUT")
                self._iptables(node, "-F", "OUTPUT")
                left = self.rules(node)
                if left:
                    problems.append(f"{node}: rules left: {'; '.join(left)}")
            except (HealError, RemoteError) as e:
                problems.append(str(e))
        if problems:
            raise HealError("partition heal failed: " + " | ".join(problems))
        return {"kind": "heal-partition", "nodes": list(self.addresses), "verified": True}
