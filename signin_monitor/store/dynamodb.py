"""``DynamoDbStore``: the activity store the Lambda uses, on one DynamoDB table (``schema.py``).

It talks to DynamoDB through the low-level boto3 client (cheaper to import than the resource
layer), created on first use unless one is passed in. Only ``put_item``, ``update_item``,
``query`` and ``transact_write_items`` (one ``Put`` and two ``ConditionCheck`` items) are called
from this module, so the Lambda's IAM policy needs ``PutItem``, ``UpdateItem``, ``Query`` and
``ConditionCheckItem`` (a Terraform contract test collects the ``<client>.<method>(...)`` calls
of the modules the Lambda runs, and the item kinds of its transactions). The one call only
``signin-monitor resend`` makes, deleting an undelivered alert's marker, lives in
``dynamodb_admin`` with the other operator-only calls. ``record_many`` (``BatchGetItem`` and
``BatchWriteItem``) is the command line's bulk path (``replay --table``): the Lambda records one
event per delivery and never calls it, so the function role is not granted those two actions.

Round trips per operation:

* ``record``: 1 conditional ``PutItem`` (``attribute_not_exists(pk)``).
* ``record_many`` (command line only): per 100 events, 1 ``BatchGetItem`` of their keys, then
  1 ``BatchWriteItem`` per 25 of those not stored yet; more only for unprocessed items.
* ``count_failures``: 1 ``Query`` (``Select=COUNT``, consistent); more only past 1 MB of keys.
* ``failures_between``: 1 ``Query`` (consistent, audit fields only); more only past 1 MB.
* ``claim_alert``, one-off: 1 conditional ``PutItem`` returning the old item, on success and on a
  failed condition alike (``ReturnValuesOnConditionCheckFailure``): a claim whose response was
  lost is recognised by its token with no extra read.
* ``claim_alert`` / ``claim_window``, windowed: 1 ``TransactWriteItems`` per anchor tried
  (a new anchor covered by a claim the cancelled transaction returned is skipped without a
  call); a retry after a failed post costs 2 (the first finds the pending claim).
* ``mark_alert``: 1 conditional ``UpdateItem``; +1 ``PutItem`` (the undelivered marker) for
  ``FAILED`` with a payload.
* ``failures_from_source``, ``successes_between``: 1 ``Query`` of a sparse index
  (``by-failure-source``, ``by-success``); more only past 1 MB.
* ``last_success``, ``has_success_from_network``: 1 ``Query`` (``Limit=1``) of ``by-success``
  (newest first) or ``by-network`` (``Select=COUNT``).
* ``history``: ``Query`` only, never ``Scan``: 3 (one per kind) for principal and account,
  1 for principal or source IP alone, 1 per UTC day for an account alone; each paginated.
* ``suppressions``: 1 consistent ``Query`` of the ``SUPPRESSIONS`` partition
  (``suppressions_dynamodb``); the pipeline asks once per invocation, after a claim succeeds.
* ``resend`` (command line only): ``undelivered_alerts`` 1 ``Query`` of the ``UNDELIVERED``
  partition; ``claim_resend`` 1 ``UpdateItem``; ``finish_resend`` 1 ``UpdateItem`` and, when
  sent, 1 ``DeleteItem`` (``dynamodb_admin``).

So a delivery costs 1 call for a success without an alert, 2 for a failure, and 2 per alert,
as design §5 budgets. Throttling, 5xx and network errors become ``StoreRetryableError`` (the
Lambda retries the event, which is safe: every write is conditional or idempotent), an item
DynamoDB refuses for its content ``UnstorableRecordError`` (a malformed record, dropped), and
anything else ``StoreError`` (final).
"""

from __future__ import annotations

import heapq
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, cast

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from ..alerts import Alert
from ..errors import StoreError, StoreRetryableError, UnstorableRecordError
from ..events import (
    API_CALL,
    SIGN_IN,
    SIGNIN_EVENT_SOURCE,
    Result,
    SignInEvent,
    format_time,
    parse_time,
)
from . import schema
from .alert_index import alert_index_attributes
from .base import (
    DEFAULT_CLAIM_LEASE_SECONDS,
    ClaimOutcome,
    ClaimStatus,
    HistoryQuery,
    UndeliveredAlert,
)
from .windows import StoredClaim, Verdict, judge, neighbour_buckets, window_bounds

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        QueryInputTypeDef,
        TransactWriteItemTypeDef,
    )

    from ..suppressions import Suppression
    from .suppressions_dynamodb import DynamoDbSuppressions

    Item = dict[str, AttributeValueTypeDef]

__all__ = ["DynamoDbStore"]

_CONDITION_FAILED: Final = "ConditionalCheckFailedException"
_VALIDATION: Final = "ValidationException"
_TRANSACTION_CANCELED: Final = "TransactionCanceledException"
#: Transactions one windowed anchor may take before the claim gives up with a retryable error:
#: each cancellation either returns a claim that changes the verdict or was a transient
#: conflict with another transaction on the same keys.
_WINDOW_ATTEMPTS: Final = 4
#: BatchGetItem takes at most 100 keys per request, BatchWriteItem at most 25 puts.
_BATCH_GET_KEYS: Final = 100
_BATCH_WRITE_ITEMS: Final = 25
#: Requests one batch may take while DynamoDB leaves part of it unprocessed (or throttles the
#: whole request) before ``record_many`` gives up with a retryable error; the waits between
#: them double from ``_BATCH_BACKOFF_S`` up to ``_BATCH_BACKOFF_CAP_S`` (with full jitter), about
#: 20 s in all: a backfill outruns the table's capacity for a while, not for ever.
_BATCH_ATTEMPTS: Final = 10
_BATCH_BACKOFF_S: Final = 0.05
_BATCH_BACKOFF_CAP_S: Final = 5.0
#: What ``failures_between`` reads of each failure: the audit fields, not the raw record.
_AUDIT_NAMES: Final = {f"#a{index}": name for index, name in enumerate(schema.INDEX_ATTRIBUTES)}
_RETRYABLE_CODES: Final = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        "LimitExceededException",
    }
)
# Bounds for open-ended history ranges: before any CloudTrail event, and far in the future.
_EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST: Final = datetime(9999, 1, 1, tzinfo=UTC)
_ONE_SECOND: Final = timedelta(seconds=1)
_ONE_DAY: Final = timedelta(days=1)


