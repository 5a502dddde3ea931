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
            # The labels at either end keep inside the drawing.
            anchor = "end" if index == len(labels) - 1 and len(labels) > 1 else "start" if index == 0 else "middle"
            parts.append(
                f'<text class="label" x="{x_of(index):.1f}" y="{height - 14}" text-anchor="{anchor}">'
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
class FlowStage:
    label: str
    value: float
    shown: str = ""  # the value as text; default: the number
    conversion: str = ""  # on the arrow into this stage, e.g. "92%"
    dropped: str = ""  # under that arrow, e.g. "8 stopped"
    notes: Sequence[str] = ()  # lines under the box, e.g. the stage's rules and what they sent
    description: str = ""  # shown on hover (the stage's <title>)
    href: str = ""  # where a click on the stage leads, e.g. its list of orders


def flow_chart(
    stages: Sequence[FlowStage],
    *,
    title: str,
    column: int = 150,
    box_height: int = 150,
    maximum: float | None = None,
) -> SafeString:
    """Stages left to right as boxes whose heights follow their values, with arrows carrying the conversion.

    Each stage is a link (label, figure and box) when it has an `href`; its `description` shows on hover.
    The chart is `column` wide per stage; wrap it in `.insight-flow` to scroll sideways on a narrow screen.
    """
    top = maximum if maximum is not None else max((stage.value for stage in stages), default=0)
    gap = 46  # the arrow between two boxes
    box_width = column - gap
    box_top, notes_top = 52, 52 + box_height + 18
    lines = max((len(stage.notes) for stage in stages), default=0)
    height = notes_top + lines * 16 + 4
    width = column * len(stages) - gap + 2
    middle = box_top + box_height / 2
    parts = []
    for index, stage in enumerate(stages):
        x = index * column + 1
        size = 0.0 if not top else max(0.0, min(1.0, stage.value / top)) * box_height
        size = max(size, 3.0) if stage.value else 1.0
        centre = x + box_width / 2
        shown = escape(stage.shown or _number(stage.value))
        tone = "stage" if stage.value else "stage empty"
        group = (
            f'<text class="label" x="{centre:.1f}" y="16" text-anchor="middle">{escape(_clip(stage.label, 16))}</text>'
            f'<text class="value big" x="{centre:.1f}" y="40" text-anchor="middle">{shown}</text>'
            f'<rect class="track" x="{x}" y="{box_top}" width="{box_width}" height="{box_height}" rx="4"/>'
            f'<rect class="bar {tone}" x="{x}" y="{middle - size / 2:.1f}" width="{box_width}" height="{size:.1f}" '
            'rx="4"/>'
        )
        if stage.description:
            group = f"<title>{escape(stage.label)}: {escape(stage.description)}</title>{group}"
        if stage.href:
            group = f'<a href="{escape(stage.href)}" class="flow-stage">{group}</a>'
        else:
            group = f'<g class="flow-stage">{group}</g>'
        parts.append(group)
        for line, note in enumerate(stage.notes):
            parts.append(
                f'<text class="note" x="{centre:.1f}" y="{notes_top + line * 16}" text-anchor="middle">'
                f"{escape(_clip(note, 22))}</text>"
            )
        if index:
            start, end = x - gap + 6, x - 6
            head = f"M{end - 6},{middle - 5:.1f} L{end},{middle:.1f} L{end - 6},{middle + 5:.1f} Z"
            parts.append(
                f'<line class="flow-arrow" x1="{start}" y1="{middle:.1f}" x2="{end - 4}" y2="{middle:.1f}"/>'
                f'<path class="flow-head" d="{head}"/>'
                f'<text class="value" x="{(start + end) / 2:.1f}" y="{middle - 8:.1f}" text-anchor="middle">'
                f"{escape(stage.conversion)}</text>"
            )
            if stage.dropped:
                parts.append(
                    f'<text class="note bad" x="{(start + end) / 2:.1f}" y="{middle + 20:.1f}" text-anchor="middle">'
                    f"{escape(_clip(stage.dropped, 10))}</text>"
                )
    return _svg(width, height, title, "".join(parts))


@dataclass(frozen=True)
class Interval:
    label: str
    value: float  # the estimate, e.g. a lift of 0.042
    low: float  # its interval
    high: float
    shown: str = ""  # the estimate as text, e.g. "+4.2"
    tone: str = ""  # "", "good", "bad" or "muted"
    href: str = ""


def interval_chart(
    rows: Sequence[Interval],
    *,
    title: str,
    width: int = 640,
    unit: float = 100.0,
    suffix: str = "",
    label_width: int = LABEL_WIDTH,
) -> SafeString:
    """Estimates with their intervals around a zero line, one row each (a dot on a whisker), e.g. a rule's lift.

    The scale is symmetric around zero, so a whisker crossing the middle line reads at once as "could be no
    effect". `unit` turns values into the numbers on the axis (100: fractions shown as percentage points).
    """
    reach = max([abs(bound) for row in rows for bound in (row.low, row.high)] + [0.01])
    track = width - label_width - VALUE_WIDTH
    middle = label_width + track / 2

    def x_of(value: float) -> float:
        return middle + max(-1.0, min(1.0, value / reach)) * (track / 2 - 4)

    parts = []
    for index, row in enumerate(rows):
        y = index * ROW_HEIGHT + 13
        label, shown = escape(_clip(row.label, label_width // 7)), escape(row.shown or _number(row.value * unit))
        tone = escape(row.tone)
        part = (
            f'<line class="whisker {tone}" x1="{x_of(row.low):.1f}" y1="{y}" x2="{x_of(row.high):.1f}" y2="{y}"/>'
            f'<line class="whisker {tone}" x1="{x_of(row.low):.1f}" y1="{y - 5}" x2="{x_of(row.low):.1f}" '
            f'y2="{y + 5}"/>'
            f'<line class="whisker {tone}" x1="{x_of(row.high):.1f}" y1="{y - 5}" x2="{x_of(row.high):.1f}" '
            f'y2="{y + 5}"/>'
            f'<circle class="point {tone}" cx="{x_of(row.value):.1f}" cy="{y}" r="4"/>'
            f'<text class="label" x="{label_width - 8}" y="{y + 4}" text-anchor="end">{label}</text>'
            f'<text class="value" x="{width - VALUE_WIDTH + 8}" y="{y + 4}">{shown}</text>'
        )
        if row.href:
            part = f'<a href="{escape(row.href)}">{part}</a>'
        parts.append(part)
    height = max(1, len(rows)) * ROW_HEIGHT + 22
    bottom = height - 20
    axis = (
        f'<line class="axis" x1="{middle:.1f}" y1="0" x2="{middle:.1f}" y2="{bottom}"/>'
        f'<text class="label" x="{x_of(-reach):.1f}" y="{height - 4}" text-anchor="start">'
        f"−{_number(reach * unit)}{escape(suffix)}</text>"
        f'<text class="label" x="{middle:.1f}" y="{height - 4}" text-anchor="middle">0</text>'
        f'<text class="label" x="{x_of(reach):.1f}" y="{height - 4}" text-anchor="end">'
        f"+{_number(reach * unit)}{escape(suffix)}</text>"
    )
    return _svg(width, height, title, axis + "".join(parts))


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
