"""The routing document: which destinations an alert goes to, and the errors a bad one gives.

Pure: parsing and matching only (delivery is in test_routing_delivery.py). Every error names
the route or destination and what is accepted, and never shows a webhook URL.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from signin_monitor.alerts import Alert, Severity
from signin_monitor.errors import ConfigError, RoutingError
from signin_monitor.routing import (
    DIGEST,
    WEBHOOK,
    Routing,
    destination_alert,
    destination_of,
    destination_scope,
    parse_routing,
)
from signin_monitor.store.schema import alert_scope
from tests.factories import OTHER_ACCOUNT, sign_in

SECRET = "https://hooks.example.invalid/services/T0/B0/routing-secret"

DOCUMENT: dict[str, Any] = {
    "destinations": {
        "security": {"webhook_parameter": "/signin-monitor/webhooks/security"},
        "paging": {"webhook_parameter": "/signin-monitor/webhooks/paging"},
        "team-a": {"webhook_parameter": "/signin-monitor/webhooks/team-a"},
    },
    "routes": [
        {"severity": ["critical"], "to": ["security", "paging"]},
        {"severity": ["medium"], "to": ["digest"]},
        {"account": [OTHER_ACCOUNT], "to": ["team-a"]},
        {"rule": ["trail-tampering"], "to": ["paging"]},
    ],
    "default": ["security"],
    "digest": "security",
}


def _routing(document: dict[str, Any] = DOCUMENT, *, local: bool = False) -> Routing:
    return parse_routing(
        json.dumps(document), variable="ROUTING_PARAMETER", local=local, webhook_configured=True
    )


def _alert(
    severity: Severity, *, rule: str = "root-sign-in", account: str = "111122223333"
) -> Alert:
    event = sign_in(account=account)
    return Alert(rule_id=rule, severity=severity, title="t", event=event, scope=event.event_id)


def _error(document: Any, *, local: bool = False, webhook: bool = True) -> str:
    text = document if isinstance(document, str) else json.dumps(document)
    with pytest.raises(RoutingError) as caught:
        parse_routing(text, variable="ROUTING_PARAMETER", local=local, webhook_configured=webhook)
    assert isinstance(caught.value, ConfigError)  # the cold start fails like any bad setting
    message = str(caught.value)
    assert "routing-secret" not in message
    assert "hooks.example.invalid" not in message
    return message


# --- decisions ----------------------------------------------------------------------------------


def test_critical_goes_to_security_and_paging() -> None:
    assert _routing().destinations_for(_alert(Severity.CRITICAL)) == ("security", "paging")


def test_medium_goes_to_the_digest_only() -> None:
    assert _routing().destinations_for(_alert(Severity.MEDIUM, rule="new-source-network")) == (
        DIGEST,
    )


def test_an_alert_no_route_matches_goes_to_the_default() -> None:
    assert _routing().destinations_for(_alert(Severity.HIGH)) == ("security",)


def test_the_account_route_adds_the_teams_channel_to_every_other_match() -> None:
    routing = _routing()
    high = _alert(Severity.HIGH, account=OTHER_ACCOUNT)
    critical = _alert(Severity.CRITICAL, account=OTHER_ACCOUNT)
    assert routing.destinations_for(high) == ("team-a",)  # a match: no default
    assert routing.destinations_for(critical) == ("security", "paging", "team-a")


def test_a_rule_route_matches_on_the_rule_id_and_a_destination_is_listed_once() -> None:
    routing = _routing()
    tampering = _alert(Severity.CRITICAL, rule="trail-tampering")
    assert routing.destinations_for(tampering) == ("security", "paging")
    assert routing.destinations_for(_alert(Severity.HIGH, rule="trail-tampering")) == ("paging",)


def test_every_condition_of_a_route_must_hold() -> None:
    document = {
        **DOCUMENT,
        "routes": [{"severity": ["high"], "account": [OTHER_ACCOUNT], "to": ["team-a"]}],
    }
    routing = _routing(document)
    assert routing.destinations_for(_alert(Severity.HIGH, account=OTHER_ACCOUNT)) == ("team-a",)
    assert routing.destinations_for(_alert(Severity.HIGH)) == ("security",)
    assert routing.destinations_for(_alert(Severity.CRITICAL, account=OTHER_ACCOUNT)) == (
        "security",
    )


def test_without_a_default_the_default_route_is_todays_webhook() -> None:
    document = {key: value for key, value in DOCUMENT.items() if key != "default"}
    routing = _routing(document)
    assert routing.destinations_for(_alert(Severity.HIGH)) == (WEBHOOK,)
    assert routing.uses_webhook


def test_the_digest_destination_is_exposed() -> None:
    assert _routing().digest_destination == "security"
    without = {key: value for key, value in DOCUMENT.items() if key != "digest"}
    assert _routing(without).digest_destination is None


def test_a_file_may_give_the_url_or_an_environment_variable_never_shown() -> None:
    document = {
        "destinations": {"a": {"webhook_url": SECRET}, "b": {"webhook_env": "B_HOOK"}},
        "default": ["a", "b"],
    }
    routing = _routing(document, local=True)
    assert routing.destinations_for(_alert(Severity.HIGH)) == ("a", "b")
    assert "routing-secret" not in repr(routing)


# --- validation ---------------------------------------------------------------------------------


def test_an_unknown_destination_names_the_route_and_the_known_ones() -> None:
    document = {**DOCUMENT, "routes": [DOCUMENT["routes"][0], {"to": ["pagng"]}]}
    message = _error(document)
    assert message.startswith("ROUTING_PARAMETER: route 2:")
    assert '"to" names unknown destination "pagng"' in message
    assert "known: paging, security, team-a" in message


def test_an_unknown_default_destination_is_named() -> None:
    assert "default" in _error({**DOCUMENT, "default": ["nobody"]})


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ({"severity": ["urgent"], "to": ["security"]}, '"severity" value "urgent"'),
        ({"rule": ["root-login"], "to": ["security"]}, '"rule" value "root-login"'),
        ({"account": ["12345"], "to": ["security"]}, "12-digit account ids"),
        ({"severity": "critical", "to": ["security"]}, '"severity" must be a non-empty list'),
        ({"severity": ["critical"]}, '"to" is required'),
        ({"to": []}, '"to" must be a non-empty list'),
        ({"to": ["security"], "sevrity": ["high"]}, 'unknown key "sevrity"'),
    ],
)
def test_a_bad_route_is_named_with_what_is_accepted(route: dict[str, Any], expected: str) -> None:
    message = _error({**DOCUMENT, "routes": [route]})
    assert message.startswith("ROUTING_PARAMETER: route 1: ")
    assert expected in message


def test_a_url_in_the_ssm_document_is_refused_without_showing_it() -> None:
    document = {"destinations": {"security": {"webhook_url": SECRET}}, "default": ["security"]}
    message = _error(document)
    assert 'destination "security"' in message
    assert "webhook_parameter only" in message


def test_a_bad_url_in_a_file_is_refused_without_showing_it() -> None:
    bad = SECRET.replace("https", "http")
    document = {"destinations": {"security": {"webhook_url": bad}}, "default": ["security"]}
    assert "webhook_url must be an https:// webhook URL" in _error(document, local=True)


@pytest.mark.parametrize(
    ("destinations", "expected"),
    [
        ({"digest": {"webhook_parameter": "/x"}}, "reserved"),
        ({"Security Team": {"webhook_parameter": "/x"}}, "the name must be"),
        ({"security": {}}, "needs exactly one of webhook_parameter"),
        ({"security": {"webhook_parameter": "bad name!"}}, "webhook_parameter must be"),
        ({"security": {"webhook_parameter": "/x", "channel": "#sec"}}, 'unknown key "channel"'),
    ],
)
def test_a_bad_destination_is_named(destinations: dict[str, Any], expected: str) -> None:
    message = _error({"destinations": destinations, "default": ["webhook"]})
    assert "destination" in message
    assert expected in message


def test_naming_todays_webhook_needs_it_configured() -> None:
    message = _error({"routes": [{"to": ["webhook"]}], "default": ["webhook"]}, webhook=False)
    assert "route 1" in message
    assert "SLACK_WEBHOOK_PARAMETER" in message
    assert "default" in _error({"destinations": {}}, webhook=False)


def test_the_digest_must_name_a_destination_that_posts() -> None:
    assert "digest: must name the destination" in _error({**DOCUMENT, "digest": "digest"})
    assert "digest: must name" in _error({**DOCUMENT, "digest": "nowhere"})


def test_not_json_and_not_an_object_and_unknown_top_level_keys() -> None:
    assert "not valid JSON" in _error("{")
    assert "a JSON object" in _error("[]")
    assert 'unknown key "route"' in _error({"route": []})


# --- destination claim scopes -------------------------------------------------------------------


def test_a_destination_scope_names_its_destination_and_rule_scopes_name_none() -> None:
    event = sign_in(user="to")
    one_off = alert_scope(event.event_id)
    windowed = f"{alert_scope(event.account_id, 'to')}#W3600#493512"
    assert destination_of(destination_scope(one_off, "paging")) == "paging"
    assert destination_of(destination_scope(windowed, "team-a")) == "team-a"
    assert destination_of(one_off) is None
    assert destination_of(windowed) is None  # a principal named "to" is not a destination
    assert destination_of(alert_scope("111122223333", "x#to#y")) is None


def test_a_destination_alert_is_a_one_off_claim_under_the_claimed_alerts_scope() -> None:
    event = sign_in()
    windowed = Alert(
        rule_id="repeated-failed-sign-ins",
        severity=Severity.HIGH,
        title="t",
        event=event,
        scope=alert_scope(event.account_id, event.principal),
        window=timedelta(minutes=60),
    )
    target = destination_alert(windowed, "paging")
    assert target.window is None
    assert target.event is event
    assert target.claim_key == (windowed.rule_id, f"{windowed.claim_key[1]}#to#paging")
