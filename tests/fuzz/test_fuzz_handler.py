"""Property: whatever EventBridge delivers, ``handler.handler`` stores it, skips it or drops it
as malformed with a reason, never raises for the record's content, and never logs the URL."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from moto import mock_aws

import handler
from signin_monitor.slack import SlackWebhookNotifier
from signin_monitor.store.dynamodb_admin import create_table
from tests.factories import console_login, eventbridge
from tests.fuzz.strategies import MARKER, WEBHOOK, dumps, records
from tests.lambda_env import lambda_environment

TABLE = "fuzz-activity"
PARAMETER = "/signin-monitor/fuzz-webhook"


@pytest.fixture(scope="module")
def lambda_handler() -> Iterator[list[dict[str, Any]]]:
    """One cold start under moto for the module (a fixture per example would dominate)."""
    saved = pytest.MonkeyPatch()
    lambda_environment(
        saved,
        ACTIVITY_TABLE=TABLE,
        SLACK_WEBHOOK_PARAMETER=PARAMETER,
        LOG_LEVEL="DEBUG",
    )
    posted: list[dict[str, Any]] = []

    def slack(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(200, text="ok")

    with mock_aws():
        create_table(boto3.client("dynamodb", region_name="us-east-1"), TABLE)
        boto3.client("ssm", region_name="us-east-1").put_parameter(
            Name=PARAMETER, Value=WEBHOOK, Type="SecureString"
        )
        handler.reset()
        notifier = handler.get_pipeline().notifier
        assert isinstance(notifier, SlackWebhookNotifier)
        notifier.transport = httpx.MockTransport(slack)
        notifier.sleep = lambda _seconds: None
        # The webhook URL is read from SSM on the first alert, inside an example: botocore logs
        # the GetParameter response body at DEBUG unless its loggers are quieted (they are).
        yield posted
        handler.reset()
    saved.undo()


def _known(**changes: Any) -> dict[str, Any]:
    record = console_login(result="Failure", identity_type="Root")
    record.update(changes)
    return record


@given(record=records(), envelope_junk=st.booleans())
# Inputs that once failed every retry, always tried besides the generated ones.
@example(record=_known(eventTime="9999-12-31T23:59:59-01:00"), envelope_junk=False)
@example(record=_known(eventTime="0001-01-01T00:30:00+01:00"), envelope_junk=False)
@example(record=_known(eventTime="0"), envelope_junk=False)
@example(record=_known(userAgent="\u4e2d" * 90_000), envelope_junk=False)
@example(
    record=_known(recipientAccountId="1" * 3000, sourceIPAddress="2" * 3000), envelope_junk=False
)
@example(
    record=console_login(user="\U0001f600" * 60_000, account="3" * 3000, result="Failure"),
    envelope_junk=False,
)
def test_the_handler_never_raises_for_what_a_record_holds(
    lambda_handler: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
    record: dict[str, Any],
    envelope_junk: bool,
) -> None:
    try:
        event = json.loads(dumps(eventbridge(record)))
    except ValueError:
        return  # a number past 4,300 digits never reaches Lambda: EventBridge parsed it
    if envelope_junk:
        event["detail-type"] = record.get("eventName")
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        result = handler.handler(event, None)
    assert result["status"] in ("stored", "duplicate", "ignored", "malformed")
    if result["status"] in ("ignored", "malformed"):
        assert result["reason"]
    text = json.dumps(result) + json.dumps(lambda_handler)
    text += "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert MARKER not in text, sorted({r.name for r in caplog.records if MARKER in r.getMessage()})
