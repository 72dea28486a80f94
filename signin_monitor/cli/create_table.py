"""``signin-monitor create-table``: the DynamoDB table as Terraform defines it (local/moto)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..config import Settings
from .common import ExitStatus

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``create-table`` to the subcommands of the ``signin-monitor`` parser."""
    create: argparse.ArgumentParser = commands.add_parser(
        "create-table",
        help="create the DynamoDB table with its indexes and TTL (for local DynamoDB or moto)",
        description="Create the activity table exactly as the Terraform module defines it.",
        epilog="Example: AWS_ENDPOINT_URL=http://127.0.0.1:8000 signin-monitor create-table "
        "--table signin-activity",
    )
    create.add_argument("--table", metavar="NAME", required=True, help="table name")
    return create


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Create the table (or say it already exists)."""
    import boto3

    from ..store.dynamodb_admin import create_table

    result = create_table(boto3.client("dynamodb"), args.table)
    print(f"table {args.table}: {result}", file=sys.stderr)
    return ExitStatus.OK
