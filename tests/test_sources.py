"""The file readers: every input shape ``replay`` accepts, every way a file can be broken, and the
bounded-memory sort by event time.

Each malformed input must cost only itself: its error names the file and the position, and the
other records of the same file (where they can be told apart) and of the same run still come out.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from signin_monitor import sources
from signin_monitor.config import LAMBDA_VARIABLES, LOCAL_ONLY_VARIABLES
from signin_monitor.errors import MalformedRecordError, NotSignInEventError, SkippedFileError
from signin_monitor.events import SignInEvent
from signin_monitor.sources import find_files, read_events, read_records, sort_by_time
from signin_monitor.store import HistoryQuery
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import ACCOUNT, console_login, eventbridge, sign_in

Item = SignInEvent | MalformedRecordError


@pytest.fixture(autouse=True)
def _no_settings_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's SLACK_WEBHOOK_URL, thresholds etc. never reach a test."""
    for name in LAMBDA_VARIABLES + LOCAL_ONLY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# --- helpers -----------------------------------------------------------------------------------


def _record(event_id: str, **kwargs: Any) -> dict[str, Any]:
    return console_login(event_id=event_id, **kwargs)


def _write_json(path: Path, value: Any, *, indent: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=indent), encoding="utf-8")
    return path


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _read(*paths: Path | str) -> list[Item]:
    return list(read_events(paths))


def _ids(items: list[Item]) -> list[str]:
    return [item.event_id for item in items if isinstance(item, SignInEvent)]


def _errors(items: list[Item]) -> list[MalformedRecordError]:
    return [item for item in items if isinstance(item, MalformedRecordError)]


def _only_error(items: list[Item]) -> MalformedRecordError:
    errors = _errors(items)
    assert len(errors) == 1, errors
    return errors[0]


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    """A well-formed file read beside the broken ones: its events must still come out."""
    return _write_json(tmp_path / "good" / "good.json", {"Records": [_record("good-1")]})


# --- the formats that are read -----------------------------------------------------------------


def test_a_single_eventbridge_event_file_gives_its_sign_in_event(tmp_path: Path) -> None:
    # GIVEN one EventBridge event object, pretty-printed as the console saves it
    path = _write_json(tmp_path / "one.json", eventbridge(_record("eb-1", user="bob")), indent=2)
    # WHEN it is read
    items = _read(path)
    # THEN the CloudTrail record in its detail is the one event
    assert _ids(items) == ["eb-1"]
    event = items[0]
    assert isinstance(event, SignInEvent)
    assert (event.principal, event.account_id, event.result) == ("bob", ACCOUNT, "Success")


def test_an_array_of_eventbridge_events_gives_every_event_in_file_order(tmp_path: Path) -> None:
    # GIVEN an array of three EventBridge events, newest first
    records = [_record(f"arr-{i}", minutes=-i) for i in range(3)]
    path = _write_json(tmp_path / "array.json", [eventbridge(r) for r in records])
    # WHEN it is read
    items = _read(path)
    # THEN every event comes out, in file order (sorting is sort_by_time's job), positions [i]
    assert _ids(items) == ["arr-0", "arr-1", "arr-2"]
    assert [r.position for r in read_records(path)] == ["[0]", "[1]", "[2]"]


def test_json_lines_with_blank_lines_between_and_after_give_every_event(tmp_path: Path) -> None:
    # GIVEN JSON Lines with blank (and whitespace-only) lines between events and at the end
    lines = [
        json.dumps(eventbridge(_record("jl-1"))),
        json.dumps(eventbridge(_record("jl-2"))),
        "",
        "   ",
        json.dumps(eventbridge(_record("jl-3"))),
        "",
    ]
    path = _write_lines(tmp_path / "events.jsonl", lines)
    # WHEN it is read
    items = _read(path)
    # THEN the three events come out, blank lines are not errors, positions are file lines
    assert _errors(items) == []
    assert _ids(items) == ["jl-1", "jl-2", "jl-3"]
    assert [r.position for r in read_records(path)] == ["line 1", "line 2", "line 5"]


def test_blank_lines_right_after_the_first_json_line_do_not_stop_the_others(
    tmp_path: Path,
) -> None:
    # GIVEN JSON Lines with blank lines between the first and second event
    lines = [
        json.dumps(eventbridge(_record("gap-0"))),
        "",
        "  ",
        json.dumps(eventbridge(_record("gap-2"))),
        json.dumps(eventbridge(_record("gap-3"))),
    ]
    path = _write_lines(tmp_path / "events.jsonl", lines)
    # WHEN it is read THEN every event comes out and nothing is an error
    items = _read(path)
    assert _errors(items) == []
    assert _ids(items) == ["gap-0", "gap-2", "gap-3"]


def test_an_error_after_blank_lines_names_the_line_it_is_really_on(tmp_path: Path) -> None:
    # GIVEN JSON Lines: an event on line 1, two blank lines, a broken line 4, an event on line 5
    lines = [
        json.dumps(eventbridge(_record("pos-1"))),
        "",
        "",
        "{broken",
        json.dumps(eventbridge(_record("pos-5"))),
    ]
    path = _write_lines(tmp_path / "events.jsonl", lines)
    # WHEN it is read
    items = _read(path)
    # THEN the error points at line 4, where a user will look for it
    assert _ids(items) == ["pos-1", "pos-5"]
    assert _only_error(items).position == "line 4"


def test_json_lines_with_windows_line_endings_give_every_event(tmp_path: Path) -> None:
    # GIVEN JSON Lines saved with CRLF line endings
    path = tmp_path / "crlf.ndjson"
    path.write_bytes(
        b"".join(json.dumps(eventbridge(_record(f"crlf-{i}"))).encode() + b"\r\n" for i in range(3))
    )
    # WHEN it is read THEN every line is an event
    assert _ids(_read(path)) == ["crlf-0", "crlf-1", "crlf-2"]


