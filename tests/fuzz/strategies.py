"""Hostile variants of valid CloudTrail records and EventBridge events, and files holding them.

Each mutation is one thing an attacker or a corrupted export does: a field of another type,
null, missing, huge, deeply nested, odd Unicode (lone surrogates, invisible characters), times
in other forms or out of range, numbers past int parsing limits. Files then hold them as a
CloudTrail log, an array of envelopes, JSON Lines or lookup-events output, maybe gzipped,
maybe truncated or with bytes that are not UTF-8.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from hypothesis import strategies as st

from tests.factories import console_login, eventbridge

MARKER = "fuzz-secret-7f3a9c"
WEBHOOK = f"https://hooks.example.invalid/services/T000/B000/{MARKER}"

FIELDS = (
    "eventID",
    "eventTime",
    "eventName",
    "eventSource",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "recipientAccountId",
    "userIdentity",
    "userIdentity.type",
    "userIdentity.userName",
    "userIdentity.accountId",
    "userIdentity.arn",
    "responseElements",
    "responseElements.ConsoleLogin",
    "additionalEventData",
    "additionalEventData.MFAUsed",
    "errorMessage",
    "requestParameters",
)

_odd_text = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.lists(
        st.sampled_from(
            ["\udcff", "\ud800", "\u200b", "\u202e", "\x00", "\x1b[2J", "#", "\n", "a"]
        ),
        max_size=6,
    ).map("".join),
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    _odd_text,
)
_json_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_odd_text, inner, max_size=4)
    ),
    max_leaves=12,
)
_times = st.one_of(
    st.sampled_from(
        [
            "0",
            "1730534472",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59-01:00",
            "2026-11-02T08:01:12.123456789+02:00",
            "2026-11-02 08:01:12",
            "2026-02-30T00:00:00Z",
            "2026-11-02T08:01:12+24:00",
        ]
    ),
    st.integers(min_value=-(2**40), max_value=2**40),
    _odd_text,
)


@st.composite
def _big(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["cjk", "emoji", "ascii", "deep", "wide", "bigint"]))
    size = draw(st.integers(min_value=1000, max_value=90_000))
    if kind == "cjk":
        return "\u4e2d" * size
    if kind == "emoji":
        return "\U0001f600" * (size // 2)
    if kind == "ascii":
        return "A" * size
    if kind == "deep":
        value: Any = "bottom"
        for _ in range(draw(st.integers(min_value=30, max_value=150))):
            value = [value]
        return value
    if kind == "wide":
        return {f"k{i}": "v" * 50 for i in range(size // 40)}
    return _BigInt(draw(st.integers(min_value=4000, max_value=6000)))


class _BigInt:
    """A placeholder serialized as a bare number of this many digits (past int's 4,300)."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


_values = st.one_of(_json_values, _times, _big())


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """A valid sign-in record with 0-3 hostile mutations."""
    record = console_login(
        event_id=draw(st.uuids()).hex,
        result=draw(st.sampled_from(["Success", "Failure"])),
        mfa=draw(st.sampled_from(["Yes", "No", None])),
        identity_type=draw(st.sampled_from(["IAMUser", "Root", "AssumedRole"])),
        minutes=draw(st.integers(min_value=0, max_value=600)),
    )
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        path = draw(st.sampled_from(FIELDS)).split(".")
        parent: Any = record
        for part in path[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        if draw(st.booleans()) and draw(st.booleans()):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = draw(_values)
    return record


def dumps(value: Any) -> str:
    """JSON text, with ``_BigInt`` placeholders written as bare numbers."""
    bigs: list[int] = []

    def default(item: Any) -> Any:
        if isinstance(item, _BigInt):
            bigs.append(item.digits)
            return f"@@BIG{len(bigs) - 1}@@"
        raise TypeError(type(item).__name__)

    text = json.dumps(value, default=default)
    for index, digits in enumerate(bigs):
        text = text.replace(f'"@@BIG{index}@@"', "9" * digits)
    return text


SHAPES = ("cloudtrail", "envelopes", "json-lines", "lookup-events")


def file_bytes(shape: str, items: list[dict[str, Any]], *, gzipped: bool) -> bytes:
    """The records in one of the shapes replay reads."""
    if shape == "cloudtrail":
        text = '{"Records": [' + ", ".join(dumps(r) for r in items) + "]}"
    elif shape == "envelopes":
        text = "[" + ", ".join(dumps(eventbridge(r)) for r in items) + "]"
    elif shape == "json-lines":
        text = "".join(dumps(eventbridge(r)) + "\n" for r in items)
    else:
        events = [{"EventId": "x", "CloudTrailEvent": dumps(r)} for r in items]
        text = json.dumps({"Events": events, "NextToken": "t"})
    data = text.encode("utf-8", "surrogatepass")
    return gzip.compress(data, mtime=0) if gzipped else data


def position(shape: str, index: int) -> str:
    """Where replay says record ``index`` of a file of this shape is."""
    return {
        "cloudtrail": f"Records[{index}]",
        "envelopes": f"[{index}]",
        "json-lines": f"line {index + 1}",
        "lookup-events": f"Events[{index}]",
    }[shape]


@st.composite
def corruptions(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` cut short, or with bytes that are not UTF-8 put in."""
    where = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
    if draw(st.booleans()):
        return data[:where]
    junk = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\x1f\x8b"]))
    return data[:where] + junk + data[where:]
