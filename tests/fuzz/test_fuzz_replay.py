"""Property: whatever the records hold, ``replay`` reports each bad one at its position, processes
the others, never shows a traceback, and never prints the webhook URL."""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import signin_monitor.app
from signin_monitor.cli import main
from signin_monitor.config import LAMBDA_VARIABLES, LOCAL_ONLY_VARIABLES
from signin_monitor.errors import MalformedRecordError, NotSignInEventError
from signin_monitor.events import parse_eventbridge, parse_record
from signin_monitor.slack import SlackWebhookNotifier
from tests.factories import console_login, eventbridge
from tests.fuzz.strategies import (
    MARKER,
    SHAPES,
    WEBHOOK,
    corruptions,
    dumps,
    file_bytes,
    position,
    records,
)

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(
    r"^(?P<read>[\d,]+) records read: (?P<stored>[\d,]+) stored, (?P<duplicates>[\d,]+) "
    r"duplicates, (?P<skipped>[\d,]+) not monitored, (?P<malformed>[\d,]+) malformed; "
    r"(?P<alerts>[\d,]+) alerts",
    re.MULTILINE,
)


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A webhook URL with a marker, posts answered by a MockTransport (never the network)."""
    for name in LAMBDA_VARIABLES + LOCAL_ONLY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_WEBHOOK_URL", WEBHOOK)
    monkeypatch.setattr(
        signin_monitor.app,
        "SlackWebhookNotifier",
        functools.partial(
            SlackWebhookNotifier,
            transport=httpx.MockTransport(lambda _request: httpx.Response(200, text="ok")),
            sleep=lambda _: None,
        ),
    )


def _expected(shape: str, items: list[dict[str, Any]]) -> tuple[int, int, list[int]]:
    """(records read, records processed, indexes reported malformed) as promised.

    Each record is judged on its own by the parsers; in a single document a value the JSON
    reader cannot decode at all (a number past 4,300 digits) ends the reading of that file,
    after being reported, while JSON Lines go on with the next line.
    """
    processed, bad = 0, []
    for index, record in enumerate(items):
        try:
            value = json.loads(dumps(record))
        except ValueError:
            bad.append(index)
            if shape not in ("json-lines", "lookup-events"):
                return index + 1, processed, bad
            continue
        try:
            if shape in ("envelopes", "json-lines"):
                parse_eventbridge(eventbridge(value))
            else:
                parse_record(value)
        except NotSignInEventError:
            continue
        except MalformedRecordError:
            bad.append(index)
            continue
        processed += 1
    return len(items), processed, bad


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(args)
    out, err = capsys.readouterr()
    return status, out, err


def _no_leak(*texts: str) -> None:
    for text in texts:
        assert MARKER not in text
        assert "Traceback" not in text


@given(
    shape=st.sampled_from(SHAPES),
    items=st.lists(records(), min_size=1, max_size=6),
    gzipped=st.booleans(),
)
def test_each_bad_record_costs_only_itself(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    shape: str,
    items: list[dict[str, Any]],
    gzipped: bool,
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / ("input.jsonl" if shape == "json-lines" else "input.json")
    path.write_bytes(file_bytes(shape, items, gzipped=gzipped))
    read, processed, bad = _expected(shape, items)
    status, out, err = _run(["replay", "--json", "--db", str(folder / "t.db"), str(path)], capsys)
    _no_leak(out, err)
    match = SUMMARY.search(err)
    assert match is not None, err
    counts = {key: int(value.replace(",", "")) for key, value in match.groupdict().items()}
    assert counts["read"] == read
    assert counts["stored"] + counts["duplicates"] == processed
    assert counts["malformed"] == len(bad)
    for index in bad:
        assert f"{path}: {position(shape, index)}" in err, (index, err)
    assert status == (1 if bad else 0)
    for line in out.splitlines():
        json.loads(line)  # stdout is JSON lines only


@given(
    shape=st.sampled_from(SHAPES),
    items=st.lists(records(), min_size=1, max_size=4),
    data=st.data(),
)
def test_truncated_or_non_utf8_files_never_stop_the_run(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    shape: str,
    items: list[dict[str, Any]],
    data: st.DataObject,
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    gzipped = data.draw(st.booleans())
    clean = file_bytes(shape, items, gzipped=False)
    broken = data.draw(corruptions(clean))
    bad = folder / "broken.json"
    bad.write_bytes(broken or file_bytes(shape, [], gzipped=False))
    if gzipped:
        bad.write_bytes(gzip.compress(bad.read_bytes(), mtime=0)[: data.draw(st.integers(10, 400))])
    good = folder / "good.json"
    good.write_bytes(file_bytes("cloudtrail", [console_login()], gzipped=False))
    status, out, err = _run(["replay", "--db", str(folder / "t.db"), str(bad), str(good)], capsys)
    _no_leak(out, err)
    assert SUMMARY.search(err) is not None, err
    assert status in (0, 1)
    for line in err.splitlines():
        if line.startswith("signin-monitor: error:"):
            assert str(bad) in line or str(good) in line


@given(items=st.lists(records(), min_size=20, max_size=40))
def test_reading_a_bounded_input_stays_in_bounded_memory(
    tmp_path_factory: pytest.TempPathFactory, items: list[dict[str, Any]]
) -> None:
    # GIVEN at most 40 hostile records (each at most ~360 KB of JSON)
    from signin_monitor.sources import read_events

    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "input.json"
    path.write_bytes(file_bytes("cloudtrail", items, gzipped=False))
    # WHEN they are read and normalized THEN the peak of Python allocations stays bounded
    tracemalloc.start()
    try:
        for _ in read_events([path]):
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20 + 4 * path.stat().st_size


def test_a_hostile_corpus_in_a_subprocess_prints_no_traceback_and_no_secret(
    tmp_path: Path,
) -> None:
    # GIVEN files with the inputs that once stopped a replay, and a marked webhook URL
    # (127.0.0.1 port 9: nothing is posted anyway, no alert fires on these records)
    deep = "[" * 100_000 + "]" * 100_000
    good = '{"eventSource": "signin.amazonaws.com", "eventID": "ok-1", "eventName": "ConsoleLogin"'
    good += ', "eventTime": "2026-11-02T08:00:00Z", "userIdentity": {"type": "IAMUser"}'
    good += ', "eventType": "AwsConsoleSignIn"}'
    (tmp_path / "deep.json").write_text('{"Records": [' + good + ", " + deep + "]}")
    (tmp_path / "bigint.jsonl").write_text('{"a": ' + "9" * 5000 + "}\n" + good + "\n")
    (tmp_path / "times.json").write_text(
        json.dumps(
            {
                "Records": [
                    {**json.loads(good), "eventID": f"t-{i}", "eventTime": moment}
                    for i, moment in enumerate(
                        ["0", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]
                    )
                ]
            }
        )
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in LAMBDA_VARIABLES + LOCAL_ONLY_VARIABLES
    }
    env["SLACK_WEBHOOK_URL"] = f"https://127.0.0.1:9/services/{MARKER}"
    # WHEN replayed in a fresh interpreter
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "signin_monitor",
            "replay",
            "--db",
            str(tmp_path / "t.db"),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    # THEN exit 1 (malformed records), a summary, each error with its position, nothing leaked
    _no_leak(result.stdout, result.stderr)
    assert result.returncode == 1, result.stderr
    match = SUMMARY.search(result.stderr)
    assert match is not None, result.stderr
    assert "deep.json: Records[1]: nested too deeply" in result.stderr
    assert "bigint.jsonl: line 1: not readable" in result.stderr
    for index in range(3):
        assert f"times.json: Records[{index}]: eventTime" in result.stderr
    assert (match.group("stored"), match.group("duplicates")) == ("1", "1")  # same eventID
