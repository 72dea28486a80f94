"""Replay's engine: every record stored in bulk, in file order; the rules run only where they
can alert, in time order, over an in-memory copy of the history they ask about.

Processing one event at a time (store, then every rule asking the store) gives each event a
view of the store holding what it held before the run plus this run's events sorted up to
this one. The engine gives the rules exactly that view, much faster:

* Every record is written as it is read, in batches (``record_many``; on SQLite, staged and
  ``STAGED_PER_COMMIT`` batches per transaction), on one writer thread
  (``replay_writer.BatchWriter``: SQLite's work overlaps the reading). Only the events a rule
  can alert on (``SelectiveRule.alerts_on``) and the ConsoleLogin records the rules'
  questions are about are kept, without their raw record, to be sorted.
* The history the rules ask (``FailureHistory``) is answered from memory
  (``replay_history.MemoryHistory``): the store's ConsoleLogin rows from before the run,
  within the rules' reach of the run's times, loaded once; then each of this run's events,
  added when it is processed in time order (a duplicate of a stored row adds nothing, as its
  insert did nothing).
* Claims go through the pipeline in batches (``Pipeline.claim_many``: on SQLite, one
  transaction claims the alerts of many events, where a commit per claim cost more than the
  rules); then each alert is posted and marked on its own, in order, as before. A batch ends
  before an alert whose claim would read one of its own event's claims taken in the batch,
  so every claim sees what one alert at a time would have shown it.

* The judging (``_judged``: the rules, batched for claims) and the delivering (``_deliver``:
  claims, posts, marks) are apart, so a reader process can judge the events it kept
  (``prepare_keeping``, ``judge_here``) while the main process delivers (``deliver``). A
  kept event's stored flag comes from the writer, which may be in the other process: the
  kept events are numbered as kept, and ``_flags`` holds each one's flag by its number.

Memory holds the kept events (a sorted run past ``memory_events`` is spilled to a temporary
file), a byte per kept event for its flag, and the ConsoleLogin rows within reach.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import operator
import sys
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol, runtime_checkable

from ..alerts import Alert
from ..errors import UnstorableRecordError
from ..events import (
    CONSOLE_LOGIN,
    EARLIEST_EVENT_TIME,
    LATEST_EVENT_TIME,
    SignInEvent,
    parse_time,
)
from ..logs import event_keys
from ..pipeline import EventOutcome, Pipeline
from ..rules import Rule, SelectiveRule
from ..sources import TimeSorter
from ..store import ClaimOutcome, HistoryQuery, schema
from ..store.sqlite import STAGED_PER_COMMIT, StagedRows
from .replay_history import MemoryHistory, success_network
from .replay_writer import BatchWriter

__all__ = [
    "CLAIM_BATCH",
    "FORGET_EVERY",
    "IDLE_COMMIT_SECONDS",
    "MEMORY_EVENTS",
    "WRITE_BATCH",
    "BatchWritten",
    "BulkStore",
    "Judged",
    "PreparedBatch",
    "ReplayEngine",
    "SeedableStore",
    "StagingStore",
    "Written",
    "long_lived_frozen",
]

#: Events per batch read and staged (one commit per event dominated replay time); a SQLite
#: store writes ``STAGED_PER_COMMIT`` of them per transaction. Staging 4,000 at once cost the
#: reader process more CPU than it saved the writer (and 30 MB more): 1,000 it stays.
WRITE_BATCH: Final = 1000
#: Kept events held in memory for the sort; past that, sorted runs are spilled to disk.
MEMORY_EVENTS: Final = 200_000
_MARGIN: Final = timedelta(seconds=1)
#: Every this many events, the history lets go of the rows no rule can reach any more.
FORGET_EVERY: Final = 10_000
#: Alerts claimed in one transaction: a claim's own commit cost more than its rules did.
CLAIM_BATCH: Final = 256
#: A batch of claims also ends after this many events, so outcomes keep flowing.
_EVENTS_PER_BATCH: Final = 1000
#: Seconds the writer waits for the next batch before it commits the batches it holds: the
#: open transaction holds the store's write lock, which another writer of the file waits for
#: (``busy_timeout``, 10 s) while a slow read goes on.
IDLE_COMMIT_SECONDS: Final = 0.5


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
        self,
        events: Sequence[SignInEvent],
        *,
        expires_at: Sequence[int | None],
        as_rows: bool = False,
    ) -> StagedRows:
        """The batch's rows, checked (``as_rows``: handed over as rows, for the writer to
        insert); raises before anything is written if one is unstorable."""
        ...

    def write_staged_many(self, batches: Sequence[StagedRows]) -> list[list[bool]]:
        """Write them, in order, in one transaction (up to ``STAGED_PER_COMMIT``); for each,
        True for each row stored (False: its keys were already there)."""
        ...

    def begin_staged(self) -> None:
        """Open a transaction that batches staged as rows are inserted into as they come."""
        ...

    def insert_staged(self, staged: StagedRows) -> None:
        """Insert a batch staged as rows into the open transaction (up to
        ``STAGED_PER_COMMIT``)."""
        ...

    def commit_staged(self) -> list[list[bool]]:
        """Commit the open transaction; for each batch in it, ``write_staged_many``'s flags."""
        ...


