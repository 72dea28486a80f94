"""The Lambda handler on a moto server: failures in any order, or at once, give one message.

Live delivery is not ordered (concurrent invocations, Lambda's retries, regions forwarding at
their own pace). Here ``handler.handler`` talks to a ``ThreadedMotoServer`` over HTTP, whose
writes and transactions are atomic as DynamoDB's (``tests/concurrency.py``), and Slack is an
``httpx.MockTransport``.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator

import httpx
import pytest

import handler
from tests.concurrency import TABLE, run_together
from tests.test_handler import WEBHOOK, FakeSlack, _failure, _invoke, _rule_of

REPEATED = "repeated-failed-sign-ins"


@pytest.fixture
def slack() -> FakeSlack:
    return FakeSlack()


@pytest.fixture
def live(slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, moto_server: str) -> Iterator[None]:
    """A cold start against the moto server, posting to the fake Slack."""
    for name, value in {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ACTIVITY_TABLE": TABLE,
        "SLACK_WEBHOOK_URL": WEBHOOK,
        # The rules of design §3: the users here share one address, which password-spray
        # (design §3.2, with its own concurrency test) would also report.
        "ALERT_RULES": "root-sign-in,sign-in-without-mfa,repeated-failed-sign-ins",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLACK_WEBHOOK_PARAMETER", raising=False)
    handler.reset()
    built = handler.get_pipeline()
    built.notifier.transport = httpx.MockTransport(slack.handle)  # type: ignore[attr-defined]
    built.notifier.min_interval = 0  # type: ignore[attr-defined]
    yield
    handler.reset()


def test_failures_delivered_0_3_9_6_post_one_message_for_the_window_ending_at_9(
    live: None, slack: FakeSlack
) -> None:
    # GIVEN four failures of one user within nine minutes
    user = f"order-{uuid.uuid4().hex[:8]}"
    at = {minute: _failure(minute, user=user) for minute in (0, 3, 6, 9)}
    # WHEN they reach the Lambda at minutes 0, 3, 9 and then 6
    summaries = [_invoke(at[minute]) for minute in (0, 3, 9, 6)]
    # THEN the last one posts the alert of the window it completed, anchored at minute 9
    assert [s["alerts"] for s in summaries] == [[], [], [], [REPEATED]]
    assert [_rule_of(payload) for payload in slack.accepted] == [REPEATED]
    message = json.dumps(slack.accepted[0])
    assert [m for m in at if at[m]["detail"]["eventID"] in message] == [9]


def test_a_burst_delivered_at_once_in_any_order_posts_one_message(
    live: None, slack: FakeSlack
) -> None:
    rng = random.Random(9)
    for _ in range(3):
        # GIVEN eight failures on both sides of 08:00 (where one-window claim slots meet)
        user = f"burst-{uuid.uuid4().hex[:8]}"
        burst = [_failure(minute, user=user) for minute in range(-4, 4)]
        rng.shuffle(burst)
        before = len(slack.accepted)
        # WHEN they all reach the Lambda at once
        run_together([lambda e=e: _invoke(e) for e in burst])  # type: ignore[misc]
        # THEN one message for the burst
        assert [_rule_of(p) for p in slack.accepted[before:]] == [REPEATED]


def test_the_latest_failure_first_then_the_rest_at_once_posts_one_message(
    live: None, slack: FakeSlack
) -> None:
    for _ in range(3):
        # GIVEN four failures across 08:00; the latest reaches the Lambda first, alone
        user = f"late-{uuid.uuid4().hex[:8]}"
        latest, *rest = (_failure(minute, user=user) for minute in (4, -5, -2, 1))
        before = len(slack.accepted)
        assert _invoke(latest)["alerts"] == []
        # WHEN the three earlier ones arrive at once
        run_together([lambda e=e: _invoke(e) for e in rest])  # type: ignore[misc]
        # THEN one message, for the window ending at the latest
        accepted = slack.accepted[before:]
        assert [_rule_of(p) for p in accepted] == [REPEATED]
        assert latest["detail"]["eventID"] in json.dumps(accepted[0])
