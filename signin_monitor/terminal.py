"""What every command shares on the terminal: safe text, time options, error lines.

Kept apart from the ``cli`` package so that library code (the report, coverage) uses the same
rules without importing the command line.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Final

from .slack import visible

__all__ = ["error", "safe", "time_argument"]

# C0/C1 controls, line separators and bidirectional overrides (which can disguise text).
_CONTROL: Final = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_RELATIVE: Final = re.compile(r"(\d+)([mhd])")
_UNITS: Final = {"m": "minutes", "h": "hours", "d": "days"}


def safe(text: str) -> str:
    """Terminal-safe: control and invisible characters (escape sequences, zero-width spaces,
    bidirectional marks) shown as ``\\uNNNN``, so event text can neither move the cursor nor
    pass for other text."""
    return visible(_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def time_argument(text: str) -> datetime:
    """An option's time: ISO 8601 (``2026-11-01``, ``2026-11-01T08:00:00Z``) or 30m/12h/7d ago."""
    match = _RELATIVE.fullmatch(text.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return datetime.now(UTC) - timedelta(**{_UNITS[unit]: amount})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: use 2026-11-01, 2026-11-01T08:00:00Z, 30m, 12h or 7d"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def error(message: str) -> None:
    """One ``signin-monitor: error: ...`` line on stderr."""
    print(f"signin-monitor: error: {message}", file=sys.stderr)
