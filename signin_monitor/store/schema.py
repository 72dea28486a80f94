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
query with no filter), ``SIGNIN`` for every other sign-in event, and ``API`` for API calls
(design §3.1), so a principal's calls in a time range are one key range too and never mix
into a sign-in window.

Every value placed in a key goes through ``key_part``: ``%`` and ``#`` are percent-encoded (so a
``#`` in an account, principal or event id can never forge a separator and merge two
partitions), and a part longer than its byte budget keeps a readable prefix plus a digest of the
whole value (DynamoDB limits partition keys to 2,048 bytes and sort keys to 1,024, on the table
and on every index). Ordinary values contain neither character and fit their budget, so their
keys are byte-identical to the keys written before this encoding existed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Final, TypedDict

from ..networks import network_of

if TYPE_CHECKING:
    from ..events import SignInEvent

__all__ = [
    "ALERT_SK",
    "BY_ACCOUNT_DAY",
    "BY_ALERT_DAY",
    "BY_FAILURE_SOURCE",
    "BY_NETWORK",
    "BY_PRINCIPAL",
    "BY_SOURCE_IP",
    "BY_SUCCESS",
    "FAILURE_SOURCE_ATTRIBUTES",
    "GSI_NAMES",
    "INDEX_ATTRIBUTES",
    "KIND_API",
    "KIND_FAILURE",
    "KIND_SIGNIN",
    "MAX_ITEM_BYTES",
    "NETWORK_ATTRIBUTES",
    "SUCCESS_ATTRIBUTES",
    "TABLE_SCHEMA",
    "TTL_ATTRIBUTE",
    "UNDELIVERED_PK",
    "TableSchema",
    "account_day_key",
    "activity_pk",
    "activity_sk",
    "activity_sort_kind",
    "alert_pk",
    "alert_scope",
    "correlation_keys",
    "failure_source_key",
    "item_size",
    "key_part",
    "kind_between",
    "kind_range",
    "network_key",
    "principal_key",
    "source_ip_key",
    "success_key",
    "time_sort_key",
    "undelivered_sk",
]

PK: Final = "pk"
SK: Final = "sk"
TTL_ATTRIBUTE: Final = "expires_at"
KIND_SIGNIN: Final = "SIGNIN"
KIND_FAILURE: Final = "FAILURE"
KIND_API: Final = "API"
KINDS: Final = (KIND_SIGNIN, KIND_FAILURE, KIND_API)
ALERT_SK: Final = "ALERT"

BY_ACCOUNT_DAY: Final = "by-account-day"
BY_SOURCE_IP: Final = "by-source-ip"
BY_PRINCIPAL: Final = "by-principal"
#: Sparse: only alert claims carry ``alert_day`` (keys built in ``alert_index.py``).
BY_ALERT_DAY: Final = "by-alert-day"
# The sparse indexes of the correlation rules (design §3.2): only the items they ask about
# carry their key attribute, so an index holds a fraction of the table.
BY_FAILURE_SOURCE: Final = "by-failure-source"
BY_SUCCESS: Final = "by-success"
BY_NETWORK: Final = "by-network"
GSI_NAMES: Final = (
    BY_ACCOUNT_DAY,
    BY_SOURCE_IP,
    BY_PRINCIPAL,
    BY_ALERT_DAY,
    BY_FAILURE_SOURCE,
    BY_SUCCESS,
    BY_NETWORK,
)

# Sorts after '#' and after every character of an event id, so "<time>$" bounds all ids at <time>.
_AFTER_ALL_IDS: Final = "$"

#: The one partition holding a marker per undelivered alert (``signin-monitor resend`` lists it
#: with one Query, never a Scan). Its sort key is ``<event_time>#<claim pk>``: oldest first.
UNDELIVERED_PK: Final = "UNDELIVERED"

#: DynamoDB's item size limit (400 KB, attribute names included); both stores refuse more.
MAX_ITEM_BYTES: Final = 400 * 1024

# Byte budgets of the key parts (after encoding). Sums stay under the key limits with room for
# the fixed prefixes: activity pk 8 + 256 + 11 + 1024 <= 2048; sort keys
# "FAILURE#" + time (<= 32) + "#" + 512 <= 1024; alert pk 6 + 128 + 1 + 1536 <= 2048 (a windowed
# scope is account + "#" + principal <= 1281); undelivered sk 32 + 1 + 960 <= 1024.
MAX_ACCOUNT_BYTES: Final = 256
MAX_PRINCIPAL_BYTES: Final = 1024
MAX_EVENT_ID_BYTES: Final = 512
MAX_SOURCE_IP_BYTES: Final = 1024
MAX_RULE_BYTES: Final = 128
MAX_SCOPE_BYTES: Final = 1536
_MAX_CLAIM_IN_SK_BYTES: Final = 960

