"""``signin-monitor suppress`` and how ``replay`` shows a suppressed alert.

"A user can silence a planned root login for two hours from the command line, see it stored
and listed, and the next unplanned one still pages": the first test is that sentence.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from signin_monitor.cli import main
from signin_monitor.config import LAMBDA_VARIABLES, LOCAL_ONLY_VARIABLES
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import ACCOUNT, console_login

NOW = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)
HOSTILE = "<!channel> \x1b[2J\u202efake & <https://evil.example|click>"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No webhook or settings from the shell; a known login name."""
    for name in (*LAMBDA_VARIABLES, *LOCAL_ONLY_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOGNAME", "carol")
    monkeypatch.setenv("USER", "carol")


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "activity.db")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _trail(tmp_path: Path, *records: dict[str, Any]) -> str:
    path = tmp_path / "trail.json"
    path.write_text(json.dumps({"Records": list(records)}), encoding="utf-8")
    return str(path)


def _listed(capsys: pytest.CaptureFixture[str], db: str) -> list[dict[str, Any]]:
    code, out, _ = _run(capsys, "suppress", "list", "--json", "--db", db)
    assert code == 0
    return [json.loads(line) for line in out.splitlines()]


@freeze_time(NOW)
def test_silence_a_planned_root_login_for_two_hours_and_the_next_unplanned_one_pages(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN root's sign-ins in the account silenced for two hours from now
    code, out, err = _run(
        capsys,
        "suppress", "add", "--db", db, "--rule", "root-sign-in", "--principal", "root",
        "--account", ACCOUNT, "--until", "2h", "--reason", "break-glass drill CHG-42",
    )  # fmt: skip
    assert code == 0, err
    suppression_id = out.strip()
    assert suppression_id.startswith("sup-")
    # THEN it is stored and listed as active, with its author, reason and period
    [listed] = _listed(capsys, db)
    assert listed == {
        "id": suppression_id,
        "state": "active",
        "rule": "root-sign-in",
        "principal": "root",
        "source_ip": None,
        "account_id": ACCOUNT,
        "from": "2026-12-01T10:00:00Z",
        "until": "2026-12-01T12:00:00Z",
        "reason": "break-glass drill CHG-42",
        "by": "carol",
        "created": "2026-12-01T10:00:00Z",
    }
    # WHEN the planned root login (in the two hours) and an unplanned one (after) are replayed
    trail = _trail(
        tmp_path,
        console_login(identity_type="Root", at=NOW, minutes=15, event_id="planned-login"),
        console_login(identity_type="Root", at=NOW, minutes=125, event_id="unplanned-login"),
    )
    code, out, err = _run(capsys, "replay", "--json", "--no-progress", "--db", db, trail)
    # THEN both are printed; the planned one names its suppression, the unplanned one pages
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(line["event_id"], line["suppressed_by"]) for line in lines] == [
        ("planned-login", suppression_id),
        ("unplanned-login", None),
    ]
    # AND the summary line is the contract's, counting both alerts
    assert "2 records read: 2 stored, 0 duplicates, 0 not monitored, 0 malformed; 2 alerts" in err
    # AND replaying again raises neither again (both claims are final)
    code, out, _ = _run(capsys, "replay", "--json", "--no-progress", "--db", db, trail)
    assert (code, out) == (0, "")
    assert _claims(db) == {
        "planned-login": ("suppressed", suppression_id),
        "unplanned-login": ("sent", None),
    }


def _claims(db: str) -> dict[str, tuple[str, str | None]]:
    store = SqliteStore(db)
    try:
        rows = store._db.execute("SELECT event_id, status, reason FROM alert_claims").fetchall()
    finally:
        store.close()
    return {event_id: (status, reason) for event_id, status, reason in rows}


