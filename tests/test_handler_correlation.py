"""The Lambda on a moto server with every rule on: concurrent deliveries give one message.

Same set-up as ``test_handler_order`` (a ``ThreadedMotoServer`` whose writes are atomic as
DynamoDB's, Slack an ``httpx.MockTransport``), with the correlation rules of design §3.2 and
their sparse indexes read over HTTP as the Lambda reads them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

import handler
from tests.concurrency import TABLE, run_together
from tests.factories import console_login, eventbridge
from tests.test_handler import WEBHOOK, FakeSlack, _invoke, _rule_of


@pytest.fixture
def slack() -> FakeSlack:
    return FakeSlack()


@pytest.fixture
def live(slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, moto_server: str) -> Iterator[None]:
    """A cold start against the moto server, every rule on, posting to the fake Slack."""
    for name, value in {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ACTIVITY_TABLE": TABLE,
        "SLACK_WEBHOOK_URL": WEBHOOK,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("SLACK_WEBHOOK_PARAMETER", "ALERT_RULES"):
        monkeypatch.delenv(name, raising=False)
    handler.reset()
    built = handler.get_pipeline()
    built.notifier.transport = httpx.MockTransport(slack.handle)  # type: ignore[attr-defined]
    built.notifier.min_interval = 0  # type: ignore[attr-defined]
    yield
    handler.reset()


def _rules(slack: FakeSlack, before: int) -> list[str]:
    return [_rule_of(payload) for payload in slack.accepted[before:]]


def test_concurrent_deliveries_of_a_success_after_failures_post_one_message(
    live: None, slack: FakeSlack
) -> None:
    # GIVEN four failures of a user, delivered
    user = f"guess-{uuid.uuid4().hex[:8]}"
    for minute in range(4):
        _invoke(eventbridge(console_login(user=user, result="Failure", minutes=minute)))
    before = len(slack.accepted)
    # WHEN the success reaches four Lambdas at once (EventBridge's duplicates, retries)
    success = eventbridge(console_login(user=user, minutes=5))
    run_together([lambda: _invoke(success) for _ in range(4)])
    # THEN one sign-in-after-failures message
    assert _rules(slack, before) == ["sign-in-after-failures"]


def test_a_spray_delivered_at_once_posts_one_message(live: None, slack: FakeSlack) -> None:
    # GIVEN eight users tried once each from one address, all reaching the Lambda at once
    address = f"192.0.2.{uuid.uuid4().int % 200 + 20}"
    tag = uuid.uuid4().hex[:6]
    tries = [
        eventbridge(
            console_login(user=f"{tag}-{n}", result="Failure", source_ip=address, minutes=n)
        )
        for n in range(8)
    ]
    before = len(slack.accepted)
    run_together([lambda e=e: _invoke(e) for e in tries])  # type: ignore[misc]
    # THEN one password-spray message
    assert _rules(slack, before) == ["password-spray"]


def test_concurrent_deliveries_of_a_new_network_sign_in_post_one_message(
    live: None, slack: FakeSlack
) -> None:
    user = f"roam-{uuid.uuid4().hex[:8]}"
    _invoke(eventbridge(console_login(user=user, source_ip="198.51.100.7", minutes=-60)))
    before = len(slack.accepted)
    new = eventbridge(console_login(user=user, source_ip="203.0.113.9"))
    run_together([lambda: _invoke(new) for _ in range(3)])
    assert _rules(slack, before) == ["new-source-network"]