class DynamoDbStore:
    """An ``ActivityStore`` on one DynamoDB table laid out as ``schema.TABLE_SCHEMA``.

    Usage::

        store = DynamoDbStore(os.environ["ACTIVITY_TABLE"])
        if store.record(event, expires_at=expiry):
            ...

    **Parameters:**

    * **table_name** - the table (``signin-monitor create-table`` or Terraform made it).
    * **client** - a boto3 DynamoDB client; by default one is created on first use, with short
      timeouts and 3 attempts, since the Lambda retries the whole event anyway.
      ``AWS_ENDPOINT_URL_DYNAMODB`` points it at DynamoDB Local or moto.
    * **consistent_reads** - strongly consistent reads on the table itself (failure counts and
      principal-and-account history). Leave on: a count must see the failure just recorded.
    * **clock** - epoch seconds now; the claim lease and open-ended audit ranges read it.
    * **lease_seconds** - a pending claim younger than this belongs to the delivery posting it,
      so a concurrent duplicate of the same event is ``SUPPRESSED``; once older it is a
      ``RETRY``. Shorter than Lambda's one-minute first retry delay (a real retry is never
      suppressed), longer than a Slack post takes.
    """

    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None = None,
        consistent_reads: bool = True,
        clock: Callable[[], float] = time.time,
        lease_seconds: float = DEFAULT_CLAIM_LEASE_SECONDS,
    ) -> None:
        self.table_name = table_name
        self.consistent_reads = consistent_reads
        self.lease_seconds = lease_seconds
        self._clock = clock
        self._boto_client = client
        self._client_lock = threading.Lock()
        # Tokens of the resends this store claimed, by marker sort key, until they finish.
        self._resend_tokens: dict[str, str] = {}

    @property
    def _client(self) -> DynamoDBClient:
        """The boto3 client, created once on first use (boto3 import cost only when needed)."""
        if self._boto_client is None:
            with self._client_lock:
                if self._boto_client is None:
                    self._boto_client = _make_client()
        return self._boto_client

    def record(self, event: SignInEvent, *, expires_at: int | None) -> bool:
        """Put the event unless its keys exist: a repeated delivery is stored, and counted, once.

        A put whose response was lost and that botocore retried finds its own item: False, as
        for any duplicate, and the rules still run. An item DynamoDB refuses for its content
        (over 400 KB, a key too long, text that is not UTF-8) raises ``UnstorableRecordError``:
        a retry cannot fix it.
        """
        item = _item_from_event(event, expires_at)
        _check_item_size(item, event)
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if _error_code(error) == _CONDITION_FAILED:
                return False
            if _error_code(error) == _VALIDATION:
                raise _unstorable(event, _error_message(error)) from error
            raise _store_error("record", error) from error
        except BotoCoreError as error:
            raise _store_error("record", error) from error
        except UnicodeError as error:  # a lone surrogate cannot be sent as JSON in UTF-8
            raise _unstorable(event, "text that is not valid Unicode") from error
        return True

    def record_many(
        self, events: Sequence[SignInEvent], *, expires_at: Sequence[int | None]
    ) -> list[bool]:
        """``record`` for many events in few round trips; per event, True if it was new.

        ``BatchWriteItem`` cannot be conditional, so which events are new is read first: one
        consistent ``BatchGetItem`` of up to 100 keys (keys only), then only the missing items
        are put, 25 per ``BatchWriteItem``. Items DynamoDB leaves unprocessed (or a request it
        throttles) are sent again after a growing, jittered wait; the result keeps the order of
        ``events``, and an event given twice is new at most once. The items are exactly those
        ``record`` writes, so an existing item is never rewritten with other content.

        Safe beside a live Lambda recording the same events: if its conditional put lands
        between our read and our write, both report the event new and our put rewrites the
        identical item (same keys, same attributes), so it is stored once and counted once; the
        alert claims stay conditional, so it still alerts once. Idempotent: a rerun, or a retry
        after a lost response, finds the items and reports them stored.

        An event DynamoDB cannot hold (an item over 400 KB, text that is not UTF-8; keys are
        bounded by ``schema``) raises ``UnstorableRecordError`` before any round trip, so none
        of the events is written and the caller can record them one by one, losing only that
        one. Should DynamoDB still refuse a batch (``ValidationException``), the rest of the
        chunk is recorded event by event with ``record``: the result stays right, and an event
        it refuses raises its own error after the ones before it were stored.
        """
        if len(events) != len(expires_at):
            raise ValueError(
                f"record_many: {len(events)} events but {len(expires_at)} expiry times"
            )
        items = [
            _item_from_event(event, expiry)
            for event, expiry in zip(events, expires_at, strict=True)
        ]
        for item, event in zip(items, events, strict=True):
            _check_item_size(item, event)
            _check_unicode(item, event)
        new: list[bool] = []
        for start in range(0, len(items), _BATCH_GET_KEYS):
            chunk = slice(start, start + _BATCH_GET_KEYS)
            new += self._record_chunk(events[chunk], expires_at[chunk], items[chunk])
        return new

    def _record_chunk(
        self,
        events: Sequence[SignInEvent],
        expires_at: Sequence[int | None],
        items: list[Item],
    ) -> list[bool]:
        """At most 100 events: read which keys exist, put the others, 25 per request."""
        keys = [_key_text(item) for item in items]
        first: dict[tuple[str, str], int] = {}
        for position, key in enumerate(keys):
            first.setdefault(key, position)
        written: set[tuple[str, str]] = set()
        try:
            stored = self._stored_keys(list(first))
            missing = [key for key in first if key not in stored]
            for start in range(0, len(missing), _BATCH_WRITE_ITEMS):
                batch = missing[start : start + _BATCH_WRITE_ITEMS]
                self._put_batch([items[first[key]] for key in batch])
                written.update(batch)
        except _RefusedBatchError:
            # The batches already written were new; the rest go one by one, where the refused
            # item raises its own error.
            return [
                first[key] == position if key in written else self.record(event, expires_at=expiry)
                for position, (key, event, expiry) in enumerate(
                    zip(keys, events, expires_at, strict=True)
                )
            ]
        return [first[key] == position and key not in stored for position, key in enumerate(keys)]

    def _stored_keys(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (distinct) keys hold an item: consistent ``BatchGetItem``, keys only."""
        pending: Any = {
            self.table_name: {
                "Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in keys],
                "ProjectionExpression": "pk, sk",
                "ConsistentRead": True,
            }
        }
        found: set[tuple[str, str]] = set()
        for attempt in range(_BATCH_ATTEMPTS):
            if attempt:
                _backoff(attempt)
            try:
                response = self._client.batch_get_item(RequestItems=pending)
            except (ClientError, BotoCoreError, UnicodeError) as error:
                _raise_unless_retryable(error)
                continue
            found.update(_key_text(item) for item in response["Responses"].get(self.table_name, []))
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                return found
        raise StoreRetryableError(
            "DynamoDB record_many failed: keys still unprocessed after "
            f"{_BATCH_ATTEMPTS} BatchGetItem requests"
        )

    def _put_batch(self, items: list[Item]) -> None:
        """Put up to 25 items with ``BatchWriteItem``, sending the unprocessed ones again."""
        pending: Any = {self.table_name: [{"PutRequest": {"Item": item}} for item in items]}
        for attempt in range(_BATCH_ATTEMPTS):
            if attempt:
                _backoff(attempt)
            try:
                response = self._client.batch_write_item(RequestItems=pending)
            except (ClientError, BotoCoreError, UnicodeError) as error:
                _raise_unless_retryable(error)
                continue
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                return
        raise StoreRetryableError(
            "DynamoDB record_many failed: items still unprocessed after "
            f"{_BATCH_ATTEMPTS} BatchWriteItem requests"
        )

    def count_failures(
        self, account_id: str, principal: str, *, after: datetime, until: datetime
    ) -> int:
        """Count the principal's FAILURE keys in ``(after, until]`` with one key-range query.

        ``Select=COUNT`` returns no items; DynamoDB still stops at 1 MB of keys read, so the
        loop only runs again for bursts of thousands of failures.
        """
        low, high = schema.kind_range(schema.KIND_FAILURE, format_time(after), format_time(until))
        request: QueryInputTypeDef = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":pk": {"S": schema.activity_pk(account_id, principal)},
                ":lo": {"S": low},
                ":hi": {"S": high},
            },
            "Select": "COUNT",
            "ConsistentRead": self.consistent_reads,
        }
        total = 0
        while True:
            try:
                page = self._client.query(**request)
            except (ClientError, BotoCoreError) as error:
                raise _store_error("count_failures", error) from error
            total += page["Count"]
            if "LastEvaluatedKey" not in page:
                return total
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def failures_between(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """The principal's FAILURE items in ``(after, before)``: one consistent key-range query.

        Projected to the audit fields (``raw`` comes back ``{}``), so a burst costs the bytes
        of its keys and fields, not of its records.
        """
        low, high = schema.kind_between(
            schema.KIND_FAILURE, format_time(after), format_time(before)
        )
        request: QueryInputTypeDef = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":pk": {"S": schema.activity_pk(account_id, principal)},
                ":lo": {"S": low},
                ":hi": {"S": high},
            },
            "ProjectionExpression": ", ".join(_AUDIT_NAMES),
            "ExpressionAttributeNames": _AUDIT_NAMES,
            "ConsistentRead": self.consistent_reads,
        }
        events: list[SignInEvent] = []
        while True:
            try:
                page = self._client.query(**request)
            except (ClientError, BotoCoreError) as error:
                raise _store_error("failures_between", error) from error
            events.extend(_event_from_item(item) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return events
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def claim_alert(self, alert: Alert) -> ClaimOutcome:
        """Take the alert's claim with one conditional put, and tell CLAIMED from RETRY.

        The put succeeds when no claim exists, or when the claim is this event's, still
        pending, and older than the lease (a retry after a failed post). The old item it
        returns says which: this event's claim means RETRY, anything else CLAIMED. A failed
        condition means BUSY when the claim is this event's and pending (leased), else
        SUPPRESSED. A retry rewrites the same event time and ``pending``, and renews the
        lease, so concurrent retries still post once.

        Each claim carries a fresh ``token``. When DynamoDB applied the put but the response
        was lost (a 500 or a reset after the write) botocore sends it again and that retry
        fails its condition against our own item; the failure returns the stored item
        (``ReturnValuesOnConditionCheckFailure``, no extra round trip), and our token in it
        means the claim is ours: CLAIMED, not SUPPRESSED.

        Windowed alerts go to ``_claim_window`` (a transaction over three time slots).
        """
        if alert.window is not None:
            return self._claim_window((alert,))[1]
        event = alert.event
        now = self._clock()
        token = _new_token()
        condition = (
            "attribute_not_exists(pk)"
            " OR (event_id = :eid AND #status = :pending AND claimed_at <= :lease_end)"
        )
        values: Item = {
            ":eid": {"S": event.event_id},
            ":pending": {"S": ClaimStatus.PENDING.value},
            ":lease_end": {"N": _number(now - self.lease_seconds)},
        }
        try:
            response = self._client.put_item(
                TableName=self.table_name,
                Item={
                    "pk": {"S": schema.alert_pk(*alert.claim_key)},
                    "sk": {"S": schema.ALERT_SK},
                    "rule_id": {"S": alert.rule_id},
                    "event_id": {"S": event.event_id},
                    "event_time": {"S": event.time_text},
                    "status": {"S": ClaimStatus.PENDING.value},
                    "claimed_at": {"N": _number(now)},
                    "token": {"S": token},
                    **_alert_index_item(event),
                },
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if _error_code(error) == _CONDITION_FAILED:
                if _holds_token(error, token):
                    return ClaimOutcome.CLAIMED
                return _refused(cast("Item", error.response.get("Item", {})), event.event_id)
            raise _store_error("claim_alert", error) from error
        except BotoCoreError as error:
            raise _store_error("claim_alert", error) from error
        old = response.get("Attributes", {})
        if old.get("event_id", {}).get("S") == event.event_id:
            return ClaimOutcome.RETRY
        return ClaimOutcome.CLAIMED

    def claim_window(self, alert: Alert) -> tuple[Alert, ClaimOutcome]:
        """The first claimable of ``alert.candidates``, each tried with one transaction."""
        return self._claim_window(alert.candidates)

    def _claim_window(self, candidates: Sequence[Alert]) -> tuple[Alert, ClaimOutcome]:
        """Try the anchors in order; what a cancelled transaction returns decides the next try.

        No read comes first: the transaction's conditions are the check, and a cancelled one
        returns the claims that refused it (``ReturnValuesOnConditionCheckFailure``), so a
        later anchor they already cover is skipped without a call, and a concurrent delivery
        that claimed another anchor of the burst is seen at once.
        """
        known: dict[str, StoredClaim | None] = {}
        for candidate in candidates:
            keys = [
                schema.alert_pk(*candidate.claim_key_in(b)) for b in neighbour_buckets(candidate)
            ]
            for _attempt in range(_WINDOW_ATTEMPTS):
                lease_end = self._clock() - self.lease_seconds
                stored = [claim for key in keys if (claim := known.get(key)) is not None]
                verdict = judge(candidate, stored, lease_end=lease_end)
                if verdict is Verdict.COVERED:
                    break
                if verdict is Verdict.BUSY:
                    return candidate, ClaimOutcome.BUSY
                retake = verdict is Verdict.RETAKE
                refusals = self._transact_window(candidate, keys, retake=retake)
                if refusals is None:
                    return candidate, ClaimOutcome.RETRY if retake else ClaimOutcome.CLAIMED
                known.update(refusals)
            else:
                raise StoreRetryableError(
                    "DynamoDB claim_alert failed: the window claim kept conflicting"
                )
        return candidates[0], ClaimOutcome.SUPPRESSED

    def _transact_window(
        self, alert: Alert, keys: list[str], *, retake: bool
    ) -> dict[str, StoredClaim | None] | None:
        """Write the anchor's claim if both neighbour slots allow it; None when written.

        Otherwise the claims that refused it, by key (None: the key holds no claim). The
        ``ClientRequestToken`` makes botocore's retry of a transaction whose response was lost
        succeed again instead of failing its own condition; the ``token`` written with
        the claim recognises it where that idempotency is not honoured.
        """
        before, own, after = keys
        low, high = window_bounds(alert)
        event = alert.event
        token = uuid.uuid4().hex
        now = self._clock()
        own_values: Item = {}
        if retake:
            own_condition = "event_id = :eid AND #status = :pending AND claimed_at <= :lease_end"
            own_values = {
                ":eid": {"S": event.event_id},
                ":pending": {"S": ClaimStatus.PENDING.value},
                ":lease_end": {"N": _number(now - self.lease_seconds)},
            }
        else:
            own_condition = "attribute_not_exists(pk)"
        put: TransactWriteItemTypeDef = {
            "Put": {
                "TableName": self.table_name,
                "Item": {
                    "pk": {"S": own},
                    "sk": {"S": schema.ALERT_SK},
                    "rule_id": {"S": alert.rule_id},
                    "event_id": {"S": event.event_id},
                    "event_time": {"S": event.time_text},
                    "status": {"S": ClaimStatus.PENDING.value},
                    "claimed_at": {"N": _number(now)},
                    "token": {"S": token},
                    **_alert_index_item(event),
                },
                "ConditionExpression": own_condition,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        if retake:
            put["Put"]["ExpressionAttributeNames"] = {"#status": "status"}
            put["Put"]["ExpressionAttributeValues"] = own_values
        items: list[TransactWriteItemTypeDef] = [
            self._neighbour_check(before, "event_time <= :bound", low),
            put,
            self._neighbour_check(after, "event_time >= :bound", high),
        ]
        try:
            self._client.transact_write_items(TransactItems=items, ClientRequestToken=token)
        except ClientError as error:
            if _error_code(error) != _TRANSACTION_CANCELED:
                raise _store_error("claim_alert", error) from error
            reasons = error.response.get("CancellationReasons", [])
        except BotoCoreError as error:
            raise _store_error("claim_alert", error) from error
        else:
            return None
        refusals: dict[str, StoredClaim | None] = {}
        for key, reason in zip(keys, reasons, strict=False):
            if reason.get("Code") != "ConditionalCheckFailed":
                continue
            # The stubs type a reason's item as a key/value pair; it is an attribute map.
            item = cast("Item | None", reason.get("Item"))
            claim = None if not item else _stored_claim(item)
            if key == own and claim is not None and claim.token == token:
                return None  # our own write, its response lost: botocore's retry failed on it
            refusals[key] = claim
        return refusals

    def _neighbour_check(self, key: str, condition: str, bound: str) -> TransactWriteItemTypeDef:
        """A condition that the claim in a neighbour slot, if any, lies outside the window."""
        return {
            "ConditionCheck": {
                "TableName": self.table_name,
                "Key": {"pk": {"S": key}, "sk": {"S": schema.ALERT_SK}},
                "ConditionExpression": f"attribute_not_exists(pk) OR {condition}",
                "ExpressionAttributeValues": {":bound": {"S": bound}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def mark_alert(
        self,
        alert: Alert,
        status: ClaimStatus,
        *,
        payload: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        """Set the claim's status if it is still this event's (a newer alert may own it now).

        ``PENDING`` also releases the lease, so the retry of a failed post need not wait.
        ``FAILED`` with a ``payload`` first writes the alert's undelivered marker (one more
        ``PutItem``, on this rare path only), then the status: a crash in between leaves a
        marker whose claim is still pending, which the event's retry or ``resend`` settles.
        Idempotent: a retried update sets the same values under the same condition.
        """
        if status is ClaimStatus.FAILED and payload is not None:
            self._put_undelivered(alert, payload, reason)
        update = "SET #status = :status"
        values: Item = {":status": {"S": status.value}, ":eid": {"S": alert.event.event_id}}
        if status is ClaimStatus.PENDING:
            update += ", claimed_at = :released"
            values[":released"] = {"N": "0"}
        if status is ClaimStatus.SUPPRESSED and reason is not None:
            update += ", reason = :reason"  # the suppression's id (report, digest)
            values[":reason"] = {"S": reason}
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key={
                    "pk": {"S": schema.alert_pk(*alert.claim_key)},
                    "sk": {"S": schema.ALERT_SK},
                },
                UpdateExpression=update,
                ConditionExpression="event_id = :eid",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if _error_code(error) != _CONDITION_FAILED:
                raise _store_error("mark_alert", error) from error
        except BotoCoreError as error:
            raise _store_error("mark_alert", error) from error

    def undelivered_alerts(self) -> Iterator[UndeliveredAlert]:
        """The undelivered markers, oldest first: one consistent ``Query`` (paginated)."""
        request: QueryInputTypeDef = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": schema.UNDELIVERED_PK}},
            "ConsistentRead": True,
        }
        while True:
            try:
                page = self._client.query(**request)
            except (ClientError, BotoCoreError) as error:
                raise _store_error("undelivered_alerts", error) from error
            for item in page["Items"]:
                yield _undelivered_from_item(item)
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def claim_resend(self, alert: UndeliveredAlert) -> bool:
        """Take a failed claim for re-posting: failed (or pending past its lease) -> pending.

        One conditional ``UpdateItem`` with a fresh token (a lost response is recognised as in
        ``claim_alert``). False if another resend or delivery holds it, or it was sent; a marker
        whose claim was sent or taken over by another alert is stale and is removed.
        """
        token = _new_token()
        now = self._clock()
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=_claim_key(schema.alert_pk(alert.rule_id, alert.scope)),
                UpdateExpression="SET #status = :pending, claimed_at = :now, #token = :token",
                ConditionExpression=(
                    "event_id = :eid AND (#status = :failed"
                    " OR (#status = :pending AND claimed_at <= :lease_end))"
                ),
                ExpressionAttributeNames={"#status": "status", "#token": "token"},
                ExpressionAttributeValues={
                    ":pending": {"S": ClaimStatus.PENDING.value},
                    ":failed": {"S": ClaimStatus.FAILED.value},
                    ":eid": {"S": alert.event_id},
                    ":now": {"N": _number(now)},
                    ":lease_end": {"N": _number(now - self.lease_seconds)},
                    ":token": {"S": token},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if _error_code(error) != _CONDITION_FAILED:
                raise _store_error("claim_resend", error) from error
            if _holds_token(error, token):
                self._resend_tokens[_marker_sk(alert)] = token
                return True
            if _is_stale(error, alert):
                self._forget_undelivered(alert)
            return False
        except BotoCoreError as error:
            raise _store_error("claim_resend", error) from error
        self._resend_tokens[_marker_sk(alert)] = token
        return True

    def finish_resend(
        self, alert: UndeliveredAlert, status: ClaimStatus, *, reason: str | None = None
    ) -> None:
        """SENT marks the claim sent and removes the marker; FAILED puts both back as failed."""
        token = self._resend_tokens.pop(_marker_sk(alert), None)
        condition = "event_id = :eid"
        values: Item = {":eid": {"S": alert.event_id}, ":status": {"S": status.value}}
        if token is not None:
            condition += " AND #token = :token"
            values[":token"] = {"S": token}
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=_claim_key(schema.alert_pk(alert.rule_id, alert.scope)),
                UpdateExpression="SET #status = :status",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status", "#token": "token"}
                if token is not None
                else {"#status": "status"},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if _error_code(error) != _CONDITION_FAILED:
                raise _store_error("finish_resend", error) from error
        except BotoCoreError as error:
            raise _store_error("finish_resend", error) from error
        if status is ClaimStatus.SENT:
            self._forget_undelivered(alert)
        elif reason is not None:
            self._note_reason(alert, reason)

    def _put_undelivered(self, alert: Alert, payload: dict[str, Any], reason: str | None) -> None:
        """Write (or rewrite, on a retry) the marker ``resend`` lists for this alert."""
        item = _undelivered_item(alert, payload, reason, self._clock())
        try:
            self._client.put_item(TableName=self.table_name, Item=item)
        except (ClientError, BotoCoreError) as error:
            raise _store_error("mark_alert", error) from error

    def _note_reason(self, alert: UndeliveredAlert, reason: str) -> None:
        """Keep why the last resend failed on the marker (if it is still there)."""
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key={
                    "pk": {"S": schema.UNDELIVERED_PK},
                    "sk": {"S": _marker_sk(alert)},
                },
                UpdateExpression="SET reason = :reason",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":reason": {"S": reason}},
            )
        except ClientError as error:
            if _error_code(error) != _CONDITION_FAILED:
                raise _store_error("finish_resend", error) from error
        except BotoCoreError as error:
            raise _store_error("finish_resend", error) from error

    def _forget_undelivered(self, alert: UndeliveredAlert) -> None:
        """Delete the marker. Only ``resend`` (the command line) gets here: the call lives in
        ``dynamodb_admin`` so the Lambda's IAM policy (derived from this module) needs no
        ``DeleteItem``."""
        from .dynamodb_admin import delete_undelivered_marker

        try:
            delete_undelivered_marker(self._client, self.table_name, _marker_sk(alert))
        except (ClientError, BotoCoreError) as error:
            raise _store_error("finish_resend", error) from error

    def history(self, query: HistoryQuery) -> Iterator[SignInEvent]:
        """Matching events, oldest first (by event time, then id), expired ones left out.

        Every read is a ``Query``: principal and account read the principal's partition (both
        kinds, merged); principal alone, or source IP, read their index; an account alone reads
        the by-account-day index one UTC day at a time, so it needs ``since`` (an unbounded
        account audit would be a table scan) and ends at ``until`` or now. Other filters go in
        a ``FilterExpression``. The query is checked here, before the first event is read.
        """
        if query.principal is None and query.account_id is None and query.source_ip is None:
            raise ValueError("a history query needs a principal, an account or a source IP")
        if query.principal is None and query.source_ip is None and query.since is None:
            raise ValueError(
                "a history query by account alone needs a start time (--since): "
                "it reads the account's events one day at a time"
            )
        return self._history(query)

    def close(self) -> None:
        """Nothing to release: boto3 clients hold no connection worth closing explicitly."""

    # Suppressions (issue 14) live in their own module; add and remove are the command line's.
    def add_suppression(self, suppression: Suppression, *, expires_at: int | None = None) -> bool:
        """Store a suppression; False if one with its id exists (``DynamoDbSuppressions``)."""
        return self._suppression_items().add_suppression(suppression, expires_at=expires_at)

    def suppressions(self) -> list[Suppression]:
        """Every stored suppression, expired ones too, by id: one consistent ``Query``."""
        return self._suppression_items().suppressions()

    def remove_suppression(self, suppression_id: str) -> bool:
        """Delete a suppression; False if none has that id."""
        return self._suppression_items().remove_suppression(suppression_id)

    def _suppression_items(self) -> DynamoDbSuppressions:
        from .suppressions_dynamodb import DynamoDbSuppressions

        return DynamoDbSuppressions(self._client, self.table_name)

    def has_console_sign_in(
        self, account_id: str, principal: str, *, after: datetime, until: datetime
    ) -> bool:
        """One consistent key-range ``Query`` of the principal's SIGNIN keys in ``(after, until]``,
        filtered to successful ConsoleLogin records (``Select=COUNT``: no item is returned)."""
        low, high = schema.kind_range(schema.KIND_SIGNIN, format_time(after), format_time(until))
        request: QueryInputTypeDef = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "FilterExpression": "event_name = :name AND #r = :ok",
            "ExpressionAttributeNames": {"#r": "result"},
            "ExpressionAttributeValues": {
                ":pk": {"S": schema.activity_pk(account_id, principal)},
                ":lo": {"S": low},
                ":hi": {"S": high},
                ":name": {"S": "ConsoleLogin"},
                ":ok": {"S": "Success"},
            },
            "Select": "COUNT",
            "ConsistentRead": self.consistent_reads,
        }
        while True:
            try:
                page = self._client.query(**request)
            except (ClientError, BotoCoreError) as error:
                raise _store_error("has_console_sign_in", error) from error
            if page["Count"]:
                return True
            if "LastEvaluatedKey" not in page:
                return False
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _history(self, query: HistoryQuery) -> Iterator[SignInEvent]:
        start = _EARLIEST if query.since is None else _whole_second(query.since)
        # Exclusive end: the first second after ``until`` (event times are whole seconds).
        end = _LATEST if query.until is None else _whole_second(query.until) + _ONE_SECOND
        if start >= end:
            return
        start_text, end_text = format_time(start), format_time(end)
        # An empty event id sorts before every real one: "<start>#" is inclusive of all ids at
        # the start second, and "<end>#" (inclusive bound) matches no item.
        time_low = schema.time_sort_key(start_text, "")
        time_high = schema.time_sort_key(end_text, "")
        if query.principal is not None and query.account_id is not None:
            filters = _Filters(query, keyed={"principal", "account_id", "kind"})
            pk = schema.activity_pk(query.account_id, query.principal)
            kinds = [
                self._query_items(
                    "pk = :key AND sk BETWEEN :lo AND :hi",
                    {
                        ":key": {"S": pk},
                        ":lo": {"S": schema.activity_sk(kind, start_text, "")},
                        ":hi": {"S": schema.activity_sk(kind, end_text, "")},
                    },
                    filters,
                    index=None,
                )
                for kind in _sort_kinds(query.kind)
            ]
            items: Iterator[Item] = heapq.merge(*kinds, key=_order)
        elif query.principal is not None:
            items = self._query_index(
                schema.BY_PRINCIPAL,
                "principal_key",
                schema.principal_key(query.principal),
                (time_low, time_high),
                _Filters(query, keyed={"principal"}),
            )
        elif query.source_ip is not None:
            items = self._query_index(
                schema.BY_SOURCE_IP,
                "source_ip_key",
                schema.source_ip_key(query.source_ip),
                (time_low, time_high),
                _Filters(query, keyed={"source_ip"}),
            )
        else:
            items = self._account_days(
                cast(str, query.account_id), start, end, (time_low, time_high), query
            )
        for item in items:
            yield _event_from_item(item)

    def _account_days(
        self,
        account_id: str,
        start: datetime,
        end: datetime,
        time_range: tuple[str, str],
        query: HistoryQuery,
    ) -> Iterator[Item]:
        """One by-account-day query per UTC day from ``start`` to ``end`` (or now), in order."""
        if query.until is None:
            end = min(end, datetime.fromtimestamp(self._clock(), UTC) + _ONE_SECOND)
        filters = _Filters(query, keyed={"account_id"})
        day = start.replace(hour=0, minute=0, second=0)
        while day < end:
            yield from self._query_index(
                schema.BY_ACCOUNT_DAY,
                "account_day",
                schema.account_day_key(account_id, format_time(day)),
                time_range,
                filters,
            )
            day += _ONE_DAY

    def _query_index(
        self,
        index: str,
        hash_attribute: str,
        hash_value: str,
        time_range: tuple[str, str],
        filters: _Filters,
    ) -> Iterator[Item]:
        """Items of one index partition within the ``time_sk`` range, in key order."""
        return self._query_items(
            f"{hash_attribute} = :key AND time_sk BETWEEN :lo AND :hi",
            {
                ":key": {"S": hash_value},
                ":lo": {"S": time_range[0]},
                ":hi": {"S": time_range[1]},
            },
            filters,
            index=index,
        )

    def _query_items(
        self, key_condition: str, values: Item, filters: _Filters, *, index: str | None
    ) -> Iterator[Item]:
        """Every item of one key-condition query, following ``LastEvaluatedKey``."""
        request: QueryInputTypeDef = {
            "TableName": self.table_name,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": {**values, **filters.values},
        }
        if filters.expression:
            request["FilterExpression"] = filters.expression
        if index is None:
            request["ConsistentRead"] = self.consistent_reads
        else:
            request["IndexName"] = index
        while True:
            try:
                page = self._client.query(**request)
            except (ClientError, BotoCoreError) as error:
                raise _store_error("history", error) from error
            yield from page["Items"]
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def failures_from_source(
        self, account_id: str, source_ip: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """The failures from the address in the account: one range of ``by-failure-source``.

        Index reads are eventually consistent: a failure recorded a moment ago by another
        delivery may be missing, and that delivery's own read then sees this one.
        """
        key = schema.failure_source_key(account_id, source_ip)
        items = self._index_range(
            "failures_from_source",
            schema.BY_FAILURE_SOURCE,
            "failure_source_key",
            key,
            after=after,
            before=before,
        )
        return [_event_from_index(item) for item in items]

    def successes_between(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """The principal's successes from IP addresses: one range of ``by-success``."""
        key = schema.success_key(account_id, principal)
        items = self._index_range(
            "successes_between", schema.BY_SUCCESS, "success_key", key, after=after, before=before
        )
        return [_event_from_index(item) for item in items]

    def last_success(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> SignInEvent | None:
        """The newest item of that ``by-success`` range: one ``Query``, newest first, one item."""
        key = schema.success_key(account_id, principal)
        items = self._index_range(
            "last_success",
            schema.BY_SUCCESS,
            "success_key",
            key,
            after=after,
            before=before,
            newest_first=True,
        )
        return _event_from_index(items[0]) if items else None

    def has_success_from_network(
        self, account_id: str, principal: str, network: str, *, after: datetime, before: datetime
    ) -> bool:
        """One ``Query`` of ``by-network`` (``Select=COUNT``, ``Limit=1``): is there one?"""
        key = schema.network_key(account_id, principal, network)
        items = self._index_range(
            "has_success_from_network",
            schema.BY_NETWORK,
            "network_key",
            key,
            after=after,
            before=before,
            count_one=True,
        )
        return bool(items)

    def _index_range(
        self,
        operation: str,
        index: str,
        hash_attribute: str,
        hash_value: str,
        *,
        after: datetime,
        before: datetime,
        newest_first: bool = False,
        count_one: bool = False,
    ) -> list[Item]:
        """Items of one sparse-index partition with ``after < event time < before``.

        ``"<after>$"`` sorts after every ``"<after>#<id>"`` and ``"<before>#"`` before every
        ``"<before>#<id>"``: both ends are exclusive, with no filter. ``newest_first`` reads one
        item from the end; ``count_one`` returns at most one (empty) item when one exists.
        """
        request: QueryInputTypeDef = {
            "TableName": self.table_name,
            "IndexName": index,
            "KeyConditionExpression": f"{hash_attribute} = :key AND time_sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":key": {"S": hash_value},
                ":lo": {"S": f"{format_time(after)}$"},
                ":hi": {"S": f"{format_time(before)}#"},
            },
        }
        if newest_first or count_one:
            request["Limit"] = 1
        if newest_first:
            request["ScanIndexForward"] = False
        if count_one:
            request["Select"] = "COUNT"
        items: list[Item] = []
        while True:
            try:
                page = self._client.query(**request)
            except (ClientError, BotoCoreError) as error:
                raise _store_error(operation, error) from error
            if count_one:
                return [{}] if page["Count"] else []
            items.extend(page["Items"])
            if newest_first or "LastEvaluatedKey" not in page:
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class _RefusedBatchError(Exception):
    """DynamoDB refused a whole batch for an item's content: record it event by event."""


