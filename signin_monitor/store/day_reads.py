"""Reads of one UTC day that the audit report and the daily digest share, on either store.

Two questions, each one key range:

* the alert claims whose event happened in a time range of one day: one ``Query`` of the sparse
  ``by-alert-day`` index on DynamoDB (``alert_index.py``), one range of ``alert_claims`` on
  SQLite;
* one account's events of one day: one ``Query`` of ``by-account-day`` on DynamoDB.

Claims that are not alerts (the daily digest's own claim, ``DIGEST_RULE_ID``) share the claim
items and so the index; every reader here leaves them out, so no alert count or report lists
them. Functions take the client or connection (no store object): the Lambda's digest calls them
without the store's command-line-only ``history``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from ..errors import StoreError, StoreRetryableError
from ..events import SignInEvent
from . import schema
from .alert_index import BY_ALERT_DAY, alert_day_key

if TYPE_CHECKING:
    import sqlite3

    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = [
    "DIGEST_RULE_ID",
    "AlertRecord",
    "alert_from_item",
    "claim_reasons",
    "dynamodb_account_day",
    "dynamodb_alerts_of_day",
    "is_alert",
    "sqlite_alert_claims",
]

#: The rule id of the daily digest's one-off claim (``digest#<day>``): a claim, not an alert.
DIGEST_RULE_ID: Final = "digest"
# Sorts after "#": index sort keys are "<time>#<id>", so "<until>$" ends a range after every id.
_AFTER_ALL_IDS: Final = "$"
#: BatchGetItem takes at most 100 keys a request.
_BATCH_KEYS: Final = 100
_BATCH_ATTEMPTS: Final = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRecord:
    """One alert claim: the rule, its scope, the event it is about, and how its delivery ended.

    ``reason`` is filled where the store keeps one (undelivered alerts; the suppression id of a
    suppressed alert), else ``None``.
    """

    rule_id: str
    scope: str
    event_id: str
    event_time: str
    status: str
    reason: str | None = None


def is_alert(rule_id: str, scope: str) -> bool:
    """False for the claims that are not alerts of their own: the digest's, and the claims of
    one destination of a routed alert (scope ``<alert's claim scope>#to#<destination>``: the
    alert itself is counted once, by its own claim)."""
    if rule_id == DIGEST_RULE_ID:
        return False
    from ..routing import destination_of  # the one definition of a destination claim's scope

    return destination_of(scope) is None


def _scope(pk: str, rule_id: str) -> str:
    prefix = f"ALERT#{rule_id}#"
    return pk.removeprefix(prefix) if pk.startswith(prefix) else pk


def alert_from_item(item: dict[str, Any]) -> AlertRecord:
    """The record of a claim item (read from the table or the ``by-alert-day`` index)."""

    def text(name: str) -> str:
        return str(item.get(name, {}).get("S", ""))

    rule_id = text("rule_id")
    return AlertRecord(
        rule_id=rule_id,
        scope=_scope(text("pk"), rule_id),
        event_id=text("event_id"),
        event_time=text("event_time"),
        status=text("status"),
        reason=item.get("reason", {}).get("S"),
    )


def dynamodb_alerts_of_day(
    client: DynamoDBClient, table: str, day: str, *, low: str, high: str
) -> Iterator[tuple[str, AlertRecord]]:
    """(claim pk, record) of the alerts with ``low <= eventTime <= high`` on ``day``, in time
    order: one paginated ``Query`` of ``by-alert-day`` (``low``/``high`` are ISO 8601 times)."""
    from botocore.exceptions import BotoCoreError, ClientError

    request: dict[str, Any] = {
        "TableName": table,
        "IndexName": BY_ALERT_DAY,
        "KeyConditionExpression": "alert_day = :day AND time_sk BETWEEN :low AND :high",
        "ExpressionAttributeValues": {
            ":day": {"S": alert_day_key(day)},
            ":low": {"S": schema.time_sort_key(low, "")},
            ":high": {"S": high + _AFTER_ALL_IDS},
        },
    }
    while True:
        try:
            page = client.query(**request)
        except (ClientError, BotoCoreError) as error:
            raise StoreError(f"cannot read alerts from {table}: {error}") from None
        for item in page.get("Items", []):
            record = alert_from_item(item)
            if is_alert(record.rule_id, record.scope):
                yield str(item.get("pk", {}).get("S", "")), record
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def claim_reasons(client: DynamoDBClient, table: str, pks: Iterable[str]) -> dict[str, str]:
    """The ``reason`` of each claim item named (``by-alert-day`` does not project it).

    ``BatchGetItem`` of at most 100 keys a request, asked only for the few claims whose reason
    a reader needs (suppressed ones); unprocessed keys are asked again, a few times.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    wanted = list(dict.fromkeys(pks))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), _BATCH_KEYS):
        keys: list[dict[str, Any]] = [
            {"pk": {"S": pk}, "sk": {"S": schema.ALERT_SK}}
            for pk in wanted[start : start + _BATCH_KEYS]
        ]
        for _attempt in range(_BATCH_ATTEMPTS):
            try:
                response = client.batch_get_item(
                    RequestItems={
                        table: {
                            "Keys": keys,
                            "ProjectionExpression": "pk, reason",
                        }
                    }
                )
            except (ClientError, BotoCoreError) as error:
                raise StoreError(f"cannot read alert claims from {table}: {error}") from None
            for item in response.get("Responses", {}).get(table, []):
                reason = item.get("reason", {}).get("S")
                if reason is not None:
                    found[str(item["pk"]["S"])] = str(reason)
            unprocessed: dict[str, Any] = dict(response.get("UnprocessedKeys", {}))
            keys = list(unprocessed.get(table, {}).get("Keys", []))
            if not keys:
                break
        else:
            raise StoreRetryableError(f"{table} kept alert claims unprocessed (throttled)")
    return found


