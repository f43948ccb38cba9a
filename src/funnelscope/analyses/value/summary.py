"""Orders -> one row per customer: frequency, recency, T and monetary value (the CLV inputs).

Definitions (Fader, Hardie & Lee 2005; the same as lifetimes' ``summary_data_from_transaction_data``):

* Purchases on the same calendar day are merged into one purchase whose value is the day's sum
  (days are those of the timestamps as given; tz-aware timestamps are first converted to
  ``time_zone``, UTC by default).
* ``frequency`` = number of *repeat* purchase days = purchase days - 1 (the first purchase is
  not counted).
* ``recency`` = time from the first to the last purchase day; 0 when frequency is 0.
* ``T`` = time from the first purchase day to ``observation_end`` (a calendar day, inclusive).
* ``monetary_value`` = mean value of the repeat purchase days (the first purchase is excluded);
  0 when frequency is 0.
* recency and T are in ``time_unit``: days, weeks (7 days), months (365.25/12 days) or years
  (365.25 days). They are whole numbers of days divided by the unit length.

Only orders on or before ``observation_end`` are used; customers whose first purchase is after it
do not appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from funnelscope.analyses.value._inputs import (
    as_amounts,
    as_pandas,
    as_timestamp,
    as_timestamps,
    canonical_unit,
    days_per,
    require_columns,
    single_currency,
)
from funnelscope.analyses.value._result import TableResult
from funnelscope.errors import ConfigError, InputError


@dataclass(frozen=True)
class CustomerSummary(TableResult):
    """Per-customer frequency / recency / T / monetary value, and the settings that made it."""

    customers: pd.DataFrame
    time_unit: str
    observation_end: pd.Timestamp
    calibration_end: pd.Timestamp | None = None
    currency: str | None = None


def _purchase_days(orders: Any, *, customer: str, timestamp: str, amount: str | None,
                   currency: str | None, time_zone: str | None,
                   until: pd.Timestamp) -> tuple[pd.DataFrame, str | None]:
    """Orders merged to one row per customer and calendar day: customer, day, value."""
    frame = as_pandas(orders, name="orders")
    require_columns(frame, [customer, timestamp] + ([amount] if amount else []), name="orders")
    found_currency = single_currency(frame, currency, name="orders")
    if frame[customer].isna().any():
        row = int(frame[customer].isna().to_numpy().nonzero()[0][0])
        raise InputError(f"orders.{customer} is empty in row {row}.",
                         hint="Every order needs a customer.", source="orders", row=row,
                         column=customer)
    days = as_timestamps(frame[timestamp], name="orders", column=timestamp,
                         time_zone=time_zone).dt.normalize()
    values = (as_amounts(frame[amount], name="orders", column=amount) if amount
              else pd.Series(0.0, index=frame.index).to_numpy())
    daily = pd.DataFrame({"customer": frame[customer].to_numpy(), "day": days.to_numpy(),
                          "value": values})
    daily = daily[daily["day"] <= until]
    daily = daily.groupby(["customer", "day"], sort=True, as_index=False)["value"].sum()
    return daily, found_currency


def _summarise(daily: pd.DataFrame, end: pd.Timestamp, unit_days: float) -> pd.DataFrame:
    g = daily.groupby("customer", sort=True)
    first = g["day"].min()
    last = g["day"].max()
    n_days = g["day"].size()
    first_value = daily.loc[g["day"].idxmin(), ["customer", "value"]].set_index("customer")["value"]
    total = g["value"].sum()
    frequency = (n_days - 1).astype("int64")
    repeat_total = total - first_value
    monetary = (repeat_total / frequency.where(frequency > 0)).fillna(0.0)
    out = pd.DataFrame({
        "frequency": frequency,
        "recency": (last - first).dt.days / unit_days,
        "T": (end - first).dt.days / unit_days,
        "monetary_value": monetary,
        "first_purchase": first,
        "last_purchase": last,
        "revenue": total,
    })
    return out


def customer_summary(
    orders: Any,
    *,
    observation_end: Any,
    time_unit: str = "weeks",
    customer: str = "user_id",
    timestamp: str = "ts",
    amount: str | None = "amount",
    currency: str | None = "currency",
    time_zone: str | None = None,
) -> CustomerSummary:
    """Summarise orders per customer as of ``observation_end`` (see the module doc for definitions).

    Returns a :class:`CustomerSummary` whose table is indexed by customer with columns
    ``frequency`` (repeat purchase days), ``recency`` and ``T`` (in ``time_unit``),
    ``monetary_value`` (mean value of repeat purchase days), ``first_purchase``,
    ``last_purchase`` (calendar days) and ``revenue`` (all purchases, first included).

    >>> import pandas as pd
    >>> orders = pd.DataFrame({"user_id": ["a", "a", "a", "b"],
    ...     "ts": ["2024-01-01 09:00", "2024-01-01 18:00", "2024-01-15", "2024-01-08"],
    ...     "amount": [10.0, 5.0, 20.0, 7.0]})
    >>> s = customer_summary(orders, observation_end="2024-01-29", time_unit="weeks").to_pandas()
    >>> s[["frequency", "recency", "T", "monetary_value"]]  # doctest: +NORMALIZE_WHITESPACE
             frequency  recency    T  monetary_value
    user_id
    a                1      2.0  4.0            20.0
    b                0      0.0  3.0             0.0
    """
    unit = canonical_unit(time_unit)
    end = as_timestamp(observation_end, argument="observation_end").normalize()
    daily, cur = _purchase_days(orders, customer=customer, timestamp=timestamp, amount=amount,
                                currency=currency, time_zone=time_zone, until=end)
    table = _summarise(daily, end, days_per(unit))
    table.index.name = customer
    return CustomerSummary(customers=table, time_unit=unit, observation_end=end, currency=cur)


def calibration_holdout_summary(
    orders: Any,
    *,
    calibration_end: Any,
    observation_end: Any,
    time_unit: str = "weeks",
    customer: str = "user_id",
    timestamp: str = "ts",
    amount: str | None = "amount",
    currency: str | None = "currency",
    time_zone: str | None = None,
) -> CustomerSummary:
    """Calibration-period summary plus what each customer did in the holdout period after it.

    Customers are those whose first purchase is on or before ``calibration_end``. Calibration
    columns are those of :func:`customer_summary` with ``observation_end=calibration_end``.
    Holdout columns: ``frequency_holdout`` = purchase days in (calibration_end, observation_end],
    ``monetary_value_holdout`` = mean value of those days (0 if none), ``duration_holdout`` =
    holdout length in ``time_unit``.
    """
    unit = canonical_unit(time_unit)
    cal_end = as_timestamp(calibration_end, argument="calibration_end").normalize()
    end = as_timestamp(observation_end, argument="observation_end").normalize()
    if end <= cal_end:
        raise ConfigError(
            f"observation_end {end.date()} must be after calibration_end {cal_end.date()}.",
            hint="The holdout period runs from the day after calibration_end to observation_end.",
        )
    daily, cur = _purchase_days(orders, customer=customer, timestamp=timestamp, amount=amount,
                                currency=currency, time_zone=time_zone, until=end)
    calibration = daily[daily["day"] <= cal_end]
    table = _summarise(calibration, cal_end, days_per(unit))
    holdout = daily[(daily["day"] > cal_end) & daily["customer"].isin(table.index)]
    hg = holdout.groupby("customer")["value"]
    table["frequency_holdout"] = hg.size().reindex(table.index, fill_value=0).astype("int64")
    table["monetary_value_holdout"] = hg.mean().reindex(table.index, fill_value=0.0)
    table["duration_holdout"] = (end - cal_end).days / days_per(unit)
    table.index.name = customer
    return CustomerSummary(customers=table, time_unit=unit, observation_end=end,
                           calibration_end=cal_end, currency=cur)
