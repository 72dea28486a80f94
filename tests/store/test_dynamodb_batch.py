"""``DynamoDbStore.record_many``: the bulk write path of ``replay --table`` (issue 13).

``BatchWriteItem`` cannot be conditional, so ``record_many`` reads which keys exist first
(``BatchGetItem``) and puts only the others. What is pinned here: the same items as ``record``,
True exactly for the events that were new (in order, an event given twice new once), idempotent,
few round trips, unprocessed keys and items sent again with backoff, throttling survived, a
lost response harmless, a live Lambda's ``record`` racing on the same events harmless (the
moto server of ``tests.concurrency`` and the fault proxy of ``tests.faults``), and items
DynamoDB cannot hold refused as ``record`` refuses them.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from signin_monitor.errors import StoreRetryableError, UnstorableRecordError
from signin_monitor.events import SignInEvent
from signin_monitor.store import dynamodb as dynamodb_module
from signin_monitor.store.dynamodb import DynamoDbStore
from signin_monitor.store.dynamodb_admin import create_table
from tests.concurrency import TABLE, dynamodb_client_for, moto_server, run_together
from tests.factories import activity, api_call, sign_in
from tests.faults import Fault, fault_proxy
from tests.store.conftest import TABLE_NAME
from tests.store.test_dynamodb import CallLog

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["moto_server"]  # the fixture, imported to be found

REFERENCE_TABLE = "signin-monitor-reference"


def _events(count: int, *, prefix: str = "batch") -> list[SignInEvent]:
    """Sign-ins of every stored kind (success, failure, hidden name, API call), distinct ids."""
    events: list[SignInEvent] = []
    for index in range(count):
        event_id = f"{prefix}-{index:05d}"
        match index % 4:
            case 0:
                events.append(sign_in(event_id=event_id, minutes=index))
            case 1:
                events.append(sign_in(event_id=event_id, minutes=index, result="Failure"))
            case 2:
                events.append(
                    sign_in(
                        event_id=event_id,
                        minutes=index,
                        user="HIDDEN_DUE_TO_SECURITY_REASONS",
                        result="Failure",
                    )
                )
            case _:
                events.append(activity(api_call(event_id=event_id, minutes=index)))
    return events


def _expiries(events: list[SignInEvent]) -> list[int | None]:
    """An expiry for most events, none for every third (RETENTION_DAYS=0 keeps them)."""
    return [
        None if index % 3 == 0 else int(event.event_time.timestamp()) + 86_400
        for index, event in enumerate(events)
    ]


def _items(client: DynamoDBClient, table: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every item of the table by key (a test table holds a few hundred at most)."""
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            items[(item["pk"]["S"], item["sk"]["S"])] = dict(item)
    return items


