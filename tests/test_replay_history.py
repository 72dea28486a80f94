"""Replay's ``MemoryHistory`` answers every question as a plain reading of its rows would.

The engine's equivalence tests compare whole replays with the store; this one looks at the
history alone, where its cheap forms live (each partition's times bisected directly, the
usual row appended without a search, the bounds tested inline): rows added out of time
order, several in one second, fractions of a second on both the rows and the bounds, rows
forgotten; every question compared with a brute-force reading of the rows kept.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta

import pytest

from signin_monitor.cli.replay_history import MemoryHistory, success_network
from signin_monitor.events import API_CALL, SignInEvent
from signin_monitor.store import schema
from tests.factories import BASE_TIME, sign_in

ACCOUNTS = ("111122223333", "444455556666")
PRINCIPALS = ("alice", "bob", "unknown-user:198.51.100.7")
ADDRESSES = ("198.51.100.7", "198.51.100.9", "203.0.113.4", "AWS Internal")
SPAN = timedelta(hours=3)


def _whole(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _rows(rng: random.Random, count: int) -> list[SignInEvent]:
    """ConsoleLogin rows (and a few API calls of the same name, which no question is about)
    in a random order: times within ``SPAN``, often the same second, some with a fraction."""
    base = sign_in()
    rows = []
    for number in range(count):
        moment = BASE_TIME + timedelta(seconds=rng.randrange(int(SPAN.total_seconds()) // 60) * 60)
        if rng.random() < 0.3:
            moment += timedelta(microseconds=rng.randrange(1, 1_000_000))
        rows.append(
            dataclasses.replace(
                base,
                event_id=f"{rng.randrange(10**6):06d}-{number}",
                event_time=moment,
                account_id=rng.choice(ACCOUNTS),
                principal=rng.choice(PRINCIPALS),
                source_ip=rng.choice(ADDRESSES),
                result=rng.choice(("Success", "Failure", "Failure", None)),
                kind=API_CALL if rng.random() < 0.1 else base.kind,
            )
        )
    return rows


class _Reference:
    """The questions answered by reading every row kept, in the stores' orders."""

    def __init__(self, rows: list[SignInEvent], cutoff: datetime) -> None:
        # (row, order added) of the rows a store would still hold past ``forget_before``.
        self.rows = [
            (row, order) for order, row in enumerate(rows) if _whole(row.event_time) >= cutoff
        ]

    def _failures(self, who: tuple[str, str]) -> list[tuple[SignInEvent, int]]:
        found = [
            (row, order)
            for row, order in self.rows
            if (row.account_id, row.principal) == who
            and row.kind != API_CALL
            and row.result == "Failure"
        ]
        key_part = schema.key_part
        found.sort(
            key=lambda item: (
                _whole(item[0].event_time),
                key_part(item[0].event_id, schema.MAX_EVENT_ID_BYTES),
                item[1],
            )
        )
        return found

    def _successes(self, who: tuple[str, str]) -> list[tuple[SignInEvent, int]]:
        found = [
            (row, order)
            for row, order in self.rows
            if (row.account_id, row.principal) == who and success_network(row) is not None
        ]
        found.sort(key=lambda item: (_whole(item[0].event_time), item[0].event_id, item[1]))
        return found

    def answers(
        self, who: tuple[str, str], address: str, network: str, after: datetime, end: datetime
    ) -> dict[str, object]:
        def between(found: list[tuple[SignInEvent, int]]) -> list[SignInEvent]:
            return [row for row, _ in found if after < _whole(row.event_time) < _whole(end)]

        def until(found: list[tuple[SignInEvent, int]]) -> list[SignInEvent]:
            return [row for row, _ in found if after < _whole(row.event_time) <= end]

        from_source = [
            (row, order)
            for row, order in self.rows
            if (row.account_id, row.source_ip) == (who[0], address) and row.result == "Failure"
        ]
        from_source.sort(key=lambda item: (_whole(item[0].event_time), item[0].event_id, item[1]))
        sign_ins = [
            (row, order)
            for row, order in self.rows
            if (row.account_id, row.principal) == who
            and row.kind != API_CALL
            and row.result == "Success"
        ]
        successes = between(self._successes(who))
        return {
            "count_failures": len(until(self._failures(who))),
            "failures_between": between(self._failures(who)),
            "has_console_sign_in": bool(until(sign_ins)),
            "failures_from_source": between(from_source),
            "successes_between": successes,
            "last_success": successes[-1] if successes else None,
            "has_success_from_network": any(success_network(row) == network for row in successes),
        }


