"""The inline SVG charts of the support home (hogsend_site/charts.py)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from hogsend_site.charts import (
    Series,
    bar_chart,
    data_table,
    line_chart,
    nice_scale,
    percent,
    signed,
)

SVG = "{http://www.w3.org/2000/svg}"
# The body's colour or an admin CSS variable (with its light-theme fallback).
THEMED = re.compile(r"currentColor|var\(--[\w-]+(, #[0-9a-f]{3,6})?\)")


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def drawn(root: ET.Element) -> list[ET.Element]:
    return [element for element in root.iter() if "data-value" in element.attrib]


def test_a_bar_chart_draws_a_bar_per_value_with_its_tooltip_and_data():
    root = parse(bar_chart(chart_id="c", title="Alerts", labels=["Mon", "Tue"],
                           series=[Series("Opened", [2, 4], notes=["", "busy"])]))
    bars = drawn(root)
    assert [(b.get("data-label"), b.get("data-value")) for b in bars] == [("Mon", "2"),
                                                                          ("Tue", "4")]
    assert float(bars[1].get("height")) == pytest.approx(2 * float(bars[0].get("height")), abs=0.1)
    assert bars[1].find(f"{SVG}title").text == "Opened, Tue: 4 (busy)"
    assert root.get("role") == "img" and root.get("aria-label") == "Alerts"
    assert root.find(f"{SVG}desc").text == "Opened: Mon 2; Tue 4 (busy)."


def test_the_axes_are_labelled_and_ticked_at_round_numbers():
    root = parse(line_chart(chart_id="c", title="Rate", labels=["1 Jun", "8 Jun"],
                            series=[Series("A", [10, 60])], x_label="Week", y_label="% answered",
                            y_min=0, y_max=100, fmt=percent))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"0%", "25%", "50%", "75%", "100%", "Week", "% answered", "1 Jun", "8 Jun"} <= set(
        texts)


def test_no_data_draws_no_axes_and_says_so():
    for labels, series in (([], []), (["Mon"], [Series("A", [None])]), (["Mon"], [])):
        root = parse(bar_chart(chart_id="c", title="Empty", labels=labels, series=series))
        assert drawn(root) == []
        assert [t.text for t in root.iter(f"{SVG}text")] == ["Empty", "No data yet"]
        assert root.find(f"{SVG}desc").text == "Empty: no data yet."


def test_one_point_is_a_marker_without_a_line():
    root = parse(line_chart(chart_id="c", title="One", labels=["1 Jun", "8 Jun"],
                            series=[Series("A", [None, 40])], y_min=0, y_max=100))
    (point,) = drawn(root)
    assert (point.get("data-label"), point.get("data-value")) == ("8 Jun", "40")
    (path,) = root.iter(f"{SVG}path")
    assert path.get("d").count("M") == 1 and "L" not in path.get("d")


def test_a_missing_value_breaks_the_line():
    root = parse(line_chart(chart_id="c", title="Gap", labels=list("abcde"),
                            series=[Series("A", [1, 2, None, 4, 5])]))
    (path,) = root.iter(f"{SVG}path")
    assert path.get("d").count("M") == 2 and path.get("d").count("L") == 2


def test_negative_values_hang_below_the_zero_line_in_their_own_colour():
    root = parse(bar_chart(chart_id="n", title="NPS", labels=["a", "b"], y_min=-100, y_max=100,
                           fmt=signed, series=[Series("NPS", [50, -25], colour="var(--up)",
                                                      negative_colour="var(--down)")]))
    (zero,) = [line for line in root.iter(f"{SVG}line") if line.get("class") == "zero"]
    up, down = drawn(root)
    zero_y = float(zero.get("y1"))
    assert float(up.get("y")) + float(up.get("height")) == pytest.approx(zero_y, abs=0.1)
    assert float(down.get("y")) == pytest.approx(zero_y, abs=0.1)
    assert float(down.get("height")) == pytest.approx(float(up.get("height")) / 2, abs=0.1)
    assert (up.get("style"), down.get("style")) == ("fill:var(--up)", "fill:var(--down)")
    assert down.get("data-value") == "-25" and down.find(f"{SVG}title").text == "NPS, b: −25"
    assert "+100" in [t.text for t in root.iter(f"{SVG}text")]


def test_every_colour_comes_from_the_page_so_dark_mode_follows():
    root = parse(line_chart(chart_id="c", title="Two", labels=["a", "b"],
                            series=[Series("A", [1, 2]), Series("B", [2, 1])]))
    for element in root.iter():
        for attribute in ("fill", "stroke"):
            assert element.get(attribute) in (None, "none", "currentColor"), element.attrib
        for colour in re.findall(r"(?:fill|stroke):([^;]+)", element.get("style") or ""):
            assert THEMED.fullmatch(colour), colour
    lines = list(root.iter(f"{SVG}path"))
    assert lines[0].get("stroke-dasharray") is None and lines[1].get("stroke-dasharray")
    markers = [element.tag for element in drawn(root)]
    assert markers == [f"{SVG}circle"] * 2 + [f"{SVG}polygon"] * 2  # shapes differ too


def test_text_is_escaped():
    root = parse(bar_chart(chart_id="c", title="<b>&", labels=['"x"'],
                           series=[Series("<script>", [1])]))
    assert root.get("aria-label") == "<b>&"
    assert drawn(root)[0].get("data-series") == "<script>"


def test_many_days_print_every_other_label_and_always_the_last():
    labels = [f"d{n}" for n in range(14)]
    root = parse(bar_chart(chart_id="c", title="Days", labels=labels,
                           series=[Series("A", [1] * 14)]))
    printed = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "x-label"]
    assert printed == labels[1::2] and len(drawn(root)) == 14


def test_the_numbers_table_has_headers_for_rows_and_columns():
    table = str(data_table(caption="NPS", labels=["1 Jun"], label_header="Week", fmt=signed,
                           series=[Series("NPS", [-10], notes=["1 detractor"])]))
    assert table == ('<table><caption>NPS</caption><thead><tr><th scope="col">Week</th>'
                     '<th scope="col">NPS</th></tr></thead><tbody><tr><th scope="row">1 Jun</th>'
                     "<td>−10 (1 detractor)</td></tr></tbody></table>")


@pytest.mark.parametrize(("low", "high", "whole", "ticks"), [
    (0, 100, False, [0, 25, 50, 75, 100]),
    (-100, 100, False, [-100, -50, 0, 50, 100]),
    (0, 3, True, [0, 1, 2, 3]),
    (0, 0, True, [0, 1]),
    (0, 7, True, [0, 2, 4, 6, 8]),
])
def test_scales_round_out_to_round_steps(low, high, whole, ticks):
    assert nice_scale(low, high, whole=whole)[2] == ticks
