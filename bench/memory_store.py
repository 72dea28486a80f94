"""``MemoryStore``: an ``ActivityStore`` in plain dicts, so a figure can time our code alone.

Why a fake and not only ``SqliteStore(":memory:")``: SQLite's own work (SQL, B-tree pages, the
store's JSON of the raw record) is part of the SQLite row, not of parsing and rules. This store
does the least the contract needs - a set of keys, a sorted list of failures, a dict of
claims - so the per-event figure with it is (almost) only parse + normalize + pipeline + rules.

It follows the contract's decisions (duplicates stored once; claim, retry, suppress, windowed
claims judged in both directions by ``windows.judge``), without leases, expiry or history
filters: the benchmark never exercises those.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from signin_monitor.alerts import Alert
from signin_monitor.events import SignInEvent, format_time
from signin_monitor.networks import network_of
from signin_monitor.store import ClaimOutcome, ClaimStatus, HistoryQuery
from signin_monitor.store.base import UndeliveredAlert
from signin_monitor.store.schema import correlation_keys
from signin_monitor.store.windows import StoredClaim, Verdict, judge, neighbour_buckets

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
        self._failures: dict[tuple[str, str], list[tuple[datetime, str, SignInEvent]]] = {}
        self._claims: dict[tuple[str, str], _Claim] = {}
        self._by_source: dict[tuple[str, str], list[tuple[datetime, str, SignInEvent]]] = {}
        self._successes: dict[tuple[str, str], list[tuple[datetime, str, SignInEvent]]] = {}

    def record(self, event: SignInEvent, *, expires_at: int | None) -> bool:
        """Keep the event once, keyed like the DynamoDB item (account, principal, event id)."""
        key = (event.account_id, event.principal, event.event_id)
        if key in self._events:
            return False
        self._events[key] = event
        if event.is_failed_console_login:
            failures = self._failures.setdefault((event.account_id, event.principal), [])
            bisect.insort(failures, (event.event_time, event.event_id, event), key=_time_and_id)
            by_source = self._by_source.setdefault((event.account_id, event.source_ip), [])
            bisect.insort(by_source, (event.event_time, event.event_id, event), key=_time_and_id)
        elif "network_key" in correlation_keys(event):
            successes = self._successes.setdefault((event.account_id, event.principal), [])
            bisect.insort(successes, (event.event_time, event.event_id, event), key=_time_and_id)
        return True

    def record_many(
        self, events: Sequence[SignInEvent], *, expires_at: Sequence[int | None]
    ) -> list[bool]:
        """``record`` for each event, in order (nothing to batch in memory)."""
        return [
            self.record(event, expires_at=expiry)
            for event, expiry in zip(events, expires_at, strict=True)
        ]

    def count_failures(
        self, account_id: str, principal: str, *, after: datetime, until: datetime
    ) -> int:
        """Failures with ``after < eventTime <= until``, by bisection."""
        times = [time for time, _, _ in self._failures.get((account_id, principal), [])]
        return bisect.bisect_right(times, until) - bisect.bisect_right(times, after)

    def failures_between(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """Failures with ``after < eventTime < before``, oldest first, without the raw record."""
        failures = self._failures.get((account_id, principal), [])
        low = bisect.bisect_right(failures, after, key=_time)
        high = bisect.bisect_left(failures, before, key=_time)
        return [replace(event, raw={}) for _, _, event in failures[low:high]]

    def claim_alert(self, alert: Alert) -> ClaimOutcome:
        """The claim rule of ``ActivityStore.claim_alert`` (a pending claim is always a retry)."""
        if alert.window is not None:
            return self.claim_window(replace(alert, later_anchors=()))[1]
        key = alert.claim_key
        event = alert.event
        existing = self._claims.get(key)
        if existing is not None:
            if existing.event_id != event.event_id or existing.status is not ClaimStatus.PENDING:
                return ClaimOutcome.SUPPRESSED
            return ClaimOutcome.RETRY
        self._claims[key] = _Claim(event.event_id, event.event_time, ClaimStatus.PENDING)
        return ClaimOutcome.CLAIMED

    def claim_window(self, alert: Alert) -> tuple[Alert, ClaimOutcome]:
        """The first candidate no claim of its neighbour slots covers (``windows.judge``)."""
        for candidate in alert.candidates:
            keys = [candidate.claim_key_in(bucket) for bucket in neighbour_buckets(candidate)]
            stored = [
                StoredClaim(claim.event_id, format_time(claim.event_time), claim.status, 0.0)
                for key in keys
                if (claim := self._claims.get(key)) is not None
            ]
            verdict = judge(candidate, stored, lease_end=float("inf"))
            if verdict is Verdict.COVERED:
                continue
            event = candidate.event
            self._claims[candidate.claim_key] = _Claim(
                event.event_id, event.event_time, ClaimStatus.PENDING
            )
            if verdict is Verdict.RETAKE:
                return candidate, ClaimOutcome.RETRY
            return candidate, ClaimOutcome.CLAIMED
        return alert, ClaimOutcome.SUPPRESSED

    def mark_alert(
        self,
        alert: Alert,
        status: ClaimStatus,
        *,
        payload: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        """Set the claim's status if it is still this event's (no undelivered list here)."""
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

    def undelivered_alerts(self) -> Iterator[UndeliveredAlert]:
        """None: the benchmark never fails a post."""
        return iter(())

    def claim_resend(self, alert: UndeliveredAlert) -> bool:
        """Nothing is ever undelivered here."""
        return False

    def finish_resend(
        self, alert: UndeliveredAlert, status: ClaimStatus, *, reason: str | None = None
    ) -> None:
        """Nothing to finish."""

    def close(self) -> None:
        """Nothing to release."""

    def has_console_sign_in(
        self, account_id: str, principal: str, *, after: datetime, until: datetime
    ) -> bool:
        """Not asked by the sign-in benchmarks (they hold no API calls)."""
        return False

    def failures_from_source(
        self, account_id: str, source_ip: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """Failures from the address in the account with ``after < t < before``."""
        return _between(self._by_source.get((account_id, source_ip), []), after, before)

    def successes_between(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """Successes from IP addresses with ``after < t < before``."""
        return _between(self._successes.get((account_id, principal), []), after, before)

    def last_success(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> SignInEvent | None:
        """The latest of ``successes_between``, by bisection (no copy of the range)."""
        rows = self._successes.get((account_id, principal), [])
        high = bisect.bisect_left(rows, before, key=_time)
        if high == 0 or rows[high - 1][0] <= after:
            return None
        return replace(rows[high - 1][2], raw={})

    def has_success_from_network(
        self, account_id: str, principal: str, network: str, *, after: datetime, before: datetime
    ) -> bool:
        """Whether one of ``successes_between`` came from ``network``."""
        found = self.successes_between(account_id, principal, after=after, before=before)
        return any(network_of(event.source_ip) == network for event in found)


def _time(failure: tuple[datetime, str, SignInEvent]) -> datetime:
    return failure[0]


def _time_and_id(failure: tuple[datetime, str, SignInEvent]) -> tuple[datetime, str]:
    return failure[0], failure[1]


def _between(
    rows: list[tuple[datetime, str, SignInEvent]], after: datetime, before: datetime
) -> list[SignInEvent]:
    low = bisect.bisect_right(rows, after, key=_time)
    high = bisect.bisect_left(rows, before, key=_time)
    return [replace(event, raw={}) for _, _, event in rows[low:high]]
