"""Rule fixtures: the correlation rules run through the real pipeline on both stores.

``store`` (from the store suite) is an empty ``SqliteStore`` and a ``DynamoDbStore`` under moto
in turn, so every rule test holds for both; ``deliver`` processes records and returns the
alerts that were posted, as (rule id, anchor event id) pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from signin_monitor.alerts import Alert
from signin_monitor.app import CollectingNotifier, build_pipeline
from signin_monitor.config import Settings
from signin_monitor.events import parse_record
from signin_monitor.store import ActivityStore
from tests.store.conftest import (  # noqa: F401 (fixtures)
    aws_credentials,
    clock,
    dynamodb_client,
    store,
)

Deliver = Callable[[Iterable[dict[str, Any]]], list[Alert]]


@pytest.fixture
def deliver(store: ActivityStore) -> Deliver:  # noqa: F811 (the imported fixture)
    """Process each record (every rule on, default settings) and return the alerts posted."""
    notifier = CollectingNotifier()
    pipeline = build_pipeline(Settings(), store=store, notifier=notifier)

    def run(records: Iterable[dict[str, Any]]) -> list[Alert]:
        posted: list[Alert] = []
        for record in records:
            outcome = pipeline.process(parse_record(record))
            posted.extend(d.alert for d in outcome.deliveries if d.status.value == "sent")
        return posted

    return run


def only(rule_id: str, alerts: list[Alert]) -> list[Alert]:
    """The alerts of one rule."""
    return [alert for alert in alerts if alert.rule_id == rule_id]
