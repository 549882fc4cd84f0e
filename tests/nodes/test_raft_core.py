"""Deterministic unit tests of the pure Raft core."""

from __future__ import annotations

import random

import pytest
from raft_sim import FAST, SimCluster

from nodes.raft.core import Config, Core, Role
from nodes.raft.messages import AppendReply, AppendRequest, Entry, VoteReply, VoteRequest

NO_PREVOTE = Config(election_timeout=(150.0, 300.0), heartbeat=30.0, pre_vote=False)
AFTER_LEASE = 1000.0  # a node refuses votes for one minimum election timeout after (re)starting


def make_core(term: int = 0, log: list[Entry] | None = None) -> Core:
    """Node n1 of a three-node cluster, without pre-vote so one timeout starts an election."""
    return Core("n1", ["n1", "n2", "n3"], NO_PREVOTE, random.Random(1), 0.0, term=term, log=log)


def elect(core: Core, now: float = 1000.0) -> None:
    """Make ``core`` (n1, no pre-vote) leader of the next term with n2's vote."""
    core.tick(now)
    assert core.role is Role.CANDIDATE
    core.step(VoteReply("n2", core.id, core.term, True), now)
    assert core.role is Role.LEADER
    ready = core.take_ready()
    core.persisted(ready.persist_index, ready.persist_term)  # as the driver does after writing


@pytest.mark.parametrize("seed", range(5))
def test_elects_exactly_one_leader_known_to_all(seed: int) -> None:
    sim = SimCluster(seed=seed)
    leader = sim.wait_for_leader()
    sim.run(1000.0)
    assert sim.leaders() == [leader]
    term = sim.core(leader).term
    for nid in sim.ids:
        assert sim.core(nid).leader == leader
        assert sim.core(nid).term == term


def test_replicates_commits_and_applies_in_order() -> None:
    sim = SimCluster(seed=3)
    leader = sim.wait_for_leader()
    indexes = [sim.propose(leader, {"op": "write", "key": "k", "value": v}) for v in range(5)]
    sim.run(200.0)
    for nid in sim.ids:
        applied = [(i, e.command) for i, e in sim.applied[nid] if e.command is not None]
        assert applied == [(i, {"op": "write", "key": "k", "value": v}) for v, i in enumerate(indexes)]
        assert sim.core(nid).commit_index == sim.core(leader).last_index


def test_non_leader_refuses_proposals() -> None:
    sim = SimCluster(seed=4)
    leader = sim.wait_for_leader()
    follower = next(n for n in sim.ids if n != leader)
    assert sim.propose(follower, {"op": "read", "key": "k"}) is None


def test_stale_leader_cannot_commit_and_is_overwritten() -> None:
    config = Config(election_timeout=(150.0, 300.0), heartbeat=30.0, check_quorum=False)
    sim = SimCluster(seed=5, config=config)
    old = sim.wait_for_leader()
    sim.isolate(old)
    index = sim.propose(old, {"op": "write", "key": "x", "value": "lost"})
    assert index is not None
    others = [n for n in sim.ids if n != old]
    new = sim.wait_for_leader(among=others)
    sim.propose(new, {"op": "write", "key": "x", "value": "kept"})
    sim.run(500.0)
    assert sim.core(old).role is Role.LEADER  # without check-quorum it never notices
    assert sim.core(old).commit_index < index
    sim.heal()
    sim.run(500.0)
    assert sim.leaders() == [new]
    commands = [e.command for _, e in sim.applied[old]]
    assert {"op": "write", "key": "x", "value": "lost"} not in commands
    assert {"op": "write", "key": "x", "value": "kept"} in commands


def test_isolated_leader_steps_down_with_check_quorum() -> None:
    sim = SimCluster(seed=6)
    old = sim.wait_for_leader()
    sim.isolate(old)
    sim.run(1000.0)
    assert sim.core(old).role is not Role.LEADER
    assert sim.core(old).leader is None


def test_prevote_keeps_rejoining_node_from_disrupting_leader() -> None:
    sim = SimCluster(seed=7)
    leader = sim.wait_for_leader()
    term = sim.core(leader).term
    follower = next(n for n in sim.ids if n != leader)
    sim.isolate(follower)
    sim.run(3000.0)
    assert sim.core(follower).term == term  # pre-votes failed, so no term inflation
    sim.heal()
    sim.run(1000.0)
    assert sim.leaders() == [leader]
    assert sim.core(leader).term == term