_ESCAPES: Final = {"%": "%25", "#": "%23"}
_TO_ESCAPE: Final = re.compile("[%#]")
# Marks a cut part. An encoded part never holds "%!" (each '%' in it starts "%25" or "%23"), so
# a cut part can never equal an uncut one, and two cut parts are equal only if the digests of
# their whole values are.
_CUT_MARK: Final = "%!"
_DIGEST_CHARS: Final = 32
_PARTIAL_ESCAPE: Final = re.compile("%2?$")


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
    "kind",
    "event_source",
    "error_code",
    "read_only",
    "invoked_by",
    "assumed_root",
    "request_user_name",
]

#: What ``by-failure-source`` copies: the principal, time and id the spray count reads, and the
#: few fields a Slack message shows of an anchor failure (not the user agent, not ``raw``).
FAILURE_SOURCE_ATTRIBUTES: Final = [
    "event_id",
    "event_time",
    "event_name",
    "account_id",
    "principal",
    "identity_type",
    "user_name",
    "result",
    "mfa_used",
    "source_ip",
    "region",
]
#: What ``by-success`` copies: a successful sign-in as a Slack message shows it (the last known
#: network's sign-in; the success a late failure completes).
SUCCESS_ATTRIBUTES: Final = [
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
]
#: What ``by-network`` copies: nothing but its keys (the question is "is there one?").
NETWORK_ATTRIBUTES: Final[list[str]] = []

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
        "alert_day": "S",
        "failure_source_key": "S",
        "success_key": "S",
        "network_key": "S",
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
        {
            "name": BY_ALERT_DAY,
            "hash_key": "alert_day",
            "range_key": "time_sk",
            "non_key_attributes": ["rule_id", "event_id", "event_time", "status"],
        },
        {
            "name": BY_FAILURE_SOURCE,
            "hash_key": "failure_source_key",
            "range_key": "time_sk",
            "non_key_attributes": FAILURE_SOURCE_ATTRIBUTES,
        },
        {
            "name": BY_SUCCESS,
            "hash_key": "success_key",
            "range_key": "time_sk",
            "non_key_attributes": SUCCESS_ATTRIBUTES,
        },
        {
            "name": BY_NETWORK,
            "hash_key": "network_key",
            "range_key": "time_sk",
            "non_key_attributes": NETWORK_ATTRIBUTES,
        },
    ],
    "ttl_attribute": TTL_ATTRIBUTE,
}


def key_part(value: str, max_bytes: int) -> str:
    """``value`` as it may appear between the ``#`` separators of a key, in ``max_bytes`` at most.

    ``%`` and ``#`` are percent-encoded (nothing else: every ordinary key stays as it was). A
    longer part keeps a readable prefix and ends with ``%!`` and 32 hex digits of the SHA-256
    of the whole value, so distinct values stay distinct however long they are.
    """
    if "%" in value or "#" in value:
        encoded = _TO_ESCAPE.sub(lambda match: _ESCAPES[match.group()], value)
    else:  # the usual case, kept cheap: it runs for every key of every event
        encoded = value
    return _bounded(encoded, max_bytes, whole=value)


def _bounded(text: str, max_bytes: int, *, whole: str) -> str:
    """``text`` if it fits ``max_bytes`` of UTF-8, else its prefix, the cut mark and a digest."""
    if len(text) * 4 <= max_bytes:  # no character takes more than 4 bytes in UTF-8
        return text
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return text
    digest = hashlib.sha256(whole.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST_CHARS]
    room = max_bytes - len(_CUT_MARK) - _DIGEST_CHARS
    # Cutting may split a UTF-8 sequence (dropped by "ignore") or an escape (dropped here).
    prefix = _PARTIAL_ESCAPE.sub("", data[:room].decode("utf-8", "ignore"))
    return f"{prefix}{_CUT_MARK}{digest}"


#: What an item's names and index keys can add to its values: every index key is within DynamoDB's
#: 2,048 bytes (the key budgets above), and there are fewer than eight of them.
_KEYS_AND_NAMES_ALLOWANCE: Final = 20 * 1024


def surely_fits(values: Iterable[object]) -> bool:
    """True when values this short cannot make an item over ``MAX_ITEM_BYTES``, so the exact
    count (``item_size``) can be skipped: UTF-8 takes at most 4 bytes a character, and names
    and index keys fit in the allowance. Nearly every event is a few KB."""
    characters = sum(len(str(value)) for value in values if value is not None)
    return 4 * characters + _KEYS_AND_NAMES_ALLOWANCE <= MAX_ITEM_BYTES


def item_size(attributes: Mapping[str, object]) -> int:
    """DynamoDB's size of an item, in bytes: names plus values (strings in UTF-8).

    Numbers and booleans are counted generously (their text), so an item this accepts fits.
    """
    total = 0
    for name, value in attributes.items():
        if value is None:
            continue
        total += len(name.encode("utf-8"))
        total += len(str(value).encode("utf-8", "surrogatepass"))
    return total


