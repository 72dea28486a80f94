"""``signin-monitor digest`` on the local store: the demo's samples, text and ``--json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from signin_monitor.cli import main
from signin_monitor.store.dynamodb import DynamoDbStore
from tests.factories import ACCOUNT, OTHER_ACCOUNT
from tests.test_digest import TABLE, dynamodb, load, mixed_day

__all__ = ["dynamodb"]  # the moto fixture, shared with tests/test_digest.py

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def demo_db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The samples replayed into a fresh store, as ``make demo`` does."""
    path = tmp_path / "demo.db"
    assert main(["replay", "--db", str(path), str(ROOT / "samples")]) == 0
    capsys.readouterr()
    return path


def test_digest_prints_the_days_summary_as_text(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["digest", "--db", str(demo_db), "--day", "2026-11-02"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Sign-in digest for 2026-11-02 (UTC)\n")
    assert "Events: 25 (22 console sign-ins, 16 failed; 0 API calls); alerts: 8" in out
    assert "  111122223333  repeated-failed-sign-ins  2\n" in out
    assert "  carol in 111122223333: 6\n" in out
    assert "  bob in 111122223333: 1\n" in out


def test_digest_json_is_one_block_kit_line(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["digest", "--db", str(demo_db), "--day", "2026-11-03", "--json"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    payload = json.loads(line)
    assert payload["blocks"][0]["text"]["text"] == "Sign-in digest for 2026-11-03 (UTC)"
    medium = [
        b for b in payload["blocks"] if "*Medium alerts*" in b.get("text", {}).get("text", "")
    ]
    assert "new-source-network" in medium[0]["text"]["text"]


def test_digest_of_one_account(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["digest", "--db", str(demo_db), "--day", "2026-11-02", "--account", "444455556666"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Accounts: 444455556666\n" in out
    assert "111122223333" not in out


@pytest.mark.parametrize(
    "args",
    [
        ["digest", "--day", "2026-13-01"],
        ["digest", "--day", "yesterday"],
        ["digest", "--db", "x.db", "--table", "t"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(args)
    assert raised.value.code == 2


def test_a_missing_store_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["digest", "--db", str(tmp_path / "none.db"), "--day", "2026-11-02"]) == 2


def test_a_suppressed_alert_is_listed_with_its_id(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_digest import suppress_sqlite

    # GIVEN the samples' root sign-ins recorded as suppressed by sup-1 (no suppressions store)
    suppress_sqlite(demo_db, "root-sign-in", "sup-1")
    assert main(["digest", "--db", str(demo_db), "--day", "2026-11-02"]) == 0
    out = capsys.readouterr().out
    # THEN both are listed with the id, and the counts still hold them
    suppressed = out.split("Suppressed alerts:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(suppressed) == 2
    assert all("suppression sup-1 (details unavailable)" in line for line in suppressed)
    assert "alerts: 8" in out


def test_digest_on_dynamodb_reads_the_accounts_asked_for(
    dynamodb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the mixed day on a moto table
    load(DynamoDbStore(TABLE, client=dynamodb), mixed_day())
    # WHEN the digest is printed with and without --account
    args = ["digest", "--table", TABLE, "--day", "2026-11-02"]
    assert main([*args, "--account", ACCOUNT, "--account", OTHER_ACCOUNT]) == 0
    both = capsys.readouterr()
    assert main(args) == 0
    alone = capsys.readouterr()
    # THEN both accounts are read when named; without, the command says which it read and why
    assert f"Accounts: {ACCOUNT}, {OTHER_ACCOUNT}\n" in both.out
    assert "alerts: 6" in both.out
    assert "digest of accounts" not in both.err
    assert f"digest of accounts {ACCOUNT}" in alone.err
    assert "pass --account" in alone.err
