"""Replay's fast reader (``cloudtrail_files.read_file``) yields exactly what ``sources`` yields.

For every file, the fast reader must give what ``sources.read_events([path])`` gives: equal
activities (every field, the stored raw text, what was cut, the event type, the time text,
the raw dict once read), errors of the same class with the same words and position, in the
same order. Held on bench corpora (where the fast way must be taken for every record), on
hand-made hostile files (each one a reason to go the first way), and on hypothesis-mutated
records. The stored raw record is now the record's text as the file holds it, on both ways.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import pickle
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.corpus import CorpusSpec, ensure_corpus
from signin_monitor import cloudtrail_files
from signin_monitor.errors import MalformedRecordError
from signin_monitor.events import MAX_DEPTH, MAX_RAW_BYTES, Activity, parse_record
from signin_monitor.rules import RootActivity
from signin_monitor.sources import read_events
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import api_call, console_login, eventbridge
from tests.fuzz.strategies import dumps, records

ROOT = Path(__file__).resolve().parents[1]


def _seen(item: Activity | MalformedRecordError) -> tuple[Any, ...]:
    """Everything a caller can see of one item (the raw text before ``raw`` is read)."""
    if isinstance(item, MalformedRecordError):
        return type(item).__name__, str(item), item.source, item.position
    text = item.raw_json()
    fields = {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
    fields.pop("raw_text_of")
    return (
        "Activity",
        item,
        text,
        item.truncated,
        item.event_type,
        item.time_text,
        fields,
        item.raw_text_of is item.raw,
        item.raw_json(),
    )


class _Ways:
    """Counts how often the fast reader went the first way (whole files, single records)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.files = 0
        self.records = 0
        whole, one = read_events, cloudtrail_files._first_way  # the module's own read_events

        def counted_file(paths: Any) -> Any:
            self.files += 1
            return whole(paths)

        def counted_record(*args: Any) -> Any:
            self.records += 1
            return one(*args)

        monkeypatch.setattr(cloudtrail_files, "read_events", counted_file)
        monkeypatch.setattr(cloudtrail_files, "_first_way", counted_record)


def assert_same(path: Path) -> list[tuple[Any, ...]]:
    """The fast reader and sources.py agree on the file; returns what they gave."""
    fast = [_seen(item) for item in cloudtrail_files.read_file(path)]
    first = [_seen(item) for item in read_events([path])]
    assert fast == first
    return fast


@pytest.fixture
def ways(monkeypatch: pytest.MonkeyPatch) -> _Ways:
    return _Ways(monkeypatch)


def _log_file(folder: Path, records: list[Any], *, name: str = "log.json.gz") -> Path:
    """A log file as CloudTrail writes it: compact, ``Records`` only, gzip by its name."""
    text = '{"Records":[' + ",".join(_text(record) for record in records) + "]}"
    return _write(folder / name, text.encode("utf-8", "surrogatepass"))


def _text(record: Any) -> str:
    return record if isinstance(record, str) else json.dumps(record, separators=(",", ":"))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)
    return path


# --- corpora: the fast way, every record ---------------------------------------------------


@pytest.mark.parametrize("seed", [1, 7])
def test_a_bench_corpus_reads_the_same_and_every_record_the_fast_way(
    tmp_path: Path, ways: _Ways, seed: int
) -> None:
    folder, manifest = ensure_corpus(CorpusSpec(records=2500, seed=seed), cache=tmp_path)
    seen = [item for path in sorted(folder.rglob("*.json.gz")) for item in assert_same(path)]
    assert len(seen) == manifest["records"] == 2500
    assert {item[0] for item in seen} == {"Activity", "NotSignInEventError"}
    assert (ways.files, ways.records) == (0, 0)


def test_the_samples_read_the_same(tmp_path: Path) -> None:
    paths = sorted(p for p in (ROOT / "samples").rglob("*") if p.is_file())
    assert len(paths) > 3
    for path in paths:
        assert_same(path)


