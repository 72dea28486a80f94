"""Suppressions: scope, rule and period matching at the edges; the pipeline's suppressed path.

The clock matters twice here: a suppression's period is judged on the alert's *event* time
(so a replay of old logs meets the suppressions of its time), and ``new_suppression`` starts
at "now" unless told otherwise (freezegun holds it still).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from signin_monitor.alerts import Alert
from signin_monitor.app import CollectingNotifier, build_pipeline
from signin_monitor.config import Settings
from signin_monitor.errors import InvalidSuppressionError
from signin_monitor.events import parse_record
from signin_monitor.pipeline import DeliveryStatus, Pipeline
from signin_monitor.store.sqlite import SqliteStore
from signin_monitor.suppressions import (
    MAX_PERIOD,
    StoredSuppressions,
    Suppression,
    new_suppression,
)
from tests.factories import ACCOUNT, BASE_TIME, OTHER_ACCOUNT, console_login, one_off_alert, sign_in

HOUR = timedelta(hours=1)


def _suppression(**overrides: Any) -> Suppression:
    """Root's sign-ins in ACCOUNT, for the two hours from BASE_TIME."""
    fields: dict[str, Any] = {
        "rule": "root-sign-in",
        "principal": "root",
        "reason": "planned break-glass test",
        "author": "alice",
        "valid_from": BASE_TIME,
        "until": BASE_TIME + 2 * HOUR,
        "now": BASE_TIME,
    }
    fields.update(overrides)
    return new_suppression(**fields)


def _root_alert(*, minutes: float = 0, **login: Any) -> Alert:
    return one_off_alert(sign_in(identity_type="Root", minutes=minutes, **login))


# --- matching: period, rule, scope ---------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "covered"),
    [
        (BASE_TIME - timedelta(seconds=1), False),  # a second before --from
        (BASE_TIME, True),  # --from itself is inside
        (BASE_TIME + 2 * HOUR - timedelta(seconds=1), True),  # the last second inside
        (BASE_TIME + 2 * HOUR, False),  # --until itself is outside
    ],
)
def test_the_period_includes_from_and_excludes_until(at: datetime, covered: bool) -> None:
    # GIVEN a suppression for [BASE, BASE + 2h) WHEN a root sign-in happens at ``at``
    alert = one_off_alert(sign_in(identity_type="Root", at=at))
    # THEN it is covered exactly inside the half-open period
    assert _suppression().covers(alert) is covered


def test_event_time_decides_never_the_clock() -> None:
    # GIVEN a suppression that ended two years ago
    old = _suppression()
    with freeze_time(BASE_TIME + timedelta(days=730)):
        # WHEN logs of its period are judged today THEN they are covered (a replay of old logs)
        assert old.covers(_root_alert(minutes=30))
    with freeze_time(BASE_TIME + timedelta(minutes=30)):
        # AND an event after its end is not covered even while the clock is inside the period
        assert not old.covers(_root_alert(minutes=200))


def test_the_rule_must_match_unless_it_is_all() -> None:
    alert = _root_alert(minutes=1)
    assert not _suppression(rule="sign-in-without-mfa").covers(alert)
    assert _suppression(rule="all").covers(alert)


def test_every_given_scope_must_match() -> None:
    # GIVEN a suppression scoped to root, in ACCOUNT, from 198.51.100.0/24
    both = _suppression(account_id=ACCOUNT, source_cidr="198.51.100.0/24")
    # THEN root from that network in that account is covered
    assert both.covers(_root_alert(source_ip="198.51.100.200"))
    # AND a miss on any one scope is not
    assert not both.covers(_root_alert(source_ip="203.0.113.9"))
    assert not both.covers(_root_alert(account=OTHER_ACCOUNT))
    assert not both.covers(one_off_alert(sign_in(user="bob")))


def test_a_source_scope_alone_covers_every_principal_from_that_network() -> None:
    network = _suppression(rule="all", principal=None, source_cidr="198.51.100.0/24")
    assert network.covers(one_off_alert(sign_in(user="bob", source_ip="198.51.100.1")))
    assert not network.covers(one_off_alert(sign_in(user="bob", source_ip="198.51.101.1")))


@pytest.mark.parametrize("source", ["AWS Internal", "signin.amazonaws.com", "", "2001:db8::1"])
def test_a_source_that_is_no_address_of_the_network_never_matches(source: str) -> None:
    # GIVEN an IPv4 network scope WHEN the event's source is a hostname, empty, or IPv6
    network = _suppression(rule="all", principal=None, source_cidr="0.0.0.0/0")
    # THEN nothing matches (not even the widest IPv4 network)
    assert not network.covers(_root_alert(source_ip=source))


def test_a_lone_address_is_a_host_network_and_host_bits_are_dropped() -> None:
    assert _suppression(source_cidr="203.0.113.5").source_cidr == "203.0.113.5/32"
    assert _suppression(source_cidr="203.0.113.5/24").source_cidr == "203.0.113.0/24"


