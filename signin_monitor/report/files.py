"""The report's data files: events.csv and events.jsonl (row by row), alerts.csv, manifest.json.

Events carry the ``history --json`` fields (``event_rows.event_row``, so both stay one
shape). CSV cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab,
carriage return first) get a leading ``'``: a user name is attacker-controlled text.
events.jsonl keeps every value exactly.

The manifest records the SHA-256 and size of every other file, the tool version, the store and
the query, so a copy handed to an auditor can be checked later (``verify_manifest``).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from .. import event_rows as rows
from ..events import SignInEvent, format_time
from .sources import AlertRecord

__all__ = [
    "ALERT_FIELDS",
    "EVENT_FIELDS",
    "MANIFEST",
    "EventWriter",
    "csv_cell",
    "event_row",
    "sha256_file",
    "verify_manifest",
    "write_alerts",
    "write_manifest",
]

EVENTS_CSV = "events.csv"
EVENTS_JSONL = "events.jsonl"
ALERTS_CSV = "alerts.csv"
REPORT_HTML = "report.html"
MANIFEST = "manifest.json"
EVENT_FIELDS = (
    "event_id",
    "event_time",
    "event_name",
    "account_id",
    "principal",
    "identity_type",
    "result",
    "mfa_used",
    "source_ip",
    "region",
    "user_agent",
    "arn",
    "error_message",
)
ALERT_FIELDS = ("event_time", "rule_id", "scope", "event_id", "status", "reason")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def event_row(event: SignInEvent) -> dict[str, Any]:
    """The ``history --json`` object of one event."""
    return rows.event_row(event)


def csv_cell(value: Any) -> str:
    """A CSV cell: empty for null, ``true``/``false`` for booleans, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


class EventWriter:
    """Writes events.csv and events.jsonl one event at a time (nothing is kept in memory)."""

    def __init__(self, folder: Path) -> None:
        self._csv_file: IO[str] = open(folder / EVENTS_CSV, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._jsonl: IO[str] = open(folder / EVENTS_JSONL, "w", encoding="utf-8")  # noqa: SIM115
        self._csv = csv.writer(self._csv_file)
        self._csv.writerow(EVENT_FIELDS)
        self.count = 0

    def write(self, event: SignInEvent) -> None:
        """Append one event to both files."""
        row = event_row(event)
        self._csv.writerow([csv_cell(row[name]) for name in EVENT_FIELDS])
        self._jsonl.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.count += 1

    def close(self) -> None:
        """Flush and close both files."""
        self._csv_file.close()
        self._jsonl.close()

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def write_alerts(folder: Path, alerts: Iterable[AlertRecord]) -> int:
    """alerts.csv: one row per alert claim, oldest first; returns the number of rows."""
    count = 0
    with open(folder / ALERTS_CSV, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(ALERT_FIELDS)
        for alert in alerts:
            writer.writerow([csv_cell(getattr(alert, name)) for name in ALERT_FIELDS])
            count += 1
    return count


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(
    folder: Path,
    *,
    files: Sequence[str],
    version: str,
    store: dict[str, str],
    query: dict[str, Any],
    counts: dict[str, int],
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    """manifest.json: hashes and sizes of ``files``, tool version, store, query and counts."""
    manifest = {
        "tool": "signin-monitor",
        "version": version,
        "generated_at": format_time(generated_at or datetime.now(UTC)),
        "store": store,
        "query": query,
        "counts": counts,
        "files": {
            name: {"sha256": sha256_file(folder / name), "bytes": (folder / name).stat().st_size}
            for name in files
        },
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def verify_manifest(folder: Path) -> list[str]:
    """What does not match manifest.json in ``folder`` (an empty list: the copy is intact)."""
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    problems: list[str] = []
    for name, expected in manifest["files"].items():
        path = folder / name
        if Path(name).name != name:
            problems.append(f"{name}: not a file of this folder")
        elif not path.is_file():
            problems.append(f"{name}: missing")
        elif sha256_file(path) != expected["sha256"]:
            problems.append(f"{name}: SHA-256 differs")
    return problems
