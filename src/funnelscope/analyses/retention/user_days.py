"""The distinct (user, local day) pairs of activity, sorted, as numpy arrays (DuckDB fast path).

Activity and churn (``fast_activity.py``, ``fast_churn.py``) work on each user's active days in
order. DuckDB computes the distinct pairs with integer local days (``local_days.py``: no ICU
per row) and sorts them in parallel; only two arrays come back: the day (int64 epoch days)
and whether the row is the user's first. Every metric is then a pass over these arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from funnelscope.analyses.retention import periods as P
from funnelscope.analyses.retention.local_days import day_of, event_rows
from funnelscope.analyses.retention.sources import DataRange
from funnelscope.errors import InputError
from funnelscope.sqlsafe import literal

if TYPE_CHECKING:
    from funnelscope.engine.workspace import WorkspaceBase as Workspace


@dataclass(frozen=True)
class UserDays:
    """Sorted distinct active (user, day) pairs: ``day`` (epoch days) and ``first`` (True on
    a user's first pair); users are contiguous, days ascending within a user."""

    day: np.ndarray
    first: np.ndarray

    def __len__(self) -> int:
        return len(self.day)

    def period(self, period: str) -> np.ndarray:
        """Period number of every pair (see ``periods.py``)."""
        if period == "day":
            return self.day
        if period == "week":
            return (self.day + 3) // 7
        return month_of(self.day)

    def starts(self, key: np.ndarray) -> np.ndarray:
        """True where a pair starts a new (user, key) run (key non-decreasing within a user)."""
        out = self.first.copy()
        if len(key) > 1:
            out[1:] |= key[1:] != key[:-1]
        return out


def month_of(day: np.ndarray) -> np.ndarray:
    """Month number (year * 12 + month - 1) of epoch days, through a table over their span."""
    if len(day) == 0:
        return day.copy()
    lo, hi = int(day.min()), int(day.max())
    lut = np.array([P.period_of_day(d, "month") for d in range(lo, hi + 1)], dtype=np.int64)
    return lut[day - lo]


BATCH = 1 << 20  # pairs per Arrow batch read: only one batch of user ids is held at a time


def _read_pairs(reader) -> tuple[np.ndarray, np.ndarray]:
    """(day, first) from the sorted (user_id, fs_d) batches; user ids are compared batch by
    batch (a null id never starts a user, as Arrow's null comparison) and then dropped."""
    import pyarrow.compute as pc

    days: list[np.ndarray] = []
    firsts: list[np.ndarray] = []
    last = None
    for batch in reader:
        n = len(batch)
        if n == 0:
            continue
        user = batch.column(0)
        days.append(batch.column(1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False))
        first = np.empty(n, dtype=bool)
        first[1:] = pc.not_equal(user.slice(1), user.slice(0, n - 1)).fill_null(False).to_numpy(
            zero_copy_only=False)
        head = user[0].as_py()
        first[0] = not days[1:] or (head is not None and last is not None and head != last)
        last = user[n - 1].as_py()
        firsts.append(first)
    if not days:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    if len(days) == 1:
        return days[0], firsts[0]
    return np.concatenate(days), np.concatenate(firsts)


def _in(names: tuple[str, ...]) -> str:
    return f"event IN ({', '.join(literal(n) for n in names)})"


def user_days(ws: Workspace, events: tuple[str, ...] | None,
              names: tuple[str, ...] = ()) -> tuple[DataRange, UserDays]:
    """(data range of the whole events table with ``names`` counted, the sorted pairs of the
    events named ``events`` (None: every event))."""
    rows = event_rows(ws)
    days = day_of(ws, rows)
    ev = (f"SELECT user_id, event, {rows.us} AS fs_t FROM ({rows.sql}) AS fs_src "  # noqa: S608
          f"WHERE {rows.where}")
    con = ws.duckdb
    where = "TRUE" if events is None else _in(events)
    reader = con.execute(
        f"SELECT user_id, fs_d FROM (SELECT DISTINCT user_id, {days.sql('fs_t')} AS fs_d "  # noqa: S608
        f"FROM ({ev}) AS fs_ev WHERE {where}) AS fs_p ORDER BY user_id, fs_d"
    ).to_arrow_reader(BATCH)
    day, first = _read_pairs(reader)
    if events is None and not names:
        if len(day) == 0:
            raise InputError("the events table is empty.",
                             hint="Load events first: funnelscope load FILE.")
        # every event is in the pairs: their days are the data's (the event count, which
        # only the emptiness check reads, is not counted on this path)
        rng = DataRange(int(day.min()), int(day.max()), len(day), {})
    else:
        rng = _data_range(ws, ev, days, names)
    return rng, UserDays(day, first)


def _data_range(ws: Workspace, ev: str, days, names: tuple[str, ...]) -> DataRange:
    counts = "".join(f", count(*) FILTER (WHERE event = {literal(n)})" for n in names)
    edges = ("min(fs_t), max(fs_t)" if days.monotonic
             else f"min({days.sql('fs_t')}), max({days.sql('fs_t')})")
    row = ws.duckdb.execute(f"SELECT {edges}, count(*){counts} FROM ({ev}) AS fs_ev").fetchone()  # noqa: S608
    if not row[2]:
        raise InputError("the events table is empty.", hint="Load events first: funnelscope load FILE.")
    first, last = int(row[0]), int(row[1])
    if days.monotonic:
        first, last = days.day(first), days.day(last)
    return DataRange(first, last, int(row[2]), {n: int(row[3 + i] or 0) for i, n in enumerate(names)})
