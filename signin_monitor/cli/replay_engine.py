"""Replay's engine: every record stored in bulk, in file order; the rules run only where they
can alert, in time order, over an in-memory copy of the history they ask about.

Processing one event at a time (store, then every rule asking the store) gives each event a
view of the store holding what it held before the run plus this run's events sorted up to
this one. The engine gives the rules exactly that view, much faster:

* Every record is written as it is read, a batch per transaction (``record_many``), on one
  writer thread (``replay_writer.BatchWriter``: SQLite's work overlaps the reading). Only
  the events a rule can alert on (``SelectiveRule.alerts_on``) and the ConsoleLogin records
  the rules' questions are about are kept, without their raw record, to be sorted.
* The history the rules ask (``FailureHistory``) is answered from memory: the store's
  ConsoleLogin rows from before the run, within the rules' reach of the run's times, loaded
  once; then each of this run's events, added when it is processed in time order (a
  duplicate of a stored row adds nothing, as its insert did nothing).
* Claims and posts go through the pipeline, per alert, as before.

Memory holds the kept events (a sorted run past ``memory_events`` is spilled to a temporary
file) and the ConsoleLogin rows within reach.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import operator
import sys
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol, runtime_checkable

from ..errors import UnstorableRecordError
from ..events import (
    CONSOLE_LOGIN,
    EARLIEST_EVENT_TIME,
    LATEST_EVENT_TIME,
    SIGN_IN,
    SIGNIN_EVENT_SOURCE,
    SignInEvent,
    format_time,
    parse_time,
)
from ..logs import event_keys
from ..networks import network_of
from ..pipeline import EventOutcome, Pipeline
from ..rules import Rule, SelectiveRule
from ..sources import TimeSorter
from ..store import HistoryQuery, schema
from ..store.sqlite import StagedRows
from .replay_writer import BatchWriter

__all__ = [
    "FORGET_EVERY",
    "MEMORY_EVENTS",
    "WRITE_BATCH",
    "BulkStore",
    "MemoryHistory",
    "ReplayEngine",
    "SeedableStore",
    "StagingStore",
    "Written",
]

#: Events written per transaction (one commit per event dominated replay time).
WRITE_BATCH: Final = 1000
#: Kept events held in memory for the sort; past that, sorted runs are spilled to disk.
MEMORY_EVENTS: Final = 200_000
_MARGIN: Final = timedelta(seconds=1)
#: Every this many events, the history lets go of the rows no rule can reach any more.
FORGET_EVERY: Final = 10_000
#: The rules ask about the same few bounds over and over (each event's time, +/- windows).
_format_time: Final = functools.lru_cache(maxsize=4096)(format_time)


@runtime_checkable
class BulkStore(Protocol):
    """A store with a batched write (``SqliteStore``, ``DynamoDbStore``)."""

    def record_many(
        self, events: Sequence[SignInEvent], *, expires_at: Sequence[int | None]
    ) -> list[bool]:
        """``record`` for each event, in order; raises before writing any of them if one is
        unstorable."""
        ...


@runtime_checkable
class StagingStore(Protocol):
    """A store whose bulk write splits in two (``SqliteStore``): the rows built and checked
    without the store's connection, then written; so the two can run on different threads."""

    def stage_many(
        self, events: Sequence[SignInEvent], *, expires_at: Sequence[int | None]
    ) -> StagedRows:
        """The batch's rows, checked; raises before anything is written if one is unstorable."""
        ...

    def write_staged(self, staged: StagedRows) -> list[bool]:
        """Write them; True for each row stored (False: its keys were already there)."""
        ...


@dataclass(frozen=True, slots=True)
class _Job:
    """One batch on its way to the writer thread and back."""

    events: list[SignInEvent]
    expires: list[int | None]
    staged: StagedRows | None
    one_by_one: bool


@runtime_checkable
class SeedableStore(Protocol):
    """A store that can tell its rows from before a point of the run (``SqliteStore``)."""

    def row_mark(self) -> int:
        """A mark: the rows written from now on are past it."""
        ...

    def console_logins_up_to(
        self, mark: int, *, after: datetime, before: datetime
    ) -> Iterator[tuple[SignInEvent, str | None]]:
        """The ConsoleLogin rows up to ``mark`` with ``after < time < before``, each with its
        stored network."""
        ...