def test_vote_requires_up_to_date_log() -> None:
    core = make_core(term=2, log=[Entry(1), Entry(2)])
    core.step(VoteRequest("n2", "n1", 3, last_index=5, last_term=1), AFTER_LEASE)  # longer but older
    core.step(VoteRequest("n3", "n1", 3, last_index=1, last_term=2), AFTER_LEASE)  # same term, shorter
    replies = core.take_ready().messages
    assert [(m.dst, m.granted) for m in replies] == [("n2", False), ("n3", False)]
    core.step(VoteRequest("n3", "n1", 4, last_index=2, last_term=2), AFTER_LEASE)
    assert core.take_ready().messages == [VoteReply("n1", "n3", 4, True)]


def test_one_vote_per_term_and_vote_is_persisted() -> None:
    core = make_core(term=1)
    core.step(VoteRequest("n2", "n1", 2, 0, 0), AFTER_LEASE)
    ready = core.take_ready()
    assert ready.hard_state_changed and (ready.term, ready.voted_for) == (2, "n2")
    core.step(VoteRequest("n3", "n1", 2, 0, 0), AFTER_LEASE)
    core.step(VoteRequest("n2", "n1", 2, 0, 0), AFTER_LEASE)  # a retransmission is granted again
    granted = [(m.dst, m.granted) for m in core.take_ready().messages]
    assert granted == [("n3", False), ("n2", True)]


def test_node_in_lease_refuses_higher_term_votes_without_adopting_the_term() -> None:
    core = make_core(term=2)
    core.step(AppendRequest("n2", "n1", 2, 0, 0, (), 0), 500.0)  # hears from leader n2
    core.step(VoteRequest("n3", "n1", 3, 0, 0), 600.0)  # a rival within the lease
    assert core.take_ready().messages[-1] == VoteReply("n1", "n3", 2, False)
    assert (core.term, core.leader) == (2, "n2")
    core.step(VoteRequest("n3", "n1", 3, 0, 0), 500.0 + NO_PREVOTE.election_timeout[0])
    assert core.take_ready().messages == [VoteReply("n1", "n3", 3, True)]


def test_stale_term_requests_are_rejected() -> None:
    core = make_core(term=5)
    core.step(VoteRequest("n2", "n1", 4, 10, 4), 0.0)
    core.step(AppendRequest("n2", "n1", 4, 0, 0, (Entry(4),), 0), 0.0)
    assert core.take_ready().messages == [VoteReply("n1", "n2", 5, False), AppendReply("n1", "n2", 5, False)]
    assert core.last_index == 0


def test_conflicting_suffix_is_truncated() -> None:
    core = make_core(term=2, log=[Entry(1), Entry(1), Entry(2), Entry(2)])
    core.step(AppendRequest("n2", "n1", 3, 2, 1, (Entry(3),), 0), 0.0)
    ready = core.take_ready()
    assert core.log == [Entry(1), Entry(1), Entry(3)]
    assert (ready.log_from, ready.entries) == (3, [Entry(3)])
    assert ready.messages == [AppendReply("n1", "n2", 3, True, match_index=3)]


def test_stale_duplicate_append_does_not_truncate() -> None:
    core = make_core(term=3, log=[Entry(1), Entry(3), Entry(3)])
    core.step(AppendRequest("n2", "n1", 3, 1, 1, (Entry(3),), 0), 0.0)
    ready = core.take_ready()
    assert core.log == [Entry(1), Entry(3), Entry(3)]
    assert ready.log_from is None
    assert ready.messages == [AppendReply("n1", "n2", 3, True, match_index=2)]


def test_consistency_check_reports_conflict_term_and_index() -> None:
    core = make_core(term=3, log=[Entry(1), Entry(2), Entry(2), Entry(2)])
    core.step(AppendRequest("n2", "n1", 3, 4, 3, (), 0), 0.0)
    core.step(AppendRequest("n2", "n1", 3, 9, 3, (), 0), 0.0)
    replies = core.take_ready().messages
    assert replies == [
        AppendReply("n1", "n2", 3, False, conflict_index=2, conflict_term=2),
        AppendReply("n1", "n2", 3, False, conflict_index=5),
    ]


