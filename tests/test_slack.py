"""Slack: Block Kit rendering within limits, hostile text made inert, and the webhook sender."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from signin_monitor.alerts import Alert, Severity
from signin_monitor.errors import SlackPermanentError, SlackRetryableError
from signin_monitor.slack import SlackWebhookNotifier, escape, render
from tests.factories import sign_in

WEBHOOK = "https://hooks.example.invalid/services/T000/B000/XXXX"


def _alert(**kwargs: Any) -> Alert:
    event = sign_in(**kwargs)
    return Alert(
        rule_id="repeated-failed-sign-ins",
        severity=Severity.HIGH,
        title="Repeated failed sign-ins",
        event=event,
        scope="s",
        window=timedelta(minutes=60),
        failure_count=4,
    )


def test_payload_has_header_fields_link_and_fallback_text() -> None:
    payload = render(_alert(result="Failure", region="eu-north-1"))
    header, context, section, actions = payload["blocks"]
    assert header["type"] == "header"
    assert header["text"]["text"].startswith("Repeated failed sign-ins in AWS account 111122223333")
    assert "repeated-failed-sign-ins" in context["elements"][0]["text"]
    names = [field["text"].split("\n")[0] for field in section["fields"]]
    assert names == [
        "*Account*",
        "*Principal*",
        "*Result*",
        "*MFA used*",
        "*Source IP*",
        "*Region*",
        "*Time (UTC)*",
        "*User agent*",
        "*Event ID*",
        "*Failures*",
    ]
    url = actions["elements"][0]["url"]
    assert url.startswith(
        "https://eu-north-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-north-1"
    )
    assert payload["text"].startswith("HIGH: Repeated failed sign-ins")


HOSTILE = [
    "<!channel>",
    "<!here|here>",
    "<@U12345>",
    "<https://evil.example|click>",
    "&lt;!channel&gt;",
    "a`b`<!everyone>",
    "line\n<!channel>",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_cannot_ping_or_link(text: str) -> None:
    alert = _alert(
        user=text, user_agent=text, source_ip=text, region=text, result="Failure", event_id=text
    )
    serialized = json.dumps(render(alert))
    assert "<!" not in serialized
    assert "<@" not in serialized
    assert "<http" not in serialized
    assert "<" not in serialized.replace("\\u003c", "")  # no angle bracket at all reaches Slack


def test_user_name_channel_and_agent_link_are_escaped_not_dropped() -> None:
    alert = _alert(user="<!channel>", user_agent="<https://evil.example|click>", result="Failure")
    serialized = json.dumps(render(alert))
    assert "&lt;!channel&gt;" in serialized
    assert "&lt;https://evil.example|click&gt;" in serialized


def test_escape_handles_ampersand_first() -> None:
    assert escape("a & <b>") == "a &amp; &lt;b&gt;"
    assert escape("&lt;") == "&amp;lt;"


def test_values_break_out_of_neither_code_span_nor_line() -> None:
    assert escape("a`b\nc\x1b[31m") == "a'b c [31m"


def test_everything_is_truncated_to_slack_limits() -> None:
    long = "x" * 10_000
    alert = _alert(user=long, user_agent=long, result="Failure")
    payload = render(alert)
    assert len(payload["blocks"][0]["text"]["text"]) <= 150
    for field in payload["blocks"][2]["fields"]:
        assert len(field["text"]) <= 2000
    assert len(payload["blocks"][2]["fields"]) <= 10
    assert len(payload["text"]) <= 3000
    agent = payload["blocks"][2]["fields"][7]["text"]
    assert len(agent) < 260


def test_invalid_region_does_not_reach_the_console_link() -> None:
    url = render(_alert(region="evil.example/x"))["blocks"][3]["elements"][0]["url"]
    assert url.startswith("https://us-east-1.console.aws.amazon.com/")


# --- the sender -------------------------------------------------------------------------------


def _notifier(
    handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any
) -> tuple[SlackWebhookNotifier, list[float]]:
    sleeps: list[float] = []
    notifier = SlackWebhookNotifier(
        url_provider=lambda: WEBHOOK,
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
        **kwargs,
    )
    return notifier, sleeps


def _script(
    *responses: httpx.Response | Exception,
) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return handler, seen


def test_200_posts_the_payload_as_json() -> None:
    handler, seen = _script(httpx.Response(200, text="ok"))
    notifier, _ = _notifier(handler)
    notifier.send({"text": "hi"})
    assert len(seen) == 1
    assert json.loads(seen[0].content) == {"text": "hi"}
    assert str(seen[0].url) == WEBHOOK


def test_500_then_429_then_200_is_one_message_after_honouring_retry_after() -> None:
    handler, seen = _script(
        httpx.Response(500, text="oops"),
        httpx.Response(429, text="rate_limited", headers={"Retry-After": "7"}),
        httpx.Response(200, text="ok"),
    )
    notifier, sleeps = _notifier(handler, attempts=3)
    notifier.send({"text": "hi"})
    assert len(seen) == 3
    assert 7.0 in sleeps


def test_timeouts_exhaust_attempts_and_raise_retryable_without_the_url() -> None:
    handler, _ = _script(*[httpx.ReadTimeout("timed out")] * 3)
    notifier, _ = _notifier(handler)
    with pytest.raises(SlackRetryableError) as caught:
        notifier.send({"text": "hi"})
    assert "hooks.example.invalid" not in str(caught.value)
    assert "ReadTimeout" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, "invalid_payload"),
        (403, "action_prohibited"),
        (404, "no_service"),
        (410, "channel_is_archived"),
    ],
)
def test_permanent_refusals_raise_at_once(status: int, body: str) -> None:
    handler, seen = _script(httpx.Response(status, text=body))
    notifier, _ = _notifier(handler)
    with pytest.raises(SlackPermanentError, match=body) as caught:
        notifier.send({"text": "hi"})
    assert caught.value.status_code == status
    assert len(seen) == 1


def test_hook_gone_rereads_the_url_and_posts_to_the_rotated_one() -> None:
    urls = iter([WEBHOOK, WEBHOOK + "-rotated"])
    current = {"url": next(urls)}
    handler, seen = _script(httpx.Response(404, text="no_service"), httpx.Response(200, text="ok"))
    notifier = SlackWebhookNotifier(
        url_provider=lambda: current["url"],
        transport=httpx.MockTransport(handler),
        sleep=lambda _: None,
        on_hook_gone=lambda: current.update(url=next(urls)),
    )
    notifier.send({"text": "hi"})
    assert [str(r.url) for r in seen] == [WEBHOOK, WEBHOOK + "-rotated"]


def test_hook_gone_with_an_unchanged_url_is_permanent() -> None:
    handler, seen = _script(httpx.Response(410, text="channel_is_archived"))
    calls: list[int] = []
    notifier = SlackWebhookNotifier(
        url_provider=lambda: WEBHOOK,
        transport=httpx.MockTransport(handler),
        on_hook_gone=lambda: calls.append(1),
    )
    with pytest.raises(SlackPermanentError):
        notifier.send({"text": "hi"})
    assert calls == [1]
    assert len(seen) == 1


def test_posts_are_spaced_one_second_apart() -> None:
    handler, _ = _script(httpx.Response(200), httpx.Response(200))
    clock = {"now": 100.0}
    sleeps: list[float] = []
    notifier = SlackWebhookNotifier(
        url_provider=lambda: WEBHOOK,
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
        monotonic=lambda: clock["now"],
    )
    notifier.send({"text": "1"})
    clock["now"] += 0.25
    notifier.send({"text": "2"})
    assert sleeps == [0.75]