# --- hostile records: each goes the first way, with the same result ------------------------


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"k": value}
    return value


def _with(record: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**record, **changes}


_LOGIN = console_login(event_id="login-1")
_CALL = api_call("ListBuckets", event_id="call-1")
_IDENTITY = _LOGIN["userIdentity"]

#: name -> (records or their texts, whether the file is read the first way as a whole)
RECORD_CASES: dict[str, tuple[list[Any], bool]] = {
    "deep nesting, just inside": ([_with(_LOGIN, requestParameters=_deep(MAX_DEPTH - 2))], False),
    "deep nesting, just past": ([_with(_LOGIN, requestParameters=_deep(MAX_DEPTH))], False),
    "deep nesting, unreadable": ([_LOGIN, '{"a":' * 100_000 + "1" + "}" * 100_000, _CALL], True),
    "a 4,301-digit number": ([_LOGIN, _with(_CALL, big="@"), _LOGIN], True),
    # Readable, but the check on samples is conservative (any run past half the limit).
    "a 4,300-digit number": ([_with(_LOGIN, big="#"), _CALL], True),
    "non-object records": ([1, '"x"', None, [], [_LOGIN], _CALL], False),
    "other services": ([api_call("GetObject", identity_type="IAMUser"), _LOGIN], False),
    "a record without eventSource or eventID": ([{"eventName": "x"}], False),
    "duplicate keys": (
        [
            _text(_LOGIN)[:-1] + ',"eventName":"CheckMfa"}',
            _text(_LOGIN)[:-1] + ',"userIdentity":{"type":"Root"}}',
            _text(_LOGIN)[:-1] + ',"eventTime":"x","eventTime":"2026-11-02T08:00:00Z"}',
        ],
        False,
    ),
    "readOnly lax values": (
        [_with(_CALL, readOnly=v) for v in ("true", "no", 1, 0.0, 2, None)],
        False,
    ),
    "long and empty fields": (
        [
            _with(_LOGIN, eventID="e" * 128),
            _with(_LOGIN, eventID="e" * 129),
            _with(_LOGIN, eventName=""),
            _with(_LOGIN, awsRegion="r" * 65),
            _with(_LOGIN, userAgent="u" * 10_000),
            _with(_LOGIN, errorCode=""),
            _with(_LOGIN, sourceIPAddress="a" * 3000),
        ],
        False,
    ),
    "non-ASCII text and escapes": (
        [
            _with(_LOGIN, userAgent="Navigateur \u00e9t\u00e9 \U0001f600"),
            _text(_LOGIN).replace('"Mozilla', '"\\u00e9 Mozilla', 1),
            _text(_LOGIN).replace('"Mozilla', '"\\ud83d\\ude00 Mozilla', 1),
        ],
        False,
    ),
    # Backslashes, none of them a \u escape: every record read the fast way, plain.
    "escapes other than \\u": (
        [_LOGIN, _text(_LOGIN).replace('"Mozilla', '"\\"quoted\\" \\\\ \\/ Mozilla', 1)],
        False,
    ),
    # msgspec refuses the escape of a lone surrogate (json.loads reads it): the whole file.
    "a lone surrogate escape": (
        [_LOGIN, _text(_LOGIN).replace('"Mozilla', '"\\ud800 Mozilla', 1)],
        True,
    ),
    "event times": (
        [
            _with(_LOGIN, eventTime=t)
            for t in (
                "2026-11-02T08:01:12.5Z",
                "2026-11-02T10:01:12+02:00",
                "2026-11-02T08:01:12.123456789-01:30",
                "2026-02-30T00:00:00Z",
                "2026-11-02T24:00:00Z",
                "1999-12-31T23:59:59Z",
                "2026-11-02 08:01:12",
                1730534472,
                None,
            )
        ],
        False,
    ),
    "keys pydantic reads by their Python name": (
        [
            {k: v for k, v in _with(_LOGIN, user_agent="by name").items() if k != "userAgent"},
            _with(_LOGIN, event_id="other"),
            _with(_LOGIN, userIdentity={**_IDENTITY, "user_name": "x"}),
            _with(_LOGIN, userIdentity={"type": "Root", "sessionContext": {"assumed_root": "1"}}),
        ],
        False,
    ),
    "an EventBridge envelope among the records": ([eventbridge(_LOGIN), _LOGIN], False),
    "invokedBy null, empty and set": (
        [
            _with(_CALL, userIdentity={**_CALL["userIdentity"], "invokedBy": value})
            for value in (None, "", "ec2.amazonaws.com")
        ],
        False,
    ),
    "userIdentity null, text, absent": (
        [
            _with(_LOGIN, userIdentity=None),
            _with(_CALL, userIdentity="root"),
            {k: v for k, v in _LOGIN.items() if k != "userIdentity"},
            _with(_CALL, userIdentity={"type": None}),
        ],
        False,
    ),
    "dict fields of other types": (
        [_with(_LOGIN, responseElements="Success"), _with(_CALL, requestParameters=[1])],
        False,
    ),
    "a root service event": ([_with(_CALL, eventType="AwsServiceEvent")], False),
    "a record past MAX_RAW_BYTES": (
        [_with(_LOGIN, requestParameters={f"k{i}": "x" * 100 for i in range(3100)})],
        False,
    ),
    "a record just inside MAX_RAW_BYTES": (
        [_with(_LOGIN, requestParameters={"k": "x" * (MAX_RAW_BYTES - len(_text(_LOGIN)) - 8)})],
        False,
    ),
    "NaN": ([_text(_LOGIN)[:-1] + ',"x":NaN}'], True),
    "bad UTF-8": ([_text(_LOGIN).replace("Mozilla", "Mo\udcffzilla")], True),
    "UTF-8 surrogates": ([_text(_LOGIN).replace("Mozilla", "Mo\ud800zilla")], True),
    "control characters in a string": ([_text(_LOGIN).replace("Mozilla", "Mo\tzilla")], True),
}