def test_leader_backs_up_over_whole_conflicting_term() -> None:
    core = make_core(term=3, log=[Entry(1), Entry(1), Entry(3), Entry(3)])
    elect(core)  # term 4, no-op at 5
    core.step(AppendReply("n2", "n1", 4, False, conflict_index=2, conflict_term=2), 1000.0)
    (retry,) = core.take_ready().messages
    assert (retry.prev_index, retry.prev_term) == (1, 1)  # n1 has no term 2: resume at its first index
    core.step(AppendReply("n3", "n1", 4, False, conflict_index=2, conflict_term=1), 1000.0)
    (retry,) = core.take_ready().messages
    assert (retry.prev_index, retry.prev_term) == (2, 1)  # after n1's last term-1 entry


def test_figure_8_old_term_entries_commit_only_with_current_term_entry() -> None:
    core = make_core(term=3, log=[Entry(1), Entry(2)])
    elect(core)
    assert core.term == 4 and core.log[-1] == Entry(4)
    core.step(AppendReply("n2", "n1", 4, True, match_index=2), 1000.0)
    assert core.commit_index == 0  # a majority holds index 2, but it is from term 2
    core.step(AppendReply("n2", "n1", 4, True, match_index=3), 1000.0)
    assert core.commit_index == 3
    committed = core.take_ready().committed
    assert [i for i, _ in committed] == [1, 2, 3]


def test_follower_commit_never_exceeds_what_it_verified() -> None:
    core = make_core(term=1, log=[Entry(1), Entry(1), Entry(1)])
    core.step(AppendRequest("n2", "n1", 2, 1, 1, (), 10), 0.0)
    assert core.commit_index == 1
    core.step(AppendRequest("n2", "n1", 2, 0, 0, (), 0), 0.0)
    assert core.commit_index == 1  # never moves backwards


def test_restart_from_disk_keeps_term_vote_and_log() -> None:
    sim = SimCluster(seed=8)
    leader = sim.wait_for_leader()
    for v in range(3):
        sim.propose(leader, {"op": "write", "key": "k", "value": v})
    sim.run(200.0)
    before = sim.core(leader)
    state = (before.term, before.voted_for, list(before.log))
    sim.crash(leader)
    after = sim.start(leader)
    assert (after.term, after.voted_for, after.log) == state
    assert after.role is Role.FOLLOWER and after.commit_index == 0
    sim.run(2000.0)
    reapplied = [entry for _, entry in sim.applied[leader]]
    assert reapplied[: len(state[2])] == state[2]  # rebuilt from its own durable log


def test_single_node_cluster_commits_alone() -> None:
    core = Core("n1", ["n1"], FAST, random.Random(0), 0.0)
    core.tick(1000.0)
    assert core.role is Role.LEADER
    index = core.propose({"op": "read", "key": "k"}, 1000.0)
    assert core.commit_index == 0  # nothing is committed before it is durable here
    ready = core.take_ready()
    assert core.persisted(ready.persist_index, ready.persist_term)
    assert core.commit_index == index == 2


def test_leader_counts_itself_only_for_durable_entries() -> None:
    core = make_core()
    elect(core)  # its no-op is durable
    for peer in ("n2", "n3"):
        core.step(AppendReply(peer, "n1", core.term, True, match_index=1, seq=1), 1000.0)
    assert core.commit_index == 1
    index = core.propose({"op": "write", "key": "k", "value": 1}, 1000.0)
    ready = core.take_ready()
    assert ready.may_send_before_persist()  # appends go out while the leader's own write runs
    assert [m.dst for m in ready.messages if isinstance(m, AppendRequest) and m.entries] == ["n2", "n3"]
    # One follower acknowledges: with a durable own copy that would be a majority, but ours is not.
    core.step(AppendReply("n2", "n1", core.term, True, match_index=index, seq=1), 1001.0)
    assert core.take_ready().committed == []
    assert core.commit_index < index
    assert core.persisted(ready.persist_index, ready.persist_term)
    assert core.commit_index == index


def test_heartbeats_go_out_while_own_persist_is_pending() -> None:
    sim = SimCluster(seed=3, lag=True)
    leader = sim.wait_for_leader()
    core = sim.core(leader)
    index = sim.propose(leader, {"op": "write", "key": "k", "value": 1})
    assert sim.unpersisted[leader] and sim.disks[leader].log[-1].command is None  # write pending
    sim.in_flight.clear()
    followers = [n for n in sim.ids if n != leader]
    for _ in range(10):  # several heartbeat intervals pass without the write finishing
        sim.tick(10.0)
    sent = [m for m in sim.in_flight if isinstance(m, AppendRequest)]
    assert {m.dst for m in sent} == set(followers)
    assert len(sent) >= 2 * len(followers)
    assert sim.unpersisted[leader]
    # Followers ack (durably); together they are a majority, so the entry commits anyway.
    sim.deliver_all()
    assert core.commit_index == index
    assert all(sim.disks[f].log[-1].command == {"op": "write", "key": "k", "value": 1} for f in followers)
    sim.complete_persists(leader)
    assert sim.disks[leader].log[-1].command == {"op": "write", "key": "k", "value": 1}


