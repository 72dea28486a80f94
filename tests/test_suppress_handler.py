"""The Lambda path with suppressions: ``handler.handler`` under moto, Slack faked.

A suppression stored in the table keeps a covered alert from Slack while its claim is recorded
suppressed; removing it applies from the next invocation of the same warm container.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws

import handler
from signin_monitor.pipeline import Pipeline
from signin_monitor.slack import SlackWebhookNotifier
from signin_monitor.store.dynamodb import DynamoDbStore
from signin_monitor.store.dynamodb_admin import create_table
from signin_monitor.suppressions import Suppression, new_suppression
from tests.factories import ACCOUNT, BASE_TIME, console_login, eventbridge
from tests.lambda_env import lambda_environment

TABLE = "signin-activity"
PARAMETER = "/signin-monitor/slack-webhook"
WEBHOOK = "https://hooks.example.invalid/services/T000/B000/suppress-secret"


@pytest.fixture
def posted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """moto with the table and the webhook parameter; a cold-started handler; Slack's posts."""
    lambda_environment(monkeypatch, ACTIVITY_TABLE=TABLE, SLACK_WEBHOOK_PARAMETER=PARAMETER)
    accepted: list[dict[str, Any]] = []

    def slack(request: httpx.Request) -> httpx.Response:
        accepted.append(json.loads(request.content))
        return httpx.Response(200, text="ok")

    with mock_aws():
        create_table(boto3.client("dynamodb", region_name="us-east-1"), TABLE)
        boto3.client("ssm", region_name="us-east-1").put_parameter(
            Name=PARAMETER, Value=WEBHOOK, Type="SecureString"
        )
        handler.reset()
        built: Pipeline = handler.get_pipeline()
        assert isinstance(built.notifier, SlackWebhookNotifier)
        built.notifier.transport = httpx.MockTransport(slack)
        yield accepted
        handler.reset()


def _operator_store() -> DynamoDbStore:
    """What ``signin-monitor suppress`` uses: the same table, the operator's client."""
    return DynamoDbStore(TABLE, client=boto3.client("dynamodb", region_name="us-east-1"))


def _planned() -> Suppression:
    return new_suppression(
        rule="root-sign-in",
        principal="root",
        account_id=ACCOUNT,
        reason="break-glass drill",
        author="alice",
        valid_from=BASE_TIME,
        until=BASE_TIME + timedelta(hours=2),
    )


def _claim(event_id: str) -> dict[str, Any]:
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=TABLE)["Items"]
    [claim] = [
        item
        for item in items
        if item["pk"]["S"].startswith("ALERT#") and item["event_id"]["S"] == event_id
    ]
    return claim


def test_a_suppressed_alert_is_not_posted_and_its_claim_is_recorded_suppressed(
    posted: list[dict[str, Any]],
) -> None:
    # GIVEN a suppression stored in the table
    planned = _planned()
    assert _operator_store().add_suppression(planned)
    # WHEN the planned root sign-in reaches the Lambda
    event = eventbridge(console_login(identity_type="Root", minutes=30, event_id="planned"))
    result = handler.handler(event, None)
    # THEN it is stored and its alert claimed, but nothing reaches Slack
    assert result == {"status": "stored", "event_id": "planned", "alerts": ["root-sign-in"]}
    assert posted == []
    claim = _claim("planned")
    assert (claim["status"]["S"], claim["reason"]["S"]) == ("suppressed", planned.id)
    # AND a redelivery of the event posts nothing either (the claim is final)
    handler.handler(event, None)
    assert posted == []
    # AND the next unplanned root sign-in (after the period) pages
    later = eventbridge(console_login(identity_type="Root", minutes=130, event_id="unplanned"))
    handler.handler(later, None)
    assert len(posted) == 1
    assert _claim("unplanned")["status"]["S"] == "sent"


def test_a_removed_suppression_stops_applying_at_the_next_invocation(
    posted: list[dict[str, Any]],
) -> None:
    # GIVEN a warm container that has already met the suppression
    planned = _planned()
    _operator_store().add_suppression(planned)
    handler.handler(eventbridge(console_login(identity_type="Root", minutes=1)), None)
    assert posted == []
    # WHEN the operator removes it and another covered root sign-in arrives
    assert _operator_store().remove_suppression(planned.id)
    handler.handler(eventbridge(console_login(identity_type="Root", minutes=2)), None)
    # THEN that one is posted: the container read the suppressions again
    assert len(posted) == 1
