"""``root-activity``: the root user called an API; one alert per account per window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..alerts import Alert, Severity
from ..events import API_CALL, SIGNIN_EVENT_SOURCE, SignInEvent
from ..store.schema import alert_scope
from .base import FailureHistory

__all__ = ["RootActivity"]


@dataclass(frozen=True, slots=True)
class RootActivity:
    """Someone holding root's access keys never signs in to the console: watch its calls.

    Every root API call (read-only and failed ones included; not a call an AWS service made
    for root, ``invokedBy``, nor a service event) is an anchor, as root failures are for
    ``root-sign-in``: one alert per account per window, whichever call arrives first (the
    store's windowed claim decides). A call within the window after a *successful* root
    console sign-in of the account raises nothing: that session was already reported.
    """

    window: timedelta
    id: str = "root-activity"
    severity: Severity = Severity.CRITICAL

    @property
    def reach(self) -> timedelta:
        """How far from the event's time its history questions look, either way."""
        return self.window

    def alerts_on(self, kind: str, event_name: str) -> bool:
        """Whether an event of that kind and name can raise its alert (``SelectiveRule``)."""
        return kind == API_CALL

    def evaluate(self, event: SignInEvent, history: FailureHistory) -> Alert | None:
        """Alert on a root API call unless a root console sign-in of the account covers it."""
        if not (
            event.is_api_call
            and event.is_root
            and event.event_source != SIGNIN_EVENT_SOURCE
            and event.invoked_by is None
            and event.event_type != "AwsServiceEvent"
        ):
            return None
        if history.has_console_sign_in(
            event.account_id,
            event.principal,
            after=event.event_time - self.window,
            until=event.event_time,
        ):
            return None
        return Alert(
            rule_id=self.id,
            severity=self.severity,
            title="Root API activity",
            event=event,
            scope=alert_scope(event.account_id, "root-activity"),
            window=self.window,
        )