@dataclass(slots=True)
class PreparedBatch:
    """A batch of read events made ready for the writer where they were read: in the main
    thread (``ReplayEngine.prepare``), or in replay's reader process (``replay_reader``), which
    hands over only what the main process needs (``for_transfer``).

    ``staged``: the rows of its storable events, when the store stages (``StagingStore``);
    else the writer writes ``events`` with ``expires``. ``unstorable``: the positions of the
    events the store refused while staging (left out of ``staged``), with its error.
    ``kept``: the events the rules need, with their position in the batch.
    """

    size: int
    staged: StagedRows | None
    unstorable: dict[int, UnstorableRecordError]
    kept: list[tuple[int, SignInEvent]]
    events: list[SignInEvent] | None = None
    expires: list[int | None] | None = None
    #: The positions of kept events that were kept where the batch was prepared (a reader
    #: process judging them itself: ``ReplayEngine.prepare_keeping``); only their stored
    #: flags are wanted back.
    kept_at: list[int] = dataclasses.field(default_factory=list)

    def for_transfer(self) -> PreparedBatch:
        """The batch without its events (only a staged batch can go without them)."""
        if self.staged is None:
            raise ValueError("an unstaged batch needs its events")
        return PreparedBatch(
            self.size, self.staged, self.unstorable, self.kept, kept_at=self.kept_at
        )


@dataclass(slots=True)
class Judged:
    """A run of kept events the rules went through, in time order: how many (``checked``),
    and the outcome of each one they raised alerts on, with those alerts, to be claimed and
    delivered together."""

    checked: int
    raised: list[tuple[EventOutcome, list[Alert]]]


@dataclass(frozen=True, slots=True)
class BatchWritten:
    """What writing a batch did: rows stored, rows already there, events refused (in order)."""

    stored: int
    duplicates: int
    unstorable: list[UnstorableRecordError]


_Outcomes = list[bool | UnstorableRecordError]
#: A batch written, with its outcomes.
_Written = tuple["PreparedBatch", _Outcomes]


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


class Written:
    """One event the engine wrote: ``stored`` False when its keys were already there.

    A plain class with slots, not a frozen dataclass: one is made per record, and a frozen
    dataclass's ``__init__`` (``object.__setattr__`` per field) cost twice as much.
    """

    __slots__ = ("event", "stored")

    def __init__(self, event: SignInEvent, stored: bool) -> None:
        self.event = event
        self.stored = stored


