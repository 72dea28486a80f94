"""Store fixtures: every contract test runs once per ``ActivityStore`` implementation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from signin_monitor.store import ActivityStore
from signin_monitor.store.sqlite import SqliteStore

StoreFactory = Callable[[], Iterator[ActivityStore]]


def _sqlite(tmp_path: Path) -> Iterator[ActivityStore]:
    store = SqliteStore(tmp_path / "activity.db")
    yield store
    store.close()


STORE_KINDS = ["sqlite"]


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ActivityStore]:
    """An empty store of each kind."""
    if request.param == "sqlite":
        yield from _sqlite(tmp_path)
    else:  # pragma: no cover - extended by the DynamoDB fixture
        raise AssertionError(request.param)