def test_json_lines_of_cloudtrail_documents_give_every_record_with_line_and_index(
    tmp_path: Path,
) -> None:
    # GIVEN JSON Lines whose lines are whole CloudTrail log documents
    lines = [
        json.dumps({"Records": [_record("ct-1"), _record("ct-2")]}),
        json.dumps({"Records": [_record("ct-3")]}),
        "",
        json.dumps({"Records": [_record("ct-4")]}),
    ]
    path = _write_lines(tmp_path / "trail.jsonl", lines)
    # WHEN it is read
    items = _read(path)
    # THEN every record of every line comes out, each position naming the line and the index
    assert _ids(items) == ["ct-1", "ct-2", "ct-3", "ct-4"]
    assert [r.position for r in read_records(path)] == [
        "line 1 Records[0]",
        "line 1 Records[1]",
        "line 2 Records[0]",
        "line 4 Records[0]",
    ]


def test_a_cloudtrail_log_file_gives_every_record(tmp_path: Path) -> None:
    # GIVEN a CloudTrail log file as S3 stores it (one line, {"Records": [...]})
    path = _write_json(tmp_path / "log.json", {"Records": [_record("r-0"), _record("r-1")]})
    # WHEN it is read
    items = _read(path)
    # THEN both records come out, named Records[i]
    assert _ids(items) == ["r-0", "r-1"]
    assert [r.position for r in read_records(path)] == ["Records[0]", "Records[1]"]


def test_a_gzipped_cloudtrail_log_file_gives_every_record(tmp_path: Path) -> None:
    # GIVEN the same log file gzipped with the .json.gz name CloudTrail gives it
    document = {"Records": [_record("gz-0"), _record("gz-1"), _record("gz-2")]}
    path = tmp_path / "111122223333_CloudTrail_us-east-1_20261102T0815Z_abc.json.gz"
    path.write_bytes(gzip.compress(json.dumps(document).encode()))
    # WHEN it is read THEN every record comes out
    assert _ids(_read(path)) == ["gz-0", "gz-1", "gz-2"]


def test_a_gzip_file_whose_name_does_not_end_in_gz_is_detected_by_its_magic_bytes(
    tmp_path: Path,
) -> None:
    # GIVEN gzip data saved under a name that says nothing about gzip
    document = {"Records": [_record("magic-0"), _record("magic-1")]}
    path = tmp_path / "downloaded-log.json"
    path.write_bytes(gzip.compress(json.dumps(document).encode()))
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    # WHEN it is read THEN it is gunzipped all the same
    assert _ids(_read(path)) == ["magic-0", "magic-1"]


def test_gzipped_json_lines_give_every_event(tmp_path: Path) -> None:
    # GIVEN JSON Lines, gzipped
    text = "".join(json.dumps(eventbridge(_record(f"gl-{i}"))) + "\n" for i in range(4))
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress(text.encode()))
    # WHEN it is read THEN every line is an event
    assert _ids(_read(path)) == ["gl-0", "gl-1", "gl-2", "gl-3"]


def test_a_pretty_printed_multi_line_cloudtrail_document_is_one_document(tmp_path: Path) -> None:
    # GIVEN a CloudTrail document pretty-printed over many lines (as `jq .` writes it)
    path = _write_json(
        tmp_path / "pretty.json", {"Records": [_record("p-0"), _record("p-1")]}, indent=4
    )
    assert path.read_text().count("\n") > 20
    # WHEN it is read
    items = _read(path)
    # THEN it is not mistaken for JSON Lines: both records, no error
    assert _ids(items) == ["p-0", "p-1"]
    assert _errors(items) == []


def test_a_utf8_byte_order_mark_does_not_stop_a_file_being_read(tmp_path: Path) -> None:
    # GIVEN a file some Windows editor saved with a byte order mark
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(eventbridge(_record("bom-1"))).encode())
    # WHEN it is read THEN the event comes out
    assert _ids(_read(path)) == ["bom-1"]


# --- folders -----------------------------------------------------------------------------------


def test_a_folder_is_read_recursively_in_sorted_order_taking_only_json_files(
    tmp_path: Path,
) -> None:
    # GIVEN a folder tree with JSON files at several depths, other files, and hidden ones
    root = tmp_path / "logs"
    wanted = [
        _write_json(root / "2026" / "11" / "b.json", {"Records": [_record("f-b")]}),
        _write_lines(root / "2026" / "11" / "a.jsonl", [json.dumps(eventbridge(_record("f-a")))]),
        _write_lines(root / "2026" / "c.ndjson", [json.dumps(eventbridge(_record("f-c")))]),
        _write_json(root / "top.json", eventbridge(_record("f-top"))),
    ]
    gz = root / "2026" / "11" / "d.json.gz"
    gz.write_bytes(gzip.compress(json.dumps({"Records": [_record("f-d")]}).encode()))
    wanted.append(gz)
    (root / "README.txt").write_text("not a log")
    (root / "2026" / "export.csv").write_text("a,b\n")
    _write_json(root / ".hidden.json", {"Records": [_record("hidden-file")]})
    _write_json(root / ".git" / "x.json", {"Records": [_record("hidden-dir")]})
    _write_json(root / "2026" / ".cache" / "y.json", {"Records": [_record("hidden-deep")]})
    # WHEN the folder is expanded and read
    found = list(find_files([root]))
    items = _read(root)
    # THEN exactly the JSON files come out, sorted by path, and their events in that order
    assert found == sorted(wanted)
    assert _errors(items) == []
    assert _ids(items) == ["f-a", "f-b", "f-d", "f-c", "f-top"]


