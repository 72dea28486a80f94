"""The command line of a replay run as its own process (crash, lock and writer-thread tests).

Those tests kill, block or race a real ``signin-monitor replay``: a subprocess, not ``main()``.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["replay_command"]


def replay_command(db: Path, *sources: Path) -> list[str]:
    """``python -m signin_monitor replay --json --db DB SOURCE...`` with this interpreter."""
    return [sys.executable, "-m", "signin_monitor", "replay", "--json", "--db", str(db)] + [
        str(source) for source in sources
    ]
