"""API calls beside sign-ins, on both stores: their own key kind, every field kept, history by
kind, and the one question ``root-activity`` asks (design §3.1)."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta

import pytest

from signin_monitor.events import parse_record
from signin_monitor.store import ActivityStore, HistoryQuery, schema
from signin_monitor.store.dynamodb import _item_from_event
from tests.factories import ACCOUNT, BASE_TIME, OTHER_ACCOUNT, api_call, console_login


def _call(**kwargs: object) -> object:
    return parse_record(api_call(**kwargs))  # type: ignore[arg-type]


def test_an_api_call_is_keyed_under_its_own_kind() -> None:
    event = parse_record(api_call("ListBuckets"))
    assert _item_from_event(event, None)["sk"]["S"].startswith("API#")
    sign_in = parse_record(console_login())
    assert _item_from_event(sign_in, None)["sk"]["S"].startswith("SIGNIN#")


def test_every_field_of_an_api_call_survives_the_store(store: ActivityStore) -> None:
    # GIVEN an AssumeRoot task-session call that failed, naming a target user
    record = api_call(
        "CreateAccessKey",
        event_source="iam.amazonaws.com",
        read_only=False,
        error_code="AccessDenied",
        assumed_root=True,
        request_parameters={"userName": "bob"},
    )
    event = parse_record(record)
    assert store.record(event, expires_at=None) is True
    assert store.record(event, expires_at=None) is False
    # WHEN read back by principal and account, and by principal alone (an index on DynamoDB)
    by_both = list(store.history(HistoryQuery(principal="root", account_id=ACCOUNT)))
    by_principal = list(store.history(HistoryQuery(principal="root")))
    # THEN every normalized field is as stored
    for found in (by_both, by_principal):
        assert len(found) == 1
        # The record, what is read off it while parsing (eventType: in raw), and the time
        # text's cache (time_text is compared): not columns.
        not_fields = ("raw", "truncated", "raw_text", "raw_text_of", "event_type", "_time_text")
        for name in (f.name for f in fields(event) if f.name not in not_fields):
            assert getattr(found[0], name) == getattr(event, name), name
        assert found[0].time_text == event.time_text
    assert by_both[0].kind == "api-call"
    assert (by_both[0].error_code, by_both[0].assumed_root) == ("AccessDenied", True)


def test_history_lists_root_sign_ins_and_calls_in_time_order(store: ActivityStore) -> None:
    login = parse_record(console_login(identity_type="Root", minutes=5))
    calls = [parse_record(api_call(minutes=m)) for m in (0, 10, 3)]
    for event in (login, *calls):
        store.record(event, expires_at=None)
    for query in (
        HistoryQuery(principal="root", account_id=ACCOUNT),
        HistoryQuery(principal="root"),
    ):
        found = list(store.history(query))
        assert [e.event_time for e in found] == sorted(e.event_time for e in (login, *calls))
        assert [e.kind for e in found] == ["api-call", "api-call", "sign-in", "api-call"]


@pytest.mark.parametrize("principal_only", [False, True])
def test_history_filters_by_kind(store: ActivityStore, principal_only: bool) -> None:
    store.record(parse_record(console_login(identity_type="Root")), expires_at=None)
    store.record(
        parse_record(console_login(identity_type="Root", result="Failure", minutes=1)),
        expires_at=None,
    )
    store.record(parse_record(api_call(minutes=2)), expires_at=None)
    account = None if principal_only else ACCOUNT

    def kinds(kind: str) -> list[str]:
        query = HistoryQuery(principal="root", account_id=account, kind=kind)
        return [e.kind for e in store.history(query)]

    assert kinds("api-call") == ["api-call"]
    assert kinds("sign-in") == ["sign-in", "sign-in"]


def test_an_api_call_never_counts_as_a_failed_sign_in(store: ActivityStore) -> None:
    store.record(parse_record(api_call(error_code="AccessDenied")), expires_at=None)
    after, until = BASE_TIME - timedelta(hours=1), BASE_TIME + timedelta(hours=1)
    assert store.count_failures(ACCOUNT, "root", after=after, until=until) == 0
    assert store.failures_between(ACCOUNT, "root", after=after, before=until) == []


def test_has_console_sign_in_asks_for_a_successful_console_login_in_the_range(
    store: ActivityStore,
) -> None:
    # GIVEN root's successful ConsoleLogin at 08:00, a failed one, a CheckMfa and a call
    store.record(parse_record(console_login(identity_type="Root")), expires_at=None)
    store.record(
        parse_record(console_login(identity_type="Root", result="Failure", minutes=-30)),
        expires_at=None,
    )
    store.record(
        parse_record(console_login(identity_type="Root", event_name="CheckMfa", minutes=-20)),
        expires_at=None,
    )
    store.record(parse_record(api_call(minutes=-10)), expires_at=None)

    def asked(after_minutes: int, until_minutes: int, account: str = ACCOUNT) -> bool:
        return store.has_console_sign_in(
            account,
            "root",
            after=BASE_TIME + timedelta(minutes=after_minutes),
            until=BASE_TIME + timedelta(minutes=until_minutes),
        )

    # THEN the range is (after, until]: the success at 08:00 is in (-60, 0] and not in (0, 60]
    assert asked(-60, 0) is True
    assert asked(0, 60) is False
    assert asked(-60, -1) is False  # the failure, CheckMfa and the call are no sign-in
    assert asked(-60, 0, account=OTHER_ACCOUNT) is False


def test_api_kind_is_the_third_kind_of_the_schema() -> None:
    assert schema.KINDS == ("SIGNIN", "FAILURE", "API")
