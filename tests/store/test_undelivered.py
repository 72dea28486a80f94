"""Undelivered alerts for ``signin-monitor resend``: the store side of the contract, both stores.

``mark_alert(FAILED, payload=...)`` keeps the refused message; ``undelivered_alerts`` lists them
oldest first; ``claim_resend`` takes one atomically (failed -> pending, leased); ``finish_resend``
SENT marks it sent and drops it from the list, FAILED keeps it for the next resend.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signin_monitor.store import ActivityStore, ClaimOutcome, ClaimStatus
from signin_monitor.store.base import UndeliveredAlert
from signin_monitor.store.dynamodb import DynamoDbStore
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import one_off_alert, sign_in, windowed_alert
from tests.store.conftest import LEASE_SECONDS, TABLE_NAME, FakeClock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

PAYLOAD: dict[str, Any] = {"text": "Root sign-in \u2603", "blocks": [{"type": "section"}]}


def _failed(store: ActivityStore, minutes: float = 0, *, reason: str = "no_service") -> Any:
    alert = one_off_alert(sign_in(identity_type="Root", minutes=minutes))
    assert store.claim_alert(alert) is ClaimOutcome.CLAIMED
    store.mark_alert(alert, ClaimStatus.FAILED, payload={**PAYLOAD, "n": minutes}, reason=reason)
    return alert


def _only(store: ActivityStore) -> UndeliveredAlert:
    (undelivered,) = store.undelivered_alerts()
    return undelivered


def test_a_failed_alert_with_its_payload_is_listed(store: ActivityStore) -> None:
    alert = _failed(store)
    assert list(store.undelivered_alerts()) == [
        UndeliveredAlert(
            rule_id=alert.rule_id,
            scope=alert.scope,
            event_id=alert.event.event_id,
            event_time=alert.event.event_time,
            payload={**PAYLOAD, "n": 0},
            reason="no_service",
        )
    ]


def test_only_failed_alerts_with_a_payload_are_listed(store: ActivityStore) -> None:
    sent = one_off_alert(sign_in(identity_type="Root", minutes=1))
    store.claim_alert(sent)
    store.mark_alert(sent, ClaimStatus.SENT)
    no_payload = one_off_alert(sign_in(identity_type="Root", minutes=2))
    store.claim_alert(no_payload)
    store.mark_alert(no_payload, ClaimStatus.FAILED)
    assert list(store.undelivered_alerts()) == []


def test_undelivered_alerts_are_listed_oldest_first_and_once(store: ActivityStore) -> None:
    alerts = [_failed(store, minutes) for minutes in (30, 10, 20)]
    store.mark_alert(alerts[0], ClaimStatus.FAILED, payload=PAYLOAD)  # a retried mark
    listed = [u.event_id for u in store.undelivered_alerts()]
    assert listed == [a.event.event_id for a in sorted(alerts, key=lambda a: a.event.event_time)]


def test_a_resend_is_taken_once_within_its_lease(store: ActivityStore, clock: FakeClock) -> None:
    _failed(store)
    undelivered = _only(store)
    assert store.claim_resend(undelivered) is True
    assert store.claim_resend(undelivered) is False  # another resend running
    # a resend that crashed is taken again once its lease is over
    clock.advance(LEASE_SECONDS + 1)
    assert store.claim_resend(undelivered) is True


def test_a_resend_holds_off_a_lambda_retry_of_the_same_event(store: ActivityStore) -> None:
    alert = _failed(store)
    assert store.claim_resend(_only(store)) is True
    assert store.claim_alert(alert).should_send is False


def test_a_sent_resend_leaves_the_list_and_the_claim_is_sent(store: ActivityStore) -> None:
    alert = _failed(store)
    undelivered = _only(store)
    assert store.claim_resend(undelivered) is True
    store.finish_resend(undelivered, ClaimStatus.SENT)
    assert list(store.undelivered_alerts()) == []
    assert store.claim_resend(undelivered) is False
    assert store.claim_alert(alert) is ClaimOutcome.SUPPRESSED  # sent: never posted again


def test_a_failed_resend_stays_listed_with_the_new_reason(store: ActivityStore) -> None:
    _failed(store)
    undelivered = _only(store)
    assert store.claim_resend(undelivered) is True
    store.finish_resend(undelivered, ClaimStatus.FAILED, reason="channel_is_archived")
    again = _only(store)
    assert again.reason == "channel_is_archived"
    assert store.claim_resend(again) is True  # the next resend may try at once


def test_a_marker_whose_alert_was_delivered_meanwhile_is_dropped(store: ActivityStore) -> None:
    # (a crash between writing the marker and the status; the event's retry then posted it)
    alert = _failed(store)
    store.mark_alert(alert, ClaimStatus.SENT)
    assert store.claim_resend(_only(store)) is False
    assert list(store.undelivered_alerts()) == []


def test_a_failed_windowed_alert_stays_resendable_after_a_later_window_alerts(
    store: ActivityStore,
) -> None:
    # Windowed claims live in time slots: a later window's alert has a claim of its own and
    # never takes over the failed one's, so the failed alert is still posted by resend.
    first = windowed_alert(sign_in(result="Failure", minutes=0))
    store.claim_alert(first)
    store.mark_alert(first, ClaimStatus.FAILED, payload=PAYLOAD)
    later = windowed_alert(sign_in(result="Failure", minutes=120))
    assert store.claim_alert(later) is ClaimOutcome.CLAIMED  # a new window
    undelivered = _only(store)
    assert undelivered.scope == first.claim_key[1]
    assert store.claim_resend(undelivered) is True
    store.finish_resend(undelivered, ClaimStatus.SENT)
    assert list(store.undelivered_alerts()) == []


def test_dynamodb_lists_with_one_query_and_the_lambda_never_deletes(
    dynamodb_client: DynamoDBClient, clock: FakeClock
) -> None:
    store = DynamoDbStore(TABLE_NAME, client=dynamodb_client, clock=clock)
    calls: list[str] = []
    dynamodb_client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    _failed(store)
    # the Lambda's path: claim, then marker and status
    assert calls == ["PutItem", "PutItem", "UpdateItem"]
    calls.clear()
    undelivered = _only(store)
    assert store.claim_resend(undelivered) is True
    store.finish_resend(undelivered, ClaimStatus.SENT)
    # resend (command line only): Query, UpdateItem (claim), UpdateItem (sent), DeleteItem
    assert calls == ["Query", "UpdateItem", "UpdateItem", "DeleteItem"]


def test_a_sqlite_file_of_the_previous_release_gains_the_undelivered_list(
    tmp_path: Path, clock: FakeClock
) -> None:
    # GIVEN a file whose claim table predates tokens and undelivered alerts
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE alert_claims (pk TEXT PRIMARY KEY, rule_id TEXT NOT NULL,"
            " event_id TEXT NOT NULL, event_time TEXT NOT NULL, status TEXT NOT NULL,"
            " claimed_at REAL NOT NULL) WITHOUT ROWID"
        )
    old.close()
    # WHEN this release opens it (twice: the upgrade runs once)
    SqliteStore(path, clock=clock).close()
    store = SqliteStore(path, clock=clock)
    # THEN claims and the undelivered list work on it
    _failed(store)
    assert store.claim_resend(_only(store)) is True
    store.close()
