"""What only the DynamoDB store promises: round trips per call, error mapping, item shape, table.

The behaviour both stores share lives in ``test_store_contract.py``; these tests pin the
DynamoDB-specific costs design §4 and §5 budget, counted with botocore event hooks on a moto
client.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from signin_monitor.alerts import Alert
from signin_monitor.errors import StoreError, StoreRetryableError
from signin_monitor.events import _validate_record
from signin_monitor.store import ClaimOutcome, ClaimStatus, HistoryQuery, schema
from signin_monitor.store import dynamodb as dynamodb_module
from signin_monitor.store.alert_index import (
    ALERT_DAY_ATTRIBUTE,
    alert_index_attributes,
)
from signin_monitor.store.base import DEFAULT_CLAIM_LEASE_SECONDS
from signin_monitor.store.dynamodb import DynamoDbStore
from signin_monitor.store.dynamodb_admin import create_table, table_definition
from tests.factories import ACCOUNT, BASE_TIME, api_call, one_off_alert, sign_in, windowed_alert
from tests.store.conftest import LEASE_SECONDS, TABLE_NAME, FakeClock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

WINDOW = timedelta(minutes=60)


class CallLog:
    """Every DynamoDB operation a client makes, with the parameters it was given."""

    def __init__(self, client: DynamoDBClient) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        client.meta.events.register("before-parameter-build.dynamodb.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, dict(params)))

    @property
    def operations(self) -> list[str]:
        """Operation names in call order."""
        return [name for name, _ in self.calls]

    def clear(self) -> None:
        """Forget the calls so far (the setup's)."""
        self.calls.clear()


def fail_next(client: DynamoDBClient, operation: str, code: str, *, times: int = 1) -> None:
    """Make the next ``times`` calls of ``operation`` fail with the AWS error ``code``."""
    remaining = [times]

    def raise_error(**_: Any) -> None:
        if remaining[0] > 0:
            remaining[0] -= 1
            response: Any = {
                "Error": {"Code": code, "Message": "injected"},
                "ResponseMetadata": {
                    "HTTPStatusCode": 500 if code == "InternalServerError" else 400
                },
            }
            raise ClientError(response, operation)

    client.meta.events.register(f"before-call.dynamodb.{operation}", raise_error)


@pytest.fixture
def dynamo(dynamodb_client: DynamoDBClient, clock: FakeClock) -> DynamoDbStore:
    """A DynamoDB store on moto with the contract suite's clock and lease."""
    return DynamoDbStore(
        TABLE_NAME, client=dynamodb_client, clock=clock, lease_seconds=LEASE_SECONDS
    )


@pytest.fixture
def calls(dynamodb_client: DynamoDBClient) -> CallLog:
    """The calls the store makes, from the moment the test asks."""
    return CallLog(dynamodb_client)


def _windowed(minutes: float) -> Alert:
    return windowed_alert(sign_in(result="Failure", minutes=minutes), window=WINDOW)


def _raw_item(client: DynamoDBClient, pk: str, sk: str) -> dict[str, Any]:
    return dict(
        client.get_item(TableName=TABLE_NAME, Key={"pk": {"S": pk}, "sk": {"S": sk}})["Item"]
    )


# --- table -------------------------------------------------------------------------------


def test_table_definition_follows_the_schema() -> None:
    definition = table_definition("t")
    spec = schema.TABLE_SCHEMA
    assert definition["BillingMode"] == "PAY_PER_REQUEST"
    assert {a["AttributeName"]: a["AttributeType"] for a in definition["AttributeDefinitions"]} == (
        spec["attributes"]
    )
    assert definition["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    indexes = {
        index["IndexName"]: (
            [key["AttributeName"] for key in index["KeySchema"]],
            index["Projection"]["ProjectionType"],
            index["Projection"].get("NonKeyAttributes", []),
        )
        for index in definition["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        index["name"]: (
            [index["hash_key"], index["range_key"]],
            "INCLUDE" if index["non_key_attributes"] else "KEYS_ONLY",
            index["non_key_attributes"],
        )
        for index in spec["indexes"]
    }
    # The audit indexes copy every audit field; the correlation indexes only what they read.
    for name in (schema.BY_ACCOUNT_DAY, schema.BY_SOURCE_IP, schema.BY_PRINCIPAL):
        assert indexes[name][2] == schema.INDEX_ATTRIBUTES
    assert set(indexes) == set(schema.GSI_NAMES)


def test_indexes_copy_every_attribute_of_an_item_but_the_raw_record() -> None:
    # A field added to items but not to INDEX_ATTRIBUTES would vanish from index-served audits.
    item = dynamodb_module._item_from_event(sign_in(mfa="No", result="Failure"), 2_000_000_000)
    # An API call with every optional field set (design §3.1) adds its own attributes.
    call = api_call(
        "CreateAccessKey",
        event_source="iam.amazonaws.com",
        error_code="AccessDenied",
        assumed_root=True,
        request_parameters={"userName": "bob"},
    )
    call["userIdentity"]["invokedBy"] = "cloudformation.amazonaws.com"
    item |= dynamodb_module._item_from_event(_validate_record(call, source="", position=""), None)
    keys = {"pk", "sk"} | {
        name
        for index in schema.TABLE_SCHEMA["indexes"]
        for name in (index["hash_key"], index["range_key"])
    }
    assert set(item) - keys - {"raw"} == set(schema.INDEX_ATTRIBUTES)


def test_an_event_read_through_an_index_has_every_audit_field_and_no_raw(
    dynamodb_client: DynamoDBClient,
) -> None:
    store = DynamoDbStore(TABLE_NAME, client=dynamodb_client)
    event = sign_in(mfa=None, user_agent="agent \u2603", result="Failure")
    store.record(event, expires_at=None)
    (through_index,) = store.history(HistoryQuery(source_ip=event.source_ip))
    assert through_index == event  # raw is not part of equality
    assert through_index.raw == {}
    (through_table,) = store.history(HistoryQuery(principal="alice", account_id=ACCOUNT))
    assert through_table.raw == event.raw


def test_create_table_is_idempotent_and_turns_on_ttl(dynamodb_client: DynamoDBClient) -> None:
    # GIVEN the fixture already created the table
    # WHEN it is created again THEN it reports "exists" and changes nothing
    assert create_table(dynamodb_client, TABLE_NAME) == "exists"
    assert create_table(dynamodb_client, "another-table", wait=False) == "created"
    ttl = dynamodb_client.describe_time_to_live(TableName=TABLE_NAME)["TimeToLiveDescription"]
    assert ttl.get("TimeToLiveStatus") == "ENABLED"
    assert ttl.get("AttributeName") == schema.TTL_ATTRIBUTE
    table = dynamodb_client.describe_table(TableName=TABLE_NAME)["Table"]
    assert table.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST"
    assert {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])} == set(
        schema.GSI_NAMES
    )


