"""``signin-monitor suppress add | list | remove``: silence a planned alert for a stated period.

A suppression has an owner (``--by``), a reason and an end: ``--until`` is required and the
period is at most 90 days unless ``--no-expiry-limit`` is given. It covers the alerts whose
event time lies in ``[--from, --until)``, so a replay of old logs meets the suppressions of
its time. Times are ISO 8601, or relative to now: ``2h`` and ``+2h`` are two hours from now,
``-2h`` two hours ago (``history``'s ``--since 2h`` means ago; a suppression's end lies ahead).
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from ..config import ALL_RULE_IDS, Settings
from ..errors import InvalidSuppressionError
from ..events import format_time
from ..suppressions import ALL_RULES, MAX_PERIOD, Suppression, SuppressionKeeper, new_suppression
from ..terminal import error, safe, time_argument
from .common import ExitStatus, open_store, store_options, write_line

__all__ = ["add_parser", "moment_argument", "run"]

_RELATIVE: Final = re.compile(r"([+-]?)(\d+)([mhd])")
_UNITS: Final = {"m": "minutes", "h": "hours", "d": "days"}
#: Attempts at a fresh random id before giving up (a clash of 32 random bits is rare).
_ID_ATTEMPTS: Final = 3


def moment_argument(text: str) -> datetime:
    """A suppression's time: ISO 8601, or ``2h``/``+2h`` from now and ``-2h`` ago (m, h, d)."""
    match = _RELATIVE.fullmatch(text.strip())
    if match:
        sign, amount, unit = match.groups()
        offset = timedelta(**{_UNITS[unit]: int(amount)})
        return datetime.now(UTC) + (-offset if sign == "-" else offset)
    try:
        return time_argument(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: use 2026-11-01T08:00:00Z, 2h or +2h (from now), -30m (ago)"
        ) from None


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``suppress`` (with ``add``, ``list``, ``remove``) to the ``signin-monitor`` parser."""
    suppress: argparse.ArgumentParser = commands.add_parser(
        "suppress",
        help="silence a planned alert for a while: add, list or remove suppressions",
        description=(
            "Suppressions keep a planned alert (a break-glass root login) from being posted: "
            "the alert is still stored, counted and claimed, and its claim is marked suppressed "
            "with the suppression's id. Each has a rule (or all), a scope (principal, source "
            "CIDR and/or account: all given must match), a reason, an author and an end."
        ),
        epilog=(
            "Example: signin-monitor suppress add --rule root-sign-in --principal root "
            "--account 111122223333 --until 2h --reason 'planned break-glass test, CHG-1234'"
        ),
    )
    actions = suppress.add_subparsers(
        dest="action", required=True, metavar="ACTION", help="add, list or remove"
    )
    add = actions.add_parser(
        "add",
        help="add a suppression",
        description=(
            f"Add a suppression for [--from, --until). --from defaults to now; the period may "
            f"lie in the past (for a replay of old logs) and is at most {MAX_PERIOD.days} days "
            "unless --no-expiry-limit. Times: ISO 8601, 2h or +2h from now, -30m ago."
        ),
        epilog="Example: signin-monitor suppress add --rule all --source-ip 203.0.113.0/24 "
        "--until 2026-12-01T18:00:00Z --reason 'pen test' --by alice",
    )
    store_options(add)
    add.add_argument(
        "--rule",
        required=True,
        metavar="ID",
        help=f"the rule id to suppress, or {ALL_RULES} (rules: {', '.join(ALL_RULE_IDS)})",
    )
    add.add_argument("--principal", metavar="P", help="only this principal (user name, or root)")
    add.add_argument(
        "--source-ip", metavar="CIDR", help="only sign-ins from this address or network"
    )
    add.add_argument("--account", metavar="ID", help="only this 12-digit account id")
    add.add_argument(
        "--from", dest="valid_from", metavar="T", type=moment_argument, help="start (default: now)"
    )
    add.add_argument(
        "--until", required=True, metavar="T", type=moment_argument, help="end (excluded)"
    )
    add.add_argument("--reason", required=True, metavar="TEXT", help="why (shown with it)")
    add.add_argument(
        "--by", metavar="NAME", help="who asks for it (default: your login name, $USER)"
    )
    add.add_argument(
        "--no-expiry-limit",
        action="store_true",
        help=f"allow a period longer than {MAX_PERIOD.days} days",
    )
    listing = actions.add_parser(
        "list",
        help="list suppressions, active and expired",
        description="List every stored suppression with its state: active, scheduled or expired.",
        epilog="Example: signin-monitor suppress list --json",
    )
    store_options(listing)
    listing.add_argument("--json", action="store_true", help="one JSON object per suppression")
    remove = actions.add_parser(
        "remove",
        help="remove a suppression",
        description="Delete a suppression: alerts it covered are posted again from then on.",
        epilog="Example: signin-monitor suppress remove sup-1a2b3c4d",
    )
    store_options(remove)
    remove.add_argument("id", metavar="ID", help="the suppression's id (sup-...)")
    return suppress


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the chosen action on the store the options name."""
    store = open_store(args, settings)
    try:
        if not isinstance(store, SuppressionKeeper):  # pragma: no cover - both stores are
            error("this store keeps no suppressions")
            return ExitStatus.USAGE
        if args.action == "add":
            return _add(args, settings, store)
        if args.action == "list":
            return _list(args, store)
        return _remove(args, store)
    finally:
        store.close()


