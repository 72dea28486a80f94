"""A ``Digest`` as a Slack message (Block Kit) and as readable text: pure functions.

Principals, user agents, addresses, account names, suppression reasons and authors are text an
attacker (or a colleague) typed. In Block Kit each goes through ``slack.escape`` inside inline
code, exactly as alert fields do, so ``<!channel>`` or ``<https://evil|x>`` stay text; in the
readable text each goes through ``terminal.safe`` (no escape sequence, no line break, no bidi
override reaches the terminal). Slack's limits are kept: at most 50 blocks (a digest has a
fixed handful) and 3,000 characters per text, a list too long ending with "+N more".
"""

from __future__ import annotations

from typing import Any, Final, Protocol

from ..slack import HEADER_LIMIT, TEXT_LIMIT, escape
from ..terminal import safe
from .model import Digest, DigestAlert, SuppressedAlert

__all__ = ["MAX_BLOCKS", "render_blocks", "render_text"]

#: Slack's limit on blocks per message.
MAX_BLOCKS: Final = 50
_ACCOUNT_LIMIT: Final = 80
_VALUE_LIMIT: Final = 64
_REASON_LIMIT: Final = 200
#: Room kept at the end of a section's text for its "+N more" line.
_MORE_ROOM: Final = 40


def _code(value: object, *, limit: int = _VALUE_LIMIT) -> str:
    """Event text as inline code, escaped like alert fields (``slack.escape``)."""
    text = escape(value, limit=limit)
    return f"`{text}`" if text.strip() else "_(empty)_"


def _plain(value: object, *, limit: int = _VALUE_LIMIT) -> str:
    """Event text for a terminal: control and invisible characters shown, cut to ``limit``."""
    text = safe(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_blocks(digest: Digest) -> dict[str, Any]:
    """The Slack message of the digest (what the scheduled invocation posts)."""
    header = f"Sign-in digest for {digest.day} (UTC)"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header[:HEADER_LIMIT]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _totals(digest)}]},
        _section(
            "Alerts by account and rule",
            [
                f"{_code(digest.account_label(account), limit=_ACCOUNT_LIMIT)} · "
                f"{_code(rule)}: *{count}*"
                for account, rule, count in digest.alert_counts
            ],
            empty="No alerts.",
        ),
        _section(
            "Suppressed alerts",
            [_suppressed_line(digest, item) for item in digest.suppressed],
            empty="None.",
        ),
        _section(
            "Medium alerts",
            [_alert_mrkdwn(digest, alert) for alert in digest.medium],
            empty="None.",
        ),
        _section(
            "Console sign-ins without MFA (IAM users)",
            [
                f"{_code(principal)} in {_account(digest, account)}: *{count}*"
                for account, principal, count in digest.without_mfa
            ],
            empty="None.",
        ),
        _section(
            "Top failing principals",
            [
                f"{_code(principal)} in {_account(digest, account)}: *{count}*"
                for account, principal, count in digest.failing_principals
            ],
            total=digest.failing_principals_total,
            empty="No failed sign-ins.",
        ),
        _section(
            "Top failing source IPs",
            [f"{_code(ip)}: *{count}*" for ip, count in digest.failing_ips],
            total=digest.failing_ips_total,
            empty="No failed sign-ins.",
        ),
    ]
    fallback = (
        f"Sign-in digest for {digest.day} (UTC): {digest.alerts} alerts "
        f"({len(digest.suppressed)} suppressed, {len(digest.medium)} medium), "
        f"{digest.sign_ins} console sign-ins ({digest.failed_sign_ins} failed)"
    )
    return {
        "text": fallback[:TEXT_LIMIT],
        "unfurl_links": False,
        "unfurl_media": False,
        "blocks": blocks[:MAX_BLOCKS],
    }


def _account(digest: Digest, account: str | None) -> str:
    return _code(digest.account_label(account), limit=_ACCOUNT_LIMIT)


def _totals(digest: Digest) -> str:
    """The day's totals and the accounts read (as many as fit, then "+N more")."""
    text = (
        f"{digest.events} events · {digest.sign_ins} console sign-ins "
        f"({digest.failed_sign_ins} failed) · {digest.api_calls} API calls · "
        f"{digest.alerts} alerts · accounts: "
    )
    if not digest.accounts:
        return text + "_none_"
    shown = 0
    for account in digest.accounts:
        part = ("" if shown == 0 else ", ") + _account(digest, account)
        if len(text) + len(part) + _MORE_ROOM > TEXT_LIMIT:
            break
        text += part
        shown += 1
    if shown < len(digest.accounts):
        text += f" _+{len(digest.accounts) - shown} more_"
    return text


