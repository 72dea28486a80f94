"""The SVG chart writer: axes, totals, stacking and escaping."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from signin_monitor.report.svg import Series, bar_chart, column_chart, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 (our own output)


def _texts(svg: str) -> list[str]:
    root = _parse(svg)
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


@pytest.mark.parametrize(
    ("maximum", "expected"),
    [
        (0, [0, 1]),
        (3, [0, 1, 2, 3]),
        (22, [0, 5, 10, 15, 20, 25]),
        (980, list(range(0, 1001, 200))),
    ],
)
def test_ticks_are_round_numbers_from_zero_past_the_maximum(
    maximum: int, expected: list[int]
) -> None:
    assert nice_ticks(maximum) == expected


def test_a_stacked_column_chart_shows_each_total_and_both_axis_labels() -> None:
    # GIVEN two days of successes and failures
    svg = column_chart(
        title="Sign-ins",
        categories=["2026-11-02", "2026-11-03"],
        series=[Series("Success", [6, 1], "s-success"), Series("Failure", [16, 0], "s-failure")],
        x_label="day (UTC)",
        y_label="console sign-ins",
    )
    texts = _texts(svg)
    # THEN each column is topped by its total, and the axes and legend are labelled
    assert {"22", "1", "day (UTC)", "console sign-ins", "Success", "Failure"} <= set(texts)
    assert {"2026-11-02", "2026-11-03"} <= set(texts)
    # AND a zero value draws no rectangle: 3 bars + 2 legend squares
    assert len(_parse(svg).findall(f"{SVG}rect")) == 5


def test_bar_heights_are_proportional_to_the_values() -> None:
    svg = bar_chart(
        title="t",
        categories=["a", "b"],
        series=[Series("n", [2, 4], "s-bar")],
        x_label="x",
        y_label="y",
    )
    widths = [float(r.get("width", 0)) for r in _parse(svg).findall(f"{SVG}rect")][1:]
    assert widths[1] == pytest.approx(2 * widths[0], rel=0.01)


def test_labels_and_names_are_escaped_and_the_svg_stays_well_formed() -> None:
    # GIVEN a hostile category and series name
    hostile = '<script>alert(1)</script>"&'
    svg = bar_chart(
        title=hostile,
        categories=[hostile],
        series=[Series(hostile, [3], "s-bar")],
        x_label=hostile,
        y_label="y",
    )
    # THEN no raw markup appears, the text reads back as the original, and XML parses
    assert "<script" not in svg
    assert hostile in _texts(svg)
    assert re.search(r"&lt;script&gt;", svg)


def test_a_series_of_the_wrong_length_or_a_negative_value_is_refused() -> None:
    with pytest.raises(ValueError, match="expected 2"):
        column_chart(
            title="t",
            categories=["a", "b"],
            series=[Series("s", [1], "c")],
            x_label="x",
            y_label="y",
        )
    with pytest.raises(ValueError, match="negative"):
        bar_chart(
            title="t", categories=["a"], series=[Series("s", [-1], "c")], x_label="x", y_label="y"
        )


def test_an_all_zero_chart_still_draws_its_axes() -> None:
    svg = column_chart(
        title="t", categories=["d"], series=[Series("s", [0], "c")], x_label="x", y_label="y"
    )
    assert {"0", "1", "x", "y"} <= set(_texts(svg))
