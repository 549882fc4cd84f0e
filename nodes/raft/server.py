"""The running node: wires the pure core to storage, the kv state machine,
peer transport, timers and the client API on one asyncio event loop.

All core calls happen on the loop thread. A single driver task collects the
core's output, makes it durable (in a worker thread, so messages and client
requests keep arriving and the next fsync covers all of them: group commit),
and only then sends messages and applies committed entries.

The exception is output that promises nothing durable, typically a leader's
AppendEntries and heartbeats (Raft §10.2.1): it is sent at once and its log
entries are written by a background writer, which merges whatever piles up
meanwhile into one write and then tells the core (``Core.persisted``), since
the leader counts its own copy toward a commit only once it is durable. Any
other output first waits for those background writes, keeping disk order.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodes.raft.client_api import serve_clients
from nodes.raft.core import Config, Core, Ready, Role
from nodes.raft.kv import KV, OPS, parse_command
from nodes.raft.messages import Entry, Message
from nodes.raft.storage import Storage
from nodes.raft.transport import PeerLink, serve_peers

log = logging.getLogger("raft")

TICK_SECONDS = 0.01
CLIENT_TIMEOUT = 10.0
LEADERSHIP_LOST = {"status": "info", "error": "leadership-lost"}
READ_MODES = ("readindex", "log", "lease")
SLOW_PERSIST = 0.1  # seconds; a stall near the election timeout can cost the leader its term


def merge_log_writes(readies: list[Ready]) -> list[tuple[int, list[Entry]]]:
    """Fold consecutive ``replace_from`` writes into as few as possible, same end result."""
    writes: list[tuple[int, list[Entry]]] = []
    for ready in readies:
        if ready.log_from is None:
            continue
        start, entries = ready.log_from, list(ready.entries)
        if writes:
            first, previous = writes[-1]
            if first <= start <= first + len(previous):
                writes[-1] = (first, previous[: start - first] + entries)
                continue
            if start < first:
                writes[-1] = (start, entries)
                continue
        writes.append((start, entries))
    return writes


@dataclass(frozen=True)
class PendingRead:
    """A ReadIndex/lease read: served locally once leadership is confirmed and ``index`` applied."""

    key: str
    future: asyncio.Future[dict[str, Any]]
    index: int | None = None  # known once the core confirms the read


@dataclass(frozen=True)
class Pending:
    """A client command waiting for its log entry to be applied."""

    term: int
    future: asyncio.Future[dict[str, Any]]


def monotonic_ms() -> float:
    return time.monotonic() * 1000.0


def wall_ms() -> float:
    """Wall-clock time: only the ``lease-skew`` bug uses it, so clock faults can stretch a lease."""
    return time.time() * 1000.0


class Node:
    """One Raft key-value server process."""

    def __init__(
        self,
        node_id: str,
        peers: dict[str, tuple[str, int]],
        client_port: int,
        data_dir: str | Path,
        config: Config,
        listen: str = "0.0.0.0",
        read_mode: str = "readindex",
        snapshot_every: int = 10_000,
    ) -> None:
        self.id = node_id
        self.read_mode = read_mode
        self.snapshot_every = snapshot_every
        self.peers = peers
        self.client_port = client_port
        self.listen = listen
        self.clock = wall_ms if "lease-skew" in config.bugs else monotonic_ms
        self.bugs = config.bugs
        self.storage = Storage(data_dir)
        self.core = Core(
            node_id,
            list(peers),
            config,
            random.Random(),
            self.clock(),
            term=self.storage.term,
            voted_for=self.storage.voted_for,
            log=self.storage.entries,
            snapshot=self.storage.snapshot,
        )
        self.storage.entries = []  # the core owns the log from here on
        self.kv = KV()
        self.kv.restore(self.storage.snapshot.data)
        self.last_applied = self.storage.snapshot.index
        self.pending: dict[int, Pending] = {}
        self.reads: dict[int, PendingRead] = {}
        self._read_ids = 0
        self.links = {p: PeerLink(p, host, port) for p, (host, port) in peers.items() if p != node_id}
        self._dirty = asyncio.Event()
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fsync")
        self._log_writes: list[Ready] = []  # sent already, waiting for the background writer
        self._writer: asyncio.Task[None] | None = None
        log.info(
            "started: term %d, voted for %s, snapshot at %d, log length %d",
            self.core.term,
            self.core.voted_for,
            self.core.snapshot.index,
            self.core.last_index,
        )

    # ----- lifecycle -------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set; any internal failure propagates (and ends the process)."""
        peer_port = self.peers[self.id][1]
        peer_server = await serve_peers(self.listen, peer_port, self._on_peer_message)
        client_server = await serve_clients(self.listen, self.client_port, self.execute)
        tasks = [asyncio.create_task(c) for c in (self._ticker(), self._driver())]
        tasks += [asyncio.create_task(link.run()) for link in self.links.values()]
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper:
                    task.result()  # re-raise the failure
        finally:
            for task in [stopper, *tasks, *([self._writer] if self._writer else [])]:
                task.cancel()
            peer_server.close()
            client_server.close()
            self._io.shutdown(wait=True)  # let an in-progress write finish before closing files
            self.storage.close()
            log.info("stopped")

    async def _ticker(self) -> None:
        while True:
            self.core.tick(self.clock())
            self._dirty.set()
            await asyncio.sleep(TICK_SECONDS)

    def _on_peer_message(self, msg: Message) -> None:
        self.core.step(msg, self.clock())
        self._dirty.set()

    # ----- the ready loop ----------------------------------------------------------

    async def _driver(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            if self._writer is not None and self._writer.done():
                self._writer.result()  # re-raise a failed background write
            ready = self.core.take_ready()
            for event in ready.events:
                log.info("%s", event)
            if ready.may_send_before_persist():
                if ready.needs_persist():  # only log entries: written while we carry on
                    self._log_writes.append(ready)
                    if self._writer is None or self._writer.done():
                        self._writer = asyncio.create_task(self._write_log_in_background())
            else:
                await self._drain_log_writes()  # keep the disk in Ready order
                if ready.needs_persist():
                    started = time.monotonic()
                    await loop.run_in_executor(self._io, self._persist, ready)
                    took = time.monotonic() - started
                    if took > SLOW_PERSIST:  # nothing is sent meanwhile: say so
                        log.warning("persisting took %.0f ms", took * 1000)
                    if self.core.persisted(ready.persist_index, ready.persist_term):
                        self._dirty.set()
            for msg in ready.messages:
                self.links[msg.dst].send(msg)
            if ready.snapshot is not None:
                self.kv.restore(ready.snapshot.data)
                self.last_applied = ready.snapshot.index
            self._apply(ready)
            self._serve_reads(ready)
            if self.last_applied - self.core.snapshot.index >= self.snapshot_every:
                await self._drain_log_writes()  # the snapshot must follow the log it covers
                snapshot = self.core.compact(self.last_applied, self.kv.snapshot())
                await loop.run_in_executor(self._io, self.storage.save_snapshot, snapshot)
                log.info("compacted the log into a snapshot at %d", snapshot.index)
            if self.core.role is not Role.LEADER:
                self._resolve_all(LEADERSHIP_LOST)

    async def _write_log_in_background(self) -> None:
        loop = asyncio.get_running_loop()
        while self._log_writes:
            batch, self._log_writes = self._log_writes, []
            started = time.monotonic()
            await loop.run_in_executor(self._io, self._write_log, merge_log_writes(batch))
            took = time.monotonic() - started
            if took > SLOW_PERSIST:
                log.info("background log write took %.0f ms", took * 1000)
            last = batch[-1]
            if self.core.persisted(last.persist_index, last.persist_term):
                self._dirty.set()

    async def _drain_log_writes(self) -> None:
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)
        if self._writer is not None:
            self._writer.result()

    def _write_log(self, writes: list[tuple[int, list[Entry]]]) -> None:
        for start, entries in writes:
            self.storage.replace_from(start, entries)

    def _persist(self, ready: Ready) -> None:
        # Term first: a crash in between must never leave log entries newer than the term.
        if ready.hard_state_changed:
            self.storage.set_hard_state(ready.term, ready.voted_for)
        if ready.snapshot is not None:
            self.storage.save_snapshot(ready.snapshot)
        if ready.log_from is not None:
            self.storage.replace_from(ready.log_from, ready.entries)

    def _apply(self, ready: Ready) -> None:
        for index, entry in ready.committed:
            result = self.kv.apply(entry.command) if entry.command is not None else None
            self.last_applied = index
            pending = self.pending.pop(index, None)
            if pending is None or pending.future.done():
                continue
            if pending.term == entry.term and result is not None:
                pending.future.set_result(result)
            else:  # our entry was overwritten by another leader's
                pending.future.set_result(dict(LEADERSHIP_LOST))

    def _serve_reads(self, ready: Ready) -> None:
        for ctx, index in ready.reads:
            if ctx in self.reads:
                self.reads[ctx] = PendingRead(self.reads[ctx].key, self.reads[ctx].future, index)
        for ctx, read in list(self.reads.items()):
            if read.index is not None and read.index <= self.last_applied:
                del self.reads[ctx]
                if not read.future.done():
                    read.future.set_result({"status": "ok", "value": self.kv.data.get(read.key)})

    def _resolve_all(self, response: dict[str, Any]) -> None:
        for pending in self.pending.values():
            if not pending.future.done():
                pending.future.set_result(dict(response))
        self.pending.clear()
        for read in self.reads.values():  # reads change nothing, so failing them is definite
            if not read.future.done():
                read.future.set_result({"status": "fail", "error": "not-leader", "leader": self.core.leader})
        self.reads.clear()

    # ----- client requests -----------------------------------------------------------

    async def execute(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run one client request and return the response (without its id)."""
        op = request.get("op")
        if op == "status":
            return {"status": "ok", "value": self.status()}
        if op not in OPS:
            return {"status": "fail", "error": "unknown-op"}
        try:
            command = parse_command(request)
        except ValueError:
            return {"status": "fail", "error": "bad-request"}
        if op == "read" and self.read_mode != "log":
            return await self._read(command["key"])
        if op == "txn" and "split-txn" in self.bugs and len(command["value"]) > 1:
            return await self._split_txn(command["value"])
        if op == "txn" and "uncommitted-read" in self.bugs and all(m[0] == "r" for m in command["value"]):
            return self._uncommitted_read(command["value"])
        return await self._replicate(command)

    async def _replicate(self, command: dict[str, Any]) -> dict[str, Any]:
        """Propose a command, wait until it is applied, and return its result."""
        index = self.core.propose(command, self.clock())
        if index is None:
            return self._not_leader()
        self._dirty.set()
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        displaced = self.pending.get(index)
        if displaced is not None and not displaced.future.done():
            displaced.future.set_result(dict(LEADERSHIP_LOST))
        self.pending[index] = Pending(self.core.term, future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), CLIENT_TIMEOUT)
        except TimeoutError:
            if self.pending.get(index) is not None and self.pending[index].future is future:
                del self.pending[index]
            return {"status": "info", "error": "timeout"}

    async def _split_txn(self, micro_ops: list[list[Any]]) -> dict[str, Any]:
        """Seeded bug split-txn: each micro-op goes through the log as its own entry, one after the
        other, so other clients' commands land in between: the transaction is not atomic."""
        done = []
        for micro in micro_ops:
            reply = await self._replicate({"op": "txn", "value": [micro]})
            if reply.get("status") != "ok":
                return reply
            done.append(reply["value"][0])
        return {"status": "ok", "value": done}

    def _uncommitted_read(self, micro_ops: list[list[Any]]) -> dict[str, Any]:
        """Seeded bug uncommitted-read: a leader answers a read-only transaction at once from its
        state with every entry in its log applied, committed or not: a cut-off leader's clients
        read writes that the majority never accepts."""
        if self.core.role is not Role.LEADER:
            return self._not_leader()
        scratch = KV()
        scratch.restore(self.kv.snapshot())
        for index in range(self.last_applied + 1, self.core.last_index + 1):
            command = self.core.entry(index).command
            if command is not None:
                scratch.apply(command)
        return scratch.apply({"op": "txn", "value": micro_ops})

    async def _read(self, key: str) -> dict[str, Any]:
        self._read_ids += 1
        ctx = self._read_ids
        if not self.core.read(ctx, self.clock()):
            return self._not_leader()
        self._dirty.set()
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.reads[ctx] = PendingRead(key, future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), CLIENT_TIMEOUT)
        except TimeoutError:
            self.reads.pop(ctx, None)
            return {"status": "info", "error": "timeout"}

    def _not_leader(self) -> dict[str, Any]:
        return {"status": "fail", "error": "not-leader", "leader": self.core.leader}

    def status(self) -> dict[str, Any]:
        role = self.core.role
        return {
            "id": self.id,
            "role": "candidate" if role is Role.PRECANDIDATE else role.value,
            "term": self.core.term,
            "voted_for": self.core.voted_for,
            "leader": self.core.leader,
            "commit_index": self.core.commit_index,
            "last_applied": self.last_applied,
            "log_length": self.core.last_index,
            "snapshot_index": self.core.snapshot.index,
        }
