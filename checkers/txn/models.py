"""Consistency models, the anomalies each one forbids, and what a set of anomalies rules out.

The anomaly names and the way they imply one another follow Adya's "Weak Consistency" and
Elle (Kingsbury & Alvaro, "Elle: Inferring Isolation Anomalies from Experimental
Observations"): a G0 cycle is also a G1c cycle (G1c allows but does not require wr edges); a
cycle found without real-time edges is trivially one with them (`G1c` implies `G1c-realtime`);
G1a, G1b and G1c together make G1; a lost update is a G2-item. Elle's cycle names carry an
"-item" suffix because these workloads have no predicates: `G-single-item` is the brief's
"G-single", `G2-item` its "G2-item".

Only the six models a user can ask for are modelled, each with what it forbids directly, the
weaker models folded in (strict-serializable forbids everything serializable forbids, and
so on). The weaker models Elle knows between them (cursor stability, consistent view, ...)
contribute their anomalies to the models here that imply them.
"""

from __future__ import annotations

from collections.abc import Iterable

MODELS = (
    "strict-serializable",
    "serializable",
    "snapshot-isolation",
    "repeatable-read",
    "read-committed",
    "read-uncommitted",
)

# a -> models a history satisfying a also satisfies (direct edges only).
_WEAKER: dict[str, tuple[str, ...]] = {
    "strict-serializable": ("serializable",),
    "serializable": ("snapshot-isolation", "repeatable-read"),
    "snapshot-isolation": ("read-committed",),
    "repeatable-read": ("read-committed",),
    "read-committed": ("read-uncommitted",),
    "read-uncommitted": (),
}

# What each model forbids on top of the weaker models it implies.
_FORBIDS: dict[str, tuple[str, ...]] = {
    # A value nobody wrote is wrong under any model (Elle does not look for it).
    "read-uncommitted": ("G0", "duplicate-elements", "cyclic-versions", "garbage-read"),
    "read-committed": ("G1",),
    # Adya's PL-2.99, and cursor stability's lost update (Berenson et al.).
    "repeatable-read": ("G2-item", "lost-update"),
    # Adya's G-SI via G-single, Cerone's INT and read atomicity, lost update.
    "snapshot-isolation": ("internal", "G-single", "G-nonadjacent", "lost-update", "future-read", "G1a"),
    "serializable": ("internal", "G2"),
    # Real-time order must agree with the serialization order; a process's own order with it.
    "strict-serializable": ("G1-realtime", "G1c-realtime", "G2-realtime", "G-nonadjacent-realtime"),
}

# anomaly -> anomalies it is an instance of (direct edges only).
_IMPLIES: dict[str, tuple[str, ...]] = {
    "G0": ("G1c", "G0-process"),
    "G0-process": ("G1c-process", "G0-realtime"),
    "G0-realtime": ("G1c-realtime",),
    "G1a": ("G1",),
    "G1b": ("G1",),
    "G1c": ("G1", "G1c-process"),
    "G1c-process": ("G1c-realtime", "G1-process"),
    "G1c-realtime": ("G1-realtime",),
    "G1": ("G1-process",),
    "G1-process": ("G1-realtime",),
    "G-single-item": ("G-single", "G-single-item-process", "G-nonadjacent-item"),
    "G-single-item-process": ("G-single-process", "G-single-item-realtime", "G-nonadjacent-item-process"),
    "G-single-item-realtime": ("G-single-realtime", "G-nonadjacent-item-realtime"),
    "G-single": ("G-nonadjacent", "G-single-process"),
    "G-single-process": ("G-nonadjacent-process", "G-single-realtime"),
    "G-single-realtime": ("G-nonadjacent-realtime",),
    "G-nonadjacent-item": ("G-nonadjacent", "G2-item", "G-nonadjacent-item-process"),
    "G-nonadjacent-item-process": ("G-nonadjacent-process", "G2-item-process", "G-nonadjacent-item-realtime"),
    "G-nonadjacent-item-realtime": ("G2-item-realtime", "G-nonadjacent-realtime"),
    "G-nonadjacent": ("G2", "G-nonadjacent-process"),
    "G-nonadjacent-process": ("G2-process", "G-nonadjacent-realtime"),
    "G-nonadjacent-realtime": ("G2-realtime",),
    "G2-item": ("G2", "G2-item-process"),
    "G2-item-process": ("G2-process", "G2-item-realtime"),
    "G2-item-realtime": ("G2-realtime",),
    "G2": ("G2-process",),
    "G2-process": ("G2-realtime",),
    "incompatible-order": ("G1a",),
    "dirty-update": ("G1a",),
    "garbage-read": ("G1a",),
    "future-read": ("G1c",),
    "lost-update": ("G2-item",),
}

# Findings that do not show an anomaly but stop us from claiming validity.
UNKNOWN_TYPES = frozenset({"empty-transaction-graph", "cycle-search-timeout"})

_IMPLIED_BY: dict[str, list[str]] = {}
for _a, _bs in _IMPLIES.items():
    for _b in _bs:
        _IMPLIED_BY.setdefault(_b, []).append(_a)


def _closure(start: Iterable[str], step: dict[str, tuple[str, ...]] | dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        x = todo.pop()
        if x in seen:
            continue
        seen.add(x)
        todo.extend(step.get(x, ()))
    return seen


def implied_anomalies(anomalies: Iterable[str]) -> set[str]:
    """These anomalies and every anomaly they are instances of (G0 -> G1c -> G1 ...)."""
    return _closure(anomalies, _IMPLIES)


def anomalies_implying(anomalies: Iterable[str]) -> set[str]:
    """Every anomaly that is an instance of one of these (G1 <- G1a, G1b, G1c, G0 ...)."""
    return _closure(anomalies, _IMPLIED_BY)


def check_model(model: str) -> str:
    if model not in MODELS:
        raise ValueError(f"unknown consistency model {model!r}; expected one of {', '.join(MODELS)}")
    return model


def weaker_models(model: str) -> set[str]:
    """The model and every model it implies."""
    return _closure([check_model(model)], _WEAKER)


def forbidden_anomalies(models: Iterable[str] = (), anomalies: Iterable[str] = ()) -> set[str]:
    """Anomalies that make a history invalid under all of `models` plus the named `anomalies`."""
    direct: set[str] = set(anomalies)
    for m in models:
        for w in weaker_models(m):
            direct.update(_FORBIDS[w])
    return anomalies_implying(direct)


def ruled_out(anomaly_types: Iterable[str]) -> set[str]:
    """The models (of the six) that a history showing these anomalies cannot satisfy."""
    found = implied_anomalies(anomaly_types)
    return {m for m in MODELS if found & forbidden_anomalies([m])}


def boundary(anomaly_types: Iterable[str]) -> dict[str, list[str]]:
    """{"not": weakest ruled-out models, "also_not": the stronger ones, "satisfies": the rest}.

    "satisfies" means no anomaly the model forbids was found, the only claim a checker can make.
    """
    out = ruled_out(anomaly_types)
    weakest = [m for m in MODELS if m in out and not any(w in out for w in weaker_models(m) - {m})]
    return {
        "not": weakest,
        "also_not": [m for m in MODELS if m in out and m not in weakest],
        "satisfies": [m for m in MODELS if m not in out],
    }
