"""Input handling shared by the value analyses: frames, columns, time units, RFM arrays.

Every check raises :class:`funnelscope.errors.InputError` (or a subclass) with a message in the
analyst's words: what was wrong, for which customer or column, and what to do.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from funnelscope.errors import ConfigError, InputError, MissingColumnsError

#: Length of one time unit in days. Months and years are average Gregorian lengths.
DAYS_PER_UNIT: dict[str, float] = {
    "days": 1.0,
    "weeks": 7.0,
    "months": 365.25 / 12.0,
    "years": 365.25,
}
_UNIT_ALIASES = {"day": "days", "week": "weeks", "month": "months", "year": "years",
                 "D": "days", "W": "weeks"}


def canonical_unit(name: str, *, argument: str = "time_unit") -> str:
    """Return the canonical time-unit name (``days``, ``weeks``, ``months``, ``years``)."""
    unit = _UNIT_ALIASES.get(name, name) if isinstance(name, str) else name
    if unit not in DAYS_PER_UNIT:
        raise ConfigError(
            f"{argument}={name!r} is not a time unit.",
            hint=f"Use one of {', '.join(DAYS_PER_UNIT)}.",
        )
    return unit


def days_per(unit: str) -> float:
    """Days in one ``unit`` (see :data:`DAYS_PER_UNIT`)."""
    return DAYS_PER_UNIT[canonical_unit(unit)]


def as_pandas(data: Any, *, name: str) -> pd.DataFrame:
    """Return ``data`` (pandas DataFrame, pyarrow Table or RecordBatch) as a pandas DataFrame."""
    if isinstance(data, pd.DataFrame):
        return data
    to_pandas = getattr(data, "to_pandas", None)
    if callable(to_pandas):
        frame = to_pandas()
        if isinstance(frame, pd.DataFrame):
            return frame
    raise InputError(
        f"{name} must be a pandas DataFrame or a pyarrow Table, got {type(data).__name__}.",
        source=name,
    )


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, name: str) -> None:
    """Raise :class:`MissingColumnsError` naming every column of ``columns`` not in ``frame``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnsError(
            f"{name} lacks column(s) {', '.join(map(repr, missing))}; "
            f"it has {', '.join(map(repr, frame.columns))}.",
            hint="Pass the column names your data uses (e.g. customer=..., timestamp=...).",
            source=name,
            column=missing[0],
        )


def as_timestamps(values: pd.Series, *, name: str, column: str,
                  time_zone: str | None = None) -> pd.Series:
    """Parse ``values`` to timestamps; tz-aware ones are converted to ``time_zone`` then made naive.

    Naive timestamps are taken as already being in the reporting time zone. The result is naive
    so that calendar days (``.dt.normalize()``) are the days of that time zone.
    """
    try:
        if pd.api.types.is_datetime64_any_dtype(values):
            ts = pd.to_datetime(values)
        else:
            try:
                ts = pd.to_datetime(values, format="ISO8601")
            except (ValueError, TypeError):
                ts = pd.to_datetime(values, format="mixed")
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"{name}.{column} holds values that are not dates or timestamps ({exc}).",
            source=name, column=column,
        ) from exc
    if ts.isna().any():
        row = int(np.flatnonzero(ts.isna().to_numpy())[0])
        raise InputError(
            f"{name}.{column} is empty in row {row}.",
            hint="Drop or fix rows without a time.", source=name, row=row, column=column,
        )
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_convert(time_zone or "UTC").dt.tz_localize(None)
    return ts.astype("datetime64[ns]")


def as_timestamp(value: Any, *, argument: str) -> pd.Timestamp:
    """Parse one date/timestamp argument; tz-aware values become naive UTC."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{argument}={value!r} is not a date or timestamp.") from exc
    if ts is pd.NaT:
        raise ConfigError(f"{argument} is missing.", hint="Give a date such as '2024-01-31'.")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def as_amounts(values: pd.Series, *, name: str, column: str) -> np.ndarray:
    """Return ``values`` as float64; raise naming the first row that is not a finite number."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(numbers)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{name}.{column} in row {row} is {values.iloc[row]!r}, not a number.",
            hint="Fix or drop that row.", source=name, row=row, column=column,
        )
    return numbers


def single_currency(frame: pd.DataFrame, column: str | None, *, name: str) -> str | None:
    """Return the one currency in ``frame[column]`` (None if no column); raise if there are several."""
    if column is None or column not in frame.columns:
        return None
    currencies = sorted(frame[column].dropna().astype(str).unique())
    if len(currencies) > 1:
        raise InputError(
            f"{name} mixes currencies {', '.join(currencies)}; amounts cannot be added up.",
            hint="Convert the amounts to one currency first, or analyse each currency apart.",
            source=name, column=column,
        )
    return currencies[0] if currencies else None


