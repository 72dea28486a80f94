"""Replay's reader process (``cli/replay_reader.py``): the same run as reading in the main
thread, byte for byte; a reader that dies or fails stops the run with a clear error and keeps
what was written; a main process that dies takes its reader with it; what crosses the pipe
(activities, errors) comes out as it went in.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import gc
import gzip
import json
import marshal
import math
import multiprocessing
import os
import pickle
import signal
import sqlite3
import subprocess
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from signin_monitor import cloudtrail_files
from signin_monitor.alerts import Alert
from signin_monitor.app import build_pipeline
from signin_monitor.cli import main as cli_main
from signin_monitor.cli import replay as replay_command_module
from signin_monitor.cli import replay_reader
from signin_monitor.cli.replay_engine import ReplayEngine
from signin_monitor.cli.replay_reader import ReadReport, open_reader
from signin_monitor.config import LAMBDA_VARIABLES, LOCAL_ONLY_VARIABLES, Settings
from signin_monitor.errors import (
    MalformedRecordError,
    NotSignInEventError,
    SkippedFileError,
    UnstorableRecordError,
)
from signin_monitor.events import Activity
from signin_monitor.pipeline import EventOutcome
from signin_monitor.sources import find_files
from signin_monitor.store.sqlite import SqliteStore, StagedRows
from tests.factories import api_call, console_login, sign_in, windowed_alert
from tests.replay_process import replay_command


def _cloudtrail(path: Path, records: list[Any], *, compact: bool = True) -> Path:
    separators = (",", ":") if compact else None
    text = json.dumps({"Records": records}, separators=separators)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def _alerting(user: str) -> tuple[list[Any], list[Any], list[Any]]:
    """Records that alert: the user's failures then success, forty root sign-ins, two calls."""
    logins = [console_login(user=user, result="Failure", minutes=m) for m in range(6)]
    logins.append(console_login(user=user, minutes=7))
    roots = [console_login(identity_type="Root", minutes=20 + m) for m in range(40)]
    calls = [api_call("DeleteTrail", minutes=30), api_call("CreateAccessKey", minutes=31)]
    return logins, roots, calls


def _awkward_folder(root: Path) -> Path:
    """Files out of time order with every kind of record reading reports: sign-ins that
    alert (root, failures then success), API calls, duplicates across files, a malformed
    record, a record no pattern matches, a file that is not JSON, a dangling link."""
    folder = root / "trail"
    folder.mkdir()
    logins, roots, calls = _alerting("alice")
    unmonitored = api_call(
        "DescribeInstances", event_source="ec2.amazonaws.com", identity_type="IAMUser", minutes=32
    )
    malformed = {**console_login(minutes=33), "eventTime": "yesterday"}
    _cloudtrail(folder / "b-late.json.gz", [*roots[20:], *calls])
    _cloudtrail(folder / "a-early.json.gz", [*logins, *roots[:20], unmonitored, malformed])
    _cloudtrail(folder / "c-again.json", [*roots[:5], logins[0]], compact=False)
    (folder / "d-broken.json").write_text('{"Records": [')
    (folder / "e-dangling.json").symlink_to(folder / "nowhere.json")
    return folder


def _clean_folder(root: Path) -> Path:
    """Files out of time order whose records all alert or feed the rules, none twice: what a
    fresh store's replay judges ahead of the writer's flags, and keeps."""
    folder = root / "clean"
    folder.mkdir()
    logins, roots, calls = _alerting("bob")
    _cloudtrail(folder / "b-late.json.gz", [*roots[20:], *calls])
    _cloudtrail(folder / "a-early.json.gz", [*logins, *roots[:20]])
    return folder


def _rows(db: Path) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(db)
    try:
        return connection.execute("SELECT * FROM activity ORDER BY pk, sk").fetchall()
    finally:
        connection.close()


def _claims(db: Path) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(db)
    try:
        return connection.execute(
            "SELECT rule_id, event_id, status FROM alert_claims ORDER BY pk"
        ).fetchall()
    finally:
        connection.close()


