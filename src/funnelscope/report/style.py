"""One palette and one set of number formats for every chart, report and page.

Colours: a colour-blind-safe qualitative palette (Okabe–Ito order) for series, one colour for
"kept" (converted, retained, won) and one for "lost" (dropped, churned), and a single-hue
sequential scale for heatmaps. Numbers: counts with thousands separators, shares as percent
with one decimal, money and large counts compact (12.3k / 4.5M in English, 1.2万 / 3.4亿 in
Chinese), durations in the largest fitting unit.
"""

from __future__ import annotations

import math
from typing import Any

#: Series colours, in order. The first is the "main" colour of single-series charts.
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # green
    "#CC79A7",  # purple
    "#56B4E9",  # sky
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#7F7F7F",  # grey
)
MAIN = PALETTE[0]
KEPT = PALETTE[0]
LOST = "#D55E00"
NEUTRAL = "#BBBBBB"
FORECAST = PALETTE[1]
ACTUAL = PALETTE[2]
#: Sequential scale (white to the main blue) for heatmaps of shares.
SEQUENTIAL = [[0.0, "#F7FBFF"], [0.25, "#C6DBEF"], [0.5, "#6BAED6"], [0.75, "#2171B5"],
              [1.0, "#08306B"]]
#: Diverging scale (lost colour - white - main colour) for standardised profiles.
DIVERGING = [[0.0, LOST], [0.5, "#F7F7F7"], [1.0, MAIN]]

FONT = ('"Noto Sans", "Noto Sans CJK SC", "WenQuanYi Zen Hei", "PingFang SC", '
        '"Microsoft YaHei", "Helvetica Neue", Arial, sans-serif')

#: d3 formats plotly uses for axes and hover labels.
AXIS_PERCENT = ".0%"
AXIS_COUNT = ",d"
HOVER_PERCENT = ".1%"
HOVER_COUNT = ",d"
HOVER_NUMBER = ",.4~g"


def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(math.isnan(float(x)))
    except (TypeError, ValueError):
        return False


DASH = "–"


def percent(x: Any, digits: int = 1) -> str:
    """0.1234 -> "12.3%"; missing -> "–"."""
    return DASH if _missing(x) else f"{float(x) * 100:.{digits}f}%"


def count(x: Any) -> str:
    """1234 -> "1,234"; missing -> "–"."""
    return DASH if _missing(x) else f"{int(round(float(x))):,}"


def compact(x: Any, lang: str = "en") -> str:
    """Large numbers short: 12,345 -> "12.3k" (en) / "1.23万" (zh); below 10,000 as counts."""
    if _missing(x):
        return DASH
    v = float(x)
    a = abs(v)
    steps = ((1e8, 1e8, "亿"), (1e4, 1e4, "万")) if lang == "zh" else \
        ((1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e4, 1e3, "k"))
    for i, (threshold, size, unit) in enumerate(steps):
        if a >= threshold:
            text = _three_digits(v / size)
            if abs(float(text.replace(",", ""))) >= (1000 if unit != "万" else 10000) and i > 0:
                bigger = steps[i - 1]
                return f"{_three_digits(v / bigger[1])}{bigger[2]}"
            return f"{text}{unit}"
    return f"{v:,.0f}" if a >= 100 or v == int(v) else f"{v:,.2f}"


def _three_digits(x: float) -> str:
    """About three significant digits without scientific notation: 1.23, 12.3, 123."""
    a = abs(x)
    text = f"{x:.2f}" if a < 9.995 else f"{x:.1f}" if a < 99.95 else f"{x:.0f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def money(x: Any, lang: str = "en", currency: str | None = None) -> str:
    """Compact amount with its currency code when known: "12.3k USD"."""
    text = compact(x, lang)
    return text if currency is None or text == DASH else f"{text} {currency}"


def number(x: Any) -> str:
    """A measurement (not a count): four significant digits below 1,000, whole numbers with
    thousands separators above."""
    if _missing(x):
        return DASH
    v = float(x)
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def cell(x: Any) -> str:
    """Any table value for display: numbers by :func:`number`, missing as "–", text as is."""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, (int, float)) or type(x).__module__ == "numpy":
        return number(x) if not isinstance(x, int) or abs(x) >= 1000 else str(x)
    return DASH if x is None or _missing(x) and not isinstance(x, str) else str(x)


_UNITS = {
    "en": (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)),
    "zh": (("天", 86400), ("小时", 3600), ("分钟", 60), ("秒", 1)),
}


def duration(seconds: Any, lang: str = "en") -> str:
    """Seconds in the largest fitting unit: 5400 -> "1.5 h" / "1.5 小时"."""
    if _missing(seconds):
        return DASH
    s = float(seconds)
    for unit, size in _UNITS.get(lang, _UNITS["en"]):
        if abs(s) >= size or size == 1:
            value = s / size
            text = f"{value:.1f}".rstrip("0").rstrip(".") if value < 100 else f"{value:,.0f}"
            return f"{text} {unit}" if lang != "zh" else f"{text}{unit}"
    return DASH  # pragma: no cover


def duration_unit(max_seconds: float) -> tuple[str, float]:
    """The unit (key of the i18n unit names) and its size for an axis spanning ``max_seconds``."""
    for unit, size in (("days", 86400.0), ("hours", 3600.0), ("minutes", 60.0)):
        if max_seconds >= 2 * size:
            return unit, size
    return "seconds", 1.0


def layout(fig: Any, title: str | None = None, *, height: int = 420, legend: bool = True) -> Any:
    """Apply the common look (font, colours, margins, hover) to a plotly figure; returns it."""
    fig.update_layout(
        title={"text": title, "x": 0.012, "xref": "container", "xanchor": "left",
               "font": {"size": 16}} if title else None,
        font={"family": FONT, "size": 13, "color": "#222222"},
        colorway=list(PALETTE),
        paper_bgcolor="white",
        plot_bgcolor="white",
        height=height,
        margin={"l": 60, "r": 24, "t": 56 if title else 24, "b": 48},
        hoverlabel={"font": {"family": FONT}},
        showlegend=legend,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0,
                "traceorder": "normal"},
    )
    fig.update_xaxes(showgrid=False, linecolor="#888888", ticks="outside", automargin=True)
    fig.update_yaxes(gridcolor="#EEEEEE", zeroline=False, automargin=True)
    return fig
