"""The two engine queries of the pipeline analysis; everything else works on their small output.

1. :func:`deal_table`: the stage entries (``deals`` table, one row per stage entry) aggregated
   in the engine to one row per deal: when it was created, its latest entry, current and
   furthest stage, win time, attributes, regressions, and per stage its first entry, the end
   of its first stay and its total completed time there.
2. :func:`as_of_states`: for each snapshot time t, the deals that were still open as far as
   the data visible at t could tell (entries with ``stage_entered_at <= t`` only).

Both are Ibis expressions run on ``ws.backend`` (the same on DuckDB and PySpark). Only their
aggregated results come back to pandas: one row per deal, and one row per (snapshot, open
deal). Bound (docs/pipeline.md): fine up to a few million deals; the snapshot table is at most
deals-open-at-a-time × snapshots rows (≤ 200 snapshots).

Times come back as integer microseconds since the Unix epoch (UTC), identical on every engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from funnelscope.analyses.pipeline.spec import PipelineSpec
from funnelscope.engine.timezones import epoch_us
from funnelscope.errors import SpecError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from funnelscope.engine.workspace import WorkspaceBase as Workspace

ATTRIBUTES = ("owner", "team", "product")
STAGE_SLOTS = 128  # key = ts_us * STAGE_SLOTS + stage index: unique per deal, orders entries


def attribute_columns(ws: Workspace, spec: PipelineSpec) -> list[str]:
    """Deal attributes carried to the per-deal table: owner, team, product and ``by``."""
    cols = list(ws.deals.columns)
    if spec.by is not None and spec.by not in cols:
        raise SpecError(
            f"the deals table has no column {spec.by!r} to break down by.",
            hint=f"Its columns are: {', '.join(cols)}.",
        )
    if spec.by in ("deal_id", "stage", "stage_entered_at", "amount", "closed"):
        raise SpecError(f"cannot break down by {spec.by!r}; use owner, team, segment, product ...")
    out = [c for c in ATTRIBUTES if c in cols]
    if spec.by is not None and spec.by not in out:
        out.append(spec.by)
    return out


def entries(ws: Workspace, spec: PipelineSpec) -> ir.Table:
    """Stage entries of the spec's stages with ``idx`` (0-based stage), ``ts_us`` and ``key``.

    Entries of stages not in ``spec.stages`` are left out.
    """
    t = ws.deals
    idx = t.stage.cases(*[(s, i) for i, s in enumerate(spec.stages)], else_=-1)
    ts_us = epoch_us(ws, t.stage_entered_at)
    e = t.mutate(idx=idx, ts_us=ts_us).filter(lambda x: x.idx >= 0)
    return e.mutate(key=e.ts_us * STAGE_SLOTS + e.idx)


def _count_if(cond: ir.BooleanValue) -> ir.IntegerValue:
    """Rows where ``cond`` is true (null counts as false); 0, never null, on every backend."""
    return cond.fill_null(False).ifelse(1, 0).sum()


def deal_table(ws: Workspace, spec: PipelineSpec) -> pd.DataFrame:
    """One row per deal (see the module docstring); columns documented in docs/pipeline.md."""
    import ibis

    attrs = attribute_columns(ws, spec)
    e = entries(ws, spec)
    w = ibis.window(group_by=e.deal_id, order_by=e.key)
    e = e.mutate(prev_idx=e.idx.lag().over(w), next_us=e.ts_us.lead().over(w))
    e = e.mutate(stay_us=e.next_us - e.ts_us)
    aggs = {
        "created_us": e.ts_us.min(),
        "last_us": e.ts_us.max(),
        "current_idx": e.idx.argmax(e.key),
        "furthest_idx": e.idx.max(),
        "entries": e.count(),
        "regressions": _count_if(e.prev_idx > e.idx),
        "win_entry_us": e.ts_us.min(where=e.idx >= spec.win_index),
        "amount": e.amount.argmax(e.key, where=e.amount.notnull()),
        "closed": e.closed.argmax(e.key, where=e.closed.notnull()),
    }
    for c in attrs:
        aggs[f"attr_{c}"] = e[c].cast("string").argmax(e.key, where=e[c].notnull())
    for i in range(spec.k):
        at = e.idx == i
        aggs[f"entered_{i}"] = e.ts_us.min(where=at)
        aggs[f"left_{i}"] = e.next_us.argmin(e.key, where=at)
        aggs[f"time_in_{i}"] = e.stay_us.sum(where=at)
        aggs[f"regressions_{i}"] = _count_if(at & (e.prev_idx > e.idx))
    df = e.group_by("deal_id").aggregate(**aggs).order_by("deal_id").to_pandas()
    return _normalise(df, spec, attrs)


def _int_or_na(s: pd.Series) -> pd.Series:
    return pd.array(s.astype("Float64").round(), dtype="Int64")  # nullable int64


def _normalise(df: pd.DataFrame, spec: PipelineSpec, attrs: list[str]) -> pd.DataFrame:
    out = pd.DataFrame({"deal_id": df["deal_id"].astype(str).to_numpy(dtype=object)})
    for c in ("created_us", "last_us", "current_idx", "furthest_idx", "entries", "regressions"):
        out[c] = df[c].astype("int64").to_numpy()
    out["win_entry_us"] = _int_or_na(df["win_entry_us"])
    out["amount"] = df["amount"].astype("float64").to_numpy()
    closed = df["closed"].astype(object).where(df["closed"].notna(), "open")
    out["closed"] = closed.to_numpy(dtype=object)
    won = out["closed"] == "won"
    win = out["win_entry_us"].copy()
    win[won.to_numpy() & win.isna().to_numpy()] = out.loc[won & win.isna(), "last_us"]
    out["win_us"] = win
    for c in attrs:
        v = df[f"attr_{c}"].astype(object)
        out[c] = v.where(v.notna(), None).to_numpy(dtype=object)
    for i in range(spec.k):
        out[f"entered_{i}"] = _int_or_na(df[f"entered_{i}"])
        out[f"left_{i}"] = _int_or_na(df[f"left_{i}"])
        out[f"time_in_{i}"] = _int_or_na(df[f"time_in_{i}"])
        out[f"regressions_{i}"] = df[f"regressions_{i}"].astype("int64").to_numpy()
    return out


def as_of_states(ws: Workspace, spec: PipelineSpec, times_us: list[int],
                 max_age_us: int | None = None) -> pd.DataFrame:
    """Deals not yet won at each snapshot time ``t``, as the data visible at ``t`` shows them.

    Columns: t, deal_row (the deal's row in :func:`deal_table`, which is ordered by deal_id:
    no deal id text comes back), current_idx (stage of the latest entry at or before t),
    last_us (that entry's time), created_us, amount (latest non-null amount at or before t),
    sorted by t and deal. Deals that had
    reached the win stage (or a later one) by t are left out, and so are deals whose latest
    entry is more than ``max_age_us`` before t (a cheap pre-filter; the open/presumed-dead
    rule is applied afterwards, see :mod:`funnelscope.analyses.pipeline.asof`).

    Linear in entries: each entry is a deal's latest visible one for t in [its time, the
    deal's next entry time), so it is joined only to the snapshots in that interval (capped
    at ``max_age_us``), never to every later snapshot. Per entry, window functions carry the
    deal's state up to it (furthest stage, key of the latest non-null amount).
    """
    import ibis

    if not times_us:
        return pd.DataFrame(columns=["t", "deal_row", "current_idx", "last_us", "created_us",
                                     "amount"])
    e = entries(ws, spec).select("deal_id", "idx", "ts_us", "key", "amount")
    e = e.mutate(deal_row=ibis.dense_rank().over(order_by=e.deal_id))  # 0-based, deal_table's
    upto = ibis.cumulative_window(group_by=e.deal_id, order_by=e.key)
    e = e.mutate(
        next_us=e.ts_us.lead().over(ibis.window(group_by=e.deal_id, order_by=e.key)),
        created_us=e.ts_us.min().over(ibis.window(group_by=e.deal_id)),
        furthest_idx=e.idx.max().over(upto),
        amount_key=e.amount.notnull().ifelse(e.key, ibis.null("int64")).max().over(upto),
    )
    e = e.filter(e.furthest_idx < spec.win_index)
    snaps = ibis.memtable(pd.DataFrame({"t": np.asarray(sorted(set(times_us)), dtype="int64")}))
    cond = [e.ts_us <= snaps.t, snaps.t < e.next_us.fill_null(np.iinfo("int64").max)]
    if max_age_us is not None:
        cond.append(snaps.t <= e.ts_us + int(max_age_us))
    j = e.join(snaps, cond)
    known = entries(ws, spec).select("deal_id", "key", "amount").filter(
        lambda x: x.amount.notnull())
    known = known.rename(a_deal="deal_id", a_key="key", a_amount="amount")
    j = j.left_join(known, [j.deal_id == known.a_deal, j.amount_key == known.a_key])
    g = j.select(t=j.t, deal_row=j.deal_row, current_idx=j.idx, last_us=j.ts_us,
                 created_us=j.created_us, amount=j.a_amount)
    df = g.order_by(["t", "deal_row"]).to_pandas()
    out = pd.DataFrame({
        "t": df["t"].astype("int64").to_numpy(),
        "deal_row": df["deal_row"].astype("int64").to_numpy(),
        "current_idx": df["current_idx"].astype("int64").to_numpy(),
        "last_us": df["last_us"].astype("int64").to_numpy(),
        "created_us": df["created_us"].astype("int64").to_numpy(),
        "amount": df["amount"].astype("float64").to_numpy(),
    })
    return out
