"""The deal history an analysis works from: the per-deal table plus lazily replayed snapshots.

Holds the workspace so that replays (:func:`deals.as_of_states`) run in the engine only when
a forecast or backtest asks for them, once, for every snapshot time at the same time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from funnelscope.analyses.pipeline import asof
from funnelscope.analyses.pipeline.deals import as_of_states
from funnelscope.analyses.pipeline.periods import US_PER_DAY, bounds, period_of
from funnelscope.analyses.pipeline.spec import PipelineSpec

if TYPE_CHECKING:
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

MIN_STEP_US = 7 * US_PER_DAY
MAX_SNAPSHOTS = 200


class DealHistory:
    """Per-deal table ``deals`` of a workspace under a spec, as of ``as_of_us``.

    The as-of replays need the engine; :meth:`detach` reads them once and lets go of the
    workspace, so a pipeline result holds none (it pickles, and outlives a closed workspace)."""

    def __init__(self, ws: Workspace | None, spec: PipelineSpec, deals: pd.DataFrame,
                 as_of_us: int, tz: str) -> None:
        import weakref

        self._ws = weakref.ref(ws) if ws is not None and not isinstance(ws, weakref.ref) else ws
        self.spec = spec
        self.deals = deals
        self.as_of_us = int(as_of_us)
        self.tz = tz
        self._memo: dict[str, object] = {}

    def _cached(self, name: str, make):
        if name not in self._memo:
            self._memo[name] = make()
        return self._memo[name]

    def with_spec(self, spec: PipelineSpec) -> DealHistory:
        """The same history under a spec differing only in forecast settings (probability
        table, categories, targets, controllability): replays are shared, not recomputed."""
        same = ("stages", "win_stage", "by", "stale_factor", "shrinkage", "as_of_us")
        if any(getattr(spec, f) != getattr(self.spec, f) for f in same):
            raise ValueError("with_spec cannot change what the replays depend on")
        new = DealHistory(self._ws, spec, self.deals, self.as_of_us, self.tz)
        new._memo = self._memo
        return new

    @property
    def first_us(self) -> int:
        return int(self.deals["created_us"].min()) if len(self.deals) else self.as_of_us

    @property
    def stays(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per stage: (end, length) of every ended first stay (see asof.first_stays)."""
        return self._cached("stays", lambda: asof.first_stays(self.deals, self.spec))

    @property
    def win_us(self) -> pd.Series:
        """Win time (µs, NA if none) by deal id."""
        return self._cached("win_us", lambda: pd.Series(
            pd.array(self.deals["win_us"], dtype="Int64"),
            index=self.deals["deal_id"].to_numpy(dtype=object)))

    @property
    def grid(self) -> list[int]:
        """Training snapshot times: every ``step`` back from as_of (step = 7 days, or longer so
        that there are at most 200), after the first deal was created."""
        span = self.as_of_us - self.first_us
        step = max(MIN_STEP_US, -(-span // MAX_SNAPSHOTS))
        out, t = [], self.as_of_us - step
        while t > self.first_us:
            out.append(int(t))
            t -= step
        return sorted(out)

    def period_starts(self, horizon: str) -> list[tuple[int, int]]:
        """[start, end) of every local calendar ``horizon`` period starting after the first
        deal was created and ending at or before as_of, oldest first."""
        out = []
        p = period_of(self.first_us, self.tz, horizon) + 1
        while True:
            start, end = bounds(p, self.tz)
            if end > self.as_of_us:
                break
            out.append((start, end))
            p += 1
        return out

    @property
    def snapshot_times(self) -> list[int]:
        """The grid plus every month and quarter start (backtest cut-offs)."""
        times = set(self.grid)
        for horizon in ("month", "quarter"):
            times.update(s for s, _ in self.period_starts(horizon))
        return sorted(times)

    @property
    def states(self) -> dict[int, pd.DataFrame]:
        """Snapshot time -> deals open at that time (as-of rule applied), with ``age_us``.

        One engine query for all snapshot times, run on first use."""
        return self._cached("states", self._replay)

    def detach(self) -> DealHistory:
        """Read the replays now (one engine query) and drop the workspace reference."""
        _ = self.states
        self._ws = None
        return self

    @property
    def ws(self) -> Workspace | None:
        """The workspace, while it is open (None when there was none)."""
        return self._ws() if self._ws is not None else None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_ws"] = None
        return state

    def _replay(self) -> dict[int, pd.DataFrame]:
        times = self.snapshot_times
        if self._ws is None or not times:
            return {}
        if self.ws is None:
            from funnelscope.errors import WorkspaceError

            raise WorkspaceError("the workspace this pipeline ran on is closed; the forecast "
                                 "and backtest need it.", hint="Run ws.pipeline(...) again on "
                                 "the reopened workspace.")
        raw = as_of_states(self.ws, self.spec, times,
                           asof.max_dead_after_us(self.stays, self.spec.stale_factor))
        rows = asof.open_rows(raw, self.deals, self.spec, self.stays)
        groups = {t: g.reset_index(drop=True) for t, g in rows.groupby("t", sort=True)}
        empty = rows.iloc[0:0]
        return {t: groups.get(t, empty) for t in times}

    def open_at(self, t: int) -> pd.DataFrame:
        """Deals open at snapshot time ``t`` (one of ``snapshot_times``)."""
        return self.states[t]
