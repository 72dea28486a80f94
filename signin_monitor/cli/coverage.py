"""``signin-monitor coverage``: every active account x enabled region and its forwarding path.

Exit status 0 when every cell is covered, 1 when any is not (or AWS could not be asked), so it
can run on a schedule or in CI. stdout carries the cells (an aligned table, or with ``--json``
one JSON object per line); the summary and the gaps go to stderr.

Registered in ``cli.COMMANDS``: ``add_parser(commands)`` and ``run(args, settings)``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from typing import Any

from ..config import Settings
from ..coverage import (
    DEFAULT_STACK_SET,
    CoverageError,
    CoverageReport,
    assess,
    read_accounts,
    read_enabled_regions,
    read_last_events,
    read_local_paths,
    read_stack_instances,
)
from ..store import ActivityStore
from ..terminal import error, safe, time_argument

__all__ = ["add_parser", "run"]

DEFAULT_SINCE = "7d"
DEFAULT_NAME_PREFIX = "signin-monitor"
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_COLUMNS = (
    ("account_id", "ACCOUNT"),
    ("account_name", "NAME"),
    ("region", "REGION"),
    ("path", "PATH"),
    ("status", "STATUS"),
    ("last_event_time", "LAST EVENT (UTC)"),
    ("covered", "COVERED"),
)


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``coverage`` to the subcommands of the ``signin-monitor`` parser."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "coverage",
        help="list accounts x regions of the organization with their forwarding path",
        description=(
            "List every active account of the AWS Organization x every enabled region with the "
            "state of its forwarding path (the StackSet instance status, or this account's own "
            "stack or rule) and the last monitored event the store holds from there. Exit 1 when "
            "any account or region is not covered. Needs organizations:ListAccounts, "
            "organizations:DescribeOrganization, cloudformation:ListStackInstances and "
            "ec2:DescribeRegions (the management account or a delegated administrator)."
        ),
        epilog=(
            "Example: signin-monitor coverage --stack-set signin-monitor-forwarding "
            "--call-as DELEGATED_ADMIN --table signin-monitor-activity"
        ),
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--db", metavar="PATH", help="SQLite file with the stored events")
    where.add_argument("--table", metavar="NAME", help="DynamoDB table with the stored events")
    parser.add_argument("--json", action="store_true", help="one JSON object per account x region")
    parser.add_argument(
        "--stack-set",
        metavar="NAME",
        default=DEFAULT_STACK_SET,
        help=f"StackSet of the member forwarding (default: {DEFAULT_STACK_SET})",
    )
    parser.add_argument(
        "--call-as",
        choices=("SELF", "DELEGATED_ADMIN"),
        default="SELF",
        help="SELF in the management account, DELEGATED_ADMIN in a StackSets delegate",
    )
    parser.add_argument(
        "--region",
        dest="regions",
        action="append",
        metavar="REGION",
        type=_region_argument,
        help="a region that must be covered (repeat; default: every region enabled here)",
    )
    parser.add_argument(
        "--since",
        metavar="T",
        default=DEFAULT_SINCE,
        type=time_argument,
        help=f"stored events from this time: ISO 8601 or 30m/12h/7d (default {DEFAULT_SINCE})",
    )
    parser.add_argument(
        "--name-prefix",
        metavar="PREFIX",
        default=DEFAULT_NAME_PREFIX,
        help="name_prefix of the monitor module: its <prefix>-forward rules cover this account",
    )
    parser.add_argument(
        "--ignore-account",
        dest="ignored",
        action="append",
        default=[],
        metavar="ID",
        help="an account that need not be covered (repeat)",
    )
    return parser


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Assess the coverage, print it, and return the exit status (0 covered, 1 a gap)."""
    del settings  # the command reads AWS and the store only; no setting changes it
    try:
        report = _assess(args)
    except CoverageError as failure:
        error(str(failure))
        return 1
    _print(report, as_json=args.json)
    return 0 if report.complete else 1


def _assess(args: argparse.Namespace) -> CoverageReport:
    import boto3

    session = boto3.Session()
    accounts = [
        account
        for account in read_accounts(session.client("organizations"))
        if account.account_id not in set(args.ignored)
    ]
    regions = args.regions or read_enabled_regions(session.client("ec2"))
    instances = read_stack_instances(
        session.client("cloudformation"), args.stack_set, call_as=args.call_as
    )
    caller = str(session.client("sts").get_caller_identity()["Account"])
    local_paths = read_local_paths(
        {region: session.client("cloudformation", region_name=region) for region in regions},
        {region: session.client("events", region_name=region) for region in regions},
        account_id=caller,
        stack_name=args.stack_set,
        rule_name=f"{args.name_prefix}-forward",
    )
    last_events = {}
    if args.db or args.table:
        store = _open_store(args)
        try:
            last_events = read_last_events(
                store,
                [account.account_id for account in accounts if account.active],
                since=args.since,
                now_epoch=int(time.time()),
            )
        finally:
            store.close()
    return assess(
        accounts,
        regions,
        instances=instances,
        local_paths=local_paths,
        last_events=last_events,
        checked_accounts=[caller],
    )


def _open_store(args: argparse.Namespace) -> ActivityStore:
    if args.table:
        from ..store.dynamodb import DynamoDbStore

        return DynamoDbStore(args.table)
    from ..store.sqlite import SqliteStore

    return SqliteStore(args.db)


def _print(report: CoverageReport, *, as_json: bool) -> None:
    rows = [cell.as_dict() for cell in report.cells]
    if as_json:
        for row in rows:
            print(json.dumps(row))
    else:
        table = [[title for _, title in _COLUMNS]]
        table += [[_cell(row[key]) for key, _ in _COLUMNS] for row in rows]
        widths = [max(len(line[i]) for line in table) for i in range(len(_COLUMNS))]
        for line in table:
            print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())
    accounts = {cell.account.account_id for cell in report.cells}
    regions = {cell.region for cell in report.cells}
    gaps = report.gaps
    print(
        f"{len(report.cells) - len(gaps):,} of {len(report.cells):,} account-regions covered "
        f"({len(accounts):,} active accounts x {len(regions):,} regions)",
        file=sys.stderr,
    )
    for cell in gaps:
        print(
            f"NOT COVERED: {cell.account.account_id} ({safe(cell.account.name)}) "
            f"{cell.region}: {cell.path.status}"
            + (f" ({safe(cell.path.detail)})" if cell.path.detail else ""),
            file=sys.stderr,
        )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return safe(str(value))[:64]


def _region_argument(value: str) -> str:
    if not _REGION.fullmatch(value):
        raise argparse.ArgumentTypeError(f"not a region name: {value!r}")
    return value
