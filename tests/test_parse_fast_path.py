"""The fast way of ``parse_record`` gives exactly what the first way gives, for any input.

``parse_record(value)`` remembers which pattern each kind of record matched and checks the
nesting by recursion; ``parse_record(value, fast=False)`` matches every pattern and checks
the nesting as it first did (the reference). Both must return equal ``Activity`` values
(every field, the stored raw record and its text, what was cut) or raise the same error
with the same message: on the samples, a bench corpus, hypothesis-mutated records and the
hand-written edges below. The shortcuts both ways share (``parse_event_time``'s, the text
helpers') are held to their first forms here too.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import gzip
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.corpus import CorpusSpec, ensure_corpus
from signin_monitor import event_patterns
from signin_monitor.errors import MalformedRecordError, NotSignInEventError
from signin_monitor.events import (
    HIDDEN_USER,
    MAX_DEPTH,
    MAX_FIELD_BYTES,
    MAX_RAW_BYTES,
    Activity,
    _bounded,
    _clean,
    _cut_utf8,
    _nested_past,
    _parse_event_time_by_pattern,
    _printable_utf8,
    _Texts,
    _too_deep,
    parse_event_time,
    parse_eventbridge,
    parse_record,
)
from tests.factories import api_call, console_login, eventbridge
from tests.fuzz.strategies import _json_values, records

ROOT = Path(__file__).resolve().parents[1]

Outcome = tuple[str, Any]


def _outcome(parse: Callable[[], Activity]) -> Outcome:
    """Everything a caller can see of one parse: the activity's fields, or the error."""
    try:
        event = parse()
    except (MalformedRecordError, NotSignInEventError) as error:
        return type(error).__name__, (str(error), error.source, error.position)
    fields = {item.name: getattr(event, item.name) for item in dataclasses.fields(event)}
    fields.pop("raw_text_of")
    fields["raw_text_of_is_raw"] = event.raw_text_of is event.raw
    fields["raw_json"] = event.raw_json()
    fields["event_time_zone"] = event.event_time.tzinfo
    return "Activity", fields


def assert_same(value: Any) -> None:
    """The fast and the reference way agree on ``value`` (as a record and as an envelope)."""
    before = _fingerprint(value)
    slow = _outcome(lambda: parse_record(value, source="f", position="p", fast=False))
    fast = _outcome(lambda: parse_record(value, source="f", position="p"))
    assert fast == slow
    # A second time: what was remembered of the first gives the same answer.
    assert _outcome(lambda: parse_record(value, source="f", position="p")) == slow
    assert _fingerprint(value) == before  # neither way changes its input
    if isinstance(value, dict):
        envelope = eventbridge(value)
        slow = _outcome(lambda: parse_eventbridge(envelope, fast=False))
        assert _outcome(lambda: parse_eventbridge(envelope)) == slow


def _fingerprint(value: Any) -> str | None:
    """The value as text (objects by their type), or None for a cyclic one."""
    try:
        return json.dumps(value, default=lambda item: type(item).__name__)
    except (ValueError, RecursionError):
        return None


def _records_in(paths: list[Path]) -> Iterator[Any]:
    for path in paths:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        text = data.decode("utf-8")
        if path.name.endswith(".jsonl"):
            values = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            loaded = json.loads(text)
            values = loaded.get("Records", [loaded]) if isinstance(loaded, dict) else loaded
        for value in values:
            yield value.get("detail", value) if isinstance(value, dict) else value


def test_samples_parse_the_same_both_ways() -> None:
    paths = sorted(p for p in (ROOT / "samples").rglob("*") if p.is_file())
    values = list(_records_in(paths))
    assert len(values) > 20
    for value in values:
        assert_same(value)


def test_a_bench_corpus_parses_the_same_both_ways(tmp_path: Path) -> None:
    folder, manifest = ensure_corpus(CorpusSpec(records=3000), cache=tmp_path)
    values = list(_records_in(sorted(folder.rglob("*.json.gz"))))
    assert len(values) == manifest["records"] == 3000
    kinds: set[str] = set()
    for value in values:
        assert_same(value)
        kinds.add(_outcome(functools.partial(parse_record, value))[0])
    assert kinds == {"Activity", "NotSignInEventError"}


