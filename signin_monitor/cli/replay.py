"""``signin-monitor replay``: saved CloudTrail/EventBridge records through the Lambda's pipeline.

Without a webhook, printing an alert is its delivery: the line is written and flushed before
its claim is marked sent, so a crash or a closed stdout never loses one (a re-run prints what
is still pending). A SQLite replay holds an exclusive lock on ``<db>.lock`` for its whole run:
no other run can be delivering, so any pending claim it finds is a dead run's and is retried.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from ..alerts import Alert
from ..app import build_notifier, build_pipeline
from ..config import Settings
from ..errors import (
    ConfigError,
    OutputClosedError,
    SkippedFileError,
)
from ..events import TRUNCATED_KEY, format_time
from ..pipeline import Delivery, DeliveryStatus, Pipeline
from ..sources import find_files
from ..store import ActivityStore
from ..suppressions import Suppression
from ..terminal import error, safe
from .common import (
    ExitStatus,
    Progress,
    delivery_lock,
    open_store,
    silence_stdout,
    store_options,
    write_line,
)
from .replay_engine import PreparedBatch, ReplayEngine
from .replay_reader import ReaderFailedError, ReadReport, can_fork_reader, open_reader

__all__ = ["REPLAY_BATCH", "PrintNotifier", "add_parser", "print_alert", "run"]

#: Events per SQLite commit during replay (a commit per event dominated replay time).
REPLAY_BATCH = 1000


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``replay`` to the subcommands of the ``signin-monitor`` parser."""
    replay: argparse.ArgumentParser = commands.add_parser(
        "replay",
        help="run saved CloudTrail/EventBridge events through the pipeline",
        description=(
            "Read EventBridge events (one object, an array or JSON Lines), CloudTrail log files "
            "({'Records': [...]}, .json or .json.gz) and folders of them; process the records in "
            "eventTime order exactly as the Lambda would; print the alerts."
        ),
        epilog="Example: signin-monitor replay --json --db /tmp/audit.db ~/cloudtrail/2026/11/",
    )
    store_options(replay)
    replay.add_argument("--json", action="store_true", help="one JSON object per alert on stdout")
    replay.add_argument(
        "--threshold", type=int, metavar="N", help="override FAILED_SIGNIN_THRESHOLD"
    )
    replay.add_argument(
        "--window-minutes", type=int, metavar="M", help="override FAILED_SIGNIN_WINDOW_MINUTES"
    )
    replay.add_argument(
        "--no-progress", action="store_true", help="no progress bar even on a terminal"
    )
    replay.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to read")
    return replay


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Check the options, then replay the paths into the store under its delivery lock."""
    try:
        settings = settings.with_overrides(
            threshold=args.threshold, window_minutes=args.window_minutes
        )
    except ConfigError as config_error:
        option = {
            "FAILED_SIGNIN_THRESHOLD": "--threshold",
            "FAILED_SIGNIN_WINDOW_MINUTES": "--window-minutes",
        }.get(config_error.variable, config_error.variable)
        error(f"{option} {config_error.value}: expected {config_error.accepted}")
        return ExitStatus.USAGE
    missing = [path for path in args.paths if not os.path.exists(path)]
    if missing:
        error("no such file or folder: " + ", ".join(safe(path) for path in missing))
        return ExitStatus.USAGE
    with contextlib.ExitStack() as stack:
        stack.enter_context(delivery_lock(args))
        store = open_store(args, settings, batch_size=REPLAY_BATCH, locked=True)
        stack.callback(store.close)
        return replay_into(args, settings, store)


class PrintNotifier:
    """Without a webhook, printing an alert is its delivery.

    The line (``--json`` object or readable line) is written and flushed before ``send``
    returns, and only then does the pipeline mark the claim sent. A closed or full stdout
    raises ``OutputClosedError``: the claim is released and the run stops.
    """

    def __init__(self, *, as_json: bool) -> None:
        self.as_json = as_json

    def send(
        self, payload: dict[str, Any], *, alert: Alert | None = None, deadline: float | None = None
    ) -> None:
        """Print the alert's line and flush it."""
        if alert is None:
            raise ValueError("printing an alert needs the alert")
        print_alert(alert, payload, self.as_json)


