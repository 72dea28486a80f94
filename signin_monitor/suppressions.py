"""Suppressions: a planned alert silenced for a stated period, with an owner, a reason and an end.

A suppression names a rule (or ``all``), at least one scope (a principal, a source CIDR, an
account id: every one given must match) and a period ``[valid_from, until)``. An alert is
covered when its event's time lies in the period and the rule and every scope match its event.
It is the *event* time that counts, never the clock: a replay of last month's logs meets the
suppressions in force last month, and one whose ``until`` has passed stops applying at its end
even while it is still stored (DynamoDB's TTL deletes late, SQLite never does).

A covered alert is still stored, still counted by every windowed rule and still claimed; the
pipeline marks its claim ``suppressed`` with the suppression's id instead of posting it.

No I/O here: the stores keep suppressions (``store/suppressions_sqlite.py``,
``store/suppressions_dynamodb.py``) and ``StoredSuppressions`` reads them once, lazily.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

from .config import ALL_RULE_IDS
from .errors import InvalidSuppressionError

if TYPE_CHECKING:
    from .alerts import Alert

__all__ = [
    "ALL_RULES",
    "MAX_PERIOD",
    "SUPPRESSION_ID_PREFIX",
    "StoredSuppressions",
    "Suppression",
    "SuppressionKeeper",
    "SuppressionSource",
    "SuppressionStore",
    "new_suppression",
]

logger = logging.getLogger(__name__)

#: The rule value that covers every rule.
ALL_RULES: Final = "all"
#: The longest period a suppression may have unless its author says ``--no-expiry-limit``.
MAX_PERIOD: Final = timedelta(days=90)
SUPPRESSION_ID_PREFIX: Final = "sup-"
_ID: Final = re.compile(r"sup-[a-z0-9][a-z0-9-]{0,62}")
_ACCOUNT: Final = re.compile(r"\d{12}")
#: Longest principal, reason and author kept (a DynamoDB item must stay small; text is shown).
_MAX_TEXT: Final = 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Suppression:
    """One stored suppression. Built with ``new_suppression`` (which checks the period's length);
    the constructor checks only what every stored one must satisfy, so a suppression made with
    ``--no-expiry-limit`` still loads.

    **Parameters:**
    * **id** - ``sup-`` and lowercase letters, digits or dashes (``sup-1a2b3c4d``).
    * **rule** - a rule id of ``config.ALL_RULE_IDS`` or ``all``.
    * **principal**, **source_cidr**, **account_id** - the scope; at least one is set.
      ``source_cidr`` is a normalised network (``203.0.113.0/24``, a lone address ``/32``).
    * **reason**, **author** - why and by whom (shown as text, never trusted).
    * **created** - when it was added; **valid_from** / **until** - the period, ``until`` excluded.
    """

    id: str
    rule: str
    principal: str | None = None
    source_cidr: str | None = None
    account_id: str | None = None
    reason: str
    author: str
    created: datetime
    valid_from: datetime
    until: datetime

    def __post_init__(self) -> None:
        if not _ID.fullmatch(self.id):
            raise InvalidSuppressionError("id", f"{self.id!r} is not sup- and [a-z0-9-]")
        if self.rule != ALL_RULES and self.rule not in ALL_RULE_IDS:
            raise InvalidSuppressionError(
                "--rule",
                f"{self.rule!r} is not a rule id: use all or one of " + ", ".join(ALL_RULE_IDS),
            )
        if self.principal is None and self.source_cidr is None and self.account_id is None:
            raise InvalidSuppressionError(
                "scope", "give at least one of --principal, --source-ip and --account"
            )
        if self.principal is not None and not 0 < len(self.principal) <= _MAX_TEXT:
            raise InvalidSuppressionError("--principal", "must be 1 to 1024 characters")
        if self.account_id is not None and not _ACCOUNT.fullmatch(self.account_id):
            raise InvalidSuppressionError("--account", f"{self.account_id!r} is not 12 digits")
        if self.source_cidr is not None:
            object.__setattr__(self, "source_cidr", _network_text(self.source_cidr))
        for name, text in (("--reason", self.reason), ("--by", self.author)):
            if not text.strip() or len(text) > _MAX_TEXT:
                raise InvalidSuppressionError(name, "must be 1 to 1024 characters, not blank")
        for name, moment in (
            ("created", self.created),
            ("--from", self.valid_from),
            ("--until", self.until),
        ):
            if moment.tzinfo is None:
                raise InvalidSuppressionError(name, "needs a time zone")
        if self.until <= self.valid_from:
            raise InvalidSuppressionError("--until", "must be after --from")

    def active_at(self, moment: datetime) -> bool:
        """True when ``moment`` lies in ``[valid_from, until)``: the start counts, the end not."""
        return self.valid_from <= moment < self.until

    def state(self, now: datetime) -> str:
        """``active`` while ``now`` is in the period, ``expired`` after, ``scheduled`` before."""
        if now >= self.until:
            return "expired"
        return "active" if now >= self.valid_from else "scheduled"

    def covers(self, alert: Alert) -> bool:
        """True when the alert's event falls in the period and the rule and every scope match."""
        event = alert.event
        return (
            self.active_at(event.event_time)
            and self.rule in (ALL_RULES, alert.rule_id)
            and (self.principal is None or self.principal == event.principal)
            and (self.account_id is None or self.account_id == event.account_id)
            and (self.source_cidr is None or _in_network(event.source_ip, self.source_cidr))
        )

    @property
    def scope_text(self) -> str:
        """The scope as ``principal=root account=111122223333 source=203.0.113.0/24`` (raw text:
        callers escape it)."""
        parts = [
            f"{name}={value}"
            for name, value in (
                ("principal", self.principal),
                ("account", self.account_id),
                ("source", self.source_cidr),
            )
            if value is not None
        ]
        return " ".join(parts)


def new_suppression(
    *,
    rule: str,
    reason: str,
    author: str,
    until: datetime,
    valid_from: datetime | None = None,
    principal: str | None = None,
    source_cidr: str | None = None,
    account_id: str | None = None,
    now: datetime | None = None,
    no_expiry_limit: bool = False,
    suppression_id: str | None = None,
) -> Suppression:
    """A new suppression with a fresh id, from now (or ``valid_from``) until ``until``.

    Times are kept to the second (as the stores keep them). The period may lie wholly in the
    past (to quiet a replay of old logs); its length is at most ``MAX_PERIOD`` unless
    ``no_expiry_limit``. Raises ``InvalidSuppressionError`` naming the option at fault.
    """
    created = _second(now or datetime.now(UTC))
    start = created if valid_from is None else _second(valid_from)
    end = _second(until)
    if end <= start:
        raise InvalidSuppressionError("--until", "must be after --from (which defaults to now)")
    if not no_expiry_limit and end - start > MAX_PERIOD:
        raise InvalidSuppressionError(
            "--until",
            f"the period is {_days(end - start)}, longer than {MAX_PERIOD.days} days:"
            " shorten it, or say --no-expiry-limit",
        )
    import secrets  # only the command line makes suppressions: not on the Lambda's cold start

    return Suppression(
        id=suppression_id or SUPPRESSION_ID_PREFIX + secrets.token_hex(4),
        rule=rule,
        principal=principal,
        source_cidr=source_cidr,
        account_id=account_id,
        reason=reason,
        author=author,
        created=created,
        valid_from=start,
        until=end,
    )


@runtime_checkable
class SuppressionStore(Protocol):
    """The store side the pipeline reads: every stored suppression (expired ones too)."""

    def suppressions(self) -> list[Suppression]:
        """Every stored suppression, by id."""
        ...


@runtime_checkable
class SuppressionKeeper(SuppressionStore, Protocol):
    """A store that also adds and removes suppressions (both stores; the command line's side)."""

    def add_suppression(self, suppression: Suppression, *, expires_at: int | None = None) -> bool:
        """Store it (``expires_at``: TTL epoch seconds, or None); False if its id is taken."""
        ...

    def remove_suppression(self, suppression_id: str) -> bool:
        """Delete it; False if no suppression has that id."""
        ...


class SuppressionSource(Protocol):
    """What the pipeline asks after claiming an alert (I/O behind it, none in the pipeline)."""

    def covering(self, alert: Alert) -> Suppression | None:
        """The suppression that covers ``alert`` (the first by id), or None."""
        ...

    def find(self, suppression_id: str) -> Suppression | None:
        """An already-read suppression by id (to show its reason), without reading the store."""
        ...

    def refresh(self) -> None:
        """Forget what was read: the next ``covering`` reads the store again."""
        ...


class StoredSuppressions:
    """Reads the store's suppressions on the first ``covering`` call, then keeps them.

    Lazy, so an event that raises no alert costs no read; kept until ``refresh``, so a replay
    reads once per run and the Lambda once per invocation (``handler`` refreshes at the start
    of each: a suppression added or removed applies from the next invocation on, the read being
    strongly consistent).
    """

    def __init__(self, store: SuppressionStore) -> None:
        self.store = store
        self._loaded: Sequence[Suppression] | None = None

    def covering(self, alert: Alert) -> Suppression | None:
        """The first suppression (by id) covering the alert; reads the store once if needed."""
        if self._loaded is None:
            self._loaded = sorted(self.store.suppressions(), key=lambda s: s.id)
        for suppression in self._loaded:
            if suppression.covers(alert):
                return suppression
        return None

    def find(self, suppression_id: str) -> Suppression | None:
        """The loaded suppression with this id (for showing its reason), never a new read."""
        for suppression in self._loaded or ():
            if suppression.id == suppression_id:
                return suppression
        return None

    def refresh(self) -> None:
        """Forget the loaded suppressions."""
        self._loaded = None


def _network_text(text: str) -> str:
    try:
        return str(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError:
        raise InvalidSuppressionError(
            "--source-ip", f"{text!r} is not an IP address or CIDR (203.0.113.0/24)"
        ) from None


def _in_network(source_ip: str, cidr: str) -> bool:
    """Whether the event's source is an address inside ``cidr``; hostnames never match."""
    try:
        address = ipaddress.ip_address(source_ip)
    except ValueError:
        return False  # "AWS Internal", "signin.amazonaws.com", empty: no address to match
    network = ipaddress.ip_network(cidr)
    return address.version == network.version and address in network


def _second(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _days(period: timedelta) -> str:
    return f"{period.total_seconds() / 86400:g} days"
