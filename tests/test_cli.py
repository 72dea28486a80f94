"""The ``signin-monitor`` command line, held to the contract in design.md section 8.

Most tests call ``main([...])`` and read stdout/stderr with capsys; a few run
``python -m signin_monitor`` in a child process to see the real exit codes and a stdout that
carries nothing but JSON lines. Slack is an ``httpx.MockTransport``; no test touches a network.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import io
import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from freezegun import freeze_time

import signin_monitor
import signin_monitor.app
import signin_monitor.store.sqlite
from signin_monitor import cli
from signin_monitor.cli import history as history_command
from signin_monitor.cli import replay as replay_command_module
from signin_monitor.config import LAMBDA_VARIABLES, LOCAL_ONLY_VARIABLES
from signin_monitor.events import SignInEvent
from signin_monitor.slack import SlackWebhookNotifier
from signin_monitor.sources import read_events, read_records
from tests.factories import ACCOUNT, api_eventbridge, console_login, eventbridge
from tests.replay_process import replay_command

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
WEBHOOK = "https://hooks.example.invalid/services/T0000/B0000/cli-test-secret"
#: The contract keys of design §8, and (issue 14) ``suppressed_by``: the suppression's id or null.
ALERT_KEYS = {
    "rule",
    "severity",
    "event_id",
    "principal",
    "account_id",
    "event_time",
    "slack",
    "suppressed_by",
}

#: What the shipped samples raise with the default settings, in event-time order.
SAMPLE_ALERTS = [
    ("root-sign-in", "root", "111122223333"),
    ("sign-in-without-mfa", "bob", "111122223333"),
    ("repeated-failed-sign-ins", "carol", "111122223333"),
    ("sign-in-after-failures", "carol", "111122223333"),
    ("repeated-failed-sign-ins", "unknown-user:203.0.113.99", "111122223333"),
    ("root-sign-in", "root", "444455556666"),
    ("repeated-failed-sign-ins", "root", "444455556666"),
    ("sign-in-without-mfa", "dave", "444455556666"),
    # 2026-11-03: design §3.1 (root's access keys in use, credential and trail changes) and
    # §3.2 (a spray, a failed second factor, a new network), in event-time order
    ("root-activity", "root", "111122223333"),
    ("password-spray", "mallory", "111122223333"),
    ("root-access-key-created", "root", "111122223333"),
    ("mfa-challenge-failed", "oscar", "111122223333"),
    ("mfa-device-removed", "Admin", "111122223333"),
    ("login-profile-changed", "Admin", "111122223333"),
    ("trail-tampering", "Admin", "111122223333"),
    ("root-password-recovery", "root", "111122223333"),
    ("new-source-network", "peggy", "111122223333"),
]
SUMMARY = re.compile(
    r"(?P<read>[\d,]+) records read: (?P<stored>[\d,]+) stored, (?P<duplicates>[\d,]+) "
    r"duplicates, (?P<skipped>[\d,]+) not monitored, (?P<malformed>[\d,]+) malformed; "
    r"(?P<alerts>[\d,]+) alerts"
)


@pytest.fixture(autouse=True)
def _no_settings_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's SLACK_WEBHOOK_URL, thresholds etc. never reach a test."""
    for name in LAMBDA_VARIABLES + LOCAL_ONLY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite file; the working directory moves too, so no default file lands in cwd."""
    monkeypatch.chdir(tmp_path)
    return str(tmp_path / "activity.db")


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def alerts(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines()]

    @property
    def triples(self) -> list[tuple[str, str, str]]:
        return [(a["rule"], a["principal"], a["account_id"]) for a in self.alerts]

    @property
    def summary(self) -> dict[str, int]:
        match = SUMMARY.search(self.err)
        assert match is not None, self.err
        return {key: int(value.replace(",", "")) for key, value in match.groupdict().items()}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    capsys.readouterr()
    try:
        code = cli.main(list(argv))
    except SystemExit as stop:  # argparse exits on usage errors, --help and --version
        code = stop.code if isinstance(stop.code, int) else 1
    captured = capsys.readouterr()
    return Run(int(code), captured.out, captured.err)


def _replay(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> Run:
    return _run(capsys, "replay", "--json", "--db", db, *args)


class FakeSlack:
    """A Slack webhook answering ``status`` (changeable), recording every post."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.posts: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.posts.append(request)
        return httpx.Response(self.status, text="ok" if self.status == 200 else "server_error")

    @property
    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(request.content) for request in self.posts]


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> FakeSlack:
    """SLACK_WEBHOOK_URL set, posts going to a MockTransport, retries and pacing not waiting."""
    fake = FakeSlack()
    monkeypatch.setenv("SLACK_WEBHOOK_URL", WEBHOOK)
    monkeypatch.setattr(
        signin_monitor.app,
        "SlackWebhookNotifier",
        functools.partial(
            SlackWebhookNotifier, transport=httpx.MockTransport(fake.handle), sleep=lambda _: None
        ),
    )
    return fake


def _store_clock(monkeypatch: pytest.MonkeyPatch, clock: Callable[[], float]) -> None:
    """Make the CLI's SQLite store read ``clock`` (claim leases) instead of the real time."""
    monkeypatch.setattr(
        signin_monitor.store.sqlite,
        "SqliteStore",
        functools.partial(signin_monitor.store.sqlite.SqliteStore, clock=clock),
    )


