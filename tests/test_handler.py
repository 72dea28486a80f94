"""The Lambda handler end to end under moto, with Slack behind httpx.MockTransport.

Each test builds the handler's pipeline from the environment as a cold start would, then points
its Slack sender at a fake. The faults are the ones AWS and Slack really produce.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import handler
from signin_monitor.cli import main as cli_main
from signin_monitor.config import LAMBDA_VARIABLES
from signin_monitor.errors import ConfigError, StoreRetryableError
from signin_monitor.pipeline import Pipeline
from signin_monitor.slack import SlackWebhookNotifier
from signin_monitor.sources import read_events
from signin_monitor.store.dynamodb import DynamoDbStore
from signin_monitor.store.dynamodb_admin import create_table
from tests.concurrency import run_together
from tests.factories import api_eventbridge, console_login, eventbridge
from tests.lambda_env import lambda_environment

ROOT = Path(__file__).resolve().parents[1]
TABLE = "signin-activity"
PARAMETER = "/signin-monitor/slack-webhook"
WEBHOOK = "https://hooks.example.invalid/services/T000/B000/handler-secret"


class FakeSlack:
    """A webhook that answers from a script (then 200) and remembers what it accepted."""

    def __init__(self) -> None:
        self.script: list[httpx.Response | Exception] = []
        self.accepted: list[dict[str, Any]] = []
        self.urls: list[str] = []
        self.lock = threading.Lock()

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.urls.append(str(request.url))
            item = self.script.pop(0) if self.script else httpx.Response(200, text="ok")
            if isinstance(item, Exception):
                raise item
            if item.status_code == 200:
                self.accepted.append(json.loads(request.content))
            return item


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto with the table and the SecureString parameter; the Lambda's environment."""
    lambda_environment(monkeypatch, ACTIVITY_TABLE=TABLE, SLACK_WEBHOOK_PARAMETER=PARAMETER)
    with mock_aws():
        create_table(boto3.client("dynamodb", region_name="us-east-1"), TABLE)
        boto3.client("ssm", region_name="us-east-1").put_parameter(
            Name=PARAMETER, Value=WEBHOOK, Type="SecureString"
        )
        yield


@pytest.fixture
def slack() -> FakeSlack:
    return FakeSlack()


@pytest.fixture
def pipeline(aws: None, slack: FakeSlack) -> Iterator[Pipeline]:
    """A cold start: the handler builds its pipeline from the environment."""
    handler.reset()
    built = handler.get_pipeline()
    notifier = built.notifier
    assert isinstance(notifier, SlackWebhookNotifier)
    notifier.transport = httpx.MockTransport(slack.handle)
    notifier.sleep = lambda _seconds: None
    yield built
    handler.reset()


def _invoke(event: dict[str, Any]) -> dict[str, Any]:
    return handler.handler(event, None)


def _failure(minutes: float, user: str = "mallory") -> dict[str, Any]:
    return eventbridge(console_login(user=user, result="Failure", mfa="No", minutes=minutes))


def _items(prefix: str) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    items = client.scan(TableName=TABLE)["Items"]
    return [item for item in items if item["pk"]["S"].startswith(prefix)]