def _big_numbers(text: str) -> str:
    return text.replace('"@"', "4" * 4301).replace('"#"', "3" * 4300)


@pytest.mark.parametrize("name", RECORD_CASES)
@pytest.mark.parametrize("file_name", ["log.json.gz", "log.json"])
def test_hostile_records_read_the_same(
    tmp_path: Path, ways: _Ways, name: str, file_name: str
) -> None:
    records, whole = RECORD_CASES[name]
    texts = [_big_numbers(_text(record)) for record in records]
    path = _log_file(tmp_path, texts, name=file_name)
    seen = assert_same(path)
    assert ways.files == int(whole)
    assert len(seen) >= 1


@pytest.mark.parametrize(("past", "first_way"), [(0, 0), (1, 1)])
def test_a_records_arrays_count_toward_its_nesting_bound(
    tmp_path: Path, ways: _Ways, past: int, first_way: int
) -> None:
    # The bound is the record's "{" and "[" together; "[" is counted only in a record that
    # holds one (most hold none): one holding arrays must still count them.
    arrays = MAX_DEPTH - _text(_LOGIN).count("{") + past
    nested: Any = "bottom"
    for _ in range(arrays):
        nested = [nested]
    record = _with(_LOGIN, resources=nested)
    assert _text(record).count("{") + _text(record).count("[") == MAX_DEPTH + past
    assert len(assert_same(_log_file(tmp_path, [record]))) == 1
    assert (ways.files, ways.records) == (0, first_way)


_LONG_ROLE = "arn:aws:sts::111122223333:assumed-role/" + "r" * 300 + "/session"