def test_a_file_named_on_the_command_line_is_read_whatever_its_suffix(tmp_path: Path) -> None:
    # GIVEN a file with a .txt name, named explicitly
    path = _write_json(tmp_path / "saved-from-console.txt", eventbridge(_record("txt-1")))
    # WHEN it is read THEN it is taken as it is
    assert _ids(_read(path)) == ["txt-1"]


def test_an_empty_folder_gives_nothing_and_no_error(tmp_path: Path) -> None:
    # GIVEN an empty folder WHEN it is read THEN nothing comes out
    (tmp_path / "empty").mkdir()
    assert _read(tmp_path / "empty") == []


# --- malformed input: each costs only itself ---------------------------------------------------


def test_a_file_that_is_not_json_at_all_is_one_error_and_other_files_still_read(
    tmp_path: Path, good_file: Path
) -> None:
    # GIVEN a text file that is not JSON, read before a good file
    bad = tmp_path / "notes.json"
    bad.write_text("this is not JSON\n")
    # WHEN both are read
    items = _read(bad, good_file)
    # THEN one error names the file and where parsing stopped, and the good event comes out
    error = _only_error(items)
    assert error.source == str(bad)
    assert error.position == "line 1 column 1"
    assert str(bad) in str(error)
    assert _ids(items) == ["good-1"]


