"""``trail-tampering``: someone stopped, deleted or narrowed a CloudTrail trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar, Final

from ..alerts import Alert, Severity
from ..events import SignInEvent
from .base import FailureHistory, event_alert

__all__ = ["TrailTampering"]

_CALLS: Final = frozenset({"StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"})


@dataclass(frozen=True, slots=True)
class TrailTampering:
    """The trail is the monitor's own eyes: any successful change to it is worth a page."""

    id: str = "trail-tampering"
    severity: Severity = Severity.CRITICAL
    #: It asks the history nothing.
    reach: ClassVar[timedelta] = timedelta(0)

    def alerts_on(self, kind: str, event_name: str) -> bool:
        """Whether an event of that kind and name can raise its alert (``SelectiveRule``)."""
        return event_name in _CALLS

    def evaluate(self, event: SignInEvent, history: FailureHistory) -> Alert | None:
        """Alert on a successful StopLogging, DeleteTrail, UpdateTrail or PutEventSelectors."""
        if (
            event.is_api_call
            and event.event_source == "cloudtrail.amazonaws.com"
            and event.event_name in _CALLS
            and event.succeeded
        ):
            return event_alert(self, event, "CloudTrail trail changed")
        return None
