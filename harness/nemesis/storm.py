"""partition-kill-storm: many short faults in quick succession within one injection.

A random partition shape and a random kill (each with its own random target) every fraction of
a second, the previous partition healed and the killed nodes restarted as the next comes: the
kind of churn where a node rejoins during an election, with a half-replicated log, while the
cluster is split again. Each fault is recorded with its shape, grudge and nodes (`steps`).
"""

from __future__ import annotations

import random
import time
from typing import Any

from harness.nemesis.grudges import SHAPES, shapes_for
from harness.nemesis.parallel import on_nodes
from harness.nemesis.partition import PartitionNemesis
from harness.nemesis.process import revive
from harness.nemesis.steps import Steps
from harness.nemesis.targets import resolve

KILL_TARGETS = ("one", "minority", "leader")  # never a majority: the cluster must go on electing


class PartitionKillStorm:
    name = "partition-kill-storm"
    summary = "a burst of random partitions and kills (with restarts) every fraction of a second"

    def __init__(self, c: Any, bursts: int = 6, gap_s: tuple[float, float] = (0.2, 0.8)) -> None:
        """`c` is a `harness.nemesis.registry.Cluster` whose DB has Process and Primaries."""
        self.db = c.db
        self.nodes = c.nodes
        self.primaries = c.primaries
        self.rng: random.Random = c.rng
        self.bursts = bursts
        self.gap_s = gap_s
        self.shapes = shapes_for(len(self.nodes))
        self.partition = PartitionNemesis(c.remote, c.addresses, c.db.peer_port, c.rng, c.primaries)

    def inject(self) -> dict[str, Any]:
        steps = Steps()
        dead: list[str] = []
        hit: set[str] = set()
        for _ in range(self.bursts):
            self.partition.heal()
            if dead:
                on_nodes(dead, self.db.start)
                steps.note("restart", nodes=dead)
            shape = self.rng.choice(self.shapes)
            grudge, detail = SHAPES[shape](self.nodes, self.rng, self.primaries)
            self.partition.cut(grudge)
            steps.note("partition", shape=shape, grudge=grudge, **detail)
            aim = resolve(self.rng.choice(KILL_TARGETS), self.nodes, self.rng, self.primaries)
            dead = aim["nodes"]
            on_nodes(dead, self.db.kill)
            hit.update(dead)
            steps.note("kill", **aim)
            time.sleep(self.rng.uniform(*self.gap_s))
        return {"kind": self.name, "nodes": sorted(hit), "steps": steps.done}

    def heal(self) -> dict[str, Any]:
        self.partition.heal()
        return {"kind": f"heal-{self.name}", **revive(self.db, self.nodes)}
