"""The digest with real suppressions (``suppress add``): issue 14's done-when, a planned root
login silenced from the command line is listed in the digest with whose suppression it is and
why, escaped, and the next unplanned one still alerts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from signin_monitor.cli import main
from tests.factories import ACCOUNT
from tests.test_digest import TABLE, dynamodb

__all__ = ["dynamodb"]  # the moto fixture, shared with tests/test_digest.py

ROOT = Path(__file__).resolve().parents[1]
SUPPRESS = [
    "--rule",
    "root-sign-in",
    "--principal",
    "root",
    "--account",
    ACCOUNT,
    "--from",
    "2026-11-02T00:00:00Z",
    "--until",
    "2026-11-02T23:00:00Z",
    "--reason",
    "planned <!channel> drill",
    "--by",
    "alice`ops",
]


def _digest_of(store: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    assert main(["suppress", "add", *store, *SUPPRESS]) == 0
    assert main(["replay", *store, str(ROOT / "samples")]) == 0
    capsys.readouterr()
    day = ["--day", "2026-11-02", "--account", ACCOUNT]
    assert main(["digest", *store, *day]) == 0
    text = capsys.readouterr().out
    assert main(["digest", *store, *day, "--json"]) == 0
    blocks = json.loads(capsys.readouterr().out)["blocks"]
    [section] = [
        block["text"]["text"]
        for block in blocks
        if block.get("text", {}).get("text", "").startswith("*Suppressed alerts*")
    ]
    return text, section


def _check(text: str, section: str) -> None:
    [line] = text.split("Suppressed alerts:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert "root-sign-in root in 111122223333" in line
    assert "by alice`ops: planned <!channel> drill" in line  # text: shown as typed, inert
    assert "by `alice'ops`: `planned &lt;!channel&gt; drill`" in section  # Slack: escaped


def test_a_suppressed_root_login_is_in_the_digest_with_whose_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _check(*_digest_of(["--db", str(tmp_path / "store.db")], capsys))


def test_the_same_on_dynamodb(dynamodb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _check(*_digest_of(["--table", TABLE], capsys))