@pytest.fixture
def no_wait(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Skip the backoff sleeps; the attempts that would have waited, in order."""
    attempts: list[int] = []
    monkeypatch.setattr(dynamodb_module, "_backoff", attempts.append)
    return attempts


# --- under mock_aws -----------------------------------------------------------------------------


def test_record_many_writes_exactly_the_items_record_writes(
    dynamodb_client: DynamoDBClient,
) -> None:
    create_table(dynamodb_client, REFERENCE_TABLE)
    events = _events(60)
    expiries = _expiries(events)
    reference = DynamoDbStore(REFERENCE_TABLE, client=dynamodb_client)
    for event, expiry in zip(events, expiries, strict=True):
        assert reference.record(event, expires_at=expiry)

    new = DynamoDbStore(TABLE_NAME, client=dynamodb_client).record_many(events, expires_at=expiries)

    assert new == [True] * len(events)
    assert _items(dynamodb_client, TABLE_NAME) == _items(dynamodb_client, REFERENCE_TABLE)


def test_record_many_is_true_only_for_new_events_in_order(
    dynamodb_client: DynamoDBClient,
) -> None:
    store = DynamoDbStore(TABLE_NAME, client=dynamodb_client)
    events = _events(12)
    for index in (1, 4, 5, 11):  # an earlier (partial) replay or the Lambda stored these
        store.record(events[index], expires_at=None)
    given = [*events, events[0], events[7]]  # and two given twice

    new = store.record_many(given, expires_at=[None] * len(given))

    assert new == [index not in (1, 4, 5, 11) for index in range(12)] + [False, False]
    assert len(_items(dynamodb_client, TABLE_NAME)) == 12


def test_record_many_again_reports_every_event_stored_and_changes_nothing(
    dynamodb_client: DynamoDBClient,
) -> None:
    store = DynamoDbStore(TABLE_NAME, client=dynamodb_client)
    events = _events(30)
    store.record_many(events, expires_at=_expiries(events))
    before = _items(dynamodb_client, TABLE_NAME)

    assert store.record_many(events, expires_at=_expiries(events)) == [False] * 30
    assert store.record(events[3], expires_at=None) is False
    assert _items(dynamodb_client, TABLE_NAME) == before


def test_record_many_reads_100_keys_and_writes_25_items_per_request(
    dynamodb_client: DynamoDBClient,
) -> None:
    store = DynamoDbStore(TABLE_NAME, client=dynamodb_client)
    events = _events(230)
    store.record(events[0], expires_at=None)
    calls = CallLog(dynamodb_client)

    store.record_many(events, expires_at=[None] * 230)

    # 100 + 100 + 30 keys read; 99 + 100 + 30 items missing: 4 + 4 + 2 writes of at most 25.
    assert calls.operations == ["BatchGetItem"] + ["BatchWriteItem"] * 4 + (
        ["BatchGetItem"] + ["BatchWriteItem"] * 4 + ["BatchGetItem"] + ["BatchWriteItem"] * 2
    )
    for name, params in calls.calls:
        request = params["RequestItems"][TABLE_NAME]
        if name == "BatchGetItem":
            assert len(request["Keys"]) <= 100
            assert request["ConsistentRead"] is True
        else:
            assert len(request) <= 25
            assert all(set(entry) == {"PutRequest"} for entry in request)
    assert not any(name == "PutItem" for name in calls.operations)


def test_an_empty_batch_makes_no_call(dynamodb_client: DynamoDBClient) -> None:
    calls = CallLog(dynamodb_client)
    assert DynamoDbStore(TABLE_NAME, client=dynamodb_client).record_many([], expires_at=[]) == []
    assert calls.operations == []


def test_record_many_needs_one_expiry_per_event(dynamodb_client: DynamoDBClient) -> None:
    store = DynamoDbStore(TABLE_NAME, client=dynamodb_client)
    with pytest.raises(ValueError, match="2 events but 1 expiry"):
        store.record_many(_events(2), expires_at=[None])


class _Stingy:
    """A client that leaves part of every batch unprocessed for its first ``times`` calls.

    DynamoDB does this when a batch outruns the table's (or a partition's) capacity; moto never
    does, so the wrapper forwards only the first ``keep`` entries and hands back the rest.
    """

    def __init__(self, client: DynamoDBClient, *, times: int, keep: int = 3) -> None:
        self._client = client
        self.times = {"get": times, "write": times}
        self.keep = keep

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_get_item(self, *, RequestItems: dict[str, Any]) -> Any:  # noqa: N803 - boto3's name
        ((table, request),) = RequestItems.items()
        if self.times["get"] <= 0:
            return self._client.batch_get_item(RequestItems=RequestItems)
        self.times["get"] -= 1
        kept, rest = request["Keys"][: self.keep], request["Keys"][self.keep :]
        response: Any = {"Responses": {table: []}}
        if kept:
            narrowed: Any = {table: {**request, "Keys": kept}}
            response = self._client.batch_get_item(RequestItems=narrowed)
        if rest:
            response["UnprocessedKeys"] = {table: {**request, "Keys": rest}}
        return response

    def batch_write_item(self, *, RequestItems: dict[str, Any]) -> Any:  # noqa: N803
        ((table, request),) = RequestItems.items()
        if self.times["write"] <= 0:
            return self._client.batch_write_item(RequestItems=RequestItems)
        self.times["write"] -= 1
        kept, rest = request[: self.keep], request[self.keep :]
        response: Any = {}
        if kept:
            response = self._client.batch_write_item(RequestItems={table: kept})
        response["UnprocessedItems"] = {table: rest} if rest else {}
        return response


def test_unprocessed_keys_and_items_are_sent_again_until_done(
    dynamodb_client: DynamoDBClient, no_wait: list[int]
) -> None:
    stingy = _Stingy(dynamodb_client, times=4)
    store = DynamoDbStore(TABLE_NAME, client=stingy)  # type: ignore[arg-type]
    events = _events(40)
    store.record(events[2], expires_at=None)
    store.record(events[30], expires_at=None)

    new = store.record_many(events, expires_at=[None] * 40)

    assert new == [index not in (2, 30) for index in range(40)]
    assert len(_items(dynamodb_client, TABLE_NAME)) == 40
    assert no_wait, "a retry of unprocessed work waits first"
    assert stingy.times == {"get": 0, "write": 0}


def test_work_left_unprocessed_for_good_is_a_retryable_error(
    dynamodb_client: DynamoDBClient, no_wait: list[int]
) -> None:
    store = DynamoDbStore(
        TABLE_NAME,
        client=_Stingy(dynamodb_client, times=1000, keep=0),  # type: ignore[arg-type]
    )
    with pytest.raises(StoreRetryableError, match="unprocessed after 10 BatchGetItem"):
        store.record_many(_events(5), expires_at=[None] * 5)
    assert no_wait == list(range(1, 10))


def test_backoff_doubles_up_to_its_cap_with_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    for attempt in range(1, 10):
        dynamodb_module._backoff(attempt)
    assert waits == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]


def test_an_item_too_large_is_refused_before_any_call(dynamodb_client: DynamoDBClient) -> None:
    store = DynamoDbStore(TABLE_NAME, client=dynamodb_client)
    events = _events(3)
    events[1] = dataclasses.replace(events[1], raw={"padding": "\u4e2d" * 150_000})
    calls = CallLog(dynamodb_client)
    with pytest.raises(UnstorableRecordError, match=events[1].event_id):
        store.record_many(events, expires_at=[None] * 3)
    assert calls.operations == []


def test_text_that_is_not_unicode_is_refused_before_any_call(
    dynamodb_client: DynamoDBClient,
) -> None:
    store = DynamoDbStore(TABLE_NAME, client=dynamodb_client)
    events = _events(30)
    events[27] = dataclasses.replace(events[27], user_agent="agent \ud800")  # a lone surrogate
    calls = CallLog(dynamodb_client)
    with pytest.raises(UnstorableRecordError, match="not valid Unicode"):
        store.record_many(events, expires_at=[None] * 30)
    assert calls.operations == [], "nothing written: the caller can go one by one"


def test_a_batch_dynamodb_refuses_anyway_is_recorded_one_by_one_with_the_right_answers(
    dynamodb_client: DynamoDBClient,
) -> None:
    store = DynamoDbStore(TABLE_NAME, client=dynamodb_client)
    events = _events(80)
    store.record(events[60], expires_at=None)
    calls = CallLog(dynamodb_client)
    refuse_second_write(dynamodb_client)

    new = store.record_many(events, expires_at=[None] * 80)

    # The first 25 went in one batch; the rest, event by event, with their own answers.
    assert new == [index != 60 for index in range(80)]
    assert calls.operations[:3] == ["BatchGetItem", "BatchWriteItem", "BatchWriteItem"]
    assert calls.operations[3:] == ["PutItem"] * 55
    assert len(_items(dynamodb_client, TABLE_NAME)) == 80


def refuse_second_write(client: DynamoDBClient) -> None:
    """Make the second ``BatchWriteItem`` fail with a ``ValidationException``."""
    seen = [0]

    def refuse(**_: Any) -> None:
        seen[0] += 1
        if seen[0] == 2:
            response: Any = {
                "Error": {"Code": "ValidationException", "Message": "injected"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
            raise ClientError(response, "BatchWriteItem")

    client.meta.events.register("before-call.dynamodb.BatchWriteItem", refuse)


# --- over HTTP: a moto server, a fault proxy, a live Lambda -------------------------------------


@pytest.fixture
def server_table(moto_server: str) -> Iterator[str]:
    """The shared server's table, emptied after the test (other modules share the server)."""
    yield moto_server
    client = dynamodb_client_for(moto_server)
    for key in _items(client, TABLE):
        client.delete_item(TableName=TABLE, Key={"pk": {"S": key[0]}, "sk": {"S": key[1]}})