def _add(args: argparse.Namespace, settings: Settings, store: SuppressionKeeper) -> int:
    now = datetime.now(UTC)
    for _ in range(_ID_ATTEMPTS):
        try:
            suppression = new_suppression(
                rule=args.rule,
                principal=args.principal,
                source_cidr=args.source_ip,
                account_id=args.account,
                valid_from=args.valid_from,
                until=args.until,
                reason=args.reason,
                author=args.by if args.by is not None else _login_name(),
                now=now,
                no_expiry_limit=args.no_expiry_limit,
            )
        except InvalidSuppressionError as invalid:
            error(safe(str(invalid)))
            return ExitStatus.USAGE
        if store.add_suppression(suppression, expires_at=_expires_at(suppression, settings)):
            write_line(suppression.id)
            print(f"stored: {_readable(suppression, now)}", file=sys.stderr)
            return ExitStatus.OK
    error("could not find a free suppression id: try again")
    return ExitStatus.ERROR


def _list(args: argparse.Namespace, store: SuppressionKeeper) -> int:
    now = datetime.now(UTC)
    found = store.suppressions()
    for suppression in found:
        if args.json:
            write_line(json.dumps(_row(suppression, now)))
        else:
            write_line(_readable(suppression, now))
    active = sum(1 for s in found if s.state(now) == "active")
    print(f"{len(found):,} suppressions ({active:,} active)", file=sys.stderr)
    return ExitStatus.OK


def _remove(args: argparse.Namespace, store: SuppressionKeeper) -> int:
    if not store.remove_suppression(args.id):
        error(f"no suppression {safe(args.id)}")
        return ExitStatus.ERROR
    print(f"removed {safe(args.id)}", file=sys.stderr)
    return ExitStatus.OK


def _row(suppression: Suppression, now: datetime) -> dict[str, Any]:
    """The ``--json`` object of one suppression (raw text: JSON escapes it)."""
    return {
        "id": suppression.id,
        "state": suppression.state(now),
        "rule": suppression.rule,
        "principal": suppression.principal,
        "source_ip": suppression.source_cidr,
        "account_id": suppression.account_id,
        "from": format_time(suppression.valid_from),
        "until": format_time(suppression.until),
        "reason": suppression.reason,
        "by": suppression.author,
        "created": format_time(suppression.created),
    }


def _readable(suppression: Suppression, now: datetime) -> str:
    """One line, every stored text escaped (reason and author are whatever was typed)."""
    return (
        f"{suppression.id}  {suppression.state(now):<9}  rule {safe(suppression.rule)}"
        f"  {safe(suppression.scope_text)}  from {format_time(suppression.valid_from)}"
        f"  until {format_time(suppression.until)}  by {safe(suppression.author)}"
        f"  reason {safe(suppression.reason)}"
    )


def _expires_at(suppression: Suppression, settings: Settings) -> int | None:
    """TTL: the end of the period plus the retention (kept as long as the events it covers)."""
    if settings.retention is None:
        return None
    return int((suppression.until + settings.retention).timestamp())


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no $USER/$LOGNAME and no passwd entry (a bare container)
        return "unknown"
