"""Every fault really takes effect on real containers, and its heal really undoes it.

One 5-node cluster serves the whole module (each test heals and verifies what it did), so the
suite stays within a few minutes. Effects are measured from inside the nodes: TCP connects and
UDP datagrams across a cut or a lossy link, connect times under delay, transfer time under a
bandwidth limit, the kernel's process state, and the node process's own clock.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections.abc import Iterator

import pytest
from clusters import Cluster, started_cluster

from harness.dbs.raft import RaftDB
from harness.nemesis.clock import ClockNemesis
from harness.nemesis.packet import PacketNemesis
from harness.nemesis.partition import PartitionNemesis
from harness.nemesis.process import KillNemesis, PauseNemesis

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]

UDP_PORT = 9999

UDP_RECEIVE = (
    "import json,socket,sys\n"
    "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('0.0.0.0',int(sys.argv[1]))); s.settimeout(8)\n"
    "got=[]\n"
    "try:\n"
    "    while True:\n"
    "        got.append(int(s.recv(2048).split()[0])); s.settimeout(1.5)\n"
    "except OSError:\n"
    "    pass\n"
    "print(json.dumps(got))\n"
)
UDP_SEND = (  # a DROP in OUTPUT makes sendto fail with EPERM: that datagram is lost, the next is sent
    "import socket,sys,time\n"
    "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
    "for i in range(int(sys.argv[3])):\n"
    "    try:\n"
    "        s.sendto(str(i).encode()+b' '+b'x'*200,(sys.argv[1],int(sys.argv[2])))\n"
    "    except PermissionError:\n"
    "        pass\n"
    "    time.sleep(0.002)\n"
)
TCP_RECEIVE = (
    "import socket,sys,time\n"
    "l=socket.create_server(('0.0.0.0',int(sys.argv[1]))); l.settimeout(10); c,_=l.accept(); t=time.monotonic(); n=0\n"
    "while (b:=c.recv(65536)): n+=len(b)\n"
    "print(n, round(time.monotonic()-t,3))\n"
)
TCP_SEND = (
    "import socket,sys\n"
    "c=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=10)\n"
    "c.sendall(b'x'*int(sys.argv[3])); c.close()\n"
)


@pytest.fixture(scope="module")
def five(docker_client, node_image, free_subnet) -> Iterator[Cluster]:
    """Five running Raft nodes shared by this module's tests, with the clock hook for the clock tests."""
    with started_cluster(docker_client, node_image, free_subnet("10.241"), 5, "test-nemesis",
                         clock_hook=True) as c:
        yield c


def in_background(fn, *args) -> tuple[threading.Thread, list]:
    out: list = []
    t = threading.Thread(target=lambda: out.append(fn(*args)))
    t.start()
    return t, out


def udp_received(c: Cluster, src: str, dst: str, count: int) -> list[int]:
    """Sequence numbers `dst` received, in arrival order, of `count` datagrams `src` sent it."""
    t, out = in_background(c.remote.exec, dst, ["python3", "-c", UDP_RECEIVE, str(UDP_PORT)], 30)
    time.sleep(0.5)
    assert c.remote.exec(src, ["python3", "-c", UDP_SEND, c.addresses[dst], str(UDP_PORT), str(count)], 30).ok
    t.join(40)
    return json.loads(out[0].stdout)


def transfer_s(c: Cluster, src: str, dst: str, size: int) -> float:
    t, out = in_background(c.remote.exec, dst, ["python3", "-c", TCP_RECEIVE, str(UDP_PORT)], 60)
    time.sleep(0.5)
    assert c.remote.exec(src, ["python3", "-c", TCP_SEND, c.addresses[dst], str(UDP_PORT), str(size)], 60).ok
    t.join(70)
    received, seconds = out[0].stdout.split()
    assert int(received) == size
    return float(seconds)


def packet(c: Cluster) -> PacketNemesis:
    return PacketNemesis(c.remote, c.addresses, c.db.peer_port, random.Random(1), c.db.primaries)


# --- partition -------------------------------------------------------------------------------


def test_isolating_the_leader_cuts_it_off_and_heal_restores(five: Cluster) -> None:
    leader = five.db.wait_ready(60)
    nemesis = PartitionNemesis(five.remote, five.addresses, five.db.peer_port, random.Random(2),
                               five.db.primaries, shapes=["primary"])
    try:
        done = nemesis.inject()
        assert done["components"][0] == [leader] and done["leader"] == leader
        others = [n for n in five.addresses if n != leader]
        assert not nemesis.can_reach(leader, others[0]) and not nemesis.can_reach(others[1], leader)
        assert nemesis.can_reach(others[0], others[1])
        assert done["probe"]["cut"]["reachable"] is False and done["probe"]["intact"]["reachable"] is True
    finally:
        assert nemesis.heal()["verified"] is True
    assert nemesis.can_reach(leader, others[0]) and nemesis.can_reach(others[1], leader)


