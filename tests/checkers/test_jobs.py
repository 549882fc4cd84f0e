"""`--jobs`: independent keys searched in worker processes give the same answer as one process.

Workers only take heavy parts (see `checkers.workers`), so most tests lower MIN_WORKER_OPS to
send every part of a small history to a worker.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import time
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import plant_stale_read

from checkers import workers
from checkers.api import check_history
from checkers.progress import ProgressLine
from checkers.simulate import simulate
from harness.cli import main

TIMINGS = ("seconds", "cpu_seconds", "parse_seconds")


def verdict(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in TIMINGS}


def every_part_to_workers():
    return patch.object(workers, "MIN_WORKER_OPS", 1)


@st.composite
def multi_key_histories(draw):
    keys = list(range(draw(st.integers(2, 5))))
    events = simulate(
        seed=draw(st.integers(0, 2**32 - 1)),
        n_ops=draw(st.integers(10, 200)),
        n_procs=draw(st.integers(1, 8)),
        keys=keys,
        p_info=draw(st.sampled_from([0.0, 0.1, 0.3])),
        concurrency=draw(st.sampled_from([0.3, 0.8])),
    )
    for key in draw(st.lists(st.sampled_from(keys), max_size=3, unique=True)):
        events = plant_stale_read(events, key)
    return events


@settings(max_examples=40, deadline=None)
@given(multi_key_histories(), st.booleans())
def test_same_answer_for_any_number_of_jobs(events, all_keys):
    one = check_history(events, all_keys=all_keys, jobs=1)
    with every_part_to_workers():
        two = check_history(events, all_keys=all_keys, jobs=2)
        three = check_history(events, all_keys=all_keys, jobs=3)
    assert verdict(two) == verdict(one)
    assert verdict(three) == verdict(one)


def test_heavy_parts_go_to_workers_and_light_ones_stay():
    sizes = [10, 10, workers.MIN_WORKER_OPS, workers.MIN_WORKER_OPS + 1]
    with workers.Dispatcher(lambda i, budget, tick: (os.getpid(), budget), sizes, jobs=2) as d:
        first = dict(d.round(range(4), 100, None))
        again = dict(d.round([0, 1], 800, None))  # parts seen before used up a round: heavy now
    me = os.getpid()
    assert first[0] == first[1] == (me, 100)
    assert first[2][0] != me and first[3][0] != me and first[2][1] == first[3][1] == 100
    assert again[0][0] != me and again[1][0] != me and again[0][1] == 800


def test_one_heavy_part_or_one_job_stays_in_process():
    me = os.getpid()
    big = workers.MIN_WORKER_OPS
    for sizes, jobs in (([1, big], 4), ([big, big], 1)):
        with workers.Dispatcher(lambda i, budget, tick: os.getpid(), sizes, jobs) as d:
            assert set(dict(d.round(range(2), 1, None)).values()) == {me}
            assert d.pool is None


def hard_keys(n_keys: int, n: int = 16) -> str:
    """Per key, n concurrent appends then a get that no order of them gives: a huge search."""
    lines = []
    for k in range(n_keys):
        lines += [f'{p} invoke append "a{p}" key="k{k}"' for p in range(n)]
        lines += [f'{p} ok append "a{p}" key="k{k}"' for p in range(n)]
        lines += [f'99 invoke get key="k{k}"', f'99 ok get "zz" key="k{k}"']
    return "\n".join(lines)


def test_memory_limit_holds_in_every_worker(hist):
    events = hist(hard_keys(2))
    one = check_history(events, model="key-value", memory_limit=1, shrink=False, jobs=1)
    two = check_history(events, model="key-value", memory_limit=1, shrink=False, jobs=2)
    assert two["valid"] == "unknown" and two["reason"] == "memory limit"
    assert [k["key"] for k in two["unknown_keys"]] == ["k0", "k1"]
    assert verdict(two) == verdict(one)


def test_time_limit_and_progress_hold_across_workers(hist):
    """Two keys too hard for the limit, searched in workers: both given up when it runs out."""
    calls = []

    class Recorder(ProgressLine):
        def update(self, keys_done, keys, configurations):
            calls.append(configurations)

    r = check_history(
        hist(hard_keys(2, 24)), model="key-value", time_limit=2, shrink=False, jobs=2,
        progress=Recorder(io.StringIO()),
    )
    assert r["valid"] == "unknown" and r["reason"] == "time limit"
    assert sorted(k["key"] for k in r["unknown_keys"]) == ["k0", "k1"]
    assert calls and max(calls) > 0


def slow_search(i, budget, tick):
    """Stands in for a long search: reports what it has stored, then keeps its worker busy."""
    tick(1000 + i)
    time.sleep(2)
    return i


def test_progress_counts_what_the_workers_store():
    seen = []
    big = workers.MIN_WORKER_OPS
    with workers.Dispatcher(slow_search, [big, big], jobs=2) as d:
        assert dict(d.round([0, 1], 1, seen.append)) == {0: 0, 1: 1}
    assert max(seen) >= 1000  # read from the workers' shared slots while the parent waited


def test_cli_jobs_gives_the_same_json(tmp_path, capsys):
    path = tmp_path / "h.jsonl"
    events = plant_stale_read(simulate(seed=3, n_ops=300, n_procs=5, keys=list(range(4))), 2)
    path.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in events))
    out = []
    for jobs in ("1", "2"):
        with every_part_to_workers():
            assert main(["check", str(path), "--json", "--jobs", jobs]) == 1
        out.append(verdict(json.loads(capsys.readouterr().out)))
    assert out[0] == out[1] and out[0]["failed_key"] == 2


def test_bad_jobs_is_one_line_and_254(tmp_path, capsys):
    path = tmp_path / "h.jsonl"
    path.write_text("")
    for bad, command in itertools.product(("0", "-2", "two", "1.5"), (["check", str(path)], ["run"])):
        try:
            code = main([*command, "--jobs", bad])
        except SystemExit as e:
            code = e.code
        err = capsys.readouterr().err
        assert code == 254 and err.count("\n") == 1 and "--jobs" in err, (bad, err)
