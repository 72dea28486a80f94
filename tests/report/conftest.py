"""Fixtures of the report tests: no setting from the developer's shell, a replayed mixed day."""

from __future__ import annotations

from pathlib import Path

import pytest

from signin_monitor.config import LAMBDA_VARIABLES, LOCAL_ONLY_VARIABLES
from tests.report.support import mixed_day_records, replay_into


@pytest.fixture(autouse=True)
def _no_settings_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's SLACK_WEBHOOK_URL, thresholds etc. never reach a test."""
    for name in LAMBDA_VARIABLES + LOCAL_ONLY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def mixed_day_db(tmp_path: Path) -> Path:
    """A SQLite store holding the mixed day, replayed through ``signin-monitor replay``."""
    db = tmp_path / "mixed.db"
    replay_into(db, mixed_day_records(), tmp_path)
    return db
