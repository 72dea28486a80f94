"""The ``signin-monitor`` command: replay saved logs, query history, send a test alert.

A thin layer over the same pipeline the Lambda runs. stdout carries only results (with
``--json``, one JSON object per line); summaries, progress and errors go to stderr.
Exit status: 0 ok, 1 a record was malformed or an alert could not be delivered, 2 usage or
configuration error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import IO, Any, NoReturn

from . import __version__
from .app import CollectingNotifier, build_notifier, build_pipeline
from .config import Settings
from .errors import (
    ConfigError,
    MalformedRecordError,
    NotSignInEventError,
    SigninMonitorError,
    SkippedFileError,
)
from .events import TRUNCATED_KEY, SignInEvent, format_time, parse_record
from .pipeline import DeliveryStatus
from .slack import Notifier, render
from .sources import find_files, read_events, sort_by_time
from .store import ActivityStore, HistoryQuery

__all__ = ["ExitStatus", "main"]

DEFAULT_DB = "signin-monitor.db"
#: Events per SQLite commit during replay (a commit per event dominated replay time).
REPLAY_BATCH = 1000
# C0/C1 controls, line separators and bidirectional overrides (which can disguise text).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_RELATIVE = re.compile(r"^(\d+)([mhd])$")


class ExitStatus(IntEnum):
    """What the exit code means."""

    OK = 0
    ERROR = 1
    USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors name the command and exit with ``ExitStatus.USAGE``."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(ExitStatus.USAGE, f"{self.prog}: error: {message}\n")


def _store_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--db",
        metavar="PATH",
        help=f"SQLite file to use (default: {DEFAULT_DB}; created if missing)",
    )
    where.add_argument(
        "--table",
        metavar="NAME",
        help="DynamoDB table instead of SQLite (endpoint from AWS_ENDPOINT_URL if set)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed so the README test can check every command is documented)."""
    parser = _Parser(
        prog="signin-monitor",
        description="Alert on risky AWS console sign-ins; keep every sign-in for audits.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    replay = commands.add_parser(
        "replay",
        help="run saved CloudTrail/EventBridge events through the pipeline",
        description=(
            "Read EventBridge events (one object, an array or JSON Lines), CloudTrail log files "
            "({'Records': [...]}, .json or .json.gz) and folders of them; process the records in "
            "eventTime order exactly as the Lambda would; print the alerts."
        ),
        epilog="Example: signin-monitor replay --json --db /tmp/audit.db ~/cloudtrail/2026/11/",
    )
    _store_options(replay)
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

    history = commands.add_parser(
        "history",
        help="list stored sign-in events for an audit",
        description=(
            "List stored events, oldest first, by principal (user name or 'root' as shown in "
            "alerts), account and/or source IP, within an optional time range. Times are ISO "
            "8601 (2026-11-01, 2026-11-01T08:00:00Z) or relative to now (30m, 12h, 7d)."
        ),
        epilog="Example: signin-monitor history --principal root --account 111122223333 --since 7d",
    )
    _store_options(history)
    history.add_argument("--principal", metavar="NAME", help="user name, or root")
    history.add_argument("--account", metavar="ID", help="AWS account id")
    history.add_argument("--source-ip", metavar="IP", help="source IP address")
    history.add_argument("--since", metavar="T", type=_time_argument, help="from this time")
    history.add_argument("--until", metavar="T", type=_time_argument, help="up to this time")
    history.add_argument("--json", action="store_true", help="one JSON object per event")

    commands.add_parser(
        "test-alert",
        help="send one sample alert to the configured Slack webhook",
        description=(
            "Render a sample root sign-in alert and post it to SLACK_WEBHOOK_URL or the SSM "
            "parameter named by SLACK_WEBHOOK_PARAMETER; with neither, print the payload."
        ),
        epilog="Example: SLACK_WEBHOOK_URL=https://hooks.slack.com/... signin-monitor test-alert",
    )

    create = commands.add_parser(
        "create-table",
        help="create the DynamoDB table with its indexes and TTL (for local DynamoDB or moto)",
        description="Create the activity table exactly as the Terraform module defines it.",
        epilog="Example: AWS_ENDPOINT_URL=http://127.0.0.1:8000 signin-monitor create-table "
        "--table signin-activity",
    )
    create.add_argument("--table", metavar="NAME", required=True, help="table name")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``signin-monitor`` script."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as error:
        _error(str(error))
        return ExitStatus.USAGE
    if args.command == "replay":
        try:
            settings = settings.with_overrides(
                threshold=args.threshold, window_minutes=args.window_minutes
            )
        except ConfigError as error:
            option = {
                "FAILED_SIGNIN_THRESHOLD": "--threshold",
                "FAILED_SIGNIN_WINDOW_MINUTES": "--window-minutes",
            }.get(error.variable, error.variable)
            _error(f"{option} {error.value}: expected {error.accepted}")
            return ExitStatus.USAGE
        missing = [path for path in args.paths if not os.path.exists(path)]
        if missing:
            _error("no such file or folder: " + ", ".join(_safe(path) for path in missing))
            return ExitStatus.USAGE
    commands: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
        "replay": _replay,
        "history": _history,
        "test-alert": _test_alert,
        "create-table": _create_table,
    }
    try:
        return commands[args.command](args, settings)
    except SigninMonitorError as error:
        _error(str(error))
        return ExitStatus.ERROR
    except KeyboardInterrupt:
        _error("interrupted")
        return 130


