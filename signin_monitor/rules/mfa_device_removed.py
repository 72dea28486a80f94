"""``mfa-device-removed``: someone took an MFA device away from a user (or from root)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar, Final

from ..alerts import Alert, Severity
from ..events import SignInEvent
from .base import FailureHistory, event_alert

__all__ = ["MfaDeviceRemoved"]

_CALLS: Final = frozenset({"DeactivateMFADevice", "DeleteVirtualMFADevice"})


@dataclass(frozen=True, slots=True)
class MfaDeviceRemoved:
    """Removing MFA is the step before a password-only sign-in: alert on each, by anyone."""

    id: str = "mfa-device-removed"
    severity: Severity = Severity.HIGH
    #: It asks the history nothing.
    reach: ClassVar[timedelta] = timedelta(0)

    def alerts_on(self, kind: str, event_name: str) -> bool:
        """Whether an event of that kind and name can raise its alert (``SelectiveRule``)."""
        return event_name in _CALLS

    def evaluate(self, event: SignInEvent, history: FailureHistory) -> Alert | None:
        """Alert on a successful DeactivateMFADevice or DeleteVirtualMFADevice."""
        if (
            event.is_api_call
            and event.event_source == "iam.amazonaws.com"
            and event.event_name in _CALLS
            and event.succeeded
        ):
            return event_alert(self, event, "MFA device removed")
        return None
