"""Where a report reads its period from: the events and alert claims of either store, streamed.

``ReportSource`` is what the report needs from a store: the period's events, oldest first, and
the alert claims whose event falls in the period. Both are iterators, so a 90-day report never
holds the period in memory.

* SQLite: with ``--account``, one ``history`` query per account (merged by time); without, a
  read-only SQL query on the same file for every account (``history`` needs a key). Alert claims
  come from the ``alert_claims`` table, read-only.
* DynamoDB: one ``history`` query per account (``--account`` is required: listing every account
  would be a ``Scan``); alert claims from the sparse ``by-alert-day`` index, one ``Query`` per
  UTC day (``store/alert_index.py``).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..events import SignInEvent, format_time
from ..store.base import ActivityStore, HistoryQuery
from ..store.day_reads import (
    AlertRecord,
    dynamodb_alerts_of_day,
    open_read_only,
    sqlite_alert_claims,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = [
    "AlertRecord",
    "DynamoDbSource",
    "Period",
    "ReportSource",
    "SqliteSource",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Period:
    """The report's question: ``since <= eventTime <= until``, optionally a list of accounts."""

    since: datetime
    until: datetime
    accounts: tuple[str, ...] = ()

    def days(self, *, trim_midnight: bool = False) -> list[str]:
        """Every UTC day the period touches, as ``yyyy-mm-dd``.

        With ``trim_midnight``, an ``until`` at exactly midnight (``--until 2026-12-01``) does
        not add that day (the page's day table; an event at that instant still adds it).
        """
        day, last = self.since.date(), self.until.date()
        if trim_midnight and self.until.time() == dt_time(0) and last > day:
            last -= timedelta(days=1)
        out: list[str] = []
        while day <= last:
            out.append(day.isoformat())
            day += timedelta(days=1)
        return out

    def as_json(self) -> dict[str, Any]:
        """The query as recorded in the manifest."""
        return {
            "since": format_time(self.since),
            "until": format_time(self.until),
            "accounts": list(self.accounts) or "all",
        }


class ReportSource(Protocol):
    """The period's events and alert claims, from one store."""

    def describe(self) -> dict[str, str]:
        """The store, as recorded in the manifest (kind and path or table)."""
        ...

    def events(self) -> Iterator[SignInEvent]:
        """The period's events, oldest first (by time, then event id), expired ones left out."""
        ...

    def alerts(self) -> Iterator[AlertRecord]:
        """Alert claims whose event time is in the period, oldest first."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def _by_account(store: ActivityStore, period: Period) -> Iterator[SignInEvent]:
    """One streaming ``history`` query per account, merged into one time-ordered stream."""
    now = int(time.time())
    streams = [
        store.history(
            HistoryQuery(account_id=account, since=period.since, until=period.until, now_epoch=now)
        )
        for account in period.accounts
    ]
    return heapq.merge(*streams, key=lambda event: (event.event_time, event.event_id))


class SqliteSource:
    """A report source on a SQLite store file, read through a read-only connection.

    The file must exist (a report never creates an empty store by mistake).
    """

    def __init__(self, path: str | Path, period: Period) -> None:
        self.path = str(path)
        self.period = period
        self._db, tables = open_read_only(self.path)
        self._has_claims = "alert_claims" in tables
        self._store: ActivityStore | None = None

    def describe(self) -> dict[str, str]:
        """``{"kind": "sqlite", "path": ...}``."""
        return {"kind": "sqlite", "path": self.path}

    def events(self) -> Iterator[SignInEvent]:
        """Account queries through ``SqliteStore.history``, or one SQL range read for all."""
        if self.period.accounts:
            from ..store.sqlite import SqliteStore

            self._store = SqliteStore(self.path)
            return _by_account(self._store, self.period)
        return self._all_accounts()

    def _all_accounts(self) -> Iterator[SignInEvent]:
        from ..store.sqlite import events_in_period

        return events_in_period(
            self._db,
            since=format_time(self.period.since),
            until=format_time(self.period.until),
            now_epoch=time.time(),
        )

    def alerts(self) -> Iterator[AlertRecord]:
        """Rows of ``alert_claims`` in the period (a ``reason`` column is read if present)."""
        if not self._has_claims:
            return iter(())
        return sqlite_alert_claims(
            self._db,
            since=format_time(self.period.since),
            until=format_time(self.period.until),
        )

    def close(self) -> None:
        """Close the read-only connection (and the store, if account queries opened it)."""
        if self._store is not None:
            self._store.close()
        self._db.close()


class DynamoDbSource:
    """A report source on the DynamoDB table: account queries and the ``by-alert-day`` index."""

    def __init__(
        self, table_name: str, period: Period, *, client: DynamoDBClient | None = None
    ) -> None:
        if not period.accounts:
            raise ValueError(
                "a report on DynamoDB needs --account (one or more): listing every account's "
                "events would scan the whole table"
            )
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        from ..store.dynamodb import DynamoDbStore

        self.table_name = table_name
        self.period = period
        self._client = client
        self._store = DynamoDbStore(table_name, client=client)

    def describe(self) -> dict[str, str]:
        """``{"kind": "dynamodb", "table": ...}``."""
        return {"kind": "dynamodb", "table": self.table_name}

    def events(self) -> Iterator[SignInEvent]:
        """One ``history`` query per account (by-account-day, a day at a time), merged."""
        return _by_account(self._store, self.period)

    def alerts(self) -> Iterator[AlertRecord]:
        """One paginated ``Query`` of ``by-alert-day`` per UTC day of the period."""
        low, high = format_time(self.period.since), format_time(self.period.until)
        for day in self.period.days():
            for _pk, record in dynamodb_alerts_of_day(
                self._client, self.table_name, day, low=low, high=high
            ):
                yield record

    def close(self) -> None:
        """Nothing to release beyond the store."""
        self._store.close()


def open_source(
    *, db: str | None, table: str | None, period: Period, default_db: str
) -> ReportSource:
    """The source for ``--db``/``--table`` (SQLite ``default_db`` when neither is given)."""
    if table:
        return DynamoDbSource(table, period)
    return SqliteSource(db or default_db, period)
