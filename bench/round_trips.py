"""Figure 4: DynamoDB round trips per event, counted with botocore's event hooks under moto.

Why count rather than time: DynamoDB calls are what a Lambda invocation waits on and what it
pays for, and the count is exact (design section 5 budgets 1 for a success without alert, 2 for a
failure, +2 per alert: claim and mark; a windowed claim is one ``TransactWriteItems`` over three
time slots, and a late failure that completes a window costs what the in-order one does).
``before-call.dynamodb.*`` fires once per API call, before moto (or the network) answers, so a
conditional write that fails still counts, as it costs.

``count_calls`` is reused by ``tests/test_round_trips.py``; keep this module cheap to import (moto
and boto3 are imported only by ``run``). Item sizes are captured too
(``before-parameter-build``), because write units are billed per started KB (figure 6).
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from .report import Figure, format_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from signin_monitor.pipeline import Pipeline

__all__ = ["CallCounter", "count_calls", "item_size", "run"]

TABLE_NAME: Final = "bench-activity"
_CALL_EVENT: Final = "before-call.dynamodb.*"
_PARAMS_EVENT: Final = "before-parameter-build.dynamodb.*"


@dataclass(slots=True)
class CallCounter:
    """Collects the DynamoDB operations a client calls, and the size of each item it writes."""

    operations: list[str] = field(default_factory=list)
    written_item_bytes: list[tuple[str, int]] = field(default_factory=list)

    @property
    def count(self) -> int:
        """API calls made since the last ``reset``."""
        return len(self.operations)

    def reset(self) -> None:
        """Start counting the next event from zero."""
        self.operations.clear()
        self.written_item_bytes.clear()

    def on_call(self, **kwargs: Any) -> None:
        """``before-call`` hook: one entry per API call (retries inside botocore excluded)."""
        model = kwargs.get("model")
        self.operations.append(model.name if model is not None else str(kwargs.get("event_name")))

    def on_params(self, **kwargs: Any) -> None:
        """``before-parameter-build`` hook: the size DynamoDB bills for a ``PutItem``'s item."""
        model = kwargs.get("model")
        params = kwargs.get("params") or {}
        if model is not None and model.name == "TransactWriteItems":
            # A transaction's put is billed as a write too (twice the units of a plain one).
            for entry in params.get("TransactItems", []):
                if "Put" in entry:
                    item = entry["Put"]["Item"]
                    self.written_item_bytes.append((str(item["pk"]["S"]), item_size(item)))
        if model is not None and model.name == "PutItem" and "Item" in params:
            item = params["Item"]
            pk = str(item["pk"]["S"])
            self.written_item_bytes.append((pk, item_size(item)))
            if "raw" in item:  # what each index copies: everything but the raw record
                index_item = {name: value for name, value in item.items() if name != "raw"}
                self.written_item_bytes.append((f"INDEX#{pk}", item_size(index_item)))


