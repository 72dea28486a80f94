"""``login-profile-changed``: someone set a user's console password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar, Final

from ..alerts import Alert, Severity
from ..events import SignInEvent
from .base import FailureHistory, event_alert

__all__ = ["LoginProfileChanged"]

_CALLS: Final = frozenset({"CreateLoginProfile", "UpdateLoginProfile"})


@dataclass(frozen=True, slots=True)
class LoginProfileChanged:
    """Whoever sets another user's console password can sign in as that user."""

    id: str = "login-profile-changed"
    severity: Severity = Severity.HIGH
    #: It asks the history nothing.
    reach: ClassVar[timedelta] = timedelta(0)

    def alerts_on(self, kind: str, event_name: str) -> bool:
        """Whether an event of that kind and name can raise its alert (``SelectiveRule``)."""
        return event_name in _CALLS

    def evaluate(self, event: SignInEvent, history: FailureHistory) -> Alert | None:
        """Alert on a successful CreateLoginProfile or UpdateLoginProfile."""
        if (
            event.is_api_call
            and event.event_source == "iam.amazonaws.com"
            and event.event_name in _CALLS
            and event.succeeded
        ):
            return event_alert(self, event, "Console password set")
        return None
