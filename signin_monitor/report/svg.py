"""A small SVG chart writer: stacked column charts and horizontal bar charts, as inline SVG text.

Why our own: two chart shapes, no JavaScript, no fonts or network, colours from CSS classes (so
the page's light, dark and print styles recolour them), every label escaped. A plotting library
would bring a large dependency for less control over escaping and print.

Every chart carries axis labels, a total per bar and a ``<title>``/``aria-label``; the page puts
a table of the same numbers beside it.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Series", "bar_chart", "column_chart", "nice_ticks"]

_FONT = 11
_CHAR_WIDTH = 6.4  # rough width of one character at 11px, for label room


@dataclass(frozen=True, slots=True)
class Series:
    """One stacked layer: its legend name, one value per category, and its CSS class."""

    name: str
    values: Sequence[int]
    css_class: str


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def nice_ticks(maximum: int, *, count: int = 5) -> list[int]:
    """Round axis ticks from 0 to at least ``maximum`` (1, 2 or 5 times a power of ten apart)."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / count
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(1, int(step))
    top = step * math.ceil(maximum / step)
    return list(range(0, top + 1, step))


def _check(categories: Sequence[str], series: Sequence[Series]) -> None:
    for layer in series:
        if len(layer.values) != len(categories):
            raise ValueError(
                f"series {layer.name!r} has {len(layer.values)} values, expected {len(categories)}"
            )
        if any(value < 0 for value in layer.values):
            raise ValueError(f"series {layer.name!r} has a negative value")


def _legend(series: Sequence[Series], x: float, y: float) -> list[str]:
    parts: list[str] = []
    for layer in series:
        parts.append(
            f'<rect class="{_e(layer.css_class)}" x="{x:.1f}" y="{y - 9:.1f}" width="10" '
            f'height="10"/><text class="legend" x="{x + 14:.1f}" y="{y:.1f}">{_e(layer.name)}'
            "</text>"
        )
        x += 24 + _CHAR_WIDTH * len(layer.name)
    return parts


def column_chart(
    *,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    height: int = 260,
) -> str:
    """Vertical stacked columns, one per category, each topped by its total."""
    _check(categories, series)
    totals = [sum(layer.values[i] for layer in series) for i in range(len(categories))]
    ticks = nice_ticks(max(totals, default=0))
    left, right, top, bottom = 56, 12, 34, 64
    column = max(12.0, min(48.0, 720 / max(1, len(categories))))
    width = max(320.0, left + right + column * len(categories))
    plot = height - top - bottom
    scale = plot / ticks[-1]
    every = max(1, math.ceil(len(categories) / 31))  # at most ~31 labels on long ranges
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-label="{_e(title)}" width="{width:.0f}" height="{height}" '
        f'viewBox="0 0 {width:.0f} {height}" font-size="{_FONT}">',
        f"<title>{_e(title)}</title>",
    ]
    out += _legend(series, left, 14)
    for tick in ticks:
        y = top + plot - tick * scale
        out.append(
            f'<line class="grid" x1="{left}" x2="{width - right:.1f}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:,}</text>'
        )
    for i, category in enumerate(categories):
        x = left + i * column
        base = float(top + plot)
        for layer in series:
            value = layer.values[i]
            if value:
                h = value * scale
                base -= h
                out.append(
                    f'<rect class="{_e(layer.css_class)}" x="{x + 2:.1f}" y="{base:.1f}" '
                    f'width="{column - 4:.1f}" height="{h:.1f}"><title>{_e(category)} '
                    f"{_e(layer.name)}: {value:,}</title></rect>"
                )
        if totals[i]:
            out.append(
                f'<text class="total" x="{x + column / 2:.1f}" y="{base - 3:.1f}" '
                f'text-anchor="middle">{totals[i]:,}</text>'
            )
        if i % every == 0:
            lx, ly = x + column / 2, top + plot + 10
            out.append(
                f'<text class="tick" x="{lx:.1f}" y="{ly:.1f}" text-anchor="end" '
                f'transform="rotate(-45 {lx:.1f} {ly:.1f})">{_e(category)}</text>'
            )
    out.append(
        f'<line class="axis" x1="{left}" x2="{width - right:.1f}" y1="{top + plot}" '
        f'y2="{top + plot}"/>'
        f'<text class="label" x="{left + (width - left - right) / 2:.1f}" y="{height - 4}" '
        f'text-anchor="middle">{_e(x_label)}</text>'
        f'<text class="label" x="12" y="{top + plot / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + plot / 2:.1f})">{_e(y_label)}</text>'
        "</svg>"
    )
    return "".join(out)


def bar_chart(
    *,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    width: int = 560,
) -> str:
    """Horizontal stacked bars, one per category (long names read better sideways)."""
    _check(categories, series)
    totals = [sum(layer.values[i] for layer in series) for i in range(len(categories))]
    ticks = nice_ticks(max(totals, default=0))
    shown = [c if len(c) <= 28 else c[:27] + "\u2026" for c in categories]
    left = 16 + _CHAR_WIDTH * max((len(c) for c in shown), default=4)
    left = min(left, width / 2)
    right, top, bottom, row = 40, 34, 40, 22
    height = top + bottom + row * max(1, len(categories))
    plot = width - left - right
    scale = plot / ticks[-1]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-label="{_e(title)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-size="{_FONT}">',
        f"<title>{_e(title)}</title>",
    ]
    out += _legend(series, left, 14)
    for tick in ticks:
        x = left + tick * scale
        out.append(
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" '
            f'y2="{height - bottom}"/><text class="tick" x="{x:.1f}" y="{height - bottom + 14}" '
            f'text-anchor="middle">{tick:,}</text>'
        )
    for i, name in enumerate(shown):
        y = top + i * row
        x = left
        for layer in series:
            value = layer.values[i]
            if value:
                w = value * scale
                out.append(
                    f'<rect class="{_e(layer.css_class)}" x="{x:.1f}" y="{y + 3}" '
                    f'width="{w:.1f}" height="{row - 6}"><title>{_e(categories[i])} '
                    f"{_e(layer.name)}: {value:,}</title></rect>"
                )
                x += w
        out.append(
            f'<text class="tick" x="{left - 6:.1f}" y="{y + row / 2 + 4:.1f}" '
            f'text-anchor="end">{_e(name)}</text>'
            f'<text class="total" x="{x + 4:.1f}" y="{y + row / 2 + 4:.1f}">{totals[i]:,}</text>'
        )
    out.append(
        f'<line class="axis" x1="{left:.1f}" x2="{left:.1f}" y1="{top}" y2="{height - bottom}"/>'
        f'<text class="label" x="{left + plot / 2:.1f}" y="{height - 6}" '
        f'text-anchor="middle">{_e(x_label)}</text>'
        f'<text class="label" x="4" y="{top - 6}">{_e(y_label)}</text>'
        "</svg>"
    )
    return "".join(out)
