"""How results look in Jupyter: the same number formats as the terminal.

Rates and shares as percentages (32.6%), durations in seconds as 5.3m / 1.4h / 2.0d, counts
with thousands separators, missing values as "–", and funnel breakdown columns named after
the steps (``view``, ``pay``) instead of ``step_1``, ``step_2``.
"""

from __future__ import annotations

from typing import Any

PERCENT_WORDS = ("conversion", "rate", "share", "ci_low", "ci_high", "probability",
                 "retention", "stickiness", "survival", "churn", "nrr", "grr")
DASH = "–"


def duration(seconds: Any) -> str:
    """Seconds for people: 45s, 5.3m, 1.4h, 2.0d (no pandas: the funnel CLI prints with it)."""
    if seconds is None or seconds != seconds or type(seconds).__name__ == "NAType":
        return DASH
    s = float(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if abs(s) >= size:
            return f"{s / size:.1f}{unit}"
    return f"{s:.0f}s"


def _missing(x: Any) -> bool:
    if x is None:
        return True
    import pandas as pd

    try:
        missing = pd.isna(x)
    except (TypeError, ValueError):
        return False
    return missing is True or type(missing).__name__ == "bool_" and bool(missing)


def cell(column: str, value: Any) -> str:
    """One value of column ``column`` formatted for people."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "yes" if value else "no"
    if _missing(value):
        return DASH
    name = str(column).lower()
    if isinstance(value, (int, float)) or hasattr(value, "dtype"):
        v = float(value)
        if "seconds" in name:
            return duration(v)
        if name in ("p_value", "p-value"):
            return f"{v:.2g}"
        if any(w in name for w in PERCENT_WORDS) and "days" not in name and abs(v) <= 10:
            return f"{v:.1%}"
        if v == int(v) and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.4g}"
    return str(value)


def formatted(df: Any) -> Any:
    """A copy of DataFrame ``df`` with every cell formatted by :func:`cell`."""
    out = df.copy()
    for c in out.columns:
        out[c] = [cell(c, v) for v in df[c].tolist()]
    return out


MAX_ROWS = 20


def tables_html(title: str, tables: dict[str, Any], max_rows: int = MAX_ROWS) -> str:
    """HTML of named DataFrames, each cut to ``max_rows`` rows (the count of the rest is
    said; ``result.to_pandas(name)`` has them all)."""
    from html import escape

    parts = [f"<h4>{escape(title)}</h4>"]
    for name, df in tables.items():
        if df is None or not hasattr(df, "columns"):
            continue
        parts.append(f"<h5>{escape(str(name))}</h5>")
        parts.append(formatted(df.head(max_rows)).to_html(index=False))
        if len(df) > max_rows:
            parts.append(f"<p>… {len(df) - max_rows:,} more rows: "
                         f"<code>.to_pandas({str(name)!r})</code></p>")
    return "\n".join(parts)


def funnel_html(result: Any) -> str:
    """A funnel result: steps, then breakdown and trend tables with step-name columns."""
    names = {f"step_{j}": n for j, n in enumerate(result.spec.step_names, 1)}
    tables = {"steps": result.steps}
    for name in ("groups", "periods"):
        df = getattr(result, name)
        if len(df):
            tables[name] = df.rename(columns=names)
    return tables_html(type(result).__name__, tables)
