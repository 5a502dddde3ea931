"""Charts drawn on the server as inline SVG: no script, no external file, readable in both admin themes.

Shapes and text take their colours from CSS classes (`templates/admin/insight/base.html`) that use
the admin's theme variables (--body-fg, --primary, ...), so a chart follows the light or dark theme
the person chose. Every chart carries a <title> and an aria-label naming what it shows; the figures
are also in a table next to it (and in its CSV).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

ROW_HEIGHT = 26
LABEL_WIDTH = 180
VALUE_WIDTH = 90


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str = ""  # the value as text, e.g. "12.5%"; default: the number
    tone: str = ""  # "", "good", "bad" or "muted": a CSS class of the bar
    href: str = ""  # where a click on the bar leads


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per label of the chart; None: no figure that day/week
    tone: str = ""


def _svg(width: int, height: int, title: str, body: str) -> SafeString:
    # Every text inside was escaped where it was placed; numbers are formatted by us.
    return mark_safe(  # noqa: S308
        f'<svg class="insight-chart" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{body}</svg>'
    )


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def bar_chart(bars: Sequence[Bar], *, title: str, width: int = 640, maximum: float | None = None) -> SafeString:
    """Horizontal bars, one row each, longest = `maximum` (default: the largest value)."""
    top = maximum if maximum is not None else max((bar.value for bar in bars), default=0)
    track = width - LABEL_WIDTH - VALUE_WIDTH
    parts = []
    for index, bar in enumerate(bars):
        y = index * ROW_HEIGHT
        length = 0 if not top else max(0.0, min(1.0, bar.value / top)) * track
        label, shown = escape(_clip(bar.label, 28)), escape(bar.shown or _number(bar.value))
        row = (
            f'<rect class="track" x="{LABEL_WIDTH}" y="{y + 5}" width="{track}" height="16" rx="3"/>'
            f'<rect class="bar {escape(bar.tone)}" x="{LABEL_WIDTH}" y="{y + 5}" width="{length:.1f}" '
            'height="16" rx="3"/>'
            f'<text class="label" x="{LABEL_WIDTH - 8}" y="{y + 17}" text-anchor="end">{label}</text>'
            f'<text class="value" x="{width - VALUE_WIDTH + 8}" y="{y + 17}">{shown}</text>'
        )
        if bar.href:
            row = f'<a href="{escape(bar.href)}">{row}</a>'
        parts.append(row)
    height = max(ROW_HEIGHT, len(bars) * ROW_HEIGHT) + 4
    return _svg(width, height, title, "".join(parts))


def column_chart(bars: Sequence[Bar], *, title: str, width: int = 360, height: int = 180) -> SafeString:
    """Vertical columns with their label under and value over each, e.g. a rating distribution."""
    top = max((bar.value for bar in bars), default=0)
    plot = height - 40
    slot = width / max(1, len(bars))
    parts = []
    for index, bar in enumerate(bars):
        size = 0 if not top else bar.value / top * plot
        x = index * slot + slot * 0.15
        middle = x + slot * 0.35
        parts.append(
            f'<rect class="bar {escape(bar.tone)}" x="{x:.1f}" y="{20 + plot - size:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{size:.1f}" rx="2"/>'
            f'<text class="value" x="{middle:.1f}" y="{16 + plot - size:.1f}" text-anchor="middle">'
            f"{escape(bar.shown or _number(bar.value))}</text>"
            f'<text class="label" x="{middle:.1f}" y="{height - 6}" text-anchor="middle">'
            f"{escape(_clip(bar.label, 14))}</text>"
        )
    return _svg(width, height, title, "".join(parts))


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    width: int = 640,
    height: int = 220,
    minimum: float | None = None,
    maximum: float | None = None,
) -> SafeString:
    """Lines over time (one point per label), gaps where a value is None, with a legend when several."""
    values = [value for line in series for value in line.values if value is not None]
    low = minimum if minimum is not None else min(values + [0])
    high = maximum if maximum is not None else max(values + [low + 1])
    if high == low:
        high = low + 1
    left, right, top, bottom = 48, 12, 14, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(labels) - 1)

    def x_of(index: int) -> float:
        return left + index * step if len(labels) > 1 else left + plot_w / 2

    def y_of(value: float) -> float:
        return top + (high - value) / (high - low) * plot_h

    parts = [f'<line class="axis" x1="{left}" y1="{y_of(low):.1f}" x2="{width - right}" y2="{y_of(low):.1f}"/>']
    for mark in (low, (low + high) / 2, high):
        parts.append(
            f'<line class="grid" x1="{left}" y1="{y_of(mark):.1f}" x2="{width - right}" y2="{y_of(mark):.1f}"/>'
            f'<text class="label" x="{left - 6}" y="{y_of(mark) + 4:.1f}" text-anchor="end">{_number(mark)}</text>'
        )
    every = max(1, len(labels) // 8)
    for index, label in enumerate(labels):
        if index % every == 0 or index == len(labels) - 1:
            parts.append(
                f'<text class="label" x="{x_of(index):.1f}" y="{height - 14}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    for number, line in enumerate(series):
        runs, run = [], []
        for index, value in enumerate(line.values):
            if value is None:
                runs, run = runs + [run] if run else runs, []
            else:
                run.append(f"{x_of(index):.1f},{y_of(value):.1f}")
        runs = runs + [run] if run else runs
        tone = escape(line.tone or f"series-{number}")
        for points in runs:
            if len(points) == 1:
                x, y = points[0].split(",")
                parts.append(f'<circle class="point {tone}" cx="{x}" cy="{y}" r="3"/>')
            else:
                parts.append(f'<polyline class="line {tone}" points="{" ".join(points)}"/>')
        if len(series) > 1:
            parts.append(
                f'<rect class="bar {escape(tone)}" x="{left + number * 140}" y="{height - 10}" width="10" height="10"/>'
                f'<text class="label" x="{left + 14 + number * 140}" y="{height - 1}">'
                f"{escape(_clip(line.name, 18))}</text>"
            )
    if len(series) > 1:
        height += 6
    return _svg(width, height, title, "".join(parts))


def _clip(text: str, length: int) -> str:
    text = str(text)
    return text if len(text) <= length else text[: length - 1] + "…"


@dataclass(frozen=True)
class BarPair:
    label: str
    before: float  # the period before, drawn thin and muted
    after: float  # this period
    shown: str = ""  # the values as text, e.g. "12.5 (was 8.0)"; default: "after (was before)"
    tone: str = ""  # CSS class of this period's bar, e.g. "bad" when it grew worse


def bar_pair_chart(
    pairs: Sequence[BarPair], *, title: str, before_label: str, after_label: str, width: int = 640
) -> SafeString:
    """Horizontal bars of this period, each over a thin bar of the period before: the trend at a glance."""
    top = max((max(pair.before, pair.after) for pair in pairs), default=0)
    track = width - LABEL_WIDTH - VALUE_WIDTH - 30
    row_height = ROW_HEIGHT + 4
    parts = []
    for index, pair in enumerate(pairs):
        y = index * row_height
        before = 0 if not top else max(0.0, pair.before / top) * track
        after = 0 if not top else max(0.0, pair.after / top) * track
        shown = pair.shown or f"{_number(pair.after)} ({_number(pair.before)})"
        parts.append(
            f'<rect class="bar muted" x="{LABEL_WIDTH}" y="{y + 4}" width="{before:.1f}" height="5" rx="2"/>'
            f'<rect class="bar {escape(pair.tone)}" x="{LABEL_WIDTH}" y="{y + 11}" width="{after:.1f}" '
            'height="14" rx="3"/>'
            f'<text class="label" x="{LABEL_WIDTH - 8}" y="{y + 21}" text-anchor="end">'
            f"{escape(_clip(pair.label, 28))}</text>"
            f'<text class="value" x="{width - VALUE_WIDTH - 22}" y="{y + 21}">{escape(shown)}</text>'
        )
    legend_y = len(pairs) * row_height + 8
    parts.append(
        f'<rect class="bar muted" x="{LABEL_WIDTH}" y="{legend_y}" width="10" height="5" rx="2"/>'
        f'<text class="label" x="{LABEL_WIDTH + 14}" y="{legend_y + 7}">{escape(before_label)}</text>'
        f'<rect class="bar" x="{LABEL_WIDTH + 180}" y="{legend_y - 2}" width="10" height="10" rx="2"/>'
        f'<text class="label" x="{LABEL_WIDTH + 194}" y="{legend_y + 7}">{escape(after_label)}</text>'
    )
    return _svg(width, legend_y + 16, title, "".join(parts))