def test_samples_give_the_same_alerts_as_replay(
    pipeline: Pipeline, slack: FakeSlack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the shipped samples, as the command line replays them
    os.environ.pop("SLACK_WEBHOOK_PARAMETER")
    try:
        assert (
            cli_main(["replay", "--json", "--db", str(tmp_path / "r.db"), str(ROOT / "samples")])
            == 0
        )
    finally:
        os.environ["SLACK_WEBHOOK_PARAMETER"] = PARAMETER
    replayed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # WHEN every sample record reaches the Lambda as an EventBridge event, in time order
    events = [e for e in read_events([ROOT / "samples"]) if not isinstance(e, Exception)]
    rules: list[str] = []
    for event in sorted(events, key=lambda e: e.time_text):
        envelope = api_eventbridge(event.raw) if event.is_api_call else eventbridge(event.raw)
        rules += _invoke(envelope)["alerts"]
    # THEN the Lambda posts exactly the alerts replay printed, with the same payloads
    assert rules == [line["rule"] for line in replayed]
    assert slack.accepted == [line["slack"] for line in replayed]


def test_duplicate_delivery_is_stored_once_and_posted_once(
    pipeline: Pipeline, slack: FakeSlack
) -> None:
    event = eventbridge(console_login(identity_type="Root"))
    assert _invoke(event)["status"] == "stored"
    assert _invoke(event) == {
        "status": "duplicate",
        "event_id": event["detail"]["eventID"],
        "alerts": [],
    }
    assert len(slack.accepted) == 1
    assert len(_items("ACCOUNT#")) == 1


def test_slack_500_429_timeout_then_200_across_redeliveries_is_one_message(
    pipeline: Pipeline, slack: FakeSlack
) -> None:
    # GIVEN three failures stored, and a fourth whose alert Slack keeps failing
    for minutes in range(3):
        _invoke(_failure(minutes))
    fourth = _failure(3)
    slack.script = [
        httpx.Response(500, text="internal_error"),
        httpx.Response(429, text="rate_limited", headers={"Retry-After": "1"}),
        httpx.ReadTimeout("timed out"),
    ]
    # WHEN Lambda delivers the fourth, which raises, and then retries it
    with pytest.raises(Exception, match="retry"):
        _invoke(fourth)
    result = _invoke(fourth)
    # THEN exactly one message reached the channel, counting four failures, not more
    assert result["alerts"] == ["repeated-failed-sign-ins"]
    assert len(slack.accepted) == 1
    assert "4 in the last 60 min" in json.dumps(slack.accepted[0])
    assert _invoke(fourth)["alerts"] == []
    assert len(_items("ACCOUNT#")) == 4


@pytest.mark.parametrize(("status", "reason"), [(404, "no_service"), (410, "channel_is_archived")])
def test_hook_gone_is_a_logged_permanent_failure(
    pipeline: Pipeline, slack: FakeSlack, status: int, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    slack.script = [httpx.Response(status, text=reason)]
    event = eventbridge(console_login(identity_type="Root"))
    with caplog.at_level(logging.ERROR, logger="signin_monitor"):
        result = _invoke(event)  # does not raise: a retry cannot fix it
    assert result["status"] == "stored"
    assert any(reason in getattr(r, "reason", "") for r in caplog.records)
    assert _invoke(event)["alerts"] == []  # not retried forever
    assert slack.accepted == []
    claims = _items("ALERT#")
    assert [c["status"]["S"] for c in claims] == ["failed"]


def test_rotated_webhook_is_read_again_from_ssm(pipeline: Pipeline, slack: FakeSlack) -> None:
    _invoke(eventbridge(console_login(identity_type="Root", minutes=0)))  # reads and caches
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name=PARAMETER, Value=WEBHOOK + "-rotated", Type="SecureString", Overwrite=True
    )
    slack.script = [httpx.Response(404, text="no_service")]
    _invoke(eventbridge(console_login(identity_type="Root", minutes=1)))
    # the cached URL is used until Slack says the hook is gone, then the rotated one
    assert slack.urls == [WEBHOOK, WEBHOOK, WEBHOOK + "-rotated"]
    assert len(slack.accepted) == 2


def test_the_webhook_parameter_is_read_once_per_container(
    pipeline: Pipeline, slack: FakeSlack
) -> None:
    reads: list[str] = []
    ssm = boto3.client("ssm", region_name="us-east-1")
    provider = pipeline.notifier.url_provider  # type: ignore[attr-defined]
    provider._client = ssm
    ssm.meta.events.register("before-call.ssm.GetParameter", lambda **_: reads.append("read"))
    for minutes in range(3):
        _invoke(eventbridge(console_login(identity_type="Root", minutes=minutes)))
    assert len(slack.accepted) == 3
    assert reads == ["read"]


def _throttle(operation: str) -> Callable[..., None]:
    def raise_throttled(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
            operation,
        )

    return raise_throttled


@pytest.mark.parametrize("operation", ["PutItem", "Query"])
def test_throttling_raises_and_the_retry_loses_and_doubles_nothing(
    pipeline: Pipeline, slack: FakeSlack, operation: str
) -> None:
    for minutes in range(3):
        _invoke(_failure(minutes))
    store = pipeline.store
    assert isinstance(store, DynamoDbStore)
    events = store._client.meta.events
    hook = _throttle(operation)
    events.register(f"before-call.dynamodb.{operation}", hook, unique_id="throttle")
    fourth = _failure(3)
    with pytest.raises(StoreRetryableError, match="ProvisionedThroughputExceeded"):
        _invoke(fourth)
    events.unregister(f"before-call.dynamodb.{operation}", unique_id="throttle")
    assert _invoke(fourth)["alerts"] == ["repeated-failed-sign-ins"]
    assert _invoke(fourth)["alerts"] == []
    assert len(_items("ACCOUNT#")) == 4
    assert len(slack.accepted) == 1


def test_bad_events_are_logged_and_dropped_without_writes(
    pipeline: Pipeline, slack: FakeSlack
) -> None:
    wrong_type = eventbridge(console_login(), detail_type="AWS API Call via CloudTrail")
    no_detail = eventbridge(console_login())
    del no_detail["detail"]
    no_time = eventbridge(console_login())
    del no_time["detail"]["eventTime"]
    results = [_invoke(e) for e in (wrong_type, no_detail, no_time, {"junk": True})]
    # An envelope without detail matches no pattern: "not monitored" (design §3.1: selection
    # comes before validation), never malformed.
    assert [r["status"] for r in results] == ["ignored", "ignored", "malformed", "malformed"]
    assert _items("") == []
    assert slack.accepted == []


def test_related_and_odd_events_are_stored_without_alerts(
    pipeline: Pipeline, slack: FakeSlack
) -> None:
    check_mfa = eventbridge(console_login(event_name="CheckMfa"))
    huge = eventbridge(console_login(user_agent="A" * 200_000 + "\udcff\udc80"))
    results = [_invoke(e) for e in (check_mfa, huge)]
    assert [r["status"] for r in results] == ["stored", "stored"]
    assert [r["alerts"] for r in results] == [[], []]
    assert len(_items("ACCOUNT#")) == 2


def test_logs_are_json_lines_with_the_event_keys_and_never_the_webhook(
    aws: None, slack: FakeSlack, capfd: pytest.CaptureFixture[str]
) -> None:
    handler.reset()
    built = handler.get_pipeline()
    built.notifier.transport = httpx.MockTransport(slack.handle)  # type: ignore[attr-defined]
    try:
        _invoke(eventbridge(console_login(identity_type="Root")))
    finally:
        handler.reset()
    lines = [
        json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")
    ]
    processed = [line for line in lines if line["message"] == "event processed"]
    assert len(processed) == 1
    entry = processed[0]
    assert entry["service"] == "signin-monitor"
    assert entry["stored"] is True
    assert entry["alerts"] == ["root-sign-in"]
    assert entry["principal"] == "root"
    assert {"event_id", "account_id", "level", "timestamp", "cold_start"} <= entry.keys()
    assert all("handler-secret" not in json.dumps(line) for line in lines)


def test_four_concurrent_failures_give_one_message_and_duplicates_one_record(
    slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, moto_server: str
) -> None:
    # GIVEN the handler talking to a moto server over HTTP (requests really overlap)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ACTIVITY_TABLE": "concurrency",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SLACK_WEBHOOK_URL", WEBHOOK)
    monkeypatch.delenv("SLACK_WEBHOOK_PARAMETER", raising=False)
    handler.reset()
    built = handler.get_pipeline()
    built.notifier.transport = httpx.MockTransport(slack.handle)  # type: ignore[attr-defined]
    built.notifier.min_interval = 0  # type: ignore[attr-defined]
    user = f"concurrent-{os.getpid()}"
    failures = [_failure(minutes, user=user) for minutes in range(4)]
    root = eventbridge(console_login(identity_type="Root", account="777788889999"))
    try:
        # WHEN four failures, and eight copies of one root sign-in, arrive at once
        run_together([lambda e=e: _invoke(e) for e in failures])  # type: ignore[misc]
        results = run_together([lambda: _invoke(root)] * 8)
    finally:
        handler.reset()
    # THEN one repeated-failures message and one root message; the root event stored once
    rules = sorted(rule for payload in slack.accepted for rule in [_rule_of(payload)])
    assert rules == ["repeated-failed-sign-ins", "root-sign-in"]
    assert sorted(r["status"] for r in results) == ["duplicate"] * 7 + ["stored"]


def _rule_of(payload: dict[str, Any]) -> str:
    text: str = payload["blocks"][1]["elements"][0]["text"]
    return text.split("`")[1]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("FAILED_SIGNIN_THRESHOLD", "lots", "FAILED_SIGNIN_THRESHOLD='lots' is not valid"),
        ("ACTIVITY_TABLE", "", "ACTIVITY_TABLE=(not set) is not valid"),
    ],
)
def test_configuration_error_fails_the_cold_start_naming_the_variable(
    variable: str, value: str, expected: str
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k not in LAMBDA_VARIABLES},
        "AWS_LAMBDA_FUNCTION_NAME": "signin-monitor",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ACTIVITY_TABLE": TABLE,
        variable: value,
    }
    run = subprocess.run(
        [sys.executable, "-c", "import handler"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode != 0
    logged = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    assert [line["message"] for line in logged] == ["configuration error"]
    assert logged[0]["reason"].startswith(expected)


def test_configuration_error_in_process_raises_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAILED_SIGNIN_THRESHOLD", "0")
    handler.reset()
    with pytest.raises(ConfigError, match="FAILED_SIGNIN_THRESHOLD"):
        handler.get_pipeline()
    handler.reset()


# --- metrics (issue 9, point 5) ----------------------------------------------------------------


def _metric_lines(out: str) -> list[dict[str, Any]]:
    """The EMF objects printed on stdout (CloudWatch reads a JSON line with ``_aws``)."""
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [line for line in lines if "_aws" in line]


def _counts(capsys: pytest.CaptureFixture[str]) -> dict[str, int]:
    """The sum of each metric over the invocations since the last call."""
    total: dict[str, int] = {}
    for line in _metric_lines(capsys.readouterr().out):
        for definition in line["_aws"]["CloudWatchMetrics"]:
            for metric in definition["Metrics"]:
                total[metric["Name"]] = total.get(metric["Name"], 0) + line[metric["Name"]]
    return total


class _Context:
    function_name = "signin-monitor-test"
    aws_request_id = "req-1"

    def __init__(self, remaining_ms: int = 30_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_every_invocation_prints_one_emf_line_in_the_contract_shape(
    pipeline: Pipeline, slack: FakeSlack, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    # WHEN one root sign-in is handled
    handler.handler(eventbridge(console_login(identity_type="Root")), _Context())
    # THEN stdout holds exactly one EMF object: namespace, dimension, units and counts
    [line] = _metric_lines(capsys.readouterr().out)
    [definition] = line["_aws"]["CloudWatchMetrics"]
    assert definition["Namespace"] == "SigninMonitor"
    assert definition["Dimensions"] == [["FunctionName"]]
    names = [m["Name"] for m in definition["Metrics"]]
    assert set(names) == {
        "AlertsDelivered",
        "AlertsNotDelivered",
        "AlertsRetrying",
        "EventsDropped",
        "StoreErrors",
    }
    assert {m["Unit"] for m in definition["Metrics"]} == {"Count"}
    assert line["FunctionName"] == "signin-monitor-test"
    assert isinstance(line["_aws"]["Timestamp"], int)
    assert line["AlertsDelivered"] == 1
    assert line["AlertsNotDelivered"] == line["EventsDropped"] == line["StoreErrors"] == 0


def test_a_refused_alert_a_retried_one_and_a_dropped_event_are_counted(
    pipeline: Pipeline, slack: FakeSlack, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    # GIVEN Slack refusing one alert for good, failing another for now, and a malformed event
    slack.script = [httpx.Response(410, text="channel_is_archived")]
    handler.handler(eventbridge(console_login(identity_type="Root", minutes=0)), None)
    slack.script = [httpx.Response(500)] * 3
    with pytest.raises(Exception, match="retry"):
        handler.handler(eventbridge(console_login(identity_type="Root", minutes=1)), None)
    handler.handler({"junk": True}, None)
    # THEN each is counted where the alarms look
    counts = _counts(capsys)
    assert counts["AlertsNotDelivered"] == 1
    assert counts["AlertsRetrying"] == 1
    assert counts["EventsDropped"] == 1
    assert counts["AlertsDelivered"] == 0


def test_an_event_the_store_cannot_hold_is_dropped_and_counted_not_retried(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a store refusing the record as unstorable (a MalformedRecordError)
    from signin_monitor.errors import MalformedRecordError

    def unstorable(*_args: object, **_kwargs: object) -> bool:
        raise MalformedRecordError("item too large for DynamoDB", source="dynamodb")

    monkeypatch.setattr(pipeline.store, "record", unstorable)
    capsys.readouterr()
    # WHEN it is handled THEN it is dropped (no raise, no retry) and counted
    result = handler.handler(eventbridge(console_login()), None)
    assert result["status"] == "malformed"
    assert _counts(capsys)["EventsDropped"] == 1


def test_a_final_store_error_is_counted_and_raised_for_the_dead_letter_queue(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a store failing in a way no retry fixes
    from signin_monitor.errors import StoreError

    def broken(*_args: object, **_kwargs: object) -> bool:
        raise StoreError("AccessDeniedException")

    monkeypatch.setattr(pipeline.store, "record", broken)
    capsys.readouterr()
    # WHEN handled THEN it raises (Lambda's retries, then the DLQ keep it) and is counted
    with pytest.raises(StoreError):
        handler.handler(eventbridge(console_login()), None)
    assert _counts(capsys)["StoreErrors"] == 1


def test_a_retryable_store_error_is_raised_and_not_counted_as_final(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def throttled(*_args: object, **_kwargs: object) -> bool:
        raise StoreRetryableError("ProvisionedThroughputExceededException")

    monkeypatch.setattr(pipeline.store, "record", throttled)
    capsys.readouterr()
    with pytest.raises(StoreRetryableError):
        handler.handler(eventbridge(console_login()), None)
    assert _counts(capsys)["StoreErrors"] == 0


# --- the time budget and the lease (issue 9, point 6) ------------------------------------------


def test_an_invocation_nearly_out_of_time_releases_the_claim_instead_of_posting(
    pipeline: Pipeline, slack: FakeSlack
) -> None:
    # GIVEN an invocation with less time left than the release margin
    event = eventbridge(console_login(identity_type="Root"))
    # WHEN the handler would post THEN it raises a retryable error without posting
    with pytest.raises(Exception, match="retry"):
        handler.handler(event, _Context(remaining_ms=1000))
    assert slack.accepted == []
    # AND the claim is released: the retry, with time, posts it at once
    assert [c["status"]["S"] for c in _items("ALERT#")] == ["pending"]
    assert handler.handler(event, _Context())["alerts"] == ["root-sign-in"]
    assert len(slack.accepted) == 1


def test_the_claim_lease_comes_from_claim_lease_seconds(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAIM_LEASE_SECONDS", "45")
    handler.reset()
    try:
        built = handler.get_pipeline()
        assert isinstance(built.store, DynamoDbStore)
        assert built.store.lease_seconds == 45
        assert built.lease_seconds == 45
    finally:
        handler.reset()