def _cloudtrail_records_of_samples() -> list[dict[str, Any]]:
    """Every CloudTrail record in the samples, unwrapped from its EventBridge envelope."""
    records: list[dict[str, Any]] = []
    for path in sorted(p for p in SAMPLES.rglob("*") if p.is_file()):
        for item in read_records(path):
            assert not isinstance(item, Exception), item
            data = item.data
            records.append(data["detail"] if "detail-type" in data else data)
    return records


# --- the contract's options --------------------------------------------------------------------


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            sub: argparse.ArgumentParser = action.choices[command]
            return sub
    raise AssertionError("no subcommands")


def _options(command: str) -> set[str]:
    sub = _subparser(cli.build_parser(), command)
    return {option for a in sub._actions for option in a.option_strings}


def test_the_command_line_offers_every_option_the_contract_names() -> None:
    # GIVEN design.md section 8 THEN replay and history take exactly those options (and more)
    assert _options("replay") >= {"--db", "--table", "--json", "--threshold", "--window-minutes"}
    assert _options("history") >= {"--principal", "--account", "--since", "--until", "--json"}


def test_version_prints_the_package_version_and_exits_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN the installed package WHEN --version is asked for THEN it is printed, exit 0
    run = _run(capsys, "--version")
    assert run.code == 0
    assert run.out.strip() == f"signin-monitor {signin_monitor.__version__}"