def test_create_table_reports_other_errors_as_store_errors(
    dynamodb_client: DynamoDBClient,
) -> None:
    fail_next(dynamodb_client, "CreateTable", "AccessDeniedException")
    with pytest.raises(StoreError, match="AccessDeniedException"):
        create_table(dynamodb_client, "forbidden")


# --- round trips per operation -------------------------------------------------------------


def test_record_is_one_conditional_put(dynamo: DynamoDbStore, calls: CallLog) -> None:
    event = sign_in()
    assert dynamo.record(event, expires_at=None) is True
    assert dynamo.record(event, expires_at=None) is False
    assert calls.operations == ["PutItem", "PutItem"]
    assert calls.calls[0][1]["ConditionExpression"] == "attribute_not_exists(pk)"


def test_failure_count_is_one_consistent_count_query(dynamo: DynamoDbStore, calls: CallLog) -> None:
    failure = sign_in(result="Failure")
    dynamo.record(failure, expires_at=None)
    calls.clear()
    count = dynamo.count_failures(
        ACCOUNT, "alice", after=failure.event_time - WINDOW, until=failure.event_time
    )
    assert count == 1
    assert calls.operations == ["Query"]
    params = calls.calls[0][1]
    assert params["Select"] == "COUNT"
    assert params["ConsistentRead"] is True
    assert "IndexName" not in params
    assert "FilterExpression" not in params


def test_claim_and_mark_are_one_call_each(
    dynamo: DynamoDbStore, calls: CallLog, clock: FakeClock
) -> None:
    alert = one_off_alert(sign_in(identity_type="Root"))
    assert dynamo.claim_alert(alert) is ClaimOutcome.CLAIMED
    assert dynamo.claim_alert(alert) is ClaimOutcome.BUSY
    clock.advance(LEASE_SECONDS)
    assert dynamo.claim_alert(alert) is ClaimOutcome.RETRY
    dynamo.mark_alert(alert, ClaimStatus.SENT)
    assert calls.operations == ["PutItem", "PutItem", "PutItem", "UpdateItem"]


