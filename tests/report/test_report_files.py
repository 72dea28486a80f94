"""events.csv, events.jsonl, alerts.csv and manifest.json of a replayed mixed day."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from signin_monitor import __version__, cli
from signin_monitor.report.files import EVENT_FIELDS, csv_cell, verify_manifest
from tests.factories import ACCOUNT, OTHER_ACCOUNT
from tests.report.support import HOSTILE_CHANNEL, SINCE, UNTIL, run_report, store_rows

FILES = {"report.html", "events.csv", "events.jsonl", "alerts.csv"}


@pytest.fixture
def report(mixed_day_db: Path, tmp_path: Path) -> Path:
    out = tmp_path / "report"
    assert (
        run_report(
            [
                "--db",
                str(mixed_day_db),
                "--since",
                SINCE,
                "--until",
                UNTIL,
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    return out


def _history_json(
    db: Path, account: str, capsys: pytest.CaptureFixture[str]
) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert (
        cli.main(
            [
                "history",
                "--db",
                str(db),
                "--account",
                account,
                "--since",
                SINCE,
                "--until",
                UNTIL,
                "--json",
            ]
        )
        == 0
    )
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_events_jsonl_is_exactly_what_history_json_prints(
    report: Path, mixed_day_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the report of the mixed day, all accounts
    lines = [json.loads(line) for line in (report / "events.jsonl").read_text().splitlines()]
    # THEN each account's events are the rows `history --json` prints for it, in order
    for account in (ACCOUNT, OTHER_ACCOUNT):
        expected = _history_json(mixed_day_db, account, capsys)
        assert [row for row in lines if row["account_id"] == account] == expected
    # AND every event of the store is there, oldest first
    (count,) = store_rows(mixed_day_db, "SELECT COUNT(*) FROM activity")[0]
    assert len(lines) == count
    assert [row["event_time"] for row in lines] == sorted(row["event_time"] for row in lines)


def test_events_csv_has_the_history_fields_and_the_same_rows(report: Path) -> None:
    with open(report / "events.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    lines = [json.loads(line) for line in (report / "events.jsonl").read_text().splitlines()]
    assert tuple(rows[0]) == EVENT_FIELDS
    assert [row["event_id"] for row in rows] == [line["event_id"] for line in lines]
    assert [row["mfa_used"] for row in rows] == [csv_cell(line["mfa_used"]) for line in lines]
    # the hostile name is kept as text (it starts with "<", no formula to defuse)
    assert HOSTILE_CHANNEL in {row["principal"] for row in rows}


def test_alerts_csv_lists_every_claim_of_the_period_with_its_status(
    report: Path, mixed_day_db: Path
) -> None:
    with open(report / "alerts.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    claims = store_rows(
        mixed_day_db, "SELECT rule_id, event_id, status FROM alert_claims ORDER BY event_time"
    )
    assert [(r["rule_id"], r["event_id"], r["status"]) for r in rows] == claims
    assert claims  # the mixed day raises alerts


def test_the_manifest_verifies_and_names_version_store_and_query(
    report: Path, mixed_day_db: Path
) -> None:
    manifest = json.loads((report / "manifest.json").read_text())
    assert set(manifest["files"]) == FILES
    assert manifest["version"] == __version__
    assert manifest["store"] == {"kind": "sqlite", "path": str(mixed_day_db)}
    assert manifest["query"] == {"since": SINCE, "until": UNTIL, "accounts": "all"}
    assert verify_manifest(report) == []


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_changed_or_missing_file_fails_verification(report: Path, name: str) -> None:
    # GIVEN a copy where one file was altered by one byte
    path = report / name
    path.write_bytes(path.read_bytes() + b" ")
    # THEN the recomputed hash no longer matches
    assert verify_manifest(report) == [f"{name}: SHA-256 differs"]
    path.unlink()
    assert verify_manifest(report) == [f"{name}: missing"]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("alice", "alice"),
    ],
)
def test_csv_cells_defuse_spreadsheet_formulas(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


def test_an_account_report_holds_only_that_accounts_events_and_alerts(
    mixed_day_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "other"
    assert (
        run_report(
            [
                "--db",
                str(mixed_day_db),
                "--since",
                SINCE,
                "--until",
                UNTIL,
                "--account",
                OTHER_ACCOUNT,
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    lines = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    (expected,) = store_rows(
        mixed_day_db, "SELECT COUNT(*) FROM activity WHERE account_id = ?", (OTHER_ACCOUNT,)
    )[0]
    assert len(lines) == expected
    assert {line["account_id"] for line in lines} == {OTHER_ACCOUNT}
    with open(out / "alerts.csv", newline="", encoding="utf-8") as handle:
        alert_ids = {row["event_id"] for row in csv.DictReader(handle)}
    other_claims = store_rows(
        mixed_day_db,
        "SELECT c.event_id FROM alert_claims c JOIN activity a ON a.event_id = c.event_id"
        " WHERE a.account_id = ?",
        (OTHER_ACCOUNT,),
    )
    assert alert_ids == {row[0] for row in other_claims}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["query"]["accounts"] == [OTHER_ACCOUNT]


def test_a_manifest_naming_a_file_outside_its_folder_fails_verification(report: Path) -> None:
    manifest = json.loads((report / "manifest.json").read_text())
    manifest["files"]["../report.html"] = manifest["files"]["report.html"]
    (report / "manifest.json").write_text(json.dumps(manifest))
    assert verify_manifest(report) == ["../report.html: not a file of this folder"]