def test_majorities_ring_leaves_each_node_a_different_majority(five: Cluster) -> None:
    nemesis = PartitionNemesis(five.remote, five.addresses, five.db.peer_port, random.Random(3),
                               shapes=["majorities-ring"])
    try:
        grudge = nemesis.inject()["grudge"]
        for node, enemies in grudge.items():
            assert len(enemies) == 2
            friend = next(n for n in five.addresses if n != node and n not in enemies)
            assert not nemesis.can_reach(node, enemies[0]) and nemesis.can_reach(node, friend)
    finally:
        nemesis.heal()
    assert all(nemesis.rules(n) == [] for n in five.addresses)


# --- packet ----------------------------------------------------------------------------------


def test_loss_drops_about_the_asked_fraction_and_heal_stops_it(five: Cluster) -> None:
    nemesis = packet(five)
    try:
        mechanism = nemesis.apply("n1", "loss", {"probability": 0.5})
        assert mechanism == ("netem" if nemesis.netem["n1"] else "iptables-statistic")
        got = udp_received(five, "n1", "n2", 400)
        assert 120 <= len(got) <= 280, f"{len(got)}/400 arrived with 50% loss"
        assert len(udp_received(five, "n3", "n2", 100)) >= 98, "only n1's packets are hurt"
    finally:
        healed = nemesis.heal()
    if mechanism == "iptables-statistic":
        assert healed["measured"]["n1"]["loss_rule_dropped"] >= 120, "the rule counts the probe's and Raft's drops"
    assert len(udp_received(five, "n1", "n2", 200)) >= 198
    assert all(nemesis.leftovers(n) == [] for n in five.addresses)


def test_delay_adds_the_asked_latency_and_heal_removes_it(five: Cluster) -> None:
    nemesis = packet(five)
    before = nemesis.connect_ms("n1", "n2")
    assert before is not None and before < 100
    try:
        nemesis.apply("n1", "delay", {"delay_ms": 200, "jitter_ms": 0})
        during = [nemesis.connect_ms("n1", "n2") for _ in range(3)]
        assert all(d is not None and 190 <= d - before <= 600 for d in during), (before, during)
        assert nemesis.connect_ms("n2", "n3") < 100, "only n1's packets are delayed"
    finally:
        nemesis.heal()
    assert nemesis.connect_ms("n1", "n2") < 100


def test_duplication_and_reordering_are_seen_by_the_receiver(five: Cluster) -> None:
    nemesis = packet(five)
    try:
        nemesis.apply("n1", "duplicate", {"probability": 0.5})
        got = udp_received(five, "n1", "n2", 200)
        assert 240 <= len(got) <= 360 and len(set(got)) >= 195, f"{len(got)} datagrams, {len(set(got))} distinct"
    finally:
        nemesis.heal()
    try:
        nemesis.apply("n1", "reorder", {"delay_ms": 100, "reorder": 0.5})
        got = udp_received(five, "n1", "n2", 200)
        inversions = sum(a > b for a, b in itertools.pairwise(got))
        assert len(got) >= 195 and inversions >= 10, f"{inversions} inversions"
    finally:
        nemesis.heal()
    got = udp_received(five, "n1", "n2", 100)
    assert got == sorted(set(got)) and len(got) >= 98, "after heal: no duplicates, no reordering"


def test_corruption_makes_the_receiver_drop_packets(five: Cluster) -> None:
    nemesis = packet(five)
    try:
        nemesis.apply("n1", "corrupt", {"probability": 0.5})
        got = udp_received(five, "n1", "n2", 200)
        assert 40 <= len(got) <= 160, f"{len(got)}/200 arrived with half of them corrupted"
    finally:
        healed = nemesis.heal()
    if not nemesis.netem["n1"]:
        assert healed["measured"]["n1"]["delayer"]["corrupted"] >= 60


def test_bandwidth_limit_slows_a_transfer_and_heal_lifts_it(five: Cluster) -> None:
    nemesis = packet(five)
    size = 96 * 1024
    assert transfer_s(five, "n1", "n2", size) < 1.0
    try:
        assert nemesis.apply("n1", "bandwidth", {"rate_kbit": 256}) == "tbf"
        seconds = transfer_s(five, "n1", "n2", size)
        assert 2.0 <= seconds <= 8.0, f"96 KiB at 256 kbit/s took {seconds} s"  # about 3 s
    finally:
        nemesis.heal()
    assert transfer_s(five, "n1", "n2", size) < 1.0
    assert all(nemesis.leftovers(n) == [] for n in five.addresses)


def test_random_packet_injections_record_their_mechanism(five: Cluster) -> None:
    nemesis = packet(five)
    for _ in range(3):
        try:
            done = nemesis.inject()
            assert set(done["mechanism"]) == set(done["nodes"])
            assert set(done["mechanism"].values()) <= {"netem", "tbf", "iptables-statistic", "nfqueue-delayer"}
        finally:
            assert nemesis.heal()["verified"] is True