def _key_text(item: Item) -> tuple[str, str]:
    """An activity item's (pk, sk), the identity ``record_many`` compares."""
    return item["pk"]["S"], item["sk"]["S"]


def _retryable(error: ClientError) -> bool:
    """Throttling and 5xx (after botocore's own retries): worth another batch attempt."""
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return _error_code(error) in _RETRYABLE_CODES or status >= 500


def _raise_unless_retryable(error: ClientError | BotoCoreError | UnicodeError) -> None:
    """Return when a ``record_many`` batch request should be sent again (throttled, 5xx); else
    raise: ``_RefusedBatchError`` for a request DynamoDB refuses as invalid or text that cannot
    be sent as JSON in UTF-8 (a lone surrogate), so the batch goes one event at a time; a store
    error for anything else."""
    if isinstance(error, UnicodeError):
        raise _RefusedBatchError from error
    if isinstance(error, ClientError):
        if _error_code(error) == _VALIDATION:
            raise _RefusedBatchError from error
        if _retryable(error):
            return
    raise _store_error("record_many", error) from error


def _backoff(attempt: int) -> None:
    """Sleep before batch attempt ``attempt`` (1-based retries): capped exponential, full jitter.

    Full jitter (a uniform wait up to the cap) keeps concurrent writers from retrying in step.
    """
    ceiling = min(_BATCH_BACKOFF_CAP_S, _BATCH_BACKOFF_S * 2 ** (attempt - 1))
    time.sleep(random.uniform(0, ceiling))  # noqa: S311 - jitter, not a secret


