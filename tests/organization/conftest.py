"""moto for Organizations, CloudFormation StackSets, STS and EC2: fake credentials, no real AWS."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws


@pytest.fixture(autouse=True)
def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)


@dataclass(frozen=True)
class Organization:
    """A moto organization: the management account (moto's default) and two members in one OU."""

    management_id: str
    root_id: str
    ou_id: str
    members: dict[str, str]  # account id -> name


@pytest.fixture
def organization() -> Iterator[Organization]:
    with mock_aws():
        client = boto3.client("organizations", region_name="us-east-1")
        management_id = client.create_organization(FeatureSet="ALL")["Organization"][
            "MasterAccountId"
        ]
        root_id = client.list_roots()["Roots"][0]["Id"]
        ou_id = client.create_organizational_unit(ParentId=root_id, Name="workloads")[
            "OrganizationalUnit"
        ]["Id"]
        members: dict[str, str] = {}
        for name in ("prod-payments", "dev-sandbox"):
            status = client.create_account(Email=f"{name}@example.invalid", AccountName=name)
            account_id = status["CreateAccountStatus"]["AccountId"]
            client.move_account(
                AccountId=account_id, SourceParentId=root_id, DestinationParentId=ou_id
            )
            members[account_id] = name
        yield Organization(management_id, root_id, ou_id, members)