def _replay(
    db: Path,
    folder: Path,
    *,
    process: bool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str, str]:
    forked: list[bool] = []

    def chosen(engine: ReplayEngine) -> bool:
        forked.append(process)
        return process

    monkeypatch.setattr(replay_command_module, "can_fork_reader", chosen)
    status = cli_main(["replay", "--json", "--no-progress", "--db", str(db), str(folder)])
    out, err = capsys.readouterr()
    assert forked == [process]
    # What the command printed, without log lines a logging set-up left by another test may
    # add (their timestamps differ from run to run).
    printed = [line for line in err.splitlines(keepends=True) if not line.startswith('{"level"')]
    return status, out, "".join(printed)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LAMBDA_VARIABLES + LOCAL_ONLY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALERT_RULES", "all")


@pytest.mark.parametrize("batch", [1, 7, 1000])
def test_a_reader_process_replays_exactly_as_reading_in_the_main_thread(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    clean_env: None,
    batch: int,
) -> None:
    # GIVEN awkward files, batches of several sizes (each batch crosses the pipe)
    folder = _awkward_folder(tmp_path)
    monkeypatch.setattr(ReplayEngine, "__init__", _with_batch(batch))
    runs = {}
    for process in (False, True):
        db = tmp_path / f"{'process' if process else 'thread'}.db"
        # WHEN it is replayed both ways, twice (the second run finds everything stored)
        first = _replay(db, folder, process=process, monkeypatch=monkeypatch, capsys=capsys)
        second = _replay(db, folder, process=process, monkeypatch=monkeypatch, capsys=capsys)
        runs[process] = (first, second, _rows(db), _claims(db))
    # THEN exit codes, stdout (alerts), stderr (problems, summary), rows and claims agree
    assert runs[True] == runs[False]
    (status, out, err), (again_status, again_out, again_err), rows, _ = runs[True]
    assert (status, again_status, again_out) == (1, 1, "")
    assert len(out.splitlines()) > 20  # the corpus alerts
    assert "2 malformed" in err  # the record, the file that is not JSON
    assert "skipped: " in err  # the dangling link
    assert "1 not monitored" in err
    assert "duplicates" in again_err
    assert len(rows) == 49  # 7 logins, 40 root sign-ins, 2 calls: none twice


def _with_batch(size: int, **more: int) -> Any:
    original = ReplayEngine.__init__

    def init(self: ReplayEngine, pipeline: Any, **options: Any) -> None:
        original(self, pipeline, **{**options, "write_batch": size, **more})

    return init


def _engine(db: Path) -> ReplayEngine:
    settings = Settings.from_env({"ALERT_RULES": "all"})
    store = SqliteStore(db, batch_size=1000)
    return ReplayEngine(build_pipeline(settings, store=store, notifier=_Quiet()), write_batch=5)


class _Quiet:
    def send(self, payload: dict[str, Any], **_: Any) -> None:
        pass


def test_an_unstorable_event_costs_only_itself_and_the_alerts_are_judged_as_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN batches to read, one holding an event the store refuses
    events = list(_read(_cloudtrail(tmp_path / "t.json", _mixed_records())))
    bad = dataclasses.replace(events[3], event_id="the-bad-one", user_agent="x" * 420_000)
    events.insert(3, bad)

    def batches(
        entries: Any, prepare: Any, *, batch_size: int, expired_before: Any
    ) -> Iterator[tuple[ReadReport, Any]]:
        for start in range(0, len(events), 5):
            yield (
                ReadReport(read=5),
                prepare([dataclasses.replace(e) for e in events[start : start + 5]]),
            )

    monkeypatch.setattr(replay_reader, "read_batches", batches)
    runs = {}
    for process in (True, False):
        engine = _engine(tmp_path / f"{process}.db")
        # WHEN they are read, kept and judged in a reader process, and all in this one
        try:
            with open_reader([], engine, expired_before=None, process=process) as reader:
                written = list(engine.store_prepared(b for _, b in reader.batches() if b))
                outcomes = list(reader.evaluated())
        finally:
            engine.store.close()
        alerts = [
            (d.alert.rule_id, d.alert.event.event_id, d.status.value, d.payload)
            for outcome in outcomes
            for d in outcome.deliveries
        ]
        refused = [str(error) for batch in written for error in batch.unstorable]
        counts = (sum(w.stored for w in written), engine.kept, engine.checked)
        runs[process] = (alerts, refused, counts, _rows(tmp_path / f"{process}.db"))
    # THEN the refused event is reported at its place, with its message, costing only itself
    alerts, refused, (stored, kept, checked), rows = runs[True]
    assert len(refused) == 1
    assert "event the-bad-one cannot be stored" in refused[0]
    assert stored == len(events) - 1 == len(rows)
    # AND the reader process judged every kept event, raising the same alerts as here
    assert alerts
    assert kept == checked > len(alerts)
    assert runs[True] == runs[False]


