"""Figure 2: per-event pipeline cost in-process vs ``json.loads`` + ``json.dumps`` of the event.

Why that baseline: decoding the event and encoding something back is the least work any
handler does per event; our budget is a small multiple of it. What is timed for "ours" is what
the Lambda does with an already-decoded EventBridge event: ``parse_eventbridge`` (pydantic
validation + normalization) and ``Pipeline.process`` (store, rules, and for alerts claim, render,
notify, mark).

Every round builds a fresh store and pipeline and feeds ``events`` distinct events (own
``eventID`` and time, built before the clock starts): the same event twice would be a duplicate
and skip work. Ours and the baseline alternate, round by round; the median round counts.

Variants:

* fake store (``MemoryStore``: our code alone) and ``SqliteStore(":memory:")`` - both against
  the goal;
* a root sign-in per event: an alert claimed, rendered to Block Kit, "posted" to
  ``CollectingNotifier`` and marked sent;
* the whole ``handler.handler`` with the Lambda's INFO-level JSON logs written to a byte-counting
  sink: closest to a real invocation minus the network; its time and log bytes feed figure 6.
"""

from __future__ import annotations

import gc
import io
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from signin_monitor.app import CollectingNotifier, build_pipeline
from signin_monitor.config import Settings
from signin_monitor.events import parse_eventbridge
from signin_monitor.logs import configure_logging
from signin_monitor.pipeline import Pipeline
from signin_monitor.store import ActivityStore
from signin_monitor.store.sqlite import SqliteStore

from .corpus import console_login, eventbridge
from .measure import interleave, median
from .memory_store import MemoryStore
from .report import Figure, Row

__all__ = ["make_events", "run"]

