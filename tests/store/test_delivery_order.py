"""Windowed alerts in any delivery order, through the real pipeline, on both stores (design §3.2).

Live delivery is not ordered: a burst's failures can arrive in any order, so a late failure
must raise the alert of the window it completes (anchored at another, stored failure), and an
alert must suppress only the anchors within a window of it, before or after. The one allowed
difference from the time-ordered alerts: a message already sent is not recalled when a record
that would have suppressed it arrives later. Sorted input (replay) gives exactly the alerts of
the chronological rule, checked against a reference written here from design §3.
"""

from __future__ import annotations

import itertools
import random
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest

from signin_monitor.app import CollectingNotifier, build_pipeline
from signin_monitor.config import Settings
from signin_monitor.events import SignInEvent
from signin_monitor.pipeline import Pipeline
from signin_monitor.store import ActivityStore, ClaimOutcome
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import BASE_TIME, sign_in, windowed_alert

WINDOW = timedelta(minutes=60)
THRESHOLD = 3
REPEATED = "repeated-failed-sign-ins"
ROOT = "root-sign-in"


def _pipeline(store: ActivityStore) -> tuple[Pipeline, CollectingNotifier]:
    notifier = CollectingNotifier()
    # The rules of design §3 only: the bursts here come from one address under many user names,
    # which password-spray (§3.2, tested on its own) would also report.
    settings = Settings(alert_rules=(ROOT, "sign-in-without-mfa", REPEATED))
    return build_pipeline(settings, store=store, notifier=notifier), notifier


def _failures(
    minutes: list[float], *, user: str | None = None, **kwargs: object
) -> list[SignInEvent]:
    name = user or f"user-{uuid.uuid4().hex[:8]}"
    return [sign_in(result="Failure", user=name, minutes=m, **kwargs) for m in minutes]


@dataclass(frozen=True, slots=True)
class Raised:
    """One alert the pipeline sent: its rule, anchor and count."""

    rule_id: str
    event: SignInEvent
    failure_count: int | None


def _deliver(pipeline: Pipeline, events: list[SignInEvent]) -> list[Raised]:
    raised = []
    for event in events:
        for delivery in pipeline.process(event).deliveries:
            alert = delivery.alert
            raised.append(Raised(alert.rule_id, alert.event, alert.failure_count))
    return raised


def test_failures_delivered_0_3_9_6_alert_once_for_the_window_ending_at_9(
    store: ActivityStore,
) -> None:
    # GIVEN four failures within nine minutes (threshold 3)
    pipeline, notifier = _pipeline(store)
    at = dict(zip((0, 3, 6, 9), _failures([0, 3, 6, 9]), strict=True))
    # WHEN they arrive at minutes 0, 3, 9 and then 6
    raised = _deliver(pipeline, [at[0], at[3], at[9], at[6]])
    # THEN the late failure raises the alert of the window it completed, anchored at minute 9
    assert [(r.rule_id, r.event.event_id, r.failure_count) for r in raised] == [
        (REPEATED, at[9].event_id, 4)
    ]
    assert len(notifier.sent) == 1
    assert at[9].event_id in str(notifier.sent[0])


def test_a_burst_in_one_second_alerts_on_the_failure_that_completed_it(
    store: ActivityStore,
) -> None:
    # GIVEN four failures in the same second, the last delivered with the highest id
    pipeline, _ = _pipeline(store)
    burst = [
        sign_in(result="Failure", user="frank", event_id=f"00000000-0000-0000-0000-00000000000{i}")
        for i in range(1, 5)
    ]
    # WHEN they arrive in order THEN the alert is the fourth's, as in time-ordered replay
    assert [r.event.event_id for r in _deliver(pipeline, burst)] == [burst[3].event_id]


def test_every_arrival_order_of_a_burst_gives_exactly_one_alert(store: ActivityStore) -> None:
    pipeline, notifier = _pipeline(store)
    for order in itertools.permutations(range(4)):
        # GIVEN a burst of four failures of a principal of its own
        burst = _failures([0, 2, 5, 7])
        # WHEN they arrive in this order THEN exactly one alert, for the whole burst
        raised = _deliver(pipeline, [burst[i] for i in order])
        assert [(r.rule_id, r.failure_count) for r in raised] == [(REPEATED, 4)], order
        assert raised[0].event.event_id == burst[3].event_id, order
    assert len(notifier.sent) == 24


