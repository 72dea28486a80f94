"""``signin-monitor history``: stored activity for an audit, as a table or JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from ..app import build_account_names_from
from ..config import Settings
from ..event_rows import event_row
from ..events import API_CALL, SIGN_IN
from ..store import HistoryQuery
from ..terminal import error, safe, time_argument
from .common import ExitStatus, open_store, store_options, write_line

__all__ = ["TABLE_COLUMNS", "add_parser", "run"]

TABLE_COLUMNS = (
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


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``history`` to the subcommands of the ``signin-monitor`` parser."""
    history: argparse.ArgumentParser = commands.add_parser(
        "history",
        help="list stored activity (sign-in events and API calls) for an audit",
        description=(
            "List stored events, oldest first, by principal (user name or 'root' as shown in "
            "alerts), account and/or source IP, within an optional time range. Times are ISO "
            "8601 (2026-11-01, 2026-11-01T08:00:00Z) or relative to now (30m, 12h, 7d)."
        ),
        epilog="Example: signin-monitor history --principal root --account 111122223333 --since 7d",
    )
    store_options(history)
    history.add_argument("--principal", metavar="NAME", help="user name, or root")
    history.add_argument("--account", metavar="ID", help="AWS account id")
    history.add_argument("--source-ip", metavar="IP", help="source IP address")
    history.add_argument("--since", metavar="T", type=time_argument, help="from this time")
    history.add_argument("--until", metavar="T", type=time_argument, help="up to this time")
    history.add_argument("--json", action="store_true", help="one JSON object per event")
    history.add_argument(
        "--kind",
        choices=(SIGN_IN, API_CALL),
        help="only sign-in events or only API calls (default: every kind)",
    )
    return history


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Query the store and print the events, oldest first."""
    if not (args.principal or args.account or args.source_ip):
        error("history needs --principal, --account or --source-ip")
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
    store = open_store(args, settings)
    names = build_account_names_from(settings)
    try:
        rows = [
            event_row(event, account_name=None if names is None else names.name(event.account_id))
            for event in store.history(query)
        ]
    except ValueError as bad_query:
        error(str(bad_query))
        return ExitStatus.USAGE
    finally:
        store.close()
    if args.json:
        for row in rows:
            write_line(json.dumps(row))
    else:
        print_table(rows)
    print(f"{len(rows):,} events", file=sys.stderr)
    return ExitStatus.OK


def print_table(rows: list[dict[str, Any]]) -> None:
    """The rows as aligned columns, every cell escaped and cut to 64 characters."""

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "yes" if value else "no"
        return safe(str(value))[:64]

    columns: tuple[tuple[str, str], ...] = TABLE_COLUMNS
    if any(row.get("account_name") for row in rows):
        # Names only when some are known, so the table without them stays as it always was.
        at = [key for key, _ in columns].index("account_id") + 1
        columns = (*columns[:at], ("account_name", "NAME"), *columns[at:])
    table = [[title for _, title in columns]]
    table += [[cell(row[key]) for key, _ in columns] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        write_line(
            "  ".join(
                value.ljust(width) for value, width in zip(line, widths, strict=True)
            ).rstrip()
        )