def _staged(staged: StagedRows | None) -> list[tuple[Any, ...]]:
    """The rows a staged batch holds (its image's header differs from one staging to another)."""
    assert staged is not None
    connection = sqlite3.connect(":memory:")
    try:
        connection.deserialize(staged.image)
        return connection.execute("SELECT * FROM rows ORDER BY rowid").fetchall()
    finally:
        connection.close()


def test_a_reader_process_hands_over_the_rows_an_image_would_hold(tmp_path: Path) -> None:
    # GIVEN a batch of read events, prepared as the main thread stages it (an image) and as
    # a reader process does (rows, for the main process's writer to insert)
    events = list(_read(_cloudtrail(tmp_path / "t.json", _mixed_records())))
    here = _engine(tmp_path / "here.db").prepare([dataclasses.replace(e) for e in events])
    reader = _engine(tmp_path / "reader.db")
    handed = reader.prepare_keeping([dataclasses.replace(e) for e in events])
    assert here.staged is not None
    assert handed.staged is not None
    # THEN the reader's batch is rows, the image's rows exactly (an absent value bound as
    # NaN, which SQLite stores as NULL), with the same first flags
    assert not here.staged.as_rows
    assert handed.staged.as_rows
    rows = [
        tuple(None if isinstance(v, float) and math.isnan(v) else v for v in row)
        for row in marshal.loads(handed.staged.image)  # noqa: S302 (our own bytes)
    ]
    assert rows == _staged(here.staged)
    assert handed.staged.first == here.staged.first
    # AND it keeps the events the rules need where it read them, handing over their places
    assert handed.kept == []
    assert handed.kept_at == [position for position, _ in here.kept]
    assert here.kept


def _fields(event: Activity) -> dict[str, Any]:
    """Every slot, compared or not (``raw`` as held: an unread one stays unread)."""
    return {
        name: event._held_raw() if name == "raw" else getattr(event, name)
        for name in Activity.__slots__
    }


def _mixed_records() -> list[dict[str, Any]]:
    records = []
    for hour in range(3):
        at = 60 * hour
        records += [
            console_login(user="alice", result="Failure", minutes=at + 1),
            console_login(identity_type="Root", minutes=at + 2),
            api_call("DeleteTrail", minutes=at + 3),
            console_login(user="bob", minutes=at + 4, mfa="false"),
            api_call("CreateAccessKey", minutes=at + 5),
            console_login(user="carol", minutes=at + 6),
        ]
    return records


def _read(path: Path) -> Iterator[Activity]:
    for item in cloudtrail_files.read_file(path):
        assert isinstance(item, Activity)
        yield item


def test_an_activity_pickles_as_its_fields_and_stays_undecoded(tmp_path: Path) -> None:
    for event in _read(_cloudtrail(tmp_path / "t.json", _mixed_records())):
        again = pickle.loads(pickle.dumps(event))  # noqa: S301 (our own bytes)
        assert _fields(again) == _fields(event)
        assert again._held_raw() is None  # still not decoded
        assert again.raw_json() == event.raw_json()
        assert again.raw == json.loads(event.raw_json())
        decoded = pickle.loads(pickle.dumps(again))  # noqa: S301
        assert decoded.raw_text_of is decoded.raw  # decoded: one dict, held twice


