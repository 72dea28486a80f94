"""Parsing and normalization of EventBridge envelopes and CloudTrail records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from signin_monitor.errors import MalformedRecordError, NotSignInEventError
from signin_monitor.events import parse_eventbridge, parse_record
from tests.factories import console_login, eventbridge


def test_eventbridge_console_sign_in_is_normalized() -> None:
    record = console_login(user="alice", mfa="Yes", region="eu-north-1", source_ip="192.0.2.1")
    event = parse_eventbridge(eventbridge(record))
    assert event.event_id == record["eventID"]
    assert event.event_time == datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    assert event.time_text == "2026-11-02T08:00:00Z"
    assert event.event_name == "ConsoleLogin"
    assert (event.account_id, event.principal, event.identity_type) == (
        "111122223333",
        "alice",
        "IAMUser",
    )
    assert (event.result, event.mfa_used, event.region, event.source_ip) == (
        "Success",
        True,
        "eu-north-1",
        "192.0.2.1",
    )
    assert event.arn == "arn:aws:iam::111122223333:user/alice"


def test_service_event_detail_type_is_accepted() -> None:
    record = console_login(event_name="CredentialVerification", identity_type="Unknown")
    event = parse_eventbridge(eventbridge(record, detail_type="AWS Service Event via CloudTrail"))
    assert event.event_name == "CredentialVerification"


def test_result_comes_from_response_elements_only() -> None:
    record = console_login(user="HIDDEN_DUE_TO_SECURITY_REASONS", result="Failure")
    assert record["errorMessage"] == "No username found in supplied account"
    assert parse_record(record).result == "Failure"
    record["responseElements"] = {"ConsoleLogin": "Success"}
    assert parse_record(record).result == "Success"


def test_hidden_user_name_is_grouped_by_source_ip() -> None:
    record = console_login(
        user="HIDDEN_DUE_TO_SECURITY_REASONS", result="Failure", source_ip="203.0.113.5"
    )
    assert parse_record(record).principal == "unknown-user:203.0.113.5"


def test_root_principal_is_root() -> None:
    assert parse_record(console_login(identity_type="Root")).principal == "root"


def test_assumed_role_principal_is_role_and_session() -> None:
    record = console_login(
        identity_type="AssumedRole",
        arn="arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123/erin@example.com",
    )
    assert parse_record(record).principal == "AWSReservedSSO_Admin_0123/erin@example.com"


def test_missing_mfa_used_is_unknown() -> None:
    assert parse_record(console_login(mfa=None)).mfa_used is None
    assert parse_record(console_login(mfa="No")).mfa_used is False


def test_unknown_fields_are_kept_in_raw() -> None:
    record = console_login()
    record["brandNewField"] = {"nested": [1, 2]}
    event = parse_record(record)
    assert event.raw["brandNewField"] == {"nested": [1, 2]}


def test_event_time_with_offset_and_fraction_becomes_utc_seconds() -> None:
    record = console_login()
    record["eventTime"] = "2026-11-02T10:00:00.750+02:00"
    assert parse_record(record).time_text == "2026-11-02T08:00:00Z"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("eventID"), "eventID"),
        (lambda r: r.pop("eventTime"), "eventTime"),
        (lambda r: r.update(eventTime="yesterday"), "eventTime"),
        (lambda r: r.update(userIdentity="root"), "userIdentity"),
        (lambda r: r.update(eventID="x" * 500), "eventID"),
    ],
)
def test_malformed_records_name_the_field(mutate: Any, message: str) -> None:
    record = console_login()
    mutate(record)
    with pytest.raises(MalformedRecordError, match=message):
        parse_record(record, source="f.json", position="Records[2]")


def test_malformed_error_names_source_and_position() -> None:
    with pytest.raises(MalformedRecordError) as caught:
        parse_record({"eventID": "x"}, source="logs/a.json", position="Records[7]")
    assert str(caught.value).startswith("logs/a.json: Records[7]: ")


def test_other_services_are_not_sign_in_events() -> None:
    record = console_login()
    record["eventSource"] = "s3.amazonaws.com"
    with pytest.raises(NotSignInEventError):
        parse_record(record)


def test_wrong_detail_type_is_not_a_sign_in_event() -> None:
    with pytest.raises(NotSignInEventError):
        parse_eventbridge(eventbridge(console_login(), detail_type="AWS API Call via CloudTrail"))


def test_missing_detail_is_malformed() -> None:
    envelope = eventbridge(console_login())
    del envelope["detail"]
    with pytest.raises(MalformedRecordError, match="detail"):
        parse_eventbridge(envelope)


def test_non_object_is_malformed() -> None:
    with pytest.raises(MalformedRecordError, match="JSON object"):
        parse_eventbridge(["not", "an", "event"])


def test_junk_in_user_agent_is_made_printable() -> None:
    event = parse_record(console_login(user_agent="Mozilla \udcff\udc80 junk"))
    event.user_agent.encode("utf-8")  # would raise on a lone surrogate
    assert event.user_agent.startswith("Mozilla ")
    assert "junk" in event.user_agent


def test_oversized_user_name_gives_a_bounded_principal() -> None:
    event = parse_record(console_login(user="a" * 5000, result="Failure"))
    assert len(event.principal) <= 256
    other = parse_record(console_login(user="a" * 4999 + "b", result="Failure"))
    assert other.principal != event.principal
