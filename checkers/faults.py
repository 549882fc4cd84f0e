"""Which faults were in place when: the nemesis's events paired into windows, and labelled.

The nemesis records each fault as events of process "nemesis": a `start-<name>` invocation,
its completion when the fault is in place, then `stop-<name>` when it is healed. Both the
checker (which faults were in place during a counterexample) and the report (fault bands on
the timeline) need these windows; pairing them here, once, keeps the two in agreement.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from checkers.history import Event

# Fields of a nemesis event's value that say *what* was done; the rest is evidence (probes, grudges).
TARGET_FIELDS = ("node", "nodes", "targets", "target", "process")
_SKIP_FIELDS = {"kind", "components", "grudge", "probe", "verified", "measured", "states", *TARGET_FIELDS}


@dataclass(slots=True)
class FaultWindow:
    """One fault of one kind, from its `start-<name>` event to the event that ended it.

    Positions are places in the event sequence (the order the events were recorded), the axis
    the checker's operations live on. `ended` None: the history ends with the fault in place.
    `healed` is the value of the `stop-<name>` completion (or {"error": ...}); None when the
    window was ended by a second start of the same kind.
    """

    name: str
    started: Event
    started_at: int
    applied: Event | None = None
    ended: Event | None = None
    ended_at: int | None = None
    healed: Any = None

    @property
    def label(self) -> str:
        if self.applied is None:
            return self.name
        label = describe_fault(self.name, self.applied.value)
        return label + (f" (failed: {compact(self.applied.error)})" if self.applied.error else "")


# Jepsen's nemeses mostly record a bare :start / :stop (both as :info events); read as one kind.
_JEPSEN = {"start": "start-nemesis", "stop": "stop-nemesis"}


def is_fault_event(e: Event) -> bool:
    """Is this a nemesis event `fault_windows` understands (`start-<name>`, `stop-<name>`, Jepsen's bare pair)?"""
    return not e.is_client and (e.f in _JEPSEN or e.f.startswith(("start-", "stop-")))


def fault_windows(events: Iterable[Event]) -> list[FaultWindow]:
    """The faults of a history, each kind tracked on its own, in the order they started.

    Several kinds may overlap (a partition during a clock skew); a second start of a kind that
    is still in place closes the first where the second begins. Jepsen's bare `start`/`stop`
    are the kind "nemesis".
    """
    done: list[FaultWindow] = []
    current: dict[str, FaultWindow] = {}
    for pos, e in enumerate(events):
        if e.is_client:
            continue
        f = _JEPSEN.get(e.f, e.f)
        if f.startswith("start-"):
            name = f[len("start-"):]
            if e.type == "invoke":
                if name in current:
                    prev = current.pop(name)
                    prev.ended, prev.ended_at = e, pos
                    done.append(prev)
                current[name] = FaultWindow(name, e, pos)
            else:
                current.setdefault(name, FaultWindow(name, e, pos)).applied = e
        elif f.startswith("stop-") and e.type != "invoke":
            window = current.pop(f[len("stop-"):], None)
            if window is not None:
                window.ended, window.ended_at = e, pos
                window.healed = e.value if e.error is None else {"error": e.error}
                done.append(window)
    done += current.values()
    done.sort(key=lambda w: w.started_at)
    return done


def compact(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_fault(name: str, value: Any) -> str:
    """A one-line label for a fault: what was done to which nodes, from any nemesis's value.

    Known shapes (a partition's `components` or `grudge`, a `node`/`nodes` target) read
    naturally; any other scalar fields are shown as `field=value`, so a nemesis added later is
    labelled without code here.
    """
    if not isinstance(value, dict):
        return name if value is None else f"{name} {compact(value)}"
    parts = [name]
    components = value.get("components")
    if isinstance(components, list):
        parts.append(" | ".join(" ".join(map(str, c)) if isinstance(c, list) else str(c) for c in components))
    elif isinstance(value.get("grudge"), dict):
        parts.append("cut " + " ".join(f"{a}↔{b}" for a, b in cut_links(value["grudge"])))
    for k in TARGET_FIELDS:
        v = value.get(k)
        if v is not None:
            parts.append(" ".join(map(str, v)) if isinstance(v, list) else str(v))
    for k, v in value.items():
        if k not in _SKIP_FIELDS and isinstance(v, str | int | float | bool):
            parts.append(f"{k}={compact(v, 30)}")
        elif k not in _SKIP_FIELDS and isinstance(v, dict) and len(v) <= 6:
            parts.append(f"{k}={compact(v, 60)}")
    return " ".join(parts)


def cut_links(grudge: dict[str, Any]) -> list[tuple[str, str]]:
    """A grudge (node → nodes it drops traffic from) as the links it cuts, each pair once."""
    links: set[tuple[str, str]] = set()
    for a, drops in grudge.items():
        for b in drops if isinstance(drops, list) else []:
            links.add((str(a), str(b)) if str(a) < str(b) else (str(b), str(a)))
    return sorted(links)