def test_an_alert_and_its_outcome_pickle_as_their_fields() -> None:
    # GIVEN a windowed alert with everything set: later anchors, evidence, a network
    failures = [sign_in(user="carol", result="Failure", minutes=m) for m in range(3)]
    success = sign_in(user="carol", minutes=5)
    later = dataclasses.replace(windowed_alert(failures[2]), failure_count=3)
    alert = dataclasses.replace(
        windowed_alert(failures[0]),
        failure_count=2,
        later_anchors=(later,),
        evidence=tuple(failures),
        network="203.0.113.0/24",
    )
    outcome = EventOutcome(event=success, stored=False)
    # WHEN they cross the pipe (as a judged batch does)
    alert_again, outcome_again = pickle.loads(pickle.dumps((alert, outcome)))  # noqa: S301
    # THEN every field comes back, in its place, and frozen as before
    assert alert_again == alert
    assert [getattr(alert_again, f.name) for f in dataclasses.fields(Alert)] == [
        getattr(alert, f.name) for f in dataclasses.fields(Alert)
    ]
    assert alert_again.later_anchors[0].failure_count == 3
    assert _fields(alert_again.evidence[1]) == _fields(failures[1])
    assert (outcome_again.event.event_id, outcome_again.stored) == (success.event_id, False)
    assert outcome_again.deliveries == []
    with pytest.raises(dataclasses.FrozenInstanceError):
        alert_again.scope = "elsewhere"


@pytest.mark.parametrize(
    "error",
    [
        MalformedRecordError("bad time", source="f.json.gz", position="record 3"),
        NotSignInEventError("no pattern", source="f.json"),
        SkippedFileError("a dangling symlink", source="/x/y.json"),
        UnstorableRecordError("event e cannot be stored: too large"),
    ],
)
def test_reading_errors_pickle_saying_what_they_said(error: MalformedRecordError) -> None:
    again = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)
    assert type(again) is type(error)
    assert (str(again), again.reason, again.source, again.position) == (
        str(error),
        error.reason,
        error.source,
        error.position,
    )


def test_an_error_in_the_reader_is_raised_in_the_main_process(tmp_path: Path) -> None:
    # GIVEN a reader whose reading fails for a reason no record explains
    folder = tmp_path / "trail"
    folder.mkdir()
    _cloudtrail(folder / "a.json", _mixed_records())
    engine = _engine(tmp_path / "e.db")

    def broken(path: Path) -> Any:
        raise PermissionError(13, "the disk said no", str(path))

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(replay_reader, "read_file", broken)
            entries = list(find_files([folder]))
            reader = open_reader(entries, engine, expired_before=None, process=True)
            # THEN the main process raises it, as reading here would have, saying where
            with reader, pytest.raises(PermissionError, match="the disk said no") as raised:
                list(reader.batches())
    finally:
        engine.store.close()
    assert any("reader process" in note for note in raised.value.__notes__)


def test_a_reader_killed_mid_run_stops_the_run_and_a_rerun_completes_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    clean_env: None,
) -> None:
    folder = _awkward_folder(tmp_path)
    monkeypatch.setattr(ReplayEngine, "__init__", _with_batch(7))
    reference = tmp_path / "reference.db"
    _replay(reference, folder, process=False, monkeypatch=monkeypatch, capsys=capsys)
    # GIVEN a reader process that is SIGKILLed after handing over two batches
    original = replay_reader.read_batches

    def dying(*args: Any, **kwargs: Any) -> Iterator[Any]:
        return _killed_at(2, original(*args, **kwargs))

    monkeypatch.setattr(replay_reader, "read_batches", dying)
    db = tmp_path / "killed.db"
    status, out, err = _replay(db, folder, process=True, monkeypatch=monkeypatch, capsys=capsys)
    # THEN the run stops with an error saying what happened; no alert was printed
    assert status == 1
    assert "reader process stopped before the end of the files" in err
    assert out == ""
    # AND what was handed over is stored: a re-run completes it into the same store
    assert 0 < len(_rows(db)) < len(_rows(reference))
    monkeypatch.setattr(replay_reader, "read_batches", original)
    _replay(db, folder, process=True, monkeypatch=monkeypatch, capsys=capsys)
    assert _rows(db) == _rows(reference)
    assert _claims(db) == _claims(reference)