class _Filters:
    """The query's conditions the key does not cover, as a ``FilterExpression``."""

    def __init__(self, query: HistoryQuery, *, keyed: set[str]) -> None:
        parts: list[str] = []
        self.values: Item = {}
        for attribute, value in (
            ("principal", query.principal),
            ("account_id", query.account_id),
            ("source_ip", query.source_ip),
        ):
            if value is not None and attribute not in keyed:
                parts.append(f"{attribute} = :f_{attribute}")
                self.values[f":f_{attribute}"] = {"S": value}
        if query.kind is not None and "kind" not in keyed:
            # Items written before API calls were stored carry no kind: sign-in events.
            if query.kind == SIGN_IN:
                parts.append("(attribute_not_exists(kind) OR kind = :f_kind)")
            else:
                parts.append("kind = :f_kind")
            self.values[":f_kind"] = {"S": query.kind}
        if query.now_epoch is not None:
            # TTL deletes expired items late: leave them out explicitly.
            ttl = schema.TTL_ATTRIBUTE
            parts.append(f"(attribute_not_exists({ttl}) OR {ttl} > :f_now)")
            self.values[":f_now"] = {"N": str(query.now_epoch)}
        self.expression = " AND ".join(parts)


def _sort_kinds(kind: str | None) -> tuple[str, ...]:
    """The sort-key kinds that hold activities of ``kind`` (None: every kind)."""
    if kind is None:
        return schema.KINDS
    if kind == API_CALL:
        return (schema.KIND_API,)
    return (schema.KIND_SIGNIN, schema.KIND_FAILURE)


