"""``repeated-failed-sign-ins``: more failures than the threshold within the window."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..alerts import Alert, Severity
from ..events import CONSOLE_LOGIN, SignInEvent
from ..store.schema import alert_scope
from .base import FailureHistory, first_with_later

__all__ = ["RepeatedFailedSignIns"]


@dataclass(frozen=True, slots=True)
class RepeatedFailedSignIns:
    """A failure f is an *anchor* when the principal's failures in (f - window, f] exceed the
    threshold; one alert covers the anchors within a window of it, on either side.

    Deliveries arrive in any order, so a failure at t is not only the end of its own window:
    it also counts in the windows of the stored failures after it, up to t + window. One
    key-range read of the failures in (t - window, t + window) finds every anchor in
    [t, t + window) this delivery completes, earliest first (the processed event first among
    those of its second, so replaying in time order alerts on the same event as ever). The
    store's claim then takes the first one no other alert covers: a burst gives one alert per
    window whatever the arrival order, and concurrent deliveries still one message.
    """

    threshold: int
    window: timedelta
    id: str = "repeated-failed-sign-ins"
    severity: Severity = Severity.HIGH

    @property
    def reach(self) -> timedelta:
        """How far from the event's time its history questions look, either way."""
        return self.window

    def alerts_on(self, kind: str, event_name: str) -> bool:
        """Whether an event of that kind and name can raise its alert (``SelectiveRule``)."""
        return event_name == CONSOLE_LOGIN

    def evaluate(self, event: SignInEvent, history: FailureHistory) -> Alert | None:
        """The alert for the earliest anchor this failure completes, later ones as fallbacks."""
        if event.result != "Failure" or event.event_name != CONSOLE_LOGIN:
            return None
        start = event.event_time
        stored = history.failures_between(
            event.account_id,
            event.principal,
            after=start - self.window,
            before=start + self.window,
        )
        if len(stored) < self.threshold:
            return None  # with the event, at most ``threshold`` failures: no window is over it
        # The processed event itself carries its raw record: prefer it to the stored copy.
        failures = [f for f in stored if f.event_id != event.event_id]
        failures.append(event)
        times = sorted([f.event_time for f in failures])
        # Only the anchors from ``start`` on are sorted by the full key (in time order, nearly
        # always the event alone): the window's other failures only count.
        anchors = [f for f in failures if f.event_time >= start]
        anchors.sort(key=lambda f: (f.event_time, f.event_id != event.event_id, f.event_id))
        alerts = [
            self._alert(anchor, count)
            for anchor in anchors
            if (count := self._count(times, anchor.event_time)) > self.threshold
        ]
        return first_with_later(alerts)

    def _count(self, times: list[datetime], end: datetime) -> int:
        """Failures with ``end - window < time <= end`` in the sorted ``times``."""
        return bisect.bisect_right(times, end) - bisect.bisect_right(times, end - self.window)

    def _alert(self, anchor: SignInEvent, count: int) -> Alert:
        return Alert(
            rule_id=self.id,
            severity=self.severity,
            title="Repeated failed sign-ins",
            event=anchor,
            scope=alert_scope(anchor.account_id, anchor.principal),
            window=self.window,
            failure_count=count,
        )
