"""Slack: render an alert as Block Kit (pure), and post it to an incoming webhook with httpx.

Every value taken from an event is attacker-controlled (the user name of a failed sign-in is
whatever was typed), so each one is escaped (``&`` ``<`` ``>``, in that order), stripped of
line breaks and backticks, shown with its invisible characters made visible (``ad\\u200bmin``
never displays as ``admin``), truncated, and shown inside inline code, where Slack neither
links nor mentions. The ``text`` fallback follows the same rule, and no payload unfurls links.

Each send has a total deadline (the Lambda's remaining time, or a fixed budget on the command
line): attempts, ``Retry-After`` waits and every socket read end by it, so the caller can still
release its claim. httpx is imported only when a message is actually posted (cold start).
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import quote

from .accounts import label
from .alerts import Alert, Severity
from .errors import SlackPermanentError, SlackRetryableError
from .events import SignInEvent

if TYPE_CHECKING:
    import httpx

    from .http_deadline import DeadlineTransport

__all__ = [
    "DEFAULT_SEND_BUDGET_SECONDS",
    "Notifier",
    "SlackWebhookNotifier",
    "escape",
    "render",
    "visible",
]

logger = logging.getLogger(__name__)

HEADER_LIMIT: Final = 150
FIELD_LIMIT: Final = 2000
TEXT_LIMIT: Final = 3000
USER_AGENT_LIMIT: Final = 200
VALUE_LIMIT: Final = 300
# Controls, line separators and bidirectional overrides (which can make text read backwards).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]+")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")  # used with fullmatch: no trailing newline
_NOT_PLAIN_ASCII = re.compile(r"[^\x20-\x7e]")
#: Text ``escape`` leaves as it is: printable ASCII without a backtick or ``&<>`` (nearly every
#: value of an alert: a render escapes about fifteen of them).
_INERT: Final = re.compile(r"[\x20-\x25\x27-\x3b=\x3f-\x5f\x61-\x7e]*")
#: Characters that display as nothing although they are there (Hangul fillers are letters).
_INVISIBLE_LETTERS: Final = frozenset("\u115f\u1160\u3164\uffa0")
#: Without a deadline from the caller, one send (all attempts and waits) ends within this.
DEFAULT_SEND_BUDGET_SECONDS: Final = 25.0
#: An attempt is not started with less time than this left (it could not complete).
MIN_ATTEMPT_SECONDS: Final = 0.5
#: Slack's documented webhook error codes: the only response text ever quoted in an error
#: (any other body, a proxy's 404 page echoing the secret path for one, is not shown).
_SLACK_ERROR_CODES: Final = frozenset(
    {
        "action_prohibited",
        "channel_is_archived",
        "channel_not_found",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_payload",
        "invalid_token",
        "missing_text_or_fallback_or_attachments",
        "no_active_hooks",
        "no_service",
        "no_service_id",
        "no_team",
        "no_text",
        "posting_to_general_channel_denied",
        "rate_limited",
        "team_disabled",
        "too_many_attachments",
        "user_not_found",
    }
)
_EMOJI: Final = {Severity.CRITICAL: ":rotating_light:", Severity.HIGH: ":warning:"}
#: How many principals a password-spray message lists (the count says how many more).
SPRAY_LIST_LIMIT: Final = 10
#: How many distinct source addresses a sign-in-after-failures message lists.
SOURCE_LIST_LIMIT: Final = 5


class Notifier(Protocol):
    """Where rendered alerts go: a Slack webhook, or standard output / the log when none is set."""

    def send(
        self, payload: dict[str, Any], *, alert: Alert | None = None, deadline: float | None = None
    ) -> None:
        """Deliver one message; raise SlackRetryableError or SlackPermanentError on failure.

        ``alert`` is what ``payload`` renders (a notifier printing alerts needs it);
        ``deadline`` (``time.monotonic()`` seconds) is when the send must have ended.
        """
        ...


def visible(text: str) -> str:
    """``text`` with invisible characters shown as ``\\uNNNN``: format characters (Unicode
    category Cf: zero-width spaces and joiners, word joiner, BOM, bidirectional marks), and
    Hangul fillers. ``ad\\u200bmin`` then reads as it is, never as ``admin``."""

    def show(match: re.Match[str]) -> str:
        char = match.group()
        if unicodedata.category(char) == "Cf" or char in _INVISIBLE_LETTERS:
            return f"\\u{ord(char):04x}"
        return char

    return _NOT_PLAIN_ASCII.sub(show, text)


def escape(value: object, *, limit: int = VALUE_LIMIT) -> str:
    """Make event text inert for Slack mrkdwn: no mentions, no links, no formatting breakout."""
    if value.__class__ is str and len(value) <= limit and _INERT.fullmatch(value):
        return value  # what the general way below gives such text, without its six passes
    return _escaped(str(value), limit)


def _escaped(text: str, limit: int) -> str:
    """``escape``'s general way, for any text."""
    text = visible(_CONTROL.sub(" ", text)).replace("`", "'")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code(value: object, *, limit: int = VALUE_LIMIT) -> str:
    text = escape(value, limit=limit)
    return f"`{text}`" if text.strip() else "_(empty)_"


