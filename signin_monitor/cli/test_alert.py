"""``signin-monitor test-alert``: one sample alert to the configured webhook (or printed)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from ..alerts import Alert, Severity
from ..app import CollectingNotifier, build_notifier
from ..config import Settings
from ..errors import SlackError
from ..events import format_time, parse_record
from ..routing import RoutedNotifier
from ..slack import Notifier, render
from ..terminal import error, safe
from .common import ExitStatus

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``test-alert`` to the subcommands of the ``signin-monitor`` parser."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "test-alert",
        help="send one sample alert to the configured Slack webhook",
        description=(
            "Render a sample root sign-in alert and post it to SLACK_WEBHOOK_URL or the SSM "
            "parameter named by SLACK_WEBHOOK_PARAMETER; with neither, print the payload. With "
            "a routing document (ROUTING_FILE or ROUTING_PARAMETER), post it once to every "
            "destination, or only to --destination."
        ),
        epilog="Example: SLACK_WEBHOOK_URL=https://hooks.slack.com/... signin-monitor test-alert",
    )
    parser.add_argument(
        "--destination",
        metavar="NAME",
        help="with a routing document: post only to this destination ('webhook': today's "
        "one), e.g. ROUTING_FILE=routing.json signin-monitor test-alert --destination paging",
    )
    return parser


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Render a sample root sign-in alert and post (or print) it."""
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
    if isinstance(notifier, RoutedNotifier):
        return _post_routed(notifier, payload, args.destination)
    if args.destination is not None:
        error("--destination needs a routing document: set ROUTING_FILE or ROUTING_PARAMETER")
        return ExitStatus.USAGE
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


def _post_routed(notifier: RoutedNotifier, payload: dict[str, Any], only: str | None) -> int:
    """One test message to each destination (or to ``only``), a line on stderr for each."""
    names = list(notifier.notifiers) if only is None else [only]
    if only is not None and notifier.notifier_for(only) is None:
        known = ", ".join(notifier.notifiers) or "none"
        error(f"--destination {safe(only)}: not in the routing document (known: {known})")
        return ExitStatus.USAGE
    code = ExitStatus.OK
    for name in names:
        target = notifier.notifier_for(name)
        if target is None:
            continue
        try:
            target.send(payload)
        except SlackError as failure:
            error(f"test alert not posted to destination {name}: {failure}")
            code = ExitStatus.ERROR
            continue
        print(f"test alert posted to Slack destination {name}", file=sys.stderr)
    return code
