"""Fold a stream of events into the report's numbers, one event at a time (bounded memory).

``ReportData`` keeps counters keyed by day, principal, source IP, account and identity type,
never the events: its size grows with the number of distinct principals and addresses (and
with root events and alerts, which are listed one by one), not with the number of events.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..events import SignInEvent
from .sources import AlertRecord, Period

__all__ = ["ReportData", "RootUse"]

RESULTS = ("Success", "Failure", "Other")


@dataclass(frozen=True, slots=True, kw_only=True)
class RootUse:
    """One root event of the period, as the root usage timeline lists it."""

    event_time: str
    event_id: str
    event_name: str
    account_id: str
    result: str
    mfa_used: bool | None
    source_ip: str
    region: str
    alerts: tuple[str, ...]


@dataclass(kw_only=True)
class ReportData:
    """Everything the page shows, counted while the events stream past.

    Usage::

        data = ReportData(period=period, alerts=list(source.alerts()))
        for event in source.events():
            data.add(event)
    """

    period: Period
    alerts: list[AlertRecord] = field(default_factory=list)
    events: int = 0
    sign_ins: Counter[str] = field(default_factory=Counter)
    per_day: dict[str, Counter[str]] = field(default_factory=dict)
    root: list[RootUse] = field(default_factory=list)
    no_mfa: Counter[tuple[str, str]] = field(default_factory=Counter)
    failing_principals: Counter[tuple[str, str]] = field(default_factory=Counter)
    failing_ips: Counter[str] = field(default_factory=Counter)
    identity_types: Counter[tuple[str, str]] = field(default_factory=Counter)
    principals: set[tuple[str, str]] = field(default_factory=set)
    _alerts_by_event: dict[str, list[AlertRecord]] = field(default_factory=dict, repr=False)
    _seen_alerts: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        for day in self.period.days(trim_midnight=True):
            self.per_day[day] = Counter()
        for alert in self.alerts:
            self._alerts_by_event.setdefault(alert.event_id, []).append(alert)

    def add(self, event: SignInEvent) -> None:
        """Count one event of the period."""
        self.events += 1
        self.identity_types[(event.account_id, event.identity_type)] += 1
        self.principals.add((event.account_id, event.principal))
        if event.event_id in self._alerts_by_event:
            self._seen_alerts.add(event.event_id)
        if event.is_console_login:
            result = event.result or "Other"
            self.sign_ins[result] += 1
            self.per_day.setdefault(event.time_text[:10], Counter())[result] += 1
            if event.is_failed_console_login:
                self.failing_principals[(event.account_id, event.principal)] += 1
                self.failing_ips[event.source_ip] += 1
            elif (
                event.result == "Success"
                and event.mfa_used is False
                and event.identity_type == "IAMUser"
            ):
                self.no_mfa[(event.account_id, event.principal)] += 1
        if event.is_root:
            raised = self._alerts_by_event.get(event.event_id, [])
            self.root.append(
                RootUse(
                    event_time=event.time_text,
                    event_id=event.event_id,
                    event_name=event.event_name,
                    account_id=event.account_id,
                    result=event.result or "-",
                    mfa_used=event.mfa_used,
                    source_ip=event.source_ip,
                    region=event.region,
                    alerts=tuple(sorted({alert.rule_id for alert in raised})),
                )
            )

    def scoped_alerts(self) -> list[AlertRecord]:
        """The alerts about events of this report (all of the period's, without ``--account``)."""
        if not self.period.accounts:
            return list(self.alerts)
        return [alert for alert in self.alerts if alert.event_id in self._seen_alerts]

    def alerts_by_rule(self) -> dict[str, Counter[str]]:
        """Alert count per rule and delivery status."""
        table: dict[str, Counter[str]] = {}
        for alert in self.scoped_alerts():
            table.setdefault(alert.rule_id, Counter())[alert.status] += 1
        return dict(sorted(table.items()))

    @property
    def days(self) -> list[str]:
        """The days of the period, in order (an event exactly at ``until`` may add the last)."""
        return sorted(self.per_day)

    @property
    def console_sign_ins(self) -> int:
        """``ConsoleLogin`` events of the period."""
        return sum(self.sign_ins.values())

    @property
    def root_sign_ins(self) -> int:
        """Root ``ConsoleLogin`` events of the period."""
        return sum(1 for use in self.root if use.event_name == "ConsoleLogin")
