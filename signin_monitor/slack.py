"""Slack: render an alert as Block Kit (pure), and post it to an incoming webhook with httpx.

Every value taken from an event is attacker-controlled (the user name of a failed sign-in is
whatever was typed), so each one is escaped (``&`` ``<`` ``>``, in that order), stripped of
line breaks and backticks, truncated, and shown inside inline code, where Slack neither links
nor mentions. httpx is imported only when a message is actually posted (cold start).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import quote

from .alerts import Alert, Severity
from .errors import SlackPermanentError, SlackRetryableError

if TYPE_CHECKING:
    import httpx

__all__ = [
    "Notifier",
    "SlackWebhookNotifier",
    "escape",
    "render",
]

logger = logging.getLogger(__name__)

HEADER_LIMIT: Final = 150
FIELD_LIMIT: Final = 2000
TEXT_LIMIT: Final = 3000
USER_AGENT_LIMIT: Final = 200
VALUE_LIMIT: Final = 300
# Controls, line separators and bidirectional overrides (which can make text read backwards).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]+")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_EMOJI: Final = {Severity.CRITICAL: ":rotating_light:", Severity.HIGH: ":warning:"}


class Notifier(Protocol):
    """Where rendered alerts go: a Slack webhook, or standard output / the log when none is set."""

    def send(self, payload: dict[str, Any]) -> None:
        """Deliver one message; raise SlackRetryableError or SlackPermanentError on failure."""
        ...


def escape(value: object, *, limit: int = VALUE_LIMIT) -> str:
    """Make event text inert for Slack mrkdwn: no mentions, no links, no formatting breakout."""
    text = _CONTROL.sub(" ", str(value)).replace("`", "'")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code(value: object, *, limit: int = VALUE_LIMIT) -> str:
    text = escape(value, limit=limit)
    return f"`{text}`" if text.strip() else "_(empty)_"


def _console_url(alert: Alert) -> str:
    event = alert.event
    region = event.region if _REGION.match(event.region) else "us-east-1"
    return (
        f"https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}"
        f"#/events/{quote(event.event_id, safe='')}"
    )


def _mfa_text(mfa_used: bool | None) -> str:
    return {True: "yes", False: "NO", None: "unknown"}[mfa_used]


def render(alert: Alert) -> dict[str, Any]:
    """The Block Kit payload for one alert (also what ``replay --json`` prints as ``slack``)."""
    event = alert.event
    emoji = _EMOJI.get(alert.severity, ":information_source:")
    header = f"{alert.title} in AWS account {escape(event.account_id, limit=32)}"
    principal = event.principal
    if event.identity_type not in ("IAMUser", "Root"):
        principal = f"{principal} ({event.identity_type})"
    result: str = event.result or "unknown"
    if event.result == "Failure" and event.error_message:
        result = f"{result}: {event.error_message}"
    fields = [
        ("Account", _code(event.account_id)),
        ("Principal", _code(principal)),
        ("Result", _code(result)),
        ("MFA used", _code(_mfa_text(event.mfa_used))),
        ("Source IP", _code(event.source_ip)),
        ("Region", _code(event.region)),
        ("Time (UTC)", _code(event.time_text)),
        ("User agent", _code(event.user_agent, limit=USER_AGENT_LIMIT)),
        ("Event ID", _code(event.event_id)),
    ]
    if alert.failure_count is not None and alert.window is not None:
        minutes = int(alert.window.total_seconds() // 60)
        fields.append(("Failures", f"{alert.failure_count} in the last {minutes} min"))
    text = (
        f"{alert.severity.value.upper()}: {alert.title} in AWS account "
        f"{escape(event.account_id, limit=32)} by {escape(principal, limit=100)} "
        f"from {escape(event.source_ip, limit=64)} at {event.time_text}"
    )
    return {
        "text": text[:TEXT_LIMIT],
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": f"{header}"[:HEADER_LIMIT], "emoji": True},
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"{emoji} *{alert.severity.value}* · rule `{alert.rule_id}`",
                    }
                ],
            },
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{name}*\n{value}"[:FIELD_LIMIT]}
                    for name, value in fields[:10]
                ],
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in CloudTrail"},
                        "url": _console_url(alert),
                    }
                ],
            },
        ],
    }


@dataclass
class SlackWebhookNotifier:
    """Posts to a Slack incoming webhook: retries network errors, 5xx and 429 (``Retry-After``).

    After ``attempts`` tries the post raises ``SlackRetryableError`` so the caller (Lambda) can
    retry the event later; 400/401/403/404/410 raise ``SlackPermanentError`` at once. Posts are
    spaced ``min_interval`` seconds apart (Slack allows about one message a second).
    The webhook URL comes from ``url_provider`` (cached by it) and never appears in errors or logs.
    """

    url_provider: Callable[[], str]
    attempts: int = 3
    timeout: float = 10.0
    min_interval: float = 1.0
    max_retry_after: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    transport: httpx.BaseTransport | None = None
    on_hook_gone: Callable[[], None] | None = None
    _client: httpx.Client | None = field(default=None, init=False, repr=False)
    _last_post: float | None = field(default=None, init=False, repr=False)

    def send(self, payload: dict[str, Any]) -> None:
        """Post one message, retrying transient failures a few times.

        When Slack says the hook is gone (404/410) and the URL can be re-read (SSM), the URL is
        read again and, if it changed (rotation), the message is posted once more.
        """
        url = self.url_provider()
        try:
            self._send_to(url, payload)
        except SlackPermanentError as error:
            if error.status_code not in (404, 410) or self.on_hook_gone is None:
                raise
            self.on_hook_gone()
            fresh = self.url_provider()
            if fresh == url:
                raise
            logger.warning("Slack webhook was rotated; posting to the new one")
            self._send_to(fresh, payload)

    def _send_to(self, url: str, payload: dict[str, Any]) -> None:
        delay = 1.0
        for attempt in range(1, self.attempts + 1):
            try:
                self._post_once(url, payload)
                return
            except SlackRetryableError as error:
                if attempt == self.attempts:
                    raise
                wait = delay if error.retry_after is None else error.retry_after
                logger.warning(
                    "slack post failed, retrying",
                    extra={"status_code": error.status_code, "attempt": attempt, "wait_s": wait},
                )
                self.sleep(min(wait, self.max_retry_after))
                delay *= 2

    def _post_once(self, url: str, payload: dict[str, Any]) -> None:
        import httpx

        self._pace()
        client = self._http()
        try:
            response = client.post(url, json=payload)
        except httpx.HTTPError as error:
            # The exception text can hold the URL: report only its type.
            raise SlackRetryableError(
                f"network error posting to Slack ({type(error).__name__})"
            ) from None
        finally:
            self._last_post = self.monotonic()
        status = response.status_code
        body = _CONTROL.sub(" ", response.text[:200])
        if status == 200:
            return
        if status == 429 or status >= 500:
            raise SlackRetryableError(
                f"Slack answered {status} {body}",
                status_code=status,
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
        if 400 <= status < 500:
            raise SlackPermanentError(
                f"Slack refused the message: {status} {body}", status_code=status
            )
        raise SlackRetryableError(f"unexpected Slack status {status}", status_code=status)

    def _pace(self) -> None:
        if self._last_post is None:
            return
        waited = self.monotonic() - self._last_post
        if waited < self.min_interval:
            self.sleep(self.min_interval - waited)

    def _http(self) -> httpx.Client:
        if self._client is None:
            import httpx

            self._client = httpx.Client(
                timeout=self.timeout, transport=self.transport, follow_redirects=False
            )
        return self._client

    def close(self) -> None:
        """Close the HTTP connection pool."""
        if self._client is not None:
            self._client.close()
            self._client = None


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0)