def _make_client() -> DynamoDBClient:
    """A client with modest retries and short timeouts: the Lambda retries the event itself."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 3},
        connect_timeout=3,
        read_timeout=5,
    )
    try:
        return boto3.client("dynamodb", config=config)
    except BotoCoreError as error:
        raise StoreError(f"cannot create the DynamoDB client: {error}") from error


def _refused(old: Item, event_id: str) -> ClaimOutcome:
    """A one-off claim whose condition failed: BUSY if it is this event's, still pending.

    The condition lets a pending same-event claim through once its lease is over, so a
    pending one that refused is still leased by the delivery posting it.
    """
    same_event = old.get("event_id", {}).get("S") == event_id
    if same_event and old.get("status", {}).get("S") == ClaimStatus.PENDING.value:
        return ClaimOutcome.BUSY
    return ClaimOutcome.SUPPRESSED


def _stored_claim(item: Item) -> StoredClaim:
    """The windowed rule's view of a claim item (see ``windows.StoredClaim``)."""
    token = item.get("token")
    return StoredClaim(
        event_id=item["event_id"]["S"],
        event_time=item["event_time"]["S"],
        status=item["status"]["S"],
        claimed_at=float(item["claimed_at"]["N"]),
        token=None if token is None else token["S"],
    )


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", "")) or "refused by DynamoDB"


