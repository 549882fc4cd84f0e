"""Clock faults per node through libfaketime: bump by an offset, strobe back and forth, reset.

The wall clock is not namespaced, so setting it in a container would move the host's (and we
never grant SYS_TIME). Instead the DB starts its process with libfaketime preloaded, reading its
offset from a file on every call (FAKETIME_NO_CACHE); this nemesis rewrites that file while the
process runs. Only `time.time()`-style clocks move: monotonic time stays real, as it does when a
real NTP step happens. Only a DB with the ClockHook ability can be skewed this way; one without
it (a Go binary such as etcd reads the clock without libc) is refused before the run starts.

Each injection and heal measures the offset the node really sees: `date` is run with the node
process's own libfaketime environment (read from /proc/<pid>/environ) between two real readings,
and /proc/<pid>/maps shows that the node process has libfaketime loaded.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

from harness.errors import UsageError
from harness.nemesis.base import HealError
from harness.nemesis.parallel import on_nodes
from harness.nemesis.targets import DEFAULT_TARGETS, choose, no_leader
from harness.remote.base import Remote, RemoteError

STROBE_PID = "/var/run/harness-strobe.pid"
STROBE_MAX_S = 600  # a strobe left behind by a dead harness stops by itself
TOLERANCE_S = 0.05  # plus the measurement's own uncertainty, which grows on a loaded machine
MODES = ("bump", "strobe", "reset")

# Prints "preloaded" if the process maps libfaketime, then: real time, its faked time, real time.
MEASURE = (
    'p=$1; grep -q libfaketime /proc/$p/maps && echo preloaded; '
    'vars=$(tr "\\0" "\\n" < /proc/$p/environ '
    '| grep -E "^(LD_PRELOAD|FAKETIME_TIMESTAMP_FILE|FAKETIME_NO_CACHE|FAKETIME_DONT_FAKE_MONOTONIC)="); '
    'a=$(date +%s.%N); b=$(env $vars date +%s.%N); c=$(date +%s.%N); echo $a $b $c'
)


def offset_text(seconds: float) -> str:
    """libfaketime's relative-offset syntax, e.g. "+0.250" or "-90.000" (fractions of a second work)."""
    return f"{seconds:+.3f}"


def bump_offset(rng: random.Random) -> float:
    """A signed offset from 1 ms to 10 minutes, log-uniform, so small and large bumps are both common."""
    magnitude_ms = 10 ** rng.uniform(0, math.log10(600_000))
    return round(rng.choice((-1, 1)) * magnitude_ms / 1000, 3)