GOAL: Final = 8.0
_BASE: Final = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def make_events(count: int, *, kind: str, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` distinct EventBridge events: ``iam`` (success with MFA, no alert) or ``root``."""
    ids = uuid.UUID(int=seed, version=4).int
    events = []
    for index in range(count):
        record = console_login(
            event_id=str(uuid.UUID(int=ids + index, version=4)),
            at=_BASE + timedelta(seconds=7 * index),
            user=f"user{index % 50:03d}",
            identity_type="Root" if kind == "root" else "IAMUser",
        )
        events.append(eventbridge(record, event_id=str(uuid.UUID(int=ids - index, version=4))))
    return events


#: The rules of design section 3 alone: today's figure, beside the one with every rule on.
SECTION_3_RULES = ("root-sign-in", "sign-in-without-mfa", "repeated-failed-sign-ins")


def _pipeline(store: ActivityStore, *, section_3_only: bool = False) -> Pipeline:
    settings = Settings(alert_rules=SECTION_3_RULES) if section_3_only else Settings()
    return build_pipeline(settings, store=store, notifier=CollectingNotifier())


def _timed(run_events: Callable[[], None], count: int) -> float:
    """Seconds per event for one pass, garbage collected before (not during) the pass."""
    gc.collect()
    started = time.perf_counter()
    run_events()
    return (time.perf_counter() - started) / count


def _ours(
    events: list[dict[str, Any]],
    make_store: Callable[[], ActivityStore],
    *,
    section_3_only: bool = False,
) -> float:
    pipeline = _pipeline(make_store(), section_3_only=section_3_only)

    def run_events() -> None:
        for event in events:
            pipeline.process(parse_eventbridge(event))

    seconds = _timed(run_events, len(events))
    pipeline.store.close()
    return seconds


def _baseline(texts: list[str]) -> float:
    def run_events() -> None:
        for text in texts:
            json.dumps(json.loads(text))

    return _timed(run_events, len(texts))


class _CountingSink(io.TextIOBase):
    """A text stream that keeps only the number of bytes written (the log volume)."""

    def __init__(self) -> None:
        self.bytes = 0
        self.lines = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        self.lines += text.count("\n")
        return len(text)


@contextmanager
def _lambda_logging(sink: _CountingSink) -> Iterator[None]:
    """The handler's logging (JSON at INFO) with ``sys.stderr`` aimed at ``sink``; restored after.

    ``sys.stderr`` stays replaced for the whole block, whether the log handler binds the stream
    when configured or looks it up per record.
    """
    package = logging.getLogger("signin_monitor")
    saved = (package.level, list(package.handlers), package.propagate)
    real_stderr = sys.stderr
    package.handlers = []
    sys.stderr = sink
    try:
        configure_logging("INFO")
        yield
    finally:
        sys.stderr = real_stderr
        package.setLevel(saved[0])
        package.handlers = saved[1]
        package.propagate = saved[2]


@dataclass(slots=True)
class _HandlerRun:
    sink: _CountingSink
    events: int = 0


def _handler(events: list[dict[str, Any]], totals: _HandlerRun) -> float:
    """``handler.handler`` per event, on a ``MemoryStore`` pipeline, logs counted not written."""
    import handler

    handler.reset()
    handler._pipeline = _pipeline(MemoryStore())
    context = type("Context", (), {"aws_request_id": "bench"})()

    def run_events() -> None:
        for event in events:
            handler.handler(event, context)

    with _lambda_logging(totals.sink):
        seconds = _timed(run_events, len(events))
    totals.events += len(events)
    handler.reset()
    return seconds


def run(*, events: int = 2000, rounds: int = 7) -> Figure:
    """Interleave ``rounds`` passes of ``events`` distinct events per variant and the baseline."""
    iam = make_events(events, kind="iam")
    root = make_events(events, kind="root", seed=11)
    texts = [json.dumps(event) for event in iam]
    handler_totals = _HandlerRun(_CountingSink())
    samples = interleave(
        {
            "baseline": lambda: _baseline(texts),
            "fake": lambda: _ours(iam, MemoryStore),
            "sqlite": lambda: _ours(iam, lambda: SqliteStore(":memory:")),
            "fake-s3": lambda: _ours(iam, MemoryStore, section_3_only=True),
            "sqlite-s3": lambda: _ours(iam, lambda: SqliteStore(":memory:"), section_3_only=True),
            "alert": lambda: _ours(root, MemoryStore),
            "handler": lambda: _handler(iam, handler_totals),
        },
        rounds=rounds,
    )
    us = {name: median(values) * 1e6 for name, values in samples.items()}
    baseline_label = "json.loads + json.dumps of the same EventBridge event (~1.3 KB)"
    log_bytes = handler_totals.sink.bytes / max(handler_totals.events, 1)
    log_lines = handler_totals.sink.lines / max(handler_totals.events, 1)
    figure = Figure(2, f"Per-event pipeline cost ({events} events x {rounds} rounds, medians)")
    figure.rows = [
        Row(
            metric="no alert, fake in-memory store",
            ours=us["fake"],
            baseline=us["baseline"],
            unit="us",
            goal=GOAL,
            baseline_label=baseline_label,
        ),
        Row(
            metric="no alert, SqliteStore(':memory:')",
            ours=us["sqlite"],
            baseline=us["baseline"],
            unit="us",
            goal=GOAL,
        ),
        Row(
            metric="no alert, fake store, section 3 rules only",
            ours=us["fake-s3"],
            baseline=us["baseline"],
            unit="us",
            note="today's three rules; the rows above run all seven (design 3.2 reads too)",
        ),
        Row(
            metric="no alert, SqliteStore, section 3 rules only",
            ours=us["sqlite-s3"],
            baseline=us["baseline"],
            unit="us",
        ),
        Row(
            metric="root sign-in, alert rendered (fake)",
            ours=us["alert"],
            baseline=us["baseline"],
            unit="us",
            note="claim + Block Kit render + CollectingNotifier + mark sent, per event",
        ),
        Row(
            metric="handler.handler + INFO JSON logs (fake)",
            ours=us["handler"],
            baseline=us["baseline"],
            unit="us",
            note=f"as in Lambda minus the network; {log_lines:.1f} log lines, "
            f"{log_bytes:.0f} bytes of log per event",
        ),
    ]
    figure.data = {
        "events": events,
        "rounds": rounds,
        "median_us": us,
        "samples_us": {k: [round(v * 1e6, 2) for v in vs] for k, vs in samples.items()},
        "log_bytes_per_event": log_bytes,
        "log_lines_per_event": log_lines,
    }
    return figure