def dynamodb_account_day(
    client: DynamoDBClient, table: str, account_id: str, day: str, *, now_epoch: int
) -> Iterator[SignInEvent]:
    """The account's unexpired events of ``day``, oldest first: one paginated ``Query`` of
    ``by-account-day`` (the index copies every audit field, not ``raw``)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from .dynamodb import _event_from_item

    ttl = schema.TTL_ATTRIBUTE
    request: dict[str, Any] = {
        "TableName": table,
        "IndexName": schema.BY_ACCOUNT_DAY,
        "KeyConditionExpression": "account_day = :key",
        "FilterExpression": f"attribute_not_exists({ttl}) OR {ttl} > :now",
        "ExpressionAttributeValues": {
            ":key": {"S": schema.account_day_key(account_id, day)},
            ":now": {"N": str(now_epoch)},
        },
    }
    while True:
        try:
            page = client.query(**request)
        except (ClientError, BotoCoreError) as error:
            raise StoreError(f"cannot read the events of {table}: {error}") from None
        for item in page.get("Items", []):
            yield _event_from_item(item)
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def open_read_only(path: str) -> tuple[sqlite3.Connection, set[str]]:
    """A read-only connection to an existing store file, and its table names.

    Readers (the report, the digest) never create an empty store by mistake, and never take a
    write lock a running replay would wait on.
    """
    import sqlite3
    from pathlib import Path

    if not Path(path).is_file():
        raise StoreError(f"no SQLite store at {path}")
    try:
        uri = Path(path).resolve().as_uri() + "?mode=ro"
        db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        db.execute("PRAGMA busy_timeout=10000")
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.Error as error:
        raise StoreError(f"cannot read SQLite store {path}: {error}") from None
    if "activity" not in tables:
        raise StoreError(f"{path} is not a signin-monitor store (no activity table)")
    return db, tables


def sqlite_alert_claims(db: sqlite3.Connection, *, since: str, until: str) -> Iterator[AlertRecord]:
    """Alert claims with ``since <= eventTime <= until`` from a SQLite store's ``alert_claims``
    (read-only; a ``reason`` column is read if the file has one), oldest first."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    if "alert_claims" not in tables:
        return
    columns = {row[1] for row in db.execute("PRAGMA table_info(alert_claims)")}
    reason = "reason" if "reason" in columns else "NULL"
    sql = (
        f"SELECT pk, rule_id, event_id, event_time, status, {reason} FROM alert_claims"  # noqa: S608
        " WHERE event_time >= ? AND event_time <= ? AND rule_id != ?"
        " ORDER BY event_time, event_id"
    )
    for pk, rule_id, event_id, event_time, status, why in db.execute(
        sql, (since, until, DIGEST_RULE_ID)
    ):
        if not is_alert(rule_id, _scope(pk, rule_id)):
            continue
        yield AlertRecord(
            rule_id=rule_id,
            scope=_scope(pk, rule_id),
            event_id=event_id,
            event_time=event_time,
            status=status,
            reason=why,
        )
