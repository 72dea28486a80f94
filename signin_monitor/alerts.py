"""What a rule raises: an ``Alert``, and how severe it is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from .events import SignInEvent

__all__ = ["Alert", "Severity"]


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
    (the store's claim enforces it, so concurrent deliveries still give one message).
    """

    rule_id: str
    severity: Severity
    title: str
    event: SignInEvent
    scope: str
    window: timedelta | None = None
    failure_count: int | None = None

    @property
    def claim_key(self) -> tuple[str, str]:
        """(rule id, scope): what the store's alert claim is keyed on."""
        return self.rule_id, self.scope
