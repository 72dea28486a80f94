"""``_storable_row`` counts and checks the raw record's text apart from the other values: the
same refusals and sizes as one text of them all."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from signin_monitor.errors import UnstorableRecordError
from signin_monitor.events import Activity
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import sign_in


def _with_raw_text(text: str) -> Activity:
    """A sign-in whose stored raw record is ``text`` (as normalization keeps a file's text)."""
    held: dict[str, Any] = {}
    return dataclasses.replace(sign_in(), raw=held, raw_text=text, raw_text_of=held)


def test_a_raw_record_that_is_not_unicode_is_refused_by_staging() -> None:
    store = SqliteStore(":memory:")
    event = _with_raw_text('{"userAgent":"agent \ud800"}')
    assert event.raw_json() == '{"userAgent":"agent \ud800"}'
    with pytest.raises(UnstorableRecordError, match="not valid Unicode"):
        store.stage_many([event], expires_at=[None])
    store.close()


@pytest.mark.parametrize(
    ("characters", "refused"),
    [(120_000, False), (140_000, True)],  # three UTF-8 bytes each: 360 KB fits, 420 KB not
)
def test_a_raw_record_is_counted_in_utf8_bytes(characters: int, refused: bool) -> None:
    store = SqliteStore(":memory:")
    event = _with_raw_text('{"x":"' + "\u20ac" * characters + '"}')
    if refused:
        with pytest.raises(UnstorableRecordError, match="exceeds"):
            store.stage_many([event], expires_at=[None])
    else:
        assert store.write_staged(store.stage_many([event], expires_at=[None])) == [True]
    store.close()