def activity_pk(account_id: str, principal: str) -> str:
    """Partition of one principal's activity in one account."""
    account = key_part(account_id, MAX_ACCOUNT_BYTES)
    return f"ACCOUNT#{account}#PRINCIPAL#{key_part(principal, MAX_PRINCIPAL_BYTES)}"


def activity_sk(kind: str, event_time: str, event_id: str) -> str:
    """Sort key: kind, then time, then id, so a time range of one kind is one key range."""
    return f"{kind}#{event_time}#{key_part(event_id, MAX_EVENT_ID_BYTES)}"


def activity_sort_kind(*, api_call: bool, failed_console_login: bool) -> str:
    """The sort-key kind of an activity: ``API``, ``FAILURE`` or ``SIGNIN``."""
    if api_call:
        return KIND_API
    return KIND_FAILURE if failed_console_login else KIND_SIGNIN


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
    return f"{event_time}#{key_part(event_id, MAX_EVENT_ID_BYTES)}"


def account_day_key(account_id: str, event_time: str) -> str:
    """Index key for one account's events of one UTC day (``event_time`` is ISO 8601)."""
    return f"ACCOUNT#{key_part(account_id, MAX_ACCOUNT_BYTES)}#{event_time[:10]}"


def source_ip_key(source_ip: str) -> str:
    """Index key for every event from one source address."""
    return f"IP#{key_part(source_ip, MAX_SOURCE_IP_BYTES)}"


def principal_key(principal: str) -> str:
    """Index key for one principal in every account (``history --principal`` alone)."""
    return f"PRINCIPAL#{key_part(principal, MAX_PRINCIPAL_BYTES)}"


def alert_scope(*parts: str) -> str:
    """An alert's scope from its parts (an event id; or account and principal), encoded.

    Rules build ``Alert.scope`` with this, so account ``1#x`` with principal ``y`` and account
    ``1`` with principal ``x#y`` have different scopes (``1%23x#y`` and ``1#x%23y``).
    """
    budget = MAX_EVENT_ID_BYTES if len(parts) == 1 else MAX_PRINCIPAL_BYTES
    budgets = [MAX_ACCOUNT_BYTES] * (len(parts) - 1) + [budget]
    return "#".join(key_part(part, limit) for part, limit in zip(parts, budgets, strict=True))


def alert_pk(rule_id: str, scope: str) -> str:
    """Partition of one alert claim; ``scope`` comes from ``alert_scope`` (already encoded)."""
    bounded_scope = _bounded(scope, MAX_SCOPE_BYTES, whole=scope)
    return f"ALERT#{key_part(rule_id, MAX_RULE_BYTES)}#{bounded_scope}"


def undelivered_sk(event_time: str, claim_pk: str) -> str:
    """Sort key of an undelivered alert's marker: oldest first, one per claim."""
    return f"{event_time}#{_bounded(claim_pk, _MAX_CLAIM_IN_SK_BYTES, whole=claim_pk)}"


def failure_source_key(account_id: str, source_ip: str) -> str:
    """``by-failure-source`` key: the failed ConsoleLogins from one address in one account."""
    account = key_part(account_id, MAX_ACCOUNT_BYTES)
    return f"FAILSRC#{account}#{key_part(source_ip, MAX_SOURCE_IP_BYTES)}"


def success_key(account_id: str, principal: str) -> str:
    """``by-success`` key: one principal's successful ConsoleLogins from an IP address."""
    account = key_part(account_id, MAX_ACCOUNT_BYTES)
    return f"SUCCESS#{account}#{key_part(principal, MAX_PRINCIPAL_BYTES)}"


def network_key(account_id: str, principal: str, network: str) -> str:
    """``by-network`` key: one principal's successful ConsoleLogins from one network."""
    account = key_part(account_id, MAX_ACCOUNT_BYTES)
    principal_part = key_part(principal, MAX_PRINCIPAL_BYTES)
    return f"NET#{account}#{principal_part}#{key_part(network, 64)}"


def correlation_keys(event: SignInEvent) -> dict[str, str]:
    """The sparse index keys an activity item carries (design §3.2); most items carry none.

    A failed ConsoleLogin: ``failure_source_key``. A successful ConsoleLogin from an IP address:
    ``success_key`` and ``network_key``. Anything else: nothing, so it is in none of these
    indexes and costs them no write.
    """
    if not event.is_console_login:
        return {}
    if event.result == "Failure":
        return {"failure_source_key": failure_source_key(event.account_id, event.source_ip)}
    network = network_of(event.source_ip) if event.result == "Success" else None
    if network is None:
        return {}
    return {
        "success_key": success_key(event.account_id, event.principal),
        "network_key": network_key(event.account_id, event.principal, network),
    }
