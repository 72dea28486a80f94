"""The windowed claim rule both stores apply: one alert per window, checked in both directions.

A windowed alert is claimed for its anchor event at time f. It conflicts with another event's
claim at time a when ``f - window < a < f + window``, whichever was delivered first: that is
what makes the alerts of a burst independent of the arrival order (design §3.2). Claims live in
window-wide time slots (``Alert.bucket``): one slot holds at most one claim, and only the slots
next to the anchor's can hold a conflicting one, so a store reads (SQLite) or conditions
(DynamoDB) three keys.

The stores differ only in how they make "read three slots, then write one" atomic; the
judgement is this module's ``judge``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from ..alerts import Alert
from ..events import format_time
from .base import ClaimStatus

__all__ = ["StoredClaim", "Verdict", "judge", "neighbour_buckets", "window_bounds"]


@dataclass(frozen=True, slots=True)
class StoredClaim:
    """The fields of a stored claim that the windowed rule reads."""

    event_id: str
    #: The anchor's event time, as ``format_time`` text (compares as text).
    event_time: str
    status: str
    claimed_at: float
    #: Random per claim attempt, so a writer recognises its own claim after a lost response.
    token: str | None = None


class Verdict(StrEnum):
    """What the stored claims around an anchor allow."""

    #: No claim covers the anchor: write a new claim (CLAIMED).
    TAKE = "take"
    #: The anchor's own claim is pending and its lease is over or released: rewrite it (RETRY).
    RETAKE = "retake"
    #: The anchor's own claim is pending and leased: another delivery is posting it (BUSY).
    BUSY = "busy"
    #: Another alert lies within the window, or the anchor's own claim is sent or failed.
    COVERED = "covered"


def neighbour_buckets(alert: Alert) -> tuple[int, int, int]:
    """The slots that can hold a claim in conflict with the alert's anchor: b - 1, b, b + 1."""
    bucket = alert.bucket
    if bucket is None:
        raise ValueError("a one-off alert has no time slots")
    return bucket - 1, bucket, bucket + 1


def window_bounds(alert: Alert) -> tuple[str, str]:
    """(low, high) as time text: another claim conflicts when ``low < its time < high``."""
    if alert.window is None:
        raise ValueError("a one-off alert has no window")
    anchor = alert.event.event_time
    return format_time(anchor - alert.window), format_time(anchor + alert.window)


def judge(alert: Alert, claims: Iterable[StoredClaim], *, lease_end: float) -> Verdict:
    """The verdict for claiming ``alert``'s anchor, given the claims of its neighbour slots.

    Another event's claim within the window covers the anchor even when the anchor's own
    claim is also there (only a reconfigured window could leave both): covered is the answer
    that cannot repeat a message. A pending own claim taken at or before ``lease_end`` is a
    retry; taken after it, another delivery still holds it.
    """
    low, high = window_bounds(alert)
    own: StoredClaim | None = None
    for claim in claims:
        if claim.event_id == alert.event.event_id:
            own = claim
        elif low < claim.event_time < high:
            return Verdict.COVERED
    if own is None:
        return Verdict.TAKE
    if own.status != ClaimStatus.PENDING:
        return Verdict.COVERED
    return Verdict.RETAKE if own.claimed_at <= lease_end else Verdict.BUSY
