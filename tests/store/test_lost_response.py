"""DynamoDB applied the write, the response was lost: the store must still know what it did.

A ``FaultProxy`` (tests/faults.py) sits between the store's client and a moto server; it lets
moto apply a chosen request and then answers 500 or resets the connection, so botocore retries
and the retry meets the store's own write. Also pinned here: 5xx and throttling answers are
``StoreRetryableError`` (the Lambda retries the event), whatever the operation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from botocore.retries.standard import ExponentialBackoff

from signin_monitor.errors import StoreRetryableError
from signin_monitor.store import ClaimOutcome, ClaimStatus, HistoryQuery, schema
from signin_monitor.store.dynamodb import DynamoDbStore
from signin_monitor.store.dynamodb_admin import create_table
from tests.concurrency import dynamodb_client_for
from tests.factories import ACCOUNT, one_off_alert, sign_in, windowed_alert
from tests.faults import Fault, FaultProxy, fault_proxy

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

MODES = ["500", "reset"]


@pytest.fixture
def proxy(moto_server: str) -> Iterator[FaultProxy]:
    with fault_proxy(moto_server) as running:
        yield running


@pytest.fixture
def table(moto_server: str) -> str:
    """A fresh table on the shared moto server (tests stay independent)."""
    name = f"lost-{uuid.uuid4().hex[:12]}"
    create_table(dynamodb_client_for(moto_server), name)
    return name


def _client(url: str) -> DynamoDBClient:
    """Retries as the Lambda's own client makes them (standard mode, 3 attempts)."""
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 3}),
    )


@pytest.fixture
def store(proxy: FaultProxy, table: str) -> DynamoDbStore:
    return DynamoDbStore(table, client=_client(proxy.url))


@pytest.mark.parametrize("mode", MODES)
def test_a_claim_whose_response_was_lost_is_still_ours(
    store: DynamoDbStore, proxy: FaultProxy, mode: str
) -> None:
    # GIVEN the answer to the first claim put is lost after moto applied it
    proxy.add(Fault("PutItem", '"ALERT#', nth=frozenset({1}), mode=mode))  # type: ignore[arg-type]
    alert = one_off_alert(sign_in(identity_type="Root"))
    # WHEN the store claims the alert (botocore retries; the retry fails its condition)
    outcome = store.claim_alert(alert)
    # THEN the store recognises its own token: the alert is claimed, and only once
    assert len(proxy.injected) == 1
    assert outcome.should_send
    assert store.claim_alert(alert) is ClaimOutcome.BUSY  # another delivery, same event, leased


@pytest.mark.parametrize("mode", MODES)
def test_a_lost_response_to_a_windowed_claim_is_still_ours(
    store: DynamoDbStore, proxy: FaultProxy, mode: str
) -> None:
    # A windowed claim is one transaction over three time slots (see DynamoDbStore.claim_window).
    fault = Fault("TransactWriteItems", '"ALERT#', nth=frozenset({1}), mode=mode)  # type: ignore[arg-type]
    proxy.add(fault)
    alert = windowed_alert(sign_in(result="Failure"))
    assert store.claim_alert(alert).should_send
    assert len(proxy.injected) == 1
    later = windowed_alert(sign_in(result="Failure", minutes=5))
    assert store.claim_alert(later) is ClaimOutcome.SUPPRESSED  # still inside the window


def test_a_lost_response_to_a_retry_claim_is_still_ours(
    store: DynamoDbStore, proxy: FaultProxy
) -> None:
    # GIVEN a claim whose post failed transiently (released), claimed again with a lost answer
    alert = one_off_alert(sign_in(identity_type="Root"))
    assert store.claim_alert(alert) is ClaimOutcome.CLAIMED
    store.mark_alert(alert, ClaimStatus.PENDING)
    proxy.add(Fault("PutItem", '"ALERT#', nth=frozenset({1})))
    # THEN the retry owns the delivery
    assert store.claim_alert(alert).should_send
    assert len(proxy.injected) == 1


