"""The rules' early exits decide exactly what their full reading decides.

``repeated-failed-sign-ins`` and ``password-spray`` stop before sorting their window when its
size (or its principals) cannot reach the threshold, and the sign-in rules test plain fields
before anything else: replay runs them on every sign-in. Here each is compared with the full
reading (the code as it was before the exits, kept below as the reference) on windows a
store could return, with and without the processed event among them, at the thresholds'
edges; and the edges are pinned by hand.
"""

from __future__ import annotations

import bisect
import dataclasses
import random
from datetime import datetime, timedelta

import pytest

from signin_monitor.alerts import Alert
from signin_monitor.events import SignInEvent
from signin_monitor.rules import (
    MfaChallengeFailed,
    PasswordSpray,
    RepeatedFailedSignIns,
    RootSignIn,
    SignInWithoutMfa,
)
from signin_monitor.rules.base import first_with_later
from tests.factories import BASE_TIME, activity, api_call, sign_in

WINDOW = timedelta(minutes=60)
PRINCIPALS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace")


class _Window:
    """A history answering the one window read with the rows given (as a store orders them);
    it holds no successes."""

    def __init__(self, rows: list[SignInEvent]) -> None:
        self.rows = sorted(rows, key=lambda row: (row.event_time, row.event_id))

    def count_failures(
        self, account_id: str, principal: str, *, after: datetime, until: datetime
    ) -> int:
        return len(self.rows)

    def failures_between(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        return list(self.rows)

    def has_console_sign_in(
        self, account_id: str, principal: str, *, after: datetime, until: datetime
    ) -> bool:
        return False

    def failures_from_source(
        self, account_id: str, source_ip: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        return list(self.rows)

    def successes_between(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        return []

    def last_success(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> SignInEvent | None:
        return None

    def has_success_from_network(
        self, account_id: str, principal: str, network: str, *, after: datetime, before: datetime
    ) -> bool:
        return False


def _reference_repeated(
    rule: RepeatedFailedSignIns, event: SignInEvent, stored: list[SignInEvent]
) -> Alert | None:
    failures = [f for f in stored if f.event_id != event.event_id]
    failures.append(event)
    times = sorted([f.event_time for f in failures])
    anchors = [f for f in failures if f.event_time >= event.event_time]
    anchors.sort(key=lambda f: (f.event_time, f.event_id != event.event_id, f.event_id))
    alerts = []
    for anchor in anchors:
        end = anchor.event_time
        count = bisect.bisect_right(times, end) - bisect.bisect_right(times, end - rule.window)
        if count > rule.threshold:
            alerts.append(rule._alert(anchor, count))
    return first_with_later(alerts)


def _reference_spray(
    rule: PasswordSpray, event: SignInEvent, stored: list[SignInEvent]
) -> Alert | None:
    failures = [f for f in stored if f.event_id != event.event_id]
    failures.append(event)
    failures.sort(key=lambda f: (f.event_time, f.event_id != event.event_id, f.event_id))
    alerts = []
    for anchor in failures:
        if anchor.event_time < event.event_time:
            continue
        tried = [
            f
            for f in failures
            if anchor.event_time - rule.window < f.event_time <= anchor.event_time
        ]
        if len({f.principal for f in tried}) > rule.principals:
            alerts.append(rule._alert(anchor, tried))
    return first_with_later(alerts)


def _failure(base: SignInEvent, number: int, moment: datetime, principal: str) -> SignInEvent:
    return dataclasses.replace(
        base, event_id=f"id-{number:04d}", event_time=moment, principal=principal
    )


def _window(rng: random.Random, size: int) -> tuple[SignInEvent, list[SignInEvent]]:
    """A failure at BASE_TIME and the failures a read of (t - window, t + window) returns:
    a few principals, times on few seconds (ties), the event itself in most windows."""
    base = sign_in(result="Failure", at=BASE_TIME)
    event = _failure(base, 0, BASE_TIME, rng.choice(PRINCIPALS[:3]))
    steps = int(WINDOW.total_seconds()) // 600
    rows = [
        _failure(
            base,
            number,
            BASE_TIME + timedelta(seconds=600 * rng.randrange(-steps + 1, steps)),
            rng.choice(PRINCIPALS),
        )
        for number in range(1, size + 1)
    ]
    if rng.random() < 0.7:
        rows.append(event)
    return event, rows


@pytest.mark.parametrize("seed", range(300))
def test_repeated_failures_decide_as_the_full_reading(seed: int) -> None:
    rng = random.Random(seed)
    rule = RepeatedFailedSignIns(threshold=rng.choice((1, 3, 5)), window=WINDOW)
    event, rows = _window(rng, rng.randrange(0, 9))
    history = _Window(rows)
    assert rule.evaluate(event, history) == _reference_repeated(rule, event, history.rows)


@pytest.mark.parametrize("seed", range(300))
def test_password_spray_decides_as_the_full_reading(seed: int) -> None:
    rng = random.Random(seed)
    rule = PasswordSpray(principals=rng.choice((1, 3, 5)), window=WINDOW)
    event, rows = _window(rng, rng.randrange(0, 12))
    history = _Window(rows)
    assert rule.evaluate(event, history) == _reference_spray(rule, event, history.rows)


def test_threshold_stored_failures_without_the_event_fire_with_it() -> None:
    # GIVEN a window read holding exactly ``threshold`` other failures, not the event itself
    rule = RepeatedFailedSignIns(threshold=3, window=WINDOW)
    base = sign_in(result="Failure", at=BASE_TIME)
    others = [_failure(base, n, BASE_TIME - timedelta(minutes=n), "alice") for n in (1, 2, 3)]
    event = _failure(base, 0, BASE_TIME, "alice")
    # WHEN the event is judged, THEN it is the fourth failure: over the threshold
    alert = rule.evaluate(event, _Window(others))
    assert alert is not None
    assert alert.failure_count == 4
    # ... and with one failure fewer it is not
    assert rule.evaluate(event, _Window(others[:2])) is None


def test_a_new_principal_over_as_many_stored_ones_as_allowed_is_a_spray() -> None:
    # GIVEN failures from the address of exactly ``principals`` principals, the event not among them
    rule = PasswordSpray(principals=5, window=WINDOW)
    base = sign_in(result="Failure", at=BASE_TIME)
    others = [
        _failure(base, n, BASE_TIME - timedelta(minutes=n), PRINCIPALS[n]) for n in range(1, 6)
    ]
    # WHEN a failure of a sixth principal is judged, THEN it is a spray
    alert = rule.evaluate(_failure(base, 0, BASE_TIME, PRINCIPALS[0]), _Window(others))
    assert alert is not None
    assert alert.failure_count == 6
    # ... but not when it is one of the five, however many failures there are
    again = [*others, _failure(base, 7, BASE_TIME - timedelta(minutes=7), PRINCIPALS[2])]
    assert rule.evaluate(_failure(base, 0, BASE_TIME, PRINCIPALS[1]), _Window(again)) is None


def test_the_sign_in_rules_still_tell_sign_ins_from_api_calls() -> None:
    # GIVEN API calls shaped like the sign-ins each rule alerts on (live runs every rule on
    # every event: only replay picks the rules by name first)
    root_call = dataclasses.replace(
        activity(api_call(identity_type="Root")), result="Failure", mfa_used=True
    )
    user_call = dataclasses.replace(
        activity(
            api_call("CreateAccessKey", event_source="iam.amazonaws.com", identity_type="IAMUser")
        ),
        result="Success",
        mfa_used=False,
    )
    failed_call = dataclasses.replace(user_call, result="Failure", mfa_used=True)
    # WHEN the rules judge them, THEN none alerts
    nothing = _Window([])
    assert RootSignIn(window=WINDOW).evaluate(root_call, nothing) is None
    assert SignInWithoutMfa().evaluate(user_call, nothing) is None
    assert MfaChallengeFailed(window=WINDOW).evaluate(failed_call, nothing) is None
    assert MfaChallengeFailed(window=WINDOW).evaluate(root_call, nothing) is None
    assert RepeatedFailedSignIns(threshold=0, window=WINDOW).evaluate(failed_call, nothing) is None
    assert PasswordSpray(principals=0, window=WINDOW).evaluate(failed_call, nothing) is None
    # ... while the same fields on a sign-in do
    assert RootSignIn(window=WINDOW).evaluate(sign_in(identity_type="Root"), nothing) is not None
