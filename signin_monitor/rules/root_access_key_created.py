"""``root-access-key-created``: the root user made an access key for itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from ..alerts import Alert, Severity
from ..events import SignInEvent
from .base import FailureHistory, event_alert

__all__ = ["RootAccessKeyCreated"]


@dataclass(frozen=True, slots=True)
class RootAccessKeyCreated:
    """AWS says root should never have an access key: one created is worth a page.

    Only root's own key: a ``CreateAccessKey`` by root that names a ``userName`` makes a key
    for that IAM user (still visible through ``root-activity``).
    """

    id: str = "root-access-key-created"
    severity: Severity = Severity.CRITICAL
    #: It asks the history nothing.
    reach: ClassVar[timedelta] = timedelta(0)

    def alerts_on(self, kind: str, event_name: str) -> bool:
        """Whether an event of that kind and name can raise its alert (``SelectiveRule``)."""
        return event_name == "CreateAccessKey"

    def evaluate(self, event: SignInEvent, history: FailureHistory) -> Alert | None:
        """Alert on a successful CreateAccessKey by root with no userName."""
        if (
            event.is_api_call
            and event.event_source == "iam.amazonaws.com"
            and event.event_name == "CreateAccessKey"
            and event.is_root
            and event.succeeded
            and event.request_user_name is None
        ):
            return event_alert(self, event, "Root access key created")
        return None
