"""``signin-monitor resend`` posts, once, the alerts Slack refused, after the hook is fixed.

The stores gain ``undelivered_alerts``, ``claim_resend`` and ``finish_resend`` in parallel (the
protocol in ``signin_monitor.resend``); until then a small in-memory fake implements it over
SQLite, and the command is held to what it promises against that fake.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

import signin_monitor.app
from signin_monitor import cli
from signin_monitor.cli import resend as resend_command
from signin_monitor.config import LAMBDA_VARIABLES, LOCAL_ONLY_VARIABLES
from signin_monitor.resend import ResendStatus, resend_undelivered
from signin_monitor.slack import SlackWebhookNotifier
from signin_monitor.store import ClaimStatus
from signin_monitor.store.base import UndeliveredAlert
from signin_monitor.store.sqlite import SqliteStore

WEBHOOK = "https://hooks.example.invalid/services/T0000/B0000/resend-secret"


class FakeResendStore(SqliteStore):
    """SQLite plus an in-memory list of undelivered alerts, with the resend protocol."""

    def __init__(self, alerts: list[UndeliveredAlert]) -> None:
        super().__init__()
        self.failed = {(a.rule_id, a.scope): a for a in alerts}
        self.taken: set[tuple[str, str]] = set()
        self.finished: list[tuple[str, ClaimStatus, str | None]] = []

    def close(self) -> None:
        """Kept open: one fake serves several runs of the command."""

    def undelivered_alerts(self) -> Iterator[UndeliveredAlert]:
        yield from sorted(self.failed.values(), key=lambda a: a.event_time)

    def claim_resend(self, alert: UndeliveredAlert) -> bool:
        key = (alert.rule_id, alert.scope)
        if key not in self.failed or key in self.taken:
            return False
        self.taken.add(key)
        return True

    def finish_resend(
        self, alert: UndeliveredAlert, status: ClaimStatus, *, reason: str | None = None
    ) -> None:
        key = (alert.rule_id, alert.scope)
        self.taken.discard(key)
        self.finished.append((alert.event_id, status, reason))
        if status is ClaimStatus.SENT:
            del self.failed[key]


def _undelivered(n: int) -> UndeliveredAlert:
    return UndeliveredAlert(
        rule_id="root-sign-in",
        scope=f"scope-{n}",
        event_id=f"event-{n}",
        event_time=datetime(2026, 11, 2, 8, n, tzinfo=UTC),
        payload={"text": f"alert {n}", "blocks": []},
        reason="Slack refused the message: 410 (channel_is_archived)",
    )


class FakeSlack:
    def __init__(self) -> None:
        self.script: list[int] = []
        self.accepted: list[dict[str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        status = self.script.pop(0) if self.script else 200
        if status == 200:
            self.accepted.append(json.loads(request.content))
        return httpx.Response(status, text="ok" if status == 200 else "channel_is_archived")


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeSlack:
    for name in LAMBDA_VARIABLES + LOCAL_ONLY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    fake = FakeSlack()
    monkeypatch.setenv("SLACK_WEBHOOK_URL", WEBHOOK)
    monkeypatch.setattr(
        signin_monitor.app,
        "SlackWebhookNotifier",
        functools.partial(
            SlackWebhookNotifier, transport=httpx.MockTransport(fake.handle), sleep=lambda _: None
        ),
    )
    return fake


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> FakeResendStore:
    fake = FakeResendStore([_undelivered(2), _undelivered(1)])
    monkeypatch.setattr(resend_command, "open_store", lambda *_args, **_kwargs: fake)
    return fake


def test_resend_posts_each_undelivered_alert_once_oldest_first(
    slack: FakeSlack, store: FakeResendStore, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN two alerts Slack refused, and the hook fixed WHEN resend runs twice
    first = cli.main(["resend", "--json"])
    out = capsys.readouterr()
    second = cli.main(["resend", "--json"])
    again = capsys.readouterr()
    # THEN each exact message was posted once, oldest first; the second run posts nothing
    assert (first, second) == (0, 0)
    assert slack.accepted == [{"text": "alert 1", "blocks": []}, {"text": "alert 2", "blocks": []}]
    lines = [json.loads(line) for line in out.out.splitlines()]
    assert [(line["event_id"], line["status"]) for line in lines] == [
        ("event-1", "sent"),
        ("event-2", "sent"),
    ]
    assert "2 undelivered alerts: 2 posted, 0 still failing" in out.err
    assert again.out == ""
    assert "0 undelivered alerts" in again.err
    assert "resend-secret" not in out.out + out.err + again.err


def test_an_alert_slack_still_refuses_stays_listed_and_the_run_exits_1(
    slack: FakeSlack, store: FakeResendStore, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN Slack refusing the first resend for good
    slack.script = [410]
    # WHEN resend runs
    code = cli.main(["resend"])
    run = capsys.readouterr()
    # THEN exit 1, one posted, one kept for the next resend (with the reason shown)
    assert code == 1
    assert len(slack.accepted) == 1
    assert [a.event_id for a in store.undelivered_alerts()] == ["event-1"]
    assert "1 still failing" in run.err
    assert "failed" in run.out.splitlines()[0]
    assert "channel_is_archived" in run.out


def test_an_alert_another_resend_took_is_not_posted_twice() -> None:
    # GIVEN an alert another resend has taken
    store = FakeResendStore([_undelivered(1)])
    assert store.claim_resend(_undelivered(1))
    sent: list[dict[str, Any]] = []

    class Recording:
        def send(self, payload: dict[str, Any], **_: object) -> None:
            sent.append(payload)

    # WHEN this resend runs THEN it is reported taken and not posted
    results = list(resend_undelivered(store, Recording()))
    assert [r.status for r in results] == [ResendStatus.TAKEN]
    assert sent == []


def test_resend_without_a_webhook_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, store: FakeResendStore, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in LAMBDA_VARIABLES + LOCAL_ONLY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["resend"]) == 2
    assert "SLACK_WEBHOOK_URL" in capsys.readouterr().err
