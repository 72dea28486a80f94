"""``sign-in-after-failures``: a successful sign-in after more failures than the threshold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from ..alerts import Alert, Severity
from ..events import CONSOLE_LOGIN, SignInEvent
from ..store.schema import alert_scope
from .base import FailureHistory, first_with_later

__all__ = ["SignInAfterFailures"]

_SECOND: Final = timedelta(seconds=1)
_SIGN_IN_TYPES: Final = frozenset({"IAMUser", "Root"})


@dataclass(frozen=True, slots=True)
class SignInAfterFailures:
    """A password guess that worked (design §3.2).

    A success of an IAM user or root P from X at s fires when P's failures (from any address)
    in (s - window, s] exceed the threshold, or those of ``unknown-user:X`` in the account do:
    each count on its own, never summed. One alert per principal per window (a windowed
    claim anchored at the success).

    Arrival order: a failure delivered after the success it precedes completes that success's
    window. So a failure of P at f also reads P's successes in [f, f + window) (one read of a
    sparse index, empty nearly always) and recounts their windows: the alert is raised for
    the earliest success now over the threshold, later ones as fallbacks. A late hidden-name
    failure (``unknown-user:X``) is not followed to the successes from X: see the module's
    caveat in the README (it would cost a read of every success from X on every such failure).
    """

    threshold: int
    window: timedelta
    id: str = "sign-in-after-failures"
    severity: Severity = Severity.CRITICAL

    @property
    def reach(self) -> timedelta:
        """How far from the event's time its history questions look, either way."""
        return self.window + _SECOND

    def alerts_on(self, kind: str, event_name: str) -> bool:
        """Whether an event of that kind and name can raise its alert (``SelectiveRule``)."""
        return event_name == CONSOLE_LOGIN

    def evaluate(self, event: SignInEvent, history: FailureHistory) -> Alert | None:
        """The alert for a success over the threshold, or for one a late failure completes."""
        if event.event_name != CONSOLE_LOGIN or event.identity_type not in _SIGN_IN_TYPES:
            return None
        if event.result == "Success":
            return self._for_success(event, history)
        if event.result == "Failure" and not event.principal.startswith("unknown-user:"):
            return self._for_late_failure(event, history)
        return None

    def _for_success(self, success: SignInEvent, history: FailureHistory) -> Alert | None:
        account_id, moment = success.account_id, success.event_time
        after, before = moment - self.window, moment + _SECOND
        failures = history.failures_between(
            account_id, success.principal, after=after, before=before
        )
        if len(failures) <= self.threshold:  # then the hidden-name failures from its address
            hidden = f"unknown-user:{success.source_ip}"
            failures = history.failures_between(account_id, hidden, after=after, before=before)
            if len(failures) <= self.threshold:
                return None
        return self._alert(success, failures)

    def _for_late_failure(self, failure: SignInEvent, history: FailureHistory) -> Alert | None:
        start = failure.event_time
        successes = history.successes_between(
            failure.account_id,
            failure.principal,
            after=start - _SECOND,
            before=start + self.window,
        )
        if not successes:
            return None
        stored = history.failures_between(
            failure.account_id,
            failure.principal,
            after=start - self.window,
            before=start + self.window,
        )
        failures = [f for f in stored if f.event_id != failure.event_id]
        failures.append(failure)
        failures.sort(key=lambda f: (f.event_time, f.event_id))
        alerts = []
        for success in successes:
            if success.identity_type not in _SIGN_IN_TYPES:
                continue
            counted = [
                f
                for f in failures
                if success.event_time - self.window < f.event_time <= success.event_time
            ]
            if len(counted) > self.threshold:
                alerts.append(self._alert(success, counted))
        return first_with_later(alerts)

    def _alert(self, success: SignInEvent, failures: list[SignInEvent]) -> Alert:
        return Alert(
            rule_id=self.id,
            severity=self.severity,
            title="Sign-in after failed attempts",
            event=success,
            scope=alert_scope(success.account_id, success.principal),
            window=self.window,
            failure_count=len(failures),
            evidence=tuple(failures),
        )
