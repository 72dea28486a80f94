"""Structured logs: one JSON object per line, with per-event keys added and cleared per event.

Shaped like AWS Lambda Powertools' logger (``level``, ``location``, ``message``, ``timestamp``,
``service`` and appended keys) without its import cost. The HTTP libraries' own loggers are
quieted and redacted in every entry point: httpx logs each request line, the secret webhook
URL included, at INFO.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Final

__all__ = ["JsonFormatter", "configure_logging", "event_keys", "quiet_http_logs", "redact_urls"]

SERVICE: Final = "signin-monitor"
_keys: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "signin_monitor_log_keys", default=None
)
_RESERVED: Final = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
#: Loggers of the HTTP stack; their records can quote a request URL (the webhook secret), and
#: botocore's DEBUG lines quote whole responses (the SSM parameter's decrypted value).
HTTP_LOGGERS: Final = (
    "botocore",
    "boto3",
    "urllib3",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]*")


def redact_urls(text: str) -> str:
    """``text`` with every URL replaced by ``<url redacted>``."""
    return _URL.sub("<url redacted>", text)


class _RedactUrls(logging.Filter):
    """Rewrites a record's message with its URLs redacted (and drops its arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_urls(record.getMessage())
        record.args = None
        return True


def quiet_http_logs() -> None:
    """httpx and httpcore log at WARNING at most, their URLs redacted, whatever the root level.

    Called by every entry point (handler, command line): httpx logs each request line, URL
    included, at INFO, and Lambda's application log level INFO would ship it to CloudWatch.
    """
    for name in HTTP_LOGGERS:
        http_logger = logging.getLogger(name)
        if http_logger.level == logging.NOTSET or http_logger.level < logging.WARNING:
            http_logger.setLevel(logging.WARNING)
        if not any(isinstance(f, _RedactUrls) for f in http_logger.filters):
            http_logger.addFilter(_RedactUrls())


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line with the current event's keys."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record; extra attributes and context keys become top-level keys."""
        entry: dict[str, Any] = {
            "level": record.levelname,
            "location": f"{record.funcName}:{record.lineno}",
            "message": record.getMessage(),
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "service": SERVICE,
        }
        entry.update(_keys.get() or {})
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (it may be replaced after configuration)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: int | str = logging.INFO) -> None:
    """Send this package's logs to stderr as JSON (Lambda ships stderr to CloudWatch)."""
    quiet_http_logs()
    package_logger = logging.getLogger("signin_monitor")
    package_logger.setLevel(level)
    if not any(isinstance(h, _StderrHandler) for h in package_logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(JsonFormatter())
        package_logger.addHandler(handler)
    package_logger.propagate = False


def event_keys(**keys: Any) -> _EventKeys:
    """Add keys to every log line inside the block (``with event_keys(...) as keys``); the
    dict may be extended in the block."""
    return _EventKeys(keys)


class _EventKeys:
    """``event_keys``' block: a plain class, not ``contextlib.contextmanager``, whose
    generator machinery cost several times the block's own work (replay enters two blocks
    per alert it delivers)."""

    __slots__ = ("_keys", "_token")

    def __init__(self, keys: dict[str, Any]) -> None:
        self._keys = keys
        self._token: contextvars.Token[dict[str, Any] | None] | None = None

    def __enter__(self) -> dict[str, Any]:
        current = dict(_keys.get() or {})
        current.update(self._keys)
        self._token = _keys.set(current)
        return current

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            _keys.reset(self._token)
            self._token = None
