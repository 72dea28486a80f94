"""Account names: Organizations (moto), a static fallback, a cache refreshed on a miss."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from signin_monitor.accounts import (
    ROLE_ARN_PATTERN,
    ChainedAccountNames,
    OrganizationsAccountNames,
    StaticAccountNames,
    build_account_names,
    label,
    parse_static_names,
)
from tests.organization.conftest import Organization


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _CountingFactory:
    """Hands out real (moto) Organizations clients and counts the ListAccounts calls."""

    def __init__(self) -> None:
        self.list_calls = 0

    def __call__(self) -> Any:
        client = boto3.client("organizations", region_name="us-east-1")

        def count(**_: Any) -> None:
            self.list_calls += 1

        client.meta.events.register("before-call.organizations.ListAccounts", count)
        return client


def test_names_come_from_organizations(organization: Organization) -> None:
    names = OrganizationsAccountNames()
    for account_id, name in organization.members.items():
        assert names.name(account_id) == name
    assert names.name(organization.management_id) == "master"  # moto's management account name


def test_one_list_accounts_serves_every_known_account(organization: Organization) -> None:
    factory = _CountingFactory()
    names = OrganizationsAccountNames(client_factory=factory)
    for account_id in organization.members:
        names.name(account_id)
        names.name(account_id)
    assert factory.list_calls == 1


def test_a_miss_refreshes_at_most_once_per_period(organization: Organization) -> None:
    clock, factory = _Clock(), _CountingFactory()
    names = OrganizationsAccountNames(
        client_factory=factory, clock=clock, refresh_after=timedelta(minutes=15)
    )
    assert names.name("999999999999") is None
    assert names.name("999999999999") is None  # within the period: no second call
    assert factory.list_calls == 1
    # An account joins; its first alert within the period still shows the id only...
    client = boto3.client("organizations", region_name="us-east-1")
    joined = client.create_account(Email="new@example.invalid", AccountName="new-team")
    new_id = joined["CreateAccountStatus"]["AccountId"]
    assert names.name(new_id) is None
    assert factory.list_calls == 1
    # ...and once the period is over, the miss reads the organization again.
    clock.now += 15 * 60
    assert names.name(new_id) == "new-team"
    assert factory.list_calls == 2


def test_names_are_read_through_an_assumed_role(organization: Organization) -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(
        RoleName="signin-monitor-account-names",
        AssumeRolePolicyDocument='{"Version": "2012-10-17", "Statement": []}',
    )["Role"]
    assert ROLE_ARN_PATTERN.match(role["Arn"])
    names = OrganizationsAccountNames(role_arn=role["Arn"], region_name="us-east-1")
    account_id, name = next(iter(organization.members.items()))
    assert names.name(account_id) == name


def _failing_factory(code: str) -> Any:
    """A moto client whose ListAccounts fails as AWS answers (moto lists nothing instead)."""
    from botocore.exceptions import ClientError

    def factory() -> Any:
        client = boto3.client("organizations", region_name="us-east-1")

        def fail(**_: Any) -> None:
            raise ClientError({"Error": {"Code": code, "Message": code}}, "ListAccounts")

        client.meta.events.register("before-call.organizations.ListAccounts", fail)
        return client

    return factory


def test_no_organization_gives_none_and_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with mock_aws():
        names = OrganizationsAccountNames(
            client_factory=_failing_factory("AWSOrganizationsNotInUseException")
        )
        with caplog.at_level(logging.WARNING, logger="signin_monitor.accounts"):
            assert names.name("111122223333") is None
            assert names.name("111122223333") is None  # no second call, no second warning
    (record,) = caplog.records
    assert record.getMessage().startswith("account names unavailable")
    assert record.__dict__["error_code"] == "AWSOrganizationsNotInUseException"


def test_access_denied_to_list_accounts_falls_back_to_describe_account(
    organization: Organization,
) -> None:
    names = OrganizationsAccountNames(client_factory=_failing_factory("AccessDeniedException"))
    account_id, name = next(iter(organization.members.items()))
    assert names.name(account_id) == name


def test_a_broken_client_is_never_fatal(caplog: pytest.LogCaptureFixture) -> None:
    from botocore.exceptions import EndpointConnectionError

    def factory() -> Any:
        raise EndpointConnectionError(endpoint_url="https://organizations.invalid")

    names = OrganizationsAccountNames(client_factory=factory)
    with caplog.at_level(logging.WARNING, logger="signin_monitor.accounts"):
        assert names.name("111122223333") is None
    assert len(caplog.records) == 1


def test_static_map_is_the_fallback(organization: Organization) -> None:
    names = ChainedAccountNames(
        OrganizationsAccountNames(), StaticAccountNames({"444455556666": "partner-account"})
    )
    assert names.name("444455556666") == "partner-account"
    account_id, name = next(iter(organization.members.items()))
    assert names.name(account_id) == name


def test_parse_static_names() -> None:
    assert parse_static_names('{"111122223333": " prod "}') == {"111122223333": "prod"}
    assert parse_static_names('{"111122223333": "' + "x" * 80 + '"}')["111122223333"] == "x" * 50
    for bad, reason in [
        ("[1]", "a JSON object"),
        ("{", "not JSON"),
        ('{"prod": "111122223333"}', "12-digit"),
        ('{"111122223333": ""}', "non-empty"),
        ('{"111122223333": 5}', "non-empty"),
    ]:
        with pytest.raises(ValueError, match=reason):
            parse_static_names(bad)


def test_build_account_names_follows_the_settings() -> None:
    assert build_account_names(organizations=False) is None
    static = build_account_names(organizations=False, static_names={"111122223333": "prod"})
    assert isinstance(static, StaticAccountNames)
    assert isinstance(build_account_names(organizations=True), OrganizationsAccountNames)
    role = "arn:aws:iam::111122223333:role/names"
    assert isinstance(
        build_account_names(organizations=False, role_arn=role), OrganizationsAccountNames
    )
    both = build_account_names(organizations=True, static_names={"111122223333": "prod"})
    assert isinstance(both, ChainedAccountNames)


def test_label() -> None:
    assert label("111122223333", "prod") == "prod (111122223333)"
    assert label("111122223333", None) == "111122223333"
