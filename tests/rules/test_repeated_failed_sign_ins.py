"""repeated-failed-sign-ins: the window's boundaries, grouping and the pipeline's one-per-window."""

from __future__ import annotations

from datetime import timedelta

from signin_monitor.events import SignInEvent
from signin_monitor.rules import RepeatedFailedSignIns
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import OTHER_ACCOUNT, sign_in

WINDOW = timedelta(minutes=60)
RULE = RepeatedFailedSignIns(threshold=3, window=WINDOW)


def _failures(store: SqliteStore, minutes: list[float], **kwargs: object) -> list[SignInEvent]:
    events = [sign_in(result="Failure", minutes=m, **kwargs) for m in minutes]
    for event in events:
        store.record(event, expires_at=None)
    return events


def test_exactly_threshold_failures_do_not_fire() -> None:
    store = SqliteStore()
    events = _failures(store, [0, 1, 2])
    assert RULE.evaluate(events[-1], store) is None


def test_one_more_than_threshold_fires_with_the_count() -> None:
    store = SqliteStore()
    events = _failures(store, [0, 1, 2, 3])
    alert = RULE.evaluate(events[-1], store)
    assert alert is not None
    assert alert.failure_count == 4
    assert alert.scope == "111122223333#alice"
    assert alert.window == WINDOW


def test_failure_just_inside_the_window_counts() -> None:
    store = SqliteStore()
    events = _failures(store, [0.02, 20, 40, 60])  # 08:00:01 is inside (08:00:00, 09:00:00]
    assert RULE.evaluate(events[-1], store) is not None


def test_failure_exactly_one_window_earlier_is_outside() -> None:
    store = SqliteStore()
    events = _failures(store, [0, 20, 40, 60])  # 08:00:00 is the open start of the window
    assert RULE.evaluate(events[-1], store) is None


def test_later_failures_are_not_counted_for_an_earlier_one() -> None:
    store = SqliteStore()
    events = _failures(store, [0, 1, 2, 3])
    store.record(sign_in(result="Failure", minutes=-1), expires_at=None)
    # (07:01, 08:01] holds -1, 0 and 1 only: the window of the failure at 1 stays below the
    # threshold; the ones this (late) delivery completes end at 2 (4 failures) and 3 (5).
    alert = RULE.evaluate(events[1], store)
    assert alert is not None
    assert [a.event.event_id for a in alert.candidates] == [e.event_id for e in events[2:]]
    assert [a.failure_count for a in alert.candidates] == [4, 5]


def test_successes_do_not_count_and_do_not_fire() -> None:
    store = SqliteStore()
    _failures(store, [0, 1, 2])
    success = sign_in(minutes=3)
    store.record(success, expires_at=None)
    assert RULE.evaluate(success, store) is None


def test_failures_of_other_principals_and_accounts_are_separate() -> None:
    store = SqliteStore()
    _failures(store, [0, 1])
    _failures(store, [2], user="bob")
    events = _failures(store, [3], account=OTHER_ACCOUNT)
    assert RULE.evaluate(events[-1], store) is None


def test_hidden_user_names_are_grouped_by_source_ip() -> None:
    store = SqliteStore()
    hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"
    _failures(store, [0, 1], user=hidden, source_ip="203.0.113.5")
    _failures(store, [2], user=hidden, source_ip="203.0.113.6")
    events = _failures(store, [3, 4], user=hidden, source_ip="203.0.113.5")
    alert = RULE.evaluate(events[-1], store)
    assert alert is not None
    assert alert.event.principal == "unknown-user:203.0.113.5"
    assert alert.failure_count == 4


def test_root_failures_count_under_the_root_principal() -> None:
    store = SqliteStore()
    events = _failures(store, [0, 1, 2, 3], identity_type="Root")
    alert = RULE.evaluate(events[-1], store)
    assert alert is not None
    assert alert.scope == "111122223333#root"


def test_threshold_is_configurable() -> None:
    store = SqliteStore()
    events = _failures(store, [0, 1])
    assert RepeatedFailedSignIns(threshold=1, window=WINDOW).evaluate(events[-1], store) is not None


def test_a_late_failure_raises_for_the_anchors_it_completes_in_key_order() -> None:
    # GIVEN stored failures, two of them in one second (ids out of order), and a failure
    # delivered late, in that second too, with an id sorting after theirs
    store = SqliteStore()
    at = {"a": 0, "b": 1, "z": 2, "y": 2, "c": 3, "d": 4}
    stored = [sign_in(result="Failure", minutes=m, event_id=f"e-{n}") for n, m in at.items()]
    for event in stored:
        store.record(event, expires_at=None)
    late = sign_in(result="Failure", minutes=2, event_id="e-zz")
    store.record(late, expires_at=None)
    # WHEN it is evaluated
    alert = RULE.evaluate(late, store)
    # THEN one alert, for the anchors from its time on that pass the threshold: the late
    # event first among its second, then by id, then later ones, each with its own count
    assert alert is not None
    assert [(c.event.event_id, c.failure_count) for c in alert.candidates] == [
        ("e-zz", 5),
        ("e-y", 5),
        ("e-z", 5),
        ("e-c", 6),
        ("e-d", 7),
    ]
