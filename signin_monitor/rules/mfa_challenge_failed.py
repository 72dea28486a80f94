"""``mfa-challenge-failed``: the password was right, the second factor was not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from ..alerts import Alert, Severity
from ..events import CONSOLE_LOGIN, HIDDEN_USER, SignInEvent
from ..store.schema import alert_scope
from .base import FailureHistory

__all__ = ["MfaChallengeFailed"]


@dataclass(frozen=True, slots=True)
class MfaChallengeFailed:
    """A failed ConsoleLogin of an IAM user (not a hidden name) or root with ``MFAUsed: Yes``.

    AWS records ``MFAUsed: Yes`` on a failure only once the password was accepted: someone
    who knows it is at the second factor. One alert per principal per window (a windowed
    claim: every such failure is its own anchor, so no history read is needed and any
    arrival order gives one message).
    """

    window: timedelta
    id: str = "mfa-challenge-failed"
    severity: Severity = Severity.HIGH
    #: It asks the history nothing.
    reach: ClassVar[timedelta] = timedelta(0)

    def alerts_on(self, kind: str, event_name: str) -> bool:
        """Whether an event of that kind and name can raise its alert (``SelectiveRule``)."""
        return event_name == CONSOLE_LOGIN

    def evaluate(self, event: SignInEvent, history: FailureHistory) -> Alert | None:
        """Alert on a failed IAMUser or Root ConsoleLogin whose MFAUsed is Yes."""
        if (
            event.result == "Failure"  # plain fields, the rarest first (every sign-in replayed)
            and event.mfa_used is True
            and event.event_name == CONSOLE_LOGIN
            and (
                event.identity_type == "Root"
                or (event.identity_type == "IAMUser" and event.user_name not in (None, HIDDEN_USER))
            )
        ):
            return Alert(
                rule_id=self.id,
                severity=self.severity,
                title="Failed MFA challenge",
                event=event,
                scope=alert_scope(event.account_id, event.principal),
                window=self.window,
            )
        return None
