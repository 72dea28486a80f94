"""signin-monitor: alert on risky AWS console sign-ins and keep every sign-in for audits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .alerts import Alert, Severity
from .config import Settings
from .errors import (
    ConfigError,
    MalformedRecordError,
    SigninMonitorError,
    SlackError,
    SlackPermanentError,
    SlackRetryableError,
    StoreError,
    StoreRetryableError,
)
from .events import SignInEvent, parse_eventbridge, parse_record

if TYPE_CHECKING:
    from .record_models import CloudTrailRecord

__version__ = "0.1.0"

__all__ = [
    "Alert",
    "CloudTrailRecord",
    "ConfigError",
    "MalformedRecordError",
    "Settings",
    "Severity",
    "SignInEvent",
    "SigninMonitorError",
    "SlackError",
    "SlackPermanentError",
    "SlackRetryableError",
    "StoreError",
    "StoreRetryableError",
    "__version__",
    "parse_eventbridge",
    "parse_record",
]


def __getattr__(name: str) -> Any:
    """``CloudTrailRecord`` on first use: importing pydantic is left to what validates."""
    if name == "CloudTrailRecord":
        from .record_models import CloudTrailRecord

        return CloudTrailRecord
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