@contextmanager
def count_calls(client: DynamoDBClient) -> Iterator[CallCounter]:
    """Count ``client``'s DynamoDB calls inside the block (hooks removed afterwards)."""
    counter = CallCounter()
    events = client.meta.events
    events.register(_CALL_EVENT, counter.on_call)
    events.register(_PARAMS_EVENT, counter.on_params)
    try:
        yield counter
    finally:
        events.unregister(_CALL_EVENT, counter.on_call)
        events.unregister(_PARAMS_EVENT, counter.on_params)


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB bills it: attribute names plus values (UTF-8 bytes).

    Numbers count about one byte per two significant digits plus one; maps and lists add 3
    bytes plus one per element (the documented approximations).
    """
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    (kind, content), *_ = value.items()
    if kind == "S":
        return len(str(content).encode())
    if kind == "N":
        digits = str(content).lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in content.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in content)
    return len(str(content).encode())


# ------------------------------------------------------------------------------------------
# The figure
# ------------------------------------------------------------------------------------------

_BASE: Final = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Step:
    """One delivery in the scenario script and the calls design section 5 expects for it."""

    name: str
    record: dict[str, Any]
    expected: int
    why: str


def scenario() -> list[Step]:
    """Deliveries in order; later steps rely on the earlier ones (counts, claims)."""
    from .corpus import console_login

    def record(minutes: float, **kwargs: Any) -> dict[str, Any]:
        event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-{minutes}-{sorted(kwargs.items())}"))
        return console_login(event_id=event_id, at=_BASE + timedelta(minutes=minutes), **kwargs)

    failures = [record(10 + i, user="bob", result="Failure", mfa="No") for i in range(5)]
    root = record(30, identity_type="Root")
    # Four failures of carol delivered at minutes 50, 53, 59 and then 56 (out of order).
    late = [record(50 + m, user="carol", result="Failure", mfa="No") for m in (0, 3, 9, 6)]
    steps = [
        Step("IAM success with MFA", record(0), 1, "put"),
        Step("CheckMfa (not ConsoleLogin)", record(1, event_name="CheckMfa", mfa=None), 1, "put"),
        Step("IAM success without MFA", record(2, user="carol", mfa="No"), 3, "put + alert"),
    ]
    steps += [
        Step(f"failure {i + 1} (below threshold)", failures[i], 2, "put + count") for i in range(3)
    ]
    steps += [
        Step("failure 4 (crosses threshold)", failures[3], 4, "put + query + alert"),
        Step("failure 5 (alert already sent)", failures[4], 3, "put + query + claim (refused)"),
        Step("root success", root, 3, "put + alert"),
        Step("duplicate of root success", root, 2, "put (exists) + claim (suppressed)"),
        Step("duplicate of failure 4", failures[3], 3, "put (exists) + query + claim"),
        Step(
            "root failure (first of a burst)",
            record(40, identity_type="Root", result="Failure", mfa="No"),
            4,
            "put + query + root alert",
        ),
    ]
    steps += [
        Step(f"out of order: failure at {m}", late[i], 2, "put + query")
        for i, m in enumerate((50, 53, 59))
    ]
    steps += [
        Step("late failure completing a window", late[3], 4, "put + query + alert (anchor 59)"),
        Step(
            "late failure inside the alert's window",
            record(9.5, user="bob", result="Failure", mfa="No"),
            3,
            "put + query + claim (refused)",
        ),
    ]
    return steps


@contextmanager
def _fake_aws() -> Iterator[None]:
    """Fake credentials and region for moto; the previous environment restored afterwards."""
    names = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    dropped = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB")
    saved = {name: os.environ.get(name) for name in (*names, *dropped)}
    os.environ.update(names)
    for name in dropped:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


#: The rules of design section 3 (today's figures); the scenario also runs with every rule on.
SECTION_3_RULES: Final = ("root-sign-in", "sign-in-without-mfa", "repeated-failed-sign-ins")
#: What the correlation rules (design §3.2) add per delivery of the scenario, step by step:
#: a ConsoleLogin success 3 reads (two failure counts, the latest success; +1 when the
#: latest came from another network), a failure 2 (successes it could complete, the spray).
ALL_RULES_TABLE: Final = "bench-activity-all-rules"


def _pipeline(client: DynamoDBClient, *, all_rules: bool = False) -> Pipeline:
    from signin_monitor.app import CollectingNotifier, build_pipeline
    from signin_monitor.config import Settings
    from signin_monitor.store.dynamodb import DynamoDbStore

    if all_rules:
        store = DynamoDbStore(ALL_RULES_TABLE, client=client)
        return build_pipeline(Settings(), store=store, notifier=CollectingNotifier())
    store = DynamoDbStore(TABLE_NAME, client=client)
    settings = Settings(alert_rules=SECTION_3_RULES)
    return build_pipeline(settings, store=store, notifier=CollectingNotifier())


def _extra_reads(step: Step) -> int:
    """The correlation rules' reads for one scenario step (none of them alert there)."""
    record = step.record
    if record.get("eventName") != "ConsoleLogin":
        return 0
    return 3 if record["responseElements"]["ConsoleLogin"] == "Success" else 2


def run() -> Figure:
    """Run the scenario through the real pipeline and DynamoDbStore on a moto table."""
    import boto3
    from moto import mock_aws

    from signin_monitor.events import parse_record
    from signin_monitor.store.dynamodb_admin import create_table

    table: list[list[str]] = []
    checks: dict[str, bool] = {}
    sizes: dict[str, int] = {}
    with _fake_aws(), mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, TABLE_NAME)
        create_table(client, ALL_RULES_TABLE)
        pipeline = _pipeline(client)
        everything = _pipeline(client, all_rules=True)
        with count_calls(client) as counter:
            for step in scenario():
                counter.reset()
                everything.process(parse_record(step.record))
                all_count = counter.count
                counter.reset()
                pipeline.process(parse_record(step.record))
                expected_all = step.expected + _extra_reads(step)
                ok = counter.count == step.expected and all_count == expected_all
                checks[step.name] = ok
                table.append(
                    [
                        step.name,
                        str(step.expected),
                        str(counter.count),
                        str(expected_all),
                        str(all_count),
                        "ok" if ok else "MISMATCH",
                        " ".join(counter.operations),
                    ]
                )
                for pk, size in counter.written_item_bytes:
                    kind = (
                        "claim"
                        if pk.startswith("ALERT#")
                        else "index"
                        if pk.startswith("INDEX#")
                        else "activity"
                    )
                    sizes[kind] = max(sizes.get(kind, 0), size)
    figure = Figure(4, "DynamoDB round trips per event (moto, botocore before-call hooks)")
    figure.checks = checks
    figure.details = [
        *format_table(
            [
                "scenario",
                "§3 expected",
                "counted",
                "all rules expected",
                "counted",
                "",
                "calls (§3)",
            ],
            table,
            indent="",
            align="lrrrrll",
        ),
        f"largest item written: activity {sizes.get('activity', 0):,} B "
        f"(its copy in each index {sizes.get('index', 0):,} B, no raw record), "
        f"claim {sizes.get('claim', 0):,} B (write units are per started 1 KB)",
        "expected = design section 5: success 1, failure 2 (+ failures query), each alert +2 "
        "(claim + mark; a windowed claim is one TransactWriteItems); a refused claim costs 1, "
        "whatever the delivery order. All rules (design §3.2 too): a ConsoleLogin success +3 "
        "Query (its failures, unknown-user:<ip>'s, the latest success), a failure +2 (the "
        "successes it could complete, the failures from its address); indexes are sparse.",
    ]
    figure.data = {
        "steps": [
            {
                "scenario": row[0],
                "expected": int(row[1]),
                "counted": int(row[2]),
                "expected_all_rules": int(row[3]),
                "counted_all_rules": int(row[4]),
                "calls": row[6],
            }
            for row in table
        ],
        "item_bytes": sizes,
    }
    return figure
