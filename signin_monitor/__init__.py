"""signin-monitor: alert on risky AWS console sign-ins and keep every sign-in for audits."""

from __future__ import annotations

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
from .events import CloudTrailRecord, SignInEvent, parse_eventbridge, parse_record

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
