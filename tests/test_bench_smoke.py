"""The replay figure's pieces on a small corpus: no timing here, only that they agree and run.

The bench itself never runs in the suite (speed lives in ``bench/``). What is worth pinning is
what the figure relies on: the DuckDB peer (``bench.duckdb_peer``) raises exactly our alerts on
the generated corpus, the comparison reports a difference per rule, and the write-rate
measurement runs every path. The peer needs the ``bench`` extra (``duckdb``); without it that
test is skipped (``make bench`` installs it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.corpus import CorpusSpec, ensure_corpus
from bench.replay import RULE_SETTINGS, compare_alerts
from signin_monitor.cli import main

SMALL = 5_000


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 5,000-record bench corpus (generated in a fraction of a second)."""
    folder, _ = ensure_corpus(CorpusSpec(records=SMALL), cache=tmp_path_factory.mktemp("corpus"))
    return folder / "AWSLogs"


def _our_alerts(
    corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> frozenset[tuple[str, str]]:
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    for name, value in RULE_SETTINGS.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    status = main(
        ["replay", "--json", "--no-progress", "--db", str(tmp_path / "r.db"), str(corpus)]
    )
    assert status == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    return frozenset((line["rule"], line["event_id"]) for line in lines)


def test_the_duckdb_peer_raises_exactly_our_alerts(
    corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("duckdb")
    from bench.duckdb_peer import PeerSettings, alerts

    ours = _our_alerts(corpus, tmp_path, monkeypatch, capsys)
    peer = frozenset(alerts([corpus], PeerSettings()))

    assert compare_alerts(ours, peer) == []
    assert len({rule for rule, _ in ours}) >= 10, "the corpus exercises nearly every rule"


def test_a_disagreement_is_reported_per_rule() -> None:
    ours = frozenset({("root-sign-in", "a"), ("password-spray", "b"), ("password-spray", "c")})
    peer = frozenset({("root-sign-in", "a"), ("password-spray", "b"), ("root-activity", "d")})
    assert compare_alerts(ours, peer) == [
        "password-spray: 1 only ours, 0 only DuckDB (e.g. c)",
        "root-activity: 0 only ours, 1 only DuckDB (e.g. d)",
    ]
    assert compare_alerts(ours, ours) == []


def test_the_write_rates_measure_every_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import bulk_writes

    rates = bulk_writes.measure(records=30, rounds=1)

    expected = set(bulk_writes.PATHS)
    if not bulk_writes.has_sqlite_bulk():
        expected.remove("SQLite record_many")
    assert set(rates.rates) == expected
    assert all(rate > 0 for rate in rates.rates.values())
    assert [row[0] for row in bulk_writes.rate_lines(rates)] == list(bulk_writes.PATHS)