def test_an_account_scope_alone_covers_that_account_only() -> None:
    account = _suppression(rule="all", principal=None, account_id=OTHER_ACCOUNT)
    assert account.covers(_root_alert(account=OTHER_ACCOUNT))
    assert not account.covers(_root_alert(account=ACCOUNT))


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"rule": "no-such-rule"}, "--rule"),
        ({"principal": None}, "scope"),
        ({"account_id": "12345"}, "--account"),
        ({"account_id": "11112222333a"}, "--account"),
        ({"source_cidr": "not-an-ip"}, "--source-ip"),
        ({"reason": "   "}, "--reason"),
        ({"author": ""}, "--by"),
        ({"until": BASE_TIME}, "--until"),  # until == from: empty period
        ({"until": BASE_TIME - HOUR}, "--until"),
        ({"until": BASE_TIME + MAX_PERIOD + timedelta(seconds=1)}, "--until"),
    ],
)
def test_invalid_suppressions_are_refused_naming_the_option(
    overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidSuppressionError) as refused:
        _suppression(**overrides)
    assert refused.value.field == field


def test_ninety_days_is_allowed_and_more_only_when_said_out_loud() -> None:
    assert _suppression(until=BASE_TIME + MAX_PERIOD).until == BASE_TIME + MAX_PERIOD
    year = _suppression(until=BASE_TIME + timedelta(days=365), no_expiry_limit=True)
    assert year.until - year.valid_from == timedelta(days=365)


@freeze_time("2026-12-01T10:00:00.750000Z")
def test_from_defaults_to_now_to_the_second_and_ids_are_fresh() -> None:
    # GIVEN no --from WHEN two suppressions are made
    first = new_suppression(rule="all", principal="root", reason="r", author="a", until=_in(2))
    second = new_suppression(rule="all", principal="root", reason="r", author="a", until=_in(2))
    # THEN each starts now (whole seconds, as stored) and has its own sup- id
    assert first.valid_from == first.created == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert first.id.startswith("sup-")
    assert first.id != second.id


def _in(hours: int) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


# --- the source the pipeline asks ---------------------------------------------------------


class _CountingStore:
    def __init__(self, kept: list[Suppression]) -> None:
        self.kept = kept
        self.reads = 0

    def suppressions(self) -> list[Suppression]:
        self.reads += 1
        return list(self.kept)


def test_stored_suppressions_read_once_until_refreshed() -> None:
    store = _CountingStore([_suppression()])
    source = StoredSuppressions(store)
    assert store.reads == 0  # lazy: nothing read before an alert asks
    assert source.covering(_root_alert(minutes=1)) is not None
    assert source.covering(_root_alert(minutes=2)) is not None
    assert store.reads == 1
    # WHEN the suppression is removed and the source refreshed (the next Lambda invocation)
    store.kept.clear()
    source.refresh()
    # THEN the next alert is no longer covered
    assert source.covering(_root_alert(minutes=3)) is None
    assert store.reads == 2


# --- the pipeline ---------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "activity.db", lease_seconds=0)


def _pipeline(store: SqliteStore) -> tuple[Pipeline, CollectingNotifier]:
    notifier = CollectingNotifier()
    return build_pipeline(Settings(), store=store, notifier=notifier), notifier


def _claim(store: SqliteStore, rule: str) -> tuple[str, str | None, str]:
    row = store._db.execute(
        "SELECT status, reason, event_id FROM alert_claims WHERE rule_id = ?", (rule,)
    ).fetchone()
    assert row is not None, f"no claim of {rule}"
    return row[0], row[1], row[2]


def test_a_planned_root_login_is_claimed_suppressed_and_the_next_unplanned_one_pages(
    store: SqliteStore,
) -> None:
    # GIVEN root's sign-ins in ACCOUNT silenced for two hours (what `suppress add` stores)
    planned = _suppression(account_id=ACCOUNT)
    assert store.add_suppression(planned)
    pipeline, notifier = _pipeline(store)
    # WHEN the planned root login happens inside the period
    outcome = pipeline.process(parse_record(console_login(identity_type="Root", minutes=30)))
    # THEN it is stored, claimed and marked suppressed with the suppression's id, not posted
    assert outcome.stored
    [delivery] = outcome.deliveries
    assert (delivery.status, delivery.suppressed_by) == (DeliveryStatus.SUPPRESSED, planned.id)
    assert notifier.sent == []
    assert _claim(store, "root-sign-in")[:2] == ("suppressed", planned.id)
    # WHEN an unplanned root login comes after the period
    late = pipeline.process(parse_record(console_login(identity_type="Root", minutes=121)))
    # THEN it pages
    assert [d.status for d in late.deliveries] == [DeliveryStatus.SENT]
    assert late.deliveries[0].suppressed_by is None
    assert len(notifier.sent) == 1