def customer_ids(index: Any, n: int) -> pd.Index:
    """Customer labels for arrays of length ``n``: the Series index when given, else 0..n-1."""
    if isinstance(index, pd.Index) and len(index) == n:
        return index
    return pd.RangeIndex(n, name="customer")


def _array(values: Any, *, what: str) -> tuple[np.ndarray, pd.Index | None]:
    index = values.index if isinstance(values, pd.Series) else None
    try:
        arr = np.asarray(values, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} must be numbers ({exc}).", column=what) from exc
    if arr.ndim != 1:
        raise InputError(f"{what} must be one value per customer (1-D), got shape {arr.shape}.",
                         column=what)
    return arr, index


def _who(index: pd.Index | None, i: int) -> str:
    return f"customer {index[i]!r}" if index is not None else f"customer at position {i}"


def _first_bad(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def repeat_purchase_arrays(
    frequency: Any, recency: Any, T: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Index]:
    """Validate the BG/NBD inputs and return them as float arrays plus the customer labels.

    Rules (all in the model's time unit, measured from each customer's first purchase):
    frequency is a whole number >= 0 (repeat purchases); 0 <= recency <= T; recency is 0 when
    frequency is 0; every value is finite.
    """
    x, ix = _array(frequency, what="frequency")
    tx, _ = _array(recency, what="recency")
    big_t, _ = _array(T, what="T")
    if not (len(x) == len(tx) == len(big_t)):
        raise InputError(
            f"frequency, recency and T must have one value per customer; got lengths "
            f"{len(x)}, {len(tx)} and {len(big_t)}."
        )
    if len(x) == 0:
        raise InputError("There are no customers to fit or score.",
                         hint="Check the date range and filters that built the summary.")
    ids = customer_ids(ix, len(x))
    for arr, what in ((x, "frequency"), (tx, "recency"), (big_t, "T")):
        i = _first_bad(~np.isfinite(arr))
        if i is not None:
            raise InputError(f"{what} is missing or not finite for {_who(ix, i)}.",
                             hint="Drop that customer or fix the summary.", row=i, column=what)
    checks = (
        (x < 0, "frequency", "has a negative frequency ({x}); frequency counts repeat purchases "
         "and cannot be below 0"),
        (x != np.round(x), "frequency", "has a frequency of {x}, not a whole number of repeat "
         "purchases"),
        (tx < 0, "recency", "has a negative recency ({tx}); recency is the time from the first "
         "to the last purchase"),
        (big_t < 0, "T", "has a negative T ({T}); T is the time from the first purchase to the "
         "end of the observation period"),
        (tx > big_t * (1 + 1e-12) + 1e-12, "recency", "has recency {tx} greater than T {T}: "
         "the last purchase cannot come after the end of the observation period"),
        ((x == 0) & (tx != 0), "recency", "has no repeat purchase (frequency 0) but recency "
         "{tx}; recency must be 0 when there is no repeat purchase"),
    )
    for mask, column, text in checks:
        i = _first_bad(mask)
        if i is not None:
            message = text.format(x=x[i], tx=tx[i], T=big_t[i])
            raise InputError(f"{_who(ix, i).capitalize()} {message}.",
                             hint="Rebuild the summary with customer_summary(), or fix that row.",
                             row=i, column=column)
    return x, tx, big_t, ids


def spend_arrays(frequency: Any, monetary_value: Any) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Validate Gamma-Gamma inputs: whole frequency >= 0, monetary value > 0 for repeat customers."""
    x, ix = _array(frequency, what="frequency")
    m, _ = _array(monetary_value, what="monetary_value")
    if len(x) != len(m):
        raise InputError(
            f"frequency and monetary_value must have one value per customer; got lengths "
            f"{len(x)} and {len(m)}."
        )
    ids = customer_ids(ix, len(x))
    i = _first_bad(~np.isfinite(x) | (x < 0) | (x != np.round(x)))
    if i is not None:
        raise InputError(
            f"{_who(ix, i).capitalize()} has frequency {x[i]}; it must be a whole number of "
            "repeat purchases, 0 or more.", row=i, column="frequency")
    i = _first_bad((x > 0) & ~(np.isfinite(m) & (m > 0)))
    if i is not None:
        raise InputError(
            f"{_who(ix, i).capitalize()} has {int(x[i])} repeat purchase(s) but an average "
            f"repeat-purchase value of {m[i]}; the spend model needs a value above 0.",
            hint="Drop refunds/zero-value orders or that customer before fitting.",
            row=i, column="monetary_value")
    return x, m, ids
