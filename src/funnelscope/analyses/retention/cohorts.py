"""Cohort retention: of the users who started in a period, how many came back k periods later.

Semantics (docs/metrics.md, "Retention"):

- A user's cohort entry is their first start (``first_time=True``) or, recurring, every
  period in which they started; the cohort is the entry's calendar period in the reporting
  time zone.
- The user is *retained in period k* (``kind="on"``) when they have a returning event in
  period ``cohort + k`` at or after the entry instant (so period 0 counts returning events
  after the start in the same period). ``kind="on_or_after"``: a returning event in period
  ``cohort + k`` or any later period in the data.
- A cell is *complete* when every day of period ``cohort + k`` lies within the data's
  first..last local date (the last event's date counts as observed). Incomplete cells have no
  value: they are never shown as 0 % nor counted as churn.
- The average curve is size-weighted over complete cells: sum(retained) / sum(size) over the
  cohorts whose period k is complete.

All counting runs in the engine; only per-cohort counts come back.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from funnelscope.analyses.retention import fast_retention
from funnelscope.analyses.retention import periods as P
from funnelscope.analyses.retention.result import RetentionResult
from funnelscope.analyses.retention.sources import (
    FOLDED,
    GROUP,
    TOP_GROUPS,
    DataRange,
    GroupSource,
    Start,
    cap_groups,
    cohort_entries,
    data_range,
    events_named,
    group_key,
    group_label,
    no_folding,
    require_events,
    resolve_group,
    resolve_start,
)
from funnelscope.analyses.retention.spec import RetentionSpec, bracket_label, retention_spec

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from funnelscope.engine.workspace import WorkspaceBase as Workspace


def retention(
    ws: Workspace,
    start: str | Sequence[str] | None = None,
    returning: str | Sequence[str] | None = "any",
    period: str = "day",
    periods: int = 30,
    kind: str = "on",
    by: str | None = None,
    first_time: bool = True,
    brackets: Any = None,
    top_groups: int = TOP_GROUPS,
) -> RetentionResult:
    """Cohort retention triangle with counts, rates, the average curve and optional brackets.

    start: None (first event of any kind), "signup" (customers.first_seen, else the "signup"
    event) or event name(s). returning: "any" or event name(s). period: day | week | month in
    the reporting time zone (weeks start Monday). periods: report periods 0..periods.
    kind: "on" | "on_or_after". by: a column of the start event or of the customers table
    ("customers.plan" / "event.channel" to choose). first_time=False: recurring retention
    (every period with a start is an entry). brackets: e.g. ``[1, (2, 7), (8, 30)]``.
    top_groups: with ``by``, the largest groups (by entries) kept; the rest are summed into
    the group "other" (as in funnels).

    >>> ws.retention(period="week", periods=8).triangle()
    """
    spec = retention_spec(start, returning, period, periods, kind, by, first_time, brackets,
                          top_groups)
    return run(ws, spec)


def returning_activity(ws: Workspace, spec: RetentionSpec) -> ir.Table:
    """(user_id, p, last_ts): periods in which each user had a returning event, and the latest one."""
    ev = events_named(ws.events, spec.returning)
    ev = ev.mutate(p=P.period_of(ws, ev.ts, spec.period))
    return ev.group_by(["user_id", "p"]).aggregate(last_ts=ev.ts.max())


def compile_query(ws: Workspace, spec: RetentionSpec, start: Start, group: GroupSource | None) -> ir.Table:
    """The one Ibis query behind a retention table: a small table of counts.

    Columns: part, cohort, group, other, k, n (``other``: the row sums the groups beyond
    ``top_groups``, its group is NULL). Parts: "size" (entries per cohort and group, k = -1);
    "on" (kind="on": users retained in period k); "bracket" (k = the bracket's index: users
    active in any period of the bracket); "last" (kind="on_or_after": entries whose last active
    period is k, capped at ``periods``).
    """
    import ibis  # lazily: importing Ibis costs ~0.7 s of a CLI run
    entries = cohort_entries(ws, start, spec.period, first_time=spec.first_time, group=group)
    entries = no_folding(entries) if group is None else cap_groups(entries, spec.top_groups)
    act = returning_activity(ws, spec)
    cond = [entries.user_id == act.user_id, act.p >= entries.cohort, act.last_ts >= entries.entry_ts]
    if spec.kind == "on":
        cond.append(act.p <= entries.cohort + spec.periods)
    joined = entries.join(act, cond).select(
        entries.user_id, entries.cohort, entries[GROUP], entries[FOLDED], k=act.p - entries.cohort
    )
    keys = ["cohort", GROUP, FOLDED]

    def shape(t: ir.Table, part: str) -> ir.Table:
        return t.select(part=ibis.literal(part), cohort=t.cohort.cast("int64"), group=t[GROUP],
                        other=t[FOLDED], k=t.k.cast("int64"), n=t.n.cast("int64"))

    parts = [shape(entries.group_by(keys).aggregate(n=entries.count(), k=ibis.literal(-1)), "size")]
    if spec.kind == "on":
        parts.append(shape(joined.group_by([*keys, "k"]).aggregate(n=joined.count()), "on"))
        if spec.brackets:
            b = ibis.cases(*[((joined.k >= lo) & (joined.k <= hi), i)
                             for i, (lo, hi) in enumerate(spec.brackets)], else_=None)
            jb = joined.mutate(k=b).filter(lambda r: r.k.notnull())
            parts.append(shape(jb.group_by([*keys, "k"]).aggregate(n=jb.user_id.nunique()), "bracket"))
    else:
        last = joined.group_by(["user_id", *keys]).aggregate(k=joined.k.max())
        capped = last.mutate(k=ibis.least(last.k, spec.periods))
        parts.append(shape(capped.group_by([*keys, "k"]).aggregate(n=capped.count()), "last"))
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def _norm(v: Any) -> Any:
    """Group values as plain Python (NaN / NA -> None) so dictionary keys match."""
    if v is None:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v.item() if hasattr(v, "item") else v


def _counts(df: pd.DataFrame) -> dict[tuple, int]:
    """{(cohort, group, k): n} from rows of the counts query (folded groups: FOLDED_KEY)."""
    out: dict[tuple, int] = {}
    for r in df.to_dict(orient="records"):
        key = (int(r["cohort"]), group_key(_norm(r["group"]), _norm(r["other"])), int(r["k"]))
        out[key] = out.get(key, 0) + int(r["n"])
    return out


def _sort_key(key: tuple) -> tuple:
    cohort, group = key
    folded = group_label(group) is not group
    return (cohort, folded, group is None, str(group) if group is not None else "")


def run(ws: Workspace, spec: RetentionSpec) -> RetentionResult:
    """Evaluate ``spec`` on ``ws`` (see the module docstring for the exact semantics)."""
    t0 = time.perf_counter()
    start = resolve_start(ws, spec.start)
    names = (start.events or ()) + (spec.returning or ())
    group = resolve_group(ws, spec.by, start) if spec.by is not None else None
    if fast_retention.applies(ws, spec, start, group):
        rng, parts = fast_retention.counts(ws, spec, start, names)
        require_events(ws, rng, start.events, "start")
        require_events(ws, rng, spec.returning, "returning")
    else:
        rng = data_range(ws, names)
        require_events(ws, rng, start.events, "start")
        require_events(ws, rng, spec.returning, "returning")
        group = resolve_group(ws, spec.by, start)
        counts = compile_query(ws, spec, start, group).to_pandas()
        parts = {name: _counts(counts[counts["part"] == name])
                 for name in ("size", "on", "bracket", "last")}

    sizes = {(c, g): n for (c, g, _), n in parts["size"].items()}
    keys = sorted(sizes, key=_sort_key)
    values: dict[tuple, list[int]] = {k: [0] * (spec.periods + 1) for k in keys}
    if spec.kind == "on":
        for (c, g, k), n in parts["on"].items():
            values[(c, g)][k] = n
        bracket_counts = parts["bracket"]
    else:
        for (c, g, k_last), n in parts["last"].items():
            for k in range(k_last + 1):
                values[(c, g)][k] += n
        bracket_counts = {(c, g, i): values[(c, g)][lo]
                          for (c, g) in keys for i, (lo, _) in enumerate(spec.brackets)}

    by = spec.by is not None
    cells, brackets = [], []
    for c, g in keys:
        size = sizes[(c, g)]
        head = {"cohort": P.label(c, spec.period)} | ({"group": group_label(g)} if by else {}) \
            | {"size": size}
        for k in range(spec.periods + 1):
            complete = P.is_complete(c + k, spec.period, rng.first_day, rng.last_day)
            n = values[(c, g)][k] if complete else None
            cells.append(head | {"period": k, "retained": n,
                                 "rate": n / size if complete and size else None,
                                 "complete": complete})
        for i, (lo, hi) in enumerate(spec.brackets):
            complete = all(P.is_complete(c + k, spec.period, rng.first_day, rng.last_day)
                           for k in range(lo, hi + 1))
            n = bracket_counts.get((c, g, i), 0) if complete else None
            brackets.append(head | {"bracket": bracket_label((lo, hi)), "first": lo, "last": hi,
                                    "retained": n, "rate": n / size if complete and size else None,
                                    "complete": complete})

    cell_df = _typed(pd.DataFrame(cells, columns=[
        "cohort", *(["group"] if by else []), "size", "period", "retained", "rate", "complete"]))
    tables = {"cells": cell_df, "average": _average(cell_df, "period", [])}
    if by:
        tables["average_by"] = _average(cell_df, "period", ["group"])
    if spec.brackets:
        br_df = _typed(pd.DataFrame(brackets, columns=[
            "cohort", *(["group"] if by else []), "size", "bracket", "first", "last", "retained",
            "rate", "complete"]))
        tables["brackets"] = br_df
        tables["average_brackets"] = _average(br_df, "bracket", [], order=["first"])
    meta = _meta(ws, spec, rng, start.describe(), group.describe() if group else None)
    meta["elapsed_s"] = round(time.perf_counter() - t0, 4)
    return RetentionResult(spec=spec, tables=tables, meta=meta)


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    df["retained"] = df["retained"].astype("Int64")
    df["rate"] = df["rate"].astype("Float64")
    return df


def _average(cells: pd.DataFrame, key: str, by: list[str], order: list[str] | None = None) -> pd.DataFrame:
    """Size-weighted average over complete cells: sum(retained) / sum(size) per ``key``."""
    done = cells[cells["complete"]]
    cols = [*by, key, *(order or [])]
    if done.empty:
        return pd.DataFrame(columns=[*cols, "cohorts", "size", "retained", "rate"])
    agg = done.groupby(cols, dropna=False, sort=False).agg(
        cohorts=("cohort", "nunique"), size=("size", "sum"), retained=("retained", "sum"),
    ).reset_index()
    agg["rate"] = (agg["retained"] / agg["size"]).where(agg["size"] > 0)
    agg = agg.sort_values([*by, *(order or [key])], kind="stable").reset_index(drop=True)
    agg["retained"] = agg["retained"].astype("int64")
    agg["size"] = agg["size"].astype("int64")
    return agg


def _meta(ws: Workspace, spec: RetentionSpec, rng: DataRange, start: str, group: str | None) -> dict:
    returning = "any event" if spec.returning is None else "event " + " or ".join(
        repr(e) for e in spec.returning)
    when = "in period cohort + k" if spec.kind == "on" else "in period cohort + k or later"
    return {
        "engine": ws.engine,
        "timezone": ws.config.timezone,
        "data_first_day": P.day_to_date(rng.first_day).isoformat(),
        "data_end": P.day_to_date(rng.last_day).isoformat(),
        "start": start,
        "returning": returning,
        "by": group,
        "week_starts": "Monday",
        "definition": {
            "dimension": f"cohort ({'first' if spec.first_time else 'every'} {spec.period} of "
                         f"{start}) x period k",
            "aggregation": "count distinct users",
            "measure": f"users of the cohort with {returning} {when}, at or after their start; "
                       "rate = retained / cohort size; cells whose period is not fully inside "
                       "the data are left empty",
        },
    }