def test_a_claim_held_by_another_delivery_stays_suppressed_under_faults(
    store: DynamoDbStore, proxy: FaultProxy
) -> None:
    # A token is per attempt: another delivery's pending claim is never taken for ours.
    alert = one_off_alert(sign_in(identity_type="Root"))
    assert store.claim_alert(alert) is ClaimOutcome.CLAIMED
    proxy.add(Fault("PutItem", '"ALERT#', every=True, forward=True))
    with pytest.raises(StoreRetryableError):  # every attempt's answer lost: 500 after retries
        store.claim_alert(alert)
    proxy.clear()
    assert store.claim_alert(alert) is ClaimOutcome.BUSY  # the first delivery still holds it


@pytest.mark.parametrize("mode", MODES)
def test_a_lost_record_response_is_a_duplicate_stored_once(
    store: DynamoDbStore, proxy: FaultProxy, mode: str
) -> None:
    proxy.add(Fault("PutItem", '"ACCOUNT#', nth=frozenset({1}), mode=mode))  # type: ignore[arg-type]
    event = sign_in(result="Failure")
    # the retry finds the item: "already stored" (the rules still run), counted once
    assert store.record(event, expires_at=None) is False
    assert len(proxy.injected) == 1
    window = (event.event_time - timedelta(minutes=60), event.event_time)
    assert store.count_failures(ACCOUNT, "alice", after=window[0], until=window[1]) == 1
    assert [e.event_id for e in store.history(HistoryQuery(principal="alice"))] == [event.event_id]


@pytest.mark.parametrize("mode", MODES)
def test_a_lost_mark_response_is_harmless(
    store: DynamoDbStore, proxy: FaultProxy, table: str, mode: str
) -> None:
    alert = one_off_alert(sign_in(identity_type="Root"))
    assert store.claim_alert(alert) is ClaimOutcome.CLAIMED
    proxy.add(Fault("UpdateItem", '"ALERT#', nth=frozenset({1}), mode=mode))  # type: ignore[arg-type]
    store.mark_alert(alert, ClaimStatus.SENT)  # the retry applies the same update again
    assert len(proxy.injected) == 1
    item = store._client.get_item(
        TableName=table,
        Key={"pk": {"S": schema.alert_pk(*alert.claim_key)}, "sk": {"S": schema.ALERT_SK}},
    )["Item"]
    assert item["status"]["S"] == "sent"


def test_a_lost_resend_claim_response_is_still_ours(
    store: DynamoDbStore, proxy: FaultProxy
) -> None:
    alert = one_off_alert(sign_in(identity_type="Root"))
    store.claim_alert(alert)
    store.mark_alert(alert, ClaimStatus.FAILED, payload={"text": "x"}, reason="hook gone")
    (undelivered,) = store.undelivered_alerts()
    proxy.add(Fault("UpdateItem", '"ALERT#', nth=frozenset({1})))
    assert store.claim_resend(undelivered) is True
    assert len(proxy.injected) == 1
    assert store.claim_resend(undelivered) is False


@pytest.mark.parametrize("mode", ["500", "503", "throttle"])
def test_5xx_and_throttling_answers_are_retryable_for_every_operation(
    store: DynamoDbStore, proxy: FaultProxy, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # botocore waits about a second between throttled attempts; the count is what matters here
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda _self, _context: 0)
    # GIVEN DynamoDB answers every request with the error, without applying anything
    proxy.add(Fault("PutItem", every=True, mode=mode, forward=False))  # type: ignore[arg-type]
    proxy.add(Fault("Query", every=True, mode=mode, forward=False))  # type: ignore[arg-type]
    proxy.add(Fault("UpdateItem", every=True, mode=mode, forward=False))  # type: ignore[arg-type]
    event = sign_in(result="Failure")
    alert = one_off_alert(event)
    # THEN each operation, once botocore's own retries are spent, says "retry the event"
    with pytest.raises(StoreRetryableError, match="record failed"):
        store.record(event, expires_at=None)
    with pytest.raises(StoreRetryableError, match="count_failures failed"):
        store.count_failures(ACCOUNT, "alice", after=event.event_time, until=event.event_time)
    with pytest.raises(StoreRetryableError, match="claim_alert failed"):
        store.claim_alert(alert)
    with pytest.raises(StoreRetryableError, match="mark_alert failed"):
        store.mark_alert(alert, ClaimStatus.SENT)
    with pytest.raises(StoreRetryableError, match="history failed"):
        list(store.history(HistoryQuery(principal="alice")))
    # AND a retry once DynamoDB recovers stores the event once
    proxy.clear()
    assert store.record(event, expires_at=None) is True