def _alert_index_item(event: SignInEvent) -> Item:
    """The keys that list a claim in the sparse ``by-alert-day`` index (the audit report)."""
    return {
        name: {"S": value}
        for name, value in alert_index_attributes(event.time_text, event.event_id).items()
    }


def _new_token() -> str:
    """A value only this claim attempt writes (botocore's retries resend the same one)."""
    return uuid.uuid4().hex


def _old_item(error: ClientError) -> Item:
    """The item a failed condition was checked against (``ReturnValuesOnConditionCheckFailure``)."""
    return cast("Item", error.response.get("Item", {}))


def _holds_token(error: ClientError, token: str) -> bool:
    """True when the item that failed our condition is the one our own earlier attempt wrote."""
    return _old_item(error).get("token", {}).get("S") == token


def _is_stale(error: ClientError, alert: UndeliveredAlert) -> bool:
    """A marker is stale when its claim is gone, another event's, or already sent."""
    old = _old_item(error)
    return (
        old.get("event_id", {}).get("S") != alert.event_id
        or old.get("status", {}).get("S") == ClaimStatus.SENT.value
    )


def _claim_key(pk: str) -> Item:
    return {"pk": {"S": pk}, "sk": {"S": schema.ALERT_SK}}


def _marker_sk(alert: UndeliveredAlert) -> str:
    claim_pk = schema.alert_pk(alert.rule_id, alert.scope)
    return schema.undelivered_sk(format_time(alert.event_time), claim_pk)


