"""Account names from the settings reach the Slack message and ``history`` (both edges)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signin_monitor.app import CollectingNotifier, build_pipeline
from signin_monitor.cli import main
from signin_monitor.config import Settings
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import sign_in

ACCOUNT = "444455556666"
NAMES = json.dumps({ACCOUNT: "prod-payments"})


def test_the_pipeline_names_the_account_in_the_message() -> None:
    # GIVEN settings with a static map of names
    settings = Settings.from_env({"ACCOUNT_NAMES_JSON": NAMES})
    notifier = CollectingNotifier()
    pipeline = build_pipeline(settings, store=SqliteStore(":memory:"), notifier=notifier)
    # WHEN a root sign-in of that account is processed
    outcome = pipeline.process(sign_in(account=ACCOUNT, user=None, identity_type="Root"))
    # THEN the header names the account beside its id
    header = outcome.deliveries[0].payload["blocks"][0]["text"]["text"]
    assert f"prod-payments ({ACCOUNT})" in header
    assert notifier.sent[0] == outcome.deliveries[0].payload


def test_without_names_the_message_shows_the_id_only() -> None:
    pipeline = build_pipeline(
        Settings.from_env({}), store=SqliteStore(":memory:"), notifier=CollectingNotifier()
    )
    outcome = pipeline.process(sign_in(account=ACCOUNT, user=None, identity_type="Root"))
    header = outcome.deliveries[0].payload["blocks"][0]["text"]["text"]
    assert header.endswith(f"in AWS account {ACCOUNT}")


def test_history_shows_the_account_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "names.db"
    store = SqliteStore(db)
    store.record(sign_in(account=ACCOUNT, user=None, identity_type="Root"), expires_at=None)
    store.close()
    monkeypatch.setenv("ACCOUNT_NAMES_JSON", NAMES)
    assert main(["history", "--db", str(db), "--principal", "root", "--json"]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (row["account_id"], row["account_name"]) == (ACCOUNT, "prod-payments")
    assert main(["history", "--db", str(db), "--principal", "root"]) == 0
    header, line = capsys.readouterr().out.splitlines()
    assert "NAME" in header
    assert "prod-payments" in line