#: A rule's ``evaluate``, bound.
_Check = Callable[[SignInEvent, MemoryHistory], Alert | None]


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
        claim_batch: int = CLAIM_BATCH,
    ) -> None:
        self.pipeline = pipeline
        self.claim_batch = max(1, claim_batch)
        self.forget_every = max(1, forget_every)
        self.store = pipeline.store
        self.write_batch = max(1, write_batch)
        self._rules = pipeline.rules
        self._by_name: dict[tuple[str, str], tuple[Rule, ...]] = {}
        reaches = [r.reach if isinstance(r, SelectiveRule) else None for r in self._rules]
        # A rule that does not say how far it looks may ask about anything stored.
        self._everything = None in reaches
        self._reach = max((r for r in reaches if r is not None), default=timedelta(0))
        # The kept events, each with its number in the order kept: ``_flags[number]`` says
        # whether it was stored (known once written, which may be after it is kept).
        self._sorter: TimeSorter[tuple[SignInEvent, int]] = TimeSorter(chunk_size=memory_events)
        # The kept events in time order, once a judging ahead took them (``judges_ahead``).
        self._sorted: list[tuple[SignInEvent, int]] | None = None
        self._flags = bytearray()
        # Kept and judged by a reader process (``prepare_keeping``): only counted here.
        self._kept_elsewhere = 0
        #: Kept events the rules have gone through so far (``evaluate``, ``deliver``).
        self.checked = 0
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
        return len(self._sorter) + self._kept_elsewhere

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

        The events are read, batched and prepared here (``prepare``); ``store_prepared`` is
        the same write for batches prepared elsewhere. The store is the writer's until this
        generator ends: nothing else may use it meanwhile. The events are the engine's from
        then on: a kept sign-in's ``raw`` is let go.
        """
        for batch, outcomes in self._store(self._prepared(events)):
            assert batch.events is not None  # prepared here: it holds them
            for event, outcome in zip(batch.events, outcomes, strict=True):
                if isinstance(outcome, UnstorableRecordError):
                    yield outcome
                else:
                    yield Written(event, outcome)

    def store_prepared(self, batches: Iterable[PreparedBatch]) -> Iterator[BatchWritten]:
        """Write batches prepared by ``prepare`` (here or in a reader process), in order; keep
        their kept events. One result per batch, when the writer is done with it."""
        for _, outcomes in self._store(batches):
            stored, duplicates = outcomes.count(True), outcomes.count(False)
            unstorable: list[UnstorableRecordError] = []
            if stored + duplicates < len(outcomes):
                unstorable = [
                    outcome for outcome in outcomes if isinstance(outcome, UnstorableRecordError)
                ]
            yield BatchWritten(stored, duplicates, unstorable)

    def _prepared(self, events: Iterable[SignInEvent]) -> Iterator[PreparedBatch]:
        batch: list[SignInEvent] = []
        for event in events:
            batch.append(event)
            if len(batch) >= self.write_batch:
                yield self.prepare(batch)
                batch = []
        if batch:
            yield self.prepare(batch)

    def _store(self, batches: Iterable[PreparedBatch]) -> Iterator[_Written]:
        """One writer thread (``BatchWriter``) writes the batches while the next ones are read:
        the store's own work overlaps the reading. A store that stages takes
        ``STAGED_PER_COMMIT`` batches to a transaction (``_StagedWrites``: a commit's cost is
        mostly the index pages it writes again); any other writes each batch on its own.
        Results come back in order."""
        store = self.store
        if isinstance(store, StagingStore):
            staged = _StagedWrites(store, self._write)
            writer: BatchWriter[PreparedBatch | None, list[_Written]] = BatchWriter(
                staged.write,
                depth=STAGED_PER_COMMIT,
                idle=staged.idle,
                idle_seconds=IDLE_COMMIT_SECONDS,
            )
        else:
            writer = BatchWriter(self._write_one, depth=1)
        with writer:
            try:
                for batch in batches:
                    if batch.size:
                        writer.submit(batch)
                    for done in writer.ready():
                        for written in done:
                            yield self._written(*written)
            finally:
                # Handed over is written, however the reading ends (an error, Ctrl-C, a
                # consumer that stops): the end mark has the writer commit what it holds.
                if not writer.failed:
                    writer.submit(None)
            for done in writer.finish():
                for written in done:
                    yield self._written(*written)

    def _write_one(self, batch: PreparedBatch | None) -> list[_Written]:
        """The writer thread's part for a store that does not stage: each batch on its own."""
        return [] if batch is None else [self._write(batch)]

    def prepare(self, events: list[SignInEvent], *, as_rows: bool = False) -> PreparedBatch:
        """The reading side's part of a batch: its rows staged if the store can (an event the
        store refuses is set aside alone, so only it is lost), the events to keep chosen.
        ``as_rows``: staged as rows, which the writer inserts (``StagingStore.stage_many``).

        Staged, the rows hold the raw records: the kept sign-ins' own copies go now, rather
        than when written (memory then holds far less per batch in flight).
        """
        store = self.store
        if self.pipeline.retention is None:
            expires: list[int | None] = [None] * len(events)
        else:
            expires = [self._expires_at(event) for event in events]
        staged: StagedRows | None = None
        unstorable: dict[int, UnstorableRecordError] = {}
        if isinstance(store, StagingStore):
            staged, unstorable = _stage(store, events, expires, as_rows=as_rows)
        keeps = self.keeps
        kept = [
            (position, event)
            for position, event in enumerate(events)
            if keeps(event) and position not in unstorable
        ]
        if staged is not None:
            for _, event in kept:
                if self._sheds_raw(event) and event.holds_raw():
                    _let_go_of_raw(event)
                    # Shared here too: a batch sent from a reader process then carries each
                    # text once (pickle writes a repeated object as a reference), half the bytes.
                    _share_texts(event)
        return PreparedBatch(len(events), staged, unstorable, kept, events, expires)

    def prepare_keeping(self, events: list[SignInEvent]) -> PreparedBatch:
        """``prepare``, the kept events kept here rather than handed on: a reader process's
        (``replay_reader``), which judges them itself (``judge_here``) once the writer has
        said which were stored; the batch says only where they were (``kept_at``).

        Staged as rows: the store's process inserts them, its writer thread having time to
        spare while this one reads (an image built here cost this process 6.5 us a row, the
        rows marshalled 1.8).
        """
        batch = self.prepare(events, as_rows=True)
        if batch.staged is None:
            raise ValueError("only a staged batch can be written without its events")
        for _, event in batch.kept:
            self._hold(event)
        batch.kept_at = [position for position, _ in batch.kept]
        batch.kept = []
        return batch

    def keeps(self, event: SignInEvent) -> bool:
        """True for an event the rules need: one they can alert on, or a ConsoleLogin (what
        their history questions are about)."""
        return event.event_name == CONSOLE_LOGIN or bool(self.rules_for(event))

    def _sheds_raw(self, event: SignInEvent) -> bool:
        """True for a kept event whose raw record no rule reads (a ConsoleLogin, unless a rule
        does not say what it reads): it goes once written or staged."""
        return event.event_name == CONSOLE_LOGIN and not event.is_api_call and not self._everything

    def _write(self, batch: PreparedBatch) -> _Written:
        """Write an unstaged batch; one by one if it holds an unstorable event, so only that
        event is lost."""
        store = self.store
        if batch.events is None or batch.expires is None:
            raise ValueError("an unstaged batch needs its events")
        outcomes: _Outcomes = []
        if isinstance(store, BulkStore):
            try:
                outcomes.extend(store.record_many(batch.events, expires_at=batch.expires))
            except UnstorableRecordError:
                outcomes = []  # nothing of the batch was written: one by one, to lose only it
        if not outcomes:
            for event, expires_at in zip(batch.events, batch.expires, strict=True):
                try:
                    outcomes.append(store.record(event, expires_at=expires_at))
                except UnstorableRecordError as refused_event:
                    outcomes.append(refused_event)
        return batch, outcomes

    def _written(self, batch: PreparedBatch, outcomes: _Outcomes) -> _Written:
        """Back in the main thread: keep the batch's kept events that were written; note
        whether those kept elsewhere were stored."""
        flags = self._flags
        for position in batch.kept_at:
            outcome = outcomes[position]
            if isinstance(outcome, UnstorableRecordError):  # staging refused it: never kept
                raise RuntimeError("an event kept for the rules was refused by the store")
            flags.append(outcome)
        self._kept_elsewhere += len(batch.kept_at)
        for position, event in batch.kept:
            outcome = outcomes[position]
            if not isinstance(outcome, UnstorableRecordError):
                self._keep(event, outcome)
        return batch, outcomes

    def _keep(self, event: SignInEvent, stored: bool) -> None:
        """Keep the event for the sort (its raw record let go of, if no rule reads it)."""
        name = event.event_name
        if self._sheds_raw(event):
            if event.holds_raw():
                _let_go_of_raw(event)  # written one by one: the row was built from it
            _share_texts(event)
        if self._mark is None:
            account = event.account_id
            self._principals.add((account, event.principal))
            if name == CONSOLE_LOGIN:
                self._principals.add((account, f"unknown-user:{event.source_ip}"))
                self._sources.add((account, event.source_ip))
                if stored:
                    self._new_keys.add(_key(event))
        self._flags.append(stored)
        self._hold(event)

    def _hold(self, event: SignInEvent) -> None:
        """Hold the event for the sort, numbered in the order kept (its ``_flags`` entry)."""
        time_text = event.time_text
        if self._first is None or time_text < self._first:
            self._first = time_text
        if self._last is None or time_text > self._last:
            self._last = time_text
        self._sorter.add(time_text, (event, len(self._sorter)))

    def evaluate(self, *, deadline: float | None = None) -> Iterator[EventOutcome]:
        """Run the rules over the kept events in time order; one outcome per event they raised
        alerts on (``checked`` counts the events they went through).

        Call after ``store_events`` is exhausted: the history is loaded from the store first.
        The alerts of consecutive events are claimed together (``Pipeline.claim_many``: one
        transaction for up to ``claim_batch`` of them on SQLite), then posted and marked one
        by one, in order; the rules never read claims, so evaluating ahead of the posts
        changes nothing they decide.
        """
        with self._sorter, long_lived_frozen():
            if self._first is None or self._last is None:
                return
            history = self._load_history(self._first, self._last)
            yield from self.deliver(self._judged(history, self._sorter), deadline=deadline)

    @property
    def kept_range(self) -> tuple[str, str] | None:
        """The first and last time text of the events kept (None: none kept)."""
        if self._first is None or self._last is None:
            return None
        return self._first, self._last

    @property
    def stored_flags(self) -> bytes:
        """Whether each kept event was stored (1) or a duplicate (0), in the order kept: what
        a reader process that kept them (``prepare_keeping``) needs to judge them."""
        return bytes(self._flags)

    def seed_rows(self, first: str, last: str) -> Iterator[tuple[SignInEvent, str | None]]:
        """The store's rows from before the run that the rules can reach from a run of
        ``first``..``last``, with their networks: what ``judge_here`` starts its history from
        (read here: a reader process never uses the store)."""
        store = self.store
        if self._mark is None or not isinstance(store, SeedableStore):
            raise TypeError("only a store that tells its rows from before the run seeds a judge")
        after, before = self._history_range(first, last)
        return store.console_logins_up_to(self._mark, after=after, before=before)

    def judge_here(
        self, flags: bytes, seed: Iterable[tuple[SignInEvent, str | None]]
    ) -> Generator[Judged, None, None]:
        """The rules over the events kept here (``prepare_keeping``), in time order, with the
        stored flags the writer gave (``stored_flags``) and the rows the store held before the
        run (``seed_rows``), in batches for the main process to claim and deliver
        (``deliver``)."""
        if len(flags) != len(self._sorter):
            raise RuntimeError(
                f"the writer told {len(flags)} stored flags for {len(self._sorter)} kept events"
            )
        self._flags = bytearray(flags)
        with self._sorter, long_lived_frozen():
            if self._first is None or self._last is None:
                return
            history = self._seeded(self._first, self._last, seed)
            if self._sorted is None and self.judges_ahead:
                self._sorted = list(self._sorter)  # judged again if the guess was wrong
            kept = self._sorter if self._sorted is None else self._sorted
            yield from self._judged(history, kept)

    @property
    def judges_ahead(self) -> bool:
        """True when ``judge_here`` may run before the writer has told the stored flags, with
        ``assumed_flags``, and run again if they differ: the store held no row before the run
        (nothing to seed, and each kept event is stored unless it is a duplicate, which a
        fresh replay seldom holds) and the kept events are all in memory (sorted once, gone
        through twice at most)."""
        return self._mark == 0 and not self._sorter.spilled

    @property
    def assumed_flags(self) -> bytes:
        """What ``stored_flags`` says when the store held nothing and no kept event was a
        duplicate: every kept event stored."""
        return b"\x01" * len(self._sorter)

    def deliver(
        self, judged: Iterable[Judged], *, deadline: float | None = None
    ) -> Iterator[EventOutcome]:
        """Claim, post and mark the alerts of events judged elsewhere (``judge_here``), as
        ``evaluate`` does its own; one outcome per event with alerts."""
        for batch in judged:
            self.checked += batch.checked
            yield from self._deliver(batch.raised, deadline)

    def _judged(
        self, history: MemoryHistory, kept: Iterable[tuple[SignInEvent, int]]
    ) -> Iterator[Judged]:
        """The rules over the kept events (in time order, with their numbers), in batches to
        claim together: a batch ends once it holds ``claim_batch`` alerts or
        ``_EVENTS_PER_BATCH`` events judged (only those with alerts are in it: the rest is
        counted)."""
        batching = self.pipeline.claims_in_batches
        claim_batch = self.claim_batch if batching else 1
        events_per_batch = _EVENTS_PER_BATCH if batching else 1
        reach = None if self._everything else self._reach + _MARGIN
        forget_every = self.forget_every
        add = history.add
        flags = self._flags
        # The rules' bound ``evaluate`` per (kind, name): ``rules_for``, looked up once.
        checks_for: dict[tuple[str, str], tuple[_Check, ...]] = {}
        batch: list[tuple[EventOutcome, list[Alert]]] = []
        raised_in_batch = judged = 0
        for number, (event, ticket) in enumerate(kept, start=1):
            if reach is not None and number % forget_every == 0:
                history.forget_before(event.event_time - reach)
            stored = flags[ticket] == 1
            if stored:
                add(event, success_network(event))
            key = (event.kind, event.event_name)
            checks = checks_for.get(key)
            if checks is None:
                checks = checks_for[key] = tuple(r.evaluate for r in self.rules_for(event))
            if not checks:
                continue
            raised = [alert for check in checks if (alert := check(event, history)) is not None]
            judged += 1
            if raised:
                batch.append((EventOutcome(event=event, stored=stored), raised))
                raised_in_batch += len(raised)
            if raised_in_batch >= claim_batch or judged >= events_per_batch:
                yield Judged(judged, batch)
                batch, raised_in_batch, judged = [], 0, 0
        if judged:
            yield Judged(judged, batch)

    def _deliver(
        self, batch: list[tuple[EventOutcome, list[Alert]]], deadline: float | None
    ) -> Iterator[EventOutcome]:
        """Claim the batch's alerts (as many per transaction as the store takes), post and
        mark each in order, and yield each event's outcome once its alerts are delivered.

        Claims taken but not posted when the run stops here (an exception, or the caller
        closing the iterator) are released for the next run; after a crash they are pending,
        which the next run retries too.
        """
        pipeline = self.pipeline
        alerts = [alert for _, raised in batch for alert in raised]
        claimed: deque[tuple[Alert, ClaimOutcome]] = deque()
        next_claim = 0
        try:
            for outcome, raised in batch:
                if raised:
                    event = outcome.event
                    with event_keys(
                        event_id=event.event_id,
                        event_name=event.event_name,
                        principal=event.principal,
                        account_id=event.account_id,
                    ):
                        for _ in raised:
                            if not claimed:
                                claimed.extend(pipeline.claim_many(alerts[next_claim:]))
                                next_claim += len(claimed)
                            alert, claim = claimed.popleft()
                            delivery = pipeline.deliver_claimed(alert, claim, deadline=deadline)
                            if delivery is not None:
                                outcome.deliveries.append(delivery)
                yield outcome
        finally:
            for alert, claim in claimed:
                pipeline.release(alert, claim)

    def _load_history(self, first: str, last: str) -> MemoryHistory:
        """The stored ConsoleLogin rows from before the run within the rules' reach."""
        if self._mark is not None and isinstance(self.store, SeedableStore):
            return self._seeded(first, last, self.seed_rows(first, last))
        after, before = self._history_range(first, last)
        store = self.store
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

    def _seeded(
        self, first: str, last: str, rows: Iterable[tuple[SignInEvent, str | None]]
    ) -> MemoryHistory:
        """The history of a run of ``first``..``last`` holding ``rows`` (``seed_rows``)."""
        after, before = self._history_range(first, last)
        history = MemoryHistory(after=after, before=before)
        for event, network in rows:
            history.add(event, network)
        return history

    def _history_range(self, first: str, last: str) -> tuple[datetime, datetime]:
        """The times the rules can ask about from a run of ``first``..``last``."""
        if self._everything:
            return EARLIEST_EVENT_TIME - timedelta(days=1), LATEST_EVENT_TIME + timedelta(days=1)
        reach = self._reach + _MARGIN
        return parse_time(first) - reach, parse_time(last) + reach

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
# The fields' own slot setters (what ``object.__setattr__`` ends in, without its lookup): the
# events are frozen to everyone but the engine, which owns them once read.
(
    _set_event_name,
    _set_account_id,
    _set_principal,
    _set_identity_type,
    _set_user_name,
    _set_arn,
    _set_result,
    _set_source_ip,
    _set_user_agent,
    _set_region,
    _set_event_source,
) = (SignInEvent.__dict__[name].__set__ for name in _RECURRING)
_set_raw: Final = SignInEvent.__dict__["raw"].__set__
_set_raw_text: Final = SignInEvent.__dict__["raw_text"].__set__
_set_raw_text_of: Final = SignInEvent.__dict__["raw_text_of"].__set__
_set_raw_unread: Final = SignInEvent.__dict__["_raw_unread"].__set__


