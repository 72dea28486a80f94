"""Keys that text cannot forge: ``#`` in a value never acts as a separator (issue 10 point 5).

Key parts are percent-encoded (``%`` and ``#`` only) and bounded in bytes by ``schema.key_part``.
Ordinary keys are pinned byte for byte (tables written before the encoding stay readable);
crafted accounts, principals and event ids that shared a partition or an alert claim before
now stay apart, on both stores, through the real pipeline and rules.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from signin_monitor.app import CollectingNotifier, build_pipeline
from signin_monitor.config import Settings
from signin_monitor.events import SignInEvent, parse_record
from signin_monitor.pipeline import Pipeline
from signin_monitor.rules.repeated_failed_sign_ins import RepeatedFailedSignIns
from signin_monitor.store import ActivityStore, HistoryQuery, schema
from tests.factories import ACCOUNT, console_login, sign_in


def _pipeline(store: ActivityStore) -> tuple[Pipeline, CollectingNotifier]:
    notifier = CollectingNotifier()
    return build_pipeline(Settings(), store=store, notifier=notifier), notifier


def _failures(account: str, user: str, minutes: range) -> list[dict[str, Any]]:
    return [
        console_login(account=account, user=user, result="Failure", mfa="No", minutes=m)
        for m in minutes
    ]


def _alerts(pipeline: Pipeline, records: list[dict[str, Any]]) -> list[str]:
    rules: list[str] = []
    for record in records:
        rules += [d.alert.rule_id for d in pipeline.process(parse_record(record)).deliveries]
    return rules


# --- ordinary keys are exactly what they were ------------------------------------------------


def test_ordinary_keys_are_byte_identical_to_the_unencoded_layout() -> None:
    time_text = "2026-11-02T08:00:00Z"
    event_id = "3f0b7c52-1d55-4d1b-9f62-0e9d1f8a9c11"
    assert schema.activity_pk(ACCOUNT, "alice") == "ACCOUNT#111122223333#PRINCIPAL#alice"
    assert schema.activity_sk("FAILURE", time_text, event_id) == f"FAILURE#{time_text}#{event_id}"
    assert schema.time_sort_key(time_text, event_id) == f"{time_text}#{event_id}"
    assert schema.account_day_key(ACCOUNT, time_text) == "ACCOUNT#111122223333#2026-11-02"
    assert schema.source_ip_key("198.51.100.7") == "IP#198.51.100.7"
    assert schema.principal_key("AWSReservedSSO_Admin_0123/alice@example.com") == (
        "PRINCIPAL#AWSReservedSSO_Admin_0123/alice@example.com"
    )
    assert schema.alert_pk("root-sign-in", schema.alert_scope(event_id)) == (
        f"ALERT#root-sign-in#{event_id}"
    )
    assert schema.alert_pk("repeated-failed-sign-ins", schema.alert_scope(ACCOUNT, "alice")) == (
        "ALERT#repeated-failed-sign-ins#111122223333#alice"
    )


def test_rules_build_the_same_scopes_as_before_for_ordinary_values() -> None:
    rule = RepeatedFailedSignIns(threshold=0, window=Settings().failed_signin_window)

    failure = sign_in(result="Failure", mfa="No")

    class OneFailure:
        def count_failures(self, *_: Any, **__: Any) -> int:
            return 1

        def failures_between(self, *_: Any, **__: Any) -> list[SignInEvent]:
            return [failure]

        def has_console_sign_in(self, *_: Any, **__: Any) -> bool:
            return False

        def failures_from_source(self, *_: Any, **__: Any) -> list[SignInEvent]:
            return [failure]

        def successes_between(self, *_: Any, **__: Any) -> list[SignInEvent]:
            return []

        def last_success(self, *_: Any, **__: Any) -> SignInEvent | None:
            return None

        def has_success_from_network(self, *_: Any, **__: Any) -> bool:
            return False

    alert = rule.evaluate(failure, OneFailure())
    assert alert is not None
    assert alert.scope == "111122223333#alice"


# --- crafted values no longer collide --------------------------------------------------------


def test_a_hash_in_a_value_cannot_forge_a_separator() -> None:
    # activity partitions: account "1#PRINCIPAL#x" + "y" was account "1" + "x#PRINCIPAL#y"
    assert schema.activity_pk("1#PRINCIPAL#x", "y") != schema.activity_pk("1", "x#PRINCIPAL#y")
    # alert scopes: account "1#x" + principal "y" was account "1" + principal "x#y"
    assert schema.alert_scope("1#x", "y") != schema.alert_scope("1", "x#y")
    # an event id posing as a windowed scope
    assert schema.alert_scope("1#root-failure") != schema.alert_scope("1", "root-failure")
    assert schema.account_day_key("1#2026-11-02", "2026-11-03T00:00:00Z") != (
        schema.account_day_key("1", "2026-11-02T00:00:00Z")
    )
    # and an encoded value cannot pose as another encoded one
    assert schema.key_part("a%23b", 100) != schema.key_part("a#b", 100)


def test_failures_of_another_principal_never_count_towards_this_one(
    store: ActivityStore,
) -> None:
    # GIVEN two principals whose activity partitions were the same string before encoding
    pipeline, notifier = _pipeline(store)
    first = ("111122223333#PRINCIPAL#x", "y")
    second = ("111122223333", "x#PRINCIPAL#y")
    # WHEN each fails twice (threshold 3: no alert for either)
    records = _failures(*first, range(2)) + _failures(*second, range(2, 4))
    # THEN no alert, and each principal's history holds only its own failures
    assert _alerts(pipeline, records) == []
    assert notifier.sent == []
    for account, user in (first, second):
        found = list(store.history(HistoryQuery(account_id=account, principal=user)))
        assert [(e.account_id, e.principal) for e in found] == [(account, user)] * 2


def test_two_principals_with_a_shared_scope_string_each_get_their_alert(
    store: ActivityStore,
) -> None:
    # GIVEN account "…#x" with principal "y", and account "…" with principal "x#y"
    pipeline, _ = _pipeline(store)
    records = _failures("111122223333#x", "y", range(4)) + _failures(
        "111122223333", "x#y", range(4, 8)
    )
    # THEN both bursts alert: one claim does not suppress the other
    assert _alerts(pipeline, records) == ["repeated-failed-sign-ins"] * 2


def test_an_event_id_posing_as_the_root_failure_scope_still_alerts(store: ActivityStore) -> None:
    pipeline, _ = _pipeline(store)
    failure = console_login(identity_type="Root", result="Failure", mfa="No", minutes=0)
    success = console_login(identity_type="Root", minutes=1, event_id=f"{ACCOUNT}#root-failure")
    assert _alerts(pipeline, [failure, success]) == ["root-sign-in", "root-sign-in"]


# --- bounded parts stay distinct --------------------------------------------------------------


def test_long_parts_are_bounded_and_stay_distinct() -> None:
    base = "\u4e2d" * 3000
    a, b = schema.key_part(base + "a", 1024), schema.key_part(base + "b", 1024)
    assert a != b
    assert max(len(a.encode()), len(b.encode())) <= 1024
    assert a.startswith("\u4e2d" * 100)  # a readable prefix
    # an uncut value that looks like a cut one is encoded, so it cannot equal it
    assert schema.key_part(a, 1024) != a


def test_key_part_is_one_to_one_and_within_budget_on_generated_values() -> None:
    alphabet = ["a", "#", "%", "2", "3", "!", "~", "\u4e2d", "\U0001f600", "$"]
    generator = random.Random(10)
    seen: dict[str, str] = {}
    for _ in range(3000):
        value = "".join(generator.choices(alphabet, k=generator.randrange(0, 40)))
        for budget in (8 * 5, 60):
            part = schema.key_part(value, budget)
            assert len(part.encode()) <= budget
            assert "#" not in part
            key = f"{budget}:{part}"
            assert seen.setdefault(key, value) == value, (value, seen[key])


@pytest.mark.parametrize("scope_length", [3000, 10])
def test_undelivered_sort_key_fits_a_sort_key(scope_length: int) -> None:
    claim_pk = schema.alert_pk("root-sign-in", schema.alert_scope("e" * scope_length))
    sk = schema.undelivered_sk("2026-11-02T08:00:00Z", claim_pk)
    assert len(sk.encode()) <= 1024
    assert sk.startswith("2026-11-02T08:00:00Z#ALERT#")
