"""The single-table layout shared by the DynamoDB and SQLite stores, defined once.

Terraform's ``aws_dynamodb_table`` and ``signin-monitor create-table`` both follow ``TABLE_SCHEMA``
(a contract test compares the Terraform with it). Key strings are built only here, so both stores
agree on every key.

| item     | pk                                     | sk                             |
|----------|----------------------------------------|--------------------------------|
| activity | ``ACCOUNT#<account>#PRINCIPAL#<name>`` | ``<kind>#<eventTime>#<eventID>`` |
| claim    | ``ALERT#<rule>#<scope>``               | ``ALERT``                      |

A windowed alert's claim scope also names the window and the anchor's time slot
(``<account>#<principal>#W<seconds>#<slot>``, see ``Alert.claim_key``): one claim per alert
raised, and the slots next to it are the only ones a new anchor must check.

Kinds: ``FAILURE`` for failed ``ConsoleLogin`` records (so a windowed count is one key-range
query with no filter) and ``SIGNIN`` for every other sign-in event.
"""

from __future__ import annotations

from typing import Final, TypedDict

__all__ = [
    "ALERT_SK",
    "BY_ACCOUNT_DAY",
    "BY_PRINCIPAL",
    "BY_SOURCE_IP",
    "GSI_NAMES",
    "INDEX_ATTRIBUTES",
    "KIND_FAILURE",
    "KIND_SIGNIN",
    "TABLE_SCHEMA",
    "TTL_ATTRIBUTE",
    "TableSchema",
    "account_day_key",
    "activity_pk",
    "activity_sk",
    "alert_pk",
    "kind_between",
    "kind_range",
    "principal_key",
    "source_ip_key",
    "time_sort_key",
]

PK: Final = "pk"
SK: Final = "sk"
TTL_ATTRIBUTE: Final = "expires_at"
KIND_SIGNIN: Final = "SIGNIN"
KIND_FAILURE: Final = "FAILURE"
KINDS: Final = (KIND_SIGNIN, KIND_FAILURE)
ALERT_SK: Final = "ALERT"

BY_ACCOUNT_DAY: Final = "by-account-day"
BY_SOURCE_IP: Final = "by-source-ip"
BY_PRINCIPAL: Final = "by-principal"
GSI_NAMES: Final = (BY_ACCOUNT_DAY, BY_SOURCE_IP, BY_PRINCIPAL)

# Sorts after '#' and after every character of an event id, so "<time>$" bounds all ids at <time>.
_AFTER_ALL_IDS: Final = "$"


class IndexSchema(TypedDict):
    """One global secondary index: name, hash and range attribute (strings), what it projects."""

    name: str
    hash_key: str
    range_key: str
    non_key_attributes: list[str]


class TableSchema(TypedDict):
    """The table's keys, attribute types, indexes and TTL attribute."""

    hash_key: str
    range_key: str
    attributes: dict[str, str]
    indexes: list[IndexSchema]
    ttl_attribute: str


#: What the indexes copy besides keys: every audit field, but not ``raw`` (the original record,
#: most of an item's size). A write then costs 1 write unit per index instead of 2, and the
#: indexes hold a third of the bytes; an event read through an index comes without ``raw``.
INDEX_ATTRIBUTES: Final = [
    "event_id",
    "event_time",
    "event_name",
    "account_id",
    "principal",
    "identity_type",
    "user_name",
    "arn",
    "result",
    "mfa_used",
    "source_ip",
    "user_agent",
    "region",
    "error_message",
    "expires_at",
]

TABLE_SCHEMA: Final[TableSchema] = {
    "hash_key": PK,
    "range_key": SK,
    "attributes": {
        PK: "S",
        SK: "S",
        "account_day": "S",
        "source_ip_key": "S",
        "principal_key": "S",
        "time_sk": "S",
    },
    "indexes": [
        {
            "name": BY_ACCOUNT_DAY,
            "hash_key": "account_day",
            "range_key": "time_sk",
            "non_key_attributes": INDEX_ATTRIBUTES,
        },
        {
            "name": BY_SOURCE_IP,
            "hash_key": "source_ip_key",
            "range_key": "time_sk",
            "non_key_attributes": INDEX_ATTRIBUTES,
        },
        {
            "name": BY_PRINCIPAL,
            "hash_key": "principal_key",
            "range_key": "time_sk",
            "non_key_attributes": INDEX_ATTRIBUTES,
        },
    ],
    "ttl_attribute": TTL_ATTRIBUTE,
}


def activity_pk(account_id: str, principal: str) -> str:
    """Partition of one principal's activity in one account."""
    return f"ACCOUNT#{account_id}#PRINCIPAL#{principal}"


def activity_sk(kind: str, event_time: str, event_id: str) -> str:
    """Sort key: kind, then time, then id, so a time range of one kind is one key range."""
    return f"{kind}#{event_time}#{event_id}"


def kind_range(kind: str, after: str, until: str) -> tuple[str, str]:
    """Inclusive sort-key bounds selecting ``kind`` items with ``after < eventTime <= until``."""
    return f"{kind}#{after}{_AFTER_ALL_IDS}", f"{kind}#{until}{_AFTER_ALL_IDS}"


def kind_between(kind: str, after: str, before: str) -> tuple[str, str]:
    """Inclusive sort-key bounds selecting ``kind`` items with ``after < eventTime < before``.

    "<before>#" sorts before every "<before>#<id>" and matches no item (ids are never empty).
    """
    return f"{kind}#{after}{_AFTER_ALL_IDS}", f"{kind}#{before}#"


def time_sort_key(event_time: str, event_id: str) -> str:
    """Sort key of every index: time order, ties broken by id."""
    return f"{event_time}#{event_id}"


def account_day_key(account_id: str, event_time: str) -> str:
    """Index key for one account's events of one UTC day (``event_time`` is ISO 8601)."""
    return f"ACCOUNT#{account_id}#{event_time[:10]}"


def source_ip_key(source_ip: str) -> str:
    """Index key for every event from one source address."""
    return f"IP#{source_ip}"


def principal_key(principal: str) -> str:
    """Index key for one principal in every account (``history --principal`` alone)."""
    return f"PRINCIPAL#{principal}"


def alert_pk(rule_id: str, scope: str) -> str:
    """Partition of one alert claim (scope is an event id, or account and principal)."""
    return f"ALERT#{rule_id}#{scope}"