def _killed_at(number: int, items: Iterator[Any]) -> Iterator[Any]:
    """``items``, this process SIGKILLed when item ``number`` (from 0) is due."""
    for at, item in enumerate(items):
        if at == number:
            os.kill(os.getpid(), signal.SIGKILL)
        yield item


@pytest.mark.parametrize("ahead", [False, True], ids=["judged-again", "judged-ahead"])
def test_a_reader_killed_while_judging_stops_the_run_and_a_rerun_delivers_the_rest(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    clean_env: None,
    ahead: bool,
) -> None:
    # (The awkward folder's duplicates make the judging ahead of the flags be dropped: the
    # reader dies in the judging with the writer's flags. Without them, in the only one.)
    folder = _clean_folder(tmp_path) if ahead else _awkward_folder(tmp_path)
    monkeypatch.setattr(ReplayEngine, "__init__", _with_batch(7, claim_batch=2))
    reference = tmp_path / "reference.db"
    _, everything, _ = _replay(
        reference, folder, process=False, monkeypatch=monkeypatch, capsys=capsys
    )
    # GIVEN a reader process SIGKILLed while judging, at its fourth run of alerts
    original = ReplayEngine.judge_here

    def dying(self: ReplayEngine, flags: bytes, *args: Any, **kwargs: Any) -> Iterator[Any]:
        judged = original(self, flags, *args, **kwargs)
        if flags == self.assumed_flags and not ahead:
            return judged  # judged ahead, dropped: the flags say otherwise
        if ahead:  # the flags come first: then what was judged was handed over
            time.sleep(0.2)
        return _killed_at(3, judged)

    monkeypatch.setattr(ReplayEngine, "judge_here", dying)
    db = tmp_path / "killed.db"
    status, out, err = _replay(db, folder, process=True, monkeypatch=monkeypatch, capsys=capsys)
    # THEN the run stops with an error saying what happened, after the alerts handed over
    assert status == 1
    assert "reader process stopped before the rules had gone through every event" in err
    printed = out.splitlines()
    assert 0 < len(printed) < len(everything.splitlines())
    assert _rows(db) == _rows(reference)  # every record was stored before the rules ran
    # AND a re-run delivers the rest, none twice, into the same claims
    monkeypatch.setattr(ReplayEngine, "judge_here", original)
    _, rest, _ = _replay(db, folder, process=True, monkeypatch=monkeypatch, capsys=capsys)
    assert sorted(printed + rest.splitlines()) == sorted(everything.splitlines())
    assert _claims(db) == _claims(reference)