class ClockNemesis:
    name = "clock"

    def __init__(self, remote: Remote, db: Any, nodes: Sequence[str], rng: random.Random,
                 targets: Sequence[str] = DEFAULT_TARGETS, primaries: Callable[[], list[str]] = no_leader) -> None:
        """`db` must have the ClockHook ability switched on (`faketime_file` names the offset file its
        processes read) and Process (the nemesis measures through the process's pid)."""
        self.file: str | None = getattr(db, "faketime_file", None)
        if not self.file:
            raise UsageError(
                f"the clock nemesis cannot skew {getattr(db, 'name', type(db).__name__)}: its clock hook was not "
                "switched on before its nodes started"
            )
        self.remote = remote
        self.db = db
        self.nodes = list(nodes)
        self.rng = rng
        self.targets = list(targets)
        self.primaries = primaries

    def set_offset(self, node: str, seconds: float) -> None:
        """Set the offset a node's process sees from now on (atomically: the file is replaced, never half-written)."""
        r = self.remote.exec(node, ["sh", "-c", self.offset_script(seconds)], timeout=10)
        if not r.ok:
            raise HealError(f"{node}: cannot write {self.file}: {r.stderr.strip()}")

    def offset_script(self, seconds: float) -> str:
        """The shell command `set_offset` runs on the node, for a package that must run it together
        with another step in one remote command."""
        tmp = f"{self.file}.tmp"
        return f"printf '%s\\n' {offset_text(seconds)} > {tmp} && mv {tmp} {self.file}"

    def strobe(self, node: str, delta: float, period_ms: int) -> None:
        """A loop on the node that flips the offset between `delta` and 0 every period, until killed."""
        tmp = f"{self.file}.tmp"
        on, off = (f"printf '%s\\n' {offset_text(x)} > {tmp} && mv {tmp} {self.file}" for x in (delta, 0.0))
        p = f"{period_ms / 1000:.3f}"
        loop = (f"echo $$ > {STROBE_PID}; end=$(( $(date +%s) + {STROBE_MAX_S} )); "
                f"while [ $(date +%s) -lt $end ]; do {on}; sleep {p}; {off}; sleep {p}; done")
        self.remote.spawn(node, loop)

    def _stop_strobe(self, node: str) -> None:
        script = f"[ -f {STROBE_PID} ] && kill -KILL $(cat {STROBE_PID}) 2>/dev/null; rm -f {STROBE_PID}; true"
        r = self.remote.exec(node, ["sh", "-c", script], timeout=10)
        if not r.ok:
            raise HealError(f"{node}: cannot stop the clock strobe: {r.stderr.strip()}")

    def measure(self, node: str) -> dict[str, Any]:
        """The offset the node process sees right now (seconds, ± `error`), or why it cannot be measured."""
        pid = self.db.pid(node)
        if pid is None or self.db.process_state(node) in (None, "Z"):
            r = self.remote.exec(node, ["cat", self.file], timeout=10)
            return {"running": False, "file": r.stdout.strip()}
        # On a loaded engine an exec now and then comes back with no output at all: ask again.
        for _ in range(3):
            r = self.remote.exec(node, ["sh", "-c", MEASURE, "measure", str(pid)], timeout=10)
            lines = r.stdout.split()
            try:
                before, faked, after = (float(x) for x in lines[-3:])
            except ValueError:
                continue
            return {"running": True, "preloaded": "preloaded" in lines,
                    "offset": round(faked - (before + after) / 2, 4), "error": round((after - before) / 2, 4)}
        return {"running": True,
                "error": f"cannot read clocks (exit {r.exit_code}): {r.stdout.strip()} {r.stderr.strip()}"}

    def inject(self) -> dict[str, Any]:
        mode = self.rng.choice(MODES)
        aim = choose(self.targets, self.nodes, self.rng, self.primaries)
        nodes = aim["nodes"]
        done: dict[str, Any] = {"kind": "clock", "mode": mode, **aim}
        if mode == "bump":
            offsets = {node: bump_offset(self.rng) for node in nodes}
            on_nodes(nodes, lambda node: self.set_offset(node, offsets[node]))
            done["offsets"] = offsets
        elif mode == "strobe":
            delta = bump_offset(self.rng)
            period_ms = self.rng.randint(10, 1000)
            on_nodes(nodes, lambda node: self.strobe(node, delta, period_ms))
            done |= {"delta": delta, "period_ms": period_ms}
        else:
            on_nodes(nodes, lambda node: self.set_offset(node, 0.0))
        done["measured"] = on_nodes(nodes, self.measure)
        return done

    def _heal_one(self, node: str) -> tuple[dict[str, Any], str | None]:
        try:
            self._stop_strobe(node)
            self.set_offset(node, 0.0)
            m = self.measure(node)
        except (HealError, RemoteError) as e:
            return {}, str(e)
        if m["running"] and not ("offset" in m and abs(m["offset"]) <= TOLERANCE_S + m["error"]):
            return m, f"{node}: clock still off after heal: {m}"
        if not m["running"] and m["file"] != offset_text(0.0):
            return m, f"{node}: offset file holds {m['file']!r} after heal"
        return m, None

    def heal(self) -> dict[str, Any]:
        """Stop strobes, set every offset to zero, and verify each node process reads real time again."""
        done = on_nodes(self.nodes, self._heal_one)
        problems = [p for _, p in done.values() if p]
        if problems:
            raise HealError("clock heal failed: " + " | ".join(problems))
        return {"kind": "heal-clock", "nodes": self.nodes, "measured": {n: m for n, (m, _) in done.items()},
                "verified": True}
