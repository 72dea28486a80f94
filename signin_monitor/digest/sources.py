"""Where a digest reads its day from: the day's alert claims and the accounts' events, one key
range each.

* DynamoDB (the Lambda, ``digest --table``): one ``Query`` of ``by-alert-day`` for the day's
  alert claims, one ``Query`` of ``by-account-day`` per account, and, only when the day has
  suppressed alerts, one ``BatchGetItem`` for their suppression ids (the index does not project
  ``reason``). Listing the accounts that had events would be a ``Scan``, so the accounts are
  given: see ``digest_accounts``.
* SQLite (``digest --db``): one read-only range read of the day for every account (filtered
  when accounts are given) and one of ``alert_claims``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..store.day_reads import (
    AlertRecord,
    claim_reasons,
    dynamodb_account_day,
    dynamodb_alerts_of_day,
    open_read_only,
    sqlite_alert_claims,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from ..events import SignInEvent
    from ..store.dynamodb import DynamoDbStore

__all__ = [
    "DayReader",
    "DynamoDbDayReader",
    "SqliteDayReader",
    "day_bounds",
    "digest_accounts",
]

SUPPRESSED = "suppressed"


def day_bounds(day: date) -> tuple[str, str]:
    """The first and last second of the UTC day, as stored times (``...T00:00:00Z``)."""
    text = day.isoformat()
    return f"{text}T00:00:00Z", f"{text}T23:59:59Z"


class DayReader(Protocol):
    """The day's alert claims and events, from one store."""

    #: True when ``events(day, None)`` can read every account (SQLite); DynamoDB needs a list.
    lists_every_account: bool

    def alerts(self, day: date) -> list[AlertRecord]:
        """The alert claims of the day, oldest first, each suppressed one with its reason."""
        ...

    def events(self, day: date, accounts: Sequence[str] | None) -> Iterator[SignInEvent]:
        """The day's events of ``accounts`` (None: every account), expired ones left out."""
        ...


class DynamoDbDayReader:
    """The day on the DynamoDB table: ``by-alert-day`` once, ``by-account-day`` per account."""

    lists_every_account = False

    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        self.table_name = table_name
        self._client = client
        self._clock = clock

    @classmethod
    def of_store(cls, store: DynamoDbStore) -> DynamoDbDayReader:
        """A reader sharing the store's table and client (the Lambda's, built at cold start)."""
        return cls(store.table_name, client=store._client)

    def alerts(self, day: date) -> list[AlertRecord]:
        """One ``Query`` of the day's partition; the suppressed ones' reasons in one batch."""
        low, high = day_bounds(day)
        found = list(
            dynamodb_alerts_of_day(
                self._client, self.table_name, day.isoformat(), low=low, high=high
            )
        )
        missing = [pk for pk, record in found if record.status == SUPPRESSED and not record.reason]
        if not missing:
            return [record for _pk, record in found]
        reasons = claim_reasons(self._client, self.table_name, missing)
        return [
            replace(record, reason=reasons[pk]) if pk in reasons else record for pk, record in found
        ]

    def events(self, day: date, accounts: Sequence[str] | None) -> Iterator[SignInEvent]:
        """One ``Query`` of ``by-account-day`` per account, account after account."""
        if accounts is None:
            raise ValueError(
                "a digest on DynamoDB needs its accounts: listing every account would scan "
                "the whole table"
            )
        now = int(self._clock())
        for account in accounts:
            yield from dynamodb_account_day(
                self._client, self.table_name, account, day.isoformat(), now_epoch=now
            )


class SqliteDayReader:
    """The day on a SQLite store file, read through a read-only connection (it must exist)."""

    lists_every_account = True

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = str(path)
        self._clock = clock
        self._db, _tables = open_read_only(self.path)

    def alerts(self, day: date) -> list[AlertRecord]:
        """The day's rows of ``alert_claims`` (suppression ids from its ``reason`` column)."""
        since, until = day_bounds(day)
        return list(sqlite_alert_claims(self._db, since=since, until=until))

    def events(self, day: date, accounts: Sequence[str] | None) -> Iterator[SignInEvent]:
        """One range read of the day; only ``accounts``' events when a list is given."""
        from ..store.sqlite import events_in_period

        since, until = day_bounds(day)
        wanted = None if accounts is None else set(accounts)
        for event in events_in_period(self._db, since=since, until=until, now_epoch=self._clock()):
            if wanted is None or event.account_id in wanted:
                yield event

    def close(self) -> None:
        """Close the read-only connection."""
        self._db.close()


def digest_accounts(
    *,
    given: Iterable[str] = (),
    known: Iterable[str] = (),
    alerts: Iterable[AlertRecord] = (),
) -> tuple[str, ...]:
    """The accounts a DynamoDB digest reads, without a ``Scan``: the ones ``given`` (the
    schedule's input, ``--account``), else the ``known`` ones (the function's own account, the
    account-name map) together with every account the day's windowed alerts name in their
    scope (``<account>#<principal>#W...``). Sorted, each once."""
    chosen = list(dict.fromkeys(given))
    if chosen:
        return tuple(chosen)
    found = {account for account in known if account}
    for record in alerts:
        account = scope_account(record.scope)
        if account is not None:
            found.add(account)
    return tuple(sorted(found))


def scope_account(scope: str) -> str | None:
    """The account a windowed alert's scope starts with (None for one-off scopes: event ids).

    Scopes come from ``schema.alert_scope``: parts joined by ``#``, each with ``%`` and ``#``
    percent-encoded, a part too long for its budget cut (``%!`` + digest: not an account).
    """
    if "#" not in scope:
        return None
    first = scope.split("#", 1)[0]
    if not first or "%!" in first:
        return None
    return first.replace("%23", "#").replace("%25", "%")
