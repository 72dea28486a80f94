"""Suppressions in the DynamoDB table: one partition, ``pk = SUPPRESSIONS``, ``sk = <id>``.

Listing them is one strongly consistent ``Query`` of that partition (the Lambda's only call
here, which its role already has); adding is a conditional ``PutItem`` and removing a
``DeleteItem``, both made by the command line with the operator's credentials only
(``add_suppression`` and ``remove_suppression`` are CLI-only methods for the IAM contract test,
so the function role gets no ``DeleteItem``). Terraform seeds items of the same shape
(``terraform/suppressions.tf``).

Items may carry ``expires_at`` (TTL, epoch seconds: the end of the period plus the retention),
but matching never depends on TTL: an expired suppression stops applying at its ``until``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import InvalidSuppressionError
from ..events import format_time, parse_time
from ..suppressions import Suppression
from . import schema
from .dynamodb import _store_error as _error

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef

    Item = dict[str, AttributeValueTypeDef]

__all__ = ["SUPPRESSIONS_PK", "DynamoDbSuppressions", "suppression_from_item", "suppression_item"]

logger = logging.getLogger(__name__)

#: The partition every suppression lives in (no other item kind uses it).
SUPPRESSIONS_PK: Final = "SUPPRESSIONS"
_OPTIONAL: Final = ("principal", "source_cidr", "account_id")


class DynamoDbSuppressions:
    """Add, list and remove suppressions through the store's boto3 client."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    def add_suppression(self, suppression: Suppression, *, expires_at: int | None = None) -> bool:
        """One conditional ``PutItem``; False if a suppression with this id is already stored."""
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=suppression_item(suppression, expires_at=expires_at),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise _error("add_suppression", error) from error
        except BotoCoreError as error:
            raise _error("add_suppression", error) from error
        return True

    def suppressions(self) -> list[Suppression]:
        """Every stored suppression by id: one consistent ``Query`` (paginated past 1 MB).

        An item that cannot be read as a suppression is logged and skipped: a bad seed must
        not stop alerts (it would silence nothing, it is not a reason to go blind).
        """
        request: QueryInputTypeDef = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": SUPPRESSIONS_PK}},
            "ConsistentRead": True,
        }
        found: list[Suppression] = []
        while True:
            try:
                page = self._client.query(**request)
            except (ClientError, BotoCoreError) as error:
                raise _error("suppressions", error) from error
            for item in page["Items"]:
                try:
                    found.append(suppression_from_item(item))
                except (InvalidSuppressionError, KeyError, ValueError) as error:
                    logger.error(
                        "stored suppression ignored: unreadable",
                        extra={"reason": str(error), "suppression": item.get("sk", {}).get("S")},
                    )
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def remove_suppression(self, suppression_id: str) -> bool:
        """One ``DeleteItem``; False if no suppression had that id."""
        try:
            response = self._client.delete_item(
                TableName=self.table_name,
                Key={"pk": {"S": SUPPRESSIONS_PK}, "sk": {"S": suppression_id}},
                ReturnValues="ALL_OLD",
            )
        except (ClientError, BotoCoreError) as error:
            raise _error("remove_suppression", error) from error
        return bool(response.get("Attributes"))


def suppression_item(suppression: Suppression, *, expires_at: int | None = None) -> Item:
    """The table item of a suppression (the shape Terraform's seeded items have too)."""
    item: Item = {
        "pk": {"S": SUPPRESSIONS_PK},
        "sk": {"S": suppression.id},
        "rule_id": {"S": suppression.rule},
        "reason": {"S": suppression.reason},
        "author": {"S": suppression.author},
        "created": {"S": format_time(suppression.created)},
        "valid_from": {"S": format_time(suppression.valid_from)},
        "until": {"S": format_time(suppression.until)},
    }
    for name in _OPTIONAL:
        value = getattr(suppression, name)
        if value is not None:
            item[name] = {"S": value}
    if expires_at is not None:
        item[schema.TTL_ATTRIBUTE] = {"N": str(expires_at)}
    return item


def suppression_from_item(item: Item) -> Suppression:
    """The suppression an item holds; raises ``InvalidSuppressionError``/``KeyError`` if none."""

    def text(name: str) -> str:
        return str(item[name]["S"])

    optional = {name: text(name) for name in _OPTIONAL if name in item}
    return Suppression(
        id=text("sk"),
        rule=text("rule_id"),
        reason=text("reason"),
        author=text("author"),
        created=parse_time(text("created")),
        valid_from=parse_time(text("valid_from")),
        until=parse_time(text("until")),
        **optional,
    )