def test_history_only_queries_and_reads_an_account_one_day_at_a_time(
    dynamo: DynamoDbStore, calls: CallLog
) -> None:
    dynamo.record(sign_in(), expires_at=None)
    calls.clear()
    three_days = HistoryQuery(
        account_id=ACCOUNT, since=BASE_TIME, until=BASE_TIME + timedelta(days=2)
    )
    assert len(list(dynamo.history(three_days))) == 1
    assert calls.operations == ["Query"] * 3
    assert {params["IndexName"] for _, params in calls.calls} == {schema.BY_ACCOUNT_DAY}
    calls.clear()
    list(dynamo.history(HistoryQuery(principal="alice", account_id=ACCOUNT)))
    assert calls.operations == ["Query"] * 3  # one per kind, on the table itself
    assert all(params["ConsistentRead"] for _, params in calls.calls)
    calls.clear()
    list(dynamo.history(HistoryQuery(principal="alice")))
    list(dynamo.history(HistoryQuery(source_ip="198.51.100.7")))
    assert [params["IndexName"] for _, params in calls.calls] == [
        schema.BY_PRINCIPAL,
        schema.BY_SOURCE_IP,
    ]


def test_history_by_account_without_until_stops_at_the_clock(
    dynamo: DynamoDbStore, calls: CallLog, clock: FakeClock
) -> None:
    clock.now = (BASE_TIME + timedelta(hours=1)).timestamp()
    list(dynamo.history(HistoryQuery(account_id=ACCOUNT, since=BASE_TIME - timedelta(days=1))))
    assert calls.operations == ["Query", "Query"]


def test_history_rejects_a_bad_query_before_reading(dynamo: DynamoDbStore, calls: CallLog) -> None:
    with pytest.raises(ValueError, match="--since"):
        dynamo.history(HistoryQuery(account_id=ACCOUNT))
    assert calls.operations == []


def test_the_store_calls_only_four_dynamodb_actions() -> None:
    # The Lambda's IAM policy is derived from these calls: keep the set small. The two batch
    # calls are record_many's, which only replay calls (the IAM contract test keeps them out).
    tree = ast.parse(Path(dynamodb_module.__file__).read_text())
    called = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "_client"
    }
    assert called == {
        "put_item",
        "query",
        "transact_write_items",
        "update_item",
        "batch_get_item",
        "batch_write_item",
    }


def test_a_windowed_claim_is_one_transaction_over_three_time_slots(
    dynamo: DynamoDbStore, calls: CallLog
) -> None:
    alert = _windowed(30)
    assert dynamo.claim_alert(alert) is ClaimOutcome.CLAIMED
    assert calls.operations == ["TransactWriteItems"]
    params = calls.calls[0][1]
    before, put, after = params["TransactItems"]
    assert [list(item) for item in (before, put, after)] == [
        ["ConditionCheck"],
        ["Put"],
        ["ConditionCheck"],
    ]
    bucket = alert.bucket
    assert bucket is not None
    assert [
        before["ConditionCheck"]["Key"]["pk"]["S"],
        after["ConditionCheck"]["Key"]["pk"]["S"],
    ] == [
        schema.alert_pk(*alert.claim_key_in(bucket - 1)),
        schema.alert_pk(*alert.claim_key_in(bucket + 1)),
    ]
    assert put["Put"]["Item"]["pk"]["S"] == schema.alert_pk(*alert.claim_key)
    # botocore's retries resend the same token, so DynamoDB applies the claim once
    assert params["ClientRequestToken"] == put["Put"]["Item"]["token"]["S"]


def test_a_windowed_claim_whose_response_was_lost_is_still_ours(
    dynamo: DynamoDbStore, dynamodb_client: DynamoDBClient, calls: CallLog
) -> None:
    # GIVEN a transaction DynamoDB applies, whose response is lost: botocore sends it again,
    # and the second attempt fails its own condition (moto, unlike DynamoDB, ignores the
    # ClientRequestToken, which makes this the worst case)
    applied = boto3.client("dynamodb", region_name="us-east-1")

    def apply_first(params: dict[str, Any], **_: Any) -> None:
        if not calls.calls[:-1]:
            applied.transact_write_items(**params)

    dynamodb_client.meta.events.register(
        "before-parameter-build.dynamodb.TransactWriteItems", apply_first
    )
    # WHEN the claim is made THEN the delivery recognises its own claim and posts
    assert dynamo.claim_alert(_windowed(0)) is ClaimOutcome.CLAIMED


