"""Churn's fast local path on DuckDB (inactivity definition, everyone, no breakdown): the
counts of ``lifetimes.compile_query`` from the sorted (user, day) pairs of ``user_days.py``.

Same definitions as the portable expression (``lifetimes.spells``), which Spark and the other
cases (a cancellation event, buyers only, a breakdown) keep using; the tests hold the two
equal. A spell starts on a user's first active day and on every active day more than
``inactivity_days`` after the previous one; it is churned when its last active day plus
``inactivity_days`` is on or before the data's end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from funnelscope.analyses.retention.user_days import user_days

if TYPE_CHECKING:
    from funnelscope.analyses.retention.sources import DataRange
    from funnelscope.analyses.retention.spec import ChurnSpec
    from funnelscope.engine.workspace import WorkspaceBase as Workspace


def applies(ws: Workspace, spec: ChurnSpec, group: object) -> bool:
    return (ws.engine == "duckdb" and group is None and not spec.cancel_event
            and spec.population == "all")


def _counts(*keys: np.ndarray) -> list[tuple[int, ...]]:
    """[(*key, rows)] for each distinct combination of the int arrays ``keys``."""
    if len(keys[0]) == 0:
        return []
    stacked, n = np.unique(np.stack(keys, axis=1), axis=0, return_counts=True)
    return [(*(int(v) for v in row), int(c)) for row, c in zip(stacked, n, strict=True)]


def counts(ws: Workspace, spec: ChurnSpec, names: tuple[str, ...]
           ) -> tuple[DataRange, dict[str, list[tuple[int, int, int]]]]:
    """(data range, {"spells": [(start period, churn period or -1, n)],
    "km": [(first-spell duration days, observed 0/1, n)]}) as ``lifetimes.run`` reads them."""
    rng, ud = user_days(ws, spec.events, names)
    day, first = ud.day, ud.first
    if len(day) == 0:  # no activity event at all
        return rng, {"spells": [], "km": []}
    new = first.copy()
    if len(day) > 1:
        new[1:] |= day[1:] - day[:-1] > spec.inactivity_days
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(day)) - 1
    start, last = day[starts], day[ends]
    observed = last + spec.inactivity_days <= rng.last_day
    period = ud.period(spec.period)
    sp = period[starts]
    cp = np.where(observed, period[ends], -1)
    spells = _counts(sp, cp)
    # the user's first life: the spell starting on their first active day
    lead = first[starts]
    km = _counts((last - start)[lead], observed[lead].astype(np.int64))
    return rng, {"spells": spells, "km": km}
