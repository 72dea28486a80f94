"""``root-activity``: a root API call, one alert per account per window, none after a reported
root console sign-in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from signin_monitor.events import parse_record, select
from signin_monitor.rules import RootActivity
from signin_monitor.store import ClaimOutcome
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import OTHER_ACCOUNT, api_call, console_login

WINDOW = timedelta(minutes=60)
RULE = RootActivity(window=WINDOW)


@pytest.fixture
def store() -> Iterator[SqliteStore]:
    store = SqliteStore()
    yield store
    store.close()


def _raised(store: SqliteStore, record: dict[str, object]) -> bool:
    """Store the record, evaluate the rule, claim as the pipeline does: was an alert posted?"""
    event = parse_record(record)
    store.record(event, expires_at=None)
    alert = RULE.evaluate(event, store)
    if alert is None:
        return False
    return store.claim_window(alert)[1] is ClaimOutcome.CLAIMED


def test_a_root_access_key_call_with_no_console_sign_in_alerts(store: SqliteStore) -> None:
    alert = RULE.evaluate(parse_record(api_call("ListBuckets")), store)
    assert alert is not None
    assert (alert.rule_id, alert.severity.value, alert.window) == (
        "root-activity",
        "critical",
        WINDOW,
    )
    assert alert.scope == "111122223333#root-activity"


def test_read_only_and_failed_root_calls_count_too(store: SqliteStore) -> None:
    failed = api_call("ListUsers", event_source="iam.amazonaws.com", error_code="AccessDenied")
    assert RULE.evaluate(parse_record(failed), store) is not None
    assert RULE.evaluate(parse_record(api_call("GetCallerIdentity", read_only=True)), store)


def test_a_session_of_root_calls_gives_one_alert_per_window_per_account(store: SqliteStore) -> None:
    # GIVEN root calls every 10 minutes for two hours and ten, and one in another account
    raised = [_raised(store, api_call(minutes=10 * step)) for step in range(14)]
    other = _raised(store, api_call(minutes=5, account=OTHER_ACCOUNT))
    # THEN one alert at 0, the next only once a window has passed since it (at 60), then 120
    assert [step * 10 for step, posted in enumerate(raised) if posted] == [0, 60, 120]
    assert other is True


def test_the_window_holds_whatever_the_arrival_order(store: SqliteStore) -> None:
    # GIVEN the later call delivered first THEN the earlier one, within the window, is covered
    assert _raised(store, api_call(minutes=30)) is True
    assert _raised(store, api_call(minutes=0)) is False


def test_calls_after_a_successful_root_console_sign_in_are_not_raised(store: SqliteStore) -> None:
    # GIVEN root signed in to the console (already reported by root-sign-in)
    store.record(parse_record(console_login(identity_type="Root")), expires_at=None)
    # THEN its calls within the window raise nothing, a call past it does
    assert RULE.evaluate(parse_record(api_call(minutes=59)), store) is None
    assert RULE.evaluate(parse_record(api_call(minutes=0)), store) is None
    assert RULE.evaluate(parse_record(api_call(minutes=61)), store) is not None


def test_a_failed_root_console_sign_in_suppresses_nothing(store: SqliteStore) -> None:
    store.record(
        parse_record(console_login(identity_type="Root", result="Failure")), expires_at=None
    )
    assert RULE.evaluate(parse_record(api_call(minutes=5)), store) is not None


def test_a_root_sign_in_of_another_account_suppresses_nothing(store: SqliteStore) -> None:
    store.record(
        parse_record(console_login(identity_type="Root", account=OTHER_ACCOUNT)), expires_at=None
    )
    assert RULE.evaluate(parse_record(api_call(minutes=5)), store) is not None


def test_a_call_an_aws_service_made_for_root_is_not_raised(store: SqliteStore) -> None:
    # GIVEN a root call with invokedBy: the pattern does not select it, nor would the rule
    record = api_call(invoked_by="cloudformation.amazonaws.com")
    assert select(record) is not None
    event = replace(parse_record(api_call()), invoked_by="cloudformation.amazonaws.com")
    assert RULE.evaluate(event, store) is None


def test_calls_by_anyone_but_root_and_sign_in_events_are_not_raised(store: SqliteStore) -> None:
    user_call = replace(parse_record(api_call()), identity_type="IAMUser", principal="alice")
    assert RULE.evaluate(user_call, store) is None
    assert RULE.evaluate(parse_record(console_login(identity_type="Root")), store) is None


def test_an_assume_root_task_session_is_root_activity(store: SqliteStore) -> None:
    record = api_call("DeleteUserPolicy", event_source="iam.amazonaws.com", assumed_root=True)
    event = parse_record(record)
    assert event.assumed_root is True
    assert RULE.evaluate(event, store) is not None
