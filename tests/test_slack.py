"""Slack: Block Kit rendering within limits, hostile text made inert, and the webhook sender."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from signin_monitor import slack
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


# --- invisible characters, the fallback text, unfurling (issue 10, point 5) --------------------

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u061c", "\u00ad", "\u180e"]


@pytest.mark.parametrize("char", INVISIBLE)
def test_an_invisible_character_in_a_user_name_is_shown_not_hidden(char: str) -> None:
    # GIVEN a failed sign-in typed as "ad<invisible>min"
    payload = render(_alert(user=f"ad{char}min"))
    # WHEN the payload is rendered THEN the character is spelled out, so it never reads "admin"
    text = json.dumps(payload, ensure_ascii=False)
    assert char not in text
    assert f"ad\\u{ord(char):04x}min" in payload["blocks"][2]["fields"][1]["text"]
    assert "`admin`" not in text


def test_every_format_character_is_made_visible() -> None:
    # GIVEN every Unicode format character (category Cf) this Python knows
    import sys
    import unicodedata

    chars = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
    # WHEN each is escaped THEN none survives as itself
    survivors = [c for c in chars if c in escape(f"a{c}b")]
    assert survivors == []


def test_a_region_with_a_trailing_newline_does_not_reach_the_console_link() -> None:
    # GIVEN a record whose region is "eu-west-1\n" (passes a `$` check)
    url = render(_alert(region="eu-west-1\n"))["blocks"][3]["elements"][0]["url"]
    # THEN the button falls back to the default region and holds no line break
    assert "\n" not in url
    assert url.startswith("https://us-east-1.console.aws.amazon.com/")


def test_the_fallback_text_holds_event_values_only_inside_inline_code() -> None:
    # GIVEN a user name that a client would autolink as a bare domain
    payload = render(_alert(user="evil.example.com", source_ip="198.51.100.7"))
    # WHEN the code spans are taken out of the fallback text
    outside_code = "".join(payload["text"].split("`")[0::2])
    # THEN no event value is left outside code
    assert "evil.example.com" in payload["text"]
    assert "evil.example" not in outside_code
    assert "198.51.100.7" not in outside_code
    assert "111122223333" not in outside_code


def test_no_payload_unfurls_links_or_media() -> None:
    payload = render(_alert())
    assert payload["unfurl_links"] is False
    assert payload["unfurl_media"] is False


# --- redirects, Retry-After and the time budget (issue 9 point 6, issue 10 point 7) ------------


def test_a_redirect_is_never_followed() -> None:
    # GIVEN a webhook answering 302 to somewhere else
    handler, seen = _script(
        *[httpx.Response(302, headers={"Location": "https://elsewhere.example.invalid/"})] * 3
    )
    notifier, _ = _notifier(handler)
    # WHEN the alert is sent THEN it fails without ever posting to the redirect target
    with pytest.raises(SlackRetryableError):
        notifier.send({"text": "hi"})
    assert {r.url.host for r in seen} == {"hooks.example.invalid"}
    assert notifier._http().follow_redirects is False


class _Clock:
    """A monotonic clock that sleeping advances."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    "retry_after",
    [
        "nan",
        "NaN",
        "inf",
        "-inf",
        "-5",
        "1e9",
        "1e400",
        "soon",
        "",
        "Wed, 21 Oct 2099 07:28:00 GMT",
    ],
)
def test_retry_after_is_clamped_to_the_limit_and_the_budget(retry_after: str) -> None:
    # GIVEN Slack answering 429 with an odd Retry-After, then 200
    handler, seen = _script(
        httpx.Response(429, text="rate_limited", headers={"Retry-After": retry_after}),
        httpx.Response(200, text="ok"),
    )
    clock = _Clock()
    notifier = SlackWebhookNotifier(
        url_provider=lambda: WEBHOOK,
        transport=httpx.MockTransport(handler),
        sleep=clock.sleep,
        monotonic=clock,
        max_retry_after=30.0,
    )
    # WHEN sent with 60 s of budget
    with contextlib.suppress(SlackRetryableError):  # giving up in time is fine
        notifier.send({"text": "hi"}, deadline=clock.now + 60)
    # THEN every wait was a real number within the limit, and the send ended within its budget
    assert all(0.0 <= wait <= 30.0 for wait in clock.sleeps), clock.sleeps
    assert clock.now <= 1000.0 + 60
    assert seen


