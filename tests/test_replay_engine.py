"""Replay's engine gives what processing one event at a time gives (issue 13).

The straightforward path (every event sorted, ``Pipeline.process`` each: store, then every rule
asking the store) is the reference. The engine (bulk writes in file order, the rules only over
the events that can alert, an in-memory history) must leave the same rows (every column, the
raw record too) and the same claims, and raise the same alerts in the same order with the same
``--json`` lines: on generated corpora with bursts, sprays, successes after failures, new
networks, root activity, API calls and duplicates, in files out of time order, on a fresh
store and on one filled before (by part of the same records, or by another corpus that
overlaps them).
"""

from __future__ import annotations

import dataclasses
import json
import random
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from signin_monitor.alerts import Alert
from signin_monitor.app import build_pipeline
from signin_monitor.cli.replay import print_alert
from signin_monitor.cli.replay_engine import ReplayEngine
from signin_monitor.cli.replay_reader import open_reader
from signin_monitor.config import Settings
from signin_monitor.errors import SlackPermanentError, SlackRetryableError, UnstorableRecordError
from signin_monitor.events import SignInEvent, parse_record
from signin_monitor.pipeline import Pipeline
from signin_monitor.sources import find_files, read_events, sort_by_time
from signin_monitor.store import ActivityStore
from signin_monitor.store.dynamodb import DynamoDbStore
from signin_monitor.store.dynamodb_admin import create_table
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import BASE_TIME, api_call, console_login

USERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")
ACCOUNTS = ("111122223333", "444455556666")
#: The stores' claim clock: fixed, so the claims of both paths compare field by field.
NOW = (BASE_TIME + timedelta(days=30)).timestamp()


class RecordingNotifier:
    """Posting an alert is keeping its payload."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(
        self, payload: dict[str, Any], *, alert: Alert | None = None, deadline: float | None = None
    ) -> None:
        self.sent.append(payload)


class FlakyNotifier(RecordingNotifier):
    """Every third post fails for now (429), every seventh for good (404): what a later claim
    of the same alert sees depends on how its earlier post ended."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def send(
        self, payload: dict[str, Any], *, alert: Alert | None = None, deadline: float | None = None
    ) -> None:
        self.calls += 1
        if self.calls % 3 == 0:
            raise SlackRetryableError("slow down", status_code=429)
        if self.calls % 7 == 0:
            raise SlackPermanentError("channel_not_found", status_code=404)
        self.sent.append(payload)


# --- the corpus --------------------------------------------------------------------------------


