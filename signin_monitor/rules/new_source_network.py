"""``new-source-network``: a principal signed in from a network it has not used lately."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..alerts import Alert, Severity
from ..events import CONSOLE_LOGIN, SignInEvent
from ..networks import network_of
from ..store.schema import alert_scope
from .base import FailureHistory

__all__ = ["NewSourceNetwork"]


@dataclass(frozen=True, slots=True)
class NewSourceNetwork:
    """A successful ConsoleLogin of P at t from a network (IPv4 /24, IPv6 /48) that none of
    P's successes from an IP address in (t - lookback, t) came from, provided P has at least
    one such success: a principal seen for the first time teaches, it does not alert (design
    §3.2). Non-IP sources (``AWS Internal``) have no network and are ignored.

    Two reads at most: P's latest success in the lookback (none: nothing to compare; same
    network: known, the usual case, one read), then whether any success came from this
    network. One alert per event; it is evaluated when the sign-in arrives (an older success
    delivered later does not recall it).
    """

    lookback: timedelta
    id: str = "new-source-network"
    severity: Severity = Severity.MEDIUM

    @property
    def reach(self) -> timedelta:
        """How far from the event's time its history questions look, either way."""
        return self.lookback

    def alerts_on(self, kind: str, event_name: str) -> bool:
        """Whether an event of that kind and name can raise its alert (``SelectiveRule``)."""
        return event_name == CONSOLE_LOGIN

    def evaluate(self, event: SignInEvent, history: FailureHistory) -> Alert | None:
        """Alert on a success from a network the principal's recent successes never used."""
        if event.result != "Success" or event.event_name != CONSOLE_LOGIN:
            return None
        network = network_of(event.source_ip)
        if network is None:
            return None
        after, before = event.event_time - self.lookback, event.event_time
        last = history.last_success(event.account_id, event.principal, after=after, before=before)
        if last is None or network_of(last.source_ip) == network:
            return None
        if history.has_success_from_network(
            event.account_id, event.principal, network, after=after, before=before
        ):
            return None
        return Alert(
            rule_id=self.id,
            severity=self.severity,
            title="Sign-in from a new network",
            event=event,
            scope=alert_scope(event.event_id),
            evidence=(last,),
            network=network,
        )
