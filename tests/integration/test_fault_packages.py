"""Each fault package does what its description says, on real containers.

One 5-node cluster (clock hook on) serves the module; each test injects one package through the
registry, as `harness run --nemesis NAME` would, checks the fault from outside (probes across
the cut, measured clock offsets, process states and pids, who leads), heals, and checks the
cluster is whole again. The nodes run the correct Raft: where a package aims at a bug, the
correct node must resist it (a lagging follower is never elected).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from clusters import Cluster, started_cluster

from contract.client import Definite, Indeterminate
from harness.client_gate import ClientGate
from harness.nemesis.election_kill import ATTEMPTS
from harness.nemesis.partition import PartitionNemesis
from harness.nemesis.registry import build_nemesis
from harness.nemesis.targets import wait_leader
from harness.nemesis.watch import ProcessWatch

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def five(docker_client, node_image, free_subnet) -> Iterator[Cluster]:
    with started_cluster(docker_client, node_image, free_subnet("10.247"), 5, "test-packages",
                         clock_hook=True) as c:
        yield c


def build(c: Cluster, spec: str, seed: int) -> tuple[Any, ProcessWatch]:
    watch = ProcessWatch(c.db)
    [nemesis] = build_nemesis([spec], c.remote, c.db, c.addresses, random.Random(seed), watch)
    assert nemesis.name == spec
    return nemesis, watch


@contextmanager
def writing(c: Cluster) -> Iterator[list[int]]:
    """Clients writing all along (to every node; followers forward them with the leader's hint),
    so a node cut off really falls behind. Yields the list of acknowledged writes."""
    stop = threading.Event()
    acked: list[int] = []

    def client(node: str) -> None:
        conn = c.db.connect(node, 1.0)
        i = 0
        while not stop.is_set():
            i += 1
            try:
                conn.write(f"pkg-{node}", i)
                acked.append(i)
            except (Definite, Indeterminate):
                time.sleep(0.05)
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in c.addresses]
    for t in threads:
        t.start()
    try:
        yield acked
    finally:
        stop.set()
        for t in threads:
            t.join(10)


def whole(c: Cluster, watch: ProcessWatch) -> None:
    """Every node runs, no cut is left, one leader, and no process died on its own."""
    assert all(c.db.process_state(n) in ("R", "S") for n in c.addresses)
    probe = PartitionNemesis(c.remote, c.addresses, c.db.peer_port, random.Random(0))
    assert all(probe.rules(n) == [] for n in c.addresses)
    assert c.db.wait_ready(60)
    assert watch.survey(list(c.addresses)) == []


def test_isolate_then_skew_cuts_the_leader_off_and_sets_its_clock_back(five: Cluster) -> None:
    leader = five.db.wait_ready(60)
    nemesis, watch = build(five, "isolate-then-skew", 1)
    try:
        done = nemesis.inject()
        assert done["leader"] == leader and done["nodes"] == [leader]
        assert [s["step"] for s in done["steps"]] == ["isolate-and-skew", "isolate"]
        assert done["probe"]["cut"]["reachable"] is False and done["probe"]["intact"]["reachable"] is True
        seen = done["measured"][leader]
        assert seen["preloaded"] and abs(seen["offset"] + 10.0) < 0.05 + seen["error"], seen
        others = [n for n in five.addresses if n != leader]
        new = wait_leader(five.db.primaries, others, timeout=15)  # the old one may still think it leads
        assert new and new[0] != leader, "the majority elected a leader of its own"
    finally:
        healed = nemesis.heal()
    assert all(abs(m["offset"]) < 0.05 + m["error"] for m in healed["measured"].values())
    whole(five, watch)


def test_lag_then_kill_kills_the_leader_and_a_lagging_follower_never_wins_on_correct_raft(five: Cluster) -> None:
    nemesis, watch = build(five, "lag-then-kill", 2)
    pids = {n: five.db.pid(n) for n in five.addresses}
    try:
        with writing(five) as acked:
            done = nemesis.inject()
        assert len(acked) > 50, "the leader committed writes while the lagging nodes were cut off"
        assert done["attempts"], done
        for a in done["attempts"]:
            assert len(a["lagging"]) == 2 and a["killed"] not in a["lagging"]
            assert a["elected"] is not None and a["elected"] != a["killed"]
            assert a["lagging_won"] is False, "the election restriction keeps lagging nodes out"
        assert len(done["attempts"]) == 4, "no lagging win: every try is made"
        steps = [s["step"] for s in done["steps"]]
        assert steps[:6] == ["lag", "kill", "reconnect", "resume", "elected", "restart"]
        killed = {a["killed"] for a in done["attempts"]}
        assert all(five.db.pid(n) != pids[n] for n in killed), "each killed leader was restarted"
    finally:
        nemesis.heal()
    whole(five, watch)


def test_crash_after_replicate_plays_the_figure_8_sequence_and_correct_raft_keeps_the_old_entries_out(
    five: Cluster,
) -> None:
    gate = ClientGate()
    watch = ProcessWatch(five.db)
    [nemesis] = build_nemesis(["crash-after-replicate"], five.remote, five.db, five.addresses, random.Random(3),
                              watch, gate)
    five.db.wait_ready(60)
    term_before = max(s["term"] for s in five.db.statuses().values())
    try:
        done = nemesis.inject()
        steps = [s["step"] for s in done["steps"] if s["step"] != "clients"]
        assert steps == ["cut-with-minority", "kill", "elected", "isolate", "kill", "restart", "elected", "kill",
                         "restart", "elected"], done["steps"]
        modes = [s["allow"] for s in done["steps"] if s["step"] == "clients"]
        assert modes == ["reads", "none", "all", "none", "reads", "all"], "writes only while L2 is alone"
        assert gate.mode == "all"
        l1, l2, l3, l4 = done["leaders"]
        minority = done["steps"][0]["nodes"]
        assert l1 in minority and len(minority) == 2 and l2 not in minority
        assert done["killed"] == [l1, l2, l3]
        # The correct node's election no-op reached the rest: only they can follow, and with the
        # third leader dead the rest have no majority: the second leader does not come back.
        assert l3 not in minority and l3 != l2, "a node holding only the old writes never wins on correct Raft"
        assert l4 is None
        statuses = five.db.statuses()
        assert five.db.process_state(l3) is None and l3 not in statuses, "the third leader stays dead until the heal"
        assert five.db.process_state(l2) in ("R", "S") and five.db.process_state(l1) in ("R", "S")
        assert statuses[l2]["term"] > term_before and statuses[l1]["term"] > term_before, statuses
    finally:
        healed = nemesis.heal()
    assert l3 in healed["restarted"]
    whole(five, watch)


@pytest.fixture(scope="module")
def slow_elections(docker_client, node_image, free_subnet) -> Iterator[Cluster]:
    """Five correct nodes with the setup BUGS.md gives forget-vote (no pre-vote, 3-9 s election
    timeouts), so that aimed elections play through; the package's own tests see every path."""
    with started_cluster(docker_client, node_image, free_subnet("10.247"), 5, "test-election",
                         db_opts=("pre-vote=false", "election-timeout-ms=3000:9000")) as c:
        yield c


def test_kill_during_election_crashes_the_voters_and_the_old_leader_campaigns_in_their_term(
        slow_elections: Cluster) -> None:
    five = slow_elections
    nemesis, watch = build(five, "kill-during-election", 4)
    pids = {n: five.db.pid(n) for n in five.addresses}
    try:
        done = nemesis.inject()
        # One election aimed at per attempt, each ending with the leaders seen; a correct node never
        # has two of one term, so the package aims again until it has played them all.
        attempts: list[list[dict[str, Any]]] = [[]]
        for step in done["steps"]:
            if step["step"] == "retry":
                attempts.append([])
            else:
                attempts[-1].append(step)
        no_leader = [s["step"] for s in attempts[-1]] == ["no-leader"]  # none came after a miss
        if no_leader:
            attempts.pop()
        assert len(attempts) == done["attempts"] and (done["attempts"] == ATTEMPTS or no_leader), done["steps"]
        contest = ["delay", "kill", "voted", "mute", "restart", "kill", "head-start", "restart", "undelay"]
        for steps in attempts:
            names = [s["step"] for s in steps]
            # the voters are let through early only if the old leader campaigned in their term
            assert names in [["delay", "kill", "voted", "restart", "leaders"],
                             *([*contest, *early, "unmute", "leaders"] for early in ([], ["unmute"]))], done["steps"]
            old = steps[1]["leader"]
            assert steps[0]["nodes"] == sorted(set(five.addresses) - {old})
            assert set(steps[0]["mechanism"].values()) <= {"netem", "nfqueue-delayer"}
            assert len([n for n, t in steps[-1]["claims"].items() if t == steps[2]["term"]]) <= 1, \
                "a correct voter remembers its vote: one leader per term"
            if "mute" in names:
                by_step = {s["step"]: s for s in steps}  # the last of each: the voters' restart
                old_back = steps[names.index("mute") + 1]
                assert 0 < by_step["head-start"]["planned_s"] < by_step["voted"]["first_candidate_s"]
                assert by_step["restart"]["at"] > old_back["at"], "the old leader is back before the voters"
        old = done["leader"]
        assert five.db.pid(old) != pids[old], "the old leader was killed and restarted"
        if done["candidate"] is not None:
            assert done["term"] > done["term_before"] and len(done["voters"]) == 2, "just a second majority"
            assert all(five.db.pid(n) != pids[n] for n in done["voters"]), "every voter runs as a new process"
        assert len(done["same_term_leaders"]) <= 1, "a correct voter remembers its vote: one leader per term"
    finally:
        healed = nemesis.heal()
    assert healed["packet"] is True
    whole(five, watch)


def test_partition_kill_storm_cuts_and_kills_in_bursts(five: Cluster) -> None:
    nemesis, watch = build(five, "partition-kill-storm", 5)
    try:
        done = nemesis.inject()
        parts = [s for s in done["steps"] if s["step"] == "partition"]
        kills = [s for s in done["steps"] if s["step"] == "kill"]
        assert len(parts) == len(kills) == 6
        last = kills[-1]["nodes"]
        assert all(five.db.process_state(n) is None for n in last), "the last burst's nodes are down"
        probe = PartitionNemesis(five.remote, five.addresses, five.db.peer_port, random.Random(0))
        assert any(probe.rules(n) for n in five.addresses) == any(parts[-1]["grudge"].values())
    finally:
        nemesis.heal()
    whole(five, watch)