def corpus(seed: int, *, size: int = 400, hours: float = 12) -> list[dict[str, Any]]:
    """Records of a few accounts over ``hours``: every kind of scene the rules look for."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []

    def minutes() -> float:
        return rng.uniform(0, hours * 60)

    def ip() -> str:
        return rng.choice(
            ("198.51.100.7", "198.51.100.9", "203.0.113.4", "192.0.2.55", "2001:db8::1")
        )

    while len(records) < size:
        scene = rng.random()
        account = rng.choice(ACCOUNTS)
        start = minutes()
        if scene < 0.25:  # a burst of failures, maybe a success after it
            user = rng.choice((*USERS[:4], "HIDDEN_DUE_TO_SECURITY_REASONS"))
            source = ip()
            for i in range(rng.randint(2, 8)):
                records.append(
                    console_login(
                        user=user,
                        result="Failure",
                        minutes=start + i * rng.choice((0, 0.5, 3, 20)),
                        account=account,
                        source_ip=source,
                        mfa=rng.choice(("No", "No", "Yes")),
                    )
                )
            if user != "HIDDEN_DUE_TO_SECURITY_REASONS" and rng.random() < 0.6:
                records.append(
                    console_login(
                        user=user,
                        minutes=start + rng.uniform(-5, 40),
                        account=account,
                        source_ip=source,
                    )
                )
        elif scene < 0.35:  # a spray: one address, many names
            source = ip()
            for i, user in enumerate(rng.sample(USERS, rng.randint(4, 8))):
                records.append(
                    console_login(
                        user=user,
                        result="Failure",
                        minutes=start + i * rng.choice((0, 1, 7)),
                        account=account,
                        source_ip=source,
                    )
                )
        elif scene < 0.65:  # ordinary successes, from known and new networks
            records.append(
                console_login(
                    user=rng.choice(USERS),
                    minutes=start,
                    account=account,
                    source_ip=rng.choice((ip(), ip(), "AWS Internal")),
                    mfa=rng.choice(("Yes", "Yes", "No", None)),
                    identity_type=rng.choice(("IAMUser", "IAMUser", "IAMUser", "AssumedRole")),
                )
            )
        elif scene < 0.75:  # root: sign-ins, failures, then calls
            root_result = rng.choice(("Success", "Failure"))
            records.append(
                console_login(
                    identity_type="Root",
                    result=root_result,
                    minutes=start,
                    account=account,
                    source_ip=rng.choice((ip(), "AWS Internal")),
                )
            )
            for _ in range(rng.randint(0, 3)):
                records.append(
                    api_call(
                        rng.choice(("ListBuckets", "CreateAccessKey", "GetAccountSummary")),
                        event_source=rng.choice(("s3.amazonaws.com", "iam.amazonaws.com")),
                        minutes=start + rng.uniform(-30, 90),
                        account=account,
                        error_code=rng.choice((None, None, "AccessDenied")),
                    )
                )
        elif scene < 0.85:  # credential and trail changes by users
            name, source_name = rng.choice(
                (
                    ("DeactivateMFADevice", "iam.amazonaws.com"),
                    ("CreateLoginProfile", "iam.amazonaws.com"),
                    ("UpdateLoginProfile", "iam.amazonaws.com"),
                    ("StopLogging", "cloudtrail.amazonaws.com"),
                    ("PutEventSelectors", "cloudtrail.amazonaws.com"),
                )
            )
            records.append(
                api_call(
                    name,
                    event_source=source_name,
                    identity_type=rng.choice(("IAMUser", "Root", "AssumedRole")),
                    user=rng.choice(USERS),
                    minutes=start,
                    account=account,
                    read_only=False,
                    error_code=rng.choice((None, None, "AccessDenied")),
                )
            )
        else:  # sign-in events no rule alerts on, and a root password recovery
            name = rng.choice(
                ("CheckMfa", "SwitchRole", "GetSigninToken", "PasswordRecoveryRequested")
            )
            record = console_login(
                user=rng.choice(USERS),
                identity_type=rng.choice(("IAMUser", "Root")),
                minutes=start,
                account=account,
                event_name=name,
            )
            if name == "PasswordRecoveryRequested":
                record["responseElements"] = {"PasswordRecoveryRequested": "Success"}
            records.append(record)
    # Duplicates: the same records again (CloudTrail delivers some twice), some in the same second.
    records.extend(rng.sample(records, len(records) // 10))
    rng.shuffle(records)
    return records


def on_the_edges(records: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """The records moved onto a 20-minute grid, some one second past it: many share a second,
    and many lie exactly a window (60 minutes), a lookback (2 days) or one second apart, where
    each bound of each question decides (the default times are random, so they seldom meet)."""
    moved: dict[int, str] = {}
    for record in records:
        if id(record) in moved:  # a record delivered twice is the same object
            continue
        at = datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00"))
        slot = round((at - BASE_TIME) / timedelta(minutes=20))
        at = BASE_TIME + slot * timedelta(minutes=20) + timedelta(seconds=rng.choice((0, 0, 1)))
        moved[id(record)] = record["eventTime"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return records


def write_files(folder: Path, records: list[dict[str, Any]], rng: random.Random) -> Path:
    """The records in a few CloudTrail files, each time-ordered, the files overlapping in time."""
    folder.mkdir(parents=True, exist_ok=True)
    streams: list[list[dict[str, Any]]] = [[] for _ in range(5)]
    for record in records:
        rng.choice(streams).append(record)
    for number, stream in enumerate(streams):
        stream.sort(key=lambda r: r["eventTime"])
        (folder / f"part-{rng.randint(0, 999):03d}-{number}.json").write_text(
            json.dumps({"Records": stream})
        )
    return folder


def events_of(folder: Path) -> Iterator[SignInEvent]:
    for entry in find_files([str(folder)]):
        for item in read_events([entry]):  # type: ignore[list-item]
            if isinstance(item, SignInEvent):
                yield item


# --- the two paths -----------------------------------------------------------------------------

Outcome = list[tuple[str, str, str, str]]


def settings() -> Settings:
    return Settings.from_env({"NEW_NETWORK_LOOKBACK_DAYS": "2"})


def straightforward(pipeline: Pipeline, folder: Path) -> Outcome:
    """Today's path: sort everything, process each event."""
    seen: Outcome = []
    for event in sort_by_time(events_of(folder)):
        try:
            outcome = pipeline.process(event)
        except UnstorableRecordError:
            continue
        seen.extend(_lines(outcome.deliveries))
    return seen