def replay_into(args: argparse.Namespace, settings: Settings, store: ActivityStore) -> int:
    """Read, sort, process and report; the summary line on stderr is a contract."""
    printer = PrintNotifier(as_json=args.json)
    notifier = build_notifier(settings, fallback=printer)
    lease = float(settings.claim_lease_seconds) if args.table else None
    pipeline = build_pipeline(settings, store=store, notifier=notifier, lease_seconds=lease)
    progress = Progress(enabled=not args.no_progress and sys.stderr.isatty())
    counts = {"read": 0, "skipped": 0, "malformed": 0, "stored": 0, "duplicates": 0}
    reading = {"files skipped": 0, "expired": 0, "truncated": 0}
    alerts = undelivered = failed = busy = 0
    stopped: OutputClosedError | None = None
    reader_failed: ReaderFailedError | None = None
    expired_before = None if settings.retention is None else datetime.now(UTC) - settings.retention

    def reported(
        items: Iterator[tuple[ReadReport, PreparedBatch | None]],
    ) -> Iterator[PreparedBatch]:
        """The batches, each after what reading saw on its way is counted and printed."""
        for report, batch in items:
            counts["read"] += report.read
            counts["skipped"] += report.not_monitored
            reading["expired"] += report.expired
            reading["truncated"] += report.truncated
            for problem in report.problems:
                progress.clear()
                if isinstance(problem, SkippedFileError):
                    reading["files skipped"] += 1
                    error(f"skipped: {safe(str(problem))}")
                else:
                    counts["malformed"] += 1
                    error(f"malformed record: {safe(str(problem))}")
            label = f"files, {counts['read']:,} records read"
            progress.bar(report.files_done, report.files_total, label)
            if batch is not None:
                yield batch

    engine = ReplayEngine(pipeline)
    try:
        # Every record is stored as it is read; then the rules run, in eventTime order, over
        # the events that can alert (replay_engine.py: the same alerts, far fewer reads).
        entries = list(find_files(args.paths))
        process = can_fork_reader(engine)
        reader = open_reader(entries, engine, expired_before=expired_before, process=process)
        with reader:
            for written in engine.store_prepared(reported(reader.batches())):
                for unstorable in written.unstorable:
                    # The store refuses it for good (too large, bad text): it costs only itself.
                    counts["malformed"] += 1
                    progress.clear()
                    error(f"malformed record: {safe(str(unstorable))}")
                counts["stored"] += written.stored
                counts["duplicates"] += written.duplicates
            for outcome in reader.evaluated():
                progress.bar(engine.checked, engine.kept, "events checked")
                for delivery in outcome.deliveries:
                    if delivery.status is DeliveryStatus.BUSY:
                        busy += 1
                        continue
                    alerts += 1
                    if delivery.status is DeliveryStatus.RETRY_LATER:
                        undelivered += 1
                    elif delivery.status is DeliveryStatus.FAILED:
                        failed += 1
                    progress.clear()
                    if notifier is not printer or delivery.status is DeliveryStatus.SUPPRESSED:
                        # Posted (or not) to Slack, or suppressed (nothing posts it): said so.
                        suppression = suppression_of(pipeline, delivery)
                        print_alert(
                            delivery.alert, delivery.payload, args.json, suppressed=suppression
                        )
    except OutputClosedError as closed:
        stopped = closed
        silence_stdout()
    except ReaderFailedError as failed_reader:
        reader_failed = failed_reader
    finally:
        progress.clear()
    summary = (
        f"{counts['read']:,} records read: {counts['stored']:,} stored, "
        f"{counts['duplicates']:,} duplicates, {counts['skipped']:,} not monitored, "
        f"{counts['malformed']:,} malformed; {alerts:,} alerts"
    )
    if notifier is printer:
        summary += " (no Slack webhook configured: printed only)"
    print(summary, file=sys.stderr)
    print_reading_notes(reading, settings)
    code = ExitStatus.ERROR if counts["malformed"] or reading["files skipped"] else ExitStatus.OK
    if reader_failed is not None:
        error(str(reader_failed))
        code = ExitStatus.ERROR
    if stopped is not None:
        error(
            f"stopped: {stopped}; the alerts not printed stay pending: replay again to print them"
        )
        code = ExitStatus.ERROR
    if busy:
        until = datetime.now(UTC) + timedelta(seconds=settings.claim_lease_seconds)
        error(
            f"{busy} alerts not delivered: another run holds their claim; if it dies, "
            f"replay again after {format_time(until)} to deliver them"
        )
        code = ExitStatus.ERROR
    if undelivered or failed:
        error(
            f"{undelivered} alerts could not be posted yet (replay again to retry them) and "
            f"{failed} were refused by Slack"
        )
        code = ExitStatus.ERROR
    return code


def print_reading_notes(reading: dict[str, int], settings: Settings) -> None:
    """What the summary line (a contract, kept as it is) does not say, one line each."""
    if reading["files skipped"]:
        print(f"{reading['files skipped']:,} files skipped (see above)", file=sys.stderr)
    if reading["expired"]:
        print(
            f"{reading['expired']:,} events were already past RETENTION_DAYS="
            f"{settings.retention_days} when replayed: stored as expired, hidden from history",
            file=sys.stderr,
        )
    if reading["truncated"]:
        print(
            f"{reading['truncated']:,} events had fields cut to fit the store (cut text ends "
            f"in \u2026; cut parts of the raw record are listed under {TRUNCATED_KEY})",
            file=sys.stderr,
        )


def suppression_of(pipeline: Pipeline, delivery: Delivery) -> Suppression | None:
    """The suppression that kept a delivery from being posted (already read: no store call)."""
    if delivery.suppressed_by is None or pipeline.suppressions is None:
        return None
    return pipeline.suppressions.find(delivery.suppressed_by)


def print_alert(
    alert: Alert,
    payload: dict[str, Any],
    as_json: bool,
    *,
    suppressed: Suppression | None = None,
) -> None:
    """One alert's line on stdout, flushed; its fields come from the alert's own event (for a
    windowed rule, maybe another stored event than the one being processed). A suppressed
    alert (not posted) names its suppression: ``suppressed_by`` in JSON (null on every other
    alert), ``suppressed by <id> (<reason>)`` at the end of the readable line."""
    event = alert.event
    if as_json:
        line = {
            "rule": alert.rule_id,
            "severity": alert.severity.value,
            "event_id": event.event_id,
            "principal": event.principal,
            "account_id": event.account_id,
            "event_time": event.time_text,
            "slack": payload,
            "suppressed_by": None if suppressed is None else suppressed.id,
        }
        write_line(json.dumps(line))
        return
    mfa = {True: "yes", False: "no", None: "unknown"}[event.mfa_used]
    note = (
        "" if suppressed is None else f"  suppressed by {suppressed.id} ({safe(suppressed.reason)})"
    )
    write_line(
        f"{event.time_text}  {alert.severity.value.upper():<8}  {alert.rule_id:<24}"
        f"  account {safe(event.account_id)}  principal {safe(event.principal)}"
        f"  result {event.result or 'unknown'}  mfa {mfa}  ip {safe(event.source_ip)}"
        f"  region {safe(event.region)}  event {safe(event.event_id)}{note}"
    )
