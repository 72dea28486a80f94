"""One stored event as a flat row: the fields ``history --json`` prints and the audit report's
files carry, defined once so both always agree."""

from __future__ import annotations

from typing import Any

from .events import SignInEvent

__all__ = ["event_row"]


def event_row(event: SignInEvent, *, account_name: str | None = None) -> dict[str, Any]:
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