@contextlib.contextmanager
def long_lived_frozen() -> Iterator[None]:
    """Keep the collector off what exists when the rules start (``gc.freeze``), until they end.

    The kept events and the history are tens of thousands of objects that live until the end;
    each full collection walked them all (two of them cost about a quarter of the rules' time
    at 60,000 records). Frozen, they are still freed by reference counting as ever; only a
    reference cycle among them waits for the end of the run to be collected.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _stage(
    store: StagingStore, events: list[SignInEvent], expires: list[int | None], *, as_rows: bool
) -> tuple[StagedRows, dict[int, UnstorableRecordError]]:
    """The batch's rows staged; an event the store refuses is found alone and left out."""
    try:
        return store.stage_many(events, expires_at=expires, as_rows=as_rows), {}
    except UnstorableRecordError:
        pass  # nothing was staged: find the refused ones, stage the rest
    refused: dict[int, UnstorableRecordError] = {}
    for position, (event, expires_at) in enumerate(zip(events, expires, strict=True)):
        try:
            store.stage_many([event], expires_at=[expires_at])
        except UnstorableRecordError as error:
            refused[position] = error
    storable = [position for position in range(len(events)) if position not in refused]
    staged = store.stage_many(
        [events[position] for position in storable],
        expires_at=[expires[position] for position in storable],
        as_rows=as_rows,
    )
    return staged, refused