def test_an_older_burst_arriving_after_a_newer_ones_alert_gets_its_own(
    store: ActivityStore,
) -> None:
    # GIVEN a burst at 10:00 that alerted, then a burst at 08:00 that arrives late
    pipeline, _ = _pipeline(store)
    newer = _failures([120, 121, 122, 123], user="carol")
    older = _failures([0, 1, 2, 3], user="carol")
    assert [r.event.event_id for r in _deliver(pipeline, newer)] == [newer[3].event_id]
    # WHEN the older burst, more than a window before, is delivered
    raised = _deliver(pipeline, older)
    # THEN it raises its own alert: the newer claim does not cover it
    assert [r.event.event_id for r in raised] == [older[3].event_id]


def test_an_older_burst_within_the_window_of_a_sent_alert_is_covered(
    store: ActivityStore,
) -> None:
    # GIVEN a burst at 08:40 that alerted
    pipeline, _ = _pipeline(store)
    newer = _failures([40, 41, 42, 43], user="dave")
    assert len(_deliver(pipeline, newer)) == 1
    # WHEN an older burst at 08:00, less than a window before, arrives late
    older = _failures([0, 1, 2, 3], user="dave")
    # THEN the sent alert covers it (the allowed difference: in time order the older one would
    # have alerted and covered the newer; a message sent is not recalled)
    assert _deliver(pipeline, older) == []


def test_a_late_failure_alerts_on_the_first_anchor_the_earlier_alert_leaves_uncovered(
    store: ActivityStore,
) -> None:
    # GIVEN a burst at 08:00-08:03 that alerted (anchor 08:03), and failures at 09:02-09:04
    pipeline, _ = _pipeline(store)
    early = _failures([0, 1, 2, 3], user="erin")
    later = _failures([62, 63, 64], user="erin")
    assert [r.event.event_id for r in _deliver(pipeline, early + later)] == [early[3].event_id]
    # WHEN a failure at 08:30 arrives late: it completes the windows ending at 08:30 (covered
    # by the 08:03 alert) and at 09:04 (holding 08:30 and 09:02-09:04, 61 minutes after it)
    raised = _deliver(pipeline, _failures([30], user="erin"))
    # THEN it alerts for 09:04, the first anchor no alert lies within a window of
    assert [(r.event.event_id, r.failure_count) for r in raised] == [(later[2].event_id, 4)]


def test_root_failures_in_reverse_order_more_than_a_window_apart_alert_twice(
    store: ActivityStore,
) -> None:
    pipeline, _ = _pipeline(store)
    later, earlier = (sign_in(identity_type="Root", result="Failure", minutes=m) for m in (90, 0))
    raised = [r for r in _deliver(pipeline, [later, earlier]) if r.rule_id == ROOT]
    assert [r.event.event_id for r in raised] == [later.event_id, earlier.event_id]


def test_root_failures_in_reverse_order_within_a_window_alert_once(store: ActivityStore) -> None:
    pipeline, _ = _pipeline(store)
    later, earlier = (sign_in(identity_type="Root", result="Failure", minutes=m) for m in (50, 0))
    raised = [r for r in _deliver(pipeline, [later, earlier]) if r.rule_id == ROOT]
    assert [r.event.event_id for r in raised] == [later.event_id]


def test_a_windowed_claim_is_refused_by_a_later_claim_within_the_window(
    store: ActivityStore,
) -> None:
    # The claim compares event times in both directions, on the claim itself.
    later = windowed_alert(sign_in(result="Failure", minutes=59))
    assert store.claim_alert(later) is ClaimOutcome.CLAIMED
    assert store.claim_alert(windowed_alert(sign_in(result="Failure", minutes=0))) is (
        ClaimOutcome.SUPPRESSED
    )
    assert store.claim_alert(windowed_alert(sign_in(result="Failure", minutes=-1))) is (
        ClaimOutcome.CLAIMED
    )
    assert store.claim_alert(windowed_alert(sign_in(result="Failure", minutes=119))) is (
        ClaimOutcome.CLAIMED
    )


