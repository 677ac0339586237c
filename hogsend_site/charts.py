"""Small charts drawn on the server: bar and line charts as inline SVG.

No script and no CDN: the chart is markup in the page. Colours come from the page
(`currentColor` and the admin's CSS variables, with light-theme fallbacks), so a
chart follows the admin's light and dark themes; series also differ by dash
pattern and marker shape, never by colour alone.

Every chart is an `<svg role="img">` named by its title (`aria-label`, `<title>`)
and described by a `<desc>` that reads out every value; each bar and point has
its own `<title>` (the browser's tooltip) and `data-series`, `data-label` and
`data-value` attributes. `data_table` gives the same numbers as an HTML table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# (colour, dash pattern, marker): the n-th series takes the n-th entry. Link and
# error colours and the body's own colour contrast with both admin themes.
PALETTE = (
    ("var(--link-fg, #417893)", "", "circle"),
    ("var(--error-fg, #ba2121)", "6 3", "square"),
    ("currentColor", "2 3", "diamond"),
    ("var(--body-quiet-color, #666)", "8 3 2 3", "triangle"),
)
GRID = "var(--border-color, #ccc)"

WIDTH = 520
PLOT_HEIGHT = 170
LEFT, RIGHT, BOTTOM = 58, 16, 46
TITLE_Y, LEGEND_Y, LEGEND_ROW = 18, 38, 16
# Past this many categories only every n-th label is printed (each bar keeps its tooltip).
MAX_X_LABELS = 8
# Legend text width is estimated: SVG text cannot be measured on the server.
CHAR_WIDTH = 6.6

Formatter = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    """One named line or set of bars; `None` is a missing value (a gap, no bar).

    `notes` add a word per point to its tooltip ("3 of 4 sends answered");
    `colour` overrides the palette; `negative_colour` paints bars below zero.
    """

    name: str
    values: Sequence[float | None]
    notes: Sequence[str] = ()
    colour: str = ""
    negative_colour: str = ""


def number(value: float) -> str:
    """12, 12.5: a whole number without decimals, anything else with one."""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def percent(value: float) -> str:
    return f"{value:.0f}%"


def signed(value: float) -> str:
    """+20, −15, 0: a score whose sign matters (NPS)."""
    text = number(abs(value))
    return f"+{text}" if value > 0 else f"−{text}" if value < 0 else text


def bar_chart(*, chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series],
              x_label: str = "", y_label: str = "", y_min: float | None = None,
              y_max: float | None = None, fmt: Formatter = number) -> SafeString:
    """Grouped bars, one group per label; bars below zero hang from the zero line."""
    return _Chart(chart_id, title, labels, series, x_label, y_label, y_min, y_max, fmt,
                  "bar").svg()


def line_chart(*, chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series],
               x_label: str = "", y_label: str = "", y_min: float | None = None,
               y_max: float | None = None, fmt: Formatter = number) -> SafeString:
    """One line per series with a marker per point; a missing value breaks the line."""
    return _Chart(chart_id, title, labels, series, x_label, y_label, y_min, y_max, fmt,
                  "line").svg()


def data_table(*, caption: str, labels: Sequence[str], series: Sequence[Series],
               label_header: str = "", fmt: Formatter = number) -> SafeString:
    """The chart's numbers as a table: a row per label, a column per series."""
    head = "".join(f'<th scope="col">{escape(s.name)}</th>' for s in series)
    rows = []
    for index, label in enumerate(labels):
        cells = "".join(f"<td>{escape(_point_text(s, index, fmt))}</td>" for s in series)
        rows.append(f'<tr><th scope="row">{escape(label)}</th>{cells}</tr>')
    return mark_safe(  # every piece is escaped above
        f'<table><caption>{escape(caption)}</caption><thead><tr>'
        f'<th scope="col">{escape(label_header)}</th>{head}</tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table>')