class _StagedWrites:
    """The writer thread's part for a store that stages (``StagingStore``): each batch written
    as it comes, ``STAGED_PER_COMMIT`` to a transaction, and the outcomes handed back once
    committed (with the next batch's, or at the end mark, None).

    A batch staged as rows is inserted at once into the open transaction (``begin_staged``):
    the writer does its part while the next batches are read, and once the reading is over
    only the last batch is left to insert, where a group written whole waited for its eighth
    batch and then wrote them all (0.1-0.2 s at the end of a 60,000-record replay, measured,
    issue 13). A batch staged as an image goes with the other images of its group
    (``write_staged_many``: they are attached before the transaction begins). Kinds never
    share a transaction (one of the other kind first commits the open one), so the outcomes
    come back in the order the batches came. ``idle``: the open transaction committed while no
    batch comes (its write lock is held meanwhile).
    """

    def __init__(
        self,
        store: StagingStore,
        write_unstaged: Callable[[PreparedBatch], _Written],
    ) -> None:
        self._store = store
        self._write_unstaged = write_unstaged
        self._inserted: list[PreparedBatch] = []  # in the open transaction
        self._images: list[PreparedBatch] = []  # waiting for the rest of their group
        self._done: list[_Written] = []  # committed, not handed back yet

    def write(self, batch: PreparedBatch | None) -> list[_Written]:
        """Write the batch (None: the end, everything held is written); the outcomes of the
        batches committed since the last call, in order."""
        if batch is None:
            self._commit()
            self._write_images()
        elif batch.staged is None:  # not staged (no store here makes one): alone, in order
            self._commit()
            self._write_images()
            self._done.append(self._write_unstaged(batch))
        elif batch.staged.as_rows:
            self._write_images()
            store = self._store
            if not self._inserted:
                store.begin_staged()
            store.insert_staged(batch.staged)
            self._inserted.append(batch)
            if len(self._inserted) >= STAGED_PER_COMMIT:
                self._commit()
        else:
            self._commit()
            self._images.append(batch)
            if len(self._images) >= STAGED_PER_COMMIT:
                self._write_images()
        done, self._done = self._done, []
        return done

    def idle(self) -> None:
        """No batch came for a while: commit the open transaction (its outcomes come back with
        the next call of ``write``)."""
        self._commit()

    def _commit(self) -> None:
        inserted, self._inserted = self._inserted, []
        if inserted:
            flags = self._store.commit_staged()
            self._done.extend(_outcomes_of(inserted, flags))

    def _write_images(self) -> None:
        images, self._images = self._images, []
        if images:
            staged = [batch.staged for batch in images if batch.staged is not None]
            self._done.extend(_outcomes_of(images, self._store.write_staged_many(staged)))


