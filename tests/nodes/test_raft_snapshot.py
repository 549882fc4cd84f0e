"""Snapshots and log compaction: the core's InstallSnapshot path, durable snapshots, restart from one."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from raft_sim import FAST, SimCluster

from nodes.raft.core import Core
from nodes.raft.kv import KV
from nodes.raft.messages import AppendReply, Entry, Snapshot, SnapshotRequest, decode, encode
from nodes.raft.storage import LOG, SNAPSHOT, Storage, log_name


def write(sim: SimCluster, leader: str, value: int) -> None:
    assert sim.propose(leader, {"op": "write", "key": "k", "value": value}) is not None


def test_compact_drops_the_log_prefix_and_keeps_indexes() -> None:
    sim = SimCluster(seed=1)
    leader = sim.wait_for_leader()
    for v in range(10):
        write(sim, leader, v)
    sim.run(200.0)
    core = sim.core(leader)
    last = core.last_index
    snap = sim.compact(leader)
    assert snap is not None and snap.index == last
    assert core.log == [] and core.last_index == last and core.term_at(last) == core.term
    with pytest.raises(ValueError):
        core.entry(last)
    with pytest.raises(ValueError):  # only what has been applied can be snapshotted
        core.compact(last + 1, None)
    write(sim, leader, 99)
    sim.run(200.0)
    assert core.entry(last + 1).command["value"] == 99
    assert all(sim.core(n).commit_index == last + 1 for n in sim.ids)


def test_lagging_follower_catches_up_through_install_snapshot() -> None:
    sim = SimCluster(seed=2)
    leader = sim.wait_for_leader()
    lagging = next(n for n in sim.ids if n != leader)
    sim.crash(lagging)
    for v in range(20):
        write(sim, leader, v)
    sim.run(200.0)
    snap = sim.compact(leader)
    assert snap is not None
    write(sim, leader, 100)  # one entry after the snapshot travels as an ordinary append
    sim.start(lagging)
    sim.run(1000.0)
    follower = sim.core(lagging)
    assert follower.snapshot.index == snap.index and follower.snapshot.data == snap.data
    assert follower.last_index == sim.core(leader).last_index
    assert follower.entry(follower.last_index) == sim.core(leader).entry(follower.last_index)
    applied = [index for index, _ in sim.applied[lagging]]
    assert applied == list(range(1, follower.last_index + 1))  # snapshot, then the suffix, no gap
    # What it installed is durable: a restart comes back from the snapshot, not an empty log.
    sim.crash(lagging)
    again = sim.start(lagging)
    assert again.snapshot == snap and again.commit_index == snap.index


def test_install_keeps_matching_entries_after_the_snapshot() -> None:
    log = [Entry(1, {"op": "write", "key": "k", "value": i}) for i in range(5)]
    follower = Core("n2", ["n1", "n2", "n3"], FAST, random.Random(0), 0.0, term=1, log=log)
    follower.step(SnapshotRequest("n1", "n2", 1, 3, 1, {"k": 2}, 3), 0.0)
    ready = follower.take_ready()
    assert ready.snapshot == Snapshot(3, 1, {"k": 2}) and ready.log_from is None  # nothing to rewrite
    assert follower.log == log[3:] and follower.commit_index == 3
    assert ready.messages == [AppendReply("n2", "n1", 1, True, match_index=3)]
    # A snapshot at or before the commit index changes nothing, but is acknowledged.
    follower.step(SnapshotRequest("n1", "n2", 1, 2, 1, {"k": 1}, 3), 0.0)
    ready = follower.take_ready()
    assert ready.snapshot is None and follower.snapshot.index == 3
    assert ready.messages == [AppendReply("n2", "n1", 1, True, match_index=2)]


def test_install_discards_a_conflicting_log() -> None:
    log = [Entry(1, {"op": "write", "key": "k", "value": i}) for i in range(5)]
    follower = Core("n2", ["n1", "n2", "n3"], FAST, random.Random(0), 0.0, term=2, log=log)
    follower.step(SnapshotRequest("n1", "n2", 2, 4, 2, {"k": "other"}, 4), 0.0)
    ready = follower.take_ready()
    assert ready.snapshot == Snapshot(4, 2, {"k": "other"})
    assert (ready.log_from, ready.entries) == (5, [])  # storage drops its entry 5
    assert follower.log == [] and follower.last_index == 4


def test_snapshot_request_round_trips_on_the_wire() -> None:
    msg = SnapshotRequest("n1", "n2", 4, 10, 3, {"k": [1, 2]}, 12, seq=5)
    assert decode(encode(msg)) == msg


def test_kv_snapshot_is_a_copy_and_restores() -> None:
    kv = KV()
    kv.apply({"op": "write", "key": "a", "value": [1]})
    data = kv.snapshot()
    kv.apply({"op": "write", "key": "a", "value": [2]})
    assert data == {"a": [1]}
    kv.restore(data)
    assert kv.data == {"a": [1]}
    kv.restore(None)
    assert kv.data == {}


ENTRIES = [Entry(1, {"op": "write", "key": "k", "value": i}) for i in range(6)]


def test_storage_snapshot_round_trip_keeps_the_suffix(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    s.replace_from(1, ENTRIES)
    s.save_snapshot(Snapshot(4, 1, {"k": 3}))
    assert s.length == 6
    s.replace_from(7, [Entry(2, "after")])
    s.close()
    again = Storage(tmp_path)
    assert again.snapshot == Snapshot(4, 1, {"k": 3})
    assert again.entries == [*ENTRIES[4:], Entry(2, "after")]
    assert sorted(p.name for p in tmp_path.glob("log*.bin")) == [log_name(4)]
    with pytest.raises(ValueError):
        again.replace_from(3, [Entry(2)])  # compacted
    again.replace_from(6, [Entry(3, "rewritten")])  # truncation still works after a snapshot
    again.save_snapshot(Snapshot(9, 3, {"k": 9}))  # past the end: an empty log follows
    again.close()
    last = Storage(tmp_path)
    assert (last.snapshot.index, last.entries, last.length) == (9, [], 9)
    assert not (tmp_path / LOG).exists() and not (tmp_path / log_name(4)).exists()


def test_storage_recovers_from_a_crash_during_a_snapshot(tmp_path: Path) -> None:
    """A crash after the new log file is written but before snapshot.json names it: the old pair wins."""
    s = Storage(tmp_path)
    s.replace_from(1, ENTRIES)
    s.close()
    (tmp_path / log_name(3)).write_bytes(b"half-written")
    again = Storage(tmp_path)
    assert again.snapshot.index == 0 and again.entries == ENTRIES
    assert not (tmp_path / log_name(3)).exists()
    assert not (tmp_path / SNAPSHOT).exists()
