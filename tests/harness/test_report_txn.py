"""The report draws the transactional checker's anomalies from what the checker returned."""

from __future__ import annotations

from checkers.history import Event
from checkers.txn import check
from harness.report.txn import cycle_svg, txn_html


def event(i: int, process: int, type_: str, value: object) -> Event:
    return Event(i, i, process, type_, "txn", None, value, "n1" if type_ != "invoke" else None)


def write_skew() -> list[Event]:
    """T1 reads y empty and appends to x; T2 reads x empty and appends to y: each missed the other."""
    t1 = [["r", "y", None], ["append", "x", 1]]
    t2 = [["r", "x", None], ["append", "y", 2]]
    return [event(0, 0, "invoke", t1), event(1, 1, "invoke", t2),
            event(2, 0, "ok", [["r", "y", []], ["append", "x", 1]]),
            event(3, 1, "ok", [["r", "x", []], ["append", "y", 2]])]


def test_an_anomaly_is_drawn_with_its_edges_and_explained() -> None:
    result = check(write_skew(), "list-append", "serializable")
    assert result["valid"] is False
    page = txn_html(result)
    kind = next(iter(result["anomalies"]))
    assert f"<h4>{kind}" in page and "<svg" in page and "marker-end" in page
    case = result["anomalies"][kind][0]
    for name in case["cycle"]:
        assert f">{name}</text>" in page
    assert "rw" in page and "<ol><li>" in page and "Ruled out" in page


def test_long_cycles_fold_their_middle_and_values_are_escaped() -> None:
    steps = [{"from": f"T{i}", "to": f"T{i + 1}", "type": "ww", "key": "<k>", "text": "x"} for i in range(40)]
    svg = cycle_svg({"steps": [*steps, {"from": "T40", "to": "T0", "type": "rw", "key": "<k>"}]})
    assert "29 more" in svg  # T7..T35 folded and "&lt;k&gt;" in svg and "<k>" not in svg
    assert svg.count('class="txn"') == 13
    assert txn_html({"valid": True}) == ""