def _console_url(alert: Alert) -> str:
    return _event_url(alert.event)


def _event_url(event: SignInEvent) -> str:
    region = event.region if _REGION.fullmatch(event.region) else "us-east-1"
    return (
        f"https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}"
        f"#/events/{quote(event.event_id, safe='')}"
    )


def _mfa_text(mfa_used: bool | None) -> str:
    return {True: "yes", False: "NO", None: "unknown"}[mfa_used]


#: An account id (12 digits) and a name of up to 50 characters (AWS's limit), with room to spare.
_ACCOUNT_LIMIT: Final = 80


def render(alert: Alert, *, account_name: str | None = None) -> dict[str, Any]:
    """The Block Kit payload for one alert (also what ``replay --json`` prints as ``slack``).

    ``account_name`` (from AWS Organizations or a static map) is shown beside the account id;
    it is text someone chose, so it is escaped like every event value.
    """
    account = label(alert.event.account_id, account_name)
    if alert.event.is_api_call:
        fields, text = _api_call_fields(alert, account)
        return _payload(alert, account, fields, text)
    event = alert.event
    principal = event.principal
    if event.identity_type not in ("IAMUser", "Root"):
        principal = f"{principal} ({event.identity_type})"
    result: str = event.result or "unknown"
    if event.result == "Failure" and event.error_message:
        result = f"{result}: {event.error_message}"
    fields = [
        ("Account", _code(account, limit=_ACCOUNT_LIMIT)),
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
    # The fallback (notifications, clients without blocks) is fixed text and event values in
    # inline code only: outside code, clients autolink bare domains in a typed user name.
    text = (
        f"{alert.severity.value.upper()}: {alert.title} in AWS account "
        f"{_code(account, limit=_ACCOUNT_LIMIT)} by {_code(principal, limit=100)} "
        f"from {_code(event.source_ip, limit=64)} at {_code(event.time_text, limit=64)}"
    )
    return _payload(alert, account, fields, text)


def _payload(
    alert: Alert, account: str, fields: list[tuple[str, str]], text: str
) -> dict[str, Any]:
    """The Block Kit message: header, severity and rule, the fields, a CloudTrail button."""
    emoji = _EMOJI.get(alert.severity, ":information_source:")
    header = f"{alert.title} in AWS account {escape(account, limit=_ACCOUNT_LIMIT)}"
    return {
        "text": text[:TEXT_LIMIT],
        "unfurl_links": False,
        "unfurl_media": False,
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
            *_correlation_blocks(alert),
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in CloudTrail"},
                        "url": _console_url(alert),
                    },
                    *_correlation_buttons(alert),
                ],
            },
        ],
    }


#: How an ``sts:AssumeRoot`` task session is named: root in use, but on purpose.
ASSUMED_ROOT_NOTE: Final = "sts:AssumeRoot task session (centralized root access)"


def _api_call_fields(alert: Alert, account: str) -> tuple[list[tuple[str, str]], str]:
    """The fields and fallback text of an API-call alert (design §3.1): the call, the caller,
    where from. Request parameters are attacker-controlled like every event value: inline
    code, escaped, truncated."""
    event = alert.event
    caller = event.principal
    if event.assumed_root:
        caller = f"{caller} ({ASSUMED_ROOT_NOTE})"
    elif event.identity_type not in ("IAMUser", "Root"):
        caller = f"{caller} ({event.identity_type})"
    read_only = {True: "yes", False: "no", None: "unknown"}[event.read_only]
    result = "Success" if event.error_code is None else f"Failed: {event.error_code}"
    fields = [
        ("Account", _code(account, limit=_ACCOUNT_LIMIT)),
        ("Caller", _code(caller)),
        ("Call", f"{_code(event.event_source, limit=100)} {_code(event.event_name, limit=100)}"),
        ("Read-only", _code(read_only)),
        ("Result", _code(result)),
        ("Source IP", _code(event.source_ip)),
        ("Region", _code(event.region)),
        ("Time (UTC)", _code(event.time_text)),
    ]
    if event.request_user_name is not None:
        fields.append(("Target user", _code(event.request_user_name)))
    else:
        fields.append(("User agent", _code(event.user_agent, limit=USER_AGENT_LIMIT)))
    fields.append(("Event ID", _code(event.event_id)))
    text = (
        f"{alert.severity.value.upper()}: {alert.title} in AWS account "
        f"{_code(account, limit=_ACCOUNT_LIMIT)}: {_code(event.event_name, limit=64)} by "
        f"{_code(caller, limit=100)} from {_code(event.source_ip, limit=64)} at "
        f"{_code(event.time_text, limit=64)}"
    )
    return fields, text


