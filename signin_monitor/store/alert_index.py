"""Keys of the sparse ``by-alert-day`` index: alert claims listed by the day of their event.

Claim items (pk ``ALERT#<rule>#<scope>``, sk ``ALERT``) have no key that lists them by time, and
the audit report must not ``Scan``. Each claim writer adds ``alert_index_attributes(...)`` to
the item; only claims carry ``alert_day``, so the index holds claims and nothing else (sparse),
and one ``Query`` per UTC day lists that day's alerts in time order. ``time_sk`` is the same
attribute (and the same format) the activity indexes sort on.
"""

from __future__ import annotations

from typing import Final

from .schema import time_sort_key

__all__ = [
    "ALERT_DAY_ATTRIBUTE",
    "ALERT_INDEX_ATTRIBUTES",
    "BY_ALERT_DAY",
    "alert_day_key",
    "alert_index_attributes",
]

BY_ALERT_DAY: Final = "by-alert-day"
ALERT_DAY_ATTRIBUTE: Final = "alert_day"
#: What the index copies besides the keys (the table's pk, which names rule and scope, included).
ALERT_INDEX_ATTRIBUTES: Final = ["rule_id", "event_id", "event_time", "status"]


def alert_day_key(event_time: str) -> str:
    """Index partition of every alert whose event happened on that UTC day (ISO 8601 text)."""
    return f"ALERTS#{event_time[:10]}"


def alert_index_attributes(event_time: str, event_id: str) -> dict[str, str]:
    """The two string attributes a claim item carries to appear in ``by-alert-day``.

    Usage (in a claim writer)::

        item.update({k: {"S": v} for k, v in alert_index_attributes(t, eid).items()})
    """
    return {
        ALERT_DAY_ATTRIBUTE: alert_day_key(event_time),
        "time_sk": time_sort_key(event_time, event_id),
    }