def _section(
    title: str, lines: list[str], *, empty: str, total: int | None = None
) -> dict[str, Any]:
    """One mrkdwn section: the title, as many lines as fit in ``TEXT_LIMIT``, "+N more"."""
    text = f"*{title}*"
    shown = 0
    for line in lines:
        if len(text) + 1 + len(line) + _MORE_ROOM > TEXT_LIMIT:
            break
        text += "\n" + line
        shown += 1
    hidden = (len(lines) if total is None else total) - shown
    if not lines:
        text += "\n" + empty
    elif hidden > 0:
        text += f"\n_+{hidden} more_"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:TEXT_LIMIT]}}


class _Show(Protocol):
    """How a value is shown: ``_code`` (Slack, escaped inline code) or ``_plain`` (a terminal)."""

    def __call__(self, value: object, *, limit: int = _VALUE_LIMIT) -> str: ...


def _where(digest: Digest, alert: DigestAlert, show: _Show = _code) -> str:
    """``alice in prod (1111…) from 198.51.100.7 at <time>`` (the parts that are known)."""
    parts = []
    if alert.principal is not None:
        parts.append(show(alert.principal))
    parts.append("in " + show(digest.account_label(alert.account_id), limit=_ACCOUNT_LIMIT))
    if alert.source_ip is not None:
        parts.append("from " + show(alert.source_ip))
    parts.append("at " + show(alert.event_time))
    return " ".join(parts)


def _alert_mrkdwn(digest: Digest, alert: DigestAlert) -> str:
    return f"{_code(alert.rule_id)} {_where(digest, alert)} ({escape(alert.status, limit=20)})"


def _suppressed_line(digest: Digest, item: SuppressedAlert, show: _Show = _code) -> str:
    """The suppressed alert, and whose suppression it was and why (what is known of it)."""
    line = f"{show(item.alert.rule_id)} {_where(digest, item.alert, show)}: "
    if item.suppression_id is None:
        return line + "suppression unknown"
    line += f"suppression {show(item.suppression_id)}"
    if item.author is None and item.reason is None:
        return line + " (details unavailable)"
    return line + f" by {show(item.author or '?')}: {show(item.reason or '', limit=_REASON_LIMIT)}"


def render_text(digest: Digest) -> str:
    """The digest as readable text (``signin-monitor digest`` without ``--json``)."""
    out = [f"Sign-in digest for {digest.day} (UTC)"]
    accounts = ", ".join(
        _plain(digest.account_label(a), limit=_ACCOUNT_LIMIT) for a in digest.accounts
    )
    out.append(f"Accounts: {accounts or 'none'}")
    out.append(
        f"Events: {digest.events} ({digest.sign_ins} console sign-ins, "
        f"{digest.failed_sign_ins} failed; {digest.api_calls} API calls); alerts: {digest.alerts}"
    )

    def label(account: str | None) -> str:
        return _plain(digest.account_label(account), limit=_ACCOUNT_LIMIT)

    def block(title: str, lines: list[str], *, empty: str, total: int | None = None) -> None:
        out.append("")
        out.append(f"{title}:")
        out.extend(f"  {line}" for line in lines)
        if not lines:
            out.append(f"  {empty}")
        elif total is not None and total > len(lines):
            out.append(f"  +{total - len(lines)} more")

    block(
        "Alerts by account and rule",
        [f"{label(a)}  {_plain(rule)}  {count}" for a, rule, count in digest.alert_counts],
        empty="No alerts.",
    )
    block(
        "Suppressed alerts",
        [_suppressed_line(digest, item, _plain) for item in digest.suppressed],
        empty="None.",
    )
    block(
        "Medium alerts",
        [f"{_plain(a.rule_id)} {_where(digest, a, _plain)} ({a.status})" for a in digest.medium],
        empty="None.",
    )
    block(
        "Console sign-ins without MFA (IAM users)",
        [f"{_plain(p)} in {label(a)}: {count}" for a, p, count in digest.without_mfa],
        empty="None.",
    )
    block(
        "Top failing principals",
        [f"{_plain(p)} in {label(a)}: {count}" for a, p, count in digest.failing_principals],
        total=digest.failing_principals_total,
        empty="No failed sign-ins.",
    )
    block(
        "Top failing source IPs",
        [f"{_plain(ip)}: {count}" for ip, count in digest.failing_ips],
        total=digest.failing_ips_total,
        empty="No failed sign-ins.",
    )
    return "\n".join(out)
