"""Post again, once each, the alerts whose delivery failed for good (``signin-monitor resend``).

A revoked hook or an archived channel makes Slack refuse an alert; the pipeline then marks its
claim failed and the store keeps the exact message. Once the hook is fixed, ``resend`` takes
each one (atomically: two resends never post the same alert), posts it, and marks it sent, or
keeps it listed when Slack still refuses. No I/O of its own: store and notifier are passed in.

With a routing document, an alert refused by one destination is kept under that destination's
claim (its scope ends ``#to#<destination>``): ``resend`` posts it to that destination only.
An alert kept without a destination goes to today's webhook, as before routing. One whose
destination the current configuration lacks stays listed (reported failed, not claimed).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from .errors import SlackError
from .logs import event_keys
from .routing import WEBHOOK, RoutedNotifier, destination_of
from .slack import Notifier
from .store import ClaimStatus
from .store.base import UndeliveredAlert

__all__ = ["ResendResult", "ResendStatus", "ResendStore", "resend_undelivered"]

logger = logging.getLogger(__name__)


class ResendStore(Protocol):
    """The part of ``ActivityStore`` that keeps undelivered alerts."""

    def undelivered_alerts(self) -> Iterator[UndeliveredAlert]:
        """Alerts whose delivery failed, oldest first."""
        ...

    def claim_resend(self, alert: UndeliveredAlert) -> bool:
        """Atomically take a failed alert for re-posting; False if taken or no longer failed."""
        ...

    def finish_resend(
        self, alert: UndeliveredAlert, status: ClaimStatus, *, reason: str | None = None
    ) -> None:
        """SENT: mark it sent and drop it from the list; FAILED: keep it listed."""
        ...


class ResendStatus(StrEnum):
    """How re-posting one undelivered alert ended."""

    SENT = "sent"
    FAILED = "failed"
    #: Another resend took it first, or it is no longer failed: not posted here.
    TAKEN = "taken"


@dataclass(frozen=True, slots=True)
class ResendResult:
    """One undelivered alert and what this resend did with it."""

    alert: UndeliveredAlert
    status: ResendStatus
    reason: str | None = None
    #: The routing destination it was refused by (None: today's single webhook).
    destination: str | None = None


def resend_undelivered(store: ResendStore, notifier: Notifier) -> Iterator[ResendResult]:
    """Post each undelivered alert once, oldest first, yielding what happened to it.

    Anything other than a Slack error (an interrupt) hands the alert back as failed, so the
    next resend posts it, and propagates.
    """
    for alert in list(store.undelivered_alerts()):
        destination = destination_of(alert.scope)
        with event_keys(rule=alert.rule_id, event_id=alert.event_id, destination=destination):
            target, missing = _notifier_for(notifier, destination)
            if target is None:
                logger.error("alert not resent: its destination is not configured")
                yield ResendResult(alert, ResendStatus.FAILED, missing, destination)
                continue
            if not store.claim_resend(alert):
                yield ResendResult(alert, ResendStatus.TAKEN, destination=destination)
                continue
            try:
                target.send(alert.payload)
            except SlackError as error:
                logger.error("alert still not delivered", extra={"reason": str(error)})
                store.finish_resend(alert, ClaimStatus.FAILED, reason=str(error))
                yield ResendResult(alert, ResendStatus.FAILED, str(error), destination)
                continue
            except BaseException:
                store.finish_resend(alert, ClaimStatus.FAILED, reason="resend interrupted")
                raise
            store.finish_resend(alert, ClaimStatus.SENT)
            logger.info("undelivered alert posted")
            yield ResendResult(alert, ResendStatus.SENT, destination=destination)


def _notifier_for(notifier: Notifier, destination: str | None) -> tuple[Notifier | None, str]:
    """Where an alert refused by ``destination`` is posted again, or None and why not."""
    if isinstance(notifier, RoutedNotifier):
        name = destination or WEBHOOK
        found = notifier.notifier_for(name)
        if found is None:
            return None, f"destination {name!r} is not in the routing document"
        return found, ""
    if destination is not None:
        return None, f"refused by destination {destination!r}: no routing document is configured"
    return notifier, ""
