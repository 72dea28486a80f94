"""The ActivityStore contract: every implementation passes these same tests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from signin_monitor.events import SignInEvent
from signin_monitor.store import ActivityStore, ClaimOutcome, ClaimStatus, HistoryQuery
from tests.factories import (
    ACCOUNT,
    BASE_TIME,
    OTHER_ACCOUNT,
    one_off_alert,
    sign_in,
    windowed_alert,
)
from tests.store.conftest import LEASE_SECONDS, FakeClock

WINDOW = timedelta(minutes=60)


def _failure(minutes: float, **kwargs: object) -> SignInEvent:
    return sign_in(result="Failure", minutes=minutes, **kwargs)


def test_record_stores_an_event_once(store: ActivityStore) -> None:
    event = sign_in()
    assert store.record(event, expires_at=None) is True
    assert store.record(event, expires_at=None) is False
    assert [e.event_id for e in store.history(HistoryQuery(principal="alice"))] == [event.event_id]


def test_history_round_trips_every_field(store: ActivityStore) -> None:
    event = sign_in(mfa=None, user_agent="agent é \u2603")
    store.record(event, expires_at=None)
    (back,) = store.history(HistoryQuery(principal="alice", account_id=ACCOUNT))
    assert back == event
    assert back.raw == event.raw
    assert back.mfa_used is None


def test_history_round_trips_root_hidden_user_and_empty_fields(store: ActivityStore) -> None:
    events = [
        sign_in(identity_type="Root", result="Failure", minutes=0),
        sign_in(user="HIDDEN_DUE_TO_SECURITY_REASONS", result="Failure", minutes=1),
        sign_in(identity_type="AssumedRole", user="sso-user", user_agent="", minutes=2),
    ]
    for event in events:
        store.record(event, expires_at=None)
    for event in events:
        query = HistoryQuery(principal=event.principal, account_id=ACCOUNT)
        (back,) = store.history(query)
        assert back == event
        assert back.raw == event.raw


def test_duplicate_failure_is_counted_once(store: ActivityStore) -> None:
    event = _failure(0)
    store.record(event, expires_at=None)
    store.record(event, expires_at=None)
    count = store.count_failures(
        ACCOUNT, "alice", after=event.event_time - WINDOW, until=event.event_time
    )
    assert count == 1


def test_count_window_excludes_its_start_and_includes_its_end(store: ActivityStore) -> None:
    for minutes in (0, 30, 60, 61):
        store.record(_failure(minutes), expires_at=None)
    end = BASE_TIME + timedelta(minutes=60)
    # (08:00, 09:00] holds 08:30 and 09:00, not 08:00 (start, excluded) nor 09:01 (after).
    assert store.count_failures(ACCOUNT, "alice", after=end - WINDOW, until=end) == 2
    assert (
        store.count_failures(ACCOUNT, "alice", after=end - WINDOW - timedelta(seconds=1), until=end)
        == 3
    )


def test_count_ignores_successes_other_principals_and_accounts(store: ActivityStore) -> None:
    store.record(_failure(1), expires_at=None)
    store.record(sign_in(minutes=2), expires_at=None)
    store.record(_failure(3, user="bob"), expires_at=None)
    store.record(_failure(4, account=OTHER_ACCOUNT), expires_at=None)
    end = BASE_TIME + timedelta(minutes=10)
    assert store.count_failures(ACCOUNT, "alice", after=end - WINDOW, until=end) == 1


def test_count_includes_failures_in_the_same_second(store: ActivityStore) -> None:
    for _ in range(3):
        store.record(_failure(5), expires_at=None)
    end = BASE_TIME + timedelta(minutes=5)
    assert store.count_failures(ACCOUNT, "alice", after=end - WINDOW, until=end) == 3


def test_first_claim_wins_and_a_second_is_suppressed(store: ActivityStore) -> None:
    first = windowed_alert(_failure(0))
    second = windowed_alert(_failure(1))
    assert store.claim_alert(first) is ClaimOutcome.CLAIMED
    assert store.claim_alert(second) is ClaimOutcome.SUPPRESSED


def test_pending_claim_of_the_same_event_is_a_retry(store: ActivityStore, clock: FakeClock) -> None:
    alert = one_off_alert(sign_in(identity_type="Root"))
    assert store.claim_alert(alert) is ClaimOutcome.CLAIMED
    clock.advance(LEASE_SECONDS)
    assert store.claim_alert(alert) is ClaimOutcome.RETRY
    store.mark_alert(alert, ClaimStatus.SENT)
    assert store.claim_alert(alert) is ClaimOutcome.SUPPRESSED


def test_failed_claim_is_not_retried(store: ActivityStore) -> None:
    alert = one_off_alert(sign_in(identity_type="Root"))
    store.claim_alert(alert)
    store.mark_alert(alert, ClaimStatus.FAILED)
    assert store.claim_alert(alert) is ClaimOutcome.SUPPRESSED


def test_windowed_claim_reopens_exactly_when_the_window_has_passed(store: ActivityStore) -> None:
    first = windowed_alert(_failure(0))
    store.claim_alert(first)
    store.mark_alert(first, ClaimStatus.SENT)
    just_inside = windowed_alert(_failure(59.99))
    assert store.claim_alert(just_inside) is ClaimOutcome.SUPPRESSED
    at_edge = windowed_alert(_failure(60))
    assert store.claim_alert(at_edge) is ClaimOutcome.CLAIMED
    assert store.claim_alert(windowed_alert(_failure(61))) is ClaimOutcome.SUPPRESSED


def test_mark_does_not_touch_a_claim_taken_over_by_another_event(
    store: ActivityStore, clock: FakeClock
) -> None:
    old = windowed_alert(_failure(0))
    store.claim_alert(old)
    new = windowed_alert(_failure(90))
    assert store.claim_alert(new) is ClaimOutcome.CLAIMED
    store.mark_alert(old, ClaimStatus.SENT)
    clock.advance(LEASE_SECONDS)
    assert store.claim_alert(new) is ClaimOutcome.RETRY


def test_same_event_claimed_again_within_the_lease_is_busy(
    store: ActivityStore, clock: FakeClock
) -> None:
    # A concurrent duplicate delivery: the first is posting right now, so this one must not.
    alert = one_off_alert(sign_in(identity_type="Root"))
    assert store.claim_alert(alert) is ClaimOutcome.CLAIMED
    clock.advance(LEASE_SECONDS - 1)
    assert store.claim_alert(alert) is ClaimOutcome.BUSY
    assert not ClaimOutcome.BUSY.should_send
    clock.advance(1)
    assert store.claim_alert(alert) is ClaimOutcome.RETRY


def test_a_retry_renews_the_lease(store: ActivityStore, clock: FakeClock) -> None:
    alert = windowed_alert(_failure(0))
    store.claim_alert(alert)
    clock.advance(LEASE_SECONDS)
    assert store.claim_alert(alert) is ClaimOutcome.RETRY
    assert store.claim_alert(alert) is ClaimOutcome.BUSY
    clock.advance(LEASE_SECONDS)
    assert store.claim_alert(alert) is ClaimOutcome.RETRY


def test_a_retry_keeps_the_claim_event_time_for_the_window(
    store: ActivityStore, clock: FakeClock
) -> None:
    first = windowed_alert(_failure(0))
    store.claim_alert(first)
    clock.advance(LEASE_SECONDS)
    assert store.claim_alert(first) is ClaimOutcome.RETRY
    store.mark_alert(first, ClaimStatus.SENT)
    assert store.claim_alert(windowed_alert(_failure(59))) is ClaimOutcome.SUPPRESSED
    assert store.claim_alert(windowed_alert(_failure(60))) is ClaimOutcome.CLAIMED


def test_sent_claim_of_the_same_event_stays_suppressed_after_the_lease(
    store: ActivityStore, clock: FakeClock
) -> None:
    alert = one_off_alert(sign_in(identity_type="Root"))
    store.claim_alert(alert)
    store.mark_alert(alert, ClaimStatus.SENT)
    clock.advance(10 * LEASE_SECONDS)
    assert store.claim_alert(alert) is ClaimOutcome.SUPPRESSED


def test_history_by_account_source_ip_and_time_range(store: ActivityStore) -> None:
    events = [
        sign_in(minutes=0),
        sign_in(minutes=10, user="bob", source_ip="203.0.113.9"),
        sign_in(minutes=24 * 60, source_ip="203.0.113.9"),
        sign_in(minutes=5, account=OTHER_ACCOUNT),
        _failure(20),
    ]
    for event in events:
        store.record(event, expires_at=None)
    by_account = [
        e.event_id for e in store.history(HistoryQuery(account_id=ACCOUNT, since=BASE_TIME))
    ]
    assert by_account == [
        events[0].event_id,
        events[1].event_id,
        events[4].event_id,
        events[2].event_id,
    ]
    by_ip = [e.event_id for e in store.history(HistoryQuery(source_ip="203.0.113.9"))]
    assert by_ip == [events[1].event_id, events[2].event_id]
    day_one = store.history(
        HistoryQuery(principal="alice", account_id=ACCOUNT, until=BASE_TIME + timedelta(hours=1))
    )
    assert [e.event_id for e in day_one] == [events[0].event_id, events[4].event_id]
    later = store.history(HistoryQuery(principal="alice", since=BASE_TIME + timedelta(minutes=1)))
    assert [e.event_id for e in later] == [
        events[3].event_id,
        events[4].event_id,
        events[2].event_id,
    ]
    across_accounts = store.history(HistoryQuery(principal="alice"))
    assert [e.event_id for e in across_accounts] == [
        events[0].event_id,
        events[3].event_id,
        events[4].event_id,
        events[2].event_id,
    ]


def test_history_leaves_out_expired_events(store: ActivityStore) -> None:
    kept = sign_in(minutes=0)
    expired = sign_in(minutes=1)
    store.record(kept, expires_at=2_000_000_000)
    store.record(expired, expires_at=1_000)
    found = store.history(HistoryQuery(principal="alice", now_epoch=1_500_000_000))
    assert [e.event_id for e in found] == [kept.event_id]


def test_history_by_account_alone_needs_a_start(store: ActivityStore) -> None:
    store.record(sign_in(), expires_at=None)
    with pytest.raises(ValueError, match="since"):
        list(store.history(HistoryQuery(account_id=ACCOUNT)))
    with pytest.raises(ValueError, match="principal, an account or a source IP"):
        list(store.history(HistoryQuery(since=BASE_TIME)))


def test_history_by_account_reads_every_day_of_a_range(store: ActivityStore) -> None:
    events = [sign_in(minutes=day * 24 * 60 + 1) for day in range(-1, 4)]
    for event in reversed(events):
        store.record(event, expires_at=None)
    found = store.history(
        HistoryQuery(
            account_id=ACCOUNT,
            since=events[1].event_time,
            until=events[3].event_time,
        )
    )
    assert [e.event_id for e in found] == [e.event_id for e in events[1:4]]


def test_history_time_bounds_are_inclusive_to_the_second(store: ActivityStore) -> None:
    at_start, inside, at_end = (sign_in(minutes=m) for m in (10, 15, 20))
    before, after = sign_in(minutes=9.99), sign_in(minutes=20.02)
    for event in (before, at_start, inside, at_end, after):
        store.record(event, expires_at=None)
    since = BASE_TIME + timedelta(minutes=10, microseconds=500)
    until = BASE_TIME + timedelta(minutes=20, microseconds=500)
    expected = [at_start.event_id, inside.event_id, at_end.event_id]
    for query in (
        HistoryQuery(principal="alice", account_id=ACCOUNT, since=since, until=until),
        HistoryQuery(principal="alice", since=since, until=until),
        HistoryQuery(source_ip="198.51.100.7", since=since, until=until),
        HistoryQuery(account_id=ACCOUNT, since=since, until=until),
    ):
        assert [e.event_id for e in store.history(query)] == expected, query


def test_history_combines_filters(store: ActivityStore) -> None:
    mine = sign_in(minutes=1)
    store.record(mine, expires_at=None)
    store.record(sign_in(minutes=2, source_ip="203.0.113.9"), expires_at=None)
    store.record(sign_in(minutes=3, user="bob"), expires_at=None)
    elsewhere = sign_in(minutes=4, account=OTHER_ACCOUNT)
    store.record(elsewhere, expires_at=None)
    mine_only = HistoryQuery(principal="alice", account_id=ACCOUNT, source_ip="198.51.100.7")
    assert [e.event_id for e in store.history(mine_only)] == [mine.event_id]
    alice_from_ip = HistoryQuery(principal="alice", source_ip="198.51.100.7")
    assert [e.event_id for e in store.history(alice_from_ip)] == [
        mine.event_id,
        elsewhere.event_id,
    ]
    ip_in_account = HistoryQuery(source_ip="198.51.100.7", account_id=ACCOUNT)
    assert len(list(store.history(ip_in_account))) == 2


def test_history_orders_failures_and_successes_of_one_principal_by_time(
    store: ActivityStore,
) -> None:
    events = [_failure(0), sign_in(minutes=1), _failure(2), sign_in(minutes=2)]
    for event in events:
        store.record(event, expires_at=None)
    found = store.history(HistoryQuery(principal="alice", account_id=ACCOUNT))
    same_second = sorted([events[2], events[3]], key=lambda e: e.event_id)
    assert [e.event_id for e in found] == [e.event_id for e in [events[0], events[1], *same_second]]


def test_a_released_claim_is_retried_at_once(store: ActivityStore) -> None:
    # GIVEN a claim whose post failed transiently and was released (marked pending again)
    alert = one_off_alert(sign_in(identity_type="Root"))
    assert store.claim_alert(alert) is ClaimOutcome.CLAIMED
    store.mark_alert(alert, ClaimStatus.PENDING)
    # WHEN the event is delivered again, well within the lease
    # THEN the retry owns the post, and a concurrent duplicate of it does not
    assert store.claim_alert(alert) is ClaimOutcome.RETRY
    assert store.claim_alert(alert) is ClaimOutcome.BUSY


def test_failures_between_excludes_both_bounds_and_reads_failures_only(
    store: ActivityStore,
) -> None:
    events = [_failure(m) for m in (-60, -59, 0, 0, 59, 60)]
    for event in events:
        store.record(event, expires_at=None)
    store.record(sign_in(minutes=1), expires_at=None)
    store.record(_failure(2, user="bob"), expires_at=None)
    found = store.failures_between(
        ACCOUNT, "alice", after=BASE_TIME - WINDOW, before=BASE_TIME + WINDOW
    )
    same_second = sorted(events[2:4], key=lambda e: e.event_id)
    assert [e.event_id for e in found] == [e.event_id for e in [events[1], *same_second, events[4]]]
    assert found[0].principal == "alice"
    assert found[0].event_time == events[1].event_time


def test_a_windowed_claim_checks_both_directions(store: ActivityStore) -> None:
    # GIVEN a claim anchored at 08:30
    store.claim_alert(windowed_alert(_failure(30)))
    # THEN anchors less than a window before or after it are covered; a window away are not
    for minutes in (-29.5, 0, 59, 89.5):
        assert store.claim_alert(windowed_alert(_failure(minutes))) is ClaimOutcome.SUPPRESSED
    assert store.claim_alert(windowed_alert(_failure(90))) is ClaimOutcome.CLAIMED
    assert store.claim_alert(windowed_alert(_failure(-30))) is ClaimOutcome.CLAIMED


def test_a_windowed_claim_of_the_same_anchor_within_the_lease_is_busy(
    store: ActivityStore, clock: FakeClock
) -> None:
    alert = windowed_alert(_failure(0))
    assert store.claim_alert(alert) is ClaimOutcome.CLAIMED
    assert store.claim_alert(alert) is ClaimOutcome.BUSY
    clock.advance(LEASE_SECONDS)
    assert store.claim_alert(alert) is ClaimOutcome.RETRY
    store.mark_alert(alert, ClaimStatus.SENT)
    assert store.claim_alert(alert) is ClaimOutcome.SUPPRESSED
