"""Slack messages for API-call alerts: the call, the caller, where from, a console link; an
``sts:AssumeRoot`` session named; attacker-controlled request parameters inert."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from signin_monitor.events import parse_record
from signin_monitor.rules import LoginProfileChanged, RootActivity, TrailTampering
from signin_monitor.slack import render
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import api_call


def _fields(payload: dict[str, Any]) -> dict[str, str]:
    section = next(block for block in payload["blocks"] if block["type"] == "section")
    out = {}
    for item in section["fields"]:
        name, _, value = item["text"].partition("\n")
        out[name.strip("*")] = value
    return out


def _root_activity(**kwargs: Any) -> dict[str, Any]:
    event = parse_record(api_call(**kwargs))
    alert = RootActivity(window=timedelta(hours=1)).evaluate(event, SqliteStore())
    assert alert is not None
    return render(alert)


def test_a_root_call_message_names_the_call_the_caller_and_where_from() -> None:
    payload = _root_activity(
        event_name="ListUsers",
        event_source="iam.amazonaws.com",
        read_only=True,
        error_code="AccessDenied",
        source_ip="203.0.113.5",
        region="eu-north-1",
    )
    fields = _fields(payload)
    assert fields["Call"] == "`iam.amazonaws.com` `ListUsers`"
    assert fields["Read-only"] == "`yes`"
    assert fields["Result"] == "`Failed: AccessDenied`"
    assert fields["Caller"] == "`root`"
    assert (fields["Source IP"], fields["Region"]) == ("`203.0.113.5`", "`eu-north-1`")
    assert payload["blocks"][0]["text"]["text"] == "Root API activity in AWS account 111122223333"
    button = payload["blocks"][-1]["elements"][0]
    assert button["url"].startswith("https://eu-north-1.console.aws.amazon.com/cloudtrailv2/")
    assert "ListUsers" in payload["text"]
    assert len(payload["blocks"][2]["fields"]) <= 10


def test_an_assume_root_task_session_is_named_as_such() -> None:
    fields = _fields(_root_activity(assumed_root=True))
    assert "sts:AssumeRoot task session" in fields["Caller"]
    plain = _fields(_root_activity())
    assert "AssumeRoot" not in plain["Caller"]


def test_hostile_request_parameters_stay_inert() -> None:
    # GIVEN a console password set for a user whose name is a mention and a link
    hostile = "<!channel> <https://evil.example|click> `x`"
    record = api_call(
        "UpdateLoginProfile",
        event_source="iam.amazonaws.com",
        identity_type="IAMUser",
        request_parameters={"userName": hostile},
    )
    alert = LoginProfileChanged().evaluate(parse_record(record), SqliteStore())
    assert alert is not None
    payload = render(alert)
    text = json.dumps(payload)
    # THEN no mention, no link: escaped, inside inline code, backticks replaced
    assert "<!channel>" not in text
    assert "<https://evil" not in text
    assert _fields(payload)["Target user"] == (
        "`&lt;!channel&gt; &lt;https://evil.example|click&gt; 'x'`"
    )


def test_a_trail_change_message_says_who_changed_it() -> None:
    record = api_call(
        "StopLogging",
        event_source="cloudtrail.amazonaws.com",
        identity_type="AssumedRole",
        read_only=False,
    )
    alert = TrailTampering().evaluate(parse_record(record), SqliteStore())
    assert alert is not None
    fields = _fields(render(alert))
    assert fields["Caller"] == "`Admin/alice (AssumedRole)`"
    assert fields["Read-only"] == "`no`"
