"""Fuzzing `harness check` with mutated histories: never 255, never a verdict the mutation cannot explain.

Seeds are real histories from tests/data/histories in every format (Knossos EDN, Porcupine's
etcd logs and kv files) and generated jsonl ones, valid and invalid. Each hypothesis example
takes one seed and applies a batch of mutations, each checked through `harness check` itself:

- bytes-level (flip, insert, delete, duplicate a range, splice in hostile tokens): any of
  0/1/2/254 is fine, 255 (an internal error) never is;
- whitespace only (blank lines, spaces and commas where the format ignores them, reordered
  keys in a JSON object): exactly the seed's verdict;
- a prefix of whole lines: a linearizable seed has linearizable prefixes (linearizability is
  prefix-closed), so never INVALID;
- a jsonl file cut inside a line: never VALID, and never INVALID where the seed was valid;
- an ok read changed to a value that no op writes (the same number as a float, a bool, an
  array or object around it, a string): always INVALID, in every seed that has one.

About 60 s in CI; the test prints how many inputs it ran and fails below MIN_INPUTS.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkers.simulate import simulate
from harness.cli import main

HISTORIES = Path(__file__).resolve().parents[1] / "data" / "histories"
MIN_INPUTS = 7_000
EXAMPLES = 1_200
MUTATIONS_PER_EXAMPLE = 6
HOSTILE = [b"NaN", b"Infinity", b"1e400", b'"\\ud800"', b"[" * 300, b"\xff\xfe", b"\0", b"9" * 5000, b"##Inf",
           b"\n", b"}", b"]", b"{", b'"', b"\\", b"\r\n", b"#_", b"nil", b"true", b"-0.0", b" :fail ", b"\t:ok\t"]


class Seed:
    """One history to mutate, with the options to check it and its verdict as an exit code."""

    def __init__(self, name: str, data: bytes, argv: list[str], format: str) -> None:
        self.name, self.data, self.argv, self.format = name, data, argv, format
        self.code = -1


def _generated(seed: int, bad: bool) -> Seed:
    events = simulate(seed=seed, n_ops=25, n_procs=4, keys=("a", "b"), p_info=0.1, p_nemesis=0.05)
    rows = [e.to_dict() for e in events]
    if bad:  # a read of a value nobody wrote
        for r in rows:
            if r["type"] == "ok" and r["f"] == "read" and r["value"] is not None:
                r["value"] = 12345
                break
    data = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows).encode()
    return Seed(f"generated-{seed}-{'bad' if bad else 'ok'}", data, [], "jsonl")


def _seeds() -> list[Seed]:
    seeds = [_generated(s, bad) for s in range(4) for bad in (False, True)]
    manifest = json.loads((HISTORIES / "MANIFEST.json").read_text())
    picked: dict[str, int] = {}
    for e in sorted(manifest, key=lambda e: e["ops"]):
        path = HISTORIES / e["file"]
        group = (e["format"], e["expected"])
        if e["ops"] == 0 or path.stat().st_size > 12_000 or picked.get(str(group), 0) >= 2:
            continue
        picked[str(group)] = picked.get(str(group), 0) + 1
        argv = ["--model", e["model"]]
        if e["initial_state"] is not None:
            argv += ["--init", json.dumps(e["initial_state"])]
        seeds.append(Seed(e["file"], path.read_bytes(), argv, e["format"]))
    return seeds


SEEDS = _seeds()
COUNT = {"inputs": 0}


def check(path: Path, data: bytes, seed: Seed) -> int:
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", str(path), "--no-shrink", "--time-limit", "20", *seed.argv])
    COUNT["inputs"] += 1
    assert code in (0, 1, 2, 254), f"{seed.name}: exit {code}: {err.getvalue()} input: {data[:300]!r}"
    if code == 254:
        message = err.getvalue()
        assert message.count("\n") == 1 and str(path) in message, message
    return code


# Mutations: each takes (data, rng) and returns (new data, what the verdict may be).
# The expectation is a function of the seed's exit code giving the allowed exit codes.
ANY = {0, 1, 2, 254}


def flip(data: bytes, rng: random.Random, seed: Seed):
    i = rng.randrange(len(data))
    return data[:i] + bytes([rng.randrange(256)]) + data[i + 1:], ANY


def splice(data: bytes, rng: random.Random, seed: Seed):
    i = rng.randrange(len(data) + 1)
    return data[:i] + rng.choice(HOSTILE) + data[i:], ANY


def delete(data: bytes, rng: random.Random, seed: Seed):
    i = rng.randrange(len(data))
    return data[:i] + data[i + rng.randrange(1, 40):], ANY


def duplicate(data: bytes, rng: random.Random, seed: Seed):
    i = rng.randrange(len(data))
    j = min(len(data), i + rng.randrange(1, 200))
    return data[:j] + data[i:j] + data[j:], ANY


def whitespace(data: bytes, rng: random.Random, seed: Seed):
    """Blank lines anywhere between lines, and trailing spaces; EDN also commas between forms."""
    lines = data.split(b"\n")
    out = []
    for line in lines:
        if rng.random() < 0.2:
            out.append(rng.choice([b"", b"  ", b"\t"]))
        if seed.format in ("edn", "porcupine-kv") and line and rng.random() < 0.3:
            gap = rng.choice([b"  ", b" , ", b"\t"])
            line = _EDN_SPACE.sub(lambda m, gap=gap: m[1] or gap, line)  # spaces outside strings only
        out.append(line + (b" " if line and rng.random() < 0.2 else b""))
    return b"\n".join(out), {seed.code}


def reorder_keys(data: bytes, rng: random.Random, seed: Seed):
    """jsonl: the same events, keys shuffled and spaced differently."""
    if seed.format != "jsonl":
        return whitespace(data, rng, seed)
    out = []
    for line in data.decode().splitlines():
        items = list(json.loads(line).items())
        rng.shuffle(items)
        out.append(json.dumps(dict(items), separators=rng.choice([(",", ":"), (", ", ": ")])))
    return ("\n".join(out) + "\n").encode(), {seed.code}


def line_prefix(data: bytes, rng: random.Random, seed: Seed):
    lines = data.split(b"\n")
    cut = rng.randrange(1, len(lines) + 1)
    prefix = b"\n".join(lines[:cut]) + b"\n"
    return prefix, ANY - {1} if seed.code == 0 else ANY


def cut_inside_a_line(data: bytes, rng: random.Random, seed: Seed):
    if seed.format != "jsonl":
        return line_prefix(data, rng, seed)
    i = rng.randrange(len(data))
    if data[i - 1:i] in (b"}", b"\n") or i == 0:
        return data[:i], ANY  # a whole line or nothing was cut: no claim
    return data[:i], ({2, 254} if seed.code == 0 else ANY - {0})


FRESH = [lambda v: float(v) if isinstance(v, int) and not isinstance(v, bool) else 0.5,
         lambda v: v is None or isinstance(v, int), lambda v: [v], lambda v: {"v": v}, lambda v: f"fresh {v}"]


def fresh_read(data: bytes, rng: random.Random, seed: Seed):
    """jsonl: an ok read now returns a value no op writes, so no order can explain it."""
    if seed.format != "jsonl":
        return flip(data, rng, seed)
    rows = [json.loads(line) for line in data.decode().splitlines()]
    reads = [r for r in rows if r["type"] == "ok" and r["f"] == "read" and r["process"] != "nemesis"]
    if not reads:
        return flip(data, rng, seed)
    written = {json.dumps(x.get("value")) for x in rows if x["f"] == "write"}
    written |= {json.dumps(x["value"][1]) for x in rows if x["f"] == "cas" and isinstance(x.get("value"), list)}
    r = rng.choice(reads)
    r["value"] = rng.choice(FRESH)(r["value"])
    if json.dumps(r["value"]) in written or r["value"] is None:
        r["value"] = {"fresh": rng.random()}
    return "".join(json.dumps(x) + "\n" for x in rows).encode(), {1}


_EDN_SPACE = re.compile(rb'("(?:[^"\\]|\\.)*")| ')
MUTATIONS = [flip, splice, delete, duplicate, whitespace, reorder_keys, line_prefix, cut_inside_a_line, fresh_read]


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> list[Seed]:
    path = tmp_path_factory.mktemp("fuzz") / "seed"
    for s in SEEDS:
        s.code = check(path, s.data, s)
    return SEEDS


def test_fuzzed_histories_never_crash_and_keep_explainable_verdicts(seeds, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "history"
    formats = {s.format for s in seeds}
    assert formats == {"jsonl", "edn", "jepsen-log", "porcupine-kv"}
    assert {s.code for s in seeds} >= {0, 1}

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.sampled_from(seeds), st.lists(st.tuples(st.sampled_from(MUTATIONS), st.integers(0, 2**32)),
                                            min_size=MUTATIONS_PER_EXAMPLE, max_size=MUTATIONS_PER_EXAMPLE))
    def fuzz(seed: Seed, mutations) -> None:
        for mutate, n in mutations:
            data, allowed = mutate(seed.data, random.Random(n), seed)
            code = check(path, data, seed)
            assert code in allowed, f"{seed.name}: {mutate.__name__} gave {code}, allowed {allowed}: {data[:400]!r}"

    fuzz()
    print(f"fuzzed {COUNT['inputs']} inputs from {len(seeds)} seeds")
    assert COUNT["inputs"] >= MIN_INPUTS
