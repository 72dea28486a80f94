"""``password-spray``: one address tried more distinct principals than the threshold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..alerts import Alert, Severity
from ..events import CONSOLE_LOGIN, SignInEvent
from ..store.schema import alert_scope
from .base import FailureHistory, first_with_later

__all__ = ["PasswordSpray"]


@dataclass(frozen=True, slots=True)
class PasswordSpray:
    """A failure f from X in account A is an *anchor* when the failures from X in A in
    (f - window, f] belong to more than ``principals`` distinct principals (design §3.2).

    Hidden-name failures from X all have principal ``unknown-user:X``: one principal however
    many there are. One try per user stays under the per-principal count of
    ``repeated-failed-sign-ins``; this rule sees it. As that rule does, one read of the
    failures in (t - window, t + window) finds every anchor in [t, t + window) this delivery
    completes (a late failure completes a later one's window), earliest first, and the
    windowed claim (scope: account and address) takes the first no other alert covers.
    """

    principals: int
    window: timedelta
    id: str = "password-spray"
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
        stored = history.failures_from_source(
            event.account_id, event.source_ip, after=start - self.window, before=start + self.window
        )
        # No window holds more principals than the whole range: most failures stop here,
        # before the sort (with the event, at most ``principals`` of them, or of principals).
        if len(stored) < self.principals or (
            len({f.principal for f in stored} | {event.principal}) <= self.principals
        ):
            return None
        failures = [f for f in stored if f.event_id != event.event_id]
        failures.append(event)
        failures.sort(key=lambda f: (f.event_time, f.event_id != event.event_id, f.event_id))
        alerts = []
        for anchor in failures:
            if anchor.event_time < start:
                continue
            tried = [
                f
                for f in failures
                if anchor.event_time - self.window < f.event_time <= anchor.event_time
            ]
            if len({f.principal for f in tried}) > self.principals:
                alerts.append(self._alert(anchor, tried))
        return first_with_later(alerts)

    def _alert(self, anchor: SignInEvent, tried: list[SignInEvent]) -> Alert:
        return Alert(
            rule_id=self.id,
            severity=self.severity,
            title="Password spray",
            event=anchor,
            scope=alert_scope(anchor.account_id, f"ip:{anchor.source_ip}"),
            window=self.window,
            failure_count=len(tried),
            evidence=tuple(tried),
        )
