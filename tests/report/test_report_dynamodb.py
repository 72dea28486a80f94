"""The report on DynamoDB (moto): account queries, and alerts from the sparse by-alert-day index.

The test table is ``create-table``'s plus the ``by-alert-day`` index the lead adds to
``schema.TABLE_SCHEMA``; claims get the index attributes the claim writers will add
(``alert_index.alert_index_attributes``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from signin_monitor.app import CollectingNotifier, build_pipeline
from signin_monitor.config import Settings
from signin_monitor.events import parse_record
from signin_monitor.report.sources import DynamoDbSource, Period
from signin_monitor.store import alert_index
from signin_monitor.store.dynamodb import DynamoDbStore
from signin_monitor.store.dynamodb_admin import table_definition
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import ACCOUNT, OTHER_ACCOUNT
from tests.report.support import SINCE, UNTIL, mixed_day_records, run_report

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

TABLE = "signin-monitor-report-test"


def _with_alert_index(table: str) -> dict[str, Any]:
    definition = table_definition(table)
    if any(
        i["IndexName"] == alert_index.BY_ALERT_DAY for i in definition["GlobalSecondaryIndexes"]
    ):
        return definition  # schema.TABLE_SCHEMA has it (after the merge)
    definition["AttributeDefinitions"].append(
        {"AttributeName": alert_index.ALERT_DAY_ATTRIBUTE, "AttributeType": "S"}
    )
    definition["GlobalSecondaryIndexes"].append(
        {
            "IndexName": alert_index.BY_ALERT_DAY,
            "KeySchema": [
                {"AttributeName": alert_index.ALERT_DAY_ATTRIBUTE, "KeyType": "HASH"},
                {"AttributeName": "time_sk", "KeyType": "RANGE"},
            ],
            "Projection": {
                "ProjectionType": "INCLUDE",
                "NonKeyAttributes": list(alert_index.ALERT_INDEX_ATTRIBUTES),
            },
        }
    )
    return definition


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDBClient]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(**_with_alert_index(TABLE))
        yield dynamodb


def _index_claims(client: DynamoDBClient) -> int:
    """Give every claim item the by-alert-day attributes, as the claim writers will."""
    count = 0
    for page in client.get_paginator("scan").paginate(TableName=TABLE):  # test-only scan
        for item in page["Items"]:
            if item["sk"]["S"] != "ALERT":
                continue
            attributes = alert_index.alert_index_attributes(
                item["event_time"]["S"], item["event_id"]["S"]
            )
            client.update_item(
                TableName=TABLE,
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression="SET alert_day = :day, time_sk = :sk",
                ExpressionAttributeValues={
                    ":day": {"S": attributes["alert_day"]},
                    ":sk": {"S": attributes["time_sk"]},
                },
            )
            count += 1
    return count


def _replay(store: Any, records: list[dict[str, Any]]) -> None:
    pipeline = build_pipeline(Settings.from_env({}), store=store, notifier=CollectingNotifier())
    events = sorted((parse_record(r) for r in records), key=lambda e: (e.event_time, e.event_id))
    for event in events:
        pipeline.process(event)


def test_the_alert_index_keys_are_the_day_and_the_time_order() -> None:
    attributes = alert_index.alert_index_attributes("2026-11-02T08:01:00Z", "e-1")
    assert attributes == {"alert_day": "ALERTS#2026-11-02", "time_sk": "2026-11-02T08:01:00Z#e-1"}


def test_a_dynamodb_report_equals_the_sqlite_report_of_the_same_events(
    client: DynamoDBClient, tmp_path: Path
) -> None:
    # GIVEN the same mixed day processed into DynamoDB (claims indexed) and into SQLite
    records = mixed_day_records()
    _replay(DynamoDbStore(TABLE, client=client), records)
    assert _index_claims(client) > 0
    sqlite = SqliteStore(tmp_path / "same.db")
    _replay(sqlite, records)
    sqlite.close()
    accounts = ["--account", ACCOUNT, "--account", OTHER_ACCOUNT]
    period = ["--since", SINCE, "--until", UNTIL, "--no-progress"]
    # WHEN both reports are built
    assert run_report(["--table", TABLE, *accounts, *period, "--out", str(tmp_path / "d")]) == 0
    assert (
        run_report(
            ["--db", str(tmp_path / "same.db"), *accounts, *period, "--out", str(tmp_path / "s")]
        )
        == 0
    )
    # THEN events and alerts are the same files, and the manifest names the table
    for name in ("events.jsonl", "events.csv", "alerts.csv"):
        assert (tmp_path / "d" / name).read_text() == (tmp_path / "s" / name).read_text(), name
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert manifest["store"] == {"kind": "dynamodb", "table": TABLE}
    assert manifest["counts"]["alerts"] > 0


def test_alerts_are_read_day_by_day_within_the_period_bounds(client: DynamoDBClient) -> None:
    # GIVEN claims just before, at the start, inside, at the end and after a two-day period
    times = [
        "2026-11-01T23:59:59Z",
        "2026-11-02T00:00:00Z",
        "2026-11-02T12:00:00Z",
        "2026-11-03T23:59:59Z",
        "2026-11-04T00:00:00Z",
    ]
    for i, moment in enumerate(times):
        item = {
            "pk": {"S": f"ALERT#root-sign-in#e{i}"},
            "sk": {"S": "ALERT"},
            "rule_id": {"S": "root-sign-in"},
            "event_id": {"S": f"e{i}"},
            "event_time": {"S": moment},
            "status": {"S": "failed" if i == 2 else "sent"},
            "claimed_at": {"N": "0"},
        }
        item.update(
            {k: {"S": v} for k, v in alert_index.alert_index_attributes(moment, f"e{i}").items()}
        )
        client.put_item(TableName=TABLE, Item=item)
    period = Period(
        since=datetime(2026, 11, 2, tzinfo=UTC),
        until=datetime(2026, 11, 3, 23, 59, 59, tzinfo=UTC),
        accounts=(ACCOUNT,),
    )
    # WHEN the source lists the period's alerts
    alerts = list(DynamoDbSource(TABLE, period, client=client).alerts())
    # THEN exactly the three inside, oldest first, with scope and status
    assert [a.event_id for a in alerts] == ["e1", "e2", "e3"]
    assert [a.status for a in alerts] == ["sent", "failed", "sent"]
    assert {a.scope for a in alerts} == {"e1", "e2", "e3"}


def test_a_dynamodb_source_without_an_account_is_refused() -> None:
    period = Period(
        since=datetime(2026, 11, 2, tzinfo=UTC), until=datetime(2026, 11, 3, tzinfo=UTC)
    )
    with pytest.raises(ValueError, match="needs --account"):
        DynamoDbSource(TABLE, period, client=None)


def test_the_schema_index_matches_alert_index_once_merged() -> None:
    # GIVEN schema.TABLE_SCHEMA (the lead adds by-alert-day at merge)
    from signin_monitor.store import schema

    indexes = {index["name"]: index for index in schema.TABLE_SCHEMA["indexes"]}
    if alert_index.BY_ALERT_DAY not in indexes:
        pytest.skip("by-alert-day is not in schema.TABLE_SCHEMA yet (added when merged)")
    index = indexes[alert_index.BY_ALERT_DAY]
    # THEN its keys and projection are the ones alert_index builds and the report reads
    assert (index["hash_key"], index["range_key"]) == (alert_index.ALERT_DAY_ATTRIBUTE, "time_sk")
    assert index["non_key_attributes"] == alert_index.ALERT_INDEX_ATTRIBUTES