def test_a_command_imports_only_its_own_module_and_reads_as_with_every_command_built() -> None:
    # GIVEN a fresh interpreter WHEN the parser is built for `replay` THEN no other command's
    # module is imported, and the usage line and the command's help read as when all are
    probe = (
        "import sys\n"
        "from signin_monitor import cli\n"
        "cli.build_parser(['replay'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('signin_monitor.cli.')))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert "signin_monitor.cli.replay'" in run.stdout
    for other in ("history", "report", "coverage", "digest", "resend", "create_table"):
        assert f"signin_monitor.cli.{other}'" not in run.stdout

    every_command = cli.build_parser()
    for command in cli.COMMANDS:
        alone = cli.build_parser([command, "--help"])
        assert (
            _subparser(alone, command).format_help()
            == _subparser(every_command, command).format_help()
        )
        assert alone.format_usage() == every_command.format_usage()


# --- replay: output contract -------------------------------------------------------------------


def test_replay_json_prints_exactly_one_alert_object_per_line_with_the_contract_keys(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    # GIVEN the shipped samples WHEN replayed with --json
    run = _replay(capsys, db, str(SAMPLES))
    # THEN it succeeds and every stdout line is one JSON object with exactly the contract keys
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines
    assert run.out.endswith("\n")
    for line in lines:
        alert = json.loads(line)
        assert isinstance(alert, dict)
        assert set(alert) == ALERT_KEYS
        assert isinstance(alert["slack"], dict)
        assert isinstance(alert["slack"]["text"], str)
        assert isinstance(alert["slack"]["blocks"], list)
        assert alert["slack"]["blocks"]
        assert alert["severity"] in {"critical", "high", "medium"}


def test_replaying_the_samples_gives_exactly_the_expected_alerts_in_event_time_order(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    # GIVEN the shipped samples WHEN replayed
    run = _replay(capsys, db, str(SAMPLES))
    # THEN exactly these seven alerts come out, oldest event first
    assert run.triples == SAMPLE_ALERTS
    times = [a["event_time"] for a in run.alerts]
    assert times == sorted(times)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", t) for t in times)


def test_event_id_is_the_cloudtrail_event_id_of_the_record_that_raised_the_alert(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    # GIVEN the samples, whose root sign-in in 111122223333 has a known CloudTrail eventID
    run = _replay(capsys, db, str(SAMPLES))
    # WHEN the alerts are read THEN event_id is the eventID and event_time the eventTime
    first = run.alerts[0]
    assert first["event_id"] == "d23f0824-128b-4f33-8c5c-7fd0a6a3a450"
    assert first["event_time"] == "2026-11-02T08:01:00Z"
    carol = next(a for a in run.alerts if a["principal"] == "carol")
    assert carol["event_id"] == "0fd630f1-f29d-4da9-953f-48f1a09f76b5"  # her 4th failure


def test_the_summary_on_stderr_counts_records_read_stored_duplicates_malformed_and_alerts(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    # GIVEN the samples: 45 records, two of them ordinary calls (S3, EC2) WHEN replayed
    run = _replay(capsys, db, str(SAMPLES))
    # THEN the summary on stderr has every count, and the alerts count matches stdout
    assert run.summary == {
        "read": 45,
        "stored": 43,
        "duplicates": 0,
        "skipped": 2,
        "malformed": 0,
        "alerts": 17,
    }
    assert SUMMARY.search(run.out) is None


def test_replaying_the_same_input_into_the_same_store_stores_nothing_and_alerts_nothing(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    # GIVEN the samples replayed once
    first = _replay(capsys, db, str(SAMPLES))
    # WHEN they are replayed again into the same --db
    second = _replay(capsys, db, str(SAMPLES))
    # THEN nothing is printed, 0 stored, every event a duplicate, exit 0
    assert second.code == 0
    assert second.out == ""
    assert second.summary["stored"] == 0
    assert second.summary["duplicates"] == first.summary["stored"] == 43
    assert second.summary["alerts"] == 0


def test_replay_without_json_prints_one_readable_line_per_alert(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    # GIVEN the samples WHEN replayed without --json
    run = _run(capsys, "replay", "--db", db, str(SAMPLES))
    # THEN one line per alert naming its rule, principal and account; no escape codes anywhere
    lines = run.out.splitlines()
    assert len(lines) == len(SAMPLE_ALERTS)
    for line, (rule, principal, account) in zip(lines, SAMPLE_ALERTS, strict=True):
        assert rule in line
        assert f"principal {principal}" in line
        assert f"account {account}" in line
    assert "\x1b" not in run.out + run.err


def test_without_db_the_store_is_signin_monitor_db_in_the_current_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an empty working folder
    monkeypatch.chdir(tmp_path)
    # WHEN replay runs without --db
    run = _run(capsys, "replay", "--json", str(SAMPLES))
    # THEN the default file is created there
    assert run.code == 0
    assert (tmp_path / cli.common.DEFAULT_DB).is_file()


# --- replay: malformed input and usage errors --------------------------------------------------


def test_a_malformed_file_among_good_ones_is_reported_and_the_good_alerts_still_print(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    # GIVEN the samples plus a CloudTrail log whose second record lacks its eventID
    broken = console_login(user="zed", event_id="x")
    del broken["eventID"]
    bad = tmp_path / "broken.json"
    bad.write_text(json.dumps({"Records": [console_login(user="yan"), broken]}))
    # WHEN they are replayed together
    run = _replay(capsys, db, str(SAMPLES), str(bad))
    # THEN the alerts are all there, the error names the file and position, and the exit is 1
    assert run.triples == SAMPLE_ALERTS
    assert run.code == 1
    assert f"{bad}: Records[1]" in run.err
    assert "eventID" in run.err
    assert run.summary["malformed"] == 1
    assert run.summary["stored"] == 44


def test_a_path_that_does_not_exist_is_a_usage_error_before_anything_is_stored(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    # GIVEN a missing path (a typo) beside the samples WHEN replayed
    missing = tmp_path / "nope.json"
    run = _replay(capsys, db, str(missing), str(SAMPLES))
    # THEN its error names it, nothing is processed, and the exit is 2 (usage)
    assert str(missing) in run.err
    assert run.triples == []
    assert run.code == 2


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["replay"],
        ["replay", "--db", "x.db", "--table", "t-able", "samples"],
        ["replay", "--no-such-option", "samples"],
        ["replay", "--threshold", "0", "samples"],
        ["replay", "--threshold", "abc", "samples"],
        ["replay", "--threshold", "1001", "samples"],
        ["replay", "--window-minutes", "0", "samples"],
        ["replay", "--window-minutes", "ten", "samples"],
        ["history", "--since", "yesterday", "--principal", "carol"],
        ["frobnicate"],
    ],
    ids=[
        "no command",
        "replay without paths",
        "db and table together",
        "unknown option",
        "threshold 0",
        "threshold abc",
        "threshold too big",
        "window 0",
        "window words",
        "since not a time",
        "unknown command",
    ],
)
def test_usage_errors_exit_2_with_a_message_and_no_traceback(
    capsys: pytest.CaptureFixture[str], db: str, argv: list[str]
) -> None:
    # GIVEN a command line that breaks the contract WHEN it runs
    run = _run(capsys, *argv)
    # THEN exit status 2, an error on stderr, nothing on stdout, no traceback
    assert run.code == 2
    assert "error" in run.err
    assert run.out == ""
    assert "Traceback" not in run.err


def test_a_bad_environment_value_exits_2_naming_the_variable_without_a_traceback(
    capsys: pytest.CaptureFixture[str], db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN FAILED_SIGNIN_THRESHOLD=abc in the environment
    monkeypatch.setenv("FAILED_SIGNIN_THRESHOLD", "abc")
    # WHEN replay runs
    run = _replay(capsys, db, str(SAMPLES))
    # THEN exit 2, the message names the variable and the value, nothing ran
    assert run.code == 2
    assert "FAILED_SIGNIN_THRESHOLD" in run.err
    assert "abc" in run.err
    assert "Traceback" not in run.err
    assert run.out == ""
    assert not Path(db).exists()


@pytest.mark.parametrize(
    "value",
    [
        "http://hooks.example.invalid/services/T0/B0/plain-http-secret",
        "hooks.example.invalid/services/T0/B0/no-scheme-secret",
        "https://hooks.example.invalid/services/with space-secret",
    ],
    ids=["http", "no scheme", "space"],
)
def test_a_bad_slack_webhook_url_is_refused_without_showing_its_value(
    capsys: pytest.CaptureFixture[str], db: str, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    # GIVEN SLACK_WEBHOOK_URL holding a malformed (but still secret) value
    monkeypatch.setenv("SLACK_WEBHOOK_URL", value)
    # WHEN replay and test-alert run
    runs = [_replay(capsys, db, str(SAMPLES)), _run(capsys, "test-alert")]
    # THEN both exit 2 naming the variable, and no part of the value is shown
    for run in runs:
        assert run.code == 2
        assert "SLACK_WEBHOOK_URL" in run.err
        assert "secret" not in run.out + run.err
        assert "hooks.example.invalid" not in run.out + run.err


# --- replay: rule settings from the command line -----------------------------------------------


def _failures_of(principal: str) -> list[SignInEvent]:
    return [
        event
        for event in read_events([SAMPLES])
        if isinstance(event, SignInEvent)
        and event.principal == principal
        and event.is_failed_console_login
    ]


def test_threshold_5_still_fires_on_carols_six_failures_but_threshold_6_does_not(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the samples, where carol failed six times within five minutes
    monkeypatch.chdir(tmp_path)
    carol = _failures_of("carol")
    assert len(carol) == 6
    sixth = max(carol, key=lambda e: e.event_time)
    # WHEN replayed with --threshold 5 and, into another store, --threshold 6
    five = _replay(capsys, str(tmp_path / "five.db"), "--threshold", "5", str(SAMPLES))
    six = _replay(capsys, str(tmp_path / "six.db"), "--threshold", "6", str(SAMPLES))
    # THEN 5 fires for carol on her sixth failure (5 failures of the others are not enough)
    repeated_five = [a for a in five.alerts if a["rule"] == "repeated-failed-sign-ins"]
    assert [(a["principal"], a["event_id"]) for a in repeated_five] == [("carol", sixth.event_id)]
    # AND 6 fires for nobody; the other rules do not change
    assert [a for a in six.alerts if a["rule"] == "repeated-failed-sign-ins"] == []
    # (sign-in-after-failures counts against the same threshold: carol's success after her six
    # failures alerts with 5, not with 6)
    assert ("sign-in-after-failures", "carol", "111122223333") in five.triples
    counted = ("repeated-failed-sign-ins", "sign-in-after-failures")
    others = [t for t in SAMPLE_ALERTS if t[0] not in counted]
    assert [t for t in six.triples if t[0] not in counted] == others
    assert five.code == six.code == 0


def test_window_minutes_changes_which_failures_count_together(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    # GIVEN the samples: carol fails every 48 s, the hidden user 4 times in 72 s, root every 60 s
    # WHEN replayed with a 2-minute window
    run = _replay(capsys, db, "--window-minutes", "2", str(SAMPLES))
    # THEN carol and root never pass 3 failures in 2 minutes, the hidden user does, and a root
    # failure alert repeats once each window has passed since the last one (09:10, 09:12, 09:14)
    assert run.code == 0
    assert [(a["rule"], a["principal"], a["event_time"]) for a in run.alerts] == [
        ("root-sign-in", "root", "2026-11-02T08:01:00Z"),
        ("sign-in-without-mfa", "bob", "2026-11-02T08:12:00Z"),
        ("repeated-failed-sign-ins", "unknown-user:203.0.113.99", "2026-11-02T08:41:12Z"),
        ("root-sign-in", "root", "2026-11-02T09:10:00Z"),
        ("root-sign-in", "root", "2026-11-02T09:12:00Z"),
        ("root-sign-in", "root", "2026-11-02T09:14:00Z"),
        ("sign-in-without-mfa", "dave", "2026-11-02T09:30:00Z"),
        # --window-minutes is the failure window: root-activity keeps its own hour; one spray
        # try a minute never passes 2 principals in 2 minutes; the window-free rules do not change
        ("root-activity", "root", "2026-11-03T09:00:12Z"),
        ("root-access-key-created", "root", "2026-11-03T09:05:30Z"),
        ("mfa-challenge-failed", "oscar", "2026-11-03T09:20:00Z"),
        ("mfa-device-removed", "Admin", "2026-11-03T09:20:11Z"),
        ("login-profile-changed", "Admin", "2026-11-03T09:21:47Z"),
        ("trail-tampering", "Admin", "2026-11-03T09:24:02Z"),
        ("root-password-recovery", "root", "2026-11-03T09:40:00Z"),
        ("new-source-network", "peggy", "2026-11-03T10:00:00Z"),
    ]


def test_the_threshold_can_come_from_the_environment_and_the_option_beats_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN FAILED_SIGNIN_THRESHOLD=6 in the environment
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FAILED_SIGNIN_THRESHOLD", "6")
    # WHEN replayed without and with --threshold 3
    from_env = _replay(capsys, str(tmp_path / "a.db"), str(SAMPLES))
    from_option = _replay(capsys, str(tmp_path / "b.db"), "--threshold", "3", str(SAMPLES))
    # THEN the environment's 6 silences the failure rule and the option restores the default
    assert all(a["rule"] != "repeated-failed-sign-ins" for a in from_env.alerts)
    assert from_option.triples == SAMPLE_ALERTS


def _envelope(record: dict[str, Any]) -> dict[str, Any]:
    """The EventBridge event of a record: console sign-in events, or API calls (design §3.1)."""
    if record.get("eventType") == "AwsApiCall":
        return api_eventbridge(record)
    return eventbridge(record)


def test_input_order_does_not_matter_the_same_events_shuffled_over_files_give_the_same_alerts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN every sample record shuffled and dealt into three files of three formats
    monkeypatch.chdir(tmp_path)
    records = _cloudtrail_records_of_samples()
    random.Random(7).shuffle(records)
    folder = tmp_path / "shuffled"
    folder.mkdir()
    thirds = [records[0::3], records[1::3], records[2::3]]
    (folder / "a.json.gz").write_bytes(gzip.compress(json.dumps({"Records": thirds[0]}).encode()))
    (folder / "b.jsonl").write_text("".join(json.dumps(_envelope(r)) + "\n" for r in thirds[1]))
    (folder / "c.json").write_text(json.dumps({"Records": thirds[2]}, indent=1))
    # WHEN they and the original samples are replayed into separate stores
    original = _replay(capsys, str(tmp_path / "original.db"), str(SAMPLES))
    shuffled = _replay(capsys, str(tmp_path / "shuffled.db"), str(folder / "c.json"), str(folder))

    # THEN the same alerts come out, for the same events, in the same order
    def key(run: Run) -> list[tuple[str, str, str, str]]:
        return [(a["rule"], a["principal"], a["account_id"], a["event_id"]) for a in run.alerts]

    assert key(shuffled) == key(original)
    assert shuffled.summary["stored"] == original.summary["stored"]


# --- history -----------------------------------------------------------------------------------


@pytest.fixture
def replayed(capsys: pytest.CaptureFixture[str], db: str) -> str:
    """The samples replayed into ``db``."""
    assert _replay(capsys, db, str(SAMPLES)).code == 0
    return db


def test_history_json_gives_carols_events_oldest_first_with_the_contract_fields(
    capsys: pytest.CaptureFixture[str], replayed: str
) -> None:
    # GIVEN the samples replayed WHEN carol's history is asked for as JSON
    run = _run(capsys, "history", "--principal", "carol", "--db", replayed, "--json")
    # THEN her seven sign-ins come out oldest first: six failures then a success with MFA
    assert run.code == 0
    rows = [json.loads(line) for line in run.out.splitlines()]
    required = {
        "event_id",
        "event_time",
        "event_name",
        "account_id",
        "principal",
        "result",
        "mfa_used",
        "source_ip",
        "region",
    }
    assert all(required <= set(row) for row in rows)
    assert [row["event_time"] for row in rows] == sorted(row["event_time"] for row in rows)
    assert [row["result"] for row in rows] == ["Failure"] * 6 + ["Success"]
    assert rows[-1]["mfa_used"] is True
    assert rows[0]["event_id"] == "8d116ece-1738-47d9-bd9c-172411e20b8f"
    assert {(r["principal"], r["account_id"], r["event_name"]) for r in rows} == {
        ("carol", "111122223333", "ConsoleLogin")
    }
    assert {(r["source_ip"], r["region"]) for r in rows} == {("192.0.2.77", "eu-north-1")}
    assert "7 events" in run.err


def test_history_for_root_takes_the_name_root_as_shown_in_alerts(
    capsys: pytest.CaptureFixture[str], replayed: str
) -> None:
    # GIVEN the samples replayed WHEN root's history in 444455556666 is asked for
    run = _run(
        capsys,
        "history",
        "--principal",
        "root",
        "--account",
        "444455556666",
        "--db",
        replayed,
        "--json",
    )
    # THEN its five failed attempts come out, and no root event of the other account
    rows = [json.loads(line) for line in run.out.splitlines()]
    assert [(r["account_id"], r["result"]) for r in rows] == [("444455556666", "Failure")] * 5


def _column_starts(header: str) -> list[int]:
    return [match.start() for match in re.finditer(r"(?:^|(?<=  ))(?=\S)", header)]


def test_history_without_json_is_a_table_whose_columns_all_line_up(
    capsys: pytest.CaptureFixture[str], replayed: str
) -> None:
    # GIVEN the samples replayed WHEN account 111122223333's history is shown as a table
    run = _run(
        capsys, "history", "--account", "111122223333", "--since", "2026-11-01", "--db", replayed
    )
    # THEN a header and one row per event, every column starting at the header's offsets
    lines = run.out.splitlines()
    assert run.code == 0
    assert lines[0].startswith("TIME (UTC)")
    starts = _column_starts(lines[0])
    assert len(starts) == len(history_command.TABLE_COLUMNS)
    assert len(lines) == 1 + 28 + 8  # 28 sign-in events and 8 monitored calls in 111122223333
    for line in lines[1:]:
        for start in starts[1:]:
            assert line[start - 2 : start] == "  ", (start, line)
            assert line[start] != " ", (start, line)


def test_control_characters_in_stored_values_never_reach_the_terminal_raw(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    # GIVEN sign-ins whose user name and user agent carry terminal escape sequences
    hostile = [
        console_login(user="\x1b[31mmallory\x1b[0m", mfa="No", event_id="esc-1"),
        console_login(user="trudy\x9b2J", user_agent="ua\x1b]0;pwned\x07\r\n", event_id="esc-2"),
    ]
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps({"Records": hostile}))
    replay = _run(capsys, "replay", "--db", db, str(path))
    # WHEN the history is shown as a table and as JSON
    table = _run(capsys, "history", "--account", ACCOUNT, "--since", "2026-01-01", "--db", db)
    as_json = _run(
        capsys, "history", "--account", ACCOUNT, "--since", "2026-01-01", "--db", db, "--json"
    )
    # THEN no raw ESC, CSI, BEL or CR reaches stdout; the table shows them escaped, still aligned
    for run in (replay, table):
        for control in ("\x1b", "\x9b", "\x07", "\r"):
            assert control not in run.out
    for control in ("\x1b", "\x07", "\r"):
        assert control not in as_json.out
    assert "\\u001b[31mmallory\\u001b[0m" in table.out
    assert "\\u009b" in table.out
    lines = table.out.splitlines()
    starts = _column_starts(lines[0])
    assert all(line[start - 2 : start] == "  " for line in lines[1:] for start in starts[1:])
    rows = [json.loads(line) for line in as_json.out.splitlines()]
    assert rows[0]["principal"] == "\x1b[31mmallory\x1b[0m"  # data kept exactly for audits


def test_history_without_principal_account_or_source_ip_exits_2(
    capsys: pytest.CaptureFixture[str], replayed: str
) -> None:
    # GIVEN a replayed store WHEN history is asked with no subject
    run = _run(capsys, "history", "--db", replayed, "--json")
    # THEN exit 2 with a message naming the options
    assert run.code == 2
    assert "--principal" in run.err
    assert run.out == ""


def test_history_by_source_ip_finds_the_hidden_user_guesses(
    capsys: pytest.CaptureFixture[str], replayed: str
) -> None:
    # GIVEN the samples replayed WHEN the history of 203.0.113.99 is asked for
    run = _run(capsys, "history", "--source-ip", "203.0.113.99", "--db", replayed, "--json")
    # THEN its five guesses come out under the unknown-user principal
    rows = [json.loads(line) for line in run.out.splitlines()]
    assert [r["principal"] for r in rows] == ["unknown-user:203.0.113.99"] * 5


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        ("2026-11-02T08:31:00Z", "2026-11-02T08:34:00Z", 4),
        ("2026-11-02T08:32:24Z", None, 4),
        (None, "2026-11-02T08:30:48+00:00", 2),
        ("2026-11-02T09:31:00+01:00", "2026-11-02T09:33:00+01:00", 2),
        ("2026-11-03", None, 0),
        (None, "2026-11-02", 0),
        ("2026-11-02", "2026-11-03", 7),
    ],
    ids=["both", "since inclusive", "until inclusive", "offset", "day after", "day", "whole day"],
)
def test_history_since_and_until_take_iso_times(
    capsys: pytest.CaptureFixture[str],
    replayed: str,
    since: str | None,
    until: str | None,
    expected: int,
) -> None:
    # GIVEN carol's seven sign-ins between 08:30:00 and 08:37:00 UTC
    argv = ["history", "--principal", "carol", "--db", replayed, "--json"]
    argv += ["--since", since] if since else []
    argv += ["--until", until] if until else []
    # WHEN her history is limited to a time range
    run = _run(capsys, *argv)
    # THEN only the events inside it (bounds included) come out
    assert run.code == 0
    assert len(run.out.splitlines()) == expected


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        ("3m", None, 4),
        (None, "2m", 4),
        ("1h", "1m", 6),
        ("1d", None, 7),
        ("1m", "30m", 0),
    ],
    ids=["since minutes", "until minutes", "hours and minutes", "days", "since after until"],
)
def test_history_since_and_until_take_times_relative_to_now(
    capsys: pytest.CaptureFixture[str],
    replayed: str,
    since: str | None,
    until: str | None,
    expected: int,
) -> None:
    # GIVEN carol's sign-ins at 08:30:00, :30:48, :31:36, :32:24, :33:12, :34:00 (failures)
    # and 08:37:00 (success), and a clock frozen at 08:35:00 UTC that day
    argv = ["history", "--principal", "carol", "--db", replayed, "--json"]
    argv += ["--since", since] if since else []
    argv += ["--until", until] if until else []
    # WHEN relative bounds are given (3m = since 08:32:00; 2m = until 08:33:00; ...)
    with freeze_time("2026-11-02T08:35:00Z"):
        run = _run(capsys, *argv)
    # THEN they are measured back from that now, bounds included
    assert run.code == 0
    assert len(run.out.splitlines()) == expected


# --- test-alert --------------------------------------------------------------------------------


def test_test_alert_without_a_webhook_prints_the_payload_and_exits_0(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN no webhook configured
    monkeypatch.chdir(tmp_path)
    # WHEN test-alert runs
    run = _run(capsys, "test-alert")
    # THEN stdout is one Block Kit payload, stderr says it was not posted, exit 0
    assert run.code == 0
    payload = json.loads(run.out)
    assert set(payload) >= {"text", "blocks"}
    assert "not posted" in run.err


def test_test_alert_with_a_webhook_posts_exactly_once_to_it(
    capsys: pytest.CaptureFixture[str], slack: FakeSlack
) -> None:
    # GIVEN SLACK_WEBHOOK_URL set and Slack answering 200
    # WHEN test-alert runs
    run = _run(capsys, "test-alert")
    # THEN one post to that URL with a Block Kit payload; stdout empty; the URL never shown
    assert run.code == 0
    assert len(slack.posts) == 1
    assert str(slack.posts[0].url) == WEBHOOK
    assert slack.posts[0].method == "POST"
    assert {"text", "blocks"} <= set(slack.payloads[0])
    assert run.out == ""
    assert WEBHOOK not in run.err
    assert "cli-test-secret" not in run.err


def test_test_alert_to_a_failing_webhook_exits_1_without_showing_the_url(
    capsys: pytest.CaptureFixture[str], slack: FakeSlack
) -> None:
    # GIVEN Slack answering 500 every time
    slack.status = 500
    # WHEN test-alert runs
    run = _run(capsys, "test-alert")
    # THEN it tried a few times, exits 1 with an error, and never shows the webhook URL
    assert run.code == 1
    assert 1 < len(slack.posts) <= 5
    assert "error" in run.err
    assert "cli-test-secret" not in run.out + run.err


# --- replay with Slack: exactly once across runs -----------------------------------------------


def test_replay_posts_every_alert_exactly_once_to_the_webhook(
    capsys: pytest.CaptureFixture[str], db: str, slack: FakeSlack
) -> None:
    # GIVEN a webhook answering 200 WHEN the samples are replayed twice
    first = _replay(capsys, db, str(SAMPLES))
    second = _replay(capsys, db, str(SAMPLES))
    # THEN each alert was posted once, with the payload --json printed
    assert first.code == second.code == 0
    assert len(slack.posts) == len(SAMPLE_ALERTS)
    assert slack.payloads == [a["slack"] for a in first.alerts]
    assert "no Slack webhook configured" not in first.err


def test_alerts_slack_refused_with_500_stay_pending_and_a_later_replay_posts_them_once(
    capsys: pytest.CaptureFixture[str],
    db: str,
    slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN Slack answering 500 to every post
    slack.status = 500
    # WHEN the samples are replayed
    failed = _replay(capsys, db, str(SAMPLES))
    # THEN exit 1, every alert was tried (with retries) and none is lost; no URL in the output
    assert failed.code == 1
    assert "could not be posted" in failed.err
    assert len(slack.posts) >= len(SAMPLE_ALERTS)
    assert {json.dumps(p, sort_keys=True) for p in slack.payloads} == {
        json.dumps(a["slack"], sort_keys=True) for a in failed.alerts
    }
    assert "cli-test-secret" not in failed.out + failed.err
    # GIVEN Slack healthy again, and an hour later (past any claim lease)
    slack.status = 200
    slack.posts.clear()
    _store_clock(monkeypatch, lambda: time.time() + 3600)
    # WHEN the same input is replayed again
    retried = _replay(capsys, db, str(SAMPLES))
    # THEN each pending alert is posted exactly once, and exit 0
    assert retried.code == 0, retried.err
    # (a windowed alert is retried by the first delivery that proposes its anchor again, which
    # may come before other alerts' events: the same alerts, each once, perhaps in another order)
    assert sorted(retried.triples) == sorted(SAMPLE_ALERTS)
    assert len(slack.posts) == len(SAMPLE_ALERTS)
    assert slack.payloads == [a["slack"] for a in retried.alerts]
    # AND a third replay posts nothing more
    slack.posts.clear()
    again = _replay(capsys, db, str(SAMPLES))
    assert (again.code, again.out, slack.posts) == (0, "", [])


def test_replaying_right_after_a_failed_delivery_posts_the_pending_alerts_or_says_it_did_not(
    capsys: pytest.CaptureFixture[str], db: str, slack: FakeSlack
) -> None:
    # GIVEN a replay whose alerts Slack refused with 500
    slack.status = 500
    assert _replay(capsys, db, str(SAMPLES)).code == 1
    # WHEN the user follows the advice and replays again at once, Slack healthy again
    slack.status = 200
    slack.posts.clear()
    retried = _replay(capsys, db, str(SAMPLES))
    # THEN the pending alerts are posted, or the run at least fails saying they were not
    posted = len(slack.posts) == len(SAMPLE_ALERTS) and retried.code == 0
    reported = retried.code == 1 and "could not be posted" in retried.err
    assert posted or reported, (retried.code, len(slack.posts), retried.err)


# --- hostile text ------------------------------------------------------------------------------


def test_hostile_user_name_and_user_agent_cannot_mention_or_link_in_slack(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    # GIVEN four failed sign-ins typed as user "<!channel>" with a link for a user agent
    records = [
        console_login(
            user="<!channel>",
            result="Failure",
            user_agent="<https://evil.example|click>",
            minutes=i,
        )
        for i in range(4)
    ]
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps({"Records": records}))
    # WHEN they are replayed with --json
    run = _replay(capsys, db, str(path))
    # THEN the repeated-failure alert's payload holds the text escaped, never live
    assert run.triples == [("repeated-failed-sign-ins", "<!channel>", ACCOUNT)]
    payload = json.dumps(run.alerts[0]["slack"], ensure_ascii=False)
    assert "<!channel>" not in payload
    assert "<https://evil" not in payload
    assert "&lt;!channel&gt;" in payload
    assert "&lt;https://evil.example|click&gt;" in payload


# --- the real process --------------------------------------------------------------------------


def _python_m(tmp_path: Path, *argv: str, env: dict[str, str] | None = None) -> Run:
    completed = subprocess.run(
        [sys.executable, "-m", "signin_monitor", *argv],
        cwd=tmp_path,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Run(completed.returncode, completed.stdout, completed.stderr)


def test_the_real_process_prints_nothing_but_json_lines_and_exits_0(tmp_path: Path) -> None:
    # GIVEN the samples WHEN `python -m signin_monitor replay --json` runs
    run = _python_m(tmp_path, "replay", "--json", "--db", str(tmp_path / "p.db"), str(SAMPLES))
    # THEN exit 0 and every stdout line is a JSON alert object; the summary is on stderr
    assert run.code == 0, run.err
    assert run.triples == SAMPLE_ALERTS
    assert all(set(alert) == ALERT_KEYS for alert in run.alerts)
    assert run.summary["alerts"] == len(SAMPLE_ALERTS)


def test_the_real_process_exits_1_on_a_malformed_record_and_2_on_usage_errors(
    tmp_path: Path,
) -> None:
    # GIVEN a file that is not JSON
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    db_path = str(tmp_path / "p.db")
    # WHEN the real process replays it, is misused, or is given a bad environment value
    malformed = _python_m(tmp_path, "replay", "--json", "--db", db_path, str(bad), str(SAMPLES))
    usage = _python_m(tmp_path, "replay")
    bad_env = _python_m(
        tmp_path, "replay", "--db", db_path, str(SAMPLES), env={"FAILED_SIGNIN_THRESHOLD": "abc"}
    )
    # THEN the exit codes are 1, 2 and 2; stdout stays pure JSON; no traceback anywhere
    assert malformed.code == 1
    assert malformed.triples == SAMPLE_ALERTS
    assert f"{bad}: line 1 column 2" in malformed.err
    assert usage.code == 2
    assert bad_env.code == 2
    assert "FAILED_SIGNIN_THRESHOLD" in bad_env.err
    for run in (malformed, usage, bad_env):
        assert "Traceback" not in run.err


def test_progress_bar_draws_fraction_and_clears_itself() -> None:
    # GIVEN a progress display on a (fake) terminal
    from signin_monitor.cli.common import Progress as _Progress

    stream = io.StringIO()
    progress = _Progress(enabled=True, stream=stream)
    # WHEN it is drawn half way, then at the end, then cleared
    progress.bar(5, 10, "files")
    progress.bar(10, 10, "files")
    progress.clear()
    # THEN each frame overwrites the line, shows the bar, percentage and counts, and is erased
    frames = stream.getvalue().split("\r\x1b[K")
    assert frames[1] == "[###############...............]  50%  5/10 files"
    assert frames[2] == "[##############################] 100%  10/10 files"
    assert frames[3] == ""


# --- delivery: invisible text, the alert's own event, busy claims, the lock -------------------


def test_invisible_characters_are_shown_on_the_terminal_not_hidden(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    # GIVEN a no-MFA sign-in by "ad<zero-width space>min"
    path = tmp_path / "zw.json"
    path.write_text(json.dumps({"Records": [console_login(user="ad\u200bmin", mfa="No")]}))
    # WHEN replayed without --json, and shown as history
    replay = _run(capsys, "replay", "--db", db, str(path))
    table = _run(capsys, "history", "--principal", "ad\u200bmin", "--db", db)
    # THEN the character is spelled out on the terminal, never shown as "admin"
    for run in (replay, table):
        assert "\u200b" not in run.out
        assert "ad\\u200bmin" in run.out


def test_alert_lines_describe_the_alerts_own_event_not_the_one_processed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a windowed alert anchored at another (earlier) event than the one being processed
    from signin_monitor.alerts import Alert, Severity

    anchor = read_events_one(console_login(user="carol", result="Failure", event_id="anchor-1"))
    alert = Alert(
        rule_id="repeated-failed-sign-ins",
        severity=Severity.HIGH,
        title="Repeated failed sign-ins",
        event=anchor,
        scope="s",
    )
    # WHEN its line is printed, as JSON and readable
    capsys.readouterr()
    replay_command_module.print_alert(alert, {"text": "x"}, True)
    replay_command_module.print_alert(alert, {"text": "x"}, False)
    json_line, text_line = capsys.readouterr().out.splitlines()
    # THEN every field comes from the alert's event
    fields = json.loads(json_line)
    assert (fields["event_id"], fields["principal"], fields["event_time"]) == (
        "anchor-1",
        "carol",
        anchor.time_text,
    )
    assert "event anchor-1" in text_line
    assert "principal carol" in text_line


def read_events_one(record: dict[str, Any]) -> SignInEvent:
    from signin_monitor.events import parse_record

    return parse_record(record)


def test_alerts_another_run_is_delivering_are_reported_not_delivered(
    capsys: pytest.CaptureFixture[str], db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a store where another live run holds every claim (ClaimOutcome.BUSY)
    from signin_monitor.alerts import Alert
    from signin_monitor.store import ClaimOutcome

    class Busy(signin_monitor.store.sqlite.SqliteStore):
        def claim_alert(self, alert: Alert) -> ClaimOutcome:
            return ClaimOutcome.BUSY

        def claim_window(self, alert: Alert) -> tuple[Alert, ClaimOutcome]:
            return alert, ClaimOutcome.BUSY

        def claim_many(self, alerts: Sequence[Alert]) -> list[tuple[Alert, ClaimOutcome]]:
            return [(alert, ClaimOutcome.BUSY) for alert in alerts]

    monkeypatch.setattr(signin_monitor.store.sqlite, "SqliteStore", Busy)
    # WHEN the samples are replayed
    run = _replay(capsys, db, str(SAMPLES))
    # THEN nothing is printed as delivered, exit 1, and stderr says when to run again
    assert run.code == 1
    assert run.out == ""
    assert re.search(r"\d+ alerts not delivered: another run holds their claim", run.err)
    assert "replay again after" in run.err


def test_a_second_replay_on_the_same_file_waits_for_the_first(tmp_path: Path) -> None:
    # GIVEN the lock of a SQLite file held (as by a running replay)
    import fcntl

    db_path = tmp_path / "locked.db"
    with open(f"{db_path}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        child = subprocess.Popen(
            replay_command(db_path, SAMPLES),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stderr is not None
        # WHEN the replay starts THEN it says it waits, and delivers nothing meanwhile
        assert "waiting for another run" in child.stderr.readline()
        assert child.poll() is None
        fcntl.flock(lock, fcntl.LOCK_UN)
    # AND once the lock is free it runs to the end
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert len(out.splitlines()) == len(SAMPLE_ALERTS)
