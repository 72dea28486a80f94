"""Items any store accepts (issue 10 point 4): keys bounded in bytes, the rest refused cleanly.

DynamoDB limits bytes, not characters: 400 KB per item, 2,048 bytes per partition key and 1,024
per sort key, on the table and on every index. Every key part is bounded in ``schema``; what a
store still cannot hold (an item over 400 KB, text that is not Unicode, anything DynamoDB answers
with ``ValidationException``) is ``UnstorableRecordError``: a ``MalformedRecordError`` (dropped,
counted malformed), never a ``StoreError`` (so never retried, never a store alarm). SQLite
refuses the same items, so a local replay predicts what the Lambda drops.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from signin_monitor.errors import MalformedRecordError, StoreError, UnstorableRecordError
from signin_monitor.events import SignInEvent
from signin_monitor.store import ActivityStore, HistoryQuery, schema
from signin_monitor.store import dynamodb as dynamodb_module
from signin_monitor.store.dynamodb import DynamoDbStore
from tests.factories import BASE_TIME, sign_in
from tests.store.conftest import TABLE_NAME

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

PARTITION_KEY_LIMIT = 2048
SORT_KEY_LIMIT = 1024

#: The hostile inputs of issue 10, as the parser hands them to the store.
HOSTILE: dict[str, Callable[[], SignInEvent]] = {
    "90k CJK user agent": lambda: sign_in(user_agent="\u4e2d" * 90_000),
    "60k emoji user name": lambda: sign_in(user="\U0001f600" * 60_000),
    "3000-character account id": lambda: sign_in(account="1" * 3000),
    "3000-character source IP": lambda: sign_in(source_ip="9" * 3000),
    "3000 # in a user name": lambda: sign_in(user="#" * 3000),
}


def _too_large() -> SignInEvent:
    """An event whose raw record alone is over 400 KB, however the parser bounds fields."""
    return dataclasses.replace(sign_in(), raw={"padding": "\u4e2d" * 150_000})


@pytest.mark.parametrize("name", HOSTILE)
def test_every_key_of_every_item_fits_its_limit(name: str) -> None:
    event = HOSTILE[name]()
    item = dynamodb_module._item_from_event(event, None)
    for attribute in ("pk", "account_day", "source_ip_key", "principal_key"):
        assert len(item[attribute]["S"].encode()) <= PARTITION_KEY_LIMIT, attribute
    for attribute in ("sk", "time_sk"):
        assert len(item[attribute]["S"].encode()) <= SORT_KEY_LIMIT, attribute
    # a windowed alert's claim (account and principal) fits too
    claim = schema.alert_pk(
        "repeated-failed-sign-ins", schema.alert_scope(event.account_id, event.principal)
    )
    assert len(claim.encode()) <= PARTITION_KEY_LIMIT


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_input_is_stored_or_refused_as_unstorable(store: ActivityStore, name: str) -> None:
    # Stored when the parser bounded it enough, else refused for good; nothing else.
    event = HOSTILE[name]()
    try:
        assert store.record(event, expires_at=None) is True
    except UnstorableRecordError:
        return
    (found,) = store.history(HistoryQuery(source_ip=event.source_ip))
    assert found.event_id == event.event_id


@pytest.mark.parametrize(
    ("field", "value"), [("account_id", "1" * 3000), ("source_ip", "9" * 3000)]
)
def test_long_key_values_are_stored_and_found_again(
    store: ActivityStore, field: str, value: str
) -> None:
    changes: dict[str, Any] = {field: value}
    event = dataclasses.replace(sign_in(result="Failure"), **changes)
    assert store.record(event, expires_at=None) is True
    assert store.record(event, expires_at=None) is False
    after = event.event_time - timedelta(hours=1)
    count = store.count_failures(
        event.account_id, event.principal, after=after, until=event.event_time
    )
    assert count == 1
    by_ip = list(store.history(HistoryQuery(source_ip=event.source_ip)))
    by_account = list(store.history(HistoryQuery(account_id=event.account_id, since=BASE_TIME)))
    assert [e.event_id for e in by_ip] == [e.event_id for e in by_account] == [event.event_id]
    assert getattr(by_ip[0], field) == value  # the stored field is whole; only its key is cut


def test_an_item_over_400_kb_is_unstorable_on_every_store(store: ActivityStore) -> None:
    with pytest.raises(UnstorableRecordError, match="cannot be stored") as raised:
        store.record(_too_large(), expires_at=None)
    assert isinstance(raised.value, MalformedRecordError)
    assert not isinstance(raised.value, StoreError)
    assert store.record(sign_in(), expires_at=None) is True  # the store goes on


def test_text_that_is_not_unicode_is_unstorable_on_every_store(store: ActivityStore) -> None:
    event = dataclasses.replace(sign_in(), user_agent="agent \ud800")
    with pytest.raises(UnstorableRecordError, match="not valid Unicode"):
        store.record(event, expires_at=None)
    assert store.record(sign_in(), expires_at=None) is True


def test_a_validation_exception_on_record_is_unstorable(dynamodb_client: DynamoDBClient) -> None:
    # Whatever DynamoDB refuses for the item's content (a limit this code does not know).
    def refuse(**_: Any) -> None:
        response: Any = {
            "Error": {"Code": "ValidationException", "Message": "Item size has exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        raise ClientError(response, "PutItem")

    dynamodb_client.meta.events.register("before-call.dynamodb.PutItem", refuse)
    with pytest.raises(UnstorableRecordError, match="Item size has exceeded"):
        DynamoDbStore(TABLE_NAME, client=dynamodb_client).record(sign_in(), expires_at=None)


def test_item_size_counts_names_and_utf8_bytes() -> None:
    assert schema.item_size({"ab": "\u4e2d", "n": 12, "gone": None}) == 2 + 3 + 1 + 2
