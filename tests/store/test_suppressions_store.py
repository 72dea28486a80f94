"""Store contract: suppressions are added, listed and removed the same way on both stores."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from signin_monitor.store import ActivityStore, ClaimOutcome, ClaimStatus, HistoryQuery
from signin_monitor.suppressions import Suppression, SuppressionKeeper, new_suppression
from tests.factories import ACCOUNT, BASE_TIME, one_off_alert, sign_in, windowed_alert
from tests.store.conftest import TABLE_NAME


def _keeper(store: ActivityStore) -> SuppressionKeeper:
    assert isinstance(store, SuppressionKeeper)
    return store


def _suppression(suppression_id: str, **overrides: Any) -> Suppression:
    fields: dict[str, Any] = {
        "rule": "root-sign-in",
        "principal": "root",
        "reason": "planned <!channel> test & more",
        "author": "alice\x1b[2J",
        "valid_from": BASE_TIME,
        "until": BASE_TIME + timedelta(hours=2),
        "now": BASE_TIME - timedelta(minutes=5),
        "suppression_id": suppression_id,
    }
    fields.update(overrides)
    return new_suppression(**fields)


def test_a_suppression_is_listed_as_it_was_added(store: ActivityStore) -> None:
    # GIVEN a suppression with every scope and hostile text
    keeper = _keeper(store)
    full = _suppression("sup-full", rule="all", account_id=ACCOUNT, source_cidr="198.51.100.0/24")
    # WHEN it is added and listed THEN it comes back field for field
    assert keeper.add_suppression(full, expires_at=2_000_000_000)
    assert keeper.suppressions() == [full]


def test_only_the_scopes_given_are_kept(store: ActivityStore) -> None:
    keeper = _keeper(store)
    network = _suppression("sup-net", principal=None, source_cidr="2001:db8::/48")
    keeper.add_suppression(network)
    [listed] = keeper.suppressions()
    assert (listed.principal, listed.account_id, listed.source_cidr) == (
        None,
        None,
        "2001:db8::/48",
    )


def test_suppressions_are_listed_by_id_expired_ones_too(store: ActivityStore) -> None:
    keeper = _keeper(store)
    expired = _suppression("sup-b", until=BASE_TIME + timedelta(seconds=1))
    active = _suppression("sup-a", until=BASE_TIME + timedelta(days=90))
    keeper.add_suppression(expired)
    keeper.add_suppression(active)
    assert [s.id for s in keeper.suppressions()] == ["sup-a", "sup-b"]


def test_an_id_already_stored_is_refused_and_the_first_kept(store: ActivityStore) -> None:
    keeper = _keeper(store)
    first = _suppression("sup-same")
    assert keeper.add_suppression(first)
    assert not keeper.add_suppression(_suppression("sup-same", reason="another"))
    assert keeper.suppressions() == [first]


def test_remove_deletes_one_and_says_whether_it_was_there(store: ActivityStore) -> None:
    keeper = _keeper(store)
    keeper.add_suppression(_suppression("sup-keep"))
    keeper.add_suppression(_suppression("sup-gone"))
    assert keeper.remove_suppression("sup-gone")
    assert not keeper.remove_suppression("sup-gone")
    assert not keeper.remove_suppression("sup-never")
    assert [s.id for s in keeper.suppressions()] == ["sup-keep"]


def test_an_empty_store_lists_none(store: ActivityStore) -> None:
    assert _keeper(store).suppressions() == []


def test_suppressions_never_show_in_audit_reads(store: ActivityStore) -> None:
    # GIVEN a suppression scoped to root's account and an event of root there
    keeper = _keeper(store)
    keeper.add_suppression(_suppression("sup-a", account_id=ACCOUNT))
    event = sign_in(identity_type="Root")
    store.record(event, expires_at=None)
    # THEN history still lists only the event
    for query in (
        HistoryQuery(account_id=ACCOUNT, since=BASE_TIME - timedelta(days=1)),
        HistoryQuery(principal="root", account_id=ACCOUNT),
    ):
        assert [e.event_id for e in store.history(query)] == [event.event_id]


@pytest.mark.parametrize("windowed", [False, True])
def test_a_suppressed_claim_keeps_its_reason_and_covers_what_a_sent_one_covers(
    store: ActivityStore, windowed: bool
) -> None:
    # GIVEN an alert claimed and marked suppressed by sup-1
    event = sign_in(identity_type="Root", result="Failure", mfa="No")
    alert = windowed_alert(event) if windowed else one_off_alert(event)
    claim = store.claim_window(alert)[1] if windowed else store.claim_alert(alert)
    assert claim is ClaimOutcome.CLAIMED
    store.mark_alert(alert, ClaimStatus.SUPPRESSED, reason="sup-1")
    # WHEN the same alert (a redelivery) or, windowed, a later one in the window is claimed
    again = (
        store.claim_window(windowed_alert(_root_failure(minutes=10)))[1]
        if windowed
        else store.claim_alert(alert)
    )
    # THEN it is refused, as after a sent one
    assert again is ClaimOutcome.SUPPRESSED
    assert _claim_reason(store, alert) == ("suppressed", "sup-1")


def _root_failure(*, minutes: float) -> Any:
    return sign_in(identity_type="Root", result="Failure", mfa="No", minutes=minutes)


def _claim_reason(store: ActivityStore, alert: Any) -> tuple[str, str | None]:
    """The stored claim's status and reason, read the way the report reads them."""
    from signin_monitor.store import schema
    from signin_monitor.store.dynamodb import DynamoDbStore
    from signin_monitor.store.sqlite import SqliteStore

    key = schema.alert_pk(*alert.claim_key)
    if isinstance(store, SqliteStore):
        row = store._db.execute(
            "SELECT status, reason FROM alert_claims WHERE pk = ?", (key,)
        ).fetchone()
        return row[0], row[1]
    assert isinstance(store, DynamoDbStore)
    item = store._client.get_item(
        TableName=store.table_name, Key={"pk": {"S": key}, "sk": {"S": schema.ALERT_SK}}
    )["Item"]
    return item["status"]["S"], item.get("reason", {}).get("S")


def test_dynamodb_lists_them_with_one_consistent_query_of_their_partition(
    dynamodb_client: Any,
) -> None:
    # GIVEN the table's suppressions partition, and a hook that sees every request's parameters
    from signin_monitor.store.dynamodb import DynamoDbStore
    from signin_monitor.store.suppressions_dynamodb import SUPPRESSIONS_PK

    store = DynamoDbStore(TABLE_NAME, client=dynamodb_client)
    store.add_suppression(_suppression("sup-a"))
    seen: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        seen.append((model.name, dict(params)))

    dynamodb_client.meta.events.register("provide-client-params.dynamodb.*", record)
    # WHEN the Lambda lists them
    assert [s.id for s in store.suppressions()] == ["sup-a"]
    # THEN one strongly consistent Query of pk SUPPRESSIONS (a removal is seen at once)
    [(operation, params)] = seen
    assert operation == "Query"
    assert params["ConsistentRead"] is True
    assert params["ExpressionAttributeValues"] == {":pk": {"S": SUPPRESSIONS_PK}}
