"""Packet faults between nodes: delay with jitter, loss, duplication, reordering, corruption, bandwidth.

Only a node's outgoing packets to its peers are hurt (as with partitions, clients are not).
Where the kernel has tc netem (probed on each node when the nemesis is built) the faults are
netem's, attached under an htb class that only peer-addressed packets are filtered into.
Where it has not (this project's CI machines), each fault has a fallback that really works:

| fault     | netem kernel   | no netem                                                       |
|-----------|----------------|----------------------------------------------------------------|
| delay     | netem delay    | NFQUEUE + nfq_delayer.py holding packets for delay ± jitter    |
| reorder   | netem reorder  | nfq_delayer.py: a fraction of packets skips the delay          |
| duplicate | netem duplicate| nfq_delayer.py: a copy re-sent through a marked raw socket     |
| corrupt   | netem corrupt  | nfq_delayer.py: one bit flipped after the IP header            |
| loss      | netem loss     | iptables `-m statistic --mode random --probability P -j DROP`  |
| bandwidth | tbf            | tbf (in every kernel)                                          |

The fallback's rules live in the mangle table, so healing a partition (filter table) never
undoes a packet fault, nor the other way round. Every event says which mechanism ran, with the
parameters; the heal event carries what was measured (packets dropped by the loss rule, the
delayer's counters), and the heal verifies that no rule, qdisc or delayer is left.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.nemesis.base import HealError
from harness.nemesis.parallel import on_nodes
from harness.nemesis.partition import CLOSED_PORT
from harness.nemesis.targets import choose, no_leader
from harness.remote.base import Remote, RemoteError, shell

FAULTS = ("delay", "loss", "duplicate", "reorder", "corrupt", "bandwidth")
TARGETS = ("one", "minority", "majority", "all")
DELAYER = Path(__file__).parent / "node" / "nfq_delayer.py"
DELAYER_DIR = "/tmp"
DELAYER_PID = "/var/run/harness-delayer.pid"
DELAYER_STATS = "/var/run/harness-delayer.json"
DELAYER_LOG = "/var/log/harness-delayer.log"
QUEUE = 7
MARK = 0x4A45  # on the delayer's duplicates, so they are not queued again
PEER_CLASS = "1:2"  # the htb class peer-addressed packets are filtered into; everything else goes to 1:1
SHAPING_QDISCS = ("htb", "netem", "tbf")

CONNECT_TIME = (
    "import socket,sys,time\n"
    "t=time.monotonic()\n"
    "try:\n"
    "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5).close()\n"
    "except ConnectionRefusedError:\n"
    "    pass\n"
    "except OSError as e:\n"
    "    print('error', e); sys.exit(1)\n"
    "print(round((time.monotonic()-t)*1000, 1))\n"
)


def draw(fault: str, rng: random.Random) -> dict[str, Any]:
    """Seeded parameters for one injection of `fault`."""
    if fault == "delay":
        delay = rng.randint(20, 300)
        return {"delay_ms": delay, "jitter_ms": rng.randint(0, delay // 2)}
    if fault == "reorder":
        return {"delay_ms": rng.randint(50, 200), "reorder": round(rng.uniform(0.1, 0.5), 2)}
    if fault in ("loss", "duplicate"):
        return {"probability": round(rng.uniform(0.05, 0.5), 2)}
    if fault == "corrupt":
        return {"probability": round(rng.uniform(0.01, 0.2), 2)}
    if fault == "bandwidth":
        return {"rate_kbit": rng.choice((64, 256, 1024, 8192))}
    raise ValueError(f"unknown packet fault {fault!r}; known: {', '.join(FAULTS)}")


def netem_args(fault: str, params: dict[str, Any]) -> list[str]:
    """The netem qdisc arguments for a fault (used only where the kernel has netem)."""
    if fault == "delay":
        return ["delay", f"{params['delay_ms']}ms", f"{params['jitter_ms']}ms"]
    if fault == "reorder":
        # netem sends `reorder` of the packets at once and delays the rest: the same shape as the fallback.
        return ["delay", f"{params['delay_ms']}ms", "reorder", f"{params['reorder'] * 100:g}%"]
    return [fault, f"{params['probability'] * 100:g}%"]


def delayer_args(fault: str, params: dict[str, Any]) -> list[str]:
    if fault == "delay":
        return ["--delay-ms", str(params["delay_ms"]), "--jitter-ms", str(params["jitter_ms"])]
    if fault == "reorder":
        return ["--delay-ms", str(params["delay_ms"]), "--reorder", str(params["reorder"])]
    return [f"--{fault}", str(params["probability"])]


class PacketNemesis:
    name = "packet"

    def __init__(
        self,
        remote: Remote,
        addresses: dict[str, str],
        peer_port: int | None,
        rng: random.Random,
        primaries: Callable[[], list[str]] = no_leader,
        faults: Sequence[str] = FAULTS,
        targets: Sequence[str] = TARGETS,
    ) -> None:
        """Probes each node for netem and finds the interface its peers are reached through."""
        self.remote = remote
        self.addresses = addresses
        self.peer_port = peer_port or CLOSED_PORT
        self.rng = rng
        self.primaries = primaries
        self.faults = list(faults)
        for fault in self.faults:
            draw(fault, random.Random(0))  # rejects unknown names now, not mid-run
        self.targets = list(targets)
        self.device = on_nodes(list(addresses), self._device)
        self.netem = on_nodes(list(addresses), self._has_netem)
        self._delayer_copied: set[str] = set()

    def _run(self, node: str, argv: list[str], what: str) -> str:
        r = self.remote.exec(node, argv, timeout=15)
        if not r.ok:
            raise HealError(f"{node}: {what} failed: {(r.stderr or r.stdout).strip()}")
        return r.stdout

    def _device(self, node: str) -> str:
        peer = next(a for n, a in self.addresses.items() if n != node)
        out = self._run(node, ["ip", "-o", "route", "get", peer], "ip route get").split()
        return out[out.index("dev") + 1]

    def _has_netem(self, node: str) -> bool:
        """Whether netem can be attached here: try it on loopback and take it off again."""
        r = self.remote.exec(node, ["sh", "-c", "tc qdisc add dev lo root netem delay 0ms && tc qdisc del dev lo root"],
                             timeout=15)
        return r.ok

    def _peers(self, node: str) -> list[str]:
        return [a for n, a in sorted(self.addresses.items()) if n != node]

    def _tc(self, node: str, *args: str) -> None:
        self._run(node, ["tc", *args], f"tc {' '.join(args)}")

    def _shape(self, node: str, child: list[str]) -> None:
        """An htb root whose class 1:2 only peer-addressed packets are filtered into, `child` qdisc on it.

        htb and u32 rather than the usual prio: kernels without netem often lack prio too (this one does).
        """
        dev = self.device[node]
        self._tc(node, "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default", "1", "r2q", "10000")
        for cls in ("1:1", PEER_CLASS):
            self._tc(node, "class", "add", "dev", dev, "parent", "1:", "classid", cls, "htb", "rate", "10gbit")
        self._tc(node, "qdisc", "add", "dev", dev, "parent", PEER_CLASS, "handle", "20:", *child)
        for peer in self._peers(node):
            self._tc(node, "filter", "add", "dev", dev, "parent", "1:", "protocol", "ip", "prio", "1",
                     "u32", "match", "ip", "dst", f"{peer}/32", "flowid", PEER_CLASS)

    def _mangle(self, node: str, *rule: str) -> None:
        for peer in self._peers(node):
            self._run(node, ["iptables", "-w", "5", "-t", "mangle", "-A", "OUTPUT", "-d", peer, *rule],
                      "iptables -t mangle")

    def _start_delayer(self, node: str, args: list[str], seed: int) -> None:
        if node not in self._delayer_copied:
            self.remote.put(node, DELAYER, DELAYER_DIR)
            self._delayer_copied.add(node)
        argv = ["python3", f"{DELAYER_DIR}/{DELAYER.name}", "--queue", str(QUEUE), "--mark", str(MARK),
                "--stats", DELAYER_STATS, "--seed", str(seed), *args]
        self._run(node, ["rm", "-f", DELAYER_STATS], "rm")
        self.remote.spawn(node, f"echo $$ > {DELAYER_PID}; exec {shell(argv)} > {DELAYER_LOG} 2>&1")
        deadline = time.monotonic() + 10
        while self.remote.exec(node, ["test", "-s", DELAYER_STATS], timeout=10).exit_code != 0:
            if time.monotonic() > deadline:
                log = self.remote.exec(node, ["cat", DELAYER_LOG], timeout=10).stdout.strip()
                raise HarnessError(f"{node}: the NFQUEUE delayer did not start: {log[-300:]}")
            time.sleep(0.05)
        self._mangle(node, "-m", "mark", "!", "--mark", str(MARK), "-j", "NFQUEUE",
                     "--queue-num", str(QUEUE), "--queue-bypass")

    def apply(self, node: str, fault: str, params: dict[str, Any], seed: int = 0) -> str:
        """Put one fault in force on one node's peer-bound packets; returns the mechanism used.

        `seed` drives the delayer's own random choices (which packets are dropped, copied, ...).
        """
        if fault == "bandwidth":
            kbit = params["rate_kbit"]
            self._shape(node, ["tbf", "rate", f"{kbit}kbit", "burst", "16kb", "latency", "500ms"])
            return "tbf"
        if self.netem[node]:
            self._shape(node, ["netem", *netem_args(fault, params)])
            return "netem"
        if fault == "loss":
            self._mangle(node, "-m", "statistic", "--mode", "random", "--probability", str(params["probability"]),
                         "-j", "DROP")
            return "iptables-statistic"
        self._start_delayer(node, delayer_args(fault, params), seed)
        return "nfqueue-delayer"

    def connect_ms(self, source: str, target: str) -> float | None:
        """Milliseconds for `source` to open a TCP connection to `target`'s peer port (None: failed)."""
        r = self.remote.exec(source, ["python3", "-c", CONNECT_TIME, self.addresses[target], str(self.peer_port)],
                             timeout=20)
        return float(r.stdout) if r.ok else None

    def inject(self) -> dict[str, Any]:
        fault = self.rng.choice(self.faults)
        params = draw(fault, self.rng)
        aim = choose(self.targets, list(self.addresses), self.rng, self.primaries)
        nodes = aim["nodes"]
        seeds = {node: self.rng.randrange(2**31) for node in nodes}  # drawn here: the threads below race
        mechanisms = on_nodes(nodes, lambda node: self.apply(node, fault, params, seeds[node]))
        done: dict[str, Any] = {"kind": "packet", "fault": fault, **params, **aim,
                                "mechanism": mechanisms}
        if fault in ("delay", "reorder"):
            peer = next(n for n in sorted(self.addresses) if n != nodes[0])
            done["probe"] = {"from": nodes[0], "to": peer, "connect_ms": self.connect_ms(nodes[0], peer)}
        return done

    def effect(self, node: str) -> dict[str, Any]:
        """What the fallback mechanisms counted on a node: packets the loss rule dropped, delayer counters."""
        out: dict[str, Any] = {}
        r = self.remote.exec(node, ["iptables", "-w", "5", "-t", "mangle", "-L", "OUTPUT", "-v", "-x", "-n"],
                             timeout=15)
        dropped = [int(line.split()[0]) for line in r.stdout.splitlines()[2:] if " DROP " in f" {line} "]
        if dropped:
            out["loss_rule_dropped"] = sum(dropped)
        r = self.remote.exec(node, ["cat", DELAYER_STATS], timeout=10)
        if r.ok and r.stdout.strip():
            out["delayer"] = json.loads(r.stdout)
        return out

    def _clear(self, node: str) -> dict[str, Any]:
        r = self.remote.exec(node, ["sh", "-c", f"[ -f {DELAYER_PID} ] && kill -TERM $(cat {DELAYER_PID})"],
                             timeout=10)
        if r.ok:  # give it a moment to release the packets it holds and write its final counters
            deadline = time.monotonic() + 3
            while self.remote.exec(node, ["sh", "-c", f"kill -0 $(cat {DELAYER_PID})"], timeout=10).ok:
                if time.monotonic() > deadline:
                    self.remote.exec(node, ["sh", "-c", f"kill -KILL $(cat {DELAYER_PID})"], timeout=10)
                    break
                time.sleep(0.05)
        effect = self.effect(node)
        self._run(node, ["rm", "-f", DELAYER_PID, DELAYER_STATS], "rm")
        self._run(node, ["iptables", "-w", "5", "-t", "mangle", "-F", "OUTPUT"], "iptables -t mangle -F")
        dev = self.device[node]
        if self._shaping(node):
            self._tc(node, "qdisc", "del", "dev", dev, "root")
        return effect

    def _shaping(self, node: str) -> list[str]:
        """The qdiscs this nemesis may have added that are present on the node's peer interface."""
        out = self._run(node, ["tc", "qdisc", "show", "dev", self.device[node]], "tc qdisc show")
        return [line for line in out.splitlines() if line.split()[1:2] and line.split()[1] in SHAPING_QDISCS]

    def leftovers(self, node: str) -> list[str]:
        """Rules, qdiscs and delayer processes of this nemesis still present on a node."""
        left = [line for line in self._run(node, ["iptables", "-w", "5", "-t", "mangle", "-S"], "iptables -S")
                .splitlines() if line.startswith("-A")]
        left += self._shaping(node)
        # The bracket keeps pgrep from matching the command line that runs it (exec wraps it in `timeout`).
        r = self.remote.exec(node, ["pgrep", "-f", f"{DELAYER.stem[:-1]}[{DELAYER.stem[-1]}]"], timeout=10)
        left += [f"delayer pid {p}" for p in r.stdout.split()] if r.ok else []
        return left

    def _heal_one(self, node: str) -> tuple[dict[str, Any], str | None]:
        try:
            effect = self._clear(node)
            left = self.leftovers(node)
        except (HealError, RemoteError) as e:
            return {}, str(e)
        return effect, f"{node}: left after heal: {'; '.join(left)}" if left else None

    def heal(self) -> dict[str, Any]:
        done = on_nodes(list(self.addresses), self._heal_one)
        problems = [p for _, p in done.values() if p]
        if problems:
            raise HealError("packet heal failed: " + " | ".join(problems))
        return {"kind": "heal-packet", "nodes": list(self.addresses),
                "measured": {n: effect for n, (effect, _) in done.items() if effect}, "verified": True}