def test_a_throttled_windowed_claim_is_retryable(
    dynamo: DynamoDbStore, dynamodb_client: DynamoDBClient
) -> None:
    fail_next(dynamodb_client, "TransactWriteItems", "ThrottlingException")
    with pytest.raises(StoreRetryableError, match="claim_alert failed: ThrottlingException"):
        dynamo.claim_alert(_windowed(0))
    assert dynamo.claim_alert(_windowed(0)) is ClaimOutcome.CLAIMED


def test_failures_between_is_one_consistent_query_without_the_raw_record(
    dynamo: DynamoDbStore, calls: CallLog
) -> None:
    events = [sign_in(result="Failure", minutes=m) for m in (-60, -59, 0, 59, 60)]
    for event in events:
        dynamo.record(event, expires_at=None)
    calls.clear()
    found = dynamo.failures_between(
        ACCOUNT, "alice", after=BASE_TIME - WINDOW, before=BASE_TIME + WINDOW
    )
    assert [e.event_id for e in found] == [e.event_id for e in events[1:4]]
    assert all(e.raw == {} for e in found)
    assert found[0] == replace(events[1], raw={})
    assert calls.operations == ["Query"]
    params = calls.calls[0][1]
    assert params["ConsistentRead"] is True
    assert "raw" not in params["ExpressionAttributeNames"].values()


# --- pagination ------------------------------------------------------------------------------