@pytest.mark.parametrize(
    ("corpus", "flags_come", "judged"),
    [
        ("clean", "after the judging", ["assumed"]),
        ("clean", "while judging", ["assumed"]),
        ("duplicates", "after the judging", ["assumed", "told"]),
        ("duplicates", "while judging", ["assumed", "told"]),
        ("pre-filled store", "after the judging", ["told"]),
    ],
)
def test_a_fresh_store_is_judged_ahead_of_the_writer_and_again_only_when_the_flags_differ(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    clean_env: None,
    corpus: str,
    flags_come: str,
    judged: list[str],
) -> None:
    # GIVEN files without duplicates, or with (which the writer's flags tell), or a store
    # that holds rows already; small batches, so alerts are handed over in many runs
    folder = _awkward_folder(tmp_path) if corpus == "duplicates" else _clean_folder(tmp_path)
    monkeypatch.setattr(ReplayEngine, "__init__", _with_batch(7, claim_batch=2))
    reference, db = tmp_path / "reference.db", tmp_path / "ahead.db"
    if corpus == "pre-filled store":
        earlier = _awkward_folder(tmp_path)  # (root's sign-ins: rows the rules reach)
        for store in (reference, db):
            _replay(store, earlier, process=False, monkeypatch=monkeypatch, capsys=capsys)
    expected = _replay(reference, folder, process=False, monkeypatch=monkeypatch, capsys=capsys)
    # AND the flags coming once the reader has judged everything, or while it judges
    calls = tmp_path / "judge_here calls"
    original_judge = ReplayEngine.judge_here
    original_flags = ReplayEngine.stored_flags

    def noted(self: ReplayEngine, flags: bytes, *args: Any, **kwargs: Any) -> Iterator[Any]:
        told = "assumed" if flags == self.assumed_flags and self.judges_ahead else "told"
        with calls.open("a") as note:
            note.write(f"{told}\n")
        for item in original_judge(self, flags, *args, **kwargs):
            if flags_come == "while judging":
                time.sleep(0.02)
            yield item

    def late_flags(self: ReplayEngine) -> bytes:
        # (The rules take 0.02 s a run of alerts while judging: the flags come after some.)
        time.sleep(0.2 if flags_come == "after the judging" else 0.1)
        return original_flags.fget(self)  # type: ignore[attr-defined,no-any-return]

    monkeypatch.setattr(ReplayEngine, "judge_here", noted)
    monkeypatch.setattr(ReplayEngine, "stored_flags", property(late_flags))
    # WHEN it is replayed with a reader process
    result = _replay(db, folder, process=True, monkeypatch=monkeypatch, capsys=capsys)
    # THEN it printed what reading in the main thread printed, and stored and claimed the same
    assert result == expected
    assert len(result[1].splitlines()) > 20
    assert _rows(db) == _rows(reference)
    assert _claims(db) == _claims(reference)
    # AND the rules ran ahead of the flags on the fresh store, again only when they differed
    assert calls.read_text().split() == judged


def test_a_replay_killed_takes_its_reader_process_with_it(tmp_path: Path) -> None:
    # GIVEN a replay, as a process, reading many files (its reader is a child of it)
    replay = _start_replay(tmp_path, stderr=subprocess.DEVNULL)
    try:
        children = _children_of(replay.pid, wait=30)
        assert children, "the replay started its reader process"
        # WHEN the replay is SIGKILLed
        replay.send_signal(signal.SIGKILL)
        replay.wait(timeout=30)
        # THEN its reader exits soon (its next hand-over finds no one): none is left behind
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in children)
    finally:
        if replay.poll() is None:
            replay.kill()
            replay.wait()


