"""``MemoryStore``: an ``ActivityStore`` in plain dicts, so a figure can time our code alone.

Why a fake and not only ``SqliteStore(":memory:")``: SQLite's own work (SQL, B-tree pages, the
store's JSON of the raw record) is part of the SQLite row, not of parsing and rules. This store
does the least the contract needs - a set of keys, a sorted list of failure times, a dict of
claims - so the per-event figure with it is (almost) only parse + normalize + pipeline + rules.

It follows the contract's decisions (duplicates stored once; claim, retry, suppress, windowed
re-claim), without leases, expiry or history filters: the benchmark never exercises those.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from signin_monitor.alerts import Alert
from signin_monitor.events import SignInEvent
from signin_monitor.store import ClaimOutcome, ClaimStatus, HistoryQuery

__all__ = ["MemoryStore"]


@dataclass(slots=True)
class _Claim:
    event_id: str
    event_time: datetime
    status: ClaimStatus


class MemoryStore:
    """An in-process ``ActivityStore`` with no I/O and no serialization."""

    def __init__(self) -> None:
        self._events: dict[tuple[str, str, str], SignInEvent] = {}
        self._failures: dict[tuple[str, str], list[datetime]] = {}
        self._claims: dict[tuple[str, str], _Claim] = {}

    def record(self, event: SignInEvent, *, expires_at: int | None) -> bool:
        """Keep the event once, keyed like the DynamoDB item (account, principal, event id)."""
        key = (event.account_id, event.principal, event.event_id)
        if key in self._events:
            return False
        self._events[key] = event
        if event.is_failed_console_login:
            times = self._failures.setdefault((event.account_id, event.principal), [])
            bisect.insort(times, event.event_time)
        return True

    def count_failures(
        self, account_id: str, principal: str, *, after: datetime, until: datetime
    ) -> int:
        """Failures with ``after < eventTime <= until``, by bisection."""
        times = self._failures.get((account_id, principal), [])
        return bisect.bisect_right(times, until) - bisect.bisect_right(times, after)

    def claim_alert(self, alert: Alert) -> ClaimOutcome:
        """The claim rule of ``ActivityStore.claim_alert`` (a pending claim is always a retry)."""
        key = alert.claim_key
        event = alert.event
        existing = self._claims.get(key)
        if existing is not None:
            if existing.event_id == event.event_id:
                if existing.status is not ClaimStatus.PENDING:
                    return ClaimOutcome.SUPPRESSED
                return ClaimOutcome.RETRY
            if alert.window is None or existing.event_time > event.event_time - alert.window:
                return ClaimOutcome.SUPPRESSED
        self._claims[key] = _Claim(event.event_id, event.event_time, ClaimStatus.PENDING)
        return ClaimOutcome.CLAIMED

    def mark_alert(
        self,
        alert: Alert,
        status: ClaimStatus,
        *,
        payload: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        """Set the claim's status if it is still this event's."""
        claim = self._claims.get(alert.claim_key)
        if claim is not None and claim.event_id == alert.event.event_id:
            claim.status = status

    def history(self, query: HistoryQuery) -> Iterator[SignInEvent]:
        """Stored events of the principal/account/source IP, oldest first (no expiry filter)."""
        matches = [
            event
            for event in self._events.values()
            if (query.principal is None or event.principal == query.principal)
            and (query.account_id is None or event.account_id == query.account_id)
            and (query.source_ip is None or event.source_ip == query.source_ip)
        ]
        return iter(sorted(matches, key=lambda event: (event.event_time, event.event_id)))

    def close(self) -> None:
        """Nothing to release."""
