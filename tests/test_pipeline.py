"""The pipeline end to end on SQLite with a collecting notifier: one message per thing worth one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from signin_monitor.alerts import Alert
from signin_monitor.app import CollectingNotifier, build_pipeline
from signin_monitor.config import Settings
from signin_monitor.errors import (
    ConfigError,
    OutputClosedError,
    SlackPermanentError,
    SlackRetryableError,
)
from signin_monitor.events import SignInEvent
from signin_monitor.pipeline import RELEASE_MARGIN_SECONDS, DeliveryStatus, Pipeline
from signin_monitor.store import ClaimOutcome, ClaimStatus, HistoryQuery
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import sign_in


def _pipeline(store: SqliteStore | None = None, **env: str) -> tuple[Pipeline, CollectingNotifier]:
    notifier = CollectingNotifier()
    settings = Settings.from_env(env)
    return build_pipeline(settings, store=store or SqliteStore(), notifier=notifier), notifier


def _rules(pipeline: Pipeline, events: list[SignInEvent]) -> list[str]:
    fired = []
    for event in events:
        fired += [d.alert.rule_id for d in pipeline.process(event).deliveries]
    return fired


def test_burst_of_ten_failures_in_five_minutes_is_one_alert_on_the_fourth() -> None:
    pipeline, notifier = _pipeline()
    events = [sign_in(result="Failure", minutes=i * 0.5) for i in range(10)]
    outcomes = [pipeline.process(event) for event in events]
    alerted = [i for i, outcome in enumerate(outcomes) if outcome.deliveries]
    assert alerted == [3]
    assert len(notifier.sent) == 1


def test_a_new_window_after_the_last_alert_alerts_again() -> None:
    pipeline, _ = _pipeline()
    first_burst = [sign_in(result="Failure", minutes=i) for i in range(4)]
    second_burst = [sign_in(result="Failure", minutes=63 + i) for i in range(4)]
    assert _rules(pipeline, first_burst + second_burst) == ["repeated-failed-sign-ins"] * 2


def test_steady_failures_alert_once_per_window() -> None:
    pipeline, _ = _pipeline()
    events = [sign_in(result="Failure", minutes=i * 10) for i in range(14)]  # 130 minutes
    assert _rules(pipeline, events).count("repeated-failed-sign-ins") == 2


def test_password_guessing_against_root_gives_two_messages() -> None:
    pipeline, notifier = _pipeline()
    events = [sign_in(identity_type="Root", result="Failure", minutes=i) for i in range(10)]
    assert _rules(pipeline, events) == ["root-sign-in", "repeated-failed-sign-ins"]
    assert len(notifier.sent) == 2


def test_every_root_success_alerts() -> None:
    pipeline, _ = _pipeline()
    events = [sign_in(identity_type="Root", minutes=i) for i in range(3)]
    assert _rules(pipeline, events) == ["root-sign-in"] * 3


def test_duplicate_delivery_stores_once_and_alerts_once() -> None:
    pipeline, notifier = _pipeline()
    event = sign_in(identity_type="Root")
    first = pipeline.process(event)
    second = pipeline.process(event)
    assert first.stored is True
    assert second.stored is False
    assert second.deliveries == []
    assert len(notifier.sent) == 1


def test_replaying_a_burst_again_raises_nothing_new() -> None:
    store = SqliteStore()
    events = [sign_in(result="Failure", minutes=i * 7) for i in range(30)]
    first, _ = _pipeline(store)
    assert _rules(first, events)
    again, notifier = _pipeline(store)
    assert _rules(again, events) == []
    assert notifier.sent == []


def test_thresholds_come_from_the_environment() -> None:
    pipeline, _ = _pipeline(FAILED_SIGNIN_THRESHOLD="1", FAILED_SIGNIN_WINDOW_MINUTES="5")
    events = [sign_in(result="Failure", minutes=m) for m in (0, 4, 10, 16)]
    assert _rules(pipeline, events) == ["repeated-failed-sign-ins"]


def test_disabled_rules_do_not_run() -> None:
    pipeline, _ = _pipeline(ALERT_RULES="sign-in-without-mfa")
    assert _rules(pipeline, [sign_in(identity_type="Root"), sign_in(mfa="No")]) == [
        "sign-in-without-mfa"
    ]


def test_retention_sets_expiry_from_event_time() -> None:
    store = SqliteStore()
    pipeline, _ = _pipeline(store, RETENTION_DAYS="30")
    event = sign_in()
    pipeline.process(event)
    expected = int((event.event_time + timedelta(days=30)).timestamp())
    assert list(store.history(HistoryQuery(principal="alice", now_epoch=expected - 1)))
    assert not list(store.history(HistoryQuery(principal="alice", now_epoch=expected)))


class _FlakyNotifier:
    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.sent: list[dict[str, Any]] = []

    def send(
        self, payload: dict[str, Any], *, alert: Alert | None = None, deadline: float | None = None
    ) -> None:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(payload)


def test_transient_slack_failure_keeps_the_claim_for_the_retry() -> None:
    store = SqliteStore()
    notifier = _FlakyNotifier([SlackRetryableError("500", status_code=500)])
    pipeline = build_pipeline(Settings(), store=store, notifier=notifier)
    event = sign_in(identity_type="Root")
    outcome = pipeline.process(event)
    assert [d.status for d in outcome.deliveries] == [DeliveryStatus.RETRY_LATER]
    assert outcome.retryable_error is not None
    retried = pipeline.process(event)
    assert [d.status for d in retried.deliveries] == [DeliveryStatus.SENT]
    assert retried.retryable_error is None
    assert len(notifier.sent) == 1
    assert pipeline.process(event).deliveries == []


def test_permanent_slack_failure_is_not_retried() -> None:
    notifier = _FlakyNotifier([SlackPermanentError("410 channel_is_archived", status_code=410)])
    pipeline = build_pipeline(Settings(), store=SqliteStore(), notifier=notifier)
    event = sign_in(identity_type="Root")
    outcome = pipeline.process(event)
    assert [d.status for d in outcome.deliveries] == [DeliveryStatus.FAILED]
    assert outcome.retryable_error is None
    assert pipeline.process(event).deliveries == []
    assert notifier.sent == []


def test_retries_of_a_failure_do_not_inflate_the_count() -> None:
    store = SqliteStore()
    notifier = _FlakyNotifier([SlackRetryableError("timeout")] * 3)
    pipeline = build_pipeline(Settings(), store=store, notifier=notifier)
    events = [sign_in(result="Failure", minutes=i) for i in range(4)]
    for event in events[:3]:
        for _ in range(3):
            assert pipeline.process(event).deliveries == []
    for _ in range(4):
        pipeline.process(events[3])
    assert len(notifier.sent) == 1
    assert notifier.sent[0]["blocks"][2]["fields"][-1]["text"].startswith("*Failures*\n4 ")


@pytest.mark.parametrize("rule_count", [0, 1])
def test_store_errors_propagate(rule_count: int) -> None:
    class Broken(SqliteStore):
        def record(self, event: SignInEvent, *, expires_at: int | None) -> bool:
            raise RuntimeError("disk on fire")

    pipeline, _ = _pipeline(Broken())
    with pytest.raises(RuntimeError):
        pipeline.process(sign_in(identity_type="Root" if rule_count else "IAMUser"))


class _MarkRecorder(SqliteStore):
    """SQLite, recording every ``mark_alert`` call with its keyword arguments."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[tuple[ClaimStatus, dict[str, Any]]] = []

    def mark_alert(
        self,
        alert: Alert,
        status: ClaimStatus,
        *,
        payload: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        self.marks.append((status, {"payload": payload, "reason": reason}))
        super().mark_alert(alert, status, payload=payload, reason=reason)


def test_a_permanent_failure_keeps_the_exact_message_and_reason_for_resend() -> None:
    # GIVEN Slack refusing for good
    store = _MarkRecorder()
    notifier = _FlakyNotifier([SlackPermanentError("Slack refused: 410", status_code=410)])
    pipeline = build_pipeline(Settings(), store=store, notifier=notifier)
    # WHEN a root sign-in is processed
    outcome = pipeline.process(sign_in(identity_type="Root"))
    # THEN the claim is marked failed with the payload that was refused and why
    [delivery] = outcome.deliveries
    assert store.marks == [
        (ClaimStatus.FAILED, {"payload": delivery.payload, "reason": "Slack refused: 410"})
    ]


@pytest.mark.parametrize(
    "error", [OutputClosedError("stdout closed"), KeyboardInterrupt(), ConfigError("X", None, "y")]
)
def test_anything_else_that_stops_a_send_releases_the_claim_and_propagates(
    error: BaseException,
) -> None:
    # GIVEN a notifier stopped by something other than Slack
    store = _MarkRecorder()
    pipeline = build_pipeline(Settings(), store=store, notifier=_FlakyNotifier([error]))  # type: ignore[list-item]
    event = sign_in(identity_type="Root")
    # WHEN the event is processed THEN the cause propagates, the claim released first
    with pytest.raises(type(error)):
        pipeline.process(event)
    assert [status for status, _ in store.marks] == [ClaimStatus.PENDING]
    # AND the next delivery posts it
    assert [d.status for d in pipeline.process(event).deliveries] == [DeliveryStatus.SENT]


def test_a_busy_claim_is_reported_not_posted() -> None:
    # GIVEN a store where another live delivery holds the claim
    class Busy(SqliteStore):
        def claim_alert(self, alert: Alert) -> ClaimOutcome:
            return ClaimOutcome.BUSY

    notifier = _FlakyNotifier([])
    pipeline = build_pipeline(Settings(), store=Busy(), notifier=notifier)
    # WHEN a root sign-in is processed THEN it is reported busy and nothing is posted
    outcome = pipeline.process(sign_in(identity_type="Root"))
    assert [d.status for d in outcome.deliveries] == [DeliveryStatus.BUSY]
    assert outcome.retryable_error is None
    assert notifier.sent == []


def test_the_send_deadline_ends_before_the_claim_lease() -> None:
    # GIVEN a 30 s lease and a clock at 100
    seen: list[float | None] = []

    class Recording:
        def send(
            self,
            payload: dict[str, Any],
            *,
            alert: Alert | None = None,
            deadline: float | None = None,
        ) -> None:
            seen.append(deadline)

    pipeline = build_pipeline(
        Settings(), store=SqliteStore(), notifier=Recording(), lease_seconds=30
    )
    pipeline.monotonic = lambda: 100.0
    # WHEN one event is processed with a later caller deadline, another with an earlier one
    pipeline.process(sign_in(identity_type="Root", minutes=0), deadline=500.0)
    pipeline.process(sign_in(identity_type="Root", minutes=1), deadline=110.0)
    # THEN each send ends by the earlier of the two, the lease less the release margin
    assert seen == [100.0 + 30 - RELEASE_MARGIN_SECONDS, 110.0]
