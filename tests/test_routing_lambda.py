"""Routing on the Lambda path (handler under moto, the document in moto SSM), on the command line
(a routing file: replay, test-alert, resend), and in Terraform."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws

import handler
import signin_monitor.app
from signin_monitor.cli import main as cli_main
from signin_monitor.config import LAMBDA_VARIABLES, LOCAL_ONLY_VARIABLES
from signin_monitor.errors import ConfigError, RoutingError, SlackRetryableError
from signin_monitor.resend import resend_undelivered
from signin_monitor.routing import RoutedNotifier
from signin_monitor.slack import SlackWebhookNotifier
from signin_monitor.store.dynamodb_admin import create_table
from tests.factories import console_login, eventbridge
from tests.lambda_env import lambda_environment
from tests.terraform.test_terraform_contract import _data, _resource, _variables
from tests.test_routing_delivery import DOCUMENT, URLS, FakeHooks

TABLE = "routing-lambda"
ROUTING = "/signin-monitor/routing"
MAIN = "/signin-monitor/slack-webhook-url"
MAIN_URL = "https://hooks.example.invalid/services/T0/main/routing-secret"
SSM_DOCUMENT = {
    **DOCUMENT,
    "destinations": {
        name: {"webhook_parameter": f"/signin-monitor/webhooks/{name}"} for name in URLS
    },
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto with the table, today's webhook, each destination's webhook and the document."""
    lambda_environment(
        monkeypatch,
        ACTIVITY_TABLE=TABLE,
        SLACK_WEBHOOK_PARAMETER=MAIN,
        ROUTING_PARAMETER=ROUTING,
    )
    with mock_aws():
        create_table(boto3.client("dynamodb", region_name="us-east-1"), TABLE)
        ssm = boto3.client("ssm", region_name="us-east-1")
        ssm.put_parameter(Name=MAIN, Value=MAIN_URL, Type="SecureString")
        for name, url in URLS.items():
            ssm.put_parameter(
                Name=f"/signin-monitor/webhooks/{name}", Value=url, Type="SecureString"
            )
        ssm.put_parameter(Name=ROUTING, Value=json.dumps(SSM_DOCUMENT), Type="SecureString")
        handler.reset()
        yield ssm
        handler.reset()


def _cold_start(hooks: FakeHooks) -> RoutedNotifier:
    router = handler.get_pipeline().notifier
    assert isinstance(router, RoutedNotifier)
    for notifier in router.notifiers.values():
        assert isinstance(notifier, SlackWebhookNotifier)
        notifier.transport = httpx.MockTransport(hooks.handle)
        notifier.sleep = lambda _seconds: None
        notifier.min_interval = 0.0
    return router


def _root_event() -> dict[str, Any]:
    return eventbridge(console_login(identity_type="Root", event_id="lambda-root-1"))


def test_the_handler_fans_out_and_a_retry_posts_only_where_it_failed(aws: Any) -> None:
    # GIVEN a cold start with the routing document in SSM, paging answering 503 three times
    hooks = FakeHooks()
    _cold_start(hooks)
    hooks.fail("paging", 503, 503, 503)
    event = _root_event()
    # WHEN the critical sign-in arrives THEN security has it and the invocation fails (retry)
    with pytest.raises(SlackRetryableError):
        handler.handler(event, None)
    assert hooks.counts() == {"security": 1, "paging": 0, "team-a": 0}
    # WHEN Lambda retries it THEN paging gets it, security not again: one message in each
    result = handler.handler(event, None)
    assert result["alerts"] == ["root-sign-in"]
    assert hooks.counts() == {"security": 1, "paging": 1, "team-a": 0}
    handler.handler(event, None)
    assert hooks.counts() == {"security": 1, "paging": 1, "team-a": 0}


def test_a_destinations_rotated_webhook_is_read_again_after_a_404(aws: Any) -> None:
    # GIVEN paging's hook revoked and its parameter holding a new URL after the cold start
    hooks = FakeHooks()
    paging = _cold_start(hooks).notifiers["paging"]
    assert isinstance(paging, SlackWebhookNotifier)
    assert paging.url_provider() == URLS["paging"]  # read and cached, as by an earlier post
    rotated = URLS["team-a"]  # another fake hook stands in for the new URL
    aws.put_parameter(
        Name="/signin-monitor/webhooks/paging", Value=rotated, Type="SecureString", Overwrite=True
    )
    hooks.fail("paging", 404)
    # WHEN the alert fans out THEN paging's message lands on the new URL, once
    handler.handler(_root_event(), None)
    assert hooks.counts() == {"security": 1, "paging": 0, "team-a": 1}


