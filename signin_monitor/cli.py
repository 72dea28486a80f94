"""The ``signin-monitor`` command: replay saved logs, query history, send a test alert.

A thin layer over the same pipeline the Lambda runs. stdout carries only results (with
``--json``, one JSON object per line); summaries, progress and errors go to stderr.
Exit status: 0 ok, 1 a record was malformed or an alert could not be delivered, 2 usage or
configuration error.

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
import time
import typing
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import IO, Any, NoReturn

from . import __version__, coverage_command
from .alerts import Alert
from .app import CollectingNotifier, build_account_names_from, build_notifier, build_pipeline
from .config import Settings
from .errors import (
    ConfigError,
    MalformedRecordError,
    NotSignInEventError,
    OutputClosedError,
    SigninMonitorError,
    SkippedFileError,
    UnstorableRecordError,
)
from .events import API_CALL, SIGN_IN, TRUNCATED_KEY, SignInEvent, format_time, parse_record
from .logs import quiet_http_logs
from .pipeline import DeliveryStatus
from .slack import Notifier, render
from .sources import find_files, read_events, sort_by_time
from .store import ActivityStore, HistoryQuery
from .terminal import error, safe, time_argument

__all__ = ["ExitStatus", "main"]

DEFAULT_DB = "signin-monitor.db"
#: Events per SQLite commit during replay (a commit per event dominated replay time).
REPLAY_BATCH = 1000
# C0/C1 controls, line separators and bidirectional overrides (which can disguise text).


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
        help="list stored activity (sign-in events and API calls) for an audit",
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
    history.add_argument(
        "--kind",
        choices=(SIGN_IN, API_CALL),
        help="only sign-in events or only API calls (default: every kind)",
    )

    commands.add_parser(
        "test-alert",
        help="send one sample alert to the configured Slack webhook",
        description=(
            "Render a sample root sign-in alert and post it to SLACK_WEBHOOK_URL or the SSM "
            "parameter named by SLACK_WEBHOOK_PARAMETER; with neither, print the payload."
        ),
        epilog="Example: SLACK_WEBHOOK_URL=https://hooks.slack.com/... signin-monitor test-alert",
    )

    resend = commands.add_parser(
        "resend",
        help="post, once, the alerts whose delivery Slack refused, after the hook is fixed",
        description=(
            "Post every alert whose delivery failed for good (a revoked hook, an archived "
            "channel) to the configured webhook, oldest first, each once: the exact message "
            "that failed. Alerts that fail again stay listed for the next resend."
        ),
        epilog="Example: SLACK_WEBHOOK_URL=https://hooks.slack.com/... signin-monitor resend "
        "--db /tmp/audit.db",
    )
    _store_options(resend)
    resend.add_argument("--json", action="store_true", help="one JSON object per alert posted")

    create = commands.add_parser(
        "create-table",
        help="create the DynamoDB table with its indexes and TTL (for local DynamoDB or moto)",
        description="Create the activity table exactly as the Terraform module defines it.",
        epilog="Example: AWS_ENDPOINT_URL=http://127.0.0.1:8000 signin-monitor create-table "
        "--table signin-activity",
    )
    create.add_argument("--table", metavar="NAME", required=True, help="table name")

    from .report import command as report_command

    report_command.add_parser(commands)
    coverage_command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``signin-monitor`` script."""
    quiet_http_logs()
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
        "resend": _resend,
        "create-table": _create_table,
        "report": _report,
        "coverage": coverage_command.run,
    }
    try:
        return commands[args.command](args, settings)
    except ConfigError as error:
        # A bad value met at run time (the webhook URL read from SSM): a configuration error.
        _error(str(error))
        return ExitStatus.USAGE
    except OutputClosedError as error:
        _silence_stdout()
        _error(str(error))
        return ExitStatus.ERROR
    except SigninMonitorError as error:
        _error(str(error))
        return ExitStatus.ERROR
    except KeyboardInterrupt:
        _error("interrupted")
        return 130


def _open_store(
    args: argparse.Namespace, settings: Settings, *, batch_size: int = 1, locked: bool = False
) -> ActivityStore:
    """The store the options name. ``locked``: this run holds the SQLite file's lock, so a
    pending claim cannot be another live run's (lease 0: it is retried at once)."""
    if args.table:
        from .store.dynamodb import DynamoDbStore

        return DynamoDbStore(args.table, lease_seconds=settings.claim_lease_seconds)
    from .store.sqlite import SqliteStore

    if locked:
        return SqliteStore(args.db or DEFAULT_DB, batch_size=batch_size, lease_seconds=0)
    return SqliteStore(args.db or DEFAULT_DB, batch_size=batch_size)


