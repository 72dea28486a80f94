"""``sign-in-without-mfa``: an IAM user signed in to the console with a password alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from ..alerts import Alert, Severity
from ..events import CONSOLE_LOGIN, SignInEvent
from .base import FailureHistory, event_alert

__all__ = ["SignInWithoutMfa"]


@dataclass(frozen=True, slots=True)
class SignInWithoutMfa:
    """Fires on IAM users only.

    Federated and IAM Identity Center sign-ins report ``MFAUsed: No`` because MFA happens at the
    identity provider, and root has its own rule; a missing ``MFAUsed`` is unknown, not "No".
    """

    id: str = "sign-in-without-mfa"
    severity: Severity = Severity.HIGH
    #: It asks the history nothing.
    reach: ClassVar[timedelta] = timedelta(0)

    def alerts_on(self, kind: str, event_name: str) -> bool:
        """Whether an event of that kind and name can raise its alert (``SelectiveRule``)."""
        return event_name == CONSOLE_LOGIN

    def evaluate(self, event: SignInEvent, history: FailureHistory) -> Alert | None:
        """Alert on a successful IAMUser ConsoleLogin whose MFAUsed is No."""
        if (
            event.mfa_used is False  # plain fields, the rarest first (every sign-in replayed)
            and event.result == "Success"
            and event.identity_type == "IAMUser"
            and event.event_name == CONSOLE_LOGIN
        ):
            return event_alert(self, event, "Console sign-in without MFA")
        return None
