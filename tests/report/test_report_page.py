"""report.html: sections and control labels, escaping of every event value, the empty period."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from signin_monitor.report.page import CONTROLS, SECTIONS
from tests.report.support import (
    HOSTILE_ATTRIBUTE,
    HOSTILE_CHANNEL,
    HOSTILE_SCRIPT,
    SINCE,
    UNTIL,
    run_report,
)


class _Elements(HTMLParser):
    """Collects tags, attributes and text, and fails on a script or an event handler."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _report(db: Path, out: Path, *extra: str) -> str:
    argv = ["--db", str(db), "--since", SINCE, "--until", UNTIL, "--out", str(out)]
    assert run_report([*argv, "--no-progress", *extra]) == 0
    return (out / "report.html").read_text(encoding="utf-8")


def test_every_section_is_there_with_its_control_labels(mixed_day_db: Path, tmp_path: Path) -> None:
    page = _report(mixed_day_db, tmp_path / "r")
    for key, heading in SECTIONS.items():
        assert f'<section id="{key}"><h2>{heading}</h2>' in page
        for label in CONTROLS[key]:
            assert f"<span>{label}</span>" in page.split(f'<section id="{key}">')[1]
    assert "not a claim of compliance" in page


def test_hostile_names_are_text_and_the_page_has_no_script_or_handler(
    mixed_day_db: Path, tmp_path: Path
) -> None:
    # GIVEN a day where user names are markup
    page = _report(mixed_day_db, tmp_path / "r")
    parsed = _Elements()
    parsed.feed(page)
    # THEN the page holds no script element, no event handler attribute, no raw name
    assert "script" not in parsed.tags
    assert "img" not in parsed.tags
    assert parsed.handlers == []
    for hostile in (HOSTILE_SCRIPT, HOSTILE_CHANNEL, HOSTILE_ATTRIBUTE):
        assert hostile not in page
    # AND each name reads back as the very text, in the tables
    text = "".join(parsed.text)
    for hostile in (HOSTILE_SCRIPT, HOSTILE_CHANNEL, HOSTILE_ATTRIBUTE):
        assert hostile in text
    # AND the policy forbids scripts and loads in case anything ever slips through
    assert "default-src 'none'; style-src 'unsafe-inline'; img-src data:" in page


def test_the_page_loads_nothing_from_anywhere(mixed_day_db: Path, tmp_path: Path) -> None:
    page = _report(mixed_day_db, tmp_path / "r")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//)""", page)
    for loader in ("<link", "@import", "url("):
        assert loader not in page


def test_an_empty_period_is_a_valid_report_that_says_so(mixed_day_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    argv = [
        "--db",
        str(mixed_day_db),
        "--since",
        "2025-01-01",
        "--until",
        "2025-01-31",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert run_report(argv) == 0
    page = (out / "report.html").read_text()
    assert "No events in this period." in page
    for heading in SECTIONS.values():
        assert f"<h2>{heading}</h2>" in page
    assert "<svg" not in page  # no chart of nothing
    assert (out / "events.jsonl").read_text() == ""
    assert (out / "events.csv").read_text().count("\n") == 1
    assert json.loads((out / "manifest.json").read_text())["counts"]["events"] == 0
    parsed = _Elements()
    parsed.feed(page)
    parsed.close()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--table", "t"], "needs --account"),
        (["--db", "{missing}"], "no SQLite store"),
        (["--db", "{db}", "--since", "2026-11-03", "--until", "2026-11-02"], "before --since"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(
    argv: list[str],
    message: str,
    mixed_day_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [a.format(missing=tmp_path / "nope.db", db=mixed_day_db) for a in argv]
    if "--since" not in argv:
        argv += ["--since", SINCE, "--until", UNTIL]
    assert run_report([*argv, "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "nope.db").exists()


def test_since_until_and_out_are_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_report(["--since", SINCE])
    assert exit_info.value.code == 2
    assert "--until" in capsys.readouterr().err


def test_progress_runs_through_the_period_to_the_end(mixed_day_db: Path, tmp_path: Path) -> None:
    # GIVEN the report built with a progress callback
    from datetime import UTC, datetime

    from signin_monitor.report.build import build_report
    from signin_monitor.report.gather import ReportData
    from signin_monitor.report.sources import Period, SqliteSource

    period = Period(
        since=datetime(2026, 11, 2, tzinfo=UTC), until=datetime(2026, 11, 4, tzinfo=UTC)
    )
    source = SqliteSource(mixed_day_db, period)
    calls: list[tuple[int, int, int]] = []
    data = ReportData(period=period, alerts=list(source.alerts()))
    build_report(source, data, tmp_path / "p", version="x", progress=lambda *a: calls.append(a))
    source.close()
    # THEN it moves forward through the period's seconds and ends at 100% with every event
    done = [c[0] for c in calls]
    assert done == sorted(done)
    assert calls[-1] == (2 * 86400, 2 * 86400, data.events)
    assert data.events > 0
