"""What a daily digest holds: the day's numbers and lists, ready to render (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = [
    "TOP_LIMIT",
    "Digest",
    "DigestAlert",
    "SuppressedAlert",
    "Suppression",
    "SuppressionLookup",
]

#: How many failing principals and source addresses the digest lists (the busiest first).
TOP_LIMIT = 10


class Suppression(Protocol):
    """What the digest shows of a suppression: whose it is and why (text someone typed)."""

    @property
    def author(self) -> str:
        """Who added it (``suppress add --by``)."""
        ...

    @property
    def reason(self) -> str:
        """Why (``suppress add --reason``)."""
        ...


@runtime_checkable
class SuppressionLookup(Protocol):
    """Where suppressions are looked up by id (the activity store, once it keeps them)."""

    def get_suppression(self, suppression_id: str) -> Suppression | None:
        """The suppression with this id, or None when there is none (removed, or unknown)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestAlert:
    """One alert of the day, with what its event says (None where the event was not read)."""

    rule_id: str
    severity: str
    status: str
    event_id: str
    event_time: str
    account_id: str | None
    principal: str | None = None
    source_ip: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SuppressedAlert:
    """An alert claimed but not posted because of a suppression: its id, whose and why.

    ``author`` and ``reason`` are None when the suppression could not be looked up (removed
    since, or no suppressions store): the id alone is shown then.
    """

    alert: DigestAlert
    suppression_id: str | None
    author: str | None = None
    reason: str | None = None


@dataclass(kw_only=True)
class Digest:
    """The summary of one UTC day (``day`` is ``yyyy-mm-dd``).

    ``accounts`` are the accounts whose events were read, ``account_names`` the names known for
    them. Counters are sorted busiest first; ``*_total`` say how many there were in all, so a
    renderer that shows fewer can say how many more.
    """

    day: str
    accounts: tuple[str, ...]
    account_names: dict[str, str] = field(default_factory=dict)
    events: int = 0
    sign_ins: int = 0
    failed_sign_ins: int = 0
    api_calls: int = 0
    alerts: int = 0
    #: (account id or None when its event was not read, rule id, count), busiest first.
    alert_counts: list[tuple[str | None, str, int]] = field(default_factory=list)
    suppressed: list[SuppressedAlert] = field(default_factory=list)
    medium: list[DigestAlert] = field(default_factory=list)
    #: (account id, principal, count) of IAM-user console sign-ins without MFA.
    without_mfa: list[tuple[str, str, int]] = field(default_factory=list)
    #: (account id, principal, failures), the ``TOP_LIMIT`` busiest.
    failing_principals: list[tuple[str, str, int]] = field(default_factory=list)
    failing_principals_total: int = 0
    #: (source IP, failures), the ``TOP_LIMIT`` busiest.
    failing_ips: list[tuple[str, int]] = field(default_factory=list)
    failing_ips_total: int = 0

    def account_label(self, account_id: str | None) -> str:
        """``"prod (111122223333)"``, the bare id, or a note when the account is not known."""
        if account_id is None:
            return "account not read"
        name = self.account_names.get(account_id)
        return f"{name} ({account_id})" if name else account_id
