"""Parsing and normalization of EventBridge envelopes and CloudTrail records."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from signin_monitor.errors import MalformedRecordError, NotSignInEventError
from signin_monitor.events import (
    MAX_DEPTH,
    MAX_FIELD_BYTES,
    MAX_RAW_BYTES,
    TRUNCATED_KEY,
    format_time,
    normalize_record,
    parse_event_time,
    parse_eventbridge,
    parse_record,
)
from signin_monitor.record_models import CloudTrailRecord
from tests.factories import api_call, console_login, eventbridge


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


# --- eventTime is read strictly, within a plausible range ---------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "1730534472",
        "2026-11-02",
        "2026-11-02 08:01:12Z",
        "2026-11-02T08:01:12",
        "2026-11-02T08:01:12+0200",
        "2026-11-02T08:01:12z",
        "2026-13-02T08:01:12Z",
        "2026-02-30T08:01:12Z",
        "2026-11-02T08:01:12+24:00",
        "2026-11-02T08:01:12+02:60",
        "\u0662\u0660\u0662\u0666-11-02T08:01:12Z",
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:30:00+01:00",
        "1999-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-01:00",
        "2000-01-01T00:30:00+01:00",
    ],
)
def test_an_event_time_not_in_the_form_aws_writes_or_out_of_range_is_malformed(text: str) -> None:
    # GIVEN a record whose eventTime is a number, another ISO form, impossible or implausible
    record = console_login()
    record["eventTime"] = text
    # WHEN it is parsed THEN it is malformed, the message names the field (no OverflowError)
    with pytest.raises(MalformedRecordError, match="eventTime") as caught:
        parse_record(record, source="f.json", position="Records[3]")
    assert not isinstance(caught.value, NotSignInEventError)
    assert caught.value.position == "Records[3]"


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-11-02T08:01:12Z", "2026-11-02T08:01:12Z"),
        ("2026-11-02T08:01:12.5Z", "2026-11-02T08:01:12Z"),
        ("2026-11-02T08:01:12.123456789Z", "2026-11-02T08:01:12Z"),
        ("2026-11-02T10:01:12+02:00", "2026-11-02T08:01:12Z"),
        ("2026-11-02T02:31:12-05:30", "2026-11-02T08:01:12Z"),
        ("2000-01-01T00:00:00Z", "2000-01-01T00:00:00Z"),
        ("2099-12-31T23:59:59Z", "2099-12-31T23:59:59Z"),
    ],
)
def test_event_times_in_the_forms_aws_writes_are_read_as_utc(text: str, utc: str) -> None:
    record = console_login()
    record["eventTime"] = text
    assert parse_record(record).time_text == utc


def test_plausible_range_keeps_window_and_retention_arithmetic_representable() -> None:
    # GIVEN the extremes of the accepted range WHEN the widest window and retention are applied
    earliest = parse_event_time("2000-01-01T00:00:00Z")
    latest = parse_event_time("2099-12-31T23:59:59Z")
    # THEN nothing overflows (the largest accepted settings: 7 days, 36,500 days)
    assert earliest - timedelta(minutes=10080) > datetime(1999, 1, 1, tzinfo=UTC)
    assert int((latest + timedelta(days=36500)).timestamp()) > 0
    assert format_time(earliest) == "2000-01-01T00:00:00Z"


# --- other services are skipped before any sign-in field is checked -----------------------------


def test_a_record_of_another_service_with_a_renamed_time_field_is_skipped_not_malformed() -> None:
    # GIVEN a Logstash export of an S3 call: eventTime renamed to @timestamp, eventID missing
    record = console_login(event_name="GetObject")
    record["eventSource"] = "s3.amazonaws.com"
    record["@timestamp"] = record.pop("eventTime")
    del record["eventID"]
    # WHEN it is parsed THEN it is "not a sign-in event", not malformed
    with pytest.raises(NotSignInEventError, match=r"eventSource 's3\.amazonaws\.com'"):
        parse_record(record)


def test_an_envelope_of_another_detail_type_is_skipped_whatever_its_detail_holds() -> None:
    # GIVEN an API-call envelope whose detail is no CloudTrail record at all
    envelope = eventbridge(console_login(), detail_type="AWS API Call via CloudTrail")
    envelope["detail"] = {"eventTime": 0}
    # WHEN parsed THEN skipped on the detail-type alone
    with pytest.raises(NotSignInEventError, match="detail-type"):
        parse_eventbridge(envelope)


def test_a_sign_in_envelope_carrying_another_service_is_skipped() -> None:
    record = console_login()
    record["eventSource"] = "iam.amazonaws.com"
    del record["eventTime"]
    with pytest.raises(NotSignInEventError, match="eventSource"):
        parse_eventbridge(eventbridge(record))


def test_a_sign_in_record_with_a_renamed_time_field_is_still_malformed() -> None:
    record = console_login()
    record["@timestamp"] = record.pop("eventTime")
    with pytest.raises(MalformedRecordError, match="eventTime") as caught:
        parse_record(record)
    assert not isinstance(caught.value, NotSignInEventError)


def test_a_record_nested_deeper_than_the_limit_is_malformed() -> None:
    # GIVEN a sign-in record with a field nested MAX_DEPTH + 5 levels deep (built without
    # recursion, as a streaming reader would build it)
    record = console_login()
    deep: list[Any] = []
    record["requestParameters"] = {"x": deep}
    for _ in range(MAX_DEPTH + 5):
        inner: list[Any] = []
        deep.append(inner)
        deep = inner
    # WHEN parsed THEN malformed, naming the limit
    with pytest.raises(MalformedRecordError, match=f"nested deeper than {MAX_DEPTH}"):
        parse_record(record)


# --- every field within a byte bound any store accepts ------------------------------------------


def _utf8(text: str | None) -> int:
    return len((text or "").encode("utf-8"))


def test_huge_multibyte_fields_are_cut_in_bytes_and_the_raw_record_fits() -> None:
    # GIVEN 90k CJK characters in the user agent, 60k emoji in the user name, and a
    # 3,000-character account id and source IP
    record = console_login(
        user="\U0001f600" * 60_000,
        user_agent="\u4e2d" * 90_000,
        account="1" * 3000,
        source_ip="2" * 3000,
        result="Failure",
    )
    # WHEN it is parsed
    event = parse_record(record)
    # THEN every text field is within its byte bound, identifiers within 256 bytes
    for value in (event.user_agent, event.user_name, event.arn, event.error_message):
        assert _utf8(value) <= MAX_FIELD_BYTES
    for value in (event.account_id, event.source_ip, event.principal):
        assert _utf8(value) <= 256
    assert event.user_agent.endswith("\u2026")
    # AND the stored raw JSON fits, keeps the event's identity, and says what was cut
    raw_text = event.raw_json()
    assert len(raw_text.encode("utf-8")) <= MAX_RAW_BYTES
    stored = json.loads(raw_text)
    for key in ("eventID", "eventTime", "eventName", "eventSource", "userIdentity"):
        assert stored[key] == record[key] or key == "userIdentity"
    assert {"userAgent", "userIdentity.userName"} <= set(stored[TRUNCATED_KEY])
    assert {"raw.userAgent", "user_agent", "user_name"} <= set(event.truncated)


def test_long_identifiers_that_differ_only_at_the_end_stay_distinct() -> None:
    one = parse_record(console_login(account="1" * 3000, source_ip="9" * 3000 + "a"))
    two = parse_record(console_login(account="1" * 2999 + "2", source_ip="9" * 3000 + "b"))
    assert one.account_id != two.account_id
    assert one.source_ip != two.source_ip


def test_an_oversized_raw_record_drops_what_audits_need_least_first() -> None:
    # GIVEN a record whose requestParameters alone (not an audit field) is 500 KB
    record = console_login()
    record["requestParameters"] = {f"k{i}": "x" * 100 for i in range(5000)}
    # WHEN parsed THEN requestParameters is cut, every audit field is kept whole
    event = parse_record(record)
    assert len(event.raw_json()) <= MAX_RAW_BYTES
    assert event.raw[TRUNCATED_KEY] == ["requestParameters"]
    for key in ("userIdentity", "responseElements", "additionalEventData", "userAgent"):
        assert event.raw[key] == record[key]
    assert event.truncated == ("raw.requestParameters",)


def test_a_record_that_fits_is_stored_untouched() -> None:
    record = console_login()
    event = parse_record(record)
    assert event.raw is record
    assert event.truncated == ()
    assert TRUNCATED_KEY not in event.raw


def test_the_raw_text_written_while_normalizing_is_the_stored_copy_and_never_stale() -> None:
    # GIVEN a record normalized (its compact JSON was written once, to bound its size)
    import dataclasses

    from signin_monitor.events import parse_record
    from tests.factories import console_login

    event = parse_record(console_login())
    # THEN raw_json is that text, equal to encoding the record again
    assert event.raw_text is not None
    assert event.raw_json() == json.dumps(event.raw, separators=(",", ":"), default=str)
    # AND a copy with another raw record (an index read) is encoded from its own record
    assert dataclasses.replace(event, raw={}).raw_json() == "{}"


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("user_agent", lambda r: r.update(userAgent="u" * 5000)),
        ("error_message", lambda r: r.update(errorMessage="m" * 5000)),
        ("error_code", lambda r: r.update(errorCode="E" * 5000)),
        ("invoked_by", lambda r: r["userIdentity"].update(invokedBy="s" * 5000)),
        ("request_user_name", lambda r: r.update(requestParameters={"userName": "n" * 5000})),
        ("event_source", lambda r: r.update(eventSource="iam.amazonaws.com" + "x" * 300)),
    ],
)
def test_every_normalized_field_cut_to_its_bound_is_listed_as_truncated(
    field: str, change: Any
) -> None:
    # replay's summary counts the records with fields cut to fit the store, and `history` shows
    # which: a cut the list leaves out is a shortened value nobody is told about. (The list was
    # once built before the last four fields above were cleaned, so their cuts went unlisted.)
    record = api_call("ListBuckets", event_id="cut-1")
    change(record)
    # Normalized straight from the model: selection would skip some of these records (an
    # invokedBy call, an unknown eventSource) before their fields are ever read.
    parsed = CloudTrailRecord.model_validate(record)
    event = normalize_record(parsed, event_time=parsed.event_time, raw=record)
    assert field in event.truncated
    assert len(getattr(event, field).encode()) <= 4096
