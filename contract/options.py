"""Settings a part of a test declares, and how `KEY=VALUE` pairs from the command line become them.

A system under test and a workload each know their own settings (our Raft node's seeded bugs,
etcd's read mode, how many keys a register workload uses); the harness knows none of them.
Each part declares a table of `Option`s; `--db-opt KEY=VALUE` and `--workload-opt KEY=VALUE`
are checked against that table before anything starts, and `harness list` prints it. A parser
raises ValueError with a short reason; the caller turns that into one line naming the flag.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Parse = Callable[[str], Any]


class OptionError(ValueError):
    """A KEY=VALUE pair a part does not accept; the message names the flag and the key."""


@dataclass(frozen=True)
class Option:
    """One setting: its name, what it does, its default and how a string becomes its value.

    `many`: the option may be given several times (or as a comma list); its value is a tuple.
    """

    name: str
    help: str
    default: Any = None
    parse: Parse = str
    many: bool = False
    metavar: str = "VALUE"

    def describe(self) -> dict[str, Any]:
        """What `harness list` shows for this option."""
        return {"name": self.name, "help": self.help, "default": self.default, "many": self.many,
                "metavar": self.metavar}


def parse_pairs(pairs: Sequence[str], options: Sequence[Option], flag: str, owner: str) -> dict[str, Any]:
    """Every declared option's value: defaults, overridden by `pairs` ("KEY=VALUE" strings).

    Raises OptionError naming `flag` and the key for an unknown key, a missing "=", a value the
    option's parser refuses, or a single-valued option given twice.
    """
    by_name = {o.name: o for o in options}
    values: dict[str, Any] = {o.name: o.default for o in options}
    given: dict[str, list[Any]] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise OptionError(f"{flag} {pair!r}: expected KEY=VALUE")
        option = by_name.get(key)
        if option is None:
            known = ", ".join(by_name) or "none"
            raise OptionError(f"{flag} {key}: {owner} has no such option; its options: {known}")
        texts = [t.strip() for t in text.split(",") if t.strip()] if option.many else [text.strip()]
        for t in texts:
            try:
                given.setdefault(key, []).append(option.parse(t))
            except ValueError as e:
                raise OptionError(f"{flag} {key}={t}: {e}") from None
    for key, parsed in given.items():
        if by_name[key].many:
            values[key] = tuple(dict.fromkeys(parsed))
        elif len(parsed) > 1:
            raise OptionError(f"{flag} {key}: given {len(parsed)} times; it takes one value")
        else:
            values[key] = parsed[0]
    return values


def describe(options: Sequence[Option]) -> list[dict[str, Any]]:
    return [o.describe() for o in options]


# Parsers for common kinds of values; each raises ValueError with a reason a person can act on.


def boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "yes", "on", "1"):
        return True
    if lowered in ("false", "no", "off", "0"):
        return False
    raise ValueError("expected true or false")


def choice(*names: str) -> Parse:
    def parse(text: str) -> str:
        if text not in names:
            raise ValueError(f"expected one of {', '.join(names)}")
        return text

    return parse


def number(low: float = -math.inf, high: float = math.inf, integer: bool = False) -> Parse:
    """A finite number in [low, high] (an int if `integer`)."""

    def parse(text: str) -> float | int:
        try:
            value: float | int = int(text) if integer else float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not {'an integer' if integer else 'a number'}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g}")
        return value

    return parse


def number_range(low: float, high: float) -> Parse:
    """`LOW:HIGH`, two finite numbers with low <= LOW <= HIGH <= high."""
    one = number(low, high)

    def parse(text: str) -> tuple[float, float]:
        first, sep, second = text.partition(":")
        if not sep:
            raise ValueError("expected LOW:HIGH")
        a, b = one(first), one(second)
        if a > b:
            raise ValueError("need LOW <= HIGH")
        return (a, b)

    return parse