@contextlib.contextmanager
def _delivery_lock(args: argparse.Namespace) -> Iterator[None]:
    """Hold ``<db>.lock`` exclusively (SQLite only): one delivering run per file at a time.

    The kernel drops the lock when the process dies, even by SIGKILL, so a dead run's pending
    claims are the next run's to retry.
    """
    if args.table:
        yield
        return
    import fcntl

    path = f"{args.db or DEFAULT_DB}.lock"
    with open(path, "a", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(
                f"signin-monitor: waiting for another run on {_safe(path)} to finish",
                file=sys.stderr,
            )
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


class _PrintNotifier:
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
        _print_alert(alert, payload, self.as_json)


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    with contextlib.ExitStack() as stack:
        stack.enter_context(_delivery_lock(args))
        store = _open_store(args, settings, batch_size=REPLAY_BATCH, locked=True)
        stack.callback(store.close)
        return _replay_into(args, settings, store)


def _replay_into(args: argparse.Namespace, settings: Settings, store: ActivityStore) -> int:
    printer = _PrintNotifier(as_json=args.json)
    notifier = build_notifier(settings, fallback=printer)
    lease = float(settings.claim_lease_seconds) if args.table else None
    pipeline = build_pipeline(settings, store=store, notifier=notifier, lease_seconds=lease)
    progress = _Progress(enabled=not args.no_progress and sys.stderr.isatty())
    counts = {"read": 0, "skipped": 0, "malformed": 0, "stored": 0, "duplicates": 0}
    reading = {"files skipped": 0, "expired": 0, "truncated": 0}
    alerts = undelivered = failed = busy = 0
    stopped: OutputClosedError | None = None
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
            try:
                outcome = pipeline.process(event)
            except UnstorableRecordError as error:
                # The store refuses it for good (too large, bad text): it costs only itself.
                counts["malformed"] += 1
                progress.clear()
                _error(f"malformed record: {_safe(str(error))}")
                continue
            counts["stored" if outcome.stored else "duplicates"] += 1
            processed = counts["stored"] + counts["duplicates"]
            total = counts["read"] - counts["skipped"] - counts["malformed"]
            progress.bar(processed, total, "events processed")
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
                if notifier is not printer:
                    # Posted (or not) to Slack: the line reports it.
                    _print_alert(delivery.alert, delivery.payload, args.json)
    except OutputClosedError as error:
        stopped = error
        _silence_stdout()
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
    _print_reading_notes(reading, settings)
    code = ExitStatus.ERROR if counts["malformed"] or reading["files skipped"] else ExitStatus.OK
    if stopped is not None:
        _error(
            f"stopped: {stopped}; the alerts not printed stay pending: replay again to print them"
        )
        code = ExitStatus.ERROR
    if busy:
        until = datetime.now(UTC) + timedelta(seconds=settings.claim_lease_seconds)
        _error(
            f"{busy} alerts not delivered: another run holds their claim; if it dies, "
            f"replay again after {format_time(until)} to deliver them"
        )
        code = ExitStatus.ERROR
    if undelivered or failed:
        _error(
            f"{undelivered} alerts could not be posted yet (replay again to retry them) and "
            f"{failed} were refused by Slack"
        )
        code = ExitStatus.ERROR
    return code


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


def _print_alert(alert: Alert, payload: dict[str, Any], as_json: bool) -> None:
    """One alert's line on stdout, flushed; its fields come from the alert's own event (for a
    windowed rule, maybe another stored event than the one being processed)."""
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
        }
        _write_line(json.dumps(line))
        return
    mfa = {True: "yes", False: "no", None: "unknown"}[event.mfa_used]
    _write_line(
        f"{event.time_text}  {alert.severity.value.upper():<8}  {alert.rule_id:<24}"
        f"  account {_safe(event.account_id)}  principal {_safe(event.principal)}"
        f"  result {event.result or 'unknown'}  mfa {mfa}  ip {_safe(event.source_ip)}"
        f"  region {_safe(event.region)}  event {_safe(event.event_id)}"
    )


