"""The interface every rule shares, and what a rule may ask of the stored history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from ..alerts import Alert, Severity
from ..events import SignInEvent
from ..store.schema import alert_scope

__all__ = ["FailureHistory", "Rule", "SelectiveRule", "event_alert", "first_with_later"]


class FailureHistory(Protocol):
    """The questions a rule may ask the store, each one key-range read.

    The failures of one principal in a time range; the failures from one address in one
    account; a principal's successful sign-ins from IP addresses, and from one network.
    """

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

    def failures_from_source(
        self, account_id: str, source_ip: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """Failed ConsoleLogin records from ``source_ip`` in the account, ``after < t < before``.

        Oldest first (time, then event id); every principal tried is among them. Fields a
        Slack message shows are filled in (``user_agent``, ``arn`` and ``raw`` may be empty).
        """
        ...

    def successes_between(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """Successful ConsoleLogin records of the principal from an IP address, ``after < t <
        before``, oldest first (``raw`` may be ``{}``)."""
        ...

    def last_success(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> SignInEvent | None:
        """The latest successful ConsoleLogin of the principal from an IP address with
        ``after < t < before`` (``raw`` may be ``{}``), or None."""
        ...

    def has_success_from_network(
        self, account_id: str, principal: str, network: str, *, after: datetime, before: datetime
    ) -> bool:
        """True when a successful ConsoleLogin of the principal from ``network`` (as
        ``networks.network_of`` names it) has ``after < t < before``."""
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


@runtime_checkable
class SelectiveRule(Protocol):
    """What a rule may declare so replay evaluates it only where it can matter.

    Replay stores every record but runs a rule only on the events ``alerts_on`` admits, and
    answers its history questions from a window it loads once: every question about an
    event at t must lie within [t - ``reach``, t + ``reach``]. A rule that declares neither
    is run on every event, with the whole stored history in reach. A selective rule does not
    read ``raw`` on a ConsoleLogin record (replay lets those go once they are stored).
    """

    def alerts_on(self, kind: str, event_name: str) -> bool:
        """False when no event of that kind (``sign-in``, ``api-call``) and ``eventName`` can
        raise its alert, whatever the history holds."""
        ...

    @property
    def reach(self) -> timedelta:
        """How far before or after the event's time its history questions look."""
        ...


def event_alert(rule: Rule, event: SignInEvent, title: str) -> Alert:
    """The alert one event raises on its own: its claim is the event's id, so one per event."""
    return Alert(
        rule_id=rule.id,
        severity=rule.severity,
        title=title,
        event=event,
        scope=alert_scope(event.event_id),
    )


def first_with_later(alerts: Sequence[Alert]) -> Alert | None:
    """The first of the anchors' alerts, the others as its ``later_anchors`` (fallbacks for
    the windowed claim, in order); None for none.

    The first alone is returned as it is: it has no later anchors already, and a copy
    (``dataclasses.replace``) cost more than the rest of a burst's covered repeat.
    """
    if not alerts:
        return None
    first = alerts[0]
    if len(alerts) == 1:
        return first
    return replace(first, later_anchors=tuple(alerts[1:]))