#: ASCII records the fast way normalizes itself, with fields at and past their byte bounds:
#: its shortcut (one length check when the text is ASCII and within MAX_FIELD_BYTES) must give
#: what the per-field cleaning gives, and fall back to it whenever a field may be cut.
BOUND_CASES: dict[str, list[dict[str, Any]]] = {
    "identifiers at 256 and 257": [
        _with(_LOGIN, sourceIPAddress="1" * 256),
        _with(_LOGIN, sourceIPAddress="1" * 257),
        console_login(account="2" * 256),
        console_login(account="2" * 257),
        _with(_CALL, recipientAccountId="3" * 257),
        console_login(user="u" * 256),
        console_login(user="u" * 257),
        console_login(identity_type="T" * 257),
    ],
    "principals made past their bound": [
        console_login(user="HIDDEN_DUE_TO_SECURITY_REASONS", source_ip="9" * 250),
        console_login(user="HIDDEN_DUE_TO_SECURITY_REASONS", source_ip="9" * 243),
        console_login(user=None, identity_type="AssumedRole", arn=_LONG_ROLE),
        _with(_LOGIN, userIdentity={"type": "IAMUser", "principalId": "p" * 300}),
    ],
    "text fields at 4096 and 4097": [
        _with(_LOGIN, userAgent="a" * 4096),
        _with(_LOGIN, userAgent="a" * 4097),
        _with(_CALL, errorMessage="m" * 5000, errorCode="E" * 5000),
        _with(_CALL, requestParameters={"userName": "n" * 4097}),
        _with(_LOGIN, userIdentity={**_IDENTITY, "invokedBy": "i" * 4097}),
        _with(_CALL, userIdentity={**_CALL["userIdentity"], "arn": "x" * 4097}),
        _with(_LOGIN, userAgent="a" * (4096 - len(_text(_LOGIN)) + len(_LOGIN["userAgent"]))),
    ],
}


@pytest.mark.parametrize("name", BOUND_CASES)
def test_fields_at_their_bounds_read_the_same_the_fast_way(
    tmp_path: Path, ways: _Ways, name: str
) -> None:
    seen = assert_same(_log_file(tmp_path, BOUND_CASES[name]))
    assert (ways.files, ways.records) == (0, 0)  # every record normalized the fast way
    assert len(seen) == len(BOUND_CASES[name])


#: name -> file name and bytes (before gzip for a .gz name): whole files, most read the first way.
_DOC = '{"Records":[' + _text(_LOGIN) + "," + _text(_CALL) + "]}"
FILE_CASES: dict[str, tuple[str, bytes]] = {
    "pretty-printed": ("a.json", json.dumps({"Records": [_LOGIN, _CALL]}, indent=2).encode()),
    "spaces between records": ("a.json", _DOC.replace("},{", "}, {", 1).encode()),
    "members after Records": ("a.json", _DOC[:-1].encode() + b',"x":1}'),
    "Records twice": ("a.json", _DOC[:-1].encode() + b',"Records":[1]}'),
    "Records not first": ("a.json", b'{"x":1,' + _DOC[1:].encode()),
    "Records not a list": ("a.json", b'{"Records":{"a":1}}'),
    "empty Records": ("a.json.gz", b'{"Records":[]}'),
    "empty file": ("a.json", b""),
    "only whitespace": ("a.json", b" \n\t "),
    "trailing garbage": ("a.json", _DOC.encode() + b"x"),
    "trailing whitespace": ("a.json", _DOC.encode() + b"\n\n"),
    "a byte order mark": ("a.json", b"\xef\xbb\xbf" + _DOC.encode()),
    "UTF-16": ("a.json", _DOC.encode("utf-16")),
    "JSON Lines by name": ("a.jsonl", (_DOC + "\n" + _DOC + "\n").encode()),
    "JSON Lines by content": ("a.json", (_DOC + "\n" + _DOC + "\n").encode()),
    "EventBridge events": ("a.json", json.dumps([eventbridge(_LOGIN)]).encode()),
    "lookup-events": (
        "a.json",
        json.dumps({"Events": [{"CloudTrailEvent": _text(_LOGIN)}, {"X": 1}]}).encode(),
    ),
    "a CloudTrail digest file": ("a.json", b'{"digestStartTime":"x","logFiles":[]}'),
    "a bare record": ("a.json", _text(_LOGIN).encode()),
}


