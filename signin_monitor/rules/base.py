"""The interface every rule shares, and what a rule may ask of the stored history."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ..alerts import Alert, Severity
from ..events import SignInEvent

__all__ = ["FailureHistory", "Rule"]


class FailureHistory(Protocol):
    """The questions a rule may ask the store: the failures of one principal in a time range."""

    def count_failures(
        self, account_id: str, principal: str, *, after: datetime, until: datetime
    ) -> int:
        """Failed ConsoleLogin records of the principal with ``after < eventTime <= until``."""
        ...

    def failures_between(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """Failed ConsoleLogin records of the principal with ``after < eventTime < before``.

        Oldest first (time, then event id), one key-range read. Every audit field is filled
        in; ``raw`` may be ``{}`` (the store need not read the original record for a rule).
        """
        ...

    def has_console_sign_in(
        self, account_id: str, principal: str, *, after: datetime, until: datetime
    ) -> bool:
        """True when a successful ConsoleLogin of the principal has ``after < time <= until``."""
        ...


class Rule(Protocol):
    """A detection: a pure function of the event and the stored history.

    Rules never look at the clock or the network, so replaying old logs gives the same
    alerts as live delivery did.
    """

    @property
    def id(self) -> str:
        """Stable identifier, also the file name (``root-sign-in`` -> ``root_sign_in.py``)."""
        ...

    @property
    def severity(self) -> Severity:
        """The severity of the alerts it raises."""
        ...

    def evaluate(self, event: SignInEvent, history: FailureHistory) -> Alert | None:
        """The alert this event raises, or None."""
        ...
