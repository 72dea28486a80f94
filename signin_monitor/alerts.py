"""What a rule raises: an ``Alert``, and how severe it is."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from .events import SignInEvent

__all__ = ["Alert", "Severity"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND: Final = timedelta(seconds=1)


class Severity(StrEnum):
    """How urgently a human should look."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """One alert about one event.

    ``scope`` names what the alert is unique for: the event id for one-off alerts, or account
    and principal for windowed ones, where ``window`` says how long one alert covers the scope
    on either side of its event (the store's claim enforces it, so concurrent deliveries and
    deliveries in any order still give one message per window).

    A windowed alert's ``event`` is its *anchor*: the failure whose window crossed the
    threshold, which may be an earlier or later stored event than the one being processed (a
    late record completes another event's window). ``later_anchors`` are the alerts of the
    other windows the same delivery completed, in the order to try them: the store claims the
    first of ``candidates`` that no other alert covers.

    ``evidence`` are the stored events that made a correlation rule fire (design §3.2), oldest
    first: the failures before a successful sign-in, the failures of a spray; for
    ``new-source-network`` the principal's last sign-in from a known network. ``network`` names
    the network a ``new-source-network`` sign-in came from.
    """

    rule_id: str
    severity: Severity
    title: str
    event: SignInEvent
    scope: str
    window: timedelta | None = None
    failure_count: int | None = None
    later_anchors: tuple[Alert, ...] = ()
    evidence: tuple[SignInEvent, ...] = ()
    network: str | None = None

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as its fields' values, in order (replay's reader process hands its alerts
        over so): the dataclass's own way looks its fields up again for every alert, which
        cost more than all the rest of pickling an alert and its event."""
        return (_alert, _values_of(self))

    @property
    def candidates(self) -> tuple[Alert, ...]:
        """This alert, then its later anchors: what ``claim_window`` may claim, in order."""
        return (self, *self.later_anchors)

    @property
    def bucket(self) -> int | None:
        """The window-wide time slot of the anchor (None for one-off alerts).

        Slot ``b`` holds the event times in ``[b * window, (b + 1) * window)`` since the epoch.
        Two anchors in one slot are less than a window apart, so a slot holds at most one
        alert, and an anchor can conflict only with the alerts of slots ``b - 1``, ``b`` and
        ``b + 1``: that is what lets one atomic write check both directions.
        """
        if self.window is None:
            return None
        return (self.event.event_time.replace(microsecond=0) - _EPOCH) // self.window

    def claim_key_in(self, bucket: int) -> tuple[str, str]:
        """(rule id, scope) of this windowed alert's claim in time slot ``bucket``.

        The window length is part of the key, so a reconfigured window never reads slots
        of another width.
        """
        if self.window is None:
            raise ValueError("a one-off alert has no time slots")
        return self.rule_id, f"{self.scope}#W{self.window // _SECOND}#{bucket}"

    @property
    def claim_key(self) -> tuple[str, str]:
        """(rule id, scope): what the store's alert claim is keyed on.

        One-off alerts: the scope itself. Windowed alerts: the scope and the anchor's time
        slot (see ``bucket``), one claim per alert raised.
        """
        bucket = self.bucket
        if bucket is None:
            return self.rule_id, self.scope
        return self.claim_key_in(bucket)


_FIELDS: Final = tuple(Alert.__dataclass_fields__)
_values_of: Final = operator.attrgetter(*_FIELDS)
_SETTERS: Final = tuple(Alert.__dict__[name].__set__ for name in _FIELDS)


def _alert(*values: Any) -> Alert:
    """An ``Alert`` of its fields' values in order (``Alert.__reduce__``): set slot by slot,
    as its frozen ``__init__`` would, without the keyword matching."""
    alert = object.__new__(Alert)
    for set_value, value in zip(_SETTERS, values, strict=True):
        set_value(alert, value)
    return alert
