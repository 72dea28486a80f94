"""``signin-monitor resend``: post, once each, the alerts Slack refused for good."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import typing
from typing import Any

from ..app import CollectingNotifier, build_notifier
from ..config import Settings
from ..events import format_time
from ..resend import ResendStatus, ResendStore, resend_undelivered
from ..terminal import error, safe
from .common import ExitStatus, delivery_lock, open_store, store_options, write_line

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``resend`` to the subcommands of the ``signin-monitor`` parser."""
    resend: argparse.ArgumentParser = commands.add_parser(
        "resend",
        help="post, once, the alerts whose delivery Slack refused, after the hook is fixed",
        description=(
            "Post every alert whose delivery failed for good (a revoked hook, an archived "
            "channel) to the configured webhook, oldest first, each once: the exact message "
            "that failed. Alerts that fail again stay listed for the next resend. With a "
            "routing document (ROUTING_FILE or ROUTING_PARAMETER), each alert goes to the "
            "destination that refused it, and only there."
        ),
        epilog="Example: SLACK_WEBHOOK_URL=https://hooks.slack.com/... signin-monitor resend "
        "--db /tmp/audit.db",
    )
    store_options(resend)
    resend.add_argument("--json", action="store_true", help="one JSON object per alert posted")
    return resend


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Re-post every undelivered alert under the delivery lock; exit 1 if any still fails."""
    routed = settings.routing_file is not None or settings.routing_parameter is not None
    if not settings.webhook_configured and not routed:
        error(
            "resend posts to Slack: set SLACK_WEBHOOK_URL or SLACK_WEBHOOK_PARAMETER "
            "(or a routing document: ROUTING_FILE or ROUTING_PARAMETER)"
        )
        return ExitStatus.USAGE
    notifier = build_notifier(settings, fallback=CollectingNotifier())
    counts = dict.fromkeys(ResendStatus, 0)
    with contextlib.ExitStack() as stack:
        stack.enter_context(delivery_lock(args))
        store = open_store(args, settings)
        stack.callback(store.close)
        if not hasattr(store, "undelivered_alerts"):
            error("this store does not keep undelivered alerts")
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
                    "destination": result.destination,
                    "slack": alert.payload,
                }
                write_line(json.dumps(line))
            else:
                reason = f"  ({safe(result.reason)})" if result.reason else ""
                to = f"  to {safe(result.destination)}" if result.destination else ""
                write_line(
                    f"{format_time(alert.event_time)}  {result.status.value:<8}"
                    f"  {alert.rule_id:<24}  event {safe(alert.event_id)}{to}{reason}"
                )
    total = sum(counts.values())
    print(
        f"{total:,} undelivered alerts: {counts[ResendStatus.SENT]:,} posted, "
        f"{counts[ResendStatus.FAILED]:,} still failing, "
        f"{counts[ResendStatus.TAKEN]:,} taken by another resend",
        file=sys.stderr,
    )
    return ExitStatus.ERROR if counts[ResendStatus.FAILED] else ExitStatus.OK