def _write_line(line: str) -> None:
    """Write and flush one stdout line; a closed pipe or a full disk is OutputClosedError."""
    try:
        # One write of the whole line: a crash never leaves half a line followed by the next.
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except OSError as error:  # BrokenPipeError (EPIPE), ENOSPC, EIO...
        reason = os.strerror(error.errno) if error.errno else type(error).__name__
        raise OutputClosedError(f"cannot write to standard output ({reason})") from None


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush at exit cannot fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


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
        kind=args.kind,
    )
    store = _open_store(args, settings)
    names = build_account_names_from(settings)
    try:
        rows = [
            _history_row(
                event, account_name=None if names is None else names.name(event.account_id)
            )
            for event in store.history(query)
        ]
    except ValueError as error:
        _error(str(error))
        return ExitStatus.USAGE
    finally:
        store.close()
    if args.json:
        for row in rows:
            _write_line(json.dumps(row))
    else:
        _print_table(rows)
    print(f"{len(rows):,} events", file=sys.stderr)
    return ExitStatus.OK


def _history_row(event: SignInEvent, *, account_name: str | None = None) -> dict[str, Any]:
    """One event as ``history --json`` (and the audit report's files) shows it."""
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
        "kind": event.kind,
        "event_source": event.event_source,
        "error_code": event.error_code,
        "account_name": account_name,
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
    ("event_source", "SOURCE"),
    ("error_code", "ERROR"),
)


def _print_table(rows: list[dict[str, Any]]) -> None:
    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "yes" if value else "no"
        return _safe(str(value))[:64]

    columns: tuple[tuple[str, str], ...] = _TABLE_COLUMNS
    if any(row.get("account_name") for row in rows):
        # Names only when some are known, so the table without them stays as it always was.
        at = [key for key, _ in columns].index("account_id") + 1
        columns = (*columns[:at], ("account_name", "NAME"), *columns[at:])
    table = [[title for _, title in columns]]
    table += [[cell(row[key]) for key, _ in columns] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        _write_line(
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
            "eventType": "AwsConsoleSignIn",
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


def _resend(args: argparse.Namespace, settings: Settings) -> int:
    from .resend import ResendStatus, ResendStore, resend_undelivered

    if settings.slack_webhook_url is None and settings.slack_webhook_parameter is None:
        _error("resend posts to Slack: set SLACK_WEBHOOK_URL or SLACK_WEBHOOK_PARAMETER")
        return ExitStatus.USAGE
    notifier = build_notifier(settings, fallback=CollectingNotifier())
    counts = dict.fromkeys(ResendStatus, 0)
    with contextlib.ExitStack() as stack:
        stack.enter_context(_delivery_lock(args))
        store = _open_store(args, settings)
        stack.callback(store.close)
        if not hasattr(store, "undelivered_alerts"):
            _error("this store does not keep undelivered alerts")
            return ExitStatus.ERROR
        resendable = typing.cast(ResendStore, store)
        for result in resend_undelivered(resendable, notifier):
            counts[result.status] += 1
            alert = result.alert
            if args.json:
                line = {
                    "rule": alert.rule_id,
                    "event_id": alert.event_id,
                    "event_time": format_time(alert.event_time),
                    "status": result.status.value,
                    "reason": result.reason,
                    "slack": alert.payload,
                }
                _write_line(json.dumps(line))
            else:
                reason = f"  ({_safe(result.reason)})" if result.reason else ""
                _write_line(
                    f"{format_time(alert.event_time)}  {result.status.value:<8}"
                    f"  {alert.rule_id:<24}  event {_safe(alert.event_id)}{reason}"
                )
    total = sum(counts.values())
    print(
        f"{total:,} undelivered alerts: {counts[ResendStatus.SENT]:,} posted, "
        f"{counts[ResendStatus.FAILED]:,} still failing, "
        f"{counts[ResendStatus.TAKEN]:,} taken by another resend",
        file=sys.stderr,
    )
    return ExitStatus.ERROR if counts[ResendStatus.FAILED] else ExitStatus.OK


def _create_table(args: argparse.Namespace, settings: Settings) -> int:
    import boto3

    from .store.dynamodb_admin import create_table

    result = create_table(boto3.client("dynamodb"), args.table)
    print(f"table {args.table}: {result}", file=sys.stderr)
    return ExitStatus.OK


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from .report import command as report_command

    return report_command.run(args, settings)


_time_argument = time_argument
_safe = safe
_error = error


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
