"""Result types shared by every figure, and the text report they print as.

A figure is a list of rows (ours, baseline, ratio, goal, met/missed) plus free-form detail
lines (tables, module lists, notes). Goals are ratios, never absolute times: the baseline runs
on the same machine in the same run, so a slow or busy machine moves both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Figure", "Row", "format_report", "format_table"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One measured quantity beside its baseline.

    ``goal`` is the largest acceptable ``ours / baseline``; ``None`` marks an informational row
    (no goal: reported so a reader can see where time goes, but never "missed").
    """

    metric: str
    ours: float
    baseline: float | None
    unit: str
    goal: float | None = None
    baseline_label: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """``ours / baseline``, or None without a (positive) baseline."""
        if self.baseline is None or self.baseline <= 0:
            return None
        return self.ours / self.baseline

    @property
    def met(self) -> bool | None:
        """True/False against the goal; None for informational rows."""
        ratio = self.ratio
        if self.goal is None or ratio is None:
            return None
        return ratio <= self.goal

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the derived ratio and verdict included."""
        data = asdict(self)
        data["ratio"] = self.ratio
        data["met"] = self.met
        return data


@dataclass(slots=True)
class Figure:
    """One section of the report: numbered like the issue, rows first, details after."""

    number: int
    title: str
    rows: list[Row] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    #: Pass/fail facts that are not ratios (e.g. counted == expected round trips).
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """MET when every goal row and check holds, MISSED if one does not, else INFO."""
        if self.error is not None:
            return "NOT MEASURED"
        verdicts = [row.met for row in self.rows if row.met is not None]
        verdicts += list(self.checks.values())
        if not verdicts:
            return "INFO"
        return "MET" if all(verdicts) else "MISSED"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form of the whole section."""
        return {
            "number": self.number,
            "title": self.title,
            "verdict": self.verdict,
            "error": self.error,
            "rows": [row.as_dict() for row in self.rows],
            "checks": self.checks,
            "details": self.details,
            "data": self.data,
        }


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "MB":
        return f"{value:,.2f} MB"
    if unit == "$":
        return f"${value:,.2f}"
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}".strip()
    if abs(value) >= 10:
        return f"{value:,.1f} {unit}".strip()
    return f"{value:,.2f} {unit}".strip()


def format_table(
    header: list[str], rows: list[list[str]], *, indent: str = "  ", align: str = ""
) -> list[str]:
    """Aligned text columns: ``align`` has one ``l``/``r`` per column (default: first left)."""
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]
    align = align or "l" + "r" * (len(header) - 1)
    out = []
    for index, line in enumerate([header, *rows]):
        cells = [
            cell.ljust(widths[i]) if align[i] == "l" else cell.rjust(widths[i])
            for i, cell in enumerate(line)
        ]
        out.append(indent + "  ".join(cells).rstrip())
        if index == 0:
            out.append(indent + "  ".join("-" * width for width in widths))
    return out


def format_figure(figure: Figure) -> list[str]:
    """One section: title and verdict, the rows table, then the details."""
    lines = [f"== {figure.number}. {figure.title}: {figure.verdict}"]
    if figure.error is not None:
        lines.append(f"  {figure.error}")
    if figure.rows:
        table = []
        for row in figure.rows:
            ratio = row.ratio
            verdict = {True: "met", False: "MISSED", None: "info"}[row.met]
            table.append(
                [
                    row.metric,
                    _number(row.ours, row.unit),
                    _number(row.baseline, row.unit),
                    "-" if ratio is None else f"{ratio:.2f}x",
                    "-" if row.goal is None else f"<= {row.goal:g}x",
                    verdict,
                ]
            )
        lines += format_table(["figure", "ours", "baseline", "ratio", "goal", "verdict"], table)
        baselines = {row.baseline_label for row in figure.rows if row.baseline_label}
        for label in sorted(baselines):
            lines.append(f"  baseline: {label}")
        for row in figure.rows:
            if row.note:
                lines.append(f"  note ({row.metric}): {row.note}")
    lines += [f"  {line}" if line else "" for line in figure.details]
    return lines


def format_report(figures: list[Figure], *, header: list[str]) -> str:
    """The whole report: a header, every figure, and a one-line summary of the verdicts."""
    lines = list(header)
    for figure in figures:
        lines.append("")
        lines += format_figure(figure)
    lines.append("")
    summary = ", ".join(f"{figure.number} {figure.verdict}" for figure in figures)
    lines.append(f"summary: {summary}")
    return "\n".join(lines)