def _start_replay(tmp_path: Path, **popen: Any) -> subprocess.Popen[bytes]:
    """A replay, as a process, of 60 copies of a file of 2,000 sign-ins: seconds of reading,
    so a test is sure to catch it at it. SIGINT is given back its default at the start (a
    shell running the tests in the background ignores it, and Python would then too)."""
    folder = tmp_path / "trail"
    folder.mkdir()
    records = [console_login(user=f"u{i % 97}", minutes=i / 10) for i in range(2000)]
    first = _cloudtrail(folder / "f000.json.gz", records)
    for number in range(1, 60):
        (folder / f"f{number:03d}.json.gz").write_bytes(first.read_bytes())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FAILED_"))}
    command = replay_command(tmp_path / "replay.db", folder)
    return subprocess.Popen(
        command, stdout=subprocess.DEVNULL, env=env, preexec_fn=_default_sigint, **popen
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _children_of(pid: int, *, wait: float) -> list[int]:
    deadline = time.monotonic() + wait
    path = Path(f"/proc/{pid}/task/{pid}/children")
    while time.monotonic() < deadline:
        try:
            found = [int(child) for child in path.read_text().split()]
        except OSError:
            return []
        if found:
            return found
        time.sleep(0.01)
    return []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited (init reaps it)


def test_ctrl_c_stops_the_replay_and_its_reader_as_one(tmp_path: Path) -> None:
    # GIVEN a replay, as a process group of its own, reading many files in its reader process
    replay = _start_replay(tmp_path, stderr=subprocess.PIPE, start_new_session=True)
    try:
        children = _children_of(replay.pid, wait=30)
        assert children, "the replay started its reader process"
        # WHEN Ctrl-C reaches the whole group (as a terminal sends it)
        os.killpg(replay.pid, signal.SIGINT)
        _, err = replay.communicate(timeout=60)
    finally:
        if replay.poll() is None:
            replay.kill()
            replay.wait()
    # THEN the replay stops as interrupted (130), not as if its reader had crashed
    assert replay.returncode == 130, err
    assert b"reader process stopped" not in err
    assert not any(_alive(pid) for pid in children)


def _pipe_bytes(end: Any) -> int:
    return int(fcntl.fcntl(end.fileno(), fcntl.F_GETPIPE_SZ))


def _pipe_max() -> int:
    """What an unprivileged pipe may hold here (0 where the system does not say: not Linux)."""
    try:
        return int(Path("/proc/sys/fs/pipe-max-size").read_text())
    except (OSError, ValueError):
        return 0


_PIPE_SIZES = pytest.mark.skipif(
    not hasattr(fcntl, "F_SETPIPE_SZ"), reason="pipe sizes are Linux's (F_SETPIPE_SZ)"
)


@_PIPE_SIZES
@pytest.mark.skipif(
    _pipe_max() < replay_reader.PIPE_BYTES,
    reason="this system lets no unprivileged pipe hold PIPE_BYTES",
)
def test_the_reader_process_pipes_hold_a_mebibyte_not_64_kib(tmp_path: Path) -> None:
    folder = tmp_path / "trail"
    folder.mkdir()
    _cloudtrail(folder / "a.json", _mixed_records())
    engine = _engine(tmp_path / "e.db")
    try:
        # GIVEN a reader process started
        reader = open_reader(list(find_files([folder])), engine, expired_before=None, process=True)
        with reader:
            assert isinstance(reader, replay_reader.ReaderProcess)
            # THEN both its pipes hold PIPE_BYTES (a staged batch is ~1.5 MB: through the
            # default 64 KiB the reader waited on the main process for each 64 KiB of it)
            ends = [reader._receiver, reader._sender]
            assert [_pipe_bytes(end) for end in ends] == [replay_reader.PIPE_BYTES] * 2
            list(reader.batches())
    finally:
        engine.store.close()


@_PIPE_SIZES
@pytest.mark.parametrize("system", ["refuses", "has no pipe sizes"])
def test_a_pipe_the_system_will_not_widen_is_left_as_it_was(
    monkeypatch: pytest.MonkeyPatch, system: str
) -> None:
    receiver, sender = multiprocessing.get_context("fork").Pipe(duplex=False)
    before = _pipe_bytes(receiver)
    # GIVEN a system that refuses a wider pipe, or has no F_SETPIPE_SZ (not Linux)
    if system == "refuses":
        real = fcntl.fcntl

        def refused(fd: int, command: int, *args: Any) -> Any:
            if command == fcntl.F_SETPIPE_SZ:
                raise PermissionError(errno.EPERM, "Operation not permitted")
            return real(fd, command, *args)

        monkeypatch.setattr(fcntl, "fcntl", refused)
    else:
        monkeypatch.delattr(fcntl, "F_SETPIPE_SZ")
    # WHEN asked THEN nothing is raised, and the pipe is as it was
    replay_reader.widen_pipe(receiver)
    monkeypatch.undo()
    assert _pipe_bytes(receiver) == before
    sender.send_bytes(b"still a pipe")
    assert receiver.recv_bytes() == b"still a pipe"
    receiver.close()
    sender.close()


def test_problems_are_handed_over_as_they_add_up_not_all_at_the_end(tmp_path: Path) -> None:
    # GIVEN a file of 2,500 malformed records and no good one
    bad = [{**console_login(minutes=i), "eventTime": "yesterday"} for i in range(2500)]
    path = _cloudtrail(tmp_path / "bad.json", bad)

    def never(events: list[Activity]) -> Any:
        raise AssertionError("no event to prepare")

    # WHEN it is read in batches of 1,000
    items = list(replay_reader.read_batches([path], never, batch_size=1000, expired_before=None))
    # THEN the problems come out a thousand at a time (memory holds no more), all of them
    assert [len(report.problems) for report, _ in items] == [1000, 1000, 500]
    assert all(batch is None for _, batch in items)
    assert sum(report.read for report, _ in items) == 2500


def test_a_fork_refused_reads_in_the_main_thread_with_the_same_result(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    clean_env: None,
) -> None:
    folder = _awkward_folder(tmp_path)
    expected = _replay(
        tmp_path / "a.db", folder, process=False, monkeypatch=monkeypatch, capsys=capsys
    )
    # GIVEN a system that refuses to fork (out of memory, or the process limit reached)
    context = type(multiprocessing.get_context("fork").Process(target=print))

    def refused(self: Any) -> None:
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(context, "start", refused)
    # WHEN a replay asks for its reader process THEN it reads in the main thread: same output
    db = tmp_path / "b.db"
    assert _replay(db, folder, process=True, monkeypatch=monkeypatch, capsys=capsys) == expected
    assert _rows(db) == _rows(tmp_path / "a.db")


def test_the_reader_collects_by_hand_each_object_once_and_cycles_now_and_then() -> None:
    class Node:
        me: Any

    def garbage_cycle() -> weakref.ref[Node]:
        cycle = Node()
        cycle.me = cycle
        return weakref.ref(cycle)

    was_enabled = gc.isenabled()
    gc.enable()
    try:
        with replay_reader._collections_by_hand():
            # GIVEN reading, THEN the collector makes no pass of its own
            assert not gc.isenabled()
            # GIVEN garbage in a reference cycle, WHEN batches short of a hundred are read
            first = garbage_cycle()
            for number in range(1, 100):
                replay_reader._spare_the_collector(number)
            # THEN nothing was collected nor frozen
            assert first() is not None
            assert gc.get_freeze_count() == 0
            # WHEN the hundredth is read, THEN the cycle is collected and what is left frozen
            replay_reader._spare_the_collector(100)
            assert first() is None
            frozen = gc.get_freeze_count()
            assert frozen > 0
            # AND the next hundredth walks only what was made since (frozen stays frozen)
            second = garbage_cycle()
            replay_reader._spare_the_collector(200)
            assert second() is None
            assert gc.get_freeze_count() >= frozen
        # THEN after reading all is thawed and the collector is on again, as it was
        assert gc.get_freeze_count() == 0
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        if not was_enabled:
            gc.disable()


def test_the_main_process_writes_with_the_collector_off_and_delivers_with_what_it_held_frozen(
    tmp_path: Path,
) -> None:
    corpus = _cloudtrail(tmp_path / "t.json", _mixed_records())
    engine = _engine(tmp_path / "gc.db")
    was_enabled = gc.isenabled()
    gc.enable()
    seen: dict[str, set[Any]] = {"writing": set(), "delivering": set()}
    try:
        with open_reader([corpus], engine, expired_before=None, process=True) as reader:
            # WHEN the main process writes what the reader process hands over
            for _, batch in reader.batches():
                seen["writing"].add(gc.isenabled())
                if batch:
                    list(engine.store_prepared([batch]))
            # THEN the collector is on again once the batches are all written
            assert gc.isenabled()
            assert gc.get_freeze_count() == 0
            # WHEN it delivers, THEN what it held was frozen first (the collector on)
            for _ in reader.evaluated():
                seen["delivering"].add((gc.isenabled(), gc.get_freeze_count() > 0))
        assert gc.get_freeze_count() == 0
    finally:
        engine.store.close()
        gc.unfreeze()
        if not was_enabled:
            gc.disable()
    assert seen == {"writing": {False}, "delivering": {(True, True)}}