@pytest.fixture
def stubbed(aws_credentials: None) -> Iterator[tuple[DynamoDbStore, Stubber]]:
    """A store whose client answers from a ``Stubber`` queue (for pages moto never splits)."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield DynamoDbStore(TABLE_NAME, client=client), stubber
        stubber.assert_no_pending_responses()


def test_failure_count_follows_pages(stubbed: tuple[DynamoDbStore, Stubber]) -> None:
    store, stubber = stubbed
    next_key = {"pk": {"S": "p"}, "sk": {"S": "s"}}
    low, high = schema.kind_range(
        schema.KIND_FAILURE, "2026-11-02T07:00:00Z", "2026-11-02T08:00:00Z"
    )
    stubber.add_response("query", {"Count": 2, "ScannedCount": 2, "LastEvaluatedKey": next_key})
    stubber.add_response(
        "query",
        {"Count": 3, "ScannedCount": 3},
        expected_params={
            "TableName": TABLE_NAME,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":pk": {"S": schema.activity_pk(ACCOUNT, "alice")},
                ":lo": {"S": low},
                ":hi": {"S": high},
            },
            "Select": "COUNT",
            "ConsistentRead": True,
            "ExclusiveStartKey": next_key,
        },
    )
    assert store.count_failures(ACCOUNT, "alice", after=BASE_TIME - WINDOW, until=BASE_TIME) == 5


def test_history_follows_pages(
    dynamodb_client: DynamoDBClient, stubbed: tuple[DynamoDbStore, Stubber]
) -> None:
    # Items as the real store writes them, served one per page.
    writer = DynamoDbStore(TABLE_NAME, client=dynamodb_client)
    events = [sign_in(minutes=m) for m in (0, 1)]
    for event in events:
        writer.record(event, expires_at=None)
    items = [
        _raw_item(dynamodb_client, schema.activity_pk(ACCOUNT, "alice"), sk)
        for sk in (schema.activity_sk(schema.KIND_SIGNIN, e.time_text, e.event_id) for e in events)
    ]
    store, stubber = stubbed
    stubber.add_response(
        "query",
        {"Items": items[:1], "Count": 1, "ScannedCount": 1, "LastEvaluatedKey": {"k": {"S": "1"}}},
    )
    stubber.add_response("query", {"Items": items[1:], "Count": 1, "ScannedCount": 1})
    assert list(store.history(HistoryQuery(principal="alice"))) == events


# --- item shape -------------------------------------------------------------------------------


def test_item_holds_typed_fields_index_keys_and_no_empty_values(
    dynamo: DynamoDbStore, dynamodb_client: DynamoDBClient
) -> None:
    event = sign_in(mfa=None, result="Failure")
    dynamo.record(event, expires_at=1_900_000_000)
    item = _raw_item(
        dynamodb_client,
        schema.activity_pk(ACCOUNT, "alice"),
        schema.activity_sk(schema.KIND_FAILURE, event.time_text, event.event_id),
    )
    assert item["expires_at"] == {"N": "1900000000"}
    assert "mfa_used" not in item
    assert item["account_day"] == {"S": schema.account_day_key(ACCOUNT, event.time_text)}
    assert item["source_ip_key"] == {"S": schema.source_ip_key(event.source_ip)}
    assert item["principal_key"] == {"S": schema.principal_key("alice")}
    assert item["time_sk"] == {"S": schema.time_sort_key(event.time_text, event.event_id)}
    assert item["raw"] == {"S": event.raw_json()}
    # A failure carries the failure-source key of the sparse index, not the success ones, and
    # no alert_day (only alert claims carry it: by-alert-day is sparse).
    assert item["failure_source_key"] == {"S": schema.failure_source_key(ACCOUNT, event.source_ip)}
    sparse = {"success_key", "network_key", ALERT_DAY_ATTRIBUTE}
    assert set(schema.TABLE_SCHEMA["attributes"]) - sparse <= set(item)
    assert not sparse & set(item)

    with_mfa = sign_in(mfa="No", minutes=1)
    dynamo.record(with_mfa, expires_at=None)
    item = _raw_item(
        dynamodb_client,
        schema.activity_pk(ACCOUNT, "alice"),
        schema.activity_sk(schema.KIND_SIGNIN, with_mfa.time_text, with_mfa.event_id),
    )
    assert item["mfa_used"] == {"BOOL": False}
    assert "expires_at" not in item
    assert "error_message" not in item


def test_expired_items_are_left_out_of_every_history_path(dynamo: DynamoDbStore) -> None:
    kept, expired = sign_in(minutes=0), sign_in(minutes=1)
    dynamo.record(kept, expires_at=2_000_000_000)
    dynamo.record(expired, expires_at=1_000)
    now = 1_500_000_000
    for query in (
        HistoryQuery(principal="alice", account_id=ACCOUNT, now_epoch=now),
        HistoryQuery(principal="alice", now_epoch=now),
        HistoryQuery(source_ip=kept.source_ip, now_epoch=now),
        HistoryQuery(account_id=ACCOUNT, since=BASE_TIME, now_epoch=now),
    ):
        assert [e.event_id for e in dynamo.history(query)] == [kept.event_id], query
    both = dynamo.history(HistoryQuery(account_id=ACCOUNT, since=BASE_TIME))
    assert len(list(both)) == 2


def test_claim_item_keeps_its_event_time_on_retry(
    dynamo: DynamoDbStore, dynamodb_client: DynamoDBClient, clock: FakeClock
) -> None:
    alert = _windowed(0)
    dynamo.claim_alert(alert)
    clock.advance(LEASE_SECONDS)
    assert dynamo.claim_alert(alert) is ClaimOutcome.RETRY
    item = _raw_item(dynamodb_client, schema.alert_pk(*alert.claim_key), schema.ALERT_SK)
    assert item["status"] == {"S": "pending"}
    assert item["event_time"] == {"S": alert.event.time_text}
    assert item["event_id"] == {"S": alert.event.event_id}
    assert float(item["claimed_at"]["N"]) == pytest.approx(clock.now)


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
    ],
)
def test_throttled_record_is_retryable_and_a_retry_stores_once(
    dynamo: DynamoDbStore, dynamodb_client: DynamoDBClient, code: str
) -> None:
    event = sign_in(result="Failure")
    fail_next(dynamodb_client, "PutItem", code)
    with pytest.raises(StoreRetryableError, match=f"record failed: {code}"):
        dynamo.record(event, expires_at=None)
    # WHEN the event is delivered again THEN it is stored, and counted, once
    assert dynamo.record(event, expires_at=None) is True
    assert dynamo.record(event, expires_at=None) is False
    count = dynamo.count_failures(
        ACCOUNT, "alice", after=event.event_time - WINDOW, until=event.event_time
    )
    assert count == 1


def test_throttled_query_is_retryable(
    dynamo: DynamoDbStore, dynamodb_client: DynamoDBClient
) -> None:
    fail_next(dynamodb_client, "Query", "ProvisionedThroughputExceededException", times=2)
    with pytest.raises(StoreRetryableError, match="count_failures failed"):
        dynamo.count_failures(ACCOUNT, "alice", after=BASE_TIME - WINDOW, until=BASE_TIME)
    with pytest.raises(StoreRetryableError, match="history failed"):
        list(dynamo.history(HistoryQuery(principal="alice")))
    assert dynamo.count_failures(ACCOUNT, "alice", after=BASE_TIME - WINDOW, until=BASE_TIME) == 0


def test_throttled_claim_and_mark_are_retryable(
    dynamo: DynamoDbStore, dynamodb_client: DynamoDBClient
) -> None:
    alert = one_off_alert(sign_in(identity_type="Root"))
    fail_next(dynamodb_client, "PutItem", "ThrottlingException")
    with pytest.raises(StoreRetryableError, match="claim_alert failed: ThrottlingException"):
        dynamo.claim_alert(alert)
    assert dynamo.claim_alert(alert) is ClaimOutcome.CLAIMED
    fail_next(dynamodb_client, "UpdateItem", "ThrottlingException")
    with pytest.raises(StoreRetryableError, match="mark_alert failed"):
        dynamo.mark_alert(alert, ClaimStatus.SENT)


def test_other_aws_errors_are_final(dynamo: DynamoDbStore, dynamodb_client: DynamoDBClient) -> None:
    # (a ValidationException on record is about the item: UnstorableRecordError, see
    # test_item_limits.py; on a claim it is a bug of ours: final)
    fail_next(dynamodb_client, "PutItem", "AccessDeniedException")
    with pytest.raises(StoreError, match="record failed: AccessDeniedException") as raised:
        dynamo.record(sign_in(), expires_at=None)
    assert not isinstance(raised.value, StoreRetryableError)
    fail_next(dynamodb_client, "PutItem", "ValidationException")
    assert not isinstance(raised.value, StoreRetryableError)
    with pytest.raises(StoreError) as raised:
        dynamo.claim_alert(one_off_alert(sign_in(identity_type="Root")))
    assert not isinstance(raised.value, StoreRetryableError)


def test_a_missing_table_is_a_final_error(dynamodb_client: DynamoDBClient) -> None:
    store = DynamoDbStore("no-such-table", client=dynamodb_client)
    with pytest.raises(StoreError, match="ResourceNotFoundException") as raised:
        store.record(sign_in(), expires_at=None)
    assert not isinstance(raised.value, StoreRetryableError)


def test_network_errors_are_retryable(
    dynamo: DynamoDbStore, dynamodb_client: DynamoDBClient
) -> None:
    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://dynamodb.invalid")

    dynamodb_client.meta.events.register("before-call.dynamodb.PutItem", unreachable)
    with pytest.raises(StoreRetryableError, match="EndpointConnectionError"):
        dynamo.record(sign_in(), expires_at=None)


def test_conditional_check_failure_on_mark_is_ignored(
    dynamo: DynamoDbStore, dynamodb_client: DynamoDBClient
) -> None:
    # The claim belongs to a newer alert: marking the old one is a no-op, not an error.
    fail_next(dynamodb_client, "UpdateItem", "ConditionalCheckFailedException")
    dynamo.mark_alert(_windowed(0), ClaimStatus.SENT)


# --- client -----------------------------------------------------------------------------------


def test_own_client_is_created_once_with_modest_retries(
    dynamodb_client: DynamoDBClient,
) -> None:
    store = DynamoDbStore(TABLE_NAME)
    assert store.record(sign_in(), expires_at=None) is True
    client = store._client
    assert client is store._client
    config: Any = client.meta.config  # the stubs do not declare the options
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert config.connect_timeout <= 5
    assert config.read_timeout <= 10


def test_own_client_follows_the_endpoint_variable(
    aws_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DynamoDB Local or a moto server for local runs, with no code change.
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000")
    assert DynamoDbStore(TABLE_NAME)._client.meta.endpoint_url == "http://127.0.0.1:8000"


def test_the_claim_lease_ends_before_lambdas_first_retry() -> None:
    assert (
        DEFAULT_CLAIM_LEASE_SECONDS < 60
    )  # Lambda's first asynchronous retry comes a minute later


def test_a_claim_carries_the_by_alert_day_keys(
    dynamo: DynamoDbStore, dynamodb_client: DynamoDBClient
) -> None:
    # GIVEN a root sign-in alert claimed
    event = sign_in(identity_type="Root")
    alert = one_off_alert(event)
    assert dynamo.claim_alert(alert).should_send
    # THEN its claim item holds the day and time keys of the sparse index
    item = _raw_item(dynamodb_client, schema.alert_pk(*alert.claim_key), schema.ALERT_SK)
    for name, value in alert_index_attributes(event.time_text, event.event_id).items():
        assert item[name] == {"S": value}