# --- process ---------------------------------------------------------------------------------


def test_kill_the_leader_then_heal_restarts_it_on_the_same_data(five: Cluster) -> None:
    db = five.db
    leader = db.wait_ready(60)
    conn = db.connect(leader, 5)
    conn.write("nemesis-kill", 41)
    conn.close()
    # Leadership may move between here and the injection; the nemesis resolves "leader" when it injects.
    inodes_before = {n: five.remote.exec(n, ["stat", "-c", "%i %s", f"{RaftDB.data_dir}/log.bin"]).stdout.split()
                     for n in five.addresses}
    nemesis = KillNemesis(db, list(five.addresses), random.Random(4), targets=["leader"], primaries=db.primaries)
    try:
        done = nemesis.inject()
        killed = done["nodes"]
        assert killed == [done["leader"]] and done["verified"] is True, done
        assert db.process_state(killed[0]) is None
    finally:
        healed = nemesis.heal()
    killed = killed[0]
    restarted = healed["restarted"][killed]
    assert restarted["new_pid"] != restarted["old_pid"] == done["pids"][killed]
    assert db.process_state(killed) in ("R", "S")
    inode_after = five.remote.exec(killed, ["stat", "-c", "%i %s", f"{RaftDB.data_dir}/log.bin"]).stdout.split()
    before = inodes_before[killed]
    assert inode_after[0] == before[0] and int(inode_after[1]) >= int(before[1]), "same log file"
    new_leader = db.wait_ready(60)
    conn = db.connect(new_leader, 5)
    assert conn.read("nemesis-kill") == 41
    conn.close()


def test_pause_stops_the_process_and_heal_continues_it(five: Cluster) -> None:
    db = five.db
    nemesis = PauseNemesis(db, list(five.addresses), random.Random(5), targets=["minority"])
    try:
        done = nemesis.inject()
        assert len(done["nodes"]) == 2 and done["verified"] is True
        assert all(db.process_state(n) == "T" for n in done["nodes"])
        statuses = db.statuses(timeout=0.5)
        assert not set(statuses) & set(done["nodes"]), "a stopped node cannot answer"
    finally:
        healed = nemesis.heal()
    assert sorted(healed["resumed"]) == done["nodes"]
    assert all(db.process_state(n) in ("R", "S") for n in five.addresses)
    assert set(db.statuses()) == set(five.addresses)


# --- clock -----------------------------------------------------------------------------------


def test_clock_bump_moves_only_that_nodes_clock_and_heal_resets_it(five: Cluster) -> None:
    nemesis = ClockNemesis(five.remote, five.db, list(five.addresses), random.Random(6))
    try:
        nemesis.set_offset("n2", -150.0)
        seen = nemesis.measure("n2")
        assert seen["preloaded"] is True, "the node process has libfaketime loaded"
        assert abs(seen["offset"] + 150.0) < 0.05 + seen["error"], seen
        other = nemesis.measure("n3")
        assert abs(other["offset"]) < 0.05 + other["error"], other
        # Python in the node's environment sees it too, and time.sleep still works there
        # (the image's sitecustomize works around libfaketime's EINVAL).
        pid = five.db.pid("n2")
        wanted = "LD_PRELOAD|FAKETIME_TIMESTAMP_FILE|FAKETIME_NO_CACHE|FAKETIME_DONT_FAKE_MONOTONIC|PYTHONPATH"
        script = (f"env $(tr '\\0' '\\n' < /proc/{pid}/environ | grep -E '^({wanted})=') "
                  "python3 -c 'import time; a=time.time(); time.sleep(0.05); print(a)'; date +%s.%N")
        r = five.remote.exec("n2", ["sh", "-c", script])
        faked, real = (float(x) for x in r.stdout.split())
        assert r.ok and -151 < faked - real < -149, r
        assert five.db.wait_ready(30), "the cluster still works with a skewed node"
    finally:
        healed = nemesis.heal()
    assert all(abs(m["offset"]) < 0.05 + m["error"] for m in healed["measured"].values())


def test_clock_strobe_flips_between_offset_and_zero_until_healed(five: Cluster) -> None:
    nemesis = ClockNemesis(five.remote, five.db, list(five.addresses), random.Random(7))
    try:
        nemesis.strobe("n4", 30.0, 150)
        seen = set()
        deadline = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < deadline:
            seen.add(round(nemesis.measure("n4")["offset"] / 30))
            time.sleep(0.07)
        assert seen == {0, 1}, seen
    finally:
        nemesis.heal()
    samples = []
    for _ in range(5):
        samples.append(nemesis.measure("n4"))
        time.sleep(0.1)
    assert all(abs(s["offset"]) < 0.05 + s["error"] for s in samples), samples
