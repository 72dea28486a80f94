"""``repeated-failed-sign-ins``: more failures than the threshold within the window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..alerts import Alert, Severity
from ..events import SignInEvent
from ..store.schema import alert_scope
from .base import FailureHistory

__all__ = ["RepeatedFailedSignIns"]


@dataclass(frozen=True, slots=True)
class RepeatedFailedSignIns:
    """Counts the principal's failures in (t - window, t], this one included (it is stored first).

    A burst gives one alert per window: the store's claim for the principal suppresses the rest
    until the window since the last alert has passed.
    """

    threshold: int
    window: timedelta
    id: str = "repeated-failed-sign-ins"
    severity: Severity = Severity.HIGH

    def evaluate(self, event: SignInEvent, history: FailureHistory) -> Alert | None:
        """Alert when the failures counted in the window exceed the threshold."""
        if not event.is_failed_console_login:
            return None
        failures = history.count_failures(
            event.account_id,
            event.principal,
            after=event.event_time - self.window,
            until=event.event_time,
        )
        if failures <= self.threshold:
            return None
        return Alert(
            rule_id=self.id,
            severity=self.severity,
            title="Repeated failed sign-ins",
            event=event,
            scope=alert_scope(event.account_id, event.principal),
            window=self.window,
            failure_count=failures,
        )
