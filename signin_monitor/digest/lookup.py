"""Where the digest finds a suppression by its id, whatever the store offers.

A suppressed alert's claim keeps only the suppression's id; whose it is and why live in the
suppressions store. A store may answer ``get_suppression(id)`` directly, or list its
suppressions (``suppressions()``, one key range: read once, only when the day has a suppressed
alert); with neither, the digest shows the id alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from .model import Suppression, SuppressionLookup

__all__ = ["ListedSuppressions", "suppression_lookup"]


class _Listed(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def author(self) -> str: ...

    @property
    def reason(self) -> str: ...


class ListedSuppressions:
    """``get_suppression`` over a listing, read on the first question and kept."""

    def __init__(self, listing: Callable[[], Iterable[_Listed]]) -> None:
        self._listing = listing
        self._by_id: dict[str, Suppression] | None = None

    def get_suppression(self, suppression_id: str) -> Suppression | None:
        """The listed suppression with this id, or None."""
        if self._by_id is None:
            self._by_id = {item.id: item for item in self._listing()}
        return self._by_id.get(suppression_id)


def suppression_lookup(store: object) -> SuppressionLookup | None:
    """The store itself if it answers ``get_suppression``; a ``ListedSuppressions`` over its
    ``suppressions()``; else None (no suppressions store: ids only)."""
    if isinstance(store, SuppressionLookup):
        return store
    listing = getattr(store, "suppressions", None)
    if callable(listing):
        return ListedSuppressions(listing)
    return None