def _open_store(args: argparse.Namespace, *, batch_size: int = 1) -> ActivityStore:
    if args.table:
        from .store.dynamodb import DynamoDbStore

        return DynamoDbStore(args.table)
    from .store.sqlite import SqliteStore

    return SqliteStore(args.db or DEFAULT_DB, batch_size=batch_size)


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    store = _open_store(args, batch_size=REPLAY_BATCH)
    notifier = build_notifier(settings, fallback=CollectingNotifier())
    pipeline = build_pipeline(settings, store=store, notifier=notifier)
    progress = _Progress(enabled=not args.no_progress and sys.stderr.isatty())
    counts = {"read": 0, "skipped": 0, "malformed": 0, "stored": 0, "duplicates": 0}
    reading = {"files skipped": 0, "expired": 0, "truncated": 0}
    alerts = undelivered = failed = 0
    expired_before = None if settings.retention is None else datetime.now(UTC) - settings.retention

    def sign_in_events() -> Iterator[SignInEvent]:
        entries = list(find_files(args.paths))
        for number, entry in enumerate(entries, start=1):
            if isinstance(entry, SkippedFileError):
                reading["files skipped"] += 1
                progress.clear()
                _error(f"skipped: {_safe(str(entry))}")
                continue
            items = [entry] if isinstance(entry, MalformedRecordError) else read_events([entry])
            for item in items:
                counts["read"] += 1
                if isinstance(item, NotSignInEventError):
                    counts["skipped"] += 1
                elif isinstance(item, MalformedRecordError):
                    counts["malformed"] += 1
                    progress.clear()
                    _error(f"malformed record: {_safe(str(item))}")
                else:
                    if expired_before is not None and item.event_time <= expired_before:
                        reading["expired"] += 1
                    if item.truncated:
                        reading["truncated"] += 1
                    progress.bar(
                        number - 1, len(entries), f"files, {counts['read']:,} records read"
                    )
                    yield item
            progress.bar(number, len(entries), f"files, {counts['read']:,} records read")

    try:
        for event in sort_by_time(sign_in_events()):
            outcome = pipeline.process(event)
            counts["stored" if outcome.stored else "duplicates"] += 1
            processed = counts["stored"] + counts["duplicates"]
            total = counts["read"] - counts["skipped"] - counts["malformed"]
            progress.bar(processed, total, "sign-in events processed")
            for delivery in outcome.deliveries:
                alerts += 1
                if delivery.status is DeliveryStatus.RETRY_LATER:
                    undelivered += 1
                elif delivery.status is DeliveryStatus.FAILED:
                    failed += 1
                progress.clear()
                _print_alert(
                    delivery.alert.rule_id,
                    delivery.payload,
                    event,
                    args.json,
                    delivery.alert.severity.value,
                )
    finally:
        progress.clear()
        store.close()
    summary = (
        f"{counts['read']:,} records read: {counts['stored']:,} stored, "
        f"{counts['duplicates']:,} duplicates, {counts['skipped']:,} not sign-in events, "
        f"{counts['malformed']:,} malformed; {alerts:,} alerts"
    )
    if isinstance(notifier, CollectingNotifier):
        summary += " (no Slack webhook configured: printed only)"
    print(summary, file=sys.stderr)
    _print_reading_notes(reading, settings)
    if undelivered or failed:
        _error(
            f"{undelivered} alerts could not be posted yet (replay again to retry them) and "
            f"{failed} were refused by Slack"
        )
        return ExitStatus.ERROR
    return ExitStatus.ERROR if counts["malformed"] or reading["files skipped"] else ExitStatus.OK


def _print_reading_notes(reading: dict[str, int], settings: Settings) -> None:
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


def _print_alert(
    rule_id: str, payload: dict[str, Any], event: SignInEvent, as_json: bool, severity: str
) -> None:
    if as_json:
        line = {
            "rule": rule_id,
            "severity": severity,
            "event_id": event.event_id,
            "principal": event.principal,
            "account_id": event.account_id,
            "event_time": event.time_text,
            "slack": payload,
        }
        print(json.dumps(line), flush=True)
        return
    mfa = {True: "yes", False: "no", None: "unknown"}[event.mfa_used]
    print(
        f"{event.time_text}  {severity.upper():<8}  {rule_id:<24}"
        f"  account {_safe(event.account_id)}  principal {_safe(event.principal)}"
        f"  result {event.result or 'unknown'}  mfa {mfa}  ip {_safe(event.source_ip)}"
        f"  region {_safe(event.region)}  event {_safe(event.event_id)}",
        flush=True,
    )


