"""Build a report folder from a source: one pass over the events, then the page and manifest.

The events stream once: each is written to events.csv and events.jsonl and counted into
``ReportData``; nothing else keeps it. Alerts are read first (they are few next to events) so
the root timeline can say which root event raised one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .files import (
    ALERTS_CSV,
    EVENTS_CSV,
    EVENTS_JSONL,
    REPORT_HTML,
    EventWriter,
    write_alerts,
    write_manifest,
)
from .gather import ReportData
from .page import render_page
from .sources import ReportSource

__all__ = ["FILES", "build_report"]

FILES = (REPORT_HTML, EVENTS_CSV, EVENTS_JSONL, ALERTS_CSV)

#: Called with (seconds of the period covered so far, seconds in the period, events read).
ProgressCallback = Callable[[int, int, int], None]


def build_report(
    source: ReportSource,
    data: ReportData,
    out: Path,
    *,
    version: str,
    progress: ProgressCallback | None = None,
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    """Write report.html, events.csv, events.jsonl, alerts.csv and manifest.json into ``out``.

    ``data`` comes with the period and its alerts already loaded; returns the manifest.
    """
    out.mkdir(parents=True, exist_ok=True)
    generated_at = generated_at or datetime.now(UTC)
    period = data.period
    span = max(1, int((period.until - period.since).total_seconds()))
    with EventWriter(out) as writer:
        for event in source.events():
            writer.write(event)
            data.add(event)
            if progress is not None:
                done = int((event.event_time - period.since).total_seconds())
                progress(min(span, max(0, done)), span, writer.count)
    if progress is not None:
        progress(span, span, data.events)
    alerts = write_alerts(out, data.scoped_alerts())
    store = source.describe()
    page = render_page(data, store=store, version=version, generated_at=generated_at)
    (out / REPORT_HTML).write_text(page, encoding="utf-8")
    return write_manifest(
        out,
        files=FILES,
        version=version,
        store=store,
        query=period.as_json(),
        counts={"events": data.events, "alerts": alerts, "root_events": len(data.root)},
        generated_at=generated_at,
    )