def _outcomes_of(batches: list[PreparedBatch], flags: list[list[bool]]) -> list[_Written]:
    return [(batch, _with_refused(batch, told)) for batch, told in zip(batches, flags, strict=True)]


def _with_refused(batch: PreparedBatch, flags: list[bool]) -> _Outcomes:
    """A staged batch's outcomes: the flags of its staged rows, with the refused events (left
    out when it was staged) back at their places."""
    if not batch.unstorable:
        return list(flags)
    stored = iter(flags)
    refused = batch.unstorable
    return [
        refused[position] if position in refused else next(stored) for position in range(batch.size)
    ]


def _let_go_of_raw(event: SignInEvent) -> None:
    """Let go of a sign-in's raw record: it is in its staged row, and no rule reads it on a
    ConsoleLogin; kept, it would be most of the memory the sort holds.

    In place (the engine's caller hands over the events it reads): a copy per event cost
    more than the rules did. ``raw`` becomes ``{}``, as a store's rule reads give it.
    """
    _set_raw(event, {})
    _set_raw_text(event, None)
    _set_raw_text_of(event, None)
    _set_raw_unread(event, False)


def _share_texts(event: SignInEvent) -> None:
    """The same few accounts, names, addresses and browsers recur among the kept events: one
    copy of each text (``sys.intern``), where each event read had its own.

    Written out field by field: the loop over the fields cost half as much again (3.8 against
    2.5 us an event, for a hundred thousand kept events at 200,000 records).
    """
    intern = sys.intern
    name, account, principal, identity, user, arn, result, ip, agent, region, source = (
        _recurring_of(event)
    )
    _set_event_name(event, intern(name))
    _set_account_id(event, intern(account))
    _set_principal(event, intern(principal))
    _set_identity_type(event, intern(identity))
    if user is not None:
        _set_user_name(event, intern(user))
    if arn is not None:
        _set_arn(event, intern(arn))
    if result is not None:
        _set_result(event, intern(result))
    _set_source_ip(event, intern(ip))
    _set_user_agent(event, intern(agent))
    _set_region(event, intern(region))
    _set_event_source(event, intern(source))


def _key(event: SignInEvent) -> tuple[str, str]:
    """The row's keys: a store holds one row per (pk, sk)."""
    kind = schema.activity_sort_kind(
        api_call=event.is_api_call, failed_console_login=event.is_failed_console_login
    )
    return (
        schema.activity_pk(event.account_id, event.principal),
        schema.activity_sk(kind, event.time_text, event.event_id),
    )