@freeze_time(NOW)
def test_the_readable_replay_line_marks_a_suppressed_alert_with_its_escaped_reason(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a suppression whose reason is hostile text
    code, out, _ = _run(
        capsys, "suppress", "add", "--db", db, "--rule", "all", "--principal", "root",
        "--until", "+2h", "--reason", HOSTILE,
    )  # fmt: skip
    suppression_id = out.strip()
    # WHEN a covered and an uncovered alert are replayed without --json
    trail = _trail(
        tmp_path,
        console_login(identity_type="Root", at=NOW, minutes=1, event_id="covered"),
        console_login(identity_type="Root", at=NOW, minutes=121, event_id="posted"),
    )
    code, out, _ = _run(capsys, "replay", "--no-progress", "--db", db, trail)
    assert code == 0
    covered, posted = out.splitlines()
    # THEN the covered line ends with the suppression, its reason escaped (no escape sequence,
    # no bidirectional override reaches the terminal)
    assert covered.endswith(f"  suppressed by {suppression_id} ({_escaped(HOSTILE)})")
    assert "\x1b" not in covered
    assert "\u202e" not in covered
    assert "\\u001b[2J" in covered
    assert "\\u202e" in covered
    assert "event covered" in covered
    # AND the other line is exactly as before (nothing added)
    assert "suppressed" not in posted
    assert posted.endswith("event posted")


def _escaped(text: str) -> str:
    from signin_monitor.terminal import safe

    return safe(text)


@freeze_time(NOW)
def test_suppress_times_are_from_now_and_iso(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN "from now" spellings of --until, and --from as ago (needs "=": it starts with -)
    for period in (
        ["--until", "30m"],
        ["--until", "+3h"],
        ["--until", "2d", "--from=-1h"],
        ["--until", "2026-12-24", "--from", "2026-12-23"],
    ):
        argv = ["suppress", "add", "--db", db, "--rule", "all", "--account", ACCOUNT]
        argv += [*period, "--reason", "r"]
        assert _run(capsys, *argv)[0] == 0
    periods = sorted((row["from"], row["until"]) for row in _listed(capsys, db))
    assert periods == sorted(
        [
            ("2026-12-01T10:00:00Z", "2026-12-01T10:30:00Z"),
            ("2026-12-01T10:00:00Z", "2026-12-01T13:00:00Z"),
            ("2026-12-01T09:00:00Z", "2026-12-03T10:00:00Z"),
            ("2026-12-23T00:00:00Z", "2026-12-24T00:00:00Z"),
        ]
    )


@freeze_time(NOW)
def test_list_tells_active_scheduled_and_expired_apart(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for start, until in (("-3h", "-1h"), ("-1h", "1h"), ("1h", "3h")):
        argv = ["suppress", "add", "--db", db, "--rule", "all", "--principal", "root"]
        period = [f"--from={start}", f"--until={until}"]
        assert _run(capsys, *argv, *period, "--reason", "r")[0] == 0
    states = sorted((row["from"], row["state"]) for row in _listed(capsys, db))
    assert [state for _, state in states] == ["expired", "active", "scheduled"]
    code, out, err = _run(capsys, "suppress", "list", "--db", db)
    assert code == 0
    assert sorted(line.split()[1] for line in out.splitlines()) == [
        "active",
        "expired",
        "scheduled",
    ]
    assert "3 suppressions (1 active)" in err


@freeze_time(NOW)
def test_hostile_reason_and_author_are_inert_in_the_list(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["suppress", "add", "--db", db, "--rule", "all", "--principal", "\x1b[31mroot"]
    code, _, err = _run(capsys, *argv, "--until", "1h", "--reason", HOSTILE, "--by", HOSTILE)
    assert code == 0
    assert "\x1b" not in err
    assert "\u202e" not in err
    code, out, _ = _run(capsys, "suppress", "list", "--db", db)
    [line] = out.splitlines()
    assert "\x1b" not in line
    assert "\u202e" not in line
    assert line.count(_escaped(HOSTILE)) == 2
    # AND --json keeps the text as typed (JSON escapes it)
    [row] = _listed(capsys, db)
    assert (row["reason"], row["by"]) == (HOSTILE, HOSTILE)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--rule", "no-such-rule", "--principal", "root"], "--rule"),
        (["--rule", "all"], "at least one of --principal, --source-ip and --account"),
        (["--rule", "all", "--account", "1234"], "--account"),
        (["--rule", "all", "--source-ip", "10.0.0.300"], "--source-ip"),
        (["--rule", "all", "--principal", "root", "--until", "91d"], "--no-expiry-limit"),
        (["--rule", "all", "--principal", "root", "--until=-1m"], "after --from"),
        (["--rule", "all", "--principal", "root", "--reason", " "], "--reason"),
        (["--rule", "all", "--principal", "root", "--until", "soon"], "is not a time"),
    ],
)
@freeze_time(NOW)
def test_usage_errors_exit_2_and_say_what_is_wrong(
    db: str, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    argv = ["suppress", "add", "--db", db, "--until", "1h", "--reason", "why", *options]
    try:
        code, _, err = _run(capsys, *argv)
    except SystemExit as stop:  # argparse's own usage errors
        code, err = int(stop.code or 0), capsys.readouterr().err
    assert code == 2
    assert message in err
    assert _listed(capsys, db) == []


@freeze_time(NOW)
def test_until_is_required_and_a_long_period_needs_no_expiry_limit(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(
            ["suppress", "add", "--db", db, "--rule", "all", "--principal", "root", "--reason", "r"]
        )
    assert stop.value.code == 2
    assert "--until" in capsys.readouterr().err
    argv = ["suppress", "add", "--db", db, "--rule", "all", "--principal", "root"]
    code, _, err = _run(capsys, *argv, "--until", "365d", "--reason", "r", "--no-expiry-limit")
    assert code == 0, err
    [row] = _listed(capsys, db)
    assert row["until"] == "2027-12-01T10:00:00Z"


def test_remove_deletes_it_and_an_unknown_id_is_an_error(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["suppress", "add", "--db", db, "--rule", "all", "--principal", "root"]
    code, out, _ = _run(capsys, *argv, "--until", "1h", "--reason", "r")
    suppression_id = out.strip()
    assert _run(capsys, "suppress", "remove", "--db", db, suppression_id)[0] == 0
    assert _listed(capsys, db) == []
    code, _, err = _run(capsys, "suppress", "remove", "--db", db, suppression_id)
    assert code == 1
    assert f"no suppression {suppression_id}" in err


def test_by_defaults_to_the_login_name(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["suppress", "add", "--db", db, "--rule", "all", "--principal", "root"]
    assert _run(capsys, *argv, "--until", "1h", "--reason", "r")[0] == 0
    assert [row["by"] for row in _listed(capsys, db)] == ["carol"]


def test_add_list_remove_on_dynamodb(
    moto_server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    table = "suppress-cli"
    assert main(["create-table", "--table", table]) == 0
    capsys.readouterr()
    argv = ["suppress", "add", "--table", table, "--rule", "root-sign-in", "--principal", "root"]
    code, out, err = _run(capsys, *argv, "--until", "2h", "--reason", "drill")
    assert code == 0, err
    suppression_id = out.strip()
    code, out, _ = _run(capsys, "suppress", "list", "--json", "--table", table)
    assert [json.loads(line)["id"] for line in out.splitlines()] == [suppression_id]
    assert _run(capsys, "suppress", "remove", "--table", table, suppression_id)[0] == 0
    code, out, _ = _run(capsys, "suppress", "list", "--json", "--table", table)
    assert out == ""


def test_replay_json_lines_carry_suppressed_by_null_without_suppressions(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trail = _trail(tmp_path, console_login(identity_type="Root", at=NOW - timedelta(days=1)))
    code, out, _ = _run(capsys, "replay", "--json", "--no-progress", "--db", db, trail)
    [line] = [json.loads(text) for text in out.splitlines()]
    assert code == 0
    assert "suppressed_by" in line
    assert line["suppressed_by"] is None
