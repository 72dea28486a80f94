"""The EventBridge patterns the deployment uses, loaded from their JSON files, and a matcher.

The files live once, in ``terraform/patterns/`` (Terraform reads them with ``file()``); the
package reaches them through ``signin_monitor/patterns``, a link to that folder that the wheel
and the Lambda zip copy as package data. ``replay`` selects records with the same patterns, so
a CloudTrail log replays exactly as live delivery would.

The matcher knows the pattern features these files use: lists of exact values, and the
``exists``, ``prefix`` and ``anything-but`` filters. It follows EventBridge (and moto's
``EventPattern``, which a test holds it to): a list value in the event matches when any of
its items does, a missing field matches only ``{"exists": false}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, Final, TypeVar

__all__ = [
    "DETAIL_TYPES",
    "MAX_KEY_CHARS",
    "MAX_REMEMBERED",
    "PATTERN_NAMES",
    "ROOT_PATTERN",
    "eventbridge_view",
    "keep_answer",
    "load_patterns",
    "matches",
    "matching_pattern",
]

#: The pattern files, by name (``<name>.json``), in the order they are tried.
PATTERN_NAMES: Final = (
    "signin_events",
    "root_api_calls",
    "iam_credential_changes",
    "trail_changes",
)
#: The pattern that carries read-only root calls (its rules need the CloudTrail state).
ROOT_PATTERN: Final = "root_api_calls"
#: CloudTrail ``eventType`` -> the EventBridge ``detail-type`` of its events (design §3.1).
DETAIL_TYPES: Final = {
    "AwsApiCall": "AWS API Call via CloudTrail",
    "AwsConsoleSignIn": "AWS Console Sign In via CloudTrail",
    "AwsServiceEvent": "AWS Service Event via CloudTrail",
}
_MISSING: Final = object()


@cache
def load_patterns() -> dict[str, dict[str, Any]]:
    """Every pattern by name, read once from the package's ``patterns`` folder."""
    folder = resources.files(__package__).joinpath("patterns")
    return {
        name: json.loads(folder.joinpath(f"{name}.json").read_text(encoding="utf-8"))
        for name in PATTERN_NAMES
    }


def eventbridge_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """The event EventBridge would make of a CloudTrail record (the fields patterns read).

    ``source`` is ``aws.`` and the service part of ``eventSource`` (``iam.amazonaws.com`` ->
    ``aws.iam``); ``detail-type`` comes from ``eventType`` (none without a known one).
    """
    view: dict[str, Any] = {"detail": record}
    event_source = record.get("eventSource")
    if isinstance(event_source, str) and event_source:
        view["source"] = "aws." + event_source.split(".", 1)[0]
    event_type = record.get("eventType")
    if isinstance(event_type, str) and event_type in DETAIL_TYPES:
        view["detail-type"] = DETAIL_TYPES[event_type]
    return view


#: Most answers a selection memo keeps (a bound on memory whatever the input).
MAX_REMEMBERED: Final = 1024
#: Longest text of one remembered key (hostile names are matched, not remembered).
MAX_KEY_CHARS: Final = 1024
_remembered: dict[tuple[str | object, ...], str | None] = {}

_Key = TypeVar("_Key")
_Answer = TypeVar("_Answer")


def keep_answer(memo: dict[_Key, _Answer], key: _Key, answer: _Answer) -> _Answer:
    """Keep ``answer`` under ``key`` in a selection memo and return it; a memo holding
    ``MAX_REMEMBERED`` answers starts over, so memory stays bounded whatever the input."""
    if len(memo) >= MAX_REMEMBERED:
        memo.clear()
    memo[key] = answer
    return answer


def matching_pattern(event: Mapping[str, Any], *, remember: bool = True) -> str | None:
    """The name of the first pattern the EventBridge event matches, or None.

    The answer is a function of the few leaves the patterns read (``_leaf_paths``); when
    each of them is a plain string or absent, it is remembered under those values, so a
    replay matches each kind of record once rather than each record four times. Anything
    else (a leaf of another type, a mapping that is not a plain dict) is matched the long
    way, with the same result, as is every event when ``remember`` is False (the reference).
    """
    key = _key(event) if remember else None
    if key is None:
        return _first_match(event)
    try:
        return _remembered[key]
    except KeyError:
        pass
    return keep_answer(_remembered, key, _first_match(event))


@cache
def _leaf_paths() -> tuple[tuple[str, ...], ...]:
    """Every path to a value list in the patterns (``("detail", "eventSource")``...)."""
    paths: list[tuple[str, ...]] = []

    def walk(pattern: Mapping[str, Any], prefix: tuple[str, ...]) -> None:
        for key, wanted in pattern.items():
            if isinstance(wanted, Mapping):
                walk(wanted, (*prefix, key))
            else:
                paths.append((*prefix, key))

    for pattern in load_patterns().values():
        walk(pattern, ())
    return tuple(dict.fromkeys(paths))


def _key(event: Mapping[str, Any]) -> tuple[str | object, ...] | None:
    """The values at ``_leaf_paths`` (``_MISSING`` for an absent one), when every one is a
    plain ``str`` or absent and every object on the way a plain ``dict``; else None."""
    key: list[str | object] = []
    size = 0
    for path in _leaf_paths():
        value: Any = event
        for part in path:
            if type(value) is dict:
                value = value.get(part, _MISSING)
            elif value is _MISSING or not isinstance(value, Mapping):
                value = _MISSING  # matches reads a non-object on the way as an empty one
                break
            else:
                return None  # another Mapping type: matched the long way
        if value is not _MISSING:
            if type(value) is not str:
                return None
            size += len(value)
        key.append(value)
    return tuple(key) if size <= MAX_KEY_CHARS else None


def _first_match(event: Mapping[str, Any]) -> str | None:
    """``matching_pattern`` without memory: every pattern in order (the reference)."""
    for name, pattern in load_patterns().items():
        if matches(pattern, event):
            return name
    return None


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """True when ``event`` (an EventBridge event, a dict) matches ``pattern``."""
    for key, wanted in pattern.items():
        value = event.get(key, _MISSING) if isinstance(event, Mapping) else _MISSING
        if isinstance(wanted, Mapping):
            # A nested pattern: the field must be an object (a leaf or absent matches only
            # if every filter below it accepts a missing field).
            inner = value if isinstance(value, Mapping) and value else {}
            if not matches(wanted, inner):
                return False
        elif isinstance(wanted, list):
            if isinstance(value, Mapping) and value:
                value = _MISSING  # an object is no leaf: a value filter never matches it
            if not any(_accepts(item, value) for item in wanted):
                return False
        else:
            return False
    return True


def _accepts(condition: Any, value: Any) -> bool:
    """One item of a pattern's value list against the event's leaf value (maybe a list)."""
    if isinstance(condition, Mapping):
        return _filter(condition, value)
    if value is _MISSING:
        return False
    if isinstance(value, list):
        return condition in value
    return bool(value == condition)


def _filter(condition: Mapping[str, Any], value: Any) -> bool:
    (name, argument), *_ = condition.items()
    if name == "exists":
        return (value is not _MISSING) == bool(argument)
    if value is _MISSING:
        return False
    values = value if isinstance(value, list) else [value]
    if name == "prefix":
        return any(isinstance(v, str) and v.startswith(argument) for v in values)
    if name == "anything-but":
        excluded = argument if isinstance(argument, list) else [argument]
        return all(v not in excluded for v in values)
    raise ValueError(f"pattern filter {name!r} is not supported by this matcher")
