"""Create the activity table from ``schema.TABLE_SCHEMA`` (``signin-monitor create-table``, tests).

Terraform owns the deployed table (with PITR, KMS and deletion protection); this module makes
the same keys and indexes for DynamoDB Local, moto and quick trials. The Lambda never imports
it, so its extra DynamoDB actions never reach the function's IAM policy. The same goes for the
one call only ``signin-monitor resend`` makes: deleting an undelivered alert's marker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import StoreError
from . import schema

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["create_table", "delete_undelivered_marker", "table_definition"]

TableCreation = Literal["created", "exists"]


def table_definition(table_name: str) -> dict[str, Any]:
    """The ``CreateTable`` arguments for ``TABLE_SCHEMA``: on-demand, indexes without ``raw``."""
    spec = schema.TABLE_SCHEMA
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind}
            for name, kind in spec["attributes"].items()
        ],
        "KeySchema": [
            {"AttributeName": spec["hash_key"], "KeyType": "HASH"},
            {"AttributeName": spec["range_key"], "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index["name"],
                "KeySchema": [
                    {"AttributeName": index["hash_key"], "KeyType": "HASH"},
                    {"AttributeName": index["range_key"], "KeyType": "RANGE"},
                ],
                "Projection": _projection(index),
            }
            for index in spec["indexes"]
        ],
    }


def _projection(index: schema.IndexSchema) -> dict[str, Any]:
    """INCLUDE the index's non-key attributes; KEYS_ONLY when it lists none (``by-network``)."""
    if not index["non_key_attributes"]:
        return {"ProjectionType": "KEYS_ONLY"}
    return {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(index["non_key_attributes"])}


def create_table(client: DynamoDBClient, table_name: str, *, wait: bool = True) -> TableCreation:
    """Create the table and turn on TTL; "exists" if it was already there (safe to run again).

    With ``wait`` it returns once the table is ACTIVE and TTL is on. Without, a table still being
    created cannot take the TTL setting yet: it is skipped, and running this again sets it.
    """
    outcome: TableCreation = "created"
    try:
        client.create_table(**table_definition(table_name))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise StoreError(f"cannot create table {table_name}: {error}") from error
        outcome = "exists"
    except BotoCoreError as error:
        raise StoreError(f"cannot create table {table_name}: {error}") from error
    try:
        if wait:
            client.get_waiter("table_exists").wait(TableName=table_name)
        _enable_ttl(client, table_name)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if wait or code != "ResourceInUseException":
            raise StoreError(f"cannot enable TTL on table {table_name}: {error}") from error
    except BotoCoreError as error:  # the waiter gave up, or the endpoint is unreachable
        raise StoreError(f"table {table_name} did not become ready: {error}") from error
    return outcome


def _enable_ttl(client: DynamoDBClient, table_name: str) -> None:
    """Turn on TTL unless it is on (``UpdateTimeToLive`` refuses to enable it twice)."""
    current = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        return
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": schema.TTL_ATTRIBUTE},
    )


def delete_undelivered_marker(client: DynamoDBClient, table_name: str, sort_key: str) -> None:
    """Delete one undelivered alert's marker (``resend`` after a post, or a stale marker).

    Only the command line calls this (``DynamoDbStore.finish_resend`` and ``claim_resend``):
    kept here so the Lambda's IAM policy, derived from the modules it runs, has no DeleteItem.
    Deleting a marker that is already gone is fine.
    """
    client.delete_item(
        TableName=table_name,
        Key={"pk": {"S": schema.UNDELIVERED_PK}, "sk": {"S": sort_key}},
    )