def test_claim_window_takes_the_first_anchor_no_alert_covers(store: ActivityStore) -> None:
    # GIVEN an alert claimed at 08:00
    store.claim_alert(windowed_alert(sign_in(result="Failure", minutes=0)))
    # WHEN a delivery proposes anchors at 08:30, 09:00 and 09:10
    first, *later = (windowed_alert(sign_in(result="Failure", minutes=m)) for m in (30, 60, 70))
    claimed, outcome = store.claim_window(replace(first, later_anchors=tuple(later)))
    # THEN 08:30 is covered and 09:00, exactly one window later, is claimed
    assert outcome is ClaimOutcome.CLAIMED
    assert claimed.event.event_id == later[0].event.event_id


# --- random bursts in random orders -----------------------------------------------------------


def _reference(events: list[SignInEvent]) -> list[str]:
    """The chronological rule of design §3, written out: the anchors it alerts on, in order.

    In time order, a failure alerts when the failures so far in (t - W, t] exceed the threshold
    and no alert was raised in (t - W, t].
    """
    ordered = sorted(events, key=lambda e: e.event_time)
    alerts: list[SignInEvent] = []
    for index, event in enumerate(ordered):
        seen = ordered[: index + 1]
        count = sum(1 for e in seen if event.event_time - WINDOW < e.event_time)
        if count > THRESHOLD and not (alerts and alerts[-1].event_time > event.event_time - WINDOW):
            alerts.append(event)
    return [a.event_id for a in alerts]


def _qualifying(events: list[SignInEvent]) -> list[datetime]:
    """Every anchor: a failure whose window (f - W, f] holds more than the threshold."""
    return [
        f.event_time
        for f in events
        if sum(1 for e in events if f.event_time - WINDOW < e.event_time <= f.event_time)
        > THRESHOLD
    ]


def _random_case(rng: random.Random) -> list[float]:
    """Minutes of 4-12 failures: clustered bursts spread over up to five hours."""
    minutes: list[float] = []
    for _ in range(rng.randint(1, 3)):
        start = rng.uniform(0, 240)
        minutes += [
            start + rng.uniform(0, rng.choice((10, 45, 90))) for _ in range(rng.randint(2, 6))
        ]
    return [round(m, 2) for m in minutes]


@pytest.mark.parametrize("seed", range(3))
def test_random_failures_in_random_orders_keep_the_window_promises(
    store: ActivityStore, seed: int
) -> None:
    rng = random.Random(seed)
    pipeline, _ = _pipeline(store)
    # moto copies the whole table for every transaction: fewer cases there, same promises.
    cases = 8 if isinstance(store, SqliteStore) else 3
    for case in range(cases):
        minutes = _random_case(rng)
        user = f"prop-{seed}-{case}"
        # GIVEN the same failures delivered in time order, and (another principal) shuffled
        in_order = _failures(sorted(minutes), user=f"{user}-sorted")
        shuffled = _failures(minutes, user=f"{user}-shuffled")
        rng.shuffle(shuffled)
        # THEN time order gives exactly the chronological rule's alerts
        sorted_alerts = [r.event.event_id for r in _deliver(pipeline, in_order)]
        assert sorted_alerts == _reference(in_order), (seed, case, minutes)
        # AND any order: no two alerts within a window, each on a real anchor, and every
        # anchor has an alert within a window of it
        raised = [r.event.event_time for r in _deliver(pipeline, shuffled)]
        anchors = _qualifying(shuffled)
        times = sorted(raised)
        assert all(b - a >= WINDOW for a, b in itertools.pairwise(times)), (seed, case, minutes)
        assert set(times) <= set(anchors), (seed, case, minutes)
        assert all(any(abs(f - a) < WINDOW for a in times) for f in anchors), (seed, case)


def test_reference_matches_the_documented_examples() -> None:
    # The reference itself: 10 failures in 5 minutes alert once on the 4th; steady failures
    # every 10 minutes for 130 minutes alert on the 4th (08:30) and at 09:30.
    burst = _failures([i * 0.5 for i in range(10)])
    assert _reference(burst) == [burst[3].event_id]
    steady = _failures([i * 10 for i in range(14)])
    assert _reference(steady) == [steady[3].event_id, steady[9].event_id]
    assert BASE_TIME + timedelta(minutes=90) == steady[9].event_time