def _correlation_blocks(alert: Alert) -> list[dict[str, Any]]:
    """The history a correlation rule (design §3.2) saw, as one section; none for other rules."""
    texts = {
        "sign-in-after-failures": _after_failures_text,
        "password-spray": _spray_text,
        "new-source-network": _new_network_text,
    }
    render_text = texts.get(alert.rule_id)
    if render_text is None or not alert.evidence:
        return []
    text = render_text(alert)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text[:TEXT_LIMIT]}}]


def _after_failures_text(alert: Alert) -> str:
    """How many failures preceded the success, from which addresses, since when."""
    failures = alert.evidence
    sources = list(dict.fromkeys(f.source_ip for f in failures))
    shown = ", ".join(_code(ip, limit=64) for ip in sources[:SOURCE_LIST_LIMIT])
    if len(sources) > SOURCE_LIST_LIMIT:
        shown += f" and {len(sources) - SOURCE_LIST_LIMIT} more"
    return (
        f"*{len(failures)} failed sign-ins* preceded this success, from {shown}; "
        f"the first at {_code(failures[0].time_text, limit=64)} "
        f"(event {_code(failures[0].event_id)})."
    )


def _spray_text(alert: Alert) -> str:
    """The principals tried from the address (escaped, capped), and how many failures."""
    principals = list(dict.fromkeys(f.principal for f in alert.evidence))
    shown = ", ".join(_code(p, limit=64) for p in principals[:SPRAY_LIST_LIMIT])
    if len(principals) > SPRAY_LIST_LIMIT:
        shown += f" and {len(principals) - SPRAY_LIST_LIMIT} more"
    return (
        f"*{len(principals)} principals tried* from {_code(alert.event.source_ip, limit=64)} "
        f"in {len(alert.evidence)} failed sign-ins: {shown}"
    )


def _new_network_text(alert: Alert) -> str:
    """The new network, and when and from where the principal last signed in before."""
    last = alert.evidence[-1]
    return (
        f"*New network* {_code(alert.network or 'unknown', limit=64)}. Last sign-in from a "
        f"known network: {_code(last.time_text, limit=64)} from {_code(last.source_ip, limit=64)}."
    )


def _correlation_buttons(alert: Alert) -> list[dict[str, Any]]:
    """``sign-in-after-failures`` links the first failure too, beside the success."""
    if alert.rule_id != "sign-in-after-failures" or not alert.evidence:
        return []
    return [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "First failure in CloudTrail"},
            "url": _event_url(alert.evidence[0]),
        }
    ]