def test_retry_after_past_the_deadline_gives_up_at_once_instead_of_sleeping() -> None:
    # GIVEN Slack asking to wait 20 s and a send with 5 s left
    handler, seen = _script(
        httpx.Response(429, text="rate_limited", headers={"Retry-After": "20"}),
        httpx.Response(200, text="ok"),
    )
    clock = _Clock()
    notifier = SlackWebhookNotifier(
        url_provider=lambda: WEBHOOK,
        transport=httpx.MockTransport(handler),
        sleep=clock.sleep,
        monotonic=clock,
    )
    # WHEN sent THEN it raises a retryable error without sleeping past its deadline
    with pytest.raises(SlackRetryableError, match="no time left"):
        notifier.send({"text": "hi"}, deadline=clock.now + 5)
    assert clock.now <= 1000.0 + 5
    assert len(seen) == 1


def test_the_default_budget_bounds_all_attempts_and_waits() -> None:
    # GIVEN Slack answering 503 with Retry-After 30 for ever, and no deadline from the caller
    handler, _ = _script(*[httpx.Response(503, headers={"Retry-After": "30"}) for _ in range(5)])
    clock = _Clock()
    notifier = SlackWebhookNotifier(
        url_provider=lambda: WEBHOOK,
        transport=httpx.MockTransport(handler),
        sleep=clock.sleep,
        monotonic=clock,
        attempts=5,
    )
    # WHEN sent THEN it gives up within the default budget
    with pytest.raises(SlackRetryableError):
        notifier.send({"text": "hi"})
    assert clock.now - 1000.0 <= notifier.budget


# --- nothing from a response body or the URL in an error (issue 10 point 1) --------------------


def test_a_404_page_echoing_the_secret_path_is_not_quoted() -> None:
    # GIVEN a proxy answering 404 with a page that echoes the request path
    handler, _ = _script(
        httpx.Response(404, text="<h1>Not found: /services/T000/B000/XXXX</h1>"),
    )
    notifier, _ = _notifier(handler)
    # WHEN sent THEN the error says 404 and nothing of the page
    with pytest.raises(SlackPermanentError) as caught:
        notifier.send({"text": "hi"})
    assert "404" in str(caught.value)
    assert "XXXX" not in str(caught.value)
    assert "services" not in str(caught.value)


def test_a_500_body_is_not_quoted_either() -> None:
    handler, _ = _script(*[httpx.Response(500, text="error at /services/T000/B000/XXXX")] * 3)
    notifier, _ = _notifier(handler)
    with pytest.raises(SlackRetryableError) as caught:
        notifier.send({"text": "hi"})
    assert "XXXX" not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["https://h:abc/x-SECRET", "https://[x/y-SECRET", "ht!tp://x-SECRET"]
)
def test_a_url_httpx_cannot_use_is_a_slack_error_without_the_url(url: str) -> None:
    # GIVEN a webhook URL httpx refuses to parse (validation bypassed)
    notifier = SlackWebhookNotifier(url_provider=lambda: url, sleep=lambda _: None)
    # WHEN sent THEN a Slack error from the tree, naming nothing of the URL
    with pytest.raises((SlackPermanentError, SlackRetryableError)) as caught:
        notifier.send({"text": "hi"})
    assert "SECRET" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize("limit", [1, 2, 3, 200])
def test_escape_of_any_short_text_is_the_general_ways(limit: int) -> None:
    # GIVEN every ASCII character and a few that escaping shows or replaces, alone and in
    # pairs, at lengths around the limit (the plain text ``escape`` returns as it is)
    chars = [chr(code) for code in range(0x80)] + ["\u200b", "\u00e9", "\u2028", "\ufeff"]
    texts = [*chars, *(a + b for a in chars for b in ("a", "<", "`", "\u200b")), "a" * limit]
    texts += ["a" * (limit + 1), "a" * (limit - 1) + "&"]
    for text in texts:
        # WHEN it is escaped THEN it is what the general way gives
        assert slack.escape(text, limit=limit) == slack._escaped(text, limit), repr(text)