def _undelivered_item(
    alert: Alert, payload: dict[str, Any], reason: str | None, now: float
) -> Item:
    """The marker of an undelivered alert: what ``resend`` needs to post it again."""
    claim_pk = schema.alert_pk(*alert.claim_key)
    item: Item = {
        "pk": {"S": schema.UNDELIVERED_PK},
        "sk": {"S": schema.undelivered_sk(alert.event.time_text, claim_pk)},
        "rule_id": {"S": alert.rule_id},
        "scope": {"S": alert.claim_key[1]},
        "event_id": {"S": alert.event.event_id},
        "event_time": {"S": alert.event.time_text},
        "payload": {"S": json.dumps(payload, ensure_ascii=False)},
        "failed_at": {"N": _number(now)},
    }
    if reason is not None:
        item["reason"] = {"S": reason}
    return item


def _undelivered_from_item(item: Item) -> UndeliveredAlert:
    return UndeliveredAlert(
        rule_id=item["rule_id"]["S"],
        scope=item["scope"]["S"],
        event_id=item["event_id"]["S"],
        event_time=parse_time(item["event_time"]["S"]),
        payload=json.loads(item["payload"]["S"]),
        reason=item["reason"]["S"] if "reason" in item else None,
    )


def _check_item_size(item: Item, event: SignInEvent) -> None:
    """Refuse, before any round trip, an item over DynamoDB's 400 KB (a retry cannot fix it)."""
    values = {name: next(iter(value.values())) for name, value in item.items()}
    if schema.surely_fits(values.values()):
        return
    size = schema.item_size(values)
    if size > schema.MAX_ITEM_BYTES:
        raise _unstorable(event, f"item of {size} bytes exceeds {schema.MAX_ITEM_BYTES}")


