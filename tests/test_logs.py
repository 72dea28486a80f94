"""``logs.event_keys``: the keys of a block are on every log line inside it, nested blocks add
theirs, and leaving a block (however) restores the keys of the one around it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from signin_monitor.logs import JsonFormatter, event_keys


class _Lines(logging.Handler):
    """The lines as formatted when logged (the keys are the context's at that moment)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def logged() -> Iterator[list[dict[str, object]]]:
    logger = logging.getLogger("signin_monitor")
    handler, level = _Lines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_a_block_s_keys_are_on_its_lines_and_gone_after_it(
    logged: list[dict[str, object]],
) -> None:
    logger = logging.getLogger("signin_monitor.test")
    with event_keys(event_id="e1", principal="alice") as keys:
        logger.info("outer")
        with event_keys(rule="root-sign-in"):
            logger.info("inner")
        keys["claim"] = "sent"  # extended inside the block
        logger.info("extended")
    logger.info("after")
    outer, inner, extended, after = logged
    assert (outer["event_id"], outer["principal"]) == ("e1", "alice")
    assert "rule" not in outer
    assert (inner["event_id"], inner["rule"]) == ("e1", "root-sign-in")
    assert extended["claim"] == "sent"
    assert "rule" not in extended
    assert not {"event_id", "principal", "claim"} & set(after)


def test_a_block_left_by_an_error_restores_the_keys_around_it(
    logged: list[dict[str, object]],
) -> None:
    logger = logging.getLogger("signin_monitor.test")
    with event_keys(event_id="e1"):
        with pytest.raises(RuntimeError), event_keys(event_id="e2", rule="r"):
            raise RuntimeError("boom")
        logger.info("back")
    (back,) = logged
    assert back["event_id"] == "e1"
    assert "rule" not in back
