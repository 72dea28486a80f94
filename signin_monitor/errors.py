"""Exceptions raised by signin-monitor.

The tree::

    SigninMonitorError
    ├── ConfigError               a setting is missing or has a bad value (stops start-up)
    │   └── RoutingError          the routing document is invalid: names the route or destination
    ├── OutputClosedError         stdout is closed or full: the command stops, alert left pending
    ├── InvalidSuppressionError   a suppression's rule, scope, reason or period is not acceptable
    ├── MalformedRecordError      one input record cannot be understood (that record is skipped)
    │   ├── NotSignInEventError   a record no EventBridge pattern matches: not monitored (ignored)
    │   ├── UnstorableRecordError a parsed event no store accepts (too large, bad text): dropped
    │   └── SkippedFileError      a path in a folder that is no readable file (reported, exit 1)
    ├── StoreError                the activity store failed
    │   └── StoreRetryableError   a transient store failure (throttling): retry the event
    └── SlackError
        ├── SlackRetryableError   network error, 429 or 5xx: raise so the event is retried
        └── SlackPermanentError   400/403/404/410: log, mark the alert failed, do not retry

No message ever contains the Slack webhook URL: it is a secret.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigError",
    "InvalidSuppressionError",
    "MalformedRecordError",
    "NotSignInEventError",
    "OutputClosedError",
    "RoutingError",
    "SigninMonitorError",
    "SkippedFileError",
    "SlackError",
    "SlackPermanentError",
    "SlackRetryableError",
    "StoreError",
    "StoreRetryableError",
    "UnstorableRecordError",
]


class SigninMonitorError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(SigninMonitorError):
    """An environment variable is missing or holds a value we cannot use."""

    def __init__(self, variable: str, value: str | None, accepted: str) -> None:
        shown = "(not set)" if value is None else repr(value)
        super().__init__(f"{variable}={shown} is not valid: expected {accepted}")
        self.variable = variable
        self.value = value
        self.accepted = accepted


class RoutingError(ConfigError):
    """The routing document is invalid; the message names where (route, destination) and what
    is accepted, never a webhook URL.

    ``variable`` is the setting that holds the document (``ROUTING_PARAMETER`` or
    ``ROUTING_FILE``); ``where`` is, for example, ``route 2`` or ``destination "paging"``.
    """

    def __init__(self, variable: str, where: str, problem: str) -> None:
        SigninMonitorError.__init__(
            self, f"{variable}: {where}: {problem}" if where else f"{variable}: {problem}"
        )
        self.variable = variable
        self.value = None
        self.accepted = problem
        self.where = where


class MalformedRecordError(SigninMonitorError):
    """One record could not be parsed; it names where it came from so a user can find it."""

    def __init__(self, reason: str, *, source: str = "<event>", position: str = "") -> None:
        where = f"{source}: {position}" if position else source
        super().__init__(f"{where}: {reason}")
        self.reason = reason
        self.source = source
        self.position = position

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as its parts, so it unpickles saying what it said (replay's reader process
        hands these over; the default would rebuild it from its message as a ``reason``)."""
        return (_rebuilt_malformed, (type(self), self.reason, self.source, self.position))


def _rebuilt_malformed(
    kind: type[MalformedRecordError], reason: str, source: str, position: str
) -> MalformedRecordError:
    return kind(reason, source=source, position=position)


class NotSignInEventError(MalformedRecordError):
    """A record no pattern of ``terraform/patterns`` matches: not monitored, not ours to store.

    Raised before validation (design §3.1), so it says nothing of the record's other fields.
    """


class SkippedFileError(MalformedRecordError):
    """A path that could not be read as a file: a dangling or looping symlink, a FIFO, a
    folder symlink (not followed) or a folder the OS refused to list. It holds no records."""


class StoreError(SigninMonitorError):
    """The activity store failed in a way a retry will not fix."""


class StoreRetryableError(StoreError):
    """The activity store failed transiently (throttling, timeout): retrying the event is safe."""


class SlackError(SigninMonitorError):
    """Posting to Slack failed."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class SlackRetryableError(SlackError):
    """A network error, 429 or 5xx: the post may succeed later (``retry_after`` in seconds)."""

    def __init__(
        self, message: str, *, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class SlackPermanentError(SlackError):
    """Slack refused the message for good (bad payload, hook revoked, channel archived)."""


class UnstorableRecordError(MalformedRecordError):
    """A parsed event the store refuses for good (item or key too large, text it cannot encode).

    A retry cannot fix it, so it is reported and dropped like a malformed record, never retried;
    it is not a ``StoreError`` (the store is healthy), so a store-error alarm stays quiet.
    """


class OutputClosedError(SigninMonitorError):
    """Standard output is closed (a pipe's reader left) or full: a printed alert did not land."""


class InvalidSuppressionError(SigninMonitorError):
    """A suppression cannot be made (or a stored one read) as given; ``field`` names what is wrong.

    ``field`` is the command-line spelling (``--until``, ``--source-ip``, ...), so the command
    can show it as a usage error.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
