"""The EventBridge patterns as data: one copy read by Terraform and the code, a matcher held to
moto's ``EventPattern``, and narrow enough that ordinary API traffic never reaches the Lambda."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto.events.models import EventPattern

from signin_monitor.errors import MalformedRecordError, NotSignInEventError
from signin_monitor.event_patterns import (
    PATTERN_NAMES,
    eventbridge_view,
    load_patterns,
    matches,
    matching_pattern,
)
from signin_monitor.events import parse_eventbridge, parse_record, select
from signin_monitor.sources import find_files, read_records
from tests.factories import api_call, api_eventbridge, console_login, eventbridge

REPO = Path(__file__).resolve().parents[1]
TERRAFORM_PATTERNS = REPO / "terraform" / "patterns"
SAMPLES = REPO / "samples"


def _moto(name: str) -> EventPattern:
    return EventPattern.load((TERRAFORM_PATTERNS / f"{name}.json").read_text(encoding="utf-8"))


def _moto_match(name: str, event: dict[str, Any]) -> bool:
    return bool(_moto(name).matches_event(event))  # type: ignore[arg-type]


def _moto_matches(event: dict[str, Any]) -> bool:
    return any(_moto_match(name, event) for name in PATTERN_NAMES)


def _sample_events() -> list[dict[str, Any]]:
    """Every sample record as EventBridge delivers it (envelopes as they are)."""
    events = []
    for path in find_files([SAMPLES]):
        for record in read_records(path):  # type: ignore[arg-type]
            data = getattr(record, "data", None)
            if isinstance(data, dict):
                events.append(data if "detail-type" in data else eventbridge_view(data))
    return events


# --- one copy, read by both ----------------------------------------------------------------------


def test_the_package_reads_the_very_files_terraform_loads() -> None:
    # GIVEN the patterns the code loads THEN they are the terraform/patterns files, one per name
    on_disk = {path.stem for path in TERRAFORM_PATTERNS.glob("*.json")}
    assert on_disk == set(PATTERN_NAMES)
    for name, pattern in load_patterns().items():
        assert pattern == json.loads((TERRAFORM_PATTERNS / f"{name}.json").read_text("utf-8"))


def test_the_package_folder_is_a_link_to_the_terraform_folder() -> None:
    link = REPO / "signin_monitor" / "patterns"
    assert link.is_symlink()
    assert link.resolve() == TERRAFORM_PATTERNS.resolve()


def test_the_patterns_are_the_ones_of_design_section_3_1() -> None:
    patterns = load_patterns()
    root = patterns["root_api_calls"]
    assert root["detail-type"] == ["AWS API Call via CloudTrail"]
    assert root["detail"]["userIdentity"] == {"type": ["Root"], "invokedBy": [{"exists": False}]}
    iam = patterns["iam_credential_changes"]
    assert iam["source"] == ["aws.iam"]
    assert set(iam["detail"]["eventName"]) == {
        "CreateAccessKey",
        "DeactivateMFADevice",
        "DeleteVirtualMFADevice",
        "CreateLoginProfile",
        "UpdateLoginProfile",
    }
    trail = patterns["trail_changes"]
    assert trail["source"] == ["aws.cloudtrail"]
    assert set(trail["detail"]["eventName"]) == {
        "StopLogging",
        "DeleteTrail",
        "UpdateTrail",
        "PutEventSelectors",
    }


# --- the matcher agrees with moto -----------------------------------------------------------------


@pytest.mark.parametrize("event", _sample_events(), ids=lambda e: str(e["detail"].get("eventID")))
def test_the_matcher_agrees_with_moto_on_every_sample(event: dict[str, Any]) -> None:
    for name, pattern in load_patterns().items():
        assert matches(pattern, event) == _moto_match(name, event), name


_TEXT = st.sampled_from(
    ["Root", "IAMUser", "AssumedRole", "aws.iam", "aws.signin", "aws.cloudtrail", "aws.s3", ""]
)
_NAMES = st.sampled_from(
    [
        "CreateAccessKey",
        "DeactivateMFADevice",
        "StopLogging",
        "ListBuckets",
        "ConsoleLogin",
        "UpdateTrail",
    ]
)
_SOURCES = st.sampled_from(
    [
        "iam.amazonaws.com",
        "cloudtrail.amazonaws.com",
        "signin.amazonaws.com",
        "s3.amazonaws.com",
        "sts.amazonaws.com",
    ]
)
_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    _TEXT,
    st.lists(_TEXT, max_size=2),
    st.dictionaries(st.sampled_from(["type", "x"]), _TEXT, max_size=2),
)


@st.composite
def _records(draw: st.DrawFn) -> dict[str, Any]:
    identity: dict[str, Any] = {}
    if draw(st.booleans()):
        identity["type"] = draw(st.one_of(_TEXT, _LEAF))
    if draw(st.booleans()):
        identity["invokedBy"] = draw(st.one_of(_LEAF, st.just("ec2.amazonaws.com")))
    record: dict[str, Any] = {"eventID": "e"}
    if draw(st.booleans()):
        record["userIdentity"] = identity if draw(st.booleans()) else draw(_LEAF)
    if draw(st.booleans()):
        record["eventSource"] = draw(st.one_of(_SOURCES, _LEAF))
    if draw(st.booleans()):
        record["eventName"] = draw(st.one_of(_NAMES, _LEAF))
    if draw(st.booleans()):
        record["eventType"] = draw(
            st.sampled_from(["AwsApiCall", "AwsConsoleSignIn", "AwsServiceEvent", "Other"])
        )
    return record


@settings(max_examples=300, deadline=None)
@given(_records())
def test_the_matcher_agrees_with_moto_on_generated_records(record: dict[str, Any]) -> None:
    event = eventbridge_view(record)
    for name, pattern in load_patterns().items():
        assert matches(pattern, event) == _moto_match(name, event), name


def test_the_eventbridge_view_follows_design_section_3_1() -> None:
    view = eventbridge_view({"eventSource": "iam.amazonaws.com", "eventType": "AwsApiCall"})
    assert (view["source"], view["detail-type"]) == ("aws.iam", "AWS API Call via CloudTrail")
    signin = eventbridge_view(
        {"eventSource": "signin.amazonaws.com", "eventType": "AwsConsoleSignIn"}
    )
    assert signin["detail-type"] == "AWS Console Sign In via CloudTrail"
    service = eventbridge_view({"eventSource": "sso.amazonaws.com", "eventType": "AwsServiceEvent"})
    assert service["detail-type"] == "AWS Service Event via CloudTrail"
    assert "detail-type" not in eventbridge_view({"eventSource": "iam.amazonaws.com"})


# --- narrow: ordinary traffic never invokes the function ------------------------------------------

_ORDINARY = [
    ("s3.amazonaws.com", "GetObject", True),
    ("s3.amazonaws.com", "PutObject", False),
    ("ec2.amazonaws.com", "DescribeInstances", True),
    ("ec2.amazonaws.com", "RunInstances", False),
    ("sts.amazonaws.com", "AssumeRole", False),
    ("sts.amazonaws.com", "GetCallerIdentity", True),
    ("kms.amazonaws.com", "Decrypt", True),
    ("lambda.amazonaws.com", "Invoke", False),
    ("dynamodb.amazonaws.com", "DescribeTable", True),
    ("logs.amazonaws.com", "CreateLogStream", False),
    ("iam.amazonaws.com", "GetRole", True),
    ("iam.amazonaws.com", "ListAccessKeys", True),
    ("iam.amazonaws.com", "AttachRolePolicy", False),
    ("iam.amazonaws.com", "EnableMFADevice", False),
    ("cloudtrail.amazonaws.com", "DescribeTrails", True),
    ("cloudtrail.amazonaws.com", "LookupEvents", True),
    ("cloudtrail.amazonaws.com", "StartLogging", False),
    ("ssm.amazonaws.com", "GetParameter", True),
]


@pytest.mark.parametrize("identity", ["IAMUser", "AssumedRole", "AWSService"])
@pytest.mark.parametrize(("source", "name", "read_only"), _ORDINARY)
def test_ordinary_non_root_calls_match_no_pattern(
    identity: str, source: str, name: str, read_only: bool
) -> None:
    # GIVEN an account's everyday traffic by users, roles and AWS services
    record = api_call(name, event_source=source, identity_type=identity, read_only=read_only)
    # WHEN EventBridge (moto) and our matcher see it THEN neither lets it through
    event = api_eventbridge(record)
    assert _moto_matches(event) is False
    assert matching_pattern(event) is None
    assert matching_pattern(eventbridge_view(record)) is None


def test_a_root_call_an_aws_service_made_for_root_matches_no_pattern() -> None:
    record = api_call("ListBuckets", invoked_by="cloudformation.amazonaws.com")
    assert _moto_matches(api_eventbridge(record)) is False
    assert select(record) is not None


@pytest.mark.parametrize(
    "record",
    [
        api_call("ListBuckets"),
        api_call("CreateAccessKey", event_source="iam.amazonaws.com", identity_type="IAMUser"),
        api_call("StopLogging", event_source="cloudtrail.amazonaws.com", identity_type="IAMUser"),
        console_login(),
    ],
    ids=["root call", "iam credential change", "trail change", "console sign-in"],
)
def test_each_monitored_record_matches_as_envelope_and_as_a_log_record(
    record: dict[str, Any],
) -> None:
    envelope = eventbridge(record) if "signin" in record["eventSource"] else api_eventbridge(record)
    assert _moto_matches(envelope) is True
    assert matching_pattern(envelope) is not None
    assert matching_pattern(eventbridge_view(record)) is not None


# --- selection before validation ------------------------------------------------------------------


def test_an_unmonitored_record_is_not_monitored_whatever_else_is_wrong() -> None:
    # GIVEN an ordinary call with a broken time and no event id
    record = api_call("GetObject", event_source="s3.amazonaws.com", identity_type="IAMUser")
    record["eventTime"] = "yesterday"
    del record["eventID"]
    # THEN it is skipped as not monitored, never malformed
    with pytest.raises(NotSignInEventError, match="not monitored"):
        parse_record(record)
    with pytest.raises(NotSignInEventError, match="not monitored"):
        parse_eventbridge(api_eventbridge(record))


def test_a_monitored_record_is_still_validated() -> None:
    record = api_call("ListBuckets")
    record["eventTime"] = "yesterday"
    with pytest.raises(MalformedRecordError) as caught:
        parse_record(record)
    assert not isinstance(caught.value, NotSignInEventError)


@pytest.mark.parametrize("field", ["errorCode", "invokedBy"])
def test_error_code_and_invoked_by_are_only_non_empty_strings(field: str) -> None:
    record = api_call(
        "StopLogging", event_source="cloudtrail.amazonaws.com", identity_type="IAMUser"
    )
    if field == "errorCode":
        record["errorCode"] = ""
    else:
        record["userIdentity"]["invokedBy"] = ""
    with pytest.raises(MalformedRecordError):
        parse_record(record)


def test_an_api_call_is_normalized_with_the_fields_of_the_call() -> None:
    record = api_call(
        "CreateLoginProfile",
        event_source="iam.amazonaws.com",
        identity_type="AssumedRole",
        user="ops-session",
        read_only=False,
        error_code="EntityAlreadyExists",
        request_parameters={"userName": "bob"},
    )
    record["recipientAccountId"] = "444455556666"  # a call recorded in another account
    event = parse_record(record)
    assert (event.kind, event.event_source, event.error_code) == (
        "api-call",
        "iam.amazonaws.com",
        "EntityAlreadyExists",
    )
    assert (event.principal, event.account_id) == ("Admin/ops-session", "444455556666")
    assert (event.read_only, event.request_user_name, event.result) == (False, "bob", "Failure")


_EDGES = {
    "invokedBy an object": {"userIdentity": {"type": "Root", "invokedBy": {"x": "y"}}},
    "invokedBy empty object": {"userIdentity": {"type": "Root", "invokedBy": {}}},
    "invokedBy null": {"userIdentity": {"type": "Root", "invokedBy": None}},
    "type an object": {"userIdentity": {"type": {"Root": "Root"}}},
    "type a list": {"userIdentity": {"type": ["IAMUser", "Root"]}},
    "identity a string": {"userIdentity": "Root"},
}


@pytest.mark.parametrize("detail", list(_EDGES.values()), ids=list(_EDGES))
def test_the_matcher_agrees_with_moto_on_odd_shapes(detail: dict[str, Any]) -> None:
    event = eventbridge_view(
        {**detail, "eventSource": "s3.amazonaws.com", "eventType": "AwsApiCall"}
    )
    for name, pattern in load_patterns().items():
        assert matches(pattern, event) == _moto_match(name, event), name


def _combined() -> EventPattern:
    """The pattern events.tf gives the rules: every file under one ``$or``."""
    files = [
        json.loads((TERRAFORM_PATTERNS / f"{n}.json").read_text("utf-8")) for n in PATTERN_NAMES
    ]
    return EventPattern.load(json.dumps({"$or": files}))


def test_the_combined_rule_pattern_selects_exactly_what_the_files_select() -> None:
    # GIVEN the one $or pattern the forwarding and central rules carry
    combined = _combined()
    ordinary = [
        api_eventbridge(api_call(name, event_source=source, identity_type="IAMUser"))
        for source, name, _ in _ORDINARY
    ]
    # THEN on every sample and on ordinary traffic it agrees with the files one by one
    for event in [*_sample_events(), *ordinary]:
        assert bool(combined.matches_event(event)) == (matching_pattern(event) is not None)  # type: ignore[arg-type]
    assert not any(combined.matches_event(event) for event in ordinary)  # type: ignore[arg-type]