def test_a_truncated_json_document_reports_line_and_column(tmp_path: Path, good_file: Path) -> None:
    # GIVEN a pretty-printed CloudTrail document cut off in the middle
    text = json.dumps({"Records": [_record("t-0"), _record("t-1")]}, indent=2)
    bad = tmp_path / "cut.json"
    bad.write_text(text[: len(text) * 2 // 3])
    last_line = bad.read_text().count("\n") + 1
    # WHEN it is read with a good file
    items = _read(bad, good_file)
    # THEN the error names the file, a line/column inside the text and the record it cut;
    # the complete record before the cut and the other file are still read
    error = _only_error(items)
    assert error.source == str(bad)
    match = re.fullmatch(r"line (\d+) column (\d+)", error.position)
    assert match is not None, error.position
    assert 1 <= int(match.group(1)) <= last_line
    assert "Records[1]" in error.reason
    assert _ids(items) == ["t-0", "good-1"]


def test_a_truncated_gzip_file_is_one_error_and_other_files_still_read(
    tmp_path: Path, good_file: Path
) -> None:
    # GIVEN a gzipped CloudTrail log whose tail was lost (an interrupted download)
    data = gzip.compress(json.dumps({"Records": [_record(f"tg-{i}") for i in range(20)]}).encode())
    bad = tmp_path / "cut.json.gz"
    bad.write_bytes(data[: len(data) - 12])
    # WHEN it is read with a good file
    items = _read(bad, good_file)
    # THEN one error names the file and says the gzip data is truncated; others still read
    error = _only_error(items)
    assert error.source == str(bad)
    assert "gzip" in error.reason
    assert _ids(items) == ["good-1"]


def test_a_truncated_gzipped_json_lines_file_keeps_the_lines_before_the_cut(
    tmp_path: Path,
) -> None:
    # GIVEN gzipped JSON Lines cut in half
    text = "".join(json.dumps(eventbridge(_record(f"tl-{i:03}"))) + "\n" for i in range(300))
    data = gzip.compress(text.encode())
    bad = tmp_path / "cut.jsonl.gz"
    bad.write_bytes(data[: len(data) // 2])
    # WHEN it is read
    items = _read(bad)
    # THEN the complete lines before the cut come out, in order, then one error naming the file
    ids = _ids(items)
    assert 0 < len(ids) < 300
    assert ids == [f"tl-{i:03}" for i in range(len(ids))]
    error = _only_error(items)
    assert error.source == str(bad)
    assert items[-1] is error
    assert f"after line {len(ids)}" in error.reason or "line" in error.reason


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.json", b""),
        ("blank.json", b"   \n\n\t \n"),
        ("one-space.json", b" "),
    ],
    ids=["empty file", "whitespace only", "a single space"],
)
def test_an_empty_or_whitespace_only_file_is_one_error_naming_it(
    tmp_path: Path, good_file: Path, name: str, content: bytes
) -> None:
    # GIVEN a file with nothing in it but (maybe) whitespace
    bad = tmp_path / name
    bad.write_bytes(content)
    # WHEN it is read with a good file
    items = _read(bad, good_file)
    # THEN one error says it is empty and names it; the good file still counts
    error = _only_error(items)
    assert error.source == str(bad)
    assert "empty" in error.reason
    assert _ids(items) == ["good-1"]


@pytest.mark.parametrize("field", ["eventID", "eventTime"])
def test_a_record_missing_a_required_field_is_an_error_at_its_index_and_its_siblings_still_read(
    tmp_path: Path, field: str
) -> None:
    # GIVEN a CloudTrail log whose middle record lacks a required field
    broken = _record("missing")
    del broken[field]
    path = _write_json(tmp_path / "log.json", {"Records": [_record("m-0"), broken, _record("m-2")]})
    # WHEN it is read
    items = _read(path)
    # THEN the error names the file, Records[1] and the field; the two others come out
    error = _only_error(items)
    assert not isinstance(error, NotSignInEventError)
    assert (error.source, error.position) == (str(path), "Records[1]")
    assert field in error.reason
    assert _ids(items) == ["m-0", "m-2"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("eventTime", "yesterday at noon"),
        ("userIdentity", "root"),
        ("eventID", ""),
        ("responseElements", "Success"),
    ],
    ids=["eventTime words", "userIdentity string", "eventID empty", "resp str"],
)
def test_a_record_with_a_field_of_the_wrong_type_is_an_error_at_its_index(
    tmp_path: Path, field: str, value: Any
) -> None:
    # GIVEN an array of EventBridge events, the second with a field of the wrong type
    broken = _record("wrong")
    broken[field] = value
    path = _write_json(
        tmp_path / "events.json",
        [eventbridge(_record("w-0")), eventbridge(broken), eventbridge(_record("w-2"))],
    )
    # WHEN it is read
    items = _read(path)
    # THEN the error names the file, [1] and the field; no input value leaks into the message
    error = _only_error(items)
    assert (error.source, error.position) == (str(path), "[1]")
    assert field in error.reason
    assert _ids(items) == ["w-0", "w-2"]


@pytest.mark.parametrize(
    "value",
    [42, "a string", None, True, {"foo": 1}, {"detail": {}}, []],
    ids=["number", "string", "null", "bool", "unknown object", "detail only", "empty array"],
)
def test_a_json_value_that_is_neither_record_nor_envelope_is_an_error(
    tmp_path: Path, good_file: Path, value: Any
) -> None:
    # GIVEN a file holding one JSON value that is no event
    bad = _write_json(tmp_path / "odd.json", value)
    # WHEN it is read with a good file
    items = _read(bad, good_file)
    # THEN it is reported against the file (an empty array simply holds nothing)
    if value == []:
        assert _errors(items) == []
    else:
        error = _only_error(items)
        assert not isinstance(error, NotSignInEventError)
        assert error.source == str(bad)
        assert error.position == "document"
    assert _ids(items) == ["good-1"]


def test_values_that_are_no_event_inside_an_array_are_errors_at_their_index(
    tmp_path: Path,
) -> None:
    # GIVEN an array mixing events with a number, an unknown object and null
    path = _write_json(
        tmp_path / "mixed.json",
        [eventbridge(_record("x-0")), 5, {"foo": 1}, None, eventbridge(_record("x-4"))],
    )
    # WHEN it is read
    items = _read(path)
    # THEN each non-event is an error at its own index and both events come out
    assert [(e.source, e.position) for e in _errors(items)] == [
        (str(path), "[1]"),
        (str(path), "[2]"),
        (str(path), "[3]"),
    ]
    assert _ids(items) == ["x-0", "x-4"]


def test_records_that_is_not_a_list_is_an_error_naming_the_file(tmp_path: Path) -> None:
    # GIVEN {"Records": 5}
    path = _write_json(tmp_path / "records.json", {"Records": 5})
    # WHEN it is read THEN one error says so
    error = _only_error(_read(path))
    assert error.source == str(path)
    assert "Records" in error.reason


def test_a_malformed_json_line_is_an_error_at_its_line_and_the_other_lines_still_read(
    tmp_path: Path,
) -> None:
    # GIVEN JSON Lines whose third line is cut short and fourth is a bare number
    good = [json.dumps(eventbridge(_record(f"l-{i}"))) for i in range(5)]
    lines = [good[0], good[1], good[2][:40], "7", good[4]]
    path = _write_lines(tmp_path / "events.jsonl", lines)
    # WHEN it is read
    items = _read(path)
    # THEN the two bad lines are errors at "line 3" and "line 4"; the others come out
    assert [(e.source, e.position) for e in _errors(items)] == [
        (str(path), "line 3"),
        (str(path), "line 4"),
    ]
    assert _ids(items) == ["l-0", "l-1", "l-4"]


def test_invalid_utf8_in_a_document_is_an_error_naming_the_file(
    tmp_path: Path, good_file: Path
) -> None:
    # GIVEN a CloudTrail log with raw bytes that are not UTF-8 in a user agent
    text = json.dumps({"Records": [_record("u-0", user_agent="MARKER")]}).encode()
    bad = tmp_path / "latin1.json"
    bad.write_bytes(text.replace(b"MARKER", b"caf\xe9 \xff\xfe"))
    # WHEN it is read with a good file
    items = _read(bad, good_file)
    # THEN one error names the file and says it is not UTF-8; others still read
    error = _only_error(items)
    assert error.source == str(bad)
    assert "UTF-8" in error.reason
    assert _ids(items) == ["good-1"]


def test_invalid_utf8_on_one_json_line_costs_only_that_line(tmp_path: Path) -> None:
    # GIVEN JSON Lines whose second line holds bytes that are not UTF-8
    first = json.dumps(eventbridge(_record("v-0"))).encode()
    third = json.dumps(eventbridge(_record("v-2"))).encode()
    path = tmp_path / "events.jsonl"
    path.write_bytes(first + b"\n" + b'{"userAgent": "\xff\xfe"}\n' + third + b"\n")
    # WHEN it is read
    items = _read(path)
    # THEN line 2 is the error and lines 1 and 3 come out
    error = _only_error(items)
    assert (error.source, error.position) == (str(path), "line 2")
    assert "UTF-8" in error.reason
    assert _ids(items) == ["v-0", "v-2"]


def test_a_json_lines_file_whose_first_line_is_broken_still_gives_the_other_lines(
    tmp_path: Path,
) -> None:
    # GIVEN JSON Lines whose first line was cut short (e.g. the head of a rotated file)
    good = [json.dumps(eventbridge(_record(f"fb-{i}"))) for i in range(3)]
    path = _write_lines(tmp_path / "events.jsonl", [good[0][:50], good[1], good[2]])
    # WHEN it is read
    items = _read(path)
    # THEN only line 1 is an error; lines 2 and 3 still come out
    error = _only_error(items)
    assert (error.source, error.position) == (str(path), "line 1")
    assert _ids(items) == ["fb-1", "fb-2"]


def test_a_json_lines_file_starting_with_a_blank_line_gives_every_event(tmp_path: Path) -> None:
    # GIVEN JSON Lines that start with an empty line
    lines = ["", *(json.dumps(eventbridge(_record(f"bl-{i}"))) for i in range(3))]
    path = _write_lines(tmp_path / "events.jsonl", lines)
    # WHEN it is read
    items = _read(path)
    # THEN every event comes out and nothing is an error
    assert _errors(items) == []
    assert _ids(items) == ["bl-0", "bl-1", "bl-2"]


def test_invalid_utf8_on_the_first_json_line_costs_only_that_line(tmp_path: Path) -> None:
    # GIVEN JSON Lines whose FIRST line holds bytes that are not UTF-8
    second = json.dumps(eventbridge(_record("w8-1"))).encode()
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"userAgent": "\xff"}\n' + second + b"\n" + second.replace(b"w8-1", b"w8-2"))
    # WHEN it is read
    items = _read(path)
    # THEN line 1 is the error and lines 2 and 3 come out
    error = _only_error(items)
    assert error.position == "line 1"
    assert _ids(items) == ["w8-1", "w8-2"]


