"""What each workspace value analysis is asked to do: frozen, validated specs.

Dates are calendar days in the workspace's reporting time zone, kept as ISO strings
(``"1997-09-30"``); None means "from the data" (documented per spec). A spec holds no data;
:mod:`funnelscope.analyses.value.run` evaluates it. Invalid settings raise
:class:`funnelscope.errors.SpecError` saying which setting and what to use instead.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from funnelscope.analyses.value._inputs import _UNIT_ALIASES, DAYS_PER_UNIT
from funnelscope.durations import to_microseconds
from funnelscope.errors import SpecError

#: Days a value analysis accepts: inside pandas' nanosecond range with room for horizons.
FIRST_DAY, LAST_DAY = "1700-01-01", "2199-12-31"


def _day(value: Any, name: str) -> str | None:
    """None, or ``value`` as an ISO calendar day (times are cut to their day).

    SpecError naming ``name`` for anything that is not a day from FIRST_DAY to LAST_DAY.
    """
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        ts = pd.NaT
    if ts is pd.NaT or pd.isna(ts):
        raise SpecError(f"{name}={value!r} is not a date.", hint="Give a day such as 2024-01-31.")
    try:
        if ts.tzinfo is not None:
            ts = ts.tz_localize(None)
        day = ts.normalize()
        inside = pd.Timestamp(FIRST_DAY) <= day <= pd.Timestamp(LAST_DAY)
    except (ValueError, OverflowError, NotImplementedError):  # pandas' out-of-bounds errors
        inside = False
    if not inside:
        raise SpecError(f"{name}={value!r} is out of range.",
                        hint=f"Give a day from {FIRST_DAY} to {LAST_DAY}.")
    return day.date().isoformat()


def _unit(value: Any, name: str) -> str:
    unit = _UNIT_ALIASES.get(value, value) if isinstance(value, str) else value
    if unit not in DAYS_PER_UNIT:
        raise SpecError(f"{name}={value!r} is not a time unit.",
                        hint="Use day(s), week(s), month(s) or year(s).")
    return unit


def _bins(value: Any, name: str) -> int | tuple[float, ...]:
    if isinstance(value, bool):
        raise SpecError(f"{name}={value!r}: give a bin count (2 or more) or a list of cut points.")
    if isinstance(value, int):
        if value < 2:
            raise SpecError(f"{name}={value}: use 2 or more bins.")
        return value
    try:
        cuts = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise SpecError(f"{name}={value!r}: give a bin count or a list of cut points.") from None
    if not cuts or not all(math.isfinite(c) for c in cuts) or any(
            b <= a for a, b in zip(cuts, cuts[1:], strict=False)):
        raise SpecError(f"{name}={list(value)!r}: cut points must be increasing numbers.")
    return cuts


def _whole(value: Any, name: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (
            high is not None and value > high):
        limit = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise SpecError(f"{name}={value!r} must be a whole number {limit}.")
    return value


def _fraction(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise SpecError(f"{name}={value!r} must be a fraction in (0, 1], e.g. 0.3 for 30%.")
    return float(value)


def _names(value: Any, name: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = tuple(s.strip() for s in value.split(",")) if isinstance(value, str) else tuple(value)
    if not items or not all(isinstance(s, str) and s for s in items):
        raise SpecError(f"{name}={value!r} must be a list of names.")
    if len(set(items)) != len(items):
        raise SpecError(f"{name}={list(items)!r} repeats a name.")
    return items


class _Spec:
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class RFMSpec(_Spec):
    """RFM scores and segments as of ``analysis_date`` (None: the day of the latest order).

    Bins are a count (quantile bins) or increasing cut points, per measure; ``binning`` is
    ``"rfm"`` (the CRAN rfm package's rule) or ``"quantile"``; see docs/value.md.
    """

    analysis_date: str | None = None
    recency_bins: int | tuple[float, ...] = 5
    frequency_bins: int | tuple[float, ...] = 5
    monetary_bins: int | tuple[float, ...] = 5
    binning: str = "rfm"
    custom_segments: bool = False
    save: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "analysis_date", _day(self.analysis_date, "analysis_date"))
        for name in ("recency_bins", "frequency_bins", "monetary_bins"):
            object.__setattr__(self, name, _bins(getattr(self, name), name))
        if self.binning not in ("rfm", "quantile"):
            raise SpecError(f"binning={self.binning!r} is not known.", hint="Use rfm or quantile.")


CLUSTER_FEATURES = ("recency_days", "frequency", "monetary", "average_order_value",
                    "tenure_days", "active_days", "events", "funnel_depth", "channel")


@dataclass(frozen=True)
class ClusterSpec(_Spec):
    """Behavioural clusters of customers as of ``as_of`` (None: the latest order or event day).

    ``k``: a fixed number of clusters, or None to pick k in ``k_min..k_max`` by silhouette.
    ``features``: names from :data:`CLUSTER_FEATURES` (None: every one the workspace has
    data for, except ``events``). ``funnel_steps``: event names whose ordered funnel (within
    ``funnel_window``) gives the ``funnel_depth`` feature (deepest step reached, 0 = none).
    """

    as_of: str | None = None
    k: int | None = None
    k_min: int = 2
    k_max: int = 8
    features: tuple[str, ...] | None = None
    funnel_steps: tuple[str, ...] | None = None
    funnel_window: str = "30d"
    random_state: int = 0
    save: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "as_of", _day(self.as_of, "as_of"))
        if self.k is not None:
            _whole(self.k, "k", 2)
        _whole(self.k_min, "k_min", 2)
        _whole(self.k_max, "k_max", self.k_min)
        feats = _names(self.features, "features")
        if feats is not None:
            unknown = [f for f in feats if f not in CLUSTER_FEATURES]
            if unknown:
                raise SpecError(f"unknown cluster feature(s) {', '.join(map(repr, unknown))}.",
                                hint=f"Use some of: {', '.join(CLUSTER_FEATURES)}.")
            if "funnel_depth" in feats and not self.funnel_steps:
                raise SpecError("the funnel_depth feature needs funnel_steps.",
                                hint="Pass funnel_steps=['view', 'add_to_cart', 'pay'].")
        object.__setattr__(self, "features", feats)
        steps = _names(self.funnel_steps, "funnel_steps")
        if steps is not None and len(steps) < 2:
            raise SpecError("funnel_steps needs at least two event names.")
        object.__setattr__(self, "funnel_steps", steps)
        to_microseconds(self.funnel_window, "funnel_window")
        _whole(self.random_state, "random_state", 0)


@dataclass(frozen=True)
class CLVSpec(_Spec):
    """Predictive CLV: BG/NBD + Gamma-Gamma fitted on orders up to ``calibration_end``.

    ``calibration_end``: None = the day of the latest order. ``holdout_end``: optional later
    day; the orders in (calibration_end, holdout_end] are compared with the model's
    predictions. ``horizon``: in ``time_unit``; None = one year (365.25 days) in that unit.
    ``discount_rate`` is per ``discount_period``; ``profit_margin`` in (0, 1].
    """

    calibration_end: str | None = None
    holdout_end: str | None = None
    time_unit: str = "weeks"
    horizon: float | None = None
    discount_rate: float = 0.10
    discount_period: str = "years"
    profit_margin: float = 1.0
    save: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "calibration_end", _day(self.calibration_end, "calibration_end"))
        object.__setattr__(self, "holdout_end", _day(self.holdout_end, "holdout_end"))
        if self.holdout_end is not None and self.calibration_end is not None and (
                self.holdout_end <= self.calibration_end):
            raise SpecError(f"holdout_end {self.holdout_end} must be after calibration_end "
                            f"{self.calibration_end}.")
        if self.holdout_end is not None and self.calibration_end is None:
            raise SpecError("holdout_end needs calibration_end (the end of the fitting period).")
        object.__setattr__(self, "time_unit", _unit(self.time_unit, "time_unit"))
        object.__setattr__(self, "discount_period", _unit(self.discount_period,
                                                          "discount_period"))
        if self.horizon is not None:
            if isinstance(self.horizon, bool) or not isinstance(self.horizon, (int, float)) or (
                    not math.isfinite(self.horizon) or self.horizon <= 0):
                raise SpecError(f"horizon={self.horizon!r} must be a positive number of "
                                f"{self.time_unit}.")
            object.__setattr__(self, "horizon", float(self.horizon))
        rate = self.discount_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (
                math.isfinite(rate) and rate > -1):
            raise SpecError(f"discount_rate={rate!r} must be a number above -1 "
                            "(0.10 = 10% per discount_period).")
        object.__setattr__(self, "discount_rate", float(rate))
        object.__setattr__(self, "profit_margin", _fraction(self.profit_margin, "profit_margin"))


@dataclass(frozen=True)
class AcquisitionSpec(_Spec):
    """CAC, LTV:CAC, payback and campaign ROI for customers acquired in [start, end].

    ``start`` / ``end``: None = the spend table's first / last day. ``as_of``: revenue counted
    up to this day; None = the later of ``end`` and the latest order day. ``group_by``:
    ``("channel",)`` or ``("channel", "campaign")``. ``ltv_days``: None = LTV is the revenue
    per acquired customer up to ``as_of``; N = N-day LTV from customers acquired at least N
    days before ``as_of``. LTV, payback and ROI use ``gross_margin`` x revenue.
    """

    start: str | None = None
    end: str | None = None
    as_of: str | None = None
    group_by: tuple[str, ...] = ("channel",)
    gross_margin: float = 1.0
    ltv_days: int | None = None
    max_months: int = 36

    def __post_init__(self) -> None:
        for name in ("start", "end", "as_of"):
            object.__setattr__(self, name, _day(getattr(self, name), name))
        if self.start and self.end and self.end < self.start:
            raise SpecError(f"end {self.end} is before start {self.start}.")
        keys = _names(self.group_by, "group_by")
        if not keys or keys[0] != "channel" or any(k not in ("channel", "campaign") for k in keys):
            raise SpecError(f"group_by={self.group_by!r}: use channel or channel,campaign.")
        object.__setattr__(self, "group_by", keys)
        object.__setattr__(self, "gross_margin", _fraction(self.gross_margin, "gross_margin"))
        if self.ltv_days is not None:
            _whole(self.ltv_days, "ltv_days", 1)
        _whole(self.max_months, "max_months", 1, 600)


@dataclass(frozen=True)
class ChurnRiskSpec(_Spec):
    """Churn-risk model: churned = fewer than ``min_orders`` orders in the ``window_days`` days
    after a cut-off.

    Cut-offs (local days): ``validation_cutoff`` None = data end - window_days;
    ``train_cutoff`` None = validation_cutoff - window_days; ``score_date`` None = data end
    (the latest order day). ``use_events``: add activity features from the events table
    (events and active days in the 30 days up to each cut-off) when it exists.
    """

    window_days: int = 90
    min_orders: int = 1
    train_cutoff: str | None = None
    validation_cutoff: str | None = None
    score_date: str | None = None
    use_events: bool = True
    top_reasons: int = 3
    random_state: int = 0
    save: bool = False

    def __post_init__(self) -> None:
        _whole(self.window_days, "window_days", 1, 3650)
        _whole(self.min_orders, "min_orders", 1)
        _whole(self.top_reasons, "top_reasons", 1, 20)
        _whole(self.random_state, "random_state", 0)
        for name in ("train_cutoff", "validation_cutoff", "score_date"):
            object.__setattr__(self, name, _day(getattr(self, name), name))