def _answers(
    history: MemoryHistory,
    who: tuple[str, str],
    address: str,
    network: str,
    after: datetime,
    end: datetime,
) -> dict[str, object]:
    account_id, principal = who
    return {
        "count_failures": history.count_failures(account_id, principal, after=after, until=end),
        "failures_between": history.failures_between(
            account_id, principal, after=after, before=end
        ),
        "has_console_sign_in": history.has_console_sign_in(
            account_id, principal, after=after, until=end
        ),
        "failures_from_source": history.failures_from_source(
            account_id, address, after=after, before=end
        ),
        "successes_between": history.successes_between(
            account_id, principal, after=after, before=end
        ),
        "last_success": history.last_success(account_id, principal, after=after, before=end),
        "has_success_from_network": history.has_success_from_network(
            account_id, principal, network, after=after, before=end
        ),
    }


@pytest.mark.parametrize("seed", range(12))
def test_every_question_matches_a_plain_reading_of_the_rows(seed: int) -> None:
    # GIVEN rows added in a random order (ties, fractions, rows no question is about)
    rng = random.Random(seed)
    rows = _rows(rng, rng.choice((5, 40, 200)))
    start, stop = BASE_TIME - timedelta(days=1), BASE_TIME + SPAN + timedelta(days=1)
    history = MemoryHistory(after=start, before=stop)
    for row in rows:
        history.add(row, success_network(row))
    # ... and, in half the runs, the oldest of them forgotten
    cutoff = start
    if seed % 2:
        forget = BASE_TIME + timedelta(minutes=rng.randrange(60), microseconds=rng.randrange(2))
        history.forget_before(forget)
        cutoff, start = _whole(forget), forget
    reference = _Reference(rows, cutoff)
    # WHEN every question is asked over random ranges, THEN each answer is the plain one
    networks = [n for n in map(success_network, rows) if n is not None] or ["198.51.100.0/24"]
    # Bounds on a row's second (with a fraction or not) half the time: where the edges are.
    seconds = [_whole(row.event_time) for row in rows]
    for _ in range(150):
        after = start + timedelta(seconds=rng.randrange(int(SPAN.total_seconds())))
        if rng.random() < 0.5:
            after = max(start, rng.choice(seconds) - timedelta(seconds=rng.choice((0, 60))))
        if rng.random() < 0.5:
            after += timedelta(microseconds=rng.randrange(1, 1_000_000))
        end = after + timedelta(seconds=rng.randrange(0, 7200))
        if rng.random() < 0.5:
            end = max(after, rng.choice(seconds))
        if rng.random() < 0.5:
            end += timedelta(microseconds=rng.randrange(1, 1_000_000))
        end = min(stop, end)
        who = (rng.choice(ACCOUNTS), rng.choice(PRINCIPALS))
        address, network = rng.choice(ADDRESSES), rng.choice(networks)
        expected = reference.answers(who, address, network, after, end)
        assert _answers(history, who, address, network, after, end) == expected


def test_questions_outside_what_was_loaded_are_refused() -> None:
    # GIVEN a history loaded for one principal and one address, over a range
    after, before = BASE_TIME - timedelta(hours=1), BASE_TIME + timedelta(hours=1)
    history = MemoryHistory(
        after=after,
        before=before,
        principals={("111122223333", "alice")},
        sources={("111122223333", "198.51.100.7")},
    )
    # WHEN a rule asks past its range, or about another principal or address, THEN it is refused
    with pytest.raises(RuntimeError, match="outside the range"):
        history.failures_between("111122223333", "alice", after=after, before=before + SPAN)
    with pytest.raises(RuntimeError, match="outside the range"):
        history.last_success("111122223333", "alice", after=after - SPAN, before=before)
    with pytest.raises(RuntimeError, match="principal not loaded"):
        history.count_failures("111122223333", "bob", after=after, until=before)
    with pytest.raises(RuntimeError, match="principal not loaded"):
        history.has_success_from_network(
            "111122223333", "bob", "198.51.100.0/24", after=after, before=before
        )
    with pytest.raises(RuntimeError, match="address not loaded"):
        history.failures_from_source("111122223333", "203.0.113.4", after=after, before=before)
    # ... while the loaded ones are answered
    assert history.failures_between("111122223333", "alice", after=after, before=before) == []
    assert (
        history.failures_from_source("111122223333", "198.51.100.7", after=after, before=before)
        == []
    )
