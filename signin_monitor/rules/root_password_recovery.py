"""``root-password-recovery``: someone asked to reset the root user's password."""

from __future__ import annotations

from dataclasses import dataclass

from ..alerts import Alert, Severity
from ..events import SignInEvent
from ..store.schema import alert_scope
from .base import FailureHistory

__all__ = ["RootPasswordRecovery"]


@dataclass(frozen=True, slots=True)
class RootPasswordRecovery:
    """A root password reset mail went out: the owner of root's mailbox can take the account.

    Success is read from ``responseElements.PasswordRecoveryRequested`` only.
    """

    id: str = "root-password-recovery"
    severity: Severity = Severity.HIGH

    def evaluate(self, event: SignInEvent, history: FailureHistory) -> Alert | None:
        """Alert on a successful PasswordRecoveryRequested by root."""
        if (
            not event.is_api_call
            and event.event_name == "PasswordRecoveryRequested"
            and event.is_root
            and event.result == "Success"
        ):
            return Alert(
                rule_id=self.id,
                severity=self.severity,
                title="Root password recovery requested",
                event=event,
                scope=alert_scope(event.event_id),
            )
        return None