def _client(url: str, *, attempts: int) -> DynamoDBClient:
    """A server client with ``attempts`` tries per call (1: every fault reaches our loop)."""
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )


def test_throttled_and_lost_batches_still_store_each_event_once_and_say_so(
    server_table: str, no_wait: list[int]
) -> None:
    with fault_proxy(server_table) as proxy:
        # Throttled outright (nothing applied), twice each; then a write applied whose answer
        # is lost (botocore is told not to retry: record_many's own loop sends it again).
        proxy.add(Fault("BatchGetItem", nth=frozenset({1, 2}), mode="throttle", forward=False))
        proxy.add(Fault("BatchWriteItem", nth=frozenset({1, 3}), mode="throttle", forward=False))
        # (A fault counts only the requests the ones before it let through: 2 = the 4th.)
        proxy.add(Fault("BatchWriteItem", nth=frozenset({2}), mode="500", forward=True))
        store = DynamoDbStore(TABLE, client=_client(proxy.url, attempts=1))
        events = _events(60, prefix="faults")

        new = store.record_many(events, expires_at=_expiries(events))

        injected = [(fault.operation, fault.mode) for fault in proxy.injected]
    assert ("BatchWriteItem", "500") in injected
    assert injected.count(("BatchGetItem", "throttle")) == 2
    assert new == [True] * 60
    items = _items(dynamodb_client_for(server_table), TABLE)
    assert len(items) == 60
    assert store.record_many(events, expires_at=_expiries(events)) == [False] * 60


def test_a_live_lambda_recording_the_same_events_meanwhile_is_harmless(
    server_table: str,
) -> None:
    """The Lambda's conditional put may land between our read and our write: same item."""
    events = _events(150, prefix="race")
    expiries = _expiries(events)
    replay = DynamoDbStore(TABLE, client=_client(server_table, attempts=3))
    live = DynamoDbStore(TABLE, client=_client(server_table, attempts=3))

    def lambda_deliveries() -> list[bool]:
        return [
            live.record(event, expires_at=expiry)
            for event, expiry in zip(events, expiries, strict=True)
        ]

    def backfill() -> list[bool]:
        return replay.record_many(events, expires_at=expiries)

    first, second = run_together([lambda_deliveries, backfill])

    assert all(a or b for a, b in zip(first, second, strict=True)), "every event new to someone"
    items = _items(dynamodb_client_for(server_table), TABLE)
    assert len(items) == 150
    expected = [
        dynamodb_module._item_from_event(e, x) for e, x in zip(events, expiries, strict=True)
    ]
    assert sorted(items.values(), key=lambda item: item["sk"]["S"]) == sorted(
        expected, key=lambda item: item["sk"]["S"]
    )
