"""History by account alone across UTC midnight, on both stores.

DynamoDB answers an account-alone audit from the by-account-day index, one partition per UTC
day: a range crossing midnight must read both days and return them in time order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from signin_monitor.events import SignInEvent
from signin_monitor.store import ActivityStore, HistoryQuery
from tests.factories import ACCOUNT, OTHER_ACCOUNT, sign_in

MIDNIGHT = datetime(2026, 11, 3, 0, 0, 0, tzinfo=UTC)
STORED = (-120, -45, -1, 0, 1, 50, 120)  # seconds from midnight


def _at(seconds: int, account: str = ACCOUNT) -> SignInEvent:
    return sign_in(at=MIDNIGHT + timedelta(seconds=seconds), account=account)


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        (-60, 60, [-45, -1, 0, 1, 50]),
        (-1, 0, [-1, 0]),
        (-30, None, [-1, 0, 1, 50, 120]),
    ],
    ids=["a minute either side", "the last second and midnight itself", "open-ended"],
)
def test_an_account_range_across_midnight_returns_both_days_in_order(
    store: ActivityStore, since: int, until: int | None, expected: list[int]
) -> None:
    # GIVEN events on both sides of midnight, stored newest first, and another account's
    for seconds in reversed(STORED):
        store.record(_at(seconds), expires_at=None)
    store.record(_at(0, account=OTHER_ACCOUNT), expires_at=None)
    # WHEN the account is audited over a range that crosses midnight
    query = HistoryQuery(
        account_id=ACCOUNT,
        since=MIDNIGHT + timedelta(seconds=since),
        until=None if until is None else MIDNIGHT + timedelta(seconds=until),
    )
    found = list(store.history(query))
    # THEN both days' events come back, oldest first, and only this account's
    assert [e.event_time for e in found] == [MIDNIGHT + timedelta(seconds=s) for s in expected]
    assert {e.account_id for e in found} == {ACCOUNT}