def _check_unicode(item: Item, event: SignInEvent) -> None:
    """Refuse, before any round trip, text that cannot be sent as UTF-8 (a lone surrogate).

    ``record`` learns it from the failed request; a batch checks first, so that an event it
    cannot store leaves every other event of the batch unwritten (see ``record_many``).
    """
    for value in item.values():
        text = value.get("S")
        if text is not None and not text.isascii():
            try:
                text.encode()
            except UnicodeError as error:
                raise _unstorable(event, "text that is not valid Unicode") from error


def _unstorable(event: SignInEvent, reason: str) -> UnstorableRecordError:
    return UnstorableRecordError(
        f"event {schema.key_part(event.event_id, 128)} cannot be stored: {reason}"
    )


def _store_error(operation: str, error: ClientError | BotoCoreError) -> StoreError:
    """The store error for a failed call: retryable for throttling, 5xx and network errors."""
    if isinstance(error, ClientError):
        code = _error_code(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        message = f"DynamoDB {operation} failed: {code or 'unknown error'}"
        if code in _RETRYABLE_CODES or status >= 500:
            return StoreRetryableError(message)
        return StoreError(message)
    message = f"DynamoDB {operation} failed: {type(error).__name__}: {error}"
    if isinstance(error, BotoConnectionError | HTTPClientError):
        return StoreRetryableError(message)
    return StoreError(message)


def _number(value: float) -> str:
    """Epoch seconds as a DynamoDB number, to the millisecond."""
    return f"{value:.3f}"


def _whole_second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _order(item: Item) -> tuple[str, str]:
    return item["event_time"]["S"], item["event_id"]["S"]


def _item_from_event(event: SignInEvent, expires_at: int | None) -> Item:
    """The activity item: keys, index keys, every normalized field and the raw record."""
    kind = schema.activity_sort_kind(
        api_call=event.is_api_call, failed_console_login=event.is_failed_console_login
    )
    time_text = event.time_text
    item: Item = {
        "pk": {"S": schema.activity_pk(event.account_id, event.principal)},
        "sk": {"S": schema.activity_sk(kind, time_text, event.event_id)},
        "account_day": {"S": schema.account_day_key(event.account_id, time_text)},
        "source_ip_key": {"S": schema.source_ip_key(event.source_ip)},
        "principal_key": {"S": schema.principal_key(event.principal)},
        "time_sk": {"S": schema.time_sort_key(time_text, event.event_id)},
        "raw": {"S": event.raw_json()},
    }
    texts: dict[str, str | None] = {
        "event_id": event.event_id,
        "event_time": time_text,
        "event_name": event.event_name,
        "account_id": event.account_id,
        "principal": event.principal,
        "identity_type": event.identity_type,
        "user_name": event.user_name,
        "arn": event.arn,
        "result": event.result,
        "source_ip": event.source_ip,
        "user_agent": event.user_agent,
        "region": event.region,
        "error_message": event.error_message,
        "kind": event.kind,
        "event_source": event.event_source,
        "error_code": event.error_code,
        "invoked_by": event.invoked_by,
        "request_user_name": event.request_user_name,
    }
    for name, value in texts.items():
        if value is not None:
            item[name] = {"S": value}
    if event.mfa_used is not None:
        item["mfa_used"] = {"BOOL": event.mfa_used}
    if event.read_only is not None:
        item["read_only"] = {"BOOL": event.read_only}
    if event.assumed_root:
        item["assumed_root"] = {"BOOL": True}
    if expires_at is not None:
        item[schema.TTL_ATTRIBUTE] = {"N": str(expires_at)}
    for name, key in schema.correlation_keys(event).items():
        item[name] = {"S": key}
    return item


def _event_from_index(item: Item) -> SignInEvent:
    """An event read from a correlation index, whose projection may leave out the user agent."""
    return _event_from_item({"user_agent": {"S": ""}, **item})


def _event_from_item(item: Item) -> SignInEvent:
    """The ``SignInEvent`` an activity item was written from (absent attributes were None).

    Items read through an index carry no ``raw`` (see ``schema.INDEX_ATTRIBUTES``): ``{}``.
    """

    def text(name: str) -> str:
        return item[name]["S"]

    def optional(name: str) -> str | None:
        return item[name]["S"] if name in item else None

    mfa = item.get("mfa_used")
    read_only = item.get("read_only")
    # Items written before API calls were stored have no kind: they are sign-in events.
    kind = optional("kind") or SIGN_IN
    return SignInEvent(
        event_id=text("event_id"),
        event_time=parse_time(text("event_time")),
        event_name=text("event_name"),
        account_id=text("account_id"),
        principal=text("principal"),
        identity_type=text("identity_type"),
        user_name=optional("user_name"),
        arn=optional("arn"),
        result=cast("Result | None", optional("result")),
        mfa_used=None if mfa is None else mfa["BOOL"],
        source_ip=text("source_ip"),
        user_agent=text("user_agent"),
        region=text("region"),
        error_message=optional("error_message"),
        raw=json.loads(text("raw")) if "raw" in item else {},
        kind=API_CALL if kind == API_CALL else SIGN_IN,
        event_source=optional("event_source") or SIGNIN_EVENT_SOURCE,
        error_code=optional("error_code"),
        read_only=None if read_only is None else read_only["BOOL"],
        invoked_by=optional("invoked_by"),
        assumed_root="assumed_root" in item and item["assumed_root"]["BOOL"],
        request_user_name=optional("request_user_name"),
    )