#: The cases above the fast way reads itself.
_FAST_SHAPES = frozenset({"empty Records", "trailing whitespace"})


@pytest.mark.parametrize("name", FILE_CASES)
def test_files_of_other_shapes_read_the_same(tmp_path: Path, ways: _Ways, name: str) -> None:
    file_name, data = FILE_CASES[name]
    assert_same(_write(tmp_path / file_name, data))
    assert ways.files == (0 if name in _FAST_SHAPES else 1)


def test_broken_gzip_reads_the_same(tmp_path: Path, ways: _Ways) -> None:
    whole = gzip.compress(_DOC.encode(), mtime=0)
    variants = {
        "truncated": whole[:-9],
        "bad CRC": whole[:-8] + bytes(4) + whole[-4:],
        "two members": whole + whole,
        "trailing zeros": whole + bytes(16),
        "not gzip after the magic": b"\x1f\x8bnot gzip at all",
    }
    for number, data in enumerate(variants.values()):
        path = tmp_path / f"{number}.json.gz"
        path.write_bytes(data)
        assert_same(path)
    assert ways.files == len(variants)


def test_a_file_past_the_fast_size_reads_the_same_the_first_way(
    tmp_path: Path, ways: _Ways, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cloudtrail_files, "MAX_FAST_BYTES", len(_DOC) - 1)
    assert_same(_write(tmp_path / "a.json.gz", _DOC.encode()))
    assert_same(_write(tmp_path / "b.json", _DOC.encode()))
    assert ways.files == 2


def test_paths_that_are_not_files_read_the_same(tmp_path: Path) -> None:
    assert_same(tmp_path)
    assert_same(tmp_path / "missing.json")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records(), min_size=1, max_size=4), st.booleans())
def test_fuzzed_records_read_the_same(items: list[dict[str, Any]], gzipped: bool) -> None:
    import tempfile

    text = '{"Records":[' + ",".join(dumps(item) for item in items) + "]}"
    with tempfile.TemporaryDirectory() as folder:
        name = "f.json.gz" if gzipped else "f.json"
        assert_same(_write(Path(folder) / name, text.encode("utf-8", "surrogatepass")))


# --- the stored raw record is the record's text ---------------------------------------------


def test_the_stored_raw_record_is_the_text_the_file_holds_both_ways(tmp_path: Path) -> None:
    # GIVEN a log file whose record is written with spaces (json.dumps' default separators)
    written = json.dumps(_LOGIN)
    path = _write(tmp_path / "a.json", ('{"Records":[' + written + "]}").encode())
    slow_path = _write(tmp_path / "b.json", ('{"Records": [' + written + "]}").encode())
    # WHEN it is read the fast way, and the first way (a space the fast way does not take)
    (fast,) = cloudtrail_files.read_file(path)
    (first,) = read_events([slow_path])
    # THEN both store that text exactly, and it parses to the record
    assert isinstance(fast, Activity)
    assert isinstance(first, Activity)
    assert fast.raw_json() == first.raw_json() == written
    assert json.loads(fast.raw_json()) == _LOGIN == fast.raw
    # AND a SQLite store keeps it as it is
    store = SqliteStore()
    try:
        store.record(fast, expires_at=None)
        (stored,) = store._db.execute("SELECT raw FROM activity").fetchall()
        assert stored[0] == written
    finally:
        store.close()


def test_lookup_events_store_the_cloudtrail_event_text(tmp_path: Path) -> None:
    written = json.dumps(_LOGIN, indent=1)
    path = _write(
        tmp_path / "a.json", json.dumps({"Events": [{"CloudTrailEvent": written}]}).encode()
    )
    (event,) = read_events([path])
    assert isinstance(event, Activity)
    assert event.raw_json() == written


