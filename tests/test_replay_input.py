"""``replay`` on hostile and odd input: nothing stops the run, nothing is skipped in silence.

The summary line is a contract read by outside checks: it stays as it is, and what it cannot
say (skipped files, expired or cut events) comes on lines of its own after it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from signin_monitor.cli import main
from signin_monitor.config import LAMBDA_VARIABLES, LOCAL_ONLY_VARIABLES
from tests.factories import console_login

SUMMARY = re.compile(
    r"^(?P<read>[\d,]+) records read: (?P<stored>[\d,]+) stored, (?P<duplicates>[\d,]+) "
    r"duplicates, (?P<skipped>[\d,]+) not monitored, (?P<malformed>[\d,]+) malformed; "
    r"(?P<alerts>[\d,]+) alerts",
    re.MULTILINE,
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LAMBDA_VARIABLES + LOCAL_ONLY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *paths: Path
) -> tuple[int, str, dict[str, int]]:
    status = main(["replay", "--db", str(tmp_path / "t.db"), *map(str, paths)])
    err = capsys.readouterr().err
    match = SUMMARY.search(err)
    assert match is not None, err
    assert "Traceback" not in err
    return status, err, {k: int(v.replace(",", "")) for k, v in match.groupdict().items()}


def _log(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"Records": records}))
    return path


def test_event_times_that_overflowed_are_malformed_records_and_the_run_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN failures at year 1 and 9999 (they overflowed the window and retention arithmetic)
    # and "0" (once read as 1970), between good records
    odd = [console_login(event_id=f"odd-{i}", result="Failure") for i in range(3)]
    odd[0]["eventTime"] = "0001-01-01T00:00:00Z"
    odd[1]["eventTime"] = "9999-12-31T23:59:59-01:00"
    odd[2]["eventTime"] = "0"
    path = _log(tmp_path / "log.json", [console_login(), *odd, console_login()])
    # WHEN replayed
    status, err, counts = _replay(tmp_path, capsys, path)
    # THEN three malformed records at their positions, two stored, exit 1, no traceback
    assert (counts["read"], counts["stored"], counts["malformed"]) == (5, 2, 3)
    for index in (1, 2, 3):
        assert f"Records[{index}]: eventTime" in err
    assert status == 1


def test_skipped_files_are_reported_counted_and_make_the_exit_status_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a folder with one good log and a dangling symlink
    root = tmp_path / "logs"
    _log(root / "good.json", [console_login()])
    (root / "gone.json").symlink_to(root / "missing.json")
    # WHEN replayed
    status, err, counts = _replay(tmp_path, capsys, root)
    # THEN the skip is reported with its reason, the summary line is unchanged, and a line
    # after it counts the skipped files; exit 1
    assert f"skipped: {root / 'gone.json'}: dangling symlink" in err
    assert counts == {
        "read": 1,
        "stored": 1,
        "duplicates": 0,
        "skipped": 0,
        "malformed": 0,
        "alerts": 0,
    }
    lines = err.splitlines()
    summary_at = next(i for i, line in enumerate(lines) if SUMMARY.match(line))
    assert lines[summary_at + 1] == "1 files skipped (see above)"
    assert status == 1


def test_logs_older_than_the_retention_say_they_are_hidden_from_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN sign-ins of 2020 replayed with RETENTION_DAYS=365
    monkeypatch.setenv("RETENTION_DAYS", "365")
    old = [console_login(event_id=f"old-{i}", mfa="Yes") for i in range(2)]
    for record in old:
        record["eventTime"] = "2020-03-01T08:00:00Z"
    path = _log(tmp_path / "old.json", old)
    # WHEN replayed
    status, err, counts = _replay(tmp_path, capsys, path)
    # THEN they are stored, and a line says they were already past the retention
    assert counts["stored"] == 2
    assert "2 events were already past RETENTION_DAYS=365 when replayed" in err
    assert status == 0


def test_events_cut_to_fit_the_store_are_counted_after_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a sign-in whose user agent is 90k CJK characters
    path = _log(tmp_path / "big.json", [console_login(user_agent="\u4e2d" * 90_000)])
    # WHEN replayed THEN it is stored and a line says one event had fields cut
    status, err, counts = _replay(tmp_path, capsys, path)
    assert counts["stored"] == 1
    assert "1 events had fields cut to fit the store" in err
    assert "signinMonitorTruncated" in err
    assert status == 0