def test_crashed_leader_loses_only_uncommitted_unpersisted_entries() -> None:
    sim = SimCluster(seed=4, lag=True)
    leader = sim.wait_for_leader()
    follower = next(n for n in sim.ids if n != leader)
    sim.isolate(leader)
    sim.cut -= {(leader, follower), (follower, leader)}
    index = sim.propose(leader, {"op": "write", "key": "k", "value": 1})
    sim.cut |= {(follower, leader)}  # the ack is lost: only the follower's copy is durable
    sim.deliver_all()
    assert sim.core(leader).commit_index < index  # one durable copy of three is no majority
    sim.crash(leader)  # before its own write finished
    assert len(sim.disks[leader].log) < index


def test_readindex_waits_for_a_majority_round() -> None:
    sim = SimCluster(seed=9)
    leader = sim.wait_for_leader()
    sim.propose(leader, {"op": "write", "key": "k", "value": 1})
    sim.run(100.0)
    core = sim.core(leader)
    assert core.read("r1", sim.now)
    ready = sim.flush(leader)
    assert ready.reads == []  # not before a fresh round is acknowledged by a majority
    assert {m.dst for m in ready.messages if isinstance(m, AppendRequest)} == set(core.others)
    sim.deliver_all()
    assert sim.reads[leader] == [("r1", core.commit_index)]
    follower = next(n for n in sim.ids if n != leader)
    assert not sim.core(follower).read("r2", sim.now)


def test_isolated_leader_cannot_confirm_reads() -> None:
    config = Config(election_timeout=(150.0, 300.0), heartbeat=30.0, check_quorum=False)
    sim = SimCluster(seed=10, config=config)
    leader = sim.wait_for_leader()
    sim.isolate(leader)
    assert sim.core(leader).read("r", sim.now)
    sim.run(1000.0)
    assert sim.reads[leader] == []


def test_stale_read_bug_answers_without_confirmation() -> None:
    config = Config(election_timeout=(150.0, 300.0), heartbeat=30.0, bugs=frozenset({"stale-read"}))
    sim = SimCluster(seed=10, config=config)
    leader = sim.wait_for_leader()
    sim.isolate(leader)
    assert sim.core(leader).read("r", sim.now)
    sim.flush(leader)
    assert [ctx for ctx, _ in sim.reads[leader]] == ["r"]


def test_lease_reads_are_local_while_lease_holds() -> None:
    config = Config(election_timeout=(150.0, 300.0), heartbeat=30.0, lease_reads=True)
    sim = SimCluster(seed=11, config=config)
    leader = sim.wait_for_leader()
    sim.run(100.0)
    assert sim.core(leader).read("fast", sim.now)
    assert sim.flush(leader).reads == [("fast", sim.core(leader).commit_index)]
    sim.isolate(leader)
    sim.run(config.lease + 1.0)
    assert sim.core(leader).read("slow", sim.now)
    assert sim.flush(leader).reads == []  # lease over: needs a round, which cannot complete


def test_lagging_follower_catches_up_across_many_batches() -> None:
    sim = SimCluster(seed=12)
    leader = sim.wait_for_leader()
    lagging = next(n for n in sim.ids if n != leader)
    sim.crash(lagging)
    for v in range(5 * FAST.max_batch):
        sim.propose(leader, {"op": "write", "key": "k", "value": v})
    sim.run(100.0)
    sim.start(lagging)
    sim.run(1000.0)
    assert sim.core(lagging).log == sim.core(leader).log
    assert sim.core(lagging).commit_index == sim.core(leader).last_index


def test_stale_read_bug_leader_never_steps_down_when_cut_off() -> None:
    """The bug pairs local reads with no check-quorum, so the stale window lasts the whole partition."""
    config = Config(election_timeout=(150.0, 300.0), heartbeat=30.0, bugs=frozenset({"stale-read"}))
    sim = SimCluster(seed=10, config=config)
    leader = sim.wait_for_leader()
    sim.isolate(leader)
    sim.run(5 * config.election_timeout[1])
    assert sim.core(leader).role is Role.LEADER