def test_eventbridge_events_keep_the_compact_json_of_detail(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.json", json.dumps([eventbridge(_LOGIN)], indent=2).encode())
    (event,) = read_events([path])
    assert isinstance(event, Activity)
    assert event.raw_json() == json.dumps(_LOGIN, separators=(",", ":"))


def test_a_text_with_a_lone_surrogate_is_stored_as_compact_json_any_store_takes() -> None:
    record = _with(_LOGIN, userAgent="a\udcffb")
    text = json.dumps(record, ensure_ascii=False)
    event = parse_record(json.loads(text), text=text)
    assert event.raw_json() == json.dumps(record, separators=(",", ":"))
    event.raw_json().encode("utf-8")  # no lone surrogate left


def test_a_record_past_max_raw_bytes_is_cut_as_before(tmp_path: Path) -> None:
    record = _with(_LOGIN, requestParameters={f"k{i}": "x" * 100 for i in range(3100)})
    text = _text(record)
    assert len(text) > MAX_RAW_BYTES
    assert parse_record(record, text=text).raw_json() == parse_record(record).raw_json()


# --- the activity: lazy raw, cached time text, its constructor, event type ------------------


def _fast_activity(tmp_path: Path, record: dict[str, Any]) -> Activity:
    (event,) = cloudtrail_files.read_file(_log_file(tmp_path, [record]))
    assert isinstance(event, Activity)
    return event


def test_raw_is_decoded_on_first_read_and_copies_stay_right(tmp_path: Path) -> None:
    event = _fast_activity(tmp_path, _LOGIN)
    text = event.raw_json()
    assert text == _text(_LOGIN)
    assert event._held_raw() is None  # not decoded yet
    # A copy with another raw record is encoded from its own (an index read gives {}).
    assert dataclasses.replace(event, raw={}).raw_json() == "{}"
    # Pickled (the sort's spill) and copied, it keeps its text and record.
    again = pickle.loads(pickle.dumps(event))  # noqa: S301 (our own bytes)
    assert (again, again.raw_json(), again.raw) == (event, text, _LOGIN)
    copy = dataclasses.replace(event, user_agent="other")
    assert (copy.raw_json(), copy.raw) == (text, _LOGIN)
    # Read once, raw is the record and the text still the stored form.
    assert event.raw == _LOGIN
    assert event.raw_text_of is event.raw
    assert event.raw_json() == text
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        getattr(event, "nothing")  # noqa: B009 (the lookup itself is tested)


def test_reading_an_activity_attribute_takes_the_plain_slot_path() -> None:
    # A class with __getattr__ has every attribute read go the generic way, which Python
    # does not specialize (3.5 times a slot read): the lazy raw is a descriptor instead.
    assert not hasattr(Activity, "__getattr__")
    assert Activity.__getattribute__ is object.__getattribute__
    event = parse_record(_LOGIN)
    assert event.raw == _LOGIN
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        getattr(event, "nothing")  # noqa: B009 (the lookup itself is tested)


def test_the_text_of_a_record_not_decoded_yet_is_stored_without_probing_its_raw_slot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The store asks raw_json of every event it writes; probing the empty raw slot of an
    # activity read the fast way cost an AttributeError each time (180k of them at 200k).
    event = _fast_activity(tmp_path, _LOGIN)
    copy = dataclasses.replace(event, raw={"other": 1})  # a copy never inherits "not decoded"

    def probed(self: Activity) -> None:
        raise AssertionError("the raw slot was probed")

    with monkeypatch.context() as patched:
        patched.setattr(Activity, "_held_raw", probed)
        assert event.raw_json() == _text(_LOGIN)
    assert copy.raw_json() == '{"other":1}'
    # Read once, raw is held: raw_json is the text again, through the slot.
    assert event.raw == _LOGIN
    assert event.raw_json() == _text(_LOGIN)


def test_time_text_is_computed_once_and_anew_for_a_copy_with_another_time() -> None:
    event = parse_record(_with(_LOGIN, eventTime="2026-11-02T10:01:12.7+02:00"))
    assert event.time_text == "2026-11-02T08:01:12Z"
    later = dataclasses.replace(event, event_time=event.event_time + timedelta(hours=1))
    assert later.time_text == "2026-11-02T09:01:12Z"


@pytest.mark.parametrize("fast", [False, True])
def test_normalization_builds_what_init_builds(tmp_path: Path, fast: bool) -> None:
    """normalize_record fills a mutable twin and makes it an Activity: every field set (raw
    left to be decoded, the fast way), equal to what __init__ builds, frozen."""
    for record in (_CALL, _LOGIN):
        event = _fast_activity(tmp_path, record) if fast else parse_record(record)
        assert type(event) is Activity
        names = [f.name for f in dataclasses.fields(event)]
        unset = [n for n in names if not _slot_is_set(event, n)]
        assert unset == (["raw"] if fast else [])
        values = {name: getattr(event, name) for name in names}
        init_values = {f.name: values[f.name] for f in dataclasses.fields(event) if f.init}
        built = Activity(**init_values)
        for name in names:
            assert getattr(event, name) == getattr(built, name) or name == "_time_text"
        assert event == built
        assert hash(event) == hash(built)
        with pytest.raises(dataclasses.FrozenInstanceError):
            event.principal = "someone else"  # type: ignore[misc]


def _slot_is_set(event: Activity, name: str) -> bool:
    if name == "raw":  # read through Activity.raw, an empty slot would be decoded
        return event._held_raw() is not None
    try:
        object.__getattribute__(event, name)
    except AttributeError:
        return False
    return True


def test_event_type_is_read_and_a_root_service_event_raises_no_root_activity() -> None:
    class NoHistory:
        def has_console_sign_in(self, *args: Any, **kwargs: Any) -> bool:
            return False

    rule = RootActivity(window=timedelta(minutes=60))
    call = parse_record(_CALL)
    assert call.event_type == "AwsApiCall"
    assert rule.evaluate(call, NoHistory()) is not None  # type: ignore[arg-type]
    service = dataclasses.replace(call, event_type="AwsServiceEvent")
    assert rule.evaluate(service, NoHistory()) is None  # type: ignore[arg-type]


def test_the_lambda_never_imports_the_fast_reader_or_msgspec() -> None:
    code = (
        "import sys, handler, signin_monitor.app, signin_monitor.sources;"
        "print(sorted(m for m in sys.modules if 'msgspec' in m or 'cloudtrail_files' in m))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "ACTIVITY_TABLE": "t"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_holds_raw_tells_a_held_record_without_decoding_its_text(tmp_path: Path) -> None:
    # Replay asks every sign-in whether it still holds its raw record before letting go of
    # it: asked by bool(event.raw), each one read the fast way was decoded just to be dropped.
    event = _fast_activity(tmp_path, _LOGIN)
    assert event.holds_raw()
    assert event._held_raw() is None  # still not decoded
    assert dataclasses.replace(event, raw={}, raw_text=None).holds_raw() is False
    assert dataclasses.replace(event, raw={"eventName": "x"}, raw_text=None).holds_raw()


def test_a_replay_read_the_fast_way_never_imports_pydantic(tmp_path: Path) -> None:
    # pydantic and the models cost ~0.1 s of every replay's start; only a record the fast
    # reader is not sure of needs them (and then imports them: the second file below).
    (tmp_path / "fast").mkdir()
    (tmp_path / "slow").mkdir()
    fast = _log_file(tmp_path / "fast", [_LOGIN, _CALL])
    slow = _log_file(tmp_path / "slow", [_with(_LOGIN, readOnly="true")])
    # Read in the main thread (with a reader process, the main one never imports it at all).
    code = (
        "import sys; from signin_monitor.cli import main, replay;"
        "replay.can_fork_reader = lambda engine: False;"
        "main(['replay', '--json', '--db', sys.argv[2], sys.argv[1]]);"
        "print('pydantic' in sys.modules, file=sys.stderr)"
    )
    seen = []
    for log in (fast, slow):
        run = subprocess.run(
            [sys.executable, "-c", code, str(log), str(tmp_path / f"{log.parent.name}.db")],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        seen.append(run.stderr.strip().splitlines()[-1])
    assert seen == ["False", "True"]
