"""Rendering the digest: hostile text inert in Block Kit and in text; Slack's limits kept.

Every value someone typed (a failed sign-in's user name, a user agent, an account name, a
suppression's reason and author) is escaped exactly as ``slack.py`` escapes alert fields.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from signin_monitor.digest.gather import build_digest
from signin_monitor.digest.model import Digest, Suppression
from signin_monitor.digest.render import MAX_BLOCKS, render_blocks, render_text
from signin_monitor.store.day_reads import AlertRecord
from tests.factories import ACCOUNT, sign_in

DAY = date(2026, 11, 2)
MORNING = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
HOSTILE = [
    "<!channel>",
    "<https://evil.example|click me>",
    "`code` *bold* ```block```",
    "admin\u202egnp.exe",
    "line one\nFAKE: root signed in\r",
    "ad\u200bmin & <@U123>",
]


class HostileSuppressions:
    def get_suppression(self, suppression_id: str) -> Suppression | None:
        return _Suppression()


class _Suppression:
    author = "<!here> mallory\u202e"
    reason = "<https://evil.example|planned> `drill`\nFAKE LINE"


class HostileNames:
    def name(self, account_id: str) -> str | None:
        return "<!channel> prod\u202e\n"


def hostile_digest() -> Digest:
    events = []
    alerts = []
    for n, name in enumerate(HOSTILE):
        failure = sign_in(
            user=name, result="Failure", at=MORNING, minutes=n, source_ip=f"192.0.2.{n}"
        )
        success = sign_in(user=name, mfa="No", at=MORNING, minutes=30 + n, user_agent=name)
        events += [failure, success]
        alerts.append(
            AlertRecord(
                rule_id="new-source-network",
                scope=success.event_id,
                event_id=success.event_id,
                event_time=success.time_text,
                status="sent",
            )
        )
    alerts.append(
        AlertRecord(
            rule_id="root-sign-in",
            scope=events[0].event_id,
            event_id=events[0].event_id,
            event_time=events[0].time_text,
            status="suppressed",
            reason="<!channel>sup`1",
        )
    )
    return build_digest(
        DAY,
        alerts=alerts,
        events=events,
        accounts=None,
        suppressions=HostileSuppressions(),
        account_names=HostileNames(),
    )


def _texts(payload: dict[str, Any]) -> list[str]:
    """Every text Slack renders: mrkdwn and plain_text, block by block, and the fallback."""
    found = [payload["text"]]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload["blocks"])
    return found


def test_hostile_text_is_inert_in_block_kit() -> None:
    payload = render_blocks(hostile_digest())
    for text in _texts(payload):
        # no link, mention or special command: every "<" typed is escaped
        assert "<" not in text
        assert ">" not in text.replace("&gt;", "")
        # no bidi override, no zero-width space, no carriage return
        assert not re.search("[\u202a-\u202e\u2066-\u2069\u200b\r]", text)
    joined = json.dumps(payload)
    assert "&lt;!channel&gt;" in joined
    assert "&lt;https://evil.example|click me&gt;" in joined
    assert "admin gnp.exe" in joined  # the override is replaced, as in alert fields
    # each typed value stays inside inline code: no backtick of its own, no line of its own
    for text in _texts(payload):
        for line in text.split("\n"):
            assert not line.startswith("FAKE")
            assert line.count("`") % 2 == 0


def test_hostile_text_is_inert_in_the_readable_text() -> None:
    text = render_text(hostile_digest())
    assert not re.search("[\u202a-\u202e\u2066-\u2069\u200b\r\x1b]", text)
    assert not any(line.lstrip().startswith("FAKE") for line in text.splitlines())
    assert "\\u202e" in text
    assert "planned" in text  # the reason is shown, made harmless


def test_a_day_with_thousands_of_principals_keeps_slacks_limits() -> None:
    # GIVEN 4,000 users without MFA, 3,000 failing principals from 3,000 addresses, 600 medium
    # alerts and 300 suppressed ones
    events = []
    alerts = []
    for n in range(4000):
        at = MORNING + timedelta(seconds=n)
        events.append(sign_in(user=f"user-{n:05d}", mfa="No", at=at))
        if n < 3000:
            events.append(
                sign_in(
                    user=f"failing-{n:05d}",
                    result="Failure",
                    at=at,
                    source_ip=f"10.{n // 250}.{n % 250}.1",
                )
            )
    for n, event in enumerate(events[:900]):
        alerts.append(
            AlertRecord(
                rule_id="new-source-network" if n < 600 else "root-sign-in",
                scope=event.event_id,
                event_id=event.event_id,
                event_time=event.time_text,
                status="sent" if n < 600 else "suppressed",
                reason=None if n < 600 else f"sup-{n}",
            )
        )
    digest = build_digest(DAY, alerts=alerts, events=events, accounts=None)
    assert len(digest.without_mfa) == 4000
    assert (digest.failing_principals_total, digest.failing_ips_total) == (3000, 3000)
    # WHEN it is rendered
    payload = render_blocks(digest)
    # THEN within Slack's limits, each long list ending with how many more there are
    assert len(payload["blocks"]) <= MAX_BLOCKS
    assert len(payload["blocks"][0]["text"]["text"]) <= 150
    for text in _texts(payload):
        assert len(text) <= 3000
    sections = {
        block["text"]["text"].split("\n", 1)[0]: block["text"]["text"]
        for block in payload["blocks"]
        if block["type"] == "section"
    }
    no_mfa = sections["*Console sign-ins without MFA (IAM users)*"]
    shown = no_mfa.count("\n") - 1
    assert no_mfa.endswith(f"_+{4000 - shown} more_")
    failing = sections["*Top failing principals*"]
    assert failing.count("\n") == 11  # title, 10 principals, "+2990 more"
    assert failing.endswith("_+2990 more_")
    assert sections["*Top failing source IPs*"].endswith("_+2990 more_")
    medium = sections["*Medium alerts*"]
    assert re.search(r"_\+\d+ more_$", medium)
    suppressed = sections["*Suppressed alerts*"]
    assert re.search(r"_\+\d+ more_$", suppressed)
    # and the text form lists everything (it has no size limit)
    assert sum(line.startswith("  user-") for line in render_text(digest).splitlines()) == 4000
    _ = ACCOUNT
