"""Raft log entries and peer messages, plus their JSON wire form.

Kept separate from the algorithm so that the pure core, the simulation tests
and the network layer all share one definition of what travels between nodes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Entry:
    """One log entry; ``command`` is None for the no-op a new leader appends."""

    term: int
    command: Any = None


@dataclass(frozen=True)
class Snapshot:
    """The state machine as of log entry ``index`` (of term ``term``), replacing the log up to it.

    ``data`` is the state machine's own JSON form; the core never looks inside it.
    """

    index: int
    term: int
    data: Any


@dataclass(frozen=True)
class VoteRequest:
    """RequestVote; with ``pre=True`` it is a pre-vote that changes no state on the receiver."""

    src: str
    dst: str
    term: int
    last_index: int
    last_term: int
    pre: bool = False


@dataclass(frozen=True)
class VoteReply:
    src: str
    dst: str
    term: int
    granted: bool
    pre: bool = False


@dataclass(frozen=True)
class AppendRequest:
    src: str
    dst: str
    term: int
    prev_index: int
    prev_term: int
    entries: tuple[Entry, ...]
    commit: int
    seq: int = 0  # leader's broadcast round, echoed in the reply to confirm leadership for reads


@dataclass(frozen=True)
class SnapshotRequest:
    """InstallSnapshot: sent instead of AppendEntries when the entries a follower needs are compacted.

    The whole snapshot travels in one message (one transport line); the follower answers with an
    :class:`AppendReply` whose ``match_index`` is ``index``.
    """

    src: str
    dst: str
    term: int
    index: int
    last_term: int
    data: Any
    commit: int
    seq: int = 0


@dataclass(frozen=True)
class AppendReply:
    """Reply to AppendEntries.

    On failure ``conflict_index``/``conflict_term`` let the leader skip a whole
    conflicting term at once instead of backing up one entry per round trip.
    """

    src: str
    dst: str
    term: int
    success: bool
    match_index: int = 0
    conflict_index: int = 0
    conflict_term: int | None = None
    seq: int = 0


Message = VoteRequest | VoteReply | AppendRequest | AppendReply | SnapshotRequest

_TYPES: dict[str, type] = {
    "vote": VoteRequest,
    "vote_reply": VoteReply,
    "append": AppendRequest,
    "append_reply": AppendReply,
    "snapshot": SnapshotRequest,
}
_NAMES = {cls: name for name, cls in _TYPES.items()}


def encode(msg: Message) -> dict[str, Any]:
    """Turn a message into a JSON-ready dict tagged with its type."""
    data = asdict(msg)
    data["type"] = _NAMES[type(msg)]
    return data


def decode(data: dict[str, Any]) -> Message:
    """Inverse of :func:`encode`; raises KeyError/TypeError/ValueError on malformed input."""
    fields = dict(data)
    cls = _TYPES[fields.pop("type")]
    if cls is AppendRequest:
        fields["entries"] = tuple(Entry(int(e["term"]), e.get("command")) for e in fields["entries"])
    return cls(**fields)
