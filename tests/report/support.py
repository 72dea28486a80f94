"""Helpers of the report tests: run the command, build a realistic mixed day, read a store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from signin_monitor import cli
from signin_monitor.cli import report as command
from signin_monitor.config import Settings
from tests.factories import OTHER_ACCOUNT, console_login, eventbridge

HOSTILE_SCRIPT = "<script>alert(1)</script>"
HOSTILE_CHANNEL = "<!channel>"
HOSTILE_ATTRIBUTE = '"><img src=x onerror=alert(2)>'
#: The mixed day and the next morning: 2026-11-02 08:00 onwards.
SINCE = "2026-11-02T00:00:00Z"
UNTIL = "2026-11-03T23:59:59Z"


def run_report(argv: list[str]) -> int:
    """``signin-monitor report ARGV`` through the command's own parser and ``run``."""
    parser = cli.common.Parser(prog="signin-monitor")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=cli.common.Parser)
    command.add_parser(commands)
    args = parser.parse_args(["report", *argv])
    return command.run(args, Settings.from_env({}))


def mixed_day_records() -> list[dict[str, Any]]:
    """A realistic mixed day across two accounts, hostile user names included.

    Sign-ins with and without MFA, a password-guessing burst, hidden (mistyped) users, root
    sign-ins with and without MFA, SSO sessions, a CheckMfa event, and the next morning.
    """
    records: list[dict[str, Any]] = []
    for minute, user in enumerate(("alice", "erin", "frank", "alice", "erin")):
        records.append(console_login(user=user, minutes=minute * 7))
    records.append(console_login(user="alice", event_name="CheckMfa", minutes=1))
    records.append(console_login(user=HOSTILE_SCRIPT, mfa="No", minutes=12))
    records.append(console_login(user=HOSTILE_SCRIPT, mfa="No", minutes=95))
    records.append(console_login(user=HOSTILE_ATTRIBUTE, mfa="No", minutes=14))
    records.append(console_login(user="bob", mfa="No", minutes=20))
    for i in range(6):
        records.append(
            console_login(
                user=HOSTILE_CHANNEL,
                result="Failure",
                mfa=None,
                minutes=30 + i,
                source_ip="192.0.2.77",
            )
        )
    for i in range(3):
        records.append(
            console_login(
                user="HIDDEN_DUE_TO_SECURITY_REASONS",
                result="Failure",
                mfa=None,
                minutes=40 + i,
                source_ip="203.0.113.99",
            )
        )
    records.append(
        console_login(identity_type="Root", mfa="Yes", minutes=60, source_ip="203.0.113.10")
    )
    records.append(
        console_login(
            identity_type="Root",
            mfa="No",
            result="Failure",
            minutes=70,
            account=OTHER_ACCOUNT,
            source_ip="203.0.113.200",
        )
    )
    records.append(
        console_login(
            identity_type="Root",
            mfa="No",
            minutes=75,
            account=OTHER_ACCOUNT,
            source_ip="203.0.113.200",
        )
    )
    for i, user in enumerate(("grace", "heidi", "ivan")):
        records.append(
            console_login(
                user=user,
                identity_type="AssumedRole",
                mfa=None,
                minutes=80 + i,
                account=OTHER_ACCOUNT,
            )
        )
    records.append(console_login(user="dave", mfa="No", minutes=90, account=OTHER_ACCOUNT))
    # The next morning.
    records.append(console_login(user="alice", minutes=24 * 60 + 5))
    records.append(
        console_login(
            user="frank", result="Failure", mfa=None, minutes=24 * 60 + 9, source_ip="198.51.100.9"
        )
    )
    return records


def replay_into(db: Path, records: list[dict[str, Any]], folder: Path) -> None:
    """Store ``records`` through ``signin-monitor replay`` (EventBridge JSON Lines)."""
    path = folder / "events.jsonl"
    path.write_text("".join(json.dumps(eventbridge(r)) + "\n" for r in records))
    assert cli.main(["replay", "--db", str(db), "--no-progress", str(path)]) == 0


def store_rows(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """What the store answers to ``sql`` (the tests' independent count)."""
    with sqlite3.connect(db) as connection:
        return list(connection.execute(sql, params))