@dataclass
class SlackWebhookNotifier:
    """Posts to a Slack incoming webhook: retries network errors, 5xx and 429 (``Retry-After``).

    After ``attempts`` tries, or when the send's deadline leaves no time for another, the post
    raises ``SlackRetryableError`` so the caller can release its claim and retry the event
    later; 400/401/403/404/410 raise ``SlackPermanentError`` at once. Posts are spaced
    ``min_interval`` seconds apart (Slack allows about one message a second). ``Retry-After``
    is clamped (nan, negative, HTTP-date, huge) to ``max_retry_after`` and to the time left.
    The webhook URL comes from ``url_provider`` (cached by it) and never appears in errors or
    logs; neither does a response body, except Slack's own short error codes.
    """

    url_provider: Callable[[], str]
    attempts: int = 3
    timeout: float = 10.0
    min_interval: float = 1.0
    max_retry_after: float = 30.0
    budget: float = DEFAULT_SEND_BUDGET_SECONDS
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    transport: httpx.BaseTransport | None = None
    on_hook_gone: Callable[[], None] | None = None
    _client: httpx.Client | None = field(default=None, init=False, repr=False)
    _deadlines: DeadlineTransport | None = field(default=None, init=False, repr=False)
    _last_post: float | None = field(default=None, init=False, repr=False)

    def send(
        self, payload: dict[str, Any], *, alert: Alert | None = None, deadline: float | None = None
    ) -> None:
        """Post one message by ``deadline`` (``monotonic`` seconds; default: ``budget`` from now).

        When Slack says the hook is gone (404/410) and the URL can be re-read (SSM), the URL is
        read again and, if it changed (rotation), the message is posted once more.
        """
        if deadline is None:
            deadline = self.monotonic() + self.budget
        url = self.url_provider()
        try:
            self._send_to(url, payload, deadline)
        except SlackPermanentError as error:
            if error.status_code not in (404, 410) or self.on_hook_gone is None:
                raise
            self.on_hook_gone()
            fresh = self.url_provider()
            if fresh == url:
                raise
            logger.warning("Slack webhook was rotated; posting to the new one")
            self._send_to(fresh, payload, deadline)

    def _send_to(self, url: str, payload: dict[str, Any], deadline: float) -> None:
        delay = 1.0
        for attempt in range(1, self.attempts + 1):
            try:
                self._post_once(url, payload, deadline)
                return
            except SlackRetryableError as error:
                if attempt == self.attempts:
                    raise
                wait = delay if error.retry_after is None else error.retry_after
                wait = min(wait, self.max_retry_after)
                if wait + MIN_ATTEMPT_SECONDS > deadline - self.monotonic():
                    raise SlackRetryableError(
                        f"{error}; no time left for another attempt",
                        status_code=error.status_code,
                        retry_after=error.retry_after,
                    ) from None
                logger.warning(
                    "slack post failed, retrying",
                    extra={"status_code": error.status_code, "attempt": attempt, "wait_s": wait},
                )
                self.sleep(wait)
                delay *= 2

    def _post_once(self, url: str, payload: dict[str, Any], deadline: float) -> None:
        import httpx

        self._pace(deadline)
        left = deadline - self.monotonic()
        if left < MIN_ATTEMPT_SECONDS:
            raise SlackRetryableError("no time left to post to Slack before the deadline")
        client = self._http()
        try:
            with self._deadline(deadline):
                response = client.post(url, json=payload, timeout=min(self.timeout, left))
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError):
            # The URL passed validation yet httpx cannot post to it: no retry will help.
            raise SlackPermanentError("the Slack webhook URL cannot be posted to") from None
        except (httpx.HTTPError, httpx.StreamError, OSError) as error:
            # The exception text can hold the URL: report only its type.
            raise SlackRetryableError(
                f"network error posting to Slack ({type(error).__name__})"
            ) from None
        finally:
            self._last_post = self.monotonic()
        status = response.status_code
        said = _slack_error_code(response.text)
        if status == 200:
            return
        if status == 429 or status >= 500:
            raise SlackRetryableError(
                f"Slack answered {status}{said}",
                status_code=status,
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
        if 400 <= status < 500:
            raise SlackPermanentError(
                f"Slack refused the message: {status}{said}", status_code=status
            )
        raise SlackRetryableError(f"unexpected Slack status {status}", status_code=status)

    def _deadline(self, deadline: float) -> contextlib.AbstractContextManager[None]:
        if self._deadlines is None:
            return contextlib.nullcontext()
        return self._deadlines.deadline(deadline)

    def _pace(self, deadline: float) -> None:
        if self._last_post is None:
            return
        waited = self.monotonic() - self._last_post
        if waited < self.min_interval:
            self.sleep(max(0.0, min(self.min_interval - waited, deadline - self.monotonic())))

    def _http(self) -> httpx.Client:
        if self._client is None:
            import httpx

            from .http_deadline import DeadlineTransport

            transport = self.transport
            if transport is None:
                transport = DeadlineTransport(clock=self.monotonic)
            if isinstance(transport, DeadlineTransport):
                self._deadlines = transport
            self._client = httpx.Client(
                timeout=self.timeout, transport=transport, follow_redirects=False
            )
        return self._client

    def close(self) -> None:
        """Close the HTTP connection pool."""
        if self._client is not None:
            self._client.close()
            self._client = None
            self._deadlines = None


def _slack_error_code(body: str) -> str:
    """`` (code)`` when the body is one of Slack's error codes, else nothing: never quote a body
    that could echo the request path (the secret)."""
    code = body.strip()
    return f" ({code})" if code in _SLACK_ERROR_CODES else ""


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP-date), at least 0.

    Unreadable values (nan, garbage) give None (the caller's backoff applies); infinity stays
    infinite for the caller to clamp to its limit and its deadline.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        import email.utils  # here: an HTTP-date is rare, and the module costs every start 8 ms

        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - datetime.now(UTC)).total_seconds()
    if math.isnan(seconds):
        return None
    return max(seconds, 0.0)