def _mutated(record: dict[str, Any], path: str, value: Any, remove: bool) -> dict[str, Any]:
    parent: Any = record
    parts = path.split(".")
    for part in parts[:-1]:
        parent = parent.get(part) if isinstance(parent, dict) else None
    if isinstance(parent, dict):
        if remove:
            parent.pop(parts[-1], None)
        else:
            # A copy: the sampled values are shared objects, and a later mutation of this one
            # would change them (a dict put inside itself: a circular record json refuses).
            parent[parts[-1]] = copy.deepcopy(value)
    return record


#: Every place the model reads (and its Python names, which it reads too).
_PLACES = (
    "eventID",
    "eventTime",
    "eventName",
    "eventSource",
    "eventType",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "recipientAccountId",
    "errorCode",
    "errorMessage",
    "readOnly",
    "requestParameters",
    "requestParameters.userName",
    "responseElements",
    "responseElements.ConsoleLogin",
    "additionalEventData",
    "additionalEventData.MFAUsed",
    "serviceEventDetails",
    "userIdentity",
    "userIdentity.type",
    "userIdentity.userName",
    "userIdentity.arn",
    "userIdentity.principalId",
    "userIdentity.accountId",
    "userIdentity.invokedBy",
    "userIdentity.sessionContext",
    "userIdentity.sessionContext.assumedRoot",
    "userIdentity.sessionContext.attributes",
    "userIdentity.sessionContext.attributes.mfaAuthenticated",
    "event_id",
    "event_time",
    "user_identity",
    "read_only",
    "userIdentity.user_name",
    "userIdentity.invoked_by",
    "userIdentity.sessionContext.assumed_root",
    "\udcffextra",
    "userIdentity.\udcffextra",
    "signinMonitorTruncated",
)
_edgy_values = st.one_of(
    _json_values,
    st.sampled_from(
        [
            "",
            "true",
            "false",
            "Yes",
            "No",
            "Root",
            "AWS Internal",
            HIDDEN_USER,
            "x" * 128,
            "x" * 129,
            "\u00e9" * 64,
            "\u00e9" * 65,
            "\udcff",
            "A" * (MAX_FIELD_BYTES + 1),
            "\U0001f600" * (MAX_FIELD_BYTES // 4 + 1),
            {"\udcff": 1},
            {1: "x"},
            {"ConsoleLogin": "Failure"},
            {"mfaAuthenticated": "true"},
            {"assumedRoot": "true"},
            {},
            [],
            0,
            1,
            1.0,
            True,
            None,
        ]
    ),
)


@st.composite
def _api_records(draw: st.DrawFn) -> dict[str, Any]:
    return api_call(
        draw(st.sampled_from(["ListBuckets", "CreateAccessKey", "StopLogging", "GetObject"])),
        event_source=draw(
            st.sampled_from(["s3.amazonaws.com", "iam.amazonaws.com", "cloudtrail.amazonaws.com"])
        ),
        identity_type=draw(st.sampled_from(["Root", "IAMUser", "AssumedRole"])),
        error_code=draw(st.sampled_from([None, "AccessDenied"])),
        invoked_by=draw(st.sampled_from([None, "cloudformation.amazonaws.com"])),
        assumed_root=draw(st.booleans()),
        request_parameters=draw(st.sampled_from([None, {"userName": "bob"}])),
    )


@st.composite
def _edge_records(draw: st.DrawFn) -> dict[str, Any]:
    record: dict[str, Any] = draw(st.one_of(records(), _api_records()))
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        record = _mutated(
            record,
            draw(st.sampled_from(_PLACES)),
            draw(_edgy_values),
            remove=draw(st.integers(0, 3)) == 0,
        )
    return record


_FEW = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


@_FEW
@given(record=records())
def test_fuzzed_records_parse_the_same_both_ways(record: dict[str, Any]) -> None:
    assert_same(record)


@_FEW
@given(record=_edge_records())
def test_records_mutated_where_the_model_reads_parse_the_same_both_ways(
    record: dict[str, Any],
) -> None:
    assert_same(record)
    text = json.dumps(record, default=str)
    assert_same(json.loads(text))


def _deep(levels: int, inner: Any = "bottom") -> Any:
    for _ in range(levels):
        inner = [inner]
    return inner


def _edge_cases() -> Iterator[Any]:
    yield console_login()
    yield api_call()
    yield from (None, 1, "x", [], [console_login()], {})
    base = console_login()
    for key in list(base):
        without = dict(base)
        del without[key]
        yield without
    for time in (
        "2026-11-02T08:01:12Z",
        "2026-11-02T08:01:12.999999999+14:00",
        "1999-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-11-02T24:00:00Z",
        "2026-11-02T23:59:60Z",
        "2026-11-02T23:60:00Z",
        "2026-13-02T23:00:00Z",
        "2099-12-31T23:59:59Z",
        "2000-01-01T00:00:00Z",
        "\u0662026-11-02T08:01:12Z",
        "2026-11-02T08:01:12z",
        "2026-11-02 08:01:12",
        1730534472,
        None,
        "\udcff",
    ):
        yield {**base, "eventTime": time}
    for field in ("userAgent", "errorMessage", "sourceIPAddress", "recipientAccountId"):
        for size in (MAX_FIELD_BYTES - 1, MAX_FIELD_BYTES, MAX_FIELD_BYTES + 1):
            for char in ("a", "\u00e9", "\u4e2d", "\U0001f600", "\udcff"):
                yield {**base, field: char * (size // len(char.encode("utf-8", "surrogatepass")))}
    for size in (100, 256, 257, 1000):
        yield {**base, "userIdentity": {**base["userIdentity"], "userName": "u" * size}}
        yield {**base, "sourceIPAddress": "1" * size}
    # Around the raw record's bound (the stored text, ASCII-escaped).
    for extra in (-2, -1, 0, 1, 2, 5000):
        filler = MAX_RAW_BYTES - len(json.dumps({**base, "pad": ""}, separators=(",", ":")))
        yield {**base, "pad": "p" * (filler + extra)}
        yield {**base, "pad": "\u00e9" * ((filler + extra) // 6)}
    yield {**base, "requestParameters": {"big": "B" * (MAX_RAW_BYTES + 10), "userName": "x"}}
    yield {**base, "signinMonitorTruncated": ["forged"]}
    for levels in (MAX_DEPTH - 3, MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 500):
        yield {**base, "requestParameters": {"deep": _deep(levels)}}
        yield {**base, "deep": _deep(levels, {})}
    for kind in ("Root", "IAMUser", "AssumedRole", "FederatedUser", "AWSService", "SAMLUser"):
        yield console_login(identity_type=kind)
        yield {**base, "userIdentity": {"type": kind}}
    yield {**base, "userIdentity": {"type": "AWSAccount", "principalId": "AWS Internal"}}
    yield {**base, "userIdentity": {"type": "IAMUser", "userName": HIDDEN_USER}}
    yield {**base, "userIdentity": {"arn": "arn:aws:sts::1:assumed-role/Admin/alice"}}
    yield {**base, "userIdentity": {"arn": "arn:aws:sts::1:federated-user/bob"}}
    yield {**base, "userIdentity": None}
    yield {**base, "userIdentity": "alice"}
    yield {**base, "userIdentity": {"user_name": "py-name"}}
    yield {**base, "event_id": "py-name"}
    yield {**base, "\udcffkey": 1}
    yield {**base, "cl\u00e9": 1}
    yield {**base, 7: "int key"}
    yield {**base, "responseElements": {"\udcff": 1, "ConsoleLogin": "Failure"}}
    yield {**base, "responseElements": {1: 1}}
    yield {**base, "readOnly": "true"}
    yield {**base, "readOnly": 1}
    yield {**base, "eventID": "\u00e9" * 100}
    yield {**base, "eventID": "i" * 129}
    yield {**base, "eventName": ""}
    yield {**base, "awsRegion": "r" * 65}
    yield {**base, "awsRegion": "\udcff"}
    call = api_call(error_code="", invoked_by="")
    yield call
    yield {**call, "errorCode": "\u00e9"}
    yield {**call, "userIdentity": {**call["userIdentity"], "invokedBy": "\udcff"}}
    yield {**call, "userIdentity": {"type": "Root", "sessionContext": {"assumedRoot": 1}}}
    yield {**call, "userIdentity": {"type": "Root", "sessionContext": {"\udcff": 1}}}
    yield {**call, "userIdentity": {"type": "Root", "sessionContext": []}}
    yield {**call, "requestParameters": {"userName": 5}}

    class Text(str):
        pass

    class Record(dict[str, Any]):
        pass

    yield {**base, "eventID": Text("subclass")}
    yield {**base, Text("sub"): 1}
    yield Record(base)
    yield {**base, "userIdentity": Record(base["userIdentity"])}
    yield {**base, "extra": object()}
    cyclic: dict[str, Any] = dict(base)
    cyclic["self"] = [cyclic]
    yield cyclic


@pytest.mark.parametrize("value", list(_edge_cases()), ids=lambda v: type(v).__name__)
def test_edge_cases_parse_the_same_both_ways(value: Any) -> None:
    assert_same(value)


@given(
    value=st.recursive(
        st.none(), lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(), inner)
    ),
    limit=st.integers(min_value=0, max_value=6),
)
def test_the_recursive_depth_check_is_the_iterative_one(value: Any, limit: int) -> None:
    expected = _too_deep(value, limit)
    if isinstance(value, dict | list):
        children = value.values() if isinstance(value, dict) else value
        assert _nested_past(children, 1, limit) == expected


def test_what_selection_remembers_stays_bounded() -> None:
    for index in range(3 * event_patterns.MAX_REMEMBERED):
        record = {**console_login(), "eventName": f"Name{index}"}
        assert parse_record(record).event_name == f"Name{index}"
        assert len(event_patterns._remembered) <= event_patterns.MAX_REMEMBERED
    huge = {**console_login(), "eventName": "N" * 100_000}
    with pytest.raises(MalformedRecordError):
        parse_record(huge)
    assert all(len(str(key)) < 100_000 for key in event_patterns._remembered)


def _time_outcome(parse: Callable[[str], Any], text: str) -> tuple[str, Any]:
    try:
        moment = parse(text)
    except ValueError as error:
        return "error", str(error)
    return "time", (moment, moment.tzinfo, moment.utcoffset())


@given(
    text=st.one_of(
        st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z"),
        st.from_regex(
            r"\A(19|20|21)[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]:[0-6][0-9]Z\Z"
        ),
        st.from_regex(
            r"\A20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})\Z"
        ),
        st.text(st.characters(codec="utf-8"), max_size=24),
        st.sampled_from(
            [
                "2026-11-02T08:01:12Z",
                "2099-12-31T23:59:59Z",
                "2100-01-01T00:00:00Z",
                "1999-12-31T23:59:59Z",
                "2000-01-01T00:00:00Z",
            ]
        ),
    )
)
def test_the_event_time_shortcut_reads_as_the_pattern_does(text: str) -> None:
    assert _time_outcome(parse_event_time, text) == _time_outcome(
        _parse_event_time_by_pattern, text
    )


def _bounded_first(identifier: str) -> str:
    """``_bounded`` as it was before its ASCII shortcut."""
    text = _printable_utf8(identifier[:257])
    encoded = text.encode("utf-8")
    if len(identifier) <= 256 and len(encoded) <= 256:
        return text
    digest = hashlib.sha256(identifier.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{encoded[: 256 - len(digest) - 1].decode('utf-8', 'ignore')}~{digest}"


_texts = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=20),
    st.builds(
        lambda char, size: char * size,
        st.sampled_from(["a", "\u00e9", "\u4e2d", "\U0001f600", "\udcff"]),
        st.sampled_from([0, 1, 63, 64, 65, 255, 256, 257, 1023, 1024, 1025, 4095, 4096, 4097]),
    ),
)


@given(text=_texts, limit=st.sampled_from([256, 1024, MAX_FIELD_BYTES]))
def test_the_text_shortcuts_return_what_the_long_way_does(text: str, limit: int) -> None:
    cut: list[str] = []
    expected, was_cut = _cut_utf8(_printable_utf8(text), limit)
    assert _Texts(cut).field("f", text, limit=limit) == expected
    assert cut == (["f"] if was_cut else [])
    assert _clean(text) == _cut_utf8(_printable_utf8(text), MAX_FIELD_BYTES)[0]
    assert _bounded(text) == _bounded_first(text)
