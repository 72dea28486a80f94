"""``signin-monitor report``: the audit report of a period, as a folder of files.

Registered in ``cli.COMMANDS``; the report itself is built by ``signin_monitor.report``
(imported when the command runs, so ``--help`` stays quick).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import StoreError
from ..terminal import error, safe, time_argument
from .common import DEFAULT_DB, ExitStatus, Progress, store_options

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``report`` to the CLI's subparsers (``commands`` is ``add_subparsers()``'s result)."""
    report: argparse.ArgumentParser = commands.add_parser(
        "report",
        help="write the audit report of a period (HTML page, CSV, JSON Lines, manifest)",
        description=(
            "Write report.html (one self-contained page: period and scope, totals, sign-ins "
            "per day, root usage, sign-ins without MFA, failing principals and IPs, alerts, "
            "identity types), events.csv, events.jsonl, alerts.csv and manifest.json (SHA-256 "
            "of each file) into a folder. Times as for history; --until is inclusive. On "
            "DynamoDB --account is required (listing every account would be a table scan)."
        ),
        epilog=(
            "Example: signin-monitor report --since 2026-11-01 --until 2026-12-01 "
            "--account 111122223333 --out audit/2026-11"
        ),
    )
    store_options(report)
    report.add_argument(
        "--since", metavar="T", type=time_argument, required=True, help="from this time"
    )
    report.add_argument(
        "--until",
        metavar="T",
        type=time_argument,
        required=True,
        help="up to this time (inclusive)",
    )
    report.add_argument(
        "--account",
        metavar="ID",
        action="append",
        default=[],
        help="AWS account id (repeat for several; required on DynamoDB; default: all on SQLite)",
    )
    report.add_argument("--out", metavar="DIR", required=True, help="folder to write into")
    report.add_argument(
        "--no-progress", action="store_true", help="no progress bar even on a terminal"
    )
    return report


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Build the report; 0 when written, 1 on a store error, 2 for a usage error."""
    from .. import __version__
    from ..report.build import build_report
    from ..report.gather import ReportData
    from ..report.sources import Period, open_source

    if args.until < args.since:
        error("--until is before --since")
        return ExitStatus.USAGE
    if args.table and not args.account:
        error(
            "a report on DynamoDB needs --account (repeat it for several accounts): "
            "listing every account would scan the whole table"
        )
        return ExitStatus.USAGE
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        error(f"--out {safe(str(out))} is not a folder")
        return ExitStatus.USAGE
    period = Period(since=args.since, until=args.until, accounts=tuple(dict.fromkeys(args.account)))
    try:
        source = open_source(db=args.db, table=args.table, period=period, default_db=DEFAULT_DB)
    except StoreError as store_error:
        error(str(store_error))
        return ExitStatus.USAGE
    bar = Progress(enabled=not args.no_progress and sys.stderr.isatty())

    def progress(done: int, total: int, events: int) -> None:
        hours = max(1, -(-total // 3600))
        bar.bar(done * hours // total, hours, f"hours of the period, {events:,} events read")

    try:
        data = ReportData(period=period, alerts=list(source.alerts()))
        manifest = build_report(source, data, out, version=__version__, progress=progress)
    finally:
        bar.clear()
        source.close()
    counts = manifest["counts"]
    print(
        f"report written to {safe(str(out))}: {counts['events']:,} events, "
        f"{counts['alerts']:,} alerts, {counts['root_events']:,} root events",
        file=sys.stderr,
    )
    return ExitStatus.OK
