"""FunnelResult: per-step counts, conversion with Wilson intervals, times, groups, periods.

Built from the per-entry table the kernel returns (one row per entity, or per first-step event
for totals): ``level`` (deepest step reached) and ``t1..tk`` (µs, the reported path's step times).
Definitions are in docs/funnels.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from funnelscope.analyses.funnel.spec import FunnelSpec
from funnelscope.analyses.result import Result, jsonable
from funnelscope.analyses.stats import chi_square_2x2, wilson_interval
from funnelscope.errors import SpecError

if TYPE_CHECKING:
    from funnelscope.engine.workspace import Workspace

OTHER = "other"
US = 1_000_000


def _times(entries: pd.DataFrame, j: int, base: str) -> np.ndarray:
    reached = entries[entries["level"] >= j]
    a = reached[f"t{j}"].to_numpy(dtype="float64", na_value=np.nan)
    b = reached[base].to_numpy(dtype="float64", na_value=np.nan)
    d = (a - b) / US
    return d[~np.isnan(d)]


def _quantile(x: np.ndarray, q: float) -> float | None:
    return float(np.quantile(x, q, method="linear")) if len(x) else None


def step_table(entries: pd.DataFrame, spec: FunnelSpec, still_open: np.ndarray) -> pd.DataFrame:
    """One row per step: entities, conversion (+ Wilson 95%), dropped, still converting, times."""
    k = len(spec.steps)
    level = entries["level"].to_numpy()
    rows = []
    first = int((level >= 1).sum())
    prev = first
    for j in range(1, k + 1):
        n = int((level >= j).sum())
        at = level == j
        still = int((at & still_open).sum()) if j < k else 0
        dropped = int((at & ~still_open).sum()) if j < k else 0
        lo, hi = wilson_interval(n, first)
        plo, phi = wilson_interval(n, prev)
        from_prev = _times(entries, j, f"t{j - 1}") if j > 1 else np.array([])
        from_start = _times(entries, j, "t1") if j > 1 else np.array([])
        rows.append({
            "step": spec.step_names[j - 1], "step_index": j, "entities": n,
            "conversion_from_start": n / first if first else None,
            "conversion_from_previous": n / prev if prev else None,
            "ci_low": lo, "ci_high": hi,
            "ci_low_from_previous": plo, "ci_high_from_previous": phi,
            "dropped": dropped, "still_converting": still,
            "median_seconds_from_previous": _quantile(from_prev, 0.5),
            "p90_seconds_from_previous": _quantile(from_prev, 0.9),
            "median_seconds_from_start": _quantile(from_start, 0.5),
            "p90_seconds_from_start": _quantile(from_start, 0.9),
        })
        prev = n
    return pd.DataFrame(rows)


def group_table(entries: pd.DataFrame, spec: FunnelSpec) -> pd.DataFrame:
    """Per group (top N by entrants, the rest folded into "other"): steps, conversion, chi-square."""
    k = len(spec.steps)
    e = entries[entries["level"] >= 1]
    if e.empty:
        return pd.DataFrame()
    raw = e["by_value"].astype(object).where(e["by_value"].notna(), "(none)")
    sizes = raw.value_counts()
    sizes = sizes.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    top = set(sizes.index[: spec.top_groups])
    groups = raw.where(raw.isin(top), OTHER)
    level = e["level"].to_numpy()
    total_n, total_conv = len(e), int((level >= k).sum())
    rows = []
    order = [g for g in sizes.index if g in top] + ([OTHER] if (groups == OTHER).any() else [])
    for g in order:
        sel = (groups == g).to_numpy()
        n = int(sel.sum())
        conv = int((level[sel] >= k).sum())
        lo, hi = wilson_interval(conv, n)
        chi2, p = chi_square_2x2(conv, n - conv, total_conv - conv, (total_n - n) - (total_conv - conv))
        row: dict[str, Any] = {"group": g, "entities": n}
        for j in range(1, k + 1):
            row[f"step_{j}"] = int((level[sel] >= j).sum())
        row.update({"conversion": conv / n if n else None, "ci_low": lo, "ci_high": hi,
                    "chi2": chi2, "p_value": p})
        rows.append(row)
    return pd.DataFrame(rows)


def period_table(entries: pd.DataFrame, spec: FunnelSpec, tz: str) -> pd.DataFrame:
    """Conversion trend by entry period (first step's time in the reporting time zone)."""
    k = len(spec.steps)
    e = entries[entries["level"] >= 1]
    if e.empty:
        return pd.DataFrame()
    local = pd.to_datetime(e["t1"].to_numpy(dtype="int64"), unit="us", utc=True).tz_convert(tz)
    local = local.tz_localize(None)
    if spec.period == "day":
        period = local.normalize()
    elif spec.period == "week":
        period = (local - pd.to_timedelta(local.day_of_week, unit="D")).normalize()
    else:
        period = local.to_period("M").to_timestamp()
    frame = pd.DataFrame({"period": period, "level": e["level"].to_numpy()})
    rows = []
    for p, g in frame.groupby("period", sort=True):
        lv = g["level"].to_numpy()
        n = len(lv)
        conv = int((lv >= k).sum())
        lo, hi = wilson_interval(conv, n)
        row: dict[str, Any] = {"period": p.strftime("%Y-%m-%d"), "entities": n}
        for j in range(1, k + 1):
            row[f"step_{j}"] = int((lv >= j).sum())
        row.update({"conversion": conv / n, "ci_low": lo, "ci_high": hi})
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass
class FunnelResult(Result):
    """Result of ``ws.funnel(...)``.

    Tables: ``steps`` (always), ``groups`` (with ``by``), ``periods`` (with ``period``).
    ``entries``: the per-entry levels and step times (µs) behind them.
    """

    entries: pd.DataFrame | None = None
    workspace: Any = None

    @property
    def steps(self) -> pd.DataFrame:
        return self.tables["steps"]

    @property
    def groups(self) -> pd.DataFrame:
        return self.tables.get("groups", pd.DataFrame())

    @property
    def periods(self) -> pd.DataFrame:
        return self.tables.get("periods", pd.DataFrame())

    def _step_index(self, step: int | str) -> int:
        names = list(self.spec.step_names)
        if isinstance(step, int) and not isinstance(step, bool):
            if 1 <= step <= len(names):
                return step
        elif step in names:
            return names.index(step) + 1
        raise SpecError(f"unknown step {step!r}.", hint=f"Steps: {', '.join(names)} (or 1..{len(names)}).")

    def _ids(self, mask: np.ndarray) -> list:
        from funnelscope.analyses.funnel.compute import entity_ids

        codes = self.entries.loc[mask, "entity"].drop_duplicates().to_numpy()
        ids = entity_ids(self.workspace, self.spec, codes, self.meta)
        return sorted(ids, key=str)

    def converted(self, step: int | str | None = None) -> list:
        """Ids of entities that reached ``step`` (default: the last step)."""
        j = self._step_index(step if step is not None else len(self.spec.steps))
        return self._ids(self.entries["level"].to_numpy() >= j)

    def dropped_after(self, step: int | str) -> list:
        """Ids of entities whose deepest step is ``step`` (they left after it)."""
        j = self._step_index(step)
        return self._ids(self.entries["level"].to_numpy() == j)

    def time_to_convert(self, a: int | str = 1, b: int | str | None = None, bins: int = 20) -> pd.DataFrame:
        """Histogram of seconds from step ``a`` to step ``b`` (default: first to last)."""
        ja = self._step_index(a)
        jb = self._step_index(b if b is not None else len(self.spec.steps))
        if jb <= ja:
            raise SpecError("time_to_convert needs a later step b than a.")
        secs = _times(self.entries, jb, f"t{ja}")
        if len(secs) == 0:
            return pd.DataFrame(columns=["seconds_from", "seconds_to", "entities", "share"])
        counts, edges = np.histogram(secs, bins=bins)
        return pd.DataFrame({"seconds_from": edges[:-1], "seconds_to": edges[1:],
                             "entities": counts, "share": counts / counts.sum()})

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": jsonable(self.steps),
            "groups": jsonable(self.groups),
            "periods": jsonable(self.periods),
            "spec": jsonable(self.spec.to_dict()),
            "meta": jsonable({k: v for k, v in self.meta.items() if k != "entity_codes"}),
        }

    def biggest_leak(self) -> dict | None:
        """The step transition losing the largest share of entities (for reports)."""
        s = self.steps
        if len(s) < 2:
            return None
        rates = s["conversion_from_previous"].iloc[1:].astype(float)
        if rates.isna().all():
            return None
        i = int(rates.idxmin())
        return {"from": s["step"].iloc[i - 1], "to": s["step"].iloc[i],
                "conversion": float(rates.loc[i]), "lost": int(s["entities"].iloc[i - 1] - s["entities"].iloc[i])}


def build_result(ws: Workspace, spec: FunnelSpec, entries: pd.DataFrame, meta: dict) -> FunnelResult:
    k = len(spec.steps)
    end_us = meta.get("data_end_us")
    if spec.end:
        from funnelscope.analyses.funnel.matching import bound_us

        end_us = bound_us(ws, spec.end)
        if meta.get("data_end_us") is not None:
            end_us = min(end_us, meta["data_end_us"])
    if spec.censor and end_us is not None and len(entries):
        t1 = entries["t1"].to_numpy(dtype="float64", na_value=np.nan)
        open_window = (t1 + spec.window_us) > end_us
        still_open = open_window & (entries["level"].to_numpy() < k)
    else:
        still_open = np.zeros(len(entries), dtype=bool)
    tables = {"steps": step_table(entries, spec, still_open)}
    if spec.by:
        tables["groups"] = group_table(entries, spec)
    if spec.period:
        tables["periods"] = period_table(entries, spec, ws.config.timezone)
    meta = dict(meta)
    meta["still_converting"] = int(still_open.sum())
    return FunnelResult(spec=spec, tables=tables, meta=meta, entries=entries, workspace=ws)
