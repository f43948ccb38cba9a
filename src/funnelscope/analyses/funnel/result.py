"""FunnelResult: per-step counts, conversion with Wilson intervals, times, groups, periods.

Built from the per-entry table the kernel returns (one row per entity, or per first-step event
for totals): ``level`` (deepest step reached) and ``t1..tk`` (µs, the reported path's step times).
Definitions are in docs/funnels.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from funnelscope.analyses.funnel.entries import NOT_REACHED, Entries, reaching
from funnelscope.analyses.funnel.spec import FunnelSpec, instant_us
from funnelscope.analyses.result import Result, jsonable
from funnelscope.analyses.stats import chi_square_2x2, wilson_interval
from funnelscope.errors import SpecError

if TYPE_CHECKING:
    import pandas as pd

    from funnelscope.engine.workspace import WorkspaceBase as Workspace

OTHER = "other"
NO_VALUE = "(none)"


def _quantile(x: np.ndarray, q: float) -> float | None:
    return float(np.quantile(x, q, method="linear")) if len(x) else None


def step_table(entries: Entries, spec: FunnelSpec, still_open: np.ndarray) -> list[dict]:
    """One row per step: entities, conversion (+ Wilson 95%), dropped, still converting, times."""
    k = len(spec.steps)
    level = entries.level
    reach = reaching(level, k).tolist()
    rows = []
    first = reach[0]
    prev = first
    for j in range(1, k + 1):
        n = reach[j - 1]
        at = level == j
        still = int((at & still_open).sum()) if j < k else 0
        dropped = int((at & ~still_open).sum()) if j < k else 0
        lo, hi = wilson_interval(n, first)
        plo, phi = wilson_interval(n, prev)
        from_prev = entries.seconds_between(j - 1, j) if j > 1 else np.array([])
        from_start = entries.seconds_between(1, j) if j > 1 else np.array([])
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
    return rows


def group_table(entries: Entries, spec: FunnelSpec) -> list[dict]:
    """Per group (top N by entrants, the rest folded into "other"): steps, conversion, chi-square.

    Groups are ordered by entrants (descending), ties by the group's text; entries without a
    value form the group "(none)".
    """
    k = len(spec.steps)
    sel = entries.level >= 1
    if not sel.any() or entries.by_value is None:
        return []
    level = entries.level[sel]
    raw = [NO_VALUE if v is None else v for v in entries.by_value[sel].tolist()]
    names, codes = np.unique(np.array(raw, dtype=object).astype(str), return_inverse=True)
    sizes = np.bincount(codes, minlength=len(names))
    # by size descending, ties by name (np.unique sorts names; a stable sort keeps that order)
    ranked = np.argsort(-sizes, kind="stable")
    top = ranked[: spec.top_groups]
    folded = ranked[spec.top_groups:]
    total_n, total_conv = len(level), int((level >= k).sum())
    rows = []
    groups: list[tuple[str, np.ndarray]] = [(str(names[g]), codes == g) for g in top]
    if len(folded):
        groups.append((OTHER, np.isin(codes, folded)))
    for name, in_group in groups:
        lv = level[in_group]
        n = len(lv)
        conv = int((lv >= k).sum())
        lo, hi = wilson_interval(conv, n)
        chi2, p = chi_square_2x2(conv, n - conv, total_conv - conv, (total_n - n) - (total_conv - conv))
        row: dict[str, Any] = {"group": name, "entities": n}
        for j, reached in enumerate(reaching(lv, k).tolist(), 1):
            row[f"step_{j}"] = reached
        row.update({"conversion": conv / n if n else None, "ci_low": lo, "ci_high": hi,
                    "chi2": chi2, "p_value": p})
        rows.append(row)
    return rows


def period_table(entries: Entries, spec: FunnelSpec, tz: str) -> list[dict]:
    """Conversion trend by entry period (first step's time in the reporting time zone)."""
    import pandas as pd

    k = len(spec.steps)
    sel = entries.level >= 1
    if not sel.any():
        return []
    level = entries.level[sel]
    local = pd.to_datetime(entries.step_ts[sel, 0], unit="us", utc=True).tz_convert(tz)
    local = local.tz_localize(None)
    if spec.period == "day":
        period = local.normalize()
    elif spec.period == "week":
        period = (local - pd.to_timedelta(local.day_of_week, unit="D")).normalize()
    else:
        period = local.to_period("M").to_timestamp()
    frame = pd.DataFrame({"period": period, "level": level})
    rows = []
    for p, g in frame.groupby("period", sort=True):
        lv = g["level"].to_numpy()
        n = len(lv)
        conv = int((lv >= k).sum())
        lo, hi = wilson_interval(conv, n)
        row: dict[str, Any] = {"period": p.strftime("%Y-%m-%d"), "entities": n}
        for j, reached in enumerate(reaching(lv, k).tolist(), 1):
            row[f"step_{j}"] = reached
        row.update({"conversion": conv / n, "ci_low": lo, "ci_high": hi})
        rows.append(row)
    return rows


class RecordTables(Mapping):
    """Result tables kept as lists of records; each becomes a pandas DataFrame on first access.

    The CLI and the JSON API read the records (``.records(name)``) and never import pandas.
    """

    def __init__(self, records: dict[str, list[dict]]) -> None:
        self._records = records
        self._frames: dict[str, Any] = {}

    def records(self, name: str) -> list[dict]:
        return self._records.get(name, [])

    def __getitem__(self, name: str):
        if name not in self._frames:
            import pandas as pd

            self._frames[name] = pd.DataFrame(self._records[name])
        return self._frames[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)


@dataclass(repr=False)  # Result.__repr__: the steps table, not every entry
class FunnelResult(Result):
    """Result of ``ws.funnel(...)``.

    Tables: ``steps`` (always), ``groups`` (with ``by``), ``periods`` (with ``period``), as
    pandas DataFrames built on first access (``records(name)`` gives the plain rows).
    ``entries``: the per-entry levels and step times (µs) behind them.

    A result holds no workspace: only a weak reference, used to turn entity codes back into
    ids (``converted``, ``dropped_after``) while the workspace is open; pass ``ws=`` after it
    was closed. Results pickle without it.
    """

    paths: Entries | None = None
    source: Any = None  # weakref.ref to the workspace, or None

    @property
    def workspace(self) -> Any:
        """The workspace this result came from, while it is still open (else None)."""
        return self.source() if self.source is not None else None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["source"] = None
        return state

    def _repr_html_(self) -> str:
        from funnelscope.analyses.display import funnel_html

        return funnel_html(self)

    @cached_property
    def entries(self) -> pd.DataFrame:
        """One row per entry: entity code, level, t1..tk (µs, nullable), by_value."""
        return self.paths.to_frame()

    def records(self, name: str = "steps") -> list[dict]:
        """Table ``name`` as a list of plain records (no pandas)."""
        return self.tables.records(name)

    @property
    def steps(self) -> pd.DataFrame:
        return self.tables["steps"]

    @property
    def groups(self) -> pd.DataFrame:
        import pandas as pd

        return self.tables["groups"] if "groups" in self.tables else pd.DataFrame()

    @property
    def periods(self) -> pd.DataFrame:
        import pandas as pd

        return self.tables["periods"] if "periods" in self.tables else pd.DataFrame()

    def _step_index(self, step: int | str) -> int:
        names = list(self.spec.step_names)
        if isinstance(step, int) and not isinstance(step, bool):
            if 1 <= step <= len(names):
                return step
        elif step in names:
            return names.index(step) + 1
        raise SpecError(f"unknown step {step!r}.", hint=f"Steps: {', '.join(names)} (or 1..{len(names)}).")

    def _ids(self, mask: np.ndarray, ws: Any = None) -> list:
        from funnelscope.analyses.funnel.run import entity_ids
        from funnelscope.errors import WorkspaceError

        codes = np.unique(self.paths.entity[mask])
        ws = ws if ws is not None else self.workspace
        if ws is None and self.meta.get("entity_codes") != "native":
            raise WorkspaceError("the workspace this funnel ran on is closed; ids cannot be "
                                 "looked up.", hint="Pass the reopened workspace: ws=...")
        ids = entity_ids(ws, self.spec, codes, self.meta)
        return sorted(ids, key=str)

    def converted(self, step: int | str | None = None, ws: Any = None) -> list:
        """Ids of entities that reached ``step`` (default: the last step)."""
        j = self._step_index(step if step is not None else len(self.spec.steps))
        return self._ids(self.paths.level >= j, ws)

    def dropped_after(self, step: int | str, ws: Any = None) -> list:
        """Ids of entities whose deepest step is ``step`` (they left after it)."""
        j = self._step_index(step)
        return self._ids(self.paths.level == j, ws)

    def time_to_convert(self, a: int | str = 1, b: int | str | None = None, bins: int = 20) -> pd.DataFrame:
        """Histogram of seconds from step ``a`` to step ``b`` (default: first to last)."""
        import pandas as pd

        ja = self._step_index(a)
        jb = self._step_index(b if b is not None else len(self.spec.steps))
        if jb <= ja:
            raise SpecError("time_to_convert needs a later step b than a.")
        secs = self.paths.seconds_between(ja, jb)
        if len(secs) == 0:
            return pd.DataFrame(columns=["seconds_from", "seconds_to", "entities", "share"])
        counts, edges = np.histogram(secs, bins=bins)
        return pd.DataFrame({"seconds_from": edges[:-1], "seconds_to": edges[1:],
                             "entities": counts, "share": counts / counts.sum()})

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": jsonable(self.records("steps")),
            "groups": jsonable(self.records("groups")),
            "periods": jsonable(self.records("periods")),
            "spec": jsonable(self.spec.to_dict()),
            "meta": jsonable({k: v for k, v in self.meta.items() if k != "entity_codes"}),
        }

    def biggest_leak(self) -> dict | None:
        """The step transition losing the largest share of entities (for reports)."""
        s = self.records("steps")
        rates = [(r["conversion_from_previous"], i) for i, r in enumerate(s) if i > 0
                 and r["conversion_from_previous"] is not None]
        if not rates:
            return None
        rate, i = min(rates)
        return {"from": s[i - 1]["step"], "to": s[i]["step"], "conversion": float(rate),
                "lost": int(s[i - 1]["entities"] - s[i]["entities"])}


def build_result(ws: Workspace, spec: FunnelSpec, entries: Entries, meta: dict) -> FunnelResult:
    k = len(spec.steps)
    end_us = meta.get("data_end_us")
    if spec.end:
        end_us = instant_us(spec.end, ws.config.timezone)
        if meta.get("data_end_us") is not None:
            end_us = min(end_us, meta["data_end_us"])
    if spec.censor and end_us is not None and len(entries):
        t1 = entries.step_ts[:, 0]
        open_window = (t1 != NOT_REACHED) & ((t1.astype(np.float64) + spec.window_us) > end_us)
        still_open = open_window & (entries.level < k)
    else:
        still_open = np.zeros(len(entries), dtype=bool)
    records = {"steps": step_table(entries, spec, still_open)}
    if spec.by:
        records["groups"] = group_table(entries, spec)
    if spec.period:
        records["periods"] = period_table(entries, spec, ws.config.timezone)
    meta = dict(meta)
    meta["still_converting"] = int(still_open.sum())
    import weakref

    return FunnelResult(spec=spec, tables=RecordTables(records), meta=meta, paths=entries,
                        source=weakref.ref(ws))
