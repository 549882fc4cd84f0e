"""A deterministic in-process cluster of :class:`nodes.raft.core.Core` instances.

Time is simulated, the network is a list of in-flight messages, and each
node's "disk" is whatever its Ready told it to persist, so crashes and
restarts lose exactly the volatile state a real crash would.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nodes.raft.core import NO_SNAPSHOT, Config, Core, Ready, Role
from nodes.raft.messages import Entry, Message, Snapshot

FAST = Config(election_timeout=(150.0, 300.0), heartbeat=30.0)


class MessageStorm(AssertionError):
    """The network never went quiet: nodes keep answering each other forever."""


@dataclass
class Disk:
    term: int = 0
    voted_for: str | None = None
    snapshot: Snapshot = NO_SNAPSHOT  # data: the applied (index, entry) pairs up to its index
    log: list[Entry] = field(default_factory=list)  # the entries after the snapshot

    def save_snapshot(self, snapshot: Snapshot) -> None:
        """Like Storage.save_snapshot: entries after the snapshot's index survive."""
        self.log = self.log[snapshot.index - self.snapshot.index :]
        self.snapshot = snapshot


class SimCluster:
    """Cluster of cores wired through a fake network and a fake clock."""

    def __init__(self, size: int = 3, seed: int = 0, config: Config = FAST, lag: bool = False) -> None:
        self.ids = [f"n{i + 1}" for i in range(size)]
        self.config = config
        self.rng = random.Random(seed)
        self.now = 0.0
        self.disks = {nid: Disk() for nid in self.ids}
        self.nodes: dict[str, Core | None] = {}
        self.applied: dict[str, list[tuple[int, Entry]]] = {}
        self.reads: dict[str, list[tuple[Any, int]]] = {}
        self.in_flight: list[Message] = []
        self.cut: set[tuple[str, str]] = set()
        self.observers: list[Callable[[str, Ready], None]] = []
        # With ``lag``, a Ready whose messages may go out before its log write (a leader's
        # appends, Raft §10.2.1) is sent at once and its write waits here, per node, until
        # complete_persist runs it: the leader's own fsync lags behind replication.
        self.lag = lag
        self.unpersisted: dict[str, list[Ready]] = {nid: [] for nid in self.ids}
        for nid in self.ids:
            self.start(nid)

    # ----- node lifecycle ---------------------------------------------------------

    def start(self, nid: str) -> Core:
        disk = self.disks[nid]
        core = Core(
            nid,
            self.ids,
            self.config,
            random.Random(self.rng.random()),
            self.now,
            term=disk.term,
            voted_for=disk.voted_for,
            log=list(disk.log),
            snapshot=disk.snapshot,
        )
        self.nodes[nid] = core
        # The state machine is the snapshot's, then rebuilt from the log after a restart.
        self.applied[nid] = list(disk.snapshot.data or [])
        self.reads[nid] = []
        return core

    def crash(self, nid: str) -> None:
        self.nodes[nid] = None
        self.unpersisted[nid] = []  # writes not yet done are lost

    def core(self, nid: str) -> Core:
        core = self.nodes[nid]
        assert core is not None, f"{nid} is down"
        return core

    # ----- driving ----------------------------------------------------------------

    def flush(self, nid: str) -> Ready:
        """Carry out one node's Ready: persist to its disk, send, apply."""
        ready = self.core(nid).take_ready()
        if not (ready.messages or ready.committed or ready.reads or ready.events or ready.needs_persist()):
            return ready  # the common case on a tick: nothing to do
        if self.lag and ready.may_send_before_persist():
            if ready.needs_persist():
                self.unpersisted[nid].append(ready)
        else:
            self.complete_persists(nid)  # earlier writes land first, as with one fsync thread
            self._write(nid, ready)
        self.in_flight.extend(m for m in ready.messages if (m.src, m.dst) not in self.cut)
        if ready.snapshot is not None:
            self.applied[nid] = list(ready.snapshot.data)
        self.applied[nid].extend(ready.committed)
        self.reads[nid].extend(ready.reads)
        for observe in self.observers:
            observe(nid, ready)
        if (
            ready.needs_persist()
            and not self.unpersisted[nid]
            and self.core(nid).persisted(ready.persist_index, ready.persist_term)
        ):
            self.flush(nid)  # our own durable copy completed a majority: hand out the commits
        return ready

    def complete_persist(self, nid: str) -> None:
        """Finish the oldest pending log write of ``nid`` and tell its core."""
        ready = self.unpersisted[nid].pop(0)
        self._write(nid, ready)
        if self.core(nid).persisted(ready.persist_index, ready.persist_term):
            self.flush(nid)

    def complete_persists(self, nid: str) -> None:
        while self.unpersisted[nid]:
            self.complete_persist(nid)

    def _write(self, nid: str, ready: Ready) -> None:
        disk = self.disks[nid]
        if ready.hard_state_changed:
            disk.term, disk.voted_for = ready.term, ready.voted_for
        if ready.snapshot is not None:
            disk.save_snapshot(ready.snapshot)
        if ready.log_from is not None:
            del disk.log[ready.log_from - disk.snapshot.index - 1 :]
            disk.log.extend(ready.entries)

    def deliver(self, msg: Message) -> None:
        node = self.nodes.get(msg.dst)
        if node is None or (msg.src, msg.dst) in self.cut:
            return
        node.step(msg, self.now)
        self.flush(msg.dst)

    def deliver_all(self, limit: int = 100_000) -> None:
        for _ in range(limit):
            if not self.in_flight:
                return
            self.deliver(self.in_flight.pop(0))
        raise MessageStorm("message storm: network did not quiesce")

    def tick(self, dt: float) -> None:
        self.now += dt
        for nid, node in self.nodes.items():
            if node is not None:
                node.tick(self.now)
                self.flush(nid)

    def run(self, duration: float, step: float = 5.0) -> None:
        end = self.now + duration
        while self.now < end:
            self.tick(min(step, end - self.now))
            self.deliver_all()
            for nid in self.ids:
                if self.unpersisted[nid]:
                    self.complete_persists(nid)
                    self.deliver_all()

    def propose(self, nid: str, command: Any) -> int | None:
        index = self.core(nid).propose(command, self.now)
        self.flush(nid)
        return index

    def compact(self, nid: str) -> Snapshot | None:
        """Snapshot everything the node has applied, as the server does every N entries."""
        self.complete_persists(nid)  # like the server, which drains its log writes first
        core = self.core(nid)
        applied = self.applied[nid]
        if not applied or applied[-1][0] <= core.snapshot.index:
            return None
        snapshot = core.compact(applied[-1][0], tuple(applied))
        self.disks[nid].save_snapshot(snapshot)
        return snapshot

    # ----- faults and queries -----------------------------------------------------

    def isolate(self, nid: str) -> None:
        for other in self.ids:
            if other != nid:
                self.cut |= {(nid, other), (other, nid)}

    def heal(self) -> None:
        self.cut.clear()

    def leaders(self) -> list[str]:
        return [nid for nid, c in self.nodes.items() if c is not None and c.role is Role.LEADER]

    def wait_for_leader(self, within: float = 5000.0, among: list[str] | None = None) -> str:
        end = self.now + within
        while self.now < end:
            self.run(10.0)
            found = [n for n in self.leaders() if among is None or n in among]
            if len(found) == 1:
                return found[0]
        raise AssertionError(f"no single leader within {within} ms: {self.leaders()}")
