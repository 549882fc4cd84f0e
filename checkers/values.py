"""History values as the checker compares them: JSON values, with JSON's types kept apart.

Python's own equality merges what JSON keeps distinct: `True == 1`, `1 == 1.0`, and a dict
frozen naively into a tuple of pairs equals the array of those pairs. A checker comparing
values that way calls a read of `[1]` after a write of `[true]` correct. `freeze` turns a
decoded value into a hashable one whose `==` is JSON's, the rule our Raft node applies
(see docs/history-format.md):

- null, strings and integers stay as they are: they are the common case, and the checker's
  inner loop compares them millions of times, so they must stay plain Python values;
- booleans become the singletons TRUE and FALSE (equal only to themselves);
- floats become `Float`, equal only to a float with the same value and sign, never to an
  integer: 1 and 1.0 are different values, as are 0.0 and -0.0;
- arrays become tuples, objects `Object` (never equal to an array), sets (EDN) frozensets.

A value is frozen once, when operations are built; models then compare with plain `==`.
"""

from __future__ import annotations

import json
import math
from typing import Any


class _Bool:
    """A JSON boolean: identity equality, so it never equals 0, 1 or a Python bool."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "true" if self.value else "false"

    def __reduce__(self) -> str:
        return "TRUE" if self.value else "FALSE"


TRUE: Any = _Bool(True)
FALSE: Any = _Bool(False)


class Float:
    """A JSON number written with a fraction or exponent; equal to floats of the same value and sign."""

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return (
            other.__class__ is Float
            and self.value == other.value  # type: ignore[attr-defined]
            and math.copysign(1.0, self.value) == math.copysign(1.0, other.value)  # type: ignore[attr-defined]
        )

    def __hash__(self) -> int:
        return hash((Float, self.value))

    def __repr__(self) -> str:
        return repr(self.value)


class Object:
    """A JSON object (or EDN map): its frozen (key, value) pairs, compared as a set."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: frozenset[tuple[Any, Any]]) -> None:
        self.pairs = pairs

    def __eq__(self, other: object) -> bool:
        return other.__class__ is Object and self.pairs == other.pairs  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((Object, self.pairs))

    def __iter__(self) -> Any:
        """The (key, value) pairs, in a stable order, so `dict(obj)` works."""
        return iter(sorted(self.pairs, key=repr))

    def __len__(self) -> int:
        return len(self.pairs)

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{json.dumps(k) if isinstance(k, str) else repr(k)}: {v!r}" for k, v in self) + "}"


_PLAIN = (type(None), int, str)
_FROZEN = (_Bool, Float, Object, frozenset)


def freeze(value: Any) -> Any:
    """A hashable copy of a decoded value whose `==` is JSON equality (see the module doc)."""
    cls = value.__class__
    if cls in _PLAIN:
        return value
    if cls is bool:
        return TRUE if value else FALSE
    if cls is float:
        return Float(value)
    if cls is list or cls is tuple:
        for v in value:
            if v.__class__ not in _PLAIN:
                return tuple(freeze(v) for v in value)
        return tuple(value)
    if cls is dict:
        return Object(frozenset((freeze(k), freeze(v)) for k, v in value.items()))
    if cls is set or cls is frozenset:
        return frozenset(freeze(v) for v in value)
    if cls in _FROZEN:
        return value
    return value


def thaw(value: Any) -> Any:
    """The JSON-ready value a frozen one stands for (objects with non-string keys get str keys)."""
    cls = value.__class__
    if cls in _PLAIN:
        return value
    if cls is _Bool:
        return value.value
    if cls is Float:
        return value.value
    if cls is tuple or cls is list:
        return [thaw(v) for v in value]
    if cls is Object:
        return {k if isinstance(k, str) else repr(k): thaw(v) for k, v in value}
    if cls is dict:
        return {k if isinstance(k, str) else repr(k): thaw(v) for k, v in value.items()}
    if cls is set or cls is frozenset:
        return sorted((thaw(v) for v in value), key=repr)
    if cls is bool:
        return value
    if cls is float:
        return value if math.isfinite(value) else repr(value)
    return repr(value)