def test_a_path_that_does_not_exist_is_an_error_naming_it_and_other_paths_still_read(
    tmp_path: Path, good_file: Path
) -> None:
    # GIVEN a path to nothing, between good inputs
    missing = tmp_path / "no-such-file.json"
    # WHEN they are read
    items = _read(good_file, missing, good_file.parent)
    # THEN one error names the missing path and the good events still come out
    error = _only_error(items)
    assert error.source == str(missing)
    assert "no such file" in error.reason
    assert _ids(items) == ["good-1", "good-1"]


def test_a_file_the_os_refuses_to_open_is_an_error_naming_it_even_as_root(
    tmp_path: Path, good_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a file whose opening fails with EACCES (what chmod 000 does to a non-root user)
    bad = _write_json(tmp_path / "secret.json", {"Records": [_record("nope")]})
    real_open = Path.open

    def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == bad:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    # WHEN it is read with a good file
    items = _read(bad, good_file)
    # THEN one error says it cannot be read and why; the good one still comes out
    error = _only_error(items)
    assert error.source == str(bad)
    assert error.reason == "cannot read: Permission denied"
    assert _ids(items) == ["good-1"]


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="running as root: chmod 000 does not stop root from reading, so this cannot be shown",
)
def test_an_unreadable_file_is_an_error_naming_it_and_other_files_still_read(
    tmp_path: Path, good_file: Path
) -> None:
    # GIVEN a file nobody may read
    bad = _write_json(tmp_path / "secret.json", {"Records": [_record("nope")]})
    bad.chmod(0)
    try:
        # WHEN it is read with a good file
        items = _read(bad, good_file)
    finally:
        bad.chmod(0o600)
    # THEN one error says it cannot be read; the good one still comes out
    error = _only_error(items)
    assert error.source == str(bad)
    assert "cannot read" in error.reason
    assert _ids(items) == ["good-1"]


def test_a_folder_handed_to_read_records_is_reported_unreadable_not_raised(
    tmp_path: Path,
) -> None:
    # GIVEN a folder where a file was expected (an OS error root cannot read past)
    folder = tmp_path / "actually-a-folder.json"
    folder.mkdir()
    # WHEN read_records is asked for it
    items = list(read_records(folder))
    # THEN it yields one error naming it instead of raising
    assert len(items) == 1
    error = items[0]
    assert isinstance(error, MalformedRecordError)
    assert error.source == str(folder)
    assert "cannot read" in error.reason


def test_every_error_message_names_the_file_and_the_position(tmp_path: Path) -> None:
    # GIVEN a record missing its eventID at Records[2]
    broken = _record("x")
    del broken["eventID"]
    path = _write_json(tmp_path / "log.json", {"Records": [_record("a"), _record("b"), broken]})
    # WHEN it is read
    error = _only_error(_read(path))
    # THEN the message a user sees reads "<file>: Records[2]: ..."
    assert str(error).startswith(f"{path}: Records[2]: ")


# --- not sign-in events are skipped, not malformed ---------------------------------------------


def test_an_s3_record_inside_a_cloudtrail_log_is_not_a_sign_in_event_and_not_malformed(
    tmp_path: Path,
) -> None:
    # GIVEN a CloudTrail log mixing an S3 API call with a sign-in
    s3 = _record("s3-call", event_name="ListBuckets")
    s3["eventSource"] = "s3.amazonaws.com"
    path = _write_json(tmp_path / "log.json", {"Records": [s3, _record("signin-1")]})
    # WHEN it is read
    items = _read(path)
    # THEN the S3 record is a NotSignInEventError at Records[0], a skip; the sign-in comes out
    error = _only_error(items)
    assert isinstance(error, NotSignInEventError)
    assert sources.is_skip(error)
    assert (error.source, error.position) == (str(path), "Records[0]")
    assert _ids(items) == ["signin-1"]


def test_an_eventbridge_event_of_another_detail_type_is_not_a_sign_in_event(
    tmp_path: Path,
) -> None:
    # GIVEN an array with an "AWS API Call via CloudTrail" event and a sign-in
    other = eventbridge(_record("api-call"), detail_type="AWS API Call via CloudTrail")
    path = _write_json(tmp_path / "events.json", [other, eventbridge(_record("signin-2"))])
    # WHEN it is read
    items = _read(path)
    # THEN the first is a NotSignInEventError (skip) at [0]; the sign-in comes out
    error = _only_error(items)
    assert isinstance(error, NotSignInEventError)
    assert error.position == "[0]"
    assert "detail-type" in error.reason
    assert _ids(items) == ["signin-2"]


def test_a_malformed_record_is_not_mistaken_for_a_skip(tmp_path: Path) -> None:
    # GIVEN a sign-in record missing its eventTime
    broken = _record("no-time")
    del broken["eventTime"]
    path = _write_json(tmp_path / "log.json", {"Records": [broken]})
    # WHEN it is read THEN its error is malformed, not "not a sign-in event"
    assert not sources.is_skip(_only_error(_read(path)))


# --- sort_by_time ------------------------------------------------------------------------------


def _event(event_id: str, *, minutes: float) -> SignInEvent:
    return sign_in(event_id=event_id, minutes=minutes)


