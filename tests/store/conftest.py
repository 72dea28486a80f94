"""Store fixtures: every contract test runs once per ``ActivityStore`` implementation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from signin_monitor.store import ActivityStore
from signin_monitor.store.dynamodb import DynamoDbStore
from signin_monitor.store.dynamodb_admin import create_table
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import BASE_TIME

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

StoreFactory = Callable[[], Iterator[ActivityStore]]

TABLE_NAME = "signin-monitor-test"
#: The claim lease every store fixture uses; tests move ``clock`` past it to provoke a retry.
LEASE_SECONDS = 30.0


class FakeClock:
    """Epoch seconds that move only when a test says so (claim leases, "now" in audits)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass."""
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A clock some days after every factory event, so "now" bounds no test's history."""
    return FakeClock((BASE_TIME + timedelta(days=30)).timestamp())


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, so nothing can reach a real AWS account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def dynamodb_client(aws_credentials: None) -> Iterator[DynamoDBClient]:
    """A moto-backed DynamoDB client whose account already holds the activity table."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, TABLE_NAME)
        yield client


def _sqlite(tmp_path: Path, clock: FakeClock) -> Iterator[ActivityStore]:
    store = SqliteStore(tmp_path / "activity.db", clock=clock, lease_seconds=LEASE_SECONDS)
    yield store
    store.close()


def _dynamodb(client: DynamoDBClient, clock: FakeClock) -> Iterator[ActivityStore]:
    store = DynamoDbStore(TABLE_NAME, client=client, clock=clock, lease_seconds=LEASE_SECONDS)
    yield store
    store.close()


STORE_KINDS = ["sqlite", "dynamodb"]


@pytest.fixture(params=STORE_KINDS)
def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[ActivityStore]:
    """An empty store of each kind, on the test's ``clock``."""
    if request.param == "sqlite":
        yield from _sqlite(tmp_path, clock)
    elif request.param == "dynamodb":
        yield from _dynamodb(request.getfixturevalue("dynamodb_client"), clock)
    else:  # pragma: no cover - a kind added to STORE_KINDS without a branch
        raise AssertionError(request.param)