def nice_scale(low: float, high: float, *, ticks: int = 4,
               whole: bool = False) -> tuple[float, float, list[float]]:
    """An axis from `low` to `high` rounded out to round steps (1, 2, 2.5, 5 × 10ⁿ)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if whole:
        step = max(1, math.ceil(step))
    low, high = math.floor(low / step) * step, math.ceil(high / step) * step
    count = round((high - low) / step)
    return low, high, [low + i * step for i in range(count + 1)]


def _point_text(series: Series, index: int, fmt: Formatter) -> str:
    value = series.values[index] if index < len(series.values) else None
    text = "no data" if value is None else fmt(value)
    note = series.notes[index] if index < len(series.notes) else ""
    return f"{text} ({note})" if note else text


class _Chart:
    def __init__(self, chart_id: str, title: str, labels: Sequence[str],
                 series: Sequence[Series], x_label: str, y_label: str, y_min: float | None,
                 y_max: float | None, fmt: Formatter, kind: str) -> None:
        self.id, self.title, self.labels = chart_id, title, list(labels)
        self.series, self.kind, self.fmt = list(series), kind, fmt
        self.x_label, self.y_label = x_label, y_label
        values = [v for s in self.series for v in s.values[: len(self.labels)] if v is not None]
        self.empty = not values
        whole = all(float(v).is_integer() for v in values)
        low = min([0.0, *values]) if y_min is None else y_min
        high = max([0.0, *values]) if y_max is None else y_max
        self.low, self.high, self.ticks = nice_scale(low, high, whole=whole)
        self.legend = self._legend_rows()
        self.top = LEGEND_Y + LEGEND_ROW * len(self.legend) - 4
        self.height = self.top + PLOT_HEIGHT + BOTTOM
        self.band = (WIDTH - LEFT - RIGHT) / max(len(self.labels), 1)

    # --- geometry -------------------------------------------------------------------

    def y(self, value: float) -> float:
        clamped = min(max(value, self.low), self.high)
        return self.top + PLOT_HEIGHT * (self.high - clamped) / (self.high - self.low)

    def x_centre(self, index: int) -> float:
        return LEFT + self.band * (index + 0.5)

    def style(self, index: int) -> tuple[str, str, str]:
        colour, dash, marker = PALETTE[index % len(PALETTE)]
        return self.series[index].colour or colour, dash, marker

    # --- parts ----------------------------------------------------------------------

    def svg(self) -> SafeString:
        desc = self.description()
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(self.id)}" class="chart" '
            f'role="img" aria-label="{escape(self.title)}" '
            f'aria-describedby="{escape(self.id)}-desc" data-kind="{self.kind}" '
            f'viewBox="0 0 {WIDTH} {self.height:.0f}" width="100%" '
            f'style="max-width:{WIDTH}px;height:auto;color:inherit;font-family:inherit">',
            f"<title>{escape(self.title)}</title>",
            f'<desc id="{escape(self.id)}-desc">{escape(desc)}</desc>',
            f'<text x="{LEFT}" y="{TITLE_Y}" font-size="14" font-weight="600" '
            f'fill="currentColor">{escape(self.title)}</text>',
        ]
        if self.empty:
            middle = self.top + PLOT_HEIGHT / 2
            parts.append(f'<text x="{WIDTH / 2:.1f}" y="{middle:.1f}" text-anchor="middle" '
                         f'font-size="13" fill="currentColor" class="no-data">No data yet</text>')
        else:
            parts += [self.legend_svg(), self.axes(),
                      self.bars() if self.kind == "bar" else self.lines()]
        parts.append("</svg>")
        return mark_safe("".join(parts))  # every text is escaped

    def description(self) -> str:
        if self.empty:
            return f"{self.title}: no data yet."
        sentences = []
        for s in self.series:
            points = [f"{label} {_point_text(s, i, self.fmt)}"
                      for i, label in enumerate(self.labels)]
            sentences.append(f"{s.name}: {'; '.join(points)}.")
        return " ".join(sentences)

    def _legend_rows(self) -> list[list[tuple[int, float]]]:
        rows: list[list[tuple[int, float]]] = [[]]
        x = LEFT
        for index, s in enumerate(self.series):
            width = 30 + CHAR_WIDTH * len(s.name)
            if rows[-1] and x + width > WIDTH - RIGHT:
                rows.append([])
                x = LEFT
            rows[-1].append((index, x))
            x += width + 14
        return rows

    def legend_svg(self) -> str:
        items = []
        for row_number, row in enumerate(self.legend):
            y = LEGEND_Y + row_number * LEGEND_ROW
            for index, x in row:
                colour, dash, marker = self.style(index)
                if self.kind == "bar":
                    swatch = (f'<rect x="{x}" y="{y - 9}" width="18" height="10" '
                              f'style="fill:{colour}"/>')
                else:
                    swatch = (f'<line x1="{x}" y1="{y - 4}" x2="{x + 18}" y2="{y - 4}" '
                              f'stroke-width="2" style="stroke:{colour}"'
                              f'{_dash(dash)}/>{_marker(marker, x + 9, y - 4, colour)}')
                items.append(f'<g class="legend-item">{swatch}<text x="{x + 24:.1f}" y="{y}" '
                             f'font-size="12" fill="currentColor">'
                             f"{escape(self.series[index].name)}</text></g>")
        return f'<g class="legend">{"".join(items)}</g>'

    def axes(self) -> str:
        right, bottom = WIDTH - RIGHT, self.top + PLOT_HEIGHT
        parts = []
        for tick in self.ticks:
            y = self.y(tick)
            parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" '
                         f'stroke-width="1" style="stroke:{GRID}"/>'
                         f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                         f'fill="currentColor">{escape(self.fmt(tick))}</text>')
        if self.low < 0 < self.high:
            zero = self.y(0)
            parts.append(f'<line class="zero" x1="{LEFT}" y1="{zero:.1f}" x2="{right}" '
                         f'y2="{zero:.1f}" stroke="currentColor" stroke-width="1"/>')
        parts.append(f'<line x1="{LEFT}" y1="{self.top:.1f}" x2="{LEFT}" y2="{bottom:.1f}" '
                     f'stroke="currentColor" stroke-width="1"/>')
        every = math.ceil(len(self.labels) / MAX_X_LABELS)
        last = len(self.labels) - 1
        for index, label in enumerate(self.labels):
            if (last - index) % every == 0:  # the newest label is always printed
                parts.append(f'<text class="x-label" x="{self.x_centre(index):.1f}" '
                             f'y="{bottom + 16:.1f}" text-anchor="middle" font-size="11" '
                             f'fill="currentColor">{escape(label)}</text>')
        if self.x_label:
            parts.append(f'<text x="{LEFT + (right - LEFT) / 2:.1f}" y="{self.height - 6:.1f}" '
                         f'text-anchor="middle" font-size="12" fill="currentColor">'
                         f"{escape(self.x_label)}</text>")
        if self.y_label:
            middle = self.top + PLOT_HEIGHT / 2
            parts.append(f'<text transform="rotate(-90)" x="{-middle:.1f}" y="14" '
                         f'text-anchor="middle" font-size="12" fill="currentColor">'
                         f"{escape(self.y_label)}</text>")
        return f'<g class="axes">{"".join(parts)}</g>'

    def _point_attrs(self, s: Series, index: int, value: float) -> str:
        return (f'data-series="{escape(s.name)}" data-label="{escape(self.labels[index])}" '
                f'data-value="{escape(number(value))}"')

    def _tooltip(self, s: Series, index: int) -> str:
        return f"<title>{escape(s.name)}, {escape(self.labels[index])}: " \
               f"{escape(_point_text(s, index, self.fmt))}</title>"

    def bars(self) -> str:
        group = self.band * 0.8
        width = group / len(self.series)
        base = self.y(min(max(0, self.low), self.high))
        parts = []
        for number_, s in enumerate(self.series):
            colour = self.style(number_)[0]
            for index, value in enumerate(s.values[: len(self.labels)]):
                if value is None:
                    continue
                x = LEFT + self.band * index + (self.band - group) / 2 + width * number_
                top, end = sorted((self.y(value), base))
                fill = s.negative_colour if value < 0 and s.negative_colour else colour
                parts.append(f'<rect class="bar" x="{x:.1f}" y="{top:.1f}" '
                             f'width="{width * 0.92:.1f}" height="{end - top:.1f}" '
                             f'style="fill:{fill}" {self._point_attrs(s, index, value)}>'
                             f"{self._tooltip(s, index)}</rect>")
        return f'<g class="bars">{"".join(parts)}</g>'

    def lines(self) -> str:
        parts = []
        for number_, s in enumerate(self.series):
            colour, dash, marker = self.style(number_)
            path, pen_down = [], False
            for index, value in enumerate(s.values[: len(self.labels)]):
                if value is None:
                    pen_down = False
                    continue
                path.append(f"{'L' if pen_down else 'M'}{self.x_centre(index):.1f} "
                            f"{self.y(value):.1f}")
                pen_down = True
            parts.append(f'<path class="line" d="{" ".join(path)}" fill="none" '
                         f'stroke-width="2" style="stroke:{colour}"{_dash(dash)}/>')
            for index, value in enumerate(s.values[: len(self.labels)]):
                if value is None:
                    continue
                shape = _marker(marker, self.x_centre(index), self.y(value), colour,
                                extra=f'class="point" {self._point_attrs(s, index, value)}',
                                title=self._tooltip(s, index))
                parts.append(shape)
        return f'<g class="lines">{"".join(parts)}</g>'


def _dash(pattern: str) -> str:
    return f' stroke-dasharray="{pattern}"' if pattern else ""


def _marker(shape: str, x: float, y: float, colour: str, *, extra: str = "",
            title: str = "") -> str:
    """A point's marker; the shape tells series apart where colours cannot."""
    r = 4.0
    if shape == "circle":
        head = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}"'
        tag = "circle"
    else:
        corners = {
            "square": [(-r, -r), (r, -r), (r, r), (-r, r)],
            "diamond": [(0, -r - 1), (r + 1, 0), (0, r + 1), (-r - 1, 0)],
            "triangle": [(0, -r - 1), (r + 1, r), (-r - 1, r)],
        }[shape]
        points = " ".join(f"{x + dx:.1f},{y + dy:.1f}" for dx, dy in corners)
        head = f'<polygon points="{points}"'
        tag = "polygon"
    head += f' style="fill:{colour}"' + (f" {extra}" if extra else "")
    return f"{head}>{title}</{tag}>" if title else f"{head}/>"


__all__ = ["PALETTE", "Series", "bar_chart", "data_table", "line_chart", "nice_scale", "number",
           "percent", "signed"]