def test_events_are_sorted_by_event_time_keeping_input_order_among_equal_times() -> None:
    # GIVEN events out of order, with three sharing one time
    events = [
        _event("late", minutes=10),
        _event("tie-a", minutes=5),
        _event("early", minutes=0),
        _event("tie-b", minutes=5),
        _event("tie-c", minutes=5),
    ]
    # WHEN they are sorted
    ordered = [e.event_id for e in sort_by_time(events)]
    # THEN time decides, and equal times keep the order they came in
    assert ordered == ["early", "tie-a", "tie-b", "tie-c", "late"]


def test_event_times_in_other_time_zones_sort_by_their_utc_instant(tmp_path: Path) -> None:
    # GIVEN 10:00+02:00 (08:00 UTC) and 08:30Z, in that order
    later = _record("utc-0830")
    later["eventTime"] = "2026-11-02T08:30:00Z"
    earlier = _record("cest-1000")
    earlier["eventTime"] = "2026-11-02T10:00:00+02:00"
    path = _write_json(tmp_path / "tz.json", {"Records": [later, earlier]})
    events = [item for item in _read(path) if isinstance(item, SignInEvent)]
    # WHEN they are sorted THEN the +02:00 event comes first
    assert [e.event_id for e in sort_by_time(events)] == ["cest-1000", "utc-0830"]


def test_sorting_nothing_gives_nothing() -> None:
    # GIVEN no events WHEN sorted, with or without spilling THEN nothing comes out
    assert list(sort_by_time([])) == []
    assert list(sort_by_time([], chunk_size=1)) == []


def test_a_sort_that_spills_to_disk_gives_exactly_the_in_memory_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN 50 shuffled events over only 12 distinct minutes (many ties)
    rng = random.Random(20261102)
    events = [
        sign_in(event_id=f"s-{i:02}", minutes=rng.randrange(12), user=f"user{i % 7}")
        for i in range(50)
    ]
    rng.shuffle(events)
    spills: list[IO[bytes]] = []
    real_temporary_file = tempfile.TemporaryFile

    def counting_temporary_file(*args: Any, **kwargs: Any) -> IO[bytes]:
        handle: IO[bytes] = real_temporary_file(*args, **kwargs)
        spills.append(handle)
        return handle

    monkeypatch.setattr(tempfile, "TemporaryFile", counting_temporary_file)
    # WHEN they are sorted in memory and with a chunk size of 3
    in_memory = list(sort_by_time(events))
    spilled = list(sort_by_time(iter(events), chunk_size=3))
    # THEN the spilled sort really spilled, and both orders are the same stable time order
    assert len(spills) == 50 // 3
    assert all(handle.closed for handle in spills)
    expected = [
        e.event_id
        for _, e in sorted(enumerate(events), key=lambda pair: (pair[1].event_time, pair[0]))
    ]
    assert [e.event_id for e in in_memory] == expected
    assert [e.event_id for e in spilled] == expected


def test_events_that_went_through_the_disk_come_back_unchanged() -> None:
    # GIVEN events of different users where a user's name appears twice in each event
    events = [sign_in(event_id=f"d-{i:02}", minutes=i % 4, user=f"user{i}") for i in range(12)]
    for event in events:
        event.raw["extraForSpill"] = {"id": event.event_id}
    # WHEN they are sorted in memory and with spilling
    in_memory = {e.event_id: e for e in sort_by_time(events)}
    spilled = list(sort_by_time(events, chunk_size=3))
    # THEN every spilled event equals its in-memory self, field by field and raw record too
    for event in spilled:
        original = in_memory[event.event_id]
        assert (event.user_name, event.principal, event.arn) == (
            original.user_name,
            original.principal,
            original.arn,
        )
        assert event == original
        assert event.raw == original.raw
        assert event.raw["extraForSpill"] == {"id": event.event_id}


def test_sort_by_time_pulls_its_input_lazily_only_once() -> None:
    # GIVEN a one-shot generator of events
    def generate() -> Iterator[SignInEvent]:
        for i in range(7):
            yield _event(f"g-{i}", minutes=-i)

    # WHEN it is sorted with spilling THEN every event comes out once, oldest first
    assert [e.event_id for e in sort_by_time(generate(), chunk_size=2)] == [
        f"g-{i}" for i in reversed(range(7))
    ]


# --- what is kept of a record ------------------------------------------------------------------


def test_unknown_extra_fields_survive_into_the_events_raw_record(tmp_path: Path) -> None:
    # GIVEN a record with fields no model declares, at the top and nested
    record = _record("extra-1")
    record["someFutureField"] = {"nested": [1, 2, 3]}
    record["userIdentity"]["sessionContext"] = {"sourceIdentity": "ops"}
    record["tlsDetails"] = {"tlsVersion": "TLSv1.3"}
    path = _write_json(tmp_path / "events.json", [eventbridge(record)])
    # WHEN it is read
    items = _read(path)
    # THEN no error, and the raw record holds them exactly
    assert _errors(items) == []
    event = items[0]
    assert isinstance(event, SignInEvent)
    assert event.raw["someFutureField"] == {"nested": [1, 2, 3]}
    assert event.raw["userIdentity"]["sessionContext"] == {"sourceIdentity": "ops"}
    assert event.raw["tlsDetails"] == {"tlsVersion": "TLSv1.3"}
    assert json.loads(event.raw_json()) == record


