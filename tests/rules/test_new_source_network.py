"""new-source-network: a known principal from a network it has not used in the lookback."""

from __future__ import annotations

from typing import Any

import pytest

from signin_monitor.alerts import Severity
from signin_monitor.config import Settings
from signin_monitor.networks import network_of
from signin_monitor.rules import NewSourceNetwork, rules_from_settings
from signin_monitor.slack import render
from tests.factories import OTHER_ACCOUNT, console_login
from tests.rules.conftest import Deliver, only

RULE = "new-source-network"
DAY = 24 * 60


def _success(days: float = 0, **kwargs: Any) -> dict[str, Any]:
    return console_login(minutes=days * DAY, **kwargs)


def test_a_principal_seen_for_the_first_time_teaches_and_does_not_alert(
    deliver: Deliver,
) -> None:
    assert only(RULE, deliver([_success(source_ip="203.0.113.5")])) == []


def test_the_same_slash_24_is_known_and_another_is_new(deliver: Deliver) -> None:
    first = _success(-10, source_ip="198.51.100.7")
    assert only(RULE, deliver([first, _success(-5, source_ip="198.51.100.250")])) == []
    new = _success(source_ip="198.51.101.7")
    (alert,) = only(RULE, deliver([new]))
    assert alert.severity is Severity.MEDIUM
    assert alert.network == "198.51.101.0/24"
    # AND Slack names the network and the last sign-in from a known one
    text = next(b for b in render(alert)["blocks"] if b["type"] == "section" and "text" in b)
    assert "`198.51.101.0/24`" in text["text"]["text"]
    assert "`198.51.100.250`" in text["text"]["text"]  # the latest known, five days ago


def test_ipv6_groups_by_slash_48(deliver: Deliver) -> None:
    deliver([_success(-3, source_ip="2001:db8:1:1::10")])
    assert only(RULE, deliver([_success(-2, source_ip="2001:db8:1:ffff::1")])) == []
    (alert,) = only(RULE, deliver([_success(source_ip="2001:db8:2::1")]))
    assert alert.network == "2001:db8:2::/48"


def test_a_non_ip_source_neither_alerts_nor_teaches(deliver: Deliver) -> None:
    # GIVEN only a sign-in from "AWS Internal" THEN the next one from an IP is still the first
    assert only(RULE, deliver([_success(-1, source_ip="AWS Internal")])) == []
    assert only(RULE, deliver([_success(source_ip="203.0.113.5")])) == []
    # AND a later "AWS Internal" sign-in raises nothing
    assert only(RULE, deliver([_success(1, source_ip="AWS Internal")])) == []


@pytest.mark.parametrize(("days_ago", "alerts"), [(89, 0), (91, 1)])
def test_the_lookback_a_day_short_and_a_day_over(
    deliver: Deliver, days_ago: int, alerts: int
) -> None:
    # GIVEN alice signed in from network A `days_ago` days back and from B 10 days back
    deliver([_success(-days_ago, source_ip="192.0.2.1"), _success(-10, source_ip="203.0.113.1")])
    # WHEN she signs in from A again THEN A is known 89 days back, forgotten 91 days back
    assert len(only(RULE, deliver([_success(source_ip="192.0.2.99")]))) == alerts


def test_successes_only_beyond_the_lookback_teach_nothing(deliver: Deliver) -> None:
    deliver([_success(-91, source_ip="192.0.2.1")])
    assert only(RULE, deliver([_success(source_ip="203.0.113.1")])) == []


def test_failures_other_principals_and_accounts_are_not_known_networks(
    deliver: Deliver,
) -> None:
    deliver(
        [
            _success(-5, source_ip="192.0.2.1"),
            console_login(result="Failure", source_ip="203.0.113.1", minutes=-4 * DAY),
            _success(-3, user="bob", source_ip="203.0.113.1"),
            _success(-2, account=OTHER_ACCOUNT, source_ip="203.0.113.1"),
        ]
    )
    assert len(only(RULE, deliver([_success(source_ip="203.0.113.2")]))) == 1


def test_a_duplicate_delivery_gives_one_message(deliver: Deliver) -> None:
    deliver([_success(-5, source_ip="192.0.2.1")])
    new = _success(source_ip="203.0.113.1")
    assert len(only(RULE, deliver([new, new]))) == 1


def test_a_lookback_of_zero_days_turns_the_rule_off() -> None:
    assert RULE in [r.id for r in rules_from_settings(Settings())]
    off = Settings(new_network_lookback_days=0)
    assert RULE not in [r.id for r in rules_from_settings(off)]


def test_networks_are_slash_24_and_slash_48_and_none_for_other_sources() -> None:
    assert network_of("198.51.100.7") == "198.51.100.0/24"
    assert network_of("::ffff:198.51.100.7") == "198.51.100.0/24"
    assert network_of("2001:db8:abcd:12::1") == "2001:db8:abcd::/48"
    assert network_of("AWS Internal") is None
    assert network_of("signin.amazonaws.com") is None
    lookback = Settings().new_network_lookback
    assert lookback is not None
    assert NewSourceNetwork(lookback=lookback).id == RULE
