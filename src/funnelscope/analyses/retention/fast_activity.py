"""Activity's fast local path on DuckDB: the counts of ``actives.py``'s stacked query from the
sorted (user, day) pairs of ``user_days.py``, in numpy.

Same definitions as the portable expressions (``actives_parts``, ``lifecycle_parts``,
``streak_parts``), which Spark keeps using; the tests hold the two equal. Each part is a
``{(x, y): n}`` dictionary, as :func:`funnelscope.analyses.retention.counts.split` gives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from funnelscope.analyses.retention.user_days import UserDays, user_days

if TYPE_CHECKING:
    from funnelscope.analyses.retention.sources import DataRange
    from funnelscope.analyses.retention.spec import ActivitySpec
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

ROLLING = (7, 30)


def applies(ws: Workspace) -> bool:
    return ws.engine == "duckdb"


def _histogram(x: np.ndarray, y: np.ndarray | None = None) -> dict[tuple[int, int], int]:
    """{(x, y): rows} (y = -1 when not given), by counting over the keys' span."""
    if len(x) == 0:
        return {}
    if y is None:
        y = np.full(len(x), -1, dtype=np.int64)
    x0, y0 = int(x.min()), int(y.min())
    width = int(y.max()) - y0 + 1
    n = np.bincount((x - x0) * width + (y - y0))
    keys = np.flatnonzero(n)
    return {(int(k // width + x0), int(k % width + y0)): int(n[k]) for k in keys}


def _next_in_user(ud: UserDays, value: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For the rows selected by ``rows`` (each user's rows in order): the next selected row's
    value, and whether there is one for the same user."""
    v = value[rows]
    first = ud.first[rows]
    has = np.zeros(len(v), dtype=bool)
    nxt = np.zeros(len(v), dtype=np.int64)
    if len(v) > 1:
        has[:-1] = ~first[1:]
        nxt[:-1] = v[1:]
    return nxt, has


def counts(ws: Workspace, spec: ActivitySpec) -> tuple[DataRange, dict[str, dict]]:
    """(data range, {part: {(x, y): n}}) with the parts of ``actives.run``'s query."""
    rng, ud = user_days(ws, spec.events, spec.events or ())
    day = ud.day
    out: dict[str, dict] = {"dau": _histogram(day)}
    # trailing windows: each active day a covers the window ends a .. e - 1 (see actives_parts)
    nxt, has = _next_in_user(ud, day, np.ones(len(day), dtype=bool))
    for w in ROLLING:
        end = np.where(has, np.minimum(day + w, nxt), day + w)
        out[f"end_{w}d"] = _histogram(end)
    week, month = ud.period("week"), ud.period("month")
    new_week = ud.starts(week)
    out["wau"] = _histogram(week[new_week])
    out["mau"] = _histogram(month[ud.starts(month)])
    # days active per (user, week): lengths of the runs of one week
    starts = np.flatnonzero(new_week)
    days_in_week = np.diff(np.append(starts, len(day)))
    out["freq"] = _histogram(week[starts], days_in_week)
    out.update(_lifecycle(ud, ud.period(spec.period)))
    out["streak"] = _streaks(ud, week, new_week)
    return rng, out


def _lifecycle(ud: UserDays, p: np.ndarray) -> dict[str, dict]:
    """new / returning / resurrected at p, dormant at p + 1 (see ``lifecycle.py``)."""
    rows = ud.starts(p)
    up = p[rows]
    nxt, has_next = _next_in_user(ud, p, rows)
    new = ud.first[rows]
    prev = np.zeros(len(up), dtype=np.int64)
    if len(up) > 1:
        prev[1:] = up[:-1]
    return {
        "new": _histogram(up[new]),
        "returning": _histogram(up[~new & (prev == up - 1)]),
        "resurrected": _histogram(up[~new & (prev < up - 1)]),
        "dormant": _histogram(up[~has_next | (nxt > up + 1)] + 1),
    }


def _streaks(ud: UserDays, week: np.ndarray, new_week: np.ndarray) -> dict:
    """Histogram of each user's longest run of consecutive active weeks."""
    rows = np.flatnonzero(new_week)
    w = week[rows]
    first = ud.first[rows]
    run_start = first.copy()
    if len(w) > 1:
        run_start[1:] |= w[1:] != w[:-1] + 1
    starts = np.flatnonzero(run_start)
    lengths = np.diff(np.append(starts, len(w)))
    if len(lengths) == 0:
        return {}
    # runs are in user order: the longest per user is a max over each user's runs
    longest = np.maximum.reduceat(lengths, np.flatnonzero(first[starts]))
    return _histogram(longest)