def test_lone_surrogates_in_the_user_agent_become_printable_text_and_the_event_stores(
    tmp_path: Path,
) -> None:
    # GIVEN JSON text whose user agent and user name carry lone surrogate escapes (\udcff)
    text = (
        json.dumps({"Records": [_record("sur-1", user="USERMARK", user_agent="UAMARK")]})
        .replace("UAMARK", "Mozilla \\udcff\\ud800 junk")
        .replace("USERMARK", "eve\\udfff")
    )
    path = tmp_path / "surrogates.json"
    path.write_text(text, encoding="ascii")
    # WHEN it is read and stored in SQLite
    items = _read(path)
    assert _errors(items) == []
    event = items[0]
    assert isinstance(event, SignInEvent)
    store = SqliteStore(tmp_path / "activity.db")
    try:
        stored = store.record(event, expires_at=None)
        back = list(store.history(HistoryQuery(account_id=ACCOUNT, since=event.event_time)))
    finally:
        store.close()
    # THEN the text is valid, printable Unicode, and the event was stored and reads back
    for value in (event.user_agent, event.principal, event.user_name or ""):
        value.encode("utf-8")  # raises on a lone surrogate
        assert value.isprintable()
    assert event.user_agent.startswith("Mozilla ")
    assert event.user_agent.endswith(" junk")
    assert stored is True
    assert [e.event_id for e in back] == ["sur-1"]
    assert back[0].user_agent == event.user_agent
    assert back[0].principal == event.principal


def test_cloudtrail_digest_files_in_a_synced_bucket_are_skipped_not_malformed(
    tmp_path: Path, good_file: Path
) -> None:
    # GIVEN a CloudTrail-Digest file, as `aws s3 sync` of the trail's bucket brings them
    digest = tmp_path / "AWSLogs" / ACCOUNT / "CloudTrail-Digest" / "us-east-1" / "digest.json.gz"
    digest.parent.mkdir(parents=True)
    body = {
        "awsAccountId": ACCOUNT,
        "digestStartTime": "2026-11-02T07:00:00Z",
        "digestEndTime": "2026-11-02T08:00:00Z",
        "digestS3Bucket": "trail-bucket",
        "logFiles": [],
    }
    digest.write_bytes(gzip.compress(json.dumps(body).encode()))
    # WHEN the folder is read with a good file
    items = list(read_events([tmp_path / "AWSLogs", good_file]))
    # THEN the digest counts as "not a sign-in event", and nothing is malformed
    assert [type(i).__name__ for i in items if isinstance(i, MalformedRecordError)] == [
        "NotSignInEventError"
    ]
    assert _ids(items) == ["good-1"]


def test_aws_cli_lookup_events_output_is_read(tmp_path: Path) -> None:
    # GIVEN what `aws cloudtrail lookup-events --lookup-attributes
    # AttributeKey=EventName,AttributeValue=ConsoleLogin` prints (records as JSON strings)
    records = [console_login(event_id="lookup-1"), console_login(event_id="lookup-2", minutes=1)]
    output = {
        "Events": [
            {
                "EventId": record["eventID"],
                "EventName": "ConsoleLogin",
                "EventSource": "signin.amazonaws.com",
                "CloudTrailEvent": json.dumps(record),
            }
            for record in records
        ]
        + [{"EventId": "broken", "CloudTrailEvent": "{not json"}, {"EventId": "missing"}],
        "NextToken": "abc",
    }
    path = _write_json(tmp_path / "lookup.json", output)
    # WHEN it is read
    items = list(read_events([path]))
    # THEN both events come out, and the two bad items are named by position
    assert _ids(items) == ["lookup-1", "lookup-2"]
    errors = [i for i in items if isinstance(i, MalformedRecordError)]
    assert [e.position for e in errors] == ["Events[2]", "Events[3]"]


# --- no record can stop a run -------------------------------------------------------------------


def _good_text(event_id: str) -> str:
    return json.dumps(_record(event_id))


@pytest.mark.parametrize(
    ("name", "text", "position", "reason"),
    [
        (
            "deep.json",
            '{"Records":[' + _good_text("h-0") + ',{"a":' + "[" * 100_000 + "]" * 100_000 + "}]}",
            "Records[1]",
            "nested too deeply",
        ),
        (
            "bigint.json",
            '{"Records":[' + _good_text("h-0") + ',{"a":' + "9" * 5000 + "}]}",
            "Records[1]",
            "4,300 digits",
        ),
        ("deep.jsonl", _good_text("h-0") + "\n" + "[" * 100_000 + "\n", "line 2", "nested"),
        ("bigint.jsonl", _good_text("h-0") + "\n" + "9" * 5000 + "\n", "line 2", "4,300 digits"),
        (
            "lookup.json",
            json.dumps(
                {
                    "Events": [
                        {"CloudTrailEvent": _good_text("h-0")},
                        {"CloudTrailEvent": "[" * 100_000},
                    ]
                }
            ),
            "Events[1]",
            "nested too deeply",
        ),
    ],
    ids=["deep document", "long integer", "deep line", "long integer line", "deep lookup"],
)
def test_hostile_json_is_one_error_at_its_position_and_what_came_before_is_read(
    tmp_path: Path, good_file: Path, name: str, text: str, position: str, reason: str
) -> None:
    # GIVEN a file whose second record is nested 100,000 deep or holds a 5,000-digit number
    bad = tmp_path / name
    bad.write_text(text)
    # WHEN it is read with a good file
    items = _read(bad, good_file)
    # THEN one error names the file and the position, no exception; the others come out
    error = _only_error(items)
    assert (error.source, error.position) == (str(bad), position)
    assert reason in error.reason
    assert _ids(items) == ["h-0", "good-1"]


def test_a_gzip_file_inflating_past_the_cap_stops_there_keeping_the_records_before(
    tmp_path: Path,
) -> None:
    # GIVEN a gzipped log of two records followed by 3 MiB of padding, and a 1 MiB cap
    bomb = tmp_path / "bomb.json.gz"
    body = '{"Records":[' + _good_text("b-0") + "," + _good_text("b-1")
    bomb.write_bytes(gzip.compress(body.encode() + b" " * (3 << 20) + b"]}"))
    # WHEN it is read
    items = list(read_records(bomb, max_bytes=1 << 20))
    # THEN the two records come out, then one error saying the cap stopped the reading
    assert [i.position for i in items if isinstance(i, sources.InputRecord)] == [
        "Records[0]",
        "Records[1]",
    ]
    error = items[-1]
    assert isinstance(error, MalformedRecordError)
    assert "MAX_DECOMPRESSED_BYTES" in error.reason
    assert "1,048,576 bytes" in error.reason
    assert sources.MAX_DECOMPRESSED_BYTES == 1 << 30


