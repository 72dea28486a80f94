"""``root-password-recovery``: someone asked to reset the root user's password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from ..alerts import Alert, Severity
from ..events import SignInEvent
from .base import FailureHistory, event_alert

__all__ = ["RootPasswordRecovery"]


@dataclass(frozen=True, slots=True)
class RootPasswordRecovery:
    """A root password reset mail went out: the owner of root's mailbox can take the account.

    Success is read from ``responseElements.PasswordRecoveryRequested`` only.
    """

    id: str = "root-password-recovery"
    severity: Severity = Severity.HIGH
    #: It asks the history nothing.
    reach: ClassVar[timedelta] = timedelta(0)

    def alerts_on(self, kind: str, event_name: str) -> bool:
        """Whether an event of that kind and name can raise its alert (``SelectiveRule``)."""
        return event_name == "PasswordRecoveryRequested"

    def evaluate(self, event: SignInEvent, history: FailureHistory) -> Alert | None:
        """Alert on a successful PasswordRecoveryRequested by root."""
        if (
            not event.is_api_call
            and event.event_name == "PasswordRecoveryRequested"
            and event.is_root
            and event.result == "Success"
        ):
            return event_alert(self, event, "Root password recovery requested")
        return None
