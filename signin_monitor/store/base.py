"""The ``ActivityStore`` protocol both stores implement, and the values it exchanges."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from ..alerts import Alert
from ..events import SignInEvent

__all__ = [
    "DEFAULT_CLAIM_LEASE_SECONDS",
    "ActivityStore",
    "ClaimOutcome",
    "ClaimStatus",
    "HistoryQuery",
    "UndeliveredAlert",
]

#: How long a pending claim belongs to the delivery that took it. Shorter than Lambda's first
#: asynchronous retry delay (one minute), so a retry after a crash is never suppressed.
DEFAULT_CLAIM_LEASE_SECONDS = 30.0


class ClaimStatus(StrEnum):
    """Where an alert's delivery stands."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    #: Claimed but not posted: a suppression covered it (``mark_alert`` reason = its id). The
    #: claim still covers its window like any other.
    SUPPRESSED = "suppressed"
    #: Claimed and not posted: the routing document sends it to the daily digest only.
    DIGEST_ONLY = "digest-only"


class ClaimOutcome(StrEnum):
    """What ``claim_alert`` decided."""

    #: No claim covered this alert: it is now ours, pending. Post it.
    CLAIMED = "claimed"
    #: This same alert was claimed before and is still pending, and its lease has expired or was
    #: released (an earlier post failed). Post it.
    RETRY = "retry"
    #: Already sent or failed for good, or another alert covers the window. Do not post.
    SUPPRESSED = "suppressed"
    #: This same alert is claimed and pending, and its lease is still running: another live
    #: delivery is posting it right now. Do not post; once the lease ends (or is released),
    #: a new delivery of the event may retry it.
    BUSY = "busy"

    @property
    def should_send(self) -> bool:
        """True when the caller owns the delivery."""
        return self in (ClaimOutcome.CLAIMED, ClaimOutcome.RETRY)


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryQuery:
    """An audit question; at least one of principal, account_id and source_ip is given."""

    principal: str | None = None
    account_id: str | None = None
    source_ip: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    #: Events whose ``expires_at`` is before this epoch second are left out (TTL deletes lazily).
    now_epoch: int | None = None
    #: Only activities of this kind (``sign-in`` or ``api-call``); None: every kind.
    kind: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UndeliveredAlert:
    """An alert Slack refused for good, kept so ``signin-monitor resend`` can post it later.

    ``payload`` is the exact Block Kit message that was refused; ``reason`` why it was.
    """

    rule_id: str
    scope: str
    event_id: str
    event_time: datetime
    payload: dict[str, Any]
    reason: str | None


class ActivityStore(Protocol):
    """Where sign-in events and alert claims live (DynamoDB in AWS, SQLite locally).

    Every method is safe to call again with the same arguments: deliveries repeat.
    """

    def record(self, event: SignInEvent, *, expires_at: int | None) -> bool:
        """Store the event once; True if it was new, False if it was already stored."""
        ...

    def count_failures(
        self, account_id: str, principal: str, *, after: datetime, until: datetime
    ) -> int:
        """Failed ConsoleLogin records of the principal with ``after < eventTime <= until``."""
        ...

    def failures_between(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """Failed ConsoleLogin records of the principal with ``after < eventTime < before``.

        Oldest first (time, then event id), one key-range read of the principal's failure
        keys. ``raw`` is ``{}``: rules need the audit fields only.
        """
        ...

    def claim_alert(self, alert: Alert) -> ClaimOutcome:
        """Atomically take the right to post ``alert`` (see ``ClaimOutcome``).

        Succeeds when no claim exists for ``alert.claim_key``, or when the claim is this same
        event's, still pending, and its lease (``DEFAULT_CLAIM_LEASE_SECONDS`` from when it was
        taken) has run out or was released (RETRY). Within the lease a same-event claim is
        BUSY: another delivery of the event is posting it right now.

        A windowed alert (``alert.window`` set) is claimed for its anchor ``alert.event`` only
        (``later_anchors`` are ignored; see ``claim_window``), and only when no claim of another
        event of the same rule and scope lies within the window of the anchor on either side:
        ``|anchor - other| < window`` means SUPPRESSED, whichever arrived first.
        """
        ...

    def claim_window(self, alert: Alert) -> tuple[Alert, ClaimOutcome]:
        """Claim the first of ``alert.candidates`` (anchors, earliest first) that can be claimed.

        Returns the candidate claimed and CLAIMED or RETRY; the first BUSY candidate and BUSY;
        or ``alert`` and SUPPRESSED when another alert covers every candidate. Each candidate
        is judged as ``claim_alert`` judges it, atomically: concurrent deliveries that pick
        different anchors of one burst still claim one.
        """
        ...

    def mark_alert(
        self,
        alert: Alert,
        status: ClaimStatus,
        *,
        payload: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        """Record how the post of a claimed alert ended.

        ``PENDING`` releases the lease: the post failed transiently and the next delivery of
        the event may retry at once. ``FAILED`` with a ``payload`` also keeps the alert as
        undelivered (``undelivered_alerts``), with ``reason``. ``SUPPRESSED`` keeps ``reason``
        (the suppression's id) on the claim.
        """
        ...

    def undelivered_alerts(self) -> Iterator[UndeliveredAlert]:
        """Alerts marked failed with a payload and not resent since, oldest event first."""
        ...

    def claim_resend(self, alert: UndeliveredAlert) -> bool:
        """Atomically take a failed alert for re-posting (its claim becomes pending, leased).

        False if another resend took it (within its lease), or it is no longer failed (sent
        meanwhile, or its claim now belongs to another alert: then it leaves the list).
        """
        ...

    def finish_resend(
        self, alert: UndeliveredAlert, status: ClaimStatus, *, reason: str | None = None
    ) -> None:
        """End a resend: ``SENT`` marks the claim sent and removes the alert from the list;
        ``FAILED`` marks it failed again and keeps it listed (with the new ``reason``)."""
        ...

    def history(self, query: HistoryQuery) -> Iterator[SignInEvent]:
        """Stored events matching the query, oldest first.

        Every audit field is filled in; ``raw`` (the original record) may be ``{}`` when the
        store answers from an index that does not copy it (DynamoDB, except for queries by
        principal and account, which read the table itself).
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...

    def has_console_sign_in(
        self, account_id: str, principal: str, *, after: datetime, until: datetime
    ) -> bool:
        """True when a successful ConsoleLogin of the principal has ``after < eventTime <= until``.

        One key-range read of the principal's SIGNIN keys (``root-activity`` asks it).
        """
        ...

    def failures_from_source(
        self, account_id: str, source_ip: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """Failed ConsoleLogin records from ``source_ip`` in the account, ``after < t < before``,
        oldest first: one key-range read of a sparse index (``by-failure-source``)."""
        ...

    def successes_between(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """The principal's successful ConsoleLogins from an IP address, ``after < t < before``,
        oldest first: one key-range read of ``by-success``."""
        ...

    def last_success(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> SignInEvent | None:
        """The latest of ``successes_between``: one key-range read, newest first, one item."""
        ...

    def has_success_from_network(
        self, account_id: str, principal: str, network: str, *, after: datetime, before: datetime
    ) -> bool:
        """Whether the principal has a successful ConsoleLogin from ``network`` with ``after <
        t < before``: one key-range read of ``by-network``, one item at most."""
        ...
