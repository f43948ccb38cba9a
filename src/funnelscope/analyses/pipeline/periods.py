"""Calendar periods in the reporting time zone: labels for cohorts and close periods, and the
bounds of a forecast period such as ``2026Q1``.

Everything here is small and pure (pandas on one value per deal). A period is the half-open
interval [start, end) of local wall-clock time, converted to UTC microseconds.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from funnelscope.errors import SpecError

US_PER_DAY = 86_400_000_000
_FREQ = {"month": "M", "quarter": "Q", "year": "Y"}
_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
_YEAR = re.compile(r"^\s*(\d{4})\s*$")


def label(period: pd.Period) -> str:
    """``2026Q1``, ``2026-03`` or ``2026``."""
    if period.freqstr.startswith("Q"):
        return f"{period.year}Q{period.quarter}"
    if period.freqstr.startswith("M"):
        return f"{period.year}-{period.month:02d}"
    return str(period.year)


def local_times(us: Any, tz: str) -> pd.DatetimeIndex:
    """Epoch microseconds (NA allowed) -> naive wall-clock times in ``tz``."""
    arr = pd.array(us, dtype="Int64").to_numpy(dtype="float64", na_value=np.nan)
    idx = pd.to_datetime(arr, unit="us", utc=True)
    return idx.tz_convert(tz).tz_localize(None)


def period_labels(us: Any, tz: str, period: str) -> np.ndarray:
    """Label of the local ``period`` (month | quarter) containing each instant; None for NA."""
    times = local_times(us, tz)
    out = np.full(len(times), None, dtype=object)
    ok = ~times.isna()
    if ok.any():
        codes, uniques = pd.factorize(times[ok].to_period(_FREQ[period]))
        out[np.asarray(ok)] = np.array([label(p) for p in uniques], dtype=object)[codes]
    return out


def _local_midnight_us(ts: pd.Timestamp, tz: str) -> int:
    loc = ts.tz_localize(tz, ambiguous=False, nonexistent="shift_forward")
    return int(loc.tz_convert("UTC").value // 1000)


def bounds(period: pd.Period, tz: str) -> tuple[int, int]:
    """[start, end) of a local calendar period as UTC microseconds."""
    start = period.start_time.normalize()
    end = (period + 1).start_time.normalize()
    return _local_midnight_us(start, tz), _local_midnight_us(end, tz)


def parse_period(text: Any, tz: str) -> tuple[str, int, int]:
    """``"2026Q1"`` / ``"2026-03"`` / ``"2026"`` -> (label, start_us, end_us) in ``tz``."""
    if isinstance(text, pd.Period):
        return label(text), *bounds(text, tz)
    s = str(text)
    if m := _QUARTER.match(s):
        p = pd.Period(year=int(m.group(1)), quarter=int(m.group(2)), freq="Q")
    elif (m := _MONTH.match(s)) and 1 <= int(m.group(2)) <= 12:
        p = pd.Period(year=int(m.group(1)), month=int(m.group(2)), freq="M")
    elif m := _YEAR.match(s):
        p = pd.Period(year=int(m.group(1)), freq="Y")
    else:
        raise SpecError(
            f"cannot read the forecast period {text!r}.",
            hint="Write a quarter (2026Q1), a month (2026-03) or a year (2026).",
        )
    return label(p), *bounds(p, tz)


def period_of(us: int, tz: str, period: str) -> pd.Period:
    """The local calendar period (month | quarter) containing instant ``us``."""
    return local_times([us], tz)[0].to_period(_FREQ[period])


def days(us: Any) -> Any:
    """Microseconds -> days (float)."""
    return np.asarray(us, dtype="float64") / US_PER_DAY
