"""Activity's fast local path on DuckDB: the counts of ``actives.py``'s stacked query from the
sorted (user, day) pairs of ``user_days.py``, in numpy.

Same definitions as the portable expressions (``actives_parts``, ``lifecycle_parts``,
``streak_parts``), which Spark keeps using; the tests hold the two equal. Each part is a
``{(x, y): n}`` dictionary, as :func:`funnelscope.analyses.retention.counts.split` gives.

Cost: a few passes over the pairs. Each pass over every pair counts one combined key with a
single ``np.bincount`` (the day and the capped gap to the user's next day give DAU and both
trailing windows at once); WAU, days per week, lifecycle and streaks work on the (user, week)
runs, several times fewer than the pairs.
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


def _table(x0: int, n: np.ndarray, y0: int = -1) -> dict[tuple[int, int], int]:
    """{(x0 + i, y0 + j): n[i, j]} for the non-zero cells of a 2-D table (1-D: j = 0)."""
    n = n.reshape(len(n), -1)
    i, j = np.nonzero(n)
    return {(int(a) + x0, int(b) + y0): int(c)
            for a, b, c in zip(i.tolist(), j.tolist(), n[i, j].tolist(), strict=True)}


def _histogram(x: np.ndarray, y: np.ndarray | None = None) -> dict[tuple[int, int], int]:
    """{(x, y): rows} (y = -1 when not given), by counting over the keys' span."""
    if len(x) == 0:
        return {}
    x0 = int(x.min())
    if y is None:
        return _table(x0, np.bincount(x - x0))
    y0 = int(y.min())
    width = int(y.max()) - y0 + 1
    n = np.bincount((x - x0) * width + (y - y0), minlength=(int(x.max()) - x0 + 1) * width)
    return _table(x0, n.reshape(-1, width), y0)


def _later(first: np.ndarray) -> np.ndarray:
    """True where the next row belongs to the same user (rows of each user contiguous)."""
    has = np.zeros(len(first), dtype=bool)
    np.logical_not(first[1:], out=has[:-1])
    return has


def _run_starts(first: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Row numbers where a (user, key) run starts (key non-decreasing within a user)."""
    new = first.copy()
    if len(key) > 1:
        new[1:] |= key[1:] != key[:-1]
    return np.flatnonzero(new)


def counts(ws: Workspace, spec: ActivitySpec) -> tuple[DataRange, dict[str, dict]]:
    """(data range, {part: {(x, y): n}}) with the parts of ``actives.run``'s query."""
    rng, ud = user_days(ws, spec.events, spec.events or ())
    out: dict[str, dict] = {}
    out.update(_daily(ud))
    week = ud.period("week")
    wstarts = _run_starts(ud.first, week)
    wk, wfirst = week[wstarts], ud.first[wstarts]
    del week
    out["wau"] = _histogram(wk)
    month = ud.period("month")
    out["mau"] = _histogram(month[_run_starts(ud.first, month)])
    del month
    # days active per (user, week): lengths of the runs of one week
    out["freq"] = _histogram(wk, np.diff(wstarts, append=len(ud)))
    if spec.period == "week":
        out.update(_lifecycle(wk, wfirst))
    else:
        p = ud.period(spec.period)
        starts = _run_starts(ud.first, p)
        out.update(_lifecycle(p[starts], ud.first[starts]))
    out["streak"] = _streaks(wk, wfirst)
    return rng, out


def _daily(ud: UserDays) -> dict[str, dict]:
    """DAU and the trailing-window ends: each active day a covers the window ends
    a .. min(a + w, next active day) - 1 (see actives_parts), so one count of
    (day, min(gap to the user's next day, longest window)) gives them all."""
    day = ud.day
    if len(day) == 0:
        return {"dau": {}, **{f"end_{w}d": {} for w in ROLLING}}
    cap = max(ROLLING)
    d0 = int(day.min())
    span = int(day.max()) - d0 + 1
    key = np.full(len(day), cap, dtype=np.int64)  # no next day: the whole window
    np.minimum(day[1:] - day[:-1], cap, out=key[:-1], where=_later(ud.first)[:-1])
    key += (day - d0) * (cap + 1)
    table = np.bincount(key, minlength=span * (cap + 1)).reshape(span, cap + 1)
    del key
    out = {"dau": _table(d0, table.sum(axis=1))}
    for w in ROLLING:
        ends = np.zeros(span + w, dtype=np.int64)
        for g in range(1, cap + 1):  # gaps are >= 1 (distinct days)
            shift = min(g, w)
            ends[shift:shift + span] += table[:, g]
        out[f"end_{w}d"] = _table(d0, ends)
    return out


def _lifecycle(up: np.ndarray, new: np.ndarray) -> dict[str, dict]:
    """new / returning / resurrected at p, dormant at p + 1 (see ``lifecycle.py``), from each
    user's active periods ``up`` in order (``new``: the user's first)."""
    if len(up) == 0:
        return {"new": {}, "returning": {}, "resurrected": {}, "dormant": {}}
    u0 = int(up.min())
    span = int(up.max()) - u0 + 1
    # kind: 0 new, 1 returning (previous period active), 2 resurrected (a gap before)
    kind = np.zeros(len(up), dtype=np.int64)
    if len(up) > 1:
        kind[1:] = np.where(up[1:] - up[:-1] == 1, 1, 2)
    kind[new] = 0
    table = np.bincount((up - u0) * 3 + kind, minlength=span * 3).reshape(span, 3)
    # dormant at p + 1: no next active period of the same user, or not at p + 1
    later = _later(new)
    gap = np.zeros(len(up), dtype=bool)
    if len(up) > 1:
        gap[:-1] = up[1:] - up[:-1] > 1
    dormant = up[~later | gap] + 1
    return {
        "new": _table(u0, table[:, 0]),
        "returning": _table(u0, table[:, 1]),
        "resurrected": _table(u0, table[:, 2]),
        "dormant": _histogram(dormant),
    }


def _streaks(w: np.ndarray, first: np.ndarray) -> dict:
    """Histogram of each user's longest run of consecutive active weeks, from each user's
    active weeks ``w`` in order (``first``: the user's first)."""
    run_start = first.copy()
    if len(w) > 1:
        run_start[1:] |= w[1:] != w[:-1] + 1
    starts = np.flatnonzero(run_start)
    lengths = np.diff(starts, append=len(w))
    if len(lengths) == 0:
        return {}
    # runs are in user order: the longest per user is a max over each user's runs
    longest = np.maximum.reduceat(lengths, np.flatnonzero(first[starts]))
    return _histogram(longest)
