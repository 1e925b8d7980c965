"""A small server-side SVG chart builder for the console dashboards: no JavaScript, no CDN.

Three shapes: line charts over days (several series, dashed ones for plans), daily bar charts,
and horizontal bar rankings. Every data point is an element carrying its figures in data
attributes (data-series, data-date, data-value) and a <title> (the browser's tooltip), so a
screenshot shows the chart and a test can read the exact numbers back.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
INK, QUIET, GRID = "#1f2937", "#6b7280", "#e5e7eb"
PALETTE = {
    "spend": "#2563eb", "plan": "#6b7280", "budget": "#dc2626", "forecast": "#93c5fd",
    "impressions": "#0891b2", "clicks": "#7c3aed", "conversions": "#059669", "viewability": "#d97706",
    "good": "#059669", "bad": "#dc2626",
}
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 20, 58, 34


@dataclass
class Series:
    key: str  # data-series, and the legend's name unless `label` is given
    points: list[tuple[date, object]]  # (day, value or None)
    color: str
    label: str = ""
    dashed: bool = False
    markers: bool = True


@dataclass
class Frame:
    width: int
    height: int
    y_max: float
    first: date
    last: date
    ticks: list[float] = field(default_factory=list)

    @property
    def plot_width(self) -> float:
        return self.width - MARGIN_LEFT - MARGIN_RIGHT

    @property
    def plot_height(self) -> float:
        return self.height - MARGIN_TOP - MARGIN_BOTTOM

    def x(self, day: date) -> float:
        span = max((self.last - self.first).days, 1)
        return MARGIN_LEFT + self.plot_width * (day - self.first).days / span

    def y(self, value) -> float:
        return MARGIN_TOP + self.plot_height * (1 - float(value) / self.y_max)


def nice_ticks(maximum: float, count: int = 5) -> list[float]:
    """0 and round steps (1, 2, 2.5 or 5 × 10^k) up to at least `maximum`."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [step * i for i in range(math.ceil(maximum / step - 1e-9) + 1)]


def compact(value: float) -> str:
    """Axis labels: 1.2k, 3.5M, 0.25."""
    magnitude = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def _attrs(**attributes) -> str:
    return " ".join(f'{name.rstrip("_").replace("_", "-")}="{escape(value)}"' for name, value in attributes.items())


def _text(x, y, content, *, size=12, anchor="start", color=INK, weight="normal", css="") -> str:
    return (
        f'<text {_attrs(x=f"{x:.1f}", y=f"{y:.1f}", font_size=size, text_anchor=anchor, fill=color, font_weight=weight, class_=css)}>'
        f"{escape(content)}</text>"
    )


def _open(name: str, title: str, width: int, height: int, description: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" {_attrs(viewBox=f"0 0 {width} {height}", width=width, height=height, role="img", class_="chart", data_chart=name, font_family=FONT)}>',
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>",
        f'<rect {_attrs(x=0, y=0, width=width, height=height, fill="#ffffff", rx=6)}/>',
        _text(MARGIN_LEFT, 22, title, size=14, weight="600", css="chart-title"),
    ]


def _axes(frame: Frame, fmt: Callable[[float], str]) -> list[str]:
    parts = []
    for tick in frame.ticks:
        y = frame.y(tick)
        parts.append(f'<line {_attrs(x1=MARGIN_LEFT, x2=frame.width - MARGIN_RIGHT, y1=f"{y:.1f}", y2=f"{y:.1f}", stroke=GRID)}/>')
        parts.append(_text(MARGIN_LEFT - 8, y + 4, fmt(tick), size=11, anchor="end", color=QUIET))
    days = (frame.last - frame.first).days
    step = max(1, math.ceil((days + 1) / 8))
    for offset in range(0, days + 1, step):
        day = date.fromordinal(frame.first.toordinal() + offset)
        parts.append(_text(frame.x(day), frame.height - MARGIN_BOTTOM + 18, f"{day:%b} {day.day}", size=11, anchor="middle", color=QUIET))
    return parts


def _legend(series: list[Series]) -> list[str]:
    """A row under the title, left to right (room for long titles and many series)."""
    parts, x = [], MARGIN_LEFT
    for item in series:
        label = item.label or item.key
        dash = ' stroke-dasharray="6 4"' if item.dashed else ""
        parts.append(f'<line x1="{x}" x2="{x + 18}" y1="38" y2="38" stroke="{item.color}" stroke-width="3"{dash}/>')
        parts.append(_text(x + 24, 42, label, size=12, color=INK))
        x += 24 + 7 * len(label) + 22
    return parts


def _empty(name: str, title: str, width: int, height: int) -> SafeString:
    parts = _open(name, title, width, height, "No data")
    parts.append(_text(width / 2, height / 2, "No delivery in this period", anchor="middle", color=QUIET, css="chart-empty"))
    parts.append("</svg>")
    return mark_safe("".join(parts))