def test_an_expired_suppression_still_stored_does_not_apply(store: SqliteStore) -> None:
    # GIVEN a suppression whose period ended an hour before the event (still in the store)
    store.add_suppression(_suppression(until=BASE_TIME + HOUR))
    pipeline, notifier = _pipeline(store)
    with freeze_time(BASE_TIME + 2 * HOUR):
        outcome = pipeline.process(parse_record(console_login(identity_type="Root", minutes=90)))
    # THEN the alert is posted
    assert [d.status for d in outcome.deliveries] == [DeliveryStatus.SENT]
    assert len(notifier.sent) == 1


def test_a_replay_of_old_logs_meets_the_suppressions_of_their_time(store: SqliteStore) -> None:
    # GIVEN a suppression of last year's maintenance window, replayed today
    store.add_suppression(_suppression(rule="all", principal=None, account_id=ACCOUNT))
    pipeline, notifier = _pipeline(store)
    with freeze_time(BASE_TIME + timedelta(days=365)):
        inside = pipeline.process(parse_record(console_login(identity_type="Root", minutes=5)))
        after = pipeline.process(parse_record(console_login(identity_type="Root", minutes=125)))
    # THEN the event inside its period is suppressed, the one after it is posted
    assert [d.status for d in inside.deliveries] == [DeliveryStatus.SUPPRESSED]
    assert [d.status for d in after.deliveries] == [DeliveryStatus.SENT]
    assert len(notifier.sent) == 1


def _failure(minutes: float) -> dict[str, Any]:
    return console_login(user="bob", result="Failure", mfa="No", minutes=minutes)


def test_a_suppressed_windowed_alert_keeps_its_window_and_its_failures_still_count(
    store: SqliteStore,
) -> None:
    # GIVEN every alert about bob silenced for his first 10 minutes (threshold 3 in 60 min)
    store.add_suppression(
        _suppression(rule="all", principal="bob", until=BASE_TIME + timedelta(minutes=10))
    )
    pipeline, notifier = _pipeline(store)
    outcomes = [pipeline.process(parse_record(_failure(minute))) for minute in range(4)]
    # THEN the fourth failure (minute 3) raised the alert, claimed and suppressed, not posted
    [suppressed] = outcomes[3].deliveries
    assert (suppressed.alert.rule_id, suppressed.status) == (
        "repeated-failed-sign-ins",
        DeliveryStatus.SUPPRESSED,
    )
    assert notifier.sent == []
    # WHEN a fifth failure comes at minute 20 (past the suppression, inside the window)
    fifth = pipeline.process(parse_record(_failure(20)))
    # THEN the suppressed alert's claim still covers its window: no new alert
    assert fifth.deliveries == []
    assert _claim(store, "repeated-failed-sign-ins")[0] == "suppressed"
    # WHEN bob then signs in at minute 25
    success = pipeline.process(parse_record(console_login(user="bob", minutes=25)))
    # THEN sign-in-after-failures counts the failures of the suppressed alert too, and pages
    [after] = success.deliveries
    assert (after.alert.rule_id, after.status) == ("sign-in-after-failures", DeliveryStatus.SENT)
    assert [e.event_time for e in after.alert.evidence][:4] == [
        BASE_TIME + timedelta(minutes=m) for m in range(4)
    ]
    assert len(notifier.sent) == 1


def test_suppressions_are_read_only_when_an_alert_is_claimed_and_once_per_run(
    store: SqliteStore,
) -> None:
    reads: list[int] = []
    original = store.suppressions

    def counted() -> list[Suppression]:
        reads.append(1)
        return original()

    store.suppressions = counted  # type: ignore[method-assign]
    store.add_suppression(_suppression())
    pipeline, _ = _pipeline(store)
    # GIVEN an event that raises no alert THEN nothing is read
    pipeline.process(parse_record(console_login(mfa="Yes")))
    assert reads == []
    # WHEN two alerts are claimed in one run THEN the suppressions are read once
    pipeline.process(parse_record(console_login(identity_type="Root", minutes=1)))
    pipeline.process(parse_record(console_login(identity_type="Root", minutes=2)))
    assert reads == [1]


def test_a_failed_read_of_the_suppressions_releases_the_claim(tmp_path: Path) -> None:
    # GIVEN a store whose claims are leased (as a live Lambda's are) and whose first read of
    # the suppressions fails
    store = SqliteStore(tmp_path / "leased.db", lease_seconds=30)
    calls: list[int] = []
    original = store.suppressions

    def flaky() -> list[Suppression]:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("store gone")
        return original()

    store.suppressions = flaky  # type: ignore[method-assign]
    pipeline, notifier = _pipeline(store)
    record = console_login(identity_type="Root")
    with pytest.raises(OSError, match="store gone"):
        pipeline.process(parse_record(record))
    assert notifier.sent == []
    # WHEN the event is retried at once
    assert pipeline.suppressions is not None
    pipeline.suppressions.refresh()
    retry = pipeline.process(parse_record(record))
    # THEN the claim was released, not left leased: the retry posts the alert
    assert [d.status for d in retry.deliveries] == [DeliveryStatus.SENT]
    assert len(notifier.sent) == 1
