"""``signin-monitor digest``: a UTC day's digest, the one the scheduled invocation posts.

Registered in ``cli.COMMANDS``. Reads the local SQLite store (every account, or ``--account``)
or the DynamoDB table (``--table``: the accounts come from ``--account``, else the
account-name map and the accounts the day's alerts name, never a Scan). Prints the Block Kit
message with ``--json``, readable text otherwise; posts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..config import Settings
from ..errors import StoreError
from ..terminal import error, safe
from .common import DEFAULT_DB, ExitStatus, open_store, store_options, write_line

__all__ = ["add_parser", "run"]


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day: use yyyy-mm-dd") from None


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``digest`` to the CLI's subparsers (``commands`` is ``add_subparsers()``'s result)."""
    digest: argparse.ArgumentParser = commands.add_parser(
        "digest",
        help="print the daily digest of a UTC day (what the scheduled digest posts)",
        description=(
            "Print one UTC day's digest: alerts by account and rule, suppressed alerts (whose "
            "suppression and why), every medium alert, console sign-ins without MFA per user, "
            "the top failing principals and source IPs. --json prints the Slack Block Kit "
            "message (one JSON line); otherwise a readable text. Nothing is posted."
        ),
        epilog="Example: signin-monitor digest --day 2026-11-30 --account 111122223333",
    )
    store_options(digest)
    digest.add_argument(
        "--day",
        metavar="D",
        type=_day,
        default=None,
        help="the UTC day, yyyy-mm-dd (default: yesterday, UTC)",
    )
    digest.add_argument(
        "--account",
        metavar="ID",
        action="append",
        default=[],
        help="only this AWS account (repeat for several; default: every account on SQLite)",
    )
    digest.add_argument("--json", action="store_true", help="print the Block Kit message")
    return digest


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print the digest; 0 when printed, 1 on a store error, 2 for a usage error."""
    from ..app import build_account_names_from
    from ..digest.gather import gather_digest
    from ..digest.lookup import ListedSuppressions
    from ..digest.render import render_blocks, render_text
    from ..digest.sources import DayReader, DynamoDbDayReader, SqliteDayReader

    day: date = args.day or (datetime.now(UTC).date() - timedelta(days=1))
    reader: DayReader
    try:
        if args.table:
            reader = DynamoDbDayReader(args.table)
        else:
            reader = SqliteDayReader(args.db or DEFAULT_DB)
    except StoreError as store_error:
        error(str(store_error))
        return ExitStatus.USAGE
    try:
        digest = gather_digest(
            reader,
            day,
            accounts=list(dict.fromkeys(args.account)),
            known_accounts=[account for account, _name in settings.account_names],
            suppressions=ListedSuppressions(lambda: _stored_suppressions(args, settings)),
            account_names=build_account_names_from(settings),
        )
    finally:
        if isinstance(reader, SqliteDayReader):
            reader.close()
    if args.table and not args.account:
        shown = ", ".join(digest.accounts) or "none"
        print(
            f"signin-monitor: digest of accounts {safe(shown)} (the account-name map and the "
            "accounts the day's alerts name; listing every account would scan the table: "
            "pass --account to choose)",
            file=sys.stderr,
        )
    if args.json:
        write_line(json.dumps(render_blocks(digest)))
    else:
        write_line(render_text(digest))
    return ExitStatus.OK


def _stored_suppressions(args: argparse.Namespace, settings: Settings) -> list[Any]:
    """The store's suppressions, read only when the day has a suppressed alert (none when the
    store keeps no suppressions: the digest then shows their ids alone)."""
    store = open_store(args, settings)
    try:
        listing = getattr(store, "suppressions", None)
        return list(listing()) if callable(listing) else []
    finally:
        store.close()