def test_a_bad_document_fails_the_cold_start_naming_the_route_never_a_url(aws: Any) -> None:
    bad = {**SSM_DOCUMENT, "routes": [{"to": ["security"]}, {"to": ["pagng"]}]}
    aws.put_parameter(Name=ROUTING, Value=json.dumps(bad), Type="SecureString", Overwrite=True)
    with pytest.raises(RoutingError) as caught:
        handler.get_pipeline()
    message = str(caught.value)
    assert message.startswith('ROUTING_PARAMETER: route 2: "to" names unknown destination')
    assert "hooks.example.invalid" not in message
    # A URL in the SSM document is refused without being shown
    leaky = {"destinations": {"security": {"webhook_url": MAIN_URL}}, "default": ["security"]}
    aws.put_parameter(Name=ROUTING, Value=json.dumps(leaky), Type="SecureString", Overwrite=True)
    with pytest.raises(RoutingError) as caught:
        handler.get_pipeline()
    assert "routing-secret" not in str(caught.value)


def test_a_missing_routing_parameter_names_the_setting(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROUTING_PARAMETER", "/signin-monitor/no-such-routing")
    with pytest.raises(ConfigError) as caught:
        handler.get_pipeline()
    assert "ROUTING_PARAMETER" in str(caught.value)
    assert "ParameterNotFound" in str(caught.value)


# --- the command line, with a routing file ------------------------------------------------------


@pytest.fixture
def cli_hooks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeHooks:
    """A routing file (URLs given directly and through an environment variable), fake hooks."""
    for name in (*LAMBDA_VARIABLES, *LOCAL_ONLY_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    document = json.loads(json.dumps(DOCUMENT))
    document["destinations"]["paging"] = {"webhook_env": "PAGING_HOOK"}
    path = tmp_path / "routing.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    monkeypatch.setenv("ROUTING_FILE", str(path))
    monkeypatch.setenv("PAGING_HOOK", URLS["paging"])
    hooks = FakeHooks()
    monkeypatch.setattr(
        signin_monitor.app,
        "SlackWebhookNotifier",
        functools.partial(
            SlackWebhookNotifier,
            transport=httpx.MockTransport(hooks.handle),
            sleep=lambda _: None,
            min_interval=0.0,
        ),
    )
    return hooks


def _events_file(tmp_path: Path) -> str:
    path = tmp_path / "events.json"
    path.write_text(json.dumps(_root_event()), encoding="utf-8")
    return str(path)


def test_replay_posts_per_the_routes_and_prints_each_alert_once(
    cli_hooks: FakeHooks, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "cli.db")
    assert cli_main(["replay", "--json", "--db", db, _events_file(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["rule"] for line in lines] == ["root-sign-in"]
    assert cli_hooks.counts() == {"security": 1, "paging": 1, "team-a": 0}


def test_resend_posts_a_refused_alert_only_to_the_destination_that_refused_it(
    cli_hooks: FakeHooks, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a replay in which paging's hook refused the alert for good
    db = str(tmp_path / "cli.db")
    cli_hooks.fail("paging", 403)
    assert cli_main(["replay", "--db", db, _events_file(tmp_path)]) == 1
    assert cli_hooks.counts() == {"security": 1, "paging": 0, "team-a": 0}
    capsys.readouterr()
    # WHEN resend runs THEN it posts to paging only, and says so
    assert cli_main(["resend", "--json", "--db", db]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["destination"] == "paging"
    assert json.loads(line)["status"] == "sent"
    assert cli_hooks.counts() == {"security": 1, "paging": 1, "team-a": 0}


def test_test_alert_posts_to_one_destination_or_to_every_one(
    cli_hooks: FakeHooks, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["test-alert", "--destination", "paging"]) == 0
    assert cli_hooks.counts() == {"security": 0, "paging": 1, "team-a": 0}
    assert cli_main(["test-alert"]) == 0
    assert cli_hooks.counts() == {"security": 1, "paging": 2, "team-a": 1}
    assert cli_main(["test-alert", "--destination", "pagng"]) == 2
    err = capsys.readouterr().err
    assert "pagng" in err
    assert "routing-secret" not in err


def test_a_bad_routing_file_is_a_usage_error_naming_the_destination(
    cli_hooks: FakeHooks, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PAGING_HOOK")
    assert cli_main(["test-alert"]) == 2
    err = capsys.readouterr().err
    assert "destination 'paging'" in err
    assert "PAGING_HOOK is not set" in err


# --- Terraform ----------------------------------------------------------------------------------


def test_terraform_writes_the_document_and_sets_routing_parameter() -> None:
    document = _resource("aws_ssm_parameter", "routing")
    assert document["type"] == "SecureString"
    assert document["key_id"] == "${local.kms_key_arn}"
    assert document["value"] == "${jsonencode(local.routing_document)}"
    lambda_function = _resource("aws_lambda_function", "this")
    variables = lambda_function["environment"][0]["variables"]
    assert "aws_ssm_parameter.routing[0].name" in variables["ROUTING_PARAMETER"]


def test_terraform_writes_destination_urls_write_only_from_an_ephemeral_variable() -> None:
    urls = _variables()["routing_webhook_urls"]
    assert urls["sensitive"] is True
    assert urls["ephemeral"] is True
    webhook = _resource("aws_ssm_parameter", "destination_webhook_url")
    assert webhook["type"] == "SecureString"
    assert webhook["value_wo"] == "${var.routing_webhook_urls[each.key]}"
    assert "value" not in webhook
    module = Path(__file__).resolve().parents[1] / "terraform"
    uses = [
        path.name
        for path in sorted(module.glob("*.tf"))
        if path.name != "variables.tf"
        and re.search(r"var\.routing_webhook_urls\b", path.read_text(encoding="utf-8"))
    ]
    assert uses == ["ssm.tf"]


def test_terraform_grants_get_parameter_on_exactly_the_routing_parameters() -> None:
    policy = _data("aws_iam_policy_document", "lambda")
    (dynamic,) = [block["statement"] for block in policy["dynamic"] if "statement" in block]
    (statement,) = dynamic["content"]
    assert statement["sid"] == "RoutingParameters"
    assert statement["actions"] == ["ssm:GetParameter"]
    assert statement["resources"] == (
        "${concat(aws_ssm_parameter.routing[*].arn, [for parameter in "
        "aws_ssm_parameter.destination_webhook_url : parameter.arn], local.routing_given_arns)}"
    )


def test_the_scheduled_digest_is_posted_to_the_documents_digest_destination(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a routing document whose daily digest goes to paging, and a day with a root alert
    document = {**SSM_DOCUMENT, "digest": "paging"}
    aws.put_parameter(Name=ROUTING, Value=json.dumps(document), Type="SecureString", Overwrite=True)
    hooks = FakeHooks()
    main_hook: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if str(request.url) == MAIN_URL:
            main_hook.append(request)
            return httpx.Response(200, text="ok")
        return hooks.handle(request)

    monkeypatch.setattr(
        signin_monitor.app,
        "SlackWebhookNotifier",
        functools.partial(
            SlackWebhookNotifier, transport=httpx.MockTransport(handle), sleep=lambda _: None
        ),
    )
    handler.reset()
    handler.handler(_root_event(), None)
    day = json.loads(json.dumps(_root_event()))["detail"]["eventTime"][:10]
    before = hooks.counts()
    # WHEN the Scheduler invokes the digest of that day (twice: a retry)
    digest = {"signin-monitor": "digest", "day": day, "accounts": ["111122223333"]}
    handler.handler(digest, None)
    handler.handler(digest, None)
    # THEN paging got one message more (the digest), security and the main webhook none
    after = hooks.counts()
    assert after["paging"] == before["paging"] + 1
    assert after["security"] == before["security"]
    assert main_hook == []
    assert "Sign-in digest for" in json.dumps(hooks.accepted[URLS["paging"]][-1])


def test_a_refused_digest_is_kept_for_its_destination_and_resent_only_there(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the document's digest destination (paging) refusing the digest for good
    document = {**SSM_DOCUMENT, "digest": "paging"}
    aws.put_parameter(Name=ROUTING, Value=json.dumps(document), Type="SecureString", Overwrite=True)
    hooks = FakeHooks()
    monkeypatch.setattr(
        signin_monitor.app,
        "SlackWebhookNotifier",
        functools.partial(
            SlackWebhookNotifier,
            transport=httpx.MockTransport(hooks.handle),
            sleep=lambda _: None,
        ),
    )
    handler.reset()
    handler.handler(_root_event(), None)
    day = _root_event()["detail"]["eventTime"][:10]
    before = hooks.counts()
    hooks.fail("paging", 410)
    # WHEN the Scheduler invokes the digest
    handler.handler({"signin-monitor": "digest", "day": day, "accounts": ["111122223333"]}, None)
    # THEN it is kept as undelivered for paging (not for the default webhook)
    store = handler.get_pipeline().store
    [kept] = [a for a in store.undelivered_alerts() if a.rule_id == "digest"]
    assert kept.scope == f"{day}#to#paging"
    # WHEN resend runs with the same routing THEN paging gets the digest, nobody else
    router = handler.get_pipeline().notifier
    [result] = [r for r in resend_undelivered(store, router) if r.alert.rule_id == "digest"]
    assert result.destination == "paging"
    after = hooks.counts()
    assert after["paging"] == before["paging"] + 1
    assert after["security"] == before["security"]
    assert after["team-a"] == before["team-a"]
