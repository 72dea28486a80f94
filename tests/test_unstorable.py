"""Oversized values through the Lambda and ``replay --table``: they cost only themselves.

Before keys were bounded in bytes, a 3,000-character account id or source IP made DynamoDB
refuse the item (key too long): the handler raised on every retry and ``replay --table``
aborted. Now such events are stored; an event no store can hold (``UnstorableRecordError``) is
dropped and counted as malformed: the handler and the command line catch that error around
``pipeline.process``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

import handler
from signin_monitor.cli import main as cli_main
from signin_monitor.errors import UnstorableRecordError
from signin_monitor.events import SignInEvent
from signin_monitor.store.dynamodb import DynamoDbStore
from signin_monitor.store.dynamodb_admin import create_table
from tests.concurrency import dynamodb_client_for
from tests.factories import console_login, eventbridge
from tests.lambda_env import lambda_environment

TABLE = "unstorable-activity"


def _long_keys() -> list[dict[str, Any]]:
    return [
        console_login(account="1" * 3000, minutes=0),
        console_login(source_ip="9" * 3000, minutes=1),
        console_login(user="#" * 3000, minutes=2),
        console_login(identity_type="Root", account="2" * 3000, minutes=3),
    ]


def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    lambda_environment(monkeypatch)


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The Lambda's environment on moto, no webhook (alerts are logged)."""
    _clean_environment(monkeypatch)
    monkeypatch.setenv("ACTIVITY_TABLE", TABLE)
    with mock_aws():
        create_table(boto3.client("dynamodb", region_name="us-east-1"), TABLE)
        handler.reset()
        yield
        handler.reset()


def _refuse(event_id: str) -> Any:
    """A ``DynamoDbStore.record`` that refuses one event as DynamoDB would refuse it."""
    original = DynamoDbStore.record

    def record(self: DynamoDbStore, event: SignInEvent, *, expires_at: int | None) -> bool:
        if event.event_id == event_id:
            raise UnstorableRecordError(f"event {event_id} cannot be stored: item too large")
        return original(self, event, expires_at=expires_at)

    return record


def _refuse_in_bulk(event_id: str) -> Any:
    """A ``DynamoDbStore.record_many`` that refuses a batch holding the event before writing
    any of it, as the real one refuses an item over 400 KB (the replay then goes one by one)."""
    original = DynamoDbStore.record_many

    def record_many(
        self: DynamoDbStore, events: Sequence[SignInEvent], *, expires_at: Sequence[int | None]
    ) -> list[bool]:
        if any(event.event_id == event_id for event in events):
            raise UnstorableRecordError(f"event {event_id} cannot be stored: item too large")
        return original(self, events, expires_at=expires_at)

    return record_many


def test_the_handler_stores_events_with_oversized_key_values(lambda_env: None) -> None:
    results = [handler.handler(eventbridge(record), None) for record in _long_keys()]
    assert [r["status"] for r in results] == ["stored"] * 4
    assert results[3]["alerts"] == ["root-sign-in"]


def test_the_handler_drops_an_event_the_store_refuses(
    lambda_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = console_login(identity_type="Root")
    monkeypatch.setattr(DynamoDbStore, "record", _refuse(refused["eventID"]))
    result = handler.handler(eventbridge(refused), None)  # must not raise: a retry cannot help
    assert result["status"] == "malformed"
    assert handler.handler(eventbridge(console_login(minutes=1)), None)["status"] == "stored"


@pytest.fixture
def cli_table(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    _clean_environment(monkeypatch)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    name = f"unstorable-{uuid.uuid4().hex[:12]}"
    create_table(dynamodb_client_for(moto_server), name)
    return name


def _replay(table: str, records: list[dict[str, Any]], tmp_path: Path) -> int:
    trail = tmp_path / "trail.json"
    trail.write_text(json.dumps({"Records": records}), encoding="utf-8")
    return cli_main(["replay", "--json", "--no-progress", "--table", table, str(trail)])


def test_replay_on_dynamodb_stores_events_with_oversized_key_values(
    cli_table: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _replay(cli_table, _long_keys(), tmp_path) == 0
    output = capsys.readouterr()
    assert [json.loads(line)["rule"] for line in output.out.splitlines()] == ["root-sign-in"]
    assert "4 stored" in output.err


def test_replay_on_dynamodb_counts_a_refused_event_as_malformed_and_goes_on(
    cli_table: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refused = console_login(identity_type="Root", minutes=0)
    monkeypatch.setattr(DynamoDbStore, "record", _refuse(refused["eventID"]))
    monkeypatch.setattr(DynamoDbStore, "record_many", _refuse_in_bulk(refused["eventID"]))
    status = _replay(cli_table, [refused, console_login(identity_type="Root", minutes=1)], tmp_path)
    output = capsys.readouterr()
    assert len(output.out.splitlines()) == 1  # the other event's alert
    assert "1 malformed" in output.err
    assert status == 1
