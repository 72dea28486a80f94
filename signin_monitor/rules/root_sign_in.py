"""``root-sign-in``: every root console sign-in, and the first failed root attempt of a burst."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from ..alerts import Alert, Severity
from ..events import CONSOLE_LOGIN, SignInEvent
from ..store.schema import alert_scope
from .base import FailureHistory, event_alert

__all__ = ["RootSignIn"]


@dataclass(frozen=True, slots=True)
class RootSignIn:
    """Root should almost never sign in; each success is worth a page.

    A failure alerts only when no root-failure alert of the account lies within the window of
    it, before or after (the store's windowed claim decides, so the failures of a run may
    arrive in any order); the rest of a guessing run feeds ``repeated-failed-sign-ins``, so a
    password-guessing run against root gives two messages, not one per guess. Every root
    failure is its own anchor (a threshold of zero): no history read is needed.
    """

    window: timedelta
    id: str = "root-sign-in"
    severity: Severity = Severity.CRITICAL
    #: It asks the history nothing.
    reach: ClassVar[timedelta] = timedelta(0)

    def alerts_on(self, kind: str, event_name: str) -> bool:
        """Whether an event of that kind and name can raise its alert (``SelectiveRule``)."""
        return event_name == CONSOLE_LOGIN

    def evaluate(self, event: SignInEvent, history: FailureHistory) -> Alert | None:
        """Alert on a root ConsoleLogin: per event on success, per window on failure."""
        # Plain fields, the rarest first: it runs on every sign-in replayed.
        if event.identity_type != "Root" or event.event_name != CONSOLE_LOGIN:
            return None
        if event.result == "Failure":
            return Alert(
                rule_id=self.id,
                severity=self.severity,
                title="Failed root sign-in",
                event=event,
                scope=alert_scope(event.account_id, "root-failure"),
                window=self.window,
            )
        return event_alert(self, event, "Root sign-in")