@dataclass(frozen=True, slots=True)
class Written:
    """One event the engine wrote: ``stored`` False when its keys were already there."""

    event: SignInEvent
    stored: bool


def success_network(event: SignInEvent) -> str | None:
    """The network a store files a successful ConsoleLogin from an IP address under."""
    if event.event_name != CONSOLE_LOGIN or event.result != "Success":
        return None
    return network_of(event.source_ip)


class MemoryHistory:
    """``FailureHistory`` over the rows added to it, answering as a store holding them would.

    Each question mirrors its store query: the same rows (by kind, name, result and network),
    the same bounds (compared as the stores compare them, on key text), the same order.
    ``after``/``before`` is the range the rows were loaded for: a question outside it is a
    bug of the caller, refused rather than answered wrongly. With ``principals``/``sources``
    given, only the rows of those were loaded, and a question about another one is refused too.
    ``projected``: answer the index questions (failures from an address, successes) with the
    fields the DynamoDB indexes project (``schema.FAILURE_SOURCE_ATTRIBUTES``,
    ``SUCCESS_ATTRIBUTES``), as that store does; SQLite's indexes give every audit field.
    """

    def __init__(
        self,
        *,
        after: datetime,
        before: datetime,
        principals: set[tuple[str, str]] | None = None,
        sources: set[tuple[str, str]] | None = None,
        projected: bool = False,
    ) -> None:
        self.after = after
        self._projected = projected
        self.before = before
        self._principals = principals
        self._sources = sources
        self._added = 0
        self._failures: dict[str, list[tuple[str, int, SignInEvent]]] = {}
        self._sign_ins: dict[str, list[str]] = {}
        self._from_source: dict[tuple[str, str], list[tuple[str, str, int, SignInEvent]]] = {}
        self._successes: dict[tuple[str, str], list[tuple[str, str, int, SignInEvent]]] = {}
        self._networks: dict[tuple[str, str, str], list[str]] = {}

    def add(self, event: SignInEvent, network: str | None) -> None:
        """Add one stored row (``network``: the one its store filed it under, or None)."""
        if event.event_name != CONSOLE_LOGIN:
            return  # no question is about any other row
        self._added += 1
        order = self._added
        time_text = event.time_text
        kind = schema.activity_sort_kind(
            api_call=event.is_api_call, failed_console_login=event.is_failed_console_login
        )
        pk = schema.activity_pk(event.account_id, event.principal)
        if kind == schema.KIND_FAILURE:
            sk = schema.activity_sk(kind, time_text, event.event_id)
            bisect.insort(self._failures.setdefault(pk, []), (sk, order, event))
        elif kind == schema.KIND_SIGNIN and event.result == "Success":
            sk = schema.activity_sk(kind, time_text, event.event_id)
            bisect.insort(self._sign_ins.setdefault(pk, []), sk)
        if event.result == "Failure":
            source = (event.account_id, event.source_ip)
            shown = _project(event, _FAILURE_SOURCE) if self._projected else event
            entry = (time_text, event.event_id, order, shown)
            bisect.insort(self._from_source.setdefault(source, []), entry)
        if network is not None:
            shown = _project(event, _SUCCESS) if self._projected else event
            entry = (time_text, event.event_id, order, shown)
            principal = (event.account_id, event.principal)
            bisect.insort(self._successes.setdefault(principal, []), entry)
            key = (event.account_id, event.principal, network)
            bisect.insort(self._networks.setdefault(key, []), time_text)

    def forget_before(self, moment: datetime) -> None:
        """Drop the rows older than ``moment``: no question may reach before it any more.

        Questions bounded below ``moment`` are refused from then on (``after`` moves up).
        """
        cutoff = _format_time(moment)
        self.after = max(self.after, moment)
        for failures in self._failures.values():
            del failures[: bisect.bisect_left(failures, _failure_time_key(cutoff), key=_first)]
        for keys in self._sign_ins.values():
            del keys[: bisect.bisect_left(keys, _failure_time_key(cutoff, schema.KIND_SIGNIN))]
        for rows in (*self._from_source.values(), *self._successes.values()):
            del rows[: bisect.bisect_left(rows, cutoff, key=_time)]
        for times in self._networks.values():
            del times[: bisect.bisect_left(times, cutoff)]
        _drop_empty(self._failures)
        _drop_empty(self._sign_ins)
        _drop_empty(self._from_source)
        _drop_empty(self._successes)
        _drop_empty(self._networks)

    def count_failures(
        self, account_id: str, principal: str, *, after: datetime, until: datetime
    ) -> int:
        """As the store's range count on the principal's FAILURE keys."""
        rows = self._failure_rows(account_id, principal, after, until, inclusive=True)
        return len(rows)

    def failures_between(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """As the store's range read on the principal's FAILURE keys, in key order."""
        rows = self._failure_rows(account_id, principal, after, before, inclusive=False)
        return [event for _, _, event in rows]

    def has_console_sign_in(
        self, account_id: str, principal: str, *, after: datetime, until: datetime
    ) -> bool:
        """As the store's range read on the principal's SIGNIN keys (successes only)."""
        self._check(after, until, principal=(account_id, principal))
        low, high = schema.kind_range(schema.KIND_SIGNIN, _format_time(after), _format_time(until))
        keys = self._sign_ins.get(schema.activity_pk(account_id, principal), [])
        return bisect.bisect_right(keys, high) > bisect.bisect_left(keys, low)

    def failures_from_source(
        self, account_id: str, source_ip: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """As the store's range of failures from the address, in (time, id) order."""
        self._check(after, before, source=(account_id, source_ip))
        rows = self._from_source.get((account_id, source_ip), [])
        return [entry[3] for entry in _between(rows, after, before)]

    def successes_between(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """As the store's range of the principal's successes from IP addresses."""
        self._check(after, before, principal=(account_id, principal))
        rows = self._successes.get((account_id, principal), [])
        return [entry[3] for entry in _between(rows, after, before)]

    def last_success(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> SignInEvent | None:
        """The last of ``successes_between``."""
        self._check(after, before, principal=(account_id, principal))
        rows = _between(self._successes.get((account_id, principal), []), after, before)
        return rows[-1][3] if rows else None

    def has_success_from_network(
        self, account_id: str, principal: str, network: str, *, after: datetime, before: datetime
    ) -> bool:
        """As the store's probe of the principal's successes from the network."""
        self._check(after, before, principal=(account_id, principal))
        times = self._networks.get((account_id, principal, network), [])
        low, high = _format_time(after), _format_time(before)
        return bisect.bisect_left(times, high) > bisect.bisect_right(times, low)

    def _failure_rows(
        self, account_id: str, principal: str, after: datetime, end: datetime, *, inclusive: bool
    ) -> list[tuple[str, int, SignInEvent]]:
        self._check(after, end, principal=(account_id, principal))
        bounds = schema.kind_range if inclusive else schema.kind_between
        low, high = bounds(schema.KIND_FAILURE, _format_time(after), _format_time(end))
        rows = self._failures.get(schema.activity_pk(account_id, principal), [])
        start = bisect.bisect_left(rows, low, key=_first)
        stop = bisect.bisect_right(rows, high, key=_first)
        return rows[start:stop]

    def _check(
        self,
        after: datetime,
        end: datetime,
        *,
        principal: tuple[str, str] | None = None,
        source: tuple[str, str] | None = None,
    ) -> None:
        if after < self.after or end > self.before:
            raise RuntimeError("a rule asked the replay history outside the range it loaded")
        loaded = self._principals
        if principal is not None and loaded is not None and principal not in loaded:
            raise RuntimeError("a rule asked the replay history about a principal not loaded")
        if source is not None and self._sources is not None and source not in self._sources:
            raise RuntimeError("a rule asked the replay history about an address not loaded")


_FAILURE_SOURCE: Final = frozenset(schema.FAILURE_SOURCE_ATTRIBUTES)
_SUCCESS: Final = frozenset(schema.SUCCESS_ATTRIBUTES)
#: What an event read from an item without the attribute has (``DynamoDbStore``'s reading).
_ABSENT: Final[dict[str, object]] = {
    "user_name": None,
    "arn": None,
    "result": None,
    "mfa_used": None,
    "user_agent": "",
    "error_message": None,
    "kind": SIGN_IN,
    "event_source": SIGNIN_EVENT_SOURCE,
    "error_code": None,
    "read_only": None,
    "invoked_by": None,
    "assumed_root": False,
    "request_user_name": None,
}


def _project(event: SignInEvent, attributes: frozenset[str]) -> SignInEvent:
    """The event as read through an index that copies only ``attributes``."""
    absent = {name: value for name, value in _ABSENT.items() if name not in attributes}
    return dataclasses.replace(event, raw={}, raw_text=None, raw_text_of=None, **absent)  # type: ignore[arg-type]


def _drop_empty(index: dict[Any, list[Any]]) -> None:
    for key in [key for key, rows in index.items() if not rows]:
        del index[key]


def _failure_time_key(time_text: str, kind: str = schema.KIND_FAILURE) -> str:
    """The lowest sort key of the kind at that time (every ``kind#time#id`` sorts after it)."""
    return f"{kind}#{time_text}#"


def _first(entry: tuple[str, int, SignInEvent]) -> str:
    return entry[0]


def _between(
    rows: list[tuple[str, str, int, SignInEvent]], after: datetime, before: datetime
) -> list[tuple[str, str, int, SignInEvent]]:
    """The rows with ``after < time < before`` (time text compared, as the stores do)."""
    low, high = _format_time(after), _format_time(before)
    start = bisect.bisect_right(rows, low, key=_time)
    stop = bisect.bisect_left(rows, high, key=_time)
    return rows[start:stop]


def _time(entry: tuple[str, str, int, SignInEvent]) -> str:
    return entry[0]


class ReplayEngine:
    """Writes a replay's events in bulk, then runs the rules over the ones that can alert.

    Usage::

        engine = ReplayEngine(pipeline)
        for written in engine.store_events(events): ...   # counts, unstorable records
        for outcome in engine.evaluate(): ...             # the deliveries, in time order

    Works on any store: ``record_many`` when it has one (else ``record`` per event), and the
    rows from before the run read with ``console_logins_up_to`` when it has it (else with
    ``history`` and ``failures_from_source`` for each principal and address of the run).
    """

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        write_batch: int = WRITE_BATCH,
        memory_events: int = MEMORY_EVENTS,
        forget_every: int = FORGET_EVERY,
    ) -> None:
        self.pipeline = pipeline
        self.forget_every = max(1, forget_every)
        self.store = pipeline.store
        self.write_batch = max(1, write_batch)
        self._rules = pipeline.rules
        self._by_name: dict[tuple[str, str], tuple[Rule, ...]] = {}
        reaches = [r.reach if isinstance(r, SelectiveRule) else None for r in self._rules]
        # A rule that does not say how far it looks may ask about anything stored.
        self._everything = None in reaches
        self._reach = max((r for r in reaches if r is not None), default=timedelta(0))
        self._sorter: TimeSorter[tuple[SignInEvent, bool]] = TimeSorter(chunk_size=memory_events)
        self._mark = self.store.row_mark() if isinstance(self.store, SeedableStore) else None
        self._first: str | None = None
        self._last: str | None = None
        # For a store without ``console_logins_up_to``: what the run wrote, and whom it asks about.
        self._new_keys: set[tuple[str, str]] = set()
        self._principals: set[tuple[str, str]] = set()
        self._sources: set[tuple[str, str]] = set()

    @property
    def kept(self) -> int:
        """How many events were kept for the rules (what ``evaluate`` goes through)."""
        return len(self._sorter)

    def rules_for(self, event: SignInEvent) -> tuple[Rule, ...]:
        """The rules that can alert on the event (by kind and name), in the pipeline's order."""
        key = (event.kind, event.event_name)
        rules = self._by_name.get(key)
        if rules is None:
            rules = tuple(
                rule
                for rule in self._rules
                if not isinstance(rule, SelectiveRule) or rule.alerts_on(*key)
            )
            self._by_name[key] = rules
        return rules

    def store_events(
        self, events: Iterable[SignInEvent]
    ) -> Generator[Written | UnstorableRecordError, None, None]:
        """Write every event (file order, a batch per transaction); keep those that matter.

        The main thread reads the events and builds each batch's rows (``stage_many`` when
        the store has it); one writer thread (``BatchWriter``) writes the batches, so the
        store's own work overlaps the reading. The results come back in file order. The
        store is the writer's until this generator ends: nothing else may use it meanwhile.
        The events are the engine's from then on: a kept sign-in's ``raw`` is let go.
        """
        with BatchWriter(self._write) as writer:
            batch: list[SignInEvent] = []
            for event in events:
                batch.append(event)
                if len(batch) >= self.write_batch:
                    writer.submit(self._prepare(batch))
                    batch = []
                    for job, outcomes in writer.ready():
                        yield from self._written(job, outcomes)
            if batch:
                writer.submit(self._prepare(batch))
            for job, outcomes in writer.finish():
                yield from self._written(job, outcomes)

    def _prepare(self, batch: list[SignInEvent]) -> _Job:
        """The main thread's part of a batch: expiries, and its rows staged if the store can."""
        expires = [self._expires_at(event) for event in batch]
        store = self.store
        staged: StagedRows | None = None
        one_by_one = not isinstance(store, BulkStore)
        if isinstance(store, StagingStore):
            try:
                staged = store.stage_many(batch, expires_at=expires)
            except UnstorableRecordError:
                one_by_one = True  # nothing of the batch was written: lose only that event
            else:
                # The staged rows hold the raw records: the sign-ins' own copies can go now,
                # rather than when written (memory then holds far less per batch in flight).
                for event in batch:
                    if self._lets_go_of_raw(event):
                        _drop_raw(event)
        return _Job(batch, expires, staged, one_by_one)

    def _lets_go_of_raw(self, event: SignInEvent) -> bool:
        """True for an event whose raw record no rule reads (a ConsoleLogin, unless a rule
        does not say what it reads), still holding it."""
        return (
            event.event_name == CONSOLE_LOGIN
            and not event.is_api_call
            and not self._everything
            and bool(event.raw)
        )

    def _write(self, job: _Job) -> tuple[_Job, list[bool | UnstorableRecordError]]:
        """The writer thread's part: write the batch; one by one if it holds an unstorable
        event, so only that event is lost."""
        store = self.store
        outcomes: list[bool | UnstorableRecordError] = []
        if job.staged is not None and isinstance(store, StagingStore):
            outcomes.extend(store.write_staged(job.staged))
        elif not job.one_by_one and isinstance(store, BulkStore):
            try:
                outcomes.extend(store.record_many(job.events, expires_at=job.expires))
            except UnstorableRecordError:
                outcomes = []  # nothing of the batch was written: one by one, to lose only it
        if not outcomes:
            for event, expires_at in zip(job.events, job.expires, strict=True):
                try:
                    outcomes.append(store.record(event, expires_at=expires_at))
                except UnstorableRecordError as unstorable:
                    outcomes.append(unstorable)
        return job, outcomes

    def _written(
        self, job: _Job, outcomes: list[bool | UnstorableRecordError]
    ) -> Iterator[Written | UnstorableRecordError]:
        """Back in the main thread: each event's outcome, in file order; keep what matters."""
        for event, outcome in zip(job.events, outcomes, strict=True):
            if isinstance(outcome, UnstorableRecordError):
                yield outcome
                continue
            self._keep(event, stored=outcome)
            yield Written(event, outcome)

    def _keep(self, event: SignInEvent, *, stored: bool) -> None:
        """Keep the event for the sort when a rule can alert on it or ask about it."""
        name = event.event_name
        if name != CONSOLE_LOGIN and not self.rules_for(event):
            return
        if self._lets_go_of_raw(event):
            _drop_raw(event)
        time_text = event.time_text
        if self._first is None or time_text < self._first:
            self._first = time_text
        if self._last is None or time_text > self._last:
            self._last = time_text
        if self._mark is None:
            account = event.account_id
            self._principals.add((account, event.principal))
            if name == CONSOLE_LOGIN:
                self._principals.add((account, f"unknown-user:{event.source_ip}"))
                self._sources.add((account, event.source_ip))
                if stored:
                    self._new_keys.add(_key(event))
        self._sorter.add(time_text, (event, stored))

    def evaluate(self, *, deadline: float | None = None) -> Iterator[EventOutcome]:
        """Run the rules over the kept events in time order; one outcome per event evaluated.

        Call after ``store_events`` is exhausted: the history is loaded from the store first.
        """
        with self._sorter:
            if self._first is None or self._last is None:
                return
            history = self._load_history(self._first, self._last)
            pipeline = self.pipeline
            reach = None if self._everything else self._reach + _MARGIN
            for number, (event, stored) in enumerate(self._sorter, start=1):
                if reach is not None and number % self.forget_every == 0:
                    history.forget_before(event.event_time - reach)
                if stored:
                    history.add(event, success_network(event))
                rules = self.rules_for(event)
                if not rules:
                    continue
                outcome = EventOutcome(event=event, stored=stored)
                with event_keys(
                    event_id=event.event_id,
                    event_name=event.event_name,
                    principal=event.principal,
                    account_id=event.account_id,
                ):
                    for rule in rules:
                        alert = rule.evaluate(event, history)
                        if alert is not None:
                            delivery = pipeline.deliver(alert, deadline=deadline)
                            if delivery is not None:
                                outcome.deliveries.append(delivery)
                yield outcome

    def _load_history(self, first: str, last: str) -> MemoryHistory:
        """The stored ConsoleLogin rows from before the run within the rules' reach."""
        if self._everything:
            after = EARLIEST_EVENT_TIME - timedelta(days=1)
            before = LATEST_EVENT_TIME + timedelta(days=1)
        else:
            reach = self._reach + _MARGIN
            after = parse_time(first) - reach
            before = parse_time(last) + reach
        store = self.store
        if self._mark is not None and isinstance(store, SeedableStore):
            history = MemoryHistory(after=after, before=before)
            stored = store.console_logins_up_to(self._mark, after=after, before=before)
            for event, network in stored:
                history.add(event, network)
            return history
        history = MemoryHistory(
            after=after,
            before=before,
            principals=self._principals,
            sources=self._sources,
            projected=True,
        )
        loaded: set[tuple[str, str]] = set()
        for account_id, principal in sorted(self._principals):
            query = HistoryQuery(
                principal=principal, account_id=account_id, since=after, until=before
            )
            for event in store.history(query):
                self._load(history, event, loaded)
        for account_id, source_ip in sorted(self._sources):
            failures = store.failures_from_source(account_id, source_ip, after=after, before=before)
            for event in failures:
                self._load(history, event, loaded)
        return history

    def _load(
        self, history: MemoryHistory, event: SignInEvent, loaded: set[tuple[str, str]]
    ) -> None:
        if event.event_name != CONSOLE_LOGIN:
            return
        key = _key(event)
        if key in self._new_keys or key in loaded:
            return  # written by this run: added when processed
        loaded.add(key)
        history.add(dataclasses.replace(event, raw={}), success_network(event))

    def _expires_at(self, event: SignInEvent) -> int | None:
        retention = self.pipeline.retention
        if retention is None:
            return None
        return int((event.event_time + retention).timestamp())


_RECURRING: Final = (
    "event_name",
    "account_id",
    "principal",
    "identity_type",
    "user_name",
    "arn",
    "result",
    "source_ip",
    "user_agent",
    "region",
    "event_source",
)


_recurring_of: Final = operator.attrgetter(*_RECURRING)


def _drop_raw(event: SignInEvent) -> None:
    """Let go of a written sign-in's raw record: it is in the store, and no rule reads it on a
    ConsoleLogin; kept, it would be most of the memory the sort holds.

    In place (the engine's caller hands over the events it reads): a copy per event cost
    more than the rules did. ``raw`` becomes ``{}``, as a store's rule reads give it.
    """
    put = object.__setattr__
    put(event, "raw", {})
    put(event, "raw_text", None)
    put(event, "raw_text_of", None)
    # The same few accounts, names, addresses and browsers recur: one copy of each text.
    intern = sys.intern
    for name, value in zip(_RECURRING, _recurring_of(event), strict=True):
        if value is not None:
            put(event, name, intern(value))


def _key(event: SignInEvent) -> tuple[str, str]:
    """The row's keys: a store holds one row per (pk, sk)."""
    kind = schema.activity_sort_kind(
        api_call=event.is_api_call, failed_console_login=event.is_failed_console_login
    )
    return (
        schema.activity_pk(event.account_id, event.principal),
        schema.activity_sk(kind, event.time_text, event.event_id),
    )
