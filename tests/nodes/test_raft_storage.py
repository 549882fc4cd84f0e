"""Durability tests for nodes.raft.storage, and the persist-before-send rule of the server."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodes.raft.core import Config, Ready, Role
from nodes.raft.messages import AppendReply, AppendRequest, Entry, Message, VoteReply, VoteRequest
from nodes.raft.server import Node, merge_log_writes
from nodes.raft.storage import LOG, Storage

ENTRIES = [Entry(1, None), Entry(1, {"op": "write", "key": "k", "value": [1, {"a": None}]}), Entry(2, "x")]


def test_fresh_directory_is_empty(tmp_path: Path) -> None:
    s = Storage(tmp_path / "d")
    assert (s.term, s.voted_for, s.entries, s.length) == (0, None, [], 0)


def test_round_trip(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    s.set_hard_state(7, "n2")
    s.replace_from(1, ENTRIES)
    s.close()
    again = Storage(tmp_path)
    assert (again.term, again.voted_for, again.entries) == (7, "n2", ENTRIES)


def test_truncation_then_append(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    s.replace_from(1, ENTRIES)
    s.replace_from(2, [Entry(3, "new")])
    assert s.length == 2
    s.replace_from(3, [Entry(3, "more")])
    s.close()
    assert Storage(tmp_path).entries == [ENTRIES[0], Entry(3, "new"), Entry(3, "more")]


def test_refuses_to_leave_a_gap(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Storage(tmp_path).replace_from(2, [Entry(1)])


def test_torn_last_record_is_dropped_and_log_stays_usable(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    s.replace_from(1, ENTRIES)
    s.close()
    whole = (tmp_path / LOG).read_bytes()
    (tmp_path / LOG).write_bytes(whole[:-3])  # crash in the middle of the last write
    s = Storage(tmp_path)
    assert s.entries == ENTRIES[:2]
    s.replace_from(3, [Entry(5, "after")])
    s.close()
    assert Storage(tmp_path).entries == [*ENTRIES[:2], Entry(5, "after")]


def test_corrupt_last_record_and_partial_header_are_dropped(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    s.replace_from(1, ENTRIES)
    s.close()
    data = bytearray((tmp_path / LOG).read_bytes())
    data[-1] ^= 0xFF  # CRC mismatch in the last record
    (tmp_path / LOG).write_bytes(bytes(data) + b"\x00\x00")  # plus half a header
    assert Storage(tmp_path).entries == ENTRIES[:2]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.lists(st.integers(1, 5), max_size=4)),
        max_size=8,
    )
)
def test_any_sequence_of_writes_survives_reopen(tmp_path_factory, ops: list[tuple[int, list[int]]]) -> None:
    path = tmp_path_factory.mktemp("log")
    model: list[Entry] = []
    s = Storage(path)
    for back, terms in ops:
        index = max(1, len(model) + 1 - back)
        entries = [Entry(t, {"n": len(model)}) for t in terms]
        s.replace_from(index, entries)
        model = model[: index - 1] + entries
        if back % 3 == 0:  # reopen now and then, as after a restart
            s.close()
            s = Storage(path)
            assert s.entries == model
    s.close()
    assert Storage(path).entries == model


@pytest.mark.parametrize(
    ("incoming", "reply", "durable"),
    [
        (VoteRequest("n2", "n1", 3, 0, 0), VoteReply("n1", "n2", 3, True), (3, "n2", [])),
        (
            AppendRequest("n2", "n1", 4, 0, 0, (Entry(4, "a"), Entry(4, "b")), 0, seq=7),
            AppendReply("n1", "n2", 4, True, match_index=2, seq=7),
            (4, None, [Entry(4, "a"), Entry(4, "b")]),
        ),
    ],
)
def test_state_is_on_disk_before_the_reply_is_sent(
    tmp_path: Path, incoming: Message, reply: Message, durable: tuple
) -> None:
    """The server must fsync term, vote and log before any reply that relies on them leaves the node."""
    peers = {"n1": ("127.0.0.1", 1), "n2": ("127.0.0.1", 2), "n3": ("127.0.0.1", 3)}
    seen_on_disk: list[tuple] = []
    sent: list[Message] = []

    class RecordingLink:
        def send(self, msg: Message) -> None:
            snapshot = Storage(tmp_path)  # what a crash right now would recover
            seen_on_disk.append((snapshot.term, snapshot.voted_for, snapshot.entries))
            snapshot.close()
            sent.append(msg)

    async def scenario() -> None:
        node = Node("n1", peers, 0, tmp_path, Config(election_timeout=(50.0, 100.0)))
        node.links = {p: RecordingLink() for p in ("n2", "n3")}
        driver = asyncio.create_task(node._driver())
        await asyncio.sleep(0.2)  # past the start-up lease, in which votes are refused
        node._on_peer_message(incoming)
        for _ in range(500):
            if sent:
                break
            await asyncio.sleep(0.01)
        driver.cancel()
        node.storage.close()

    asyncio.run(scenario())
    assert sent == [reply]
    assert seen_on_disk == [durable]


def test_leader_keeps_sending_while_its_own_log_write_is_pending(tmp_path: Path) -> None:
    """Raft §10.2.1 in the server: appends and heartbeats go out during the leader's own fsync,
    and the leader counts itself toward a commit only once that fsync is done."""
    peers = {"n1": ("127.0.0.1", 1), "n2": ("127.0.0.1", 2), "n3": ("127.0.0.1", 3)}
    sent: list[Message] = []
    release = threading.Event()
    commits_while_blocked: list[int] = []

    class RecordingLink:
        def send(self, msg: Message) -> None:
            sent.append(msg)

    async def scenario() -> None:
        config = Config(election_timeout=(50.0, 100.0), pre_vote=False, check_quorum=False)
        node = Node("n1", peers, 0, tmp_path, config)
        node.links = {p: RecordingLink() for p in ("n2", "n3")}
        real_write = node._write_log

        def slow_write(writes: list) -> None:
            release.wait(5)
            real_write(writes)

        node._write_log = slow_write
        tasks = [asyncio.create_task(node._driver())]
        await asyncio.sleep(0.2)  # past the start-up lease
        node.core.campaign(node.clock())
        node._dirty.set()
        await asyncio.sleep(0.05)
        term = node.core.term
        node._on_peer_message(VoteReply("n2", "n1", term, True))
        await asyncio.sleep(0.05)
        assert node.core.role is Role.LEADER
        tasks.append(asyncio.create_task(node._ticker()))
        await asyncio.sleep(0.4)  # several heartbeat intervals, the no-op still not on disk
        appends = [m for m in sent if isinstance(m, AppendRequest) and m.term == term]
        assert len(appends) >= 6 and {m.dst for m in appends} == {"n2", "n3"}
        node._on_peer_message(AppendReply("n2", "n1", term, True, match_index=1, seq=1))
        await asyncio.sleep(0.05)
        commits_while_blocked.append(node.core.commit_index)  # n2 alone is no majority
        release.set()
        for _ in range(100):
            if node.core.commit_index == 1:
                break
            await asyncio.sleep(0.01)
        for task in tasks:
            task.cancel()
        node._io.shutdown(wait=True)
        assert node.core.commit_index == 1
        assert node.storage.length == 1
        node.storage.close()

    try:
        asyncio.run(scenario())
    finally:
        release.set()
    assert commits_while_blocked == [0]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.lists(st.integers(1, 3), max_size=4)), min_size=1, max_size=6))
def test_merged_background_writes_end_like_the_original_sequence(ops: list[tuple[int, list[int]]]) -> None:
    def apply(log: list[Entry], start: int, entries: list[Entry]) -> None:
        assert start <= len(log) + 1
        del log[start - 1 :]
        log.extend(entries)

    expected: list[Entry] = []
    readies = []
    for back, terms in ops:
        start = max(1, len(expected) + 1 - back)  # truncate a little, or append
        entries = [Entry(t, len(readies)) for t in terms]
        apply(expected, start, entries)
        readies.append(Ready(0, None, False, start, entries, [], []))
    merged: list[Entry] = []
    for start, entries in merge_log_writes(readies):
        apply(merged, start, entries)
    assert merged == expected
