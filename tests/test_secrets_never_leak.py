"""The webhook URL never reaches a log, an error or any output (issue 10, point 1).

Every test runs with the root logger at DEBUG (Lambda's JSON logging at application level INFO
already puts httpx's request lines, URL included, in CloudWatch) and captures everything: the
file descriptors (capfd) and every log record that reaches the root logger (caplog).
"""

from __future__ import annotations

import functools
import logging

import boto3
import httpx
import pytest

import handler
import signin_monitor.app
from signin_monitor import cli
from signin_monitor.config import LAMBDA_VARIABLES, LOCAL_ONLY_VARIABLES
from signin_monitor.errors import ConfigError
from signin_monitor.pipeline import Pipeline
from signin_monitor.slack import SlackWebhookNotifier
from tests.factories import console_login, eventbridge
from tests.test_handler import PARAMETER, WEBHOOK, FakeSlack, _items, aws, pipeline, slack

__all__ = ["aws", "pipeline", "slack"]  # fixtures used here

SECRET_PARTS = ("handler-secret", "T000/B000")
CLI_WEBHOOK = "https://hooks.example.invalid/services/T111/B111/cli-secret"


@pytest.fixture(autouse=True)
def _everything_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


def _assert_no_secret(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, *extra: str
) -> None:
    captured = capfd.readouterr()
    seen = captured.out + captured.err + caplog.text + "".join(extra)
    for record in caplog.records:
        seen += record.getMessage() + repr(vars(record))
    for part in (*SECRET_PARTS, "cli-secret", "T111/B111", "hooks.example.invalid/services"):
        assert part not in seen, f"{part!r} leaked"


def _root_event() -> dict[str, object]:
    return eventbridge(console_login(identity_type="Root"))


# --- through the handler -----------------------------------------------------------------------


def test_a_post_through_the_handler_logs_no_url_at_debug(
    pipeline: Pipeline,
    slack: FakeSlack,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN the root logger at DEBUG WHEN the handler posts an alert
    assert handler.handler(_root_event(), None)["alerts"] == ["root-sign-in"]
    # THEN it was posted, and neither httpx nor httpcore nor we logged the URL
    assert len(slack.accepted) == 1
    _assert_no_secret(capfd, caplog)


def test_a_404_page_echoing_the_path_reaches_no_log_through_the_handler(
    pipeline: Pipeline,
    slack: FakeSlack,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN a proxy answering 404 with a page that quotes the secret path
    slack.script = [httpx.Response(404, text=f"<p>No route for {WEBHOOK[8:]}</p>")]
    # WHEN the handler posts THEN the failure is logged without the page
    result = handler.handler(_root_event(), None)
    assert result["status"] == "stored"
    _assert_no_secret(capfd, caplog, repr(result))


@pytest.mark.parametrize(
    "value", ["https://h:abc/x/handler-secret", "https://[x/handler-secret", "nope handler-secret"]
)
def test_a_malformed_url_in_ssm_is_a_configuration_error_naming_the_parameter(
    pipeline: Pipeline,
    slack: FakeSlack,
    value: str,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN the SSM parameter holding a malformed URL
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name=PARAMETER, Value=value, Type="SecureString", Overwrite=True
    )
    # WHEN an alert is to be posted THEN a ConfigError names the parameter, not the value
    with pytest.raises(ConfigError) as caught:
        handler.handler(_root_event(), None)
    assert PARAMETER in str(caught.value)
    assert caught.value.__cause__ is None
    # AND nothing was posted, the claim is left pending for the retry, nothing leaked
    assert slack.accepted == []
    assert [c["status"]["S"] for c in _items("ALERT#")] == ["pending"]
    _assert_no_secret(capfd, caplog, str(caught.value))


@pytest.mark.parametrize("blank", ["\n", "\t", " \r\n"])
def test_a_url_in_ssm_with_a_trailing_blank_is_stripped_and_posted_to(
    pipeline: Pipeline, slack: FakeSlack, blank: str
) -> None:
    # GIVEN the parameter saved with a trailing newline or tab
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name=PARAMETER, Value=WEBHOOK + blank, Type="SecureString", Overwrite=True
    )
    # WHEN the handler posts THEN it posts to the stripped URL
    assert handler.handler(_root_event(), None)["alerts"] == ["root-sign-in"]
    assert slack.urls == [WEBHOOK]


# --- through the command line ------------------------------------------------------------------


@pytest.fixture
def cli_slack(monkeypatch: pytest.MonkeyPatch) -> FakeSlack:
    for name in LAMBDA_VARIABLES + LOCAL_ONLY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    fake = FakeSlack()
    monkeypatch.setattr(
        signin_monitor.app,
        "SlackWebhookNotifier",
        functools.partial(
            SlackWebhookNotifier, transport=httpx.MockTransport(fake.handle), sleep=lambda _: None
        ),
    )
    return fake


@pytest.mark.parametrize("status", [200, 404, 500])
def test_test_alert_logs_no_url_at_debug_whatever_slack_answers(
    cli_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    # GIVEN a webhook answering with a page that quotes the secret path
    monkeypatch.setenv("SLACK_WEBHOOK_URL", CLI_WEBHOOK)
    cli_slack.script = [httpx.Response(status, text=f"echo {CLI_WEBHOOK}")] * 3
    # WHEN test-alert runs with everything at DEBUG
    code = cli.main(["test-alert"])
    # THEN whatever the outcome, the URL appears nowhere
    assert code == (0 if status == 200 else 1)
    _assert_no_secret(capfd, caplog)


@pytest.mark.parametrize(
    "url",
    [
        "https://h:abc/x/cli-secret",
        "https://[x/cli-secret",
        "https://hooks.example.invalid/cli-secret\tx",
        "https://hooks.example.invalid:0/cli-secret",
    ],
)
def test_a_malformed_webhook_url_exits_2_naming_the_variable_only(
    cli_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    url: str,
) -> None:
    # GIVEN a malformed SLACK_WEBHOOK_URL WHEN test-alert runs
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
    code = cli.main(["test-alert"])
    # THEN a configuration error (exit 2) that names the variable and nothing of the value
    captured = capfd.readouterr()
    assert code == 2
    assert "SLACK_WEBHOOK_URL" in captured.err
    assert "Traceback" not in captured.err
    assert cli_slack.urls == []
    capfd.readouterr()
    _assert_no_secret(capfd, caplog, captured.out, captured.err)