def test_a_document_larger_than_the_first_read_keeps_exact_positions(tmp_path: Path) -> None:
    # GIVEN a 3 MB pretty-printed CloudTrail document (several read chunks), one record broken
    records = [_record(f"big-{i:04}", user_agent="x" * 1000) for i in range(2000)]
    del records[1500]["eventID"]
    path = _write_json(tmp_path / "big.json", {"Records": records}, indent=1)
    assert path.stat().st_size > 3 * sources._CHUNK_BYTES
    # WHEN it is read
    items = _read(path)
    # THEN every good record comes out and the broken one is named by its index
    assert len(_ids(items)) == 1999
    assert _only_error(items).position == "Records[1500]"


def test_a_syntax_error_deep_in_a_large_document_reports_the_line_json_would(
    tmp_path: Path,
) -> None:
    # GIVEN a large document (one record per line) with a syntax error on a far line
    lines = [json.dumps(_record(f"ln-{i:04}", user_agent="y" * 1000)) for i in range(3000)]
    lines[2500] = lines[2500][:-1] + " oops}"
    text = '{"Records": [\n' + ",\n".join(lines) + "\n]}"
    path = tmp_path / "syntax.json"
    path.write_text(text)
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    # WHEN it is read
    items = _read(path)
    # THEN the records before it come out; the error is at json's own line and column
    assert len(_ids(items)) == 2500
    error = _only_error(items)
    assert error.position == f"line {expected.value.lineno} column {expected.value.colno}"
    assert "Records[2500]" in error.reason


def test_utf16_text_as_windows_powershell_writes_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "lookup.json"
    path.write_bytes(json.dumps({"Records": [_record("u16-1")]}).encode("utf-16"))
    assert _ids(_read(path)) == ["u16-1"]


# --- nothing skipped in silence -----------------------------------------------------------------


def test_dangling_and_looping_symlinks_fifos_and_folder_links_are_reported(
    tmp_path: Path,
) -> None:
    # GIVEN a folder with a good file, a dangling symlink, a symlink loop, a FIFO and a link
    # to another folder
    root = tmp_path / "logs"
    good = _write_json(root / "good.json", {"Records": [_record("sk-1")]})
    (root / "dangling.json").symlink_to(root / "gone.json")
    (root / "loop.json").symlink_to(root / "loop.json")
    os.mkfifo(root / "pipe.json")
    (root / "elsewhere").symlink_to(tmp_path)
    # WHEN the folder is expanded
    found = list(find_files([root]))
    # THEN the good file and one SkippedFileError per odd path, each with its reason, sorted
    skipped = {Path(e.source).name: e.reason for e in found if isinstance(e, SkippedFileError)}
    assert [p for p in found if isinstance(p, Path)] == [good]
    assert set(skipped) == {"dangling.json", "loop.json", "pipe.json", "elsewhere"}
    assert "dangling symlink" in skipped["dangling.json"]
    assert "symlink loop" in skipped["loop.json"]
    assert "FIFO" in skipped["pipe.json"]
    assert "not followed" in skipped["elsewhere"]


def test_a_named_fifo_is_reported_not_read_forever(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    (item,) = find_files([pipe])
    assert isinstance(item, SkippedFileError)
    (error,) = read_records(pipe)
    assert isinstance(error, MalformedRecordError)


def test_a_sub_folder_the_os_refuses_to_list_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a sub-folder whose listing fails with EACCES (chmod 000 as a non-root user)
    root = tmp_path / "logs"
    good = _write_json(root / "a.json", {"Records": [_record("ls-1")]})
    locked = root / "locked"
    _write_json(locked / "b.json", {"Records": [_record("ls-2")]})
    real_scandir = os.scandir

    def refuse(path: Any) -> Any:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    # WHEN the folder is expanded THEN the locked folder is one skipped path with the reason
    found = list(find_files([root]))
    assert found[0] == good
    error = found[1]
    assert isinstance(error, SkippedFileError)
    assert (error.source, error.reason) == (str(locked), "folder not read: Permission denied")


def test_a_logstash_export_of_other_services_with_renamed_fields_is_all_skips(
    tmp_path: Path,
) -> None:
    # GIVEN JSON Lines of S3 and EC2 records whose eventTime was renamed to @timestamp
    lines = []
    for i in range(103):
        record = _record(f"ls-{i}", event_name="GetObject")
        record["eventSource"] = "s3.amazonaws.com" if i % 2 else "ec2.amazonaws.com"
        record["@timestamp"] = record.pop("eventTime")
        lines.append(json.dumps(record))
    path = _write_lines(tmp_path / "logstash.jsonl", lines)
    # WHEN it is read THEN every record is "not a sign-in event", none malformed
    items = _read(path)
    assert len(items) == 103
    assert all(isinstance(item, NotSignInEventError) for item in items)


def test_an_envelope_of_another_detail_type_without_a_detail_is_a_skip(tmp_path: Path) -> None:
    # GIVEN an EventBridge event of another service whose export dropped "detail"
    other = eventbridge(_record("x"), detail_type="EC2 Instance State-change Notification")
    del other["detail"]
    path = _write_json(tmp_path / "events.json", [other, eventbridge(_record("eb-ok"))])
    # WHEN read THEN it is "not a sign-in event", not malformed; the sign-in comes out
    items = _read(path)
    assert isinstance(_only_error(items), NotSignInEventError)
    assert _ids(items) == ["eb-ok"]
