"""The user-facing workspace: the engine's tables plus one method per registered analysis.

``fs.connect(...)`` returns a :class:`Workspace`. Its analysis methods (``ws.funnel``,
``ws.retention``, ...) are generated from :mod:`funnelscope.analyses.registry`, with the
analysis' real signature: an unknown keyword is a clear error, not a silent default.
Layers point downward only: this facade -> analyses -> engine -> data.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from funnelscope.engine.config import check_timezone
from funnelscope.engine.workspace import WorkspaceBase
from funnelscope.errors import ConfigError, WorkspaceError


class Workspace(WorkspaceBase):
    """Canonical tables on one engine, and the analyses over them. Create with :func:`connect`."""

    # ----- analyses (each lives in funnelscope.analyses.<name>) ------------------------------
    def funnel(self, steps: Any, window: Any = "7d", **options: Any):
        """Conversion funnel over ``steps`` within ``window``: a :class:`FunnelResult`.

        ``steps``: event names or ``fs.step(event, where=..., within=...)``. Options: ``mode``
        (ordered | strict | any), ``by``, ``entity`` (user | account), ``count`` (uniques |
        totals), ``exclude``, ``where``, ``period`` (day | week | month), ``start``, ``end``,
        ``first_time``, ``censor``. Exact semantics: docs/funnels.md.

        >>> ws.funnel(["view", "add_to_cart", "checkout", "pay"], window="7d", by="channel")
        """
        from funnelscope.analyses.funnel import funnel

        return funnel(self, steps, window, **options)

    def pipeline(self, stages: Any = None, by: str | None = None, period: str | None = None,
                 **options: Any):
        """Sales-pipeline stage funnel, velocity, win rates, forecast (docs/pipeline.md)."""
        from funnelscope.analyses.pipeline import pipeline

        return pipeline(self, stages=stages, by=by, period=period, **options)

    def retention(self, **options: Any):
        """Cohort retention triangle and curve (docs/metrics.md)."""
        from funnelscope.analyses.retention import retention

        return retention(self, **options)

    def activity(self, **options: Any):
        """DAU/WAU/MAU, stickiness, lifecycle, frequency, repurchase (docs/metrics.md)."""
        from funnelscope.analyses.retention import activity

        return activity(self, **options)

    def churn(self, **options: Any):
        """Churn rate per period and Kaplan-Meier survival of customers (docs/metrics.md)."""
        from funnelscope.analyses.retention import churn

        return churn(self, **options)

    def aarrr(self, **options: Any):
        """Acquisition, activation, retention, revenue, referral summary (docs/metrics.md)."""
        from funnelscope.analyses.retention import aarrr

        return aarrr(self, **options)

    def b2b_chain(self, **options: Any):
        """Lead-to-renewal metric chain for B2B (docs/metrics.md)."""
        from funnelscope.analyses.retention import b2b_chain

        return b2b_chain(self, **options)

    def _value(self, name: str, options: dict):
        import funnelscope.analyses.value as value

        return getattr(value, name)(self, **options)

    def rfm(self, **options: Any):
        """Recency / frequency / monetary scores and named segments (docs/value.md)."""
        return self._value("rfm", options)

    def clusters(self, **options: Any):
        """k-means customer clusters described in plain words (docs/value.md)."""
        return self._value("clusters", options)

    def clv(self, **options: Any):
        """Customer lifetime value: historical and BG/NBD + Gamma-Gamma (docs/value.md)."""
        return self._value("clv", options)

    def acquisition(self, **options: Any):
        """CAC, LTV:CAC, payback and ROI by channel and campaign (docs/value.md)."""
        return self._value("acquisition", options)

    def churn_risk(self, **options: Any):
        """Gradient-boosting churn risk with a ranked at-risk list (docs/value.md)."""
        return self._value("churn_risk", options)



def connect(
    target: Any = None,
    *,
    events: str | Path | None = None,
    customers: str | Path | None = None,
    orders: str | Path | None = None,
    deals: str | Path | None = None,
    spend: str | Path | None = None,
    columns: Mapping[str, Mapping[str, str]] | None = None,
    tz: str | None = None,
    read_only: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> Workspace:
    """Open a workspace.

    ``target``: None (in-memory DuckDB), a path to a DuckDB file (created if missing), an Ibis
    connection URL (``"duckdb://x.duckdb"``), an Ibis backend, or a PySpark ``SparkSession``.
    ``events=...`` (and the other table names) analyse files in place: each is registered as
    a view with the canonical columns, without loading. ``columns`` maps, per table,
    canonical names to yours for those files: ``{"events": {"user_id": "uid"}}``.
    """
    path = None
    if target is None:
        import duckdb

        backend = duckdb.connect(":memory:")
    elif isinstance(target, (str, Path)) and "://" not in str(target):
        import duckdb

        path = str(Path(target).expanduser())
        if read_only and not Path(path).exists():
            raise WorkspaceError(f"workspace file not found: {path}")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            backend = duckdb.connect(str(Path(path).absolute()), read_only=read_only)
        except Exception as exc:
            raise WorkspaceError(
                f"cannot open workspace {path}: {str(exc).splitlines()[0]}",
                hint="Is another process writing to it? Close it, or open read-only.",
            ) from None
    elif isinstance(target, str):
        import ibis

        backend = ibis.connect(target)
    elif type(target).__name__ == "SparkSession":
        import ibis

        backend = ibis.pyspark.connect(target)
    elif hasattr(target, "list_tables") and hasattr(target, "table"):
        backend = target
    else:
        raise ConfigError(
            f"cannot open a workspace on {type(target).__name__}.",
            hint="Pass a .duckdb path, an Ibis backend or a SparkSession.",
        )
    ws = Workspace(backend, path=path, read_only=read_only)
    if tz:
        ws.config.timezone = check_timezone(tz)
    if memory_limit or threads:
        ws.config.memory_limit = memory_limit or ws.config.memory_limit
        ws.config.threads = threads or ws.config.threads
        ws._apply_engine_settings()
    files = {"events": events, "customers": customers, "orders": orders, "deals": deals,
             "spend": spend}
    for table, file in files.items():
        if file is not None:
            from funnelscope.data.inplace import register_file

            register_file(ws, table, file, (columns or {}).get(table, {}))
    return ws
