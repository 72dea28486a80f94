"""``signin-monitor coverage`` under moto: Organizations, CloudFormation StackSets, STS, EC2.

The organization fixture has the management account (moto's default, also the caller) and two
members in one OU. The StackSet covers the OU in the regions of the test; the management
account, which no service-managed StackSet reaches, is covered by its own stacks of the member
template (modules/organization forward_from_this_account).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from signin_monitor.cli import coverage as coverage_command
from signin_monitor.config import Settings
from signin_monitor.coverage import (
    NOT_CHECKED,
    Account,
    ForwardingPath,
    assess,
    read_local_paths,
)
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import sign_in
from tests.organization.conftest import Organization

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS")

TEMPLATE = (
    Path(__file__).resolve().parents[2] / "cloudformation" / "member-forwarding.yaml"
).read_text(encoding="utf-8")
BUS_ARN = "arn:aws:events:us-east-1:111122223333:event-bus/signin-monitor"
STACK_SET = "signin-monitor-forwarding"
REGIONS = ("us-east-1", "eu-west-1")
_PARAMETERS = [{"ParameterKey": "CentralEventBusArn", "ParameterValue": BUS_ARN}]


def _stack_set(ou_id: str, regions: tuple[str, ...] = REGIONS) -> None:
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    cloudformation.create_stack_set(
        StackSetName=STACK_SET,
        TemplateBody=TEMPLATE,
        Parameters=_PARAMETERS,
        Capabilities=["CAPABILITY_NAMED_IAM"],
        PermissionModel="SERVICE_MANAGED",
        AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False},
    )
    cloudformation.create_stack_instances(
        StackSetName=STACK_SET,
        DeploymentTargets={"OrganizationalUnitIds": [ou_id]},
        Regions=list(regions),
    )


def _management_stacks(regions: tuple[str, ...] = REGIONS) -> None:
    for region in regions:
        boto3.client("cloudformation", region_name=region).create_stack(
            StackName=STACK_SET,
            TemplateBody=TEMPLATE,
            Parameters=_PARAMETERS,
            Capabilities=["CAPABILITY_NAMED_IAM"],
        )


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="signin-monitor")
    commands = parser.add_subparsers(dest="command", required=True)
    coverage_command.add_parser(commands)
    args = parser.parse_args(["coverage", *argv])
    return coverage_command.run(args, Settings())


def _regions(*regions: str) -> list[str]:
    return [part for region in regions for part in ("--region", region)]


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_everything_covered_exits_0(
    organization: Organization, capsys: pytest.CaptureFixture[str]
) -> None:
    _stack_set(organization.ou_id)
    _management_stacks()
    assert _run("--json", *_regions(*REGIONS)) == 0
    out, err = capsys.readouterr()
    rows = _json_lines(out)
    expected_accounts = {organization.management_id, *organization.members}
    assert {(row["account_id"], row["region"]) for row in rows} == {
        (account, region) for account in expected_accounts for region in REGIONS
    }
    assert all(row["covered"] is True for row in rows)
    by_account = {row["account_id"]: row for row in rows}
    assert by_account[organization.management_id]["path"] == "stack"
    member = next(iter(organization.members))
    assert by_account[member]["path"] == "stack-set"
    assert by_account[member]["status"] == "CURRENT"
    assert by_account[member]["account_name"] == organization.members[member]
    assert "6 of 6 account-regions covered (3 active accounts x 2 regions)" in err


def test_a_region_without_instances_exits_1(
    organization: Organization, capsys: pytest.CaptureFixture[str]
) -> None:
    _stack_set(organization.ou_id, regions=("us-east-1",))
    _management_stacks()
    assert _run("--json", *_regions(*REGIONS)) == 1
    out, err = capsys.readouterr()
    gaps = {(row["account_id"], row["region"]) for row in _json_lines(out) if not row["covered"]}
    assert gaps == {(account, "eu-west-1") for account in organization.members}
    for account in organization.members:
        assert f"NOT COVERED: {account} ({organization.members[account]}) eu-west-1: MISSING" in err


def test_an_account_outside_the_ous_exits_1(
    organization: Organization, capsys: pytest.CaptureFixture[str]
) -> None:
    _stack_set(organization.ou_id)
    _management_stacks()
    client = boto3.client("organizations", region_name="us-east-1")
    stray = client.create_account(Email="stray@example.invalid", AccountName="stray")[
        "CreateAccountStatus"
    ]["AccountId"]  # left in the root, which the StackSet does not target
    assert _run(*_regions(*REGIONS)) == 1
    out, err = capsys.readouterr()
    assert f"NOT COVERED: {stray} (stray) us-east-1: MISSING" in err
    # The table: a header and one aligned line per account x region.
    header, *lines = out.splitlines()
    assert header.split() == [
        "ACCOUNT",
        "NAME",
        "REGION",
        "PATH",
        "STATUS",
        "LAST",
        "EVENT",
        "(UTC)",
        "COVERED",
    ]
    assert len(lines) == 4 * len(REGIONS)
    column = header.index("REGION")
    assert {line[column:].split()[0] for line in lines} == set(REGIONS)
    # --ignore-account accepts a known exception.
    assert _run("--ignore-account", stray, *_regions(*REGIONS)) == 0


def test_the_management_account_without_its_stacks_is_a_gap(
    organization: Organization, capsys: pytest.CaptureFixture[str]
) -> None:
    _stack_set(organization.ou_id)
    assert _run("--json", *_regions(*REGIONS)) == 1
    rows = _json_lines(capsys.readouterr().out)
    gaps = {(row["account_id"], row["region"]) for row in rows if not row["covered"]}
    assert gaps == {(organization.management_id, region) for region in REGIONS}


def test_last_event_from_the_store(
    organization: Organization, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _stack_set(organization.ou_id)
    _management_stacks()
    member = next(iter(organization.members))
    seen = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    database = tmp_path / "audit.db"
    store = SqliteStore(str(database))
    store.record(sign_in(account=member, region="eu-west-1", at=seen), expires_at=None)
    store.record(
        sign_in(account=member, region="eu-west-1", at=seen - timedelta(days=30)), expires_at=None
    )
    store.close()
    assert _run("--json", "--db", str(database), *_regions(*REGIONS)) == 0
    rows = _json_lines(capsys.readouterr().out)
    last = {(row["account_id"], row["region"]): row["last_event_time"] for row in rows}
    assert last[(member, "eu-west-1")] == seen.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert last[(member, "us-east-1")] is None


def test_default_regions_are_the_enabled_regions_of_the_caller(
    organization: Organization, capsys: pytest.CaptureFixture[str]
) -> None:
    _stack_set(organization.ou_id)
    _management_stacks()
    assert _run("--json") == 1  # moto enables many more regions than the two deployed
    regions = {row["region"] for row in _json_lines(capsys.readouterr().out)}
    enabled = boto3.client("ec2", region_name="us-east-1").describe_regions()["Regions"]
    assert regions == {
        region["RegionName"]
        for region in enabled
        if region["OptInStatus"] in ("opt-in-not-required", "opted-in")
    }
    assert "ap-east-1" not in regions  # an opt-in region this account has not opted in to


def test_aws_errors_exit_1_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    from moto import mock_aws

    with mock_aws():  # no organization
        assert _run(*_regions("us-east-1")) == 1
    assert "signin-monitor: error: cannot" in capsys.readouterr().err


# --- the verdict, without AWS --------------------------------------------------------------------

MANAGEMENT = Account("111111111111", "management", "ACTIVE", is_management=True)
MEMBER = Account("222222222222", "member", "ACTIVE")
SUSPENDED = Account("333333333333", "gone", "SUSPENDED")


def test_suspended_accounts_need_no_coverage() -> None:
    report = assess(
        [MEMBER, SUSPENDED],
        ["us-east-1"],
        instances={("222222222222", "us-east-1"): ForwardingPath("stack-set", "CURRENT")},
    )
    assert report.complete
    assert [cell.account for cell in report.cells] == [MEMBER]


@pytest.mark.parametrize(
    ("status", "covered"), [("CURRENT", True), ("OUTDATED", False), ("INOPERABLE", False)]
)
def test_only_current_instances_cover(status: str, covered: bool) -> None:
    report = assess(
        [MEMBER],
        ["us-east-1"],
        instances={("222222222222", "us-east-1"): ForwardingPath("stack-set", status)},
    )
    assert report.complete is covered


def test_the_management_account_seen_from_elsewhere_is_covered_by_its_events() -> None:
    seen = {("111111111111", "us-east-1"): datetime(2026, 11, 2, tzinfo=UTC)}
    report = assess([MANAGEMENT], ["us-east-1", "eu-west-1"], instances={}, last_events=seen)
    assert [cell.path for cell in report.cells] == [NOT_CHECKED, NOT_CHECKED]
    assert {cell.region: cell.covered for cell in report.cells} == {
        "us-east-1": True,
        "eu-west-1": False,
    }
    # From the management account itself, a missing stack is missing, events or not.
    checked = assess(
        [MANAGEMENT],
        ["us-east-1"],
        instances={},
        last_events=seen,
        checked_accounts=["111111111111"],
    )
    assert not checked.complete


def test_the_monitor_accounts_own_forwarding_rules_cover_it(organization: Organization) -> None:
    del organization
    events = boto3.client("events", region_name="eu-west-1")
    events.put_rule(Name="signin-monitor-forward", EventPattern='{"source": ["aws.signin"]}')
    paths = read_local_paths(
        {"eu-west-1": boto3.client("cloudformation", region_name="eu-west-1")},
        {
            "eu-west-1": events,
            "us-east-1": boto3.client("events", region_name="us-east-1"),
        },
        account_id="123456789012",
        stack_name=STACK_SET,
        rule_name="signin-monitor-forward",
    )
    assert paths == {
        ("123456789012", "eu-west-1"): ForwardingPath("rule", "ENABLED", "signin-monitor-forward")
    }
