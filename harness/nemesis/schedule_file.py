"""The schedule file: timed faults a run plays instead of the rhythm (`harness run --schedule FILE`).

    {"version": 1,
     "faults": [{"at": 5, "nemesis": "partition:leader", "duration": 6},
                {"at": 15, "nemesis": "kill", "duration": 3, "nodes": ["n2", "n4"]}]}

`at` is seconds from the start of the workload, `duration` the seconds a fault stays in place
once applied, `nemesis` one spec as on the command line. `nodes` pins the nodes instead of
resolving the target at injection time (a basic fault only: a package aims itself). Faults are
listed in order of `at` and may overlap, each healed on its own, unless their heals reset the
same thing (`clash`): two partitions, a kill and a pause, a package and anything. A fault that
starts after another's heal is due waits for that heal, so a file of one fault after another
plays exactly as before overlaps were allowed. `harness replay` and `harness hunt` write and
read the same format (docs/schedule-file.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.nemesis.registry import KINDS, parse_nemesis, split

VERSION = 1


@dataclass(frozen=True)
class TimedFault:
    """One fault of a schedule file (see the module docstring)."""

    at: float
    nemesis: str
    duration: float
    nodes: tuple[str, ...] | None = None

    @property
    def spec(self) -> str:
        """The nemesis spec that plays this fault: the pinned nodes replace the target ("kill:n2+n4")."""
        if self.nodes is None:
            return self.nemesis
        return f"{split(self.nemesis)[0]}:{'+'.join(self.nodes)}"

    @property
    def end(self) -> float:
        return self.at + self.duration

    def overlaps(self, earlier: TimedFault) -> bool:
        """True if this fault is due before `earlier` (listed first) is due to be healed."""
        return self.at < earlier.end

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"at": self.at, "nemesis": self.nemesis, "duration": self.duration}
        if self.nodes is not None:
            out["nodes"] = list(self.nodes)
        return out


def _seconds(entry: dict[str, Any], key: str, where: str, positive: bool) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value < 0 or (positive and value == 0):
        bound = "above 0" if positive else "0 or more"
        raise UsageError(f"{where}: {key!r} must be a number of seconds {bound}, got {json.dumps(value)}")
    return float(value)


def _fault(entry: Any, where: str) -> TimedFault:
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: a fault must be an object with at, nemesis, duration (and maybe nodes)")
    unknown = sorted(set(entry) - {"at", "nemesis", "duration", "nodes"})
    if unknown:
        raise UsageError(f"{where}: unknown field(s) {', '.join(unknown)}; a fault has at, nemesis, duration, nodes")
    spec = entry.get("nemesis")
    if not isinstance(spec, str) or "," in spec or spec.strip() in ("", "all", "none"):
        raise UsageError(f"{where}: 'nemesis' must be one spec such as \"partition:leader\", got {json.dumps(spec)}")
    try:
        parse_nemesis(spec)
    except UsageError as e:
        raise UsageError(f"{where}: {e}") from None
    nodes = entry.get("nodes")
    if nodes is not None:
        if not isinstance(nodes, list) or not nodes or not all(isinstance(n, str) and n and "+" not in n
                                                                and ":" not in n for n in nodes):
            raise UsageError(f"{where}: 'nodes' must be a non-empty list of node names, got {json.dumps(nodes)}")
        if KINDS[split(spec)[0]].package:
            raise UsageError(f"{where}: {spec} is a fault package, which aims itself: it takes no 'nodes'")
        nodes = tuple(sorted(set(nodes)))
    return TimedFault(_seconds(entry, "at", where, False), spec.strip(), _seconds(entry, "duration", where, True),
                      nodes)


def parse_schedule(data: Any, where: str) -> list[TimedFault]:
    """The faults of a parsed schedule file, checked (UsageError naming `where` and the entry)."""
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("faults"), list):
        raise UsageError(f"{where}: a schedule file is an object {{\"version\": {VERSION}, \"faults\": [...]}}")
    faults = [_fault(entry, f"{where}: faults[{i}]") for i, entry in enumerate(data["faults"])]
    for j, later in enumerate(faults):
        if j and later.at < faults[j - 1].at:
            raise UsageError(f"{where}: faults[{j}]: starts at {later.at:g} s, before faults[{j - 1}] "
                             f"({faults[j - 1].at:g} s); list the faults in the order they start")
        for i, earlier in enumerate(faults[:j]):
            why = clash(earlier, later) if later.overlaps(earlier) else None
            if why:
                raise UsageError(f"{where}: faults[{j}]: {later.nemesis} starts at {later.at:g} s, before faults[{i}] "
                                 f"({earlier.nemesis}) is healed ({earlier.end:g} s), and {why}: they cannot overlap")
    return faults


def clash(a: TimedFault, b: TimedFault) -> str | None:
    """Why faults `a` and `b` cannot be in place at once, or None. Each heal resets everything of
    its kind on every node, not just its own fault: a partition heal flushes every cut, a kill's
    or a pause's restarts and resumes every node, a package's resets everything. Overlapping, the
    first heal would silently end the other fault (and one nemesis per spec cannot hold two)."""
    kinds = [KINDS[split(f.nemesis)[0]] for f in (a, b)]
    package = next((k for k in kinds if k.package), None)
    if package is not None:
        return f"{package.name} is a fault package, whose heal resets everything"
    if kinds[0].heals == kinds[1].heals:
        return f"the heal of either resets {kinds[0].heals}"
    return None


def read_schedule(path: Path) -> list[TimedFault]:
    """Read and check a schedule file (UsageError, exit 254, naming the file and the entry)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"--schedule {path}: cannot read it ({getattr(e, 'strerror', None) or e})") from None
    try:
        data = json.loads(text, parse_constant=lambda c: math.nan)
    except json.JSONDecodeError as e:
        raise UsageError(f"{path}:{e.lineno}: not JSON ({e.msg})") from None
    return parse_schedule(data, str(path))


def specs(faults: Sequence[TimedFault]) -> list[str]:
    """The distinct nemesis specs a schedule plays, in order of first use (one nemesis is built per spec)."""
    return list(dict.fromkeys(f.spec for f in faults))


def write_schedule(path: Path, faults: Sequence[TimedFault], **notes: Any) -> None:
    """Write a schedule file; `notes` (e.g. where it came from) are kept beside the faults."""
    data = {"version": VERSION, **notes, "faults": [f.to_json() for f in faults]}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