def _history(args: argparse.Namespace, settings: Settings) -> int:
    if not (args.principal or args.account or args.source_ip):
        _error("history needs --principal, --account or --source-ip")
        return ExitStatus.USAGE
    query = HistoryQuery(
        principal=args.principal,
        account_id=args.account,
        source_ip=args.source_ip,
        since=args.since,
        until=args.until,
        now_epoch=int(time.time()),
    )
    store = _open_store(args)
    try:
        rows = [_history_row(event) for event in store.history(query)]
    except ValueError as error:
        _error(str(error))
        return ExitStatus.USAGE
    finally:
        store.close()
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        _print_table(rows)
    print(f"{len(rows):,} events", file=sys.stderr)
    return ExitStatus.OK


def _history_row(event: SignInEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "event_time": event.time_text,
        "event_name": event.event_name,
        "account_id": event.account_id,
        "principal": event.principal,
        "identity_type": event.identity_type,
        "result": event.result,
        "mfa_used": event.mfa_used,
        "source_ip": event.source_ip,
        "region": event.region,
        "user_agent": event.user_agent,
        "arn": event.arn,
        "error_message": event.error_message,
    }


_TABLE_COLUMNS = (
    ("event_time", "TIME (UTC)"),
    ("event_name", "EVENT"),
    ("result", "RESULT"),
    ("mfa_used", "MFA"),
    ("account_id", "ACCOUNT"),
    ("principal", "PRINCIPAL"),
    ("source_ip", "SOURCE IP"),
    ("region", "REGION"),
    ("event_id", "EVENT ID"),
)


def _print_table(rows: list[dict[str, Any]]) -> None:
    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "yes" if value else "no"
        return _safe(str(value))[:64]

    table = [[title for _, title in _TABLE_COLUMNS]]
    table += [[cell(row[key]) for key, _ in _TABLE_COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(_TABLE_COLUMNS))]
    for line in table:
        print(
            "  ".join(
                value.ljust(width) for value, width in zip(line, widths, strict=True)
            ).rstrip()
        )


def _test_alert(args: argparse.Namespace, settings: Settings) -> int:
    from .alerts import Alert, Severity

    now = datetime.now(UTC).replace(microsecond=0)
    event = parse_record(
        {
            "eventID": "00000000-0000-4000-8000-000000000000",
            "eventTime": format_time(now),
            "eventName": "ConsoleLogin",
            "eventSource": "signin.amazonaws.com",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "192.0.2.1",
            "userAgent": "signin-monitor test-alert",
            "recipientAccountId": "111122223333",
            "userIdentity": {"type": "Root", "accountId": "111122223333"},
            "responseElements": {"ConsoleLogin": "Success"},
            "additionalEventData": {"MFAUsed": "Yes"},
        }
    )
    alert = Alert(
        rule_id="root-sign-in",
        severity=Severity.CRITICAL,
        title="Test alert (signin-monitor)",
        event=event,
        scope="test",
    )
    payload = render(alert)
    fallback = CollectingNotifier()
    notifier: Notifier = build_notifier(settings, fallback=fallback)
    notifier.send(payload)
    if notifier is fallback:
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        print(
            "no SLACK_WEBHOOK_URL or SLACK_WEBHOOK_PARAMETER set: payload printed, not posted",
            file=sys.stderr,
        )
    else:
        print("test alert posted to Slack", file=sys.stderr)
    return ExitStatus.OK


def _create_table(args: argparse.Namespace, settings: Settings) -> int:
    import boto3

    from .store.dynamodb_admin import create_table

    result = create_table(boto3.client("dynamodb"), args.table)
    print(f"table {args.table}: {result}", file=sys.stderr)
    return ExitStatus.OK


def _time_argument(text: str) -> datetime:
    match = _RELATIVE.match(text.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        delta = {
            "m": timedelta(minutes=amount),
            "h": timedelta(hours=amount),
            "d": timedelta(days=amount),
        }[unit]
        return datetime.now(UTC) - delta
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: use 2026-11-01, 2026-11-01T08:00:00Z, 30m, 12h or 7d"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _safe(text: str) -> str:
    """Terminal-safe: control characters (escape sequences included) shown as ``\\uNNNN``."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _error(message: str) -> None:
    print(f"signin-monitor: error: {message}", file=sys.stderr)


class _Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, *, enabled: bool, stream: IO[str] = sys.stderr) -> None:
        self.enabled = enabled
        self.stream = stream
        self._last = 0.0
        self._shown = False

    def bar(self, done: int, total: int, label: str, *, width: int = 30) -> None:
        """Draw ``[#####.....]  45%  done/total label``."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and done < total:
            return
        self._last = now
        filled = width * done // total if total else width
        percent = 100 * done // total if total else 100
        line = f"[{'#' * filled}{'.' * (width - filled)}] {percent:3d}%  {done:,}/{total:,} {label}"
        self.stream.write(f"\r\x1b[K{line}")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False
