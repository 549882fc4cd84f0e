"""Raft consensus as a pure, deterministic state machine.

No sockets, threads, clocks or randomness of its own: callers pass the current
time (milliseconds, any monotonic origin) into every entry point and inject the
random generator. Output accumulates internally and is collected with
:meth:`Core.take_ready`. That makes the algorithm drivable both by the asyncio
server and by an in-process simulation that drops, reorders and duplicates
messages and crashes nodes at will.

Ready contract (what the driver must do, in this order):
  1. persist ``term``/``voted_for`` if ``hard_state_changed``, then a
     ``snapshot`` installed from the leader (it replaces the log up to its
     index), then replace the log suffix from ``log_from`` with ``entries``,
     durably;
  2. only then send ``messages`` (votes and acks promise durable state) --
     except that when :meth:`Ready.may_send_before_persist` holds (only new
     log entries to write, no message promising durable state: typically a
     leader's AppendEntries), the messages may go out first and the log be
     written in parallel (Raft paper §10.2.1);
  2b. after the write, call :meth:`Core.persisted` with ``persist_index`` and
     ``persist_term``: a leader counts its own copy toward the commit quorum
     only up to what is durable on its own disk;
  3. replace the state machine with ``snapshot.data`` if there is a snapshot,
     then apply ``committed`` entries, in order;
  4. answer each ``(ctx, index)`` in ``reads`` from the state machine once it
     has applied ``index`` (ReadIndex / lease reads, see :meth:`Core.read`).

Log compaction: the driver calls :meth:`Core.compact` with the state machine
as of an applied index and persists the snapshot it returns. Followers that
need compacted entries get the snapshot instead (InstallSnapshot).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from nodes.raft.messages import (
    AppendReply,
    AppendRequest,
    Entry,
    Message,
    Snapshot,
    SnapshotRequest,
    VoteReply,
    VoteRequest,
)

NO_SNAPSHOT = Snapshot(0, 0, None)

CORE_BUGS = (
    "stale-read",
    "forget-vote",
    "no-election-restriction",
    "commit-old-term",
    "early-ack",
    "volatile-log",
    "lease-skew",
)
# Transaction bugs live in the server (nodes/raft/server.py): they are about how a node serves a
# transaction, not about consensus, so the core's simulation cannot see them
# (tests/nodes/test_raft_txn_bugs.py shows them on real processes).
SERVER_BUGS = ("split-txn", "uncommitted-read")
BUGS = CORE_BUGS + SERVER_BUGS


class Role(StrEnum):
    FOLLOWER = "follower"
    PRECANDIDATE = "precandidate"
    CANDIDATE = "candidate"
    LEADER = "leader"


@dataclass(frozen=True)
class Config:
    """Timing and feature switches; times are in the same unit as ``now``."""

    election_timeout: tuple[float, float] = (300.0, 600.0)
    heartbeat: float = 75.0
    pre_vote: bool = True
    check_quorum: bool = True
    max_batch: int = 64  # entries per AppendEntries; keeps lines far below the transport limit
    lease_reads: bool = False
    bugs: frozenset[str] = frozenset()  # seeded bugs, see nodes/BUGS.md; names in BUGS

    @property
    def lease(self) -> float:
        """How long after a majority acknowledged a round the leader may serve reads locally.

        Followers refuse votes and pre-votes for ``election_timeout[0]`` after
        hearing from the leader, so no rival can be elected sooner; the margin
        covers clock rate drift between nodes.
        """
        if "lease-skew" in self.bugs:
            return 4 * self.election_timeout[1]
        return 0.8 * self.election_timeout[0]


@dataclass
class Ready:
    """Everything the core wants done since the previous :meth:`Core.take_ready`."""

    term: int
    voted_for: str | None
    hard_state_changed: bool
    log_from: int | None
    entries: list[Entry]
    messages: list[Message]
    committed: list[tuple[int, Entry]]
    reads: list[tuple[Any, int]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    snapshot: Snapshot | None = None  # installed from the leader: persist it, then load it
    persist_index: int = 0  # last log index as of this Ready; report it to Core.persisted once written
    persist_term: int = 0  # term of that entry

    def needs_persist(self) -> bool:
        return self.hard_state_changed or self.log_from is not None or self.snapshot is not None

    def may_send_before_persist(self) -> bool:
        """Whether the messages may be sent before (or while) the log write completes.

        True when only log entries are to be written and no message promises
        durable state: no term or vote change, no snapshot, no successful
        append acknowledgement and no granted vote. A leader's AppendEntries
        qualify, so replication and heartbeats never wait for its own fsync.
        """
        if self.hard_state_changed or self.snapshot is not None:
            return False
        for msg in self.messages:
            if isinstance(msg, AppendReply) and msg.success:
                return False
            if isinstance(msg, VoteReply) and msg.granted and not msg.pre:
                return False
        return True


class Core:
    """One Raft participant.

    ``members`` lists every node id including ``node_id``. ``term``,
    ``voted_for``, ``snapshot`` and ``log`` (the entries after the snapshot)
    are the durable state recovered from storage.
    """

    def __init__(
        self,
        node_id: str,
        members: list[str],
        config: Config,
        rng: random.Random,
        now: float,
        term: int = 0,
        voted_for: str | None = None,
        log: list[Entry] | None = None,
        snapshot: Snapshot = NO_SNAPSHOT,
    ) -> None:
        self.id = node_id
        self.others = [m for m in members if m != node_id]
        self.config = config
        self._rng = rng
        self.term = term
        self.voted_for = voted_for
        self._snapshot = snapshot
        self._installed: Snapshot | None = None
        self._log: list[Entry] = list(log or [])
        self._durable = self.last_index  # own log durable up to here (recovered from storage)
        self.role = Role.FOLLOWER
        self.leader: str | None = None
        self.commit_index = snapshot.index  # a snapshot only ever holds committed entries
        self._emitted = snapshot.index
        self._votes: set[str] = set()
        self._next: dict[str, int] = {}
        self._match: dict[str, int] = {}
        self._last_ack: dict[str, float] = {}
        self._inflight: set[str] = set()
        self._seq = 0
        self._acked_seq: dict[str, int] = {}
        self._sent_at: dict[int, float] = {}
        self._lease_until = float("-inf")
        self._term_start = 0
        self._reads: list[tuple[Any, int, int]] = []  # (ctx, read index, seq that must be acked)
        self._confirmed_reads: list[tuple[Any, int]] = []
        self._round_wanted_at: float | None = None
        self._leader_contact = now  # after a restart, honour any lease we may have promised
        self._heartbeat_at = 0.0
        self._election_deadline = 0.0
        self._reset_election_timer(now)
        self._hard_dirty = False
        self._dirty_from: int | None = None
        self._outbox: list[Message] = []
        self._events: list[str] = []

    # ----- read-only views -------------------------------------------------

    @property
    def last_index(self) -> int:
        return self._snapshot.index + len(self._log)

    @property
    def snapshot(self) -> Snapshot:
        """The latest snapshot (index 0 when there is none); the log holds only what follows it."""
        return self._snapshot

    @property
    def log(self) -> list[Entry]:
        """The entries after the snapshot (index i is ``log[i - snapshot.index - 1]``); do not mutate."""
        return self._log

    def entry(self, index: int) -> Entry:
        """The entry at ``index``, which must be after the snapshot."""
        if index <= self._snapshot.index:
            raise ValueError(f"entry {index} is compacted into the snapshot at {self._snapshot.index}")
        return self._log[index - self._snapshot.index - 1]

    def term_at(self, index: int) -> int:
        """Term of the entry at ``index`` (the snapshot's last entry included); 0 for the empty prefix."""
        if index == self._snapshot.index:
            return self._snapshot.term
        return self.entry(index).term

    def quorum(self) -> int:
        return (len(self.others) + 1) // 2 + 1

    # ----- entry points ------------------------------------------------------

    def tick(self, now: float) -> None:
        """Advance timers: heartbeats and quorum checks on a leader, elections elsewhere."""
        if self.role is Role.LEADER:
            # The stale-read bug comes as the pair it usually is in practice: local reads are
            # only "safe enough" if a cut-off leader soon steps down, and this one never does.
            check_quorum = self.config.check_quorum and "stale-read" not in self.config.bugs
            if check_quorum and not self._has_active_quorum(now):
                self._become_follower(now, self.term, None, "lost contact with a majority")
                return
            if now >= self._heartbeat_at:
                self._broadcast_append(now)
        elif now >= self._election_deadline:
            self._campaign(now)

    def campaign(self, now: float) -> None:
        """Act as if the election timer fired now; lets tests force rival candidates.

        Refused within the lease, where a real timer cannot fire: campaigning
        there would break the promise leader leases rely on.
        """
        if not self._in_lease(now):
            self._campaign(now)

    def propose(self, command: Any, now: float) -> int | None:
        """Append a client command if leader; return its log index, or None if not leader."""
        if self.role is not Role.LEADER:
            return None
        self._append(Entry(self.term, command))
        for peer in self.others:
            if peer not in self._inflight:
                self._send_append(peer)
        self._advance_commit()
        return self.last_index

    def persisted(self, index: int, term: int) -> bool:
        """The driver made the log durable as of a Ready with ``persist_index``/``persist_term``.

        Ignored if the entry at ``index`` has since been replaced (a different
        term there means a different log). Returns True if this advanced the
        commit index, i.e. there is new output to take.
        """
        if index <= self._durable or index > self.last_index:
            return False
        if index >= self._snapshot.index and self.term_at(index) != term:
            return False
        self._durable = index
        if self.role is not Role.LEADER:
            return False
        before = self.commit_index
        self._advance_commit()
        return self.commit_index > before

    def read(self, ctx: Any, now: float) -> bool:
        """Start a linearizable read without writing the log (ReadIndex, or a lease if enabled).

        Returns False if not leader. Otherwise ``(ctx, index)`` shows up in a
        later ``Ready.reads`` once leadership is confirmed; the read may then
        be served from the state machine as soon as it has applied ``index``.
        """
        if self.role is not Role.LEADER:
            return False
        index = max(self.commit_index, self._term_start)
        if "stale-read" in self.config.bugs:
            self._confirmed_reads.append((ctx, self.commit_index))
        elif self.config.lease_reads and now < self._lease_until:
            self._confirmed_reads.append((ctx, index))
        else:
            # Only acks to a round sent after this point prove we were still leader.
            # The round goes out at the next take_ready, so concurrent reads share it.
            self._reads.append((ctx, index, self._seq + 1))
            self._round_wanted_at = now
        return True

    def step(self, msg: Message, now: float) -> None:
        """Handle one message from a peer."""
        if msg.dst != self.id or msg.src not in self.others:
            return
        if isinstance(msg, VoteRequest) and msg.pre:
            self._on_prevote(msg, now)
            return
        if isinstance(msg, VoteReply) and msg.pre:
            self._on_prevote_reply(msg, now)
            return
        if isinstance(msg, VoteRequest) and msg.term > self.term and self._in_lease(now):
            # Like a pre-vote, a real vote is refused while we still follow a live
            # leader: that promise is what leader leases rest on, and it stops a
            # late or rejoining candidate from deposing a healthy leader.
            self._outbox.append(VoteReply(self.id, msg.src, self.term, False))
            return
        if msg.term > self.term:
            leader = msg.src if isinstance(msg, AppendRequest | SnapshotRequest) else None
            self._become_follower(now, msg.term, leader, f"saw term {msg.term} from {msg.src}")
        if isinstance(msg, VoteRequest):
            self._on_vote(msg, now)
        elif isinstance(msg, VoteReply):
            self._on_vote_reply(msg, now)
        elif isinstance(msg, AppendRequest):
            self._on_append(msg, now)
        elif isinstance(msg, AppendReply):
            self._on_append_reply(msg, now)
        elif isinstance(msg, SnapshotRequest):
            self._on_snapshot(msg, now)

    def compact(self, index: int, data: Any) -> Snapshot:
        """Replace the log up to ``index`` with ``data``, the state machine after applying it.

        ``index`` must already have been handed out in ``Ready.committed`` (hence be durable
        and applied). Returns the snapshot for the driver to persist.
        """
        if not self._snapshot.index < index <= self._emitted:
            raise ValueError(f"cannot snapshot at {index}: snapshot at {self._snapshot.index}, "
                             f"applied up to {self._emitted}")
        snapshot = Snapshot(index, self.term_at(index), data)
        del self._log[: index - self._snapshot.index]
        self._snapshot = snapshot
        return snapshot

    def take_ready(self) -> Ready:
        """Collect and clear pending output; see the module docstring for the contract."""
        waiting = self.role is Role.LEADER and self._reads and self._reads[-1][2] > self._seq
        if waiting and self._round_wanted_at is not None:
            self._broadcast_append(self._round_wanted_at)
            self._confirm_reads()
        self._round_wanted_at = None
        log_from = None if "volatile-log" in self.config.bugs else self._dirty_from
        entries = self._log[log_from - self._snapshot.index - 1 :] if log_from is not None else []
        committed = [(i, self.entry(i)) for i in range(self._emitted + 1, self.commit_index + 1)]
        self._emitted = max(self._emitted, self.commit_index)
        ready = Ready(
            term=self.term,
            voted_for=None if "forget-vote" in self.config.bugs else self.voted_for,
            hard_state_changed=self._hard_dirty,
            log_from=log_from,
            entries=entries,
            messages=self._outbox,
            committed=committed,
            reads=self._confirmed_reads,
            events=self._events,
            snapshot=self._installed,
            persist_index=self.last_index,
            persist_term=self.term_at(self.last_index),
        )
        self._hard_dirty = False
        self._dirty_from = None
        self._outbox = []
        self._confirmed_reads = []
        self._events = []
        self._installed = None
        return ready

    # ----- elections -----------------------------------------------------------

    def _reset_election_timer(self, now: float) -> None:
        low, high = self.config.election_timeout
        self._election_deadline = now + self._rng.uniform(low, high)

    def _log_is_current(self, last_index: int, last_term: int) -> bool:
        """Election restriction: the candidate's log is at least as up to date as ours."""
        if "no-election-restriction" in self.config.bugs:
            return True
        my_term = self.term_at(self.last_index)
        return last_term > my_term or (last_term == my_term and last_index >= self.last_index)

    def _campaign(self, now: float) -> None:
        self._reset_election_timer(now)
        if not self.config.pre_vote:
            self._start_election(now)
            return
        self.role = Role.PRECANDIDATE
        self._set_leader(None)
        self._votes = {self.id}
        last = self.last_index
        for peer in self.others:
            self._outbox.append(VoteRequest(self.id, peer, self.term + 1, last, self.term_at(last), pre=True))
        if len(self._votes) >= self.quorum():
            self._start_election(now)

    def _start_election(self, now: float) -> None:
        self.role = Role.CANDIDATE
        self._set_term(self.term + 1)
        self.voted_for = self.id
        self._set_leader(None)
        self._votes = {self.id}
        self._reset_election_timer(now)
        self._events.append(f"starting election for term {self.term}")
        last = self.last_index
        for peer in self.others:
            self._outbox.append(VoteRequest(self.id, peer, self.term, last, self.term_at(last)))
        if len(self._votes) >= self.quorum():
            self._become_leader(now)

    def _in_lease(self, now: float) -> bool:
        """Whether we heard from a live leader (or are one) within the minimum election timeout."""
        return self.role is Role.LEADER or now - self._leader_contact < self.config.election_timeout[0]

    def _on_prevote(self, msg: VoteRequest, now: float) -> None:
        current = self._log_is_current(msg.last_index, msg.last_term)
        granted = msg.term > self.term and not self._in_lease(now) and current
        term = msg.term if granted else self.term
        self._outbox.append(VoteReply(self.id, msg.src, term, granted, pre=True))

    def _on_prevote_reply(self, msg: VoteReply, now: float) -> None:
        if msg.granted:
            if self.role is Role.PRECANDIDATE and msg.term == self.term + 1:
                self._votes.add(msg.src)
                if len(self._votes) >= self.quorum():
                    self._start_election(now)
        elif msg.term > self.term:
            self._become_follower(now, msg.term, None, f"pre-vote rejected at term {msg.term}")

    def _on_vote(self, msg: VoteRequest, now: float) -> None:
        granted = (
            msg.term == self.term
            and self.voted_for in (None, msg.src)
            and self._log_is_current(msg.last_index, msg.last_term)
        )
        if granted:
            if self.voted_for != msg.src:
                self.voted_for = msg.src
                self._hard_dirty = True
            self._reset_election_timer(now)
        self._outbox.append(VoteReply(self.id, msg.src, self.term, granted))

    def _on_vote_reply(self, msg: VoteReply, now: float) -> None:
        if self.role is not Role.CANDIDATE or msg.term != self.term or not msg.granted:
            return
        self._votes.add(msg.src)
        if len(self._votes) >= self.quorum():
            self._become_leader(now)

    def _become_leader(self, now: float) -> None:
        self.role = Role.LEADER
        self._events.append(f"won election for term {self.term} with votes from {sorted(self._votes)}")
        self._set_leader(self.id)
        self._next = {p: self.last_index + 1 for p in self.others}
        self._match = {p: 0 for p in self.others}
        self._last_ack = {p: now for p in self.others}
        self._inflight = set()
        self._seq = 0
        self._acked_seq = {p: 0 for p in self.others}
        self._sent_at = {}
        self._lease_until = float("-inf")
        # The no-op lets entries from earlier terms commit (Figure 8 rule) promptly;
        # reads must wait for it, as only then is every earlier commit known here.
        if "commit-old-term" not in self.config.bugs:  # the bug needs old entries left to count
            self._append(Entry(self.term, None))
        self._term_start = self.last_index
        self._broadcast_append(now)
        self._advance_commit()

    def _become_follower(self, now: float, term: int, leader: str | None, reason: str) -> None:
        if self.role is Role.LEADER:
            self._events.append(f"stepping down in term {self.term}: {reason}")
        elif self.role is Role.CANDIDATE:
            self._events.append(f"lost election for term {self.term}: {reason}")
        if term > self.term:
            self._set_term(term)
        self._reads = []
        self._lease_until = float("-inf")
        self.role = Role.FOLLOWER
        self._set_leader(leader)
        self._reset_election_timer(now)

    def _set_term(self, term: int) -> None:
        self.term = term
        self.voted_for = None
        self._hard_dirty = True

    def _set_leader(self, leader: str | None) -> None:
        if leader != self.leader and leader is not None:
            self._events.append(f"leader is now {leader} in term {self.term}")
        self.leader = leader

    def _has_active_quorum(self, now: float) -> bool:
        window = self.config.election_timeout[1]
        active = 1 + sum(1 for p in self.others if now - self._last_ack[p] <= window)
        return active >= self.quorum()

    # ----- replication -----------------------------------------------------------

    def _append(self, entry: Entry) -> None:
        self._log.append(entry)
        self._mark_dirty(self.last_index)

    def _truncate(self, index: int) -> None:
        """Drop entries at ``index`` and after."""
        del self._log[index - self._snapshot.index - 1 :]
        self._durable = min(self._durable, index - 1)
        self._mark_dirty(index)

    def _mark_dirty(self, index: int) -> None:
        if self._dirty_from is None or index < self._dirty_from:
            self._dirty_from = index

    def _broadcast_append(self, now: float) -> None:
        """Send a new round (heartbeat plus any backlog) to every peer."""
        self._seq += 1
        self._sent_at[self._seq] = now
        self._heartbeat_at = now + self.config.heartbeat
        for peer in self.others:
            self._send_append(peer)

    def _send_append(self, peer: str) -> None:
        prev = self._next[peer] - 1
        snap = self._snapshot
        if prev < snap.index:  # what the peer needs next is compacted: send the snapshot
            request = SnapshotRequest(
                self.id, peer, self.term, snap.index, snap.term, snap.data, self.commit_index, self._seq
            )
            self._outbox.append(request)
            self._inflight.add(peer)
            return
        start = prev - snap.index
        entries = tuple(self._log[start : start + self.config.max_batch])
        self._outbox.append(
            AppendRequest(self.id, peer, self.term, prev, self.term_at(prev), entries, self.commit_index, self._seq)
        )
        self._inflight.add(peer)

    def _follow(self, msg: AppendRequest | SnapshotRequest, now: float) -> bool:
        """Accept the sender as this term's leader; False (the message is ignored) if it is stale."""
        if msg.term < self.term:
            self._outbox.append(AppendReply(self.id, msg.src, self.term, False, seq=msg.seq))
            return False
        if self.role is Role.LEADER:
            return False  # two leaders in one term: impossible unless a bug is seeded
        if self.role is not Role.FOLLOWER:
            self._become_follower(now, self.term, msg.src, f"{msg.src} won term {self.term}")
        self._set_leader(msg.src)
        self._leader_contact = now
        self._reset_election_timer(now)
        return True

    def _on_append(self, msg: AppendRequest, now: float) -> None:
        if not self._follow(msg, now):
            return
        prev_index, prev_term, new = msg.prev_index, msg.prev_term, msg.entries
        base = self._snapshot.index
        if prev_index < base:
            # Entries up to the snapshot are committed, so they equal the leader's: skip them.
            skip = base - prev_index
            if skip >= len(new):
                match = prev_index + len(new)
                self._outbox.append(AppendReply(self.id, msg.src, self.term, True, match_index=match, seq=msg.seq))
                return
            prev_index, prev_term, new = base, self._snapshot.term, new[skip:]
        if prev_index > self.last_index:
            self._outbox.append(
                AppendReply(self.id, msg.src, self.term, False, conflict_index=self.last_index + 1, seq=msg.seq)
            )
            return
        if self.term_at(prev_index) != prev_term:
            bad_term = self.term_at(prev_index)
            first = prev_index
            while first > base + 1 and self.term_at(first - 1) == bad_term:
                first -= 1
            self._outbox.append(
                AppendReply(
                    self.id, msg.src, self.term, False, conflict_index=first, conflict_term=bad_term, seq=msg.seq
                )
            )
            return
        for offset, entry in enumerate(new):
            index = prev_index + 1 + offset
            if index <= self.last_index:
                if self.term_at(index) == entry.term:
                    continue  # already have it; never truncate on a stale duplicate
                self._truncate(index)
            self._append(entry)
        match = prev_index + len(new)
        self.commit_index = max(self.commit_index, min(msg.commit, match))
        self._outbox.append(AppendReply(self.id, msg.src, self.term, True, match_index=match, seq=msg.seq))

    def _on_snapshot(self, msg: SnapshotRequest, now: float) -> None:
        if not self._follow(msg, now):
            return
        if msg.index > self.commit_index:  # otherwise we already hold (committed) entries up to it
            base = self._snapshot.index
            if msg.index <= self.last_index and self.term_at(msg.index) == msg.last_term:
                del self._log[: msg.index - base]  # the entries after the snapshot still match
            else:
                self._log = []
                self._durable = min(self._durable, msg.index)
                self._mark_dirty(msg.index + 1)  # drops whatever storage holds after it
            if self._dirty_from is not None and self._dirty_from <= msg.index:
                self._dirty_from = msg.index + 1
            self._snapshot = self._installed = Snapshot(msg.index, msg.last_term, msg.data)
            self.commit_index = self._emitted = msg.index
            self._events.append(f"installed snapshot at {msg.index} (term {msg.last_term}) from {msg.src}")
        self._outbox.append(AppendReply(self.id, msg.src, self.term, True, match_index=msg.index, seq=msg.seq))

    def _on_append_reply(self, msg: AppendReply, now: float) -> None:
        if self.role is not Role.LEADER or msg.term != self.term:
            return
        peer = msg.src
        self._last_ack[peer] = now
        self._inflight.discard(peer)
        if msg.seq > self._acked_seq[peer]:
            self._acked_seq[peer] = msg.seq
            self._confirm_reads()
        if msg.success:
            self._match[peer] = max(self._match[peer], msg.match_index)
            self._next[peer] = max(self._next[peer], msg.match_index + 1)
            self._advance_commit()
            if self._next[peer] <= self.last_index:
                self._send_append(peer)
            return
        self._next[peer] = max(self._match[peer] + 1, min(self._backup_index(msg), self.last_index + 1))
        self._send_append(peer)

    def _backup_index(self, msg: AppendReply) -> int:
        """Where to resume replication after a rejection, skipping whole conflicting terms."""
        if msg.conflict_term is not None:
            for index in range(self.last_index, self._snapshot.index, -1):
                term = self.term_at(index)
                if term == msg.conflict_term:
                    return index + 1
                if term < msg.conflict_term:
                    break
        return msg.conflict_index

    def _confirm_reads(self) -> None:
        """Release reads whose round a majority has acknowledged, and extend the lease."""
        rounds = sorted([self._seq, *self._acked_seq.values()], reverse=True)
        confirmed = rounds[self.quorum() - 1]
        if confirmed in self._sent_at:
            self._lease_until = self._sent_at[confirmed] + self.config.lease
            self._sent_at = {s: t for s, t in self._sent_at.items() if s > confirmed}
        still_waiting = []
        for ctx, index, seq in self._reads:
            if seq <= confirmed:
                self._confirmed_reads.append((ctx, index))
            else:
                still_waiting.append((ctx, index, seq))
        self._reads = still_waiting

    def _advance_commit(self) -> None:
        # Our own copy counts only where it is durable (§10.2.1: the leader writes its
        # log in parallel with replicating it), so a commit never rests on an entry
        # that a crash of this node before its fsync would lose.
        own = min(self._durable, self.last_index)
        matches = sorted([own, *self._match.values()], reverse=True)
        candidate = matches[self.quorum() - 1]
        if "early-ack" in self.config.bugs:
            candidate = self.last_index
        if candidate <= self.commit_index:
            return  # also keeps term_at away from compacted indexes
        # Figure 8: only entries of the current term are committed by counting replicas.
        if self.term_at(candidate) == self.term or "commit-old-term" in self.config.bugs:
            self.commit_index = candidate