def line_chart(*, name: str, title: str, series: list[Series], fmt: Callable[[object], str] = str,
               axis_fmt: Callable[[float], str] = compact, width: int = 560, height: int = 300,
               y_max: float | None = None) -> SafeString:
    """Lines over days; a None value breaks its line."""
    values = [float(v) for s in series for _, v in s.points if v is not None]
    days = [d for s in series for d, _ in s.points]
    if not days or not values:
        return _empty(name, title, width, height)
    ticks = nice_ticks(y_max if y_max is not None else max(values))
    frame = Frame(width, height, ticks[-1] or 1.0, min(days), max(days), ticks)
    parts = _open(name, title, width, height, f"{len(series)} series from {frame.first} to {frame.last}")
    parts += _axes(frame, axis_fmt) + _legend(series)
    for item in series:
        path, pen_down = [], False
        for day, value in item.points:
            if value is None:
                pen_down = False
                continue
            path.append(f"{'L' if pen_down else 'M'}{frame.x(day):.1f},{frame.y(value):.1f}")
            pen_down = True
        dash = {"stroke_dasharray": "6 4"} if item.dashed else {}
        parts.append(f'<path {_attrs(d=" ".join(path), fill="none", stroke=item.color, stroke_width=2.5, stroke_linejoin="round", data_series=item.key, **dash)}/>')
        if item.markers:
            parts.append(f'<g {_attrs(class_="points", data_series=item.key)}>')
            for day, value in item.points:
                if value is None:
                    continue
                parts.append(
                    f'<circle {_attrs(cx=f"{frame.x(day):.1f}", cy=f"{frame.y(value):.1f}", r=2 if item.dashed else 3, fill=item.color, class_="point", data_series=item.key, data_date=day.isoformat(), data_value=value)}>'
                    f"<title>{escape(f'{day.isoformat()} · {item.label or item.key}: {fmt(value)}')}</title></circle>"
                )
            parts.append("</g>")
    parts.append("</svg>")
    return mark_safe("".join(parts))


def bar_chart(*, name: str, title: str, series: Series, fmt: Callable[[object], str] = str,
              width: int = 370, height: int = 220) -> SafeString:
    """One bar per day."""
    points = series.points
    if not points or not any(v for _, v in points):
        return _empty(name, title, width, height)
    ticks = nice_ticks(max(float(v or 0) for _, v in points), count=4)
    frame = Frame(width, height, ticks[-1] or 1.0, points[0][0], points[-1][0], ticks)
    slot = frame.plot_width / max(len(points), 1)
    parts = _open(name, title, width, height, f"Daily {series.label or series.key} from {frame.first} to {frame.last}")
    for tick in ticks:
        y = frame.y(tick)
        parts.append(f'<line {_attrs(x1=MARGIN_LEFT, x2=width - MARGIN_RIGHT, y1=f"{y:.1f}", y2=f"{y:.1f}", stroke=GRID)}/>')
        parts.append(_text(MARGIN_LEFT - 8, y + 4, compact(tick), size=11, anchor="end", color=QUIET))
    step = max(1, math.ceil(len(points) / 5))
    parts.append(f'<g {_attrs(class_="bars", data_series=series.key)}>')
    for index, (day, value) in enumerate(points):
        x = MARGIN_LEFT + index * slot
        top = frame.y(value or 0)
        parts.append(
            f'<rect {_attrs(x=f"{x + slot * 0.15:.1f}", y=f"{top:.1f}", width=f"{max(slot * 0.7, 1):.1f}", height=f"{frame.y(0) - top:.1f}", fill=series.color, rx=1.5, class_="bar", data_series=series.key, data_date=day.isoformat(), data_value=value if value is not None else "")}>'
            f"<title>{escape(f'{day.isoformat()} · {series.label or series.key}: {fmt(value or 0)}')}</title></rect>"
        )
    parts.append("</g>")
    for index in range(0, len(points), step):
        day = points[index][0]
        parts.append(_text(MARGIN_LEFT + (index + 0.5) * slot, height - MARGIN_BOTTOM + 18, f"{day:%b} {day.day}", size=11, anchor="middle", color=QUIET))
    parts.append("</svg>")
    return mark_safe("".join(parts))


@dataclass
class Bar:
    key: str  # data-key (an id)
    label: str
    value: Decimal | None
    note: str = ""


def ranking_chart(*, name: str, title: str, bars: list[Bar], color: str, fmt: Callable[[object], str] = str,
                  width: int = 560, row_height: int = 30) -> SafeString:
    """Horizontal bars, one per item, labelled and valued."""
    top = 40  # no legend row
    height = top + row_height * max(len(bars), 1) + 16
    if not bars:
        return _empty(name, title, width, max(height, 120))
    label_width = 200
    maximum = max(float(b.value or 0) for b in bars) or 1.0
    plot = width - label_width - 90
    parts = _open(name, title, width, height, f"{len(bars)} items ranked")
    parts[-1] = _text(16, 22, title, size=14, weight="600", css="chart-title")
    for index, bar in enumerate(bars):
        y = top + index * row_height
        length = plot * float(bar.value or 0) / maximum
        label = bar.label if len(bar.label) <= 28 else bar.label[:27] + "…"
        parts.append(_text(label_width - 8, y + row_height / 2 + 4, label, size=12, anchor="end"))
        parts.append(
            f'<rect {_attrs(x=label_width, y=f"{y + 5:.1f}", width=f"{max(length, 1):.1f}", height=row_height - 10, fill=color, rx=2, class_="bar", data_key=bar.key, data_label=bar.label, data_value=bar.value if bar.value is not None else "")}>'
            f"<title>{escape(f'{bar.label}: {fmt(bar.value)} {bar.note}'.strip())}</title></rect>"
        )
        parts.append(_text(label_width + max(length, 1) + 6, y + row_height / 2 + 4, fmt(bar.value), size=12, color=INK, css="value"))
    parts.append("</svg>")
    return mark_safe("".join(parts))