def engine(pipeline: Pipeline, folder: Path) -> Outcome:
    replay = ReplayEngine(pipeline, write_batch=37)
    for _ in replay.store_events(events_of(folder)):
        pass
    seen: Outcome = []
    for outcome in replay.evaluate():
        seen.extend(_lines(outcome.deliveries))
    return seen


def through_a_reader_process(pipeline: Pipeline, folder: Path) -> Outcome:
    """The command line's path: read, normalized, staged, kept and judged in a reader
    process; written, claimed and delivered here."""
    replay = ReplayEngine(pipeline, write_batch=37)
    entries = list(find_files([str(folder)]))
    seen: Outcome = []
    with open_reader(entries, replay, expired_before=None, process=True) as reader:
        for _ in replay.store_prepared(b for _, b in reader.batches() if b is not None):
            pass
        for outcome in reader.evaluated():
            seen.extend(_lines(outcome.deliveries))
    return seen


def _lines(deliveries: Any) -> Outcome:
    lines = []
    for delivery in deliveries:
        alert = delivery.alert
        lines.append(
            (alert.rule_id, alert.event.event_id, delivery.status.value, _json_line(delivery))
        )
    return lines


def _json_line(delivery: Any) -> str:
    """The ``replay --json`` line of the delivery, as ``print_alert`` writes it."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_alert(delivery.alert, delivery.payload, True)
    return out.getvalue()


Path_ = Callable[[Pipeline, Path], Outcome]


def run(
    store: ActivityStore,
    folder: Path,
    path: Path_,
    notifier_type: type[RecordingNotifier] = RecordingNotifier,
) -> tuple[Outcome, list[dict[str, Any]]]:
    notifier = notifier_type()
    pipeline = build_pipeline(settings(), store=store, notifier=notifier)
    seen = path(pipeline, folder)
    return seen, notifier.sent


# --- SQLite ------------------------------------------------------------------------------------


Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def sqlite_rows(path: Path) -> Rows:
    """Every activity row (all columns), every claim and every undelivered alert, in key order."""
    db = sqlite3.connect(path)
    try:
        columns = [row[1] for row in db.execute("PRAGMA table_info(activity)")]
        activity = db.execute(
            f"SELECT {', '.join(columns)} FROM activity ORDER BY pk, sk"  # noqa: S608
        ).fetchall()
        claims = db.execute(
            "SELECT pk, rule_id, event_id, event_time, status, claimed_at FROM alert_claims"
            " ORDER BY pk"
        ).fetchall()
        undelivered = db.execute("SELECT * FROM undelivered ORDER BY sk").fetchall()
    finally:
        db.close()
    return activity, claims, undelivered


def sqlite_store(path: Path) -> SqliteStore:
    return SqliteStore(path, clock=lambda: NOW, batch_size=1000)


def compare_on_sqlite(
    tmp_path: Path,
    folder: Path,
    before: Path | None,
    path: Path_,
    notifier_type: type[RecordingNotifier] = RecordingNotifier,
) -> None:
    """Both paths on a copy of the same store; the same rows, claims and alerts."""
    results = []
    for name, replay in (("reference", straightforward), ("engine", path)):
        db = tmp_path / f"{name}.db"
        store = sqlite_store(db)
        try:
            if before is not None:
                run(store, before, straightforward)
            seen, sent = run(store, folder, replay, notifier_type)
            # idempotent: nothing new the second time (but what failed for now is retried)
            again, _ = run(store, folder, replay, notifier_type)
        finally:
            store.close()
        results.append((seen, sent, again, sqlite_rows(db)))
    (seen, sent, again, rows), (engine_seen, engine_sent, engine_again, engine_rows) = results
    assert seen, "the corpus raises alerts"
    assert engine_seen == seen
    assert engine_sent == sent
    assert engine_again == again
    assert engine_rows[0] == rows[0]
    assert engine_rows[1] == rows[1]
    assert engine_rows[2] == rows[2]


SEEDS = [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("seed", SEEDS)
def test_engine_matches_one_event_at_a_time_on_a_fresh_store(tmp_path: Path, seed: int) -> None:
    # GIVEN a generated corpus in files out of time order
    folder = write_files(tmp_path / "corpus", corpus(seed), random.Random(seed))
    # WHEN both paths replay it into a fresh store, then again
    # THEN rows, claims, alerts and --json lines agree
    compare_on_sqlite(tmp_path, folder, None, engine)


@pytest.mark.parametrize("seed", SEEDS[:3])
@pytest.mark.parametrize("filled", [False, True])
def test_a_reader_process_matches_one_event_at_a_time(
    tmp_path: Path, seed: int, filled: bool
) -> None:
    # GIVEN a generated corpus in files out of time order, a part of it stored before or not
    rng = random.Random(seed)
    records = corpus(seed)
    before = write_files(tmp_path / "before", rng.sample(records, len(records) // 3), rng)
    folder = write_files(tmp_path / "corpus", records, rng)
    # WHEN it is read in a reader process and written and evaluated here, and one at a time
    # THEN rows, claims, alerts and --json lines agree
    compare_on_sqlite(tmp_path, folder, before if filled else None, through_a_reader_process)


@pytest.mark.parametrize("seed", SEEDS)
def test_engine_matches_on_a_store_filled_by_part_of_the_records(tmp_path: Path, seed: int) -> None:
    # GIVEN a corpus, a random part of which was replayed before
    rng = random.Random(seed)
    records = corpus(seed)
    before = write_files(tmp_path / "before", rng.sample(records, len(records) // 3), rng)
    folder = write_files(tmp_path / "corpus", records, rng)
    # WHEN both paths replay the whole corpus on a store holding that part
    # THEN they agree
    compare_on_sqlite(tmp_path, folder, before, engine)


@pytest.mark.parametrize("seed", SEEDS)
def test_engine_matches_on_a_store_filled_by_an_overlapping_corpus(
    tmp_path: Path, seed: int
) -> None:
    # GIVEN another corpus over an overlapping time range, replayed before
    rng = random.Random(seed)
    before = write_files(tmp_path / "before", corpus(seed + 100, hours=16), rng)
    folder = write_files(tmp_path / "corpus", corpus(seed), rng)
    # WHEN both paths replay this corpus on that store
    # THEN they agree
    compare_on_sqlite(tmp_path, folder, before, engine)


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_engine_matches_when_times_meet_on_the_bounds(tmp_path: Path, seed: int) -> None:
    # GIVEN a corpus over three days whose times fall on a grid: many in the same second, many
    # exactly a window, the lookback or a second apart; part of it replayed before
    rng = random.Random(seed)
    records = on_the_edges(corpus(seed, size=500, hours=72), rng)
    before = write_files(tmp_path / "before", rng.sample(records, len(records) // 4), rng)
    folder = write_files(tmp_path / "corpus", records, rng)
    # WHEN both paths replay it, THEN they agree: every bound is read as the store reads it
    compare_on_sqlite(tmp_path, folder, before, engine)


def claiming_in_batches_of(size: int) -> Path_:
    """The engine, claiming at most ``size`` alerts per transaction."""

    def replay(pipeline: Pipeline, folder: Path) -> Outcome:
        engine = ReplayEngine(pipeline, write_batch=37, claim_batch=size)
        for _ in engine.store_events(events_of(folder)):
            pass
        return [line for outcome in engine.evaluate() for line in _lines(outcome.deliveries)]

    return replay


@pytest.mark.parametrize("claim_batch", [1, 4, 256])
@pytest.mark.parametrize("seed", SEEDS[:3])
def test_claims_in_batches_match_one_alert_at_a_time_when_posts_fail(
    tmp_path: Path, seed: int, claim_batch: int
) -> None:
    # GIVEN a corpus with records delivered twice, a part of it replayed before, and a Slack
    # that refuses some posts for now and some for good (so a second claim of the same alert
    # is a retry, or covered, depending on how the first post ended)
    rng = random.Random(seed)
    records = corpus(seed)
    before = write_files(tmp_path / "before", rng.sample(records, len(records) // 4), rng)
    folder = write_files(tmp_path / "corpus", records, rng)
    # WHEN the engine claims the alerts of many events together, then posts and marks each
    # THEN rows, claims, undelivered alerts, posts and --json lines are those of one at a time
    compare_on_sqlite(tmp_path, folder, before, claiming_in_batches_of(claim_batch), FlakyNotifier)


def test_an_engine_stopped_early_releases_the_claims_it_did_not_post(tmp_path: Path) -> None:
    # GIVEN records delivered once each (a repeat would end the first batch of claims), and a
    # store whose pending claims are leased for an hour (another run's, until then)
    records = list({record["eventID"]: record for record in corpus(4)}.values())
    folder = write_files(tmp_path / "corpus", records, random.Random(4))
    db = tmp_path / "a.db"
    store = SqliteStore(db, clock=lambda: NOW, lease_seconds=3600)
    pipeline = build_pipeline(settings(), store=store, notifier=RecordingNotifier())
    first = ReplayEngine(pipeline)
    for _ in first.store_events(events_of(folder)):
        pass
    # WHEN its caller stops after the first alert (a batch of alerts was claimed together)
    outcomes = first.evaluate()
    posted = next(o for o in outcomes if o.deliveries).deliveries
    outcomes.close()  # type: ignore[attr-defined]
    # THEN only the posted alerts are marked sent; the claims taken and not posted are free
    claims = sqlite_rows(db)[1]
    assert len([c for c in claims if c[4] == "sent"]) == len(posted)
    released = [c for c in claims if c[4] != "sent"]
    assert released, "the batch claimed more than the first event's alerts"
    assert {(status, claimed_at) for *_, status, claimed_at in released} == {("pending", 0)}
    # AND the next run posts them at once, none held as another run's
    second = ReplayEngine(pipeline)
    for _ in second.store_events(events_of(folder)):
        pass
    rest = [d for o in second.evaluate() for d in o.deliveries]
    store.close()
    assert rest
    assert {d.status.value for d in rest} == {"sent"}


def test_engine_spilling_its_sort_and_forgetting_matches_too(tmp_path: Path) -> None:
    # GIVEN a corpus and an engine that holds only 50 events in memory, and lets go of the
    # history out of reach every 7 events
    rng = random.Random(7)
    # (over six days: past the two days of the longest reach, so rows are let go)
    before = write_files(tmp_path / "before", corpus(8, size=150, hours=144), rng)
    folder = write_files(tmp_path / "corpus", corpus(7, size=600, hours=144), rng)

    def spilling(pipeline: Pipeline, folder: Path) -> Outcome:
        replay = ReplayEngine(pipeline, write_batch=10, memory_events=50, forget_every=7)
        for _ in replay.store_events(events_of(folder)):
            pass
        return [line for outcome in replay.evaluate() for line in _lines(outcome.deliveries)]

    # WHEN it replays it, THEN it agrees with the straightforward path
    compare_on_sqlite(tmp_path, folder, before, spilling)


def test_a_history_that_sees_later_events_is_caught(tmp_path: Path) -> None:
    # GIVEN an engine broken on purpose: every event of the run is in the history at once
    rng = random.Random(3)
    folder = write_files(tmp_path / "corpus", corpus(3), rng)

    def clairvoyant(pipeline: Pipeline, folder: Path) -> Outcome:
        replay = ReplayEngine(pipeline)
        kept = [
            w.event for w in replay.store_events(events_of(folder)) if not isinstance(w, Exception)
        ]
        real_add = type(replay)._load_history

        def load_everything(self: ReplayEngine, first: str, last: str) -> Any:
            history = real_add(self, first, last)
            for event in kept:
                if event.event_name == "ConsoleLogin":
                    from signin_monitor.cli.replay_history import success_network

                    history.add(event, success_network(event))
            history.add = lambda event, network: None  # type: ignore[method-assign]
            return history

        replay._load_history = load_everything.__get__(replay)  # type: ignore[method-assign]
        return [line for outcome in replay.evaluate() for line in _lines(outcome.deliveries)]

    # WHEN it is compared with the straightforward path, THEN the comparison fails
    with pytest.raises(AssertionError):
        compare_on_sqlite(tmp_path, folder, None, clairvoyant)


class _Plain:
    """A rule that declares nothing (not a ``SelectiveRule``): replay must run it everywhere."""

    def __init__(self, rule: Any) -> None:
        self.rule = rule
        self.id = rule.id
        self.severity = rule.severity

    def evaluate(self, event: SignInEvent, history: Any) -> Alert | None:
        return self.rule.evaluate(event, history)  # type: ignore[no-any-return]


def test_rules_that_declare_nothing_are_run_on_every_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN rules that do not say which events they alert on nor how far they look
    real = build_pipeline

    def plain_pipeline(*args: Any, **kwargs: Any) -> Pipeline:
        pipeline = real(*args, **kwargs)
        pipeline.rules = tuple(_Plain(rule) for rule in pipeline.rules)
        return pipeline

    monkeypatch.setattr(sys.modules[__name__], "build_pipeline", plain_pipeline)
    rng = random.Random(21)
    before = write_files(tmp_path / "before", corpus(22, size=150), rng)
    folder = write_files(tmp_path / "corpus", corpus(21), rng)
    # WHEN both paths replay a corpus on a filled store, THEN they agree
    compare_on_sqlite(tmp_path, folder, before, engine)


# --- DynamoDB (moto) ---------------------------------------------------------------------------


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1")


def dynamodb_items(client: Any, table: str) -> list[dict[str, Any]]:
    """Every item, claims without their time and token (each path claims at its own moment)."""
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            items.append({k: v for k, v in item.items() if k not in ("claimed_at", "token")})
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


@pytest.mark.parametrize("filled", [False, True])
def test_engine_matches_one_event_at_a_time_on_dynamodb(
    dynamodb: Any, tmp_path: Path, filled: bool
) -> None:
    # GIVEN a small corpus (and, maybe, part of it replayed before), on two tables
    rng = random.Random(11)
    records = corpus(11, size=120, hours=4)
    before = write_files(tmp_path / "before", rng.sample(records, 40), rng) if filled else None
    folder = write_files(tmp_path / "corpus", records, rng)
    results = []
    for name, replay in (("reference", straightforward), ("engine", engine)):
        create_table(dynamodb, name)
        store = DynamoDbStore(name, client=dynamodb, clock=lambda: NOW)
        if before is not None:
            run(store, before, straightforward)
        seen, sent = run(store, folder, replay)
        results.append((seen, sent, dynamodb_items(dynamodb, name)))
    # WHEN both paths replay it, THEN items, claims and alerts agree
    (seen, sent, items), (engine_seen, engine_sent, engine_items) = results
    assert seen
    assert engine_seen == seen
    assert engine_sent == sent
    assert engine_items == items


class _NotStaging(SqliteStore):
    """A SQLite store without the staged write: the engine writes with ``record_many``."""

    stage_many = None  # type: ignore[assignment]

    def record_many(
        self, events: Sequence[SignInEvent], *, expires_at: Sequence[int | None]
    ) -> list[bool]:
        return self.write_staged(SqliteStore.stage_many(self, events, expires_at=expires_at))


@pytest.mark.parametrize("staging", [True, False], ids=["staged", "record_many"])
def test_kept_sign_ins_let_go_of_their_raw_record_and_share_their_recurring_texts(
    tmp_path: Path, staging: bool
) -> None:
    # GIVEN sign-ins and an API call, written through either bulk path
    store = SqliteStore(tmp_path / "s.db") if staging else _NotStaging(tmp_path / "s.db")
    pipeline = build_pipeline(settings(), store=store, notifier=RecordingNotifier())
    logins = [
        parse_record(console_login(result="Failure" if i % 2 else "Success", minutes=i))
        for i in range(6)
    ]
    fields = [dataclasses.asdict(event) for event in logins]
    call = parse_record(api_call(minutes=3))
    replay = ReplayEngine(pipeline, write_batch=4)
    try:
        # WHEN they are stored
        assert all(w.stored for w in replay.store_events([*logins, call]))  # type: ignore[union-attr]
        raws = [row[0] for row in store._db.execute("SELECT raw FROM activity ORDER BY rowid")]
    finally:
        store.close()
    # THEN the kept sign-ins hold no raw record any more (it is in the store) and one copy of
    # each recurring text; the API call, whose raw record rules read, keeps its own
    assert replay.kept == 7
    assert [event.holds_raw() for event in logins] == [False] * 6
    recurring = [
        "event_name", "account_id", "principal", "identity_type", "user_name", "arn", "result",
        "source_ip", "user_agent", "region", "event_source",
    ]  # fmt: skip
    for event, before in zip(logins, fields, strict=True):
        shed: dict[str, Any] = {"raw": {}, "raw_text": None, "raw_text_of": None}
        assert dataclasses.asdict(event) == {**before, **shed}  # each text where it was
        for name in recurring:
            value = getattr(event, name)
            assert value is None or value is sys.intern(value), name
    assert call.holds_raw()
    assert all(json.loads(raw) for raw in raws)
