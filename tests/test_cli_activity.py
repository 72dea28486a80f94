"""The command line over API calls: replay gives exactly the alerts of design §3.1 beside those of
§3, once; history lists every kind, filters by ``--kind``, and its JSON names the call."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from signin_monitor.config import LAMBDA_VARIABLES, LOCAL_ONLY_VARIABLES
from tests.factories import api_call, console_login
from tests.test_cli import _replay, _run

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
NEW_RULES = [
    "root-activity",
    "root-access-key-created",
    "mfa-device-removed",
    "login-profile-changed",
    "trail-tampering",
    "root-password-recovery",
]


@pytest.fixture(autouse=True)
def _no_settings_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LAMBDA_VARIABLES + LOCAL_ONLY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    return str(tmp_path / "activity.db")


def _log(tmp_path: Path, records: list[dict[str, Any]], name: str = "trail.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps({"Records": records}))
    return str(path)


def test_the_samples_raise_each_new_rule_once_beside_todays_alerts(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    run = _replay(capsys, db, str(SAMPLES))
    assert run.code == 0, run.err
    rules = [alert["rule"] for alert in run.alerts]
    assert sorted(r for r in rules if r in NEW_RULES) == sorted(NEW_RULES)
    assert {"root-sign-in", "sign-in-without-mfa", "repeated-failed-sign-ins"} <= set(rules)
    assert run.summary["skipped"] == 2  # the two ordinary calls: "not monitored"
    assert "2 not monitored" in run.err
    # WHEN replayed again into the same store THEN nothing new is stored or raised
    again = _replay(capsys, db, str(SAMPLES))
    assert (again.alerts, again.summary["stored"]) == ([], 0)


def test_a_root_access_key_session_raises_one_alert_per_window(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    # GIVEN three hours of root calls every 15 minutes, shuffled, with no console sign-in
    records = [api_call(minutes=15 * step) for step in range(12)]
    random.Random(7).shuffle(records)
    run = _replay(capsys, db, _log(tmp_path, records))
    # THEN one root-activity alert per hour (replay processes in event-time order)
    assert [(a["rule"], a["event_time"]) for a in run.alerts] == [
        ("root-activity", "2026-11-02T08:00:00Z"),
        ("root-activity", "2026-11-02T09:00:00Z"),
        ("root-activity", "2026-11-02T10:00:00Z"),
    ]


def test_root_calls_after_a_reported_console_sign_in_raise_only_the_sign_in(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    records = [console_login(identity_type="Root"), api_call(minutes=1), api_call(minutes=30)]
    run = _replay(capsys, db, _log(tmp_path, records))
    assert [a["rule"] for a in run.alerts] == ["root-sign-in"]


def test_history_lists_roots_sign_ins_and_calls_in_time_order_with_the_call_fields(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    _replay(capsys, db, str(SAMPLES))
    run = _run(capsys, "history", "--db", db, "--principal", "root", "--json")
    rows = [json.loads(line) for line in run.out.splitlines()]
    times = [row["event_time"] for row in rows]
    assert times == sorted(times)
    assert {row["kind"] for row in rows} == {"sign-in", "api-call"}
    key = next(row for row in rows if row["event_name"] == "CreateAccessKey")
    assert (key["kind"], key["event_source"], key["error_code"]) == (
        "api-call",
        "iam.amazonaws.com",
        None,
    )
    denied = next(row for row in rows if row["event_name"] == "ListUsers")
    assert denied["error_code"] == "AccessDenied"
    # every key history --json had before is still there
    assert {
        "event_id",
        "event_time",
        "event_name",
        "account_id",
        "principal",
        "result",
        "mfa_used",
        "source_ip",
        "region",
    } <= set(key)


@pytest.mark.parametrize("kind", ["sign-in", "api-call"])
def test_history_kind_filters(capsys: pytest.CaptureFixture[str], db: str, kind: str) -> None:
    _replay(capsys, db, str(SAMPLES))
    run = _run(capsys, "history", "--db", db, "--principal", "root", "--kind", kind, "--json")
    rows = [json.loads(line) for line in run.out.splitlines()]
    assert rows
    assert {row["kind"] for row in rows} == {kind}


def test_history_table_shows_the_event_source_and_error_code(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    _replay(capsys, db, str(SAMPLES))
    run = _run(capsys, "history", "--db", db, "--principal", "root", "--kind", "api-call")
    header, *lines = run.out.splitlines()
    assert header.startswith("TIME (UTC)")
    assert "SOURCE" in header
    assert "ERROR" in header
    assert any("iam.amazonaws.com" in line and "AccessDenied" in line for line in lines)
