"""The default budget, the "how far it got" of an unknown verdict, and the progress line."""

from __future__ import annotations

import io

from checkers.api import DEFAULT_TIME_LIMIT, check_history, summary
from checkers.progress import ProgressLine, terminal_progress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_checks_have_a_default_time_limit(hist):
    r = check_history(hist("0 invoke write 1\n0 ok write 1"))
    assert r["valid"] is True and r["time_limit"] == DEFAULT_TIME_LIMIT


def hard_appends(n: int) -> list[str]:
    """n concurrent appends, then a get no order of them gives: every order must be tried."""
    lines = [f'{p} invoke append "a{p}" key="k"' for p in range(n)] + [
        f'{p} ok append "a{p}" key="k"' for p in range(n)
    ]
    return [*lines, '99 invoke get key="k"', '99 ok get "zz" key="k"']


def test_unknown_says_why_and_how_far(hist):
    r = check_history(hist("\n".join(hard_appends(16))), model="key-value", memory_limit=1, shrink=False)
    assert r["valid"] == "unknown"
    first, per_key = summary(r)
    assert first.startswith("gave up (memory limit, ") and "raise it with --memory-limit); 0 of 1 keys" in first
    assert first.endswith(f"{r['configurations']:,} configurations explored") and r["configurations"] > 0
    assert per_key.startswith('  key "k": memory limit; at best ') and per_key.endswith(
        " of 17 completed ops linearized"
    )


def test_progress_line_only_on_a_terminal():
    assert terminal_progress(io.StringIO()) is None
    assert isinstance(terminal_progress(Tty()), ProgressLine)


def test_progress_line_is_drawn_after_a_while_and_erased():
    out = Tty()
    line = ProgressLine(out, show_after=0.0)
    line.update(3, 10, 1_234_567)
    assert "3 of 10 keys done, 1,234,567 configurations explored" in out.getvalue()
    line.close()
    assert out.getvalue().endswith("\r\x1b[K")
    quiet = Tty()
    ProgressLine(quiet, show_after=60.0).update(1, 2, 3)
    assert quiet.getvalue() == ""


def test_check_reports_progress_while_searching(hist):
    """The search calls back while it runs, and the check erases the line at the end."""
    calls = []

    class Recorder(ProgressLine):
        def update(self, keys_done, keys, configurations):
            calls.append((keys_done, keys, configurations))

    lines = []
    for k in range(3):
        lines += [f"{p} invoke write {p} key={k}" for p in range(6)] + [f"{p} ok write {p} key={k}" for p in range(6)]
    r = check_history(hist("\n".join(lines)), progress=Recorder(Tty()))
    assert r["valid"] is True
    assert calls and calls[-1][0] == 3 and calls[-1][1] == 3
