"""The Lambda path for API calls under moto: stored once, alerted once, through duplicates,
concurrent deliveries and Slack faults (design §3.1, §5)."""

# ruff: noqa: F811 (the handler test fixtures are imported by name)
from __future__ import annotations

import os

import httpx
import pytest

import handler
from signin_monitor.pipeline import Pipeline
from tests.concurrency import run_together
from tests.factories import api_call, api_eventbridge, console_login, eventbridge
from tests.test_handler import (  # noqa: F401 (fixtures)
    WEBHOOK,
    FakeSlack,
    _invoke,
    _items,
    _rule_of,
    aws,
    pipeline,
    slack,
)


def test_a_root_call_is_stored_under_the_api_kind_and_alerted_once(
    pipeline: Pipeline, slack: FakeSlack
) -> None:
    event = api_eventbridge(api_call("ListBuckets"))
    first, second = _invoke(event), _invoke(event)
    assert (first["status"], first["alerts"]) == ("stored", ["root-activity"])
    assert (second["status"], second["alerts"]) == ("duplicate", [])
    (item,) = _items("ACCOUNT#")
    assert item["sk"]["S"].startswith("API#")
    assert item["kind"]["S"] == "api-call"
    assert [_rule_of(p) for p in slack.accepted] == ["root-activity"]


def test_each_credential_rule_fires_through_the_handler(
    pipeline: Pipeline, slack: FakeSlack
) -> None:
    iam = "iam.amazonaws.com"
    events = [
        api_call("CreateAccessKey", event_source=iam, read_only=False),
        api_call("DeleteVirtualMFADevice", event_source=iam, identity_type="IAMUser"),
        api_call("UpdateLoginProfile", event_source=iam, identity_type="IAMUser"),
        api_call("DeleteTrail", event_source="cloudtrail.amazonaws.com", identity_type="IAMUser"),
    ]
    fired = [rule for record in events for rule in _invoke(api_eventbridge(record))["alerts"]]
    assert fired == [
        "root-activity",
        "root-access-key-created",
        "mfa-device-removed",
        "login-profile-changed",
        "trail-tampering",
    ]
    recovery = console_login(identity_type="Root", event_name="PasswordRecoveryRequested")
    assert _invoke(eventbridge(recovery))["alerts"] == ["root-password-recovery"]


def test_an_ordinary_call_reaching_the_function_is_ignored_and_not_stored(
    pipeline: Pipeline, slack: FakeSlack
) -> None:
    record = api_call("GetObject", identity_type="IAMUser")
    assert _invoke(api_eventbridge(record))["status"] == "ignored"
    assert _items("ACCOUNT#") == []


def test_slack_faults_then_success_give_exactly_one_root_activity_message(
    pipeline: Pipeline, slack: FakeSlack
) -> None:
    # GIVEN Slack failing three times: the first delivery gives up and Lambda retries the event
    slack.script = [httpx.Response(500)] * 3
    event = api_eventbridge(api_call("ListBuckets"))
    with pytest.raises(Exception, match="retry"):
        handler.handler(event, None)
    # WHEN the retry (and a later call in the same window) arrive with Slack healthy again
    _invoke(event)
    _invoke(api_eventbridge(api_call("GetCallerIdentity", minutes=5)))
    # THEN one message was posted
    assert [_rule_of(p) for p in slack.accepted] == ["root-activity"]


def test_concurrent_root_calls_of_one_window_give_one_message(
    slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, moto_server: str
) -> None:
    # GIVEN the handler talking to a moto server over HTTP (requests really overlap)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ACTIVITY_TABLE": "concurrency",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SLACK_WEBHOOK_URL", WEBHOOK)
    monkeypatch.delenv("SLACK_WEBHOOK_PARAMETER", raising=False)
    handler.reset()
    built = handler.get_pipeline()
    built.notifier.transport = httpx.MockTransport(slack.handle)  # type: ignore[attr-defined]
    built.notifier.min_interval = 0  # type: ignore[attr-defined]
    account = f"{os.getpid() % 10**12:012d}"
    calls = [api_eventbridge(api_call(minutes=m, account=account)) for m in (0, 7, 15, 30)]
    try:
        # WHEN four root calls of one hour, and four copies of the first, arrive at once
        run_together([lambda e=e: _invoke(e) for e in calls + [calls[0]] * 4])  # type: ignore[misc]
    finally:
        handler.reset()
    # THEN one root-activity message
    assert [_rule_of(p) for p in slack.accepted] == ["root-activity"]
