"""The partition nemesis really cuts traffic between nodes, and heal really restores it."""

from __future__ import annotations

import random

import pytest

from harness.nemesis.grudges import grudge_of
from harness.nemesis.partition import PartitionNemesis

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]


def test_partition_cuts_exactly_the_grudge_and_heal_restores(raft_cluster) -> None:
    c = raft_cluster
    nemesis = PartitionNemesis(c.remote, c.cluster.addresses, c.db.peer_port, random.Random(1))
    assert nemesis.can_reach("n1", "n2") and nemesis.can_reach("n2", "n1")

    nemesis.cut(grudge_of([["n1"], ["n2", "n3"]]))
    try:
        assert not nemesis.can_reach("n1", "n2")
        assert not nemesis.can_reach("n2", "n1")
        assert not nemesis.can_reach("n3", "n1")
        assert nemesis.can_reach("n2", "n3") and nemesis.can_reach("n3", "n2")
        assert nemesis.rules("n1"), "iptables rules should be in force on n1"
    finally:
        done = nemesis.heal()
    assert done["verified"] is True
    for node in c.cluster.nodes:
        assert nemesis.rules(node) == []
    assert nemesis.can_reach("n1", "n2") and nemesis.can_reach("n2", "n1") and nemesis.can_reach("n3", "n1")


def test_random_injection_records_a_verified_cut(raft_cluster) -> None:
    c = raft_cluster
    nemesis = PartitionNemesis(c.remote, c.cluster.addresses, c.db.peer_port, random.Random(7), shapes=["halves"])
    try:
        done = nemesis.inject()
    finally:
        nemesis.heal()
    minority, majority = done["components"]
    assert len(minority) == 1 and len(majority) == 2
    assert done["probe"]["cut"]["reachable"] is False
    assert done["probe"]["intact"]["reachable"] is True


def test_regroup_replaces_the_cut_in_force_by_the_new_grudge(raft_cluster) -> None:
    c = raft_cluster
    nemesis = PartitionNemesis(c.remote, c.cluster.addresses, c.db.peer_port, random.Random(1))
    nemesis.cut(grudge_of([["n1"], ["n2", "n3"]]))
    try:
        nemesis.regroup(grudge_of([["n1", "n2"], ["n3"]]))
        assert nemesis.can_reach("n1", "n2") and nemesis.can_reach("n2", "n1"), "the old cut is gone"
        assert not nemesis.can_reach("n3", "n2") and not nemesis.can_reach("n1", "n3"), "the new one is in force"
        assert len(nemesis.rules("n1")) == 2 and len(nemesis.rules("n3")) == 4, "one DROP each way per enemy"
        nemesis.regroup({})
        assert all(nemesis.rules(n) == [] for n in c.cluster.nodes), "an empty grudge leaves no cut"
    finally:
        nemesis.heal()
