"""The scheduled digest through ``handler.handler`` under moto, Slack behind httpx.MockTransport.

The Scheduler's event is posted once: a second invocation (a duplicate, or a Scheduler retry)
posts nothing, and a Slack failure releases the claim so Lambda's retry posts it, once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws

import handler
from signin_monitor.app import CollectingNotifier, build_pipeline
from signin_monitor.config import Settings
from signin_monitor.errors import SlackRetryableError
from signin_monitor.events import parse_record
from signin_monitor.pipeline import Pipeline
from signin_monitor.slack import SlackWebhookNotifier
from signin_monitor.store.dynamodb import DynamoDbStore
from signin_monitor.store.dynamodb_admin import create_table
from tests.factories import ACCOUNT, OTHER_ACCOUNT, console_login
from tests.lambda_env import lambda_environment

TABLE = "signin-digest-lambda"
PARAMETER = "/signin-monitor/slack-webhook"
WEBHOOK = "https://hooks.example.invalid/services/T000/B000/digest-secret"
DIGEST = {"signin-monitor": "digest", "day": "2026-11-02", "accounts": [ACCOUNT, OTHER_ACCOUNT]}


class FakeSlack:
    """A webhook answering from a script (then 200), remembering what it accepted."""

    def __init__(self) -> None:
        self.script: list[httpx.Response] = []
        self.accepted: list[dict[str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = self.script.pop(0) if self.script else httpx.Response(200, text="ok")
        if response.status_code == 200:
            self.accepted.append(json.loads(request.content))
        return response


class Context:
    function_name = "signin-monitor-test"
    aws_request_id = "req-digest"
    invoked_function_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:signin-monitor"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    """moto with the table and the webhook parameter; the handler's cold start; a fake Slack."""
    lambda_environment(monkeypatch, ACTIVITY_TABLE=TABLE, SLACK_WEBHOOK_PARAMETER=PARAMETER)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, TABLE)
        boto3.client("ssm", region_name="us-east-1").put_parameter(
            Name=PARAMETER, Value=WEBHOOK, Type="SecureString"
        )
        store = DynamoDbStore(TABLE, client=client)
        pipeline = build_pipeline(Settings(), store=store, notifier=CollectingNotifier())
        for record in (
            console_login(identity_type="Root"),
            console_login(user="<!channel> <https://evil.example|x>", result="Failure"),
            console_login(user="frank", mfa="No", account=OTHER_ACCOUNT),
        ):
            pipeline.process(parse_record(record))
        fake = FakeSlack()
        handler.reset()
        built: Pipeline = handler.get_pipeline()
        notifier = built.notifier
        assert isinstance(notifier, SlackWebhookNotifier)
        notifier.transport = httpx.MockTransport(fake.handle)
        notifier.sleep = lambda _seconds: None
        yield fake
        handler.reset()


def test_the_scheduled_digest_is_posted_once_however_often_it_is_invoked(slack: FakeSlack) -> None:
    # WHEN the Scheduler's event arrives, then again (a duplicate, a retry)
    first = handler.handler(dict(DIGEST), Context())
    second = handler.handler(dict(DIGEST), Context())
    # THEN one message, the day's digest; the second invocation posts nothing
    assert first["status"] == "digest sent"
    assert second["status"] == "digest already-posted"
    [posted] = slack.accepted
    assert posted["blocks"][0]["text"]["text"] == "Sign-in digest for 2026-11-02 (UTC)"
    assert first["alerts"] == 2  # root-sign-in in A, sign-in-without-mfa in B
    text = json.dumps(posted)
    assert "<!channel>" not in text
    assert "<https://evil" not in text
    assert "&lt;!channel&gt;" in text


def test_a_slack_failure_is_retried_by_lambda_and_posts_once(slack: FakeSlack) -> None:
    # GIVEN Slack failing three times (every attempt of the first invocation)
    slack.script = [httpx.Response(500), httpx.Response(503), httpx.Response(500)]
    # WHEN the invocation fails, Lambda retries it, and a duplicate arrives after that
    with pytest.raises(SlackRetryableError):
        handler.handler(dict(DIGEST), Context())
    retried = handler.handler(dict(DIGEST), Context())
    duplicate = handler.handler(dict(DIGEST), Context())
    # THEN exactly one message reached the channel
    assert (retried["status"], duplicate["status"]) == ("digest sent", "digest already-posted")
    assert len(slack.accepted) == 1


def test_a_refused_digest_is_kept_for_resend_and_not_posted_again(
    slack: FakeSlack, capsys: pytest.CaptureFixture[str]
) -> None:
    slack.script = [httpx.Response(400, text="invalid_blocks")]
    refused = handler.handler(dict(DIGEST), Context())
    again = handler.handler(dict(DIGEST), Context())
    assert (refused["status"], again["status"]) == ("digest failed", "digest already-posted")
    store = DynamoDbStore(TABLE, client=boto3.client("dynamodb", region_name="us-east-1"))
    [kept] = list(store.undelivered_alerts())
    assert (kept.rule_id, kept.scope) == ("digest", "2026-11-02")
    counted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert sum(line["AlertsNotDelivered"] for line in counted) == 1


def test_without_a_day_the_digest_is_of_the_day_before_the_scheduled_time(
    slack: FakeSlack,
) -> None:
    event = {"signin-monitor": "digest", "scheduled_time": "2026-11-03T07:00:00Z"}
    result = handler.handler(event, Context())
    # the function's own account (from its ARN) is read; B is not known to it
    assert (result["day"], result["accounts"]) == ("2026-11-02", [ACCOUNT])
    assert result["alerts"] == 2  # B's alert is still counted, as "account not read"


def test_a_malformed_digest_event_is_dropped_without_a_post(slack: FakeSlack) -> None:
    for bad in (
        {"signin-monitor": "digest", "day": "yesterday"},
        {"signin-monitor": "digest", "accounts": ["not-an-account"]},
        {"signin-monitor": "digest", "scheduled_time": 7},
    ):
        assert handler.handler(bad, Context())["status"] == "malformed"
    assert slack.accepted == []


def test_a_final_store_error_is_counted_and_raised(
    slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from signin_monitor.digest.sources import DynamoDbDayReader
    from signin_monitor.errors import StoreError

    def denied(*_args: object, **_kwargs: object) -> list[object]:
        raise StoreError("cannot read alerts: AccessDeniedException")

    monkeypatch.setattr(DynamoDbDayReader, "alerts", denied)
    capsys.readouterr()
    with pytest.raises(StoreError):
        handler.handler(dict(DIGEST), Context())
    counted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert [line["StoreErrors"] for line in counted] == [1]
    assert slack.accepted == []
